#pragma once

// Media understanding (docs/ai.md): what a model makes of a contact's voice note or picture.
//
//   transcription  OpenAI's POST {base}/audio/transcriptions, multipart/form-data with the
//                  fields `model` and `file` (the audio, with a filename and its type); the
//                  answer is {"text": ...}. Only OpenAI-compatible providers have it (openai,
//                  groq, mistral, together, vllm); Gemini gets the audio inline in a chat
//                  call (transcribe_request()); the others are refused at config load.
//   description    an ordinary chat call (router.h) whose user turn carries the image
//                  (chat.h's Image) and a prompt, so it works with every provider and goes
//                  through the router's retries and fallbacks.
//
// Pure functions like provider.h's: no I/O, no clock, so the bytes are tested exactly.

#include <cstdint>
#include <string>
#include <string_view>

#include "adapters/ai/chat.h"
#include "adapters/ai/provider.h"
#include "adapters/http/client.h"
#include "adapters/http/message.h"

namespace waflow::ai {

// Standard base64 with padding (RFC 4648 §4): how the providers take inline files.
std::string base64(std::string_view bytes);

struct AudioFile {
  std::string bytes;
  std::string mime;      // "audio/ogg"; empty: application/octet-stream.
  std::string filename;  // Empty: audio_filename(mime). Servers guess the format from it.
};

// "voice.ogg" for audio/ogg, "voice.mp3" for audio/mpeg... ("voice.bin" when unknown).
std::string audio_filename(std::string_view mime);

// Whether the provider has an /audio/transcriptions endpoint.
bool can_transcribe(ProviderKind kind);

// The transcription request for `file`, its multipart parts separated by `boundary` (which
// must not occur in the file; the caller makes a random one). Fails for providers that
// cannot transcribe. timeout_ms is left 0.
AiResult<http::ClientRequest> build_transcription(const ProviderConfig& config,
                                                  const AudioFile& file, std::string_view boundary);

// Reads the answer: the transcript (trimmed; may be empty for silence), or a classified
// failure as parse() gives for chat calls (retry hints included).
AiResult<std::string> parse_transcription(const ProviderConfig& config, int status,
                                          const http::StringMap& headers, std::string_view body,
                                          std::int64_t now_unix_ms);

// The chat call that describes `image`: one user turn with the picture and `prompt`.
ChatRequest describe_request(std::string_view prompt, Image image);

// Gemini has no transcription endpoint but takes audio inline (inlineData, any audio/* type):
// the chat call that transcribes `audio` (an Image whose mime is the audio's), one user turn
// with the audio and kTranscribePrompt.
inline constexpr std::string_view kTranscribePrompt =
    "Transcribe this audio exactly, in the language it is spoken in. Answer with the spoken "
    "words only.";
ChatRequest transcribe_request(Image audio);

}  // namespace waflow::ai
