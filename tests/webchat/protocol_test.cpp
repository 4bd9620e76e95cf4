// The web chat's frames on their own: what a client may send, what is refused and why, and
// what the server sends back.

#include "adapters/webchat/protocol.h"

#include <string>

#include <catch2/catch.hpp>

namespace {

using namespace waflow::webchat;
using waflow::vm::Value;

std::string refusal(std::string_view frame) {
  auto parsed = parse_client_frame(frame);
  REQUIRE_FALSE(parsed.ok());
  return parsed.error().message;
}

}  // namespace

TEST_CASE("contact ids are 8 to 64 letters, digits, '_' or '-'") {
  CHECK(valid_contact_id("abcdEFGH"));
  CHECK(valid_contact_id("a_b-c0123456789"));
  CHECK(valid_contact_id(std::string(64, 'x')));
  CHECK_FALSE(valid_contact_id("short"));
  CHECK_FALSE(valid_contact_id(std::string(65, 'x')));
  CHECK_FALSE(valid_contact_id("abcdefgh!"));
  CHECK_FALSE(valid_contact_id("abcd efgh"));
  CHECK_FALSE(valid_contact_id("abcdefgh\xc3\xa9"));
  CHECK_FALSE(valid_contact_id(""));
}

TEST_CASE("a message frame carries its id and text") {
  auto parsed = parse_client_frame(R"({"type":"message","id":"m1","text":"hi there"})");
  REQUIRE(parsed.ok());
  CHECK(parsed.value().type == FrameType::Message);
  CHECK(parsed.value().id == "m1");
  CHECK(parsed.value().text == "hi there");
}

TEST_CASE("a tap frame carries the payload, the title and the kind") {
  auto parsed = parse_client_frame(R"({"type":"tap","id":"t1","payload":"large","title":"Large"})");
  REQUIRE(parsed.ok());
  CHECK(parsed.value().type == FrameType::Tap);
  CHECK(parsed.value().payload == "large");
  CHECK(parsed.value().title == "Large");
  CHECK_FALSE(parsed.value().list);
  auto row = parse_client_frame(R"({"type":"tap","id":"t2","payload":"r1","kind":"list"})");
  REQUIRE(row.ok());
  CHECK(row.value().list);
}

TEST_CASE("a start frame names a flow and may omit its id") {
  auto parsed = parse_client_frame(R"({"type":"start","flow":"pizza"})");
  REQUIRE(parsed.ok());
  CHECK(parsed.value().type == FrameType::Start);
  CHECK(parsed.value().flow == "pizza");
  CHECK(parsed.value().id.empty());
}

TEST_CASE("frames that cannot be used are refused with a reason") {
  CHECK(refusal("hello") == "the frame is not JSON");
  CHECK(refusal("") == "the frame is not JSON");
  CHECK(refusal("[1,2]") == "the frame must be a JSON object");
  CHECK(refusal(R"({"id":"m1","text":"x"})") == "the frame has no 'type'");
  CHECK(refusal(R"({"type":7})") == "the frame has no 'type'");
  CHECK(refusal(R"({"type":"shout","id":"m1"})") == "unknown frame type 'shout'");
  CHECK(refusal(R"({"type":"message","text":"x"})") == "the frame has no 'id'");
  CHECK(refusal(R"({"type":"message","id":"m 1","text":"x"})") ==
        "'id' must be 1 to 64 letters, digits, '_' or '-'");
  CHECK(refusal(R"({"type":"message","id":"m1"})") == "the frame has no 'text'");
  CHECK(refusal(R"({"type":"message","id":"m1","text":5})") == "'text' must be a string");
  CHECK(refusal(R"({"type":"message","id":"m1","text":""})") == "'text' is empty");
  CHECK(refusal(R"({"type":"tap","id":"t1","title":"x"})") == "the frame has no 'payload'");
  CHECK(refusal(R"({"type":"tap","id":"t1","payload":"a","kind":"menu"})") ==
        "'kind' must be \"button\" or \"list\"");
  CHECK(refusal(R"({"type":"start"})") == "the frame has no 'flow'");
  CHECK(refusal(R"({"type":"start","flow":""})") == "'flow' is empty");
}

TEST_CASE("a text over 4096 bytes is refused, 4096 bytes are not") {
  std::string ok = R"({"type":"message","id":"m1","text":")" + std::string(4096, 'a') + "\"}";
  CHECK(parse_client_frame(ok).ok());
  std::string long_text =
      R"({"type":"message","id":"m1","text":")" + std::string(4097, 'a') + "\"}";
  CHECK(refusal(long_text) == "'text' is longer than 4096 bytes");
}

TEST_CASE("an unknown frame type is not repeated at length in the refusal") {
  std::string frame = R"({"type":")" + std::string(1000, 'x') + "\"}";
  CHECK(refusal(frame) == "unknown frame type '" + std::string(32, 'x') + "'");
}

TEST_CASE("a message becomes an inbound text scoped to its contact") {
  auto frame = parse_client_frame(R"({"type":"message","id":"m1","text":"hi"})").value();
  auto in = to_inbound(frame, "web", "contact01", 1234);
  CHECK(in.account == "web");
  CHECK(in.contact == "contact01");
  CHECK(in.provider_message_id == "contact01:m1");
  CHECK(in.timestamp_ms == 1234);
  CHECK(in.message.tag() == waflow::vm::Tag::Message);
  CHECK(waflow::vm::to_json(in.message) == R"({"type":"text","text":"hi"})");
}

TEST_CASE("a tap becomes a button or list reply, as the Meta gateway reads one") {
  auto tap = parse_client_frame(R"({"type":"tap","id":"t1","payload":"large","title":"Large"})");
  auto in = to_inbound(tap.value(), "web", "contact01", 0);
  CHECK(waflow::vm::to_json(in.message) ==
        R"({"type":"button","payload":"large","text":"Large","title":"Large"})");
  auto row = parse_client_frame(R"({"type":"tap","id":"t2","payload":"r1","kind":"list"})");
  auto in_row = to_inbound(row.value(), "web", "contact01", 0);
  CHECK(waflow::vm::to_json(in_row.message) ==
        R"({"type":"list","payload":"r1","text":"r1","title":"r1"})");
}

TEST_CASE("server frames are JSON in the documented shapes") {
  Value payload = Value::object({{"type", Value::text("text")}, {"text", Value::text("Hi")}});
  CHECK(message_frame("web-1", payload) ==
        R"({"type":"message","id":"web-1","payload":{"type":"text","text":"Hi"}})");
  CHECK(typing_frame(1500) == R"({"type":"typing","ms":1500})");
  CHECK(typing_frame(-5) == R"({"type":"typing","ms":0})");
  CHECK(ack_frame("m1") == R"({"type":"ack","id":"m1"})");
  CHECK(error_frame("bad") == R"({"type":"error","message":"bad"})");
  CHECK(error_frame("bad", "m1") == R"({"type":"error","message":"bad","id":"m1"})");
  HistoryEntry user{false, "c:m1", 5, Value::object({{"text", Value::text("hi")}})};
  HistoryEntry bot{true, "web-1", 6, payload};
  CHECK(history_frame({user, bot}) ==
        R"({"type":"history","messages":[)"
        R"({"from":"user","id":"c:m1","timestamp_ms":5,"payload":{"text":"hi"}},)"
        R"({"from":"bot","id":"web-1","timestamp_ms":6,"payload":{"type":"text","text":"Hi"}}]})");
}

TEST_CASE("numbers in a payload keep their JSON form") {
  Value payload = Value::object({{"type", Value::text("location")},
                                 {"latitude", Value::number(52.5)},
                                 {"longitude", Value::number(13)}});
  CHECK(message_frame("web-2", payload) ==
        R"({"type":"message","id":"web-2","payload":{"type":"location","latitude":52.5,)"
        R"("longitude":13}})");
}

TEST_CASE("a payload with invalid UTF-8 still makes a valid frame") {
  Value payload = Value::object({{"text", Value::text("a\xff"
                                                      "b")}});
  CHECK(message_frame("web-1", payload) ==
        "{\"type\":\"message\",\"id\":\"web-1\",\"payload\":{\"text\":\"a\xef\xbf\xbd"
        "b\"}}");
}
