// SPDX-License-Identifier: Apache-2.0
#include "core/formats/partition.h"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cstring>
#include <optional>
#include <utility>

#include "core/util/byte_reader.h"
#include "core/util/text.h"

namespace trawl::core::formats {
namespace {

constexpr std::size_t kBootSectorSize = 512;
constexpr std::size_t kMbrTableOffset = 0x1BE;
constexpr std::size_t kMbrEntrySize = 16;
constexpr std::size_t kSignatureOffset = 510;
constexpr std::uint8_t kProtectiveType = 0xEE;

constexpr std::uint32_t kGptHeaderMinSize = 92;
constexpr std::uint32_t kGptEntryMinSize = 128;
constexpr std::uint64_t kGptEntryNameOffset = 56;
constexpr std::uint64_t kGptEntryNameBytes = 72;  // 36 UTF-16 code units
constexpr std::string_view kGptSignature = "EFI PART";

using Sector = std::array<std::byte, kBootSectorSize>;

std::uint8_t At(const Sector& s, std::size_t i) { return static_cast<std::uint8_t>(s[i]); }

bool HasBootSignature(const Sector& s) {
  return At(s, kSignatureOffset) == 0x55 && At(s, kSignatureOffset + 1) == 0xAA;
}

bool BytesEqual(std::span<const std::byte> data, std::size_t offset, std::string_view text) {
  return offset + text.size() <= data.size() && std::memcmp(data.data() + offset, text.data(), text.size()) == 0;
}

// [offset, offset + length) lies inside `size` bytes; cannot wrap.
bool Fits(std::uint64_t offset, std::uint64_t length, std::uint64_t size) {
  return offset <= size && length <= size - offset;
}

bool IsExtendedType(std::uint8_t type) { return type == 0x05 || type == 0x0F || type == 0x85; }

std::string TypeHex(std::uint8_t type) { return fmt::format("0x{:02x}", type); }

// Reads the 512 bytes at `offset`; false (nothing read) when they do not lie
// inside the disk.
Result<bool> ReadBootSector(const ReadAtSource& disk, std::uint64_t offset, Sector& out, std::string_view what) {
  if (!Fits(offset, kBootSectorSize, disk.Size())) return false;
  TRAWL_TRY_VOID(disk.ReadExact(offset, out, what));
  return true;
}

// --- MBR ---------------------------------------------------------------

struct MbrEntry {
  int slot = 0;  // 1-based, for messages
  std::uint8_t status = 0;
  std::uint8_t type = 0;
  std::uint32_t first_lba = 0;
  std::uint32_t sectors = 0;
  bool Empty() const { return type == 0 || sectors == 0; }
};

std::array<MbrEntry, 4> ParseMbrEntries(const Sector& s) {
  const ByteReader r(s);
  std::array<MbrEntry, 4> entries;
  for (std::size_t i = 0; i < entries.size(); ++i) {
    const std::size_t e = kMbrTableOffset + i * kMbrEntrySize;
    entries[i].slot = static_cast<int>(i) + 1;
    entries[i].status = At(s, e + 0);
    entries[i].type = At(s, e + 4);
    entries[i].first_lba = r.U32Unchecked(e + 8);
    entries[i].sectors = r.U32Unchecked(e + 12);
  }
  return entries;
}

// Which volume boot sector sector 0 is, "" if none: a bare volume carries
// 0x55AA too, with boot code where an MBR has its entries.
std::string_view VolumeBootSectorKind(const Sector& s) {
  if (BytesEqual(s, 3, "NTFS    ")) return "NTFS";
  if (BytesEqual(s, 3, "EXFAT   ")) return "exFAT";
  // FAT12/16/32: a jump, a BPB with a power-of-two sector size and cluster
  // size, and the file system type string of the FAT12/16 or FAT32 BPB.
  const bool jump = At(s, 0) == 0xEB || At(s, 0) == 0xE9;
  const unsigned bytes_per_sector = At(s, 11) | (At(s, 12) << 8);
  const unsigned sectors_per_cluster = At(s, 13);
  const bool bpb = bytes_per_sector >= 512 && bytes_per_sector <= 4096 &&
                   (bytes_per_sector & (bytes_per_sector - 1)) == 0 && sectors_per_cluster != 0 &&
                   (sectors_per_cluster & (sectors_per_cluster - 1)) == 0;
  if (jump && bpb && (BytesEqual(s, 0x36, "FAT") || BytesEqual(s, 0x52, "FAT"))) return "FAT";
  return "";
}

struct Collector {
  const ReadAtSource& disk;
  std::uint32_t sector_size;
  std::vector<Partition> partitions;
  std::vector<std::string> warnings;

  // Adds an MBR partition of `sectors` sectors at `lba` if it lies inside
  // the disk, else warns naming it. lba < 2^33 and sectors < 2^32, so the
  // byte values (sector size <= 2^16) fit in 64 bits.
  void AddMbr(std::uint64_t lba, std::uint64_t sectors, std::uint8_t type, bool logical, std::string_view what) {
    const std::uint64_t offset = lba * sector_size;
    const std::uint64_t length = sectors * sector_size;
    if (!Fits(offset, length, disk.Size())) {
      warnings.push_back(
          fmt::format("{} (type {}) at LBA {}, {} sectors (bytes {}..{}) lies outside the disk ({} bytes); skipped",
                      what, TypeHex(type), lba, sectors, offset, offset + length, disk.Size()));
      return;
    }
    Partition p;
    p.offset = offset;
    p.length = length;
    p.scheme = "mbr";
    p.type = TypeHex(type);
    p.type_name = MbrTypeName(type);
    p.logical = logical;
    partitions.push_back(std::move(p));
  }
};

// Follows the EBR chain of the extended partition `ext` and appends its
// logical partitions to `out`. `seen` (EBRs read) and `logical_count` are
// shared by all extended partitions of the MBR, so two entries pointing at
// one chain list it once.
Result<void> FollowEbrChain(const MbrEntry& ext, Collector& out, std::vector<std::uint64_t>& seen,
                            std::size_t& logical_count) {
  const std::uint64_t base = ext.first_lba;  // next-EBR links are relative to this
  const std::string container = fmt::format("extended partition (MBR entry {}, type {})", ext.slot, TypeHex(ext.type));
  std::uint64_t ebr_lba = base;
  for (std::size_t step = 0;; ++step) {
    if (step == kMaxEbrs) {
      out.warnings.push_back(fmt::format("EBR chain of the {} has more than {} EBRs; cut before the EBR at LBA {}",
                                         container, kMaxEbrs, ebr_lba));
      break;
    }
    if (std::find(seen.begin(), seen.end(), ebr_lba) != seen.end()) {
      out.warnings.push_back(fmt::format("EBR chain of the {} loops back to the EBR at LBA {}, read before; cut there",
                                         container, ebr_lba));
      break;
    }
    seen.push_back(ebr_lba);
    const std::uint64_t offset = ebr_lba * out.sector_size;
    Sector ebr{};
    auto read = ReadBootSector(out.disk, offset, ebr, fmt::format("EBR at LBA {}", ebr_lba));
    if (!read) return std::unexpected(std::move(read.error()));
    if (!*read) {
      out.warnings.push_back(
          fmt::format("EBR at LBA {} (offset {}) of the {} lies past the end of the disk ({} bytes); chain cut",
                      ebr_lba, HexOffset(offset), container, out.disk.Size()));
      break;
    }
    if (!HasBootSignature(ebr)) {
      out.warnings.push_back(fmt::format("EBR at LBA {} (offset {}) of the {} has no 0x55AA signature; chain cut",
                                         ebr_lba, HexOffset(offset + kSignatureOffset), container));
      break;
    }
    const auto entries = ParseMbrEntries(ebr);
    const MbrEntry& logical = entries[0];
    const MbrEntry& link = entries[1];
    if (!logical.Empty()) {
      if (IsExtendedType(logical.type)) {
        out.warnings.push_back(fmt::format(
            "EBR at LBA {}: its first entry has the extended type {} where a logical partition belongs; ignored",
            ebr_lba, TypeHex(logical.type)));
      } else if (logical_count == kMaxLogicalPartitions) {
        out.warnings.push_back(fmt::format("more than {} logical partitions; the chain of the {} is cut at LBA {}",
                                           kMaxLogicalPartitions, container, ebr_lba));
        break;
      } else {
        // A logical partition starts relative to its own EBR.
        out.AddMbr(ebr_lba + logical.first_lba, logical.sectors, logical.type, true,
                   fmt::format("logical partition in the EBR at LBA {}", ebr_lba));
        ++logical_count;
      }
    }
    if (link.Empty() || !IsExtendedType(link.type)) break;
    ebr_lba = base + link.first_lba;
  }
  return {};
}

// --- GPT ---------------------------------------------------------------

struct GptHeader {
  std::uint64_t lba = 0;
  std::uint64_t alternate_lba = 0;
  std::uint64_t entries_lba = 0;
  std::uint32_t entry_count = 0;
  std::uint32_t entry_size = 0;
  std::uint32_t entries_crc = 0;
};

std::string FormatGuid(std::span<const std::byte> g) {
  auto b = [&](std::size_t i) { return static_cast<unsigned>(g[i]); };
  return fmt::format(
      "{:02x}{:02x}{:02x}{:02x}-{:02x}{:02x}-{:02x}{:02x}-{:02x}{:02x}-{:02x}{:02x}{:02x}{:02x}{:02x}{:02x}", b(3),
      b(2), b(1), b(0), b(5), b(4), b(7), b(6), b(8), b(9), b(10), b(11), b(12), b(13), b(14), b(15));
}

std::string Where(std::uint64_t lba, std::uint32_t sector_size) {
  return fmt::format("GPT header at LBA {} ({}-byte sectors, offset {})", lba, sector_size,
                     HexOffset(lba * sector_size));
}

// Reads and checks the header at `lba`. The entry array it describes is
// checked to lie inside the disk but not read.
Result<GptHeader> ReadGptHeader(const ReadAtSource& disk, std::uint32_t sector_size, std::uint64_t lba) {
  const std::uint64_t disk_sectors = disk.Size() / sector_size;
  if (lba >= disk_sectors) {
    return Fail(ErrorCode::kTruncated,
                fmt::format("{} lies past the end of the disk ({} bytes)", Where(lba, sector_size), disk.Size()));
  }
  std::vector<std::byte> block(sector_size);
  TRAWL_TRY_VOID(disk.ReadExact(lba * sector_size, block, "GPT header"));
  if (!BytesEqual(block, 0, kGptSignature)) {
    return Fail(ErrorCode::kFormat, fmt::format("{}: no \"EFI PART\" signature", Where(lba, sector_size)));
  }
  const ByteReader r(block);  // every offset below is < 92 <= sector_size
  const std::uint32_t header_size = r.U32Unchecked(12);
  if (header_size < kGptHeaderMinSize || header_size > sector_size) {
    return Fail(ErrorCode::kFormat, fmt::format("{}: header size {} at 0xc is outside {}..{}", Where(lba, sector_size),
                                                header_size, kGptHeaderMinSize, sector_size));
  }
  const std::uint32_t stored_crc = r.U32Unchecked(16);
  std::vector<std::byte> zeroed(block.begin(), block.begin() + header_size);
  std::fill(zeroed.begin() + 16, zeroed.begin() + 20, std::byte{0});
  const std::uint32_t crc = Crc32(zeroed);
  if (crc != stored_crc) {
    return Fail(ErrorCode::kFormat,
                fmt::format("{}: header CRC32 0x{:08x} at 0x10 does not match the computed 0x{:08x}",
                            Where(lba, sector_size), stored_crc, crc));
  }
  GptHeader h;
  h.lba = r.U64Unchecked(24);
  h.alternate_lba = r.U64Unchecked(32);
  h.entries_lba = r.U64Unchecked(72);
  h.entry_count = r.U32Unchecked(80);
  h.entry_size = r.U32Unchecked(84);
  h.entries_crc = r.U32Unchecked(88);
  if (h.lba != lba) {
    return Fail(ErrorCode::kFormat,
                fmt::format("{}: its own-LBA field at 0x18 says LBA {}", Where(lba, sector_size), h.lba));
  }
  if (h.entry_size < kGptEntryMinSize || (h.entry_size & (h.entry_size - 1)) != 0) {
    return Fail(ErrorCode::kFormat, fmt::format("{}: partition entry size {} at 0x54 is not 128 x 2^n",
                                                Where(lba, sector_size), h.entry_size));
  }
  // Both factors are below 2^32: the product fits in 64 bits.
  const std::uint64_t array_bytes = std::uint64_t{h.entry_count} * h.entry_size;
  if (array_bytes > kGptMaxEntryArrayBytes) {
    return Fail(ErrorCode::kLimit,
                fmt::format("{}: partition entry array of {} entries x {} bytes (at 0x50, 0x54) exceeds the {}-byte "
                            "limit",
                            Where(lba, sector_size), h.entry_count, h.entry_size, kGptMaxEntryArrayBytes));
  }
  if (h.entries_lba >= disk_sectors || !Fits(h.entries_lba * sector_size, array_bytes, disk.Size())) {
    return Fail(ErrorCode::kTruncated,
                fmt::format("{}: partition entry array at LBA {} ({} entries x {} bytes) lies outside the disk ({} "
                            "bytes)",
                            Where(lba, sector_size), h.entries_lba, h.entry_count, h.entry_size, disk.Size()));
  }
  return h;
}

// Reads the entry array of a checked header, verifies its CRC and lists the
// used entries that lie inside the disk (the others go to `warnings`).
Result<std::vector<Partition>> ReadGptEntries(const ReadAtSource& disk, std::uint32_t sector_size, const GptHeader& h,
                                              std::vector<std::string>& warnings) {
  const std::uint64_t disk_sectors = disk.Size() / sector_size;
  std::vector<std::byte> array(static_cast<std::size_t>(std::uint64_t{h.entry_count} * h.entry_size));
  TRAWL_TRY_VOID(disk.ReadExact(h.entries_lba * sector_size, array, "GPT partition entry array"));
  const std::uint32_t crc = Crc32(array);
  if (crc != h.entries_crc) {
    return Fail(
        ErrorCode::kFormat,
        fmt::format("{}: partition entry array at LBA {} has CRC32 0x{:08x}, the header (at 0x58) says 0x{:08x}",
                    Where(h.lba, sector_size), h.entries_lba, crc, h.entries_crc));
  }
  const ByteReader r(array);
  std::vector<Partition> out;
  for (std::uint32_t i = 0; i < h.entry_count; ++i) {
    const std::size_t e = static_cast<std::size_t>(std::uint64_t{i} * h.entry_size);
    const auto type_guid = r.data().subspan(e, 16);
    if (std::all_of(type_guid.begin(), type_guid.end(), [](std::byte b) { return b == std::byte{0}; })) continue;
    const std::uint64_t first = r.U64Unchecked(e + 32);
    const std::uint64_t last = r.U64Unchecked(e + 40);
    if (first > last || last >= disk_sectors) {
      warnings.push_back(fmt::format(
          "GPT entry {} (LBA {}..{}) {}; skipped", i + 1, first, last,
          first > last ? "ends before it starts"
                       : fmt::format("lies outside the disk ({} sectors of {} bytes)", disk_sectors, sector_size)));
      continue;
    }
    Partition p;
    p.offset = first * sector_size;  // last < disk_sectors: no overflow
    p.length = (last - first + 1) * sector_size;
    p.scheme = "gpt";
    p.type = FormatGuid(type_guid);
    p.type_name = GptTypeName(p.type);
    p.guid = FormatGuid(r.data().subspan(e + 16, 16));
    p.name = Utf16LeToUtf8UntilNul(r.data().subspan(e + kGptEntryNameOffset, kGptEntryNameBytes));
    out.push_back(std::move(p));
  }
  return out;
}

bool SamePartitions(const std::vector<Partition>& a, const std::vector<Partition>& b) {
  return std::equal(a.begin(), a.end(), b.begin(), b.end(), [](const Partition& x, const Partition& y) {
    return x.offset == y.offset && x.length == y.length && x.type == y.type && x.guid == y.guid && x.name == y.name;
  });
}

struct GptRead {
  std::vector<Partition> partitions;
  std::vector<std::string> warnings;
};

// Checks the backup copy described by a good primary; only warns.
void CheckGptBackup(const ReadAtSource& disk, std::uint32_t sector_size, const GptHeader& primary,
                    const std::vector<Partition>& primary_partitions, std::vector<std::string>& warnings) {
  const std::uint64_t last_lba = disk.Size() / sector_size - 1;
  if (primary.alternate_lba != last_lba) {
    warnings.push_back(
        fmt::format("the primary GPT header places its backup at LBA {}, but the disk's last LBA is {} (a truncated "
                    "or resized image?)",
                    primary.alternate_lba, last_lba));
    if (primary.alternate_lba > last_lba) return;
  }
  auto backup = ReadGptHeader(disk, sector_size, primary.alternate_lba);
  if (!backup) {
    warnings.push_back(fmt::format("backup GPT header is bad: {}", backup.error().message));
    return;
  }
  std::vector<std::string> ignored;
  auto entries = ReadGptEntries(disk, sector_size, *backup, ignored);
  if (!entries) {
    warnings.push_back(fmt::format("backup GPT entries are bad: {}", entries.error().message));
  } else if (!SamePartitions(*entries, primary_partitions)) {
    warnings.push_back(
        fmt::format("the backup GPT at LBA {} lists other partitions than the primary; the primary's "
                    "are used",
                    primary.alternate_lba));
  }
}

Result<GptRead> ReadGpt(const ReadAtSource& disk, std::uint32_t sector_size) {
  const std::uint64_t disk_sectors = disk.Size() / sector_size;
  if (disk_sectors < 2) {
    return Fail(ErrorCode::kTruncated,
                fmt::format("no GPT with {}-byte sectors: the disk has {} bytes", sector_size, disk.Size()));
  }
  const std::uint64_t last_lba = disk_sectors - 1;
  GptRead result;
  std::vector<std::uint64_t> backup_lbas{last_lba};
  std::string primary_problem;
  auto primary = ReadGptHeader(disk, sector_size, 1);
  if (primary) {
    auto entries = ReadGptEntries(disk, sector_size, *primary, result.warnings);
    if (entries) {
      CheckGptBackup(disk, sector_size, *primary, *entries, result.warnings);
      result.partitions = std::move(*entries);
      return result;
    }
    if (entries.error().code == ErrorCode::kIo) return std::unexpected(std::move(entries.error()));
    primary_problem = entries.error().message;
    result.warnings.clear();
    // The header itself passed its CRC: its backup location is believable.
    if (primary->alternate_lba != last_lba && primary->alternate_lba > 1 && primary->alternate_lba < last_lba) {
      backup_lbas.push_back(primary->alternate_lba);
    }
  } else {
    if (primary.error().code == ErrorCode::kIo) return std::unexpected(std::move(primary.error()));
    primary_problem = primary.error().message;
  }
  std::vector<std::string> backup_problems;
  for (const std::uint64_t lba : backup_lbas) {
    auto backup = ReadGptHeader(disk, sector_size, lba);
    if (backup) {
      auto entries = ReadGptEntries(disk, sector_size, *backup, result.warnings);
      if (entries) {
        result.warnings.insert(result.warnings.begin(),
                               fmt::format("primary GPT unusable ({}); partitions read from the backup GPT header at "
                                           "LBA {}",
                                           primary_problem, lba));
        result.partitions = std::move(*entries);
        return result;
      }
      result.warnings.clear();
      if (entries.error().code == ErrorCode::kIo) return std::unexpected(std::move(entries.error()));
      backup_problems.push_back(entries.error().message);
    } else {
      if (backup.error().code == ErrorCode::kIo) return std::unexpected(std::move(backup.error()));
      backup_problems.push_back(backup.error().message);
    }
  }
  std::string backups;
  for (const auto& p : backup_problems) backups += (backups.empty() ? "" : "; ") + p;
  return Fail(ErrorCode::kFormat, fmt::format("primary: {}; backup: {}", primary_problem, backups));
}

bool HasGptSignatureAt(const ReadAtSource& disk, std::uint64_t offset) {
  std::array<std::byte, 8> sig{};
  if (!Fits(offset, sig.size(), disk.Size())) return false;
  if (!disk.ReadExact(offset, sig, "GPT signature")) return false;
  return BytesEqual(sig, 0, kGptSignature);
}

// The disk has a protective MBR: read the GPT with the given sector size,
// then with the other of 512/4096.
Result<PartitionTable> ReadGptTable(const ReadAtSource& disk, std::uint32_t sector_size, const MbrEntry& protective) {
  std::vector<std::uint32_t> sizes{sector_size};
  if (sector_size == 512) sizes.push_back(4096);
  if (sector_size == 4096) sizes.push_back(512);
  std::vector<std::string> problems;
  for (const std::uint32_t size : sizes) {
    auto gpt = ReadGpt(disk, size);
    if (!gpt) {
      if (gpt.error().code == ErrorCode::kIo) return std::unexpected(std::move(gpt.error()));
      problems.push_back(fmt::format("with {}-byte sectors: {}", size, gpt.error().message));
      continue;
    }
    PartitionTable t;
    t.scheme = "gpt";
    t.sector_size = size;
    t.partitions = std::move(gpt->partitions);
    t.warnings = std::move(gpt->warnings);
    return t;
  }
  std::string all;
  for (const auto& p : problems) all += (all.empty() ? "" : " | ") + p;
  return Fail(ErrorCode::kFormat, fmt::format("{}: protective MBR (type 0xee in entry {}) but no usable GPT: {}",
                                              disk.Name(), protective.slot, all));
}

}  // namespace

std::uint32_t Crc32(std::span<const std::byte> data, std::uint32_t crc) {
  static constexpr std::array<std::uint32_t, 256> kTable = [] {
    std::array<std::uint32_t, 256> t{};
    for (std::uint32_t i = 0; i < 256; ++i) {
      std::uint32_t c = i;
      for (int k = 0; k < 8; ++k) c = (c & 1u) != 0 ? 0xEDB88320u ^ (c >> 1) : c >> 1;
      t[i] = c;
    }
    return t;
  }();
  crc = ~crc;
  for (const std::byte b : data) crc = kTable[(crc ^ static_cast<std::uint8_t>(b)) & 0xFFu] ^ (crc >> 8);
  return ~crc;
}

std::string MbrTypeName(std::uint8_t type) {
  switch (type) {
    case 0x01: return "FAT12";
    case 0x04: return "FAT16 (<32 MiB)";
    case 0x05: return "Extended";
    case 0x06: return "FAT16";
    case 0x07: return "NTFS/exFAT/HPFS";
    case 0x0B: return "FAT32";
    case 0x0C: return "FAT32 (LBA)";
    case 0x0E: return "FAT16 (LBA)";
    case 0x0F: return "Extended (LBA)";
    case 0x11: return "Hidden FAT12";
    case 0x12: return "OEM recovery/diagnostics";
    case 0x14: return "Hidden FAT16 (<32 MiB)";
    case 0x16: return "Hidden FAT16";
    case 0x17: return "Hidden NTFS/exFAT/HPFS";
    case 0x1B: return "Hidden FAT32";
    case 0x1C: return "Hidden FAT32 (LBA)";
    case 0x1E: return "Hidden FAT16 (LBA)";
    case 0x27: return "Windows recovery environment";
    case 0x42: return "Windows dynamic disk (LDM)";
    case 0x82: return "Linux swap";
    case 0x83: return "Linux";
    case 0x85: return "Linux extended";
    case 0x8E: return "Linux LVM";
    case 0xA5: return "FreeBSD";
    case 0xA6: return "OpenBSD";
    case 0xA9: return "NetBSD";
    case 0xAF: return "Apple HFS/HFS+";
    case 0xEE: return "GPT protective";
    case 0xEF: return "EFI system";
    case 0xFB: return "VMware VMFS";
    case 0xFD: return "Linux RAID";
    default: return "";
  }
}

std::string GptTypeName(std::string_view type_guid) {
  struct Known {
    std::string_view guid;
    std::string_view name;
  };
  static constexpr Known kKnown[] = {
      {"c12a7328-f81f-11d2-ba4b-00a0c93ec93b", "EFI system"},
      {"024dee41-33e7-11d3-9d69-0008c781f39f", "MBR partition scheme"},
      {"21686148-6449-6e6f-744e-656564454649", "BIOS boot"},
      {"e3c9e316-0b5c-4db8-817d-f92df00215ae", "Microsoft reserved"},
      {"ebd0a0a2-b9e5-4433-87c0-68b6b72699c7", "Microsoft basic data"},
      {"5808c8aa-7e8f-42e0-85d2-e1e90434cfb3", "Windows LDM metadata"},
      {"af9b60a0-1431-4f62-bc68-3311714a69ad", "Windows LDM data"},
      {"de94bba4-06d1-4d40-a16a-bfd50179d6ac", "Windows recovery environment"},
      {"e75caf8f-f680-4cee-afa3-b001e56efc2d", "Windows Storage Spaces"},
      {"0fc63daf-8483-4772-8e79-3d69d8477de4", "Linux filesystem"},
      {"0657fd6d-a4ab-43c4-84e5-0933c84b4f4f", "Linux swap"},
      {"e6d6d379-f507-44c2-a23c-238f2a3df928", "Linux LVM"},
      {"a19d880f-05fc-4d3b-a006-743f0f84911e", "Linux RAID"},
      {"ca7d7ccb-63ed-4c53-861c-1742536059cc", "Linux LUKS"},
      {"4f68bce3-e8cd-4db1-96e7-fbcaf984b709", "Linux root (x86-64)"},
      {"44479540-f297-41b2-9af7-d131d5f0458a", "Linux root (x86)"},
      {"b921b045-1df0-41c3-af44-4c6f280d3fae", "Linux root (ARM64)"},
      {"933ac7e1-2eb4-4f13-b844-0e14e2aef915", "Linux home"},
      {"bc13c2ff-59e6-4262-a352-b275fd6f7172", "Linux extended boot"},
      {"48465300-0000-11aa-aa11-00306543ecac", "Apple HFS+"},
      {"7c3457ef-0000-11aa-aa11-00306543ecac", "Apple APFS"},
      {"516e7cb6-6ecf-11d6-8ff8-00022d09712b", "FreeBSD UFS"},
      {"516e7cba-6ecf-11d6-8ff8-00022d09712b", "FreeBSD ZFS"},
  };
  for (const auto& k : kKnown) {
    if (k.guid == type_guid) return std::string(k.name);
  }
  return "";
}

bool LooksLikeNtfsBootSector(const ReadAtSource& src, std::uint64_t offset) {
  Sector s{};
  auto read = ReadBootSector(src, offset, s, "NTFS boot sector");
  return read && *read && HasBootSignature(s) && BytesEqual(s, 3, "NTFS    ");
}

Result<PartitionTable> ReadPartitionTable(const ReadAtSource& disk, std::uint32_t sector_size) {
  if (sector_size < 512 || sector_size > 65536 || (sector_size & (sector_size - 1)) != 0) {
    return Fail(ErrorCode::kInvalidArgument,
                fmt::format("sector size {} is not a power of two from 512 to 65536", sector_size));
  }
  PartitionTable none;
  none.scheme = "none";
  none.sector_size = sector_size;

  Sector mbr{};
  auto read = ReadBootSector(disk, 0, mbr, "MBR");
  if (!read) return std::unexpected(std::move(read.error()));
  if (!*read) {
    none.warnings.push_back(
        fmt::format("{} is {} bytes, shorter than one 512-byte sector: no partition table", disk.Name(), disk.Size()));
    return none;
  }
  const bool gpt_at_lba1 = HasGptSignatureAt(disk, sector_size);
  if (!HasBootSignature(mbr)) {
    if (gpt_at_lba1) {
      none.warnings.push_back(fmt::format(
          "sector 0 has no 0x55AA signature, so no partition table was read, though LBA 1 holds a GPT header"));
    }
    return none;
  }
  if (!VolumeBootSectorKind(mbr).empty()) return none;  // a bare volume

  const auto entries = ParseMbrEntries(mbr);
  for (const auto& e : entries) {
    if (e.status != 0x00 && e.status != 0x80) {
      none.warnings.push_back(
          fmt::format("sector 0 has the 0x55AA signature, but MBR entry {} has status 0x{:02x} at {} (neither 0x00 "
                      "nor 0x80): not a partition table",
                      e.slot, e.status, HexOffset(kMbrTableOffset + (e.slot - 1) * kMbrEntrySize)));
      return none;
    }
  }
  const auto protective =
      std::find_if(entries.begin(), entries.end(), [](const MbrEntry& e) { return e.type == kProtectiveType; });
  if (protective != entries.end()) {
    auto gpt = ReadGptTable(disk, sector_size, *protective);
    if (!gpt) return gpt;
    const bool hybrid = std::any_of(entries.begin(), entries.end(),
                                    [](const MbrEntry& e) { return !e.Empty() && e.type != kProtectiveType; });
    if (hybrid) {
      gpt->warnings.push_back("hybrid MBR: the MBR lists partitions besides the protective one; the GPT is used");
    }
    for (std::size_t i = 0; i < gpt->partitions.size(); ++i) gpt->partitions[i].number = static_cast<int>(i) + 1;
    return gpt;
  }

  Collector primaries{disk, sector_size, {}, {}};
  Collector logicals{disk, sector_size, {}, {}};
  std::vector<std::uint64_t> seen_ebrs;
  std::size_t logical_count = 0;
  for (const auto& e : entries) {
    if (e.Empty()) continue;
    if (!IsExtendedType(e.type)) {
      primaries.AddMbr(e.first_lba, e.sectors, e.type, false, fmt::format("MBR entry {}", e.slot));
      continue;
    }
    const std::uint64_t end = (std::uint64_t{e.first_lba} + e.sectors) * sector_size;
    if (end > disk.Size()) {
      logicals.warnings.push_back(
          fmt::format("extended partition (MBR entry {}) at LBA {}, {} sectors ends past the end of the disk ({} "
                      "bytes); its logical partitions are read as far as the disk goes",
                      e.slot, e.first_lba, e.sectors, disk.Size()));
    }
    TRAWL_TRY_VOID(FollowEbrChain(e, logicals, seen_ebrs, logical_count));
  }

  PartitionTable t;
  t.scheme = "mbr";
  t.sector_size = sector_size;
  t.partitions = std::move(primaries.partitions);
  t.partitions.insert(t.partitions.end(), std::make_move_iterator(logicals.partitions.begin()),
                      std::make_move_iterator(logicals.partitions.end()));
  t.warnings = std::move(primaries.warnings);
  t.warnings.insert(t.warnings.end(), logicals.warnings.begin(), logicals.warnings.end());
  if (gpt_at_lba1) {
    t.warnings.push_back(
        "LBA 1 holds a GPT header (\"EFI PART\") but the MBR has no protective 0xee entry; the MBR was used");
  }
  for (std::size_t i = 0; i < t.partitions.size(); ++i) t.partitions[i].number = static_cast<int>(i) + 1;
  return t;
}

}  // namespace trawl::core::formats
