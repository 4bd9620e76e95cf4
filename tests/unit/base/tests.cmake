# The YAML tree's fast reader against yaml-cpp (differential, over the repository's
# YAML, the docs' examples, edge cases and mutations): its own small executable, so
# it builds without the rest of the project.
add_executable(waflow_yaml_tree_tests ${CMAKE_CURRENT_LIST_DIR}/yaml_fast_test.cpp)
target_link_libraries(waflow_yaml_tree_tests PRIVATE
  waflow_warnings waflow_yaml_tree Catch2::Catch2WithMain)
target_compile_definitions(waflow_yaml_tree_tests PRIVATE
  WAFLOW_SOURCE_DIR="${PROJECT_SOURCE_DIR}")
catch_discover_tests(waflow_yaml_tree_tests TEST_PREFIX "yaml_tree.")
