// SPDX-License-Identifier: Apache-2.0
#include "triage/pe_facts.h"

#include "core/util/text.h"

namespace trawl::triage {

PeFacts ToFacts(const core::formats::PeInfo& pe) {
  PeFacts f;
  f.machine = pe.machine_name;
  f.subsystem = pe.subsystem_name;
  f.imphash = pe.imphash;
  f.is_dll = pe.is_dll;
  f.is_64 = pe.is_64;
  f.timestamp = pe.timestamp;
  const auto& a = pe.authenticode;
  f.signed_ = a.signed_;
  f.signer = a.signer_subject;
  f.issuer = a.issuer;
  f.serial = a.serial;
  f.digest_algorithm = a.digest_algorithm;
  f.digest_matches = a.digest_matches;
  f.padding_anomaly = a.padding_anomaly;
  f.padding_bytes = static_cast<std::int64_t>(a.padding_bytes);
  f.feedface = a.padding_marker_feedface;
  if (pe.overlay) {
    f.overlay_size = static_cast<std::int64_t>(pe.overlay->size);
    f.overlay_entropy = pe.overlay->entropy;
  }
  f.company = pe.VersionString("CompanyName");
  f.product = pe.VersionString("ProductName");
  f.product_version = pe.VersionString("ProductVersion");
  f.file_version = pe.VersionString("FileVersion");
  f.original_filename = pe.VersionString("OriginalFilename");
  f.internal_name = pe.VersionString("InternalName");
  f.description = pe.VersionString("FileDescription");
  for (const auto& n : pe.notes) f.notes.push_back(core::RepairUtf8(n));
  for (const auto& n : a.notes) f.notes.push_back(core::RepairUtf8(n));
  return f;
}

}  // namespace trawl::triage
