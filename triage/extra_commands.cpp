// SPDX-License-Identifier: Apache-2.0
#include "triage/extra_commands.h"

#include <ostream>

#include "triage/commands.h"

namespace trawl::triage {

void AddExtraCommands(CLI::App&, ExtraCommands&, const std::function<void(CLI::App*)>&) {}

int RunExtraCommands(CLI::App&, ExtraCommands&, const std::vector<std::string>&, const std::string&,
                     std::ostream&, std::ostream& err) {
  err << "trawl-triage: unknown command\n";
  return kExitUsage;
}

}  // namespace trawl::triage
