// SPDX-License-Identifier: Apache-2.0
#include "core/hash/multi_hasher.h"

#include <gtest/gtest.h>

#include <random>

#include "tests/support/test_env.h"

namespace trawl::core {
namespace {

TEST(MultiHasherTest, KnownVectors) {
  MultiHasher h;
  h.Update(AsBytes("abc"));
  Digests d = h.Finish();
  EXPECT_EQ(d.md5, "900150983cd24fb0d6963f7d28e17f72");
  EXPECT_EQ(d.sha1, "a9993e364706816aba3e25717850c26c9cd0d89d");
  EXPECT_EQ(d.sha256, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(d.size, 3u);
}

TEST(MultiHasherTest, MatchesCoreutilsOnChunkedRandomData) {
  test::TempDir dir;
  std::mt19937 rng(42);
  std::string data(3 * 1024 * 1024 + 17, '\0');
  for (auto& c : data) c = static_cast<char>(rng());
  test::WriteFile(dir / "f", data);
  MultiHasher h;
  for (std::size_t off = 0; off < data.size(); off += 65521) {
    h.Update(AsBytes(std::string_view(data).substr(off, 65521)));
  }
  Digests d = h.Finish();
  for (auto [tool, want] : {std::pair{"md5sum", d.md5}, {"sha1sum", d.sha1}, {"sha256sum", d.sha256}}) {
    auto r = test::RunCommand({tool, (dir / "f").string()});
    ASSERT_EQ(r.exit_code, 0) << tool;
    EXPECT_EQ(r.out.substr(0, want.size()), want) << tool;
  }
  EXPECT_GT(d.entropy, 7.99);
}

TEST(EntropyTest, Extremes) {
  EntropyCounter zero;
  zero.Update(AsBytes(std::string(1000, 'A')));
  EXPECT_DOUBLE_EQ(zero.Entropy(), 0.0);
  std::string all;
  for (int i = 0; i < 256; ++i) all.push_back(static_cast<char>(i));
  EntropyCounter uniform;
  uniform.Update(AsBytes(all));
  EXPECT_DOUBLE_EQ(uniform.Entropy(), 8.0);
  std::string two = std::string(500, 'a') + std::string(500, 'b');
  EntropyCounter half;
  half.Update(AsBytes(two));
  EXPECT_DOUBLE_EQ(half.Entropy(), 1.0);
}

}  // namespace
}  // namespace trawl::core
