// SPDX-License-Identifier: Apache-2.0
// libFuzzer target: the NTFS reader. The first byte picks what the rest is:
//   0: one MFT record (update-sequence fixups, then every attribute);
//   1: a runlist (mapping pairs) checked against a 2^20-cluster volume;
//   2: an index block (INDX, fixups, entries) read as directory 5's only
//      block through a synthetic volume is out of reach here, so the input
//      is a whole small volume instead: boot sector, $MFT, $UpCase, the
//      root directory's index tree walked recursively, and every stream read.
// Invariants: no crash or sanitizer report; runs cover consecutive VCNs and
// stay inside the volume; a stream yields exactly its size.
#include <cstddef>
#include <cstdint>
#include <functional>
#include <vector>

#include "core/formats/ntfs.h"
#include "core/util/read_at.h"
#include "fuzz/fuzz_support.h"

namespace ntfs = trawl::core::formats::ntfs;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 1) return 0;
  const auto bytes = trawl::fuzz::AsBytes(data + 1, size - 1);
  switch (data[0] % 3) {
    case 0: {
      std::vector<std::byte> rec(bytes.begin(), bytes.end());
      rec.resize(rec.size() / 512 * 512);
      if (rec.empty()) return 0;
      if (!ntfs::ApplyFixups(rec, 512, "fuzz record")) return 0;
      auto e = ntfs::ParseRecord(rec, 7);
      if (e) (void)e->Streams();
      return 0;
    }
    case 1: {
      constexpr std::uint64_t kClusters = 1u << 20;
      auto runs = ntfs::DecodeRunlist(bytes, 3, kClusters);
      if (!runs) return 0;
      std::uint64_t vcn = 3;
      for (const auto& r : *runs) {
        FUZZ_CHECK(r.vcn == vcn, "runs are not consecutive");
        FUZZ_CHECK(r.lcn < 0 || (static_cast<std::uint64_t>(r.lcn) + r.length <= kClusters), "run outside the volume");
        vcn += r.length;
      }
      return 0;
    }
    default: {
      trawl::core::MemorySource src(bytes, "fuzz volume");
      ntfs::VolumeLimits limits;
      limits.max_directory_entries = 4096;
      auto vol = ntfs::Volume::Open(src, limits);
      if (!vol) return 0;
      std::vector<std::byte> buf(4096);
      int budget = 256;
      std::function<void(std::uint64_t, int)> walk = [&](std::uint64_t dir, int depth) {
        auto list = (*vol)->ListDirectory(dir);
        if (!list) return;
        for (const auto& ie : *list) {
          if (--budget < 0) return;
          auto e = (*vol)->ReadEntry(ie.entry);
          if (!e) continue;
          for (const auto& s : e->Streams()) {
            auto r = (*vol)->OpenStream(*e, s.name);
            if (!r) continue;
            std::uint64_t total = 0;
            while (total < (1u << 20)) {
              auto n = (*r)->Read(buf);
              if (!n || *n == 0) break;
              total += *n;
            }
            FUZZ_CHECK(total <= (*r)->size(), "a stream yielded more than its size");
          }
          if (e->directory && !e->reparse && ie.entry != dir && depth < 8) walk(ie.entry, depth + 1);
        }
      };
      walk(ntfs::kMftEntryRoot, 0);
      return 0;
    }
  }
}
