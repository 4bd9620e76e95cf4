# Tests of the AI adapters (adapters/ai): each provider's request bodies as exact JSON and its
# answers and errors from wire fixtures, the schema subset, and the router against scripted
# providers over real HTTP on 127.0.0.1. ctest names start with "ai.".
add_executable(waflow_ai_tests
  ${CMAKE_CURRENT_LIST_DIR}/ai/openai_test.cpp
  ${CMAKE_CURRENT_LIST_DIR}/ai/anthropic_test.cpp
  ${CMAKE_CURRENT_LIST_DIR}/ai/gemini_test.cpp
  ${CMAKE_CURRENT_LIST_DIR}/ai/router_test.cpp
  ${CMAKE_CURRENT_LIST_DIR}/ai/steps_test.cpp
  ${CMAKE_CURRENT_LIST_DIR}/ai/media_test.cpp)
target_link_libraries(waflow_ai_tests PRIVATE
  waflow_warnings waflow_ai waflow_http nlohmann_json::nlohmann_json Catch2::Catch2WithMain)
catch_discover_tests(waflow_ai_tests TEST_PREFIX "ai." PROPERTIES TIMEOUT 120)
