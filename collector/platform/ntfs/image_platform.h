// SPDX-License-Identifier: Apache-2.0
// `trawl-collect --image FILE [--partition N | --offset BYTES]`: a Platform
// over an NTFS volume inside a disk image, read with trawl's own NTFS reader
// on any OS and never mounted. Paths are the volume's ("/Windows/System32"),
// the collection runs as an offline one rooted at "/"; processes, modules,
// sockets and system facts are empty (a disk has none). The collector's own
// executable, priority and output stay the host's.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "collector/platform/platform.h"

namespace trawl::collector {

struct ImageSelection {
  std::string path;                     // the image file (or a block device)
  int partition = 0;                    // 1-based; 0 = choose (see OpenImagePlatform)
  std::optional<std::uint64_t> offset;  // bytes to the volume's boot sector; excludes `partition`
};

struct ImagePlatformResult {
  std::unique_ptr<Platform> platform;
  std::string description;  // "disk.img partition 2 (gpt, Basic data partition) at byte 2097152"
  std::uint64_t volume_offset = 0;
};

// Opens the image and its NTFS volume. Without --partition or --offset: a
// bare volume (boot sector at byte 0) is used as is; a partitioned disk uses
// its only NTFS partition, or of several the largest (the Windows volume
// beside the recovery one), and the description says which. Errors name
// the image and list the partitions found.
Result<ImagePlatformResult> OpenImagePlatform(const ImageSelection& selection, Platform& host);

}  // namespace trawl::collector
