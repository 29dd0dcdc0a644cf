// SPDX-License-Identifier: Apache-2.0
// The profile store: every artifact and profile known to a run (the embedded
// set, optionally overlaid by a directory laid out like profiles/), name
// resolution, the resolved form with its SHA-256 identity, and the
// human-readable --explain text. The library behind trawl-collect's
// --profile, --validate, --list-profiles and --explain.
//
// A ProfileStore is immutable after construction and safe to share between
// threads. The embedded store is parsed once, on first use.
#pragma once

#include <filesystem>
#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "core/profile/loader.h"
#include "core/profile/model.h"
#include "core/profile/paths.h"
#include "core/util/error.h"

namespace trawl::core::profile {

struct SourceFile {
  std::string path;    // relative to the profiles directory, '/' separated
  std::string origin;  // label for messages: "profiles/default.yaml" or a real path
  std::string text;
};

struct ProfileSummary {
  std::string name;
  std::string description;
  std::string origin;
  std::size_t artifact_count = 0;
};

class ProfileStore {
 public:
  // Files under artifacts/ are artifacts, the other *.yaml files profiles. A
  // later file with the same artifact or profile name replaces an earlier one
  // (an overlay directory overrides the embedded set). All problems of all
  // files are reported together.
  static Result<ProfileStore> FromFiles(const std::vector<SourceFile>& files);
  // The embedded set (parsed once; later calls return a copy).
  static Result<ProfileStore> Embedded();
  // The embedded set overlaid by the *.yaml files under `dir`.
  static Result<ProfileStore> WithDirectory(const std::filesystem::path& dir);

  Result<ResolvedProfile> Resolve(std::string_view profile_name) const;
  Result<ResolvedProfile> Resolve(const ProfileDef& def) const;
  // Parses a profile against this store's artifacts (not added to the store).
  Result<ProfileDef> ParseProfileText(std::string_view text, std::string_view origin, std::string_view file_stem) const;

  const ArtifactDef* FindArtifact(std::string_view name) const;
  std::vector<std::string> ArtifactNames() const;
  std::vector<std::string> ProfileNames() const;
  std::vector<ProfileSummary> Profiles() const;
  const std::map<std::string, ArtifactDef, std::less<>>& artifacts() const { return artifacts_; }

 private:
  std::map<std::string, ArtifactDef, std::less<>> artifacts_;
  std::map<std::string, ProfileDef, std::less<>> profiles_;
};

// Reads the *.yaml files below dir (no symlinks followed, at most 10000
// files of at most 1 MiB) as SourceFiles relative to dir.
Result<std::vector<SourceFile>> ReadProfileDirectory(const std::filesystem::path& dir);

// `name_or_path` is an embedded profile name ("default") or a path to a
// profile .yaml file; a file's artifacts are looked up in the embedded set
// overlaid by the artifacts/ directory next to the file, if there is one.
Result<ResolvedProfile> LoadProfile(std::string_view name_or_path);
// The embedded profiles, by name.
Result<std::vector<ProfileSummary>> ListProfiles();
// Validates one artifact or profile file (a profile against the embedded
// artifacts plus an artifacts/ directory next to it). On success, a one-line
// description of what was validated.
Result<std::string> ValidateFile(const std::filesystem::path& path);

// What an artifact's paths expand to on a target (nothing is read but
// directory listings).
struct PatternExpansion {
  std::string pattern;  // as written in the artifact
  Expansion expansion;  // files: the matches; install_dirs: the roots;
                        // dir_listing: the directories
};
// With on_match set, matches are streamed to it instead of being stored (see
// GlobOptions::on_match); returning false stops the expansion.
Result<std::vector<PatternExpansion>> ExpandArtifactPaths(const ResolvedArtifact& artifact, const ExpansionContext& ctx,
                                                          DirectoryLister& lister,
                                                          const std::function<bool(const PathMatch&)>& on_match = {});

// Text for --explain: the profile's identity and limits, then each artifact
// in run order with kind, parameters, limits and its expanded paths on the
// target described by ctx. Host-controlled names are escaped for terminals.
std::string ExplainProfile(const ResolvedProfile& profile, const ExpansionContext& ctx, DirectoryLister& lister);
std::string ExplainProfile(const ResolvedProfile& profile, const ExpansionContext& ctx);

}  // namespace trawl::core::profile
