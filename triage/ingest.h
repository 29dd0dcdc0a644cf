// SPDX-License-Identifier: Apache-2.0
// Ingest of trawl archives into a case database. Each archive is decrypted
// and walked once as a stream (core::archive::WalkArchive): record segments
// become rows, copied prefetch files are parsed into prefetch and
// prefetch_files, copied PE files are analysed into the pe table. All of one
// archive is written inside ONE transaction that commits only when the
// archive verified (every manifest hash matched, every record parsed);
// otherwise it rolls back and the archive is reported as skipped with its
// problems, so a tampered or corrupt archive leaves the case unchanged.
// Ingesting the same archive again changes nothing (keyed on the archive's
// SHA-256 and on manifest host + started + part).
//
// Built for bulk loads (issue #5: >= 50,000 records/s with scoring): records
// take the DOM-free path of triage/ingest_jsonl.h into cached INSERTs whose
// strings are bound without copying; rows carry the host id the archive is
// expected to get (corrected in Finish if the manifest names another host);
// a table filled from empty gets its full indexes built once before the
// commit (DropFullIndexes). Not thread-safe: one ingest per Db at a time.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "core/archive/archive_reader.h"
#include "core/crypto/age.h"
#include "triage/case_db.h"

namespace trawl::triage {

struct IngestResult {
  std::string archive;
  enum class Status { kIngested, kDuplicate, kSkipped } status = Status::kSkipped;
  std::string hostname;
  std::int64_t host_id = 0;  // ingested: the host the collection belongs to
  std::int64_t collection_id = 0;
  std::uint64_t records = 0;
  std::uint64_t prefetch = 0;
  std::uint64_t hives = 0;       // registry hives parsed
  std::uint64_t tasks = 0;       // scheduled-task XML files parsed
  std::uint64_t event_logs = 0;  // EVTX files read
  std::uint64_t events = 0;      // their records
  std::uint64_t pe = 0;
  std::string reason;  // duplicate: of which collection; skipped: the error
  // Ingested, but another archive in the case claims the same collection
  // (host, start, part) with other content: at most one of them is genuine.
  std::string conflict;
  std::vector<core::archive::VerifyProblem> problems;
};

// What one archive may cost (defaults far above a genuine collection; the
// analyze flags --max-inflated, --max-inflation-ratio, --max-rows raise them).
struct IngestOptions {
  core::archive::ReadLimits limits;
  std::uint64_t max_rows_per_table = 20'000'000;
};

// The tables that hold a host's records (each row with host_id, rows of one
// archive with consecutive ids): ingest records each collection's id range
// in them (table collection_rows), and scoring reads a host's rows through it.
std::vector<std::string> RangedTables();

// The largest row id of a ranged table's rows (0 when empty), in the main
// database (a read-only scoring connection shadows it with TEMP views).
core::Result<std::int64_t> MaxRowId(Db& db, std::string_view table);

// SQLite's planner statistics for the case (ANALYZE, sampled; the files
// storage's rows per host), refreshed after every ingested archive.
core::Result<void> UpdatePlannerStatistics(Db& db);

// Identity: an archive is the same as one in the case when its file's
// SHA-256 or its plaintext's SHA-256 (content_sha256) matches; what the
// manifest claims (host, start, part) is never enough, since anyone with
// the public recipient can copy it from the plaintext sidecar.
IngestResult IngestArchive(Db& db, const std::filesystem::path& archive,
                           const std::vector<core::age::Identity>& identities, const IngestOptions& options = {});

}  // namespace trawl::triage
