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

namespace {

// CON, PRN, AUX, NUL, COM1-9, LPT1-9, alone or before an extension, name
// devices on Windows, whatever the case.
bool IsWindowsDeviceName(std::string_view component) {
  const std::string stem = ToLowerAscii(component.substr(0, component.find('.')));
  if (stem == "con" || stem == "prn" || stem == "aux" || stem == "nul") return true;
  return stem.size() == 4 && (stem.starts_with("com") || stem.starts_with("lpt")) && stem[3] >= '1' && stem[3] <= '9';
}

}  // namespace

std::string EncodeComponent(std::string_view component) {
  if (component == ".") return "%2E";
  if (component == "..") return "%2E%2E";
  std::string out;
  out.reserve(component.size());
  const auto escape_byte = [&](unsigned char c) { out += fmt::format("%{:02X}", c); };
  for (std::size_t i = 0; i < component.size(); ++i) {
    const auto c = static_cast<unsigned char>(component[i]);
    // Also what a Windows analyst's file system refuses, so every member
    // extracts there too: < > " | ? *, a trailing dot or space, and the
    // first letter of a device name.
    const bool windows_reserved = c == '<' || c == '>' || c == '"' || c == '|' || c == '?' || c == '*' ||
                                  ((c == '.' || c == ' ') && i + 1 == component.size()) ||
                                  (i == 0 && IsWindowsDeviceName(component));
    const bool escape = c == '%' || c == '\\' || c == '/' || c < 0x20 || c >= 0x7F || c == ':' || windows_reserved;
    if (escape) {
      escape_byte(c);
    } else {
      out.push_back(static_cast<char>(c));
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
    return Fail(ErrorCode::kFormat, fmt::format("archive entry '{}' refused: {}", EscapeForTerminal(name), why));
  };
  if (name.empty()) return bad("empty name");
  if (name.find('\0') != std::string_view::npos) return bad("NUL in name");
  if (name.find('\\') != std::string_view::npos) return bad("backslash in name");
  if (name.front() == '/') return bad("absolute path");
  if (name.size() >= 2 && name[1] == ':') return bad("drive letter");
  // Anywhere else, ':' names an NTFS alternate data stream on Windows
  // ("a.txt:evil" writes a hidden stream of a.txt); the collector encodes
  // every ':' as %3A, so only a hand-made archive has one.
  if (name.find(':') != std::string_view::npos) return bad("':' in name (an alternate data stream on Windows)");
  std::size_t start = 0;
  for (std::size_t i = 0; i <= name.size(); ++i) {
    if (i < name.size() && name[i] != '/') continue;
    std::string_view part = name.substr(start, i - start);
    // A trailing slash marks a directory entry; other empty parts are refused.
    if (part.empty() && i != name.size()) return bad("empty path component");
    if (part == "." || part == "..") return bad("'.' or '..' component escapes the folder");
    // Win32 drops a trailing dot or space silently ("a." opens "a"): two
    // members could land on one file. The collector encodes them (%2E, %20).
    if (!part.empty() && (part.back() == '.' || part.back() == ' ')) {
      return bad("component ending in '.' or ' ' (Windows would strip it)");
    }
    start = i + 1;
  }
  return {};
}

}  // namespace trawl::core::archive
