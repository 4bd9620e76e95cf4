// Media understanding's requests (adapters/ai/media.h): the transcription's multipart body as
// exact bytes, its answers and errors, and a picture in a chat call as each provider takes it.

#include "adapters/ai/media.h"

#include <catch2/catch.hpp>

#include "tests/ai/helpers.h"

namespace {

using namespace waflow::ai;           // NOLINT(google-build-using-namespace)
using namespace waflow::ai::testing;  // NOLINT(google-build-using-namespace)
namespace http = waflow::http;

ProviderConfig target(ProviderKind kind, std::string model) {
  ProviderConfig c;
  c.kind = kind;
  c.model = std::move(model);
  c.api_key = "sk-test";
  return c;
}

}  // namespace

TEST_CASE("base64 pads as RFC 4648 says", "[media]") {
  CHECK(base64("").empty());
  CHECK(base64("f") == "Zg==");
  CHECK(base64("fo") == "Zm8=");
  CHECK(base64("foo") == "Zm9v");
  CHECK(base64("foobar") == "Zm9vYmFy");
  CHECK(base64(std::string("\xff\x00\xfe", 3)) == "/wD+");
}

TEST_CASE("a transcription is a multipart form with the model and the file", "[media]") {
  AudioFile f;
  f.bytes = std::string("Og\0gS", 5);
  f.mime = "audio/ogg";
  AiResult<http::ClientRequest> r =
      build_transcription(target(ProviderKind::OpenAi, "whisper-1"), f, "wfB0undary");
  REQUIRE(r.ok());
  const http::ClientRequest& req = r.value();
  CHECK(req.method == "POST");
  CHECK(req.url == "https://api.openai.com/v1/audio/transcriptions");
  CHECK(header_of(req, "Content-Type") == "multipart/form-data; boundary=wfB0undary");
  CHECK(header_of(req, "Authorization") == "Bearer sk-test");
  const std::string expected = std::string(
                                   "--wfB0undary\r\n"
                                   "Content-Disposition: form-data; name=\"model\"\r\n\r\n"
                                   "whisper-1\r\n"
                                   "--wfB0undary\r\n"
                                   "Content-Disposition: form-data; name=\"file\"; "
                                   "filename=\"voice.ogg\"\r\n"
                                   "Content-Type: audio/ogg\r\n\r\n") +
                               std::string("Og\0gS", 5) + "\r\n--wfB0undary--\r\n";
  CHECK(req.body == expected);
}

TEST_CASE("a transcription names unknown audio as octet-stream, on the configured base",
          "[media]") {
  ProviderConfig c = target(ProviderKind::Groq, "whisper-large-v3");
  c.base_url = "http://127.0.0.1:9/v1/";
  AudioFile f;
  f.bytes = "x";
  AiResult<http::ClientRequest> r = build_transcription(c, f, "b");
  REQUIRE(r.ok());
  CHECK(r.value().url == "http://127.0.0.1:9/v1/audio/transcriptions");
  CHECK(r.value().body.find("filename=\"voice.bin\"\r\nContent-Type: application/octet-stream") !=
        std::string::npos);
  CHECK(audio_filename("audio/mpeg") == "voice.mp3");
}

TEST_CASE("providers without a transcription endpoint are refused", "[media]") {
  for (const ProviderKind k : {ProviderKind::Anthropic, ProviderKind::Gemini,
                               ProviderKind::OpenRouter, ProviderKind::Ollama}) {
    CHECK_FALSE(can_transcribe(k));
    AiResult<http::ClientRequest> r = build_transcription(target(k, "m"), AudioFile{}, "b");
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().reason == Reason::Unsupported);
    CHECK(r.error().message.find("no transcription endpoint") != std::string::npos);
  }
}

TEST_CASE("a transcription's answer is its trimmed text, errors are classified", "[media]") {
  const ProviderConfig c = target(ProviderKind::OpenAi, "whisper-1");
  AiResult<std::string> ok = parse_transcription(c, 200, {}, R"({"text":" pizza \n"})", kNow);
  REQUIRE(ok.ok());
  CHECK(ok.value() == "pizza");

  AiResult<std::string> none = parse_transcription(c, 200, {}, R"({"task":"x"})", kNow);
  REQUIRE_FALSE(none.ok());
  CHECK(none.error().reason == Reason::Server);

  http::StringMap headers;
  headers["retry-after"] = "7";
  AiResult<std::string> limited = parse_transcription(
      c, 429, headers, R"({"error":{"message":"slow down","type":"requests"}})", kNow);
  REQUIRE_FALSE(limited.ok());
  CHECK(limited.error().error_class == ErrorClass::Retry);
  CHECK(limited.error().retry_after_ms == 7000);
  CHECK(limited.error().message == "slow down");

  AiResult<std::string> bad = parse_transcription(
      c, 400, {}, R"({"error":{"message":"Invalid file format.","type":"invalid_request_error"}})",
      kNow);
  REQUIRE_FALSE(bad.ok());
  CHECK(bad.error().error_class == ErrorClass::Fatal);
  CHECK(bad.error().message == "Invalid file format.");
}

TEST_CASE("a picture goes to OpenAI as an image_url data URL before the prompt", "[media]") {
  const ChatRequest req = describe_request("Describe it.", Image{"image/png", "PNG"});
  const Json body = body_of(built(target(ProviderKind::OpenAi, "gpt-4o-mini"), req));
  CHECK(body["messages"] == Json::parse(R"([{"role":"user","content":[
      {"type":"image_url","image_url":{"url":"data:image/png;base64,UE5H"}},
      {"type":"text","text":"Describe it."}]}])"));
}

TEST_CASE("a picture goes to Anthropic as a base64 image block", "[media]") {
  const ChatRequest req = describe_request("Describe it.", Image{"image/jpeg", "JPG"});
  const Json body = body_of(built(target(ProviderKind::Anthropic, "claude-haiku"), req));
  CHECK(body["messages"] == Json::parse(R"([{"role":"user","content":[
      {"type":"image","source":{"type":"base64","media_type":"image/jpeg","data":"SlBH"}},
      {"type":"text","text":"Describe it."}]}])"));
}

TEST_CASE("a picture goes to Gemini as inlineData", "[media]") {
  const ChatRequest req = describe_request("Describe it.", Image{"image/webp", "WEBP"});
  const Json body = body_of(built(target(ProviderKind::Gemini, "gemini-2.0-flash"), req));
  CHECK(body["contents"] == Json::parse(R"([{"role":"user","parts":[
      {"inlineData":{"mimeType":"image/webp","data":"V0VCUA=="}},
      {"text":"Describe it."}]}])"));
}

TEST_CASE("Gemini transcribes a voice note given inline in a chat call", "[media]") {
  const ChatRequest req = transcribe_request(Image{"audio/ogg", "OGG"});
  const Json body = body_of(built(target(ProviderKind::Gemini, "gemini-2.0-flash"), req));
  CHECK(body["contents"] == Json{{{"role", "user"},
                                  {"parts",
                                   {{{"inlineData", {{"mimeType", "audio/ogg"}, {"data", "T0dH"}}}},
                                    {{"text", std::string(kTranscribePrompt)}}}}}});
}
