// libFuzzer target for saved sessions: any bytes given to peek_session() and
// Session::restore() must come back as a session or an error message, with no
// crash, hang or sanitizer report; a session that restores must also run (a
// message, a tap, answers to its calls, a hand back, timers), and what it then
// saves must restore again to the same bytes.
//
// Random bytes rarely get past the header, so an input that does not start
// with the blob's magic picks one of a few real blobs (a run waiting at an ask,
// in a called flow, at a deferred HTTP call, in a delay, collecting an AI
// burst, handed off, ended) with its first byte and flips the base's bytes
// with the rest: the decoders and the check against the bundle see near-valid
// blobs from the first run on.

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "compiler/checks/checks.h"
#include "compiler/codegen/codegen.h"
#include "compiler/frontend.h"
#include "runtime/host/session.h"
#include "runtime/host/session_blob.h"

namespace {

using waflow::host::Session;
using waflow::vm::Value;

const char* kFlows = R"wf(flow main "Main"
  trigger exact "go"
  tag vip
  stage start
  ask name: text "Name?"
    remind after 5m "Still there?"
    on timeout 1h
      end
  call helper
  http check = GET "https://api.example.com/{{name}}"
    on error
      say "Down."
  delay 1m
  ai reply
    buffer 3s
    on error
      say "No AI."
  handoff "Help {{name}}" queue "support"
  say "Back."

flow helper "Helper"
  ask city: text "City?"
    on timeout 1h
      end
  say "Ok {{city}}."
)wf";

class Deferring : public waflow::host::Responder {
 public:
  bool defer(const waflow::host::Request& /*request*/) override { return true; }
  Value answer(const waflow::host::Request& /*request*/) override { return {}; }
};

Value ok_answer() {
  return Value::object({{"ok", Value::boolean(true)},
                        {"status", Value::number(200)},
                        {"text", Value::text("hi")},
                        {"body", Value::object({})}});
}

struct World {
  waflow::bytecode::Bundle bundle;
  Deferring responder;
  std::vector<std::string> bases;
};

void answer_all(Session& s) {
  for (const waflow::host::PendingRequest& call : s.pending()) {
    s.complete(call.id, ok_answer());
  }
}

World& world() {
  static World* w = [] {
    auto* out = new World;
    waflow::SourceManager sources;
    waflow::Diagnostics diags;
    waflow::ir::Project project;
    project.modules.push_back(waflow::parse_dsl(sources, sources.add("fuzz.wf", kFlows), diags));
    waflow::assign_step_ids(project);
    waflow::check_project(project, sources, diags);
    auto loaded = waflow::bytecode::load_bundle(
        waflow::bytecode::write_bundle(waflow::generate_bundle(project, sources, "fuzz")));
    if (diags.has_errors() || !loaded) {
      std::abort();
    }
    out->bundle = std::move(loaded).value();
    Session s(out->bundle, out->responder);
    out->bases.push_back(s.save());  // Nothing yet.
    s.receive(waflow::host::text_message("go"), "m1");
    out->bases.push_back(s.save());  // At the ask.
    s.receive(waflow::host::text_message("Ana"), "m2");
    out->bases.push_back(s.save());  // In the called flow.
    s.receive(waflow::host::text_message("Madrid"), "m3");
    s.receive(waflow::host::text_message("early"), "m4");
    out->bases.push_back(s.save());  // At the HTTP call, one held.
    answer_all(s);
    s.receive(waflow::host::text_message("late"), "m5");
    out->bases.push_back(s.save());  // In the delay.
    s.advance(60'000);
    s.receive(waflow::host::text_message("more"), "m6");
    out->bases.push_back(s.save());  // Collecting a burst.
    s.advance(3'000);
    answer_all(s);
    out->bases.push_back(s.save());  // Handed off.
    s.hand_back();
    out->bases.push_back(s.save());  // Ended.
    return out;
  }();
  return *w;
}

void run(Session& s) {
  s.receive(waflow::host::text_message("go"), "x1");
  s.receive(Value::object({{"type", Value::text("button")},
                           {"payload", Value::text("a")},
                           {"text", Value::text("A")}},
                          waflow::vm::Tag::Message),
            "x2");
  answer_all(s);
  s.hand_back();
  s.advance(3'600'000);
  answer_all(s);
  s.advance(2 * 86'400'000);
  s.fail("1:1", "late");
  (void)s.take_events();
  (void)s.next_timer_ms();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  World& w = world();
  std::string blob;
  if (size >= 2 && data[0] == 'W' && data[1] == 'H') {
    blob.assign(reinterpret_cast<const char*>(data), size);
  } else if (size >= 1) {
    blob = w.bases[data[0] % w.bases.size()];
    for (std::size_t i = 1; i < size; ++i) {
      const std::size_t at = (i - 1) % (blob.size() + 1);
      if (at == blob.size()) {
        blob += static_cast<char>(data[i]);
      } else {
        blob[at] = static_cast<char>(static_cast<std::uint8_t>(blob[at]) ^ data[i]);
      }
    }
  }
  const auto peek = waflow::host::peek_session(blob);
  if (!peek && peek.error().message.empty()) {
    std::abort();
  }
  auto restored = Session::restore(w.bundle, w.responder, blob);
  if (!restored) {
    if (restored.error().message.empty()) {
      std::abort();  // Every refusal says why.
    }
    return 0;
  }
  Session s = std::move(restored).value();
  run(s);
  // What a session saves restores, to the same bytes (on any sane clock).
  if (s.now_ms() >= 0 && s.now_ms() < (std::int64_t{1} << 50)) {
    const std::string saved = s.save();
    auto again = Session::restore(w.bundle, w.responder, saved);
    if (!again) {
      std::fprintf(stderr, "a saved session does not restore: %s\n", again.error().message.c_str());
      std::abort();
    }
    if (again.value().save() != saved) {
      std::fprintf(stderr, "a restored session saves differently\n");
      std::abort();
    }
  }
  return 0;
}
