// SPDX-License-Identifier: Apache-2.0
// How the case stores `files` records (schema version 4): what many hosts
// share is stored once and the `files` view puts the rows back together with
// the columns of the collector's declaration (core/profile/kinds.cpp), in its
// order, so rules and `query` read the same table as before.
//
//   file_dirs      one row per distinct directory (dir, dir_lc)
//   file_paths     one row per distinct path (path, name, name_lc, ext_lc, dir_id)
//   file_contents  one row per distinct set of content facts: hashes,
//                  entropy, is_pe and the pe_* columns (found by sha256)
//   file_artifacts one row per artifact name
//   file_rows      one row per record: ids of the above and what is the
//                  host's own (size, mode, times, status, copy, extra ...)
//
// Times the collector writes (core::UnixNsToIso: YYYY-MM-DDTHH:MM:SS.nnnnnnnnnZ)
// are kept as the integer nanoseconds since 1970 when formatting that integer
// gives the same text back (trawl_time_ns, an SQL function every Db::Open
// registers: writing needs trawl; any SQLite tool reads); any other value is
// kept as text. A source_path
// equal to the path is kept as the integer 0. The view formats both back, so
// every column reads exactly as it was ingested.
//
// Rows are written through the view: an INSTEAD OF INSERT trigger interns
// the shared parts, so ingest, migration and tests insert into `files` as
// before. Its lookups name their index (INDEXED BY): without statistics the
// planner would take file_paths_dir and walk a whole folder per record.
#include <optional>
#include <set>
#include <string>
#include <string_view>

#include <fmt/format.h>

#include "core/util/time.h"
#include "triage/case_db.h"
#include "triage/file_writer.h"

namespace trawl::triage {

using core::ErrorCode;
using core::Fail;
using core::Result;

namespace {

bool IsContentColumn(std::string_view c) {
  return c == "md5" || c == "sha1" || c == "sha256" || c == "entropy" || c == "is_pe" || c.starts_with("pe_");
}
bool IsTimeColumn(std::string_view c) { return c == "mtime" || c == "atime" || c == "ctime" || c == "btime"; }

// A value as a TEXT column would hold it (numbers become their text).
std::string AsText(const std::string& v) {
  return fmt::format("CASE WHEN {0} IS NULL OR typeof({0}) = 'text' THEN {0} ELSE CAST({0} AS TEXT) END", v);
}

// The integer a time text is kept as (trawl_time_ns), or the text itself.
std::string SqlEncodeTime(const std::string& value) {
  const std::string t = AsText(value);
  return fmt::format("coalesce(trawl_time_ns({0}), {0})", t);
}

}  // namespace

// core::UnixNsToIso in SQL, for an integer `n`.
std::string SqlIsoOfNs(const std::string& n) {
  const std::string frac = fmt::format("((({0}) % 1000000000 + 1000000000) % 1000000000)", n);
  return fmt::format(
      "(strftime('%Y-%m-%dT%H:%M:%S', (({0}) - {1}) / 1000000000, 'unixepoch') || printf('.%09dZ', {1}))", n, frac);
}

std::optional<std::int64_t> IsoToUnixNs(std::string_view t) {
  // YYYY-MM-DDTHH:MM:SS.nnnnnnnnnZ, years 1678..2261 (int64 nanoseconds).
  if (t.size() != 30 || t[4] != '-' || t[7] != '-' || t[10] != 'T' || t[13] != ':' || t[16] != ':' || t[19] != '.' ||
      t[29] != 'Z')
    return std::nullopt;
  auto num = [&](std::size_t at, std::size_t len) -> std::int64_t {
    std::int64_t v = 0;
    for (std::size_t i = at; i < at + len; ++i) {
      if (t[i] < '0' || t[i] > '9') return -1;
      v = v * 10 + (t[i] - '0');
    }
    return v;
  };
  const std::int64_t y = num(0, 4), mo = num(5, 2), d = num(8, 2), h = num(11, 2), mi = num(14, 2), s = num(17, 2),
                     frac = num(20, 9);
  if (y < 1678 || y > 2261 || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || s > 59 || frac < 0)
    return std::nullopt;
  // Days since 1970-01-01 (Howard Hinnant's days_from_civil).
  const std::int64_t yy = mo <= 2 ? y - 1 : y;
  const std::int64_t era = (yy >= 0 ? yy : yy - 399) / 400;
  const std::int64_t yoe = yy - era * 400;
  const std::int64_t doy = (153 * (mo > 2 ? mo - 3 : mo + 9) + 2) / 5 + d - 1;
  const std::int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  const std::int64_t days = era * 146097 + doe - 719468;
  const std::int64_t ns = ((days * 86400) + h * 3600 + mi * 60 + s) * 1000000000 + frac;
  if (ns == 0 || core::UnixNsToIso(ns) != t) return std::nullopt;  // Feb 30 and the like
  return ns;
}

std::string_view StorageTableOf(std::string_view table) { return table == "files" ? "file_rows" : table; }

std::string FileStorageSql(const core::profile::RecordSpec& spec) {
  std::string content_cols, content_names, content_new, content_match, content_any;
  std::string row_cols, row_names, row_new;
  std::string view_cols;
  for (const auto& c : spec.columns) {
    const std::string n(c.name);
    const std::string q = "\"" + n + "\"";
    const std::string nv = "NEW." + q;
    if (n == "path") {
      view_cols += ",\n  p.path AS path";
    } else if (IsContentColumn(n)) {
      content_cols += fmt::format(",\n  {} {}", q, SqlType(c.type));
      content_names += (content_names.empty() ? "" : ", ") + q;
      content_new += (content_new.empty() ? "" : ", ") + nv;
      content_match += fmt::format(" AND {0} IS {1}", q, nv);
      content_any += (content_any.empty() ? "" : " OR ") + nv + " IS NOT NULL";
      view_cols += fmt::format(",\n  c.{0} AS {0}", q);
    } else if (n == "artifact") {
      view_cols += ",\n  a.name AS artifact";
    } else if (n == "source_path") {
      // Untyped: the integer 0 stands for "the same as path".
      row_cols += ",\n  source_path";
      row_names += ", " + q;
      row_new +=
          fmt::format(", CASE WHEN {0} IS NOT NULL AND {0} IS {1} THEN 0 ELSE {0} END", AsText(nv), AsText("NEW.path"));
      view_cols += ",\n  CASE WHEN typeof(r.source_path) = 'integer' THEN p.path ELSE r.source_path END AS source_path";
    } else if (IsTimeColumn(n)) {
      row_cols += fmt::format(",\n  {}", q);  // untyped: integer nanoseconds or text
      row_names += ", " + q;
      row_new += ", " + SqlEncodeTime(nv);
      view_cols += fmt::format(",\n  CASE WHEN typeof(r.{0}) = 'integer' THEN {1} ELSE r.{0} END AS {0}", q,
                               SqlIsoOfNs("r." + q));
    } else {
      row_cols += fmt::format(",\n  {} {}", q, SqlType(c.type));
      row_names += ", " + q;
      row_new += ", " + nv;
      view_cols += fmt::format(",\n  r.{0} AS {0}", q);
    }
  }
  const std::string dir_match = "dir IS NEW.dir AND dir_lc IS NEW.dir_lc";
  const std::string dir_id =
      fmt::format("(SELECT id FROM file_dirs INDEXED BY file_dirs_dir WHERE {} LIMIT 1)", dir_match);
  const std::string path_match = fmt::format(
      "path IS {} AND name IS NEW.name AND name_lc IS NEW.name_lc AND ext_lc IS NEW.ext_lc AND dir_id IS {}",
      AsText("NEW.path"), dir_id);
  const std::string content_where = content_match.substr(5);  // without the first " AND "
  std::string sql = fmt::format(
      "-- {desc} (generated from core/profile/kinds.cpp; triage/file_store.cpp)\n"
      "CREATE TABLE IF NOT EXISTS file_dirs (\n  id INTEGER PRIMARY KEY,\n  dir TEXT,\n  dir_lc TEXT\n);\n"
      "CREATE INDEX IF NOT EXISTS file_dirs_dir ON file_dirs (dir);\n"
      "CREATE INDEX IF NOT EXISTS file_dirs_lc ON file_dirs (dir_lc);\n"
      "CREATE TABLE IF NOT EXISTS file_paths (\n  id INTEGER PRIMARY KEY,\n  path TEXT,\n  dir_id INTEGER,\n"
      "  name TEXT,\n  name_lc TEXT,\n  ext_lc TEXT\n);\n"
      "CREATE INDEX IF NOT EXISTS file_paths_path ON file_paths (path);\n"
      "CREATE INDEX IF NOT EXISTS file_paths_name ON file_paths (name_lc);\n"
      "CREATE INDEX IF NOT EXISTS file_paths_dir ON file_paths (dir_id, ext_lc);\n"
      "CREATE TABLE IF NOT EXISTS file_contents (\n  id INTEGER PRIMARY KEY{content_cols}\n);\n"
      "CREATE INDEX IF NOT EXISTS file_contents_sha256 ON file_contents (sha256);\n"
      "CREATE TABLE IF NOT EXISTS file_artifacts (\n  id INTEGER PRIMARY KEY,\n  name TEXT\n);\n"
      "CREATE INDEX IF NOT EXISTS file_artifacts_name ON file_artifacts (name);\n"
      "CREATE TABLE IF NOT EXISTS file_rows (\n  id INTEGER PRIMARY KEY,\n"
      "  collection_id INTEGER NOT NULL REFERENCES collections(id),\n  host_id INTEGER,\n  path_id INTEGER NOT NULL,\n"
      "  content_id INTEGER,\n  artifact_id INTEGER{row_cols},\n  extra TEXT\n);\n"
      "CREATE VIEW IF NOT EXISTS files AS SELECT\n  r.id AS id,\n  r.collection_id AS collection_id,\n"
      "  r.host_id AS host_id{view_cols},\n  p.name AS name,\n  d.dir AS dir,\n  p.name_lc AS name_lc,\n"
      "  d.dir_lc AS dir_lc,\n  p.ext_lc AS ext_lc,\n  r.extra AS extra\n"
      "FROM file_rows r JOIN file_paths p ON p.id = r.path_id JOIN file_dirs d ON d.id = p.dir_id\n"
      "  LEFT JOIN file_contents c ON c.id = r.content_id LEFT JOIN file_artifacts a ON a.id = r.artifact_id;\n"
      "CREATE TRIGGER IF NOT EXISTS files_insert INSTEAD OF INSERT ON files BEGIN\n"
      "  INSERT INTO file_dirs (dir, dir_lc) SELECT NEW.dir, NEW.dir_lc\n"
      "    WHERE NOT EXISTS (SELECT 1 FROM file_dirs INDEXED BY file_dirs_dir WHERE {dir_match});\n"
      "  INSERT INTO file_paths (path, dir_id, name, name_lc, ext_lc) SELECT NEW.path, {dir_id}, NEW.name, "
      "NEW.name_lc, NEW.ext_lc\n"
      "    WHERE NOT EXISTS (SELECT 1 FROM file_paths INDEXED BY file_paths_path WHERE {path_match});\n"
      "  INSERT INTO file_contents ({content_names}) SELECT {content_new}\n"
      "    WHERE ({content_any}) AND NOT EXISTS (SELECT 1 FROM file_contents INDEXED BY file_contents_sha256 WHERE "
      "{content_where});\n"
      "  INSERT INTO file_artifacts (name) SELECT NEW.artifact\n"
      "    WHERE NEW.artifact IS NOT NULL AND NOT EXISTS (SELECT 1 FROM file_artifacts INDEXED BY file_artifacts_name "
      "WHERE name IS NEW.artifact);\n"
      "  INSERT INTO file_rows (id, collection_id, host_id, path_id, content_id, artifact_id{row_names}, extra)\n"
      "  SELECT NEW.id, NEW.collection_id, NEW.host_id,\n"
      "    (SELECT id FROM file_paths INDEXED BY file_paths_path WHERE {path_match} LIMIT 1),\n"
      "    CASE WHEN {content_any} THEN (SELECT id FROM file_contents INDEXED BY file_contents_sha256 WHERE "
      "{content_where} LIMIT 1) END,\n"
      "    (SELECT id FROM file_artifacts INDEXED BY file_artifacts_name WHERE name IS NEW.artifact LIMIT 1){row_new}, "
      "NEW.extra;\n"
      "END;\n",
      fmt::arg("desc", spec.description), fmt::arg("content_cols", content_cols), fmt::arg("row_cols", row_cols),
      fmt::arg("view_cols", view_cols), fmt::arg("dir_match", dir_match), fmt::arg("dir_id", dir_id),
      fmt::arg("path_match", path_match), fmt::arg("content_names", content_names),
      fmt::arg("content_new", content_new), fmt::arg("content_any", content_any),
      fmt::arg("content_where", content_where), fmt::arg("row_names", row_names), fmt::arg("row_new", row_new));
  return sql;
}

// The storage table and its column definition for a files column a case of
// this version lacks (a column the collector declared later).
std::pair<std::string, std::string> FileColumnStorage(const core::profile::ColumnSpec& c) {
  if (IsContentColumn(c.name)) return {"file_contents", std::string(SqlType(c.type))};
  if (IsTimeColumn(c.name) || c.name == "source_path") return {"file_rows", ""};
  return {"file_rows", std::string(SqlType(c.type))};
}

namespace {

constexpr std::size_t kMaxCached = 1u << 16;  // entries per map before it is cleared (a few MB)

RowValue::Type DeclaredValueType(core::profile::ColumnType t) {
  switch (t) {
    case core::profile::ColumnType::kText: return RowValue::Type::kText;
    case core::profile::ColumnType::kReal: return RowValue::Type::kReal;
    case core::profile::ColumnType::kInt:
    case core::profile::ColumnType::kBool: return RowValue::Type::kInt;
  }
  return RowValue::Type::kText;
}

bool NullOrText(const RowValue& v) { return v.type == RowValue::Type::kNull || v.type == RowValue::Type::kText; }

// A value, typed, into `key` (lengths keep the parts apart).
void AppendKey(std::string& key, const RowValue& v) {
  key += static_cast<char>('0' + static_cast<int>(v.type));
  switch (v.type) {
    case RowValue::Type::kNull: break;
    case RowValue::Type::kInt: key.append(reinterpret_cast<const char*>(&v.i), sizeof v.i); break;
    case RowValue::Type::kReal: {
      const double d = v.d == 0 ? 0.0 : v.d;  // -0.0 IS 0.0 in SQLite
      key.append(reinterpret_cast<const char*>(&d), sizeof d);
      break;
    }
    case RowValue::Type::kText: {
      const std::uint64_t n = v.text.size();
      key.append(reinterpret_cast<const char*>(&n), sizeof n);
      key.append(v.text);
      break;
    }
  }
}

}  // namespace

Result<FileRowWriter> FileRowWriter::Create(Db& db, const core::profile::RecordSpec& spec,
                                            const std::vector<std::string>& slots) {
  FileRowWriter w;
  w.db_ = &db;
  auto slot_of = [&](std::string_view name) {
    for (std::size_t k = 0; k < slots.size(); ++k) {
      if (slots[k] == name) return static_cast<int>(k);
    }
    return -1;
  };
  w.path_ = slot_of("path");
  w.dir_ = slot_of("dir");
  w.dir_lc_ = slot_of("dir_lc");
  w.name_ = slot_of("name");
  w.name_lc_ = slot_of("name_lc");
  w.ext_lc_ = slot_of("ext_lc");
  w.artifact_ = slot_of("artifact");
  w.extra_ = slot_of("extra");
  if (w.path_ < 0 || w.dir_ < 0 || w.dir_lc_ < 0 || w.name_ < 0 || w.name_lc_ < 0 || w.ext_lc_ < 0 || w.extra_ < 0 ||
      slot_of("collection_id") != 0 || slot_of("host_id") != 1)
    return Fail(ErrorCode::kInternal, "files writer: the record's columns lack path, its derived columns or extra");
  std::string content_names, content_params, content_match, row_names, row_params;
  int content_i = 0;
  int row_i = 5;  // after collection_id, host_id, path_id, content_id, artifact_id
  for (const auto& c : spec.columns) {
    const std::string n(c.name);
    const int k = slot_of(n);
    if (k < 0) return Fail(ErrorCode::kInternal, fmt::format("files writer: column {} is not bound", n));
    if (n == "path" || n == "artifact") continue;
    if (IsContentColumn(n)) {
      ++content_i;
      w.content_.push_back(Slot{k, DeclaredValueType(c.type), n});
      content_names += fmt::format("{}\"{}\"", content_names.empty() ? "" : ", ", n);
      content_params += fmt::format("{}?{}", content_params.empty() ? "" : ", ", content_i);
      content_match += fmt::format("{}\"{}\" IS ?{}", content_match.empty() ? "" : " AND ", n, content_i);
      continue;
    }
    ++row_i;
    w.row_cols_.push_back(RowColumn{k, IsTimeColumn(n)      ? RowColumn::Kind::kTime
                                       : n == "source_path" ? RowColumn::Kind::kSourcePath
                                                            : RowColumn::Kind::kPlain});
    row_names += fmt::format(", \"{}\"", n);
    row_params += fmt::format(", ?{}", row_i);
  }
  std::string view_cols, view_params;
  for (std::size_t k = 0; k < slots.size(); ++k) {
    view_cols += fmt::format("{}\"{}\"", k == 0 ? "" : ", ", slots[k]);
    view_params += fmt::format("{}?{}", k == 0 ? "" : ", ", k + 1);
  }
  auto prep = [&](Stmt& out, const std::string& sql) -> Result<void> {
    auto s = db.Prepare(sql);
    if (!s) return std::unexpected(s.error().WithContext("files writer"));
    out = std::move(*s);
    return {};
  };
  TRAWL_TRY_VOID(prep(w.view_insert_, fmt::format("INSERT INTO files ({}) VALUES ({})", view_cols, view_params)));
  TRAWL_TRY_VOID(
      prep(w.dir_find_, "SELECT id FROM file_dirs INDEXED BY file_dirs_dir WHERE dir IS ?1 AND dir_lc IS ?2 LIMIT 1"));
  TRAWL_TRY_VOID(prep(w.dir_add_, "INSERT INTO file_dirs (dir, dir_lc) VALUES (?1, ?2)"));
  TRAWL_TRY_VOID(prep(w.path_find_,
                      "SELECT id FROM file_paths INDEXED BY file_paths_path WHERE path IS ?1 AND name IS ?2 AND "
                      "name_lc IS ?3 AND ext_lc IS ?4 AND dir_id IS ?5 LIMIT 1"));
  TRAWL_TRY_VOID(
      prep(w.path_add_, "INSERT INTO file_paths (path, name, name_lc, ext_lc, dir_id) VALUES (?1, ?2, ?3, ?4, ?5)"));
  TRAWL_TRY_VOID(prep(w.content_find_, fmt::format("SELECT id FROM file_contents INDEXED BY file_contents_sha256 "
                                                   "WHERE {} LIMIT 1",
                                                   content_match)));
  TRAWL_TRY_VOID(
      prep(w.content_add_, fmt::format("INSERT INTO file_contents ({}) VALUES ({})", content_names, content_params)));
  TRAWL_TRY_VOID(
      prep(w.artifact_find_, "SELECT id FROM file_artifacts INDEXED BY file_artifacts_name WHERE name IS ?1 LIMIT 1"));
  TRAWL_TRY_VOID(prep(w.artifact_add_, "INSERT INTO file_artifacts (name) VALUES (?1)"));
  TRAWL_TRY_VOID(prep(w.row_add_, fmt::format("INSERT INTO file_rows (collection_id, host_id, path_id, content_id, "
                                              "artifact_id{}, extra) VALUES (?1, ?2, ?3, ?4, ?5{}, ?{})",
                                              row_names, row_params, row_i + 1)));
  return w;
}

void FileRowWriter::Bind(Stmt& s, int i, const RowValue& v) {
  switch (v.type) {
    case RowValue::Type::kNull: s.BindNull(i); break;
    case RowValue::Type::kInt: s.Bind(i, v.i); break;
    case RowValue::Type::kReal: s.Bind(i, v.d); break;
    case RowValue::Type::kText: s.BindNoCopy(i, v.text); break;
  }
}

Result<std::int64_t> FileRowWriter::FindOrAdd(Stmt& find, Stmt& add) {
  auto row = find.Step();
  if (!row) {
    find.Reset();
    add.Reset();
    return std::unexpected(row.error());
  }
  if (*row) {
    const std::int64_t id = find.Int(0);
    find.Reset();
    add.Reset();
    return id;
  }
  find.Reset();
  TRAWL_TRY_VOID(add.Run());
  return db_->LastInsertRowId();
}

Result<void> FileRowWriter::InsertThroughView(std::span<const RowValue> row) {
  for (std::size_t k = 0; k < row.size(); ++k) Bind(view_insert_, static_cast<int>(k) + 1, row[k]);
  ++view_rows_;
  return view_insert_.Run();
}

Result<void> FileRowWriter::Insert(std::span<const RowValue> row) {
  // Only the types the collector writes; the trigger decides the rest.
  bool direct = row[path_].type == RowValue::Type::kText && (artifact_ < 0 || NullOrText(row[artifact_]));
  for (const RowColumn& c : row_cols_) {
    if (c.kind != RowColumn::Kind::kPlain) direct = direct && NullOrText(row[c.value]);
  }
  bool any_content = false;
  for (const Slot& c : content_) {
    const RowValue& v = row[c.value];
    if (v.type != RowValue::Type::kNull) {
      any_content = true;
      if (v.type != c.want) direct = false;
    }
  }
  if (!direct) return InsertThroughView(row);

  for (IdMap* m : {&dirs_, &contents_, &artifacts_}) {
    if (m->size() > kMaxCached) m->clear();
  }
  // Folder.
  key_.clear();
  AppendKey(key_, row[dir_]);
  AppendKey(key_, row[dir_lc_]);
  std::int64_t dir_id = 0;
  if (auto it = dirs_.find(key_); it != dirs_.end()) {
    dir_id = it->second;
  } else {
    Bind(dir_find_, 1, row[dir_]);
    Bind(dir_find_, 2, row[dir_lc_]);
    Bind(dir_add_, 1, row[dir_]);
    Bind(dir_add_, 2, row[dir_lc_]);
    auto id = FindOrAdd(dir_find_, dir_add_);
    if (!id) return std::unexpected(id.error());
    dir_id = *id;
    dirs_.emplace(key_, dir_id);
  }
  // Path (one per record in an archive: looked up, not kept).
  for (Stmt* s : {&path_find_, &path_add_}) {
    Bind(*s, 1, row[path_]);
    Bind(*s, 2, row[name_]);
    Bind(*s, 3, row[name_lc_]);
    Bind(*s, 4, row[ext_lc_]);
    s->Bind(5, dir_id);
  }
  auto path_id = FindOrAdd(path_find_, path_add_);
  if (!path_id) return std::unexpected(path_id.error());
  // Content facts.
  std::optional<std::int64_t> content_id;
  if (any_content) {
    key_.clear();
    for (const Slot& c : content_) AppendKey(key_, row[c.value]);
    if (auto it = contents_.find(key_); it != contents_.end()) {
      content_id = it->second;
    } else {
      for (std::size_t i = 0; i < content_.size(); ++i) {
        Bind(content_find_, static_cast<int>(i) + 1, row[content_[i].value]);
        Bind(content_add_, static_cast<int>(i) + 1, row[content_[i].value]);
      }
      auto id = FindOrAdd(content_find_, content_add_);
      if (!id) return std::unexpected(id.error());
      content_id = *id;
      contents_.emplace(key_, *id);
    }
  }
  // Artifact name.
  std::optional<std::int64_t> artifact_id;
  if (artifact_ >= 0 && row[artifact_].type == RowValue::Type::kText) {
    key_.assign(row[artifact_].text);
    if (auto it = artifacts_.find(key_); it != artifacts_.end()) {
      artifact_id = it->second;
    } else {
      Bind(artifact_find_, 1, row[artifact_]);
      Bind(artifact_add_, 1, row[artifact_]);
      auto id = FindOrAdd(artifact_find_, artifact_add_);
      if (!id) return std::unexpected(id.error());
      artifact_id = *id;
      artifacts_.emplace(key_, *id);
    }
  }
  // The record's own row.
  Stmt& r = row_add_;
  Bind(r, 1, row[0]);
  Bind(r, 2, row[1]);
  r.Bind(3, *path_id);
  if (content_id)
    r.Bind(4, *content_id);
  else
    r.BindNull(4);
  if (artifact_id)
    r.Bind(5, *artifact_id);
  else
    r.BindNull(5);
  int i = 6;
  for (const RowColumn& c : row_cols_) {
    const RowValue& v = row[c.value];
    std::optional<std::int64_t> as_int;  // how a text of this column is kept
    if (v.type == RowValue::Type::kText && c.kind == RowColumn::Kind::kSourcePath && v.text == row[path_].text)
      as_int = 0;  // the same as path
    else if (v.type == RowValue::Type::kText && c.kind == RowColumn::Kind::kTime)
      as_int = IsoToUnixNs(v.text);
    if (as_int)
      r.Bind(i++, *as_int);
    else
      Bind(r, i++, v);
  }
  Bind(r, i, row[extra_]);
  ++direct_rows_;
  return r.Run();
}

}  // namespace trawl::triage
