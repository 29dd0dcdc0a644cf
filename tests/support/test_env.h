// SPDX-License-Identifier: Apache-2.0
// Helpers shared by tests: where the shared test data and built binaries are,
// scratch directories that clean up, and running external oracle tools (age,
// sccainfo, python3-pefile) with captured output.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

namespace trawl::test {

// ../shared/testdata (or $TRAWL_SHARED_TESTDATA).
std::filesystem::path SharedTestdata();
// The repository root, for tests/data and shipped profiles and rules.
std::filesystem::path SourceDir();
// Directory holding trawl-collect and trawl-triage.
std::filesystem::path BinDir();

// A fresh directory under $TMPDIR, removed on destruction.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::filesystem::path& path() const { return path_; }
  std::filesystem::path operator/(const std::string& name) const { return path_ / name; }

 private:
  std::filesystem::path path_;
};

struct CommandResult {
  int exit_code = -1;
  std::string out;  // stdout
  std::string err;  // stderr
};

// Runs argv (no shell) with optional stdin text and extra environment
// "NAME=value" entries; captures stdout and stderr.
CommandResult RunCommand(const std::vector<std::string>& argv, const std::string& stdin_text = "",
                         const std::vector<std::string>& extra_env = {});
// True when an executable named `name` is on PATH.
bool HaveTool(const std::string& name);

// Makes a symbolic link at `link` pointing to `target` (a directory link when
// `directory`). Returns "" once the link exists, else why this platform could
// not make one, so that only link-specific checks skip. That happens in the
// win64 test build: libstdc++ for mingw-w64 cannot create links, and Windows
// needs a privilege for them. On POSIX a failure throws
// std::filesystem::filesystem_error and fails the test.
std::string TryCreateSymlink(const std::filesystem::path& target, const std::filesystem::path& link, bool directory);

void WriteFile(const std::filesystem::path& path, const std::string& bytes);
std::string ReadFile(const std::filesystem::path& path);

}  // namespace trawl::test
