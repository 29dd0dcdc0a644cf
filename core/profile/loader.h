// SPDX-License-Identifier: Apache-2.0
// Parses and validates artifact and profile YAML. Every problem is reported as
// "<origin>:<line>:<column>: <message>" (positions from yaml-cpp marks,
// 1-based); all problems found in one file are returned together, one per
// line, in the Error message (code kFormat). yaml-cpp exceptions are caught
// here and never leave this module. Stateless; thread-safe.
#pragma once

#include <functional>
#include <string>
#include <string_view>

#include "core/profile/model.h"
#include "core/util/error.h"

namespace trawl::core::profile {

// What a YAML document is, from its keys: an artifact has `kind`, a profile
// has `artifacts`. kFormat error (with position) otherwise.
enum class DocumentType { kArtifact, kProfile };
Result<DocumentType> ClassifyDocument(std::string_view text, std::string_view origin);

// Parses an artifact. `relative_path` is the path below the profiles
// directory, e.g. "artifacts/windows/apps/3cx_desktopapp.yaml"; its last four
// components must be artifacts/<os>/<category>/<name>.yaml and `name` must be
// <os>.<category>.<name> (os is linux, windows, macos or common).
Result<ArtifactDef> ParseArtifact(std::string_view text, std::string_view origin, std::string_view relative_path);

// Parses a profile; `find_artifact` resolves referenced names (nullptr when
// unknown) so overrides are validated against the artifact's kind.
// `file_stem` must equal the profile's `name`.
using ArtifactLookup = std::function<const ArtifactDef*(std::string_view)>;
Result<ProfileDef> ParseProfile(std::string_view text, std::string_view origin, std::string_view file_stem,
                                const ArtifactLookup& find_artifact, const std::vector<std::string>& known_artifacts);

// Parses a scalar as a value of `type` (the code used for YAML values and for
// the registry's default_text). kFormat error naming the expectation.
Result<ParamValue> ParseParamScalar(const ParamSpec& spec, std::string_view text);
Result<std::uint64_t> ParseSize(std::string_view text);

// The closest candidate within edit distance 2 (or a third of the length), or
// empty; for "did you mean" hints.
std::string ClosestMatch(std::string_view word, const std::vector<std::string>& candidates);

}  // namespace trawl::core::profile
