# Tests of the variable and type checks and of the built-ins table.
target_sources(waflow_unit_tests PRIVATE
  ${CMAKE_CURRENT_LIST_DIR}/variables_test.cpp
  ${CMAKE_CURRENT_LIST_DIR}/types_test.cpp)
