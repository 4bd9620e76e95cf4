#pragma once

// Prometheus metrics of `waflow serve`, served as text at GET /metrics.
//
// Counters and histograms are registered once (at start-up) and updated with
// atomics from any thread, so the hot paths never take a lock; gauges that
// describe the store (queue depths, the oldest pending row) are read by
// collectors when /metrics is scraped. Names follow the Prometheus conventions:
// a `waflow_` prefix, base units, `_total` on counters, and no label that names
// a contact or a conversation (their number would grow without bound).

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

namespace waflow::server {

using Labels = std::vector<std::pair<std::string, std::string>>;

class Counter {
 public:
  void inc(std::int64_t by = 1) { value_.fetch_add(by, std::memory_order_relaxed); }
  std::int64_t value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<std::int64_t> value_{0};
};

class Histogram {
 public:
  explicit Histogram(std::vector<double> bounds);  // Upper bounds, increasing.
  void observe(double value);
  struct Snapshot {
    std::vector<double> bounds;
    std::vector<std::uint64_t> cumulative;  // One per bound, then +Inf.
    double sum = 0;
    std::uint64_t count = 0;
  };
  Snapshot snapshot() const;

 private:
  std::vector<double> bounds_;
  std::unique_ptr<std::atomic<std::uint64_t>[]> buckets_;  // bounds_.size() + 1.
  std::atomic<std::uint64_t> count_{0};
  std::atomic<double> sum_{0};
};

// Latency buckets in seconds, 1 ms to 30 s.
std::vector<double> latency_buckets();

// Writes gauge samples while /metrics is rendered.
class GaugeWriter {
 public:
  virtual ~GaugeWriter() = default;
  virtual void gauge(const std::string& name, const std::string& help, const Labels& labels,
                     double value) = 0;
};

class Metrics {
 public:
  Metrics();
  ~Metrics();
  Metrics(const Metrics&) = delete;
  Metrics& operator=(const Metrics&) = delete;

  // The same (name, labels) gives the same object; references stay valid for
  // the registry's life. A family's help is the one given first.
  Counter& counter(const std::string& name, const std::string& help, const Labels& labels = {});
  Histogram& histogram(const std::string& name, const std::string& help, const Labels& labels = {},
                       std::vector<double> bounds = latency_buckets());
  // Runs at every scrape; its gauges are written after the registered series.
  void collect(std::function<void(GaugeWriter&)> collector);

  // The Prometheus text exposition format (version 0.0.4).
  std::string render() const;

 private:
  struct Series;
  struct Family;
  Family& family(const std::string& name, const std::string& help, const char* type);

  mutable std::mutex mutex_;  // Registration and rendering only.
  std::vector<std::unique_ptr<Family>> families_;
  std::vector<std::function<void(GaugeWriter&)>> collectors_;
};

}  // namespace waflow::server
