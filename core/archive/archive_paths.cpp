// SPDX-License-Identifier: Apache-2.0
#include "core/archive/archive_paths.h"

#include <fmt/format.h>

#include <vector>

#include "core/util/text.h"

namespace trawl::core::archive {
namespace {

std::vector<std::string_view> Split(std::string_view s, bool windows) {
  std::vector<std::string_view> parts;
  std::size_t start = 0;
  for (std::size_t i = 0; i <= s.size(); ++i) {
    const bool sep = i == s.size() || s[i] == '/' || (windows && s[i] == '\\');
    if (!sep) continue;
    if (i > start) parts.push_back(s.substr(start, i - start));
    start = i + 1;
  }
  return parts;
}

}  // namespace

std::string EncodeComponent(std::string_view component) {
  if (component == ".") return "%2E";
  if (component == "..") return "%2E%2E";
  std::string out;
  out.reserve(component.size());
  for (char ch : component) {
    const auto c = static_cast<unsigned char>(ch);
    const bool escape = c == '%' || c == '\\' || c == '/' || c < 0x20 || c >= 0x7F || c == ':';
    if (escape) {
      out += fmt::format("%{:02X}", c);
    } else {
      out.push_back(ch);
    }
  }
  return out;
}

std::string ArchivePathForSource(std::string_view source, bool windows_source) {
  std::string out = "files";
  std::string_view rest = source;
  if (windows_source) {
    if (rest.starts_with("\\\\?\\UNC\\")) {
      rest.remove_prefix(8);
      out += "/UNC";
    } else if (rest.starts_with("\\\\?\\") || rest.starts_with("\\\\.\\")) {
      rest.remove_prefix(4);
    } else if (rest.starts_with("\\\\")) {
      rest.remove_prefix(2);
      out += "/UNC";
    }
    if (rest.size() >= 2 && rest[1] == ':' &&
        ((rest[0] >= 'A' && rest[0] <= 'Z') || (rest[0] >= 'a' && rest[0] <= 'z'))) {
      out += '/';
      out += static_cast<char>(rest[0] >= 'a' ? rest[0] - 'a' + 'A' : rest[0]);
      rest.remove_prefix(2);
    }
  }
  for (std::string_view part : Split(rest, windows_source)) {
    out += '/';
    out += EncodeComponent(part);
  }
  return out;
}

Result<void> CheckSafeEntryName(std::string_view name) {
  auto bad = [&](std::string_view why) {
    return Fail(ErrorCode::kFormat,
                fmt::format("archive entry '{}' refused: {}", EscapeForTerminal(name), why));
  };
  if (name.empty()) return bad("empty name");
  if (name.find('\0') != std::string_view::npos) return bad("NUL in name");
  if (name.find('\\') != std::string_view::npos) return bad("backslash in name");
  if (name.front() == '/') return bad("absolute path");
  if (name.size() >= 2 && name[1] == ':') return bad("drive letter");
  std::size_t start = 0;
  for (std::size_t i = 0; i <= name.size(); ++i) {
    if (i < name.size() && name[i] != '/') continue;
    std::string_view part = name.substr(start, i - start);
    // A trailing slash marks a directory entry; other empty parts are refused.
    if (part.empty() && i != name.size()) return bad("empty path component");
    if (part == "." || part == "..") return bad("'.' or '..' component escapes the folder");
    start = i + 1;
  }
  return {};
}

}  // namespace trawl::core::archive
