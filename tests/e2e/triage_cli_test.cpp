// SPDX-License-Identifier: Apache-2.0
// trawl-triage's key, decrypt and verify commands against the real `age` and
// `age-keygen` CLIs: an `age -r` file decrypts with `decrypt --raw`; a key made
// by age-keygen works; a collector archive verifies, then fails after one
// flipped byte; nothing of a failing file is left behind as good output.
#include <gtest/gtest.h>

#include "tests/support/test_env.h"

namespace trawl {
namespace {

std::string Triage() { return (test::BinDir() / "trawl-triage").string(); }

TEST(TriageCliTest, DecryptsWhatTheAgeCliEncryptsWithAnAgeKeygenKey) {
  if (!test::HaveTool("age") || !test::HaveTool("age-keygen")) GTEST_SKIP() << "age CLI not installed";
  test::TempDir dir;
  auto kg = test::RunCommand({"age-keygen", "-o", (dir / "k.txt").string()});
  ASSERT_EQ(kg.exit_code, 0) << kg.err;
  auto pub = test::RunCommand({"age-keygen", "-y", (dir / "k.txt").string()});
  ASSERT_EQ(pub.exit_code, 0);
  std::string recipient = pub.out.substr(0, pub.out.find('\n'));
  std::string payload(200000, '\0');
  for (std::size_t i = 0; i < payload.size(); ++i) payload[i] = static_cast<char>(i * 7 + 3);
  test::WriteFile(dir / "plain.bin", payload);
  auto enc = test::RunCommand({"age", "-r", recipient, "-o", (dir / "x.age").string(), (dir / "plain.bin").string()});
  ASSERT_EQ(enc.exit_code, 0) << enc.err;
  auto dec = test::RunCommand({Triage(), "decrypt", "--raw", "-i", (dir / "k.txt").string(), (dir / "x.age").string(),
                               "-o", (dir / "out.bin").string()});
  ASSERT_EQ(dec.exit_code, 0) << dec.out << dec.err;
  EXPECT_EQ(test::ReadFile(dir / "out.bin"), payload);

  // One flipped payload byte: an authentication error, and no output file.
  std::string bytes = test::ReadFile(dir / "x.age");
  bytes[bytes.size() - 100] = static_cast<char>(bytes[bytes.size() - 100] ^ 0x40);
  test::WriteFile(dir / "bad.age", bytes);
  auto bad = test::RunCommand({Triage(), "decrypt", "--raw", "-i", (dir / "k.txt").string(), (dir / "bad.age").string(),
                               "-o", (dir / "bad.bin").string()});
  EXPECT_NE(bad.exit_code, 0);
  EXPECT_NE(bad.err.find("authentication"), std::string::npos) << bad.err;
  EXPECT_FALSE(std::filesystem::exists(dir / "bad.bin"));
  EXPECT_FALSE(std::filesystem::exists(dir / "bad.bin.partial"));

  // The wrong key says so.
  auto other = test::RunCommand({Triage(), "keygen", "-o", (dir / "other.txt").string()});
  ASSERT_EQ(other.exit_code, 0);
  auto wrong = test::RunCommand({Triage(), "decrypt", "--raw", "-i", (dir / "other.txt").string(),
                                 (dir / "x.age").string(), "-o", (dir / "w.bin").string()});
  EXPECT_NE(wrong.exit_code, 0);
  EXPECT_NE(wrong.err.find("no identity matched"), std::string::npos) << wrong.err;
}

TEST(TriageCliTest, VerifySaysOkThenFailsAfterOneFlippedByte) {
  test::TempDir dir;
  auto kg = test::RunCommand({Triage(), "keygen", "-o", (dir / "k.txt").string()});
  ASSERT_EQ(kg.exit_code, 0) << kg.err;
  const std::string recipient = kg.out.substr(0, kg.out.find('\n'));
  ASSERT_TRUE(recipient.starts_with("age1")) << kg.out;
  // A small offline collection, so the test does not depend on this host.
  test::WriteFile(dir / "vol/etc/hostname", "testhost\n");
  test::WriteFile(dir / "vol/opt/zoom/zoom", "#!/bin/sh\n");
  auto c =
      test::RunCommand({(test::BinDir() / "trawl-collect").string(), "--root", (dir / "vol").string(), "--target-os",
                        "linux", "--recipient", recipient, "--output", (dir / "out").string(), "--quiet"});
  ASSERT_EQ(c.exit_code, 0) << c.out << c.err;
  std::filesystem::path archive;
  for (const auto& e : std::filesystem::directory_iterator(dir / "out")) {
    if (e.path().string().ends_with(".zip.age")) archive = e.path();
  }
  ASSERT_FALSE(archive.empty());
  auto ok = test::RunCommand({Triage(), "verify", "-i", (dir / "k.txt").string(), archive.string()});
  EXPECT_EQ(ok.exit_code, 0) << ok.out << ok.err;
  EXPECT_EQ(ok.out.rfind("OK", 0), 0u) << ok.out;
  // The age CLI agrees, and the zip inside passes unzip -t.
  if (test::HaveTool("age")) {
    auto d = test::RunCommand(
        {"age", "-d", "-i", (dir / "k.txt").string(), "-o", (dir / "c.zip").string(), archive.string()});
    ASSERT_EQ(d.exit_code, 0) << d.err;
    EXPECT_EQ(test::RunCommand({"unzip", "-tq", (dir / "c.zip").string()}).exit_code, 0);
  }
  std::string bytes = test::ReadFile(archive);
  bytes[bytes.size() / 2] = static_cast<char>(bytes[bytes.size() / 2] ^ 0x01);
  test::WriteFile(dir / "flipped.zip.age", bytes);
  auto bad = test::RunCommand({Triage(), "verify", "-i", (dir / "k.txt").string(), (dir / "flipped.zip.age").string()});
  EXPECT_EQ(bad.exit_code, 1) << bad.out;
  EXPECT_EQ(bad.out.rfind("FAIL", 0), 0u) << bad.out;
  EXPECT_NE(bad.out.find("authentication"), std::string::npos) << bad.out;
}

}  // namespace
}  // namespace trawl
