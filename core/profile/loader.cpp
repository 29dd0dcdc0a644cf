// SPDX-License-Identifier: Apache-2.0
#include "core/profile/loader.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <charconv>
#include <exception>
#include <limits>
#include <set>

#include "core/util/text.h"

namespace trawl::core::profile {
namespace {

constexpr std::uint64_t kKiB = 1024;
constexpr std::uint64_t kMiB = 1024 * kKiB;
constexpr std::uint64_t kGiB = 1024 * kMiB;
constexpr std::uint64_t kTiB = 1024 * kGiB;

// Collects "origin:line:col: message" lines; the parse goes on after a
// problem so one --validate run shows them all.
class Diagnostics {
 public:
  explicit Diagnostics(std::string_view origin) : origin_(origin) {}

  void Add(const YAML::Mark& mark, const std::string& message) {
    std::string line = origin_;
    if (!mark.is_null() && mark.line >= 0) {
      line += ":" + std::to_string(mark.line + 1) + ":" + std::to_string(mark.column + 1);
    }
    line += ": " + message;
    lines_.push_back(std::move(line));
  }
  bool ok() const { return lines_.empty(); }
  Error ToError() const {
    std::string msg;
    for (const std::string& l : lines_) {
      if (!msg.empty()) msg.push_back('\n');
      msg += l;
    }
    return Error{ErrorCode::kFormat, msg};
  }
  const std::string& origin() const { return origin_; }

 private:
  std::string origin_;
  std::vector<std::string> lines_;
};

std::string Hint(std::string_view word, const std::vector<std::string>& candidates) {
  const std::string best = ClosestMatch(word, candidates);
  return best.empty() ? std::string() : " (did you mean '" + best + "'?)";
}

std::string Describe(const YAML::Node& node) {
  switch (node.Type()) {
    case YAML::NodeType::Null: return "nothing";
    case YAML::NodeType::Scalar: return "'" + node.Scalar() + "'";
    case YAML::NodeType::Sequence: return "a list";
    case YAML::NodeType::Map: return "a mapping";
    case YAML::NodeType::Undefined: return "nothing";
  }
  return "?";
}

// Parses YAML text; a syntax error becomes a positioned diagnostic.
std::optional<YAML::Node> LoadYaml(std::string_view text, Diagnostics& diag) {
  try {
    return YAML::Load(std::string(text));
  } catch (const YAML::Exception& e) {
    diag.Add(e.mark, "YAML syntax error: " + e.msg);
  } catch (const std::exception& e) {
    diag.Add(YAML::Mark::null_mark(), std::string("YAML error: ") + e.what());
  }
  return std::nullopt;
}

// Checks the keys of a mapping against `allowed`; reports unknown and
// duplicate keys. Returns the mapping's entries by key.
std::map<std::string, std::pair<YAML::Node, YAML::Node>> Entries(const YAML::Node& map,
                                                                 const std::vector<std::string>& allowed,
                                                                 std::string_view where, Diagnostics& diag) {
  std::map<std::string, std::pair<YAML::Node, YAML::Node>> out;
  for (auto it = map.begin(); it != map.end(); ++it) {
    const YAML::Node key = it->first;
    if (!key.IsScalar()) {
      diag.Add(key.Mark(), "a key in " + std::string(where) + " must be a plain name");
      continue;
    }
    const std::string& name = key.Scalar();
    if (std::find(allowed.begin(), allowed.end(), name) == allowed.end()) {
      diag.Add(key.Mark(), "unknown key '" + name + "' in " + std::string(where) + Hint(name, allowed));
      continue;
    }
    if (out.contains(name)) {
      diag.Add(key.Mark(), "duplicate key '" + name + "' in " + std::string(where));
      continue;
    }
    out.emplace(name, std::make_pair(key, it->second));
  }
  return out;
}

using EntryMap = std::map<std::string, std::pair<YAML::Node, YAML::Node>>;

std::optional<std::string> ScalarField(const EntryMap& entries, const std::string& key, bool required,
                                       const YAML::Node& parent, std::string_view where, Diagnostics& diag) {
  auto it = entries.find(key);
  if (it == entries.end()) {
    if (required) {
      diag.Add(parent.Mark(), "missing required key '" + key + "' in " + std::string(where));
    }
    return std::nullopt;
  }
  const YAML::Node& value = it->second.second;
  if (!value.IsScalar()) {
    diag.Add(value.Mark(), "'" + key + "' must be a string, got " + Describe(value));
    return std::nullopt;
  }
  return value.Scalar();
}

bool IsNameChar(char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_'; }
bool IsSimpleName(std::string_view s) { return !s.empty() && std::all_of(s.begin(), s.end(), IsNameChar); }

Result<std::int64_t> ParseInt(std::string_view text) {
  std::int64_t v = 0;
  const char* begin = text.data();
  const char* end = text.data() + text.size();
  if (!text.empty() && text[0] == '+') ++begin;
  auto [p, ec] = std::from_chars(begin, end, v);
  if (text.empty() || ec != std::errc() || p != end) {
    return Fail(ErrorCode::kFormat, "must be an integer, got '" + std::string(text) + "'");
  }
  return v;
}

Result<bool> ParseBool(std::string_view text) {
  if (text == "true" || text == "True" || text == "TRUE") return true;
  if (text == "false" || text == "False" || text == "FALSE") return false;
  return Fail(ErrorCode::kFormat, "must be true or false, got '" + std::string(text) + "'");
}

Result<void> CheckRange(std::string_view name, std::uint64_t value, std::uint64_t lo, std::uint64_t hi, bool size) {
  if (value < lo || value > hi) {
    auto fmt = [&](std::uint64_t v) { return size ? FormatSize(v) : std::to_string(v); };
    return Fail(ErrorCode::kFormat,
                std::string(name) + " is " + fmt(value) + ", out of range " + fmt(lo) + ".." + fmt(hi));
  }
  return {};
}

// ---- limits ------------------------------------------------------------------

struct LimitSpec {
  std::string_view name;
  bool size;  // else a count
  std::uint64_t lo;
  std::uint64_t hi;
};

constexpr LimitSpec kArtifactLimitSpecs[] = {
    {"max_file_size", true, 0, kTiB}, {"max_files", false, 1, 100'000'000}, {"max_total_bytes", true, 0, 16 * kTiB},
    {"max_depth", false, 0, 64},      {"copy_max_size", true, 0, kTiB},
};

constexpr LimitSpec kProfileLimitSpecs[] = {
    {"time_limit", false, 1, 7 * 24 * 3600},
    {"max_output", true, kMiB, 16 * kTiB},
    {"max_file_size", true, 0, kTiB},
};

template <std::size_t N>
std::map<std::string, std::uint64_t> ParseLimits(const YAML::Node& node, const LimitSpec (&specs)[N],
                                                 std::string_view where, Diagnostics& diag) {
  std::map<std::string, std::uint64_t> out;
  if (!node.IsMap()) {
    diag.Add(node.Mark(), std::string(where) + " must be a mapping, got " + Describe(node));
    return out;
  }
  std::vector<std::string> allowed;
  for (const LimitSpec& s : specs) allowed.emplace_back(s.name);
  for (const auto& [name, kv] : Entries(node, allowed, where, diag)) {
    const YAML::Node& value = kv.second;
    const LimitSpec* spec = nullptr;
    for (const LimitSpec& s : specs) {
      if (s.name == name) spec = &s;
    }
    if (!value.IsScalar()) {
      diag.Add(value.Mark(), "limit '" + name + "' must be a number, got " + Describe(value));
      continue;
    }
    std::uint64_t v = 0;
    if (spec->size) {
      auto parsed = ParseSize(value.Scalar());
      if (!parsed) {
        diag.Add(value.Mark(), "limit '" + name + "' " + parsed.error().message);
        continue;
      }
      v = *parsed;
    } else {
      auto parsed = ParseInt(value.Scalar());
      if (!parsed || *parsed < 0) {
        diag.Add(value.Mark(), "limit '" + name + "' must be a non-negative integer, got '" + value.Scalar() + "'");
        continue;
      }
      v = static_cast<std::uint64_t>(*parsed);
    }
    auto range = CheckRange("limit '" + name + "'", v, spec->lo, spec->hi, spec->size);
    if (!range) {
      diag.Add(value.Mark(), range.error().message);
      continue;
    }
    out[name] = v;
  }
  return out;
}

ArtifactLimitOverrides ToArtifactLimits(const std::map<std::string, std::uint64_t>& m) {
  ArtifactLimitOverrides l;
  auto get = [&](const char* k) -> std::optional<std::uint64_t> {
    auto it = m.find(k);
    if (it == m.end()) return std::nullopt;
    return it->second;
  };
  l.max_file_size = get("max_file_size");
  l.max_files = get("max_files");
  l.max_total_bytes = get("max_total_bytes");
  l.max_depth = get("max_depth");
  l.copy_max_size = get("copy_max_size");
  return l;
}

// ---- parameters ------------------------------------------------------------------

bool PlatformsAllowStyle(const std::vector<TargetOs>& platforms, PathStyle style) {
  for (TargetOs os : platforms) {
    if ((os == TargetOs::kWindows) == (style == PathStyle::kWindows)) return true;
  }
  return false;
}

std::string PlatformList(const std::vector<TargetOs>& platforms) {
  std::string s = "[";
  for (std::size_t i = 0; i < platforms.size(); ++i) {
    if (i) s += ", ";
    s += TargetOsName(platforms[i]);
  }
  return s + "]";
}

// Validates one glob list element; exclusions may also be bare name globs.
void CheckGlobElement(const ParamSpec& spec, const YAML::Node& node, const std::vector<TargetOs>& platforms,
                      Diagnostics& diag) {
  const std::string& glob = node.Scalar();
  const bool name_only = spec.name == "exclude" && glob.find_first_of("/\\") == std::string::npos && !glob.empty() &&
                         glob[0] != '%' && glob[0] != '~';
  if (name_only) {
    if (auto ok = CheckComponentGlob(glob); !ok) {
      diag.Add(node.Mark(), "bad glob '" + glob + "' in '" + std::string(spec.name) + "': " + ok.error().message);
    }
    return;
  }
  auto style = CheckPattern(glob);
  if (!style) {
    diag.Add(node.Mark(), style.error().message + " in '" + std::string(spec.name) + "'");
    return;
  }
  if (!PlatformsAllowStyle(platforms, *style)) {
    diag.Add(node.Mark(), std::string(*style == PathStyle::kWindows ? "Windows" : "unix") + " path '" + glob +
                              "' in an artifact for " + PlatformList(platforms));
  }
}

std::optional<ParamValue> ParseParamNode(const ParamSpec& spec, const YAML::Node& node,
                                         const std::vector<TargetOs>& platforms, Diagnostics& diag) {
  const std::string name(spec.name);
  if (spec.type == ParamType::kStringList || spec.type == ParamType::kGlobList) {
    if (!node.IsSequence()) {
      diag.Add(node.Mark(), "parameter '" + name + "' must be a list (" + std::string(ParamTypeName(spec.type)) +
                                "), got " + Describe(node));
      return std::nullopt;
    }
    std::vector<std::string> items;
    bool ok = true;
    for (const YAML::Node& item : node) {
      if (!item.IsScalar()) {
        diag.Add(item.Mark(), "elements of '" + name + "' must be strings, got " + Describe(item));
        ok = false;
        continue;
      }
      if (spec.type == ParamType::kGlobList) CheckGlobElement(spec, item, platforms, diag);
      items.push_back(item.Scalar());
    }
    if (!ok) return std::nullopt;
    return ParamValue(std::move(items));
  }
  if (!node.IsScalar()) {
    diag.Add(node.Mark(),
             "parameter '" + name + "' must be a " + std::string(ParamTypeName(spec.type)) + ", got " + Describe(node));
    return std::nullopt;
  }
  auto value = ParseParamScalar(spec, node.Scalar());
  if (!value) {
    diag.Add(node.Mark(), "parameter '" + name + "' " + value.error().message);
    return std::nullopt;
  }
  return *value;
}

// Parses a `parameters` mapping against a kind.
Parameters ParseParameters(const YAML::Node& node, const KindSpec& kind, const std::vector<TargetOs>& platforms,
                           std::string_view where, Diagnostics& diag) {
  Parameters params;
  if (!node.IsMap()) {
    if (!node.IsNull()) {
      diag.Add(node.Mark(), std::string(where) + " must be a mapping, got " + Describe(node));
    }
    return params;
  }
  std::vector<std::string> allowed;
  for (const ParamSpec& p : kind.parameters) allowed.emplace_back(p.name);
  for (const auto& [name, kv] : Entries(node, allowed, where, diag)) {
    const ParamSpec* spec = FindParam(kind, name);
    if (auto v = ParseParamNode(*spec, kv.second, platforms, diag)) params.Set(name, *v);
  }
  return params;
}

bool IsEmptyValue(const ParamValue& v) {
  if (const auto* s = std::get_if<std::string>(&v)) return s->empty();
  if (const auto* l = std::get_if<std::vector<std::string>>(&v)) return l->empty();
  return false;
}

std::vector<Reference> ParseReferences(const YAML::Node& node, Diagnostics& diag) {
  std::vector<Reference> refs;
  if (!node.IsSequence()) {
    diag.Add(node.Mark(), "'references' must be a list, got " + Describe(node));
    return refs;
  }
  static const std::vector<std::string> kKeys = {"title", "url", "source"};
  for (const YAML::Node& item : node) {
    if (!item.IsMap()) {
      diag.Add(item.Mark(), "a reference must be a mapping {title, url or source}, got " + Describe(item));
      continue;
    }
    const EntryMap e = Entries(item, kKeys, "reference", diag);
    Reference r;
    if (auto v = ScalarField(e, "title", false, item, "reference", diag)) r.title = *v;
    if (auto v = ScalarField(e, "url", false, item, "reference", diag)) r.url = *v;
    if (auto v = ScalarField(e, "source", false, item, "reference", diag)) r.source = *v;
    if (r.url.empty() && r.source.empty()) {
      diag.Add(item.Mark(), "a reference needs a 'url' or a 'source'");
      continue;
    }
    refs.push_back(std::move(r));
  }
  if (refs.empty() && diag.ok()) {
    diag.Add(node.Mark(), "'references' must name at least one source");
  }
  return refs;
}

std::vector<std::string> SplitSlash(std::string_view path) {
  std::vector<std::string> parts;
  std::string cur;
  for (char c : path) {
    if (c == '/' || c == '\\') {
      if (!cur.empty()) parts.push_back(std::move(cur));
      cur.clear();
    } else {
      cur.push_back(c);
    }
  }
  if (!cur.empty()) parts.push_back(std::move(cur));
  return parts;
}

std::string StripYamlExtension(std::string_view file) {
  if (file.ends_with(".yaml")) return std::string(file.substr(0, file.size() - 5));
  if (file.ends_with(".yml")) return std::string(file.substr(0, file.size() - 4));
  return {};
}

}  // namespace

// ---- public helpers --------------------------------------------------------------

std::string ClosestMatch(std::string_view word, const std::vector<std::string>& candidates) {
  std::string best;
  std::size_t best_distance = std::numeric_limits<std::size_t>::max();
  const std::string w = ToLowerAscii(word);
  for (const std::string& cand : candidates) {
    const std::string c = ToLowerAscii(cand);
    // Levenshtein distance, two rows.
    std::vector<std::size_t> prev(c.size() + 1), cur(c.size() + 1);
    for (std::size_t j = 0; j <= c.size(); ++j) prev[j] = j;
    for (std::size_t i = 1; i <= w.size(); ++i) {
      cur[0] = i;
      for (std::size_t j = 1; j <= c.size(); ++j) {
        const std::size_t sub = prev[j - 1] + (w[i - 1] == c[j - 1] ? 0 : 1);
        cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1, sub});
      }
      std::swap(prev, cur);
    }
    const std::size_t d = prev[c.size()];
    if (d < best_distance) {
      best_distance = d;
      best = cand;
    }
  }
  const std::size_t limit = std::max<std::size_t>(1, std::min<std::size_t>(3, w.size() / 3));
  return best_distance <= limit ? best : std::string();
}

Result<std::uint64_t> ParseSize(std::string_view text) {
  std::size_t i = 0;
  while (i < text.size() && text[i] >= '0' && text[i] <= '9') ++i;
  if (i == 0) {
    return Fail(ErrorCode::kFormat, "must be a size (bytes, or a number with KiB/MiB/GiB/TiB or KB/MB/GB/TB), got '" +
                                        std::string(text) + "'");
  }
  std::uint64_t number = 0;
  // NOLINTNEXTLINE(bugprone-suspicious-stringview-data-usage): from_chars stops at the end pointer
  auto [p, ec] = std::from_chars(text.data(), text.data() + i, number);
  if (ec != std::errc() || p != text.data() + i) {
    return Fail(ErrorCode::kFormat, "size '" + std::string(text) + "' is too large");
  }
  std::string_view unit = text.substr(i);
  while (!unit.empty() && unit.front() == ' ') unit.remove_prefix(1);
  const std::string u = ToLowerAscii(unit);
  std::uint64_t mult = 0;
  if (u.empty() || u == "b")
    mult = 1;
  else if (u == "kib")
    mult = kKiB;
  else if (u == "mib")
    mult = kMiB;
  else if (u == "gib")
    mult = kGiB;
  else if (u == "tib")
    mult = kTiB;
  else if (u == "kb")
    mult = 1000ULL;
  else if (u == "mb")
    mult = 1000ULL * 1000;
  else if (u == "gb")
    mult = 1000ULL * 1000 * 1000;
  else if (u == "tb")
    mult = 1000ULL * 1000 * 1000 * 1000;
  if (mult == 0) {
    return Fail(ErrorCode::kFormat,
                "has unknown size unit '" + std::string(unit) + "' (use B, KiB, MiB, GiB, TiB, KB, MB, GB or TB)");
  }
  if (number > std::numeric_limits<std::uint64_t>::max() / mult) {
    return Fail(ErrorCode::kFormat, "size '" + std::string(text) + "' is too large");
  }
  return number * mult;
}

Result<ParamValue> ParseParamScalar(const ParamSpec& spec, std::string_view text) {
  switch (spec.type) {
    case ParamType::kBool: {
      auto b = ParseBool(text);
      if (!b) return std::unexpected(b.error());
      return ParamValue(*b);
    }
    case ParamType::kInt: {
      auto v = ParseInt(text);
      if (!v) return std::unexpected(v.error());
      if (spec.max_value > spec.min_value && (*v < spec.min_value || *v > spec.max_value)) {
        return Fail(ErrorCode::kFormat, "is " + std::to_string(*v) + ", out of range " +
                                            std::to_string(spec.min_value) + ".." + std::to_string(spec.max_value));
      }
      return ParamValue(*v);
    }
    case ParamType::kSize: {
      auto v = ParseSize(text);
      if (!v) return std::unexpected(v.error());
      if (spec.max_value > spec.min_value) {
        auto range = CheckRange("", *v, static_cast<std::uint64_t>(spec.min_value),
                                static_cast<std::uint64_t>(spec.max_value), true);
        if (!range) {
          return Fail(ErrorCode::kFormat, "is " + FormatSize(*v) + ", out of range " +
                                              FormatSize(static_cast<std::uint64_t>(spec.min_value)) + ".." +
                                              FormatSize(static_cast<std::uint64_t>(spec.max_value)));
        }
      }
      return ParamValue(*v);
    }
    case ParamType::kString: {
      if (!spec.choices.empty()) {
        bool ok = false;
        for (std::size_t at = 0; at <= spec.choices.size();) {
          std::size_t bar = spec.choices.find('|', at);
          if (bar == std::string_view::npos) bar = spec.choices.size();
          ok = ok || spec.choices.substr(at, bar - at) == text;
          at = bar + 1;
        }
        if (!ok)
          return Fail(ErrorCode::kFormat, "is '" + std::string(text) + "', not one of " + std::string(spec.choices));
      }
      return ParamValue(std::string(text));
    }
    case ParamType::kNameGlob: {
      if (auto ok = CheckComponentGlob(text); !ok) {
        return Fail(ErrorCode::kFormat, "is not a valid name glob: " + ok.error().message);
      }
      return ParamValue(std::string(text));
    }
    case ParamType::kStringList:
    case ParamType::kGlobList:
      if (text == "[]" || text.empty()) return ParamValue(std::vector<std::string>{});
      return Fail(ErrorCode::kFormat, "must be a list");
  }
  return Fail(ErrorCode::kInternal, "unknown parameter type");
}

Result<DocumentType> ClassifyDocument(std::string_view text, std::string_view origin) {
  Diagnostics diag(origin);
  auto root = LoadYaml(text, diag);
  if (!root) return std::unexpected(diag.ToError());
  try {
    if (root->IsMap()) {
      if (root->operator[]("kind")) return DocumentType::kArtifact;
      if (root->operator[]("artifacts")) return DocumentType::kProfile;
      diag.Add(root->Mark(), "neither an artifact (no 'kind') nor a profile (no 'artifacts')");
    } else {
      diag.Add(root->Mark(), "the document must be a mapping, got " + Describe(*root));
    }
  } catch (const YAML::Exception& e) {
    diag.Add(e.mark, e.msg);
  }
  return std::unexpected(diag.ToError());
}

Result<ArtifactDef> ParseArtifact(std::string_view text, std::string_view origin, std::string_view relative_path) {
  Diagnostics diag(origin);
  auto root_opt = LoadYaml(text, diag);
  if (!root_opt) return std::unexpected(diag.ToError());
  const YAML::Node& root = *root_opt;
  ArtifactDef def;
  def.origin = std::string(origin);
  def.text = std::string(text);
  try {
    if (!root.IsMap()) {
      diag.Add(root.Mark(), "an artifact must be a mapping, got " + Describe(root));
      return std::unexpected(diag.ToError());
    }
    static const std::vector<std::string> kKeys = {"name",      "description", "rationale",  "references",
                                                   "platforms", "kind",        "parameters", "limits"};
    const EntryMap e = Entries(root, kKeys, "artifact", diag);

    // Path-derived identity.
    const std::vector<std::string> parts = SplitSlash(relative_path);
    std::string expected;
    std::string os_dir;
    if (parts.size() >= 4 && parts[parts.size() - 4] == "artifacts") {
      os_dir = parts[parts.size() - 3];
      const std::string stem = StripYamlExtension(parts.back());
      expected = os_dir + "." + parts[parts.size() - 2] + "." + stem;
      if (os_dir != "common" && !ParseTargetOs(os_dir)) {
        diag.Add(root.Mark(), "artifact directory '" + os_dir + "' is not linux, windows, macos or common");
      }
      if (!IsSimpleName(parts[parts.size() - 2]) || !IsSimpleName(stem)) {
        diag.Add(root.Mark(), "artifact path '" + std::string(relative_path) +
                                  "' must use only a-z, 0-9 and _ in category and file name");
      }
    } else {
      diag.Add(root.Mark(),
               "an artifact file must be at artifacts/<os>/<category>/<name>.yaml, "
               "not '" +
                   std::string(relative_path) + "'");
    }
    if (auto name = ScalarField(e, "name", true, root, "artifact", diag)) {
      def.name = *name;
      if (!expected.empty() && def.name != expected) {
        diag.Add(e.at("name").second.Mark(),
                 "artifact name '" + def.name + "' does not match its path (expected '" + expected + "')");
      }
    }
    if (auto v = ScalarField(e, "description", true, root, "artifact", diag)) def.description = *v;
    if (auto v = ScalarField(e, "rationale", true, root, "artifact", diag)) def.rationale = *v;
    if (auto it = e.find("references"); it != e.end()) {
      def.references = ParseReferences(it->second.second, diag);
    } else {
      diag.Add(root.Mark(), "missing required key 'references' in artifact");
    }

    // Platforms: default from the directory; an OS directory pins them.
    if (auto it = e.find("platforms"); it != e.end()) {
      const YAML::Node& node = it->second.second;
      if (!node.IsSequence()) {
        diag.Add(node.Mark(), "'platforms' must be a list of linux, windows, macos, got " + Describe(node));
      } else {
        for (const YAML::Node& item : node) {
          const auto os = item.IsScalar() ? ParseTargetOs(item.Scalar()) : std::nullopt;
          if (!os) {
            diag.Add(item.Mark(), "unknown platform " + Describe(item) + " (use linux, windows or macos)");
            continue;
          }
          if (std::find(def.platforms.begin(), def.platforms.end(), *os) == def.platforms.end()) {
            def.platforms.push_back(*os);
          }
        }
        if (def.platforms.empty() && node.size() == 0) {
          diag.Add(node.Mark(), "'platforms' must not be empty");
        }
        if (auto dir_os = ParseTargetOs(os_dir)) {
          if (def.platforms.size() != 1 || def.platforms[0] != *dir_os) {
            if (!def.platforms.empty()) {
              diag.Add(node.Mark(), "an artifact under artifacts/" + os_dir + "/ must have platforms [" + os_dir + "]");
            }
          }
        }
      }
    } else if (auto dir_os = ParseTargetOs(os_dir)) {
      def.platforms = {*dir_os};
    } else {
      def.platforms = {TargetOs::kLinux, TargetOs::kWindows, TargetOs::kMacos};
    }

    if (auto kind = ScalarField(e, "kind", true, root, "artifact", diag)) {
      def.kind = FindKind(*kind);
      if (!def.kind) {
        std::vector<std::string> names;
        for (const KindSpec& k : Kinds()) names.emplace_back(k.name);
        std::string all;
        for (const std::string& n : names) all += (all.empty() ? "" : ", ") + n;
        diag.Add(e.at("kind").second.Mark(),
                 "unknown kind '" + *kind + "'" + Hint(*kind, names) + "; kinds are " + all);
      }
    }
    if (def.kind) {
      const std::string where = "parameters of kind '" + std::string(def.kind->name) + "'";
      const YAML::Node* params_node = nullptr;
      if (auto it = e.find("parameters"); it != e.end()) {
        params_node = &it->second.second;
        def.parameters = ParseParameters(*params_node, *def.kind, def.platforms, where, diag);
      }
      for (const ParamSpec& p : def.kind->parameters) {
        if (!p.required) continue;
        const ParamValue* v = def.parameters.Find(p.name);
        if (!v || IsEmptyValue(*v)) {
          // Only report when the value was not already rejected above.
          const bool present = params_node && params_node->IsMap() && (*params_node)[std::string(p.name)];
          if (!present || v) {
            diag.Add(params_node ? params_node->Mark() : root.Mark(),
                     "parameter '" + std::string(p.name) + "' is required for kind '" + std::string(def.kind->name) +
                         "' and must not be empty");
          }
        }
      }
    }
    if (auto it = e.find("limits"); it != e.end()) {
      def.limits = ToArtifactLimits(ParseLimits(it->second.second, kArtifactLimitSpecs, "artifact limits", diag));
    }
  } catch (const YAML::Exception& ex) {
    diag.Add(ex.mark, ex.msg);
  }
  if (!diag.ok()) return std::unexpected(diag.ToError());
  return def;
}

Result<ProfileDef> ParseProfile(std::string_view text, std::string_view origin, std::string_view file_stem,
                                const ArtifactLookup& find_artifact, const std::vector<std::string>& known_artifacts) {
  Diagnostics diag(origin);
  auto root_opt = LoadYaml(text, diag);
  if (!root_opt) return std::unexpected(diag.ToError());
  const YAML::Node& root = *root_opt;
  ProfileDef def;
  def.origin = std::string(origin);
  def.text = std::string(text);
  try {
    if (!root.IsMap()) {
      diag.Add(root.Mark(), "a profile must be a mapping, got " + Describe(root));
      return std::unexpected(diag.ToError());
    }
    static const std::vector<std::string> kKeys = {"name", "description", "limits", "artifacts"};
    const EntryMap e = Entries(root, kKeys, "profile", diag);
    if (auto v = ScalarField(e, "name", true, root, "profile", diag)) {
      def.name = *v;
      if (def.name.empty() ||
          def.name.find_first_not_of("abcdefghijklmnopqrstuvwxyz0123456789_-") != std::string::npos) {
        diag.Add(e.at("name").second.Mark(), "profile name '" + def.name + "' must use only a-z, 0-9, _ and -");
      }
      if (!file_stem.empty() && def.name != file_stem) {
        diag.Add(
            e.at("name").second.Mark(),
            "profile name '" + def.name + "' does not match its file name (expected '" + std::string(file_stem) + "')");
      }
    }
    if (auto v = ScalarField(e, "description", true, root, "profile", diag)) def.description = *v;
    if (auto it = e.find("limits"); it != e.end()) {
      const auto m = ParseLimits(it->second.second, kProfileLimitSpecs, "profile limits", diag);
      if (auto l = m.find("time_limit"); l != m.end()) def.limits.time_limit = l->second;
      if (auto l = m.find("max_output"); l != m.end()) def.limits.max_output = l->second;
      if (auto l = m.find("max_file_size"); l != m.end()) def.limits.max_file_size = l->second;
    }
    auto it = e.find("artifacts");
    if (it == e.end()) {
      diag.Add(root.Mark(), "missing required key 'artifacts' in profile");
    } else if (!it->second.second.IsSequence() || it->second.second.size() == 0) {
      diag.Add(it->second.second.Mark(), "'artifacts' must be a non-empty list, got " + Describe(it->second.second));
    } else {
      std::set<std::string> seen;
      static const std::vector<std::string> kRefKeys = {"name", "parameters", "limits"};
      for (const YAML::Node& item : it->second.second) {
        ArtifactRef ref;
        ref.line = item.Mark().line + 1;
        ref.column = item.Mark().column + 1;
        YAML::Node name_node = item;
        EntryMap re;
        if (item.IsMap()) {
          re = Entries(item, kRefKeys, "artifact reference", diag);
          auto n = ScalarField(re, "name", true, item, "artifact reference", diag);
          if (!n) continue;
          ref.name = *n;
          name_node = re.at("name").second;
        } else if (item.IsScalar()) {
          ref.name = item.Scalar();
        } else {
          diag.Add(item.Mark(),
                   "an artifact reference must be a name or {name, parameters, "
                   "limits}, got " +
                       Describe(item));
          continue;
        }
        const ArtifactDef* art = find_artifact(ref.name);
        if (!art) {
          diag.Add(name_node.Mark(), "unknown artifact '" + ref.name + "'" + Hint(ref.name, known_artifacts));
          continue;
        }
        if (!seen.insert(ref.name).second) {
          diag.Add(name_node.Mark(), "artifact '" + ref.name + "' is listed twice");
          continue;
        }
        if (auto p = re.find("parameters"); p != re.end() && art->kind) {
          ref.parameters = ParseParameters(p->second.second, *art->kind, art->platforms, "artifact override", diag);
        }
        if (auto l = re.find("limits"); l != re.end()) {
          ref.limits =
              ToArtifactLimits(ParseLimits(l->second.second, kArtifactLimitSpecs, "artifact override limits", diag));
        }
        def.artifacts.push_back(std::move(ref));
      }
    }
  } catch (const YAML::Exception& ex) {
    diag.Add(ex.mark, ex.msg);
  }
  if (!diag.ok()) return std::unexpected(diag.ToError());
  return def;
}

}  // namespace trawl::core::profile
