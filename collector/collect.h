// SPDX-License-Identifier: Apache-2.0
// trawl-collect as a library: runs a resolved profile against a Platform and
// writes the encrypted archive(s) and sidecar. main.cpp only parses the
// command line into CollectOptions; everything else is here so tests drive it
// in-process. Exit codes: 0 complete, 1 partial, 2 bad arguments or profile,
// 3 fatal.
#pragma once

#include "core/util/exit_codes.h"

#include <atomic>
#include <cstdint>
#include <filesystem>
#include <iosfwd>
#include <optional>
#include <string>
#include <vector>

#include "collector/platform/platform.h"
#include "collector/upload.h"

namespace trawl::collector {

inline constexpr int kExitComplete = core::kExitOk;
inline constexpr int kExitPartial = core::kExitPartial;
inline constexpr int kExitUsage = core::kExitUsage;
inline constexpr int kExitFatal = core::kExitFatal;

struct CollectOptions {
  std::string profile = "default";      // embedded name or a .yaml path
  std::filesystem::path output_dir;     // empty: trawl-output beside the executable
  std::uint64_t time_limit = 0;         // seconds; 0: the profile's
  std::uint64_t max_output = 0;         // bytes; 0: the profile's
  std::uint64_t split_size = 0;         // bytes; 0: one archive
  std::vector<std::string> recipients;  // age1...
  std::vector<std::filesystem::path> recipients_files;
  std::filesystem::path passphrase_file;
  bool no_encrypt = false;
  std::string root;       // offline: a mounted/extracted volume
  std::string target_os;  // linux | windows | macos (with --root or --image)
  // Offline: an NTFS volume inside a disk image, read without mounting.
  std::string image;
  int image_partition = 0;                    // 1-based; 0 = the NTFS partition (the largest of several)
  std::optional<std::uint64_t> image_offset;  // bytes to the volume's boot sector
  bool low_priority = true;
  bool quiet = false;
  bool progress = false;                          // redraw a status line in place (stderr is a terminal)
  const std::atomic<int>* signal_flag = nullptr;  // set by SIGINT/SIGTERM handlers
  UploadOptions upload;                           // --upload URL... (none: no upload)
};

// Runs a collection; progress goes to `err`, the closing summary to `out`:
// one "<sha256>  <path>" line per archive, then one machine-readable line
// `trawl:result {...}` (docs/upload.md). Returns the exit code.
int RunCollect(const CollectOptions& options, Platform& platform, std::ostream& out, std::ostream& err);

// --validate FILE, --list-profiles, --explain PROFILE.
int RunValidate(const std::filesystem::path& file, std::ostream& out, std::ostream& err);
int RunListProfiles(std::ostream& out, std::ostream& err);
int RunExplain(const CollectOptions& options, std::ostream& out, std::ostream& err);

// Reads trawl.yaml beside the executable (recipients, profile, output,
// limits) into defaults; values given on the command line win. Errors name
// the file and line.
core::Result<void> ApplyConfigFile(const std::filesystem::path& path, CollectOptions& options);

}  // namespace trawl::collector
