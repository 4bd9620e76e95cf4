// The serve config file (config.h): YAML -> ServeConfig, with `${ENV}`
// interpolation and errors that say where (file:line:col), what and which key.

#include "runtime/server/config.h"

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <set>
#include <sstream>

#include <yaml-cpp/yaml.h>

#include "runtime/base/duration.h"
#include "runtime/host/tz.h"

namespace waflow::server {

namespace {

namespace fs = std::filesystem;

// A config error, carried out of the walk by exception inside this file only.
struct ConfigError {
  std::string message;
};

class Reader {
 public:
  Reader(std::string path, const EnvLookup& env) : path_(std::move(path)), env_(env) {}

  [[noreturn]] void fail(const YAML::Node& node, const std::string& key,
                         const std::string& what) const {
    std::string where = path_;
    if (node.IsDefined() && node.Mark().line >= 0) {
      where +=
          ":" + std::to_string(node.Mark().line + 1) + ":" + std::to_string(node.Mark().column + 1);
    }
    throw ConfigError{where + ": " + (key.empty() ? std::string() : key + ": ") + what};
  }

  // A map's keys must all be known.
  void only(const YAML::Node& node, const std::string& key,
            std::initializer_list<std::string_view> known) const {
    if (!node.IsMap()) {
      fail(node, key, "expected a mapping");
    }
    for (const auto& kv : node) {
      const std::string name = kv.first.Scalar();
      bool ok = false;
      for (std::string_view k : known) {
        ok = ok || k == name;
      }
      if (!ok) {
        std::string list;
        for (std::string_view k : known) {
          list += (list.empty() ? "" : ", ") + std::string(k);
        }
        fail(kv.first, key.empty() ? name : key + "." + name,
             "unknown key (expected one of: " + list + ")");
      }
    }
  }

  std::string text(const YAML::Node& node, const std::string& key) const {
    if (!node.IsScalar()) {
      fail(node, key, "expected a text value");
    }
    Result<std::string> v = interpolate(node.Scalar(), env_);
    if (!v) {
      fail(node, key, v.error().message);
    }
    return v.value();
  }

  std::int64_t integer(const YAML::Node& node, const std::string& key, std::int64_t min,
                       std::int64_t max) const {
    const std::string t = text(node, key);
    char* end = nullptr;
    errno = 0;
    const long long v = std::strtoll(t.c_str(), &end, 10);
    if (t.empty() || end != t.c_str() + t.size() || errno != 0 || v < min || v > max) {
      fail(node, key,
           "expected a whole number from " + std::to_string(min) + " to " + std::to_string(max) +
               ", got '" + t + "'");
    }
    return v;
  }

  double number(const YAML::Node& node, const std::string& key) const {
    const std::string t = text(node, key);
    std::istringstream in(t);
    in.imbue(std::locale::classic());
    double v = 0;
    in >> v;
    if (t.empty() || !in.eof() || in.fail() || v < 0) {
      fail(node, key, "expected a number >= 0, got '" + t + "'");
    }
    return v;
  }

  std::string path_value(const YAML::Node& node, const std::string& key) const {
    const std::string t = text(node, key);
    if (t.empty()) {
      fail(node, key, "expected a path");
    }
    fs::path p(t);
    if (p.is_relative()) {
      p = fs::path(path_).parent_path() / p;
    }
    return p.lexically_normal().string();
  }

  const std::string& path() const { return path_; }

 private:
  std::string path_;
  const EnvLookup& env_;
};

bool valid_webhook_path(const std::string& p) {
  if (p.empty() || p[0] != '/' || p.find("//") != std::string::npos) {
    return false;
  }
  for (const char c : p) {
    if (c == '{' || c == '}' || c == '*' || c == '?' || c == '#' || c == ' ') {
      return false;
    }
  }
  return true;
}

void read_device(const Reader& r, const YAML::Node& node, const std::string& key, DeviceConfig& d) {
  r.only(node, key,
         {"name", "gateway", "webhook_path", "rate_per_second", "phone_number_id", "access_token",
          "verify_token", "app_secret", "graph_base", "graph_version", "base_url", "session",
          "api_key", "hmac_key", "ai_model", "ai_fallback", "media_max_bytes", "media"});
  if (!node["name"]) {
    r.fail(node, key, "a device needs a name");
  }
  d.name = r.text(node["name"], key + ".name");
  if (d.name.empty()) {
    r.fail(node["name"], key + ".name", "must not be empty");
  }
  if (!node["gateway"]) {
    r.fail(node, key, "a device needs a gateway (meta, waha or web)");
  }
  d.gateway = r.text(node["gateway"], key + ".gateway");
  if (d.gateway != "meta" && d.gateway != "waha" && d.gateway != "web") {
    r.fail(node["gateway"], key + ".gateway",
           "unknown gateway '" + d.gateway + "' (expected meta, waha or web)");
  }
  auto opt = [&](const char* name, std::string& out) {
    if (node[name]) {
      out = r.text(node[name], key + "." + name);
    }
  };
  opt("webhook_path", d.webhook_path);
  if (node["rate_per_second"]) {
    d.rate_per_second = r.number(node["rate_per_second"], key + ".rate_per_second");
  }
  opt("phone_number_id", d.phone_number_id);
  opt("access_token", d.access_token);
  opt("verify_token", d.verify_token);
  opt("app_secret", d.app_secret);
  opt("graph_base", d.graph_base);
  opt("graph_version", d.graph_version);
  opt("base_url", d.base_url);
  opt("session", d.session);
  opt("api_key", d.api_key);
  opt("hmac_key", d.hmac_key);
  opt("ai_model", d.ai_model);
  if (node["media_max_bytes"]) {
    d.media_max_bytes =
        r.integer(node["media_max_bytes"], key + ".media_max_bytes", 1, std::int64_t{1} << 30);
  }
  if (!d.webhook_path.empty() && !valid_webhook_path(d.webhook_path)) {
    r.fail(node["webhook_path"], key + ".webhook_path",
           "'" + d.webhook_path + "' is not a plain absolute path");
  }
  auto need = [&](const char* name, const std::string& value, const char* why) {
    if (value.empty()) {
      r.fail(node[name] ? node[name] : node, key + "." + name, why);
    }
  };
  if (d.gateway == "meta") {
    need("phone_number_id", d.phone_number_id, "a meta device needs its phone_number_id");
    need("access_token", d.access_token, "a meta device needs an access_token");
    need("graph_base", d.graph_base, "must not be empty");
    need("graph_version", d.graph_version, "must not be empty");
    if (d.graph_base.rfind("http://", 0) != 0 && d.graph_base.rfind("https://", 0) != 0) {
      r.fail(node["graph_base"], key + ".graph_base", "expected an http:// or https:// URL");
    }
  } else if (d.gateway == "waha") {
    need("base_url", d.base_url, "a waha device needs the WAHA server's base_url");
    if (d.base_url.rfind("http://", 0) != 0 && d.base_url.rfind("https://", 0) != 0) {
      r.fail(node["base_url"], key + ".base_url", "expected an http:// or https:// URL");
    }
  }
}

// The providers the AI adapters speak (adapters/ai/provider.h, kind_name()).
constexpr std::string_view kProviders[] = {"openai",    "openrouter", "groq", "mistral",
                                           "together",  "ollama",     "vllm", "llamacpp",
                                           "anthropic", "gemini"};

std::vector<std::string> names_list(const Reader& r, const YAML::Node& node,
                                    const std::string& key) {
  std::vector<std::string> out;
  if (node.IsScalar()) {
    out.push_back(r.text(node, key));
  } else if (node.IsSequence()) {
    for (std::size_t i = 0; i < node.size(); ++i) {
      out.push_back(r.text(node[i], key + "[" + std::to_string(i) + "]"));
    }
  } else {
    r.fail(node, key, "expected a name or a list of names");
  }
  return out;
}

std::int64_t duration_ms(const Reader& r, const YAML::Node& node, const std::string& key) {
  const std::string t = r.text(node, key);
  std::int64_t ms = 0;
  if (!parse_duration(t, ms) || ms <= 0) {
    r.fail(node, key, "expected a duration above 0 such as 30s or 1500ms, got '" + t + "'");
  }
  return ms;
}

bool read_bool(const Reader& r, const YAML::Node& node, const std::string& key) {
  const std::string t = r.text(node, key);
  if (t == "true") {
    return true;
  }
  if (t != "false") {
    r.fail(node, key, "expected true or false, got '" + t + "'");
  }
  return false;
}

void read_model(const Reader& r, const YAML::Node& node, const std::string& key, AiModelConfig& m) {
  r.only(
      node, key,
      {"name", "provider", "model", "api_key", "base_url", "fallback", "timeout", "max_retries",
       "app_url", "app_title", "provider_fallbacks", "anthropic_version", "json_schema", "tools"});
  if (!node["provider"]) {
    r.fail(node, key, "a model needs a provider (openai, anthropic, gemini, ...)");
  }
  m.provider = r.text(node["provider"], key + ".provider");
  bool known = false;
  std::string list;
  for (std::string_view p : kProviders) {
    known = known || p == m.provider;
    list += (list.empty() ? "" : ", ") + std::string(p);
  }
  if (!known) {
    r.fail(node["provider"], key + ".provider",
           "unknown provider '" + m.provider + "' (expected one of: " + list + ")");
  }
  auto opt = [&](const char* name, std::string& out) {
    if (node[name]) {
      out = r.text(node[name], key + "." + name);
    }
  };
  opt("model", m.model);
  if (m.model.empty()) {
    const std::size_t slash = m.name.find('/');
    m.model = slash == std::string::npos ? m.name : m.name.substr(slash + 1);
  }
  if (m.model.empty()) {
    r.fail(node, key + ".model", "missing: the provider's model id");
  }
  opt("api_key", m.api_key);
  opt("base_url", m.base_url);
  if (!m.base_url.empty() && m.base_url.rfind("http://", 0) != 0 &&
      m.base_url.rfind("https://", 0) != 0) {
    r.fail(node["base_url"], key + ".base_url", "expected an http:// or https:// URL");
  }
  if (node["fallback"]) {
    m.fallback = names_list(r, node["fallback"], key + ".fallback");
  }
  if (node["timeout"]) {
    m.timeout_ms = duration_ms(r, node["timeout"], key + ".timeout");
  }
  if (node["max_retries"]) {
    m.max_retries = static_cast<int>(r.integer(node["max_retries"], key + ".max_retries", 0, 10));
  }
  opt("app_url", m.app_url);
  opt("app_title", m.app_title);
  if (node["provider_fallbacks"]) {
    m.provider_fallbacks = names_list(r, node["provider_fallbacks"], key + ".provider_fallbacks");
  }
  opt("anthropic_version", m.anthropic_version);
  if (node["json_schema"]) {
    m.json_schema = read_bool(r, node["json_schema"], key + ".json_schema");
  }
  if (node["tools"]) {
    m.tools = read_bool(r, node["tools"], key + ".tools") ? 1 : 0;
  }
}

// A fallback chain that comes back to where it started: the names around the loop, or "".
std::string fallback_cycle(const std::vector<AiModelConfig>& models) {
  std::map<std::string, const AiModelConfig*> by_name;
  for (const AiModelConfig& m : models) {
    by_name[m.name] = &m;
  }
  std::map<std::string, int> state;  // 1: on the path, 2: done
  std::vector<std::string> path;
  std::function<std::string(const std::string&)> visit = [&](const std::string& name) {
    state[name] = 1;
    path.push_back(name);
    for (const std::string& next : by_name[name]->fallback) {
      if (by_name.count(next) == 0) {
        continue;
      }
      if (state[next] == 1) {
        std::string loop;
        auto it = std::find(path.begin(), path.end(), next);
        for (; it != path.end(); ++it) {
          loop += *it + " -> ";
        }
        return loop + next;
      }
      if (state[next] == 0) {
        if (std::string found = visit(next); !found.empty()) {
          return found;
        }
      }
    }
    path.pop_back();
    state[name] = 2;
    return std::string();
  };
  for (const AiModelConfig& m : models) {
    if (state[m.name] == 0) {
      if (std::string found = visit(m.name); !found.empty()) {
        return found;
      }
    }
  }
  return {};
}

AiConfig read_ai(const Reader& r, const YAML::Node& ai) {
  AiConfig c;
  r.only(ai, "ai", {"models", "default_model", "step_timeout", "max_tool_rounds"});
  std::vector<YAML::Node> nodes;  // Where each model was written, for errors.
  if (const YAML::Node models = ai["models"]) {
    if (models.IsMap()) {
      for (const auto& kv : models) {
        const std::string name = kv.first.Scalar();
        const std::string key = "ai.models." + name;
        AiModelConfig m;
        m.name = name;
        if (kv.second["name"]) {
          r.fail(kv.second["name"], key + ".name", "the model's name is its key here");
        }
        read_model(r, kv.second, key, m);
        c.models.push_back(std::move(m));
        nodes.push_back(kv.first);
      }
    } else if (models.IsSequence()) {
      for (std::size_t i = 0; i < models.size(); ++i) {
        const std::string key = "ai.models[" + std::to_string(i) + "]";
        AiModelConfig m;
        if (!models[i].IsMap() || !models[i]["name"]) {
          r.fail(models[i], key, "a model needs a name (as flows write it: openai/gpt-4o-mini)");
        }
        m.name = r.text(models[i]["name"], key + ".name");
        read_model(r, models[i], key, m);
        c.models.push_back(std::move(m));
        nodes.push_back(models[i]);
      }
    } else {
      r.fail(models, "ai.models", "expected a mapping of model names to their settings");
    }
  }
  std::set<std::string> names;
  for (std::size_t i = 0; i < c.models.size(); ++i) {
    if (c.models[i].name.empty()) {
      r.fail(nodes[i], "ai.models", "a model name must not be empty");
    }
    if (!names.insert(c.models[i].name).second) {
      r.fail(nodes[i], "ai.models", "a second model named '" + c.models[i].name + "'");
    }
  }
  for (std::size_t i = 0; i < c.models.size(); ++i) {
    for (const std::string& f : c.models[i].fallback) {
      if (names.count(f) == 0) {
        r.fail(nodes[i], "ai.models." + c.models[i].name + ".fallback",
               "'" + f + "' is not a model under ai.models");
      }
      if (f == c.models[i].name) {
        r.fail(nodes[i], "ai.models." + c.models[i].name + ".fallback",
               "a model cannot be its own fallback");
      }
    }
  }
  if (std::string loop = fallback_cycle(c.models); !loop.empty()) {
    r.fail(ai["models"], "ai.models", "the fallbacks go round in a circle: " + loop);
  }
  if (ai["default_model"]) {
    c.default_model = r.text(ai["default_model"], "ai.default_model");
    if (!c.default_model.empty() && names.count(c.default_model) == 0) {
      r.fail(ai["default_model"], "ai.default_model",
             "'" + c.default_model + "' is not a model under ai.models");
    }
  } else if (c.models.size() == 1) {
    c.default_model = c.models[0].name;  // One model: it is the default.
  }
  if (ai["step_timeout"]) {
    c.step_timeout_ms = duration_ms(r, ai["step_timeout"], "ai.step_timeout");
  }
  if (ai["max_tool_rounds"]) {
    c.max_tool_rounds =
        static_cast<int>(r.integer(ai["max_tool_rounds"], "ai.max_tool_rounds", 0, 16));
  }
  return c;
}

// devices[i].ai_fallback; its model is resolved once the ai: section is read.
AiFallbackConfig read_fallback(const Reader& r, const YAML::Node& node, const std::string& key) {
  r.only(node, key, {"system", "model", "history", "temperature", "max_tokens"});
  AiFallbackConfig f;
  if (!node["system"]) {
    r.fail(node, key + ".system", "missing: the fallback's system prompt");
  }
  f.system = r.text(node["system"], key + ".system");
  if (node["model"]) {
    f.model = r.text(node["model"], key + ".model");
  }
  if (node["history"]) {
    f.history = static_cast<int>(r.integer(node["history"], key + ".history", 0, 100));
  }
  if (node["temperature"]) {
    f.temperature = r.number(node["temperature"], key + ".temperature");
    if (*f.temperature > 2) {
      r.fail(node["temperature"], key + ".temperature", "expected a number from 0 to 2");
    }
  }
  if (node["max_tokens"]) {
    f.max_tokens = r.integer(node["max_tokens"], key + ".max_tokens", 1, 1'000'000);
  }
  return f;
}

// devices[i].media; its models are checked once the ai: section is read.
MediaConfig read_media(const Reader& r, const YAML::Node& node, const std::string& key) {
  r.only(node, key, {"transcribe", "describe", "describe_prompt"});
  MediaConfig m;
  if (node["transcribe"]) {
    m.transcribe = r.text(node["transcribe"], key + ".transcribe");
  }
  if (node["describe"]) {
    m.describe = r.text(node["describe"], key + ".describe");
  }
  if (node["describe_prompt"]) {
    m.describe_prompt = r.text(node["describe_prompt"], key + ".describe_prompt");
    if (m.describe_prompt.empty()) {
      r.fail(node["describe_prompt"], key + ".describe_prompt", "must not be empty");
    }
  }
  if (m.transcribe.empty() && m.describe.empty()) {
    r.fail(node, key, "name a model to transcribe voice notes, to describe images, or both");
  }
  return m;
}

// Providers whose API has OpenAI's /audio/transcriptions, and Gemini, which takes audio inline
// in a chat call (the others do neither).
bool can_transcribe(const std::string& provider) {
  return provider == "openai" || provider == "groq" || provider == "mistral" ||
         provider == "together" || provider == "vllm" || provider == "gemini";
}

ServeConfig read_config(const Reader& r, const YAML::Node& root) {
  ServeConfig c;
  c.path = r.path();
  if (!root.IsDefined() || root.IsNull()) {
    r.fail(root, "", "the config is empty");
  }
  r.only(root, "",
         {"listen", "storage", "flows", "bundle", "timezone", "devices", "api", "workers", "ai"});
  if (const YAML::Node l = root["listen"]) {
    r.only(l, "listen", {"host", "port", "threads"});
    if (l["host"]) {
      c.listen.host = r.text(l["host"], "listen.host");
    }
    if (l["port"]) {
      c.listen.port = static_cast<std::uint16_t>(r.integer(l["port"], "listen.port", 0, 65535));
    }
    if (l["threads"]) {
      c.listen.threads = static_cast<int>(r.integer(l["threads"], "listen.threads", 1, 64));
    }
  }
  const YAML::Node s = root["storage"];
  if (!s) {
    r.fail(root, "storage", "missing (e.g. storage: {sqlite: waflow.db})");
  }
  r.only(s, "storage", {"sqlite", "commit_interval_ms"});
  if (!s["sqlite"]) {
    r.fail(s, "storage.sqlite", "missing: the database file");
  }
  c.sqlite = r.path_value(s["sqlite"], "storage.sqlite");
  if (s["commit_interval_ms"]) {
    c.commit_interval_ms = r.number(s["commit_interval_ms"], "storage.commit_interval_ms");
    if (c.commit_interval_ms > 100) {
      r.fail(s["commit_interval_ms"], "storage.commit_interval_ms",
             "expected at most 100 (milliseconds)");
    }
  }
  if (const YAML::Node f = root["flows"]) {
    if (f.IsScalar()) {
      c.flows.push_back(r.path_value(f, "flows"));
    } else if (f.IsSequence()) {
      for (std::size_t i = 0; i < f.size(); ++i) {
        c.flows.push_back(r.path_value(f[i], "flows[" + std::to_string(i) + "]"));
      }
    } else {
      r.fail(f, "flows", "expected a path or a list of paths");
    }
  }
  if (root["bundle"]) {
    c.bundle = r.path_value(root["bundle"], "bundle");
  }
  if (!c.flows.empty() && !c.bundle.empty()) {
    r.fail(root, "", "set flows (sources to compile) or bundle (a .wfb file), not both");
  }
  if (root["timezone"]) {
    c.timezone = r.text(root["timezone"], "timezone");
    if (Result<host::TimeZone> zone = host::TimeZone::load(c.timezone); !zone) {
      r.fail(root["timezone"], "timezone",
             "'" + c.timezone + "' is not a time zone of the system's tzdata (e.g. Europe/Berlin)");
    }
  }
  if (root["workers"]) {
    c.workers = static_cast<int>(r.integer(root["workers"], "workers", 1, 256));
  }
  const YAML::Node devices = root["devices"];
  if (!devices || !devices.IsSequence() || devices.size() == 0) {
    r.fail(devices ? devices : root, "devices", "expected a list of at least one device");
  }
  std::set<std::string> names;
  std::set<std::string> paths;
  for (std::size_t i = 0; i < devices.size(); ++i) {
    const std::string key = "devices[" + std::to_string(i) + "]";
    DeviceConfig d;
    read_device(r, devices[i], key, d);
    if (!names.insert(d.name).second) {
      r.fail(devices[i]["name"], key + ".name", "a second device named '" + d.name + "'");
    }
    c.devices.push_back(std::move(d));
  }
  // Default webhook paths: /webhooks/<gateway>, made unique by the device name.
  for (DeviceConfig& d : c.devices) {
    if (d.webhook_path.empty() && d.gateway != "web") {
      int same = 0;
      for (const DeviceConfig& o : c.devices) {
        same += o.gateway == d.gateway ? 1 : 0;
      }
      d.webhook_path = "/webhooks/" + d.gateway + (same > 1 ? "/" + d.name : "");
    }
  }
  for (std::size_t i = 0; i < c.devices.size(); ++i) {
    const DeviceConfig& d = c.devices[i];
    if (!d.webhook_path.empty() && !paths.insert(d.webhook_path).second) {
      r.fail(devices[i], "devices[" + std::to_string(i) + "].webhook_path",
             "'" + d.webhook_path + "' is used by another device");
    }
  }
  if (const YAML::Node ai = root["ai"]) {
    c.ai = read_ai(r, ai);
  }
  for (std::size_t i = 0; i < c.devices.size(); ++i) {
    const std::string& model = c.devices[i].ai_model;
    bool found = model.empty();
    for (const AiModelConfig& m : c.ai.models) {
      found = found || m.name == model;
    }
    if (!found) {
      r.fail(devices[i]["ai_model"], "devices[" + std::to_string(i) + "].ai_model",
             "'" + model + "' is not a model under ai.models");
    }
  }
  for (std::size_t i = 0; i < c.devices.size(); ++i) {
    const YAML::Node node = devices[i]["ai_fallback"];
    if (!node) {
      continue;
    }
    const std::string key = "devices[" + std::to_string(i) + "].ai_fallback";
    AiFallbackConfig f = read_fallback(r, node, key);
    const bool own = !f.model.empty();
    if (f.model.empty()) {
      f.model = c.devices[i].ai_model.empty() ? c.ai.default_model : c.devices[i].ai_model;
    }
    if (f.model.empty()) {
      r.fail(node, key + ".model",
             c.ai.models.empty() ? "the fallback needs a model: none is set up under ai.models"
                                 : "missing: name a model (the device has no ai_model and "
                                   "ai.default_model is not set)");
    }
    bool found = false;
    for (const AiModelConfig& m : c.ai.models) {
      found = found || m.name == f.model;
    }
    if (!found) {
      r.fail(own ? node["model"] : node, key + ".model",
             "'" + f.model + "' is not a model under ai.models");
    }
    c.devices[i].ai_fallback = std::move(f);
  }
  for (std::size_t i = 0; i < c.devices.size(); ++i) {
    const YAML::Node node = devices[i]["media"];
    if (!node) {
      continue;
    }
    const std::string key = "devices[" + std::to_string(i) + "].media";
    if (c.devices[i].gateway == "web") {
      // A web chat page sends text and buttons only: no media to download.
      r.fail(node, key, "a web device receives no media; media: goes with meta or waha devices");
    }
    MediaConfig m = read_media(r, node, key);
    auto model = [&](const char* what) -> const AiModelConfig* {
      const std::string& name = std::string_view(what) == "transcribe" ? m.transcribe : m.describe;
      if (name.empty()) {
        return nullptr;
      }
      for (const AiModelConfig& am : c.ai.models) {
        if (am.name == name) {
          return &am;
        }
      }
      r.fail(node[what], key + "." + what, "'" + name + "' is not a model under ai.models");
      return nullptr;
    };
    if (const AiModelConfig* t = model("transcribe");
        t != nullptr && !can_transcribe(t->provider)) {
      r.fail(node["transcribe"], key + ".transcribe",
             "'" + t->name + "' uses provider " + t->provider +
                 ", which cannot transcribe audio: name a model of openai, groq, mistral, "
                 "together or vllm (/audio/transcriptions) or of gemini (audio inline)");
    }
    (void)model("describe");
    c.devices[i].media = std::move(m);
  }
  if (const YAML::Node api = root["api"]) {
    r.only(api, "api", {"tokens"});
    if (const YAML::Node tokens = api["tokens"]) {
      if (!tokens.IsSequence()) {
        r.fail(tokens, "api.tokens", "expected a list");
      }
      for (std::size_t i = 0; i < tokens.size(); ++i) {
        const std::string key = "api.tokens[" + std::to_string(i) + "]";
        r.only(tokens[i], key, {"token", "scopes"});
        ApiToken t;
        if (tokens[i]["token"]) {
          t.token = r.text(tokens[i]["token"], key + ".token");
        }
        if (const YAML::Node scopes = tokens[i]["scopes"]) {
          if (!scopes.IsSequence()) {
            r.fail(scopes, key + ".scopes", "expected a list of deploy, send, read, admin");
          }
          for (std::size_t j = 0; j < scopes.size(); ++j) {
            const std::string sk = key + ".scopes[" + std::to_string(j) + "]";
            const std::string scope = r.text(scopes[j], sk);
            if (scope != "deploy" && scope != "send" && scope != "read" && scope != "admin") {
              r.fail(scopes[j], sk,
                     "unknown scope '" + scope + "' (expected deploy, send, read or admin)");
            }
            t.scopes.push_back(scope);
          }
        }
        if (!t.token.empty()) {
          c.tokens.push_back(std::move(t));
        }
      }
    }
  }
  return c;
}

}  // namespace

std::optional<std::string> process_env(const std::string& name) {
  const char* v = std::getenv(name.c_str());
  if (v == nullptr) {
    return std::nullopt;
  }
  return std::string(v);
}

Result<std::string> interpolate(std::string_view text, const EnvLookup& env) {
  std::string out;
  std::size_t i = 0;
  while (i < text.size()) {
    const char c = text[i];
    if (c != '$') {
      out += c;
      ++i;
      continue;
    }
    if (i + 1 < text.size() && text[i + 1] == '$') {
      out += '$';
      i += 2;
      continue;
    }
    if (i + 1 >= text.size() || text[i + 1] != '{') {
      out += c;
      ++i;
      continue;
    }
    // The matching '}': defaults may hold references themselves (${A:-${B}/x}).
    std::size_t close = std::string_view::npos;
    int depth = 0;
    for (std::size_t j = i + 2; j < text.size(); ++j) {
      if (text[j] == '$' && j + 1 < text.size() && text[j + 1] == '{') {
        ++depth;
        ++j;
      } else if (text[j] == '}') {
        if (depth == 0) {
          close = j;
          break;
        }
        --depth;
      }
    }
    if (close == std::string_view::npos) {
      return Error{ErrorCode::InvalidInput, "unclosed '${' (write '$$' for a literal '$')"};
    }
    const std::string_view inside = text.substr(i + 2, close - i - 2);
    const std::size_t dash = inside.find(":-");
    const std::string name(inside.substr(0, dash));
    if (name.empty()) {
      return Error{ErrorCode::InvalidInput, "'${}' names no environment variable"};
    }
    for (const char n : name) {
      const bool ok =
          (n >= 'A' && n <= 'Z') || (n >= 'a' && n <= 'z') || (n >= '0' && n <= '9') || n == '_';
      if (!ok) {
        return Error{ErrorCode::InvalidInput, "'" + name + "' is not an environment variable name"};
      }
    }
    const std::optional<std::string> value = env(name);
    if (dash != std::string_view::npos) {
      if (value && !value->empty()) {
        out += *value;
      } else {
        Result<std::string> fallback = interpolate(inside.substr(dash + 2), env);
        if (!fallback) {
          return fallback.error();
        }
        out += fallback.value();
      }
    } else if (value) {
      out += *value;
    } else {
      return Error{ErrorCode::NotFound, "environment variable " + name + " is not set (use ${" +
                                            name + ":-default} for a default)"};
    }
    i = close + 1;
  }
  return out;
}

namespace {

// Reads YAML `text` with `read(reader, root)`; a config error or a YAML syntax
// error becomes an Error that names the file as the user gave it.
template <typename T, typename Read>
Result<T> read_yaml(std::string_view text, const std::string& path, const EnvLookup& env,
                    Read read) {
  const std::string absolute = fs::absolute(fs::path(path)).lexically_normal().string();
  Reader reader(absolute, env);
  try {
    return read(reader, YAML::Load(std::string(text)));
  } catch (const ConfigError& e) {
    std::string message = e.message;
    if (message.rfind(absolute, 0) == 0) {
      message = path + message.substr(absolute.size());
    }
    return Error{ErrorCode::InvalidInput, message};
  } catch (const YAML::Exception& e) {
    return Error{ErrorCode::InvalidInput, path + ":" + std::to_string(e.mark.line + 1) + ":" +
                                              std::to_string(e.mark.column + 1) + ": " + e.msg};
  }
}

// The whole file at `path`, or why not.
Result<std::string> read_file(const std::string& path, const char* what) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return Error{ErrorCode::NotFound, path + ": cannot read the " + what};
  }
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

}  // namespace

Result<ServeConfig> parse_config(std::string_view text, const std::string& path,
                                 const EnvLookup& env) {
  return read_yaml<ServeConfig>(text, path, env, [&](Reader& reader, const YAML::Node& root) {
    ServeConfig c = read_config(reader, root);
    c.path = path;
    return Result<ServeConfig>(std::move(c));
  });
}

Result<AiConfig> load_ai_config(const std::string& path, const EnvLookup& env) {
  Result<std::string> text = read_file(path, "AI config file");
  if (!text) {
    return text.error();
  }
  return read_yaml<AiConfig>(text.value(), path, env, [](Reader& reader, const YAML::Node& root) {
    if (!root.IsMap() || !root["ai"]) {
      reader.fail(root, "ai", "missing: the file needs an ai: section with models");
    }
    return Result<AiConfig>(read_ai(reader, root["ai"]));
  });
}

Result<ServeConfig> load_config(const std::string& path, const EnvLookup& env) {
  Result<std::string> text = read_file(path, "config file");
  if (!text) {
    return text.error();
  }
  return parse_config(text.value(), path, env);
}

std::string ServeConfig::describe() const {
  std::string out = "listen " + listen.host + ":" + std::to_string(listen.port) + ", sqlite " +
                    sqlite + ", devices";
  for (const DeviceConfig& d : devices) {
    out += " " + d.name + " (" + d.gateway + (d.webhook_path.empty() ? "" : " " + d.webhook_path);
    if (d.gateway == "meta") {
      out += d.app_secret.empty() ? ", unsigned" : ", signed";
    } else if (d.gateway == "waha") {
      out += d.hmac_key.empty() ? ", unsigned" : ", signed";
    }
    if (d.ai_fallback) {
      out += ", ai fallback " + d.ai_fallback->model;
    }
    if (d.media) {
      out += ", media " + (d.media->transcribe.empty() ? "-" : d.media->transcribe) + "/" +
             (d.media->describe.empty() ? "-" : d.media->describe);
    }
    out += ")";
  }
  if (!ai.models.empty()) {
    out += ", ai models";
    for (const AiModelConfig& m : ai.models) {
      out += " " + m.name + " (" + m.provider + ")";
    }
    if (!ai.default_model.empty()) {
      out += ", default " + ai.default_model;
    }
  }
  return out;
}

}  // namespace waflow::server
