// SPDX-License-Identifier: Apache-2.0
#include "core/util/error.h"

namespace trawl::core {

std::string_view ErrorCodeName(ErrorCode code) {
  switch (code) {
    case ErrorCode::kInvalidArgument: return "invalid argument";
    case ErrorCode::kIo: return "I/O error";
    case ErrorCode::kFormat: return "format error";
    case ErrorCode::kTruncated: return "truncated input";
    case ErrorCode::kUnsupported: return "unsupported";
    case ErrorCode::kAuthentication: return "authentication failed";
    case ErrorCode::kNoIdentity: return "no identity matched";
    case ErrorCode::kLimit: return "limit reached";
    case ErrorCode::kNotFound: return "not found";
    case ErrorCode::kLocked: return "locked";
    case ErrorCode::kInterrupted: return "interrupted";
    case ErrorCode::kInternal: return "internal error";
  }
  return "error";
}

std::string Error::ToString() const {
  std::string out(ErrorCodeName(code));
  if (!message.empty()) {
    out += ": ";
    out += message;
  }
  return out;
}

Error Error::WithContext(std::string_view context) const {
  Error copy = *this;
  copy.message = std::string(context) + ": " + message;
  return copy;
}

}  // namespace trawl::core
