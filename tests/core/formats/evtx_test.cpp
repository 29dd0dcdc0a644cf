// SPDX-License-Identifier: Apache-2.0
// The EVTX reader on logs laid out byte by byte here (a file header, one
// chunk, a record whose template uses every value type the renderer knows,
// optional NULL substitutions, a string array, entity references, a nested
// binary XML value), on damaged copies of them (CRCs, signatures, record
// sizes, slack), on every prefix and on random corruption of them and of a
// real log: always a clear error or records with their problems named,
// never a crash. The real logs are compared with python-evtx and libevtx in
// evtx_oracle_posix_test.cpp.
#include "core/formats/evtx.h"

#include <gtest/gtest.h>

#include <cstring>
#include <filesystem>
#include <random>
#include <string>
#include <vector>

#include "core/formats/partition.h"  // Crc32
#include "core/util/read_at.h"
#include "core/util/text.h"
#include "core/util/time.h"
#include "tests/support/test_env.h"

namespace trawl {
namespace {

namespace evtx = core::formats::evtx;

void Put16(std::string& b, std::size_t at, std::uint16_t v) {
  b[at] = static_cast<char>(v & 0xFF);
  b[at + 1] = static_cast<char>(v >> 8);
}
void Put32(std::string& b, std::size_t at, std::uint32_t v) {
  for (int i = 0; i < 4; ++i) b[at + static_cast<std::size_t>(i)] = static_cast<char>((v >> (8 * i)) & 0xFF);
}
void Put64(std::string& b, std::size_t at, std::uint64_t v) {
  for (int i = 0; i < 8; ++i) b[at + static_cast<std::size_t>(i)] = static_cast<char>((v >> (8 * i)) & 0xFF);
}
std::uint32_t Crc(const std::string& b, std::size_t at, std::size_t n) {
  return core::formats::Crc32(core::AsBytes(std::string_view(b).substr(at, n)));
}

// Appends binary XML to a chunk being built; names are written inline (the
// offset field points right after itself), as Windows does the first time.
class Bx {
 public:
  explicit Bx(std::string& chunk) : b_(chunk) {}
  void U8(std::uint8_t v) { b_.push_back(static_cast<char>(v)); }
  void U16(std::uint16_t v) {
    U8(static_cast<std::uint8_t>(v & 0xFF));
    U8(static_cast<std::uint8_t>(v >> 8));
  }
  void U32(std::uint32_t v) {
    U16(static_cast<std::uint16_t>(v & 0xFFFF));
    U16(static_cast<std::uint16_t>(v >> 16));
  }
  void Utf16(std::string_view s) { b_ += core::Utf8ToUtf16Le(s); }
  void Name(std::string_view s) {
    U32(static_cast<std::uint32_t>(b_.size() + 4));
    U32(0);  // next name in the hash chain
    U16(0);  // hash (not checked)
    U16(static_cast<std::uint16_t>(s.size()));
    Utf16(s);
    U16(0);
  }
  // in_template: element starts carry a dependency identifier there only.
  void Open(std::string_view name, bool attrs, bool in_template = true) {
    U8(attrs ? 0x41 : 0x01);
    if (in_template) U16(0xFFFF);
    U32(0);  // data size (not needed to read)
    Name(name);
    if (attrs) U32(0);  // attribute list size
  }
  void Attr(std::string_view name, bool more) {
    U8(more ? 0x46 : 0x06);
    Name(name);
  }
  void Text(std::string_view s) {
    U8(0x05);
    U8(0x01);
    U16(static_cast<std::uint16_t>(s.size()));
    Utf16(s);
  }
  void Sub(std::uint16_t index, std::uint8_t type, bool optional = false) {
    U8(optional ? 0x0E : 0x0D);
    U16(index);
    U8(type);
  }
  void CloseStart() { U8(0x02); }
  void CloseEmpty() { U8(0x03); }
  void End() { U8(0x04); }
  // <name>%index</name>
  void Leaf(std::string_view name, std::uint16_t index, std::uint8_t type, bool optional = false) {
    Open(name, false);
    CloseStart();
    Sub(index, type, optional);
    End();
  }
  // <Data Name="name">%index</Data>
  void Data(std::string_view name, std::uint16_t index, std::uint8_t type, bool optional = false) {
    Open("Data", true);
    Attr("Name", false);
    Text(name);
    CloseStart();
    Sub(index, type, optional);
    End();
  }
  std::size_t size() const { return b_.size(); }

 private:
  std::string& b_;
};

std::string Le(std::uint64_t v, int n) {
  std::string s;
  for (int i = 0; i < n; ++i) s.push_back(static_cast<char>((v >> (8 * i)) & 0xFF));
  return s;
}
std::string U16le(std::string_view s) { return core::Utf8ToUtf16Le(s); }

constexpr std::uint64_t kWritten = 132000000000000000ull;  // 2019-04-14T...
constexpr std::uint32_t kTemplateId = 0x11223344;

// A record (at chunk offset `at`) whose template is defined inline.
std::string Record(std::size_t at, std::uint64_t id) {
  std::string chunk(at, '\0');  // positions are chunk offsets
  Bx x(chunk);
  x.U32(0x00002a2a);
  x.U32(0);  // size, patched
  chunk += Le(id, 8);
  chunk += Le(kWritten, 8);
  x.U8(0x0F), x.U8(1), x.U8(1), x.U8(0);
  x.U8(0x0C), x.U8(1), x.U32(kTemplateId);
  x.U32(static_cast<std::uint32_t>(chunk.size() + 4));  // definition follows
  const std::size_t def = chunk.size();
  x.U32(0);
  chunk += Le(kTemplateId, 4) + std::string(12, '\x5a');  // GUID
  x.U32(0);                                               // data size, patched
  const std::size_t data = chunk.size();
  x.U8(0x0F), x.U8(1), x.U8(1), x.U8(0);
  x.Open("Event", true);
  x.Attr("xmlns", false);
  x.Text("http://schemas.microsoft.com/win/2004/08/events/event");
  x.CloseStart();
  x.Open("System", false);
  x.CloseStart();
  x.Open("Provider", true);
  x.Attr("Name", false);
  x.Sub(0, 0x01, true);
  x.CloseEmpty();
  x.Open("EventID", true);
  x.Attr("Qualifiers", false);
  x.Sub(1, 0x06, true);
  x.CloseStart();
  x.Sub(2, 0x06);
  x.End();
  x.Leaf("Level", 3, 0x04);
  x.Leaf("Keywords", 4, 0x15);
  x.Open("TimeCreated", true);
  x.Attr("SystemTime", false);
  x.Sub(5, 0x11, true);
  x.CloseEmpty();
  x.Open("Execution", true);
  x.Attr("ProcessID", true);
  x.Sub(6, 0x08, true);
  x.Attr("ThreadID", false);
  x.Sub(7, 0x08, true);
  x.CloseEmpty();
  x.Leaf("Channel", 8, 0x01);
  x.Leaf("Computer", 9, 0x01);
  x.Open("Security", true);
  x.Attr("UserID", false);
  x.Sub(10, 0x13, true);
  x.CloseEmpty();
  x.End();  // System
  x.Open("EventData", false);
  x.CloseStart();
  x.Data("Guid", 11, 0x0F);
  x.Data("Missing", 12, 0x01, true);  // NULL value: the element is left out
  x.Data("Flag", 13, 0x0D);
  x.Data("Blob", 14, 0x0E);
  x.Open("Data", false);  // a string array: one Data per string
  x.CloseStart();
  x.Sub(15, 0x81);
  x.End();
  x.Open("Data", true);
  x.Attr("Name", false);
  x.Text("Amp");
  x.CloseStart();
  x.Text("a");
  x.U8(0x49);  // entity reference, more data follows
  x.Name("amp");
  x.U8(0x48);  // character reference
  x.U16(0x42);
  x.U8(0x48);  // to half a surrogate pair: U+FFFD
  x.U16(0xD800);
  x.End();
  x.Data("Size", 16, 0x10);
  x.Data("Systime", 17, 0x12);
  x.Data("Ansi", 18, 0x02);
  x.Data("Neg", 19, 0x07);
  x.End();  // EventData
  x.Open("UserData", false);
  x.CloseStart();
  x.Sub(20, 0x21);  // binary XML
  x.End();
  x.End();  // Event
  x.U8(0x00);
  Put32(chunk, def + 20, static_cast<std::uint32_t>(chunk.size() - data));
  // The values.
  std::vector<std::pair<std::uint8_t, std::string>> v;
  v.emplace_back(0x01, U16le("Test-Provider"));
  v.emplace_back(0x00, "");  // Qualifiers: NULL, the attribute is left out
  v.emplace_back(0x06, Le(4624, 2));
  v.emplace_back(0x04, Le(4, 1));
  v.emplace_back(0x15, Le(0x8020000000000000ull, 8));
  v.emplace_back(0x11, Le(kWritten + 1234567, 8));
  v.emplace_back(0x08, Le(508, 4));
  v.emplace_back(0x08, Le(1032, 4));
  v.emplace_back(0x01, U16le("Security") + std::string(2, '\0'));  // a counted NUL is dropped
  v.emplace_back(0x01, U16le("HOST"));
  v.emplace_back(0x13, std::string("\x01\x01\x00\x00\x00\x00\x00\x05\x12\x00\x00\x00", 12));  // S-1-5-18
  v.emplace_back(0x0F, std::string("\x33\x22\x11\x00\x55\x44\x77\x66\x88\x99\xaa\xbb\xcc\xdd\xee\xff", 16));
  v.emplace_back(0x00, "");
  v.emplace_back(0x0D, Le(7, 4));
  v.emplace_back(0x0E, std::string("\xde\xad\x01", 3));
  v.emplace_back(0x81, U16le("one") + std::string(2, '\0') + U16le("two") + std::string(2, '\0'));
  v.emplace_back(0x10, Le(0x3e7, 8));
  v.emplace_back(0x12, Le(2021, 2) + Le(3, 2) + Le(1, 2) + Le(1, 2) + Le(12, 2) + Le(34, 2) + Le(56, 2) + Le(789, 2));
  v.emplace_back(0x02, std::string("caf\xe9\x80", 5));  // Windows-1252
  v.emplace_back(0x07, Le(0xFFFFFFFFu, 4));
  {
    std::string frag(chunk.size(), '\0');  // nested fragment, positioned where it will land
    Bx n(frag);
    n.U8(0x0F), n.U8(1), n.U8(1), n.U8(0);
    n.Open("Foo", true, false);
    n.Attr("a", false);
    n.Text("1");
    n.CloseStart();
    n.Open("Bar", false, false);
    n.CloseStart();
    n.Text("x");
    n.End();
    n.End();
    n.U8(0x00);
    v.emplace_back(0x21, frag.substr(chunk.size()));
  }
  // Count and descriptors, then the values: the nested fragment's names must
  // point at where it lands, so it was built for an offset computed here.
  std::string desc = Le(v.size(), 4);
  std::string values;
  for (const auto& [type, bytes] : v) {
    desc += Le(bytes.size(), 2) + static_cast<char>(type) + '\0';
    values += bytes;
  }
  // Rebuild the nested fragment at its real position.
  const std::size_t nested_at = chunk.size() + desc.size() + values.size() - v.back().second.size();
  {
    std::string frag(nested_at, '\0');
    Bx n(frag);
    n.U8(0x0F), n.U8(1), n.U8(1), n.U8(0);
    n.Open("Foo", true, false);
    n.Attr("a", false);
    n.Text("1");
    n.CloseStart();
    n.Open("Bar", false, false);
    n.CloseStart();
    n.Text("x");
    n.End();
    n.End();
    n.U8(0x00);
    values.replace(values.size() - v.back().second.size(), v.back().second.size(), frag.substr(nested_at));
  }
  chunk += desc + values;
  x.U8(0x00);  // end of the record's fragment
  while ((chunk.size() + 4) % 8 != 0) x.U8(0);
  x.U32(0);  // size copy, patched
  const auto size = static_cast<std::uint32_t>(chunk.size() - at);
  Put32(chunk, at + 4, size);
  Put32(chunk, chunk.size() - 4, size);
  return chunk.substr(at);
}

void SealChunk(std::string& file, std::size_t chunk_at, std::size_t free) {
  std::string& b = file;
  Put32(b, chunk_at + 48, static_cast<std::uint32_t>(free));
  Put32(b, chunk_at + 52, Crc(b, chunk_at + 512, free - 512));
  const std::uint32_t head =
      core::formats::Crc32(core::AsBytes(std::string_view(b).substr(chunk_at + 128, 384)), Crc(b, chunk_at, 120));
  Put32(b, chunk_at + 124, head);
}

// A file header and one chunk holding record 1 (and `slack` after it).
std::string Log(bool slack = false) {
  std::string f(evtx::kFileHeaderSize + evtx::kChunkSize, '\0');
  std::memcpy(f.data(), "ElfFile", 8);
  Put64(f, 24, 2);    // next record identifier
  Put32(f, 32, 128);  // header size
  Put16(f, 36, 1);
  Put16(f, 38, 3);
  Put16(f, 40, 4096);
  Put16(f, 42, 1);
  Put32(f, 124, Crc(f, 0, 120));
  const std::size_t c = evtx::kFileHeaderSize;
  std::memcpy(f.data() + c, "ElfChnk", 8);
  Put64(f, c + 8, 1);
  Put64(f, c + 16, 1);
  Put64(f, c + 24, 1);
  Put64(f, c + 32, 1);
  Put32(f, c + 40, 128);
  Put32(f, c + 44, 512);
  const std::string rec = Record(512, 1);
  f.replace(c + 512, rec.size(), rec);
  if (slack) {
    // An older record past the free space, left from before the chunk was
    // reused, with its own (inline) template definition.
    const std::size_t at = 512 + rec.size() + 64;
    const std::string old = Record(at, 7);
    f.replace(c + at, old.size(), old);
  }
  SealChunk(f, c, 512 + rec.size());
  return f;
}

struct Outcome {
  core::Result<evtx::Stats> stats = evtx::Stats{};
  std::vector<evtx::Record> records;
};

Outcome Read(const std::string& bytes, evtx::Options options = {}) {
  core::MemorySource src(core::AsBytes(bytes), "test.evtx");
  Outcome run;
  options.xml = true;
  run.stats = evtx::ForEachRecord(
      src, [&](const evtx::Record& r) { run.records.push_back(r); }, options);
  return run;
}

std::string FieldsText(const evtx::Record& r) {
  std::string out;
  for (const auto& f : r.fields) out += f.name + "=" + f.value + "\n";
  return out;
}

TEST(Evtx, ReadsEveryValueTypeOfARecord) {
  const Outcome run = Read(Log());
  ASSERT_TRUE(run.stats) << run.stats.error().message;
  ASSERT_EQ(run.records.size(), 1u);
  const evtx::Record& r = run.records[0];
  EXPECT_EQ(r.error, "");
  EXPECT_FALSE(r.recovered);
  EXPECT_EQ(r.record_id, 1u);
  EXPECT_EQ(r.written, kWritten);
  EXPECT_EQ(r.offset, 4096u + 512u);
  EXPECT_EQ(r.provider, "Test-Provider");
  EXPECT_EQ(r.event_id, 4624u);
  EXPECT_EQ(r.qualifiers, 0u);
  EXPECT_EQ(r.level, 4u);
  EXPECT_EQ(r.keywords, 0x8020000000000000ull);
  EXPECT_EQ(r.time_created, core::FiletimeToIso(kWritten + 1234567));
  EXPECT_EQ(r.process_id, 508u);
  EXPECT_EQ(r.thread_id, 1032u);
  EXPECT_EQ(r.channel, "Security");
  EXPECT_EQ(r.computer, "HOST");
  EXPECT_EQ(r.user_sid, "S-1-5-18");
  EXPECT_EQ(FieldsText(r),
            "Guid={00112233-4455-6677-8899-AABBCCDDEEFF}\n"
            "Flag=true\n"
            "Blob=DEAD01\n"
            "Data=one\n"
            "Data=two\n"
            "Amp=a&B\xEF\xBF\xBD\n"
            "Size=0x3e7\n"
            "Systime=2021-03-01T12:34:56.789Z\n"
            "Ansi=caf\xC3\xA9\xE2\x82\xAC\n"
            "Neg=-1\n"
            "Foo@a=1\n"
            "Bar=x\n");
  EXPECT_NE(r.xml.find("<EventID>4624</EventID>"), std::string::npos) << r.xml;  // no Qualifiers=""
  EXPECT_EQ(r.xml.find("Missing"), std::string::npos) << r.xml;
  EXPECT_NE(r.xml.find("<Data Name=\"Amp\">a&amp;B\xEF\xBF\xBD</Data>"), std::string::npos) << r.xml;
  EXPECT_NE(r.xml.find("<Foo a=\"1\">"), std::string::npos) << r.xml;
  EXPECT_EQ(run.stats->records, 1u);
  EXPECT_EQ(run.stats->chunks, 1u);
  EXPECT_EQ(run.stats->chunks_bad, 0u);
  EXPECT_TRUE(run.stats->header.checksum_ok);
  EXPECT_TRUE(run.stats->problems.empty());
}

TEST(Evtx, SlackRecordsAreRecovered) {
  const Outcome run = Read(Log(true));
  ASSERT_TRUE(run.stats) << run.stats.error().message;
  ASSERT_EQ(run.records.size(), 2u);
  EXPECT_FALSE(run.records[0].recovered);
  EXPECT_TRUE(run.records[1].recovered);
  EXPECT_EQ(run.records[1].record_id, 7u);
  EXPECT_EQ(run.records[1].error, "");
  EXPECT_EQ(FieldsText(run.records[1]), FieldsText(run.records[0]));
  EXPECT_EQ(run.stats->records_recovered, 1u);
  EXPECT_EQ(Read(Log(true), {.recover = false}).records.size(), 1u);
}

TEST(Evtx, BadRecordsCrcIsReportedAndItsRecordsKept) {
  std::string f = Log();
  const auto at = f.find(U16le("HOST"));
  ASSERT_NE(at, std::string::npos);
  f[at] = 'G';  // GOST: the records CRC no longer matches
  const Outcome run = Read(f);
  ASSERT_TRUE(run.stats) << run.stats.error().message;
  EXPECT_EQ(run.stats->chunks_bad, 1u);
  ASSERT_EQ(run.records.size(), 1u);
  EXPECT_TRUE(run.records[0].recovered);
  EXPECT_EQ(run.records[0].computer, "GOST");
  ASSERT_FALSE(run.stats->problems.empty());
  EXPECT_NE(run.stats->problems[0].find("event records CRC32"), std::string::npos) << run.stats->problems[0];
  // Not read at all without recovery, but still counted as a bad chunk.
  const Outcome strict = Read(f, {.recover = false});
  EXPECT_TRUE(strict.records.empty());
  EXPECT_EQ(strict.stats->chunks_bad, 1u);
}

TEST(Evtx, BadChunkHeaderCrcAndSignatureAreReported) {
  std::string f = Log();
  f[4096 + 8] = '\x09';  // first record number
  Outcome run = Read(f);
  ASSERT_TRUE(run.stats);
  EXPECT_EQ(run.stats->chunks_bad, 1u);
  EXPECT_NE(run.stats->problems.at(0).find("header CRC32"), std::string::npos) << run.stats->problems[0];
  ASSERT_EQ(run.records.size(), 1u);
  EXPECT_TRUE(run.records[0].recovered);

  f = Log();
  f[4096] = 'X';  // "XlfChnk": records are still found by their signature
  run = Read(f);
  ASSERT_TRUE(run.stats);
  EXPECT_EQ(run.stats->chunks_bad, 1u);
  EXPECT_NE(run.stats->problems.at(0).find("no ElfChnk signature"), std::string::npos);
  ASSERT_EQ(run.records.size(), 1u);
  EXPECT_TRUE(run.records[0].recovered);
  EXPECT_EQ(run.records[0].event_id, 4624u);
}

TEST(Evtx, StaleFileHeaderDoesNotHideChunks) {
  std::string f = Log();
  Put16(f, 42, 0);  // no chunks, says the header; flags: dirty
  Put32(f, 120, evtx::kFlagDirty);
  Put32(f, 124, Crc(f, 0, 120));
  const Outcome run = Read(f);
  ASSERT_TRUE(run.stats);
  EXPECT_TRUE(run.stats->header.dirty());
  EXPECT_EQ(run.records.size(), 1u);
}

TEST(Evtx, BadRecordSizeCopyIsCountedAndTheRestScanned) {
  std::string f = Log(true);
  const std::size_t rec = 4096 + 512;
  const std::uint32_t size = static_cast<std::uint32_t>(static_cast<unsigned char>(f[rec + 4])) |
                             static_cast<std::uint32_t>(static_cast<unsigned char>(f[rec + 5])) << 8;
  Put32(f, rec + size - 4, 0);  // a record still being written: its binary XML is whole
  Outcome run = Read(f);
  ASSERT_TRUE(run.stats);
  ASSERT_EQ(run.records.size(), 2u);
  EXPECT_TRUE(run.records[0].recovered);
  EXPECT_NE(run.records[0].error.find("being written"), std::string::npos) << run.records[0].error;
  EXPECT_EQ(run.records[0].event_id, 4624u);
  EXPECT_EQ(run.stats->records_bad, 0u);

  Put32(f, rec + 4, size - 64);  // now the size cuts the binary XML
  Put32(f, rec + size - 64 - 4, 0);
  run = Read(f);
  ASSERT_TRUE(run.stats);
  EXPECT_EQ(run.stats->records_bad, 1u);
  ASSERT_EQ(run.records.size(), 1u);  // the slack record, found by the scan
  EXPECT_EQ(run.records[0].record_id, 7u);
}

TEST(Evtx, EmptyAndForeignFilesAreClearErrors) {
  Outcome run = Read("");
  ASSERT_FALSE(run.stats);
  EXPECT_NE(run.stats.error().message.find("empty file"), std::string::npos) << run.stats.error().message;

  run = Read(std::string(8192, 'A'));
  ASSERT_FALSE(run.stats);
  EXPECT_EQ(run.stats.error().code, core::ErrorCode::kFormat);
  EXPECT_NE(run.stats.error().message.find("not an EVTX file"), std::string::npos) << run.stats.error().message;

  run = Read(std::string("ElfFile\0", 8));
  ASSERT_FALSE(run.stats);
  EXPECT_NE(run.stats.error().message.find("shorter than the 128-byte EVTX file header"), std::string::npos)
      << run.stats.error().message;

  // A header and nothing else: a log without chunks.
  run = Read(Log().substr(0, 4096));
  ASSERT_TRUE(run.stats) << run.stats.error().message;
  EXPECT_EQ(run.stats->chunks, 0u);
  EXPECT_TRUE(run.records.empty());

  // A damaged file header with chunks after it is read, with the damage said.
  std::string f = Log();
  f[0] = 'X';
  run = Read(f);
  ASSERT_TRUE(run.stats) << run.stats.error().message;
  EXPECT_EQ(run.records.size(), 1u);
  EXPECT_NE(run.stats->problems.at(0).find("no ElfFile signature"), std::string::npos);
}

TEST(Evtx, FormatsEveryValueType) {
  const auto f = [](std::uint8_t type, const std::string& bytes) {
    bool ok = true;
    std::string s = evtx::FormatValue(type, core::AsBytes(bytes), &ok);
    return ok ? s : "<bad>";
  };
  EXPECT_EQ(f(0x00, ""), "");
  EXPECT_EQ(f(0x01, U16le("abc") + std::string(2, '\0')), "abc");
  EXPECT_EQ(f(0x02, "x\x93y"), "x\xE2\x80\x9Cy");
  EXPECT_EQ(f(0x03, "\xff"), "-1");
  EXPECT_EQ(f(0x04, "\xff"), "255");
  EXPECT_EQ(f(0x05, Le(0x8000, 2)), "-32768");
  EXPECT_EQ(f(0x06, Le(0x8000, 2)), "32768");
  EXPECT_EQ(f(0x07, Le(0x80000000u, 4)), "-2147483648");
  EXPECT_EQ(f(0x08, Le(0x80000000u, 4)), "2147483648");
  EXPECT_EQ(f(0x09, Le(~0ull, 8)), "-1");
  EXPECT_EQ(f(0x0a, Le(~0ull, 8)), "18446744073709551615");
  EXPECT_EQ(f(0x0b, Le(0x3fc00000u, 4)), "1.5");
  EXPECT_EQ(f(0x0c, Le(0x3ff8000000000000ull, 8)), "1.5");
  EXPECT_EQ(f(0x0d, Le(0, 4)), "false");
  EXPECT_EQ(f(0x0d, Le(2, 4)), "true");
  EXPECT_EQ(f(0x0e, "\x01\xab"), "01AB");
  EXPECT_EQ(f(0x10, Le(0x10, 4)), "0x10");
  EXPECT_EQ(f(0x11, Le(116444736000000000ull, 8)), "1970-01-01T00:00:00.0000000Z");
  EXPECT_EQ(f(0x13, std::string("\x01\x02\x00\x00\x00\x00\x00\x05\x20\x00\x00\x00\x20\x02\x00\x00", 16)),
            "S-1-5-32-544");
  EXPECT_EQ(f(0x14, Le(0xc000006d, 4)), "0xc000006d");
  EXPECT_EQ(f(0x15, Le(0x3e7, 8)), "0x3e7");
  EXPECT_EQ(f(0x20, Le(0x44, 8)), "0x44");
  // Sizes that do not fit the type, unknown types, short SIDs: not readable.
  EXPECT_EQ(f(0x08, "\x01\x02"), "<bad>");
  EXPECT_EQ(f(0x11, "1234"), "<bad>");
  EXPECT_EQ(f(0x13, std::string("\x01\x05\x00\x00\x00\x00\x00\x05", 8)), "<bad>");
  EXPECT_EQ(f(0x7f, "x"), "<bad>");
}

// Every structural invariant a run must keep, whatever the input.
void CheckRun(const std::string& bytes) {
  std::size_t seen = 0, recovered = 0, with_errors = 0;
  core::MemorySource src(core::AsBytes(bytes), "fuzz.evtx");
  evtx::Options options;
  options.xml = true;
  auto stats = evtx::ForEachRecord(
      src,
      [&](const evtx::Record& r) {
        ++seen;
        recovered += r.recovered;
        with_errors += !r.error.empty();
        ASSERT_TRUE(core::IsValidUtf8(r.xml));
        for (const auto& f : r.fields) ASSERT_TRUE(core::IsValidUtf8(f.name) && core::IsValidUtf8(f.value));
      },
      options);
  if (!stats) {
    EXPECT_FALSE(stats.error().message.empty());
    return;
  }
  EXPECT_EQ(stats->records, seen);
  EXPECT_EQ(stats->records_recovered, recovered);
  EXPECT_EQ(stats->records_with_errors, with_errors);
}

TEST(Evtx, EveryPrefixReadsOrFailsCleanly) {
  const std::string f = Log(true);
  for (std::size_t n = 0; n <= f.size(); n += n < 4096 + 2048 ? 1 : 97) {
    SCOPED_TRACE(n);
    CheckRun(f.substr(0, n));
    if (HasFatalFailure()) return;
  }
}

TEST(Evtx, RandomCorruptionNeverCrashes) {
  const std::string base = Log(true);
  std::mt19937 rng(20240601);
  for (int i = 0; i < 3000; ++i) {
    std::string f = base;
    const int flips = 1 + static_cast<int>(rng() % 8);
    for (int k = 0; k < flips; ++k) {
      // Mostly inside the records, where the binary XML is.
      const std::size_t at = 4096 + 512 + rng() % 2400;
      f[at] = static_cast<char>(rng() & 0xFF);
    }
    SCOPED_TRACE(i);
    CheckRun(f);
    if (HasFatalFailure()) return;
  }
}

TEST(Evtx, DeepNestingIsALimitNotACrash) {
  // A record whose fragment is 200 nested elements (no template).
  std::string f = Log();
  const std::size_t c = 4096;
  std::string chunk = f.substr(c, evtx::kChunkSize);
  chunk.resize(512);
  Bx x(chunk);
  x.U32(0x00002a2a);
  x.U32(0);
  chunk += Le(1, 8) + Le(kWritten, 8);
  x.U8(0x0F), x.U8(1), x.U8(1), x.U8(0);
  for (int i = 0; i < 200; ++i) {
    x.Open("E", false, false);
    x.CloseStart();
  }
  for (int i = 0; i < 200; ++i) x.End();
  x.U8(0);
  while ((chunk.size() + 4) % 8 != 0) x.U8(0);
  x.U32(0);
  const auto size = static_cast<std::uint32_t>(chunk.size() - 512);
  Put32(chunk, 512 + 4, size);
  Put32(chunk, chunk.size() - 4, size);
  chunk.resize(evtx::kChunkSize, '\0');
  f.replace(c, evtx::kChunkSize, chunk);
  SealChunk(f, c, 512 + size);
  const Outcome run = Read(f);
  ASSERT_TRUE(run.stats);
  ASSERT_EQ(run.records.size(), 1u);
  EXPECT_NE(run.records[0].error.find("nests deeper"), std::string::npos) << run.records[0].error;
  EXPECT_EQ(run.stats->records_with_errors, 1u);
}

// A real log (python-evtx's issue_38: one record and 38 in slack).
TEST(Evtx, RealLogPrefixesAndCorruption) {
  const auto path = test::SharedTestdata() / "evtx/python-evtx/issue_38.evtx";
  if (!std::filesystem::exists(path)) GTEST_SKIP() << path << " is missing";
  const std::string base = test::ReadFile(path);
  const Outcome run = Read(base);
  ASSERT_TRUE(run.stats) << run.stats.error().message;
  EXPECT_EQ(run.records.size(), 39u);
  EXPECT_EQ(run.stats->records_recovered, 38u);
  for (std::size_t n = 0; n <= base.size(); n += 251) {
    SCOPED_TRACE(n);
    CheckRun(base.substr(0, n));
    if (HasFatalFailure()) return;
  }
  std::mt19937 rng(7);
  for (int i = 0; i < 300; ++i) {
    std::string f = base;
    for (int k = 0; k < 16; ++k) f[4096 + rng() % (base.size() - 4096)] = static_cast<char>(rng() & 0xFF);
    SCOPED_TRACE(i);
    CheckRun(f);
    if (HasFatalFailure()) return;
  }
}

}  // namespace
}  // namespace trawl
