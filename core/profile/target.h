// SPDX-License-Identifier: Apache-2.0
// The target's file tree as the collector sees it: which OS it is, how its
// directories are listed (DirectoryLister: the platform's, or std::filesystem
// for offline roots), and who its users are (Windows: folders under Users;
// Unix: /etc/passwd parsed as a plain file, never NSS). The helpers at the
// end resolve literal paths under a root without following links; the glob
// walk (paths.cpp) shares them. Pure functions apart from the lister.
#pragma once

#include <cstddef>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/profile/glob.h"
#include "core/util/error.h"

namespace trawl::core::profile {

enum class TargetOs { kLinux, kWindows, kMacos };

std::string_view TargetOsName(TargetOs os);  // "linux" | "windows" | "macos"
std::optional<TargetOs> ParseTargetOs(std::string_view name);

// One entry of a directory, lstat semantics: a symlink to a directory has
// is_symlink set and is_dir clear.
struct DirEntry {
  std::string name;
  bool is_dir = false;
  bool is_symlink = false;
  bool is_regular = false;
};

// Lists one directory of the host. The collector's platform layer may supply
// its own; FsDirectoryLister serves tests, offline roots and plain live use.
class DirectoryLister {
 public:
  virtual ~DirectoryLister() = default;
  // Entries of the host directory `dir`, without "." and "..".
  virtual Result<std::vector<DirEntry>> List(const std::string& dir) = 0;
};

// std::filesystem implementation (error_code overloads, no exceptions). Stops
// with kLimit after max_entries names in one directory.
class FsDirectoryLister final : public DirectoryLister {
 public:
  explicit FsDirectoryLister(std::size_t max_entries = 1'000'000) : max_entries_(max_entries) {}
  Result<std::vector<DirEntry>> List(const std::string& dir) override;

 private:
  std::size_t max_entries_;
};

struct UserProfile {
  std::string name;  // account / folder name
  std::string home;  // in target notation: C:\Users\alice or /home/alice
};

struct ExpansionContext {
  TargetOs os = TargetOs::kLinux;
  std::string root = "/";  // host directory holding the target's file tree
  std::vector<UserProfile> users;
  // Machine-wide variable overrides (Windows: SystemRoot, ProgramFiles, ...;
  // names compared case-insensitively). Unset ones take the Windows defaults
  // (C:\Windows, C:\Program Files, ...).
  std::map<std::string, std::string> env;
  // Windows: drives other than the system drive that map to a host
  // directory ("D:" -> "D:/" on a live host, where ProfileList puts a user
  // profile on D:). Keys are upper-case "X:". A path on a drive that is
  // neither the system drive nor listed here does not apply (an issue).
  std::map<std::string, std::string> drives;
};

// Builds a context from a root. Windows: users are the folders under
// <root>/Users (Public, Default, "Default User", "All Users" are not users;
// %PUBLIC% still maps to Users\Public). Linux / macOS: users come from
// <root>/etc/passwd (parsed here, never NSS: root, uid >= 1000 on Linux or
// >= 500 on macOS, except nobody, whose home exists) plus the folders under
// <root>/home and <root>/Users ("Shared" excluded); duplicates by home removed.
Result<ExpansionContext> MakeExpansionContext(TargetOs os, std::string root, DirectoryLister& lister);
Result<ExpansionContext> MakeExpansionContext(TargetOs os, std::string root);
// Guesses the OS of the tree at root: Windows/System32 -> windows,
// System/Library/CoreServices -> macos, else linux.
TargetOs DetectTargetOs(const std::string& root, DirectoryLister& lister);

// ---- helpers shared with the glob walk -------------------------------------

bool IsAsciiAlpha(char c);
// A variable's value from ctx.env, names compared case-insensitively.
std::string EnvValue(const ExpansionContext& ctx, std::string_view name);
// %SystemDrive% ("C:" unless overridden with a valid drive).
std::string SystemDrive(const ExpansionContext& ctx);
// The host directory a Windows drive letter ("C:", "d:") maps to: the root
// for the system drive, ctx.drives for the others; empty when unmapped.
std::string HostRootForDrive(const ExpansionContext& ctx, std::string_view drive);
std::string JoinHost(const std::string& dir, std::string_view name);
// "C:", "C:\\" -> "C:/"; trailing slashes removed; "" -> "/".
std::string NormalizeRoot(std::string root);
std::string TargetPathOf(const std::vector<std::string>& comps, PathStyle style);
bool FoldCaseFor(TargetOs os);
std::vector<DirEntry> SortedListing(std::vector<DirEntry> entries);
// The entries of host dir `dir` named `name` (folding case if asked).
std::vector<DirEntry> Lookup(DirectoryLister& lister, const std::string& dir, std::string_view name, bool fold);
// A chain of literal components resolved to a host directory, never through
// a symlink; empty when absent.
std::string ResolveDir(DirectoryLister& lister, const std::string& root, const std::vector<std::string>& comps,
                       bool fold);

}  // namespace trawl::core::profile
