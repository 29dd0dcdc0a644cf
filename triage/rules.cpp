// SPDX-License-Identifier: Apache-2.0
#include "triage/rules.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <charconv>
#include <map>
#include <set>

#include <fmt/format.h>

#include "core/util/file.h"
#include "core/util/text.h"
#include "triage/embedded.h"

namespace trawl::triage {

using core::ErrorCode;
using core::Fail;
using core::Result;

std::string_view EntityTable(std::string_view entity) {
  if (entity == "process") return "processes";
  if (entity == "module") return "modules";
  if (entity == "file") return "files";
  if (entity == "prefetch") return "prefetch";
  if (entity == "host") return "hosts";
  if (entity == "service") return "services";
  if (entity == "autorun") return "autoruns";
  if (entity == "task") return "scheduled_tasks";
  if (entity == "event") return "event_records";
  return "";
}

namespace {

std::string Where(const std::string& file, const YAML::Mark& m) {
  if (m.line < 0) return file;
  return fmt::format("{}:{}:{}", file, m.line + 1, m.column + 1);
}

bool ValidSlug(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s) {
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-')) return false;
  }
  return true;
}

const std::set<std::string, std::less<>> kKeys = {
    "id", "title", "description", "rationale", "author", "license", "references", "score", "entity", "scope", "query"};

Result<Rule> ParseRuleNode(const YAML::Node& root, const std::string& file, std::string_view expected_relpath) {
  if (!root.IsMap()) return Fail(ErrorCode::kFormat, Where(file, root.Mark()) + ": a rule must be a YAML mapping");
  Rule r;
  r.file = file;
  for (auto it = root.begin(); it != root.end(); ++it) {
    const std::string key = it->first.Scalar();
    if (!kKeys.contains(key)) {
      return Fail(ErrorCode::kFormat, fmt::format("{}: unknown key '{}' (known: id, title, description, rationale, "
                                                  "author, license, references, score, entity, scope, query)",
                                                  Where(file, it->first.Mark()), key));
    }
  }
  auto text = [&](const char* key, bool required, std::string& out) -> Result<void> {
    const YAML::Node n = root[key];
    if (!n) {
      if (required)
        return Fail(ErrorCode::kFormat, fmt::format("{}: missing required key '{}'", Where(file, root.Mark()), key));
      return {};
    }
    if (!n.IsScalar())
      return Fail(ErrorCode::kFormat, fmt::format("{}: '{}' must be a string", Where(file, n.Mark()), key));
    out = n.Scalar();
    if (required && out.empty())
      return Fail(ErrorCode::kFormat, fmt::format("{}: '{}' is empty", Where(file, n.Mark()), key));
    return {};
  };
  TRAWL_TRY_VOID(text("id", true, r.id));
  TRAWL_TRY_VOID(text("title", true, r.title));
  TRAWL_TRY_VOID(text("description", true, r.description));
  TRAWL_TRY_VOID(text("rationale", true, r.rationale));
  TRAWL_TRY_VOID(text("author", true, r.author));
  TRAWL_TRY_VOID(text("license", false, r.license));
  TRAWL_TRY_VOID(text("entity", true, r.entity));
  TRAWL_TRY_VOID(text("query", true, r.query));
  TRAWL_TRY_VOID(text("scope", false, r.scope));
  if (r.scope.empty()) r.scope = "host";
  if (r.scope != "host" && r.scope != "fleet") {
    return Fail(ErrorCode::kFormat,
                fmt::format("{}: scope '{}' must be host (the default: the query reads one host's records at a "
                            "time) or fleet (it compares hosts)",
                            Where(file, root["scope"].Mark()), r.scope));
  }
  const auto dot = r.id.find('.');
  if (dot == std::string::npos || !ValidSlug(r.id.substr(0, dot)) || !ValidSlug(r.id.substr(dot + 1))) {
    return Fail(ErrorCode::kFormat, fmt::format("{}: id '{}' must be <area>.<slug> (lower case, digits, _ and -)",
                                                Where(file, root["id"].Mark()), r.id));
  }
  if (!expected_relpath.empty()) {
    const std::string want = r.id.substr(0, dot) + "/" + r.id.substr(dot + 1) + ".yaml";
    if (want != expected_relpath) {
      return Fail(ErrorCode::kFormat, fmt::format("{}: id '{}' must live in {} (found at {})",
                                                  Where(file, root["id"].Mark()), r.id, want, expected_relpath));
    }
  }
  if (std::find(std::begin(kEntityTypes), std::end(kEntityTypes), r.entity) == std::end(kEntityTypes)) {
    return Fail(
        ErrorCode::kFormat,
        fmt::format("{}: entity '{}' is not one of process, module, file, prefetch, host, service, autorun, task",
                    Where(file, root["entity"].Mark()), r.entity));
  }
  const YAML::Node score = root["score"];
  if (!score) return Fail(ErrorCode::kFormat, Where(file, root.Mark()) + ": missing required key 'score'");
  long long sv = 0;
  if (!score.IsScalar() || !YAML::convert<long long>::decode(score, sv) || sv < -100 || sv > 100) {
    return Fail(ErrorCode::kFormat, fmt::format("{}: score '{}' must be an integer from -100 to 100",
                                                Where(file, score.Mark()), score.IsScalar() ? score.Scalar() : "?"));
  }
  r.score = static_cast<int>(sv);
  r.query_line = root["query"].Mark().line + 1;
  const YAML::Node refs = root["references"];
  if (!refs || !refs.IsSequence() || refs.size() == 0) {
    return Fail(ErrorCode::kFormat,
                fmt::format("{}: 'references' must be a non-empty list (every rule cites its source)",
                            Where(file, refs ? refs.Mark() : root.Mark())));
  }
  for (const auto& ref : refs) {
    if (!ref.IsMap())
      return Fail(ErrorCode::kFormat, Where(file, ref.Mark()) + ": a reference is a mapping {title, url|source}");
    RuleReference rr;
    for (auto it = ref.begin(); it != ref.end(); ++it) {
      const std::string k = it->first.Scalar();
      if (!it->second.IsScalar())
        return Fail(ErrorCode::kFormat, Where(file, it->second.Mark()) + ": reference values are strings");
      if (k == "title")
        rr.title = it->second.Scalar();
      else if (k == "url")
        rr.url = it->second.Scalar();
      else if (k == "source")
        rr.source = it->second.Scalar();
      else
        return Fail(ErrorCode::kFormat, fmt::format("{}: unknown reference key '{}' (title, url, source)",
                                                    Where(file, it->first.Mark()), k));
    }
    if (rr.title.empty() || (rr.url.empty() && rr.source.empty())) {
      return Fail(ErrorCode::kFormat, Where(file, ref.Mark()) + ": a reference needs a title and a url or source");
    }
    r.references.push_back(std::move(rr));
  }
  return r;
}

}  // namespace

Result<Rule> ParseRule(std::string_view text, const std::string& file, std::string_view expected_relpath) {
  try {
    const YAML::Node root = YAML::Load(std::string(text));
    return ParseRuleNode(root, file, expected_relpath);
  } catch (const YAML::Exception& e) {
    return Fail(ErrorCode::kFormat, fmt::format("{}:{}:{}: {}", file, e.mark.line + 1, e.mark.column + 1, e.msg));
  }
}

Result<std::vector<Rule>> LoadRules(const std::vector<std::filesystem::path>& dirs, bool builtin) {
  std::vector<Rule> rules;
  std::map<std::string, std::string> seen;  // id -> file
  auto add = [&](Rule r) -> Result<void> {
    if (auto it = seen.find(r.id); it != seen.end()) {
      return Fail(ErrorCode::kFormat, fmt::format("{}: duplicate rule id '{}' (also in {})", r.file, r.id, it->second));
    }
    seen[r.id] = r.file;
    rules.push_back(std::move(r));
    return {};
  };
  if (builtin) {
    for (const auto& f : EmbeddedTriageFiles()) {
      if (!f.path.starts_with("rules/") || f.path.starts_with("rules/sigma/")) continue;
      auto r = ParseRule(f.text, "builtin:" + std::string(f.path), f.path.substr(6));
      if (!r) return std::unexpected(r.error());
      TRAWL_TRY_VOID(add(std::move(*r)));
    }
  }
  for (const auto& dir : dirs) {
    std::error_code ec;
    if (!std::filesystem::is_directory(dir, ec)) {
      return Fail(ErrorCode::kNotFound, fmt::format("{}: --rules: not a directory", dir.string()));
    }
    std::vector<std::filesystem::path> files;
    for (auto it = std::filesystem::recursive_directory_iterator(dir, ec);
         !ec && it != std::filesystem::recursive_directory_iterator(); it.increment(ec)) {
      if (it.depth() > 8) it.disable_recursion_pending();
      if (it->is_regular_file(ec) && (it->path().extension() == ".yaml" || it->path().extension() == ".yml")) {
        files.push_back(it->path());
      }
    }
    if (ec) return Fail(ErrorCode::kIo, fmt::format("{}: {}", dir.string(), ec.message()));
    std::sort(files.begin(), files.end());
    for (const auto& p : files) {
      auto text = core::ReadFileText(p, 1 << 20);
      if (!text) return std::unexpected(text.error());
      const std::string rel = std::filesystem::relative(p, dir, ec).generic_string();
      auto r = ParseRule(*text, p.string(), rel);
      if (!r) return std::unexpected(r.error());
      TRAWL_TRY_VOID(add(std::move(*r)));
    }
  }
  return rules;
}

Result<std::vector<IocEntry>> ParseIocCsv(std::string_view text, const std::string& file) {
  std::vector<IocEntry> out;
  int line_no = 0;
  std::size_t pos = 0;
  while (pos <= text.size()) {
    auto nl = text.find('\n', pos);
    if (nl == std::string_view::npos) nl = text.size();
    std::string_view line = text.substr(pos, nl - pos);
    pos = nl + 1;
    ++line_no;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    while (!line.empty() && (line.front() == ' ' || line.front() == '\t')) line.remove_prefix(1);
    if (line.empty() || line.front() == '#') {
      if (nl == text.size()) break;
      continue;
    }
    const auto where = fmt::format("{}:{}", file, line_no);
    IocEntry e;
    e.file = file;
    e.line = line_no;
    const auto s1 = line.find(';');
    std::string hash(line.substr(0, s1));
    while (!hash.empty() && (hash.back() == ' ' || hash.back() == '\t')) hash.pop_back();
    e.hash = core::ToLowerAscii(hash);
    for (char c : e.hash) {
      if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) {
        return Fail(ErrorCode::kFormat,
                    fmt::format("{}: hash '{}' is not hexadecimal", where, core::EscapeForTerminal(hash)));
      }
    }
    if (e.hash.size() == 32)
      e.hash_type = "md5";
    else if (e.hash.size() == 40)
      e.hash_type = "sha1";
    else if (e.hash.size() == 64)
      e.hash_type = "sha256";
    else
      return Fail(ErrorCode::kFormat,
                  fmt::format("{}: hash has {} hex digits; expected MD5 (32), SHA-1 (40) or SHA-256 (64)", where,
                              e.hash.size()));
    if (s1 != std::string_view::npos) {
      std::string_view rest = line.substr(s1 + 1);
      const auto s2 = rest.find(';');
      std::string score(rest.substr(0, s2));
      std::erase_if(score, [](char c) { return c == ' ' || c == '\t'; });
      if (!score.empty()) {
        int v = 0;
        const auto [p, ec] = std::from_chars(score.data(), score.data() + score.size(), v);
        if (ec != std::errc() || p != score.data() + score.size() || v < -100 || v > 100) {
          return Fail(ErrorCode::kFormat, fmt::format("{}: score '{}' must be an integer from -100 to 100", where,
                                                      core::EscapeForTerminal(score)));
        }
        e.score = v;
      }
      if (s2 != std::string_view::npos) e.comment = core::RepairUtf8(rest.substr(s2 + 1));
    }
    out.push_back(std::move(e));
    if (nl == text.size()) break;
  }
  return out;
}

}  // namespace trawl::triage
