// The bundle layer: serialization round trips, determinism, and the loader and
// verifier refusing damaged bundles, each with its own message.
//
// Damaged bundles start from a bundle the compiler built. Damage to the code or
// tables is done on the in-memory Bundle and re-serialized with write_bundle, so
// the checksums are right and the verifier is what refuses it; damage to the
// file itself (magic, size, checksums, sections) is done on the bytes.

#include <algorithm>
#include <clocale>
#include <locale>

#include <catch2/catch.hpp>

#include "runtime/bytecode/format.h"
#include "tests/unit/bytecode/helpers.h"

namespace {

using waflow::Result;
using namespace waflow::bytecode;           // NOLINT(google-build-using-namespace)
using namespace waflow::bytecode::testing;  // NOLINT(google-build-using-namespace)

const ExampleProject& example(const std::string& name) {
  for (const ExampleProject& p : example_projects()) {
    if (p.name == name) {
      return p;
    }
  }
  FAIL("no example project " << name);
  return example_projects().front();
}

std::string refused(const std::string& what) {
  return "bundle refused by the verifier: " + what;
}
std::string malformed(const std::string& what) {
  return "malformed bundle: " + what;
}

// --- Round trips and determinism ------------------------------------------------

TEST_CASE("bytecode: write, load and write again gives the same bytes for every example") {
  for (const ExampleProject& project : example_projects()) {
    INFO("example " << project.name);
    const std::vector<std::uint8_t> first = write_bundle(compile_example(project));
    Result<Bundle> loaded = load_bundle(first);
    REQUIRE(loaded.ok());
    CHECK(write_bundle(loaded.value()) == first);
  }
  // And the whole directory as one project.
  const std::vector<std::uint8_t> all =
      write_bundle(compile_files({source_dir() + "/examples/flows"}));
  Result<Bundle> loaded = load_bundle(all);
  REQUIRE(loaded.ok());
  CHECK(write_bundle(loaded.value()) == all);
}

TEST_CASE("bytecode: a loaded bundle keeps every table the compiler wrote") {
  const Bundle built = compile_example(example("booking"));
  Result<Bundle> loaded = load_bundle(write_bundle(built));
  REQUIRE(loaded.ok());
  const Bundle& b = loaded.value();
  CHECK(b.strings == built.strings);
  CHECK(b.numbers == built.numbers);
  CHECK(b.code == built.code);
  REQUIRE(b.flows.size() == 2);
  CHECK(b.str(b.flows[0].name) == "booking");
  CHECK(b.str(b.flows[0].timezone) == "America/New_York");
  CHECK(b.flows[1].code_begin == b.flows[0].code_end);
  CHECK(b.triggers.size() == built.triggers.size());
  CHECK(b.steps.size() == built.steps.size());
  CHECK(b.lines.size() == built.lines.size());
  CHECK(b.debug.size() == built.debug.size());
  REQUIRE(b.sources.size() == 1);
  CHECK(b.sources[0].sha256 == built.sources[0].sha256);
  CHECK(b.str(b.compiler_version) == "waflow test");
}

TEST_CASE("bytecode: the same sources give the same bytes under any locale") {
  const std::string dir = source_dir() + "/examples/flows";
  std::setlocale(LC_ALL, "C");
  const std::vector<std::uint8_t> in_c = write_bundle(compile_files({dir}));
  // A decimal comma and other digit grouping: printf-style number formatting
  // would change.
  const char* german = std::setlocale(LC_ALL, "de_DE.UTF-8");
  REQUIRE(german != nullptr);  // scripts/install-deps.sh generates the locale.
  std::locale::global(std::locale("de_DE.UTF-8"));
  const std::vector<std::uint8_t> in_german = write_bundle(compile_files({dir}));
  std::locale::global(std::locale::classic());
  std::setlocale(LC_ALL, "C");
  CHECK(in_german == in_c);
}

TEST_CASE("bytecode: the same sources give the same bytes in any file order") {
  const std::string dir = source_dir() + "/examples/flows/";
  const std::vector<std::string> files = {dir + "booking.wf", dir + "leads.wf",
                                          dir + "menu.wf",    dir + "menu_info.wf",
                                          dir + "pizza.wf",   dir + "support.wf"};
  std::vector<std::string> reversed(files.rbegin(), files.rend());
  std::vector<std::string> shuffled = {files[3], files[0], files[5], files[2], files[4], files[1]};
  const std::vector<std::uint8_t> sorted_bytes = write_bundle(compile_files(files));
  CHECK(write_bundle(compile_files(reversed)) == sorted_bytes);
  CHECK(write_bundle(compile_files(shuffled)) == sorted_bytes);
  CHECK(write_bundle(compile_files({source_dir() + "/examples/flows"})) == sorted_bytes);
}

// --- The file: magic, versions, size, sections -----------------------------------

TEST_CASE("bytecode: a file that is not a bundle is refused for its magic") {
  std::vector<std::uint8_t> bytes = write_bundle(compile_example(example("pizza")));
  bytes[0] = 'X';
  CHECK(message_of(bytes) == "not a waflow bundle (bad magic)");
  CHECK(message_of({}) == "not a waflow bundle (bad magic)");
  const std::string text = "flow pizza\n";
  CHECK(message_of({text.begin(), text.end()}) == "not a waflow bundle (bad magic)");
}

TEST_CASE("bytecode: a bundle of a newer major format asks for a newer waflow") {
  Bundle b = compile_example(example("pizza"));
  b.major = static_cast<std::uint16_t>(kFormatMajor + 1);
  b.minor = 3;
  Result<Bundle> loaded = load_bundle(write_bundle(b));
  REQUIRE_FALSE(loaded.ok());
  CHECK(loaded.error().code == waflow::ErrorCode::Unsupported);
  CHECK(loaded.error().message ==
        "bundle format 2.3 needs a newer waflow (this one reads format 1.x)");
}

TEST_CASE("bytecode: a bundle of an older major format is refused") {
  Bundle b = compile_example(example("pizza"));
  b.major = 0;
  CHECK(message_of(write_bundle(b)) == "bundle format 0 is no longer supported");
}

TEST_CASE("bytecode: sections a newer minor version adds are skipped") {
  const std::vector<std::uint8_t> original = write_bundle(compile_example(example("pizza")));
  std::vector<RawSection> sections = split_sections(original);
  sections.insert(sections.begin() + 3, RawSection{42, {1, 2, 3, 4, 5}});
  const std::vector<std::uint8_t> newer = join_sections(kFormatMajor, kFormatMinor + 1, sections);
  Result<Bundle> loaded = load_bundle(newer);
  REQUIRE(loaded.ok());
  CHECK(loaded.value().minor == kFormatMinor + 1);
  Bundle back = loaded.value();
  back.minor = kFormatMinor;
  CHECK(write_bundle(back) == original);
}

TEST_CASE("bytecode: a truncated bundle is refused") {
  const std::vector<std::uint8_t> bytes = write_bundle(compile_example(example("pizza")));
  std::vector<std::uint8_t> cut(bytes.begin(), bytes.end() - 7);
  CHECK(message_of(cut) == malformed("truncated: " + std::to_string(cut.size()) +
                                     " bytes, the header says " + std::to_string(bytes.size())));
  cut.resize(10);
  CHECK(message_of(cut) == malformed("truncated: 10 bytes, shorter than the header"));
  std::vector<std::uint8_t> longer = bytes;
  longer.push_back(0);
  CHECK(message_of(longer) == malformed("trailing bytes: " + std::to_string(longer.size()) +
                                        " bytes, the header says " + std::to_string(bytes.size())));
}

TEST_CASE("bytecode: a damaged section fails its checksum") {
  std::vector<std::uint8_t> bytes = write_bundle(compile_example(example("pizza")));
  const std::uint32_t strings_at = get_u32(bytes, kHeaderSize + 4);
  bytes[strings_at + 8] ^= 0x20U;
  CHECK(message_of(bytes) == malformed("checksum mismatch in section 1 (strings)"));
}

TEST_CASE("bytecode: a bundle without one of its sections is refused") {
  const std::vector<std::uint8_t> bytes = write_bundle(compile_example(example("pizza")));
  std::vector<RawSection> sections = split_sections(bytes);
  sections.erase(sections.begin() + 6);  // lines
  CHECK(message_of(join_sections(kFormatMajor, kFormatMinor, sections)) ==
        malformed("missing lines section"));
  sections = split_sections(bytes);
  sections.push_back(sections[2]);
  CHECK(message_of(join_sections(kFormatMajor, kFormatMinor, sections)) ==
        malformed("duplicate code section"));
}

TEST_CASE("bytecode: a section with bytes left over is refused") {
  std::vector<RawSection> sections =
      split_sections(write_bundle(compile_example(example("pizza"))));
  sections[1].data.push_back(0);  // numbers
  CHECK(message_of(join_sections(kFormatMajor, kFormatMinor, sections)) ==
        malformed("damaged numbers section"));
}

TEST_CASE("bytecode: a damaged byte order mark or check bytes are refused") {
  std::vector<std::uint8_t> bytes = write_bundle(compile_example(example("pizza")));
  std::vector<std::uint8_t> swapped = bytes;
  std::reverse(swapped.begin() + 8, swapped.begin() + 12);
  CHECK(message_of(swapped) == malformed("wrong byte order mark"));
  // What a text-mode transfer does to "\r\n": it becomes "\n".
  bytes[12] = '\n';
  CHECK(message_of(bytes) == malformed("check bytes damaged (was the file transferred as text?)"));
}

// --- The verifier -----------------------------------------------------------------

TEST_CASE("bytecode: the verifier refuses a jump outside its flow") {
  Bundle b = compile_example(example("booking"));
  REQUIRE(b.flows.size() == 2);
  const std::uint32_t jump = find_op(b, Op::Jump);
  REQUIRE(jump < b.flows[0].code_end);
  const std::uint32_t target = b.flows[1].code_begin;
  set_u32(b.code, jump + 1, target);
  CHECK(message_of(write_bundle(b)) ==
        refused("flow 'booking': jump target " + std::to_string(target) +
                " outside the flow (pc 0 to " + std::to_string(b.flows[0].code_end - 1) +
                ") in jump at pc " + std::to_string(jump)));
}

TEST_CASE("bytecode: the verifier refuses a jump into the middle of an instruction") {
  Bundle b = compile_example(example("pizza"));
  const std::uint32_t jump = find_op(b, Op::JumpIfFalse);
  REQUIRE(jump != kNone);
  set_u32(b.code, jump + 1, jump + 2);
  CHECK(message_of(write_bundle(b)) ==
        refused("flow 'pizza': jump into the middle of an instruction at pc " +
                std::to_string(jump)));
}

TEST_CASE("bytecode: the verifier refuses an unknown opcode") {
  Bundle b = compile_example(example("pizza"));
  const std::uint32_t at = find_op(b, Op::Eq);
  REQUIRE(at != kNone);
  b.code[at] = static_cast<std::uint8_t>(kOpCount);
  CHECK(message_of(write_bundle(b)) ==
        refused("flow 'pizza': unknown opcode " + std::to_string(kOpCount) + " at pc " +
                std::to_string(at)));
  b.code[at] = 0xFF;
  CHECK(message_of(write_bundle(b)) ==
        refused("flow 'pizza': unknown opcode 255 at pc " + std::to_string(at)));
}

TEST_CASE("bytecode: the verifier refuses a string index out of range") {
  Bundle b = compile_example(example("pizza"));
  const std::uint32_t at = find_op(b, Op::PushStr);
  REQUIRE(at != kNone);
  const auto count = static_cast<std::uint32_t>(b.strings.size());
  set_u32(b.code, at + 1, count);
  CHECK(message_of(write_bundle(b)) ==
        refused("flow 'pizza': string index " + std::to_string(count) +
                " out of range (the bundle has " + std::to_string(count) +
                " strings) in push_str at pc " + std::to_string(at)));
}

TEST_CASE("bytecode: the verifier refuses other operands out of range") {
  const Bundle base = compile_example(example("pizza"));
  auto message = [&](const std::vector<Ins>& code) {
    return message_of(write_bundle(with_code(base, code)));
  };
  const auto numbers = static_cast<std::uint32_t>(base.numbers.size());
  CHECK(message({{Op::PushNum, numbers}, {Op::Pop}, {Op::Return}}) ==
        refused("flow 'pizza': number index " + std::to_string(numbers) +
                " out of range (the bundle has " + std::to_string(numbers) +
                " numbers) in push_num at pc 0"));
  CHECK(message({{Op::PushNull}, {Op::Store, 3, 0}, {Op::Return}}) ==
        refused("flow 'pizza': variable scope 3 is read-only in store at pc 1"));
  CHECK(message({{Op::Load, 5, 0}, {Op::Pop}, {Op::Return}}) ==
        refused("flow 'pizza': unknown variable scope 5 in load at pc 0"));
  CHECK(message({{Op::Call, 999, 0}, {Op::Pop}, {Op::Return}}) ==
        refused("flow 'pizza': unknown built-in function 999 in call at pc 0"));
  CHECK(message({{Op::CallFlow, 1}, {Op::Return}}) ==
        refused("flow 'pizza': flow index 1 out of range in call_flow at pc 0"));
  CHECK(message({{Op::Step, 0}, {Op::Return}}) ==
        refused("flow 'pizza': step index 0 out of range in step at pc 0"));
  CHECK(message({{Op::MakeList, 70000}, {Op::Return}}) ==
        refused("flow 'pizza': count 70000 too large in make_list at pc 0"));
  CHECK(message({{Op::PushNull}, {Op::PushNull}, {Op::Validate, 11}, {Op::Return}}) ==
        refused("flow 'pizza': unknown capture type 11 in validate at pc 2"));
  CHECK(message({{Op::PushNull}, {Op::Emit, 13}, {Op::Return}}) ==
        refused("flow 'pizza': unknown effect kind 13 in emit at pc 1"));
}

TEST_CASE("bytecode: the verifier refuses stack underflow") {
  // The first instruction after a step marker pushes onto an empty stack; a pop
  // (padded with nops to the same size) there pops from nothing.
  Bundle b = compile_example(example("pizza"));
  const std::uint32_t at = find_op(b, Op::PushStr);
  REQUIRE(at != kNone);
  b.code[at] = static_cast<std::uint8_t>(Op::Pop);
  std::fill(b.code.begin() + at + 1, b.code.begin() + at + 5, static_cast<std::uint8_t>(Op::Nop));
  CHECK(message_of(write_bundle(b)) ==
        refused("flow 'pizza': stack underflow in pop at pc " + std::to_string(at)));
}

TEST_CASE("bytecode: the verifier refuses a stack that differs where paths join") {
  const std::vector<Ins> code = {
      {Op::PushTrue}, {Op::JumpIfFalse, 0}, {Op::PushNull}, {Op::Return}};
  std::vector<Ins> patched = code;
  patched[1].a = pc_of(code, 3);
  CHECK(message_of(write_bundle(with_code(compile_example(example("pizza")), patched))) ==
        refused("flow 'pizza': stack depth 1 from pc 6 meets depth 0 at pc 7"));
}

TEST_CASE("bytecode: the verifier refuses a suspension with extra values on the stack") {
  const Bundle base = compile_example(example("pizza"));
  const auto delay = static_cast<std::uint32_t>(EffectKind::Delay);
  CHECK(message_of(write_bundle(with_code(base, {{Op::PushNull},
                                                 {Op::MakeObject, 0},
                                                 {Op::Await, delay},
                                                 {Op::Pop},
                                                 {Op::Pop},
                                                 {Op::Return}}))) ==
        refused("flow 'pizza': a suspension must hold only its payload on the stack at pc 6"));
  CHECK(message_of(write_bundle(with_code(base, {{Op::PushNull},
                                                 {Op::MakeObject, 0},
                                                 {Op::Wait, 13},
                                                 {Op::Pop},
                                                 {Op::Pop},
                                                 {Op::Return}}))) ==
        refused("flow 'pizza': a suspension must hold only its payload on the stack at pc 6"));
}

TEST_CASE("bytecode: the verifier refuses effects used with the wrong instruction") {
  const Bundle base = compile_example(example("pizza"));
  const auto http = static_cast<std::uint32_t>(EffectKind::Http);
  const auto send = static_cast<std::uint32_t>(EffectKind::Send);
  CHECK(message_of(
            write_bundle(with_code(base, {{Op::MakeObject, 0}, {Op::Emit, http}, {Op::Return}}))) ==
        refused("flow 'pizza': effect 'http' answers, so it must be awaited in emit at pc 5"));
  CHECK(message_of(write_bundle(
            with_code(base, {{Op::MakeObject, 0}, {Op::Await, send}, {Op::Pop}, {Op::Return}}))) ==
        refused("flow 'pizza': effect 'send' does not answer, so it cannot be awaited in await at "
                "pc 5"));
}

TEST_CASE("bytecode: the verifier refuses code that runs off the end of its flow") {
  CHECK(message_of(write_bundle(
            with_code(compile_example(example("pizza")), {{Op::PushNull}, {Op::Pop}}))) ==
        refused("flow 'pizza': code runs off the end of the flow at pc 1"));
}

TEST_CASE("bytecode: the verifier refuses values left on the stack at the end") {
  CHECK(message_of(write_bundle(
            with_code(compile_example(example("pizza")), {{Op::PushNull}, {Op::Return}}))) ==
        refused("flow 'pizza': values left on the stack at pc 1"));
}

TEST_CASE("bytecode: the verifier refuses an instruction cut off by the end of its flow") {
  Bundle b = with_code(compile_example(example("pizza")), {{Op::Return}, {Op::Jump, 0}});
  b.code.resize(b.code.size() - 2);
  b.flows[0].code_end = static_cast<std::uint32_t>(b.code.size());
  CHECK(message_of(write_bundle(b)) == refused("flow 'pizza': truncated instruction at pc 1"));
}

TEST_CASE("bytecode: the verifier refuses a step whose pc is outside its flow") {
  Bundle b = compile_example(example("booking"));
  REQUIRE(b.flows.size() == 2);
  b.steps[0].pc = b.flows[1].code_begin;
  CHECK(message_of(write_bundle(b)) == refused("step 0: pc outside its flow"));
  b = compile_example(example("booking"));
  b.steps[0].pc = 1;  // Inside the step instruction at pc 0.
  CHECK(message_of(write_bundle(b)) == refused("step 0: pc outside its flow"));
}

TEST_CASE("bytecode: the verifier refuses tables that point nowhere") {
  const Bundle base = compile_example(example("booking"));
  const auto strings = static_cast<std::uint32_t>(base.strings.size());
  Bundle b = base;
  b.flows[1].code_begin += 1;
  CHECK(message_of(write_bundle(b)) == refused("flow 1: code range out of bounds"));
  b = base;
  b.flows[0].title = strings;
  CHECK(message_of(write_bundle(b)) == refused("flow 0: string index out of range"));
  b = base;
  b.triggers[0].flow = 2;
  CHECK(message_of(write_bundle(b)) == refused("trigger 0: index out of range"));
  b = base;
  b.lines[0].text = strings;
  CHECK(message_of(write_bundle(b)) == refused("line table: string index out of range"));
  b = base;
  std::swap(b.debug[0], b.debug[1]);
  CHECK(message_of(write_bundle(b)) == refused("debug table: entry out of range or out of order"));
  b = base;
  b.strings[3] = "\xC3(";
  CHECK(message_of(write_bundle(b)) == refused("string 3 is not valid UTF-8"));
  b = base;
  b.flows[0].hours.push_back(HoursRange{0x1F, 18 * 60, 9 * 60});
  CHECK(message_of(write_bundle(b)) == refused("flow 0: invalid business hours"));
}

// A hostile bundle must not make the loader slow: work per flow is bounded by
// the flow's own size (with 100,000 flows over 100,000 bytes of code, anything
// quadratic would take minutes).
TEST_CASE("bytecode: a bundle of many tiny flows loads in linear time") {
  Bundle b;
  b.strings = {"waflow test", "f"};
  constexpr std::uint32_t kFlows = 100000;
  b.code.assign(kFlows, static_cast<std::uint8_t>(Op::Return));
  for (std::uint32_t i = 0; i < kFlows; ++i) {
    FlowInfo f;
    f.name = 1;
    f.code_begin = i;
    f.code_end = i + 1;
    b.flows.push_back(f);
    b.steps.push_back(StepInfo{1, 1, i, i});
  }
  Result<Bundle> loaded = load_bundle(write_bundle(b));
  REQUIRE(loaded.ok());
  CHECK(loaded.value().flows.size() == kFlows);
}

TEST_CASE("bytecode: every opcode in opcodes.def has a mnemonic and fits one byte") {
  std::vector<std::string_view> seen;
  for (std::size_t i = 0; i < kOpCount; ++i) {
    const OpInfo& info = op_info(static_cast<Op>(i));
    INFO("opcode " << i);
    CHECK_FALSE(info.mnemonic.empty());
    CHECK(std::find(seen.begin(), seen.end(), info.mnemonic) == seen.end());
    seen.push_back(info.mnemonic);
    CHECK(instruction_size(static_cast<Op>(i)) ==
          1 + 4 * static_cast<std::uint32_t>(operand_count(static_cast<Op>(i))));
  }
}

}  // namespace
