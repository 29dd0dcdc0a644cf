// SPDX-License-Identifier: Apache-2.0
// Path glob syntax of trawl profiles: pure string functions, no file system.
//
//   *      any run of characters inside one path component (also a leading dot)
//   ?      exactly one character (one UTF-8 code point) inside a component
//   [...]  one character of a set: [abc], [a-z], negated [!abc] or [^abc];
//          a ']' right after '[' (or '[!') is a member
//   **     a whole component only: zero or more components (bounded by the
//          walker's max_depth)
//
// Windows-style patterns separate components with '\' or '/', unix-style ones
// with '/' only; there is no escape character ('[[]' matches a literal '[').
// Matching folds ASCII case when asked (Windows and macOS targets).
// Thread-safe: pure functions.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "core/util/error.h"

namespace trawl::core::profile {

enum class PathStyle { kWindows, kUnix };

// Checks one component glob (no separators); kFormat error naming the problem.
Result<void> CheckComponentGlob(std::string_view component);
// True when the component contains *, ? or [.
bool HasGlobChars(std::string_view component);
// Matches one component glob against one name. An unbalanced '[' is taken
// literally (CheckComponentGlob rejects it at load time).
bool MatchComponent(std::string_view glob, std::string_view name, bool fold_case);

// Splits a path into components at the separators of `style`, dropping empty
// components (so "C:\\a\\\\b\\" gives {"C:", "a", "b"}).
std::vector<std::string> SplitPath(std::string_view path, PathStyle style);
bool IsSeparator(char c, PathStyle style);

// Matches a whole path pattern (components, '**' allowed) against the
// components of a path.
bool MatchPathComponents(const std::vector<std::string>& pattern, const std::vector<std::string>& path, bool fold_case);

}  // namespace trawl::core::profile
