// SPDX-License-Identifier: Apache-2.0
#include "core/profile/glob.h"

#include <cstddef>

namespace trawl::core::profile {
namespace {

char Fold(char c, bool fold_case) {
  if (fold_case && c >= 'A' && c <= 'Z') return static_cast<char>(c - 'A' + 'a');
  return c;
}

// Length of the UTF-8 sequence starting at s[i] (1 for invalid bytes, so a
// hostile name never makes '?' skip past the end).
std::size_t CodePointLength(std::string_view s, std::size_t i) {
  const auto lead = static_cast<unsigned char>(s[i]);
  std::size_t len = 1;
  if (lead >= 0xF0 && lead < 0xF8) {
    len = 4;
  } else if (lead >= 0xE0) {
    len = 3;
  } else if (lead >= 0xC0) {
    len = 2;
  }
  if (lead >= 0xF8) len = 1;
  if (i + len > s.size()) return 1;
  for (std::size_t k = 1; k < len; ++k) {
    if ((static_cast<unsigned char>(s[i + k]) & 0xC0) != 0x80) return 1;
  }
  return len;
}

// Finds the ']' closing the bracket expression opening at glob[open];
// npos when unbalanced.
std::size_t FindBracketEnd(std::string_view glob, std::size_t open) {
  std::size_t i = open + 1;
  if (i < glob.size() && (glob[i] == '!' || glob[i] == '^')) ++i;
  if (i < glob.size() && glob[i] == ']') ++i;  // leading ']' is a member
  while (i < glob.size() && glob[i] != ']') ++i;
  return i < glob.size() ? i : std::string_view::npos;
}

// Does the bracket expression glob[open..close] accept byte c? Sets are byte
// based: ranges and members are meant for ASCII.
bool BracketAccepts(std::string_view glob, std::size_t open, std::size_t close, char c, bool fold_case) {
  std::size_t i = open + 1;
  bool negate = false;
  if (glob[i] == '!' || glob[i] == '^') {
    negate = true;
    ++i;
  }
  const char fc = Fold(c, fold_case);
  bool hit = false;
  bool first = true;
  while (i < close) {
    const char lo = glob[i];
    if (!first && lo == ']') break;
    first = false;
    if (i + 2 < close && glob[i + 1] == '-') {
      const char hi = glob[i + 2];
      const auto ufc = static_cast<unsigned char>(fc);
      const auto uc = static_cast<unsigned char>(c);
      auto in_range = [&](unsigned char v) {
        return v >= static_cast<unsigned char>(lo) && v <= static_cast<unsigned char>(hi);
      };
      // Compare both the folded and the original character so [A-Z] still
      // matches 'a' when folding.
      const unsigned char upper =
          (fold_case && fc >= 'a' && fc <= 'z') ? static_cast<unsigned char>(fc - 'a' + 'A') : uc;
      if (in_range(ufc) || in_range(uc) || in_range(upper)) hit = true;
      i += 3;
    } else {
      if (Fold(lo, fold_case) == fc) hit = true;
      ++i;
    }
  }
  return hit != negate;
}

}  // namespace

bool IsSeparator(char c, PathStyle style) { return c == '/' || (style == PathStyle::kWindows && c == '\\'); }

bool HasGlobChars(std::string_view component) { return component.find_first_of("*?[") != std::string_view::npos; }

Result<void> CheckComponentGlob(std::string_view component) {
  if (component.empty()) return Fail(ErrorCode::kFormat, "empty path component");
  if (component.find("**") != std::string_view::npos && component != "**") {
    return Fail(ErrorCode::kFormat, "'**' must be a whole path component (got '" + std::string(component) + "')");
  }
  for (std::size_t i = 0; i < component.size(); ++i) {
    if (component[i] == '/' || component[i] == '\\') {
      return Fail(ErrorCode::kFormat, "a name glob cannot contain a separator");
    }
    if (component[i] == '[') {
      const std::size_t close = FindBracketEnd(component, i);
      if (close == std::string_view::npos) {
        return Fail(ErrorCode::kFormat, "unbalanced '[' in '" + std::string(component) + "'");
      }
      std::size_t body = i + 1;
      if (component[body] == '!' || component[body] == '^') ++body;
      if (body == close) {
        return Fail(ErrorCode::kFormat, "empty '[]' set in '" + std::string(component) + "'");
      }
      i = close;
    }
  }
  return {};
}

bool MatchComponent(std::string_view glob, std::string_view name, bool fold_case) {
  // Iterative matcher with one backtrack point for the last '*': linear in
  // practice and never recursive, so hostile names cannot blow the stack.
  std::size_t g = 0;
  std::size_t n = 0;
  std::size_t star_g = std::string_view::npos;
  std::size_t star_n = 0;
  while (n < name.size()) {
    if (g < glob.size()) {
      const char gc = glob[g];
      if (gc == '*') {
        while (g < glob.size() && glob[g] == '*') ++g;
        star_g = g;
        star_n = n;
        continue;
      }
      if (gc == '?') {
        n += CodePointLength(name, n);
        ++g;
        continue;
      }
      if (gc == '[') {
        const std::size_t close = FindBracketEnd(glob, g);
        if (close != std::string_view::npos) {
          if (BracketAccepts(glob, g, close, name[n], fold_case)) {
            ++n;
            g = close + 1;
            continue;
          }
        } else if (Fold(name[n], fold_case) == '[') {  // unbalanced: literal
          ++n;
          ++g;
          continue;
        }
      } else if (Fold(gc, fold_case) == Fold(name[n], fold_case)) {
        ++n;
        ++g;
        continue;
      }
    }
    if (star_g == std::string_view::npos) return false;
    // Let the last '*' swallow one more code point and retry.
    star_n += CodePointLength(name, star_n);
    n = star_n;
    g = star_g;
  }
  while (g < glob.size() && glob[g] == '*') ++g;
  return g == glob.size();
}

std::vector<std::string> SplitPath(std::string_view path, PathStyle style) {
  std::vector<std::string> parts;
  std::string current;
  for (char c : path) {
    if (IsSeparator(c, style)) {
      if (!current.empty()) parts.push_back(std::move(current));
      current.clear();
    } else {
      current.push_back(c);
    }
  }
  if (!current.empty()) parts.push_back(std::move(current));
  return parts;
}

bool MatchPathComponents(const std::vector<std::string>& pattern, const std::vector<std::string>& path,
                         bool fold_case) {
  // Dynamic programming over (pattern index, path index): O(p * n), no
  // exponential backtracking on repeated '**'.
  const std::size_t p = pattern.size();
  const std::size_t n = path.size();
  std::vector<char> reach((p + 1) * (n + 1), 0);
  auto at = [&](std::size_t i, std::size_t j) -> char& { return reach[i * (n + 1) + j]; };
  at(0, 0) = 1;
  for (std::size_t i = 0; i <= p; ++i) {
    for (std::size_t j = 0; j <= n; ++j) {
      if (!at(i, j) || i == p) continue;
      if (pattern[i] == "**") {
        at(i + 1, j) = 1;             // '**' matches nothing more
        if (j < n) at(i, j + 1) = 1;  // or swallows one more component
      } else if (j < n && MatchComponent(pattern[i], path[j], fold_case)) {
        at(i + 1, j + 1) = 1;
      }
    }
  }
  return at(p, n) != 0;
}

}  // namespace trawl::core::profile
