# Tests of the checks area: the control-flow graph, control flow, WhatsApp limits and AI steps.
target_sources(waflow_unit_tests PRIVATE
  ${CMAKE_CURRENT_LIST_DIR}/cfg_test.cpp
  ${CMAKE_CURRENT_LIST_DIR}/control_flow_test.cpp
  ${CMAKE_CURRENT_LIST_DIR}/whatsapp_test.cpp
  ${CMAKE_CURRENT_LIST_DIR}/ai_test.cpp)
