#pragma once

// Shared by the gateway tests: fixtures, signed requests, payloads written as JSON, and
// comparing JSON as JSON (key order and spacing do not matter).

#include <fstream>
#include <sstream>
#include <string>
#include <string_view>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "adapters/gateways/gateway.h"
#include "adapters/gateways/wire.h"
#include "runtime/vm/value.h"

namespace waflow::gateways::testing {

using Json = nlohmann::json;

inline std::string fixture(std::string_view name) {
  const std::string path = std::string(WAFLOW_GATEWAY_FIXTURES) + "/" + std::string(name);
  std::ifstream in(path, std::ios::binary);
  INFO("fixture " << path);
  REQUIRE(in.good());
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

inline WebhookRequest post(std::string body, Headers headers) {
  WebhookRequest r;
  r.method = "POST";
  r.path = "/hooks";
  r.headers = std::move(headers);
  r.body = std::move(body);
  return r;
}

// A VM value from JSON text (a send payload, an expected message).
inline vm::Value value(std::string_view json) {
  vm::Value v;
  const bool ok = vm::from_json(json, v);
  INFO(json);
  REQUIRE(ok);
  return v;
}

inline Json as_json(const vm::Value& v) {
  return Json::parse(vm::to_json(v));
}

// The single request a send builds, with its body parsed.
inline Json single_body(const Result<std::vector<OutboundRequest>>& built) {
  INFO((built ? std::string() : built.error().message));
  REQUIRE(built.ok());
  REQUIRE(built.value().size() == 1);
  return Json::parse(built.value()[0].body);
}

inline std::string header_of(const OutboundRequest& r, std::string_view name) {
  for (const auto& [k, v] : r.headers) {
    if (k == name) {
      return v;
    }
  }
  return {};
}

}  // namespace waflow::gateways::testing
