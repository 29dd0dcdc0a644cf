// SPDX-License-Identifier: Apache-2.0
// The archive's manifest.json as a typed value, and its tolerant parser
// (docs/archive-format.md). A manifest is hostile input: anyone holding the
// analysts' public recipient can forge an archive, and even a genuine one was
// written on a host the attacker may control. So the parser
//  - never throws and never aborts: a wrong-typed, missing, out-of-range or
//    duplicated field is an Error naming the field ("entries[12].size:
//    expected an unsigned integer, got a string");
//  - streams: it is a SAX handler over nlohmann's iterative parser, entries
//    are handed to a callback one by one and not kept, so memory does not
//    grow with the number of entries, only with the small free-form parts
//    (counts, limits, artifacts), whose values are counted and capped;
//  - refuses unknown format names and versions (readers refuse what they do
//    not know) and nesting deeper than a manifest ever has.
// Unknown keys are skipped (a later writer of the same version may add some).
// Pure functions over their input; thread-safe.
#pragma once

#include <cstdint>
#include <functional>
#include <istream>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/util/error.h"

namespace trawl::core::archive {

inline constexpr std::string_view kManifestFormat = "trawl-archive";

// One manifest entry: an archive member, or an item that was not stored
// (archive_path and sha256 null) with its status.
struct ManifestEntry {
  std::optional<std::string> archive_path;
  std::string source_path;
  std::string source_path_hex;  // raw bytes of a source path that was not UTF-8
  std::string type;
  std::string artifact;
  std::uint64_t size = 0;
  std::optional<std::string> sha256;  // 64 lower-case hex digits
  std::string status;                 // ok | changed | vanished | truncated | error | skipped
  std::string error;
  std::string access;  // "" (the OS's file API) | "raw" (read from the NTFS volume)
};

struct ManifestHost {
  std::string hostname, os, os_version, kernel, arch, boot_time, timezone, root;
  bool live = false;
};

// Everything but the entries (streamed to the caller, counted here).
struct Manifest {
  std::string format;
  std::int64_t format_version = 0;
  std::uint32_t part = 0;
  std::optional<std::uint32_t> continued_in_part;
  std::string tool, tool_version;
  std::string profile_name, profile_sha256;
  ManifestHost host;
  std::string target_os;
  std::string started, ended;  // ISO 8601 UTC as written; ended is absent on continued parts
  std::string result;          // complete | partial | aborted | continued
  std::string stop_reason;
  std::vector<std::string> limits_hit;
  // Free-form per-kind summaries, kept as JSON (null when absent).
  nlohmann::json counts, limits, artifacts, skipped_artifacts, collector;
  std::uint64_t entry_count = 0;
};

struct ManifestLimits {
  std::uint64_t max_bytes = 256ull << 20;    // text of manifest.json
  std::uint64_t max_entries = 5'000'000;     // streamed, so only a time and row bound
  std::uint64_t max_other_values = 200'000;  // JSON values outside entries (kept in memory)
  std::size_t max_depth = 32;                // a genuine manifest nests 4 levels
  std::size_t max_string = 1u << 20;         // one string value, in bytes
};

// Called for each entry after its own fields checked out; `index` counts
// from 0. An error stops the parse and is returned as it is.
using ManifestEntryFn = std::function<Result<void>(const ManifestEntry& entry, std::uint64_t index)>;

// Parses manifest.json from `in` (reading at most limits.max_bytes + 1 bytes;
// more is an error). `where` prefixes every message ("<archive>: manifest.json").
// Errors: kFormat (syntax, types, missing fields, unknown format), kUnsupported
// (format_version other than 1), kLimit (a cap), or whatever on_entry returns.
Result<Manifest> ParseManifest(std::istream& in, std::string_view where, const ManifestEntryFn& on_entry = nullptr,
                               const ManifestLimits& limits = {});
Result<Manifest> ParseManifest(std::string_view text, std::string_view where, const ManifestEntryFn& on_entry = nullptr,
                               const ManifestLimits& limits = {});

// The manifest (without its entries) as JSON, in the layout of
// docs/archive-format.md: for reports, tests and --json output.
nlohmann::json ManifestToJson(const Manifest& m);
nlohmann::json EntryToJson(const ManifestEntry& e);

// True for 64 lower-case hex digits.
bool IsSha256Hex(std::string_view s);

}  // namespace trawl::core::archive
