// Media downloads (adapters/gateways/media.h) over real HTTP against a fake Graph API and a fake
// WAHA on 127.0.0.1 (the project's own HTTP server plays them): Meta's two GETs with the bearer
// token and the type kept, WAHA's media.url with X-Api-Key, the size limit before and after the
// download, and failures that say whether a later try may work.

#include "adapters/gateways/media.h"

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "adapters/gateways/meta.h"
#include "adapters/gateways/waha.h"
#include "adapters/http/server.h"

namespace {

using waflow::gateways::MediaOptions;
using waflow::gateways::MediaResult;
using waflow::http::HttpServer;
using waflow::http::Request;
using waflow::http::Response;
using waflow::http::ServerOptions;
using waflow::vm::Value;

// Runs a download and waits (bounded) for its result.
MediaResult download(waflow::http::HttpClient& client, const waflow::gateways::Gateway& gateway,
                     const Value& message, MediaOptions options = {}) {
  std::mutex mutex;
  std::condition_variable cv;
  std::optional<MediaResult> result;
  waflow::gateways::download_media(client, gateway, message, options, [&](MediaResult r) {
    const std::lock_guard lock(mutex);
    result = std::move(r);
    cv.notify_all();
  });
  std::unique_lock lock(mutex);
  cv.wait_for(lock, std::chrono::seconds(30), [&] { return result.has_value(); });
  REQUIRE(result.has_value());
  return *result;
}

// A fake Graph API: GET /v21.0/{id} answers the media's metadata, GET /files/{id} the bytes;
// every request's path and Authorization header are kept.
struct FakeGraph {
  HttpServer server{ServerOptions{}};
  std::mutex mutex;
  std::vector<std::string> seen;
  std::uint16_t port = 0;
  std::string file = std::string("OggS\0\x01voice", 11);
  std::string stated_size;  // file_size in the metadata; default: the file's size

  FakeGraph() {
    server.route("GET", "/v21.0/{id}", [this](const Request& r) {
      note(r);
      const std::string id = r.params.count("id") != 0 ? r.params.at("id") : std::string();
      if (id == "gone") {
        return Response::json(404, R"({"error":{"message":"Unsupported get request","code":100}})");
      }
      if (id == "busy") {
        return Response::json(503, R"({"error":{"message":"try later"}})");
      }
      const std::string size = stated_size.empty() ? std::to_string(file.size()) : stated_size;
      return Response::json(200,
                            R"({"url":"http://127.0.0.1:)" + std::to_string(port) + "/files/" + id +
                                R"(","mime_type":"audio/ogg; codecs=opus","sha256":"x",)"
                                R"("file_size":)" +
                                size + R"(,"id":")" + id + R"(","messaging_product":"whatsapp"})");
    });
    server.route("GET", "/files/{id}", [this](const Request& r) {
      note(r);
      if (r.header("authorization") != "Bearer tok") {
        return Response::json(401, R"({"error":"no token"})");
      }
      Response resp;
      resp.content_type = "application/octet-stream";
      resp.body = file;
      return resp;
    });
    auto bound = server.start();
    REQUIRE(bound.ok());
    port = bound.value();
  }
  ~FakeGraph() { server.stop(std::chrono::milliseconds(0)); }

  void note(const Request& r) {
    const std::lock_guard lock(mutex);
    seen.push_back(r.path + " " + std::string(r.header("authorization")));
  }

  std::unique_ptr<waflow::gateways::Gateway> gateway() const {
    waflow::gateways::MetaConfig c;
    c.graph_base = "http://127.0.0.1:" + std::to_string(port);
    c.phone_number_id = "PNID";
    c.access_token = "tok";
    return waflow::gateways::make_meta(c);
  }
};

Value media(const std::string& type, const std::string& key, const std::string& value) {
  return Value::object({{"type", Value::text(type)}, {key, Value::text(value)}},
                       waflow::vm::Tag::Message);
}

}  // namespace

TEST_CASE("meta: a media id is looked up, then its URL fetched, both with the bearer token") {
  FakeGraph graph;
  waflow::http::HttpClient client;
  const MediaResult r = download(client, *graph.gateway(), media("audio", "id", "1234567890"));
  INFO(r.error);
  REQUIRE(r.ok);
  CHECK(r.file.bytes == graph.file);
  CHECK(r.file.mime == "audio/ogg");  // As the lookup said, not the download's octet-stream.
  CHECK(graph.seen ==
        std::vector<std::string>{"/v21.0/1234567890 Bearer tok", "/files/1234567890 Bearer tok"});
}

TEST_CASE("meta: a file over the limit is refused before its download, or while it comes") {
  FakeGraph graph;
  waflow::http::HttpClient client;
  MediaOptions small;
  small.max_bytes = 4;
  MediaResult r = download(client, *graph.gateway(), media("audio", "id", "123"), small);
  CHECK_FALSE(r.ok);
  CHECK_FALSE(r.transient);
  CHECK(r.error == "the file has 11 bytes, over the limit of 4");
  CHECK(graph.seen.size() == 1);  // The file itself was not fetched.
  // The size was not stated (or was wrong): the body is measured.
  graph.stated_size = "\"unknown\"";
  r = download(client, *graph.gateway(), media("audio", "id", "124"), small);
  CHECK_FALSE(r.ok);
  CHECK(r.error == "the file has 11 bytes, over the limit of 4");
}

TEST_CASE("meta: failures say whether a later try may work") {
  FakeGraph graph;
  waflow::http::HttpClient client;
  MediaResult r = download(client, *graph.gateway(), media("image", "id", "gone"));
  CHECK_FALSE(r.ok);
  CHECK_FALSE(r.transient);
  CHECK(r.error == "the media lookup: HTTP status 404");
  r = download(client, *graph.gateway(), media("image", "id", "busy"));
  CHECK_FALSE(r.ok);
  CHECK(r.transient);
  // No id, or one that is not an id: no request at all.
  r = download(client, *graph.gateway(), media("image", "url", "http://x/y"));
  CHECK_FALSE(r.ok);
  CHECK(r.error == "the message carries no media id");
  r = download(client, *graph.gateway(), media("image", "id", "../../me"));
  CHECK_FALSE(r.ok);
  CHECK(graph.seen.size() == 2);
  // Nobody listening.
  waflow::gateways::MetaConfig c;
  c.graph_base = "http://127.0.0.1:1";
  c.access_token = "tok";
  r = download(client, *waflow::gateways::make_meta(c), media("image", "id", "1"));
  CHECK_FALSE(r.ok);
  CHECK(r.transient);
}

TEST_CASE("meta: a lookup answer without a URL is an error, not a crash") {
  const auto meta = [] {
    waflow::gateways::MetaConfig c;
    c.access_token = "tok";
    return waflow::gateways::make_meta(c);
  }();
  for (const char* body : {"", "[]", "{}", R"({"url":5})", R"({"url":"file:///etc/passwd"})"}) {
    const waflow::gateways::MediaAnswer a = meta->read_media(0, 200, body, "application/json");
    CHECK(a.kind == waflow::gateways::MediaAnswer::Kind::Failed);
    CHECK(a.error == "the media lookup answered no download URL");
  }
}

TEST_CASE("waha: media.url is fetched with X-Api-Key and its Content-Type kept") {
  HttpServer server{ServerOptions{}};
  std::string key;
  server.route("GET", "/api/files/default/{name}", [&](const Request& r) {
    if (r.params.count("name") != 0 && r.params.at("name") == "missing.jpeg") {
      return Response::json(404, "{}");
    }
    key = std::string(r.header("x-api-key"));
    Response resp;
    resp.content_type = "image/jpeg";
    resp.body = "\xff\xd8\xff jpeg";
    return resp;
  });
  auto port = server.start();
  REQUIRE(port.ok());
  waflow::gateways::WahaConfig c;
  c.base_url = "http://127.0.0.1:" + std::to_string(port.value());
  c.api_key = "waha-key";
  const auto waha = waflow::gateways::make_waha(c);
  waflow::http::HttpClient client;
  const std::string base = c.base_url + "/api/files/default/";
  MediaResult r = download(client, *waha, media("image", "url", base + "3EB0.jpeg"));
  INFO(r.error);
  REQUIRE(r.ok);
  CHECK(r.file.bytes == "\xff\xd8\xff jpeg");
  CHECK(r.file.mime == "image/jpeg");
  CHECK(key == "waha-key");
  r = download(client, *waha, media("image", "url", base + "missing.jpeg"));
  CHECK_FALSE(r.ok);
  CHECK(r.error == "the media download: HTTP status 404");
  r = download(client, *waha, media("image", "text", "no media"));
  CHECK_FALSE(r.ok);
  CHECK(r.error.find("no media url") != std::string::npos);
  server.stop(std::chrono::milliseconds(0));
}
