# The commands that operate a running server (deploy, deployments, send, query,
# contacts) against the real `waflow serve` on 127.0.0.1, its Graph API a mock.
# Each case is its own ctest (cli.remote.<case>). The offline cases need no
# server: the command line's rules, the CSV reader (--dry-run), no server.
set(WAFLOW_CLI_REMOTE_CASES
  Offline.test_usage_errors_exit_2
  Offline.test_unreachable_server
  Offline.test_csv_dry_run
  Offline.test_csv_errors_name_their_line
  Remote.test_deploy_list_activate_rollback
  Remote.test_rollback_with_nothing_before_is_refused
  Remote.test_send_text_arrives_once
  Remote.test_broadcast_twice_sends_once
  Remote.test_broadcast_lists_failed_rows
  Remote.test_query_conversations_messages_stats
  Remote.test_query_records
  Remote.test_pause_and_resume
  Remote.test_refused_tokens)
foreach(case IN LISTS WAFLOW_CLI_REMOTE_CASES)
  string(REGEX REPLACE "^([A-Za-z]+)\\.test_" "\\1." name ${case})
  string(TOLOWER ${name} name)
  add_test(NAME cli.remote.${name}
    COMMAND ${Python3_EXECUTABLE} ${CMAKE_CURRENT_LIST_DIR}/e2e/cli_remote_test.py
            --waflow $<TARGET_FILE:waflow> ${case})
  set_tests_properties(cli.remote.${name} PROPERTIES TIMEOUT 180)
endforeach()
