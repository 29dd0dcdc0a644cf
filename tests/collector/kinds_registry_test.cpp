// SPDX-License-Identifier: Apache-2.0
// The collector's kind registry (collector/kinds/) and the profile schema's
// kind declarations (core/profile/kinds.cpp) name the same kinds: a kind
// declared but not run would make profiles validate and then collect
// nothing; a kind run but not declared could never be named in a profile.
#include <gtest/gtest.h>

#include <set>
#include <string>

#include "collector/kinds/kinds.h"
#include "core/profile/kinds.h"

namespace trawl::collector {
namespace {

TEST(CollectorKindRegistry, RunsExactlyTheDeclaredKinds) {
  std::set<std::string> declared, run;
  for (const auto& k : core::profile::Kinds()) declared.insert(std::string(k.name));
  for (const auto& k : CollectorKinds()) {
    EXPECT_TRUE(run.insert(std::string(k.name)).second) << "registered twice: " << k.name;
    EXPECT_NE(k.run, nullptr) << k.name;
  }
  EXPECT_EQ(declared, run);
  EXPECT_EQ(FindCollectorKind("no_such_kind"), nullptr);
  ASSERT_NE(FindCollectorKind("install_dirs"), nullptr);
}

}  // namespace
}  // namespace trawl::collector
