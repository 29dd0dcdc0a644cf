// SPDX-License-Identifier: Apache-2.0
// NTFS read-only, written from the published on-disk format (the Linux-NTFS
// project's documentation, Microsoft's [MS-FSCC] for reparse data, [MS-XCA]
// for LZNT1). It serves three callers: live Windows hosts whose files are
// locked (read through \\.\C:), disk images on any OS (--image), and the MFT
// listing kind.
//
// What it reads: the boot sector; MFT records with update-sequence fixups;
// $STANDARD_INFORMATION, $FILE_NAME (every namespace), $DATA resident and
// non-resident, named streams, $ATTRIBUTE_LIST (attributes spread over
// extension records, $MFT's own included), runlists with sparse runs,
// LZNT1-compressed streams, $INDEX_ROOT/$INDEX_ALLOCATION directory trees
// ($I30) and $REPARSE_POINT (reported, never followed). Records not in use are
// parsed too and reported as deleted.
//
// Everything on the volume is hostile: every offset, length and count is
// checked against the record, the attribute or the source before use; run
// lists may not reach past the volume; directory trees are walked with a
// visited set and a depth limit; allocations are bounded by the source size.
// A damaged record or index block is an error naming the entry number or
// VCN, never a crash. Volume is thread-safe after Open (all reads are
// positioned; caches are guarded).
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "core/util/byte_reader.h"
#include "core/util/error.h"
#include "core/util/read_at.h"

namespace trawl::core::formats::ntfs {

inline constexpr std::uint32_t kAttrStandardInformation = 0x10;
inline constexpr std::uint32_t kAttrAttributeList = 0x20;
inline constexpr std::uint32_t kAttrFileName = 0x30;
inline constexpr std::uint32_t kAttrData = 0x80;
inline constexpr std::uint32_t kAttrIndexRoot = 0x90;
inline constexpr std::uint32_t kAttrIndexAllocation = 0xA0;
inline constexpr std::uint32_t kAttrBitmap = 0xB0;
inline constexpr std::uint32_t kAttrReparsePoint = 0xC0;
inline constexpr std::uint32_t kAttrEnd = 0xFFFFFFFF;

inline constexpr std::uint64_t kMftEntryRoot = 5;
inline constexpr std::uint64_t kMftEntryUpCase = 10;

// File attribute flags ($STANDARD_INFORMATION / $FILE_NAME).
inline constexpr std::uint32_t kFlagReadOnly = 0x1;
inline constexpr std::uint32_t kFlagHidden = 0x2;
inline constexpr std::uint32_t kFlagSystem = 0x4;
inline constexpr std::uint32_t kFlagSparse = 0x200;
inline constexpr std::uint32_t kFlagReparse = 0x400;
inline constexpr std::uint32_t kFlagCompressed = 0x800;
inline constexpr std::uint32_t kFlagEncrypted = 0x4000;

struct BootSector {
  std::uint32_t bytes_per_sector = 0;
  std::uint32_t cluster_size = 0;  // bytes
  std::uint64_t total_sectors = 0;
  std::uint64_t mft_lcn = 0;
  std::uint64_t mftmirr_lcn = 0;
  std::uint32_t mft_record_size = 0;   // bytes
  std::uint32_t index_block_size = 0;  // bytes
  std::uint64_t serial = 0;
  std::uint64_t volume_size() const { return total_sectors * bytes_per_sector; }
  std::uint64_t cluster_count() const { return cluster_size ? volume_size() / cluster_size : 0; }
};

// Parses the first 512 bytes of an NTFS volume.
Result<BootSector> ParseBootSector(Bytes sector);

// Applies the update-sequence fixups of a multi-sector record ("FILE" or
// "INDX") in place: the last two bytes of each `sector_size` stride must equal
// the update sequence number and are replaced by the saved values.
Result<void> ApplyFixups(std::span<std::byte> record, std::uint32_t sector_size, std::string_view what);

// One run of a non-resident attribute: `length` clusters from `vcn`; lcn < 0
// for a sparse run (reads as zeros).
struct Run {
  std::uint64_t vcn = 0;
  std::uint64_t length = 0;
  std::int64_t lcn = -1;
};
// Decodes a mapping-pairs array starting at `start_vcn`. Runs must stay
// within `cluster_count` clusters (0: unchecked) and the VCNs must not
// overflow.
Result<std::vector<Run>> DecodeRunlist(Bytes pairs, std::uint64_t start_vcn, std::uint64_t cluster_count);

struct Times {  // raw FILETIMEs (100 ns since 1601-01-01 UTC); 0 = not set
  std::uint64_t created = 0, modified = 0, mft_modified = 0, accessed = 0;
};

struct FileName {
  std::uint64_t parent = 0;  // MFT entry number of the parent directory
  std::uint16_t parent_sequence = 0;
  Times times;
  std::uint64_t allocated_size = 0, real_size = 0;
  std::uint32_t flags = 0;
  std::uint8_t name_space = 0;  // 0 POSIX, 1 Win32, 2 DOS, 3 Win32+DOS
  std::u16string name;
};

// One attribute as stored (a fragment, when an attribute spans records).
struct Attribute {
  std::uint32_t type = 0;
  std::u16string name;
  std::uint16_t flags = 0;  // 0x0001 compressed, 0x4000 encrypted, 0x8000 sparse
  std::uint16_t id = 0;
  bool resident = true;
  std::vector<std::byte> value;  // resident value
  // Non-resident:
  std::uint64_t start_vcn = 0, last_vcn = 0;
  std::uint64_t allocated_size = 0, data_size = 0, initialized_size = 0;
  std::uint8_t compression_unit = 0;  // log2 of clusters per unit; 0: not compressed
  std::vector<Run> runs;
};

struct Reparse {
  std::uint32_t tag = 0;
  std::string target;  // print name (else substitute name) for junctions and symlinks
  std::string kind;    // junction | symlink | other
};

struct StreamInfo {
  std::string name;  // "" for the unnamed $DATA
  std::uint64_t size = 0;
  std::uint64_t allocated_size = 0;
  bool resident = false;
  bool compressed = false, sparse = false, encrypted = false;
};

// One MFT entry with the attributes of its extension records merged in.
struct Entry {
  std::uint64_t number = 0;
  std::uint16_t sequence = 0;
  std::uint16_t link_count = 0;
  bool in_use = false;
  bool directory = false;
  std::uint64_t base_record = 0;  // nonzero for an extension record
  bool has_si = false;
  Times si;
  std::uint32_t si_flags = 0;
  std::vector<FileName> names;  // every $FILE_NAME, every namespace
  std::vector<Attribute> attributes;
  std::optional<Reparse> reparse;
  bool has_attribute_list = false;
  std::vector<std::string> problems;  // what could not be read (an extension record, a bad attribute)

  // The $FILE_NAME to show: Win32 or POSIX over DOS; nullptr when none.
  const FileName* BestName() const;
  std::vector<StreamInfo> Streams() const;
};

// Parses one MFT record (fixups already applied) without following its
// attribute list. `record_number` names errors.
Result<Entry> ParseRecord(Bytes record, std::uint64_t record_number);

// One name in a directory index.
struct IndexEntry {
  std::uint64_t entry = 0;  // MFT entry number
  std::uint16_t sequence = 0;
  FileName name;  // the $FILE_NAME copy held in the index
};

class Volume;

// A stream opened for reading: sequential Read plus positioned ReadAt.
class StreamReader {
 public:
  std::uint64_t size() const { return size_; }
  Result<std::size_t> Read(std::span<std::byte> buf);
  Result<std::size_t> ReadAt(std::uint64_t offset, std::span<std::byte> buf);

 private:
  friend class Volume;
  StreamReader(const Volume& volume, Attribute attr, std::string what);
  Result<std::size_t> ReadCompressed(std::uint64_t offset, std::span<std::byte> buf);
  const Volume& volume_;
  Attribute attr_;  // runs of every fragment, sorted by VCN
  std::string what_;
  std::uint64_t size_ = 0;
  std::uint64_t pos_ = 0;
  // Compressed streams: the last decompressed unit.
  std::vector<std::byte> unit_;
  std::uint64_t unit_index_ = UINT64_MAX;
};

struct VolumeLimits {
  std::size_t max_directory_entries = 1'000'000;
  std::size_t max_index_depth = 32;
  std::size_t max_extension_records = 4096;
};

class Volume {
 public:
  // Opens the NTFS volume at the start of `source` (which must outlive the
  // Volume): boot sector, $MFT's own runs (with its attribute list), $UpCase.
  static Result<std::unique_ptr<Volume>> Open(const ReadAtSource& source, VolumeLimits limits = {});

  const BootSector& boot() const { return boot_; }
  const ReadAtSource& source() const { return source_; }
  // Number of MFT records the $MFT data holds.
  std::uint64_t entry_count() const { return entry_count_; }

  // The raw record `number` with fixups applied.
  Result<std::vector<std::byte>> ReadRecord(std::uint64_t number) const;
  // Entry `number` with its attribute list followed (extension records'
  // attributes merged; fragments of one attribute joined by VCN).
  Result<Entry> ReadEntry(std::uint64_t number) const;
  // The names in directory `dir`'s $I30 index (DOS-only names skipped),
  // in index order.
  Result<std::vector<IndexEntry>> ListDirectory(std::uint64_t dir) const;
  // Resolves "/a/b/c" (or "a\\b\\c"), comparing names as Windows does
  // (upper-cased through the volume's $UpCase table). Never follows reparse
  // points: a component that is one ends the walk unless it is the last.
  Result<std::uint64_t> Lookup(std::string_view path) const;
  // Opens a $DATA stream ("" = unnamed) of an entry.
  Result<std::unique_ptr<StreamReader>> OpenStream(const Entry& entry, std::string_view stream) const;
  Result<std::unique_ptr<StreamReader>> OpenStream(std::uint64_t number, std::string_view stream) const;
  // Whether two names are equal in this volume's case folding.
  bool NamesEqual(const std::u16string& a, const std::u16string& b) const;
  std::u16string UpCase(std::u16string s) const;

  // Reads clusters [lcn, lcn + count) into buf (count * cluster_size bytes).
  Result<void> ReadClusters(std::int64_t lcn, std::uint64_t count, std::span<std::byte> buf) const;

 private:
  Volume(const ReadAtSource& source, BootSector boot, VolumeLimits limits)
      : source_(source), boot_(boot), limits_(limits) {}
  Result<void> LoadMft();
  void LoadUpCase();
  Result<std::vector<std::byte>> ReadRecordAt(std::uint64_t number, const std::vector<Run>& runs) const;
  Result<void> MergeAttributeList(Entry& entry) const;
  Result<std::vector<std::byte>> ReadAttributeValue(const Attribute& attr, std::uint64_t max_size) const;
  Result<void> WalkIndex(std::uint64_t dir, std::vector<IndexEntry>& out, bool* reparse = nullptr) const;

  struct CachedDirectory {
    bool reparse = false;                                   // the directory is a junction or link
    std::vector<IndexEntry> entries;                        // DOS-only names skipped
    std::unordered_map<std::u16string, std::size_t> upper;  // upper-cased name -> first entry
  };
  Result<std::shared_ptr<const CachedDirectory>> Directory(std::uint64_t dir) const;

  const ReadAtSource& source_;
  BootSector boot_;
  VolumeLimits limits_;
  // Directories recently listed (lookups walk every ancestor of a path);
  // dropped wholesale when they hold more than kDirectoryCacheEntries names.
  static constexpr std::size_t kDirectoryCacheEntries = 262144;
  mutable std::mutex cache_mu_;
  mutable std::unordered_map<std::uint64_t, std::shared_ptr<const CachedDirectory>> dir_cache_;
  mutable std::size_t cached_names_ = 0;
  std::vector<Run> mft_runs_;
  std::uint64_t entry_count_ = 0;
  std::vector<char16_t> upcase_;  // 65536 entries when loaded
};

// "dir\\file:stream" -> ("dir\\file", "stream"); ("path", "") without a
// stream. A colon in a directory component is not a stream separator.
std::pair<std::string, std::string> SplitStreamPath(const std::string& path);

// Joins a Unicode name for display (unpaired surrogates become U+FFFD).
std::string ToUtf8(const std::u16string& s);
std::u16string FromUtf8(std::string_view s);
// FILETIME -> nanoseconds since the Unix epoch (0 for 0).
std::int64_t FiletimeToUnixNs(std::uint64_t filetime);

}  // namespace trawl::core::formats::ntfs
