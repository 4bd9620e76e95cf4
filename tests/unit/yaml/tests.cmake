# Tests of the YAML front end, the YAML writer and the canonical IR dump.
target_sources(waflow_unit_tests PRIVATE ${CMAKE_CURRENT_LIST_DIR}/yaml_test.cpp)
# The round trips read the example flows from the source tree.
set_source_files_properties(${CMAKE_CURRENT_LIST_DIR}/yaml_test.cpp PROPERTIES
  COMPILE_DEFINITIONS "WAFLOW_SOURCE_DIR=\"${PROJECT_SOURCE_DIR}\"")
# The YAML examples, and the file holding every construct, follow the schema.
add_test(NAME yaml.examples_match_schema
  COMMAND ${Python3_EXECUTABLE} ${PROJECT_SOURCE_DIR}/tests/tools/validate_yaml_examples.py
          --root ${PROJECT_SOURCE_DIR} ${CMAKE_CURRENT_LIST_DIR}/all_constructs.yaml)
