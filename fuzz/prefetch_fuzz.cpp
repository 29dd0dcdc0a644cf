// SPDX-License-Identifier: Apache-2.0
// libFuzzer target: ParsePrefetch over arbitrary bytes (plain SCCA and the
// MAM\x04 LZXPRESS Huffman wrapper), then the JSON and text renderings a
// parsed file goes through in trawl-triage. Rendering must not throw: every
// string the parser returns has to be valid UTF-8.
#include <cstddef>
#include <cstdint>

#include "core/formats/prefetch.h"
#include "core/formats/prefetch_json.h"
#include "fuzz/fuzz_support.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace trawl::core::formats;
  auto pf = ParsePrefetch(trawl::fuzz::AsBytes(data, size));
  if (pf) {
    FUZZ_CHECK(!PrefetchToJson(*pf, "fuzz.pf").dump().empty(), "prefetch JSON");
    (void)PrefetchToText(*pf, "fuzz.pf");
  } else {
    FUZZ_CHECK(!pf.error().message.empty(), "error without a message");
    (void)PrefetchErrorJson("fuzz.pf", pf.error()).dump();
  }
  return 0;
}
