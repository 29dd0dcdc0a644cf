// SPDX-License-Identifier: Apache-2.0
#include "core/archive/zip_writer.h"

#include <gtest/gtest.h>

#include <fstream>
#include <random>

#include "tests/support/test_env.h"

namespace trawl::core::archive {
namespace {

ByteSink FileSink(std::ofstream& out) {
  return [&out](Bytes b) -> Result<void> {
    out.write(reinterpret_cast<const char*>(b.data()), static_cast<std::streamsize>(b.size()));
    if (!out) return Fail(ErrorCode::kIo, "write failed");
    return {};
  };
}

TEST(ZipWriterTest, StandardToolsAcceptTheStream) {
  test::TempDir dir;
  const auto zip_path = dir / "t.zip";
  std::mt19937 rng(1);
  std::string random(300000, '\0');
  for (auto& c : random) c = static_cast<char>(rng());
  {
    std::ofstream out(zip_path, std::ios::binary);
    auto w = ZipWriter::Create(FileSink(out));
    ASSERT_TRUE(w) << w.error().ToString();
    ASSERT_TRUE((*w)->AddEntry("manifest.json", AsBytes("{}"), {}));
    ASSERT_TRUE((*w)->AddEntry("files/C/Users/J\xc3\xbcrgen/\xe7\x9b\xae.dll", AsBytes(random), {}));
    ASSERT_TRUE((*w)->AddEntry("files/x/stored.zip", AsBytes(random), {.compress = false}));
    ASSERT_TRUE((*w)->AddEntry("empty", Bytes(), {}));
    // A streamed entry written in odd pieces.
    ASSERT_TRUE((*w)->BeginEntry("records/files.jsonl", {}));
    for (int i = 0; i < 1000; ++i) ASSERT_TRUE((*w)->Write(AsBytes("{\"a\":1}\n")));
    ASSERT_TRUE((*w)->EndEntry());
    ASSERT_TRUE((*w)->Close());
  }
  auto unzip = test::RunCommand({"unzip", "-t", zip_path.string()});
  EXPECT_EQ(unzip.exit_code, 0) << unzip.out << unzip.err;
  EXPECT_NE(unzip.out.find("No errors detected"), std::string::npos) << unzip.out;
  auto bsdtar = test::RunCommand({"bsdtar", "-tf", zip_path.string()});
  EXPECT_EQ(bsdtar.exit_code, 0) << bsdtar.err;
  EXPECT_NE(bsdtar.out.find("records/files.jsonl"), std::string::npos);
  auto extract = test::RunCommand({"bsdtar", "-xOf", zip_path.string(), "files/x/stored.zip"});
  EXPECT_EQ(extract.out, random);
}

TEST(ZipWriterTest, SinkFailureIsReported) {
  int calls = 0;
  auto w = ZipWriter::Create([&](Bytes) -> Result<void> {
    if (++calls > 1) return Fail(ErrorCode::kIo, "disk full");
    return {};
  });
  ASSERT_TRUE(w);
  std::string big(1 << 20, 'x');
  Result<void> r = (*w)->AddEntry("a", AsBytes(big), {.compress = false});
  if (r) r = (*w)->Close();
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("disk full"), std::string::npos) << r.error().ToString();
}

}  // namespace
}  // namespace trawl::core::archive
