#pragma once

// The JSON Schema subset that AI steps generate for structured answers, a validator for it,
// and its translation to Gemini's OpenAPI subset (responseSchema).
//
// Supported keywords: type (one name or a list, "null" included), properties, required,
// additionalProperties (false or a schema), items, enum, minItems, maxItems, description,
// nullable. Unknown keywords are ignored when validating, as JSON Schema says; a schema that
// is not an object is refused.

#include <optional>
#include <string>
#include <string_view>

namespace waflow::ai {

// Why `value_json` does not match `schema_json` ("$.seats: expected a number, got a text"),
// or nullopt when it does. Either text not being JSON is also an error message.
std::optional<std::string> validate_json(std::string_view schema_json, std::string_view value_json);

// The schema as Gemini's responseSchema accepts it: upper-case type names, a type list with
// "null" turned into nullable, unsupported keywords dropped, propertyOrdering from the order
// of `properties`. nullopt when schema_json is not a JSON object.
std::optional<std::string> gemini_schema(std::string_view schema_json);

}  // namespace waflow::ai
