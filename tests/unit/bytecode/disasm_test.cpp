// The disassembler: operand decoding for every opcode, quoting, number text, the
// listing's header, flow details, step markers, interleaved source lines and the
// line table. Whole example listings are golden tests (tests/golden/disasm/).

#include "runtime/bytecode/disasm.h"

#include <clocale>
#include <map>
#include <regex>

#include <catch2/catch.hpp>

#include "compiler/ir/flow.h"
#include "tests/unit/bytecode/helpers.h"

namespace {

using namespace waflow::bytecode;           // NOLINT(google-build-using-namespace)
using namespace waflow::bytecode::testing;  // NOLINT(google-build-using-namespace)
namespace ir = waflow::ir;

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

TEST_CASE("disasm: strings are quoted with escapes and keep their UTF-8") {
  CHECK(quote("plain") == "\"plain\"");
  CHECK(quote("say \"hi\"\\n") == "\"say \\\"hi\\\"\\\\n\"");
  CHECK(quote("a\nb\tc\rd") == "\"a\\nb\\tc\\rd\"");
  CHECK(quote(std::string("nul\0bell\x07", 9)) == "\"nul\\x00bell\\x07\"");
  CHECK(quote("\x7f") == "\"\\x7f\"");
  CHECK(quote("¡Bienvenido! 📎") == "\"¡Bienvenido! 📎\"");
}

TEST_CASE("disasm: numbers print the shortest exact text whatever the locale") {
  const char* german = std::setlocale(LC_ALL, "de_DE.UTF-8");
  REQUIRE(german != nullptr);
  CHECK(format_number(0.5) == "0.5");
  CHECK(format_number(-3.7038) == "-3.7038");
  CHECK(format_number(86400000) == "86400000");
  CHECK(format_number(1234567.25) == "1234567.25");
  CHECK(format_number(0.1 + 0.2) == "0.30000000000000004");
  std::setlocale(LC_ALL, "C");
  CHECK(format_number(1e21) == "1e+21");
}

TEST_CASE("disasm: operand names follow the encodings the compiler uses") {
  for (std::uint32_t s = 0; s <= static_cast<std::uint32_t>(ir::Scope::System); ++s) {
    CHECK(scope_operand_name(s) == ir::scope_name(static_cast<ir::Scope>(s)));
  }
  for (std::uint32_t c = 0; c <= static_cast<std::uint32_t>(ir::CaptureType::Location); ++c) {
    CHECK(capture_type_operand_name(c) == ir::capture_type_name(static_cast<ir::CaptureType>(c)));
  }
  for (std::uint32_t t = 0; t <= static_cast<std::uint32_t>(ir::TriggerKind::Schedule); ++t) {
    CHECK(trigger_kind_name(static_cast<TriggerKind>(t)) ==
          ir::trigger_kind_name(static_cast<ir::TriggerKind>(t)));
  }
  CHECK(scope_operand_name(5) == "#5?");
  CHECK(capture_type_operand_name(11) == "#11?");
  CHECK(function_operand_name(0) == "lower");
  CHECK(function_operand_name(1000) == "#1000?");
  CHECK(effect_operand_name(static_cast<std::uint32_t>(EffectKind::StoreRecord)) == "store");
  CHECK(effect_operand_name(13) == "#13?");
}

// One instruction of every opcode, with operands that name something.
TEST_CASE("disasm: every opcode is listed with its mnemonic and decoded operands") {
  Bundle b = compile_text(
      "flow demo \"Demo\"\n"
      "  trigger keyword \"go\"\n"
      "  say \"Hi {{contact.name}}\"\n"
      "  delay 2h\n");
  const auto str = [&](const std::string& s) {
    for (std::uint32_t i = 0; i < b.strings.size(); ++i) {
      if (b.strings[i] == s) {
        return i;
      }
    }
    b.strings.push_back(s);
    return static_cast<std::uint32_t>(b.strings.size() - 1);
  };
  b.numbers = {0.25, 7200000};
  const std::uint32_t name = str("name");
  const std::map<Op, std::pair<Ins, std::string>> expected = {
      {Op::Nop, {{Op::Nop}, "nop"}},
      {Op::Step, {{Op::Step, 0}, "step           say_1"}},
      {Op::PushNull, {{Op::PushNull}, "push_null"}},
      {Op::PushTrue, {{Op::PushTrue}, "push_true"}},
      {Op::PushFalse, {{Op::PushFalse}, "push_false"}},
      {Op::PushNum, {{Op::PushNum, 0}, "push_num       0.25"}},
      {Op::PushStr, {{Op::PushStr, str("a \"b\"\n")}, "push_str       \"a \\\"b\\\"\\n\""}},
      {Op::PushDuration, {{Op::PushDuration, 1}, "push_duration  7200000  ; 2h"}},
      {Op::Pop, {{Op::Pop}, "pop"}},
      {Op::Dup, {{Op::Dup}, "dup"}},
      {Op::Load, {{Op::Load, 2, name}, "load           contact \"name\""}},
      {Op::Store, {{Op::Store, 1, name}, "store          conversation \"name\""}},
      {Op::GetField, {{Op::GetField, str("ok")}, "get_field      \"ok\""}},
      {Op::GetIndex, {{Op::GetIndex}, "get_index"}},
      {Op::JsonPath, {{Op::JsonPath, str("$.a[0]")}, "json_path      \"$.a[0]\""}},
      {Op::Not, {{Op::Not}, "not"}},
      {Op::Neg, {{Op::Neg}, "neg"}},
      {Op::Add, {{Op::Add}, "add"}},
      {Op::Sub, {{Op::Sub}, "sub"}},
      {Op::Mul, {{Op::Mul}, "mul"}},
      {Op::Div, {{Op::Div}, "div"}},
      {Op::Mod, {{Op::Mod}, "mod"}},
      {Op::Eq, {{Op::Eq}, "eq"}},
      {Op::Ne, {{Op::Ne}, "ne"}},
      {Op::Lt, {{Op::Lt}, "lt"}},
      {Op::Le, {{Op::Le}, "le"}},
      {Op::Gt, {{Op::Gt}, "gt"}},
      {Op::Ge, {{Op::Ge}, "ge"}},
      {Op::Contains, {{Op::Contains}, "contains"}},
      {Op::Matches, {{Op::Matches}, "matches"}},
      {Op::Format, {{Op::Format, str("Hi {{x}}"), 1}, "format         \"Hi {{x}}\" 1"}},
      {Op::MakeList, {{Op::MakeList, 3}, "make_list      3"}},
      {Op::MakeObject, {{Op::MakeObject, 2}, "make_object    2"}},
      {Op::Call, {{Op::Call, 3, 1}, "call           len 1"}},
      {Op::Jump, {{Op::Jump, 42}, "jump           42"}},
      {Op::JumpIfFalse, {{Op::JumpIfFalse, 7}, "jump_if_false  7"}},
      {Op::JumpIfTrue, {{Op::JumpIfTrue, 9}, "jump_if_true   9"}},
      {Op::Emit, {{Op::Emit, 0}, "emit           send"}},
      {Op::Await, {{Op::Await, 10}, "await          http"}},
      {Op::Wait, {{Op::Wait, 120}, "wait           120"}},
      {Op::Validate, {{Op::Validate, 7}, "validate       yesno"}},
      {Op::CallFlow, {{Op::CallFlow, 0}, "call_flow      demo"}},
      {Op::Return, {{Op::Return}, "return"}},
      {Op::End, {{Op::End}, "end"}},
      {Op::Fail, {{Op::Fail, str("HTTP failed")}, "fail           \"HTTP failed\""}},
  };
  REQUIRE(expected.size() == kOpCount);
  std::vector<Ins> code;
  std::vector<std::string> texts;
  for (const auto& [op, pair] : expected) {
    code.push_back(pair.first);
    texts.push_back(pair.second);
  }
  // The listing does not verify: this code would not pass the verifier.
  b.code = assemble(code);
  for (std::size_t i = 0; i < code.size(); ++i) {
    CHECK(disassemble_instruction(b, pc_of(code, i)) == texts[i]);
  }
}

TEST_CASE("disasm: bytes that are no instruction are listed as bytes") {
  Bundle b = with_code(compile_text("flow demo\n  trigger keyword \"go\"\n  end\n"),
                       {{Op::PushNull}, {Op::Return}});
  b.code[0] = 0xEE;
  CHECK(disassemble_instruction(b, 0) == ".byte 238");
  b.code = {static_cast<std::uint8_t>(Op::Jump), 1, 0};
  b.flows[0].code_end = 3;
  const std::string jump = std::to_string(static_cast<int>(Op::Jump));
  CHECK(disassemble_instruction(b, 0) == ".byte " + jump);
  const std::string listing = disassemble(b, {});
  CHECK(contains(listing, "       0  .byte " + jump + "\n       1  .byte 1\n       2  nop\n"));
}

const char* const kSource =
    "timezone \"Europe/Madrid\"\n"
    "hours mon-fri 09:00-18:00\n"
    "hours sat,sun 10:00-13:30\n"
    "\n"
    "flow shop \"Shop\"\n"
    "  priority 5\n"
    "  trigger keyword \"shop\" \"tienda\"\n"
    "  trigger schedule \"0 9 * * 1\" priority 7 tz \"Europe/Berlin\"\n"
    "  trigger api\n"
    "\n"
    "  say \"Hello\\tthere {{contact.name}}\"\n"
    "  delay 90s\n"
    "  call other\n"
    "\n"
    "flow other\n"
    "  say \"Bye\"\n";

TEST_CASE("disasm: the header names the format, compiler, hash and sources") {
  const Bundle b = compile_text(kSource);
  DisasmOptions options;
  options.content_hash = "sha256:abc";
  const std::string listing = disassemble(b, options);
  CHECK(listing.rfind("waflow bundle, format 1.0\n"
                      "compiler  waflow test\n"
                      "content   sha256:abc\n"
                      "sources   1\n"
                      "  test.wf  sha256:" +
                          sha256_hex(kSource) + "\n",
                      0) == 0);
  CHECK(contains(listing, "tables    2 flows, 3 triggers, 4 steps, "));
  // Without a hash given, it is the hash of the bundle's bytes.
  const std::vector<std::uint8_t> bytes = write_bundle(b);
  CHECK(contains(
      disassemble(b, {}),
      "content   sha256:" +
          sha256_hex(std::string_view(reinterpret_cast<const char*>(bytes.data()), bytes.size())) +
          "\n"));
}

TEST_CASE("disasm: a flow shows its title, priority, zone, hours and triggers") {
  const std::string listing = disassemble(compile_text(kSource), {});
  CHECK(contains(listing,
                 "\nflow shop \"Shop\"\n"
                 "  priority  5\n"
                 "  timezone  \"Europe/Madrid\"\n"
                 "  hours     mon-fri 09:00-18:00\n"
                 "  hours     sat-sun 10:00-13:30\n"
                 "  trigger   keyword \"shop\" \"tienda\"\n"
                 "  trigger   schedule \"0 9 * * 1\"  priority 7  timezone \"Europe/Berlin\"\n"
                 "  trigger   api\n"
                 "  code      0.."));
  CHECK(contains(listing, "\nflow other\n  priority  0\n  timezone  \"Europe/Madrid\"\n"));
}

TEST_CASE("disasm: code has step markers and the source lines it came from") {
  const Bundle b = compile_text(kSource);
  DisasmOptions options;
  options.read_source = [](const std::string& path) -> std::optional<std::string> {
    if (path == "test.wf") {
      return std::string(kSource);
    }
    return std::nullopt;
  };
  const std::string listing = disassemble(b, options);
  CHECK(contains(listing,
                 "\n          ; step say_1 (say)\n"
                 "          ; test.wf:11  say \"Hello\\tthere {{contact.name}}\"\n"
                 "       0  step           say_1\n"
                 "       5  push_str       \"type\"\n"));
  CHECK(contains(listing, "format         \"Hello\\tthere {{contact.name}}\" 1\n"));
  CHECK(contains(listing, "          ; step delay_1 (delay)\n          ; test.wf:12  delay 90s\n"));
  CHECK(contains(listing, "push_num       90000\n"));
  CHECK(contains(listing, "await          delay\n"));
  CHECK(contains(listing, "call_flow      other\n"));
  // Without the source text, only file:line.
  options.read_source = [](const std::string&) -> std::optional<std::string> {
    return std::nullopt;
  };
  CHECK(contains(disassemble(b, options), "          ; test.wf:12\n      "));
  CHECK(contains(disassemble(b, options), "  test.wf  sha256:" + sha256_hex(kSource) +
                                              "  (not found: source lines not shown)\n"));
  // An edited source would show the wrong lines: it is treated as missing.
  options.read_source = [](const std::string&) -> std::optional<std::string> {
    return std::string("# edited\n") + kSource;
  };
  const std::string edited = disassemble(b, options);
  CHECK(contains(edited, "  (changed since the build: source lines not shown)\n"));
  CHECK(contains(edited, "          ; test.wf:12\n      "));
  CHECK(contains(disassemble(b, {}), "          ; test.wf:11\n       0  step"));
}

TEST_CASE("disasm: the line table closes the listing") {
  const std::string listing = disassemble(compile_text(kSource), {});
  CHECK(contains(listing,
                 "\nlines  2\n"
                 "  shop.say_1.text = \"Hello\\tthere {{contact.name}}\"\n"
                 "  other.say_1.text = \"Bye\"\n"));
  CHECK(listing.ends_with("\n  other.say_1.text = \"Bye\"\n"));
}

TEST_CASE("disasm: one flow can be listed alone") {
  DisasmOptions options;
  options.only_flow = "other";
  const std::string listing = disassemble(compile_text(kSource), options);
  CHECK_FALSE(contains(listing, "flow shop"));
  CHECK(contains(listing, "\nflow other\n"));
  CHECK(contains(listing, "\nlines  1\n  other.say_1.text = \"Bye\"\n"));
}

TEST_CASE("disasm: every example disassembles with every instruction decoded") {
  for (const ExampleProject& project : example_projects()) {
    INFO("example " << project.name);
    const Bundle b = compile_example(project);
    const std::string listing = disassemble(b, {});
    CHECK_FALSE(contains(listing, ".byte"));
    CHECK_FALSE(std::regex_search(listing, std::regex("#[0-9]+\\?")));
    for (const FlowInfo& f : b.flows) {
      CHECK(contains(listing, "\nflow " + b.str(f.name)));
    }
  }
}

}  // namespace
