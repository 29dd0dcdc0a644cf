// SPDX-License-Identifier: Apache-2.0
// collector::Record: typed setters against the declared columns, and the
// JSON it writes (read back by nlohmann, as triage reads it).
#include "collector/record.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include <nlohmann/json.hpp>

namespace trawl::collector {
namespace {

using nlohmann::json;

TEST(Record, WritesTypedColumnsAsJson) {
  Record r("files");
  r.SetText("path", "C:\\Program Files\\3CXDesktopApp\\ffmpeg.dll");
  r.SetUInt("size", std::numeric_limits<std::uint64_t>::max());
  r.SetInt("uid", -1);
  r.SetReal("entropy", 3.0);
  r.SetBool("is_pe", true);
  r.SetText("error", "quote \" backslash \\ newline \n tab \t nul " + std::string(1, '\0') + " bell \a");
  EXPECT_TRUE(r.misuse().empty());
  const json j = json::parse(r.Json());
  EXPECT_EQ(j["path"], "C:\\Program Files\\3CXDesktopApp\\ffmpeg.dll");
  EXPECT_EQ(j["size"].get<std::uint64_t>(), std::numeric_limits<std::uint64_t>::max());
  EXPECT_EQ(j["uid"], -1);
  EXPECT_TRUE(j["entropy"].is_number_float());  // a REAL column stays a float
  EXPECT_EQ(j["entropy"], 3.0);
  EXPECT_EQ(j["is_pe"], true);
  EXPECT_EQ(j["error"], "quote \" backslash \\ newline \n tab \t nul " + std::string(1, '\0') + " bell \a");
  EXPECT_FALSE(j.contains("sha256"));  // unset columns are absent, not null
}

TEST(Record, DoublesRoundTripAndNonFiniteIsNull) {
  Record r("files");
  r.SetReal("entropy", 7.999812345678901);
  EXPECT_EQ(json::parse(r.Json())["entropy"].get<double>(), 7.999812345678901);
  r.SetReal("entropy", std::nan(""));
  EXPECT_TRUE(json::parse(r.Json())["entropy"].is_null());
}

TEST(Record, InvalidUtf8IsRepairedWithItsBytesKept) {
  Record r("files");
  r.SetText("path", std::string("/tmp/a\xff\xfe", 8));
  const json j = json::parse(r.Json());
  EXPECT_EQ(j["path_hex"], "2f746d702f61fffe");
  EXPECT_NE(j["path"].get<std::string>().find("\xEF\xBF\xBD"), std::string::npos);  // U+FFFD
  r.SetText("path", "/tmp/ok");                                                     // a later valid value drops the hex
  EXPECT_FALSE(json::parse(r.Json()).contains("path_hex"));
}

TEST(Record, UndeclaredKeysAndWrongTypesAreKeptAndReported) {
  Record r("processes");
  r.SetText("pid", "not a number");  // pid is an int column
  r.SetText("commandline", "typo");  // the column is "cmdline"
  ASSERT_EQ(r.misuse().size(), 2u);
  EXPECT_EQ(r.misuse()[0], "pid: a text value in a int column");
  EXPECT_EQ(r.misuse()[1], "commandline: not a column of processes");
  const json j = json::parse(r.Json());
  EXPECT_EQ(j["commandline"], "typo");  // nothing lost
  EXPECT_EQ(j["pid"], "not a number");
}

TEST(Record, ReadsBackItsText) {
  Record a("files");
  a.SetText("sha256", "ab");
  a.SetText("status", "ok");
  a.SetText("status", "changed");
  a.SetBool("is_pe", true);
  EXPECT_EQ(a.Text("sha256"), "ab");
  EXPECT_EQ(a.Text("status"), "changed");
  EXPECT_EQ(a.Text("is_pe"), "");  // not text
  EXPECT_TRUE(a.Has("is_pe"));
  EXPECT_FALSE(a.Has("md5"));
  EXPECT_THROW(Record("no_such_table"), std::logic_error);
}

}  // namespace
}  // namespace trawl::collector
