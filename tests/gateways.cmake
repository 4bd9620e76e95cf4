# Tests of the gateways (adapters/gateways): composed provider fixtures in, Graph API and WAHA
# requests out (also over real HTTP to a fake provider on 127.0.0.1), error tables. ctest names
# start with "gateways.".
add_executable(waflow_gateway_tests
  ${CMAKE_CURRENT_LIST_DIR}/gateways/meta_test.cpp
  ${CMAKE_CURRENT_LIST_DIR}/gateways/waha_test.cpp
  ${CMAKE_CURRENT_LIST_DIR}/gateways/options_test.cpp
  ${CMAKE_CURRENT_LIST_DIR}/gateways/loopback_test.cpp)
target_compile_definitions(waflow_gateway_tests PRIVATE
  WAFLOW_GATEWAY_FIXTURES="${CMAKE_CURRENT_LIST_DIR}/gateways/fixtures")
target_link_libraries(waflow_gateway_tests PRIVATE
  waflow_warnings waflow_gateways nlohmann_json::nlohmann_json CURL::libcurl
  Catch2::Catch2WithMain)
catch_discover_tests(waflow_gateway_tests TEST_PREFIX "gateways.")

# Media downloads through the gateways' media requests, over real HTTP against a fake Graph API
# and a fake WAHA on 127.0.0.1.
add_executable(waflow_media_tests ${CMAKE_CURRENT_LIST_DIR}/gateways/media_test.cpp)
target_link_libraries(waflow_media_tests PRIVATE
  waflow_warnings waflow_media waflow_http Catch2::Catch2WithMain)
catch_discover_tests(waflow_media_tests TEST_PREFIX "gateways.media.")
