# Tests of the web chat (adapters/webchat): the frames on their own, the channel over a real
# HttpServer on 127.0.0.1 with Beast's WebSocket client, and the page in headless Chromium.
add_executable(waflow_webchat_tests
  ${CMAKE_CURRENT_LIST_DIR}/http/helpers.cpp
  ${CMAKE_CURRENT_LIST_DIR}/webchat/protocol_test.cpp
  ${CMAKE_CURRENT_LIST_DIR}/webchat/webchat_test.cpp)
target_link_libraries(waflow_webchat_tests
  PRIVATE waflow_warnings waflow_webchat Boost::headers Catch2::Catch2WithMain)
catch_discover_tests(waflow_webchat_tests TEST_PREFIX "webchat." PROPERTIES TIMEOUT 120)

# The scripted bot the browser test talks to.
add_executable(webchat_test_host ${CMAKE_CURRENT_LIST_DIR}/webchat/test_host.cpp)
target_link_libraries(webchat_test_host PRIVATE waflow_warnings waflow_webchat)

# Skips (77) only when no chromium is installed.
add_test(NAME webchat.browser
  COMMAND ${Python3_EXECUTABLE} ${CMAKE_CURRENT_LIST_DIR}/webchat/browser_test.py
          $<TARGET_FILE:webchat_test_host>)
set_tests_properties(webchat.browser PROPERTIES SKIP_RETURN_CODE 77 TIMEOUT 180)
