// SPDX-License-Identifier: Apache-2.0
// FileRowWriter (triage/file_writer.h) against the files view's INSTEAD OF
// INSERT trigger, the definition of how a files record is stored: the same
// records, collector-shaped and forged, through TableWriter into two cases,
// one writing the storage tables directly and one through the view, must
// leave every storage table equal row for row, value for value (quote()),
// ids included.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "tests/support/test_env.h"
#include "triage/case_db.h"
#include "triage/ingest_jsonl.h"
#include "triage/record_writer.h"

namespace trawl::triage {
namespace {

using nlohmann::json;

const core::profile::RecordSpec& FilesSpec() {
  for (const auto* spec : core::profile::RecordTables()) {
    if (spec->table == "files") return *spec;
  }
  throw std::runtime_error("no files table");
}

// Every row of `table`, every column quoted, by id.
std::vector<std::string> Dump(Db& db, const std::string& table) {
  std::string cols;
  {
    auto s = db.Prepare(fmt::format("SELECT name FROM pragma_table_info('{}') ORDER BY cid", table));
    EXPECT_TRUE(s);
    while (*s->Step()) cols += (cols.empty() ? "quote(\"" : " || '|' || quote(\"") + s->Text(0) + "\")";
  }
  std::vector<std::string> rows;
  auto s = db.Prepare(fmt::format("SELECT {} FROM {} ORDER BY id", cols, table));
  EXPECT_TRUE(s) << table;
  while (*s->Step()) rows.push_back(s->Text(0));
  return rows;
}

void Fill(Db& db, bool through_view, std::pair<std::uint64_t, std::uint64_t>& counts);

// Collector records of three hosts (shared folders, paths and contents,
// WinSxS-like copies), then forged ones.
std::vector<std::string> Lines() {
  std::vector<std::string> lines;
  for (int host = 1; host <= 3; ++host) {
    for (int i = 0; i < 400; ++i) {
      const std::string dir = i % 3 == 0 ? "C:\\Windows\\System32" : fmt::format("C:\\Windows\\WinSxS\\D{}", i % 11);
      const std::string path = fmt::format("{}\\F{}.dll", dir, i % 150);
      const bool own = i % 97 == host;  // a host's own content now and then
      json r = {{"path", path},
                {"type", "file"},
                {"size", 4096 + i},
                {"mtime", "2024-03-05T10:11:12.123456789Z"},
                {"btime", fmt::format("2023-01-0{}T00:00:00.000000000Z", 1 + i % 9)},
                {"sha256", fmt::format("{:064x}", own ? 100000 * host + i : i % 170)},
                {"md5", fmt::format("{:032x}", own ? 100000 * host + i : i % 170)},
                {"entropy", 5.5 + (i % 170) / 100.0},
                {"is_pe", true},
                {"pe_signed", i % 2 == 0},
                {"pe_signer", i % 2 == 0 ? "Microsoft Windows" : ""},
                {"pe_timestamp", 1700000000 + i % 170},
                {"status", "ok"},
                {"artifact", i % 5 == 0 ? "windows.system.dlls" : "windows.apps.sweep"},
                {"source_path", i % 7 == 0 ? "\\\\?\\" + path : path}};
      if (i % 13 == 0) r.erase("sha256");
      if (i % 17 == 0) r["owner"] = "BUILTIN\\Administrators";  // undeclared: extra
      lines.push_back(r.dump() + "\t" + std::to_string(host));
    }
  }
  // Forged: every value where another type belongs, and the odd value.
  const char* forged[] = {
      R"({"path":5,"type":"file"})",
      R"({"path":null,"sha256":"ab"})",
      R"({"type":"file","sha256":"cd"})",
      R"({"path":"C:\\x\\a.dll","entropy":7})",
      R"({"path":"C:\\x\\b.dll","sha256":12345})",
      R"({"path":"C:\\x\\c.dll","mtime":1700000000})",
      R"({"path":"C:\\x\\d.dll","mtime":"2024-02-30T00:00:00.000000000Z","btime":"2024-02-03T00:00:00.1234567Z"})",
      R"({"path":"C:\\x\\e.dll","source_path":7})",
      R"({"path":"C:\\x\\f.dll","artifact":9})",
      R"({"path":"C:\\x\\nul\u0000.dll","sha256":"a\u0000b"})",
      R"({"path":"C:\\x\\g.dll","size":18446744073709551615})",
      R"({"path":"C:\\x\\h.dll","pe_signer":{"nested":[1,2]}})",
      R"({"path":"C:\\x\\i.dll","path":"C:\\x\\j.dll","is_pe":"yes"})",
      R"({"path":"C:\\x\\k.dll","entropy":-0.0,"sha256":"00"})",
      R"({"path":"C:\\x\\l.dll","entropy":0.0,"sha256":"00"})",
      R"({"path":"C:\\x\\m.dll","source_path":"C:\\x\\m.dll","mtime":null})",
      R"({"path":"C:\\x\\n.dll","pe_timestamp":1.5})",
      R"({"path":"C:\\x\\o.dll","pe_timestamp":"1700000000"})",
  };
  for (const char* f : forged) lines.push_back(std::string(f) + "\t2");
  return lines;
}

void Fill(Db& db, bool through_view, std::pair<std::uint64_t, std::uint64_t>& counts) {
  ASSERT_TRUE(db.Exec("BEGIN"));
  for (int host = 1; host <= 3; ++host) {
    ASSERT_TRUE(
        db.Exec(fmt::format("INSERT INTO hosts (id, hostname) VALUES ({0}, 'h{0}'); INSERT INTO collections "
                            "(id, host_id, archive_name, archive_sha256, ingested_at) VALUES ({0}, {0}, "
                            "'a{0}', 's{0}', 'now')",
                            host)));
  }
  auto w = TableWriter::Create(db, FilesSpec(), through_view);
  ASSERT_TRUE(w) << w.error().ToString();
  std::vector<FlatField> fields;
  std::string scratch;
  int n = 0;
  for (const std::string& l : Lines()) {
    const auto tab = l.rfind('\t');
    const std::string line = l.substr(0, tab);
    const std::int64_t host = std::stoll(l.substr(tab + 1));
    // Every other collector record through the DOM path, as a line that
    // is not flat would go.
    if (++n % 2 == 0 && ParseFlatRecord(line, fields, scratch)) {
      ASSERT_TRUE(w->Insert(host, host, fields)) << line;
    } else {
      ASSERT_TRUE(w->Insert(host, host, json::parse(line))) << line;
    }
  }
  ASSERT_TRUE(db.Exec("COMMIT"));
  if (w->files() != nullptr) counts = {w->files()->direct_rows(), w->files()->view_rows()};
}

// Returns the rows FileRowWriter wrote itself and through the view.
std::pair<std::uint64_t, std::uint64_t> Load(Db& db, bool through_view) {
  std::pair<std::uint64_t, std::uint64_t> counts;
  Fill(db, through_view, counts);
  return counts;
}

TEST(TriageFileWriter, WritesWhatTheViewTriggerWrites) {
  test::TempDir dir;
  auto direct = Db::Open(dir / "direct.db", Db::Mode::kReadWriteCreate);
  auto view = Db::Open(dir / "view.db", Db::Mode::kReadWriteCreate);
  ASSERT_TRUE(direct && view);
  const auto [direct_rows, view_rows] = Load(**direct, false);
  // Collector records are written directly, and so are forged ones of the
  // collector's types (odd times, a NUL, a huge size, nested JSON as text,
  // -0.0); the 11 with another type where a path, content fact, time,
  // source_path or artifact belongs go through the view.
  EXPECT_EQ(direct_rows, 1200u + 7u);
  EXPECT_EQ(view_rows, 11u);
  EXPECT_EQ(Load(**view, true), std::make_pair(std::uint64_t{0}, std::uint64_t{0}));
  for (const char* t : {"file_dirs", "file_paths", "file_contents", "file_artifacts", "file_rows"}) {
    const auto a = Dump(**direct, t);
    const auto b = Dump(**view, t);
    EXPECT_EQ(a.size(), b.size()) << t;
    for (std::size_t i = 0; i < std::min(a.size(), b.size()); ++i) {
      if (a[i] != b[i]) {
        ADD_FAILURE() << t << " row " << i << "\n direct: " << a[i] << "\n view:   " << b[i];
        break;
      }
    }
  }
  // Shared parts were shared, times kept as integers, the same path as 0.
  EXPECT_EQ(Dump(**direct, "file_rows").size(), 1218u);
  EXPECT_LT(Dump(**direct, "file_paths").size(), 400u);
  EXPECT_LT(Dump(**direct, "file_contents").size(), 300u);
  auto types = (*direct)->Prepare(
      "SELECT count(*) FROM file_rows WHERE typeof(mtime) = 'integer' AND typeof(source_path) = 'integer'");
  ASSERT_TRUE(types && *types->Step());
  EXPECT_GT(types->Int(0), 900);
}

}  // namespace
}  // namespace trawl::triage
