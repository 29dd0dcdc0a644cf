// SPDX-License-Identifier: Apache-2.0
// libFuzzer target: the partition-table reader (MBR with EBR chains, GPT
// with its backup) over the input as a whole disk, with 512- and 4096-byte
// sectors. Whatever the table says, every listed partition must lie inside
// the input (trawl-collect opens it with MakeSubSource), be numbered 1..n
// in order, and the EBR chain must stay within its bound.
#include <cstddef>
#include <cstdint>
#include <string>

#include "core/formats/partition.h"
#include "core/util/read_at.h"
#include "fuzz/fuzz_support.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace trawl::core::formats;
  const trawl::core::MemorySource disk(trawl::fuzz::AsBytes(data, size), "fuzz.img");
  for (const std::uint32_t sector_size : {512u, 4096u}) {
    auto table = ReadPartitionTable(disk, sector_size);
    if (!table) {
      FUZZ_CHECK(!table.error().message.empty(), "error without a message");
      continue;
    }
    FUZZ_CHECK(table->scheme == "mbr" || table->scheme == "gpt" || table->scheme == "none", "scheme");
    FUZZ_CHECK(table->scheme != "none" || table->partitions.empty(), "partitions without a table");
    FUZZ_CHECK(table->sector_size == 512 || table->sector_size == 4096, "sector size");
    std::size_t logical = 0;
    int number = 0;
    for (const auto& p : table->partitions) {
      FUZZ_CHECK(p.number == ++number, "partition numbering");
      FUZZ_CHECK(p.scheme == table->scheme, "partition scheme");
      FUZZ_CHECK(p.length > 0, "empty partition listed");
      FUZZ_CHECK(p.offset <= size && p.length <= size - p.offset, "partition outside the input");
      FUZZ_CHECK(p.offset % table->sector_size == 0 && p.length % table->sector_size == 0, "partition not in sectors");
      FUZZ_CHECK(trawl::core::MakeSubSource(disk, p.offset, p.length).has_value(), "MakeSubSource refuses it");
      FUZZ_CHECK(p.scheme == "mbr" || (p.type.size() == 36 && !p.logical), "GPT partition fields");
      if (p.logical) ++logical;
      (void)LooksLikeNtfsBootSector(disk, p.offset);
    }
    FUZZ_CHECK(logical <= kMaxLogicalPartitions, "logical partition bound");
  }
  (void)LooksLikeNtfsBootSector(disk, 0);
  return 0;
}
