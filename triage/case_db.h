// SPDX-License-Identifier: Apache-2.0
// The case database: one SQLite file holding every ingested collection of
// every host, the loaded rules and their findings. This header is the thin
// RAII layer over sqlite3 (Db, Stmt) plus the schema: triage/db/schema.sql
// (embedded) whose "-- trawl:record-tables" line is replaced by CREATE TABLE
// statements generated from core/profile/kinds.cpp RecordTables(), so the
// collector's record columns and the case tables cannot drift apart.
//
// Read-only access (query, rules, reports) opens with SQLITE_OPEN_READONLY
// and installs ReadOnlyAuthorizer, which denies every write, ATTACH, PRAGMA
// writes and dangerous functions; callers also check sqlite3_stmt_readonly.
// A Db is used from one thread at a time.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/profile/kinds.h"
#include "core/util/error.h"

struct sqlite3;
struct sqlite3_stmt;

namespace trawl::triage {

// Version of the case schema, kept in PRAGMA user_version. Version 1 (other
// indexes, pe with a rowid) is migrated by a read-write Open.
inline constexpr int kCaseSchemaVersion = 4;

class Stmt;

class Db {
 public:
  enum class Mode { kReadOnly, kReadWriteCreate };
  // Opens (and with kReadWriteCreate creates and migrates) a case database.
  // A read-only open of a missing file or of a file with another schema
  // version fails naming the file.
  static core::Result<std::unique_ptr<Db>> Open(const std::filesystem::path& path, Mode mode);
  ~Db();
  Db(const Db&) = delete;
  Db& operator=(const Db&) = delete;

  core::Result<void> Exec(std::string_view sql);
  core::Result<Stmt> Prepare(std::string_view sql);
  // Installs or removes the read-only authorizer (see header comment).
  void SetReadOnlyAuthorizer(bool on);
  std::string LastError() const;
  std::int64_t LastInsertRowId() const;
  int Changes() const;
  sqlite3* handle() { return db_; }
  const std::filesystem::path& path() const { return path_; }

 private:
  Db() = default;
  sqlite3* db_ = nullptr;
  std::filesystem::path path_;
};

// A prepared statement. Bind indexes are 1-based as in SQLite.
class Stmt {
 public:
  Stmt() = default;
  explicit Stmt(sqlite3_stmt* s) : stmt_(s) {}
  ~Stmt();
  Stmt(Stmt&& o) noexcept : stmt_(o.stmt_) { o.stmt_ = nullptr; }
  Stmt& operator=(Stmt&& o) noexcept;
  Stmt(const Stmt&) = delete;
  Stmt& operator=(const Stmt&) = delete;

  void BindNull(int i);
  void Bind(int i, std::int64_t v);
  void Bind(int i, double v);
  void Bind(int i, std::string_view v);
  // Binds without copying: `v` must stay unchanged until the statement has
  // been stepped and reset (Run), as in the per-record insert loop of ingest.
  // An empty view binds the empty string, never NULL.
  void BindNoCopy(int i, std::string_view v);
  void BindOptional(int i, const std::optional<std::string>& v);
  // Steps once: true when a row is available, false when done.
  core::Result<bool> Step();
  // Steps to completion and resets.
  core::Result<void> Run();
  void Reset();

  int ColumnCount() const;
  std::string ColumnName(int i) const;
  bool IsNull(int i) const;
  int ColumnType(int i) const;  // SQLITE_INTEGER, ...
  std::int64_t Int(int i) const;
  double Real(int i) const;
  std::string Text(int i) const;
  bool ReadOnly() const;
  sqlite3_stmt* handle() { return stmt_; }

 private:
  sqlite3_stmt* stmt_ = nullptr;
};

// For a bulk load inside the caller's transaction: drops the full (not
// partial) secondary indexes of `table` and returns their CREATE statements
// to run once the rows are in. Partial indexes stay: they hold few rows, and
// building one afterwards would cost a scan of the table.
core::Result<std::vector<std::string>> DropFullIndexes(Db& db, std::string_view table);

// The schema text with the record tables expanded (for docs and tests);
// version 3 (files as one table) for migration tests.
std::string ExpandedSchemaSql(int version = kCaseSchemaVersion);
// How version 4 stores files records: interned dirs, paths, contents and
// artifact names, per-record rows, and the `files` view with the declared
// columns over them, written through an INSTEAD OF INSERT trigger
// (triage/file_store.cpp).
std::string FileStorageSql(const core::profile::RecordSpec& spec);
// The table that holds a record table's rows: file_rows for files (a view).
std::string_view StorageTableOf(std::string_view table);
// For a files column a case lacks: the storage table and the column type.
std::pair<std::string, std::string> FileColumnStorage(const core::profile::ColumnSpec& c);
// The inverse of core::UnixNsToIso: nanoseconds since 1970 of a time in
// exactly the form it writes, nullopt for anything else.
std::optional<std::int64_t> IsoToUnixNs(std::string_view text);
// core::UnixNsToIso as an SQL expression over the integer expression `n`.
std::string SqlIsoOfNs(const std::string& n);
// SQLite's column type for a declared column type.
std::string_view SqlType(core::profile::ColumnType t);
// CREATE TABLE for one collector record table: id, collection_id, host_id,
// the declared columns, derived lookup columns and `extra` (JSON of fields
// the declaration does not name, such as *_hex or copy_error).
std::string RecordTableSql(const core::profile::RecordSpec& spec);
// Derived columns a record table gets (e.g. files: name, dir, name_lc,
// dir_lc, ext_lc computed from path).
std::vector<std::string> DerivedColumns(std::string_view table);

// Splits a path as the target names it into (dir, name): '\' and '/' for
// Windows-looking paths, only '/' for paths starting with '/'.
std::pair<std::string, std::string> SplitTargetPath(std::string_view path);
// The same split as views into `path` (the directory of "/x" is the literal "/").
std::pair<std::string_view, std::string_view> SplitTargetPathView(std::string_view path);

// Runs a user's SQL read-only against the case and formats the result as
// tsv, csv or json. Refuses statements that are not read-only.
int RunQueryCommand(const std::filesystem::path& case_path, const std::string& sql, const std::string& format,
                    std::ostream& out, std::ostream& err);

}  // namespace trawl::triage
