// Every DSL construct lowers into the IR fields it names.

#include <catch2/catch.hpp>

#include "compiler/dsl/expr_parser.h"
#include "compiler/dsl/printer.h"
#include "compiler/frontend.h"

namespace {

using namespace waflow;  // NOLINT(google-build-using-namespace)

struct Parsed {
  SourceManager sources;
  Diagnostics diags;
  ir::Module module;
};

std::unique_ptr<Parsed> parse(const std::string& text) {
  auto p = std::make_unique<Parsed>();
  const FileId id = p->sources.add("t.wf", text);
  p->module = parse_dsl(p->sources, id, p->diags);
  for (ir::Flow& f : p->module.flows) {
    assign_step_ids(f);
  }
  return p;
}

std::string messages(const Diagnostics& diags) {
  std::string out;
  for (const Diagnostic& d : diags.all()) {
    out += std::string(info(d.kind).code) + " " + d.message + "\n";
  }
  return out;
}

template <typename T>
const T& body(const ir::Step& step) {
  const T* b = std::get_if<T>(&step.body);
  REQUIRE(b != nullptr);
  return *b;
}

const char* kEverything = R"(timezone "Europe/Berlin"
hours mon-fri 09:00-17:00
hours sat 10:00-14:00

flow everything "All constructs"
  trigger keyword "hi" "hello" priority 3
  trigger exact "start"
  trigger regex "^order\\s+\\d+$"
  trigger any
  trigger first_contact
  trigger payload "BUY_NOW"
  trigger api
  trigger schedule "0 9 * * 1" tz "Europe/Paris"
  priority 7
  var contact.language: text = "en"
  var conversation.cart: list = []
  tool stock "Check stock"
    param sku: text "The SKU" optional
    request GET "https://api.example.com/stock/{{sku}}"
    header "Authorization" "Bearer x"
    timeout 5s
  remind after 2h "Still there?"

  say "Hello {{contact.name}}"
    header "Shop"
    footer "Reply any time"
    button a "A"
    button "b-2" "B"
  say """
      Line one
        indented
      """
    list "Menu"
    section "Pizzas"
      row margherita "Margherita" "Tomato, mozzarella"
    section "Drinks"
      row cola "Cola"
  image "https://x.example/p.jpg" caption "Pic" mime "image/jpeg"
  document "https://x.example/menu.pdf" filename "menu.pdf"
  location -33.86 151.21 name "Office" address "1 Harbour St"
  template order_update lang "en_US"
    param "{{contact.name}}"
  typing 2s
  label ask_it
  ask email: email "Your email?"
    remind after 10m "Your email, please"
    on invalid retry 2 "That is not an email."
      end
    on timeout 1h30m
      goto ask_it
  ask code: regex "Code?"
    pattern "^[A-Z]{3}$"
  ai reply into answer
    model "fast"
    fallback "cheap" "local"
    system "You are helpful."
    temperature 0.5
    history 10
    max_tokens 300
    buffer 5s
    timeout 20s
    tools stock
    on error
      say "AI down"
  ai extract lead
    field name: text "Full name"
    field budget: number optional
    on invalid retry 2
      end
  ai classify intent from message.text
    intent billing "Invoices"
      say "Billing"
    intent tech "Technical"
      say "Tech"
    other
      say "Other"
  if intent == "billing" and not (lead.budget > 100)
    stage checkout
  elif intent contains "te"
    tag vip "new-lead"
  else
    untag vip
  match lower(answer)
    case "a", "b"
      set contact.language = "de"
    else
      call other
  http order = POST "https://api.example.com/orders"
    header "X-Key" "k"
    json {item: [1, 2.5, "x"], "quoted key": null, ok: true}
    timeout 10s
    retries 2
    map ref = "$.data.id"
    on error
      handoff "API down" queue "ops"
  store saved = orders {ref: order.ref}
  delay 1d
  return

flow other
  end
)";

}  // namespace

TEST_CASE("dsl: every construct parses without diagnostics", "[dsl]") {
  auto p = parse(kEverything);
  INFO(messages(p->diags));
  CHECK(p->diags.all().empty());
  REQUIRE(p->module.flows.size() == 2);
  CHECK(p->module.timezone == "Europe/Berlin");
  REQUIRE(p->module.hours.size() == 2);
  CHECK(p->module.hours[0].days == std::vector<int>{0, 1, 2, 3, 4});
  CHECK(p->module.hours[0].open == 9 * 60);
  CHECK(p->module.hours[1].close == 14 * 60);
}

TEST_CASE("dsl: flow header declarations lower to triggers, vars, tools", "[dsl]") {
  auto p = parse(kEverything);
  const ir::Flow& f = p->module.flows[0];
  CHECK(f.title.value == "All constructs");
  REQUIRE(f.triggers.size() == 8);
  CHECK(f.triggers[0].kind == ir::TriggerKind::Keyword);
  CHECK(f.triggers[0].values == std::vector<std::string>{"hi", "hello"});
  CHECK(f.triggers[0].priority == 3);
  CHECK(f.triggers[2].values[0] == "^order\\s+\\d+$");
  CHECK(f.triggers[4].kind == ir::TriggerKind::FirstContact);
  CHECK(f.triggers[7].timezone == "Europe/Paris");
  CHECK(f.priority == 7);
  REQUIRE(f.vars.size() == 2);
  CHECK(f.vars[0].var.scope == ir::Scope::Contact);
  CHECK(f.vars[0].type == ir::ValueType::Text);
  CHECK(f.vars[1].var.scope == ir::Scope::Conversation);
  REQUIRE(f.tools.size() == 1);
  CHECK(f.tools[0].params[0].optional);
  CHECK(f.tools[0].method == "GET");
  CHECK(f.tools[0].timeout->ms == 5000);
  REQUIRE(f.reminders.size() == 1);
  CHECK(f.reminders[0].after.ms == 2 * 3600 * 1000);
}

TEST_CASE("dsl: messages keep options, media, location and templates", "[dsl]") {
  auto p = parse(kEverything);
  const ir::Block& s = p->module.flows[0].steps;
  const auto& say = body<ir::SayStep>(s[0]);
  CHECK(say.header.value == "Shop");
  CHECK(say.footer.value == "Reply any time");
  REQUIRE(say.options.buttons.size() == 2);
  CHECK(say.options.buttons[1].id == "b-2");
  const auto& list = body<ir::SayStep>(s[1]);
  CHECK(list.text.value == "Line one\n  indented");
  CHECK(list.options.list_button.value == "Menu");
  REQUIRE(list.options.sections.size() == 2);
  CHECK(list.options.sections[0].rows[0].description.value == "Tomato, mozzarella");
  CHECK(body<ir::MediaStep>(s[2]).mime == "image/jpeg");
  CHECK(body<ir::MediaStep>(s[3]).kind == ir::MediaKind::Document);
  CHECK(body<ir::MediaStep>(s[3]).filename.value == "menu.pdf");
  const auto& loc = body<ir::LocationStep>(s[4]);
  CHECK(loc.latitude.number == Approx(-33.86));
  CHECK(loc.name.value == "Office");
  const auto& tpl = body<ir::TemplateStep>(s[5]);
  CHECK(tpl.language == "en_US");
  CHECK(tpl.params.size() == 1);
  CHECK(body<ir::TypingStep>(s[6]).duration.ms == 2000);
}

TEST_CASE("dsl: ask keeps its type, exits, reminders and label", "[dsl]") {
  auto p = parse(kEverything);
  const ir::Block& s = p->module.flows[0].steps;
  CHECK(s[7].id == "ask_it");
  CHECK(s[7].explicit_id);
  const auto& ask = body<ir::AskStep>(s[7]);
  CHECK(ask.type == ir::CaptureType::Email);
  CHECK(ask.has_invalid);
  CHECK(ask.retries == 2);
  CHECK(ask.reprompt.value == "That is not an email.");
  REQUIRE(ask.on_invalid.size() == 1);
  CHECK(ask.timeout->ms == 90 * 60 * 1000);
  CHECK(body<ir::GotoStep>(ask.on_timeout[0]).target == "ask_it");
  REQUIRE(ask.reminders.size() == 1);
  const auto& regex = body<ir::AskStep>(s[8]);
  CHECK(regex.type == ir::CaptureType::Regex);
  CHECK(regex.pattern == "^[A-Z]{3}$");
  CHECK(s[8].id == "ask_code");
}

TEST_CASE("dsl: ai steps keep options, fields and intents", "[dsl]") {
  auto p = parse(kEverything);
  const ir::Block& s = p->module.flows[0].steps;
  const auto& reply = body<ir::AiReplyStep>(s[9]);
  CHECK(reply.into->name == "answer");
  CHECK(reply.ai.model == "fast");
  CHECK(reply.ai.fallbacks == std::vector<std::string>{"cheap", "local"});
  CHECK(reply.ai.temperature == Approx(0.5));
  CHECK(reply.ai.history == 10);
  CHECK(reply.ai.max_tokens == 300);
  CHECK(reply.ai.buffer->ms == 5000);
  CHECK(reply.ai.tools == std::vector<std::string>{"stock"});
  CHECK(reply.has_error);
  const auto& extract = body<ir::AiExtractStep>(s[10]);
  REQUIRE(extract.fields.size() == 2);
  CHECK(extract.fields[1].type == ir::CaptureType::Number);
  CHECK(extract.fields[1].optional);
  CHECK(extract.retries == 2);
  const auto& classify = body<ir::AiClassifyStep>(s[11]);
  REQUIRE(classify.input);
  CHECK(classify.input->var.scope == ir::Scope::Message);
  CHECK(classify.intents.size() == 2);
  CHECK(classify.has_other);
  CHECK(s[11].id == "classify_intent");
}

TEST_CASE("dsl: logic and integration steps lower with their blocks", "[dsl]") {
  auto p = parse(kEverything);
  const ir::Block& s = p->module.flows[0].steps;
  const auto& cond = body<ir::IfStep>(s[12]);
  CHECK(cond.branches.size() == 2);
  CHECK(cond.has_else);
  CHECK(dsl::print_expression(cond.branches[0].condition) ==
        "intent == \"billing\" and not lead.budget > 100");
  CHECK(body<ir::StageStep>(cond.branches[0].body[0]).name == "checkout");
  CHECK(body<ir::TagStep>(cond.branches[1].body[0]).tags ==
        std::vector<std::string>{"vip", "new-lead"});
  CHECK_FALSE(body<ir::TagStep>(cond.otherwise[0]).add);
  const auto& m = body<ir::MatchStep>(s[13]);
  REQUIRE(m.cases.size() == 1);
  CHECK(m.cases[0].values.size() == 2);
  CHECK(body<ir::CallStep>(m.otherwise[0]).flow == "other");
  const auto& http = body<ir::HttpStep>(s[14]);
  CHECK(http.method == "POST");
  CHECK(http.json->keys == std::vector<std::string>{"item", "quoted key", "ok"});
  CHECK(http.retries == 2);
  CHECK(http.mappings[0].path == "$.data.id");
  CHECK(body<ir::HandoffStep>(http.on_error[0]).queue == "ops");
  CHECK(s[14].id == "http_order");
  const auto& store = body<ir::StoreStep>(s[15]);
  CHECK(store.collection == "orders");
  CHECK(store.var->name == "saved");
  CHECK(body<ir::DelayStep>(s[16]).duration.ms == 86400000);
  CHECK(std::holds_alternative<ir::ReturnStep>(s[17].body));
}

TEST_CASE("dsl: printing and parsing again gives the same source", "[dsl]") {
  auto p = parse(kEverything);
  const std::string once = dsl::write_dsl(p->module);
  auto again = parse(once);
  INFO(once);
  CHECK(again->diags.all().empty());
  CHECK(dsl::write_dsl(again->module) == once);
}

TEST_CASE("dsl: errors are reported with positions and parsing goes on", "[dsl]") {
  auto p = parse(
      "flow a\n"
      "  say \"x\" extra\n"
      "  ask n: numbr \"How many?\"\n"
      "  delay 5 minutes\n"
      "  set x = 1 +\n"
      "  goto\n"
      "  say \"\\q\"\n");
  std::vector<std::string> got;
  p->diags.sort(p->sources);
  for (const Diagnostic& d : p->diags.all()) {
    const SourceLocation at = p->sources.begin_of(d.span);
    got.push_back(fmt::format("{}:{} {} {}", at.line, at.column, info(d.kind).code, d.message));
  }
  CHECK(got == std::vector<std::string>{
                   "2:11 WF0101 syntax error: expected the end of the line",
                   "3:10 WF0319 unknown type 'numbr'",
                   "4:9 WF0101 syntax error: expected a duration such as 30s, 5m, 2h or 1d",
                   "5:14 WF0101 syntax error: expected a value",
                   "6:7 WF0101 syntax error: expected a space",
                   "7:8 WF0105 invalid escape sequence '\\q'",
               });
}

TEST_CASE("dsl: unknown statements suggest the closest keyword", "[dsl]") {
  auto p = parse("flow a\n  sya \"x\"\n");
  REQUIRE(p->diags.all().size() == 1);
  REQUIRE(p->diags.all()[0].notes.size() == 1);
  CHECK(p->diags.all()[0].notes[0].message == "did you mean 'say'?");
}

TEST_CASE("dsl: derived step ids follow kinds and variables", "[dsl]") {
  auto p = parse(
      "flow a\n  say \"1\"\n  say \"2\"\n  ask x \"?\"\n  ask x \"again?\"\n  http r = GET \"https://e.x\"\n  end\n");
  const ir::Block& s = p->module.flows[0].steps;
  CHECK(s[0].id == "say_1");
  CHECK(s[1].id == "say_2");
  CHECK(s[2].id == "ask_x");
  CHECK(s[3].id == "ask_x_2");
  CHECK(s[4].id == "http_r");
  CHECK(s[5].id == "end_1");
}
