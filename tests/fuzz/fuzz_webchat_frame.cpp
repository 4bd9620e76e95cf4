// libFuzzer target for the web chat's frames: any bytes a page may send must be read as a
// frame that keeps the documented limits, or refused with a message, never a crash. The same
// bytes, read as JSON, are also a bot payload, which must always make a frame that is valid
// JSON (invalid UTF-8 included).

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "adapters/webchat/protocol.h"

namespace {

namespace web = waflow::webchat;

void expect(bool ok) {
  if (!ok) {
    std::abort();
  }
}

void expect_json(const std::string& text) {
  expect(!nlohmann::json::parse(text, nullptr, false).is_discarded());
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);

  auto frame = web::parse_client_frame(bytes);
  if (frame.ok()) {
    const web::ClientFrame& f = frame.value();
    expect(f.text.size() <= web::kMaxTextBytes && f.payload.size() <= web::kMaxTextBytes &&
           f.title.size() <= web::kMaxTextBytes && f.flow.size() <= web::kMaxTextBytes);
    expect(f.id.empty() ? f.type == web::FrameType::Start : web::valid_message_id(f.id));
    if (f.type != web::FrameType::Start) {
      auto in = web::to_inbound(f, "web", "contact01", 0);
      expect(in.provider_message_id == "contact01:" + f.id);
      expect(in.message.field("type") != nullptr);
    }
  } else {
    expect(!frame.error().message.empty());
    expect_json(web::error_frame(frame.error().message, "m1"));
  }

  waflow::vm::Value payload;
  if (waflow::vm::from_json(bytes, payload)) {
    expect_json(web::message_frame("web-1", payload));
    expect_json(web::history_frame({{true, "web-1", 0, payload}}));
  }
  expect_json(web::error_frame(bytes));
  return 0;
}
