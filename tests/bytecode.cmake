# Tests of the bytecode layer: the bundle reader, writer and verifier, the
# disassembler and its golden listings of the examples, the format reference in
# docs/bytecode.md, and determinism of `waflow build`.
target_sources(waflow_unit_tests PRIVATE
  ${CMAKE_CURRENT_LIST_DIR}/unit/bytecode/helpers.cpp
  ${CMAKE_CURRENT_LIST_DIR}/unit/bytecode/bundle_test.cpp
  ${CMAKE_CURRENT_LIST_DIR}/unit/bytecode/disasm_test.cpp)
# The tests compile the example flows from the source tree.
set_property(SOURCE
  ${CMAKE_CURRENT_LIST_DIR}/unit/bytecode/helpers.cpp
  APPEND PROPERTY COMPILE_DEFINITIONS WAFLOW_SOURCE_DIR="${PROJECT_SOURCE_DIR}")

# One golden listing per example project: tests/golden/disasm/<name>.disasm.
# WAFLOW_UPDATE_GOLDEN=1 rewrites them. disasm.all_examples_covered fails when an
# example has no golden.
file(GLOB WAFLOW_DISASM_GOLDENS CONFIGURE_DEPENDS
  ${CMAKE_CURRENT_LIST_DIR}/golden/disasm/*.disasm)
foreach(golden ${WAFLOW_DISASM_GOLDENS})
  get_filename_component(name ${golden} NAME_WE)
  add_test(NAME disasm.${name}
    COMMAND ${Python3_EXECUTABLE} ${CMAKE_CURRENT_LIST_DIR}/tools/disasm_golden.py
            --waflow $<TARGET_FILE:waflow> --root ${PROJECT_SOURCE_DIR} case ${name})
endforeach()
add_test(NAME disasm.all_examples_covered
  COMMAND ${Python3_EXECUTABLE} ${CMAKE_CURRENT_LIST_DIR}/tools/disasm_golden.py
          --waflow $<TARGET_FILE:waflow> --root ${PROJECT_SOURCE_DIR} coverage)
# waflow disasm on the command line: exit statuses, a damaged bundle, --flow.
add_test(NAME disasm.cli
  COMMAND ${Python3_EXECUTABLE} ${CMAKE_CURRENT_LIST_DIR}/tools/disasm_golden.py
          --waflow $<TARGET_FILE:waflow> --root ${PROJECT_SOURCE_DIR} cli)

# docs/bytecode.md's opcode and function tables match opcodes.def and functions.def.
add_test(NAME docs.bytecode_tables
  COMMAND ${Python3_EXECUTABLE} ${CMAKE_CURRENT_LIST_DIR}/tools/bytecode_doc.py
          --root ${PROJECT_SOURCE_DIR} check)

# `waflow build` gives the same bytes and hash under any locale, file order and
# working directory.
add_test(NAME e2e.build_determinism
  COMMAND ${Python3_EXECUTABLE} ${CMAKE_CURRENT_LIST_DIR}/e2e/build_determinism_test.py
          $<TARGET_FILE:waflow> ${PROJECT_SOURCE_DIR})
