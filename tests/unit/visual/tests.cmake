# Tests of the visual area: the reader, the writer and their round trips.
target_sources(waflow_unit_tests PRIVATE ${CMAKE_CURRENT_LIST_DIR}/visual_test.cpp)
# The round trips read the example flows from the source tree.
set_source_files_properties(${CMAKE_CURRENT_LIST_DIR}/visual_test.cpp PROPERTIES
  COMPILE_DEFINITIONS "WAFLOW_SOURCE_DIR=\"${PROJECT_SOURCE_DIR}\"")
# The visual examples, and the file holding every node type, follow the schema.
add_test(NAME visual.examples_match_schema
  COMMAND ${Python3_EXECUTABLE} ${PROJECT_SOURCE_DIR}/tests/tools/validate_visual_examples.py
          --root ${PROJECT_SOURCE_DIR} ${CMAKE_CURRENT_LIST_DIR}/every_node.json)
