// SPDX-License-Identifier: Apache-2.0
#include "triage/case_commands.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <map>
#include <ostream>
#ifdef _WIN32
#include <io.h>
#else
#include <unistd.h>
#endif

#include <fmt/format.h>

#include "core/util/file.h"
#include "core/util/text.h"
#include "triage/case_db.h"
#include "triage/archive_commands.h"
#include "triage/ingest.h"
#include "triage/report.h"
#include "triage/rules.h"
#include "triage/scoring.h"
#include "triage/sigma_case.h"

namespace trawl::triage {

struct CaseOptions {
  std::string case_path;
  std::vector<std::string> archives;
  std::vector<std::string> rule_dirs;
  std::vector<std::string> ioc_files;
  std::vector<std::string> sigma_paths;
  std::string sigma_mapping;
  bool no_builtin_rules = false;
  bool full_rescore = false;
  std::size_t top = 10;
  std::string sql;
  std::string query_format = "tsv";
  std::string stack_what;
  std::size_t stack_limit = 50;
  std::string report_format = "html";
  std::string report_out;
  IngestOptions ingest;
  CLI::App* analyze = nullptr;
  CLI::App* query = nullptr;
  CLI::App* stack = nullptr;
  CLI::App* report = nullptr;
  CLI::App* rules = nullptr;
};

void AddCaseCommands(CLI::App& app, CaseCommands& extra, const std::function<void(CLI::App*)>& add_ids) {
  extra.options = std::make_shared<CaseOptions>();
  CaseOptions& o = *extra.options;
  o.analyze = app.add_subcommand("analyze", "decrypt, verify and ingest archives into a case database, then score it");
  add_ids(o.analyze);
  o.analyze->add_option("--case", o.case_path, "case database (SQLite; created if missing)")->required();
  o.analyze->add_option("--rules", o.rule_dirs, "folder of extra rules (<area>/<id>.yaml); repeatable")
      ->allow_extra_args(false);
  o.analyze->add_option("--ioc", o.ioc_files, "IOC list, lines 'hash;score;comment' (MD5, SHA-1, SHA-256); repeatable")
      ->allow_extra_args(false);  // one file per --ioc: the archives that follow are not IOC lists
  o.analyze
      ->add_option("--sigma", o.sigma_paths,
                   "Sigma rule file or folder (e.g. a SigmaHQ checkout's rules/windows), run over the event "
                   "records and the process and module snapshots; repeatable")
      ->allow_extra_args(false);
  o.analyze->add_option("--sigma-mapping", o.sigma_mapping,
                        "Sigma log-source mapping (the schema of SigmaHQ's tests/thor.yml; default: trawl's own)");
  o.analyze->add_flag("--full", o.full_rescore,
                      "score the whole case, not only the hosts the archives add to (what analyze without "
                      "archives does)");
  o.analyze->add_flag("--no-builtin-rules", o.no_builtin_rules,
                      "run only the rules given with --rules and --sigma (not the shipped SQL and Sigma rules)");
  o.analyze->add_option("--top", o.top, "findings shown in the summary")->capture_default_str();
  o.analyze->add_option("archives", o.archives, "archives (.zip.age, split parts); none: re-score the case");
  AddArchiveLimitOptions(o.analyze, o.ingest.limits);
  o.analyze->add_option("--max-rows", o.ingest.max_rows_per_table, "most rows one archive may add to one table")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();

  o.query = app.add_subcommand("query", "run one read-only SQL statement against a case");
  o.query->add_option("--case", o.case_path, "case database")->required();
  o.query->add_option("--format", o.query_format, "tsv, csv or json")
      ->check(CLI::IsMember({"tsv", "csv", "json"}))
      ->capture_default_str();
  o.query->add_option("sql", o.sql, "SELECT ...")->required();

  o.stack = app.add_subcommand("stack", "least-frequent (path, SHA-256) across the hosts of a case");
  o.stack->add_option("--case", o.case_path, "case database")->required();
  o.stack->add_option("--limit", o.stack_limit, "rows")->capture_default_str();
  o.stack
      ->add_option("what", o.stack_what,
                   "modules, files, prefetch, events (channel, event id, provider) or services (System 7045)")
      ->required()
      ->check(CLI::IsMember({"modules", "files", "prefetch", "events", "services"}));

  o.report = app.add_subcommand("report", "write a report of a case");
  o.report->add_option("--case", o.case_path, "case database")->required();
  o.report->add_option("--format", o.report_format, "json, html, csv or timeline (Timesketch CSV)")
      ->check(CLI::IsMember({"json", "html", "csv", "timeline"}))
      ->capture_default_str();
  o.report->add_option("-o,--output", o.report_out, "file to write ('-': standard output)")->required();

  o.rules = app.add_subcommand("rules", "list (and validate) the built-in rules and those of --rules folders");
  o.rules->add_option("--rules", o.rule_dirs, "folder of extra rules; repeatable");
  o.rules->add_option("--case", o.case_path, "also check every query against this case");
  o.rules->add_option("--sigma", o.sigma_paths, "Sigma rule file or folder to list and check as well; repeatable")
      ->allow_extra_args(false);
  o.rules->add_option("--sigma-mapping", o.sigma_mapping, "Sigma log-source mapping (default: trawl's own)");
  extra.apps = {o.analyze, o.query, o.stack, o.report, o.rules};
}

namespace {

std::vector<std::filesystem::path> Paths(const std::vector<std::string>& v) { return {v.begin(), v.end()}; }

// '*' and '?' over one file name (no folder separators in the pattern).
bool NameMatches(std::string_view pattern, std::string_view name) {
  std::size_t p = 0, n = 0, star = std::string_view::npos, mark = 0;
  while (n < name.size()) {
    if (p < pattern.size() && (pattern[p] == '?' || pattern[p] == name[n])) {
      ++p;
      ++n;
    } else if (p < pattern.size() && pattern[p] == '*') {
      star = p++;
      mark = n;
    } else if (star != std::string_view::npos) {
      p = star + 1;
      n = ++mark;
    } else {
      return false;
    }
  }
  while (p < pattern.size() && pattern[p] == '*') ++p;
  return p == pattern.size();
}

// The archives an argument names: a folder gives every *.zip.age below it, a
// file-name pattern with * or ? (no shell expands them on Windows) the
// matching files beside it, each sorted by path; anything else is itself
// (a missing file is then skipped and listed by the ingest).
std::vector<std::string> ExpandArchives(const std::vector<std::string>& args) {
  namespace fs = std::filesystem;
  std::vector<std::string> out;
  for (const std::string& a : args) {
    std::error_code ec;
    const fs::path p(a);
    std::vector<std::string> found;
    if (fs::is_directory(p, ec)) {
      for (auto it = fs::recursive_directory_iterator(p, fs::directory_options::skip_permission_denied, ec);
           !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
        if (it.depth() > 8) it.disable_recursion_pending();
        const std::string name = it->path().filename().string();
        if (name.size() > 8 && name.ends_with(".zip.age") && it->is_regular_file(ec)) {
          found.push_back(it->path().string());
        }
      }
    } else if (!fs::exists(p, ec) && p.filename().string().find_first_of("*?") != std::string::npos) {
      const fs::path dir = p.has_parent_path() ? p.parent_path() : fs::path(".");
      const std::string pattern = p.filename().string();
      for (auto it = fs::directory_iterator(dir, ec); !ec && it != fs::directory_iterator(); it.increment(ec)) {
        if (NameMatches(pattern, it->path().filename().string()) && it->is_regular_file(ec)) {
          found.push_back((p.has_parent_path() ? dir / it->path().filename() : it->path().filename()).string());
        }
      }
    } else {
      out.push_back(a);
      continue;
    }
    std::sort(found.begin(), found.end());
    if (found.empty()) out.push_back(a);  // reported as missing, never silently nothing
    out.insert(out.end(), found.begin(), found.end());
  }
  return out;
}

bool StderrIsTerminal(const std::ostream& err) {
  if (&err != &std::cerr) return false;
#ifdef _WIN32
  return _isatty(_fileno(stderr)) != 0;
#else
  return isatty(STDERR_FILENO) != 0;
#endif
}

int RunAnalyze(CaseOptions& o, const std::vector<std::string>& identity_files, const std::string& passphrase_file,
               std::ostream& out, std::ostream& err) {
  // Rules and IOC lists first: a typo must not cost a long ingest.
  auto rules = LoadRules(Paths(o.rule_dirs), !o.no_builtin_rules);
  if (!rules) {
    err << "trawl-triage analyze: " << core::EscapeForTerminal(rules.error().message) << "\n";
    return kExitUsage;
  }
  std::vector<IocEntry> iocs;
  for (const auto& f : o.ioc_files) {
    auto text = core::ReadFileText(f, 256u << 20);
    if (!text) {
      err << "trawl-triage analyze: --ioc: " << text.error().message << "\n";
      return kExitUsage;
    }
    auto parsed = ParseIocCsv(*text, f);
    if (!parsed) {
      err << "trawl-triage analyze: " << parsed.error().message << "\n";
      return kExitUsage;
    }
    iocs.insert(iocs.end(), parsed->begin(), parsed->end());
  }
  SigmaSources sigma_sources;
  sigma_sources.rules = Paths(o.sigma_paths);
  sigma_sources.mapping = o.sigma_mapping;
  sigma_sources.builtin = !o.no_builtin_rules;
  auto sigma = LoadSigmaEngine(sigma_sources);
  if (!sigma) {
    err << "trawl-triage analyze: --sigma: " << core::EscapeForTerminal(sigma.error().message) << "\n";
    return kExitUsage;
  }
  {
    // Every refused rule is in the case (sigma_refusals); the terminal gets the count by reason.
    std::map<std::string, std::size_t> by_code;
    for (const auto& r : sigma->refusals()) ++by_code[std::string(sigma::RefusalKindName(r.kind)) + ": " + r.code];
    if (!sigma->refusals().empty()) {
      std::string why;
      for (const auto& [code, n] : by_code) why += fmt::format("{}{} {}", why.empty() ? "" : ", ", n, code);
      out << fmt::format("sigma: {} rules compiled, {} refused ({}); each with its reason in table sigma_refusals\n",
                         sigma->size(), sigma->refusals().size(), core::EscapeForTerminal(why));
    }
  }
  o.archives = ExpandArchives(o.archives);
  std::vector<core::age::Identity> ids;
  if (!o.archives.empty()) {
    auto loaded = LoadIdentities(identity_files, passphrase_file);
    if (!loaded) {
      err << "trawl-triage analyze: " << loaded.error().message << "\n";
      return kExitUsage;
    }
    ids = std::move(*loaded);
  }
  auto db = Db::Open(o.case_path, Db::Mode::kReadWriteCreate);
  if (!db) {
    err << "trawl-triage analyze: " << db.error().message << "\n";
    return kExitFatal;
  }
  int rc = kExitOk;
  const auto t0 = std::chrono::steady_clock::now();
  std::uint64_t records = 0;
  // With archives, the scoring run covers the hosts they added to; without, the whole case.
  ScoreScope scope;
  scope.full = o.archives.empty() || o.full_rescore;
  // On a terminal: one status line, redrawn after each archive.
  const bool progress = StderrIsTerminal(err) && o.archives.size() > 1;
  std::size_t done = 0;
  for (const auto& a : o.archives) {
    const IngestResult r = IngestArchive(**db, a, ids, o.ingest);
    ++done;
    if (progress) err << "\r" << std::string(78, ' ') << "\r" << std::flush;  // the result line goes first
    switch (r.status) {
      case IngestResult::Status::kIngested:
        records += r.records;
        scope.hosts.push_back(r.host_id);
        out << fmt::format(
            "ingested  {}: host {}, {} records, {} prefetch, {} PE, {} hives, {} tasks, {} event logs ({} events)\n",
            core::EscapeForTerminal(a), core::EscapeForTerminal(r.hostname), r.records, r.prefetch, r.pe, r.hives,
            r.tasks, r.event_logs, r.events);
        if (!r.conflict.empty()) {
          // Both stay in the case; the analyst decides which one is genuine.
          rc = kExitProblems;
          out << fmt::format(
              "CONFLICT  {}: claims the same collection (host {}, start, part) as {}, with other "
              "content: at most one is genuine; compare each file's SHA-256 with what the collection "
              "channel reported (rule integrity.conflicting_collections)\n",
              core::EscapeForTerminal(a), core::EscapeForTerminal(r.hostname), core::EscapeForTerminal(r.conflict));
        }
        break;
      case IngestResult::Status::kDuplicate:
        out << fmt::format("unchanged {}: {}\n", core::EscapeForTerminal(a), core::EscapeForTerminal(r.reason));
        break;
      case IngestResult::Status::kSkipped:
        rc = kExitProblems;
        out << fmt::format("SKIPPED   {}: {}\n", core::EscapeForTerminal(a), core::EscapeForTerminal(r.reason));
        for (std::size_t i = 0; i < r.problems.size() && i < 20; ++i) {
          out << "    " << core::EscapeForTerminal(r.problems[i].member) << ": "
              << core::EscapeForTerminal(r.problems[i].problem) << "\n";
        }
        if (r.problems.size() > 20) out << fmt::format("    ... {} more\n", r.problems.size() - 20);
        break;
    }
    if (progress && done < o.archives.size()) {
      out << std::flush;
      const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      const double eta = secs / static_cast<double>(done) * static_cast<double>(o.archives.size() - done);
      err << fmt::format("[{}/{} archives] {} records, {:.0f} records/s, ETA {:.0f}:{:02.0f}", done, o.archives.size(),
                         records, static_cast<double>(records) / secs, std::floor(eta / 60), std::fmod(eta, 60))
          << std::flush;
    }
  }
  const double ingest_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  // The writer's page cache is not needed by the read-only scoring pass.
  (void)(*db)->Exec("PRAGMA shrink_memory");
  auto scored = ScoreCase(**db, *rules, iocs, &*sigma, scope);
  if (!scored) {
    err << "trawl-triage analyze: " << core::EscapeForTerminal(scored.error().message) << "\n";
    return kExitUsage;
  }
  if (scored->unchanged) {
    out << fmt::format("ingest {:.2f} s ({} records); no new collection: the findings stand\n", ingest_s, records);
    PrintSummary(**db, o.top, out);
    return rc;
  }
  const std::string coverage = scored->incremental ? fmt::format("{} host(s) scored, incremental", scored->hosts_scored)
                               : scored->full_reason.empty() ? std::string("whole case")
                                                             : fmt::format("whole case: {}", scored->full_reason);
  out << fmt::format("ingest {:.2f} s ({} records), scoring {:.2f} s ({}): {} rules, {} findings on {} entities\n",
                     ingest_s, records, scored->seconds, coverage, scored->rules, scored->findings, scored->entities);
  out << fmt::format("sigma {:.2f} s: {} rules over {} event records, {} processes, {} modules: {} findings\n",
                     scored->sigma_seconds, scored->sigma_rules, scored->sigma.events, scored->sigma.processes,
                     scored->sigma.modules, scored->sigma_findings);
  PrintSummary(**db, o.top, out);
  return rc;
}

int RunRulesList(CaseOptions& o, std::ostream& out, std::ostream& err) {
  auto rules = LoadRules(Paths(o.rule_dirs));
  if (!rules) {
    err << "trawl-triage rules: " << core::EscapeForTerminal(rules.error().message) << "\n";
    return kExitUsage;
  }
  std::unique_ptr<Db> db;
  if (!o.case_path.empty()) {
    auto opened = Db::Open(o.case_path, Db::Mode::kReadOnly);
    if (!opened) {
      err << "trawl-triage rules: " << opened.error().message << "\n";
      return kExitUsage;
    }
    db = std::move(*opened);
    db->SetReadOnlyAuthorizer(true);
  }
  int rc = kExitOk;
  for (const auto& r : *rules) {
    out << fmt::format("{:<48} {:>4}  {:<8} {}\n", r.id, r.score, r.entity, core::EscapeForTerminal(r.title));
    if (db) {
      if (auto c = CheckRuleSql(*db, r); !c) {
        err << core::EscapeForTerminal(c.error().message) << "\n";
        rc = kExitProblems;
      }
    }
  }
  // The shipped Sigma rules and those of --sigma, as analyze runs them; a
  // rule that does not compile is named with its file and reason.
  SigmaSources sigma_sources;
  sigma_sources.rules = Paths(o.sigma_paths);
  sigma_sources.mapping = o.sigma_mapping;
  auto sigma = LoadSigmaEngine(sigma_sources);
  if (!sigma) {
    err << "trawl-triage rules: --sigma: " << core::EscapeForTerminal(sigma.error().message) << "\n";
    return kExitUsage;
  }
  std::vector<std::size_t> index_of;
  for (const Rule& r : SigmaRules(*sigma, &index_of)) {
    out << fmt::format("{:<48} {:>4}  {:<8} {}\n", core::EscapeForTerminal(r.id), r.score, r.entity,
                       core::EscapeForTerminal(r.title));
  }
  for (const sigma::Refusal& r : sigma->refusals()) {
    err << fmt::format("refused: {}: {} ({}: {})\n", core::EscapeForTerminal(r.file), core::EscapeForTerminal(r.reason),
                       sigma::RefusalKindName(r.kind), core::EscapeForTerminal(r.code));
    rc = kExitProblems;
  }
  return rc;
}

}  // namespace

int RunCaseCommands(CLI::App&, CaseCommands& extra, const std::vector<std::string>& identity_files,
                    const std::string& passphrase_file, std::ostream& out, std::ostream& err) {
  if (!extra.options) {
    err << "trawl-triage: unknown command\n";
    return kExitUsage;
  }
  CaseOptions& o = *extra.options;
  if (*o.analyze) return RunAnalyze(o, identity_files, passphrase_file, out, err);
  if (*o.query) return RunQueryCommand(o.case_path, o.sql, o.query_format, out, err);
  if (*o.rules) return RunRulesList(o, out, err);
  if (*o.stack || *o.report) {
    auto db = Db::Open(o.case_path, Db::Mode::kReadOnly);
    if (!db) {
      err << "trawl-triage: " << db.error().message << "\n";
      return kExitUsage;
    }
    (*db)->SetReadOnlyAuthorizer(true);
    if (*o.stack) {
      if (auto r = WriteStack(**db, o.stack_what, o.stack_limit, out); !r) {
        err << "trawl-triage stack: " << r.error().message << "\n";
        return kExitProblems;
      }
      return kExitOk;
    }
    if (o.report_out == "-") {
      if (auto r = WriteReport(**db, o.report_format, out); !r) {
        err << "trawl-triage report: " << r.error().message << "\n";
        return kExitProblems;
      }
      return kExitOk;
    }
    std::ofstream file(o.report_out, std::ios::binary | std::ios::trunc);
    if (!file) {
      err << "trawl-triage report: " << o.report_out << ": cannot write\n";
      return kExitFatal;
    }
    if (auto r = WriteReport(**db, o.report_format, file); !r) {
      err << "trawl-triage report: " << r.error().message << "\n";
      return kExitProblems;
    }
    file.close();
    if (!file) {
      err << "trawl-triage report: " << o.report_out << ": write failed\n";
      return kExitFatal;
    }
    out << "wrote " << o.report_out << "\n";
    return kExitOk;
  }
  err << "trawl-triage: unknown command\n";
  return kExitUsage;
}

}  // namespace trawl::triage
