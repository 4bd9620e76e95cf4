// Media understanding's pieces in the engine (runtime/server/media.h): which messages are
// held for which task, the outbox payload, the held state's round trip through the host
// state, and how an answer enriches the message.

#include "runtime/server/media.h"

#include <catch2/catch.hpp>

namespace {

using waflow::server::HeldMessage;
using waflow::server::MediaConfig;
using waflow::server::MediaState;
using waflow::vm::Tag;
using waflow::vm::Value;

Value message(const std::string& type, const std::string& caption = "") {
  Value::Object fields = {{"type", Value::text(type)}, {"id", Value::text("media-1")}};
  if (!caption.empty()) {
    fields.emplace_back("caption", Value::text(caption));
  }
  return Value::object(std::move(fields), Tag::Message);
}

Value ok(const std::string& text) {
  return Value::object({{"ok", Value::boolean(true)}, {"text", Value::text(text)}});
}

std::string text(const Value& v, const std::string& name) {
  const Value* f = v.field(name);
  return f != nullptr && f->is_text() ? f->as_text() : std::string("<none>");
}

}  // namespace

TEST_CASE("media: audio is transcribed and images described only when a model is set") {
  MediaConfig both{"whisper", "eyes", "Describe."};
  CHECK(waflow::server::media_task(both, message("audio")) == "transcribe");
  CHECK(waflow::server::media_task(both, message("voice")) == "transcribe");
  CHECK(waflow::server::media_task(both, message("image")) == "describe");
  CHECK(waflow::server::media_task(both, message("video")).empty());
  CHECK(waflow::server::media_task(both, message("text")).empty());
  MediaConfig ears{"whisper", "", "Describe."};
  CHECK(waflow::server::media_task(ears, message("image")).empty());
  CHECK(waflow::server::is_media_ref("media:3"));
  CHECK_FALSE(waflow::server::is_media_ref("fallback:3"));
}

TEST_CASE("media: the payload names the call, the task, the model and the message") {
  MediaConfig c{"whisper", "eyes", "Describe."};
  const Value p = waflow::server::media_payload(c, "media:1", "describe", 1024, message("image"));
  CHECK(waflow::vm::to_json(p) ==
        R"({"id":"media:1","task":"describe","model":"eyes","prompt":"Describe.",)"
        R"("max_bytes":1024,"message":{"type":"image","id":"media-1"}})");
  const Value t = waflow::server::media_payload(c, "media:2", "transcribe", 1, message("audio"));
  CHECK(text(t, "model") == "whisper");
  CHECK(text(t, "prompt").empty());
}

TEST_CASE("media: the held messages survive the host state, next to other members") {
  Value host = Value::object({{"fallback", Value::object({{"seq", Value::number(2)}})}});
  MediaState s;
  s.pending = "media:4";
  s.seq = 4;
  s.held.push_back(HeldMessage{message("audio"), "wamid.1"});
  s.held.push_back(HeldMessage{message("text"), "wamid.2"});
  waflow::server::write_media_state(host, s);
  const MediaState back = waflow::server::read_media_state(host);
  CHECK(back.pending == "media:4");
  CHECK(back.seq == 4);
  REQUIRE(back.held.size() == 2);
  CHECK(back.held[0].ref == "wamid.1");
  CHECK(text(back.held[1].message, "type") == "text");
  CHECK(host.field("fallback") != nullptr);
  waflow::server::write_media_state(host, MediaState{});
  CHECK(host.field("media") == nullptr);
  CHECK(host.field("fallback") != nullptr);
  CHECK(waflow::server::read_media_state(Value::text("odd")).held.empty());
}

TEST_CASE("media: an answer becomes the text, transcript or description, a failure does not") {
  std::string error;
  const Value heard = waflow::server::enrich(message("audio"), "transcribe", ok("pizza"), error);
  CHECK(error.empty());
  CHECK(text(heard, "text") == "pizza");
  CHECK(text(heard, "transcript") == "pizza");
  CHECK(text(heard, "type") == "audio");
  CHECK(heard.tag() == Tag::Message);

  const Value seen = waflow::server::enrich(message("image"), "describe", ok("A cat."), error);
  CHECK(text(seen, "text") == "A cat.");
  CHECK(text(seen, "description") == "A cat.");
  const Value captioned =
      waflow::server::enrich(message("image", "my cat"), "describe", ok("A cat."), error);
  CHECK(text(captioned, "text") == "<none>");  // The caption stays what the text reads.
  CHECK(text(captioned, "caption") == "my cat");
  CHECK(text(captioned, "description") == "A cat.");

  const Value failed = waflow::server::enrich(
      message("audio"), "transcribe",
      Value::object({{"ok", Value::boolean(false)}, {"error", Value::text("download: 404")}}),
      error);
  CHECK(error == "download: 404");
  CHECK(text(failed, "text") == "<none>");
  error.clear();
  (void)waflow::server::enrich(message("audio"), "transcribe", ok(""), error);
  CHECK(error == "the model heard no words");
}
