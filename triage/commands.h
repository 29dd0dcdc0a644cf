// SPDX-License-Identifier: Apache-2.0
// trawl-triage subcommands as library functions (main.cpp only parses the
// command line): keys, decryption, verification and format inspection.
// Each returns the process exit code: 0 ok, 1 problems found (verification
// failures, unparseable files), 2 usage errors, 3 fatal errors.
#pragma once

#include <filesystem>
#include <iosfwd>
#include <string>
#include <vector>

#include "core/crypto/age.h"
#include "core/util/error.h"

namespace trawl::triage {

inline constexpr int kExitOk = 0;
inline constexpr int kExitProblems = 1;
inline constexpr int kExitUsage = 2;
inline constexpr int kExitFatal = 3;

// Loads identities from -i files (age-keygen format) and a passphrase file.
core::Result<std::vector<core::age::Identity>> LoadIdentities(
    const std::vector<std::string>& identity_files, const std::string& passphrase_file);

int RunKeygen(const std::string& output, std::ostream& out, std::ostream& err);
int RunDecrypt(const std::vector<core::age::Identity>& ids, const std::string& archive,
               const std::string& out_path, bool raw, std::ostream& out, std::ostream& err);
int RunVerify(const std::vector<core::age::Identity>& ids, const std::vector<std::string>& archives,
              std::ostream& out, std::ostream& err);
int RunInspectPrefetch(const std::vector<std::string>& files, bool json, std::ostream& out, std::ostream& err);
int RunInspectPe(const std::vector<std::string>& files, bool json, std::ostream& out, std::ostream& err);

}  // namespace trawl::triage
