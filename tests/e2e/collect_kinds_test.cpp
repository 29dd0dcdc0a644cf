// SPDX-License-Identifier: Apache-2.0
// Kind parameters that change what is collected, end to end on an offline
// tree (--root): the real binary, a profile written here, the archive read
// back through the verifying reader.
#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/archive/archive_reader.h"
#include "core/crypto/age.h"
#include "tests/support/test_env.h"

namespace trawl {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

// install_dirs' copy_max_total was declared and documented, but nothing read
// it (issue #11): every small file of an install folder was copied however
// many there were.
TEST(CollectKinds, CopyMaxTotalStopsCopyingForThatArtifact) {
  test::TempDir dir;
  const auto root = dir / "volume";
  std::mt19937 rng(11);
  for (int i = 0; i < 8; ++i) {
    std::string data(100 * 1024, '\0');
    for (auto& c : data) c = static_cast<char>(rng());
    test::WriteFile(root / "opt/testapp" / ("blob" + std::to_string(i) + ".bin"), data);
  }
  const auto profiles = dir / "profiles";
  auto write_profile = [&](const std::string& cap) {
    test::WriteFile(profiles / "artifacts/linux/test/testapp.yaml",
                    "name: linux.test.testapp\n"
                    "description: a test install folder\n"
                    "rationale: copy_max_total test\n"
                    "references: [{title: 'kinds test', source: 'tests/e2e/collect_kinds_test.cpp'}]\n"
                    "kind: install_dirs\n"
                    "platforms: [linux]\n"
                    "parameters:\n"
                    "  product: testapp\n"
                    "  paths: ['/opt/testapp']\n"
                    "  copy_small_files_max: 1MiB\n" +
                        (cap.empty() ? std::string() : "  copy_max_total: " + cap + "\n"));
    test::WriteFile(profiles / "capped.yaml",
                    "name: capped\ndescription: one install folder\n"
                    "artifacts:\n  - linux.test.testapp\n");
  };
  auto collect = [&](const std::string& cap) {
    write_profile(cap);
    const auto out = dir / ("out" + cap);
    auto id = core::age::GenerateX25519Identity().value();
    auto r = test::RunCommand({(test::BinDir() / "trawl-collect").string(), "--root", root.string(), "--target-os",
                               "linux", "--profile", (profiles / "capped.yaml").string(), "--recipient",
                               id.ToRecipient().Encode(), "--output", out.string(), "--quiet"});
    EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
    fs::path archive;
    for (const auto& e : fs::directory_iterator(out)) {
      if (e.path().string().ends_with(".zip.age")) archive = e.path();
    }
    int copies = 0;
    auto report = core::archive::WalkArchive(
        archive, {id}, [&](const core::archive::MemberInfo& m, core::archive::MemberStream&) -> core::Result<void> {
          if (m.name.starts_with("files/")) ++copies;
          return {};
        });
    EXPECT_TRUE(report && report->ok);
    json summary;
    if (report && report->manifest) summary = report->manifest->artifacts;
    return std::make_pair(copies, summary.dump());
  };
  const auto [all, uncapped_summary] = collect("");
  EXPECT_EQ(all, 8) << "without a cap every small file is copied";
  const auto [capped, capped_summary] = collect("250KiB");
  // Copying stops once 250 KiB are copied: the third 100 KiB file crosses
  // it; two workers may each have one more in flight.
  EXPECT_GE(capped, 3);
  EXPECT_LE(capped, 4);
  EXPECT_NE(capped_summary.find("copy_max_total"), std::string::npos) << capped_summary;
  EXPECT_EQ(uncapped_summary.find("copy_max_total"), std::string::npos) << uncapped_summary;
}

}  // namespace
}  // namespace trawl
