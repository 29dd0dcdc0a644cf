// SPDX-License-Identifier: Apache-2.0
// libFuzzer target: DecompressLznt1. The whole input is the compressed
// stream, decompressed into a 64 KiB buffer as the NTFS reader does for one
// compression unit. The count returned must fit the buffer, and decoding
// again into a buffer of exactly that size must give the same bytes (the
// output does not depend on the buffer's size, only whether it fits).
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <vector>

#include "core/formats/lznt1.h"
#include "fuzz/fuzz_support.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  constexpr std::size_t kUnit = 65536;
  static std::vector<std::byte> out(kUnit);
  static std::vector<std::byte> again(kUnit);
  const auto input = trawl::fuzz::AsBytes(data, size);
  auto n = trawl::core::formats::DecompressLznt1(input, out);
  if (!n) return 0;
  FUZZ_CHECK(*n <= kUnit, "returned more bytes than the output buffer holds");
  auto m = trawl::core::formats::DecompressLznt1(input, std::span(again).first(*n));
  FUZZ_CHECK(m && *m == *n, "decoding into a buffer of exactly the output size failed or differed in size");
  FUZZ_CHECK(std::memcmp(out.data(), again.data(), *n) == 0, "decoding into a smaller buffer changed the output");
  return 0;
}
