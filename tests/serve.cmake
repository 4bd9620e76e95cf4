# Tests of `waflow serve`: the server core's unit tests, and end-to-end runs of
# the real binary against a mock Graph API on 127.0.0.1 with a real SQLite file.
# Each end-to-end case is its own ctest (serve.meta.<case>), so one failure
# names itself and cases run in parallel.
set(WAFLOW_SERVE_META_CASES
  pizza_conversation
  two_contacts_keep_their_own_order
  verify_handshake
  signature_rejected
  duplicate_webhook_makes_one_turn
  status_recorded_not_routed
  metrics_count_webhooks_turns_and_sends
  bad_input_gets_4xx_and_the_server_keeps_serving
  kill9_then_restart_continues_the_conversation
  kill9_under_load_loses_no_acknowledged_message
  a_new_version_leaves_conversations_in_progress_on_theirs
  http_steps_call_out_and_resume_the_run
  wait_timeout_fires_on_the_test_clock
  wait_timeout_fires_after_a_restart
  sigterm_stops_cleanly)
foreach(case IN LISTS WAFLOW_SERVE_META_CASES)
  add_test(NAME serve.meta.${case}
    COMMAND ${Python3_EXECUTABLE} ${CMAKE_CURRENT_LIST_DIR}/e2e/serve_meta_test.py
            --waflow $<TARGET_FILE:waflow> ServeMeta.test_${case})
  set_tests_properties(serve.meta.${case} PROPERTIES TIMEOUT 120)
endforeach()
foreach(case IN ITEMS pizza_conversation_with_numbered_buttons
                      wrong_hmac_is_refused_and_echoes_are_dropped)
  add_test(NAME serve.waha.${case}
    COMMAND ${Python3_EXECUTABLE} ${CMAKE_CURRENT_LIST_DIR}/e2e/serve_waha_test.py
            --waflow $<TARGET_FILE:waflow> ServeWaha.test_${case})
  set_tests_properties(serve.waha.${case} PROPERTIES TIMEOUT 120)
endforeach()

add_executable(waflow_server_tests
  ${CMAKE_CURRENT_LIST_DIR}/server/config_test.cpp
  ${CMAKE_CURRENT_LIST_DIR}/server/engine_test.cpp
  ${CMAKE_CURRENT_LIST_DIR}/server/fallback_test.cpp
  ${CMAKE_CURRENT_LIST_DIR}/server/media_test.cpp
  ${CMAKE_CURRENT_LIST_DIR}/server/metrics_test.cpp)
target_compile_definitions(waflow_server_tests PRIVATE WAFLOW_SOURCE_DIR="${PROJECT_SOURCE_DIR}")
target_link_libraries(waflow_server_tests
  PRIVATE waflow_warnings waflow_server waflow_storage waflow_compiler Catch2::Catch2WithMain)
catch_discover_tests(waflow_server_tests TEST_PREFIX "serve.")

# The web chat in waflow serve, with examples/serve/local.yaml as `make run` uses it.
add_test(NAME serve.webchat.end_to_end
  COMMAND ${Python3_EXECUTABLE} ${CMAKE_CURRENT_LIST_DIR}/e2e/serve_webchat_test.py
          --waflow $<TARGET_FILE:waflow>)
set_tests_properties(serve.webchat.end_to_end PROPERTIES TIMEOUT 180)

# A device's AI fallback chatbot: the real binary with the mock Graph API and the mock
# OpenAI-compatible server of serve_ai_test.py. ctest names start with "serve.ai_fallback.".
foreach(case IN ITEMS an_unmatched_message_is_answered_by_the_model
                      a_message_that_matches_a_trigger_starts_the_flow_instead
                      a_model_that_is_down_leaves_the_message_unanswered_and_logs_it)
  add_test(NAME serve.ai_fallback.${case}
    COMMAND ${Python3_EXECUTABLE} ${CMAKE_CURRENT_LIST_DIR}/e2e/serve_fallback_test.py
            --waflow $<TARGET_FILE:waflow> ServeFallback.test_${case})
  set_tests_properties(serve.ai_fallback.${case} PROPERTIES TIMEOUT 120)
endforeach()

# Media understanding (devices[].media): the real binary with a mock Graph API that serves
# media and a mock OpenAI-compatible server that transcribes and describes. ctest names start
# with "serve.media.".
foreach(case IN ITEMS a_voice_note_transcribed_to_pizza_starts_the_pizza_flow
                      an_image_description_is_visible_to_the_flow
                      a_failing_model_leaves_the_plain_media_message_and_logs_why
                      a_text_behind_a_voice_note_waits_for_it
                      a_download_that_fails_once_is_retried_by_the_outbox)
  add_test(NAME serve.media.${case}
    COMMAND ${Python3_EXECUTABLE} ${CMAKE_CURRENT_LIST_DIR}/e2e/serve_media_test.py
            --waflow $<TARGET_FILE:waflow> ServeMedia.test_${case})
  set_tests_properties(serve.media.${case} PROPERTIES TIMEOUT 120)
endforeach()
