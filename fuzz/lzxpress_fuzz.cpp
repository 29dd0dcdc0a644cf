// SPDX-License-Identifier: Apache-2.0
// libFuzzer target: DecompressLzxpressHuffman. The first four bytes are the
// declared uncompressed size (capped at 4 MiB so a run stays fast; the cap is
// also passed as the limit, which exercises the limit check), the rest is the
// compressed stream. Output must never exceed the declared size.
#include <cstddef>
#include <cstdint>

#include "core/formats/lzxpress_huffman.h"
#include "fuzz/fuzz_support.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 4) return 0;
  const std::size_t declared = (static_cast<std::size_t>(data[0]) | static_cast<std::size_t>(data[1]) << 8 |
                                static_cast<std::size_t>(data[2]) << 16 | static_cast<std::size_t>(data[3]) << 24);
  constexpr std::size_t kLimit = 4u << 20;
  auto out =
      trawl::core::formats::DecompressLzxpressHuffman(trawl::fuzz::AsBytes(data + 4, size - 4), declared, kLimit);
  if (out) FUZZ_CHECK(out->size() == declared && declared <= kLimit, "output size differs from declared size");
  return 0;
}
