// SPDX-License-Identifier: Apache-2.0
// Partition tables of disk images, so that `trawl-collect --image disk.img`
// can find the NTFS volume inside a whole-disk image.
//
// MBR (sector 0): 446 bytes of boot code, four 16-byte entries at 0x1BE
// (status 0x00/0x80, CHS start, type, CHS end, u32 first LBA, u32 sector
// count; the CHS fields are ignored) and the signature 0x55 0xAA at 510. An
// entry of type 0x05, 0x0F or 0x85 is an extended partition: its first
// sector holds an EBR laid out like an MBR whose first entry is one logical
// partition, at an LBA relative to that EBR, and whose second entry (type
// 0x05/0x0F/0x85) links to the next EBR, at an LBA relative to the start of
// the outermost extended partition. A 0xEE entry is a protective MBR: the
// disk is GPT.
//
// GPT (UEFI specification, chapter 5): the header at LBA 1 ("EFI PART",
// header size, CRC32 of the header with its CRC field zeroed, its own LBA,
// the backup header's LBA, disk GUID, entry array LBA, entry count and size,
// CRC32 of the entry array); a backup header at the last LBA describes a
// second copy of the array. Entries hold a type GUID (all zero = unused),
// a unique GUID, first and last LBA (inclusive), attributes and a 36-unit
// UTF-16LE name. GUIDs are stored mixed-endian: the first three fields little
// endian, the last eight bytes in order.
//
// Hostile-input rules: every LBA, count and length read from the disk is
// checked against the source's size (in 64-bit arithmetic that cannot wrap)
// before anything is read or allocated; the GPT entry array is read only
// after its header passed its CRC and is capped at kGptMaxEntryArrayBytes;
// the EBR chain is followed at most kMaxEbrs steps, yields at most
// kMaxLogicalPartitions partitions and stops at an EBR seen before. A
// partition that does not lie inside the disk is skipped with a warning, so
// every listed partition can be opened with MakeSubSource. Pure functions
// over a ReadAtSource; thread-safe when the source is.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/util/error.h"
#include "core/util/read_at.h"

namespace trawl::core::formats {

// Logical partitions followed through an EBR chain, at most.
inline constexpr std::size_t kMaxLogicalPartitions = 128;
// EBRs read in one chain, at most (an EBR may hold no partition).
inline constexpr std::size_t kMaxEbrs = 256;
// Largest GPT partition entry array read (the usual one is 16 KiB).
inline constexpr std::uint64_t kGptMaxEntryArrayBytes = 16u * 1024u * 1024u;

struct Partition {
  int number = 0;            // 1-based, in list order: MBR primaries in slot order, then
                             // logical partitions in chain order; GPT non-empty entries in order
  std::uint64_t offset = 0;  // bytes from the start of the disk
  std::uint64_t length = 0;  // bytes
  std::string scheme;        // "mbr" | "gpt"
  std::string type;          // MBR: "0x07"; GPT: type GUID in canonical lower-case text form
  std::string type_name;     // "NTFS/exFAT/HPFS", "Microsoft basic data", ... ("" if unknown)
  std::string name;          // GPT partition name (UTF-16LE -> UTF-8), "" for MBR
  std::string guid;          // GPT unique partition GUID, "" for MBR
  bool logical = false;      // MBR: inside an extended partition
};

struct PartitionTable {
  std::string scheme;                 // "mbr" | "gpt" | "none"
  std::uint32_t sector_size = 0;      // the logical sector size the table was read with
  std::vector<Partition> partitions;  // extended containers themselves are not listed
  std::vector<std::string> warnings;  // damage that was worked around, each naming what and where
};

// Reads the partition table of a disk image whose logical sectors are
// `sector_size` bytes (a power of two, 512 to 65536). A GPT (behind a
// protective MBR) is also looked for with the other of 512/4096 when the
// given size finds none. Results:
//  - scheme "none" (not an error) when sector 0 has no 0x55AA signature, is
//    a volume boot sector (NTFS, exFAT, FAT) or is not an MBR (an entry's
//    status byte is neither 0x00 nor 0x80), or the disk is shorter than 512
//    bytes;
//  - "gpt" from the primary header, or from the backup at the last LBA with
//    a warning when the primary fails its checks; kFormat when neither is
//    usable;
//  - "mbr" otherwise.
// kInvalidArgument for a bad sector size; read errors of the source pass
// through.
Result<PartitionTable> ReadPartitionTable(const ReadAtSource& disk, std::uint32_t sector_size = 512);

// True when the 512 bytes at `offset` look like an NTFS boot sector (OEM id
// "NTFS    " at 3, 0x55AA at 510). False when they cannot be read.
bool LooksLikeNtfsBootSector(const ReadAtSource& src, std::uint64_t offset);

// Name of an MBR partition type or a GPT type GUID (lower case), "" if unknown.
std::string MbrTypeName(std::uint8_t type);
std::string GptTypeName(std::string_view type_guid);

// CRC-32 (ISO-HDLC: reflected polynomial 0xEDB88320, as zlib's crc32 and
// the GPT use), continuing from `crc` (0 to start).
std::uint32_t Crc32(std::span<const std::byte> data, std::uint32_t crc = 0);

}  // namespace trawl::core::formats
