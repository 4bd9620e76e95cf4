// The 24-hour customer-service window (WF0409): WhatsApp delivers a message that is
// not an approved template only within 24 hours of the user's last message.
//
// For every step, the analysis bounds the time that may have passed since the
// user last wrote when the step runs: a reply (or an invalid answer) resets it to
// zero, a delay or typing pause adds its duration, a timeout exit adds the
// timeout, and a reminder is sent while an ask waits, `after` its prompt. Values
// are longest paths over the flow graph; a loop that adds time without a reply in
// between makes them unbounded. A flow started by a user message starts at zero,
// one started by a schedule or through the API at "unbounded" (the contact may not
// have written for days); a called flow starts at the latest time of its call sites.
// A handoff leaves the time as it is: the contact usually writes to the people
// handling the conversation. A call is summarised by
// the callee's effect on the clock: after it, t' = max(t + a, b).
//
// Sends at or past 24 hours are reported: a message exactly 24 hours after the
// prompt's reply is already outside the window by the time it leaves.

#include <deque>

#include "compiler/checks/control_flow.h"

namespace waflow::checks {

namespace {

constexpr std::int64_t kUnset = -1;
// "Unbounded": far beyond any duration a flow can spell, small enough not to overflow.
constexpr std::int64_t kForever = std::int64_t{1} << 60;
constexpr std::int64_t kWindow = 24LL * 3600 * 1000;
// An entry time large enough to tell "added to the entry time" from "reset".
constexpr std::int64_t kProbe = std::int64_t{1} << 50;

// Triggers that start a run without a message from the contact.
bool by_program(ir::TriggerKind kind) {
  return kind == ir::TriggerKind::Schedule || kind == ir::TriggerKind::Api;
}

std::int64_t add(std::int64_t a, std::int64_t b) {
  if (a == kUnset) {
    return kUnset;
  }
  return std::min(kForever, a + b);
}

// What calling a flow does to the time: t' = max(t + added, floor); `returns` is
// false while the flow is not known to return at all.
struct Summary {
  bool returns = false;
  bool adds = false;  // Whether some path carries the entry time to the exit.
  std::int64_t added = 0;
  std::int64_t floor = kUnset;

  std::int64_t apply(std::int64_t t) const {
    if (!returns || t == kUnset) {
      return kUnset;
    }
    return std::max(adds ? add(t, added) : kUnset, floor);
  }
  bool operator==(const Summary& o) const {
    return returns == o.returns && adds == o.adds && added == o.added && floor == o.floor;
  }
};

struct Times {
  std::vector<std::int64_t> at;    // Per node: the latest time the step can start.
  std::int64_t returned = kUnset;  // Latest time the flow returns to its caller.
};

class Window {
 public:
  Window(const ProjectGraph& graph, Diagnostics& diags)
      : graph_(graph), diags_(diags), summaries_(graph.flows.size()) {}

  void run() {
    summarise();
    const std::vector<std::int64_t> entry = entry_times();
    for (std::size_t f = 0; f < graph_.flows.size(); ++f) {
      if (entry[f] != kUnset) {
        report(f, propagate(f, entry[f]));
      }
    }
  }

 private:
  const ProjectGraph& graph_;
  Diagnostics& diags_;
  std::vector<Summary> summaries_;

  std::int64_t along(const FlowGraph& f, std::size_t node, const CfgEdge& edge,
                     std::int64_t t) const {
    if (edge.wait == Wait::User) {
      return 0;
    }
    if (edge.wait == Wait::Clock) {
      return add(t, edge.wait_ms);
    }
    const ir::Step* step = f.cfg.nodes[node].step;
    if (step == nullptr) {
      return t;
    }
    if (const auto* typing = std::get_if<ir::TypingStep>(&step->body)) {
      return add(t, typing->duration.ms);
    }
    const std::size_t callee = graph_.callee_of(step);
    if (callee != Cfg::kNone) {
      return summaries_[callee].apply(t);
    }
    return t;
  }

  // Longest-path propagation (FIFO label correcting); a node improved more often
  // than there are nodes sits on a loop that adds time, so it becomes unbounded.
  Times propagate(std::size_t flow, std::int64_t entry) const {
    const FlowGraph& f = graph_.flows[flow];
    const std::size_t n = f.cfg.nodes.size();
    Times times;
    times.at.assign(n, kUnset);
    std::vector<std::size_t> updates(n, 0);
    std::vector<bool> queued(n, false);
    std::deque<std::size_t> queue{Cfg::kEntry};
    times.at[Cfg::kEntry] = entry;
    queued[Cfg::kEntry] = true;
    while (!queue.empty()) {
      const std::size_t node = queue.front();
      queue.pop_front();
      queued[node] = false;
      const ir::Step* step = f.cfg.nodes[node].step;
      for (const CfgEdge& edge : f.cfg.nodes[node].successors) {
        const std::int64_t t = along(f, node, edge, times.at[node]);
        if (t == kUnset) {
          continue;
        }
        if (edge.to == Cfg::kExit) {
          if (step == nullptr || !std::holds_alternative<ir::EndStep>(step->body)) {
            times.returned = std::max(times.returned, t);
          }
          continue;
        }
        if (t <= times.at[edge.to]) {
          continue;
        }
        times.at[edge.to] = ++updates[edge.to] > n ? kForever : t;
        if (!queued[edge.to]) {
          queued[edge.to] = true;
          queue.push_back(edge.to);
        }
      }
    }
    return times;
  }

  // A worklist over flows: `visit(f)` returns the flows to visit again. Recursion
  // that adds time could raise values for ever, so each flow is visited a bounded
  // number of times; past that its values simply stop growing.
  template <typename Visit>
  void settle(std::vector<std::size_t> work, const Visit& visit) const {
    const std::size_t flows = graph_.flows.size();
    std::vector<std::size_t> visits(flows, 0);
    std::vector<bool> queued(flows, false);
    for (std::size_t f : work) {
      queued[f] = true;
    }
    for (std::size_t i = 0; i < work.size(); ++i) {
      const std::size_t f = work[i];
      queued[f] = false;
      if (++visits[f] > flows + 2) {
        continue;
      }
      for (std::size_t again : visit(f)) {
        if (!queued[again]) {
          queued[again] = true;
          work.push_back(again);
        }
      }
    }
  }

  // Summaries from the bottom (no flow returns) up: when a flow's summary changes,
  // its callers are summarised again.
  void summarise() {
    const std::size_t flows = graph_.flows.size();
    std::vector<std::vector<std::size_t>> calling(flows);  // The flows that call each flow.
    for (std::size_t f = 0; f < flows; ++f) {
      for (std::size_t node = 2; node < graph_.flows[f].cfg.nodes.size(); ++node) {
        const std::size_t callee = graph_.callee_of(graph_.flows[f].cfg.nodes[node].step);
        if (callee != Cfg::kNone) {
          calling[callee].push_back(f);
        }
      }
    }
    std::vector<std::size_t> all(flows);
    for (std::size_t f = 0; f < flows; ++f) {
      all[f] = flows - 1 - f;
    }
    settle(all, [&](std::size_t f) {
      const Times from_zero = propagate(f, 0);
      const Times from_probe = propagate(f, kProbe);
      Summary s;
      s.returns = from_zero.returned != kUnset;
      s.adds = from_probe.returned >= kProbe;
      s.added = s.adds ? from_probe.returned - kProbe : 0;
      if (from_probe.returned >= kForever) {
        s.added = kForever;
      }
      s.floor = from_zero.returned;
      if (s == summaries_[f]) {
        return std::vector<std::size_t>{};
      }
      summaries_[f] = s;
      return calling[f];
    });
  }

  // Entry times from the triggers down the calls: when a flow's entry time grows,
  // the flows it calls are visited again.
  std::vector<std::int64_t> entry_times() const {
    std::vector<std::int64_t> entry(graph_.flows.size(), kUnset);
    std::vector<std::size_t> started;
    for (std::size_t f = 0; f < graph_.flows.size(); ++f) {
      const ir::Flow& flow = *graph_.flows[f].flow;
      for (const ir::Trigger& trigger : flow.triggers) {
        entry[f] = std::max(entry[f], by_program(trigger.kind) ? kForever : 0);
      }
      // A flow that nothing starts is checked as if a message started it.
      if (flow.triggers.empty() && graph_.flows[f].callers.empty()) {
        entry[f] = 0;
      }
      if (entry[f] != kUnset) {
        started.push_back(f);
      }
    }
    settle(started, [&](std::size_t f) {
      std::vector<std::size_t> again;
      const Times times = propagate(f, entry[f]);
      const Cfg& cfg = graph_.flows[f].cfg;
      for (std::size_t node = 2; node < cfg.nodes.size(); ++node) {
        const std::size_t callee = graph_.callee_of(cfg.nodes[node].step);
        if (callee != Cfg::kNone && times.at[node] > entry[callee]) {
          entry[callee] = times.at[node];
          again.push_back(callee);
        }
      }
      return again;
    });
    return entry;
  }

  void report(std::size_t flow, const Times& times) {
    const FlowGraph& f = graph_.flows[flow];
    for (std::size_t node = 2; node < f.cfg.nodes.size(); ++node) {
      const std::int64_t t = times.at[node];
      if (t == kUnset) {
        continue;
      }
      const ir::Step& step = *f.cfg.nodes[node].step;
      if (sends(step)) {
        check(f, step.span, t);
      }
      if (const auto* ask = std::get_if<ir::AskStep>(&step.body)) {
        const std::vector<ir::Reminder>& reminders =
            ask->reminders.empty() ? f.flow->reminders : ask->reminders;
        for (const ir::Reminder& reminder : reminders) {
          // A reminder due after the timeout never goes out.
          if (!ask->timeout || reminder.after.ms < ask->timeout->ms) {
            // A flow's default reminder is reported at the ask that sends it.
            const bool inherited = ask->reminders.empty();
            Diagnostic* d =
                check(f, inherited ? step.span : reminder.span, add(t, reminder.after.ms));
            if (d != nullptr && inherited) {
              d->notes.insert(
                  d->notes.begin(),
                  Note{false, "the flow's reminder is sent while this ask waits", reminder.span});
            }
          }
        }
      }
    }
  }

  static bool sends(const ir::Step& step) {
    if (const auto* ai = std::get_if<ir::AiReplyStep>(&step.body)) {
      return !ai->into;
    }
    return std::holds_alternative<ir::SayStep>(step.body) ||
           std::holds_alternative<ir::MediaStep>(step.body) ||
           std::holds_alternative<ir::LocationStep>(step.body) ||
           std::holds_alternative<ir::AskStep>(step.body);
  }

  Diagnostic* check(const FlowGraph& f, SourceSpan span, std::int64_t t) {
    if (t < kWindow) {
      return nullptr;
    }
    Diagnostic& d = diags_.report(DiagnosticKind::OutsideWindow, span,
                                  t >= kForever ? std::string("any time") : format_duration(t));
    if (t >= kForever) {
      for (const ir::Trigger& trigger : f.flow->triggers) {
        if (by_program(trigger.kind)) {
          d.notes.push_back(
              Note{false,
                   fmt::format("flow '{}' starts {}, not on a message from the user", f.flow->name,
                               trigger.kind == ir::TriggerKind::Schedule ? "on a schedule"
                                                                         : "through the API"),
                   trigger.span});
          break;
        }
      }
    }
    d.notes.push_back(
        Note{true, "send an approved 'template' here, or wait for a reply before sending", {}});
    return &d;
  }
};

}  // namespace

void check_window(const ProjectGraph& graph, Diagnostics& diags) {
  Window(graph, diags).run();
}

}  // namespace waflow::checks
