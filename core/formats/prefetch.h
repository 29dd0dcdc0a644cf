// SPDX-License-Identifier: Apache-2.0
// Windows Prefetch (SCCA) parsing for all known format versions: 17 (XP/2003),
// 23 (Vista/7), 26 (8/8.1), 30 (Windows 10, both file-information variants)
// and 31 (Windows 11, laid out like v30 variant 2), plain or wrapped in the
// Windows 10+ "MAM\x04" LZXPRESS Huffman container. Follows libyal's
// "Windows Prefetch File (PF) format" (libscca documentation) for offsets; see
// shared docs/windows-formats.md §1.
//
// ParsePrefetch is a pure function over bytes: every offset and count read
// from the file is checked against the data before use, strings are decoded
// without rejecting unpaired surrogates, and the only allocation driven by a
// header field (the decompressed buffer) is capped. Value types; thread-safe.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/util/byte_reader.h"
#include "core/util/error.h"

namespace trawl::core::formats {

// Largest decompressed prefetch accepted from a MAM header.
inline constexpr std::size_t kPrefetchMaxDecompressedSize = 64u * 1024u * 1024u;

// One entry of the file metrics array: a file the loader touched while the
// executable started (DLLs, NLS files, the executable itself).
struct PrefetchFileMetric {
  std::string filename;               // full NT path, UTF-8 (e.g. \VOLUME{...}\WINDOWS\...)
  std::uint32_t filename_offset = 0;  // byte offset inside the filename strings
  std::uint32_t filename_length = 0;  // UTF-16 code units, excluding the NUL
  std::uint32_t flags = 0;            // seen 0x1, 0x2, 0x200, ... (meaning undocumented)
  std::uint64_t file_reference = 0;   // NTFS MFT entry (48 bits) + sequence (16); 0 = unset
                                      // (always 0 for v17, which has no such field)
  std::uint64_t MftEntry() const { return file_reference & 0x0000FFFFFFFFFFFFULL; }
  std::uint16_t MftSequence() const { return static_cast<std::uint16_t>(file_reference >> 48); }
};

struct PrefetchVolume {
  std::string device_path;          // e.g. \DEVICE\HARDDISKVOLUME2 or \VOLUME{01d...-...}
  std::uint64_t creation_time = 0;  // FILETIME
  std::uint32_t serial_number = 0;
  std::vector<std::string> directories;    // directory strings, in file order
  std::uint32_t file_reference_count = 0;  // entries in the volume's file references block
};

struct PrefetchFile {
  std::uint32_t version = 0;  // 17, 23, 26, 30 or 31
  bool compressed = false;    // came wrapped in MAM\x04
  int variant = 0;            // v30/v31 file-information variant: 1 (metrics at 0x130)
                              // or 2 (at 0x128); 0 for older versions
  std::string executable;     // header name, at most 29 characters
  std::uint32_t prefetch_hash = 0;
  std::uint32_t run_count = 0;
  // Non-zero last run FILETIMEs in stored order (newest first); v17/v23 keep
  // one, v26+ up to eight.
  std::vector<std::uint64_t> last_run_times;
  std::vector<PrefetchFileMetric> file_metrics;
  std::uint32_t trace_chain_count = 0;
  std::vector<PrefetchVolume> volumes;
};

// Parses a prefetch file (SCCA, or MAM\x04 which is decompressed first).
// Errors: kFormat for a file that is neither (and for a bad decompressed
// stream), kUnsupported for an unknown version, an unknown v30/v31 layout or
// another MAM variant (e.g. MAM\x84), kTruncated when a section lies outside
// the data, kLimit when a MAM header declares more than
// kPrefetchMaxDecompressedSize bytes.
Result<PrefetchFile> ParsePrefetch(Bytes data);

// Prefetch hashes of a device path such as
// \DEVICE\HARDDISKVOLUME1\WINDOWS\NOTEPAD.EXE (upper case, UTF-8; hashed as
// its UTF-16LE bytes). Xp: XP/2003; Vista: Vista and Windows 10/11; 2008:
// Windows 7/2008/8/8.1 (an eight-byte unrolled form of the Vista function,
// so the two agree). libscca documentation §"Calculating the prefetch hash".
std::uint32_t PrefetchHashXp(std::string_view upper_device_path_utf8);
std::uint32_t PrefetchHashVista(std::string_view upper_device_path_utf8);
std::uint32_t PrefetchHash2008(std::string_view upper_device_path_utf8);

}  // namespace trawl::core::formats
