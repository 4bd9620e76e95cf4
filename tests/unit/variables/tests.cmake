# Tests of the variable and type checks and of the built-ins table.
target_sources(waflow_unit_tests PRIVATE
  ${CMAKE_CURRENT_LIST_DIR}/variables_test.cpp
  ${CMAKE_CURRENT_LIST_DIR}/types_test.cpp
  ${CMAKE_CURRENT_LIST_DIR}/builtins_test.cpp)
# The built-ins test reads docs/functions.md.
set_property(SOURCE ${CMAKE_CURRENT_LIST_DIR}/builtins_test.cpp APPEND PROPERTY
  COMPILE_DEFINITIONS WAFLOW_DOCS_DIR="${PROJECT_SOURCE_DIR}/docs")
