// SPDX-License-Identifier: Apache-2.0
// Disk images for the NTFS and partition tests, and the xz-compressed
// registry hives of ../shared/testdata/registry/regipy: the compressed files
// unpacked once per machine into $TMPDIR/trawl-test-images (keyed by the
// source's name and size, written sparse and renamed into place, so parallel
// test processes share them).
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>

namespace trawl::test {

// The raw image for `source`: a .gz is inflated, a .xz is decompressed
// (libarchive's raw format), a .tgz / .zip has `member` extracted, anything
// else is returned as is. Throws std::runtime_error
// naming the source when it cannot be unpacked; returns "" when the source
// does not exist (the caller skips).
std::filesystem::path UnpackedImage(const std::filesystem::path& source, const std::string& member = "");

// True when this build can unpack a .xz: libarchive built with liblzma, or
// libarchive falling back to an external `xz` on PATH. The minimal libarchive
// of the release and win64 builds (dist/deps) has no liblzma, and Wine has no
// xz, so tests of .xz sources skip there instead of failing.
bool CanUnpackXz();

// SHA-256 of the unnamed stream of `path` inside the NTFS volume at
// `sector_offset` of `image`, as The Sleuth Kit reads it (ifind + icat):
// the content oracle. A failure returns text that matches no digest.
std::string TskSha256(const std::filesystem::path& image, const std::string& path, std::uint64_t sector_offset = 0);

}  // namespace trawl::test
