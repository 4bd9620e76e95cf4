// WhatsApp message limits (WF05xx), as the Meta WhatsApp Cloud API documents them:
// reply buttons (at most 3; title 20 characters; id 256), lists (button label 20;
// at most 10 sections and 10 rows in all; section and row titles 24; row
// description 72; row id 200), bodies (text message 4096; body of a message with
// reply buttons 1024, of a list 4096), header and footer 60, media caption 1024,
// media types per kind, and template names.
//
// Lengths count code points (utf8_length). A text with {{placeholders}} cannot be
// measured before it is filled in: only its literal parts count, the message says
// "at least", and a note says why.

#include <algorithm>
#include <array>
#include <string_view>

#include "compiler/checks/passes.h"
#include "compiler/dsl/expr_parser.h"
#include "compiler/ir/walk.h"

namespace waflow::checks {

namespace {

constexpr std::size_t kMaxButtons = 3;
constexpr std::size_t kButtonTitle = 20;
constexpr std::size_t kButtonId = 256;
constexpr std::size_t kListButton = 20;
constexpr std::size_t kMaxSections = 10;
constexpr std::size_t kMaxRows = 10;
constexpr std::size_t kSectionTitle = 24;
constexpr std::size_t kRowTitle = 24;
constexpr std::size_t kRowDescription = 72;
constexpr std::size_t kRowId = 200;
constexpr std::size_t kTextBody = 4096;
constexpr std::size_t kButtonsBody = 1024;
constexpr std::size_t kListBody = 4096;
constexpr std::size_t kHeader = 60;
constexpr std::size_t kFooter = 60;
constexpr std::size_t kCaption = 1024;
constexpr std::size_t kTemplateName = 512;

// The length of a text: exact, or a lower bound when it has placeholders.
struct Length {
  std::size_t count = 0;
  bool templated = false;

  std::string describe() const {
    return templated ? fmt::format("at least {}", count) : std::to_string(count);
  }
};

Length measure(const ir::Text& text) {
  if (text.value.find("{{") == std::string::npos && text.value.find('\\') == std::string::npos) {
    return Length{utf8_length(text.value), false};
  }
  // Placeholder errors are reported by the variable checks; this parse is only
  // for counting.
  Diagnostics scratch;
  Length length;
  for (const dsl::TemplatePart& part : dsl::parse_template(text, scratch)) {
    if (part.is_expr) {
      length.templated = true;
    } else {
      length.count += utf8_length(part.literal);
    }
  }
  return length;
}

struct MediaRule {
  std::vector<std::string_view> mimes;       // Accepted MIME types.
  std::vector<std::string_view> extensions;  // Accepted file extensions.
};

const MediaRule& media_rule(ir::MediaKind kind) {
  static const std::array<MediaRule, 5> kRules = {{
      {{"image/jpeg", "image/png"}, {"jpg", "jpeg", "png"}},
      {{"audio/aac", "audio/amr", "audio/mpeg", "audio/mp4", "audio/ogg"},
       {"aac", "amr", "mp3", "m4a", "ogg", "opus"}},
      {{"video/mp4", "video/3gpp", "video/3gp"}, {"mp4", "3gp"}},
      {{"text/plain", "application/pdf", "application/msword",
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        "application/vnd.ms-excel",
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        "application/vnd.ms-powerpoint",
        "application/vnd.openxmlformats-officedocument.presentationml.presentation"},
       {"txt", "pdf", "doc", "docx", "xls", "xlsx", "ppt", "pptx"}},
      {{"image/webp"}, {"webp"}},
  }};
  return kRules.at(static_cast<std::size_t>(kind));
}

// Extensions of files that are clearly media or documents. A URL whose extension
// is not among them (.php, none at all) may serve anything, so it is not judged.
bool known_extension(std::string_view ext) {
  static const std::vector<std::string_view> kKnown = {
      "jpg",  "jpeg", "png", "gif", "webp", "bmp", "tif",  "tiff", "svg",  "heic", "heif",
      "avif", "ico",  "aac", "amr", "mp3",  "m4a", "ogg",  "opus", "wav",  "flac", "wma",
      "mid",  "mp4",  "3gp", "mov", "avi",  "mkv", "webm", "wmv",  "flv",  "m4v",  "mpeg",
      "mpg",  "txt",  "pdf", "doc", "docx", "xls", "xlsx", "ppt",  "pptx", "csv",  "rtf",
      "odt",  "ods",  "odp", "zip", "rar",  "7z",  "epub", "json", "xml",  "html"};
  return std::find(kKnown.begin(), kKnown.end(), ext) != kKnown.end();
}

std::string lower(std::string_view text) {
  std::string out(text);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') {
      c = static_cast<char>(c - 'A' + 'a');
    }
  }
  return out;
}

// The lower-case extension of a literal URL's last path segment, or "" when the
// URL has none or its file name is templated.
std::string url_extension(const std::string& url) {
  std::string_view path(url);
  path = path.substr(0, std::min(path.find('?'), path.find('#')));
  const std::size_t slash = path.rfind('/');
  const std::string_view name = slash == std::string_view::npos ? path : path.substr(slash + 1);
  if (name.find("{{") != std::string_view::npos || name.find("}}") != std::string_view::npos) {
    return "";
  }
  const std::size_t dot = name.rfind('.');
  if (dot == std::string_view::npos || dot + 1 == name.size()) {
    return "";
  }
  return lower(name.substr(dot + 1));
}

// "a, b and c"
std::string joined(const std::vector<std::string_view>& items, std::string_view prefix) {
  std::string out;
  for (std::size_t i = 0; i < items.size(); ++i) {
    const char* separator = i == 0 ? "" : i + 1 == items.size() ? " and " : ", ";
    out += fmt::format("{}{}{}", separator, prefix, items[i]);
  }
  return out;
}

class Limits {
 public:
  explicit Limits(Diagnostics& diags) : diags_(diags) {}

  void step(const ir::Step& step) {
    if (const auto* say = std::get_if<ir::SayStep>(&step.body)) {
      message(step, say->text, "message text", say->options, say->header, say->footer);
    } else if (const auto* ask = std::get_if<ir::AskStep>(&step.body)) {
      message(step, ask->prompt, "prompt", ask->options, {}, {});
      length(ask->reprompt, "re-prompt", kTextBody);
      for (const ir::Reminder& reminder : ask->reminders) {
        reminder_text(reminder);
      }
    } else if (const auto* media = std::get_if<ir::MediaStep>(&step.body)) {
      media_step(step, *media);
    } else if (const auto* tpl = std::get_if<ir::TemplateStep>(&step.body)) {
      template_name(step, *tpl);
    }
  }

  void reminder_text(const ir::Reminder& reminder) {
    if (reminder.text.empty()) {
      diags_.report(DiagnosticKind::EmptyMessage, reminder.span, "reminder text");
    }
    length(reminder.text, "reminder text", kTextBody);
  }

 private:
  Diagnostics& diags_;

  static SourceSpan at(const ir::Text& text, SourceSpan fallback) {
    return text.span.valid() ? text.span : fallback;
  }

  void length(const ir::Text& text, std::string_view what, std::size_t limit,
              SourceSpan fallback = {}) {
    const Length len = measure(text);
    if (len.count <= limit) {
      return;
    }
    report_length(DiagnosticKind::BodyTooLong, at(text, fallback), len, [&](const Length& l) {
      const std::string count = l.describe();
      return fmt::vformat(info(DiagnosticKind::BodyTooLong).format,
                          fmt::make_format_args(what, count, limit));
    });
  }

  template <typename Format>
  void report_length(DiagnosticKind kind, SourceSpan span, const Length& len,
                     const Format& format) {
    Diagnostic& d = diags_.add(kind, span, format(len));
    if (len.templated) {
      d.notes.push_back(Note{false,
                             "only the literal text is counted; the {{placeholders}} add to it "
                             "when the message is sent",
                             {}});
    }
  }

  // A limit whose message has a fixed format in the registry (title, label...).
  void title(DiagnosticKind kind, const ir::Text& text, std::size_t limit, SourceSpan fallback) {
    const Length len = measure(text);
    if (len.count > limit) {
      report_length(kind, at(text, fallback), len, [&](const Length& l) {
        const std::string count = l.describe();
        return fmt::vformat(info(kind).format, fmt::make_format_args(count));
      });
    }
  }

  void message(const ir::Step& step, const ir::Text& body, std::string_view what,
               const ir::Options& options, const ir::Text& header, const ir::Text& footer) {
    if (body.empty()) {
      diags_.report(DiagnosticKind::EmptyMessage, step.span, what);
    }
    const bool buttons = !options.buttons.empty();
    const std::size_t limit = buttons ? kButtonsBody : options.has_list() ? kListBody : kTextBody;
    length(body,
           buttons              ? fmt::format("the body of a message with reply buttons")
           : options.has_list() ? std::string("the body of a list message")
                                : std::string(what),
           limit, step.span);
    length(header, "header", kHeader, step.span);
    length(footer, "footer", kFooter, step.span);
    option_limits(step, options);
  }

  void option_limits(const ir::Step& step, const ir::Options& options) {
    if (!options.buttons.empty() && options.has_list()) {
      const SourceSpan list_at =
          options.list_button.span.valid()
              ? options.list_button.span
              : (options.sections.empty() ? step.span : options.sections.front().span);
      diags_.report(DiagnosticKind::ButtonsAndList, list_at);
    }
    if (options.buttons.size() > kMaxButtons) {
      diags_.report(DiagnosticKind::TooManyButtons, options.buttons[kMaxButtons].span,
                    options.buttons.size());
    }
    for (const ir::Button& button : options.buttons) {
      if (button.title.empty()) {
        diags_.report(DiagnosticKind::EmptyMessage, at(button.title, button.span), "button title");
      }
      title(DiagnosticKind::ButtonTitleTooLong, button.title, kButtonTitle, button.span);
      if (utf8_length(button.id) > kButtonId) {
        diags_.report(DiagnosticKind::OptionIdTooLong, button.span, utf8_length(button.id),
                      kButtonId);
      }
    }
    if (!options.has_list()) {
      return;
    }
    list_limits(step, options);
  }

  void list_limits(const ir::Step& step, const ir::Options& options) {
    const SourceSpan list_at =
        options.list_button.span.valid() ? options.list_button.span : step.span;
    if (options.list_button.empty()) {
      diags_
          .report(DiagnosticKind::EmptyMessage,
                  options.sections.empty() ? list_at : options.sections.front().span,
                  "the list's button label")
          .notes.push_back(
              Note{true, "add 'list \"Choose\"' to name the button that opens the list", {}});
    }
    title(DiagnosticKind::ListButtonTooLong, options.list_button, kListButton, list_at);
    if (options.sections.size() > kMaxSections) {
      diags_.report(DiagnosticKind::TooManySections, options.sections[kMaxSections].span,
                    options.sections.size());
    }
    std::size_t rows = 0;
    const ir::ListRow* eleventh = nullptr;
    for (const ir::ListSection& section : options.sections) {
      for (const ir::ListRow& row : section.rows) {
        if (++rows == kMaxRows + 1) {
          eleventh = &row;
        }
      }
    }
    if (rows == 0) {
      diags_.report(DiagnosticKind::EmptyList, list_at, "this list");
    }
    if (eleventh != nullptr) {
      diags_.report(DiagnosticKind::TooManyListRows, eleventh->span, rows);
    }
    for (const ir::ListSection& section : options.sections) {
      if (section.rows.empty() && rows > 0) {
        diags_.report(DiagnosticKind::EmptyList, section.span, "this section");
      }
      if (options.sections.size() > 1 && section.title.empty()) {
        diags_.report(DiagnosticKind::UntitledSection, section.span);
      }
      title(DiagnosticKind::SectionTitleTooLong, section.title, kSectionTitle, section.span);
      for (const ir::ListRow& row : section.rows) {
        if (row.title.empty()) {
          diags_.report(DiagnosticKind::EmptyMessage, at(row.title, row.span), "row title");
        }
        title(DiagnosticKind::RowTitleTooLong, row.title, kRowTitle, row.span);
        title(DiagnosticKind::RowDescriptionTooLong, row.description, kRowDescription, row.span);
        if (utf8_length(row.id) > kRowId) {
          diags_.report(DiagnosticKind::OptionIdTooLong, row.span, utf8_length(row.id), kRowId);
        }
      }
    }
  }

  void media_step(const ir::Step& step, const ir::MediaStep& media) {
    const char* kind = ir::media_kind_name(media.kind);
    if (media.source.empty()) {
      diags_.report(DiagnosticKind::EmptyMessage, at(media.source, step.span),
                    fmt::format("the {} URL", kind));
    }
    length(media.caption, "caption", kCaption, step.span);
    const MediaRule& rule = media_rule(media.kind);
    if (!media.mime.empty()) {
      std::string mime = lower(media.mime.substr(0, media.mime.find(';')));
      while (!mime.empty() && mime.back() == ' ') {
        mime.pop_back();
      }
      if (std::find(rule.mimes.begin(), rule.mimes.end(), mime) == rule.mimes.end()) {
        diags_
            .report(DiagnosticKind::UnsupportedMediaType,
                    media.mime_span.valid() ? media.mime_span : step.span,
                    fmt::format("'{}'", media.mime), kind)
            .notes.push_back(Note{
                true, fmt::format("WhatsApp accepts {} for {} messages", joined(rule.mimes, ""), kind), {}});
      }
      return;  // A declared type says more than the URL.
    }
    const std::string ext = url_extension(media.source.value);
    if (!ext.empty() && known_extension(ext) &&
        std::find(rule.extensions.begin(), rule.extensions.end(), ext) == rule.extensions.end()) {
      diags_
          .report(DiagnosticKind::UnsupportedMediaType, at(media.source, step.span),
                  fmt::format("a .{} file", ext), kind)
          .notes.push_back(Note{
              true,
              fmt::format("WhatsApp accepts {} files for {} messages", joined(rule.extensions, "."), kind),
              {}});
    }
  }

  void template_name(const ir::Step& step, const ir::TemplateStep& tpl) {
    const bool valid = !tpl.name.empty() && tpl.name.size() <= kTemplateName &&
                       std::all_of(tpl.name.begin(), tpl.name.end(), [](char c) {
                         return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
                       });
    if (!valid) {
      Diagnostic& d = diags_.report(DiagnosticKind::InvalidTemplateName,
                                    tpl.name_span.valid() ? tpl.name_span : step.span, tpl.name);
      const std::string fixed = [&] {
        std::string out = lower(tpl.name);
        std::replace_if(
            out.begin(), out.end(),
            [](char c) { return !((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')); }, '_');
        return out;
      }();
      if (!fixed.empty() && fixed != tpl.name && fixed.size() <= kTemplateName) {
        d.notes.push_back(Note{true, fmt::format("did you mean '{}'?", fixed), {}});
      }
    }
  }
};

}  // namespace

void check_whatsapp_limits(const ir::Project& project, Diagnostics& diags) {
  Limits limits(diags);
  for (const ir::Module& module : project.modules) {
    for (const ir::Flow& flow : module.flows) {
      for (const ir::Reminder& reminder : flow.reminders) {
        limits.reminder_text(reminder);
      }
      ir::for_each_step(flow.steps, [&](const ir::Step& step) { limits.step(step); });
    }
  }
}

}  // namespace waflow::checks
