# AI steps in `waflow serve`: the config's ai: section, and end-to-end runs of the real binary
# with a mock OpenAI-compatible server and the mock Graph API on 127.0.0.1 (a reply, a 429 with
# Retry-After, failover on a 500, a model down without fallback taking the error exit, the
# history window, each HTTP attempt timed alone, usage in the stats, a burst through a buffer).
# ctest names start with "serve.ai.".
add_executable(waflow_serve_ai_tests ${CMAKE_CURRENT_LIST_DIR}/server/ai_config_test.cpp)
target_link_libraries(waflow_serve_ai_tests
  PRIVATE waflow_warnings waflow_server Catch2::Catch2WithMain)
catch_discover_tests(waflow_serve_ai_tests TEST_PREFIX "serve.ai.")

foreach(case IN ITEMS reply
                      rate_limit_then_answer
                      server_error_fails_over_to_the_fallback
                      a_model_down_without_fallback_takes_the_error_exit
                      the_history_window_reaches_the_model
                      a_server_error_then_an_answer_is_timed_as_two_attempts
                      usage_in_stats_and_query)
  add_test(NAME serve.ai.${case}
    COMMAND ${Python3_EXECUTABLE} ${CMAKE_CURRENT_LIST_DIR}/e2e/serve_ai_test.py
            --waflow $<TARGET_FILE:waflow> ServeAi.test_${case})
  set_tests_properties(serve.ai.${case} PROPERTIES TIMEOUT 120)
endforeach()
add_test(NAME serve.ai.burst
  COMMAND ${Python3_EXECUTABLE} ${CMAKE_CURRENT_LIST_DIR}/e2e/serve_ai_test.py
          --waflow $<TARGET_FILE:waflow>
          ServeAiBurst.test_a_burst_is_one_request_and_a_message_in_flight_is_the_next_turn)
set_tests_properties(serve.ai.burst PROPERTIES TIMEOUT 120)

# waflow sim --ai-config: AI steps answered by the same mapping and router, against the mock.
foreach(case IN ITEMS reply_history_and_failover
                      a_model_down_takes_the_error_exit
                      extract_asks_then_completes
                      a_bad_ai_config_is_an_error)
  add_test(NAME serve.ai.sim_${case}
    COMMAND ${Python3_EXECUTABLE} ${CMAKE_CURRENT_LIST_DIR}/e2e/sim_ai_test.py
            --waflow $<TARGET_FILE:waflow> SimAi.test_${case})
  set_tests_properties(serve.ai.sim_${case} PROPERTIES TIMEOUT 120)
endforeach()

# waflow test --ai-config: transcripts whose AI steps without a mock go to the models.
foreach(case IN ITEMS the_models_answer_what_no_mock_answers
                      a_wrong_answer_fails_the_test
                      without_ai_config_a_step_without_mock_fails_as_before
                      a_bad_ai_config_is_an_error)
  add_test(NAME serve.ai.test_${case}
    COMMAND ${Python3_EXECUTABLE} ${CMAKE_CURRENT_LIST_DIR}/e2e/test_ai_test.py
            --waflow $<TARGET_FILE:waflow> TestAi.test_${case})
  set_tests_properties(serve.ai.test_${case} PROPERTIES TIMEOUT 120)
endforeach()
