#include "runtime/server/metrics.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>

namespace waflow::server {

namespace {

// A label value in the exposition format: backslash, quote and newline escaped.
std::string escape(const std::string& value) {
  std::string out;
  out.reserve(value.size());
  for (char c : value) {
    if (c == '\\' || c == '"') {
      out += '\\';
      out += c;
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out;
}

std::string label_text(const Labels& labels, const std::string& extra_name = {},
                       const std::string& extra_value = {}) {
  if (labels.empty() && extra_name.empty()) {
    return {};
  }
  std::string out = "{";
  bool first = true;
  for (const auto& [name, value] : labels) {
    out += (first ? "" : ",") + name + "=\"" + escape(value) + "\"";
    first = false;
  }
  if (!extra_name.empty()) {
    out += (first ? "" : ",") + extra_name + "=\"" + extra_value + "\"";
  }
  return out + "}";
}

std::string number(double v) {
  if (std::isinf(v)) {
    return v > 0 ? "+Inf" : "-Inf";
  }
  if (std::isnan(v)) {
    return "NaN";
  }
  if (v == std::floor(v) && std::fabs(v) < 1e15) {
    return std::to_string(static_cast<std::int64_t>(v));
  }
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.9g", v);
  return buf;
}

void help_lines(std::string& out, const std::string& name, const std::string& help,
                const char* type) {
  out += "# HELP " + name + " " + help + "\n";
  out += "# TYPE " + name + " " + type + "\n";
}

class TextGauges final : public GaugeWriter {
 public:
  void gauge(const std::string& name, const std::string& help, const Labels& labels,
             double value) override {
    Group& g = groups_[name];
    if (g.help.empty()) {
      g.help = help;
      order_.push_back(name);
    }
    g.lines += name + label_text(labels) + " " + number(value) + "\n";
  }
  void write(std::string& out) const {
    for (const std::string& name : order_) {
      const Group& g = groups_.at(name);
      help_lines(out, name, g.help, "gauge");
      out += g.lines;
    }
  }

 private:
  struct Group {
    std::string help;
    std::string lines;
  };
  std::map<std::string, Group> groups_;
  std::vector<std::string> order_;
};

}  // namespace

Histogram::Histogram(std::vector<double> bounds)
    : bounds_(std::move(bounds)),
      buckets_(std::make_unique<std::atomic<std::uint64_t>[]>(bounds_.size() + 1)) {
  for (std::size_t i = 0; i <= bounds_.size(); ++i) {
    buckets_[i].store(0);
  }
}

void Histogram::observe(double value) {
  const auto it = std::lower_bound(bounds_.begin(), bounds_.end(), value);
  buckets_[static_cast<std::size_t>(it - bounds_.begin())].fetch_add(1, std::memory_order_relaxed);
  count_.fetch_add(1, std::memory_order_relaxed);
  double sum = sum_.load(std::memory_order_relaxed);
  while (!sum_.compare_exchange_weak(sum, sum + value, std::memory_order_relaxed)) {
  }
}

Histogram::Snapshot Histogram::snapshot() const {
  Snapshot s;
  s.bounds = bounds_;
  std::uint64_t running = 0;
  for (std::size_t i = 0; i <= bounds_.size(); ++i) {
    running += buckets_[i].load(std::memory_order_relaxed);
    s.cumulative.push_back(running);
  }
  // The total is the buckets' sum, so +Inf and _count always agree in one scrape.
  s.count = running;
  s.sum = sum_.load(std::memory_order_relaxed);
  return s;
}

std::vector<double> latency_buckets() {
  return {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30};
}

struct Metrics::Series {
  Labels labels;
  std::unique_ptr<Counter> counter;
  std::unique_ptr<Histogram> histogram;
};

struct Metrics::Family {
  std::string name;
  std::string help;
  const char* type = "counter";
  std::vector<std::unique_ptr<Series>> series;
};

Metrics::Metrics() = default;
Metrics::~Metrics() = default;

Metrics::Family& Metrics::family(const std::string& name, const std::string& help,
                                 const char* type) {
  for (const auto& f : families_) {
    if (f->name == name) {
      return *f;
    }
  }
  auto f = std::make_unique<Family>();
  f->name = name;
  f->help = help;
  f->type = type;
  families_.push_back(std::move(f));
  return *families_.back();
}

Counter& Metrics::counter(const std::string& name, const std::string& help, const Labels& labels) {
  const std::lock_guard lock(mutex_);
  Family& f = family(name, help, "counter");
  for (const auto& s : f.series) {
    if (s->labels == labels && s->counter) {
      return *s->counter;
    }
  }
  auto s = std::make_unique<Series>();
  s->labels = labels;
  s->counter = std::make_unique<Counter>();
  f.series.push_back(std::move(s));
  return *f.series.back()->counter;
}

Histogram& Metrics::histogram(const std::string& name, const std::string& help,
                              const Labels& labels, std::vector<double> bounds) {
  const std::lock_guard lock(mutex_);
  Family& f = family(name, help, "histogram");
  for (const auto& s : f.series) {
    if (s->labels == labels && s->histogram) {
      return *s->histogram;
    }
  }
  auto s = std::make_unique<Series>();
  s->labels = labels;
  s->histogram = std::make_unique<Histogram>(std::move(bounds));
  f.series.push_back(std::move(s));
  return *f.series.back()->histogram;
}

void Metrics::collect(std::function<void(GaugeWriter&)> collector) {
  const std::lock_guard lock(mutex_);
  collectors_.push_back(std::move(collector));
}

std::string Metrics::render() const {
  std::string out;
  std::vector<std::function<void(GaugeWriter&)>> collectors;
  {
    const std::lock_guard lock(mutex_);
    for (const auto& f : families_) {
      help_lines(out, f->name, f->help, f->type);
      for (const auto& s : f->series) {
        if (s->counter) {
          out += f->name + label_text(s->labels) + " " +
                 number(static_cast<double>(s->counter->value())) + "\n";
          continue;
        }
        const Histogram::Snapshot h = s->histogram->snapshot();
        for (std::size_t i = 0; i < h.cumulative.size(); ++i) {
          const std::string le = i < h.bounds.size() ? number(h.bounds[i]) : "+Inf";
          out += f->name + "_bucket" + label_text(s->labels, "le", le) + " " +
                 number(static_cast<double>(h.cumulative[i])) + "\n";
        }
        out += f->name + "_sum" + label_text(s->labels) + " " + number(h.sum) + "\n";
        out += f->name + "_count" + label_text(s->labels) + " " +
               number(static_cast<double>(h.count)) + "\n";
      }
    }
    collectors = collectors_;
  }
  // Collectors read the store: outside the lock, so a slow scrape blocks no registration.
  TextGauges gauges;
  for (const auto& collector : collectors) {
    collector(gauges);
  }
  gauges.write(out);
  return out;
}

}  // namespace waflow::server
