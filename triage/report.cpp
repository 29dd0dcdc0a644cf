// SPDX-License-Identifier: Apache-2.0
#include "triage/report.h"

#include <sqlite3.h>

#include <ostream>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "core/util/text.h"
#include "triage/tabular.h"

namespace trawl::triage {

using core::ErrorCode;
using core::Fail;
using core::Result;
using nlohmann::json;

namespace {

std::string T(std::string_view s) { return core::EscapeForTerminal(s); }

Result<json> Rows(Db& db, std::string_view sql) {
  auto s = db.Prepare(sql);
  if (!s) return std::unexpected(s.error());
  json rows = json::array();
  while (true) {
    auto r = s->Step();
    if (!r) return std::unexpected(r.error());
    if (!*r) break;
    json row = json::object();
    for (int i = 0; i < s->ColumnCount(); ++i) row[s->ColumnName(i)] = CellJson(*s, i);
    rows.push_back(std::move(row));
  }
  return rows;
}

std::string Str(const json& j, const char* key) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return {};
  if (it->is_string()) return it->get<std::string>();
  return it->dump();
}

constexpr std::string_view kHostsSql =
    "SELECT h.id, h.hostname, h.os, coalesce(s.score, 0) AS score, coalesce(s.level, 'info') AS level, "
    "coalesce(s.entities, 0) AS entities, coalesce(s.findings, 0) AS findings, "
    "(SELECT count(*) FROM collections c WHERE c.host_id = h.id) AS collections "
    "FROM hosts h LEFT JOIN host_scores s ON s.host_id = h.id ORDER BY score DESC, h.hostname";

constexpr std::string_view kEntitiesSql =
    "SELECT e.host_id, h.hostname, e.entity_type, e.entity_key, e.score_int AS score, e.score AS score_exact, "
    "e.level, e.reasons FROM entity_scores e JOIN hosts h ON h.id = e.host_id "
    "ORDER BY e.score DESC, h.hostname, e.entity_key";

}  // namespace

std::string HtmlEscape(std::string_view in) {
  // Bidirectional overrides and other invisible characters would reorder or
  // hide what the analyst reads ("evil\u202egpj.exe" shows as "evilexe.jpg"):
  // they are shown as \uNNNN, control characters as \xNN.
  const std::string s = core::EscapeInvisible(core::RepairUtf8(in));
  std::string out;
  out.reserve(s.size());
  for (char c : s) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&#39;"; break;
      default:
        if (static_cast<unsigned char>(c) < 0x20 && c != '\n' && c != '\t')
          out += fmt::format("&#{};", static_cast<int>(c) + 0x2400);
        else
          out += c;
    }
  }
  return out;
}

void PrintSummary(Db& db, std::size_t top, std::ostream& out) {
  auto hosts = Rows(db, kHostsSql);
  if (!hosts) {
    out << "summary unavailable: " << hosts.error().message << "\n";
    return;
  }
  out << fmt::format("\n{} host(s) by score\n", hosts->size());
  out << fmt::format("  {:>5}  {:<8} {:>8} {:>8}  {}\n", "score", "level", "entities", "findings", "host");
  for (const auto& h : *hosts) {
    out << fmt::format("  {:>5}  {:<8} {:>8} {:>8}  {}\n", h["score"].get<std::int64_t>(), Str(h, "level"),
                       h["entities"].get<std::int64_t>(), h["findings"].get<std::int64_t>(), T(Str(h, "hostname")));
  }
  auto ents = Rows(db, std::string(kEntitiesSql) + fmt::format(" LIMIT {}", top));
  if (!ents || ents->empty()) {
    out << "\nno findings\n";
    return;
  }
  out << fmt::format("\ntop {} finding(s)\n", ents->size());
  for (const auto& e : *ents) {
    out << fmt::format("  [{}] {:>3}  {}  {} {}\n", Str(e, "level"), e["score"].get<std::int64_t>(),
                       T(Str(e, "hostname")), Str(e, "entity_type"), T(Str(e, "entity_key")));
    const json reasons = json::parse(Str(e, "reasons"), nullptr, false);
    if (!reasons.is_array()) continue;
    for (const auto& r : reasons) {
      out << fmt::format("        {:>4}  {}\n", r.value("score", 0), T(r.value("message", std::string())));
    }
  }
}

Result<void> WriteStack(Db& db, std::string_view what, std::size_t limit, std::ostream& out) {
  std::string sql;
  if (what == "modules") {
    sql =
        "SELECT path, sha256, count(DISTINCT host_id) AS hosts, count(*) AS records FROM modules "
        "WHERE path <> '' GROUP BY path, sha256";
  } else if (what == "files") {
    sql =
        "SELECT path, sha256, count(DISTINCT host_id) AS hosts, count(*) AS records FROM files "
        "WHERE type = 'file' GROUP BY path, sha256";
  } else if (what == "prefetch") {
    sql =
        "SELECT executable || ' (' || prefetch_hash || ')' AS path, coalesce(exe_path, '') AS sha256, "
        "count(DISTINCT host_id) AS hosts, count(*) AS records FROM prefetch WHERE error IS NULL "
        "GROUP BY executable, prefetch_hash";
  } else if (what == "events") {
    // Which kinds of event each host logged: a kind seen on one host only is the outlier.
    sql =
        "SELECT channel || ' ' || event_id || ' (' || provider || ')' AS path, '' AS sha256, "
        "count(DISTINCT host_id) AS hosts, count(*) AS records FROM event_records GROUP BY channel, event_id, provider";
  } else if (what == "services") {
    // Services installed (System 7045) by name and program, across hosts.
    sql =
        "SELECT coalesce(json_extract(fields, '$.ServiceName'), '') AS path, "
        "coalesce(json_extract(fields, '$.ImagePath'), '') AS sha256, count(DISTINCT host_id) AS hosts, "
        "count(*) AS records FROM event_records WHERE event_id = 7045 AND provider = 'Service Control Manager' "
        "GROUP BY 1, 2";
  } else {
    return Fail(ErrorCode::kInvalidArgument,
                fmt::format("stack: unknown table '{}' (modules, files, prefetch, events, services)", what));
  }
  const bool scored = what == "modules" || what == "files";
  if (scored) {
    // Among equally rare rows, those the rules scored come first: on a fleet,
    // hundreds of per-host files are on one host each, and the plant among them
    // is the one with findings.
    sql = fmt::format(
        "SELECT s.path, s.sha256, s.hosts, s.records, e.score FROM ({}) s LEFT JOIN (SELECT entity_key, "
        "max(score_int) AS score FROM entity_scores WHERE entity_type = '{}' GROUP BY entity_key) e "
        "ON e.entity_key = s.path ORDER BY s.hosts ASC, coalesce(e.score, 0) DESC, s.records ASC, s.path LIMIT {}",
        sql, what == "files" ? "file" : "module", limit);
  } else {
    sql += fmt::format(" ORDER BY hosts ASC, records ASC, path LIMIT {}", limit);
  }
  auto s = db.Prepare(sql);
  if (!s) return std::unexpected(s.error());
  if (what == "prefetch") {
    out << "hosts\trecords\texecutable (hash)\texe path\n";
  } else if (what == "events") {
    out << "hosts\trecords\tchannel event_id (provider)\n";
  } else if (what == "services") {
    out << "hosts\trecords\tservice\timage path\n";
  } else {
    out << "hosts\trecords\tscore\tsha256\tpath\n";
  }
  while (true) {
    auto r = s->Step();
    if (!r) return std::unexpected(r.error());
    if (!*r) break;
    if (what == "prefetch" || what == "services") {
      out << s->Int(2) << "\t" << s->Int(3) << "\t" << T(s->Text(0)) << "\t" << T(s->Text(1)) << "\n";
    } else if (what == "events") {
      out << s->Int(2) << "\t" << s->Int(3) << "\t" << T(s->Text(0)) << "\n";
    } else {
      out << s->Int(2) << "\t" << s->Int(3) << "\t" << (s->IsNull(4) ? std::string("-") : std::to_string(s->Int(4)))
          << "\t" << T(s->Text(1)) << "\t" << T(s->Text(0)) << "\n";
    }
  }
  return {};
}

namespace {

Result<void> WriteJson(Db& db, std::ostream& out) {
  auto hosts = Rows(db, kHostsSql);
  if (!hosts) return std::unexpected(hosts.error());
  auto ents = Rows(db, kEntitiesSql);
  if (!ents) return std::unexpected(ents.error());
  auto findings =
      Rows(db,
           "SELECT f.id, h.hostname, f.rule_id, f.rule_file, f.entity_type, f.entity_key, f.record_table, "
           "f.record_id, f.score, f.message, f.author, f.evidence FROM findings f JOIN hosts h ON h.id = f.host_id "
           "ORDER BY f.score DESC, f.id");
  if (!findings) return std::unexpected(findings.error());
  auto rules = Rows(db, "SELECT id, file, title, author, score, entity, refs FROM rules ORDER BY id");
  if (!rules) return std::unexpected(rules.error());
  auto collections = Rows(db,
                          "SELECT c.id, h.hostname, c.archive_name, c.archive_sha256, c.started, c.ended, c.part, "
                          "c.result, c.profile_name, c.target_os, c.live, c.limits_hit FROM collections c "
                          "LEFT JOIN hosts h ON h.id = c.host_id ORDER BY c.id");
  if (!collections) return std::unexpected(collections.error());
  for (auto* rows : {&*ents, &*findings, &*rules}) {
    for (auto& r : *rows) {
      for (const char* k : {"reasons", "evidence", "refs"}) {
        if (r.contains(k) && r[k].is_string()) r[k] = json::parse(r[k].get<std::string>(), nullptr, false);
      }
    }
  }
  json doc = {{"format", "trawl-triage-report"},
              {"version", 1},
              {"hosts", *hosts},
              {"collections", *collections},
              {"entities", *ents},
              {"findings", *findings},
              {"rules", *rules}};
  out << doc.dump(2, ' ', false, json::error_handler_t::replace) << "\n";
  return {};
}

// Every row of `s` as CSV lines, in column order (triage/tabular.h).
Result<void> WriteCsvRows(Stmt& s, std::ostream& out) { return WriteTabular(s, TabularFormat::kCsv, out, false); }

Result<void> WriteCsv(Db& db, std::ostream& out) {
  auto s = db.Prepare(
      "SELECT h.hostname, e.score_int, e.level, f.entity_type, f.entity_key, f.rule_id, f.score, "
      "f.message, f.author, f.record_table, f.record_id, f.evidence FROM findings f "
      "JOIN hosts h ON h.id = f.host_id LEFT JOIN entity_scores e ON e.host_id = f.host_id "
      "AND e.entity_type = f.entity_type AND e.entity_key = f.entity_key "
      "ORDER BY e.score DESC, f.score DESC, f.id");
  if (!s) return std::unexpected(s.error());
  out << "hostname,entity_score,level,entity_type,entity_key,rule_id,sub_score,message,author,record_table,record_id,"
         "evidence\n";
  return WriteCsvRows(*s, out);
}

// Timesketch CSV: message, datetime, timestamp_desc, then extra fields.
Result<void> WriteTimeline(Db& db, std::ostream& out) {
  auto s = db.Prepare(R"SQL(
    SELECT 'Prefetch: ' || p.executable || ' ran (run count ' || p.run_count || ')' AS message,
           r.run_time AS datetime, 'Last Run Time' AS timestamp_desc, h.hostname, 'prefetch' AS source,
           coalesce(p.path, p.archive_path) AS path, '' AS sha256
      FROM prefetch_runs r JOIN prefetch p ON p.id = r.prefetch_id JOIN hosts h ON h.id = p.host_id
    UNION ALL
    SELECT 'Process ' || pr.pid || ' started: ' || coalesce(pr.cmdline, pr.exe, ''), pr.start_time, 'Process Start Time',
           h.hostname, 'processes', pr.exe, pr.exe_sha256
      FROM processes pr JOIN hosts h ON h.id = pr.host_id WHERE coalesce(pr.start_time, '') <> ''
    UNION ALL
    SELECT 'File modified: ' || f.path, f.mtime, 'Content Modification Time', h.hostname, 'files', f.path, f.sha256
      FROM files f JOIN hosts h ON h.id = f.host_id WHERE coalesce(f.mtime, '') <> ''
    UNION ALL
    SELECT 'File created: ' || f.path, f.btime, 'Creation Time', h.hostname, 'files', f.path, f.sha256
      FROM files f JOIN hosts h ON h.id = f.host_id WHERE coalesce(f.btime, '') <> ''
    UNION ALL
    SELECT 'File metadata changed: ' || f.path, f.ctime, 'Metadata Modification Time', h.hostname, 'files', f.path, f.sha256
      FROM files f JOIN hosts h ON h.id = f.host_id WHERE coalesce(f.ctime, '') <> ''
    UNION ALL
    SELECT 'MFT entry created ($SI)' || CASE WHEN m.in_use = 0 THEN ', deleted: ' ELSE ': ' END || m.path,
           m.si_created, '$SI Creation Time', h.hostname, 'mft', m.path, ''
      FROM mft m JOIN hosts h ON h.id = m.host_id WHERE coalesce(m.si_created, '') <> ''
    UNION ALL
    SELECT 'MFT entry modified ($SI)' || CASE WHEN m.in_use = 0 THEN ', deleted: ' ELSE ': ' END || m.path,
           m.si_modified, '$SI Modification Time', h.hostname, 'mft', m.path, ''
      FROM mft m JOIN hosts h ON h.id = m.host_id WHERE coalesce(m.si_modified, '') <> ''
    UNION ALL
    SELECT 'MFT name created ($FN)' || CASE WHEN m.in_use = 0 THEN ', deleted: ' ELSE ': ' END || m.path,
           m.fn_created, '$FN Creation Time', h.hostname, 'mft', m.path, ''
      FROM mft m JOIN hosts h ON h.id = m.host_id WHERE coalesce(m.fn_created, '') <> ''
    UNION ALL
    SELECT 'Amcache: ' || a.path || coalesce(' (SHA-1 ' || a.sha1 || ')', ''), a.key_last_written,
           'Amcache Entry Written', h.hostname, 'amcache_files', a.path, ''
      FROM amcache_files a JOIN hosts h ON h.id = a.host_id WHERE coalesce(a.key_last_written, '') <> ''
    UNION ALL
    SELECT 'Amcache: installed ' || coalesce(a.name, a.program_id) || coalesce(' ' || a.version, ''), a.install_date,
           'Install Time', h.hostname, 'amcache_apps', coalesce(a.root_dir, ''), ''
      FROM amcache_apps a JOIN hosts h ON h.id = a.host_id WHERE coalesce(a.install_date, '') LIKE '____-__-__T%'
    UNION ALL
    SELECT 'ShimCache: ' || s.path || ' (' || s.control_set || ' position ' || s.position || ')', s.last_modified,
           'File Modification Time (ShimCache)', h.hostname, 'shimcache', s.path, ''
      FROM shimcache s JOIN hosts h ON h.id = s.host_id WHERE coalesce(s.last_modified, '') <> ''
    UNION ALL
    SELECT 'BAM: ' || b.path || ' ran (' || b.sid || ')', b.last_run, 'Last Run Time (BAM)', h.hostname, 'bam',
           b.path, ''
      FROM bam b JOIN hosts h ON h.id = b.host_id WHERE coalesce(b.last_run, '') <> ''
    UNION ALL
    SELECT 'Service ' || v.name || ' key written (' || coalesce(v.image_path, '') || ')', max(v.last_written),
           'Key Last Written', h.hostname, 'services', coalesce(v.image_path, ''), ''
      FROM services v JOIN hosts h ON h.id = v.host_id WHERE coalesce(v.last_written, '') <> ''
      GROUP BY v.host_id, v.name
    UNION ALL
    SELECT 'Autorun ' || r.location || '\' || r.name || ' = ' || coalesce(r.command, ''), r.last_written,
           'Key Last Written', h.hostname, 'autoruns', coalesce(r.command, ''), ''
      FROM autoruns r JOIN hosts h ON h.id = r.host_id WHERE coalesce(r.last_written, '') <> ''
    UNION ALL
    SELECT 'Scheduled task ' || coalesce(t.uri, t.path) || ' (TaskCache) key written', t.last_written,
           'Key Last Written', h.hostname, 'scheduled_tasks', t.path, ''
      FROM scheduled_tasks t JOIN hosts h ON h.id = t.host_id WHERE coalesce(t.last_written, '') <> ''
    UNION ALL
    SELECT 'Event ' || e.channel || ' ' || e.event_id || ' (' || e.provider || ')'
             || CASE WHEN e.recovered = 1 THEN ' [recovered]' ELSE '' END || ': ' || coalesce(e.summary, ''),
           e.time_created, 'Event Logged', h.hostname, 'event_records', coalesce(l.path, l.archive_path), ''
      FROM event_records e JOIN event_logs l ON l.id = e.log_id JOIN hosts h ON h.id = e.host_id
     WHERE coalesce(e.time_created, '') <> ''
    ORDER BY 2)SQL");
  if (!s) return std::unexpected(s.error());
  out << "message,datetime,timestamp_desc,hostname,source,path,sha256\n";
  return WriteCsvRows(*s, out);
}

}  // namespace

Result<void> WriteReport(Db& db, std::string_view format, std::ostream& out) {
  if (format == "json") return WriteJson(db, out);
  if (format == "csv") return WriteCsv(db, out);
  if (format == "timeline") return WriteTimeline(db, out);
  if (format == "html") return WriteHtmlReport(db, out);
  return Fail(ErrorCode::kInvalidArgument,
              fmt::format("report: unknown format '{}' (json, html, csv, timeline)", format));
}

}  // namespace trawl::triage
