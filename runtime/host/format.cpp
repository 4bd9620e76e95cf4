// Terminal rendering of conversations (see format.h).

#include "runtime/host/format.h"

#include <cstdio>

#include "runtime/base/civil_time.h"

namespace waflow::host {

namespace {

using bytecode::EffectKind;
using vm::Value;

std::string text_field(const Value& v, std::string_view name) {
  const Value* f = v.field(name);
  return f != nullptr ? f->to_text() : "";
}

// Splits on newlines, so multi-line texts keep their shape.
void add_lines(std::vector<std::string>& out, const std::string& text) {
  std::size_t start = 0;
  for (;;) {
    const std::size_t nl = text.find('\n', start);
    out.push_back(text.substr(start, nl == std::string::npos ? std::string::npos : nl - start));
    if (nl == std::string::npos) {
      return;
    }
    start = nl + 1;
  }
}

std::string media_line(const Value& m) {
  std::string line = "[" + text_field(m, "type") + "] " + text_field(m, "url");
  if (const std::string name = text_field(m, "filename"); !name.empty()) {
    line += " (" + name + ")";
  }
  if (const std::string caption = text_field(m, "caption"); !caption.empty()) {
    line += " \"" + caption + "\"";
  }
  return line;
}

std::string kind_name(EffectKind kind) {
  return std::string(bytecode::kEffectNames[static_cast<std::size_t>(kind)]);
}

// What an answer to an await effect says, briefly.
std::string answer_summary(EffectKind kind, const Value& answer) {
  const Value* ok = answer.field("ok");
  if (ok == nullptr || !ok->truthy()) {
    std::string why = text_field(answer, "error");
    if (const Value* status = answer.field("status")) {
      why = "status " + status->to_text();
    }
    return "failed" + (why.empty() ? std::string() : ": " + why);
  }
  switch (kind) {
    case EffectKind::AiReply:
      return "\"" + text_field(answer, "text") + "\"";
    case EffectKind::AiClassify: {
      const std::string intent = text_field(answer, "intent");
      return intent.empty() ? "no intent (other)" : intent;
    }
    case EffectKind::AiExtract:
      return answer.field("complete") != nullptr && answer.field("complete")->truthy()
                 ? vm::to_json(answer.field("value") != nullptr ? *answer.field("value") : Value())
                 : "incomplete: \"" + text_field(answer, "question") + "\"";
    case EffectKind::Http:
      return "status " + text_field(answer, "status");
    case EffectKind::StoreRecord:
      return "id " + text_field(answer, "id");
    default:
      return "ok";
  }
}

}  // namespace

std::vector<Option> message_options(const Value& payload) {
  std::vector<Option> out;
  if (const Value* buttons = payload.field("buttons")) {
    for (const Value& b : buttons->as_list()) {
      out.push_back(Option{text_field(b, "id"), text_field(b, "title")});
    }
  }
  if (const Value* sections = payload.field("sections")) {
    for (const Value& s : sections->as_list()) {
      if (const Value* rows = s.field("rows")) {
        for (const Value& r : rows->as_list()) {
          out.push_back(Option{text_field(r, "id"), text_field(r, "title")});
        }
      }
    }
  }
  return out;
}

std::vector<std::string> describe_message(const Value& payload, bool numbered) {
  std::vector<std::string> out;
  const std::string type = text_field(payload, "type");
  if (type == "template") {
    std::string line = "[template " + text_field(payload, "name");
    if (const std::string lang = text_field(payload, "language"); !lang.empty()) {
      line += " " + lang;
    }
    line += "]";
    if (const Value* params = payload.field("params");
        params != nullptr && !params->as_list().empty()) {
      std::string list;
      for (const Value& p : params->as_list()) {
        list += (list.empty() ? "" : " | ") + p.to_text();
      }
      line += " " + list;
    }
    out.push_back(line);
    return out;
  }
  if (type == "location") {
    std::string line =
        "[location] " + text_field(payload, "latitude") + "," + text_field(payload, "longitude");
    for (const char* key : {"name", "address"}) {
      if (const std::string v = text_field(payload, key); !v.empty()) {
        line += " " + v;
      }
    }
    out.push_back(line);
    return out;
  }
  if (payload.field("url") != nullptr) {
    out.push_back(media_line(payload));
    return out;
  }
  if (const std::string header = text_field(payload, "header"); !header.empty()) {
    out.push_back("*" + header + "*");
  }
  add_lines(out, text_field(payload, "text"));
  if (const std::string footer = text_field(payload, "footer"); !footer.empty()) {
    out.push_back("_" + footer + "_");
  }
  const std::vector<Option> options = message_options(payload);
  if (type == "buttons" && !numbered) {
    std::string line;
    for (const Option& o : options) {
      line += (line.empty() ? "" : " ") + ("[" + o.title + "]");
    }
    out.push_back(line);
  } else if (type == "list" && !numbered) {
    std::string line = "[" + text_field(payload, "button") + "]";
    for (const Option& o : options) {
      line += (&o == &options.front() ? " " : " | ") + o.title;
    }
    out.push_back(line);
  } else if (numbered && !options.empty()) {
    if (type == "list") {
      out.push_back("[" + text_field(payload, "button") + "]");
    }
    for (std::size_t i = 0; i < options.size(); ++i) {
      out.push_back("  " + std::to_string(i + 1) + ". " + options[i].title);
    }
  }
  return out;
}

std::string describe_inbound(const Value& message) {
  const std::string type = text_field(message, "type");
  if (type == "button" || type == "list" || type == "interactive") {
    const std::string title = text_field(message, "text");
    return "[tap] " + (title.empty() ? text_field(message, "payload") : title);
  }
  if (type == "location") {
    std::string line =
        "[location] " + text_field(message, "latitude") + "," + text_field(message, "longitude");
    if (const std::string name = text_field(message, "name"); !name.empty()) {
      line += " " + name;
    }
    return line;
  }
  if (message.field("url") != nullptr) {
    return media_line(message);
  }
  return text_field(message, "text");
}

std::vector<std::string> render_event(const Session& session, const Event& e,
                                      const RenderStyle& style) {
  std::vector<std::string> out;
  auto note = [&](const std::string& text) {
    out.push_back(style.note + text);
  };
  const std::string step = session.step_id(e.step);
  switch (e.kind) {
    case EventKind::Received:
      if (style.show_user) {
        out.push_back(style.user + describe_inbound(e.payload));
      }
      break;
    case EventKind::Duplicate:
      if (style.show_user) {
        out.push_back(style.user + describe_inbound(e.payload));
      }
      note("a second delivery of message " + e.text + ": ignored");
      break;
    case EventKind::Unmatched:
      note("no flow takes this message: the bot stays silent");
      break;
    case EventKind::Paused:
      note("the bot is paused after a handoff: the message is for the people");
      break;
    case EventKind::Held:
      note("the run is in a delay: the message waits for its next question");
      break;
    case EventKind::Buffered:
      note("collected for the AI step's buffer");
      break;
    case EventKind::Started:
      note("flow " + e.text + " starts");
      break;
    case EventKind::Effect:
      switch (e.effect) {
        case EffectKind::Send: {
          const std::vector<std::string> lines = describe_message(e.payload, style.numbered);
          for (std::size_t i = 0; i < lines.size(); ++i) {
            out.push_back((i == 0 ? style.bot : style.more) + lines[i]);
          }
          break;
        }
        case EffectKind::Typing:
          note("typing " +
               format_duration(static_cast<std::int64_t>(
                   e.payload.field("ms") != nullptr ? e.payload.field("ms")->as_number() : 0)));
          break;
        case EffectKind::Stage:
          note("stage " + text_field(e.payload, "name"));
          break;
        case EffectKind::Tag:
        case EffectKind::Untag:
          note(kind_name(e.effect) + " " + text_field(e.payload, "tags"));
          break;
        default:
          note(kind_name(e.effect) + " " + vm::to_json(e.payload));
          break;
      }
      break;
    case EventKind::Request: {
      std::string what = kind_name(e.effect) + " " + step;
      if (e.effect == EffectKind::Http) {
        what = "http " + text_field(e.payload, "method") + " " + text_field(e.payload, "url");
      } else if (e.effect == EffectKind::StoreRecord) {
        what = "store " + text_field(e.payload, "collection") + " " +
               vm::to_json(e.payload.field("record") != nullptr ? *e.payload.field("record")
                                                                : Value());
      }
      note(what + " -> " + answer_summary(e.effect, e.answer));
      break;
    }
    case EventKind::Sleeping:
      if (e.text == "delay") {
        note("delay " +
             format_duration(static_cast<std::int64_t>(
                 e.payload.field("ms") != nullptr ? e.payload.field("ms")->as_number() : 0)));
      } else {
        note(kind_name(e.effect) + " " + step + " collects messages for " +
             format_duration(static_cast<std::int64_t>(e.payload.field("buffer_ms")->as_number())));
      }
      break;
    case EventKind::HandedOff: {
      std::string line = "handoff";
      if (const std::string queue = text_field(e.payload, "queue"); !queue.empty()) {
        line += " to " + queue;
      }
      if (const std::string text = text_field(e.payload, "note"); !text.empty()) {
        line += ": " + text;
      }
      note(line + " (the bot is paused)");
      break;
    }
    case EventKind::HandedBack:
      note("handed back to the bot");
      break;
    case EventKind::Timer:
      if (e.text == "timeout") {
        note("no answer in time: " + step + " times out");
      } else if (e.text == "delay") {
        note("the delay of " + step + " is over");
      }
      break;
    case EventKind::Ended:
      note("the run ended");
      break;
    case EventKind::Failed: {
      std::string where = text_field(e.payload, "file");
      if (!where.empty()) {
        where += ":" + text_field(e.payload, "line");
      }
      note("the run failed: " + e.text + (where.empty() ? "" : " (" + where + ")"));
      break;
    }
    case EventKind::Step:
    case EventKind::Waiting:
      break;
  }
  return out;
}

std::string format_duration(std::int64_t ms) {
  if (ms <= 0) {
    return "0s";
  }
  static constexpr std::pair<std::int64_t, const char*> kUnits[] = {
      {604'800'000, "w"}, {86'400'000, "d"}, {3'600'000, "h"},
      {60'000, "m"},      {1000, "s"},       {1, "ms"}};
  std::string out;
  for (const auto& [size, unit] : kUnits) {
    if (ms >= size) {
      out += std::to_string(ms / size) + unit;
      ms %= size;
    }
  }
  return out;
}

std::string format_utc(std::int64_t utc_ms) {
  std::int64_t days = utc_ms / 86'400'000;
  std::int64_t rest = utc_ms % 86'400'000;
  if (rest < 0) {
    rest += 86'400'000;
    --days;
  }
  const CivilDate date = civil_from_days(days);
  char buf[64];
  std::snprintf(buf, sizeof buf, "%04lld-%02u-%02u %02lld:%02lld UTC",
                static_cast<long long>(date.year), date.month, date.day,
                static_cast<long long>(rest / 3'600'000),
                static_cast<long long>((rest / 60'000) % 60));
  return buf;
}

}  // namespace waflow::host
