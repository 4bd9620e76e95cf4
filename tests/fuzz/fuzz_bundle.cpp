// libFuzzer target for the bundle loader: any bytes must come back as a bundle
// or an error message, with no crash, hang or sanitizer report. What the loader
// accepts is also disassembled, and must serialize stably: writing it, loading
// that and writing again gives the same bytes (a loaded bundle is one the
// writer can represent).

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <vector>

#include "runtime/bytecode/bundle.h"
#include "runtime/bytecode/disasm.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::vector<std::uint8_t> bytes(data, data + size);
  const waflow::Result<waflow::bytecode::Bundle> loaded = waflow::bytecode::load_bundle(bytes);
  if (!loaded) {
    if (loaded.error().message.empty()) {
      std::abort();  // Every refusal says why.
    }
    return 0;
  }
  const waflow::bytecode::Bundle& bundle = loaded.value();
  waflow::bytecode::DisasmOptions options;
  options.content_hash = "sha256:fuzz";
  if (waflow::bytecode::disassemble(bundle, options).empty()) {
    std::abort();
  }
  const std::vector<std::uint8_t> written = waflow::bytecode::write_bundle(bundle);
  const waflow::Result<waflow::bytecode::Bundle> again = waflow::bytecode::load_bundle(written);
  if (!again || waflow::bytecode::write_bundle(again.value()) != written) {
    std::abort();
  }
  return 0;
}
