// SPDX-License-Identifier: Apache-2.0
// libFuzzer target: ParseShimCache over arbitrary bytes (the AppCompatCache
// value of every Windows version, told apart by its first bytes). Invariants:
// no crash or sanitizer report; the format is one of the documented names;
// entries are numbered 0, 1, 2, ... in order; every path is valid UTF-8; no
// entry claims more data than the value holds; an error has a message.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "core/formats/shimcache.h"
#include "core/util/text.h"
#include "fuzz/fuzz_support.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace trawl::core::formats;
  auto parsed = ParseShimCache(trawl::fuzz::AsBytes(data, size));
  if (!parsed) {
    FUZZ_CHECK(!parsed.error().message.empty(), "error without a message");
    return 0;
  }
  const std::string_view f = parsed->format;
  FUZZ_CHECK(
      f == "xp" || f == "2003" || f == "vista" || f == "7" || f == "8" || f == "8.1" || f == "10" || f == "10-creators",
      "unknown format name");
  FUZZ_CHECK(parsed->pointer_bits == 0 || parsed->pointer_bits == 32 || parsed->pointer_bits == 64, "pointer bits");
  // The smallest entry (an empty tagged record) takes 12 bytes.
  FUZZ_CHECK(parsed->entries.size() <= size / 12 + 1, "more entries than the value can hold");
  for (std::size_t i = 0; i < parsed->entries.size(); ++i) {
    const ShimCacheEntry& e = parsed->entries[i];
    FUZZ_CHECK(e.position == i, "entries out of order");
    FUZZ_CHECK(trawl::core::IsValidUtf8(e.path), "path is not UTF-8");
    FUZZ_CHECK(e.data_size <= size, "entry data larger than the value");
  }
  for (const auto& w : parsed->warnings) FUZZ_CHECK(!w.empty(), "empty warning");
  return 0;
}
