// SPDX-License-Identifier: Apache-2.0
#include "core/archive/layout.h"
#include "triage/ingest.h"

#include <openssl/evp.h>

#include <algorithm>
#include <array>
#include <deque>
#include <fstream>
#include <map>
#include <optional>
#include <unordered_map>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "core/formats/pe.h"
#include "core/profile/kinds.h"
#include "core/util/json_depth.h"
#include "core/util/text.h"
#include "core/util/time.h"
#include "triage/ingest_jsonl.h"
#include "triage/ingest_manifest.h"
#include "triage/ingest_prefetch.h"
#include "triage/ingest_evtx.h"
#include "triage/ingest_feed.h"
#include "triage/ingest_registry.h"
#include "triage/pe_facts.h"
#include "triage/record_writer.h"

namespace trawl::triage {
namespace {

using core::ErrorCode;
using core::Fail;
using core::Result;
using nlohmann::json;

constexpr std::size_t kMaxLine = 64u << 20;           // one JSON record
constexpr std::uint64_t kMaxPeAnalysis = 512u << 20;  // bytes fed to the PE analyzer per member

Result<std::string> FileSha256(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Fail(ErrorCode::kIo, fmt::format("{}: cannot open", path.string()));
  std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx(EVP_MD_CTX_new(), EVP_MD_CTX_free);
  if (!ctx || EVP_DigestInit_ex(ctx.get(), EVP_sha256(), nullptr) != 1)
    return Fail(ErrorCode::kInternal, "SHA-256 init failed");
  std::vector<char> buf(1 << 20);
  while (in) {
    in.read(buf.data(), static_cast<std::streamsize>(buf.size()));
    const auto n = in.gcount();
    if (n > 0) EVP_DigestUpdate(ctx.get(), buf.data(), static_cast<std::size_t>(n));
  }
  if (in.bad()) return Fail(ErrorCode::kIo, fmt::format("{}: read error", path.string()));
  std::array<unsigned char, 32> md{};
  unsigned len = 0;
  EVP_DigestFinal_ex(ctx.get(), md.data(), &len);
  return core::ToHex(core::Bytes(reinterpret_cast<const std::byte*>(md.data()), len));
}

class Ingester {
 public:
  Ingester(Db& db, IngestResult& result) : db_(db), result_(result) {}

  // Rows are written with `provisional_host_id` (the host id this archive is
  // expected to get); Finish corrects them when the manifest says otherwise.
  Result<void> Prepare(std::int64_t collection_id, std::int64_t provisional_host_id) {
    collection_id_ = collection_id;
    host_id_ = provisional_host_id;
    for (const auto* spec : core::profile::RecordTables()) {
      auto w = TableWriter::Create(db_, *spec);
      if (!w) return std::unexpected(w.error());
      writers_.emplace(std::string(spec->table), std::move(*w));
    }
    auto other =
        db_.Prepare("INSERT INTO other_records (collection_id, host_id, table_name, record) VALUES (?1, ?2, ?3, ?4)");
    if (!other) return std::unexpected(other.error());
    other_ = std::move(*other);
    auto log = db_.Prepare("INSERT INTO collection_log (collection_id, level, event, line) VALUES (?1, ?2, ?3, ?4)");
    if (!log) return std::unexpected(log.error());
    log_ = std::move(*log);
    auto pf = PrefetchIngest::Create(db_);
    if (!pf) return std::unexpected(pf.error());
    prefetch_.emplace(std::move(*pf));
    auto ev = EvtxIngest::Create(db_);
    if (!ev) return std::unexpected(ev.error());
    evtx_.emplace(std::move(*ev));
    auto reg = RegistryIngest::Create(db_);
    if (!reg) return std::unexpected(reg.error());
    registry_.emplace(std::move(*reg));
    auto e = db_.Prepare(
        "INSERT INTO archive_entries (collection_id, archive_path, source_path, type, size, sha256, status, error, "
        "artifact) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)");
    if (!e) return std::unexpected(e.error());
    entry_ = std::move(*e);
    auto p = db_.Prepare(
        "INSERT OR IGNORE INTO pe (sha256, machine, is_dll, is_64, timestamp, subsystem, imphash, signed, signer, "
        "issuer, serial, digest_algorithm, digest_matches, padding_anomaly, padding_bytes, padding_feedface, "
        "company_name, product_name, product_version, file_version, original_filename, internal_name, "
        "file_description, overlay_size, overlay_entropy, notes) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, "
        "?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20, ?21, ?22, ?23, ?24, ?25, ?26)");
    if (!p) return std::unexpected(p.error());
    pe_insert_ = std::move(*p);
    return {};
  }

  // A record member's lines, split and (where flat) parsed on the feed's
  // worker thread (triage/ingest_feed.h).
  Result<void> VisitRecords(const core::archive::MemberInfo& info, LineSource& lines) {
    const std::string& name = info.name;
    const std::string table = core::archive::RecordTableOf(name).value_or("");
    auto it = writers_.find(table);
    TableWriter* writer = it != writers_.end() ? &it->second : nullptr;
    const bool files = table == "files";
    while (true) {
      auto next = lines.Next();
      if (!next) return std::unexpected(next.error());
      if (*next == nullptr) return {};
      const FedLine& line = **next;
      // Flat records (all the collector writes) skip the DOM; anything else
      // goes through nlohmann as before, errors included.
      if (writer != nullptr && line.flat) {
        ++result_.records;
        TRAWL_TRY_VOID(AtLine(Row(table), name, line.line_no));
        if (files) NoteCopiedPrefetch(line.fields);
        TRAWL_TRY_VOID(AtLine(writer->Insert(collection_id_, host_id_, line.fields), name, line.line_no));
        continue;
      }
      auto rec = ParseLine(name, line.raw, line.line_no);
      if (!rec) return std::unexpected(rec.error());
      ++result_.records;
      TRAWL_TRY_VOID(AtLine(Row(writer != nullptr ? table : std::string("other_records")), name, line.line_no));
      TRAWL_TRY_VOID(AtLine(AddRecord(table, writer, *rec), name, line.line_no));
    }
  }

  // Every other member.
  Result<void> Visit(const core::archive::MemberInfo& info, core::archive::MemberStream& stream) {
    const std::string& name = info.name;
    if (name == core::archive::kLogMember) {
      return ReadLines(name, stream, kMaxLine, [&](std::string_view line, std::uint64_t line_no) -> Result<void> {
        auto parsed = ParseLine(name, line, line_no);
        if (!parsed) return std::unexpected(parsed.error());
        const json& rec = *parsed;
        TRAWL_TRY_VOID(AtLine(Row("collection_log"), name, line_no));
        log_.Bind(1, collection_id_);
        if (auto it = rec.find("level"); it != rec.end() && it->is_string())
          log_.Bind(2, std::string_view(WithoutNul(it->get_ref<const std::string&>())));
        if (auto it = rec.find("event"); it != rec.end() && it->is_string())
          log_.Bind(3, std::string_view(WithoutNul(it->get_ref<const std::string&>())));
        log_.Bind(4, std::string_view(rec.dump(-1, ' ', false, json::error_handler_t::replace)));
        return AtLine(log_.Run(), name, line_no);
      });
    }
    if (!core::archive::IsCopiedContent(name)) return {};
    if (core::EndsWithIgnoreCaseAscii(name, ".pf") && name.starts_with(core::archive::kFilesPrefix)) {
      auto parsed = prefetch_->Add(collection_id_, host_id_, name, stream,
                                   [this](const std::string& table) { return Row(table); });
      if (!parsed) return std::unexpected(parsed.error());
      if (*parsed) ++result_.prefetch;
      return {};
    }
    if (name.starts_with(core::archive::kFilesPrefix) && RegistryIngest::Wants(name))
      return registry_->Add(name, stream);
    if (EvtxIngest::Wants(name))
      return evtx_->Add(collection_id_, host_id_, name, stream,
                        [this](const std::string& table) { return Row(table); });
    return MaybePe(name, stream);
  }

  // One manifest entry, as the walk checked it: its row, and the PE facts
  // of its member keyed by the member's (verified) content hash.
  Result<void> OnEntry(const core::archive::ManifestEntry& entry) {
    TRAWL_TRY_VOID(Row("archive_entries"));
    entry_.Bind(1, collection_id_);
    if (entry.archive_path)
      entry_.Bind(2, std::string_view(WithoutNul(*entry.archive_path)));
    else
      entry_.BindNull(2);
    entry_.Bind(3, std::string_view(WithoutNul(entry.source_path)));
    entry_.Bind(4, std::string_view(WithoutNul(entry.type)));
    entry_.Bind(5, static_cast<std::int64_t>(entry.size));
    if (entry.sha256)
      entry_.Bind(6, std::string_view(*entry.sha256));
    else
      entry_.BindNull(6);
    entry_.Bind(7, std::string_view(entry.status));
    entry_.Bind(8, std::string_view(WithoutNul(entry.error)));
    entry_.Bind(9, std::string_view(WithoutNul(entry.artifact)));
    TRAWL_TRY_VOID(entry_.Run());
    if (!entry.archive_path || !entry.sha256) return {};
    auto it = pe_.find(*entry.archive_path);
    if (it == pe_.end()) return {};
    const PeFacts& f = it->second;
    TRAWL_TRY_VOID(Row("pe"));
    Stmt& p = pe_insert_;
    int i = 1;
    p.Bind(i++, std::string_view(*entry.sha256));
    p.Bind(i++, std::string_view(f.machine));
    p.Bind(i++, static_cast<std::int64_t>(f.is_dll));
    p.Bind(i++, static_cast<std::int64_t>(f.is_64));
    p.Bind(i++, f.timestamp);
    p.Bind(i++, std::string_view(f.subsystem));
    p.Bind(i++, std::string_view(f.imphash));
    p.Bind(i++, static_cast<std::int64_t>(f.signed_));
    p.Bind(i++, std::string_view(f.signer));
    p.Bind(i++, std::string_view(f.issuer));
    p.Bind(i++, std::string_view(f.serial));
    p.Bind(i++, std::string_view(f.digest_algorithm));
    p.Bind(i++, static_cast<std::int64_t>(f.digest_matches));
    p.Bind(i++, static_cast<std::int64_t>(f.padding_anomaly));
    p.Bind(i++, f.padding_bytes);
    p.Bind(i++, static_cast<std::int64_t>(f.feedface));
    p.Bind(i++, std::string_view(f.company));
    p.Bind(i++, std::string_view(f.product));
    p.Bind(i++, std::string_view(f.product_version));
    p.Bind(i++, std::string_view(f.file_version));
    p.Bind(i++, std::string_view(f.original_filename));
    p.Bind(i++, std::string_view(f.internal_name));
    p.Bind(i++, std::string_view(f.description));
    p.Bind(i++, f.overlay_size);
    if (f.overlay_entropy)
      p.Bind(i++, *f.overlay_entropy);
    else
      p.BindNull(i++);
    p.Bind(i++, std::string_view(f.notes.dump()));
    TRAWL_TRY_VOID(p.Run());
    ++result_.pe;
    return {};
  }

  // After a verified walk: hosts, collection facts, host ids, paths, and the
  // archives that claim the same collection.
  Result<void> Finish(const core::archive::Manifest& m, const std::string& content_sha256) {
    auto outcome = WriteCollection(db_, {collection_id_, archive_name_, archive_sha256_, content_sha256}, m);
    if (!outcome) return std::unexpected(outcome.error());
    result_.hostname = outcome->hostname;
    if (!outcome->duplicate_of.empty()) {
      duplicate_of_ = outcome->duplicate_of;
      return {};
    }
    result_.conflict = outcome->conflict;
    // Rows of this transaction have ids above first_row: no index needed.
    // Usually the provisional id was right and nothing is rewritten.
    if (outcome->host_id != host_id_) {
      for (const auto& [t, first] : first_rows_) {
        auto u = db_.Prepare(fmt::format("UPDATE {} SET host_id = ?1 WHERE id > ?2", StorageTableOf(t)));
        if (!u) return std::unexpected(u.error());
        u->Bind(1, outcome->host_id);
        u->Bind(2, first);
        TRAWL_TRY_VOID(u->Run());
      }
      host_id_ = outcome->host_id;
    }
    // Prefetch files' target paths, from the files records that copied them.
    TRAWL_TRY_VOID(prefetch_->FillPaths());
    TRAWL_TRY_VOID(evtx_->FillPaths());
    result_.event_logs = evtx_->logs();
    result_.events = evtx_->records();
    // Hives (with their logs) and task files, now that all are in.
    TRAWL_TRY_VOID(
        registry_->Finish(collection_id_, host_id_, [this](const std::string& table) { return Row(table); }));
    result_.hives = registry_->hives();
    result_.tasks = registry_->tasks();
    return {};
  }

  void SetArchive(std::string name, std::string sha256) {
    archive_name_ = std::move(name);
    archive_sha256_ = std::move(sha256);
  }
  void SetMaxRows(std::uint64_t max_rows) { max_rows_ = max_rows; }

  // Rows this archive adds to `table` get ids above `max_id`.
  void SetFirstRow(const std::string& table, std::int64_t max_id) { first_rows_[table] = max_id; }
  const std::string& duplicate_of() const { return duplicate_of_; }
  std::int64_t host_id() const { return host_id_; }

 private:
  // Counts one row of `table` for this archive; past max_rows_ the archive
  // is refused (a few KB of identical deflated lines make millions of rows).
  Result<void> Row(const std::string& table) {
    auto it = rows_.find(table);
    if (it == rows_.end()) it = rows_.emplace(table, 0).first;
    if (++it->second > max_rows_) {
      return Fail(ErrorCode::kLimit, fmt::format("more than {} rows for table {} from one archive; raise --max-rows "
                                                 "for a genuine collection this large",
                                                 max_rows_, table));
    }
    return {};
  }

  static Result<void> AtLine(Result<void> r, const std::string& member, std::uint64_t line_no) {
    if (!r) return std::unexpected(r.error().WithContext(fmt::format("{}: line {}", member, line_no)));
    return {};
  }

  // The DOM parse of one line, with the nesting check first.
  static Result<json> ParseLine(const std::string& member, std::string_view line, std::uint64_t line_no) {
    // nlohmann parses deep nesting but dump()/copies recurse per level:
    // a line of a million '[' would overflow the stack (core/util/json_depth.h).
    if (auto depth = core::CheckJsonNesting(line, member); !depth) {
      return Fail(ErrorCode::kLimit, fmt::format("line {}: {}", line_no, depth.error().message));
    }
    json rec = json::parse(line, nullptr, false);
    if (rec.is_discarded() || !rec.is_object()) {
      return Fail(ErrorCode::kFormat, fmt::format("{}: line {}: not a JSON object", member, line_no));
    }
    return rec;
  }

  // A files record that copied a prefetch file: the .pf's path on the target.
  void NoteCopiedPrefetch(std::span<const FlatField> rec) {
    const FlatValue* copied = nullptr;
    const FlatValue* path = nullptr;
    for (const FlatField& f : rec) {
      if (f.key == "copied_as")
        copied = &f.value;
      else if (f.key == "path")
        path = &f.value;
    }
    if (copied == nullptr || copied->type != FlatValue::Type::kString || path == nullptr ||
        path->type != FlatValue::Type::kString)
      return;
    if (core::EndsWithIgnoreCaseAscii(copied->text, ".pf"))
      prefetch_->NoteCopied(std::string(copied->text), std::string(path->text));
    else if (RegistryIngest::Wants(copied->text))
      registry_->NoteCopied(std::string(copied->text), std::string(path->text));
    else if (EvtxIngest::Wants(copied->text))
      evtx_->NoteCopied(std::string(copied->text), std::string(path->text));
  }

  Result<void> AddRecord(const std::string& table, TableWriter* writer, const json& rec) {
    if (writer != nullptr) {
      if (table == "files") {
        auto c = rec.find("copied_as");
        auto p = rec.find("path");
        if (c != rec.end() && c->is_string() && p != rec.end() && p->is_string()) {
          if (core::EndsWithIgnoreCaseAscii(c->get_ref<const std::string&>(), ".pf"))
            prefetch_->NoteCopied(c->get<std::string>(), p->get<std::string>());
          else if (RegistryIngest::Wants(c->get_ref<const std::string&>()))
            registry_->NoteCopied(c->get<std::string>(), p->get<std::string>());
          else if (EvtxIngest::Wants(c->get_ref<const std::string&>()))
            evtx_->NoteCopied(c->get<std::string>(), p->get<std::string>());
        }
      }
      return writer->Insert(collection_id_, host_id_, rec);
    }
    other_.Bind(1, collection_id_);
    other_.Bind(2, host_id_);
    other_.Bind(3, std::string_view(table));
    other_.Bind(4, std::string_view(rec.dump(-1, ' ', false, json::error_handler_t::replace)));
    return other_.Run();
  }

  Result<void> MaybePe(const std::string& member, core::archive::MemberStream& stream) {
    std::vector<std::byte> buf(1 << 20);
    auto n = stream.Read(buf);
    if (!n) return std::unexpected(n.error());
    if (*n < 2 || buf[0] != std::byte{'M'} || buf[1] != std::byte{'Z'}) return {};
    core::formats::PeAnalyzer pe;
    std::uint64_t fed = 0;
    while (*n > 0 && fed < kMaxPeAnalysis) {
      pe.Update(core::Bytes(buf.data(), *n));
      fed += *n;
      n = stream.Read(buf);
      if (!n) return std::unexpected(n.error());
    }
    if (fed >= kMaxPeAnalysis) return {};  // too large to judge; the rest is drained by the walk
    auto info = pe.Finish();
    if (info) pe_.emplace(member, ToFacts(*info));
    return {};
  }

  Db& db_;
  IngestResult& result_;
  std::int64_t collection_id_ = 0;
  std::map<std::string, std::int64_t, std::less<>> first_rows_;
  std::map<std::string, TableWriter, std::less<>> writers_;
  std::int64_t host_id_ = 0;  // provisional until Finish
  Stmt other_, log_, entry_, pe_insert_;
  std::optional<PrefetchIngest> prefetch_;
  std::optional<RegistryIngest> registry_;
  std::optional<EvtxIngest> evtx_;
  std::map<std::string, std::uint64_t, std::less<>> rows_;
  std::uint64_t max_rows_ = IngestOptions{}.max_rows_per_table;
  std::string archive_name_, archive_sha256_;
  std::map<std::string, PeFacts, std::less<>> pe_;
  std::string duplicate_of_;
};

// The host id this archive will most likely get, known before the manifest
// (the last member) is read: the existing host whose name the collector put
// at the start of the file name (core::archive::ArchiveBaseName),
// else the id a new host gets (INTEGER PRIMARY KEY: max + 1). A wrong guess
// only costs Finish one UPDATE per table.
Result<std::int64_t> GuessHostId(Db& db, const std::string& archive_name) {
  auto s = db.Prepare("SELECT id, hostname FROM hosts");
  if (!s) return std::unexpected(s.error());
  std::int64_t max_id = 0;
  std::int64_t match = 0;
  int matches = 0;
  while (true) {
    auto row = s->Step();
    if (!row) return std::unexpected(row.error());
    if (!*row) break;
    const std::int64_t id = s->Int(0);
    max_id = std::max(max_id, id);
    const std::string safe = core::archive::SafeHostName(s->Text(1));
    if (!safe.empty() && archive_name.starts_with(safe + "_")) {
      match = id;
      ++matches;
    }
  }
  return matches == 1 ? match : max_id + 1;
}

}  // namespace

Result<std::int64_t> MaxRowId(Db& db, std::string_view table) {
  auto s = db.Prepare(fmt::format("SELECT coalesce(max(id), 0) FROM main.{}", StorageTableOf(table)));
  if (!s) return std::unexpected(s.error());
  TRAWL_TRY_VOID(s->Step());
  return s->Int(0);
}

std::vector<std::string> RangedTables() {
  std::vector<std::string> tables = {"other_records",  "prefetch",   "prefetch_runs",
                                     "prefetch_files", "event_logs", "event_records"};
  for (const auto& t : RegistryIngest::Tables()) tables.push_back(t);
  for (const auto* spec : core::profile::RecordTables()) tables.emplace_back(spec->table);
  return tables;
}

Result<void> UpdatePlannerStatistics(Db& db) {
  // Planner statistics, sampled (a few hundred rows per index, milliseconds
  // at any case size): without them SQLite joins the files view's tables in
  // declaration order and builds automatic indexes over every file row.
  // A table ANALYZE found empty gets no statistics, and SQLite then assumes a
  // million rows: a rule joining `pe` (empty until PE members are copied)
  // would start from the fleet-wide file_contents instead. Such tables are
  // recorded as small until the next ANALYZE sees rows.
  TRAWL_TRY_VOID(db.Exec(
      "PRAGMA analysis_limit=400; ANALYZE; INSERT INTO sqlite_stat1 (tbl, idx, stat) SELECT name, NULL, '1' FROM "
      "sqlite_schema s WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND NOT EXISTS (SELECT 1 FROM sqlite_stat1 "
      "t WHERE t.tbl = s.name)"));
  // Sampling a few hundred entries cannot tell how many hosts file_rows
  // holds; its indexes lead with host_id, and only a true rows-per-host lets
  // SQLite skip from host to host for a lookup by path or content over the
  // whole case (report, stack, IOC rules) instead of building an automatic
  // index over every row. Rows (max id) per host, and about one row per
  // (host, path) and two per (host, content), are written here instead.
  TRAWL_TRY_VOID(db.Exec(
      "UPDATE sqlite_stat1 SET stat = (SELECT printf('%d %d %d', n, max(n / h, 1), "
      "CASE WHEN sqlite_stat1.idx = 'file_rows_path' THEN 1 ELSE 2 END) "
      "FROM (SELECT (SELECT coalesce(max(id), 0) FROM file_rows) AS n, (SELECT max(count(*), 1) FROM hosts) AS h)) "
      "WHERE tbl = 'file_rows' AND idx IN ('file_rows_path', 'file_rows_content')"));
  return {};
}

IngestResult IngestArchive(Db& db, const std::filesystem::path& archive,
                           const std::vector<core::age::Identity>& identities, const IngestOptions& options) {
  IngestResult result;
  result.archive = archive.string();
  auto fail = [&](const core::Error& e) {
    result.status = IngestResult::Status::kSkipped;
    result.reason = e.ToString();
    return result;
  };
  auto sha = FileSha256(archive);
  if (!sha) return fail(sha.error());
  {
    auto s = db.Prepare("SELECT archive_name FROM collections WHERE archive_sha256 = ?1");
    if (!s) return fail(s.error());
    s->Bind(1, std::string_view(*sha));
    if (auto row = s->Step(); row && *row) {
      result.status = IngestResult::Status::kDuplicate;
      result.reason = "already in the case as " + s->Text(0);
      return result;
    }
  }
  if (auto b = db.Exec("BEGIN IMMEDIATE"); !b) return fail(b.error());
  auto rollback = [&](const core::Error& e) {
    (void)db.Exec("ROLLBACK");
    return fail(e);
  };
  // Rows of this archive get ids above the current maxima (one writer: the
  // transaction is IMMEDIATE), so host ids are filled in without an index.
  std::map<std::string, std::int64_t> first_rows;
  for (const std::string& t : RangedTables()) {
    auto m = MaxRowId(db, t);
    if (!m) return rollback(m.error());
    first_rows[t] = *m;
  }
  // Full secondary indexes of the tables this archive fills from empty (the
  // first archive of a case) are dropped for the load and built once before
  // the commit: sorting once is faster than growing them row by row, and
  // packs them denser. Tables that already hold rows keep their indexes.
  std::vector<std::string> deferred_indexes;
  for (const auto& [t, m] : first_rows) {
    if (m != 0) continue;
    auto dropped = DropFullIndexes(db, StorageTableOf(t));
    if (!dropped) return rollback(dropped.error());
    deferred_indexes.insert(deferred_indexes.end(), dropped->begin(), dropped->end());
  }
  auto ins = db.Prepare("INSERT INTO collections (archive_name, archive_sha256, ingested_at) VALUES (?1, ?2, ?3)");
  if (!ins) return rollback(ins.error());
  ins->Bind(1, std::string_view(archive.filename().string()));
  ins->Bind(2, std::string_view(*sha));
  ins->Bind(3, std::string_view(core::IsoUtcNow()));
  if (auto r = ins->Run(); !r) return rollback(r.error());
  const std::int64_t collection_id = db.LastInsertRowId();
  result.collection_id = collection_id;
  auto host_guess = GuessHostId(db, archive.filename().string());
  if (!host_guess) return rollback(host_guess.error());
  Ingester ingester(db, result);
  if (auto r = ingester.Prepare(collection_id, *host_guess); !r) return rollback(r.error());
  for (const auto& [t, m] : first_rows) ingester.SetFirstRow(t, m);
  ingester.SetArchive(archive.filename().string(), *sha);
  ingester.SetMaxRows(options.max_rows_per_table);
  // Decryption, inflation, hashing and record parsing on a worker thread;
  // this thread writes.
  FeedOptions walk;
  walk.limits = options.limits;
  walk.max_line = kMaxLine;
  walk.is_records = [](std::string_view member) { return core::archive::RecordTableOf(member).has_value(); };
  walk.records = [&](const core::archive::MemberInfo& info, LineSource& lines) {
    return ingester.VisitRecords(info, lines);
  };
  walk.visit = [&](const core::archive::MemberInfo& info, core::archive::MemberStream& stream) {
    return ingester.Visit(info, stream);
  };
  walk.on_entry = [&](const core::archive::ManifestEntry& entry, std::uint64_t) { return ingester.OnEntry(entry); };
  auto report = WalkArchiveFed(archive, identities, walk);
  if (!report) return rollback(report.error());
  if (!report->ok || !report->manifest) {
    result.problems = report->problems;
    if (result.problems.empty()) result.problems.push_back({"manifest.json", "missing"});
    const auto& first = result.problems.front();
    return rollback(
        core::Error{core::ErrorCode::kFormat,
                    fmt::format("{}: did not verify, not ingested: {} problem(s); first: {}: {}",
                                archive.filename().string(), result.problems.size(), first.member, first.problem)});
  }
  if (auto r = ingester.Finish(*report->manifest, report->content_sha256); !r) return rollback(r.error());
  if (!ingester.duplicate_of().empty()) {
    (void)db.Exec("ROLLBACK");
    result.status = IngestResult::Status::kDuplicate;
    result.reason =
        "the same collection (identical decrypted content) is already in the case as " + ingester.duplicate_of();
    return result;
  }
  for (const auto& sql : deferred_indexes) {
    if (auto r = db.Exec(sql); !r) return rollback(r.error());
  }
  // This collection's id range in each table, for scoring only the hosts that changed.
  {
    auto s = db.Prepare(
        "INSERT OR REPLACE INTO collection_rows (collection_id, table_name, first_id, last_id) VALUES (?1, ?2, ?3, "
        "?4)");
    if (!s) return rollback(s.error());
    for (const auto& [t, first] : first_rows) {
      auto last = MaxRowId(db, t);
      if (!last) return rollback(last.error());
      s->Bind(1, collection_id);
      s->Bind(2, std::string_view(t));
      s->Bind(3, first + 1);
      s->Bind(4, *last);
      if (auto r = s->Run(); !r) return rollback(r.error());
    }
  }
  if (auto c = db.Exec("COMMIT"); !c) return rollback(c.error());
  // Only speed depends on them: a failure is not the archive's (the next
  // ingest tries again).
  (void)UpdatePlannerStatistics(db);
  result.host_id = ingester.host_id();
  result.status = IngestResult::Status::kIngested;
  return result;
}

}  // namespace trawl::triage
