// SPDX-License-Identifier: Apache-2.0
// The profile model: artifact definitions (one YAML file each), profile
// definitions (an ordered list of artifact references with overrides) and the
// resolved form the collector runs: every parameter filled in (kind default <
// artifact < profile override), every limit filled in, artifacts stably
// sorted by kind priority. Plain values; thread-safe once built.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "core/profile/kinds.h"
#include "core/profile/paths.h"

namespace trawl::core::profile {

// bool (kBool), int64 (kInt), uint64 (kSize), string (kString, kNameGlob),
// list (kStringList, kGlobList).
using ParamValue = std::variant<bool, std::int64_t, std::uint64_t, std::string, std::vector<std::string>>;

// Named parameter values. The typed getters return false / 0 / empty for a
// name that is absent or holds another type; after resolution every parameter
// of the kind is present with its declared type.
class Parameters {
 public:
  bool GetBool(std::string_view name) const;
  std::int64_t GetInt(std::string_view name) const;
  std::uint64_t GetSize(std::string_view name) const;
  const std::string& GetString(std::string_view name) const;
  const std::vector<std::string>& GetList(std::string_view name) const;
  const ParamValue* Find(std::string_view name) const;
  bool Has(std::string_view name) const { return Find(name) != nullptr; }
  void Set(std::string name, ParamValue value) { values_[std::move(name)] = std::move(value); }
  const std::map<std::string, ParamValue, std::less<>>& values() const { return values_; }

 private:
  std::map<std::string, ParamValue, std::less<>> values_;
};

// "true", "42", "64MiB" style rendering (sizes in the largest exact binary unit).
std::string FormatParamValue(const ParamValue& value);
std::string FormatSize(std::uint64_t bytes);

// Limits an artifact may set (all optional in YAML).
struct ArtifactLimitOverrides {
  std::optional<std::uint64_t> max_file_size;    // files larger are recorded, not read
  std::optional<std::uint64_t> max_files;        // records per artifact
  std::optional<std::uint64_t> max_total_bytes;  // bytes read per artifact
  std::optional<std::uint64_t> max_depth;        // hard cap on walk depth
  std::optional<std::uint64_t> copy_max_size;    // hard cap on one raw copy
};

struct ArtifactLimits {
  std::uint64_t max_file_size = 256ULL << 20;
  std::uint64_t max_files = 100000;
  std::uint64_t max_total_bytes = 8ULL << 30;
  std::uint64_t max_depth = 16;
  std::uint64_t copy_max_size = 64ULL << 20;
};

struct ProfileLimitOverrides {
  std::optional<std::uint64_t> time_limit;     // seconds
  std::optional<std::uint64_t> max_output;     // bytes of archive
  std::optional<std::uint64_t> max_file_size;  // per-file cap over every artifact
};

struct ProfileLimits {
  std::uint64_t time_limit = 3600;
  std::uint64_t max_output = 16ULL << 30;
  std::uint64_t max_file_size = 1ULL << 30;
};

struct Reference {
  std::string title;
  std::string url;     // a web page
  std::string source;  // repo:path@commit, catalog source id, or intel section
};

// Where a definition came from: "profiles/default.yaml" for embedded files,
// the path as given otherwise.
struct ArtifactDef {
  std::string name;  // <os>.<category>.<file stem>
  std::string description;
  std::string rationale;
  std::vector<Reference> references;
  std::vector<TargetOs> platforms;
  const KindSpec* kind = nullptr;
  Parameters parameters;  // only those the file sets
  ArtifactLimitOverrides limits;
  std::string origin;
  std::string text;  // the YAML as loaded
};

struct ArtifactRef {
  std::string name;
  Parameters parameters;  // overrides
  ArtifactLimitOverrides limits;
  int line = 0;  // where the reference is, for error messages
  int column = 0;
};

struct ProfileDef {
  std::string name;
  std::string description;
  ProfileLimitOverrides limits;
  std::vector<ArtifactRef> artifacts;
  std::string origin;
  std::string text;
};

struct ResolvedArtifact {
  std::string name;
  std::string description;
  std::string rationale;
  std::vector<Reference> references;
  std::vector<TargetOs> platforms;
  const KindSpec* kind = nullptr;
  Parameters parameters;  // complete, typed per the kind's schema
  ArtifactLimits limits;  // complete; max_file_size already capped by the profile
  std::string origin;

  bool AppliesTo(TargetOs os) const;
  // min(parameter max_depth, limit max_depth) for kinds that walk.
  int WalkDepth() const;
};

struct ResolvedProfile {
  std::string name;
  std::string description;
  std::string origin;
  ProfileLimits limits;
  std::vector<ResolvedArtifact> artifacts;  // stably sorted by kind priority
  // Lower-case hex SHA-256 of CanonicalText(): the profile's identity in
  // manifests; equal for semantically equal profiles whatever their layout.
  std::string sha256;

  std::vector<const ResolvedArtifact*> ForTarget(TargetOs os) const;
};

// Sorted-key compact JSON of everything that decides what is collected
// (names, kinds, platforms, parameters, limits); descriptions excluded.
std::string CanonicalText(const ResolvedProfile& profile);

}  // namespace trawl::core::profile
