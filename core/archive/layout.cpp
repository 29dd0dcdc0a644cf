// SPDX-License-Identifier: Apache-2.0
#include "core/archive/layout.h"

#include <fmt/format.h>

#include "core/archive/archive_paths.h"

namespace trawl::core::archive {

std::string RecordSegmentName(std::string_view table, std::uint32_t segment) {
  return fmt::format("{}{}.{:04}{}", kRecordsPrefix, table, segment, kRecordsSuffix);
}

std::optional<std::string> RecordTableOf(std::string_view member) {
  if (!member.starts_with(kRecordsPrefix) || !member.ends_with(kRecordsSuffix)) return std::nullopt;
  std::string_view rest = member.substr(kRecordsPrefix.size());
  rest = rest.substr(0, rest.find('.'));
  if (rest.empty()) return std::nullopt;
  return std::string(rest);
}

std::string DeletedExecutableName(std::int64_t pid, std::string_view file_name) {
  return fmt::format("{}{}/{}", kDeletedPrefix, pid, EncodeComponent(file_name));
}

bool IsCopiedContent(std::string_view member) {
  return member.starts_with(kFilesPrefix) || member.starts_with(kDeletedPrefix);
}

std::string SafeHostName(std::string_view hostname) {
  std::string out;
  for (char c : hostname) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '.';
    out.push_back(ok ? c : '_');
  }
  if (out.empty() || out == "." || out == "..") out = "host";
  return out.substr(0, 64);
}

std::string ArchiveBaseName(std::string_view hostname, std::string_view compact_utc_time) {
  return SafeHostName(hostname) + "_" + std::string(compact_utc_time);
}

}  // namespace trawl::core::archive
