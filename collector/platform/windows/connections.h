// SPDX-License-Identifier: Apache-2.0
// The TCP and UDP tables with owner pids (iphlpapi), both families.
#pragma once

#include "collector/platform/platform.h"

namespace trawl::collector {

core::Result<ConnectionList> ListWindowsConnections();

}  // namespace trawl::collector
