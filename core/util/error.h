// SPDX-License-Identifier: Apache-2.0
// trawl's one error model: functions that can fail return Result<T>, a
// std::expected carrying an Error whose message names the file, path, line,
// field or offset at fault. Exceptions from third-party libraries are caught
// at the adapter that calls them and turned into an Error; none crosses a
// module boundary. Value types, no shared state: thread-safe.
#pragma once

#include <expected>
#include <string>
#include <string_view>
#include <utility>

namespace trawl::core {

enum class ErrorCode {
  kInvalidArgument,  // a caller or a user gave something unusable
  kIo,               // reading or writing a file or stream failed
  kFormat,           // bytes are not the format they claim to be
  kTruncated,        // the input ends before the format says it should
  kUnsupported,      // a valid format variant that trawl does not handle
  kAuthentication,   // a MAC, tag or hash did not verify
  kNoIdentity,       // no identity matched any recipient stanza
  kLimit,            // a configured limit (size, count, depth, time) was hit
  kNotFound,
  kLocked,       // another process holds the file open without sharing (or locked a range)
  kInterrupted,  // stopped by a signal or a deadline
  kInternal,
};

std::string_view ErrorCodeName(ErrorCode code);

struct Error {
  ErrorCode code = ErrorCode::kInternal;
  std::string message;

  // "format error: prefetch.pf: offset 0x54: metrics offset past end of file"
  std::string ToString() const;
  // Returns a copy whose message is prefixed with "context: ".
  Error WithContext(std::string_view context) const;
};

template <typename T>
using Result = std::expected<T, Error>;

// Shorthand for returning an error: `return Fail(ErrorCode::kFormat, "...")`.
inline std::unexpected<Error> Fail(ErrorCode code, std::string message) {
  return std::unexpected<Error>(Error{code, std::move(message)});
}

}  // namespace trawl::core

// Propagates the error of an expression yielding a Result, else evaluates to
// nothing. For use in functions returning Result<...>.
#define TRAWL_TRY_VOID(expr)                                        \
  do {                                                              \
    auto trawl_try_result_ = (expr);                                \
    if (!trawl_try_result_) {                                       \
      return std::unexpected(std::move(trawl_try_result_.error())); \
    }                                                               \
  } while (false)
