# Tests of the storage layer (runtime/storage) on real SQLite files in a temp
# dir. The suite is written against the Store interface through a factory
# (tests/storage/fixture.h), so PostgreSQL can run the same cases later.
add_executable(waflow_storage_tests
  ${CMAKE_CURRENT_LIST_DIR}/storage/fixture.cpp
  ${CMAKE_CURRENT_LIST_DIR}/storage/ingest_test.cpp
  ${CMAKE_CURRENT_LIST_DIR}/storage/work_test.cpp
  ${CMAKE_CURRENT_LIST_DIR}/storage/outbox_test.cpp
  ${CMAKE_CURRENT_LIST_DIR}/storage/queries_test.cpp
  ${CMAKE_CURRENT_LIST_DIR}/storage/ai_usage_test.cpp
  ${CMAKE_CURRENT_LIST_DIR}/storage/records_test.cpp
  ${CMAKE_CURRENT_LIST_DIR}/storage/sqlite_test.cpp
  ${CMAKE_CURRENT_LIST_DIR}/storage/wal_vfs_test.cpp)
target_link_libraries(waflow_storage_tests
  PRIVATE waflow_warnings waflow_storage SQLite::SQLite3 Catch2::Catch2WithMain)
catch_discover_tests(waflow_storage_tests TEST_PREFIX "storage.")
