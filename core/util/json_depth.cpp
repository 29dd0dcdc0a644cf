// SPDX-License-Identifier: Apache-2.0
#include "core/util/json_depth.h"

#include <fmt/format.h>

namespace trawl::core {

Result<void> CheckJsonNesting(std::string_view text, std::string_view what, std::size_t max_depth) {
  std::size_t depth = 0;
  bool in_string = false;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (in_string) {
      if (c == '\\') {
        ++i;  // the escaped character cannot end the string
      } else if (c == '"') {
        in_string = false;
      }
      continue;
    }
    switch (c) {
      case '"': in_string = true; break;
      case '[':
      case '{':
        if (++depth > max_depth) {
          return Fail(ErrorCode::kLimit,
                      fmt::format("{}: JSON nested deeper than {} levels at byte offset {}", what, max_depth, i));
        }
        break;
      case ']':
      case '}':
        if (depth > 0) --depth;
        break;
      default: break;
    }
  }
  return {};
}

}  // namespace trawl::core
