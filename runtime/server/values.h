#pragma once

// Small readers and makers of VM values that the server's parts share: the
// engine, the fallback chatbot, media understanding and the serve transport.

#include <string>
#include <string_view>

#include "runtime/vm/value.h"

namespace waflow::server {

// The text of `v`'s field `name`, or "" when it is missing or not text.
inline std::string text_field(const vm::Value& v, std::string_view name) {
  const vm::Value* f = v.field(name);
  return f != nullptr && f->is_text() ? f->as_text() : std::string();
}

// The answer of a call that failed: {ok: false, error}, what a flow's `on error` reads.
inline vm::Value failure(const std::string& error) {
  return vm::Value::object({{"ok", vm::Value::boolean(false)}, {"error", vm::Value::text(error)}});
}

}  // namespace waflow::server
