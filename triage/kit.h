// SPDX-License-Identifier: Apache-2.0
// `trawl-triage kit`: lays out what a responder copies to a USB stick or
// hands to an EDR console (docs/kit.md): the collectors that were built,
// trawl.yaml, wrappers for each channel (collect.sh, collect.cmd, a
// PowerShell script for Defender Live Response, a Velociraptor client
// artifact) and SHA256SUMS. Every argument is checked here with the same code
// the collector uses, so a kit never fails on site for a typo.
#pragma once

#include <cstdint>
#include <filesystem>
#include <iosfwd>
#include <string>
#include <vector>

#include "core/util/upload_target.h"

namespace trawl::triage {

struct KitOptions {
  std::vector<std::string> recipients;  // age1...
  std::string profile = "default";      // a built-in profile
  core::UploadOptions upload;           // urls, key_file, host_key, ca_file, delete_local
  std::uint64_t time_limit = 0;         // seconds; 0: the profile's
  std::uint64_t max_output = 0;         // bytes; 0: the profile's
  std::uint64_t split_size = 0;         // bytes; 0: one archive
  std::filesystem::path collectors;     // folder holding trawl-collect[.exe]; default: beside trawl-triage
  std::filesystem::path output;
  bool force = false;  // write into a folder that is not empty
};

// The Defender script must end within Live Response's 10-minute RunScript
// limit: collection and uploads are capped to fit.
inline constexpr std::uint64_t kDefenderCollectSeconds = 480;
inline constexpr std::uint64_t kDefenderUploadSeconds = 60;

int RunKit(const KitOptions& options, std::ostream& out, std::ostream& err);

}  // namespace trawl::triage
