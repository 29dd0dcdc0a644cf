// SPDX-License-Identifier: Apache-2.0
#include "core/profile/kinds.h"

#include <gtest/gtest.h>

#include <set>
#include <string>

#include "core/profile/loader.h"

namespace trawl::core::profile {
namespace {

TEST(KindsTest, RegistryIsSortedAndFindable) {
  ASSERT_FALSE(Kinds().empty());
  int last = -1;
  for (const KindSpec& kind : Kinds()) {
    EXPECT_GE(kind.priority, last) << kind.name;
    last = kind.priority;
    EXPECT_EQ(FindKind(kind.name), &kind);
    EXPECT_FALSE(kind.records.empty()) << kind.name;
  }
  EXPECT_EQ(FindKind("processes")->priority, 0);
  EXPECT_EQ(FindKind("install_dirs")->priority, 1);
  EXPECT_EQ(FindKind("files")->priority, 2);
  EXPECT_EQ(FindKind("nope"), nullptr);
}

TEST(KindsTest, EveryDefaultParsesWithItsOwnType) {
  for (const KindSpec& kind : Kinds()) {
    std::set<std::string_view> names;
    for (const ParamSpec& p : kind.parameters) {
      EXPECT_TRUE(names.insert(p.name).second) << kind.name << "." << p.name << " twice";
      auto v = ParseParamScalar(p, p.default_text);
      EXPECT_TRUE(v.has_value()) << kind.name << "." << p.name << ": " << (v ? "" : v.error().message);
    }
  }
}

TEST(KindsTest, RecordTablesAreUniqueAndColumnsDistinct) {
  std::set<std::string_view> tables;
  for (const RecordSpec* r : RecordTables()) {
    EXPECT_TRUE(tables.insert(r->table).second) << r->table;
    std::set<std::string_view> cols;
    for (const ColumnSpec& c : r->columns) EXPECT_TRUE(cols.insert(c.name).second) << c.name;
    EXPECT_TRUE(cols.contains("artifact")) << r->table;
  }
  // files and install_dirs share one table.
  EXPECT_EQ(FindKind("files")->records[0], FindKind("install_dirs")->records[0]);
  EXPECT_NE(FindRecordTable("modules"), nullptr);
}

}  // namespace
}  // namespace trawl::core::profile
