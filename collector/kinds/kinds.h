// SPDX-License-Identifier: Apache-2.0
// The collector kinds (docs/profile-schema.md). Each kind is one file here
// with a typed parameter struct, read once from the resolved artifact (the
// parameters and record columns are declared once, in core/profile/kinds.cpp),
// and a Run function; CollectorKinds() is the explicit registry table that
// orchestration (collect.cpp) looks kinds up in. A new kind touches its own
// file, one row of the table, its declaration in core/profile/kinds.cpp, its
// row in docs/profile-schema.md and its test. Records are built through the
// declared columns (collector/record.h: Record("<table>"), typed setters) and
// written with RunState::Emit; the fake-platform test fails on a column the
// kind declares but never writes.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "collector/run_state.h"
#include "core/profile/model.h"
#include "core/profile/glob.h"
#include "core/profile/paths.h"
#include "core/profile/store.h"

namespace trawl::collector {

// Runs one artifact of the kind; `summary` becomes its entry in the
// manifest's "artifacts" (counts, errors, limits hit).
using KindRunFn = void (*)(RunState& s, const profile::ResolvedArtifact& art, nlohmann::json& summary);

struct CollectorKind {
  std::string_view name;  // as in core/profile/kinds.cpp
  KindRunFn run;
};

// Every kind the collector implements, in no particular order.
std::span<const CollectorKind> CollectorKinds();
const CollectorKind* FindCollectorKind(std::string_view name);

// ---- the kinds ----

struct ProcessesParams {
  bool include_modules = true;
  bool hash_modules = true;
  std::uint64_t region_max_read = 0;    // per executable region no file backs
  std::uint64_t regions_max_total = 0;  // over the whole artifact
  std::uint64_t region_dump_max = 0;    // bytes of a headed region stored in the archive (0: none)
  std::uint64_t region_dumps_max_total = 0;
  static ProcessesParams From(const profile::ResolvedArtifact& art);
};
void RunProcesses(RunState& s, const profile::ResolvedArtifact& art, nlohmann::json& summary);

// No parameters: every socket of both families and protocols.
void RunConnections(RunState& s, const profile::ResolvedArtifact& art, nlohmann::json& summary);
void RunMft(RunState& s, const profile::ResolvedArtifact& art, nlohmann::json& summary);

struct FilesParams {
  bool hash = true;
  bool pe_analysis = true;
  bool copy = false;
  std::uint64_t copy_max_size = 0;  // the smaller of the parameter and the artifact's limit
  static FilesParams From(const profile::ResolvedArtifact& art);
};
void RunFiles(RunState& s, const profile::ResolvedArtifact& art, nlohmann::json& summary);

struct InstallDirsParams {
  std::string product, vendor, category;
  std::vector<std::string> exclude;
  bool copy_executables = true;
  std::uint64_t copy_small_files_max = 0;
  std::uint64_t copy_max_total = 0;
  static InstallDirsParams From(const profile::ResolvedArtifact& art);
};
void RunInstallDirs(RunState& s, const profile::ResolvedArtifact& art, nlohmann::json& summary);
// Services, drivers, autoruns and task actions from the target's SYSTEM,
// SOFTWARE and NTUSER.DAT hives and its task store: the files they start,
// through the file pipeline (collector/kinds/autostart_files.cpp).
void RunAutostartFiles(RunState& s, const profile::ResolvedArtifact& art, nlohmann::json& summary);

struct DirListingParams {
  std::string pattern = "*";
  static DirListingParams From(const profile::ResolvedArtifact& art);
};
void RunDirListing(RunState& s, const profile::ResolvedArtifact& art, nlohmann::json& summary);

// ---- shared by the file kinds (file_helpers.cpp) ----

// A file read for a process image or mapped module: the run's per-file cap only.
FileRequest ImageRequest(const RunState& s, const profile::ResolvedArtifact& art, const std::string& target,
                         const std::string& open_path);
// A matched file: the same, under the smaller of the artifact's and the run's cap.
FileRequest BaseRequest(RunState& s, const profile::ResolvedArtifact& art, const profile::PathMatch& m);
// A match that is not a regular file: a files record with its metadata.
void RecordNonFile(RunState& s, const profile::ResolvedArtifact& art, const profile::PathMatch& m,
                   const ProductColumns* product);
// Path issues and truncation of an expansion, into the run log.
void RecordIssues(RunState& s, const profile::ResolvedArtifact& art, const profile::Expansion& e);

}  // namespace trawl::collector
