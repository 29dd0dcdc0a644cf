// SPDX-License-Identifier: Apache-2.0
// Case-database subcommands (analyze, query, stack, report): registered on the
// CLI here so main.cpp stays a thin parser.
#pragma once

#include <functional>
#include <iosfwd>
#include <memory>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

namespace trawl::triage {

struct ExtraOptions;  // option storage, defined in extra_commands.cpp

struct ExtraCommands {
  std::vector<CLI::App*> apps;
  std::shared_ptr<ExtraOptions> options;
};

void AddExtraCommands(CLI::App& app, ExtraCommands& extra, const std::function<void(CLI::App*)>& add_ids);
int RunExtraCommands(CLI::App& app, ExtraCommands& extra, const std::vector<std::string>& identity_files,
                     const std::string& passphrase_file, std::ostream& out, std::ostream& err);

}  // namespace trawl::triage
