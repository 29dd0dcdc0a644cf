// SPDX-License-Identifier: Apache-2.0
// Keeps docs/profile-schema.md true to the kind registry: every kind with its
// priority, every parameter with its type and default, every record column
// with its type, and nothing the registry does not have.
#include <gtest/gtest.h>

#include <set>
#include <string>

#include "core/profile/kinds.h"
#include "core/profile/paths.h"
#include "tests/support/test_env.h"

namespace trawl::core::profile {
namespace {

// The text between `heading` and the next heading of level 2 or 3.
std::string Section(const std::string& doc, const std::string& heading) {
  const std::size_t start = doc.find(heading);
  if (start == std::string::npos) return {};
  std::size_t end = doc.find("\n## ", start + heading.size());
  const std::size_t next3 = doc.find("\n### ", start + heading.size());
  if (next3 < end) end = next3;
  return doc.substr(start, end == std::string::npos ? std::string::npos : end - start);
}

// Names in the first column ("| `name` |") of the tables of a section.
std::set<std::string> RowNames(const std::string& section) {
  std::set<std::string> names;
  std::size_t pos = 0;
  while ((pos = section.find("\n| `", pos)) != std::string::npos) {
    pos += 4;
    const std::size_t end = section.find('`', pos);
    if (end == std::string::npos) break;
    names.insert(section.substr(pos, end - pos));
  }
  return names;
}

TEST(ProfileDocsTest, SchemaDocListsEveryKindParameterAndColumn) {
  const std::string doc = test::ReadFile(test::SourceDir() / "docs" / "profile-schema.md");
  ASSERT_FALSE(doc.empty());
  for (const KindSpec& kind : Kinds()) {
    const std::string heading =
        "### Kind `" + std::string(kind.name) + "` (priority " + std::to_string(kind.priority) + ")";
    const std::string section = Section(doc, heading);
    ASSERT_FALSE(section.empty()) << "missing: " << heading;
    std::set<std::string> expected;
    for (const ParamSpec& p : kind.parameters) {
      expected.insert(std::string(p.name));
      const std::string row = "| `" + std::string(p.name) + "` | " + std::string(ParamTypeName(p.type)) + " | `" +
                              (p.default_text.empty() ? std::string("\"\"") : std::string(p.default_text)) + "` | " +
                              (p.required ? "yes" : "no") + " |";
      EXPECT_NE(section.find(row), std::string::npos) << "missing or stale row: " << row;
    }
    EXPECT_EQ(RowNames(section), expected) << kind.name;
    for (const RecordSpec* r : kind.records) {
      EXPECT_NE(section.find("`" + std::string(r->table) + "`"), std::string::npos)
          << kind.name << " does not name its table " << r->table;
    }
  }
  for (const RecordSpec* r : RecordTables()) {
    const std::string section = Section(doc, "### Records: " + std::string(r->table));
    ASSERT_FALSE(section.empty()) << "missing records section " << r->table;
    std::set<std::string> expected;
    for (const ColumnSpec& c : r->columns) {
      expected.insert(std::string(c.name));
      const std::string row = "| `" + std::string(c.name) + "` | " + std::string(ColumnTypeName(c.type)) + " |";
      EXPECT_NE(section.find(row), std::string::npos) << r->table << ": " << row;
    }
    EXPECT_EQ(RowNames(section), expected) << r->table;
  }
  for (std::string_view v : KnownVariables()) {
    EXPECT_NE(doc.find("%" + std::string(v) + "%"), std::string::npos) << v;
  }
}

}  // namespace
}  // namespace trawl::core::profile
