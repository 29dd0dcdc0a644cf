// SPDX-License-Identifier: Apache-2.0
// A nesting-depth check for JSON text from untrusted sources, run BEFORE the
// text reaches nlohmann::json. nlohmann parses iteratively, but dump(), copy
// and comparison recurse once per level, so a manifest.json or a JSON Lines
// record of a million '[' parses fine and then overflows the stack wherever
// it is printed or copied. Stateless and thread-safe.
#pragma once

#include <cstddef>
#include <string_view>

#include "core/util/error.h"

namespace trawl::core {

// Deep enough for every document trawl writes (manifests and records nest a
// handful of levels), shallow enough for any stack.
inline constexpr std::size_t kMaxJsonNesting = 128;

// Fails with ErrorCode::kLimit, naming `what` and the byte offset, when
// arrays/objects in `text` nest deeper than `max_depth`. Brackets inside
// strings do not count. Does not validate the JSON otherwise.
Result<void> CheckJsonNesting(std::string_view text, std::string_view what, std::size_t max_depth = kMaxJsonNesting);

}  // namespace trawl::core
