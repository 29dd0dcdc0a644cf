// SPDX-License-Identifier: Apache-2.0
// Windows (win64 cross build, run under Wine) stand-ins for the tool helpers.
// The oracles the tests call (unzip, bsdtar, sccainfo, python3, ...) are Linux
// programs, so the Windows test binary never runs them: HaveTool() is false
// and RunCommand() reports failure. Tests that need an oracle are listed in
// tests/win64_skip.txt and filtered out by dist/test-wine.sh.
#include "tests/support/test_env.h"

namespace trawl::test {

CommandResult RunCommand(const std::vector<std::string>& argv, const std::string& /*stdin_text*/,
                         const std::vector<std::string>& /*extra_env*/) {
  CommandResult result;
  result.err = "RunCommand(" + (argv.empty() ? std::string() : argv.front()) +
               "): external tools are not run by the Windows test build";
  return result;
}

bool HaveTool(const std::string& /*name*/) { return false; }

}  // namespace trawl::test
