# End-to-end tests of the HTTP API of `waflow serve` (/api/v1, docs/api.md): the
# real binary on 127.0.0.1 with a real SQLite file and a mock Graph API, called
# over HTTP and read over its event WebSocket. One ctest per case
# (serve.api.<case>), so a failure names itself and cases run in parallel.
set(WAFLOW_SERVE_API_CASES
  ServeApi.test_auth
  ServeApi.test_deployments
  ServeApi.test_send_text_reaches_the_graph_api
  ServeApi.test_send_with_the_same_id_sends_once
  ServeApi.test_start_a_flow_with_variables
  ServeApi.test_conversations_and_messages_filters_and_paging
  ServeApi.test_stats
  ServeApi.test_records_of_store_steps
  ServeApi.test_pause_and_resume
  ServeApi.test_events_stream
  ServeApi.test_bad_input_gets_400_and_the_server_keeps_serving
  ServeApi.test_times_in_rfc3339_and_milliseconds
  ServeApiWithoutTokens.test_no_tokens_configured)
foreach(case IN LISTS WAFLOW_SERVE_API_CASES)
  string(REGEX REPLACE "^.*\\.test_" "" name "${case}")
  add_test(NAME serve.api.${name}
    COMMAND ${Python3_EXECUTABLE} ${CMAKE_CURRENT_LIST_DIR}/e2e/serve_api_test.py
            --waflow $<TARGET_FILE:waflow> ${case})
  set_tests_properties(serve.api.${name} PROPERTIES TIMEOUT 120)
endforeach()
