// The Prometheus registry: the text format, histograms, label escaping and
// collectors.

#include "runtime/server/metrics.h"

#include <string>
#include <thread>
#include <vector>

#include <catch2/catch.hpp>

namespace {

using waflow::server::GaugeWriter;
using waflow::server::Metrics;

bool has_line(const std::string& text, const std::string& line) {
  return text.find("\n" + line + "\n") != std::string::npos || text.rfind(line + "\n", 0) == 0;
}

}  // namespace

TEST_CASE("counters render with their help, type and labels") {
  Metrics m;
  m.counter("waflow_x_total", "Things", {{"result", "ok"}}).inc(3);
  m.counter("waflow_x_total", "ignored", {{"result", "error"}}).inc();
  // The same name and labels give the same counter.
  m.counter("waflow_x_total", "", {{"result", "ok"}}).inc();
  const std::string text = m.render();
  CHECK(has_line(text, "# HELP waflow_x_total Things"));
  CHECK(has_line(text, "# TYPE waflow_x_total counter"));
  CHECK(has_line(text, "waflow_x_total{result=\"ok\"} 4"));
  CHECK(has_line(text, "waflow_x_total{result=\"error\"} 1"));
  CHECK(text.find("ignored") == std::string::npos);
}

TEST_CASE("histograms count into cumulative buckets with sum and count") {
  Metrics m;
  waflow::server::Histogram& h = m.histogram("waflow_d_seconds", "Durations", {}, {0.1, 1});
  h.observe(0.05);
  h.observe(0.1);  // On a bound: counts in that bucket (le is inclusive).
  h.observe(0.5);
  h.observe(7);
  const std::string text = m.render();
  CHECK(has_line(text, "# TYPE waflow_d_seconds histogram"));
  CHECK(has_line(text, "waflow_d_seconds_bucket{le=\"0.1\"} 2"));
  CHECK(has_line(text, "waflow_d_seconds_bucket{le=\"1\"} 3"));
  CHECK(has_line(text, "waflow_d_seconds_bucket{le=\"+Inf\"} 4"));
  CHECK(has_line(text, "waflow_d_seconds_sum 7.65"));
  CHECK(has_line(text, "waflow_d_seconds_count 4"));
}

TEST_CASE("label values are escaped") {
  Metrics m;
  m.counter("waflow_e_total", "E", {{"kind", "a\"b\\c\nd"}}).inc();
  CHECK(has_line(m.render(), "waflow_e_total{kind=\"a\\\"b\\\\c\\nd\"} 1"));
}

TEST_CASE("collectors write gauges at every scrape") {
  Metrics m;
  int scrapes = 0;
  m.collect([&](GaugeWriter& w) {
    ++scrapes;
    w.gauge("waflow_q", "Depth", {{"queue", "inbox"}}, scrapes);
    w.gauge("waflow_q", "Depth", {{"queue", "outbox"}}, 0.5);
  });
  m.render();
  const std::string text = m.render();
  CHECK(scrapes == 2);
  CHECK(has_line(text, "# TYPE waflow_q gauge"));
  CHECK(has_line(text, "waflow_q{queue=\"inbox\"} 2"));
  CHECK(has_line(text, "waflow_q{queue=\"outbox\"} 0.5"));
}

TEST_CASE("counters and histograms take updates from many threads") {
  Metrics m;
  waflow::server::Counter& c = m.counter("waflow_t_total", "T");
  waflow::server::Histogram& h = m.histogram("waflow_t_seconds", "T");
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 10000; ++i) {
        c.inc();
        h.observe(0.002);
      }
    });
  }
  for (std::thread& t : threads) {
    t.join();
  }
  CHECK(c.value() == 40000);
  CHECK(h.snapshot().count == 40000);
  CHECK(h.snapshot().sum == Approx(80.0));
}
