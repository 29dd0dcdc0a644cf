// SPDX-License-Identifier: Apache-2.0
// Ingest of the registry hives and scheduled-task files a collection copied.
// Hive members (SYSTEM, SOFTWARE, NTUSER.DAT, Amcache.hve, ... and their
// .LOG/.LOG1/.LOG2) and the files under System32\Tasks are held in memory
// while the archive is walked (a hive's logs may come before or after it),
// then parsed once the walk is done: each hive is opened with the logs copied
// beside it (core/formats/regf.h replays a dirty one), its evidence is read
// (core/registry/hive_extract.h) and written to registry_hives, amcache_files,
// amcache_apps, shimcache, bam, services, autoruns, user_profiles and
// scheduled_tasks. A hive that does not open is a registry_hives row with its
// error; a key that does not read is listed in the row's errors. Never fails
// the archive for what a hive holds.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "core/archive/archive_reader.h"
#include "core/util/error.h"
#include "triage/case_db.h"

namespace trawl::triage {

class RegistryIngest {
 public:
  using RowCounter = std::function<core::Result<void>(const std::string& table)>;
  // Tables this ingest writes (host ids are fixed up like the others').
  static const std::vector<std::string>& Tables();

  static core::Result<RegistryIngest> Create(Db& db);

  // True for a copied member this ingest wants: a hive, a hive's log, a task file.
  static bool Wants(std::string_view member);
  // Holds the member's bytes until Finish.
  core::Result<void> Add(const std::string& member, core::archive::MemberStream& stream);
  // A files record copied `path` (the target's path) as `copied_as`.
  void NoteCopied(std::string copied_as, std::string path);
  // Parses everything held and writes the rows.
  core::Result<void> Finish(std::int64_t collection_id, std::int64_t host_id, const RowCounter& count_row);

  std::uint64_t hives() const { return hives_; }
  std::uint64_t tasks() const { return tasks_; }

 private:
  explicit RegistryIngest(Db& db) : db_(&db) {}
  core::Result<void> WriteTasks(std::int64_t collection_id, std::int64_t host_id, const RowCounter& count_row);

  Db* db_;
  std::map<std::string, std::vector<std::byte>, std::less<>> held_;  // member -> bytes
  std::map<std::string, std::string, std::less<>> errors_;           // member -> why it was not held
  std::map<std::string, std::string, std::less<>> copied_paths_;     // member -> target path
  std::uint64_t held_bytes_ = 0;
  std::uint64_t hives_ = 0, tasks_ = 0;
};

}  // namespace trawl::triage
