// SPDX-License-Identifier: Apache-2.0
// LZNT1 decompression, written from Microsoft's [MS-XCA] §2.5 (format and
// processing) and §3.3 (worked example). NTFS stores compressed files in it:
// each compression unit (usually 16 clusters, 64 KiB of data) is an LZNT1
// stream, and RtlDecompressBuffer uses it too.
//
// Format. A stream is a sequence of chunks, each opening with a 16-bit
// little-endian header: bit 15 set = compressed, bits 12-14 = signature 3,
// bits 0-11 = number of data bytes after the header, minus one. A header of
// 0 (or the end of the input) ends the stream. An uncompressed chunk's data
// is copied as is. A compressed chunk's data is a run of flag groups: one
// flag byte, then up to eight tokens, bit 0 describing the first; a clear
// bit is a literal byte, a set bit a 16-bit little-endian back-reference
// whose split between displacement (high bits) and length (low bits)
// depends on U, the number of bytes this chunk has produced so far:
// displacement takes max(4, bit_width(U - 1)) bits (4 up to U = 16, 5 up to
// 32, ... 12 above 2048), length the remaining bits; displacement = field +
// 1, length = field + 3. Every chunk stands for 4096 bytes of output and
// back-references never reach into an earlier chunk.
//
// A chunk that produces fewer than 4096 bytes and is followed by another
// chunk is padded with zeros to 4096, as the NTFS drivers of Linux and
// ntfs-3g do (Windows' own compressor only writes short chunks last): the
// next chunk's output starts on the following 4 KiB boundary. Bytes past the
// last chunk's output are not touched.
//
// The input is hostile: each chunk must lie inside the input, each
// back-reference inside the chunk's output so far, each chunk's output
// within 4096 bytes, and all output inside `out`; tokens may not run past
// their chunk's end. A header's signature bits are not checked. Never reads
// or writes out of bounds, allocates nothing. Pure function; thread-safe.
#pragma once

#include <cstddef>
#include <span>

#include "core/util/byte_reader.h"
#include "core/util/error.h"

namespace trawl::core::formats {

// Output of one LZNT1 chunk.
inline constexpr std::size_t kLznt1ChunkSize = 4096;

// Decompresses the LZNT1 stream `input` into the start of `out` and returns
// the number of bytes written (the rest of `out` is left as it was; NTFS
// callers zero-fill it). Stops at a zero chunk header or when fewer than two
// input bytes remain. Errors name the chunk's input offset: kTruncated for a
// chunk extending past the input; kFormat for a back-reference before the
// start of its chunk's output, a chunk producing more than 4096 bytes or a
// token cut by its chunk's end; kLimit for output that would not fit `out`.
Result<std::size_t> DecompressLznt1(Bytes input, std::span<std::byte> out);

}  // namespace trawl::core::formats
