// SPDX-License-Identifier: Apache-2.0
// The archive contract in one place (docs/archive-format.md): the names of
// the members, how record segments and copies are named, and the base name
// of a collection's files. The writer (core/archive/archive_writer.cpp), the
// collector (collector/) and the readers (core/archive/archive_reader.cpp,
// triage/ingest.cpp) all use these; a string literal naming a member
// anywhere else is a bug. Pure functions.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace trawl::core::archive {

inline constexpr std::string_view kManifestMember = "manifest.json";  // always the last member
inline constexpr std::string_view kLogMember = "log.jsonl";
inline constexpr std::string_view kRecordsPrefix = "records/";  // records/<table>.NNNN.jsonl
inline constexpr std::string_view kRecordsSuffix = ".jsonl";
inline constexpr std::string_view kFilesPrefix = "files/";      // copies (ArchivePathForSource)
inline constexpr std::string_view kDeletedPrefix = "deleted/";  // deleted/<pid>/<name>: deleted executables

// "records/files.0001.jsonl" for ("files", 1).
std::string RecordSegmentName(std::string_view table, std::uint32_t segment);
// The table of a record segment ("files" for "records/files.0001.jsonl"),
// nullopt for any other member.
std::optional<std::string> RecordTableOf(std::string_view member);
// "deleted/<pid>/<encoded file name>".
std::string DeletedExecutableName(std::int64_t pid, std::string_view file_name);
// A copied file or a deleted executable (what triage analyses as content).
bool IsCopiedContent(std::string_view member);

// The host name as it may appear in a file name: every character outside
// [A-Za-z0-9.-] becomes '_', at most 64 characters, "host" if nothing is left.
std::string SafeHostName(std::string_view hostname);
// "<SafeHostName>_<yyyymmddThhmmssZ>": the collection's files are
// <base>.zip.age, <base>.partNNN.zip.age and <base>.json.
std::string ArchiveBaseName(std::string_view hostname, std::string_view compact_utc_time);

}  // namespace trawl::core::archive
