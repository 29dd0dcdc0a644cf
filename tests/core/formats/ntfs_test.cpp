// SPDX-License-Identifier: Apache-2.0
// The NTFS reader on hostile and damaged input (the agreement with The Sleuth
// Kit is ntfs_oracle_posix_test.cpp): boot sectors, update sequences,
// runlists, records, a truncated image, a corrupted directory; plus the
// image's special cases read directly (attribute list, junction, compressed
// and sparse streams). Runs on Linux and under Wine.
#include <gtest/gtest.h>

#include <cstring>

#include "core/formats/ntfs.h"
#include "core/util/file.h"
#include "core/util/read_at.h"
#include "tests/support/disk_images.h"
#include "tests/support/test_env.h"

namespace trawl {
namespace {

namespace ntfs = core::formats::ntfs;
using core::ErrorCode;

std::vector<std::byte> Bytes(std::initializer_list<int> v) {
  std::vector<std::byte> out;
  for (int b : v) out.push_back(static_cast<std::byte>(b));
  return out;
}

std::vector<std::byte> FeaturesImage() {
  const auto path = test::UnpackedImage(test::SourceDir() / "tests/data/ntfs/features.img.gz");
  auto bytes = core::ReadFileBytes(path, 64u << 20);
  EXPECT_TRUE(bytes) << bytes.error().message;
  return bytes ? *bytes : std::vector<std::byte>{};
}

TEST(Ntfs, BootSectorErrorsNameTheField) {
  std::vector<std::byte> s(512);
  auto r = ntfs::ParseBootSector(s);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("OEM id"), std::string::npos);
  const auto img = FeaturesImage();
  ASSERT_GE(img.size(), 512u);
  std::memcpy(s.data(), img.data(), 512);
  ASSERT_TRUE(ntfs::ParseBootSector(s));
  auto bad = s;
  bad[0x0B] = std::byte{0x03};  // 771 bytes per sector
  EXPECT_NE(ntfs::ParseBootSector(bad).error().message.find("bytes per sector"), std::string::npos);
  bad = s;
  bad[0x0D] = std::byte{0x03};  // 3 sectors per cluster
  EXPECT_NE(ntfs::ParseBootSector(bad).error().message.find("sectors per cluster"), std::string::npos);
  bad = s;
  bad[0x40] = std::byte{0x00};  // MFT record size 0
  EXPECT_NE(ntfs::ParseBootSector(bad).error().message.find("MFT record size"), std::string::npos);
  bad = s;
  for (int i = 0; i < 8; ++i) bad[0x30 + i] = std::byte{0xFF};  // MFT past the volume
  EXPECT_NE(ntfs::ParseBootSector(bad).error().message.find("outside the volume"), std::string::npos);
  EXPECT_EQ(ntfs::ParseBootSector(std::span(s).first(100)).error().code, ErrorCode::kTruncated);
}

TEST(Ntfs, FixupsDetectTornRecords) {
  std::vector<std::byte> rec(1024);
  std::memcpy(rec.data(), "FILE", 4);
  rec[4] = std::byte{0x30};  // update sequence array at 0x30, 3 entries
  rec[6] = std::byte{3};
  rec[0x30] = std::byte{0x07};  // USN 0x0007
  rec[0x32] = std::byte{0xAA};  // saved values
  rec[0x34] = std::byte{0xBB};
  rec[510] = std::byte{0x07};
  rec[1022] = std::byte{0x07};
  auto good = rec;
  ASSERT_TRUE(ntfs::ApplyFixups(good, 512, "test record"));
  EXPECT_EQ(good[510], std::byte{0xAA});
  EXPECT_EQ(good[1022], std::byte{0xBB});
  auto torn = rec;
  torn[1022] = std::byte{0x08};
  auto r = ntfs::ApplyFixups(torn, 512, "test record");
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("offset 1022"), std::string::npos) << r.error().message;
  auto huge = rec;
  huge[6] = std::byte{0xFF};  // 255 entries in a 1 KiB record
  EXPECT_FALSE(ntfs::ApplyFixups(huge, 512, "test record"));
}

TEST(Ntfs, RunlistsDecodeSparseAndBackwardRunsAndRejectEscapes) {
  // 4 clusters at 0x1000; 8 sparse; 2 at 0x1000 - 0x10 = 0xFF0 (a negative delta).
  auto runs = ntfs::DecodeRunlist(Bytes({0x21, 0x04, 0x00, 0x10, 0x01, 0x08, 0x11, 0x02, 0xF0, 0x00}), 0, 1 << 20);
  ASSERT_TRUE(runs) << runs.error().message;
  ASSERT_EQ(runs->size(), 3u);
  EXPECT_EQ((*runs)[0].lcn, 0x1000);
  EXPECT_EQ((*runs)[1].lcn, -1);
  EXPECT_EQ((*runs)[1].vcn, 4u);
  EXPECT_EQ((*runs)[2].lcn, 0xFF0);
  EXPECT_EQ((*runs)[2].vcn, 12u);
  // Past the volume, a negative cluster, no terminator, an oversized field.
  EXPECT_FALSE(ntfs::DecodeRunlist(Bytes({0x21, 0x04, 0x00, 0x10, 0x00}), 0, 0x1002));
  EXPECT_FALSE(ntfs::DecodeRunlist(Bytes({0x11, 0x04, 0x80, 0x00}), 0, 1 << 20));
  EXPECT_FALSE(ntfs::DecodeRunlist(Bytes({0x11, 0x04, 0x10}), 0, 1 << 20));
  EXPECT_FALSE(ntfs::DecodeRunlist(Bytes({0x91, 0x01, 0x00}), 0, 1 << 20));
}

TEST(Ntfs, DamagedRecordsAreReportedNotFollowed) {
  const auto img = FeaturesImage();
  ASSERT_FALSE(img.empty());
  core::MemorySource src(img, "features.img");
  auto vol = ntfs::Volume::Open(src);
  ASSERT_TRUE(vol) << vol.error().message;
  auto root = (*vol)->ReadRecord(ntfs::kMftEntryRoot);
  ASSERT_TRUE(root);
  // An attribute whose length runs past the record: parsing stops there with a problem.
  auto rec = *root;
  const std::size_t first = static_cast<std::size_t>(rec[0x14]) | static_cast<std::size_t>(rec[0x15]) << 8;
  rec[first + 4] = std::byte{0xF0};
  rec[first + 5] = std::byte{0xFF};
  auto e = ntfs::ParseRecord(rec, 5);
  ASSERT_TRUE(e);
  ASSERT_FALSE(e->problems.empty());
  EXPECT_NE(e->problems[0].find("bad length"), std::string::npos) << e->problems[0];
  // Not a record at all.
  std::vector<std::byte> zeros(1024);
  auto z = ntfs::ParseRecord(zeros, 99);
  ASSERT_FALSE(z);
  EXPECT_NE(z.error().message.find("MFT entry 99"), std::string::npos);
  // Past the end of $MFT.
  EXPECT_EQ((*vol)->ReadEntry((*vol)->entry_count()).error().code, ErrorCode::kNotFound);
}

TEST(Ntfs, TruncatedAndCorruptedImagesFailByName) {
  auto img = FeaturesImage();
  ASSERT_FALSE(img.empty());
  {
    const std::span<const std::byte> head(img.data(), std::size_t{1} << 20);
    core::MemorySource src(head, "truncated.img");
    auto vol = ntfs::Volume::Open(src);
    if (vol) {  // the MFT may lie in the first MiB; its files' data cannot
      auto n = (*vol)->Lookup("/large.bin");
      if (n) {
        auto s = (*vol)->OpenStream(*n, "");
        ASSERT_TRUE(s);
        std::vector<std::byte> buf(1 << 20);
        std::uint64_t total = 0;
        core::Result<std::size_t> got = std::size_t{0};
        while ((got = (*s)->Read(buf)) && *got > 0) total += *got;
        EXPECT_FALSE(got) << "read " << total << " bytes past the end of a truncated image";
      }
    } else {
      EXPECT_NE(vol.error().message.find("truncated.img"), std::string::npos) << vol.error().message;
    }
  }
  {
    // Overwrite the root directory's record: lookups fail naming entry 5.
    core::MemorySource probe(img, "features.img");
    auto vol = ntfs::Volume::Open(probe);
    ASSERT_TRUE(vol);
    const auto& boot = (*vol)->boot();
    const std::size_t at = static_cast<std::size_t>(boot.mft_lcn * boot.cluster_size + 5 * boot.mft_record_size);
    std::memset(img.data() + at, 0x41, 64);
    core::MemorySource src(img, "corrupt.img");
    auto v2 = ntfs::Volume::Open(src);
    ASSERT_TRUE(v2) << v2.error().message;
    auto n = (*v2)->Lookup("/Windows");
    ASSERT_FALSE(n);
    EXPECT_NE(n.error().message.find("MFT entry 5"), std::string::npos) << n.error().message;
  }
}

TEST(Ntfs, SpecialCasesOfTheFeaturesImage) {
  const auto img = FeaturesImage();
  ASSERT_FALSE(img.empty());
  core::MemorySource src(img, "features.img");
  auto vol = ntfs::Volume::Open(src);
  ASSERT_TRUE(vol) << vol.error().message;
  const ntfs::Volume& v = **vol;
  // Sixty named streams spill into extension records through an attribute list.
  auto many = v.Lookup("/manystreams.txt");
  ASSERT_TRUE(many);
  auto e = v.ReadEntry(*many);
  ASSERT_TRUE(e);
  EXPECT_TRUE(e->has_attribute_list);
  EXPECT_TRUE(e->problems.empty());
  EXPECT_EQ(e->Streams().size(), 61u) << "the unnamed stream and 60 named ones";
  // Case-insensitive lookups, as Windows resolves names.
  auto upper = v.Lookup("\\WINDOWS\\system32\\CONFIG\\system");
  auto exact = v.Lookup("/Windows/System32/config/SYSTEM");
  ASSERT_TRUE(upper && exact);
  EXPECT_EQ(*upper, *exact);
  // The junction loop: reported, never walked through.
  auto junction = v.Lookup("/Users/alice/AppData/Local/Application Data");
  ASSERT_TRUE(junction);
  auto je = v.ReadEntry(*junction);
  ASSERT_TRUE(je && je->reparse);
  EXPECT_EQ(je->reparse->kind, "junction");
  auto through = v.Lookup("/Users/alice/AppData/Local/Application Data/Microsoft");
  ASSERT_FALSE(through);
  EXPECT_NE(through.error().message.find("reparse point"), std::string::npos) << through.error().message;
  // An executable hidden in a named stream starts with MZ.
  auto readme = v.OpenStream(*v.Lookup("/readme.txt"), "payload.exe");
  ASSERT_TRUE(readme);
  std::vector<std::byte> head(2);
  ASSERT_EQ(*(*readme)->Read(head), 2u);
  EXPECT_EQ(std::memcmp(head.data(), "MZ", 2), 0);
  // The compressed log is flagged (its content against icat: the oracle test).
  auto cbs = v.Lookup("/Windows/Logs/CBS/CBS.log");
  ASSERT_TRUE(cbs);
  auto ce = v.ReadEntry(*cbs);
  ASSERT_TRUE(ce);
  bool compressed = false;
  for (const auto& s : ce->Streams())
    if (s.name.empty()) compressed = s.compressed;
  EXPECT_TRUE(compressed);
}

}  // namespace
}  // namespace trawl
