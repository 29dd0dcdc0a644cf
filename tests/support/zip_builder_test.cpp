// SPDX-License-Identifier: Apache-2.0
// The hostile-archive fixtures are only as good as the zips ZipBuilder lays
// out: members must read back as written, and Info-ZIP must agree on names,
// methods and the symlink bit.
#include "tests/support/zip_builder.h"

#include <gtest/gtest.h>

#include <random>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "core/archive/archive_reader.h"
#include "tests/support/test_env.h"

namespace trawl::test {
namespace {

std::string RandomBytes(std::size_t n) {
  std::mt19937 rng(3);
  std::string s(n, '\0');
  for (auto& c : s) c = static_cast<char>(rng());
  return s;
}

ZipBuilder Sample() {
  ZipBuilder zip;
  zip.Add("a/deflated.txt", std::string(100000, 'z'))
      .Add("a/stored.bin", RandomBytes(70000), false)
      .Add("empty", "")
      .AddSymlink("link", "a/deflated.txt")
      .Add("a/deflated.txt", "again");
  return zip;
}

TEST(ZipBuilderTest, LayoutIsWhatTheAppNoteSays) {
  const std::string zip = Sample().Build();
  EXPECT_EQ(zip.substr(0, 4), std::string("PK\x03\x04", 4));
  // End record: 22 bytes, no comment; five entries on this disk and in all.
  ASSERT_GT(zip.size(), 22u);
  const std::string end = zip.substr(zip.size() - 22);
  EXPECT_EQ(end.substr(0, 4), std::string("PK\x05\x06", 4));
  EXPECT_EQ(end.substr(8, 4), std::string("\x05\x00\x05\x00", 4));
  // 100000 'z' deflate to a few hundred bytes; the random member is stored.
  EXPECT_LT(zip.size(), 70000u + 2000u);
  EXPECT_GT(zip.size(), 70000u);
}

TEST(ZipBuilderTest, ReaderSeesMembersAsWritten) {
  TempDir dir;
  Sample().WriteTo(dir / "s.zip");
  auto reader = core::archive::ArchiveReader::Open(dir / "s.zip", {});
  ASSERT_TRUE(reader) << reader.error().ToString();
  std::vector<std::pair<std::string, std::string>> got;
  while (true) {
    auto next = (*reader)->Next();
    ASSERT_TRUE(next) << next.error().ToString();
    if (!*next) break;
    auto data = (*reader)->ReadAll(1u << 20);
    ASSERT_TRUE(data) << data.error().ToString();
    got.emplace_back((*next)->name, *data);
  }
  const std::vector<std::pair<std::string, std::string>> want = {
      {"a/deflated.txt", std::string(100000, 'z')},
      {"a/stored.bin", RandomBytes(70000)},
      {"empty", ""},
      {"link", "a/deflated.txt"},  // streamed: the link bit is in the central directory only
      {"a/deflated.txt", "again"}};
  EXPECT_EQ(got, want);
}

// Oracle (tests/win64_skip.txt): Info-ZIP tests every CRC and shows the modes.
TEST(ZipBuilderTest, InfoZipAgrees) {
  TempDir dir;
  Sample().WriteTo(dir / "s.zip");
  auto test = RunCommand({"unzip", "-t", (dir / "s.zip").string()});
  EXPECT_EQ(test.exit_code, 0) << test.out << test.err;
  EXPECT_NE(test.out.find("No errors detected"), std::string::npos) << test.out;
  auto info = RunCommand({"zipinfo", (dir / "s.zip").string()});
  ASSERT_EQ(info.exit_code, 0) << info.err;
  // One line per member: mode, version, system, size, type, method, date,
  // time, name ("-rw-r--r--  2.0 unx  100000 b- defN 80-Jan-01 00:00 a/x").
  std::vector<std::vector<std::string>> rows;
  std::istringstream lines(info.out);
  for (std::string line; std::getline(lines, line);) {
    std::istringstream fields(line);
    std::vector<std::string> row;
    for (std::string f; fields >> f;) row.push_back(f);
    if (row.size() == 9 && row[2] == "unx") rows.push_back({row[0], row[3], row[5], row[8]});
  }
  const std::vector<std::vector<std::string>> want = {{"-rw-r--r--", "100000", "defN", "a/deflated.txt"},
                                                      {"-rw-r--r--", "70000", "stor", "a/stored.bin"},
                                                      {"-rw-r--r--", "0", "defN", "empty"},
                                                      {"lrwxrwxrwx", "14", "stor", "link"},
                                                      {"-rw-r--r--", "5", "defN", "a/deflated.txt"}};
  EXPECT_EQ(rows, want) << info.out;
}

}  // namespace
}  // namespace trawl::test
