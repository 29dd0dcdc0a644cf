// SPDX-License-Identifier: Apache-2.0
// The registry of collector kinds: the one place where a kind declares its
// parameter schema (used by the profile loader to validate artifacts), its run
// priority (volatile data first) and the record columns it writes as JSON Lines
// (used by the collector's writers, by triage to create its tables and by the
// schema document, which a test keeps in step with this table).
//
// The registry is an explicit constant table (no static self-registration: a
// static binary drops unreferenced self-registering objects). Everything here
// is immutable after first use and safe to read from any thread.
#pragma once

#include <span>
#include <string_view>
#include <vector>

namespace trawl::core::profile {

enum class ParamType {
  kBool,        // true | false
  kInt,         // a signed decimal integer
  kSize,        // bytes: 1048576, "64KiB", "10MB", "1GiB"
  kString,      // any scalar
  kStringList,  // a YAML sequence of scalars
  kGlobList,    // a YAML sequence of path globs (validated as globs)
  kNameGlob,    // one glob matched against entry names (no separators)
};

enum class ColumnType { kText, kInt, kReal, kBool };

std::string_view ParamTypeName(ParamType type);
std::string_view ColumnTypeName(ColumnType type);

struct ParamSpec {
  std::string_view name;
  ParamType type;
  // The default as YAML scalar text ("true", "64MiB", "8", "" or "[]" for
  // lists); parsed by the same code as user values, so the table is the one
  // source of truth for defaults.
  std::string_view default_text;
  bool required;  // an artifact of this kind must set it (to a non-empty value)
  std::string_view description;
  // For kInt and kSize: the accepted inclusive range.
  long long min_value = 0;
  long long max_value = 0;
  // For kString: the accepted values separated by '|' ("auto|api|raw"); empty = any.
  std::string_view choices = {};
};

struct ColumnSpec {
  std::string_view name;
  ColumnType type;
  std::string_view description;
};

// One JSON Lines record stream / triage table. Several kinds may write the
// same table (files and install_dirs both write "files"); they then point at
// the same RecordSpec.
struct RecordSpec {
  std::string_view table;
  std::string_view description;
  std::span<const ColumnSpec> columns;
};

struct KindSpec {
  std::string_view name;
  // Lower runs first; the resolved profile is stably sorted by it so volatile
  // data (processes) is captured before the disk is walked.
  int priority;
  std::string_view description;
  std::span<const ParamSpec> parameters;
  std::span<const RecordSpec* const> records;
};

// Every kind, in priority order.
const std::vector<KindSpec>& Kinds();
const KindSpec* FindKind(std::string_view name);
const ParamSpec* FindParam(const KindSpec& kind, std::string_view name);
// Every distinct record table written by some kind, each once.
const std::vector<const RecordSpec*>& RecordTables();
const RecordSpec* FindRecordTable(std::string_view table);

}  // namespace trawl::core::profile
