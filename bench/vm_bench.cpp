// VM benchmark: microseconds per turn of the pizza conversation, and the cost of
// a state round trip (serialize + deserialize). Medians of repeated batches.
//
//   build/bench/waflow_vm_bench [examples/flows/pizza.wf]
//
// Targets (issue: VM): under 5 us per turn, under 2 us per state round trip.

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "compiler/checks/checks.h"
#include "compiler/codegen/codegen.h"
#include "compiler/frontend.h"
#include "runtime/vm/triggers.h"
#include "runtime/vm/vm.h"

namespace {

using waflow::vm::Value;
using Clock = std::chrono::steady_clock;

Value text_message(const std::string& text) {
  return Value::object({{"type", Value::text("text")}, {"text", Value::text(text)}},
                       waflow::vm::Tag::Message);
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

}  // namespace

int main(int argc, char** argv) {
  const std::string path = argc > 1 ? argv[1] : "examples/flows/pizza.wf";
  waflow::SourceManager sources;
  waflow::Diagnostics diags;
  const waflow::ir::Project project = waflow::load_project({path}, sources, diags);
  waflow::check_project(project, sources, diags);
  if (diags.has_errors()) {
    std::fprintf(stderr, "%s does not compile\n", path.c_str());
    return 1;
  }
  const waflow::bytecode::Bundle bundle = waflow::generate_bundle(project, sources, "bench");
  waflow::vm::Vm vm(bundle);
  waflow::vm::Context context;
  context.contact = Value::object({{"name", Value::text("User 1")}});
  const Value hi = text_message("hi");
  const Value tap = Value::object({{"type", Value::text("button")},
                                   {"payload", Value::text("margherita")},
                                   {"text", Value::text("Margherita")}},
                                  waflow::vm::Tag::Message);
  const Value address = text_message("1 Baker Street, flat 1");
  const Value yes = text_message("yes");
  const Value stored = Value::object({{"ok", Value::boolean(true)}, {"id", Value::text("R1")}});
  const auto flow = waflow::vm::match_trigger(bundle, hi, false)->flow;

  constexpr int kConversations = 20000;
  constexpr int kTurnsPerConversation = 5;  // hi, tap, address, yes, store answer.
  std::vector<double> turn_us;
  std::vector<double> roundtrip_us;
  std::size_t state_bytes = 0;
  for (int rep = 0; rep < 7; ++rep) {
    std::size_t effects = 0;
    const auto start = Clock::now();
    for (int i = 0; i < kConversations; ++i) {
      waflow::vm::RunState run;
      waflow::vm::VarMap contact;
      context.message = hi;
      effects += vm.start(run, contact, flow, context).effects.size();
      context.message = tap;
      effects +=
          vm.resume(run, contact, {waflow::vm::EventKind::Message, tap}, context).effects.size();
      context.message = address;
      effects += vm.resume(run, contact, {waflow::vm::EventKind::Message, address}, context)
                     .effects.size();
      context.message = yes;
      effects +=
          vm.resume(run, contact, {waflow::vm::EventKind::Message, yes}, context).effects.size();
      effects +=
          vm.resume(run, contact, {waflow::vm::EventKind::Answer, stored}, context).effects.size();
    }
    const double us = std::chrono::duration<double, std::micro>(Clock::now() - start).count();
    turn_us.push_back(us / (kConversations * kTurnsPerConversation));
    if (effects == 0) {
      return 1;
    }
    // A typical state: waiting for the confirmation.
    waflow::vm::RunState run;
    waflow::vm::VarMap contact;
    vm.start(run, contact, flow, context);
    vm.resume(run, contact, {waflow::vm::EventKind::Message, tap}, context);
    vm.resume(run, contact, {waflow::vm::EventKind::Message, address}, context);
    const auto rt_start = Clock::now();
    std::size_t total = 0;
    for (int i = 0; i < kConversations; ++i) {
      const std::string blob = waflow::vm::serialize_state(run);
      auto back = waflow::vm::deserialize_state(blob);
      total += blob.size() + (back.ok() ? 1 : 0);
      state_bytes = blob.size();
    }
    const double rt = std::chrono::duration<double, std::micro>(Clock::now() - rt_start).count();
    roundtrip_us.push_back(rt / kConversations);
    if (total == 0) {
      return 1;
    }
  }
  std::printf("| measure | median |\n|---|---|\n");
  std::printf("| VM turn, pizza flow | %.2f us |\n", median(turn_us));
  std::printf("| state round trip (serialize + deserialize) | %.2f us |\n", median(roundtrip_us));
  std::printf("| state size, waiting for confirmation | %zu bytes |\n", state_bytes);
  return 0;
}
