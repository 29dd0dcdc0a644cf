// SPDX-License-Identifier: Apache-2.0
#include "triage/ingest.h"

#include <openssl/evp.h>

#include <array>
#include <fstream>
#include <map>
#include <optional>
#include <unordered_map>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "core/formats/pe.h"
#include "core/formats/prefetch.h"
#include "core/profile/kinds.h"
#include "core/util/json_depth.h"
#include "core/util/text.h"
#include "core/util/time.h"

namespace trawl::triage {
namespace {

using core::ErrorCode;
using core::Fail;
using core::Result;
using nlohmann::json;

constexpr std::size_t kMaxLine = 64u << 20;          // one JSON record
constexpr std::uint64_t kMaxPrefetch = 64u << 20;     // as the parser's own cap
constexpr std::uint64_t kMaxPeAnalysis = 512u << 20;  // bytes fed to the PE analyzer per member

std::string Lower(std::string_view s) { return core::ToLowerAscii(s); }

std::string ExtOf(std::string_view name_lc) {
  const auto dot = name_lc.rfind('.');
  return dot == std::string_view::npos || dot == 0 ? std::string() : std::string(name_lc.substr(dot + 1));
}

Result<std::string> FileSha256(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Fail(ErrorCode::kIo, fmt::format("{}: cannot open", path.string()));
  std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx(EVP_MD_CTX_new(), EVP_MD_CTX_free);
  if (!ctx || EVP_DigestInit_ex(ctx.get(), EVP_sha256(), nullptr) != 1) return Fail(ErrorCode::kInternal, "SHA-256 init failed");
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

// Bound INSERT for one record table, its columns in declaration order.
class TableWriter {
 public:
  static Result<TableWriter> Create(Db& db, const core::profile::RecordSpec& spec) {
    TableWriter w;
    w.table_ = std::string(spec.table);
    std::string cols = "collection_id";
    std::string params = "?1";
    int i = 2;
    for (const auto& c : spec.columns) {
      w.index_.emplace(std::string(c.name), i);
      cols += fmt::format(", \"{}\"", c.name);
      params += fmt::format(", ?{}", i++);
    }
    for (const auto& d : DerivedColumns(spec.table)) {
      if (w.index_.contains(d)) {
        w.derived_.emplace_back(d, w.index_[d]);
        continue;
      }
      w.derived_.emplace_back(d, i);
      cols += fmt::format(", \"{}\"", d);
      params += fmt::format(", ?{}", i++);
    }
    w.extra_index_ = i;
    cols += ", extra";
    params += fmt::format(", ?{}", i);
    auto s = db.Prepare(fmt::format("INSERT INTO {} ({}) VALUES ({})", spec.table, cols, params));
    if (!s) return std::unexpected(s.error().WithContext(std::string(spec.table)));
    w.stmt_ = std::move(*s);
    return w;
  }

  Result<void> Insert(std::int64_t collection_id, const json& record) {
    stmt_.Bind(1, collection_id);
    json extra;  // stays null unless the record has undeclared fields
    for (auto field = record.begin(); field != record.end(); ++field) {
      const std::string& key = field.key();
      const json& value = field.value();
      auto it = index_.find(key);
      if (it == index_.end()) {
        extra[key] = value;
        continue;
      }
      const int i = it->second;
      switch (value.type()) {
        case json::value_t::boolean: stmt_.Bind(i, static_cast<std::int64_t>(value.get<bool>() ? 1 : 0)); break;
        case json::value_t::number_integer: stmt_.Bind(i, value.get<std::int64_t>()); break;
        case json::value_t::number_unsigned: {
          const auto u = value.get<std::uint64_t>();
          if (u <= static_cast<std::uint64_t>(INT64_MAX)) stmt_.Bind(i, static_cast<std::int64_t>(u));
          else stmt_.Bind(i, std::string_view(std::to_string(u)));
          break;
        }
        case json::value_t::number_float: stmt_.Bind(i, value.get<double>()); break;
        case json::value_t::string: stmt_.Bind(i, std::string_view(value.get_ref<const std::string&>())); break;
        case json::value_t::null: stmt_.BindNull(i); break;
        default: stmt_.Bind(i, std::string_view(value.dump(-1, ' ', false, json::error_handler_t::replace))); break;
      }
    }
    BindDerived(record);
    if (extra.is_object() && !extra.empty()) stmt_.Bind(extra_index_, std::string_view(extra.dump(-1, ' ', false, json::error_handler_t::replace)));
    return stmt_.Run();
  }

  const std::string& table() const { return table_; }

 private:
  static std::string Str(const json& r, const char* key) {
    auto it = r.find(key);
    return it != r.end() && it->is_string() ? it->get<std::string>() : std::string();
  }

  void BindDerived(const json& r) {
    if (derived_.empty()) return;
    // Computed straight into the bound slots: this runs once per record.
    auto bind = [&](std::string_view name, std::string_view value) {
      for (const auto& [col, index] : derived_) {
        if (col == name) stmt_.Bind(index, value);
      }
    };
    if (table_ == "files" || table_ == "modules") {
      const auto [dir, name] = SplitTargetPath(Str(r, "path"));
      const std::string name_lc = Lower(name);
      bind("name", name);
      bind("dir", dir);
      bind("name_lc", name_lc);
      bind("dir_lc", Lower(dir));
      bind("ext_lc", ExtOf(name_lc));
    } else if (table_ == "processes") {
      const auto [dir, name] = SplitTargetPath(Str(r, "exe"));
      bind("exe_name_lc", Lower(name));
      bind("exe_dir_lc", Lower(dir));
    } else if (table_ == "dir_entries") {
      bind("name_lc", Lower(Str(r, "name")));
      bind("dir_lc", Lower(Str(r, "dir")));
    }
  }

  std::string table_;
  Stmt stmt_;
  std::unordered_map<std::string, int> index_;
  std::vector<std::pair<std::string, int>> derived_;
  int extra_index_ = 0;
};

struct PeFacts {
  std::string machine, subsystem, imphash, signer, issuer, serial, digest_algorithm;
  bool is_dll = false, is_64 = false, signed_ = false, digest_matches = false, padding_anomaly = false,
       feedface = false;
  std::int64_t timestamp = 0, padding_bytes = 0, overlay_size = 0;
  std::optional<double> overlay_entropy;
  std::string company, product, product_version, file_version, original_filename, internal_name, description;
  json notes = json::array();
};

PeFacts ToFacts(const core::formats::PeInfo& pe) {
  PeFacts f;
  f.machine = pe.machine_name;
  f.subsystem = pe.subsystem_name;
  f.imphash = pe.imphash;
  f.is_dll = pe.is_dll;
  f.is_64 = pe.is_64;
  f.timestamp = pe.timestamp;
  const auto& a = pe.authenticode;
  f.signed_ = a.signed_;
  f.signer = a.signer_subject;
  f.issuer = a.issuer;
  f.serial = a.serial;
  f.digest_algorithm = a.digest_algorithm;
  f.digest_matches = a.digest_matches;
  f.padding_anomaly = a.padding_anomaly;
  f.padding_bytes = static_cast<std::int64_t>(a.padding_bytes);
  f.feedface = a.padding_marker_feedface;
  if (pe.overlay) {
    f.overlay_size = static_cast<std::int64_t>(pe.overlay->size);
    f.overlay_entropy = pe.overlay->entropy;
  }
  f.company = pe.VersionString("CompanyName");
  f.product = pe.VersionString("ProductName");
  f.product_version = pe.VersionString("ProductVersion");
  f.file_version = pe.VersionString("FileVersion");
  f.original_filename = pe.VersionString("OriginalFilename");
  f.internal_name = pe.VersionString("InternalName");
  f.description = pe.VersionString("FileDescription");
  for (const auto& n : pe.notes) f.notes.push_back(core::RepairUtf8(n));
  for (const auto& n : a.notes) f.notes.push_back(core::RepairUtf8(n));
  return f;
}

// "\VOLUME{01d...}\WINDOWS\X.DLL" or "\DEVICE\HARDDISKVOLUME2\WINDOWS\X.DLL" -> "\windows\x.dll".
std::string StripVolume(std::string_view nt) {
  if (nt.starts_with("\\VOLUME{") || nt.starts_with("\\volume{")) {
    const auto close = nt.find('}');
    if (close != std::string_view::npos) nt.remove_prefix(close + 1);
  } else if (core::ToUpperAscii(nt.substr(0, 8)) == "\\DEVICE\\") {
    const auto third = nt.find('\\', 8);
    nt = third == std::string_view::npos ? std::string_view() : nt.substr(third);
  }
  return Lower(nt);
}

class Ingester {
 public:
  Ingester(Db& db, IngestResult& result) : db_(db), result_(result) {}

  Result<void> Prepare(std::int64_t collection_id) {
    collection_id_ = collection_id;
    for (const auto* spec : core::profile::RecordTables()) {
      auto w = TableWriter::Create(db_, *spec);
      if (!w) return std::unexpected(w.error());
      writers_.emplace(std::string(spec->table), std::move(*w));
    }
    auto other = db_.Prepare("INSERT INTO other_records (collection_id, table_name, record) VALUES (?1, ?2, ?3)");
    if (!other) return std::unexpected(other.error());
    other_ = std::move(*other);
    auto log = db_.Prepare("INSERT INTO collection_log (collection_id, level, event, line) VALUES (?1, ?2, ?3, ?4)");
    if (!log) return std::unexpected(log.error());
    log_ = std::move(*log);
    auto pf = db_.Prepare(
        "INSERT INTO prefetch (collection_id, archive_path, executable, executable_lc, prefetch_hash, version, "
        "compressed, run_count, last_run, run_times, exe_path, exe_dir_lc, error) "
        "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)");
    if (!pf) return std::unexpected(pf.error());
    prefetch_ = std::move(*pf);
    auto runs = db_.Prepare("INSERT INTO prefetch_runs (prefetch_id, run_time) VALUES (?1, ?2)");
    if (!runs) return std::unexpected(runs.error());
    prefetch_runs_ = std::move(*runs);
    auto pff = db_.Prepare("INSERT INTO prefetch_files (prefetch_id, idx, path, rel_path_lc, dir_lc, name_lc) "
                           "VALUES (?1, ?2, ?3, ?4, ?5, ?6)");
    if (!pff) return std::unexpected(pff.error());
    prefetch_files_ = std::move(*pff);
    return {};
  }

  Result<void> Visit(const core::archive::MemberInfo& info, core::archive::MemberStream& stream) {
    const std::string& name = info.name;
    if (name.starts_with("records/") && name.ends_with(".jsonl")) {
      std::string table = name.substr(8);
      table = table.substr(0, table.find('.'));
      return ReadLines(name, stream, [&](const json& rec) { return AddRecord(table, rec); });
    }
    if (name == "log.jsonl") {
      return ReadLines(name, stream, [&](const json& rec) -> Result<void> {
        log_.Bind(1, collection_id_);
        if (auto it = rec.find("level"); it != rec.end() && it->is_string()) log_.Bind(2, std::string_view(it->get_ref<const std::string&>()));
        if (auto it = rec.find("event"); it != rec.end() && it->is_string()) log_.Bind(3, std::string_view(it->get_ref<const std::string&>()));
        log_.Bind(4, std::string_view(rec.dump(-1, ' ', false, json::error_handler_t::replace)));
        return log_.Run();
      });
    }
    if (!(name.starts_with("files/") || name.starts_with("deleted/"))) return {};
    if (core::EndsWithIgnoreCaseAscii(name, ".pf") && name.starts_with("files/")) return AddPrefetch(name, stream);
    return MaybePe(name, stream);
  }

  // After a verified walk: hosts, collection facts, host ids, paths, PE rows.
  Result<void> Finish(const json& manifest) {
    const json host = manifest.value("host", json::object());
    std::string hostname = host.is_object() ? host.value("hostname", std::string()) : std::string();
    if (hostname.empty()) hostname = "(unnamed host)";
    result_.hostname = hostname;
    const std::string started = manifest.value("started", std::string());
    const std::int64_t part = manifest.value("part", 0);
    auto h = db_.Prepare(
        "INSERT INTO hosts (hostname, os, os_version, first_seen, last_seen) VALUES (?1, ?2, ?3, ?4, ?4) "
        "ON CONFLICT (hostname) DO UPDATE SET os = coalesce(excluded.os, os), "
        "os_version = coalesce(excluded.os_version, os_version), first_seen = min(first_seen, excluded.first_seen), "
        "last_seen = max(last_seen, excluded.last_seen)");
    if (!h) return std::unexpected(h.error());
    h->Bind(1, std::string_view(hostname));
    h->Bind(2, std::string_view(host.value("os", std::string())));
    h->Bind(3, std::string_view(host.value("os_version", std::string())));
    h->Bind(4, std::string_view(started));
    TRAWL_TRY_VOID(h->Run());
    auto id = db_.Prepare("SELECT id FROM hosts WHERE hostname = ?1");
    if (!id) return std::unexpected(id.error());
    id->Bind(1, std::string_view(hostname));
    TRAWL_TRY_VOID(id->Step());
    const std::int64_t host_id = id->Int(0);
    // The same collection under another archive file (re-encrypted, copied).
    auto dup = db_.Prepare("SELECT archive_name FROM collections WHERE host_id = ?1 AND started = ?2 AND part = ?3 AND id <> ?4");
    if (!dup) return std::unexpected(dup.error());
    dup->Bind(1, host_id);
    dup->Bind(2, std::string_view(started));
    dup->Bind(3, part);
    dup->Bind(4, collection_id_);
    if (auto row = dup->Step(); row && *row) {
      duplicate_of_ = dup->Text(0);
      return {};
    }
    auto c = db_.Prepare(
        "UPDATE collections SET host_id = ?1, started = ?2, ended = ?3, part = ?4, result = ?5, tool_version = ?6, "
        "profile_name = ?7, profile_sha256 = ?8, target_os = ?9, live = ?10, root = ?11, limits_hit = ?12, "
        "counts = ?13 WHERE id = ?14");
    if (!c) return std::unexpected(c.error());
    const json profile = manifest.value("profile", json::object());
    c->Bind(1, host_id);
    c->Bind(2, std::string_view(started));
    c->Bind(3, std::string_view(manifest.value("ended", std::string())));
    c->Bind(4, part);
    c->Bind(5, std::string_view(manifest.value("result", std::string())));
    c->Bind(6, std::string_view(manifest.value("tool_version", std::string())));
    c->Bind(7, std::string_view(profile.is_object() ? profile.value("name", std::string()) : std::string()));
    c->Bind(8, std::string_view(profile.is_object() ? profile.value("sha256", std::string()) : std::string()));
    c->Bind(9, std::string_view(manifest.value("target_os", std::string())));
    c->Bind(10, static_cast<std::int64_t>(host.is_object() && host.value("live", false) ? 1 : 0));
    c->Bind(11, std::string_view(host.is_object() ? host.value("root", std::string()) : std::string()));
    c->Bind(12, std::string_view(manifest.value("limits_hit", json::array()).dump()));
    c->Bind(13, std::string_view(manifest.value("counts", json::object()).dump()));
    c->Bind(14, collection_id_);
    TRAWL_TRY_VOID(c->Run());
    // Rows of this transaction have ids above first_row: no index needed.
    for (const auto& [t, first] : first_rows_) {
      auto u = db_.Prepare(fmt::format("UPDATE {} SET host_id = ?1 WHERE id > ?2", t));
      if (!u) return std::unexpected(u.error());
      u->Bind(1, host_id);
      u->Bind(2, first);
      TRAWL_TRY_VOID(u->Run());
    }
    // Prefetch files' target paths, from the files records that copied them.
    auto pp = db_.Prepare("UPDATE prefetch SET path = ?1 WHERE id = ?2");
    if (!pp) return std::unexpected(pp.error());
    for (const auto& [apath, row] : prefetch_rows_) {
      if (auto it = copied_paths_.find(apath); it != copied_paths_.end()) {
        pp->Bind(1, std::string_view(it->second));
        pp->Bind(2, row);
        TRAWL_TRY_VOID(pp->Run());
      }
    }
    // Manifest entries, and PE facts keyed by the verified content hash.
    auto e = db_.Prepare(
        "INSERT INTO archive_entries (collection_id, archive_path, source_path, type, size, sha256, status, error, "
        "artifact) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)");
    if (!e) return std::unexpected(e.error());
    std::map<std::string, std::string, std::less<>> sha_of;
    const json entries = manifest.value("entries", json::array());
    for (const auto& entry : entries) {
      if (!entry.is_object()) continue;
      const std::string apath = entry.value("archive_path", std::string());
      const std::string sha = entry.value("sha256", std::string());
      if (!apath.empty()) sha_of[apath] = sha;
      e->Bind(1, collection_id_);
      e->Bind(2, std::string_view(apath));
      e->Bind(3, std::string_view(entry.value("source_path", std::string())));
      e->Bind(4, std::string_view(entry.value("type", std::string())));
      e->Bind(5, entry.value("size", std::int64_t{0}));
      e->Bind(6, std::string_view(sha));
      e->Bind(7, std::string_view(entry.value("status", std::string())));
      e->Bind(8, std::string_view(entry.value("error", std::string())));
      e->Bind(9, std::string_view(entry.value("artifact", std::string())));
      TRAWL_TRY_VOID(e->Run());
    }
    auto p = db_.Prepare(
        "INSERT OR IGNORE INTO pe (sha256, machine, is_dll, is_64, timestamp, subsystem, imphash, signed, signer, "
        "issuer, serial, digest_algorithm, digest_matches, padding_anomaly, padding_bytes, padding_feedface, "
        "company_name, product_name, product_version, file_version, original_filename, internal_name, "
        "file_description, overlay_size, overlay_entropy, notes) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, "
        "?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20, ?21, ?22, ?23, ?24, ?25, ?26)");
    if (!p) return std::unexpected(p.error());
    for (const auto& [apath, f] : pe_) {
      auto it = sha_of.find(apath);
      if (it == sha_of.end() || it->second.empty()) continue;
      int i = 1;
      p->Bind(i++, std::string_view(it->second));
      p->Bind(i++, std::string_view(f.machine));
      p->Bind(i++, static_cast<std::int64_t>(f.is_dll));
      p->Bind(i++, static_cast<std::int64_t>(f.is_64));
      p->Bind(i++, f.timestamp);
      p->Bind(i++, std::string_view(f.subsystem));
      p->Bind(i++, std::string_view(f.imphash));
      p->Bind(i++, static_cast<std::int64_t>(f.signed_));
      p->Bind(i++, std::string_view(f.signer));
      p->Bind(i++, std::string_view(f.issuer));
      p->Bind(i++, std::string_view(f.serial));
      p->Bind(i++, std::string_view(f.digest_algorithm));
      p->Bind(i++, static_cast<std::int64_t>(f.digest_matches));
      p->Bind(i++, static_cast<std::int64_t>(f.padding_anomaly));
      p->Bind(i++, f.padding_bytes);
      p->Bind(i++, static_cast<std::int64_t>(f.feedface));
      p->Bind(i++, std::string_view(f.company));
      p->Bind(i++, std::string_view(f.product));
      p->Bind(i++, std::string_view(f.product_version));
      p->Bind(i++, std::string_view(f.file_version));
      p->Bind(i++, std::string_view(f.original_filename));
      p->Bind(i++, std::string_view(f.internal_name));
      p->Bind(i++, std::string_view(f.description));
      p->Bind(i++, f.overlay_size);
      if (f.overlay_entropy) p->Bind(i++, *f.overlay_entropy);
      else p->BindNull(i++);
      p->Bind(i++, std::string_view(f.notes.dump()));
      TRAWL_TRY_VOID(p->Run());
      ++result_.pe;
    }
    return {};
  }

  // Rows this archive adds to `table` get ids above `max_id`.
  void SetFirstRow(const std::string& table, std::int64_t max_id) { first_rows_[table] = max_id; }
  const std::string& duplicate_of() const { return duplicate_of_; }

 private:
  template <typename F>
  Result<void> ReadLines(const std::string& member, core::archive::MemberStream& stream, F&& on_record) {
    std::string pending;
    std::vector<std::byte> buf(1 << 20);
    std::uint64_t line_no = 0;
    auto handle = [&](std::string_view line) -> Result<void> {
      ++line_no;
      if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
      if (line.empty()) return {};
      // nlohmann parses deep nesting but dump()/copies recurse per level:
      // a line of a million '[' would overflow the stack (core/util/json_depth.h).
      if (auto depth = core::CheckJsonNesting(line, member); !depth) {
        return Fail(ErrorCode::kLimit, fmt::format("line {}: {}", line_no, depth.error().message));
      }
      json rec = json::parse(line, nullptr, false);
      if (rec.is_discarded() || !rec.is_object()) {
        return Fail(ErrorCode::kFormat, fmt::format("{}: line {}: not a JSON object", member, line_no));
      }
      auto r = on_record(rec);
      if (!r) return std::unexpected(r.error().WithContext(fmt::format("{}: line {}", member, line_no)));
      return {};
    };
    while (true) {
      auto n = stream.Read(buf);
      if (!n) return std::unexpected(n.error());
      if (*n == 0) break;
      std::string_view chunk(reinterpret_cast<const char*>(buf.data()), *n);
      std::size_t start = 0;
      while (true) {
        const auto nl = chunk.find('\n', start);
        if (nl == std::string_view::npos) {
          pending.append(chunk.substr(start));
          if (pending.size() > kMaxLine) {
            return Fail(ErrorCode::kLimit, fmt::format("{}: line {}: longer than {} bytes", member, line_no + 1, kMaxLine));
          }
          break;
        }
        if (pending.empty()) {
          TRAWL_TRY_VOID(handle(chunk.substr(start, nl - start)));
        } else {
          pending.append(chunk.substr(start, nl - start));
          TRAWL_TRY_VOID(handle(pending));
          pending.clear();
        }
        start = nl + 1;
      }
    }
    if (!pending.empty()) TRAWL_TRY_VOID(handle(pending));
    return {};
  }

  Result<void> AddRecord(const std::string& table, const json& rec) {
    ++result_.records;
    if (auto it = writers_.find(table); it != writers_.end()) {
      if (table == "files") {
        auto c = rec.find("copied_as");
        auto p = rec.find("path");
        if (c != rec.end() && c->is_string() && p != rec.end() && p->is_string() &&
            core::EndsWithIgnoreCaseAscii(c->get_ref<const std::string&>(), ".pf")) {
          copied_paths_[c->get<std::string>()] = p->get<std::string>();
        }
      }
      return it->second.Insert(collection_id_, rec);
    }
    other_.Bind(1, collection_id_);
    other_.Bind(2, std::string_view(table));
    other_.Bind(3, std::string_view(rec.dump(-1, ' ', false, json::error_handler_t::replace)));
    return other_.Run();
  }

  Result<void> AddPrefetch(const std::string& member, core::archive::MemberStream& stream) {
    auto data = stream.ReadAll(kMaxPrefetch);
    prefetch_.Bind(1, collection_id_);
    prefetch_.Bind(2, std::string_view(member));
    if (!data) {
      prefetch_.Bind(13, std::string_view(data.error().ToString()));
      TRAWL_TRY_VOID(prefetch_.Run());
      prefetch_rows_[member] = db_.LastInsertRowId();
      return {};
    }
    auto pf = core::formats::ParsePrefetch(core::AsBytes(*data));
    if (!pf) {
      // A broken prefetch file on the host is evidence, not a broken archive.
      prefetch_.Bind(13, std::string_view(pf.error().ToString()));
      TRAWL_TRY_VOID(prefetch_.Run());
      prefetch_rows_[member] = db_.LastInsertRowId();
      return {};
    }
    const std::string exe = core::RepairUtf8(pf->executable);
    const std::string exe_lc = Lower(exe);
    std::string exe_path;
    std::string exe_dir_lc;
    for (const auto& m : pf->file_metrics) {
      const std::string rel = StripVolume(m.filename);
      const auto [dir, name] = SplitTargetPath(rel);
      if (!exe_lc.empty() && name.starts_with(exe_lc) && core::EndsWithIgnoreCaseAscii(name, ".exe")) {
        exe_path = m.filename;
        exe_dir_lc = dir;
        break;
      }
    }
    json runs = json::array();
    for (auto t : pf->last_run_times) runs.push_back(core::FiletimeToIso(t));
    prefetch_.Bind(3, std::string_view(exe));
    prefetch_.Bind(4, std::string_view(exe_lc));
    prefetch_.Bind(5, std::string_view(fmt::format("{:08X}", pf->prefetch_hash)));
    prefetch_.Bind(6, static_cast<std::int64_t>(pf->version));
    prefetch_.Bind(7, static_cast<std::int64_t>(pf->compressed ? 1 : 0));
    prefetch_.Bind(8, static_cast<std::int64_t>(pf->run_count));
    if (!runs.empty()) prefetch_.Bind(9, std::string_view(runs[0].get_ref<const std::string&>()));
    prefetch_.Bind(10, std::string_view(runs.dump()));
    prefetch_.Bind(11, std::string_view(core::RepairUtf8(exe_path)));
    prefetch_.Bind(12, std::string_view(exe_dir_lc));
    TRAWL_TRY_VOID(prefetch_.Run());
    const std::int64_t id = db_.LastInsertRowId();
    prefetch_rows_[member] = id;
    for (const auto& t : runs) {
      prefetch_runs_.Bind(1, id);
      prefetch_runs_.Bind(2, std::string_view(t.get_ref<const std::string&>()));
      TRAWL_TRY_VOID(prefetch_runs_.Run());
    }
    std::int64_t idx = 0;
    for (const auto& m : pf->file_metrics) {
      const std::string rel = StripVolume(m.filename);
      const auto [dir, name] = SplitTargetPath(rel);
      prefetch_files_.Bind(1, id);
      prefetch_files_.Bind(2, idx++);
      prefetch_files_.Bind(3, std::string_view(core::RepairUtf8(m.filename)));
      prefetch_files_.Bind(4, std::string_view(core::RepairUtf8(rel)));
      prefetch_files_.Bind(5, std::string_view(core::RepairUtf8(dir)));
      prefetch_files_.Bind(6, std::string_view(core::RepairUtf8(name)));
      TRAWL_TRY_VOID(prefetch_files_.Run());
    }
    ++result_.prefetch;
    return {};
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
  Stmt other_, log_, prefetch_, prefetch_runs_, prefetch_files_;
  std::map<std::string, std::string, std::less<>> copied_paths_;  // copied_as -> path (.pf)
  std::map<std::string, std::int64_t, std::less<>> prefetch_rows_;
  std::map<std::string, PeFacts, std::less<>> pe_;
  std::string duplicate_of_;
};

Result<std::int64_t> MaxRowId(Db& db, std::string_view table) {
  auto s = db.Prepare(fmt::format("SELECT coalesce(max(id), 0) FROM {}", table));
  if (!s) return std::unexpected(s.error());
  TRAWL_TRY_VOID(s->Step());
  return s->Int(0);
}

}  // namespace

IngestResult IngestArchive(Db& db, const std::filesystem::path& archive,
                           const std::vector<core::age::Identity>& identities) {
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
  for (const char* t : {"processes", "modules", "files", "dir_entries", "other_records", "prefetch", "prefetch_runs",
                        "prefetch_files"}) {
    auto m = MaxRowId(db, t);
    if (!m) return rollback(m.error());
    first_rows[t] = *m;
  }
  auto ins = db.Prepare("INSERT INTO collections (archive_name, archive_sha256, ingested_at) VALUES (?1, ?2, ?3)");
  if (!ins) return rollback(ins.error());
  ins->Bind(1, std::string_view(archive.filename().string()));
  ins->Bind(2, std::string_view(*sha));
  ins->Bind(3, std::string_view(core::IsoUtcNow()));
  if (auto r = ins->Run(); !r) return rollback(r.error());
  const std::int64_t collection_id = db.LastInsertRowId();
  result.collection_id = collection_id;
  Ingester ingester(db, result);
  if (auto r = ingester.Prepare(collection_id); !r) return rollback(r.error());
  for (const auto& [t, m] : first_rows) ingester.SetFirstRow(t, m);
  auto report = core::archive::WalkArchive(
      archive, identities, [&](const core::archive::MemberInfo& info, core::archive::MemberStream& stream) {
        return ingester.Visit(info, stream);
      });
  if (!report) return rollback(report.error());
  if (!report->ok || report->manifest.is_null() || !report->manifest.is_object()) {
    result.problems = report->problems;
    if (report->manifest.is_null()) result.problems.push_back({"manifest.json", "missing"});
    return rollback(core::Error{core::ErrorCode::kAuthentication,
                                fmt::format("{}: failed verification ({} problem(s)); not ingested",
                                            archive.filename().string(), result.problems.size())});
  }
  if (auto r = ingester.Finish(report->manifest); !r) return rollback(r.error());
  if (!ingester.duplicate_of().empty()) {
    (void)db.Exec("ROLLBACK");
    result.status = IngestResult::Status::kDuplicate;
    result.reason = "the same collection (host, start time, part) is already in the case as " + ingester.duplicate_of();
    return result;
  }
  if (auto c = db.Exec("COMMIT"); !c) return rollback(c.error());
  result.status = IngestResult::Status::kIngested;
  return result;
}

}  // namespace trawl::triage
