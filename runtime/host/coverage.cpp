// Recording steps and edges from a session's events (see coverage.h).

#include "runtime/host/coverage.h"

namespace waflow::host {

void CoverageRecorder::edge(const bytecode::Bundle& bundle, const Frame& frame, std::uint32_t to) {
  FlowCoverage& f = flows_[bundle.str(bundle.flows[frame.flow].name)];
  f.edges.emplace(bundle.str(bundle.steps[frame.last].id), bundle.str(bundle.steps[to].id));
}

void CoverageRecorder::exit(const bytecode::Bundle& bundle, const Frame& frame) {
  FlowCoverage& f = flows_[bundle.str(bundle.flows[frame.flow].name)];
  f.edges.emplace(bundle.str(bundle.steps[frame.last].id), std::string());
}

void CoverageRecorder::step(const bytecode::Bundle& bundle, std::uint32_t index) {
  const bytecode::StepInfo& info = bundle.steps[index];
  flows_[bundle.str(bundle.flows[info.flow].name)].steps.insert(bundle.str(info.id));
  const bool is_call = bundle.str(info.kind) == "call";
  if (stack_.empty()) {
    stack_.push_back(Frame{info.flow, index, is_call});
    return;
  }
  Frame& top = stack_.back();
  if (top.calling && info.flow != top.flow) {
    // Into the callee; its first step is where it starts, not an edge.
    top.calling = false;
    stack_.push_back(Frame{info.flow, index, is_call});
    return;
  }
  // Back from callees: each returned off its end.
  while (stack_.size() > 1 && stack_.back().flow != info.flow) {
    exit(bundle, stack_.back());
    stack_.pop_back();
  }
  Frame& frame = stack_.back();
  if (frame.flow == info.flow) {
    edge(bundle, frame, index);
  }
  frame.flow = info.flow;
  frame.last = index;
  frame.calling = is_call;
}

void CoverageRecorder::observe(const Session& session, std::size_t from) {
  const bytecode::Bundle& bundle = session.bundle();
  const std::vector<Event>& events = session.events();
  for (std::size_t i = from; i < events.size(); ++i) {
    const Event& e = events[i];
    switch (e.kind) {
      case EventKind::Started:
        stack_.clear();
        break;
      case EventKind::Step:
        if (e.step < bundle.steps.size()) {
          step(bundle, e.step);
        }
        break;
      case EventKind::Ended: {
        // Flows deeper than the run's frames returned; the innermost still
        // running one ended the run.
        const vm::Value* depth = e.payload.field("depth");
        const std::size_t frames =
            depth != nullptr ? static_cast<std::size_t>(depth->as_number()) : 1;
        while (stack_.size() > std::max<std::size_t>(frames, 1)) {
          exit(bundle, stack_.back());
          stack_.pop_back();
        }
        if (!stack_.empty()) {
          exit(bundle, stack_.back());
        }
        stack_.clear();
        break;
      }
      case EventKind::Failed:
        stack_.clear();
        break;
      default:
        break;
    }
  }
}

}  // namespace waflow::host
