// SPDX-License-Identifier: Apache-2.0
// Expansion of artifact path globs against a target's file tree.
//
// A target is a directory `root` seen through a DirectoryLister: "/" for the
// live host, or a mounted volume / extracted image for offline (--root) work.
// Windows paths (C:\..., %VARIABLES%) are mapped under the root and resolved
// component by component against directory listings, folding ASCII case,
// because a mounted NTFS copy on Linux keeps the on-disk case. Per-user
// variables (%USERPROFILE%, %APPDATA%, %LOCALAPPDATA%, %TEMP%) and unix `~`
// expand once for every user profile found on the target.
//
// Walks never follow symbolic links (a link is reported as a link, never
// traversed, so loops and links pointing out of the root cannot escape), never
// descend into special files, and are bounded by max_depth (levels matched by
// '**') and max_matches. Listing failures become issues in the result; only a
// malformed pattern is an error. A context is a value; a DirectoryLister is
// used by one thread at a time.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/profile/glob.h"
#include "core/profile/target.h"
#include "core/util/error.h"

namespace trawl::core::profile {

// ---- variables -----------------------------------------------------------

// The variables a Windows-style pattern may use, canonical spelling.
const std::vector<std::string_view>& KnownVariables();
bool IsPerUserVariable(std::string_view name);
// The style a pattern is written in: a drive letter ("C:\") or a leading
// %VARIABLE% means Windows; a leading '/' or '~' means unix. Anything else
// (relative paths) is an error.
Result<PathStyle> DetectPathStyle(std::string_view pattern);
// Full load-time check of a pattern as written in an artifact: style, known
// variables, '~' use, and glob syntax of every component.
Result<PathStyle> CheckPattern(std::string_view pattern);

struct ExpandedPattern {
  std::string pattern;  // target notation, variables substituted
  std::string user;     // user the pattern was expanded for, empty if none
};
// Substitutes %VARIABLES% (Windows) or a leading ~ (unix). Per-user variables
// give one pattern per user (none when there are no users). A pattern whose
// style does not fit ctx.os expands to nothing.
Result<std::vector<ExpandedPattern>> ExpandVariables(std::string_view pattern, const ExpansionContext& ctx);

// ---- globbing --------------------------------------------------------------

struct PathMatch;

struct GlobOptions {
  int max_depth = 8;                 // components '**' may match, in total
  std::size_t max_matches = 100000;  // then stop and set truncated
  std::vector<std::string> exclude;  // patterns; without a separator: entry names
  // Streaming: when set, each match is handed here instead of being stored in
  // Expansion::matches (memory stays flat on huge trees); returning false
  // stops the expansion.
  std::function<bool(const PathMatch&)> on_match;
};

struct PathMatch {
  std::string target_path;  // C:\Users\alice\... or /home/alice/...
  std::string host_path;    // what to open on the collecting host
  std::string user;         // the user a per-user pattern was expanded for
  bool is_dir = false;
  bool is_symlink = false;
  bool is_regular = false;
  int depth = 0;  // components matched by '**'
};

struct ExpansionIssue {
  std::string path;  // target path concerned
  std::string message;
};

struct Expansion {
  std::vector<PathMatch> matches;  // in walk order, each host path once
  std::vector<ExpansionIssue> issues;
  std::size_t reported = 0;    // matches found (stored or streamed)
  bool truncated = false;      // max_matches was reached
  bool depth_limited = false;  // some directory was not entered because of max_depth
};

// Expands one pattern (as written in an artifact) against the target.
Result<Expansion> ExpandGlob(std::string_view pattern, const ExpansionContext& ctx, DirectoryLister& lister,
                             const GlobOptions& options);
// Same for several patterns; matches found by more than one are kept once.
Result<Expansion> ExpandGlobs(const std::vector<std::string>& patterns, const ExpansionContext& ctx,
                              DirectoryLister& lister, const GlobOptions& options);

// Lists everything below a concrete match (an install root) up to
// options.max_depth levels, with the same rules (no symlinks followed,
// exclusions, max_matches). The start itself is not reported.
Result<Expansion> WalkBelow(const PathMatch& start, const ExpansionContext& ctx, DirectoryLister& lister,
                            const GlobOptions& options);

// Maps a target path (C:\x\y or /x/y) to the host path under ctx.root without
// looking at the disk (exact case); empty when the path is not under the
// mapped drive.
std::string HostPathFor(std::string_view target_path, const ExpansionContext& ctx);

}  // namespace trawl::core::profile
