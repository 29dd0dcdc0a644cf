// SPDX-License-Identifier: Apache-2.0
// Ingest of the prefetch files a collection copied: each `.pf` member is
// parsed (core/formats/prefetch.h) into rows of prefetch, prefetch_runs and
// prefetch_files; a file that does not parse is a row with its error (a
// broken prefetch file on the host is evidence, not a broken archive). The
// target path of each copy comes from the `files` record that copied it,
// filled in once the archive's records are read.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <string>

#include "core/archive/archive_reader.h"
#include "core/util/error.h"
#include "triage/case_db.h"

namespace trawl::triage {

class PrefetchIngest {
 public:
  // Counts one row of a table against the archive's row cap.
  using RowCounter = std::function<core::Result<void>(const std::string& table)>;

  static core::Result<PrefetchIngest> Create(Db& db);

  // One copied .pf member. Returns true when it parsed.
  core::Result<bool> Add(std::int64_t collection_id, std::int64_t host_id, const std::string& member,
                         core::archive::MemberStream& stream, const RowCounter& count_row);
  // A `files` record copied a .pf file: remember the target path it had.
  void NoteCopied(std::string copied_as, std::string path);
  // Sets prefetch.path from the noted copies.
  core::Result<void> FillPaths();

 private:
  explicit PrefetchIngest(Db& db) : db_(&db) {}
  Db* db_;
  Stmt prefetch_, runs_, files_;
  std::map<std::string, std::string, std::less<>> copied_paths_;  // copied_as -> path
  std::map<std::string, std::int64_t, std::less<>> rows_;         // member -> prefetch.id
};

}  // namespace trawl::triage
