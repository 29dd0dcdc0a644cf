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

struct CaseOptions;  // option storage, defined in case_commands.cpp

struct CaseCommands {
  std::vector<CLI::App*> apps;
  std::shared_ptr<CaseOptions> options;
};

void AddCaseCommands(CLI::App& app, CaseCommands& extra, const std::function<void(CLI::App*)>& add_ids);
int RunCaseCommands(CLI::App& app, CaseCommands& extra, const std::vector<std::string>& identity_files,
                    const std::string& passphrase_file, std::ostream& out, std::ostream& err);

}  // namespace trawl::triage
