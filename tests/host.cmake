# Tests of the host core (runtime/host): time zones, the session and its timers,
# deferred calls, saved sessions, mocks, transcripts and coverage; `waflow test` over the examples; `waflow sim`.
target_sources(waflow_unit_tests PRIVATE
  ${CMAKE_CURRENT_LIST_DIR}/host/helpers.cpp
  ${CMAKE_CURRENT_LIST_DIR}/host/tz_test.cpp
  ${CMAKE_CURRENT_LIST_DIR}/host/session_test.cpp
  ${CMAKE_CURRENT_LIST_DIR}/host/session_async_test.cpp
  ${CMAKE_CURRENT_LIST_DIR}/host/session_blob_test.cpp
  ${CMAKE_CURRENT_LIST_DIR}/host/mocks_test.cpp
  ${CMAKE_CURRENT_LIST_DIR}/host/transcript_test.cpp
  ${CMAKE_CURRENT_LIST_DIR}/host/runner_test.cpp)
target_link_libraries(waflow_unit_tests PRIVATE waflow_host)
# The saved-session tests run every example transcript from the source tree.
set_property(SOURCE ${CMAKE_CURRENT_LIST_DIR}/host/session_blob_test.cpp
  APPEND PROPERTY COMPILE_DEFINITIONS WAFLOW_SOURCE_DIR="${PROJECT_SOURCE_DIR}")

# Every example flow has transcripts that reach all its steps.
add_test(NAME host.examples
  COMMAND $<TARGET_FILE:waflow> test --min-coverage 100 examples/flows
  WORKING_DIRECTORY ${PROJECT_SOURCE_DIR})
# waflow test on the command line: statuses, reports, coverage, mistakes.
add_test(NAME host.test_command
  COMMAND ${Python3_EXECUTABLE} ${CMAKE_CURRENT_LIST_DIR}/host/test_command.py
          $<TARGET_FILE:waflow>)
# The transcript schema accepts the examples and refuses what the reader refuses.
add_test(NAME host.transcript_schema
  COMMAND ${Python3_EXECUTABLE} ${CMAKE_CURRENT_LIST_DIR}/host/validate_transcripts.py
          --root ${PROJECT_SOURCE_DIR})
# waflow sim with a script piped in: the pizza conversation and the commands.
add_test(NAME host.sim
  COMMAND ${Python3_EXECUTABLE} ${CMAKE_CURRENT_LIST_DIR}/host/sim_test.py
          $<TARGET_FILE:waflow> ${PROJECT_SOURCE_DIR})
