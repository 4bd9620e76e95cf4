// The serve config: interpolation, defaults, relative paths, and errors that
// name the place, the key and the problem.

#include "runtime/server/config.h"

#include <map>

#include <catch2/catch.hpp>

namespace {

using waflow::server::EnvLookup;
using waflow::server::interpolate;
using waflow::server::parse_config;
using waflow::server::ServeConfig;

EnvLookup env(std::map<std::string, std::string> vars) {
  return [vars](const std::string& name) -> std::optional<std::string> {
    auto it = vars.find(name);
    if (it == vars.end()) {
      return std::nullopt;
    }
    return it->second;
  };
}

const char* kMeta = R"(listen: {host: 0.0.0.0, port: "${PORT:-8080}"}
storage: {sqlite: data/waflow.db}
flows: [../flows, /abs/extra.wf]
devices:
  - name: pizza
    gateway: meta
    phone_number_id: ${PNID}
    access_token: ${WA_TOKEN}
    app_secret: ${APP_SECRET:-}
api:
  tokens:
    - {token: "${WAFLOW_TOKEN:-}", scopes: [read]}
    - {token: t0k3n, scopes: [deploy, admin]}
)";

std::string error_of(const std::string& text, std::map<std::string, std::string> vars = {}) {
  waflow::Result<ServeConfig> c = parse_config(text, "/etc/waflow/waflow.yaml", env(vars));
  REQUIRE_FALSE(c.ok());
  return c.error().message;
}

}  // namespace

TEST_CASE("interpolation reads variables, defaults and $$") {
  const EnvLookup e = env({{"A", "x"}, {"EMPTY", ""}, {"DIR", "/srv"}});
  CHECK(interpolate("${A}-${A:-y}", e).value() == "x-x");
  CHECK(interpolate("${EMPTY:-d}|${MISSING:-}|", e).value() == "d||");
  CHECK(interpolate("${MISSING:-${DIR}/db}", e).value() == "/srv/db");
  CHECK(interpolate("cost $$5 and $x", e).value() == "cost $5 and $x");
  CHECK(interpolate("${MISSING}", e).error().message ==
        "environment variable MISSING is not set (use ${MISSING:-default} for a default)");
  CHECK(interpolate("${A", e).error().message == "unclosed '${' (write '$$' for a literal '$')");
  CHECK(interpolate("${A-B}", e).error().message == "'A-B' is not an environment variable name");
}

TEST_CASE("a meta config reads with its defaults, paths against the config's folder") {
  waflow::Result<ServeConfig> c = parse_config(
      kMeta, "/etc/waflow/waflow.yaml", env({{"PNID", "106"}, {"WA_TOKEN", "secret-token"}}));
  REQUIRE(c.ok());
  const ServeConfig& config = c.value();
  CHECK(config.listen.host == "0.0.0.0");
  CHECK(config.listen.port == 8080);
  CHECK(config.listen.threads == 1);
  CHECK(config.sqlite == "/etc/waflow/data/waflow.db");
  CHECK(config.commit_interval_ms == 10);
  CHECK(config.flows == std::vector<std::string>{"/etc/flows", "/abs/extra.wf"});
  REQUIRE(config.devices.size() == 1);
  const auto& d = config.devices[0];
  CHECK(d.webhook_path == "/webhooks/meta");
  CHECK(d.phone_number_id == "106");
  CHECK(d.access_token == "secret-token");
  CHECK(d.app_secret.empty());
  CHECK(d.graph_base == "https://graph.facebook.com");
  CHECK(d.graph_version == "v21.0");
  CHECK(d.rate_per_second == 80);
  // The empty token is dropped.
  REQUIRE(config.tokens.size() == 1);
  CHECK(config.tokens[0].scopes == std::vector<std::string>{"deploy", "admin"});
  // The summary for the log says whether webhooks are signed, never a secret.
  CHECK(config.describe().find("secret-token") == std::string::npos);
  CHECK(config.describe().find("t0k3n") == std::string::npos);
  CHECK(config.describe().find("unsigned") != std::string::npos);
}

TEST_CASE("the commit interval is read in milliseconds, fractions and ${ENV} included") {
  waflow::Result<ServeConfig> c = parse_config(
      "storage: {sqlite: a.db, commit_interval_ms: \"${CI:-2.5}\"}\nflows: f\n"
      "devices: [{name: x, gateway: web}]\n",
      "/etc/waflow/waflow.yaml", env({}));
  REQUIRE(c.ok());
  CHECK(c.value().commit_interval_ms == 2.5);
  waflow::Result<ServeConfig> off = parse_config(
      "storage: {sqlite: a.db, commit_interval_ms: \"${CI:-2.5}\"}\nflows: f\n"
      "devices: [{name: x, gateway: web}]\n",
      "/etc/waflow/waflow.yaml", env({{"CI", "0"}}));
  REQUIRE(off.ok());
  CHECK(off.value().commit_interval_ms == 0);
}

TEST_CASE("config errors name file, line, column and key") {
  CHECK(error_of(kMeta, {{"WA_TOKEN", "x"}}) ==
        "/etc/waflow/waflow.yaml:7:22: devices[0].phone_number_id: environment variable PNID is "
        "not set (use ${PNID:-default} for a default)");
  CHECK(error_of("storage: {sqlite: a.db}\nflows: f\ndevices:\n  - name: x\n    gatway: meta\n") ==
        "/etc/waflow/waflow.yaml:5:5: devices[0].gatway: unknown key (expected one of: name, "
        "gateway, webhook_path, rate_per_second, phone_number_id, access_token, verify_token, "
        "app_secret, graph_base, graph_version, base_url, session, api_key, hmac_key, ai_model, "
        "ai_fallback, media_max_bytes, media)");
  CHECK(error_of("storage: {sqlite: a.db}\nflows: f\ndevices:\n  - {name: x, gateway: twilio}\n") ==
        "/etc/waflow/waflow.yaml:4:24: devices[0].gateway: unknown gateway 'twilio' (expected "
        "meta, waha or web)");
  CHECK(error_of("listen: {port: 99999}\nstorage: {sqlite: a.db}\nflows: f\n"
                 "devices: [{name: x, gateway: web}]\n") ==
        "/etc/waflow/waflow.yaml:1:16: listen.port: expected a whole number from 0 to 65535, got "
        "'99999'");
  CHECK(error_of("storage: {sqlite: a.db}\nflows: f\nbundle: b.wfb\n"
                 "devices: [{name: x, gateway: web}]\n") ==
        "/etc/waflow/waflow.yaml:1:1: set flows (sources to compile) or bundle (a .wfb file), not "
        "both");
  CHECK(error_of("storage: {sqlite: a.db}\nflows: f\ntimezone: Mars/Olympus\n"
                 "devices: [{name: x, gateway: web}]\n") ==
        "/etc/waflow/waflow.yaml:3:11: timezone: 'Mars/Olympus' is not a time zone of the "
        "system's tzdata (e.g. Europe/Berlin)");
  CHECK(error_of("storage: {sqlite: a.db}\nflows: f\n"
                 "devices: [{name: x, gateway: waha, base_url: ftp://w}]\n") ==
        "/etc/waflow/waflow.yaml:3:46: devices[0].base_url: expected an http:// or https:// URL");
  CHECK(error_of("storage: {sqlite: a.db}\nflows: f\ndevices:\n"
                 "  - {name: x, gateway: web}\n  - {name: x, gateway: web}\n") ==
        "/etc/waflow/waflow.yaml:5:12: devices[1].name: a second device named 'x'");
  CHECK(error_of("storage: {sqlite: a.db}\nflows: f\ndevices: [{name: a, gateway: web}]\n"
                 "api: {tokens: [{token: t, scopes: [root]}]}\n") ==
        "/etc/waflow/waflow.yaml:4:36: api.tokens[0].scopes[0]: unknown scope 'root' (expected "
        "deploy, send, read or admin)");
  CHECK(error_of("storage: {sqlite: a.db, commit_interval_ms: 250}\nflows: f\n"
                 "devices: [{name: x, gateway: web}]\n") ==
        "/etc/waflow/waflow.yaml:1:45: storage.commit_interval_ms: expected at most 100 "
        "(milliseconds)");
  CHECK(error_of("storage: {sqlite: a.db, commit_interval_ms: soon}\nflows: f\n"
                 "devices: [{name: x, gateway: web}]\n") ==
        "/etc/waflow/waflow.yaml:1:45: storage.commit_interval_ms: expected a number >= 0, got "
        "'soon'");
  CHECK(error_of("storage: [a\n").find("/etc/waflow/waflow.yaml:") == 0);
  CHECK(error_of("") == "/etc/waflow/waflow.yaml: the config is empty");
}

TEST_CASE("devices sharing a gateway get webhook paths by name, a path used twice is refused") {
  const std::string two =
      "storage: {sqlite: a.db}\nbundle: app.wfb\ndevices:\n"
      "  - {name: a, gateway: waha, base_url: 'http://w'}\n"
      "  - {name: b, gateway: waha, base_url: 'http://w'}\n";
  waflow::Result<ServeConfig> c = parse_config(two, "cfg/w.yaml", env({}));
  REQUIRE(c.ok());
  CHECK(c.value().devices[0].webhook_path == "/webhooks/waha/a");
  CHECK(c.value().devices[1].webhook_path == "/webhooks/waha/b");
  CHECK(error_of("storage: {sqlite: a.db}\nbundle: app.wfb\ndevices:\n"
                 "  - {name: a, gateway: web, webhook_path: /h}\n"
                 "  - {name: b, gateway: web, webhook_path: /h}\n") ==
        "/etc/waflow/waflow.yaml:5:5: devices[1].webhook_path: '/h' is used by another device");
}
