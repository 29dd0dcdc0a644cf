// SPDX-License-Identifier: Apache-2.0
#include "collector/kinds/kinds.h"

namespace trawl::collector {

namespace {

// The registry: one row per kind. No static constructors, no self-registration.
constexpr CollectorKind kKinds[] = {
    {"processes", &RunProcesses},
    {"connections", &RunConnections},
    {"install_dirs", &RunInstallDirs},
    {"files", &RunFiles},
    {"dir_listing", &RunDirListing},
    {"mft", &RunMft},
    {"autostart_files", &RunAutostartFiles},
};

}  // namespace

std::span<const CollectorKind> CollectorKinds() { return kKinds; }

const CollectorKind* FindCollectorKind(std::string_view name) {
  for (const CollectorKind& k : kKinds) {
    if (k.name == name) return &k;
  }
  return nullptr;
}

}  // namespace trawl::collector
