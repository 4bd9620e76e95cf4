// The bundle verifier: everything the VM relies on without checking again.
//
// Tables: every string, number, flow and step index in range; flows' code ranges
// contiguous; steps and jump targets on instruction boundaries inside their own
// flow. Code: every opcode known, every operand in range, effect kinds used with
// the right instruction, and the operand stack balanced: the same depth on every
// path into an instruction, never negative, exactly the payload at a suspension
// (so a suspended run never needs its operand stack saved), empty at call, return
// and end.

#include <string>
#include <vector>

#include "runtime/base/source.h"
#include "runtime/bytecode/bundle.h"
#include "runtime/bytecode/opcodes.h"

namespace waflow::bytecode {

namespace {

constexpr std::uint32_t kFunctionCount = 0
#define WAFLOW_FUNCTION(name, text) +1
#include "runtime/bytecode/functions.def"
#undef WAFLOW_FUNCTION
    ;
constexpr std::uint32_t kScopeCount = 5;      // flow, conversation, contact, message, system.
constexpr std::uint32_t kWritableScopes = 3;  // message and system are read-only.
constexpr std::uint32_t kCaptureCount = 11;
constexpr std::uint32_t kMaxCount = 1U << 16U;

struct Decoded {
  Op op;
  std::uint32_t a = 0;
  std::uint32_t b = 0;
};

class Verifier {
 public:
  explicit Verifier(const Bundle& b) : b_(b) {}

  std::string run() {
    if (!tables()) {
      return error_;
    }
    for (std::uint32_t f = 0; f < b_.flows.size(); ++f) {
      if (!flow_code(f)) {
        return error_;
      }
    }
    if (!steps()) {
      return error_;
    }
    return {};
  }

 private:
  const Bundle& b_;
  std::string error_;
  std::vector<bool> boundary_;

  bool fail(std::string message) {
    error_ = std::move(message);
    return false;
  }
  bool str_ok(std::uint32_t id, bool optional = false) const {
    return id < b_.strings.size() || (optional && id == kNone);
  }

  bool tables() {
    for (std::size_t i = 0; i < b_.strings.size(); ++i) {
      if (utf8_invalid_offset(b_.strings[i]) != std::string::npos) {
        return fail("string " + std::to_string(i) + " is not valid UTF-8");
      }
    }
    if (!str_ok(b_.compiler_version)) {
      return fail("compiler version string out of range");
    }
    std::uint32_t expected_begin = 0;
    for (std::size_t i = 0; i < b_.flows.size(); ++i) {
      const FlowInfo& f = b_.flows[i];
      const std::string which = "flow " + std::to_string(i);
      if (!str_ok(f.name) || !str_ok(f.title, true) || !str_ok(f.timezone, true)) {
        return fail(which + ": string index out of range");
      }
      if (f.code_begin != expected_begin || f.code_end <= f.code_begin ||
          f.code_end > b_.code.size()) {
        return fail(which + ": code range out of bounds");
      }
      expected_begin = f.code_end;
      for (const HoursRange& h : f.hours) {
        if (h.days == 0 || h.days > 0x7F || h.open >= h.close || h.close > 24 * 60) {
          return fail(which + ": invalid business hours");
        }
      }
    }
    if (expected_begin != b_.code.size()) {
      return fail("code outside any flow");
    }
    for (std::size_t i = 0; i < b_.triggers.size(); ++i) {
      const TriggerInfo& t = b_.triggers[i];
      if (t.flow >= b_.flows.size() || !str_ok(t.timezone, true)) {
        return fail("trigger " + std::to_string(i) + ": index out of range");
      }
      for (std::uint32_t v : t.values) {
        if (!str_ok(v)) {
          return fail("trigger " + std::to_string(i) + ": string index out of range");
        }
      }
    }
    for (const LineInfo& l : b_.lines) {
      if (!str_ok(l.line_id) || !str_ok(l.text)) {
        return fail("line table: string index out of range");
      }
    }
    std::uint32_t last_pc = 0;
    for (const DebugEntry& d : b_.debug) {
      if (!str_ok(d.file) || d.pc >= b_.code.size() || d.pc < last_pc) {
        return fail("debug table: entry out of range or out of order");
      }
      last_pc = d.pc;
    }
    for (const SourceInfo& s : b_.sources) {
      if (!str_ok(s.path)) {
        return fail("source table: string index out of range");
      }
    }
    boundary_.assign(b_.code.size() + 1, false);
    return true;
  }

  Decoded decode(std::uint32_t pc) const {
    Decoded d{static_cast<Op>(b_.code[pc])};
    auto operand = [&](std::uint32_t at) {
      std::uint32_t v = 0;
      for (unsigned i = 0; i < 4; ++i) {
        v |= static_cast<std::uint32_t>(b_.code[at + i]) << (8U * i);
      }
      return v;
    };
    const int n = operand_count(d.op);
    if (n >= 1) {
      d.a = operand(pc + 1);
    }
    if (n >= 2) {
      d.b = operand(pc + 5);
    }
    return d;
  }

  // What is wrong with an operand, or empty when it is fine.
  std::string operand_problem(Operand kind, std::uint32_t v, const FlowInfo& flow, Op op) const {
    const std::string n = std::to_string(v);
    switch (kind) {
      case Operand::None:
        return {};
      case Operand::Str:
        return v < b_.strings.size() ? std::string()
                                     : "string index " + n + " out of range (the bundle has " +
                                           std::to_string(b_.strings.size()) + " strings)";
      case Operand::Num:
        return v < b_.numbers.size() ? std::string()
                                     : "number index " + n + " out of range (the bundle has " +
                                           std::to_string(b_.numbers.size()) + " numbers)";
      case Operand::Target:
        return v >= flow.code_begin && v < flow.code_end
                   ? std::string()
                   : "jump target " + n + " outside the flow (pc " +
                         std::to_string(flow.code_begin) + " to " +
                         std::to_string(flow.code_end - 1) + ")";
      case Operand::Count:
        return v <= kMaxCount ? std::string() : "count " + n + " too large";
      case Operand::Scope:
        if (v >= kScopeCount) {
          return "unknown variable scope " + n;
        }
        return op == Op::Store && v >= kWritableScopes ? "variable scope " + n + " is read-only"
                                                       : std::string();
      case Operand::Step:
        return v < b_.steps.size() ? std::string() : "step index " + n + " out of range";
      case Operand::Flow:
        return v < b_.flows.size() ? std::string() : "flow index " + n + " out of range";
      case Operand::Fn:
        return v < kFunctionCount ? std::string() : "unknown built-in function " + n;
      case Operand::Kind: {
        if (v >= kEffectNames.size()) {
          return "unknown effect kind " + n;
        }
        const std::string name(kEffectNames[v]);
        if (is_await_effect(static_cast<EffectKind>(v)) != (op == Op::Await)) {
          return op == Op::Await ? "effect '" + name + "' does not answer, so it cannot be awaited"
                                 : "effect '" + name + "' answers, so it must be awaited";
        }
        return {};
      }
      case Operand::Capture:
        return v < kCaptureCount ? std::string() : "unknown capture type " + n;
    }
    return "unknown operand kind";
  }

  bool flow_code(std::uint32_t index) {
    const FlowInfo& flow = b_.flows[index];
    const std::string which = "flow '" + b_.str(flow.name) + "'";
    // Pass 1: decode, find boundaries, check operands.
    std::vector<std::uint32_t> pcs;
    for (std::uint32_t pc = flow.code_begin; pc < flow.code_end;) {
      if (b_.code[pc] >= kOpCount) {
        return fail(which + ": unknown opcode " + std::to_string(b_.code[pc]) + " at pc " +
                    std::to_string(pc));
      }
      const auto op = static_cast<Op>(b_.code[pc]);
      if (pc + instruction_size(op) > flow.code_end) {
        return fail(which + ": truncated instruction at pc " + std::to_string(pc));
      }
      boundary_[pc] = true;
      pcs.push_back(pc);
      pc += instruction_size(op);
    }
    for (std::uint32_t pc : pcs) {
      const Decoded d = decode(pc);
      const OpInfo& info = op_info(d.op);
      std::string problem = operand_problem(info.operands[0], d.a, flow, d.op);
      if (problem.empty()) {
        problem = operand_problem(info.operands[1], d.b, flow, d.op);
      }
      if (!problem.empty()) {
        return fail(which + ": " + problem + " in " + std::string(info.mnemonic) + " at pc " +
                    std::to_string(pc));
      }
      if (info.operands[0] == Operand::Target && !boundary_[d.a]) {
        return fail(which + ": jump into the middle of an instruction at pc " + std::to_string(pc));
      }
      if (d.op == Op::Step && b_.steps[d.a].flow != index) {
        return fail(which + ": step marker of another flow at pc " + std::to_string(pc));
      }
    }
    // Pass 2: stack depths. Sized to the flow, not the whole code, so that many
    // small flows cost linear time rather than flows x code.
    std::vector<int> depth_in_flow(flow.code_end - flow.code_begin, -1);
    auto depth = [&](std::uint32_t pc) -> int& {
      return depth_in_flow[pc - flow.code_begin];
    };
    std::vector<std::uint32_t> work{flow.code_begin};
    depth(flow.code_begin) = 0;
    auto reach = [&](std::uint32_t target, int d, std::uint32_t from) {
      if (depth(target) == -1) {
        depth(target) = d;
        work.push_back(target);
        return true;
      }
      if (depth(target) != d) {
        return fail(which + ": stack depth " + std::to_string(d) + " from pc " +
                    std::to_string(from) + " meets depth " + std::to_string(depth(target)) +
                    " at pc " + std::to_string(target));
      }
      return true;
    };
    while (!work.empty()) {
      const std::uint32_t pc = work.back();
      work.pop_back();
      const Decoded d = decode(pc);
      const int in = depth(pc);
      const int pops = stack_pops(d.op, d.a, d.b);
      const std::string at = " at pc " + std::to_string(pc);
      if (pops > in) {
        return fail(which + ": stack underflow in " + std::string(op_info(d.op).mnemonic) + at);
      }
      const int out = in - pops + op_info(d.op).pushes;
      if (out > static_cast<int>(kMaxCount)) {
        return fail(which + ": stack too deep" + at);
      }
      const bool suspends = d.op == Op::Await || d.op == Op::Wait;
      if (suspends && in != 1) {
        return fail(which + ": a suspension must hold only its payload on the stack" + at);
      }
      if ((d.op == Op::CallFlow || d.op == Op::Return || d.op == Op::End || d.op == Op::Fail) &&
          in != 0) {
        return fail(which + ": values left on the stack" + at);
      }
      const std::uint32_t next = pc + instruction_size(d.op);
      const bool falls_through =
          d.op != Op::Jump && d.op != Op::Return && d.op != Op::End && d.op != Op::Fail;
      if (falls_through) {
        if (next >= flow.code_end) {
          return fail(which + ": code runs off the end of the flow" + at);
        }
        if (!reach(next, out, pc)) {
          return false;
        }
      }
      if (op_info(d.op).operands[0] == Operand::Target) {
        // A wait that times out jumps without pushing the message.
        const int target_depth = d.op == Op::Wait ? in - 1 : out;
        if (!reach(d.a, target_depth, pc)) {
          return false;
        }
      }
    }
    return true;
  }

  bool steps() {
    for (std::size_t i = 0; i < b_.steps.size(); ++i) {
      const StepInfo& s = b_.steps[i];
      if (!str_ok(s.id) || !str_ok(s.kind) || s.flow >= b_.flows.size()) {
        return fail("step " + std::to_string(i) + ": index out of range");
      }
      const FlowInfo& f = b_.flows[s.flow];
      if (s.pc < f.code_begin || s.pc >= f.code_end || !boundary_[s.pc]) {
        return fail("step " + std::to_string(i) + ": pc outside its flow");
      }
    }
    return true;
  }
};

}  // namespace

Result<bool> verify_bundle(const Bundle& bundle) {
  const std::string error = Verifier(bundle).run();
  if (!error.empty()) {
    return Error{ErrorCode::InvalidInput, "bundle refused by the verifier: " + error};
  }
  return true;
}

}  // namespace waflow::bytecode
