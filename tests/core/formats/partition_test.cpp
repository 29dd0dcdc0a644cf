// SPDX-License-Identifier: Apache-2.0
// Partition tables: real images from the shared test data (an MBR with an
// extended partition, two GPT disks, a Windows-made MBR disk, a bare NTFS
// volume), checked against fixed expectations and against The Sleuth Kit's
// mmls as an oracle, plus hand-built damaged tables in memory.
#include "core/formats/partition.h"

#include <gtest/gtest.h>
#include <zlib.h>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <optional>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "core/util/file.h"
#include "core/util/read_at.h"
#include "tests/support/test_env.h"

namespace trawl::core::formats {
namespace {

namespace fs = std::filesystem;

constexpr std::uint64_t kSector = 512;

fs::path NtfsData(const std::string& rel) { return test::SharedTestdata() / "ntfs" / rel; }

std::vector<std::byte> Load(const fs::path& path) {
  auto bytes = ReadFileBytes(path);
  EXPECT_TRUE(bytes) << path;
  return bytes ? std::move(*bytes) : std::vector<std::byte>{};
}

// Decompresses a .gz with zlib, leaving all-zero 64 KiB blocks as holes.
fs::path Gunzip(const fs::path& gz, const fs::path& out) {
  gzFile in = gzopen(gz.string().c_str(), "rb");
  if (in == nullptr) throw std::runtime_error("cannot open " + gz.string());
  gzbuffer(in, 1u << 20);
  std::ofstream file(out, std::ios::binary | std::ios::trunc);
  constexpr std::size_t kBlock = 64 * 1024;
  static const std::vector<char> zeros(kBlock, 0);
  std::vector<char> buf(kBlock);
  std::uint64_t total = 0;
  while (true) {
    const int n = gzread(in, buf.data(), static_cast<unsigned>(buf.size()));
    if (n < 0) {
      gzclose(in);
      throw std::runtime_error("cannot decompress " + gz.string());
    }
    if (n == 0) break;
    if (std::memcmp(buf.data(), zeros.data(), static_cast<std::size_t>(n)) != 0) {
      file.seekp(static_cast<std::streamoff>(total));
      file.write(buf.data(), n);
    }
    total += static_cast<std::uint64_t>(n);
  }
  gzclose(in);
  file.close();
  if (!file) throw std::runtime_error("cannot write " + out.string());
  fs::resize_file(out, total);
  return out;
}

// The two compressed images, decompressed once per test run.
struct Decompressed {
  test::TempDir dir;
  fs::path gpt_ntfs = Gunzip(NtfsData("generated/gpt-ntfs.img.gz"), dir / "gpt-ntfs.img");
  fs::path lastaccess = Gunzip(NtfsData("msuhanov-ntfs-samples/ntfs-lastaccess.raw.gz"), dir / "ntfs-lastaccess.raw");
};
const Decompressed& Images() {
  static const Decompressed images;
  return images;
}

const fs::path kTskVolumeSystem = NtfsData("plaso/tsk_volume_system.raw");
const fs::path kQuyziGpt = NtfsData("quyzi-gpt/gpt-disk.img");
const fs::path kTestfs1 = NtfsData("colinfinck-ntfs/testfs1");

PartitionTable ReadTable(const fs::path& path, std::uint32_t sector_size = 512) {
  auto src = OpenFileSource(path.string());
  if (!src) {
    ADD_FAILURE() << src.error().ToString();
    return {};
  }
  auto t = ReadPartitionTable(**src, sector_size);
  if (!t) {
    ADD_FAILURE() << path << ": " << t.error().ToString();
    return {};
  }
  return *t;
}

PartitionTable ReadTable(const std::vector<std::byte>& disk, std::uint32_t sector_size = 512) {
  const MemorySource src(disk, "disk");
  auto t = ReadPartitionTable(src, sector_size);
  if (!t) {
    ADD_FAILURE() << t.error().ToString();
    return {};
  }
  return *t;
}

std::string Join(const std::vector<std::string>& v) {
  std::string s;
  for (const auto& x : v) s += x + "\n";
  return s;
}

bool AnyWarningHas(const PartitionTable& t, const std::string& text) {
  return std::any_of(t.warnings.begin(), t.warnings.end(),
                     [&](const std::string& w) { return w.find(text) != std::string::npos; });
}

// --- hand-built disks -------------------------------------------------

void Put(std::vector<std::byte>& d, std::uint64_t off, std::uint64_t v, int bytes) {
  for (int i = 0; i < bytes; ++i) d.at(off + i) = static_cast<std::byte>(v >> (8 * i));
}
void PutText(std::vector<std::byte>& d, std::uint64_t off, std::string_view s) {
  for (std::size_t i = 0; i < s.size(); ++i) d.at(off + i) = static_cast<std::byte>(s[i]);
}

// One MBR/EBR slot (0..3) in the sector starting at byte `sector`, which also
// gets its 0x55AA signature.
void PutMbrEntry(std::vector<std::byte>& d, std::uint64_t sector, int slot, std::uint8_t type, std::uint32_t lba,
                 std::uint32_t count, std::uint8_t status = 0) {
  const std::uint64_t e = sector + 0x1BE + 16 * static_cast<std::uint64_t>(slot);
  Put(d, e, status, 1);
  Put(d, e + 4, type, 1);
  Put(d, e + 8, lba, 4);
  Put(d, e + 12, count, 4);
  Put(d, sector + 510, 0xAA55, 2);
}

// "ebd0a0a2-b9e5-4433-87c0-68b6b72699c7" -> the 16 on-disk bytes.
std::vector<std::byte> GuidBytes(const std::string& text) {
  std::string hex;
  for (char c : text) {
    if (c != '-') hex.push_back(c);
  }
  std::vector<std::byte> raw(16);
  for (int i = 0; i < 16; ++i) raw[i] = static_cast<std::byte>(std::stoul(hex.substr(2 * i, 2), nullptr, 16));
  std::reverse(raw.begin(), raw.begin() + 4);
  std::reverse(raw.begin() + 4, raw.begin() + 6);
  std::reverse(raw.begin() + 6, raw.begin() + 8);
  return raw;
}

constexpr const char* kBasicData = "ebd0a0a2-b9e5-4433-87c0-68b6b72699c7";
constexpr const char* kEfiSystem = "c12a7328-f81f-11d2-ba4b-00a0c93ec93b";

struct GptSpec {
  std::string type;
  std::string guid;
  std::uint64_t first = 0, last = 0;
  std::string name;  // ASCII
};

std::uint32_t ZlibCrc(const std::vector<std::byte>& d, std::uint64_t off, std::uint64_t len) {
  return static_cast<std::uint32_t>(crc32(0L, reinterpret_cast<const Bytef*>(d.data() + off), static_cast<uInt>(len)));
}

// Writes a GPT header at `lba` (CRC computed with zlib).
void PutGptHeader(std::vector<std::byte>& d, std::uint32_t ss, std::uint64_t lba, std::uint64_t alt,
                  std::uint64_t entries_lba, std::uint32_t count, std::uint32_t size, std::uint32_t array_crc) {
  const std::uint64_t h = lba * ss;
  std::fill(d.begin() + static_cast<std::ptrdiff_t>(h), d.begin() + static_cast<std::ptrdiff_t>(h + ss), std::byte{0});
  PutText(d, h, "EFI PART");
  Put(d, h + 8, 0x00010000, 4);
  Put(d, h + 12, 92, 4);
  Put(d, h + 24, lba, 8);
  Put(d, h + 32, alt, 8);
  Put(d, h + 40, 34, 8);
  Put(d, h + 48, d.size() / ss - 34, 8);
  const auto disk_guid = GuidBytes("11111111-2222-3333-4444-555555555555");
  std::copy(disk_guid.begin(), disk_guid.end(), d.begin() + static_cast<std::ptrdiff_t>(h + 56));
  Put(d, h + 72, entries_lba, 8);
  Put(d, h + 80, count, 4);
  Put(d, h + 84, size, 4);
  Put(d, h + 88, array_crc, 4);
  Put(d, h + 16, ZlibCrc(d, h, 92), 4);
}

// A whole GPT disk of `sectors` sectors: protective MBR, primary header and
// array at LBA 1 and 2, backup array and header at the end.
std::vector<std::byte> MakeGptDisk(std::uint32_t ss, std::uint64_t sectors, const std::vector<GptSpec>& parts) {
  std::vector<std::byte> d(ss * sectors);
  PutMbrEntry(d, 0, 0, 0xEE, 1, static_cast<std::uint32_t>(sectors - 1));
  constexpr std::uint32_t kCount = 128, kSize = 128;
  std::vector<std::byte> array(kCount * kSize);
  for (std::size_t i = 0; i < parts.size(); ++i) {
    const std::uint64_t e = i * kSize;
    const auto type = GuidBytes(parts[i].type);
    const auto guid = GuidBytes(parts[i].guid);
    std::copy(type.begin(), type.end(), array.begin() + static_cast<std::ptrdiff_t>(e));
    std::copy(guid.begin(), guid.end(), array.begin() + static_cast<std::ptrdiff_t>(e + 16));
    Put(array, e + 32, parts[i].first, 8);
    Put(array, e + 40, parts[i].last, 8);
    for (std::size_t k = 0; k < parts[i].name.size(); ++k) Put(array, e + 56 + 2 * k, parts[i].name[k], 2);
  }
  const std::uint32_t array_crc = ZlibCrc(array, 0, array.size());
  const std::uint64_t array_sectors = (array.size() + ss - 1) / ss;
  const std::uint64_t last = sectors - 1;
  std::copy(array.begin(), array.end(), d.begin() + static_cast<std::ptrdiff_t>(std::uint64_t{2} * ss));
  std::copy(array.begin(), array.end(), d.begin() + static_cast<std::ptrdiff_t>((last - array_sectors) * ss));
  PutGptHeader(d, ss, 1, last, 2, kCount, kSize, array_crc);
  PutGptHeader(d, ss, last, 1, last - array_sectors, kCount, kSize, array_crc);
  return d;
}

const std::vector<GptSpec> kTwoParts = {
    {kEfiSystem, "01234567-89ab-cdef-0123-456789abcdef", 40, 59, "EFI system partition"},
    {kBasicData, "fedcba98-7654-3210-fedc-ba9876543210", 64, 191, "Basic data partition"},
};

// --- mmls oracle --------------------------------------------------------

struct MmlsPartition {
  std::uint64_t offset = 0, length = 0;
  std::string description;
};
struct MmlsTable {
  bool ok = false;
  std::string kind;  // first line: "DOS Partition Table", "GUID Partition Table (EFI)"
  std::vector<MmlsPartition> partitions;
  std::string output;
};

// Runs plain `mmls` and keeps its partition rows: slots "000:000" (DOS) or
// "000" (GPT); "Meta" rows (tables, extended containers) and "-------"
// (unallocated) are left out.
MmlsTable RunMmls(const fs::path& image) {
  MmlsTable t;
  const auto r = test::RunCommand({"mmls", image.string()});
  t.output = r.out + r.err;
  if (r.exit_code != 0) return t;
  std::istringstream in(r.out);
  std::string line;
  std::getline(in, t.kind);
  std::uint64_t unit = 0;
  constexpr std::string_view kUnits = "Units are in ";
  while (std::getline(in, line)) {
    if (line.starts_with(kUnits)) unit = std::stoull(line.substr(kUnits.size()));
    // "002:  000:000   0000000001   0000000350   0000000350   Linux (0x83)"
    std::istringstream fields(line);
    std::string index, slot;
    std::uint64_t start = 0, end = 0, length = 0;
    if (!(fields >> index >> slot >> start >> end >> length) || !index.ends_with(':')) continue;
    if (slot == "Meta" || slot == "-------") continue;
    std::string description;
    std::getline(fields, description);
    const auto first = description.find_first_not_of(' ');
    description = first == std::string::npos ? "" : description.substr(first);
    while (!description.empty() && description.back() == ' ') description.pop_back();
    t.partitions.push_back({start * unit, length * unit, description});
  }
  t.ok = unit != 0;
  std::sort(t.partitions.begin(), t.partitions.end(),
            [](const MmlsPartition& a, const MmlsPartition& b) { return a.offset < b.offset; });
  return t;
}

void ExpectMatchesMmls(const fs::path& image) {
  SCOPED_TRACE(image.string());
  const MmlsTable mmls = RunMmls(image);
  ASSERT_TRUE(mmls.ok) << mmls.output;
  const PartitionTable ours = ReadTable(image);
  EXPECT_EQ(ours.scheme, mmls.kind.starts_with("GUID") ? "gpt" : "mbr") << mmls.kind;
  std::vector<Partition> sorted = ours.partitions;
  std::sort(sorted.begin(), sorted.end(), [](const Partition& a, const Partition& b) { return a.offset < b.offset; });
  ASSERT_EQ(sorted.size(), mmls.partitions.size()) << mmls.output << Join(ours.warnings);
  for (std::size_t i = 0; i < sorted.size(); ++i) {
    SCOPED_TRACE(mmls.partitions[i].description);
    EXPECT_EQ(sorted[i].offset, mmls.partitions[i].offset);
    EXPECT_EQ(sorted[i].length, mmls.partitions[i].length);
    if (ours.scheme == "gpt") {
      EXPECT_EQ(sorted[i].name, mmls.partitions[i].description);  // mmls describes GPT entries by name
    } else {
      EXPECT_NE(mmls.partitions[i].description.find("(" + sorted[i].type + ")"), std::string::npos);
    }
  }
}

// --- tests ----------------------------------------------------------------

TEST(PartitionTable, Crc32MatchesZlib) {
  EXPECT_EQ(Crc32(std::as_bytes(std::span("123456789", 9))), 0xCBF43926u);  // the CRC-32 check value
  std::mt19937 rng(7);
  for (std::size_t len : {0u, 1u, 92u, 513u, 16384u}) {
    std::vector<std::byte> d(len);
    for (auto& b : d) b = static_cast<std::byte>(rng());
    EXPECT_EQ(Crc32(d), ZlibCrc(d, 0, d.size())) << len;
    if (len > 10) {
      EXPECT_EQ(Crc32(std::span(d).subspan(10), Crc32(std::span(d).first(10))), Crc32(d));
    }
  }
}

TEST(PartitionTable, MbrWithExtendedPartition) {
  // plaso's tsk_volume_system.raw: Linux at LBA 1 (350 sectors), extended
  // 0x05 at LBA 351 whose EBR holds a logical partition at EBR + 1.
  const auto t = ReadTable(kTskVolumeSystem);
  EXPECT_EQ(t.scheme, "mbr");
  EXPECT_EQ(t.sector_size, 512u);
  EXPECT_TRUE(t.warnings.empty()) << Join(t.warnings);
  ASSERT_EQ(t.partitions.size(), 2u);
  EXPECT_EQ(t.partitions[0].number, 1);
  EXPECT_EQ(t.partitions[0].offset, 1 * kSector);
  EXPECT_EQ(t.partitions[0].length, 350 * kSector);
  EXPECT_EQ(t.partitions[0].type, "0x83");
  EXPECT_EQ(t.partitions[0].type_name, "Linux");
  EXPECT_FALSE(t.partitions[0].logical);
  EXPECT_EQ(t.partitions[1].number, 2);
  EXPECT_EQ(t.partitions[1].offset, 352 * kSector);
  EXPECT_EQ(t.partitions[1].length, 2528 * kSector);
  EXPECT_EQ(t.partitions[1].scheme, "mbr");
  EXPECT_TRUE(t.partitions[1].logical);
  EXPECT_EQ(t.partitions[1].name, "");
}

TEST(PartitionTable, GptFromFdisk) {
  // Quyzi/gpt's fixture: 72 sectors, Linux filesystem partitions at LBA 34
  // and 35-38, backup header at LBA 71.
  const auto t = ReadTable(kQuyziGpt);
  EXPECT_EQ(t.scheme, "gpt");
  EXPECT_TRUE(t.warnings.empty()) << Join(t.warnings);
  ASSERT_EQ(t.partitions.size(), 2u);
  EXPECT_EQ(t.partitions[0].offset, 34 * kSector);
  EXPECT_EQ(t.partitions[0].length, 1 * kSector);
  EXPECT_EQ(t.partitions[1].offset, 35 * kSector);
  EXPECT_EQ(t.partitions[1].length, 4 * kSector);
  for (const auto& p : t.partitions) {
    EXPECT_EQ(p.scheme, "gpt");
    EXPECT_EQ(p.type, "0fc63daf-8483-4772-8e79-3d69d8477de4");
    EXPECT_EQ(p.type_name, "Linux filesystem");
    EXPECT_EQ(p.name, "");
    EXPECT_FALSE(p.logical);
  }
  EXPECT_EQ(t.partitions[0].guid, "f38eab50-076f-cb45-97f8-b1b7e5af078f");
  EXPECT_EQ(t.partitions[1].guid, "8eee35af-4a93-2c4f-aa7a-5fb193ac6ff7");
}

TEST(PartitionTable, GeneratedGptWithNtfs) {
  // make_gpt_ntfs.sh: sgdisk --new 1:2048:+16M --typecode=1:0700
  // --partition-guid=1:66666666-... --change-name=1:testvol.
  const auto& path = Images().gpt_ntfs;
  const auto t = ReadTable(path);
  EXPECT_EQ(t.scheme, "gpt");
  EXPECT_TRUE(t.warnings.empty()) << Join(t.warnings);
  ASSERT_EQ(t.partitions.size(), 1u);
  const auto& p = t.partitions[0];
  EXPECT_EQ(p.number, 1);
  EXPECT_EQ(p.offset, 2048 * kSector);
  EXPECT_EQ(p.length, 16u << 20);
  EXPECT_EQ(p.type, kBasicData);
  EXPECT_EQ(p.type_name, "Microsoft basic data");
  EXPECT_EQ(p.name, "testvol");
  EXPECT_EQ(p.guid, "66666666-7777-8888-9999-aaaaaaaaaaaa");
  auto src = OpenFileSource(path.string());
  ASSERT_TRUE(src);
  EXPECT_TRUE(LooksLikeNtfsBootSector(**src, p.offset));
  EXPECT_FALSE(LooksLikeNtfsBootSector(**src, 0));
}

TEST(PartitionTable, WindowsMadeMbrWithNtfs) {
  // msuhanov's ntfs-lastaccess: Windows 10, 256 MiB, one NTFS partition at LBA 128.
  const auto& path = Images().lastaccess;
  const auto t = ReadTable(path);
  EXPECT_EQ(t.scheme, "mbr");
  EXPECT_TRUE(t.warnings.empty()) << Join(t.warnings);
  ASSERT_EQ(t.partitions.size(), 1u);
  EXPECT_EQ(t.partitions[0].offset, 128 * kSector);
  EXPECT_EQ(t.partitions[0].length, 518144 * kSector);
  EXPECT_EQ(t.partitions[0].type, "0x07");
  EXPECT_EQ(t.partitions[0].type_name, "NTFS/exFAT/HPFS");
  auto src = OpenFileSource(path.string());
  ASSERT_TRUE(src);
  EXPECT_TRUE(LooksLikeNtfsBootSector(**src, t.partitions[0].offset));
  auto volume = MakeSubSource(**src, t.partitions[0].offset, t.partitions[0].length);
  ASSERT_TRUE(volume);
  EXPECT_TRUE(LooksLikeNtfsBootSector(**volume, 0));
}

TEST(PartitionTable, BareNtfsVolumeHasNoTable) {
  // testfs1 starts with an NTFS boot sector, 0x55AA included: not an MBR.
  const auto t = ReadTable(kTestfs1);
  EXPECT_EQ(t.scheme, "none");
  EXPECT_TRUE(t.partitions.empty());
  auto src = OpenFileSource(kTestfs1.string());
  ASSERT_TRUE(src);
  EXPECT_TRUE(LooksLikeNtfsBootSector(**src, 0));
  EXPECT_FALSE(LooksLikeNtfsBootSector(**src, 512));
  EXPECT_FALSE(LooksLikeNtfsBootSector(**src, (*src)->Size() - 100));
  EXPECT_FALSE(LooksLikeNtfsBootSector(**src, ~std::uint64_t{0}));
}

TEST(PartitionTable, MatchesMmls) {
  if (!test::HaveTool("mmls")) GTEST_SKIP() << "mmls (The Sleuth Kit) is not installed";
  ExpectMatchesMmls(kTskVolumeSystem);
  ExpectMatchesMmls(kQuyziGpt);
  ExpectMatchesMmls(Images().gpt_ntfs);
  ExpectMatchesMmls(Images().lastaccess);
  // A bare volume: mmls finds no table either.
  const auto r = test::RunCommand({"mmls", kTestfs1.string()});
  EXPECT_NE(r.exit_code, 0) << r.out;
}

TEST(PartitionTable, GptBadPrimaryHeaderFallsBackToBackup) {
  auto disk = Load(kQuyziGpt);
  ASSERT_EQ(disk.size(), 72 * kSector);
  const auto good = ReadTable(disk);
  ASSERT_EQ(good.partitions.size(), 2u);
  disk[512 + 16] ^= std::byte{0x01};  // the primary header's CRC field
  const auto t = ReadTable(disk);
  EXPECT_EQ(t.scheme, "gpt");
  ASSERT_EQ(t.partitions.size(), 2u);
  for (std::size_t i = 0; i < 2; ++i) {
    EXPECT_EQ(t.partitions[i].offset, good.partitions[i].offset);
    EXPECT_EQ(t.partitions[i].length, good.partitions[i].length);
    EXPECT_EQ(t.partitions[i].guid, good.partitions[i].guid);
  }
  ASSERT_EQ(t.warnings.size(), 1u) << Join(t.warnings);
  EXPECT_NE(t.warnings[0].find("header CRC32"), std::string::npos) << t.warnings[0];
  EXPECT_NE(t.warnings[0].find("backup GPT header at LBA 71"), std::string::npos) << t.warnings[0];
}

TEST(PartitionTable, GptBadPrimaryEntriesFallBackToBackup) {
  auto disk = MakeGptDisk(512, 400, kTwoParts);
  ASSERT_EQ(ReadTable(disk).warnings.size(), 0u) << Join(ReadTable(disk).warnings);
  // Move partition 2 in the primary array only: its CRC no longer matches.
  Put(disk, 2 * kSector + 128 + 32, 100, 8);
  const auto t = ReadTable(disk);
  EXPECT_EQ(t.scheme, "gpt");
  ASSERT_EQ(t.partitions.size(), 2u);
  EXPECT_EQ(t.partitions[1].offset, 64 * kSector);  // the backup's value
  EXPECT_EQ(t.partitions[1].length, 128 * kSector);
  EXPECT_EQ(t.partitions[1].name, "Basic data partition");
  EXPECT_EQ(t.partitions[0].name, "EFI system partition");
  EXPECT_EQ(t.partitions[0].type_name, "EFI system");
  EXPECT_EQ(t.partitions[0].guid, "01234567-89ab-cdef-0123-456789abcdef");
  EXPECT_TRUE(AnyWarningHas(t, "partition entry array at LBA 2 has CRC32")) << Join(t.warnings);
}

TEST(PartitionTable, GptBadBackupOnlyWarns) {
  auto disk = MakeGptDisk(512, 400, kTwoParts);
  disk[399 * kSector] = std::byte{'X'};  // backup signature
  const auto t = ReadTable(disk);
  EXPECT_EQ(t.scheme, "gpt");
  EXPECT_EQ(t.partitions.size(), 2u);
  ASSERT_EQ(t.warnings.size(), 1u) << Join(t.warnings);
  EXPECT_NE(t.warnings[0].find("backup GPT header is bad"), std::string::npos) << t.warnings[0];

  // Both copies bad: an error naming both.
  disk[kSector + 16] ^= std::byte{0xFF};
  const MemorySource src(disk, "disk");
  const auto bad = ReadPartitionTable(src);
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().code, ErrorCode::kFormat);
  EXPECT_NE(bad.error().message.find("header CRC32"), std::string::npos) << bad.error().message;
  EXPECT_NE(bad.error().message.find("no \"EFI PART\" signature"), std::string::npos) << bad.error().message;
}

TEST(PartitionTable, GptWith4096ByteSectorsIsFoundFrom512) {
  const auto disk = MakeGptDisk(4096, 64, {{kBasicData, "fedcba98-7654-3210-fedc-ba9876543210", 8, 39, "data"}});
  for (std::uint32_t ss : {512u, 4096u}) {
    const auto t = ReadTable(disk, ss);
    EXPECT_EQ(t.scheme, "gpt");
    EXPECT_EQ(t.sector_size, 4096u);
    EXPECT_TRUE(t.warnings.empty()) << Join(t.warnings);
    ASSERT_EQ(t.partitions.size(), 1u);
    EXPECT_EQ(t.partitions[0].offset, 8u * 4096);
    EXPECT_EQ(t.partitions[0].length, 32u * 4096);
    EXPECT_EQ(t.partitions[0].name, "data");
  }
}

TEST(PartitionTable, HugeGptEntryArrayIsRejected) {
  // 0xFFFFFFFF entries of 2^31 bytes (~2^63 bytes), with a valid header CRC.
  auto disk = MakeGptDisk(512, 400, kTwoParts);
  PutGptHeader(disk, 512, 1, 399, 2, 0xFFFFFFFFu, 0x80000000u, 0);
  auto t = ReadTable(disk);  // the backup is still good
  EXPECT_EQ(t.partitions.size(), 2u);
  EXPECT_TRUE(AnyWarningHas(t, "exceeds the")) << Join(t.warnings);

  PutGptHeader(disk, 512, 399, 1, 2, 0xFFFFFFFFu, 0x80000000u, 0);
  const MemorySource src(disk, "disk");
  const auto r = ReadPartitionTable(src);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("4294967295 entries x 2147483648 bytes"), std::string::npos) << r.error().message;

  // Within the cap (1 MiB) but larger than the disk; an entry size that is
  // not 128 x 2^n. Both headers say so.
  const std::pair<std::pair<std::uint32_t, std::uint32_t>, std::string> cases[] = {
      {{1024, 1024}, "lies outside the disk"}, {{128, 200}, "is not 128 x 2^n"}};
  for (const auto& [count_size, what] : cases) {
    PutGptHeader(disk, 512, 1, 399, 2, count_size.first, count_size.second, 0);
    PutGptHeader(disk, 512, 399, 1, 2, count_size.first, count_size.second, 0);
    const auto e = ReadPartitionTable(src);
    ASSERT_FALSE(e);
    EXPECT_NE(e.error().message.find(what), std::string::npos) << e.error().message;
  }
}

TEST(PartitionTable, EbrLoopIsCut) {
  // Extended 0x0F at LBA 100 (200 sectors). EBR 100: logical +1 (10
  // sectors), link -> 100 + 20. EBR 120: logical +1 (5), link -> 100 + 0,
  // back to the first EBR.
  std::vector<std::byte> disk(400 * kSector);
  PutMbrEntry(disk, 0, 0, 0x07, 1, 50, 0x80);
  PutMbrEntry(disk, 0, 1, 0x0F, 100, 200);
  PutMbrEntry(disk, 100 * kSector, 0, 0x07, 1, 10);
  PutMbrEntry(disk, 100 * kSector, 1, 0x05, 20, 30);
  PutMbrEntry(disk, 120 * kSector, 0, 0x83, 1, 5);
  PutMbrEntry(disk, 120 * kSector, 1, 0x05, 0, 30);
  const auto t = ReadTable(disk);
  EXPECT_EQ(t.scheme, "mbr");
  ASSERT_EQ(t.partitions.size(), 3u);
  EXPECT_EQ(t.partitions[1].offset, 101 * kSector);
  EXPECT_EQ(t.partitions[2].offset, 121 * kSector);
  EXPECT_EQ(t.partitions[2].length, 5 * kSector);
  ASSERT_EQ(t.warnings.size(), 1u) << Join(t.warnings);
  EXPECT_NE(t.warnings[0].find("loops back to the EBR at LBA 100"), std::string::npos) << t.warnings[0];

  if (!test::HaveTool("mmls")) return;
  // mmls stops at the repeated EBR too.
  test::TempDir dir;
  test::WriteFile(dir / "loop.img", std::string(reinterpret_cast<const char*>(disk.data()), disk.size()));
  ExpectMatchesMmls(dir / "loop.img");
}

TEST(PartitionTable, LogicalPartitionsUseTheirOwnEbrAndTheExtendedBase) {
  // A logical partition starts relative to its own EBR; the link to the next
  // EBR is relative to the start of the extended partition. EBRs at 100,
  // 120, 140 (links 20 and 40 from 100, not from the current EBR).
  std::vector<std::byte> disk(400 * kSector);
  PutMbrEntry(disk, 0, 0, 0x07, 2, 60, 0x80);
  PutMbrEntry(disk, 0, 2, 0x05, 100, 200);
  PutMbrEntry(disk, 100 * kSector, 0, 0x07, 2, 8);
  PutMbrEntry(disk, 100 * kSector, 1, 0x05, 20, 20);
  PutMbrEntry(disk, 120 * kSector, 0, 0x0B, 3, 7);
  PutMbrEntry(disk, 120 * kSector, 1, 0x05, 40, 20);
  PutMbrEntry(disk, 140 * kSector, 0, 0x83, 4, 6);
  const auto t = ReadTable(disk);
  EXPECT_TRUE(t.warnings.empty()) << Join(t.warnings);
  ASSERT_EQ(t.partitions.size(), 4u);
  const std::uint64_t want_offset[] = {2, 102, 123, 144};
  const std::uint64_t want_length[] = {60, 8, 7, 6};
  const bool want_logical[] = {false, true, true, true};
  for (std::size_t i = 0; i < 4; ++i) {
    EXPECT_EQ(t.partitions[i].number, static_cast<int>(i) + 1);
    EXPECT_EQ(t.partitions[i].offset, want_offset[i] * kSector) << i;
    EXPECT_EQ(t.partitions[i].length, want_length[i] * kSector) << i;
    EXPECT_EQ(t.partitions[i].logical, want_logical[i]) << i;
  }
  EXPECT_EQ(t.partitions[2].type_name, "FAT32");

  if (!test::HaveTool("mmls")) return;
  // The same chain, as mmls reads it.
  test::TempDir dir;
  test::WriteFile(dir / "chain.img", std::string(reinterpret_cast<const char*>(disk.data()), disk.size()));
  ExpectMatchesMmls(dir / "chain.img");
}

TEST(PartitionTable, LogicalPartitionCountIsBounded) {
  // 200 EBRs, 2 sectors apart, each with a 1-sector logical partition.
  std::vector<std::byte> disk(500 * kSector);
  PutMbrEntry(disk, 0, 0, 0x05, 10, 450);
  for (std::uint32_t i = 0; i < 200; ++i) {
    const std::uint64_t ebr = (10 + 2 * i) * kSector;
    PutMbrEntry(disk, ebr, 0, 0x83, 1, 1);
    if (i + 1 < 200) PutMbrEntry(disk, ebr, 1, 0x05, 2 * (i + 1), 2);
  }
  const auto t = ReadTable(disk);
  EXPECT_EQ(t.partitions.size(), kMaxLogicalPartitions);
  EXPECT_EQ(t.partitions.back().offset, (10 + 2 * 127 + 1) * kSector);
  EXPECT_TRUE(AnyWarningHas(t, "more than 128 logical partitions")) << Join(t.warnings);
}

TEST(PartitionTable, EntriesOutsideTheDiskAreSkipped) {
  std::vector<std::byte> disk(100 * kSector);
  PutMbrEntry(disk, 0, 0, 0x07, 1, 50);
  PutMbrEntry(disk, 0, 1, 0x07, 90, 20);           // ends 10 sectors past the end
  PutMbrEntry(disk, 0, 2, 0x83, 0xFFFFFFF0u, 16);  // starts far beyond
  PutMbrEntry(disk, 0, 3, 0x05, 60, 0xFFFFFFFFu);  // extended, EBR inside, end beyond
  PutMbrEntry(disk, 60 * kSector, 0, 0x07, 1, 10);
  PutMbrEntry(disk, 60 * kSector, 1, 0x05, 1000, 10);  // next EBR beyond the disk
  const auto t = ReadTable(disk);
  EXPECT_EQ(t.scheme, "mbr");
  ASSERT_EQ(t.partitions.size(), 2u) << Join(t.warnings);
  EXPECT_EQ(t.partitions[0].offset, 1 * kSector);
  EXPECT_EQ(t.partitions[1].offset, 61 * kSector);
  EXPECT_TRUE(t.partitions[1].logical);
  EXPECT_TRUE(AnyWarningHas(t, "MBR entry 2 (type 0x07) at LBA 90")) << Join(t.warnings);
  EXPECT_TRUE(AnyWarningHas(t, "MBR entry 3 (type 0x83)")) << Join(t.warnings);
  EXPECT_TRUE(AnyWarningHas(t, "extended partition (MBR entry 4)")) << Join(t.warnings);
  EXPECT_TRUE(AnyWarningHas(t, "EBR at LBA 1060")) << Join(t.warnings);

  // GPT: an entry past the last LBA and one that ends before it starts.
  auto gpt = MakeGptDisk(512, 400,
                         {{kBasicData, "fedcba98-7654-3210-fedc-ba9876543210", 300, 500, "big"},
                          {kBasicData, "fedcba98-7654-3210-fedc-ba9876543211", 64, 63, "inverted"},
                          {kBasicData, "fedcba98-7654-3210-fedc-ba9876543212", 64, 191, "fine"}});
  const auto g = ReadTable(gpt);
  ASSERT_EQ(g.partitions.size(), 1u) << Join(g.warnings);
  EXPECT_EQ(g.partitions[0].name, "fine");
  EXPECT_EQ(g.partitions[0].number, 1);
  EXPECT_TRUE(AnyWarningHas(g, "GPT entry 1 (LBA 300..500) lies outside the disk")) << Join(g.warnings);
  EXPECT_TRUE(AnyWarningHas(g, "GPT entry 2 (LBA 64..63) ends before it starts")) << Join(g.warnings);
}

TEST(PartitionTable, TruncatedDisks) {
  for (std::size_t size : {0u, 1u, 100u, 511u}) {
    std::vector<std::byte> disk(size, std::byte{0x55});
    const auto t = ReadTable(disk);
    EXPECT_EQ(t.scheme, "none") << size;
    EXPECT_TRUE(t.partitions.empty());
  }
  // A protective MBR with nothing after it: an error, not a crash.
  std::vector<std::byte> disk(512);
  PutMbrEntry(disk, 0, 0, 0xEE, 1, 0xFFFFFFFFu);
  for (std::size_t size : {512u, 513u, 1000u, 4100u}) {
    disk.resize(size);
    const MemorySource src(disk, "short");
    const auto r = ReadPartitionTable(src);
    ASSERT_FALSE(r) << size;
    EXPECT_EQ(r.error().code, ErrorCode::kFormat);
    EXPECT_NE(r.error().message.find("protective MBR"), std::string::npos) << r.error().message;
  }
  // A GPT disk cut after its primary array: primary used, the missing backup noted.
  const auto full = MakeGptDisk(512, 400, kTwoParts);
  const std::vector<std::byte> cut(full.begin(), full.begin() + 200 * kSector);
  const auto t = ReadTable(cut);
  EXPECT_EQ(t.scheme, "gpt");
  EXPECT_EQ(t.partitions.size(), 2u);
  EXPECT_TRUE(AnyWarningHas(t, "places its backup at LBA 399, but the disk's last LBA is 199")) << Join(t.warnings);
}

TEST(PartitionTable, NotAnMbr) {
  std::vector<std::byte> disk(64 * kSector);
  EXPECT_EQ(ReadTable(disk).scheme, "none");  // no signature
  PutMbrEntry(disk, 0, 0, 0x07, 1, 10);
  EXPECT_EQ(ReadTable(disk).scheme, "mbr");
  EXPECT_EQ(ReadTable(disk).partitions.size(), 1u);
  // A status byte other than 0x00/0x80: boot code, not entries.
  disk[0x1BE + 16] = std::byte{0x3C};
  const auto t = ReadTable(disk);
  EXPECT_EQ(t.scheme, "none");
  EXPECT_TRUE(AnyWarningHas(t, "MBR entry 2 has status 0x3c")) << Join(t.warnings);
  disk[0x1BE + 16] = std::byte{0};
  // A FAT32 boot sector.
  disk[0] = std::byte{0xEB};
  Put(disk, 11, 512, 2);
  disk[13] = std::byte{8};
  PutText(disk, 0x52, "FAT32   ");
  EXPECT_EQ(ReadTable(disk).scheme, "none");
  // An exFAT one.
  PutText(disk, 3, "EXFAT   ");
  EXPECT_EQ(ReadTable(disk).scheme, "none");

  const MemorySource src(disk, "disk");
  EXPECT_EQ(ReadPartitionTable(src, 1000).error().code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(ReadPartitionTable(src, 256).error().code, ErrorCode::kInvalidArgument);
}

TEST(PartitionTable, TypeNames) {
  EXPECT_EQ(MbrTypeName(0x07), "NTFS/exFAT/HPFS");
  EXPECT_EQ(MbrTypeName(0xEE), "GPT protective");
  EXPECT_EQ(MbrTypeName(0x99), "");
  EXPECT_EQ(GptTypeName(kBasicData), "Microsoft basic data");
  EXPECT_EQ(GptTypeName("e3c9e316-0b5c-4db8-817d-f92df00215ae"), "Microsoft reserved");
  EXPECT_EQ(GptTypeName("00000000-0000-0000-0000-000000000001"), "");
}

}  // namespace
}  // namespace trawl::core::formats
