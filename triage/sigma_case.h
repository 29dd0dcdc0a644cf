// SPDX-License-Identifier: Apache-2.0
// Sigma over a case (analyze --sigma and the shipped trawl Sigma rules,
// docs/sigma.md "In a case"): the engine (triage/sigma.h) is run over
//   - every event record (event_records: the System values and the
//     EventData/UserData fields), on the log's own channel;
//   - every process record, as a process_creation event of the pseudo-channel
//     trawl:processes:<os> (Image, CommandLine, ParentImage from the record
//     of the parent pid in the same collection, User, CurrentDirectory,
//     Hashes, OriginalFileName and the other version-resource values);
//   - every module record of a Windows collection mapped from a file, as an
//     image_load event of trawl:modules:windows (Image of the process,
//     ImageLoaded, Signed, Signature, SignatureStatus, Hashes, ...).
// Each match is a hit on the event, process or module entity, scored from the
// rule's level, with the rule's author and id in its message (DRL 1.1).
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "core/util/error.h"
#include "triage/case_db.h"
#include "triage/sigma.h"

namespace trawl::triage {

// Score of a match by the rule's level: informational 10, low 30, medium 50,
// high 70, critical 90 (unknown or absent: 50).
int SigmaLevelScore(std::string_view level);

struct SigmaSources {
  std::vector<std::filesystem::path> rules;  // files or folders (*.yml, *.yaml below them)
  std::filesystem::path mapping;             // empty: the built-in triage/rules/sigma/logsources.yaml
  bool builtin = true;                       // the shipped trawl Sigma rules (triage/rules/sigma/trawl/)
};
// Loads the mapping and the rules. Fails on an unreadable mapping or a path
// that does not exist; rules that do not compile are refusals in the engine.
core::Result<sigma::Engine> LoadSigmaEngine(const SigmaSources& sources);

struct SigmaHit {
  std::size_t rule = 0;  // index in the engine
  std::int64_t host_id = 0;
  std::string entity;  // event | process | module
  std::string entity_key;
  std::string record_table;
  std::int64_t record_id = 0;
  std::string message;
  std::string evidence;  // JSON object
};

struct SigmaCaseStats {
  std::uint64_t events = 0, processes = 0, modules = 0, matches = 0;
};

// Runs the engine over the case (a read-only connection). Matches beyond
// `max_hits` in all are an error naming the rule that hit most.
core::Result<std::vector<SigmaHit>> RunSigmaOverCase(Db& ro, const sigma::Engine& engine, SigmaCaseStats* stats,
                                                     std::size_t max_hits = 1'000'000);

}  // namespace trawl::triage
