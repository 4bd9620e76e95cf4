# Sources of the visual (React Flow JSON) front end and writer.
target_sources(waflow_compiler PRIVATE
  ${CMAKE_CURRENT_LIST_DIR}/json_locator.cpp
  ${CMAKE_CURRENT_LIST_DIR}/json_value.cpp
  ${CMAKE_CURRENT_LIST_DIR}/node_types.cpp
  ${CMAKE_CURRENT_LIST_DIR}/structure.cpp
  ${CMAKE_CURRENT_LIST_DIR}/reader.cpp
  ${CMAKE_CURRENT_LIST_DIR}/writer.cpp)
