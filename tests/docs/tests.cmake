# Tests of the documentation: language reference examples, man pages.
# The waflow binary is named through a generator expression, so this file does
# not depend on where WAFLOW_BIN is set.
add_test(NAME docs.language_examples
  COMMAND ${Python3_EXECUTABLE} ${CMAKE_CURRENT_SOURCE_DIR}/tools/language_examples.py
          --waflow $<TARGET_FILE:waflow> --root ${PROJECT_SOURCE_DIR} reference)
add_test(NAME docs.example_flows
  COMMAND ${Python3_EXECUTABLE} ${CMAKE_CURRENT_SOURCE_DIR}/tools/language_examples.py
          --waflow $<TARGET_FILE:waflow> --root ${PROJECT_SOURCE_DIR} examples)
add_test(NAME docs.man_pages
  COMMAND ${Python3_EXECUTABLE} ${CMAKE_CURRENT_SOURCE_DIR}/tools/man_pages.py
          --root ${PROJECT_SOURCE_DIR})
