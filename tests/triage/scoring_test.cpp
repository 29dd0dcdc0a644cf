// SPDX-License-Identifier: Apache-2.0
// Score accumulation against the Loki-RS score.rs unit-test vectors (shared
// docs/windows-formats.md §3, re-computed there) and THOR's level rules.
#include "triage/scoring.h"

#include <gtest/gtest.h>

#include <vector>

namespace trawl::triage {
namespace {

double Combine(std::vector<double> v) { return CombineScores(v); }

TEST(TriageScoring, LokiRsVectors) {
  EXPECT_DOUBLE_EQ(Combine({75}), 75.0);
  EXPECT_NEAR(Combine({70, 70, 70}), 83.9125, 1e-9);
  EXPECT_NEAR(Combine({80, 60, 40}), 87.4, 1e-9);
  EXPECT_NEAR(Combine({70, 0, 50}), 77.5, 1e-9);
  EXPECT_DOUBLE_EQ(Combine({100, 100, 100}), 100.0);
  EXPECT_NEAR(Combine({70, 70, 50, 40, 40}), 84.195859375, 1e-9);
  EXPECT_DOUBLE_EQ(Combine({}), 0.0);
}

TEST(TriageScoring, OrderDoesNotMatter) {
  EXPECT_NEAR(Combine({40, 80, 60}), 87.4, 1e-9);
  EXPECT_NEAR(Combine({40, 50, 70, 40, 70}), 84.195859375, 1e-9);
}

TEST(TriageScoring, NegativeScoresAllowList) {
  EXPECT_NEAR(Combine({75, -30}), 45.0, 1e-9);
  EXPECT_DOUBLE_EQ(Combine({40, -100}), 0.0);  // floored at 0
  EXPECT_DOUBLE_EQ(Combine({-50}), 0.0);
}

TEST(TriageScoring, Levels) {
  EXPECT_EQ(LevelFor(75, 75), "warning");
  EXPECT_EQ(LevelFor(83.9125, 70), "warning");  // high total, low sub-scores: no alert (THOR 8.27.2)
  EXPECT_EQ(LevelFor(87.4, 80), "alert");
  EXPECT_EQ(LevelFor(79.6, 76), "alert");  // rounded total 80
  EXPECT_EQ(LevelFor(79.4, 90), "warning");
  EXPECT_EQ(LevelFor(60, 60), "warning");
  EXPECT_EQ(LevelFor(59.5, 59.5), "warning");
  EXPECT_EQ(LevelFor(40, 40), "notice");
  EXPECT_EQ(LevelFor(39.4, 39.4), "info");
  EXPECT_EQ(LevelFor(0, 0), "info");
}

}  // namespace
}  // namespace trawl::triage
