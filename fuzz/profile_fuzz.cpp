// SPDX-License-Identifier: Apache-2.0
// libFuzzer target: the profile YAML loader. The same text goes through
// ClassifyDocument, ParseArtifact and, against the embedded artifact catalog,
// ProfileStore::ParseProfileText and Resolve. yaml-cpp throws on bad input;
// the loader must turn every such exception into an error.
#include <cstddef>
#include <cstdint>

#include "core/profile/loader.h"
#include "core/profile/store.h"
#include "fuzz/fuzz_support.h"

namespace {

const trawl::core::profile::ProfileStore& Store() {
  static const trawl::core::profile::ProfileStore store = [] {
    auto s = trawl::core::profile::ProfileStore::Embedded();
    FUZZ_CHECK(s.has_value(), "embedded profiles load");
    return std::move(*s);
  }();
  return store;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace trawl::core::profile;
  const auto text = trawl::fuzz::AsText(data, size);
  (void)ClassifyDocument(text, "fuzz.yaml");
  (void)ParseArtifact(text, "fuzz.yaml", "artifacts/fuzz/test/fuzz.yaml");
  if (auto def = Store().ParseProfileText(text, "fuzz.yaml", "fuzz")) {
    (void)Store().Resolve(*def);
  }
  return 0;
}
