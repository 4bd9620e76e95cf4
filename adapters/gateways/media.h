#pragma once

// Downloads the media of users' messages (an image, a voice note, a document) through a
// gateway's media requests (gateway.h: media_request(), read_media()), performed on the shared
// HTTP client: a Meta media id is resolved to its short-lived URL and that URL fetched, both
// with the bearer token; a WAHA media.url is fetched with X-Api-Key. Asynchronous on the
// client's curl-multi thread, so no worker waits on the network.
//
// Files over the limit are refused: before the download when the provider states the size
// (Meta's file_size), else when the body passes it. Failures say whether trying again later
// may work.

#include <cstdint>
#include <functional>
#include <string>

#include "adapters/gateways/gateway.h"
#include "adapters/http/client.h"
#include "runtime/vm/value.h"

namespace waflow::gateways {

struct MediaFile {
  std::string bytes;
  std::string mime;  // As the provider said, else the download's Content-Type; may be empty.
};

struct MediaOptions {
  std::int64_t max_bytes = 16 << 20;
  std::int64_t timeout_ms = 30'000;  // Each request.
};

struct MediaResult {
  bool ok = false;
  MediaFile file;
  bool transient = false;  // !ok: trying again later may work (no answer, 429, 5xx).
  std::string error;       // !ok: why, for the log (no secrets: URLs of Meta carry none).
};

// Downloads the media of `message` (as the gateway's parse_webhook() shaped it). `done` runs
// exactly once, on the client's thread (or at once on the caller's when the message carries
// no media); it must not block. `gateway` and `client` must outlive the download.
void download_media(http::HttpClient& client, const Gateway& gateway, const vm::Value& message,
                    const MediaOptions& options, std::function<void(MediaResult)> done);

}  // namespace waflow::gateways
