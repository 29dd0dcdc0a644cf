// SPDX-License-Identifier: Apache-2.0
// Ingest of the Windows event logs a collection copied: each `.evtx` member
// under files/ is read whole (core/formats/evtx.h, chunk slack and damaged
// chunks recovered and flagged) into one event_logs row and one
// event_records row per record: the System values as columns, the
// EventData/UserData fields as a JSON object (a name that repeats holds an
// array), a short "Name=value; ..." summary for timelines. A log that does
// not read is an event_logs row with its error (a damaged log on the host is
// evidence, not a broken archive). The log's path on the host comes from the
// files record that copied it, filled in once the archive's records are read.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <string_view>

#include "core/archive/archive_reader.h"
#include "core/util/error.h"
#include "triage/case_db.h"

namespace trawl::triage {

class EvtxIngest {
 public:
  using RowCounter = std::function<core::Result<void>(const std::string& table)>;
  // Largest log read (the event_logs artifact copies up to 1 GiB).
  static constexpr std::uint64_t kMaxLogBytes = 1ull << 30;

  static core::Result<EvtxIngest> Create(Db& db);

  // A copied member this ingest wants: files/...*.evtx.
  static bool Wants(std::string_view member);
  core::Result<void> Add(std::int64_t collection_id, std::int64_t host_id, const std::string& member,
                         core::archive::MemberStream& stream, const RowCounter& count_row);
  // A `files` record copied `path` (the target's path) as `copied_as`.
  void NoteCopied(std::string copied_as, std::string path);
  // Sets event_logs.path from the noted copies.
  core::Result<void> FillPaths();

  std::uint64_t logs() const { return logs_; }
  std::uint64_t records() const { return records_; }

 private:
  explicit EvtxIngest(Db& db) : db_(&db) {}
  Db* db_;
  Stmt log_, update_log_, record_;
  std::map<std::string, std::string, std::less<>> copied_paths_;  // copied_as -> path
  std::map<std::string, std::int64_t, std::less<>> rows_;         // member -> event_logs.id
  std::uint64_t logs_ = 0, records_ = 0;
};

}  // namespace trawl::triage
