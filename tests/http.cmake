# Tests of the HTTP adapter (adapters/http): the router on its own, then the
# server, WebSockets and the client over real sockets on 127.0.0.1.
add_executable(waflow_http_tests
  ${CMAKE_CURRENT_LIST_DIR}/http/helpers.cpp
  ${CMAKE_CURRENT_LIST_DIR}/http/router_test.cpp
  ${CMAKE_CURRENT_LIST_DIR}/http/server_test.cpp
  ${CMAKE_CURRENT_LIST_DIR}/http/websocket_test.cpp
  ${CMAKE_CURRENT_LIST_DIR}/http/client_test.cpp)
target_link_libraries(waflow_http_tests
  PRIVATE waflow_warnings waflow_http Boost::headers Catch2::Catch2WithMain)
catch_discover_tests(waflow_http_tests TEST_PREFIX "http." PROPERTIES TIMEOUT 120)
