// SPDX-License-Identifier: Apache-2.0
// Finds the NTFS volume inside a disk image: given a byte offset, at that
// offset; given a partition number, that partition of the MBR/GPT table; else
// a bare volume (boot sector at byte 0) or the disk's NTFS partition (the
// largest of several: the Windows volume beside the recovery one). Shared by
// `trawl-collect --image` and `trawl-triage inspect ntfs`. Pure; errors name
// the image and list the partitions found.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "core/util/error.h"
#include "core/util/read_at.h"

namespace trawl::core::formats {

struct VolumeLocation {
  std::uint64_t offset = 0, length = 0;
  std::string description;  // "partition 2 (gpt, Microsoft basic data, \"Basic data partition\") at byte 2097152"
};

Result<VolumeLocation> LocateNtfsVolume(const ReadAtSource& disk, int partition, std::optional<std::uint64_t> offset);

}  // namespace trawl::core::formats
