// SPDX-License-Identifier: Apache-2.0
// CheckJsonNesting: the bracket-depth scan run before untrusted JSON reaches
// nlohmann::json. The oracle for "what is deep" is nlohmann itself: every
// document accepted here must also survive dump() (which recurses).
#include <gtest/gtest.h>

#include <string>

#include <nlohmann/json.hpp>

#include "core/util/json_depth.h"

namespace trawl::core {
namespace {

std::string Nested(std::size_t depth, char open = '[', char close = ']') {
  return std::string(depth, open) + std::string(depth, close);
}

TEST(JsonDepth, AcceptsOrdinaryDocumentsUpToTheLimit) {
  EXPECT_TRUE(CheckJsonNesting(R"({"a": [1, {"b": [2, 3]}], "c": "x"})", "doc"));
  EXPECT_TRUE(CheckJsonNesting("", "empty"));
  EXPECT_TRUE(CheckJsonNesting(Nested(kMaxJsonNesting), "at limit"));
  const auto j = nlohmann::json::parse(Nested(kMaxJsonNesting));
  EXPECT_EQ(j.dump().size(), 2 * kMaxJsonNesting);
}

TEST(JsonDepth, RejectsOneLevelTooDeepNamingWhatAndWhere) {
  auto r = CheckJsonNesting(Nested(kMaxJsonNesting + 1), "manifest.json");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::kLimit);
  EXPECT_NE(r.error().message.find("manifest.json"), std::string::npos) << r.error().message;
  EXPECT_NE(r.error().message.find("byte offset 128"), std::string::npos) << r.error().message;
  std::string objects;
  for (int i = 0; i < 200; ++i) objects += "{\"a\":";
  EXPECT_FALSE(CheckJsonNesting(objects, "objects"));
}

TEST(JsonDepth, BracketsInsideStringsDoNotCount) {
  const std::string text = "[\"" + std::string(1000, '[') + "\\\"" + std::string(1000, '{') + "\"]";
  EXPECT_TRUE(CheckJsonNesting(text, "strings"));
  // An escaped quote does not end the string early.
  EXPECT_TRUE(CheckJsonNesting(R"(["\"[[[[", 1])", "escaped", 2));
  EXPECT_FALSE(CheckJsonNesting(R"([["\\"[[[]]]]])", "escaped backslash", 2));
}

TEST(JsonDepth, AMillionLevelsAreRejectedQuickly) {
  auto r = CheckJsonNesting(Nested(1000000), "line 1");
  EXPECT_FALSE(r);
}

}  // namespace
}  // namespace trawl::core
