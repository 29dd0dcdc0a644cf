// SPDX-License-Identifier: Apache-2.0
// Runs the rules over a case and accumulates their sub-scores per entity
// with the THOR / Loki-RS formula (shared docs/windows-formats.md §3):
// positive sub-scores sorted descending, score = 100 * (1 - prod(1 - s_i /
// 100 / 2^i)), capped at 100; negative sub-scores (allow-listing) are then
// added and the total floored at 0. Levels use the rounded total: alert
// >= 80 only with a sub-score above 75, warning >= 60, notice >= 40. A host
// scores its highest entity. Every sub-score is a findings row naming the
// rule, the record and the evidence columns.
//
// Rule SQL runs on a separate SQLITE_OPEN_READONLY connection with the
// read-only authorizer, and a statement sqlite3_stmt_readonly rejects is
// refused with an error naming the rule file. Not thread-safe per case.
#pragma once

#include <cstdint>
#include <filesystem>
#include <span>
#include <string>
#include <vector>

#include "core/util/error.h"
#include "triage/case_db.h"
#include "triage/rules.h"
#include "triage/sigma.h"
#include "triage/sigma_case.h"

namespace trawl::triage {

double CombineScores(std::span<const double> sub_scores);
// "alert" | "warning" | "notice" | "info" for a total and its highest sub-score.
std::string LevelFor(double total, double max_sub_score);

struct ScoreSummary {
  std::uint64_t rules = 0;
  std::uint64_t findings = 0;
  std::uint64_t entities = 0;
  double seconds = 0;
  // Sigma (when an engine was given): what it ran over and what it raised.
  std::uint64_t sigma_rules = 0, sigma_refused = 0, sigma_findings = 0;
  SigmaCaseStats sigma;
  double sigma_seconds = 0;
  // Incremental: host rules and Sigma read only the changed hosts' records.
  bool incremental = false;
  bool unchanged = false;          // incremental with no changed host: nothing ran
  std::string full_reason;         // why a run asked to be incremental scored the whole case
  std::uint64_t hosts_scored = 0;  // hosts whose entity and host scores were rebuilt
  std::uint64_t fleet_rules = 0;
};

// What a scoring run covers. full: every host (analyze without archives,
// and the first run of a case). Otherwise the hosts whose collections
// changed (the archives analyze just ingested): the host rules and Sigma
// run over those hosts' records only (their collections' row ranges,
// collection_rows), their findings are replaced, every fleet rule runs over
// the whole case and its findings are replaced, and the entity and host
// scores of every host either touched are rebuilt. A run falls back to full
// (summary.full_reason) when the rules, IOC lists or Sigma rules differ
// from those of the case's last run (case_meta rules_fingerprint), or when
// a collection of those hosts has no recorded row ranges.
struct ScoreScope {
  bool full = true;
  std::vector<std::int64_t> hosts;
};

// What the host rules of an incremental run read, on `ro` (a read-only
// connection to the case): TEMP views over every ranged table (files
// included) and every case view, narrowed to the row ranges of `hosts`'
// collections. Exposed for tests of their query plans.
core::Result<void> NarrowToHosts(Db& ro, const std::vector<std::int64_t>& hosts);

// Checks one rule's SQL against the case (prepare with the authorizer, read-only).
core::Result<void> CheckRuleSql(Db& ro, const Rule& rule);

// The rules rows of a Sigma engine's rules: id "sigma.<id>" (of the file when
// the rule has none; a repeated id keeps its first rule), score from the
// level. index_of maps each engine rule to its row.
std::vector<Rule> SigmaRules(const sigma::Engine& engine, std::vector<std::size_t>* index_of);

// Loads IOC entries into user_iocs, runs the rules over `scope`, writes
// findings, entity_scores, host_scores and rules. `db` is the read-write case. With
// `sigma`, its rules also run over the case (triage/sigma_case.h): each is a
// rules row with id "sigma.<rule id>" and entity "event", its matches are
// findings on the event, process or module, and the rules it refused are
// rewritten into sigma_refusals.
core::Result<ScoreSummary> ScoreCase(Db& db, const std::vector<Rule>& rules, const std::vector<IocEntry>& iocs,
                                     const sigma::Engine* sigma = nullptr, const ScoreScope& scope = {});

}  // namespace trawl::triage
