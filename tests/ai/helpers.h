#pragma once

// Test helpers for the AI adapters: JSON comparison that ignores key order, headers of a
// built request, and a clock for Retry-After dates.

#include <cstdint>
#include <string>
#include <string_view>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "adapters/ai/provider.h"

namespace waflow::ai::testing {

using Json = nlohmann::json;

// 2025-01-06T09:00:00Z: the time every parse in the fixtures happens at.
constexpr std::int64_t kNow = 1736154000000;

inline Json body_of(const http::ClientRequest& r) {
  return Json::parse(r.body);
}

// The value of a request header (exact name as built); "" when absent.
inline std::string header_of(const http::ClientRequest& r, std::string_view name) {
  for (const auto& [k, v] : r.headers) {
    if (k == name) {
      return v;
    }
  }
  return {};
}

inline http::ClientRequest built(const ProviderConfig& c, const ChatRequest& request) {
  AiResult<http::ClientRequest> r = build(c, request);
  INFO((r ? std::string() : r.error().message));
  REQUIRE(r.ok());
  return r.value();
}

inline ChatResponse parsed(const ProviderConfig& c, const ChatRequest& request, int status,
                           const std::string& body, const http::StringMap& headers = {}) {
  const ChatResult r = parse(c, request, status, headers, body, kNow);
  INFO((r ? std::string() : r.error().message));
  REQUIRE(r.ok());
  return r.value();
}

inline AiError failed(const ProviderConfig& c, const ChatRequest& request, int status,
                      const std::string& body, const http::StringMap& headers = {}) {
  const ChatResult r = parse(c, request, status, headers, body, kNow);
  REQUIRE_FALSE(r.ok());
  return r.error();
}

inline ChatRequest hello() {
  ChatRequest r;
  r.system = "Be brief.";
  r.messages.push_back({Role::User, "Hi there", {}, "", "", false});
  return r;
}

inline ProviderConfig config(ProviderKind kind, std::string model, std::string key = "sk-test") {
  ProviderConfig c;
  c.kind = kind;
  c.model = std::move(model);
  c.api_key = std::move(key);
  return c;
}

}  // namespace waflow::ai::testing
