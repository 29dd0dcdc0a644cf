// SPDX-License-Identifier: Apache-2.0
// libFuzzer target: the typed manifest parser (core/archive/manifest.h) over
// arbitrary text, streamed as trawl-triage reads it, with the entry callback
// counting. It must never throw or abort; what it accepts must hold the
// invariants the readers rely on (part >= 1, hex SHA-256s, a stored member
// with a hash), and entries must be counted once each.
#include <cstddef>
#include <cstdint>
#include <sstream>
#include <string>

#include "core/archive/manifest.h"
#include "fuzz/fuzz_support.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace trawl::core::archive;
  const std::string text(reinterpret_cast<const char*>(data), size);
  ManifestLimits limits;
  limits.max_bytes = 1u << 20;
  limits.max_other_values = 20000;
  std::uint64_t entries = 0;
  auto on_entry = [&](const ManifestEntry& e, std::uint64_t index) -> trawl::core::Result<void> {
    FUZZ_CHECK(index == entries, "entries counted in order");
    ++entries;
    if (e.sha256) FUZZ_CHECK(IsSha256Hex(*e.sha256), "accepted a sha256 that is not hex");
    if (e.archive_path) FUZZ_CHECK(e.sha256.has_value(), "stored member without sha256");
    return {};
  };
  std::istringstream in(text);
  auto streamed = ParseManifest(in, "fuzz", on_entry, limits);
  const std::uint64_t streamed_entries = entries;
  entries = 0;
  auto whole = ParseManifest(std::string_view(text), "fuzz", on_entry, limits);
  FUZZ_CHECK(streamed.has_value() == whole.has_value(), "stream and string parses disagree");
  if (whole) {
    FUZZ_CHECK(whole->part >= 1, "part 0 accepted");
    FUZZ_CHECK(whole->format_version == 1, "unknown version accepted");
    FUZZ_CHECK(whole->entry_count == entries && streamed_entries == entries, "entry count differs");
    (void)ManifestToJson(*whole).dump();
  }
  return 0;
}
