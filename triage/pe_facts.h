// SPDX-License-Identifier: Apache-2.0
// The PE facts triage stores per content hash (table `pe`), from its own
// analysis of copied members (core/formats/pe.h).
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "core/formats/pe.h"

namespace trawl::triage {

struct PeFacts {
  std::string machine, subsystem, imphash, signer, issuer, serial, digest_algorithm;
  bool is_dll = false, is_64 = false, signed_ = false, digest_matches = false, padding_anomaly = false,
       feedface = false;
  std::int64_t timestamp = 0, padding_bytes = 0, overlay_size = 0;
  std::optional<double> overlay_entropy;
  std::string company, product, product_version, file_version, original_filename, internal_name, description;
  nlohmann::json notes = nlohmann::json::array();
};

PeFacts ToFacts(const core::formats::PeInfo& pe);

}  // namespace trawl::triage
