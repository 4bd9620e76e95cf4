// Threads named for operators: the name is what the kernel shows, cut to 15 bytes.

#include "runtime/base/thread_name.h"

#include <array>
#include <string>
#include <thread>

#include <catch2/catch.hpp>
#include <pthread.h>

namespace {

std::string name_in(std::string_view name) {
  std::string seen;
  int rc = -1;
  std::thread t([&] {
    waflow::name_this_thread(name);
    std::array<char, 64> buffer{};
    rc = pthread_getname_np(pthread_self(), buffer.data(), buffer.size());
    seen = buffer.data();
  });
  t.join();
  // Catch2's assertions are checked here, on the test's own thread.
  REQUIRE(rc == 0);
  return seen;
}

}  // namespace

TEST_CASE("a thread carries the name it gives itself, cut to the kernel's 15 bytes") {
  CHECK(name_in("wf-sql-writer") == "wf-sql-writer");
  CHECK(name_in("wf-a-name-longer-than-fifteen") == "wf-a-name-longe");
  CHECK(name_in("") == "");
}
