// SPDX-License-Identifier: Apache-2.0
#include "core/formats/disk_volume.h"

#include <fmt/format.h>

#include "core/formats/partition.h"

namespace trawl::core::formats {
namespace {

std::string Describe(const Partition& p) {
  std::string d = fmt::format("partition {} ({}", p.number, p.scheme);
  if (!p.type_name.empty()) d += ", " + p.type_name;
  if (!p.name.empty()) d += ", \"" + p.name + "\"";
  return d + fmt::format(") at byte {}", p.offset);
}

std::string ListPartitions(const PartitionTable& t) {
  std::string s;
  for (const auto& p : t.partitions) s += fmt::format("\n  {}, {} bytes", Describe(p), p.length);
  return s.empty() ? " (none)" : s;
}

}  // namespace

Result<VolumeLocation> LocateNtfsVolume(const ReadAtSource& d, int partition, std::optional<std::uint64_t> offset) {
  VolumeLocation out;
  if (offset) {
    if (*offset >= d.Size()) {
      return Fail(ErrorCode::kInvalidArgument,
                  fmt::format("{}: offset {} is past the end of the image ({} bytes)", d.Name(), *offset, d.Size()));
    }
    out.offset = *offset;
    out.length = d.Size() - *offset;
    out.description = fmt::format("at byte {}", *offset);
    return out;
  }
  if (partition == 0 && LooksLikeNtfsBootSector(d, 0)) {
    out.length = d.Size();
    out.description = "(a bare NTFS volume)";
    return out;
  }
  auto table = ReadPartitionTable(d);
  if (!table) return std::unexpected(table.error().WithContext(d.Name()));
  const Partition* chosen = nullptr;
  if (partition != 0) {
    for (const auto& p : table->partitions)
      if (p.number == partition) chosen = &p;
    if (!chosen) {
      return Fail(ErrorCode::kInvalidArgument, fmt::format("{}: no partition {}; the {} table lists:{}", d.Name(),
                                                           partition, table->scheme, ListPartitions(*table)));
    }
  } else {
    for (const auto& p : table->partitions) {
      if (LooksLikeNtfsBootSector(d, p.offset) && (!chosen || p.length > chosen->length)) chosen = &p;
    }
    if (!chosen) {
      return Fail(ErrorCode::kFormat, fmt::format("{}: no NTFS volume at byte 0 nor in any partition; the {} table "
                                                  "lists:{}",
                                                  d.Name(), table->scheme, ListPartitions(*table)));
    }
  }
  out.offset = chosen->offset;
  out.length = chosen->length;
  out.description = Describe(*chosen);
  return out;
}

}  // namespace trawl::core::formats
