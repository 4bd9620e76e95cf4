#pragma once

// Coverage of flows by the runs of a session: the steps entered and the edges
// taken, per flow. An edge is a transition between consecutive steps of one flow
// in a run, or a step's exit out of the flow (the run ending, or a called flow
// returning), written with an empty `to`. A call is followed into the callee and
// back: the callee's steps count for the callee, and the caller's edge goes from
// the `call` step to the step after it.
//
// This is the observed half of coverage; what could be covered (every step and
// edge of a flow's control-flow graph) comes from the compiler, so `waflow test`
// joins the two.

#include <map>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "runtime/host/session.h"

namespace waflow::host {

struct FlowCoverage {
  std::set<std::string> steps;                          // Step ids.
  std::set<std::pair<std::string, std::string>> edges;  // (from, to); to "" is the exit.
};

class CoverageRecorder {
 public:
  // Reads events [from, end) of `session`; call it with the growing log as the
  // session goes on (each test's session feeds the same recorder).
  void observe(const Session& session, std::size_t from);
  // By flow name.
  const std::map<std::string, FlowCoverage>& flows() const { return flows_; }

 private:
  struct Frame {
    std::uint32_t flow = 0;
    std::uint32_t last = 0;  // The step last entered.
    bool calling = false;    // The last step was a call: the next step may be the callee's.
  };
  std::vector<Frame> stack_;
  std::map<std::string, FlowCoverage> flows_;

  void step(const bytecode::Bundle& bundle, std::uint32_t index);
  void edge(const bytecode::Bundle& bundle, const Frame& frame, std::uint32_t to);
  void exit(const bytecode::Bundle& bundle, const Frame& frame);
};

}  // namespace waflow::host
