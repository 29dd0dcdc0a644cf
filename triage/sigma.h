// SPDX-License-Identifier: Apache-2.0
// A Sigma detection-rule engine (docs/sigma.md) for Windows event records:
// rules are parsed from YAML and compiled once into matchers (selections,
// value modifiers, the condition), bound through a log-source mapping
// (triage/rules/sigma/logsources.yaml, the shape of SigmaHQ's tests/thor.yml)
// to the channels, event ids and field names of the events, and evaluated
// per event without allocating per comparison (each value is case-folded
// once per event). A rule the engine cannot evaluate is never dropped: it
// is a Refusal naming the file, the rule id, where and why. Matching is
// bounded in time on hostile input: wildcards and regular expressions
// (triage/sigma_regex.h) never backtrack exponentially and never recurse
// on the event's data; rule structure (condition nesting, counts, sizes) is
// capped. Sigma rules from SigmaHQ are under the Detection Rule License 1.1:
// show RuleInfo::author and ::id with every match.
//
// Engine is immutable once loaded and may be shared between threads; an
// Evaluator holds one thread's scratch.
#pragma once

#include <cstddef>
#include <cstdint>
#include <expected>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/util/error.h"

namespace trawl::triage::sigma {

struct LogSource {
  std::string category;  // lower case as written; empty when absent
  std::string product;
  std::string service;
  std::string ToString() const;  // "product=windows category=process_creation"
};

struct RuleInfo {
  std::string file;  // where it was loaded from
  std::string title;
  std::string id;
  std::string status;
  std::string level;
  std::string author;  // DRL 1.1: shown with every match
  std::string description;
  std::string date;
  std::string modified;
  std::vector<std::string> references;
  std::vector<std::string> tags;
  std::vector<std::string> fields;
  std::vector<std::string> falsepositives;
  LogSource logsource;
};

enum class RefusalKind {
  kInvalid,      // not a valid Sigma rule (YAML, missing or mistyped keys, bad condition)
  kUnsupported,  // valid Sigma this engine does not evaluate (expand, aggregations, correlations, ...)
  kLimit,        // over a size or nesting cap
  kLogSource,    // the log source has no entry in the mapping, so no event can reach the rule
};
std::string_view RefusalKindName(RefusalKind kind);

struct Refusal {
  std::string file;
  std::string id;  // may be empty when the rule could not be read
  std::string title;
  RefusalKind kind = RefusalKind::kInvalid;
  std::string code;    // stable short class for histograms: "modifier expand", "aggregation", ...
  std::string reason;  // full message: "file:line:column: detection.selection: modifier 'expand' ..."
};

// One field of an event, as the log names it. Views: the caller keeps the
// strings alive while the event is evaluated.
struct EventField {
  std::string_view name;
  std::string_view value;
};

// A Windows event record. Besides `fields` (EventData / UserData), rules and
// the mapping can name the system values as fields: EventID, Channel,
// Provider_Name and Computer. Field names are compared case-insensitively
// (ASCII); a name given twice holds several values, any of which may match.
struct Event {
  std::string_view channel;
  std::string_view provider;
  std::string_view computer;
  std::optional<std::uint32_t> event_id;
  std::vector<EventField> fields;
};

// A log-source mapping: for a rule's logsource, the ways an event meets it
// (channel, event ids, other field conditions) and the field names Sigma's
// taxonomy uses that this source spells differently. docs/sigma.md has the
// file schema (that of SigmaHQ's tests/thor.yml).
class LogSourceMap {
 public:
  struct Binding {
    std::string name;                   // the mapping entry
    std::vector<std::string> channels;  // any of these (case-insensitive); empty: any channel
    struct Condition {
      std::string field;
      std::vector<std::string> values;  // any of (case-insensitive, exact)
    };
    std::vector<Condition> conditions;  // all of
    struct Rename {
      std::string sigma_field;
      std::vector<std::string> event_fields;  // the first present one is used
    };
    std::vector<Rename> renames;
  };

  static core::Result<LogSourceMap> Parse(std::string_view yaml, const std::string& file);
  static core::Result<LogSourceMap> Load(const std::filesystem::path& path);
  // triage/rules/sigma/logsources.yaml as compiled into trawl-triage.
  static core::Result<LogSourceMap> Builtin();

  // The bindings for a rule's log source, or why there are none.
  std::expected<std::vector<Binding>, std::string> Resolve(const LogSource& ls) const;
  std::size_t size() const { return entries_.size(); }

 private:
  struct Entry {
    std::string name;
    LogSource ls;
    std::vector<Binding::Condition> conditions;
    std::vector<std::string> sources;  // as written: "WinEventLog:Security", "File:/var/log/..."
    std::optional<LogSource> rewrite;  // product/service
    std::vector<Binding::Rename> renames;
  };
  std::vector<Entry> entries_;
  std::string file_;
};

struct EngineOptions {
  // When true, a rule whose log source has no mapping is refused (kLogSource);
  // when false it is evaluated on every event (for events that carry no
  // channel, e.g. tests and JSON records).
  bool require_logsource = true;
  std::size_t max_rule_bytes = 1 << 20;
};

class Evaluator;

class Engine {
 public:
  explicit Engine(LogSourceMap map, EngineOptions options = {});
  ~Engine();
  Engine(Engine&&) noexcept;
  Engine& operator=(Engine&&) noexcept;
  Engine(const Engine&) = delete;
  Engine& operator=(const Engine&) = delete;

  // Parses and compiles one rule file. Returns the rule's index, or the
  // refusal (also kept in refusals()). Never throws, whatever the text.
  std::expected<std::size_t, Refusal> AddRule(std::string_view yaml, const std::string& file);
  // Every *.yml / *.yaml below `dir`, sorted by path. Fails only when the
  // directory cannot be listed; unreadable files are refusals.
  core::Result<void> AddRuleDir(const std::filesystem::path& dir);

  std::size_t size() const;
  const RuleInfo& rule(std::size_t index) const;
  const std::vector<Refusal>& refusals() const;
  // SHA-256 (hex) over every rule text given to AddRule (with its file name)
  // and every AddFingerprint input, in order: equal fingerprints, equal rules.
  std::string fingerprint() const;
  // Something else the matches depend on (the log-source mapping's text).
  void AddFingerprint(std::string_view text);

 private:
  friend class Evaluator;
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// One thread's matcher over an Engine (which must outlive it).
class Evaluator {
 public:
  explicit Evaluator(const Engine& engine);
  ~Evaluator();
  Evaluator(const Evaluator&) = delete;
  Evaluator& operator=(const Evaluator&) = delete;

  // Indices of the rules `event` matches, ascending; valid until the next call.
  const std::vector<std::size_t>& Match(const Event& event);
  // Whether one rule matches (its log-source bindings included).
  bool MatchRule(std::size_t rule, const Event& event);

 private:
  struct State;
  std::unique_ptr<State> s_;
};

}  // namespace trawl::triage::sigma
