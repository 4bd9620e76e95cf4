// libFuzzer target for the bundle loader: any bytes must come back as a bundle
// or an error message, with no crash, hang or sanitizer report. What the loader
// accepts is also disassembled, and must serialize stably: writing it, loading
// that and writing again gives the same bytes.
//
// A mutated input almost never keeps its section checksums right, so it would
// only ever reach the checksum test. Each input is therefore loaded twice: as
// it is, and with the size field and the checksums recomputed, so that the
// section readers and the verifier see the mutated contents too.

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "runtime/bytecode/bundle.h"
#include "runtime/bytecode/disasm.h"
#include "runtime/bytecode/format.h"

namespace {

namespace bc = waflow::bytecode;

std::uint32_t get_u32(const std::vector<std::uint8_t>& bytes, std::size_t at) {
  std::uint32_t v = 0;
  for (unsigned i = 0; i < 4; ++i) {
    v |= static_cast<std::uint32_t>(bytes[at + i]) << (8U * i);
  }
  return v;
}

void set_u32(std::vector<std::uint8_t>& bytes, std::size_t at, std::uint32_t v) {
  for (unsigned i = 0; i < 4; ++i) {
    bytes[at + i] = static_cast<std::uint8_t>((v >> (8U * i)) & 0xFFU);
  }
}

void load_and_check(const std::vector<std::uint8_t>& bytes) {
  const waflow::Result<bc::Bundle> loaded = bc::load_bundle(bytes);
  if (!loaded) {
    if (loaded.error().message.empty()) {
      std::abort();  // Every refusal says why.
    }
    return;
  }
  const bc::Bundle& bundle = loaded.value();
  bc::DisasmOptions options;
  options.content_hash = "sha256:fuzz";
  if (bc::disassemble(bundle, options).empty()) {
    std::abort();
  }
  const std::vector<std::uint8_t> written = bc::write_bundle(bundle);
  const waflow::Result<bc::Bundle> again = bc::load_bundle(written);
  if (!again || bc::write_bundle(again.value()) != written) {
    std::abort();
  }
}

// The input with its size field and every in-bounds section checksum made right.
std::vector<std::uint8_t> with_checksums(std::vector<std::uint8_t> bytes) {
  if (bytes.size() < bc::kHeaderSize || bytes.size() > bc::kMaxBundleSize) {
    return bytes;
  }
  set_u32(bytes, 20, static_cast<std::uint32_t>(bytes.size()));
  const std::uint32_t count = get_u32(bytes, 16);
  for (std::uint32_t i = 0; i < count && i < 64; ++i) {
    const std::size_t entry = bc::kHeaderSize + bc::kSectionEntrySize * i;
    if (entry + bc::kSectionEntrySize > bytes.size()) {
      break;
    }
    const std::uint64_t offset = get_u32(bytes, entry + 4);
    const std::uint64_t size = get_u32(bytes, entry + 8);
    if (offset + size <= bytes.size()) {
      set_u32(bytes, entry + 12, bc::crc32(bytes.data() + offset, static_cast<std::size_t>(size)));
    }
  }
  return bytes;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::vector<std::uint8_t> bytes(data, data + size);
  load_and_check(bytes);
  const std::vector<std::uint8_t> fixed = with_checksums(bytes);
  if (fixed != bytes) {
    load_and_check(fixed);
  }
  return 0;
}
