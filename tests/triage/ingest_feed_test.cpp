// SPDX-License-Identifier: Apache-2.0
// WalkArchiveFed (triage/ingest_feed.h) against core::archive::WalkArchive:
// with decryption, inflation, hashing and record parsing moved to a worker
// thread, the caller must see the same members, bytes, parsed lines and
// manifest entries in the same order, and the same report, problems
// included: for a genuine archive, a tampered one, visitors that stop early
// or fail, a line over the limit, an on_entry error and a truncated archive;
// with the default queue and with a one-byte queue (every hand-over waits).
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "core/archive/archive_reader.h"
#include "core/archive/layout.h"
#include "core/hash/multi_hasher.h"
#include "tests/support/test_env.h"
#include "tests/support/zip_builder.h"
#include "triage/ingest_feed.h"

namespace trawl::triage {
namespace {

namespace fs = std::filesystem;
using core::Result;
using nlohmann::json;

// How a visitor behaves, the same on both sides.
struct Behaviour {
  std::string fail_member;       // this member's visitor fails ...
  std::uint64_t fail_after = 0;  // ... after this many lines or chunks read
  core::ErrorCode fail_code = core::ErrorCode::kFormat;
  std::string fail_entry;  // on_entry fails for this archive path
};

std::string Describe(const FlatField& f) { return fmt::format("{}={}", f.key, FlatToJson(f.value).dump()); }

std::string DescribeLine(std::uint64_t line_no, std::string_view raw, bool flat, std::span<const FlatField> fields) {
  std::string s = fmt::format("  line {} [{}] flat={}", line_no, raw, flat);
  for (const FlatField& f : fields) s += " " + Describe(f);
  return s;
}

std::string DescribeReport(const Result<core::archive::VerifyReport>& r) {
  if (!r) return "error: " + r.error().ToString();
  std::string s = fmt::format("ok={} members={} inflated={} content={} manifest={}", r->ok, r->members_checked,
                              r->inflated_bytes, r->content_sha256, r->manifest.has_value());
  for (const auto& p : r->problems) s += fmt::format("\nproblem {}: {}", p.member, p.problem);
  return s;
}

// Reads a raw member in 64 KiB pieces (a visitor reads what it wants).
Result<void> ReadRaw(const core::archive::MemberInfo& m, core::archive::MemberStream& stream, const Behaviour& b,
                     std::vector<std::string>& log) {
  core::Sha256 sha;
  std::uint64_t size = 0, reads = 0;
  std::vector<std::byte> buf(64 << 10);
  while (true) {
    if (m.name == b.fail_member && reads == b.fail_after) {
      log.push_back(fmt::format("  stopped after {} bytes: {}", size, sha.Hex()));
      return core::Fail(b.fail_code, "visitor gave up");
    }
    auto n = stream.Read(buf);
    if (!n) {
      log.push_back("  read error: " + n.error().ToString());
      return std::unexpected(n.error());
    }
    if (*n == 0) break;
    ++reads;
    sha.Update(core::Bytes(buf.data(), *n));
    size += *n;
  }
  log.push_back(fmt::format("  {} bytes {}", size, sha.Hex()));
  return {};
}

Result<void> OnEntry(const core::archive::ManifestEntry& e, std::uint64_t index, const Behaviour& b,
                     std::vector<std::string>& log) {
  log.push_back(fmt::format("entry {} {} {}", index, e.archive_path.value_or("-"), e.sha256.value_or("-")));
  if (e.archive_path && *e.archive_path == b.fail_entry) return core::Fail(core::ErrorCode::kLimit, "entry refused");
  return {};
}

// WalkArchive, with the lines split and parsed on this thread.
std::string Direct(const fs::path& archive, const Behaviour& b, std::size_t max_line) {
  std::vector<std::string> log;
  core::archive::WalkOptions w;
  w.visit = [&](const core::archive::MemberInfo& m, core::archive::MemberStream& stream) -> Result<void> {
    log.push_back("member " + m.name);
    if (!core::archive::RecordTableOf(m.name)) return ReadRaw(m, stream, b, log);
    std::vector<FlatField> fields;
    std::string scratch;
    std::uint64_t seen = 0;
    auto r = ReadLines(m.name, stream, max_line, [&](std::string_view line, std::uint64_t no) -> Result<void> {
      if (m.name == b.fail_member && seen == b.fail_after) return core::Fail(b.fail_code, "visitor gave up");
      ++seen;
      const bool flat = ParseFlatRecord(line, fields, scratch);
      log.push_back(
          DescribeLine(no, line, flat, flat ? std::span<const FlatField>(fields) : std::span<const FlatField>()));
      return {};
    });
    if (!r) log.push_back("  error: " + r.error().ToString());
    return r;
  };
  w.on_entry = [&](const core::archive::ManifestEntry& e, std::uint64_t i) { return OnEntry(e, i, b, log); };
  auto report = core::archive::WalkArchive(archive, {}, w);
  std::string out;
  for (const auto& l : log) out += l + "\n";
  return out + DescribeReport(report);
}

// WalkArchiveFed, as ingest uses it.
std::string Fed(const fs::path& archive, const Behaviour& b, std::size_t max_line, std::size_t queue_bytes) {
  std::vector<std::string> log;
  FeedOptions f;
  f.max_line = max_line;
  f.queue_bytes = queue_bytes;
  f.is_records = [](std::string_view name) { return core::archive::RecordTableOf(name).has_value(); };
  f.records = [&](const core::archive::MemberInfo& m, LineSource& lines) -> Result<void> {
    log.push_back("member " + m.name);
    std::uint64_t seen = 0;
    while (true) {
      if (m.name == b.fail_member && seen == b.fail_after) {
        log.push_back("  error: " + core::Error{b.fail_code, "visitor gave up"}.ToString());
        return core::Fail(b.fail_code, "visitor gave up");
      }
      auto next = lines.Next();
      if (!next) {
        log.push_back("  error: " + next.error().ToString());
        return std::unexpected(next.error());
      }
      if (*next == nullptr) return {};
      ++seen;
      const FedLine& l = **next;
      log.push_back(DescribeLine(l.line_no, l.raw, l.flat, l.fields));
    }
  };
  f.visit = [&](const core::archive::MemberInfo& m, core::archive::MemberStream& stream) -> Result<void> {
    log.push_back("member " + m.name);
    return ReadRaw(m, stream, b, log);
  };
  f.on_entry = [&](const core::archive::ManifestEntry& e, std::uint64_t i) { return OnEntry(e, i, b, log); };
  auto report = WalkArchiveFed(archive, {}, f);
  std::string out;
  for (const auto& l : log) out += l + "\n";
  return out + DescribeReport(report);
}

class IngestFeed : public ::testing::Test {
 protected:
  // Records with escapes, duplicate keys, a nested value (not flat), blank
  // and CRLF lines, enough of them for many batches; a raw member of many
  // chunks; a member whose bytes differ from the manifest's hash.
  fs::path Build(bool tamper, std::string_view long_line = {}) {
    std::string files;
    for (int i = 0; i < 9000; ++i) {
      files += fmt::format(R"({{"path":"C:\\Windows\\System32\\f{}.dll","size":{},"sha256":"{:064x}","mode":{}}})", i,
                           i * 7, i, i % 3 == 0 ? "null" : "420");
      files += i % 1000 == 5 ? "\r\n\n" : "\n";
    }
    files += R"({"path":"caf\u00e9\\\"q\"","path":"dup","n":-1.5e3,"t":true})"
             "\n";
    files += R"({"path":"x","nested":{"a":[1,2]}})"
             "\n";
    files += std::string(long_line) + "\n";
    files += R"({"path":"last"})";  // no final line break
    const std::string procs = R"({"pid":4,"exe":"C:\\Windows\\System32\\ntoskrnl.exe"})"
                              "\n";
    std::string blob;
    for (int i = 0; i < (3 << 20) / 16; ++i) blob += fmt::format("{:015x}\n", i * 2654435761u);
    const std::string log = R"({"level":"info","event":"start"})"
                            "\n";
    json entries = json::array(
        {test::MemberEntry("records/files.0001.jsonl", files), test::MemberEntry("records/processes.0001.jsonl", procs),
         test::MemberEntry("files/C/blob.bin", blob), test::MemberEntry("collection.log.jsonl", log)});
    if (tamper) blob[100] ^= 1;
    const fs::path path = dir_ / (tamper ? "tampered.zip" : "genuine.zip");
    test::ZipBuilder()
        .Add("records/files.0001.jsonl", files)
        .Add("records/processes.0001.jsonl", procs)
        .Add("files/C/blob.bin", blob)
        .Add("collection.log.jsonl", log)
        .Add("manifest.json", test::ManifestText(entries))
        .WriteTo(path);
    return path;
  }

  void ExpectSame(const fs::path& archive, const Behaviour& b, std::size_t max_line = 64u << 20) {
    const std::string direct = Direct(archive, b, max_line);
    EXPECT_EQ(Fed(archive, b, max_line, kFeedQueueBytes), direct);
    EXPECT_EQ(Fed(archive, b, max_line, 1), direct);
  }

  test::TempDir dir_;
};

TEST_F(IngestFeed, GenuineArchiveSeenAsWalkArchiveSeesIt) {
  const fs::path archive = Build(false);
  const std::string direct = Direct(archive, {}, 64u << 20);
  // The walk saw what was built: every line, the escapes unescaped, the report clean.
  EXPECT_NE(direct.find("line 9000 "), std::string::npos);
  EXPECT_NE(direct.find("  line 9010 [{\"path\":\"caf\\u00e9"), std::string::npos);
  EXPECT_NE(direct.find("flat=true path=\"caf\u00e9\\\\\\\"q\\\"\" path=\"dup\" n=-1500.0 t=true"), std::string::npos);
  EXPECT_NE(direct.find("flat=false"), std::string::npos);
  EXPECT_NE(direct.find("ok=true"), std::string::npos) << direct.substr(direct.size() - 500);
  ExpectSame(archive, {});
}

TEST_F(IngestFeed, TamperedMemberIsTheSameProblem) {
  const fs::path archive = Build(true);
  const std::string direct = Direct(archive, {}, 64u << 20);
  EXPECT_NE(direct.find("problem files/C/blob.bin: SHA-256"), std::string::npos) << direct.substr(direct.size() - 500);
  ExpectSame(archive, {});
}

TEST_F(IngestFeed, VisitorsThatStopEarlyOrFail) {
  const fs::path archive = Build(false);
  // A raw member left after one read, and a record member after 5,000 lines
  // (the worker has read ahead): the same problem, the rest drained and hashed.
  ExpectSame(archive, {"files/C/blob.bin", 1, core::ErrorCode::kFormat, ""});
  ExpectSame(archive, {"records/files.0001.jsonl", 5000, core::ErrorCode::kLimit, ""});
  ExpectSame(archive, {"records/files.0001.jsonl", 0, core::ErrorCode::kFormat, ""});
  // An error that ends the walk ends it the same way.
  ExpectSame(archive, {"records/files.0001.jsonl", 100, core::ErrorCode::kAuthentication, ""});
}

TEST_F(IngestFeed, LineOverTheLimitAfterTheLinesBeforeIt) {
  const fs::path archive = Build(false, std::string(5000, 'x'));
  const std::string direct = Direct(archive, {}, 4096);
  EXPECT_NE(direct.find("line 9012: longer than 4096 bytes"), std::string::npos) << direct.substr(direct.size() - 800);
  ExpectSame(archive, {}, 4096);
}

TEST_F(IngestFeed, EntryErrorNeverVerifies) {
  const fs::path archive = Build(false);
  // Refused at the first entry: the manifest parse sees it at the next one.
  const std::string fed = Fed(archive, {"", 0, core::ErrorCode::kFormat, "records/files.0001.jsonl"}, 64u << 20, 1);
  EXPECT_NE(fed.find("ok=false"), std::string::npos) << fed.substr(fed.size() - 500);
  EXPECT_NE(fed.find("entry refused"), std::string::npos) << fed.substr(fed.size() - 500);
  // Refused at the last entry: no parse follows; still a problem of manifest.json.
  const std::string last = Fed(archive, {"", 0, core::ErrorCode::kFormat, "collection.log.jsonl"}, 64u << 20, 1);
  EXPECT_NE(last.find("ok=false"), std::string::npos) << last.substr(last.size() - 500);
  EXPECT_NE(last.find("problem manifest.json: limit reached: entry refused"), std::string::npos)
      << last.substr(last.size() - 500);
}

TEST_F(IngestFeed, TruncatedArchive) {
  const fs::path archive = Build(false);
  std::ifstream in(archive, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  const std::string bytes = ss.str();
  ASSERT_GT(bytes.size(), 100000u);
  for (const double cut : {0.3, 0.6, 0.97}) {
    const fs::path cut_path = dir_ / fmt::format("cut{}.zip", cut);
    std::ofstream(cut_path, std::ios::binary)
        << bytes.substr(0, static_cast<std::size_t>(static_cast<double>(bytes.size()) * cut));
    ExpectSame(cut_path, {});
  }
}

}  // namespace
}  // namespace trawl::triage
