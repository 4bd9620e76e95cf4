// The interpreter loop. The verifier has checked every operand, jump and stack
// depth, so the loop only checks what depends on run-time values (types of
// dynamic data), and turns those failures into a clean end of the run that names
// the source line.

#include "runtime/vm/vm.h"

#include <algorithm>
#include <cmath>
#include <regex>
#include <unordered_map>

namespace waflow::vm {

namespace {

namespace bc = bytecode;
using bc::Op;

std::uint32_t read_u32(const std::vector<std::uint8_t>& code, std::uint32_t at) {
  std::uint32_t v = 0;
  for (unsigned i = 0; i < 4; ++i) {
    v |= static_cast<std::uint32_t>(code[at + i]) << (8U * i);
  }
  return v;
}

std::string lower_ascii(std::string s) {
  for (char& c : s) {
    if (c >= 'A' && c <= 'Z') {
      c = static_cast<char>(c - 'A' + 'a');
    }
  }
  return s;
}

// Selects from a JSON value by a path of the form $.a.b[0].
Value json_path(const Value& root, std::string_view path) {
  Value current = root;
  std::size_t i = path.empty() || path[0] != '$' ? 0 : 1;
  while (i < path.size()) {
    if (current.is_null()) {
      return {};
    }
    if (path[i] == '.') {
      std::size_t j = i + 1;
      while (j < path.size() && path[j] != '.' && path[j] != '[') {
        ++j;
      }
      const Value* f = current.field(path.substr(i + 1, j - i - 1));
      current = f != nullptr ? *f : Value();
      i = j;
    } else if (path[i] == '[') {
      const std::size_t close = path.find(']', i);
      if (close == std::string_view::npos || current.type() != Value::Type::List) {
        return {};
      }
      std::size_t index = 0;
      for (std::size_t k = i + 1; k < close; ++k) {
        if (path[k] < '0' || path[k] > '9') {
          return {};
        }
        index = index * 10 + static_cast<std::size_t>(path[k] - '0');
      }
      const auto& list = current.as_list();
      current = index < list.size() ? list[index] : Value();
      i = close + 1;
    } else {
      return {};
    }
  }
  return current;
}

class Machine {
 public:
  Machine(const bc::Bundle& bundle, RunState& run, VarMap& contact, const Context& context,
          Outcome& out)
      : b_(bundle), run_(run), contact_(contact), context_(context), out_(out) {}

  void run(std::vector<Value> stack) {
    stack_ = std::move(stack);
    stack_.reserve(32);
    std::uint64_t budget = Vm::kInstructionBudget;
    while (budget-- > 0) {
      if (!step()) {
        return;
      }
    }
    fail("the run did not wait for the user within " + std::to_string(Vm::kInstructionBudget) +
         " instructions");
  }

 private:
  const bc::Bundle& b_;
  RunState& run_;
  VarMap& contact_;
  const Context& context_;
  Outcome& out_;
  std::vector<Value> stack_;
  std::uint32_t pc_ = 0;

 public:
  void set_pc(std::uint32_t pc) { pc_ = pc; }

 private:
  Value pop() {
    Value v = std::move(stack_.back());
    stack_.pop_back();
    return v;
  }

  bool fail(const std::string& message) {
    run_.status = RunStatus::Failed;
    run_.pc = pc_;
    out_.status = RunStatus::Failed;
    out_.error.message = message;
    if (const bc::DebugEntry* d = b_.debug_at(pc_)) {
      out_.error.file = b_.str(d->file);
      out_.error.line = d->line;
      out_.error.column = d->column;
    }
    if (run_.step < b_.steps.size()) {
      out_.error.step = b_.str(b_.steps[run_.step].id);
    }
    return false;
  }

  const bc::FlowInfo& flow() const { return b_.flows[run_.frames.back().flow]; }

  Value load(std::uint32_t scope, const std::string& name) {
    const Value* v = nullptr;
    switch (scope) {
      case 0:
        v = run_.frames.back().vars.find(name);
        break;
      case 1:
        v = run_.conversation.find(name);
        break;
      case 2:
        v = contact_.find(name);
        if (v == nullptr) {
          v = context_.contact.field(name);
        }
        break;
      case 3:
        v = context_.message.field(name);
        break;
      case 4:
        if (name == "now") {
          return Value::number(static_cast<double>(context_.now_ms), Tag::DateTime);
        }
        if (name == "today") {
          Value today;
          std::string unused;
          call_function(/*FormatDate*/ 18,
                        {Value::number(static_cast<double>(context_.now_ms), Tag::DateTime),
                         Value::text("YYYY-MM-DD")},
                        context_, flow(), b_, today, unused);
          return Value::text(today.to_text(), Tag::Date);
        }
        break;
      default:
        break;
    }
    return v != nullptr ? *v : Value();
  }

  void store(std::uint32_t scope, const std::string& name, Value v) {
    switch (scope) {
      case 0:
        run_.frames.back().vars.set(name, std::move(v));
        break;
      case 1:
        run_.conversation.set(name, std::move(v));
        break;
      default:
        contact_.set(name, std::move(v));
        break;
    }
  }

  bool arithmetic(Op op) {
    Value r = pop();
    Value l = pop();
    if (op == Op::Add && (l.is_text() || r.is_text())) {
      stack_.push_back(Value::text(l.to_text() + r.to_text()));
      return true;
    }
    if (!l.is_number() || !r.is_number()) {
      return fail("cannot do arithmetic on " + l.kind_name() + " and " + r.kind_name());
    }
    const double a = l.as_number();
    const double c = r.as_number();
    // A date moved by a duration stays a date; the difference of dates is a duration.
    Tag tag = Tag::None;
    if (l.tag() == Tag::DateTime && r.tag() == Tag::Duration) {
      tag = Tag::DateTime;
    } else if (l.tag() == Tag::Duration && r.tag() == Tag::Duration) {
      tag = Tag::Duration;
    } else if (l.tag() == Tag::DateTime && r.tag() == Tag::DateTime && op == Op::Sub) {
      tag = Tag::Duration;
    }
    double v = 0;
    switch (op) {
      case Op::Add:
        v = a + c;
        break;
      case Op::Sub:
        v = a - c;
        break;
      case Op::Mul:
        v = a * c;
        break;
      case Op::Div:
        if (c == 0) {
          return fail("division by zero");
        }
        v = a / c;
        break;
      default:
        if (c == 0) {
          return fail("division by zero");
        }
        v = std::fmod(a, c);
        break;
    }
    stack_.push_back(Value::number(v, tag));
    return true;
  }

  bool compare(Op op) {
    Value r = pop();
    Value l = pop();
    if (op == Op::Eq || op == Op::Ne) {
      stack_.push_back(Value::boolean((l == r) == (op == Op::Eq)));
      return true;
    }
    int order = 0;
    if (l.is_number() && r.is_number()) {
      order = l.as_number() < r.as_number() ? -1 : (l.as_number() > r.as_number() ? 1 : 0);
    } else if (l.is_text() && r.is_text()) {
      order = l.as_text().compare(r.as_text());
    } else if (l.is_null() || r.is_null()) {
      // Missing data never satisfies an ordering.
      stack_.push_back(Value::boolean(false));
      return true;
    } else {
      return fail("cannot compare " + l.kind_name() + " with " + r.kind_name());
    }
    bool result = false;
    switch (op) {
      case Op::Lt:
        result = order < 0;
        break;
      case Op::Le:
        result = order <= 0;
        break;
      case Op::Gt:
        result = order > 0;
        break;
      default:
        result = order >= 0;
        break;
    }
    stack_.push_back(Value::boolean(result));
    return true;
  }

  bool contains() {
    Value needle = pop();
    Value hay = pop();
    bool result = false;
    if (hay.type() == Value::Type::List) {
      result = std::find(hay.as_list().begin(), hay.as_list().end(), needle) != hay.as_list().end();
    } else if (hay.type() == Value::Type::Object && needle.is_text() && hay.tag() == Tag::None) {
      result = hay.field(needle.as_text()) != nullptr;
    } else {
      result = lower_ascii(hay.to_text()).find(lower_ascii(needle.to_text())) != std::string::npos;
    }
    stack_.push_back(Value::boolean(result));
    return true;
  }

  bool matches() {
    Value pattern = pop();
    Value subject = pop();
    static thread_local std::unordered_map<std::string, std::regex> cache;
    const std::string p = pattern.to_text();
    auto it = cache.find(p);
    if (it == cache.end()) {
      try {
        it = cache.emplace(p, std::regex(p, std::regex::ECMAScript)).first;
      } catch (const std::regex_error& e) {
        return fail("invalid regular expression '" + p + "'");
      }
    }
    stack_.push_back(Value::boolean(std::regex_search(subject.to_text(), it->second)));
    return true;
  }

  bool suspend(bool wait, bc::EffectKind kind) {
    Effect e;
    e.wait = wait;
    e.kind = kind;
    e.payload = pop();
    e.step = run_.step;
    out_.effects.push_back(std::move(e));
    run_.status = wait ? RunStatus::WaitingInput : RunStatus::Awaiting;
    run_.pc = pc_;
    out_.status = run_.status;
    return false;
  }

  bool end() {
    run_.status = RunStatus::Ended;
    run_.pc = pc_;
    out_.status = RunStatus::Ended;
    return false;
  }

  // Executes one instruction; false when the run suspends, ends or fails.
  bool step() {
    const auto op = static_cast<Op>(b_.code[pc_]);
    const int n = bc::operand_count(op);
    const std::uint32_t a = n >= 1 ? read_u32(b_.code, pc_ + 1) : 0;
    const std::uint32_t b = n >= 2 ? read_u32(b_.code, pc_ + 5) : 0;
    const std::uint32_t next = pc_ + bc::instruction_size(op);
    switch (op) {
      case Op::Nop:
        break;
      case Op::Step:
        run_.step = a;
        out_.steps.push_back(a);
        break;
      case Op::PushNull:
        stack_.emplace_back();
        break;
      case Op::PushTrue:
        stack_.push_back(Value::boolean(true));
        break;
      case Op::PushFalse:
        stack_.push_back(Value::boolean(false));
        break;
      case Op::PushNum:
        stack_.push_back(Value::number(b_.numbers[a]));
        break;
      case Op::PushStr:
        stack_.push_back(Value::text(b_.strings[a]));
        break;
      case Op::PushDuration:
        stack_.push_back(Value::number(b_.numbers[a], Tag::Duration));
        break;
      case Op::Pop:
        stack_.pop_back();
        break;
      case Op::Dup:
        stack_.push_back(stack_.back());
        break;
      case Op::Load:
        stack_.push_back(load(a, b_.strings[b]));
        break;
      case Op::Store:
        store(a, b_.strings[b], pop());
        break;
      case Op::GetField: {
        Value v = pop();
        const Value* f = v.field(b_.strings[a]);
        stack_.push_back(f != nullptr ? *f : Value());
        break;
      }
      case Op::GetIndex: {
        Value index = pop();
        Value v = pop();
        Value result;
        if (v.type() == Value::Type::List && index.is_number() && index.as_number() >= 0) {
          const auto i = static_cast<std::size_t>(index.as_number());
          if (i < v.as_list().size()) {
            result = v.as_list()[i];
          }
        } else if (v.type() == Value::Type::Object && index.is_text()) {
          const Value* f = v.field(index.as_text());
          result = f != nullptr ? *f : Value();
        }
        stack_.push_back(std::move(result));
        break;
      }
      case Op::JsonPath:
        stack_.push_back(json_path(pop(), b_.strings[a]));
        break;
      case Op::Not:
        stack_.push_back(Value::boolean(!pop().truthy()));
        break;
      case Op::Neg: {
        Value v = pop();
        if (!v.is_number()) {
          return fail("cannot negate " + v.kind_name());
        }
        stack_.push_back(Value::number(-v.as_number(), v.tag()));
        break;
      }
      case Op::Add:
      case Op::Sub:
      case Op::Mul:
      case Op::Div:
      case Op::Mod:
        if (!arithmetic(op)) {
          return false;
        }
        break;
      case Op::Eq:
      case Op::Ne:
      case Op::Lt:
      case Op::Le:
      case Op::Gt:
      case Op::Ge:
        if (!compare(op)) {
          return false;
        }
        break;
      case Op::Contains:
        contains();
        break;
      case Op::Matches:
        if (!matches()) {
          return false;
        }
        break;
      case Op::Format: {
        std::vector<Value> values(stack_.end() - b, stack_.end());
        stack_.resize(stack_.size() - b);
        stack_.push_back(Value::text(render_template(b_.strings[a], values)));
        break;
      }
      case Op::MakeList: {
        Value::List items(stack_.end() - a, stack_.end());
        stack_.resize(stack_.size() - a);
        stack_.push_back(Value::list(std::move(items)));
        break;
      }
      case Op::MakeObject: {
        Value::Object fields;
        fields.reserve(a);
        const std::size_t base = stack_.size() - 2 * static_cast<std::size_t>(a);
        for (std::size_t i = base; i < stack_.size(); i += 2) {
          fields.emplace_back(stack_[i].is_text() ? stack_[i].as_text() : stack_[i].to_text(),
                              std::move(stack_[i + 1]));
        }
        stack_.resize(base);
        stack_.push_back(Value::object(std::move(fields)));
        break;
      }
      case Op::Call: {
        std::vector<Value> args(stack_.end() - b, stack_.end());
        stack_.resize(stack_.size() - b);
        Value result;
        std::string error;
        if (!call_function(a, args, context_, flow(), b_, result, error)) {
          return fail(error);
        }
        stack_.push_back(std::move(result));
        break;
      }
      case Op::Jump:
        pc_ = a;
        return true;
      case Op::JumpIfFalse:
        if (!pop().truthy()) {
          pc_ = a;
          return true;
        }
        break;
      case Op::JumpIfTrue:
        if (pop().truthy()) {
          pc_ = a;
          return true;
        }
        break;
      case Op::Emit: {
        Effect e;
        e.kind = static_cast<bc::EffectKind>(a);
        e.payload = pop();
        e.step = run_.step;
        out_.effects.push_back(std::move(e));
        break;
      }
      case Op::Await:
        return suspend(false, static_cast<bc::EffectKind>(a));
      case Op::Wait:
        return suspend(true, bc::EffectKind::Send);
      case Op::Validate: {
        Value prompt = pop();
        Value message = pop();
        Value value;
        const bool ok = validate_capture(a, message, prompt, context_, value);
        stack_.push_back(std::move(value));
        stack_.push_back(Value::boolean(ok));
        break;
      }
      case Op::CallFlow:
        run_.frames.push_back(Frame{a, next, {}});
        pc_ = b_.flows[a].code_begin;
        return true;
      case Op::Return:
        if (run_.frames.size() > 1) {
          pc_ = run_.frames.back().return_pc;
          run_.frames.pop_back();
          return true;
        }
        return end();
      case Op::End:
        return end();
      case Op::Fail:
        return fail(b_.strings[a]);
    }
    pc_ = next;
    return true;
  }
};

}  // namespace

Vm::Vm(const bytecode::Bundle& bundle, std::array<std::uint8_t, 32> bundle_hash)
    : bundle_(bundle), hash_(bundle_hash) {}

Outcome Vm::start(RunState& run, VarMap& contact, std::uint32_t flow, const Context& context) {
  run = RunState{};
  run.frames.reserve(4);
  run.bundle_hash = hash_;
  run.frames.push_back(Frame{flow, 0, {}});
  run.pc = bundle_.flows[flow].code_begin;
  return execute(run, contact, {}, context);
}

Outcome Vm::resume(RunState& run, VarMap& contact, const Event& event, const Context& context) {
  std::vector<Value> stack;
  const auto op = static_cast<bc::Op>(bundle_.code[run.pc]);
  const std::uint32_t next = run.pc + bc::instruction_size(op);
  if (run.status == RunStatus::WaitingInput && event.kind == EventKind::Message) {
    stack.push_back(event.value);
    run.pc = next;
  } else if (run.status == RunStatus::WaitingInput && event.kind == EventKind::Timeout) {
    run.pc = read_u32(bundle_.code, run.pc + 1);
  } else if (run.status == RunStatus::Awaiting && event.kind == EventKind::Answer) {
    stack.push_back(event.value);
    run.pc = next;
  } else {
    Outcome out;
    out.status = RunStatus::Failed;
    out.error.message = "the run cannot take this event in its state";
    return out;
  }
  return execute(run, contact, std::move(stack), context);
}

Outcome Vm::execute(RunState& run, VarMap& contact, std::vector<Value> stack,
                    const Context& context) {
  Outcome out;
  Machine machine(bundle_, run, contact, context, out);
  machine.set_pc(run.pc);
  run.status = RunStatus::Ready;
  machine.run(std::move(stack));
  return out;
}

std::string render_template(std::string_view pattern, const std::vector<Value>& values) {
  std::string out;
  std::size_t next = 0;
  for (std::size_t i = 0; i < pattern.size();) {
    if (pattern[i] == '\\' && i + 1 < pattern.size() && pattern[i + 1] == '{') {
      out += '{';
      i += 2;
      continue;
    }
    if (pattern.compare(i, 2, "{{") == 0) {
      const std::size_t close = pattern.find("}}", i + 2);
      if (close != std::string_view::npos) {
        if (next < values.size()) {
          out += values[next].to_text();
        }
        ++next;
        i = close + 2;
        continue;
      }
    }
    out += pattern[i++];
  }
  return out;
}

}  // namespace waflow::vm
