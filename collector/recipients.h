// SPDX-License-Identifier: Apache-2.0
// The recipients of a collection: --recipient, --recipients-file and
// --passphrase-file (scrypt), parsed and checked before anything is written.
#pragma once

#include <ostream>
#include <vector>

#include "collector/collect.h"
#include "core/crypto/age.h"
#include "core/util/error.h"

namespace trawl::collector {

core::Result<std::vector<core::age::Recipient>> GatherRecipients(const CollectOptions& o, std::ostream& err);

}  // namespace trawl::collector
