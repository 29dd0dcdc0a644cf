// SPDX-License-Identifier: Apache-2.0
// A verified archive's manifest into the case: the host (created or
// updated), the collection row's facts, and the archives that claim the
// same collection: the same plaintext under another file (a duplicate, not
// ingested twice) or the same host, start and part with other content (a
// conflict: both stay, each flagged with the other).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "core/archive/manifest.h"
#include "core/util/error.h"
#include "triage/case_db.h"

namespace trawl::triage {

struct CollectionRow {
  std::int64_t id = 0;              // collections.id, made before the walk
  std::string_view archive_name;    // file name of the .zip.age
  std::string_view archive_sha256;  // of the encrypted file
  std::string_view content_sha256;  // of the plaintext zip
};

struct CollectionOutcome {
  std::int64_t host_id = 0;
  std::string hostname;
  std::string duplicate_of;  // non-empty: the same content is in the case as this archive
  std::string conflict;      // other archives claiming this host, start and part
};

core::Result<CollectionOutcome> WriteCollection(Db& db, const CollectionRow& row, const core::archive::Manifest& m);

}  // namespace trawl::triage
