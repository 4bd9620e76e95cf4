// Media downloads through a gateway's requests (media.h).

#include "adapters/gateways/media.h"

#include <memory>
#include <utility>

namespace waflow::gateways {

namespace {

constexpr int kMaxSteps = 4;  // Meta needs 2; a gateway asking for more is looping.

struct Download : std::enable_shared_from_this<Download> {
  http::HttpClient* client = nullptr;
  const Gateway* gateway = nullptr;
  MediaOptions options;
  std::function<void(MediaResult)> done;
  int step = 0;
  std::string mime;

  void fail(std::string error, bool transient) {
    MediaResult r;
    r.error = std::move(error);
    r.transient = transient;
    done(std::move(r));
  }

  void request(const OutboundRequest& out) {
    http::ClientRequest req;
    req.method = out.method.empty() ? "GET" : out.method;
    req.url = out.url;
    req.headers = out.headers;
    req.body = out.body;
    req.timeout_ms = options.timeout_ms;
    client->submit(std::move(req),
                   [self = shared_from_this()](http::ClientResponse resp) { self->answer(resp); });
  }

  void answer(const http::ClientResponse& resp) {
    const std::string content_type(resp.header("content-type"));
    MediaAnswer a = gateway->read_media(step, resp.ok() ? resp.status : 0, resp.body, content_type);
    if (a.kind == MediaAnswer::Kind::Failed) {
      if (!resp.ok()) {
        a.error += " (" + resp.error + ")";
      }
      fail(a.error, a.transient);
      return;
    }
    if (a.kind == MediaAnswer::Kind::Next) {
      if (!a.mime.empty()) {
        mime = a.mime;  // What the provider states beats the message's and the download's.
      }
      if (a.size > options.max_bytes) {
        fail("the file has " + std::to_string(a.size) + " bytes, over the limit of " +
                 std::to_string(options.max_bytes),
             false);
        return;
      }
      if (++step >= kMaxSteps) {
        fail("the gateway asked for too many requests", false);
        return;
      }
      request(a.next);
      return;
    }
    if (static_cast<std::int64_t>(resp.body.size()) > options.max_bytes) {
      fail("the file has " + std::to_string(resp.body.size()) + " bytes, over the limit of " +
               std::to_string(options.max_bytes),
           false);
      return;
    }
    MediaResult r;
    r.ok = true;
    r.file.bytes = resp.body;
    r.file.mime = mime.empty() ? (a.mime.empty() ? content_type : a.mime) : mime;
    // "audio/ogg; codecs=opus" names the type; the parameters are the file's business.
    if (const std::size_t semi = r.file.mime.find(';'); semi != std::string::npos) {
      r.file.mime.erase(semi);
    }
    done(std::move(r));
  }
};

}  // namespace

void download_media(http::HttpClient& client, const Gateway& gateway, const vm::Value& message,
                    const MediaOptions& options, std::function<void(MediaResult)> done) {
  Result<OutboundRequest> first = gateway.media_request(message);
  if (!first) {
    MediaResult r;
    r.error = first.error().message;
    done(std::move(r));
    return;
  }
  auto d = std::make_shared<Download>();
  d->client = &client;
  d->gateway = &gateway;
  d->options = options;
  d->done = std::move(done);
  if (const vm::Value* mime = message.field("mime"); mime != nullptr && mime->is_text()) {
    d->mime = mime->as_text();
  }
  d->request(first.value());
}

}  // namespace waflow::gateways
