# Tests of the visual area: the reader, the writer and their round trips.
target_sources(waflow_unit_tests PRIVATE ${CMAKE_CURRENT_LIST_DIR}/visual_test.cpp)
# The round trips read the example flows from the source tree.
set_source_files_properties(${CMAKE_CURRENT_LIST_DIR}/visual_test.cpp PROPERTIES
  COMPILE_DEFINITIONS "WAFLOW_SOURCE_DIR=\"${PROJECT_SOURCE_DIR}\"")
