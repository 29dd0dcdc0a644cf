// SPDX-License-Identifier: Apache-2.0
#include "triage/case_db.h"

#include <sqlite3.h>

#include <algorithm>
#include <mutex>
#include <ostream>
#include <set>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "core/util/text.h"
#include "core/util/time.h"
#include "triage/archive_commands.h"
#include "triage/embedded.h"
#include "triage/tabular.h"

namespace trawl::triage {

using core::ErrorCode;
using core::Fail;
using core::Result;

std::string_view SqlType(core::profile::ColumnType t) {
  switch (t) {
    case core::profile::ColumnType::kText: return "TEXT";
    case core::profile::ColumnType::kInt: return "INTEGER";
    case core::profile::ColumnType::kReal: return "REAL";
    case core::profile::ColumnType::kBool: return "INTEGER";
  }
  return "";
}

namespace {

// The columns of a table or view, in order.
Result<std::vector<std::string>> ColumnNames(Db& db, std::string_view table) {
  auto s = db.Prepare("SELECT name FROM pragma_table_info(?1) ORDER BY cid");
  if (!s) return std::unexpected(s.error());
  s->Bind(1, table);
  std::vector<std::string> names;
  while (true) {
    auto row = s->Step();
    if (!row) return std::unexpected(row.error());
    if (!*row) break;
    names.push_back(s->Text(0));
  }
  return names;
}

// trawl_time_ns(text): the nanoseconds since 1970 of a time core::UnixNsToIso
// writes (YYYY-MM-DDTHH:MM:SS.nnnnnnnnnZ) when formatting them gives the same
// text back; NULL for anything else.
void TimeNsFunction(sqlite3_context* ctx, int, sqlite3_value** argv) {
  if (sqlite3_value_type(argv[0]) != SQLITE_TEXT) {
    sqlite3_result_null(ctx);
    return;
  }
  const auto* p = reinterpret_cast<const char*>(sqlite3_value_text(argv[0]));
  const std::string_view t(p, static_cast<std::size_t>(sqlite3_value_bytes(argv[0])));
  if (auto ns = IsoToUnixNs(t)) {
    sqlite3_result_int64(ctx, *ns);
  } else {
    sqlite3_result_null(ctx);
  }
}

// Denies everything that is not reading: writes, schema changes, ATTACH,
// transactions, PRAGMA with an argument (writes) and functions that touch
// files or load code. Reading PRAGMAs (table_info ...) stay allowed.
int ReadOnlyAuthorizer(void*, int action, const char* a, const char* b, const char*, const char*) {
  switch (action) {
    case SQLITE_SELECT:
    case SQLITE_READ:
    case SQLITE_RECURSIVE: return SQLITE_OK;
    case SQLITE_FUNCTION: {
      const std::string name = core::ToLowerAscii(b != nullptr ? b : "");
      if (name == "load_extension" || name == "readfile" || name == "writefile" || name == "edit" ||
          name == "fts3_tokenizer" || name == "sqlite_compileoption_get" || name == "zipfile" || name == "fsdir") {
        return SQLITE_DENY;
      }
      return SQLITE_OK;
    }
    case SQLITE_PRAGMA:
      // a = pragma name, b = argument (NULL when only reading).
      if (b == nullptr && a != nullptr) {
        const std::string name = core::ToLowerAscii(a);
        if (name == "table_info" || name == "table_list" || name == "index_list" || name == "index_info" ||
            name == "user_version" || name == "foreign_key_list" || name == "table_xinfo") {
          return SQLITE_OK;
        }
      }
      return SQLITE_DENY;
    default: return SQLITE_DENY;
  }
}

}  // namespace

// ---- Db -------------------------------------------------------------------

Result<std::unique_ptr<Db>> Db::Open(const std::filesystem::path& path, Mode mode) {
  // Memory statistics cost a global mutex on every allocation and nothing
  // reads them. Only possible before SQLite initialises; a no-op after.
  static std::once_flag config_once;
  std::call_once(config_once, [] { sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0); });
  std::unique_ptr<Db> db(new Db());
  db->path_ = path;
  std::error_code ec;
  if (mode == Mode::kReadOnly && !std::filesystem::exists(path, ec)) {
    return Fail(ErrorCode::kNotFound, fmt::format("{}: no such case database", path.string()));
  }
  const int flags = mode == Mode::kReadOnly ? SQLITE_OPEN_READONLY : (SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE);
  if (sqlite3_open_v2(path.string().c_str(), &db->db_, flags | SQLITE_OPEN_NOMUTEX, nullptr) != SQLITE_OK) {
    const std::string msg = db->db_ != nullptr ? sqlite3_errmsg(db->db_) : "out of memory";
    return Fail(ErrorCode::kIo, fmt::format("{}: cannot open case database: {}", path.string(), msg));
  }
  sqlite3_extended_result_codes(db->db_, 1);
  sqlite3_busy_timeout(db->db_, 5000);
  // The files view's insert trigger keeps collector times as integers (triage/file_store.cpp).
  sqlite3_create_function_v2(db->db_, "trawl_time_ns", 1, SQLITE_UTF8 | SQLITE_DETERMINISTIC | SQLITE_INNOCUOUS,
                             nullptr, TimeNsFunction, nullptr, nullptr, nullptr);
  // Hostile SQL (rules, queries) must not corrupt the file even if it got past the checks.
  sqlite3_db_config(db->db_, SQLITE_DBCONFIG_DEFENSIVE, 1, nullptr);
  sqlite3_db_config(db->db_, SQLITE_DBCONFIG_ENABLE_LOAD_EXTENSION, 0, nullptr);
  auto version = [&]() -> Result<int> {
    auto s = db->Prepare("PRAGMA user_version");
    if (!s) return std::unexpected(s.error());
    auto row = s->Step();
    if (!row) return std::unexpected(row.error());
    return *row ? static_cast<int>(s->Int(0)) : 0;
  };
  auto v = version();
  if (!v) return std::unexpected(v.error().WithContext(path.string()));
  if (mode == Mode::kReadOnly) {
    if (*v >= 1 && *v < kCaseSchemaVersion) {
      return Fail(ErrorCode::kFormat, fmt::format("{}: case schema version {}: trawl-triage analyze on this case "
                                                  "migrates it to version {}",
                                                  path.string(), *v, kCaseSchemaVersion));
    }
    if (*v != kCaseSchemaVersion) {
      return Fail(ErrorCode::kFormat,
                  fmt::format("{}: not a trawl case database of schema version {} (user_version {})", path.string(),
                              kCaseSchemaVersion, *v));
    }
    // Rules scan tables, several times over: read through a memory map and a
    // cache rather than one pread per page (set before the read-only
    // authorizer, which refuses PRAGMA writes). The map is capped at 256 MiB:
    // mapped pages a query touched count towards the process's memory, and a
    // whole-fleet scan (stack, report) would otherwise hold up to the map's size.
    TRAWL_TRY_VOID(db->Exec("PRAGMA cache_size=-65536; PRAGMA mmap_size=268435456;"));
    return db;
  }
  if (*v < 0 || *v > kCaseSchemaVersion) {
    return Fail(ErrorCode::kUnsupported, fmt::format("{}: case schema version {} is not supported (expected {})",
                                                     path.string(), *v, kCaseSchemaVersion));
  }
  // A 32 MiB page cache: with 256 MiB, one `analyze` over 100 archives of
  // 50,000 records grew to 690 MB while ingesting (1 GB after scoring), and
  // ingest was no faster than with 32 MiB (bench/fleet.sh, `all archives`).
  TRAWL_TRY_VOID(
      db->Exec("PRAGMA journal_mode=DELETE; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=OFF; PRAGMA "
               "cache_size=-32768; PRAGMA temp_store=MEMORY;"));
  if (*v == 0) {
    // A fresh file or a foreign SQLite file: refuse the latter rather than mix.
    {
      auto s = db->Prepare("SELECT count(*) FROM sqlite_schema");
      if (!s) return std::unexpected(s.error());
      TRAWL_TRY_VOID(s->Step());
      if (s->Int(0) != 0) {
        return Fail(ErrorCode::kFormat, fmt::format("{}: an SQLite database that is not a trawl case", path.string()));
      }
    }  // finalized: page_size applies only outside a read transaction
    // 16 KiB pages: less per-page overhead for rows of ~600 bytes, fewer
    // pages for the rules' scans (the default is 4 KiB).
    TRAWL_TRY_VOID(db->Exec("PRAGMA page_size=16384"));
    TRAWL_TRY_VOID(db->Exec("BEGIN"));
    if (auto r = db->Exec(ExpandedSchemaSql()); !r) {
      (void)db->Exec("ROLLBACK");
      return std::unexpected(r.error().WithContext("db/schema.sql"));
    }
    TRAWL_TRY_VOID(db->Exec(fmt::format("PRAGMA user_version = {}", kCaseSchemaVersion)));
    TRAWL_TRY_VOID(db->Exec("COMMIT"));
  } else if (*v < kCaseSchemaVersion) {
    // 1 -> 2: files_dir gained columns, new partial indexes, pe became
    // WITHOUT ROWID. 2 -> 3: collections lost UNIQUE (host_id, started,
    // part) and gained content_sha256 and conflict (SQLite's rebuild: new
    // table, copy, drop, rename). 3 -> 4: the files table became the files
    // view over interned storage (triage/file_store.cpp); its rows are
    // copied through the view's trigger, ids kept (findings and
    // collection_rows name them). The schema script creates what is missing.
    std::vector<std::string> steps;
    if (*v == 1) {
      steps = {"ALTER TABLE pe RENAME TO pe_v1", "DROP INDEX IF EXISTS files_dir"};
    }
    if (*v <= 2) steps.push_back("ALTER TABLE collections RENAME TO collections_v2");
    steps.push_back("ALTER TABLE files RENAME TO files_v3");
    steps.push_back(ExpandedSchemaSql());
    if (*v == 1) {
      steps.push_back("INSERT INTO pe SELECT * FROM pe_v1");
      steps.push_back("DROP TABLE pe_v1");
    }
    if (*v <= 2) {
      const std::string cols =
          "id, host_id, archive_name, archive_sha256, started, ended, part, result, tool_version, "
          "profile_name, profile_sha256, target_os, live, root, limits_hit, counts, ingested_at";
      steps.push_back(fmt::format("INSERT INTO collections ({0}) SELECT {0} FROM collections_v2", cols));
      steps.push_back("DROP TABLE collections_v2");
    }
    steps.emplace_back("-- files");  // the copy: its columns are known once files_v3 exists
    steps.push_back("DROP TABLE files_v3");
    // Indexes that moved with the renamed tables went with them: made again.
    steps.push_back(ExpandedSchemaSql());
    steps.push_back(fmt::format("PRAGMA user_version = {}", kCaseSchemaVersion));
    // Renaming must not rewrite the REFERENCES collections(id) of the other
    // tables, nor the views' FROM files, to the old table's new name.
    TRAWL_TRY_VOID(db->Exec("PRAGMA legacy_alter_table=ON"));
    TRAWL_TRY_VOID(db->Exec("BEGIN IMMEDIATE"));
    auto copy_files = [&]() -> Result<void> {
      auto view_cols = ColumnNames(*db, "files");
      if (!view_cols) return std::unexpected(view_cols.error());
      auto old_cols = ColumnNames(*db, "files_v3");
      if (!old_cols) return std::unexpected(old_cols.error());
      std::string cols;
      for (const std::string& n : *old_cols) {
        if (std::find(view_cols->begin(), view_cols->end(), n) != view_cols->end())
          cols += (cols.empty() ? "\"" : ", \"") + n + "\"";
      }
      return db->Exec(fmt::format("INSERT INTO files ({0}) SELECT {0} FROM files_v3 ORDER BY id", cols));
    };
    for (const std::string& sql : steps) {
      auto r = sql == "-- files" ? copy_files() : db->Exec(sql);
      if (!r) {
        (void)db->Exec("ROLLBACK");
        (void)db->Exec("PRAGMA legacy_alter_table=OFF");
        return std::unexpected(r.error().WithContext(fmt::format("migrating the case schema from version {}", *v)));
      }
    }
    TRAWL_TRY_VOID(db->Exec("COMMIT"));
    TRAWL_TRY_VOID(db->Exec("PRAGMA legacy_alter_table=OFF"));
  } else {
    // A case of this version written before a table or a record column was
    // added (event_records, modules.region_sha256, ...): the schema script
    // creates the missing tables and ADD COLUMN the missing columns, which
    // stay NULL in the rows already there.
    TRAWL_TRY_VOID(db->Exec("BEGIN IMMEDIATE"));
    auto add_missing = [&]() -> Result<void> {
      TRAWL_TRY_VOID(db->Exec(ExpandedSchemaSql()));
      for (const auto* spec : core::profile::RecordTables()) {
        auto names = ColumnNames(*db, spec->table);
        if (!names) return std::unexpected(names.error());
        const std::set<std::string, std::less<>> have(names->begin(), names->end());
        bool files_changed = false;
        for (const auto& c : spec->columns) {
          if (have.contains(c.name)) continue;
          if (spec->table == "files") {
            // Into its storage table; the view and trigger are made again.
            const auto [table, type] = FileColumnStorage(c);
            TRAWL_TRY_VOID(db->Exec(fmt::format("ALTER TABLE {} ADD COLUMN \"{}\" {}", table, c.name, type)));
            files_changed = true;
            continue;
          }
          TRAWL_TRY_VOID(
              db->Exec(fmt::format("ALTER TABLE {} ADD COLUMN \"{}\" {}", spec->table, c.name, SqlType(c.type))));
        }
        if (files_changed) {
          TRAWL_TRY_VOID(db->Exec("DROP VIEW files"));
          TRAWL_TRY_VOID(db->Exec(ExpandedSchemaSql()));
        }
      }
      return {};
    };
    if (auto r = add_missing(); !r) {
      (void)db->Exec("ROLLBACK");
      return std::unexpected(r.error().WithContext("bringing the case schema up to date"));
    }
    TRAWL_TRY_VOID(db->Exec("COMMIT"));
  }
  return db;
}

Db::~Db() {
  if (db_ != nullptr) sqlite3_close_v2(db_);
}

Result<void> Db::Exec(std::string_view sql) {
  char* msg = nullptr;
  const std::string text(sql);
  if (sqlite3_exec(db_, text.c_str(), nullptr, nullptr, &msg) != SQLITE_OK) {
    std::string m = msg != nullptr ? msg : LastError();
    sqlite3_free(msg);
    return Fail(ErrorCode::kIo, fmt::format("{}: SQL error: {}", path_.string(), m));
  }
  return {};
}

Result<Stmt> Db::Prepare(std::string_view sql) {
  sqlite3_stmt* s = nullptr;
  const char* tail = nullptr;
  if (sqlite3_prepare_v2(db_, sql.data(), static_cast<int>(sql.size()), &s, &tail) != SQLITE_OK) {
    return Fail(ErrorCode::kInvalidArgument, LastError());
  }
  if (s == nullptr) return Fail(ErrorCode::kInvalidArgument, "empty SQL statement");
  Stmt stmt(s);
  // One statement only: a second one could hide behind the first.
  if (tail != nullptr) {
    std::string_view rest(tail, static_cast<std::size_t>(sql.data() + sql.size() - tail));
    while (!rest.empty() && (rest.front() == ' ' || rest.front() == '\n' || rest.front() == '\t' ||
                             rest.front() == '\r' || rest.front() == ';')) {
      rest.remove_prefix(1);
    }
    if (!rest.empty()) return Fail(ErrorCode::kInvalidArgument, "more than one SQL statement");
  }
  return stmt;
}

void Db::SetReadOnlyAuthorizer(bool on) { sqlite3_set_authorizer(db_, on ? ReadOnlyAuthorizer : nullptr, nullptr); }

std::string Db::LastError() const { return sqlite3_errmsg(db_); }
std::int64_t Db::LastInsertRowId() const { return sqlite3_last_insert_rowid(db_); }
int Db::Changes() const { return sqlite3_changes(db_); }

// ---- Stmt -----------------------------------------------------------------

Stmt::~Stmt() {
  if (stmt_ != nullptr) sqlite3_finalize(stmt_);
}

Stmt& Stmt::operator=(Stmt&& o) noexcept {
  if (this != &o) {
    if (stmt_ != nullptr) sqlite3_finalize(stmt_);
    stmt_ = o.stmt_;
    o.stmt_ = nullptr;
  }
  return *this;
}

void Stmt::BindNull(int i) { sqlite3_bind_null(stmt_, i); }
void Stmt::Bind(int i, std::int64_t v) { sqlite3_bind_int64(stmt_, i, v); }
void Stmt::Bind(int i, double v) { sqlite3_bind_double(stmt_, i, v); }
void Stmt::Bind(int i, std::string_view v) {
  sqlite3_bind_text64(stmt_, i, v.data(), v.size(), SQLITE_TRANSIENT, SQLITE_UTF8);
}
void Stmt::BindNoCopy(int i, std::string_view v) {
  // A null pointer would bind NULL; an empty view is the empty string.
  sqlite3_bind_text64(stmt_, i, v.data() != nullptr ? v.data() : "", v.size(), SQLITE_STATIC, SQLITE_UTF8);
}
void Stmt::BindOptional(int i, const std::optional<std::string>& v) {
  if (v)
    Bind(i, std::string_view(*v));
  else
    BindNull(i);
}

Result<bool> Stmt::Step() {
  const int rc = sqlite3_step(stmt_);
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  return Fail(rc == SQLITE_AUTH ? ErrorCode::kInvalidArgument : ErrorCode::kIo,
              sqlite3_errmsg(sqlite3_db_handle(stmt_)));
}

Result<void> Stmt::Run() {
  while (true) {
    auto r = Step();
    if (!r) {
      Reset();
      return std::unexpected(r.error());
    }
    if (!*r) break;
  }
  Reset();
  return {};
}

void Stmt::Reset() {
  sqlite3_reset(stmt_);
  sqlite3_clear_bindings(stmt_);
}

int Stmt::ColumnCount() const { return sqlite3_column_count(stmt_); }
std::string Stmt::ColumnName(int i) const {
  const char* n = sqlite3_column_name(stmt_, i);
  return n != nullptr ? n : "";
}
bool Stmt::IsNull(int i) const { return sqlite3_column_type(stmt_, i) == SQLITE_NULL; }
int Stmt::ColumnType(int i) const { return sqlite3_column_type(stmt_, i); }
std::int64_t Stmt::Int(int i) const { return sqlite3_column_int64(stmt_, i); }
double Stmt::Real(int i) const { return sqlite3_column_double(stmt_, i); }
std::string Stmt::Text(int i) const {
  const auto* p = sqlite3_column_text(stmt_, i);
  if (p == nullptr) return {};
  return std::string(reinterpret_cast<const char*>(p), static_cast<std::size_t>(sqlite3_column_bytes(stmt_, i)));
}
bool Stmt::ReadOnly() const { return sqlite3_stmt_readonly(stmt_) != 0; }

// ---- schema ---------------------------------------------------------------

Result<std::vector<std::string>> DropFullIndexes(Db& db, std::string_view table) {
  auto s = db.Prepare(
      "SELECT s.name, s.sql FROM sqlite_schema s JOIN pragma_index_list(?1) l ON l.name = s.name "
      "WHERE s.type = 'index' AND s.sql IS NOT NULL AND l.partial = 0");
  if (!s) return std::unexpected(s.error());
  s->Bind(1, table);
  std::vector<std::string> names, sql;
  while (true) {
    auto row = s->Step();
    if (!row) return std::unexpected(row.error());
    if (!*row) break;
    names.push_back(s->Text(0));
    sql.push_back(s->Text(1));
  }
  s->Reset();
  for (const auto& n : names) {
    std::string quoted = "\"";
    for (char c : n) quoted += c == '"' ? std::string("\"\"") : std::string(1, c);
    TRAWL_TRY_VOID(db.Exec("DROP INDEX " + quoted + "\""));
  }
  return sql;
}

std::vector<std::string> DerivedColumns(std::string_view table) {
  if (table == "files" || table == "modules") return {"name", "dir", "name_lc", "dir_lc", "ext_lc"};
  if (table == "processes") return {"exe_name_lc", "exe_dir_lc"};
  if (table == "dir_entries") return {"name_lc", "dir_lc"};
  return {};
}

std::string RecordTableSql(const core::profile::RecordSpec& spec) {
  std::string sql = fmt::format(
      "-- {} (generated from core/profile/kinds.cpp)\nCREATE TABLE IF NOT EXISTS {} (\n"
      "  id INTEGER PRIMARY KEY,\n  collection_id INTEGER NOT NULL REFERENCES collections(id),\n"
      "  host_id INTEGER",
      spec.description, spec.table);
  for (const auto& c : spec.columns) {
    sql += fmt::format(",\n  \"{}\" {}", c.name, SqlType(c.type));
  }
  for (const auto& d : DerivedColumns(spec.table)) {
    bool declared = false;
    for (const auto& c : spec.columns) declared = declared || c.name == d;
    if (!declared) sql += fmt::format(",\n  \"{}\" TEXT", d);
  }
  sql += ",\n  extra TEXT\n);\n";
  return sql;
}

namespace {

// Version 3 kept files records in one table with these indexes.
constexpr std::string_view kFilesV3Indexes =
    "CREATE INDEX IF NOT EXISTS files_dir ON files (dir_lc, ext_lc, host_id);\n"
    "CREATE INDEX IF NOT EXISTS files_name ON files (name_lc);\n"
    "CREATE INDEX IF NOT EXISTS files_sha256 ON files (sha256);\n"
    "CREATE INDEX IF NOT EXISTS files_product ON files (product) WHERE product IS NOT NULL;\n"
    "CREATE INDEX IF NOT EXISTS files_pe_padding_anomaly ON files (pe_padding_anomaly) WHERE pe_padding_anomaly = 1;\n"
    "CREATE INDEX IF NOT EXISTS files_pe_digest_mismatch ON files (pe_signed) WHERE pe_signed = 1 AND "
    "pe_digest_matches = 0;\n";

// Indexes of the version-4 files storage (triage/file_store.cpp). The
// file_rows indexes lead with host_id: a new host's entries go to the end of
// them, so adding a host touches its own pages only, not every page of an
// index as large as the case (the cost that grew with the case in version
// 3). Scoring a new host narrows `files` to its host ids (triage/scoring.cpp),
// which these indexes serve directly; a lookup over the whole case by path
// or content skips from host to host (SQLite's skip-scan, from the ANALYZE
// statistics ingest keeps). IOC lookups by SHA-1 and MD5 are indexed per
// content, as by SHA-256. A fresh case builds them once, after its first
// archive's rows are in (triage/ingest.cpp). Partial indexes hold only the
// few rows a rule looks for: install_dirs products and the rare
// Authenticode anomalies.
constexpr std::string_view kFilesIndexes =
    "CREATE INDEX IF NOT EXISTS file_rows_path ON file_rows (host_id, path_id);\n"
    "CREATE INDEX IF NOT EXISTS file_rows_content ON file_rows (host_id, content_id);\n"
    "CREATE INDEX IF NOT EXISTS file_rows_product ON file_rows (product) WHERE product IS NOT NULL;\n"
    "CREATE INDEX IF NOT EXISTS file_contents_sha1 ON file_contents (sha1);\n"
    "CREATE INDEX IF NOT EXISTS file_contents_md5 ON file_contents (md5);\n"
    "CREATE INDEX IF NOT EXISTS file_contents_pe_padding_anomaly ON file_contents (pe_padding_anomaly) WHERE "
    "pe_padding_anomaly = 1;\n"
    "CREATE INDEX IF NOT EXISTS file_contents_pe_digest_mismatch ON file_contents (pe_signed) WHERE pe_signed = 1 "
    "AND pe_digest_matches = 0;\n";

}  // namespace

std::string ExpandedSchemaSql(int version) {
  std::string schema(EmbeddedTriageFile("db/schema.sql"));
  std::string tables;
  for (const auto* spec : core::profile::RecordTables()) {
    if (spec->table != "files") {
      tables += RecordTableSql(*spec);
    } else if (version >= 4) {
      tables += FileStorageSql(*spec);
      tables += kFilesIndexes;
    } else {
      tables += RecordTableSql(*spec);
      tables += kFilesV3Indexes;
    }
  }
  const std::string_view marker = "-- trawl:record-tables";
  if (const auto pos = schema.find(marker); pos != std::string::npos) {
    schema.replace(pos, marker.size(), tables);
  } else {
    schema += tables;
  }
  return schema;
}

std::pair<std::string_view, std::string_view> SplitTargetPathView(std::string_view path) {
  const bool unix_path = !path.empty() && path.front() == '/';
  const auto pos = unix_path ? path.rfind('/') : path.find_last_of("\\/");
  if (pos == std::string_view::npos) return {std::string_view(), path};
  std::string_view dir = path.substr(0, pos);
  if (dir.empty() && unix_path) dir = "/";
  return {dir, path.substr(pos + 1)};
}

std::pair<std::string, std::string> SplitTargetPath(std::string_view path) {
  const auto [dir, name] = SplitTargetPathView(path);
  return {std::string(dir), std::string(name)};
}

// ---- query ----------------------------------------------------------------

int RunQueryCommand(const std::filesystem::path& case_path, const std::string& sql, const std::string& format,
                    std::ostream& out, std::ostream& err) {
  auto db = Db::Open(case_path, Db::Mode::kReadOnly);
  if (!db) {
    err << "trawl-triage query: " << db.error().message << "\n";
    return kExitUsage;
  }
  (*db)->SetReadOnlyAuthorizer(true);
  auto stmt = (*db)->Prepare(sql);
  if (!stmt) {
    err << "trawl-triage query: refused or invalid SQL: " << core::EscapeForTerminal(stmt.error().message) << "\n";
    return kExitUsage;
  }
  if (!stmt->ReadOnly()) {
    err << "trawl-triage query: refused: the statement is not read-only\n";
    return kExitUsage;
  }
  auto fmt_kind = ParseTabularFormat(format);
  if (!fmt_kind) {
    err << "trawl-triage query: " << fmt_kind.error().message << "\n";
    return kExitUsage;
  }
  if (auto r = WriteTabular(*stmt, *fmt_kind, out); !r) {
    err << "trawl-triage query: " << core::EscapeForTerminal(r.error().message) << "\n";
    return kExitProblems;
  }
  return kExitOk;
}

}  // namespace trawl::triage
