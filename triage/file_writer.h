// SPDX-License-Identifier: Apache-2.0
// Ingest's writer of files records (case schema 4, triage/file_store.cpp):
// the same rows the files view's INSTEAD OF INSERT trigger writes, written
// straight into file_dirs, file_paths, file_contents, file_artifacts and
// file_rows. The trigger looks each shared part up twice per record (exists?
// then its id) and a folder once more per path; here each is looked up once,
// folders, contents and artifact names seen in this archive come from a
// map, and the trigger program's per-row cursors are gone: ingest of a
// 50,000-record host into a 100-host case went from 1.41 s to 0.51 s
// (bench/fleet.sh).
//
// Only values of the types the collector writes take this path (a text
// path; content columns of their declared type or null; text or null times,
// source_path and artifact). Anything else (a forged number where a path
// belongs ...) is inserted through the view, so the trigger stays the one
// definition of how a value is stored. Not thread-safe; one per ingest.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "core/profile/kinds.h"
#include "core/util/error.h"
#include "triage/case_db.h"

namespace trawl::triage {

// One bound value of a files record, as TableWriter computed it. Text views
// must outlive Insert.
struct RowValue {
  enum class Type { kNull, kInt, kReal, kText };
  Type type = Type::kNull;
  std::int64_t i = 0;
  double d = 0;
  std::string_view text;
};

class FileRowWriter {
 public:
  // `slots[k]` names the column of value k (TableWriter's binding order:
  // collection_id, host_id, the declared columns, the derived ones, extra).
  static core::Result<FileRowWriter> Create(Db& db, const core::profile::RecordSpec& spec,
                                            const std::vector<std::string>& slots);
  core::Result<void> Insert(std::span<const RowValue> row);

  std::uint64_t direct_rows() const { return direct_rows_; }
  std::uint64_t view_rows() const { return view_rows_; }

 private:
  struct Slot {
    int value = -1;       // index into the row
    RowValue::Type want;  // content columns: the declared type
    std::string name;
  };
  using IdMap = std::unordered_map<std::string, std::int64_t>;

  static void Bind(Stmt& s, int i, const RowValue& v);
  // Finds or adds a row: `find` (bound by the caller) first, else `add`.
  core::Result<std::int64_t> FindOrAdd(Stmt& find, Stmt& add);
  core::Result<void> InsertThroughView(std::span<const RowValue> row);

  Db* db_ = nullptr;
  int path_ = -1, dir_ = -1, dir_lc_ = -1, name_ = -1, name_lc_ = -1, ext_lc_ = -1;
  int artifact_ = -1, extra_ = -1;
  // A column of file_rows the record fills, in the order of row_add_.
  struct RowColumn {
    int value = -1;  // index into the row
    enum class Kind { kPlain, kTime, kSourcePath } kind = Kind::kPlain;
  };
  std::vector<Slot> content_;  // in file_contents order
  std::vector<RowColumn> row_cols_;
  Stmt view_insert_;
  Stmt dir_find_, dir_add_, path_find_, path_add_, content_find_, content_add_, artifact_find_, artifact_add_;
  Stmt row_add_;
  IdMap dirs_, contents_, artifacts_;  // this archive's, bounded (kMaxCached)
  std::string key_;
  std::uint64_t direct_rows_ = 0, view_rows_ = 0;
};

}  // namespace trawl::triage
