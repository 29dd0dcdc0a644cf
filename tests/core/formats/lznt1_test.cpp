// SPDX-License-Identifier: Apache-2.0
#include "core/formats/lznt1.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <filesystem>
#include <initializer_list>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include "core/util/file.h"
#include "tests/support/test_env.h"

namespace trawl::core::formats {
namespace {

using ByteVec = std::vector<std::byte>;

ByteVec Hex(std::initializer_list<unsigned> values) {
  ByteVec out;
  for (unsigned v : values) out.push_back(static_cast<std::byte>(v));
  return out;
}

ByteVec Str(std::string_view s) {
  const Bytes b = AsBytes(s);
  return ByteVec(b.begin(), b.end());
}

ByteVec Cat(std::initializer_list<ByteVec> parts) {
  ByteVec out;
  for (const auto& p : parts) out.insert(out.end(), p.begin(), p.end());
  return out;
}

void PutLe16(ByteVec& v, unsigned x) {
  v.push_back(static_cast<std::byte>(x & 0xFF));
  v.push_back(static_cast<std::byte>(x >> 8));
}

// A chunk header: bit 15 = compressed, signature 3 in bits 12-14, data size - 1.
ByteVec Header(bool compressed, std::size_t data_size) {
  ByteVec h;
  PutLe16(h, (compressed ? 0xB000u : 0x3000u) | static_cast<unsigned>(data_size - 1));
  return h;
}

ByteVec Chunk(bool compressed, const ByteVec& data) { return Cat({Header(compressed, data.size()), data}); }

std::string AsString(std::span<const std::byte> b) { return {reinterpret_cast<const char*>(b.data()), b.size()}; }

// Decompresses into a buffer of `cap` bytes and returns what was written.
Result<ByteVec> Decode(const ByteVec& stream, std::size_t cap = 65536) {
  ByteVec out(cap, std::byte{0xEE});
  auto n = DecompressLznt1(stream, out);
  if (!n) return std::unexpected(n.error());
  out.resize(*n);
  return out;
}

// ---------------------------------------------------------------------------
// A test-only greedy LZNT1 compressor, to round-trip data through the
// decoder. It computes the displacement/length split with its own loop
// (grow the displacement field while 2^bits < U) rather than the decoder's
// bit_width formula.

unsigned DisplacementBits(std::size_t u) {
  unsigned bits = 4;
  while ((std::size_t{1} << bits) < u) ++bits;
  return bits;
}

struct CompressOptions {
  // 0: longest match among the newest `chain_depth` candidates. Otherwise
  // every match is exactly 3 bytes, taken from the first occurrence of the
  // 3-byte string in the chunk (so displacements are about as large as the
  // position allows), after `literal_prefix` forced literals per chunk.
  bool far_triples = false;
  std::size_t literal_prefix = 0;
  // When > 0, each match is capped at 3 + (a hash of its position) % spread.
  unsigned cap_spread = 0;
  int chain_depth = 32;
};

struct CompressStats {
  std::array<bool, kLznt1ChunkSize> match_at{};  // a match started at this chunk position
  std::size_t compressed_chunks = 0;
  std::size_t raw_chunks = 0;
};

void CompressChunk(const std::byte* data, std::size_t n, const CompressOptions& opt, CompressStats& stats,
                   ByteVec& out) {
  auto key = [&](std::size_t p) {
    return (static_cast<std::uint32_t>(data[p]) << 16) | (static_cast<std::uint32_t>(data[p + 1]) << 8) |
           static_cast<std::uint32_t>(data[p + 2]);
  };
  auto hash = [&](std::size_t p) { return (key(p) * 2654435761u) >> 20; };  // 12 bits
  std::vector<int> head(4096, -1), prev(n, -1);
  std::vector<int> first_of(4096, -1);  // far_triples: first position of each hash (checked by key)
  auto insert = [&](std::size_t p) {
    if (p + 3 > n) return;
    const auto h = hash(p);
    prev[p] = head[h];
    head[h] = static_cast<int>(p);
    if (first_of[h] < 0) first_of[h] = static_cast<int>(p);
  };

  ByteVec body;
  std::size_t pos = 0;
  while (pos < n) {
    const std::size_t flag_at = body.size();
    body.push_back(std::byte{0});
    unsigned flags = 0;
    for (unsigned token = 0; token < 8 && pos < n; ++token) {
      std::size_t best_len = 0, best_disp = 0;
      const unsigned disp_bits = DisplacementBits(pos);
      const unsigned len_bits = 16 - disp_bits;
      std::size_t max_len = std::min<std::size_t>((std::size_t{1} << len_bits) + 2, n - pos);
      if (opt.cap_spread > 0) max_len = std::min<std::size_t>(max_len, 3 + ((pos * 40503u) >> 4) % opt.cap_spread);
      if (pos >= opt.literal_prefix && pos > 0 && max_len >= 3) {
        if (opt.far_triples) {
          const int f = first_of[hash(pos)];
          if (f >= 0 && key(static_cast<std::size_t>(f)) == key(pos)) {
            best_len = 3;
            best_disp = pos - static_cast<std::size_t>(f);
          }
        } else {
          int depth = 0;
          for (int c = head[hash(pos)]; c >= 0 && depth < opt.chain_depth; c = prev[c], ++depth) {
            const auto cand = static_cast<std::size_t>(c);
            std::size_t len = 0;
            // May run into the bytes being encoded: an overlapping match.
            while (len < max_len && data[cand + len] == data[pos + len]) ++len;
            if (len > best_len) {
              best_len = len;
              best_disp = pos - cand;
            }
          }
        }
      }
      if (best_len >= 3) {
        PutLe16(body, static_cast<unsigned>(((best_disp - 1) << len_bits) | (best_len - 3)));
        flags |= 1u << token;
        stats.match_at[pos] = true;
        for (std::size_t k = 0; k < best_len; ++k) insert(pos + k);
        pos += best_len;
      } else {
        body.push_back(data[pos]);
        insert(pos);
        ++pos;
      }
    }
    body[flag_at] = static_cast<std::byte>(flags);
  }
  if (body.size() < n) {
    ++stats.compressed_chunks;
    const auto c = Chunk(true, body);
    out.insert(out.end(), c.begin(), c.end());
  } else {
    ++stats.raw_chunks;
    const auto h = Header(false, n);
    out.insert(out.end(), h.begin(), h.end());
    out.insert(out.end(), data, data + n);
  }
}

ByteVec Compress(const ByteVec& data, const CompressOptions& opt, CompressStats& stats) {
  ByteVec out;
  for (std::size_t at = 0; at < data.size(); at += kLznt1ChunkSize) {
    CompressChunk(data.data() + at, std::min(kLznt1ChunkSize, data.size() - at), opt, stats, out);
  }
  return out;
}

ByteVec RandomBytes(std::size_t n, unsigned seed) {
  std::mt19937 rng(seed);
  ByteVec out(n);
  for (auto& b : out) b = static_cast<std::byte>(rng() & 0xFF);
  return out;
}

// Random draws from a small alphabet: compressible, with matches everywhere.
ByteVec SmallAlphabet(std::size_t n, unsigned seed, unsigned letters) {
  std::mt19937 rng(seed);
  ByteVec out(n);
  for (auto& b : out) b = static_cast<std::byte>('a' + rng() % letters);
  return out;
}

ByteVec Text(std::size_t n, unsigned seed) {
  static constexpr std::array<std::string_view, 16> kWords = {
      "the",   "volume", "cluster", "record", "attribute", "stream", "index", "journal",
      "chunk", "of",     "and",     "NTFS",   "0x1000",    "\r\n",   "file",  "Windows"};
  std::mt19937 rng(seed);
  std::string s;
  while (s.size() < n) {
    s += kWords[rng() % kWords.size()];
    s += ' ';
  }
  s.resize(n);
  return Str(s);
}

void ExpectRoundTrip(const ByteVec& data, const CompressOptions& opt, CompressStats& stats, const std::string& what) {
  SCOPED_TRACE(what);
  auto stream = Compress(data, opt, stats);
  // The output buffer is exactly the data's size: one byte too many written
  // would be kLimit.
  ByteVec out(data.size());
  auto n = DecompressLznt1(stream, out);
  ASSERT_TRUE(n.has_value()) << n.error().ToString();
  ASSERT_EQ(*n, data.size());
  ASSERT_TRUE(out == data);
  // The same with a zero terminator and trailing garbage.
  stream.insert(stream.end(), {std::byte{0}, std::byte{0}, std::byte{0x41}, std::byte{0xB0}});
  n = DecompressLznt1(stream, out);
  ASSERT_TRUE(n.has_value()) << n.error().ToString();
  EXPECT_EQ(*n, data.size());
}

// ---------------------------------------------------------------------------

TEST(Lznt1, EmptyInputWritesNothing) {
  ByteVec out(16);
  auto n = DecompressLznt1({}, out);
  ASSERT_TRUE(n.has_value());
  EXPECT_EQ(*n, 0u);
  // An empty output buffer is fine too, and so is a lone byte (no header).
  n = DecompressLznt1(Hex({0x42}), {});
  ASSERT_TRUE(n.has_value());
  EXPECT_EQ(*n, 0u);
}

TEST(Lznt1, UncompressedChunkIsCopied) {
  // Header 0x3004: bit 15 clear (stored), signature 3, 4 + 1 = 5 data bytes.
  auto out = Decode(Cat({Hex({0x04, 0x30}), Str("hello")}));
  ASSERT_TRUE(out.has_value()) << out.error().ToString();
  EXPECT_EQ(AsString(*out), "hello");
}

TEST(Lznt1, LiteralsAndOverlappingBackReference) {
  // Header 0xB005: compressed, 6 data bytes. Flag byte 0x08: tokens 0-2 are
  // literals 'a' 'b' 'c', token 3 a back-reference. At U = 3 the word has 4
  // displacement bits and 12 length bits: 0x2006 = displacement 2 + 1 = 3,
  // length 6 + 3 = 9. Copying 9 bytes from 3 back overlaps what it writes:
  // "abc" + "abcabcabc".
  auto out = Decode(Hex({0x05, 0xB0, 0x08, 'a', 'b', 'c', 0x06, 0x20}));
  ASSERT_TRUE(out.has_value()) << out.error().ToString();
  EXPECT_EQ(AsString(*out), "abcabcabcabc");
}

TEST(Lznt1, SpecExampleDecodes) {
  // [MS-XCA] §3.3: 142 bytes (with the terminating NUL) compressed by
  // Windows into one 59-byte chunk, header 0xB038.
  const ByteVec stream = Hex({0x38, 0xb0, 0x88, 0x46, 0x23, 0x20, 0x00, 0x20, 0x47, 0x20, 0x41, 0x00, 0x10, 0xa2, 0x47,
                              0x01, 0xa0, 0x45, 0x20, 0x44, 0x00, 0x08, 0x45, 0x01, 0x50, 0x79, 0x00, 0xc0, 0x45, 0x20,
                              0x05, 0x24, 0x13, 0x88, 0x05, 0xb4, 0x02, 0x4a, 0x44, 0xef, 0x03, 0x58, 0x02, 0x8c, 0x09,
                              0x16, 0x01, 0x48, 0x45, 0x00, 0xbe, 0x00, 0x9e, 0x00, 0x04, 0x01, 0x18, 0x90, 0x00});
  ASSERT_EQ(stream.size(), 59u);
  const std::string expected = std::string(
                                   "F# F# G A A G F# E D D E F# F# E E F# F# G A A G F# E D D E F# E D D E E F# D E F# "
                                   "G F# D E F# G F# E D E A F# F# G A A G F# E D D E F# E D D") +
                               '\0';
  ASSERT_EQ(expected.size(), 142u);
  auto out = Decode(stream);
  ASSERT_TRUE(out.has_value()) << out.error().ToString();
  EXPECT_EQ(AsString(*out), expected);
}

TEST(Lznt1, SplitChangesAfterPosition16) {
  // 16 literals "ABCDEFGHIJKLMNOP" (two flag bytes 0x00), then flag byte
  // 0x05 for: a reference, the literal 'X', a reference.
  // - At U = 16, U - 1 = 15 fits in 4 bits: still 4 displacement bits, 12
  //   length bits. 0xF001 = displacement 15 + 1 = 16, length 1 + 3 = 4:
  //   "ABCD". U = 20.
  // - 'X'. U = 21.
  // - At U = 21, 20 needs 5 bits: 5 displacement bits, 11 length bits.
  //   0xA002 = 1010 0|000 0000 0010: displacement 20 + 1 = 21, length
  //   2 + 3 = 5: "ABCDE". (Read with the old 4/12 split it would be
  //   displacement 11, length 5: "KLMNO".)
  ByteVec data = Cat({Hex({0x00}), Str("ABCDEFGH"), Hex({0x00}), Str("IJKLMNOP"), Hex({0x05, 0x01, 0xF0}), Str("X"),
                      Hex({0x02, 0xA0})});
  auto out = Decode(Chunk(true, data));
  ASSERT_TRUE(out.has_value()) << out.error().ToString();
  EXPECT_EQ(AsString(*out), "ABCDEFGHIJKLMNOPABCDXABCDE");
}

TEST(Lznt1, SplitAtEveryBoundary) {
  // For each U on either side of a change of split (16|17, 32|33, ...,
  // 2048|2049), U literals then one reference back to the chunk's first
  // byte (displacement U). Displacement bits d = 4 while U <= 16, then the
  // bit width of U - 1; the word is ((U - 1) << (16 - d)) | (length - 3).
  // At U = 2^k it is all ones in the d high bits; at U = 2^k + 1 it is
  // 0x8000 (displacement field 2^k, one more bit). A few cases also take
  // the longest length the field allows.
  struct Case {
    std::size_t u;
    unsigned word;
    std::size_t length;
  };
  const Case cases[] = {
      {16, 0xF000, 3},    {17, 0x8000, 3},    {17, 0x87FF, 2050},  // 11 length bits: up to 2047 + 3
      {32, 0xF801, 4},    {33, 0x8000, 3},    {64, 0xFC00, 3},    {65, 0x8000, 3},    {128, 0xFE00, 3},
      {129, 0x8000, 3},   {256, 0xFF00, 3},   {257, 0x8000, 3},   {512, 0xFF80, 3},   {513, 0x8000, 3},
      {1024, 0xFFC0, 3},  {1025, 0x8000, 3},  {2048, 0xFFE0, 3},  {2048, 0xFFFF, 34},  // 5 length bits: up to 31 + 3
      {2049, 0x8000, 3},  {2049, 0x800F, 18},                                          // 4 length bits: up to 15 + 3
      {3500, 0xDABF, 18},  // U - 1 = 3499 = 0xDAB, length 15 + 3
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(testing::Message() << "U=" << c.u << " word=0x" << std::hex << c.word);
    const ByteVec literals = RandomBytes(c.u, static_cast<unsigned>(c.u));
    ByteVec body;
    for (std::size_t i = 0; i < c.u; ++i) {
      if (i % 8 == 0) body.push_back(std::byte{0});
      body.push_back(literals[i]);
    }
    // The reference is token U % 8 of the last flag group, or opens a new one.
    if (c.u % 8 == 0) {
      body.push_back(std::byte{0x01});
    } else {
      body[body.size() - 1 - c.u % 8] |= static_cast<std::byte>(1u << (c.u % 8));
    }
    PutLe16(body, c.word);
    ByteVec expected = literals;
    for (std::size_t i = 0; i < c.length; ++i) expected.push_back(expected[i]);  // displacement U: from the start
    auto out = Decode(Chunk(true, body));
    ASSERT_TRUE(out.has_value()) << out.error().ToString();
    EXPECT_TRUE(*out == expected);
  }
}

TEST(Lznt1, ChunksAreIndependent) {
  // Chunk 1 (input offset 0): 'a', then at U = 1 the word 0x0FFC =
  // displacement 1, length 0xFFC + 3 = 4095: 4096 'a's, a full chunk.
  const ByteVec chunk1 = Chunk(true, Hex({0x02, 'a', 0xFC, 0x0F}));
  // Chunk 2 (input offset 6): 'b', then at U = 1 the word 0x0000 =
  // displacement 1, length 3: "bbbb" at output 4096.
  auto out = Decode(Cat({chunk1, Chunk(true, Hex({0x02, 'b', 0x00, 0x00}))}));
  ASSERT_TRUE(out.has_value()) << out.error().ToString();
  EXPECT_EQ(AsString(*out), std::string(4096, 'a') + "bbbb");

  // Chunk 2 instead says 0x1000: displacement 2 at U = 1. The byte 2 back is
  // the last 'a' of chunk 1, but references never cross chunks.
  auto bad = Decode(Cat({chunk1, Chunk(true, Hex({0x02, 'b', 0x00, 0x10}))}));
  ASSERT_FALSE(bad.has_value());
  EXPECT_EQ(bad.error().code, ErrorCode::kFormat);
  EXPECT_NE(bad.error().message.find("input offset 0x6"), std::string::npos) << bad.error().message;
}

TEST(Lznt1, ShortChunkIsZeroPaddedBeforeTheNextChunk) {
  // Stored "abc" (3 bytes) then stored "de": each chunk stands for 4096
  // bytes, so "de" lands at 4096 and 3..4095 are zeros (written, not left
  // as the buffer's 0xEE). The last chunk is not padded.
  auto out = Decode(Cat({Chunk(false, Str("abc")), Chunk(false, Str("de"))}));
  ASSERT_TRUE(out.has_value()) << out.error().ToString();
  EXPECT_EQ(AsString(*out), "abc" + std::string(4093, '\0') + "de");

  // The padding must fit the buffer too.
  auto small = Decode(Cat({Chunk(false, Str("abc")), Chunk(false, Str("de"))}), 4096);
  ASSERT_FALSE(small.has_value());
  EXPECT_EQ(small.error().code, ErrorCode::kLimit);
}

TEST(Lznt1, ZeroHeaderEndsTheStream) {
  // "hello", a zero header, then what would be a truncated chunk and junk.
  auto out = Decode(Cat({Chunk(false, Str("hello")), Hex({0x00, 0x00, 0xFF, 0xBF, 0x01, 0x02, 0x03})}));
  ASSERT_TRUE(out.has_value()) << out.error().ToString();
  EXPECT_EQ(AsString(*out), "hello");
  // A single byte after the last chunk cannot be a header: end of input.
  out = Decode(Cat({Chunk(false, Str("hello")), Hex({0xB0})}));
  ASSERT_TRUE(out.has_value()) << out.error().ToString();
  EXPECT_EQ(AsString(*out), "hello");
}

TEST(Lznt1, TruncatedChunkIsAnError) {
  // Second chunk at input offset 7 declares 0x5 + 1 = 6 data bytes, has 3.
  auto out = Decode(Cat({Chunk(false, Str("hello")), Hex({0x05, 0xB0, 0x00, 'x', 'y'})}));
  ASSERT_FALSE(out.has_value());
  EXPECT_EQ(out.error().code, ErrorCode::kTruncated);
  EXPECT_NE(out.error().message.find("input offset 0x7"), std::string::npos) << out.error().message;
  // Just a header.
  out = Decode(Hex({0x00, 0xB0}));
  ASSERT_FALSE(out.has_value());
  EXPECT_EQ(out.error().code, ErrorCode::kTruncated);
}

TEST(Lznt1, ReferenceBeforeChunkStartIsAnError) {
  // A reference as the first token (U = 0): nothing to copy from.
  auto out = Decode(Chunk(true, Hex({0x01, 0x00, 0x00})));
  ASSERT_FALSE(out.has_value());
  EXPECT_EQ(out.error().code, ErrorCode::kFormat);
  // "abc" then 0x3000 at U = 3: displacement 4 > 3.
  out = Decode(Chunk(true, Hex({0x08, 'a', 'b', 'c', 0x00, 0x30})));
  ASSERT_FALSE(out.has_value());
  EXPECT_EQ(out.error().code, ErrorCode::kFormat);
  EXPECT_NE(out.error().message.find("displacement 4"), std::string::npos) << out.error().message;
  // 0x2000 (displacement 3) is fine.
  out = Decode(Chunk(true, Hex({0x08, 'a', 'b', 'c', 0x00, 0x20})));
  ASSERT_TRUE(out.has_value()) << out.error().ToString();
  EXPECT_EQ(AsString(*out), "abcabc");
}

TEST(Lznt1, OutputLargerThanTheBufferIsALimit) {
  // Decodes into the first `window` bytes of a 16-byte buffer of 0xEE and
  // checks that nothing after the window was written.
  auto decode_into = [](const ByteVec& stream, std::size_t window) {
    ByteVec buf(16, std::byte{0xEE});
    auto n = DecompressLznt1(stream, std::span(buf).first(window));
    for (std::size_t i = window; i < buf.size(); ++i) EXPECT_EQ(buf[i], std::byte{0xEE}) << "byte " << i;
    return n;
  };
  // "abc" + 9 bytes = 12 bytes: a 10-byte window is too small.
  const ByteVec stream = Hex({0x05, 0xB0, 0x08, 'a', 'b', 'c', 0x06, 0x20});
  auto n = decode_into(stream, 10);
  ASSERT_FALSE(n.has_value());
  EXPECT_EQ(n.error().code, ErrorCode::kLimit);
  EXPECT_NE(n.error().message.find("input offset 0x0"), std::string::npos) << n.error().message;
  // Exactly 12 fits.
  n = decode_into(stream, 12);
  ASSERT_TRUE(n.has_value()) << n.error().ToString();
  EXPECT_EQ(*n, 12u);
  // A literal, and a stored chunk, one byte too long.
  n = decode_into(stream, 2);
  ASSERT_FALSE(n.has_value());
  EXPECT_EQ(n.error().code, ErrorCode::kLimit);
  n = decode_into(Chunk(false, Str("hello")), 4);
  ASSERT_FALSE(n.has_value());
  EXPECT_EQ(n.error().code, ErrorCode::kLimit);
  n = decode_into(Chunk(false, Str("hello")), 0);
  ASSERT_FALSE(n.has_value());
  EXPECT_EQ(n.error().code, ErrorCode::kLimit);
}

TEST(Lznt1, ChunkOutputPast4096IsAFormatError) {
  // 'a' then 0x0FFF at U = 1: length 4095 + 3 = 4098 > 4095 bytes left.
  auto out = Decode(Chunk(true, Hex({0x02, 'a', 0xFF, 0x0F})));
  ASSERT_FALSE(out.has_value());
  EXPECT_EQ(out.error().code, ErrorCode::kFormat);
  // 4096 'a's, then a literal in the same chunk.
  out = Decode(Chunk(true, Hex({0x02, 'a', 0xFC, 0x0F, 'z'})));
  ASSERT_FALSE(out.has_value());
  EXPECT_EQ(out.error().code, ErrorCode::kFormat);
}

TEST(Lznt1, TokenCutByTheChunkEndIsAnError) {
  // Flag bit 1 announces a 2-byte reference but only one byte is left.
  auto out = Decode(Chunk(true, Hex({0x02, 'a', 0x00})));
  ASSERT_FALSE(out.has_value());
  EXPECT_EQ(out.error().code, ErrorCode::kFormat);
  // A flag byte whose tokens run out with the data is fine: "a".
  out = Decode(Chunk(true, Hex({0xFE, 'a'})));
  ASSERT_TRUE(out.has_value()) << out.error().ToString();
  EXPECT_EQ(AsString(*out), "a");
}

TEST(Lznt1, RealWindowsCompressedCluster) {
  // One 4 KiB cluster of a compression unit written by Windows: a 1205-byte
  // compressed chunk, 15 four-byte chunks of 4096 zeros each, a zero header
  // and slack. The Sleuth Kit's output is the file's 1832 bytes.
  const auto dir = test::SharedTestdata() / "ntfs/ntfs-forensic";
  if (!std::filesystem::exists(dir / "lznt1_real.bin") || !std::filesystem::exists(dir / "lznt1_real.expected")) {
    GTEST_SKIP() << "shared test data missing: " << (dir / "lznt1_real.bin").string();
  }
  auto input = ReadFileBytes(dir / "lznt1_real.bin");
  auto expected = ReadFileBytes(dir / "lznt1_real.expected");
  ASSERT_TRUE(input.has_value()) << input.error().ToString();
  ASSERT_TRUE(expected.has_value()) << expected.error().ToString();
  ASSERT_EQ(input->size(), 4096u);
  ASSERT_EQ(expected->size(), 1832u);

  ByteVec out(65536, std::byte{0xEE});
  auto n = DecompressLznt1(*input, out);
  ASSERT_TRUE(n.has_value()) << n.error().ToString();
  // 16 chunks of 4096 bytes: the whole 64 KiB compression unit.
  EXPECT_EQ(*n, 65536u);
  EXPECT_TRUE(std::equal(expected->begin(), expected->end(), out.begin()));
  EXPECT_TRUE(std::all_of(out.begin() + 1832, out.end(), [](std::byte b) { return b == std::byte{0}; }));
}

TEST(Lznt1, RoundTripsRandomDataAndText) {
  CompressStats stats;
  for (const std::size_t size : {0u, 1u, 2u, 3u, 17u, 4095u, 4096u, 4097u, 8192u + 100u, 65536u}) {
    const auto tag = std::to_string(size);
    ExpectRoundTrip(RandomBytes(size, 1), {}, stats, "random " + tag);
    ExpectRoundTrip(Text(size, 2), {}, stats, "text " + tag);
    ExpectRoundTrip(SmallAlphabet(size, 3, 2), {}, stats, "two letters " + tag);
    ExpectRoundTrip(SmallAlphabet(size, 4, 5), {.cap_spread = 6}, stats, "five letters, short matches " + tag);
    ExpectRoundTrip(ByteVec(size, std::byte{0}), {}, stats, "zeros " + tag);
  }
  // Both chunk kinds were exercised.
  EXPECT_GT(stats.compressed_chunks, 20u);
  EXPECT_GT(stats.raw_chunks, 10u);
}

TEST(Lznt1, RoundTripsAReferenceAtEveryPosition) {
  // Two-letter data opening with "aaababbbaa", which holds all eight 3-byte
  // strings, so from position 10 on every position has an earlier
  // occurrence. Exactly-3-byte references from the first occurrence, after
  // 10, 11 or 12 forced literals: together they start a reference (with a
  // displacement near U, filling the displacement field) at every position
  // from 10 to 4093, so every displacement/length split is decoded.
  ByteVec data = Str("aaababbbaa");
  const auto tail = SmallAlphabet(2 * kLznt1ChunkSize - data.size(), 5, 2);
  data.insert(data.end(), tail.begin(), tail.end());
  CompressStats stats;
  for (std::size_t prefix : {10u, 11u, 12u}) {
    ExpectRoundTrip(data, {.far_triples = true, .literal_prefix = prefix}, stats,
                    "literal prefix " + std::to_string(prefix));
  }
  for (std::size_t p = 10; p + 3 <= kLznt1ChunkSize; ++p) EXPECT_TRUE(stats.match_at[p]) << p;
}

}  // namespace
}  // namespace trawl::core::formats
