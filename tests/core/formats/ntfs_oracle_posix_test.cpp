// SPDX-License-Identifier: Apache-2.0
// trawl's NTFS reader against The Sleuth Kit (Debian sleuthkit: fls, istat,
// icat, through tests/fixtures/ntfs/tsk_oracle.py) on every NTFS image we
// have: the images made here with ntfs-3g (tests/data/ntfs: fragmented,
// sparse, compressed, attribute lists, junctions, hard links, deleted files)
// and the real Windows-made ones in ../shared/testdata/ntfs. For every path
// TSK lists: the same MFT entry, flags, sequence, link count, the four
// $STANDARD_INFORMATION and $FILE_NAME times, every $DATA stream's size and
// SHA-256, the reparse target; and walking the directory tree ourselves finds
// exactly the allocated paths TSK finds.
#include <gtest/gtest.h>

#include <ctime>
#include <functional>
#include <map>
#include <set>
#include <sstream>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "core/formats/ntfs.h"
#include "core/hash/multi_hasher.h"
#include "core/util/read_at.h"
#include "tests/support/disk_images.h"
#include "tests/support/test_env.h"

namespace trawl {
namespace {

namespace ntfs = core::formats::ntfs;
using nlohmann::json;

// istat's rendering of a FILETIME: ISO 8601 with 9 fractional digits. TSK
// 4.11 prints a FILETIME of 0 as 2076-11-29 08:54:34 (a 32-bit wrap).
std::string IsoOf(std::uint64_t ft) {
  if (ft == 0) return "2076-11-29T08:54:34.000000000Z";
  const std::int64_t ns = ntfs::FiletimeToUnixNs(ft);
  std::int64_t secs = ns / 1'000'000'000;
  std::int64_t frac = ns % 1'000'000'000;
  if (frac < 0) {
    frac += 1'000'000'000;
    --secs;
  }
  const std::time_t t = static_cast<std::time_t>(secs);
  std::tm tm{};
  gmtime_r(&t, &tm);
  return fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:09}Z", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
                     tm.tm_hour, tm.tm_min, tm.tm_sec, frac);
}

std::string HashStream(ntfs::StreamReader& r) {
  core::MultiHasher h;
  std::vector<std::byte> buf(1 << 16);
  while (true) {
    auto n = r.Read(buf);
    if (!n) return "error: " + n.error().message;
    if (*n == 0) break;
    h.Update(core::Bytes(buf.data(), *n));
  }
  return h.Finish().sha256;
}

void ExpectTimes(const json& want, const ntfs::Times& got, const std::string& what) {
  EXPECT_EQ(want.value("created", ""), IsoOf(got.created)) << what << " created";
  EXPECT_EQ(want.value("modified", ""), IsoOf(got.modified)) << what << " modified";
  EXPECT_EQ(want.value("mft_modified", ""), IsoOf(got.mft_modified)) << what << " mft_modified";
  EXPECT_EQ(want.value("accessed", ""), IsoOf(got.accessed)) << what << " accessed";
}

struct Image {
  std::string name;
  std::filesystem::path source;
  std::string member;           // inside a .tgz / .zip
  std::uint64_t sector_offset;  // of the NTFS boot sector
  std::size_t paths;            // TSK's paths (named streams folded) on the committed or shared image
};
void PrintTo(const Image& i, std::ostream* os) { *os << i.name; }

class NtfsOracle : public ::testing::TestWithParam<Image> {};

TEST_P(NtfsOracle, AgreesWithTheSleuthKit) {
  const Image& img = GetParam();
  if (!test::HaveTool("fls") || !test::HaveTool("istat") || !test::HaveTool("icat")) {
    GTEST_SKIP() << "The Sleuth Kit (fls, istat, icat) is not installed (dist/install-deps.sh)";
  }
  const auto raw = test::UnpackedImage(img.source, img.member);
  if (raw.empty()) GTEST_SKIP() << img.source << " is missing";
  const auto oracle =
      test::RunCommand({"/usr/bin/python3", (test::SourceDir() / "tests/fixtures/ntfs/tsk_oracle.py").string(),
                        raw.string(), "--offset", std::to_string(img.sector_offset)});
  ASSERT_EQ(oracle.exit_code, 0) << oracle.err;

  auto file = core::OpenFileSource(raw.string());
  ASSERT_TRUE(file) << file.error().message;
  auto part = core::MakeSubSource(**file, img.sector_offset * 512, (*file)->Size() - img.sector_offset * 512);
  ASSERT_TRUE(part);
  auto vol = ntfs::Volume::Open(**part);
  ASSERT_TRUE(vol) << vol.error().message;
  const ntfs::Volume& v = **vol;

  std::set<std::string> tsk_allocated;  // paths of allocated, live entries
  std::size_t checked = 0, deleted_checked = 0, streams_checked = 0;
  std::istringstream lines(oracle.out);
  std::string line;
  while (std::getline(lines, line)) {
    const json o = json::parse(line);
    const std::string path = o.at("path");
    if (o.value("virtual", false) || path.rfind("/$OrphanFiles", 0) == 0 || o.contains("error")) continue;
    const std::uint64_t inode = o.at("inode");
    const bool deleted = o.value("deleted", false);
    const bool allocated = o.value("allocated", false);
    SCOPED_TRACE(fmt::format("{} {} (MFT entry {})", img.name, path, inode));
    if (!deleted && !allocated) continue;  // a name in a freed index block (TSK quirk): not in the live tree
    if (deleted && o.value("realloc", false)) continue;  // the entry now holds another file
    if (!deleted) {
      tsk_allocated.insert(path);
      auto found = v.Lookup(path);
      ASSERT_TRUE(found) << found.error().message;
      EXPECT_EQ(*found, inode);
    }
    auto e = v.ReadEntry(inode);
    ASSERT_TRUE(e) << e.error().message;
    EXPECT_TRUE(e->problems.empty()) << e->problems.front();
    EXPECT_EQ(e->in_use, allocated);
    EXPECT_EQ(e->directory, o.value("directory", false));
    EXPECT_EQ(e->sequence, o.value("seq", 0));
    EXPECT_EQ(e->link_count, o.value("links", 0));
    if (o.contains("si")) ExpectTimes(o["si"], e->si, "$SI");
    if (o.contains("fn")) {
      const json& fn = o["fn"];
      const std::u16string name = ntfs::FromUtf8(fn.value("name", ""));
      const ntfs::FileName* match = nullptr;
      for (const auto& n : e->names) {
        if (n.name == name && n.parent == fn.value("parent", 0ULL)) match = &n;
      }
      ASSERT_NE(match, nullptr) << "no $FILE_NAME " << fn.value("name", "");
      ExpectTimes(fn, match->times, "$FN");
      EXPECT_EQ(match->parent_sequence, fn.value("parent_seq", 0));
    }
    if (o.contains("reparse")) {
      ASSERT_TRUE(e->reparse.has_value());
      EXPECT_EQ(fmt::format("0x{:08x}", e->reparse->tag), o["reparse"].value("tag", ""));
      const std::string print = o["reparse"].value("print", "");
      EXPECT_EQ(e->reparse->target, print.empty() ? o["reparse"].value("substitute", "") : print);
    }
    for (const auto& s : o.value("streams", json::array())) {
      const std::string sname = s.value("name", "");
      if (s.contains("tsk_bytes") || s.value("sha256", json()).is_null()) continue;  // TSK quirks ($BadClus:$Bad)
      auto r = v.OpenStream(*e, sname);
      ASSERT_TRUE(r) << sname << ": " << r.error().message;
      EXPECT_EQ((*r)->size(), s.value("size", 0ULL)) << "stream '" << sname << "'";
      EXPECT_EQ(HashStream(**r), s.value("sha256", "")) << "stream '" << sname << "'";
      ++streams_checked;
    }
    ++checked;
    if (deleted) ++deleted_checked;
  }
  EXPECT_EQ(checked, img.paths);
  EXPECT_GT(streams_checked, 0u);

  // Our own walk of the tree: the same allocated paths, no more, no fewer.
  // Junctions and links are listed but not entered (TSK does not enter them
  // either); "$OrphanFiles" is TSK's invention.
  std::set<std::string> ours;
  std::function<void(std::uint64_t, const std::string&, int)> walk = [&](std::uint64_t dir, const std::string& prefix,
                                                                         int depth) {
    auto list = v.ListDirectory(dir);
    ASSERT_TRUE(list) << prefix << ": " << list.error().message;
    for (const auto& ie : *list) {
      if (ie.entry == dir) continue;  // "."
      const std::string p = prefix + "/" + ntfs::ToUtf8(ie.name.name);
      ours.insert(p);
      auto e = v.ReadEntry(ie.entry);
      ASSERT_TRUE(e) << p << ": " << e.error().message;
      if (e->directory && !e->reparse && depth < 64) walk(ie.entry, p, depth + 1);
    }
  };
  walk(ntfs::kMftEntryRoot, "", 0);
  std::vector<std::string> only_ours, only_tsk;
  for (const auto& p : ours)
    if (!tsk_allocated.count(p)) only_ours.push_back(p);
  for (const auto& p : tsk_allocated)
    if (!ours.count(p)) only_tsk.push_back(p);
  EXPECT_TRUE(only_ours.empty()) << only_ours.size() << " paths only we list, e.g. " << only_ours.front();
  EXPECT_TRUE(only_tsk.empty()) << only_tsk.size() << " paths only TSK lists, e.g. " << only_tsk.front();
  std::printf("[ oracle   ] %s: %zu paths (%zu deleted), %zu streams hashed agree with TSK\n", img.name.c_str(),
              checked, deleted_checked, streams_checked);
}

std::vector<Image> Images() {
  const auto data = test::SourceDir() / "tests/data/ntfs";
  const auto shared = test::SharedTestdata() / "ntfs";
  const auto ms = shared / "msuhanov-ntfs-samples";
  return {
      {"features", data / "features.img.gz", "", 0, 764},
      {"gpt_features", data / "gpt-features.img.gz", "", 4096, 24},
      {"mbr_features", data / "mbr-features.img.gz", "", 2048, 20},
      {"testfs1", shared / "colinfinck-ntfs/testfs1", "", 0, 531},
      {"lastaccess", ms / "ntfs-lastaccess.raw.gz", "", 128, 31},
      {"ramslack_compressed", ms / "ntfs-ramslack.raw.gz", "", 128, 30},
      {"si_vs_fn", ms / "ntfs-si-vs-fn.raw.gz", "", 128, 27},
      {"ptrn", ms / "ntfs-ptrn.raw.gz", "", 128, 32},
      {"win10_64gib", ms / "ntfs.tgz", "ntfs.raw", 2048, 53},
      {"windows_volume", shared / "dfvfs/windows_volume.raw.gz", "", 0, 18},
      {"tiny_windows", shared / "ntfs-forensic/SampleTinyNtfsVolume.zip", "SampleTinyNtfsVolume/partition.dd", 0, 30},
  };
}

INSTANTIATE_TEST_SUITE_P(Images, NtfsOracle, ::testing::ValuesIn(Images()),
                         [](const ::testing::TestParamInfo<Image>& i) { return i.param.name; });

}  // namespace
}  // namespace trawl
