#pragma once

// The client side of the /api/v1 HTTP API (docs/api.md), shared by the commands
// that operate a running `waflow serve`: deploy, deployments, send, query and
// contacts.
//
// The server and the token come from --server/--token or WAFLOW_SERVER /
// WAFLOW_TOKEN. Each call blocks on the shared curl client (adapters/http).
// Every way a call can fail — the server refused it with its
// {"error":{code,message}} answer, or it could not be reached at all — becomes
// one Error whose message is ready to print after "waflow <cmd>: error: ". The
// token never appears in a message: it goes out in the Authorization header only.

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <CLI/CLI.hpp>

namespace waflow::http {
class HttpClient;
}

namespace waflow::cli {

inline constexpr const char* kDefaultServer = "http://127.0.0.1:8080";

struct RemoteOptions {
  std::string server;  // Empty: WAFLOW_SERVER, else kDefaultServer.
  std::string token;   // Empty: WAFLOW_TOKEN.
};

// Adds --server URL and --token TOKEN to a command.
void add_remote_options(CLI::App& cmd, RemoteOptions& options);

using QueryParams = std::vector<std::pair<std::string, std::string>>;

// One answer. A failure's message is ready to print: "this token lacks the
// deploy scope (HTTP 403)", "cannot reach http://...: Connection refused".
struct RemoteReply {
  int status = 0;       // The HTTP status; 0 when the server was not reached.
  std::string body;     // The JSON answer.
  std::string code;     // On failure: the API's error code ("unauthorized", ...).
  std::string message;  // On failure.
  bool ok() const { return status >= 200 && status < 300; }
};

class Remote {
 public:
  // `command` names the command in messages ("send", "deployments list").
  Remote(std::string command, const RemoteOptions& options);
  ~Remote();
  Remote(const Remote&) = delete;
  Remote& operator=(const Remote&) = delete;

  // A usage problem with the options (a server URL that is not http(s)://),
  // already printed; the command should exit with kExitUsage.
  bool usage_error() const { return usage_error_; }
  const std::string& server() const { return server_; }

  // METHOD /api/v1<path>?<query>. `path` is already percent-encoded (see
  // path_segment); query values are encoded here. Blocks until the answer.
  RemoteReply call(const std::string& method, const std::string& path,
                   const QueryParams& query = {}, const std::string& body = {},
                   const std::string& content_type = {}, const QueryParams& headers = {});

  // Prints "waflow <command>: error: <message>" on stderr; returns kExitErrors.
  int fail(const std::string& message) const;

 private:
  std::string command_;
  std::string server_;
  std::string token_;
  bool usage_error_ = false;
  std::unique_ptr<http::HttpClient> client_;
};

// A value as one path segment: everything but unreserved characters
// percent-encoded ("+1555" -> "%2B1555").
std::string path_segment(const std::string& value);

// A --since/--until value for the API: "1h", "7d", "30m" (now minus that, in
// Unix milliseconds); anything else (RFC 3339, milliseconds) is passed on for
// the server to judge.
std::string api_time(const std::string& value);

}  // namespace waflow::cli
