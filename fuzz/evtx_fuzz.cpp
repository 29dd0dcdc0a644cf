// SPDX-License-Identifier: Apache-2.0
// libFuzzer target: the EVTX reader (core/formats/evtx.h). The input is the
// whole log file, read through a MemorySource as a file would be, with XML
// rendering and chunk slack recovery on (the default), then once more with
// recovery off. Seeds: fuzz/corpus/evtx/ (one-chunk logs written by
// tests/fixtures/evtx/make_evtx_seeds.py) and, in the replay test, the real
// logs of the shared test data.
// Invariants: no crash or sanitizer report; ForEachRecord fails only with a
// message and before any record; the counts in Stats match the records
// delivered (recovered, with errors) and the chunk counts add up; every name,
// value and XML string is valid UTF-8; every record lies inside the file;
// recovery off never yields more records than recovery on.
#include <cstddef>
#include <cstdint>
#include <string>

#include "core/formats/evtx.h"
#include "core/util/read_at.h"
#include "core/util/text.h"
#include "fuzz/fuzz_support.h"

namespace evtx = trawl::core::formats::evtx;

namespace {

struct Count {
  std::uint64_t records = 0, recovered = 0, errors = 0;
};

Count Run(const std::uint8_t* data, std::size_t size, bool recover) {
  trawl::core::MemorySource src(trawl::fuzz::AsBytes(data, size), "fuzz.evtx");
  evtx::Options options;
  options.recover = recover;
  options.xml = recover;
  Count n;
  auto stats = evtx::ForEachRecord(
      src,
      [&](const evtx::Record& r) {
        ++n.records;
        n.recovered += r.recovered ? 1 : 0;
        n.errors += r.error.empty() ? 0 : 1;
        FUZZ_CHECK(trawl::core::IsValidUtf8(r.xml), "record XML is not UTF-8");
        FUZZ_CHECK(trawl::core::IsValidUtf8(r.provider) && trawl::core::IsValidUtf8(r.channel) &&
                       trawl::core::IsValidUtf8(r.computer) && trawl::core::IsValidUtf8(r.time_created) &&
                       trawl::core::IsValidUtf8(r.user_sid),
                   "System value is not UTF-8");
        for (const auto& f : r.fields)
          FUZZ_CHECK(trawl::core::IsValidUtf8(f.name) && trawl::core::IsValidUtf8(f.value), "field is not UTF-8");
        FUZZ_CHECK(r.offset >= evtx::kFileHeaderSize && r.offset < size, "record offset outside the file");
      },
      options);
  if (!stats) {
    FUZZ_CHECK(!stats.error().message.empty(), "error without a message");
    FUZZ_CHECK(n.records == 0, "records delivered before a failure");
    return n;
  }
  FUZZ_CHECK(stats->records == n.records, "Stats::records does not count the records delivered");
  FUZZ_CHECK(stats->records_recovered == n.recovered, "Stats::records_recovered is wrong");
  FUZZ_CHECK(stats->records_with_errors == n.errors, "Stats::records_with_errors is wrong");
  FUZZ_CHECK(stats->chunks_empty + stats->chunks_bad <= stats->chunks, "more bad or empty chunks than chunks");
  FUZZ_CHECK(stats->problems.size() <= options.max_problems, "problems not bounded");
  return n;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const Count all = Run(data, size, true);
  const Count strict = Run(data, size, false);
  FUZZ_CHECK(strict.records <= all.records, "recovery lost records");
  return 0;
}
