// SPDX-License-Identifier: Apache-2.0
// Scoring rules as data (docs/rule-schema.md): one YAML file per rule,
// triage/rules/<area>/<id>.yaml with id "<area>.<slug>", metadata, a score
// in -100..100 (negative = allow-listing), an entity type and ONE read-only
// SQL query over the case database. The shipped rules are compiled in
// (triage/embedded.h); users add more with --rules DIR. Also parses user IOC
// lists (--ioc FILE, "hash;score;comment"). Loader errors name
// file:line:column. Pure value types; thread-safe.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "core/util/error.h"

namespace trawl::triage {

struct RuleReference {
  std::string title;
  std::string url;  // either url or source (repository:path@commit, document section)
  std::string source;
};

struct Rule {
  std::string id;    // <area>.<slug>
  std::string file;  // where it was loaded from (embedded: "builtin:rules/...")
  std::string title;
  std::string description;
  std::string rationale;
  std::string author;   // kept in every message (DRL 1.1 attribution)
  std::string license;  // e.g. "DRL-1.1" for signature-base derived indicators
  std::vector<RuleReference> references;
  int score = 0;       // -100..100; a result column `score` overrides it per row
  std::string entity;  // one of kEntityTypes
  // "host": each result row depends on its own host's records only, so a
  // scoring run re-runs the rule for the hosts that changed (the default);
  // "fleet": it compares hosts (stacking, rarity) and runs over the whole
  // case once per scoring run.
  std::string scope = "host";
  std::string query;
  int query_line = 0;  // line of the query in the file, for SQL errors
};

inline constexpr std::string_view kEntityTypes[] = {"process", "module",  "file", "prefetch", "host",
                                                    "service", "autorun", "task", "event"};
// The record table an entity type's record_id points into by default.
std::string_view EntityTable(std::string_view entity);

// Parses one rule file. `expected_path` is its path relative to the rules
// root ("sideload/system_dll_name.yaml"); when non-empty the id must match it.
core::Result<Rule> ParseRule(std::string_view text, const std::string& file, std::string_view expected_relpath);

// The shipped rules (embedded), then every *.yaml under each directory.
// Duplicate ids are an error naming both files.
core::Result<std::vector<Rule>> LoadRules(const std::vector<std::filesystem::path>& dirs, bool builtin = true);

struct IocEntry {
  std::string hash;       // lower-case hex
  std::string hash_type;  // md5 | sha1 | sha256
  int score = 100;
  std::string comment;
  std::string file;
  int line = 0;
};

// "hash;score;comment" per line; '#' comments and blank lines skipped; score
// optional (default 100, -100..100). Errors name file:line.
core::Result<std::vector<IocEntry>> ParseIocCsv(std::string_view text, const std::string& file);

}  // namespace trawl::triage
