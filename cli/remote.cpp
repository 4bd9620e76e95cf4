// The /api/v1 client of the commands that operate a running server.

#include "cli/remote.h"

#include <chrono>
#include <cstdio>
#include <cstdlib>

#include <nlohmann/json.hpp>

#include "adapters/http/client.h"
#include "cli/commands.h"
#include "cli/version.h"
#include "runtime/base/duration.h"

namespace waflow::cli {

namespace {

std::string env_or(const char* name, const std::string& fallback) {
  const char* value = std::getenv(name);
  return value != nullptr && *value != '\0' ? std::string(value) : fallback;
}

bool unreserved(unsigned char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '.' || c == '_' || c == '~';
}

// A server's answer that is not the API's error shape (a proxy's page, an
// older server): its start, on one line, so the user sees what came back.
std::string snippet(const std::string& body) {
  std::string out;
  for (const char c : body) {
    if (out.size() >= 200) {
      out += "...";
      break;
    }
    out += (c == '\n' || c == '\r' || c == '\t') ? ' ' : c;
  }
  return out;
}

}  // namespace

void add_remote_options(CLI::App& cmd, RemoteOptions& options) {
  cmd.add_option("--server", options.server,
                 "The server's base URL (default: $WAFLOW_SERVER, else http://127.0.0.1:8080)");
  cmd.add_option("--token", options.token, "API token (default: $WAFLOW_TOKEN)");
}

std::string path_segment(const std::string& value) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (const char ch : value) {
    const auto c = static_cast<unsigned char>(ch);
    if (unreserved(c)) {
      out += ch;
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

std::string api_time(const std::string& value) {
  std::int64_t ms = 0;
  // A bare integer is Unix milliseconds, not a duration.
  if (value.find_first_not_of("0123456789") == std::string::npos || !parse_duration(value, ms)) {
    return value;
  }
  const auto now = std::chrono::duration_cast<std::chrono::milliseconds>(
                       std::chrono::system_clock::now().time_since_epoch())
                       .count();
  return std::to_string(now - ms);
}

Remote::Remote(std::string command, const RemoteOptions& options)
    : command_(std::move(command)),
      server_(options.server.empty() ? env_or("WAFLOW_SERVER", kDefaultServer) : options.server),
      token_(options.token.empty() ? env_or("WAFLOW_TOKEN", "") : options.token) {
  while (!server_.empty() && server_.back() == '/') {
    server_.pop_back();
  }
  if (server_.rfind("http://", 0) != 0 && server_.rfind("https://", 0) != 0) {
    std::fprintf(stderr,
                 "waflow %s: error: the server '%s' is not a URL (expected http://HOST:PORT or "
                 "https://...)\n",
                 command_.c_str(), server_.c_str());
    usage_error_ = true;
    return;
  }
  http::ClientOptions client;
  client.max_connections = 4;
  client.max_per_host = 2;
  client.user_agent = std::string("waflow-cli/") + kVersion;
  client.max_response_bytes = 64 << 20;
  client_ = std::make_unique<http::HttpClient>(client);
}

Remote::~Remote() = default;

RemoteReply Remote::call(const std::string& method, const std::string& path,
                         const QueryParams& query, const std::string& body,
                         const std::string& content_type, const QueryParams& headers) {
  http::ClientRequest request;
  request.method = method;
  request.url = server_ + "/api/v1" + path;
  char separator = '?';
  for (const auto& [name, value] : query) {
    request.url += separator + path_segment(name) + '=' + path_segment(value);
    separator = '&';
  }
  request.headers.emplace_back("Accept", "application/json");
  if (!token_.empty()) {
    request.headers.emplace_back("Authorization", "Bearer " + token_);
  }
  if (!content_type.empty()) {
    request.headers.emplace_back("Content-Type", content_type);
  }
  for (const auto& header : headers) {
    request.headers.push_back(header);
  }
  request.body = body;
  request.timeout_ms = 60'000;
  http::ClientResponse response = client_->fetch(std::move(request));

  RemoteReply reply;
  if (!response.ok()) {
    reply.message = "cannot reach " + server_ + ": " + response.error;
    return reply;
  }
  reply.status = response.status;
  reply.body = std::move(response.body);
  if (reply.ok()) {
    return reply;
  }
  const auto json = nlohmann::json::parse(reply.body, nullptr, false);
  const std::string status = " (HTTP " + std::to_string(reply.status) + ")";
  const nlohmann::json* error =
      json.is_object() && json.contains("error") ? &json["error"] : nullptr;
  if (error != nullptr && error->is_object() && error->contains("message") &&
      (*error)["message"].is_string()) {
    if (error->contains("code") && (*error)["code"].is_string()) {
      reply.code = (*error)["code"].get<std::string>();
    }
    reply.message = (*error)["message"].get<std::string>() + status;
  } else if (reply.body.empty()) {
    reply.message = "the server answered with no body" + status;
  } else {
    reply.message = "the server answered: " + snippet(reply.body) + status;
  }
  return reply;
}

int Remote::fail(const std::string& message) const {
  std::fprintf(stderr, "waflow %s: error: %s\n", command_.c_str(), message.c_str());
  return kExitErrors;
}

}  // namespace waflow::cli
