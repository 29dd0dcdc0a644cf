// SPDX-License-Identifier: Apache-2.0
// LZXPRESS Huffman ("LZ77+Huffman") decompression, written from Microsoft's
// [MS-XCA] §2.2.4 (decompression pseudocode) and §2.1 (format). Windows 10+
// prefetch files ("MAM\x04" wrapper) and several other Windows caches use it.
//
// The input is hostile: every table is checked for completeness, every match
// offset against the bytes produced so far, every length against the space
// left, and running out of input is an error, never a read past the end. The
// output buffer is the only allocation that scales with the input and it is
// exactly `uncompressed_size` bytes, which must not exceed the caller's limit.
// Pure function; thread-safe.
#pragma once

#include <cstddef>
#include <vector>

#include "core/util/byte_reader.h"
#include "core/util/error.h"

namespace trawl::core::formats {

// Default cap on the declared output size: prefetch files are at most a few
// MiB once decompressed, so 64 MiB leaves room without letting a forged
// header reserve gigabytes.
inline constexpr std::size_t kLzxpressHuffmanDefaultLimit = 64u * 1024u * 1024u;

// Decompresses `input` (a sequence of 64 KiB-output blocks, each opening with
// a 256-byte table of 4-bit code lengths) into exactly `uncompressed_size`
// bytes. Errors: kLimit when uncompressed_size > limit; kTruncated when the
// input ends before the output is complete; kFormat for an invalid code-length
// table, a match reaching before the start of the output, or a match longer
// than the output left.
Result<std::vector<std::byte>> DecompressLzxpressHuffman(Bytes input, std::size_t uncompressed_size,
                                                         std::size_t limit = kLzxpressHuffmanDefaultLimit);

}  // namespace trawl::core::formats
