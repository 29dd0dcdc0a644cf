// SPDX-License-Identifier: Apache-2.0
// Windows (win64 cross build, run under Wine) stand-ins for the tool helpers.
// The oracles the tests call (unzip, bsdtar, sccainfo, python3, ...) are Linux
// programs, so the Windows test binary never runs them: HaveTool() is false
// and RunCommand() reports failure. Tests that need an oracle are listed in
// tests/win64_skip.txt and filtered out by dist/test-wine.sh.
#include "tests/support/test_env.h"

#include <system_error>

namespace trawl::test {

CommandResult RunCommand(const std::vector<std::string>& argv, const std::string& /*stdin_text*/,
                         const std::vector<std::string>& /*extra_env*/) {
  CommandResult result;
  result.err = "RunCommand(" + (argv.empty() ? std::string() : argv.front()) +
               "): external tools are not run by the Windows test build";
  return result;
}

bool HaveTool(const std::string& /*name*/) { return false; }

// libstdc++ for mingw-w64 answers every link request with "Function not
// implemented". Should a later one report success, the link must also be
// visible as one, or the link-specific checks would test nothing.
std::string TryCreateSymlink(const std::filesystem::path& target, const std::filesystem::path& link, bool directory) {
  std::error_code ec;
  if (directory) {
    std::filesystem::create_directory_symlink(target, link, ec);
  } else {
    std::filesystem::create_symlink(target, link, ec);
  }
  if (ec) return "cannot create symlink " + link.string() + ": " + ec.message();
  if (!std::filesystem::is_symlink(link, ec)) {
    return "symlink " + link.string() + " was reported made but is not there";
  }
  return {};
}

}  // namespace trawl::test
