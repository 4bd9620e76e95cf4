// Transcription requests and image descriptions (media.h).

#include "adapters/ai/media.h"

#include <utility>

#include "adapters/ai/wire.h"

namespace waflow::ai {

using wire::Json;

std::string base64(std::string_view bytes) {
  static constexpr char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  std::size_t i = 0;
  for (; i + 3 <= bytes.size(); i += 3) {
    const std::uint32_t v = static_cast<std::uint32_t>(static_cast<unsigned char>(bytes[i])) << 16 |
                            static_cast<std::uint32_t>(static_cast<unsigned char>(bytes[i + 1]))
                                << 8 |
                            static_cast<unsigned char>(bytes[i + 2]);
    out += kAlphabet[(v >> 18) & 63];
    out += kAlphabet[(v >> 12) & 63];
    out += kAlphabet[(v >> 6) & 63];
    out += kAlphabet[v & 63];
  }
  const std::size_t rest = bytes.size() - i;
  if (rest > 0) {
    std::uint32_t v = static_cast<std::uint32_t>(static_cast<unsigned char>(bytes[i])) << 16;
    if (rest == 2) {
      v |= static_cast<std::uint32_t>(static_cast<unsigned char>(bytes[i + 1])) << 8;
    }
    out += kAlphabet[(v >> 18) & 63];
    out += kAlphabet[(v >> 12) & 63];
    out += rest == 2 ? kAlphabet[(v >> 6) & 63] : '=';
    out += '=';
  }
  return out;
}

std::string audio_filename(std::string_view mime) {
  // The extensions the transcription servers recognise (OpenAI lists flac, m4a, mp3, mp4,
  // mpeg, mpga, oga, ogg, wav, webm); WhatsApp voice notes are audio/ogg (opus).
  static constexpr std::pair<std::string_view, std::string_view> kTypes[] = {
      {"audio/ogg", "ogg"},   {"audio/opus", "ogg"}, {"audio/mpeg", "mp3"},
      {"audio/mp3", "mp3"},   {"audio/mp4", "m4a"},  {"audio/m4a", "m4a"},
      {"audio/x-m4a", "m4a"}, {"audio/aac", "m4a"},  {"audio/wav", "wav"},
      {"audio/x-wav", "wav"}, {"audio/wave", "wav"}, {"audio/webm", "webm"},
      {"audio/flac", "flac"}, {"audio/amr", "amr"},  {"video/mp4", "mp4"},
  };
  for (const auto& [type, ext] : kTypes) {
    if (mime == type) {
      return "voice." + std::string(ext);
    }
  }
  return "voice.bin";
}

bool can_transcribe(ProviderKind kind) {
  switch (kind) {
    case ProviderKind::OpenAi:
    case ProviderKind::Groq:
    case ProviderKind::Mistral:
    case ProviderKind::Together:
    case ProviderKind::Vllm:
      return true;
    default:
      return false;
  }
}

namespace {

// A form field's quoted value: quotes and line breaks would end it early.
std::string form_value(std::string_view text) {
  std::string out;
  for (const char c : text) {
    out += c == '"' || c == '\r' || c == '\n' ? '_' : c;
  }
  return out;
}

}  // namespace

AiResult<http::ClientRequest> build_transcription(const ProviderConfig& config,
                                                  const AudioFile& file,
                                                  std::string_view boundary) {
  if (!can_transcribe(config.kind)) {
    return wire::error(ErrorClass::Fatal, Reason::Unsupported,
                       std::string(kind_name(config.kind)) +
                           " has no transcription endpoint (openai, groq, mistral, together and "
                           "vllm have /audio/transcriptions)");
  }
  const std::string b(boundary);
  const std::string mime = file.mime.empty() ? "application/octet-stream" : file.mime;
  const std::string name = file.filename.empty() ? audio_filename(file.mime) : file.filename;
  std::string body;
  body.reserve(file.bytes.size() + 400);
  body += "--" + b + "\r\n";
  body += "Content-Disposition: form-data; name=\"model\"\r\n\r\n";
  body += config.model + "\r\n";
  body += "--" + b + "\r\n";
  body +=
      "Content-Disposition: form-data; name=\"file\"; filename=\"" + form_value(name) + "\"\r\n";
  body += "Content-Type: " + mime + "\r\n\r\n";
  body += file.bytes;
  body += "\r\n--" + b + "--\r\n";

  http::ClientRequest out;
  out.method = "POST";
  out.url = wire::base_url(config) + "/audio/transcriptions";
  out.headers.emplace_back("Content-Type", "multipart/form-data; boundary=" + b);
  if (!config.api_key.empty()) {
    out.headers.emplace_back("Authorization", "Bearer " + config.api_key);
  }
  out.body = std::move(body);
  return out;
}

AiResult<std::string> parse_transcription(const ProviderConfig& config, int status,
                                          const http::StringMap& headers, std::string_view body,
                                          std::int64_t now_unix_ms) {
  const std::string provider(kind_name(config.kind));
  const std::optional<Json> doc = wire::parse_json(body);
  if (status < 200 || status > 299) {
    AiError e = wire::status_error(status, &quirks(config.kind));
    std::string code;
    if (doc && doc->is_object()) {
      if (const Json* err = wire::field(*doc, "error"); err != nullptr && err->is_object()) {
        e.message = wire::text(*err, "message");
        code = wire::scalar_text(wire::field(*err, "code"));
        if (code.empty()) {
          code = wire::text(*err, "type");
        }
      } else {
        e.message = wire::text(*doc, "message");
      }
    }
    if (e.message.empty()) {
      e.message = provider + " answered HTTP " + std::to_string(status);
    }
    e.code = code;
    wire::refine(e, code);
    wire::apply_should_retry(e, headers);
    e.retry_after_ms = wire::retry_after_ms(headers, now_unix_ms);
    return e;
  }
  if (!doc || !doc->is_object()) {
    return wire::malformed(provider, "with a body that is not a JSON object", status);
  }
  const Json* text = wire::field(*doc, "text");
  if (text == nullptr || !text->is_string()) {
    return wire::malformed(provider, "with no text", status);
  }
  std::string out = text->get<std::string>();
  const std::size_t first = out.find_first_not_of(" \t\r\n");
  const std::size_t last = out.find_last_not_of(" \t\r\n");
  return first == std::string::npos ? std::string() : out.substr(first, last - first + 1);
}

ChatRequest describe_request(std::string_view prompt, Image image) {
  ChatRequest request;
  Message m;
  m.role = Role::User;
  m.text = std::string(prompt);
  m.images.push_back(std::move(image));
  request.messages.push_back(std::move(m));
  return request;
}

ChatRequest transcribe_request(Image audio) {
  return describe_request(kTranscribePrompt, std::move(audio));
}

}  // namespace waflow::ai
