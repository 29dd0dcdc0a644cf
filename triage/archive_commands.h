// SPDX-License-Identifier: Apache-2.0
// trawl-triage subcommands as library functions (main.cpp only parses the
// command line): keys, decryption, verification and format inspection.
// Each returns the process exit code: 0 ok, 1 problems found (verification
// failures, unparseable files), 2 usage errors, 3 fatal errors.
#pragma once

#include <filesystem>
#include <iosfwd>
#include <optional>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "core/archive/archive_reader.h"
#include "core/crypto/age.h"
#include "core/util/error.h"
#include "core/util/exit_codes.h"

namespace trawl::triage {

inline constexpr int kExitOk = core::kExitOk;
inline constexpr int kExitProblems = core::kExitProblems;
inline constexpr int kExitUsage = core::kExitUsage;
inline constexpr int kExitFatal = core::kExitFatal;

// The per-archive caps of core::archive::ReadLimits as options of `app`
// (--max-inflated, --max-inflation-ratio).
void AddArchiveLimitOptions(CLI::App* app, core::archive::ReadLimits& limits);

// Loads identities from -i files (age-keygen format) and a passphrase file.
core::Result<std::vector<core::age::Identity>> LoadIdentities(const std::vector<std::string>& identity_files,
                                                              const std::string& passphrase_file);

int RunKeygen(const std::string& output, std::ostream& out, std::ostream& err);
int RunDecrypt(const std::vector<core::age::Identity>& ids, const std::string& archive, const std::string& out_path,
               bool raw, std::ostream& out, std::ostream& err, const core::archive::ExtractOptions& options = {});
int RunVerify(const std::vector<core::age::Identity>& ids, const std::vector<std::string>& archives, std::ostream& out,
              std::ostream& err, const core::archive::ReadLimits& limits = {});
int RunInspectPrefetch(const std::vector<std::string>& files, bool json, std::ostream& out, std::ostream& err);
int RunInspectPe(const std::vector<std::string>& files, bool json, std::ostream& out, std::ostream& err);

struct NtfsInspectOptions {
  std::string image;
  int partition = 0;                    // 0: the bare volume or the NTFS partition
  std::optional<std::uint64_t> offset;  // bytes to the boot sector
  std::string cat;                      // a path (":stream" for a named one) to write to stdout
  bool json = false;
};
// inspect_ntfs.cpp
int RunInspectNtfs(const NtfsInspectOptions& options, std::ostream& out, std::ostream& err);

struct HiveInspectOptions {
  std::string file;
  std::string key;                // a key path below the root, names separated by backslashes; "" = the root
  bool json = false;              // a header object, then one object per key
  bool no_logs = false;           // do not look for FILE.LOG, .LOG1, .LOG2 beside FILE
  std::vector<std::string> logs;  // transaction logs to offer as well (--log)
};
// inspect_hive.cpp
int RunInspectHive(const HiveInspectOptions& options, std::ostream& out, std::ostream& err);

// inspect_evtx.cpp: the records of Windows event logs (one JSON object per
// record with --json), and Sigma rules over them.
int RunInspectEvtx(const std::vector<std::string>& files, bool as_json, std::ostream& out, std::ostream& err);
struct SigmaOptions {
  std::vector<std::string> rules;  // rule files or folders of them (a SigmaHQ checkout)
  std::string mapping;             // log-source mapping; "" = the one built in
  std::vector<std::string> files;  // EVTX files
  bool json = false;
};
int RunSigma(const SigmaOptions& options, std::ostream& out, std::ostream& err);

}  // namespace trawl::triage
