#pragma once

// Media understanding in the engine (`devices[].media`, docs/ai.md): a voice note is
// transcribed and an image described before the flow sees it.
//
// The message is committed as any other (the webhook's 2xx stays durable first). When the
// conversation's turn meets it, the message is not fed to the session: it is held, and an
// outbox row of kind "media" asks the transport to download the file and call the model. Its
// payload is {id: "media:<n>", task: "transcribe" | "describe", model, prompt, max_bytes,
// message}, and its answer comes back as an inbox Answer row with that id, {ok: true, text}
// or {ok: false, error}. Then the held message is fed, enriched (enrich()), and after it the
// messages that arrived meanwhile, in order (one of them may be held again). While a message
// is held, the contact's later messages wait behind it; everything else (timers, API
// actions, answers of the flow's own calls) goes on as usual. What is held lives in the
// session's host state, committed with each turn, so it survives restarts:
//
//   host_state = {media: {pending: "media:2", seq: 2, held: [{message: {...}, ref: "..."}]}}

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "runtime/server/config.h"
#include "runtime/vm/value.h"

namespace waflow::server {

inline constexpr std::string_view kMediaPrefix = "media:";

// A device's media settings as the engine takes them (EngineOptions::media).
struct DeviceMedia {
  MediaConfig config;
  std::int64_t max_bytes = 16 << 20;  // devices[].media_max_bytes, handed to the download.
};

// Whether an Answer row's ref names a media call.
bool is_media_ref(std::string_view ref);

struct HeldMessage {
  vm::Value message;  // As the gateway shaped it ({type, id, mime, ...}).
  std::string ref;    // The inbox row's ref, handed to Session::receive().
};

struct MediaState {
  std::string pending;            // The call out, "" when none.
  std::vector<HeldMessage> held;  // The message being understood first, then those behind it.
  std::int64_t seq = 0;           // Calls made so far (the <n> of their ids).
};

// Reads the state from a session's host state; a missing or odd one is empty.
MediaState read_media_state(const vm::Value& host_state);
// Writes it back, leaving the host state's other members alone; an empty state removes it.
void write_media_state(vm::Value& host_state, const MediaState& state);

// What the device does with `message`: "transcribe" (audio and voice notes, with a
// transcribe model), "describe" (images, with a describe model), else "".
std::string media_task(const MediaConfig& config, const vm::Value& message);

// The outbox payload of a call (see above).
vm::Value media_payload(const MediaConfig& config, const std::string& id, const std::string& task,
                        std::int64_t max_bytes, const vm::Value& message);

// The message as the flow sees it after the call's `answer` ({ok, text} or {ok: false,
// error}): a transcript becomes message.text and message.transcript (so `ask` text answers
// and keyword triggers work on voice notes); a description becomes message.description, and
// message.text too when the image came without a caption. A failure leaves the message as it
// came and sets `error` for the log.
vm::Value enrich(const vm::Value& message, const std::string& task, const vm::Value& answer,
                 std::string& error);

}  // namespace waflow::server
