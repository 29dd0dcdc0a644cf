// SPDX-License-Identifier: Apache-2.0
#include "core/profile/paths.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <filesystem>
#include <system_error>
#include <unordered_set>

#include "core/util/file.h"
#include "core/util/u64_set.h"
#include "core/util/text.h"

namespace trawl::core::profile {
namespace {

constexpr std::string_view kMachineVariables[] = {
    "SystemRoot",   "windir",      "SystemDrive",     "ProgramFiles", "ProgramFiles(x86)",
    "ProgramW6432", "ProgramData", "ALLUSERSPROFILE", "PUBLIC",
};
constexpr std::string_view kUserVariables[] = {
    "USERPROFILE", "APPDATA", "LOCALAPPDATA", "TEMP", "TMP",
};

std::string CanonicalVariable(std::string_view name) {
  for (std::string_view v : kMachineVariables) {
    if (EqualsIgnoreCaseAscii(v, name)) return std::string(v);
  }
  for (std::string_view v : kUserVariables) {
    if (EqualsIgnoreCaseAscii(v, name)) return std::string(v);
  }
  return {};
}

// Value of a machine-wide variable for ctx (override or Windows default).
std::string MachineValue(const ExpansionContext& ctx, std::string_view canonical) {
  if (canonical != "SystemDrive") {
    if (std::string v = EnvValue(ctx, canonical); !v.empty()) return v;
  }
  std::string drive = SystemDrive(ctx);
  if (canonical == "SystemDrive") return drive;
  if (canonical == "SystemRoot" || canonical == "windir") return drive + "\\Windows";
  if (canonical == "ProgramFiles" || canonical == "ProgramW6432") return drive + "\\Program Files";
  if (canonical == "ProgramFiles(x86)") return drive + "\\Program Files (x86)";
  if (canonical == "ProgramData" || canonical == "ALLUSERSPROFILE") return drive + "\\ProgramData";
  if (canonical == "PUBLIC") return drive + "\\Users\\Public";
  return {};
}

std::string UserValue(const UserProfile& user, std::string_view canonical) {
  if (canonical == "USERPROFILE") return user.home;
  if (canonical == "APPDATA") return user.home + "\\AppData\\Roaming";
  if (canonical == "LOCALAPPDATA") return user.home + "\\AppData\\Local";
  if (canonical == "TEMP" || canonical == "TMP") return user.home + "\\AppData\\Local\\Temp";
  return {};
}

// One %NAME% or literal run of a Windows pattern.
struct Token {
  bool is_variable = false;
  std::string text;  // literal text, or the canonical variable name
};

Result<std::vector<Token>> Tokenize(std::string_view pattern) {
  std::vector<Token> tokens;
  std::string literal;
  for (std::size_t i = 0; i < pattern.size(); ++i) {
    if (pattern[i] != '%') {
      literal.push_back(pattern[i]);
      continue;
    }
    const std::size_t close = pattern.find('%', i + 1);
    if (close == std::string_view::npos) {
      return Fail(ErrorCode::kFormat, "unbalanced '%' in path '" + std::string(pattern) + "'");
    }
    const std::string_view name = pattern.substr(i + 1, close - i - 1);
    const std::string canonical = CanonicalVariable(name);
    if (canonical.empty()) {
      return Fail(ErrorCode::kFormat, "unknown variable '%" + std::string(name) + "%'");
    }
    if (!literal.empty()) tokens.push_back({false, std::move(literal)});
    literal.clear();
    tokens.push_back({true, canonical});
    i = close;
  }
  if (!literal.empty()) tokens.push_back({false, std::move(literal)});
  return tokens;
}

struct CompiledExclude {
  bool name_only = false;
  std::string name_glob;
  std::vector<std::string> components;
};

// Paths already reported are remembered by a 64-bit FNV-1a hash, not the
// string: a 200,000-file walk then needs a few MiB, not tens. (A collision,
// about 1 in 10^9 at that size, would drop one duplicate-looking path.)
std::uint64_t PathKey(std::string_view path) {
  std::uint64_t h = 14695981039346656037ULL;
  for (char c : path) {
    h ^= static_cast<unsigned char>(c);
    h *= 1099511628211ULL;
  }
  return h;
}

class Walker {
 public:
  Walker(const ExpansionContext& ctx, DirectoryLister& lister, const GlobOptions& options, PathStyle style,
         std::vector<CompiledExclude> excludes, Expansion& out, core::U64Set& seen)
      : ctx_(ctx),
        lister_(lister),
        options_(options),
        style_(style),
        fold_(FoldCaseFor(ctx.os)),
        excludes_(std::move(excludes)),
        out_(out),
        seen_(seen) {}

  // Matches `segments` from the node start_host (the root by default), whose
  // target components are start_comps.
  void Run(std::vector<std::string> segments, std::vector<std::string> start_comps, const std::string& user,
           std::string start_host = {}, bool start_is_dir = true) {
    segments_ = std::move(segments);
    user_ = user;
    memo_.clear();
    use_memo_ = std::count(segments_.begin(), segments_.end(), "**") > 1;
    comps_ = std::move(start_comps);
    Node start{start_host.empty() ? NormalizeRoot(ctx_.root) : std::move(start_host), start_is_dir, false, false, 0};
    Match(0, start);
  }

 private:
  struct Node {
    std::string host;
    bool is_dir;
    bool is_symlink;
    bool is_regular;
    int depth;
  };

  bool Excluded(std::string_view name) const {
    for (const CompiledExclude& ex : excludes_) {
      if (ex.name_only) {
        if (MatchComponent(ex.name_glob, name, fold_)) return true;
      } else if (MatchPathComponents(ex.components, comps_, fold_)) {
        return true;
      }
    }
    return false;
  }

  void Report(const Node& node) {
    if (comps_.empty() || (style_ == PathStyle::kWindows && comps_.size() == 1)) return;
    if (!seen_.insert(PathKey(node.host))) return;
    if (out_.reported >= options_.max_matches) {
      out_.truncated = true;
      stop_ = true;
      return;
    }
    ++out_.reported;
    PathMatch match{
        TargetPathOf(comps_, style_), node.host, user_, node.is_dir, node.is_symlink, node.is_regular, node.depth};
    if (options_.on_match) {
      if (!options_.on_match(match)) stop_ = true;
      return;
    }
    out_.matches.push_back(std::move(match));
  }

  const std::vector<DirEntry>* Listing(const Node& node) {
    auto listing = lister_.List(node.host);
    if (!listing) {
      out_.issues.push_back({TargetPathOf(comps_, style_), listing.error().message});
      return nullptr;
    }
    listing_ = SortedListing(std::move(*listing));
    return &listing_;
  }

  void Child(std::size_t next, const Node& parent, const DirEntry& e, int depth) {
    comps_.push_back(e.name);
    if (!Excluded(e.name)) {
      Node child{JoinHost(parent.host, e.name), e.is_dir && !e.is_symlink, e.is_symlink, e.is_regular, depth};
      Match(next, child);
    }
    comps_.pop_back();
  }

  void Match(std::size_t i, const Node& node) {
    if (stop_) return;
    if (use_memo_) {
      std::string key = node.host;
      key.push_back('\0');
      key += std::to_string(i) + ":" + std::to_string(node.depth);
      if (!memo_.insert(std::move(key)).second) return;
    }
    if (i == segments_.size()) {
      Report(node);
      return;
    }
    const std::string& seg = segments_[i];
    if (seg == "**") {
      Match(i + 1, node);
      if (!node.is_dir || stop_) return;
      if (node.depth >= options_.max_depth) {
        out_.depth_limited = true;
        return;
      }
      const std::vector<DirEntry>* listing = Listing(node);
      if (!listing) return;
      const std::vector<DirEntry> entries = *listing;  // recursion reuses listing_
      for (const DirEntry& e : entries) {
        if (stop_) return;
        Child(i, node, e, node.depth + 1);
      }
      return;
    }
    if (!node.is_dir) return;
    const std::vector<DirEntry>* listing = Listing(node);
    if (!listing) return;
    const bool wild = HasGlobChars(seg);
    std::vector<DirEntry> hits;
    for (const DirEntry& e : *listing) {
      const bool hit =
          wild ? MatchComponent(seg, e.name, fold_) : (fold_ ? EqualsIgnoreCaseAscii(seg, e.name) : seg == e.name);
      if (hit) hits.push_back(e);
    }
    for (const DirEntry& e : hits) {
      if (stop_) return;
      Child(i + 1, node, e, node.depth);
    }
  }

  const ExpansionContext& ctx_;
  DirectoryLister& lister_;
  const GlobOptions& options_;
  PathStyle style_;
  bool fold_;
  std::vector<CompiledExclude> excludes_;
  Expansion& out_;
  core::U64Set& seen_;
  std::vector<std::string> segments_;
  std::vector<std::string> comps_;
  std::string user_;
  std::vector<DirEntry> listing_;
  std::unordered_set<std::string> memo_;
  bool use_memo_ = false;
  bool stop_ = false;
};

Result<std::vector<CompiledExclude>> CompileExcludes(const std::vector<std::string>& excludes,
                                                     const ExpansionContext& ctx) {
  std::vector<CompiledExclude> out;
  const PathStyle target_style = ctx.os == TargetOs::kWindows ? PathStyle::kWindows : PathStyle::kUnix;
  for (const std::string& ex : excludes) {
    const bool has_sep = ex.find_first_of(target_style == PathStyle::kWindows ? "\\/" : "/") != std::string::npos;
    if (!has_sep && !ex.starts_with('%') && !ex.starts_with('~')) {
      TRAWL_TRY_VOID(CheckComponentGlob(ex));
      out.push_back({true, ex, {}});
      continue;
    }
    auto expanded = ExpandVariables(ex, ctx);
    if (!expanded) return std::unexpected(expanded.error());
    for (const ExpandedPattern& p : *expanded) {
      out.push_back({false, {}, SplitPath(p.pattern, target_style)});
    }
  }
  return out;
}

Result<void> ExpandOne(std::string_view pattern, const ExpansionContext& ctx, DirectoryLister& lister,
                       const GlobOptions& options, const std::vector<CompiledExclude>& excludes, Expansion& out,
                       core::U64Set& seen) {
  auto style = CheckPattern(pattern);
  if (!style) return std::unexpected(style.error());
  auto expanded = ExpandVariables(pattern, ctx);
  if (!expanded) return std::unexpected(expanded.error());
  Walker walker(ctx, lister, options, *style, excludes, out, seen);
  for (const ExpandedPattern& p : *expanded) {
    std::vector<std::string> comps = SplitPath(p.pattern, *style);
    std::vector<std::string> start;
    std::string start_host;  // empty: the root
    if (*style == PathStyle::kWindows) {
      if (comps.empty() || comps[0].size() != 2 || comps[0][1] != ':') {
        out.issues.push_back({p.pattern, "no drive letter after expansion"});
        continue;
      }
      start_host = HostRootForDrive(ctx, comps[0]);
      if (start_host.empty()) {
        out.issues.push_back({p.pattern, "drive " + comps[0] + " is not the mapped system drive " + SystemDrive(ctx)});
        continue;
      }
      // The drive as the target names it ("D:"), whatever case the pattern used.
      std::string drive = comps[0];
      if (EqualsIgnoreCaseAscii(drive, SystemDrive(ctx))) {
        drive = SystemDrive(ctx);
      } else {
        drive[0] = static_cast<char>(std::toupper(static_cast<unsigned char>(drive[0])));
      }
      start.push_back(std::move(drive));
      comps.erase(comps.begin());
    }
    bool bad = false;
    for (const std::string& c : comps) {
      if (c == "." || c == "..") bad = true;  // only from a hostile home path
    }
    if (bad) {
      out.issues.push_back({p.pattern, "'.' or '..' component after expansion; skipped"});
      continue;
    }
    walker.Run(std::move(comps), std::move(start), p.user, std::move(start_host));
    if (out.truncated) break;
  }
  return {};
}

}  // namespace

// ---- variables -----------------------------------------------------------------

const std::vector<std::string_view>& KnownVariables() {
  static const std::vector<std::string_view> all = [] {
    std::vector<std::string_view> v(std::begin(kMachineVariables), std::end(kMachineVariables));
    v.insert(v.end(), std::begin(kUserVariables), std::end(kUserVariables));
    return v;
  }();
  return all;
}

bool IsPerUserVariable(std::string_view name) {
  for (std::string_view v : kUserVariables) {
    if (EqualsIgnoreCaseAscii(v, name)) return true;
  }
  return false;
}

Result<PathStyle> DetectPathStyle(std::string_view pattern) {
  if (pattern.empty()) return Fail(ErrorCode::kFormat, "empty path");
  if (pattern[0] == '%') return PathStyle::kWindows;
  if (pattern.size() >= 2 && IsAsciiAlpha(pattern[0]) && pattern[1] == ':') {
    if (pattern.size() == 2 || pattern[2] == '\\' || pattern[2] == '/') return PathStyle::kWindows;
    return Fail(ErrorCode::kFormat, "drive-relative path '" + std::string(pattern) + "' (write C:\\...)");
  }
  if (pattern[0] == '/' || pattern[0] == '~') return PathStyle::kUnix;
  if (pattern[0] == '\\') {
    return Fail(ErrorCode::kFormat,
                "path '" + std::string(pattern) + "' has no drive letter (UNC paths are not supported)");
  }
  return Fail(ErrorCode::kFormat,
              "path '" + std::string(pattern) + "' is not absolute (start with C:\\, %VARIABLE%, / or ~)");
}

Result<PathStyle> CheckPattern(std::string_view pattern) {
  auto style = DetectPathStyle(pattern);
  if (!style) return style;
  std::string skeleton;  // variables replaced by a plain placeholder component
  if (*style == PathStyle::kWindows) {
    auto tokens = Tokenize(pattern);
    if (!tokens) return std::unexpected(tokens.error());
    for (const Token& t : *tokens) skeleton += t.is_variable ? std::string("V") : t.text;
  } else {
    if (pattern[0] == '~' && pattern.size() > 1 && pattern[1] != '/') {
      return Fail(ErrorCode::kFormat, "only '~' or '~/' is supported, not '~user' ('" + std::string(pattern) + "')");
    }
    skeleton = std::string(pattern);
  }
  const std::vector<std::string> comps = SplitPath(skeleton, *style);
  for (std::size_t i = 0; i < comps.size(); ++i) {
    const std::string& c = comps[i];
    if (c == "." || c == "..") {
      return Fail(ErrorCode::kFormat, "'" + c + "' component in path '" + std::string(pattern) + "'");
    }
    if (i == 0 && *style == PathStyle::kWindows && c.size() == 2 && c[1] == ':') continue;
    auto ok = CheckComponentGlob(c);
    if (!ok) {
      return Fail(ErrorCode::kFormat, "bad glob '" + std::string(pattern) + "': " + ok.error().message);
    }
  }
  return style;
}

Result<std::vector<ExpandedPattern>> ExpandVariables(std::string_view pattern, const ExpansionContext& ctx) {
  auto style = DetectPathStyle(pattern);
  if (!style) return std::unexpected(style.error());
  std::vector<ExpandedPattern> out;
  const bool windows_target = ctx.os == TargetOs::kWindows;
  if ((*style == PathStyle::kWindows) != windows_target) return out;
  if (*style == PathStyle::kUnix) {
    if (pattern[0] != '~') {
      out.push_back({std::string(pattern), {}});
      return out;
    }
    if (pattern.size() > 1 && pattern[1] != '/') {
      return Fail(ErrorCode::kFormat, "only '~' or '~/' is supported ('" + std::string(pattern) + "')");
    }
    for (const UserProfile& user : ctx.users) {
      out.push_back({user.home + std::string(pattern.substr(1)), user.name});
    }
    return out;
  }
  auto tokens = Tokenize(pattern);
  if (!tokens) return std::unexpected(tokens.error());
  bool per_user = false;
  for (const Token& t : *tokens) {
    if (t.is_variable && IsPerUserVariable(t.text)) per_user = true;
  }
  auto substitute = [&](const UserProfile* user) {
    std::string s;
    for (const Token& t : *tokens) {
      if (!t.is_variable) {
        s += t.text;
      } else if (IsPerUserVariable(t.text)) {
        s += UserValue(*user, t.text);
      } else {
        s += MachineValue(ctx, t.text);
      }
    }
    return s;
  };
  if (!per_user) {
    out.push_back({substitute(nullptr), {}});
    return out;
  }
  for (const UserProfile& user : ctx.users) out.push_back({substitute(&user), user.name});
  return out;
}

// ---- globbing ----------------------------------------------------------------------

Result<Expansion> ExpandGlobs(const std::vector<std::string>& patterns, const ExpansionContext& ctx,
                              DirectoryLister& lister, const GlobOptions& options) {
  auto excludes = CompileExcludes(options.exclude, ctx);
  if (!excludes) return std::unexpected(excludes.error());
  Expansion out;
  core::U64Set seen;
  for (const std::string& pattern : patterns) {
    TRAWL_TRY_VOID(ExpandOne(pattern, ctx, lister, options, *excludes, out, seen));
    if (out.truncated) break;
  }
  return out;
}

Result<Expansion> ExpandGlob(std::string_view pattern, const ExpansionContext& ctx, DirectoryLister& lister,
                             const GlobOptions& options) {
  return ExpandGlobs({std::string(pattern)}, ctx, lister, options);
}

Result<Expansion> WalkBelow(const PathMatch& start, const ExpansionContext& ctx, DirectoryLister& lister,
                            const GlobOptions& options) {
  auto excludes = CompileExcludes(options.exclude, ctx);
  if (!excludes) return std::unexpected(excludes.error());
  const PathStyle style = ctx.os == TargetOs::kWindows ? PathStyle::kWindows : PathStyle::kUnix;
  Expansion out;
  core::U64Set seen;
  seen.insert(PathKey(start.host_path));  // the start is the caller's, not a result
  Walker walker(ctx, lister, options, style, std::move(*excludes), out, seen);
  walker.Run({"**"}, SplitPath(start.target_path, style), start.user, start.host_path,
             start.is_dir && !start.is_symlink);
  return out;
}

std::string HostPathFor(std::string_view target_path, const ExpansionContext& ctx) {
  const bool windows = ctx.os == TargetOs::kWindows;
  const PathStyle style = windows ? PathStyle::kWindows : PathStyle::kUnix;
  std::vector<std::string> comps = SplitPath(target_path, style);
  std::string host;
  if (windows) {
    if (comps.empty()) return {};
    host = HostRootForDrive(ctx, comps[0]);
    if (host.empty()) return {};
    comps.erase(comps.begin());
  } else if (target_path.empty() || target_path[0] != '/') {
    return {};
  } else {
    host = NormalizeRoot(ctx.root);
  }
  for (const std::string& c : comps) {
    if (c == "." || c == "..") return {};
    host = JoinHost(host, c);
  }
  return host;
}

}  // namespace trawl::core::profile
