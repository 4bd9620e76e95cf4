# Tests of the host core (runtime/host): time zones, the session and its timers,
# mocks, transcripts and coverage; `waflow test` over the examples; `waflow sim`.
target_sources(waflow_unit_tests PRIVATE
  ${CMAKE_CURRENT_LIST_DIR}/host/helpers.cpp
  ${CMAKE_CURRENT_LIST_DIR}/host/tz_test.cpp
  ${CMAKE_CURRENT_LIST_DIR}/host/session_test.cpp
  ${CMAKE_CURRENT_LIST_DIR}/host/mocks_test.cpp
  ${CMAKE_CURRENT_LIST_DIR}/host/transcript_test.cpp
  ${CMAKE_CURRENT_LIST_DIR}/host/runner_test.cpp)
target_link_libraries(waflow_unit_tests PRIVATE waflow_host)
set_property(SOURCE ${CMAKE_CURRENT_LIST_DIR}/host/helpers.cpp
  APPEND PROPERTY COMPILE_DEFINITIONS WAFLOW_SOURCE_DIR="${PROJECT_SOURCE_DIR}")
