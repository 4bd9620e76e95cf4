#pragma once

// Result<T>: the channel for expected operational failures (a file that cannot be
// read, a bundle from a newer version, an HTTP 5xx). It holds either a value or an
// Error; callers must look at it.

#include <string>
#include <utility>
#include <variant>

#include "runtime/base/check.h"

namespace waflow {

enum class ErrorCode {
  // The file or resource does not exist or cannot be read.
  NotFound,
  // The input is malformed beyond recovery.
  InvalidInput,
  // The input needs a newer waflow.
  Unsupported,
  // Anything else the operating system reported.
  Io,
};

struct Error {
  ErrorCode code;
  std::string message;
};

template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : data_(std::move(value)) {}        // NOLINT(google-explicit-constructor)
  Result(Error error) : data_(std::move(error)) {}    // NOLINT(google-explicit-constructor)

  bool ok() const { return std::holds_alternative<T>(data_); }
  explicit operator bool() const { return ok(); }

  const T& value() const& {
    WAFLOW_CHECK(ok(), "value() on an error Result");
    return std::get<T>(data_);
  }
  T&& value() && {
    WAFLOW_CHECK(ok(), "value() on an error Result");
    return std::get<T>(std::move(data_));
  }
  const Error& error() const {
    WAFLOW_CHECK(!ok(), "error() on a successful Result");
    return std::get<Error>(data_);
  }

 private:
  std::variant<Error, T> data_;
};

}  // namespace waflow
