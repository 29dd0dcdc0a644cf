// SPDX-License-Identifier: Apache-2.0
#include "core/formats/lzxpress_huffman.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <deque>
#include <filesystem>
#include <map>
#include <random>
#include <string>
#include <vector>

#include "core/util/file.h"
#include "tests/support/test_env.h"

#if defined(TRAWL_HAVE_LIBFWNT)
// The oracle runs in a forked child (POSIX only; the Windows test build has
// no libfwnt and does not need these).
#include <libfwnt.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>
#endif

namespace trawl::core::formats {
namespace {

// A test-only stream writer. Every symbol gets a 9-bit code (512 symbols x
// 2^(15-9) = 2^15: a complete table), so a symbol's code is its number. It
// mirrors the decoder's consumption order from MS-XCA: the decoder loads a
// 16-bit word whenever fewer than 16 look-ahead bits remain and takes raw
// length bytes from the position after the last word loaded, so the writer
// reserves word slots at those same moments and fills them as bits arrive.
class TestStream {
 public:
  TestStream() { StartBlock(); }

  void StartBlock(std::uint8_t table_byte = 0x99) {
    Flush();
    out_.insert(out_.end(), 256, static_cast<std::byte>(table_byte));
    consumed_ = 0;
    loaded_ = 0;
    Reserve();
    Reserve();
  }
  void Literal(std::uint8_t b) { Bits(b, 9); }
  // length >= 3, offset >= 1.
  void Match(std::uint32_t length, std::uint32_t offset) {
    unsigned nbits = 0;
    while ((offset >> (nbits + 1)) != 0) ++nbits;
    const std::uint32_t l = length - 3;
    const unsigned low = l < 15 ? l : 15;
    Bits(256 + (nbits << 4) + low, 9);
    if (l >= 15) {
      if (l - 15 < 255) {
        Raw(static_cast<std::uint8_t>(l - 15));
      } else if (l <= 0xFFFF) {
        Raw(255);
        Raw(static_cast<std::uint8_t>(l & 0xFF));
        Raw(static_cast<std::uint8_t>(l >> 8));
      } else {
        Raw(255);
        Raw(0);
        Raw(0);
        for (int i = 0; i < 4; ++i) Raw(static_cast<std::uint8_t>(l >> (8 * i)));
      }
    }
    Bits(offset & ((1u << nbits) - 1), nbits);
  }
  void Raw(std::uint8_t b) { out_.push_back(static_cast<std::byte>(b)); }
  std::vector<std::byte> Finish() {
    Flush();
    return out_;
  }

  void Bits(std::uint32_t value, unsigned n) {
    for (unsigned i = n; i-- > 0;) {
      acc_ = static_cast<std::uint16_t>((acc_ << 1) | ((value >> i) & 1u));
      if (++nacc_ == 16) WriteWord();
    }
    consumed_ += n;
    if (16 * loaded_ - consumed_ < 16) Reserve();
  }

 private:
  void Reserve() {
    slots_.push_back(out_.size());
    out_.insert(out_.end(), 2, std::byte{0});
    ++loaded_;
  }
  void WriteWord() {
    ASSERT_FALSE(slots_.empty());
    out_[slots_.front()] = static_cast<std::byte>(acc_ & 0xFF);
    out_[slots_.front() + 1] = static_cast<std::byte>(acc_ >> 8);
    slots_.pop_front();
    acc_ = 0;
    nacc_ = 0;
  }
  void Flush() {
    // Pads the pending bits with zeros and fills every reserved slot (the
    // decoder's look-ahead words past the last real bit).
    while (!slots_.empty()) {
      acc_ = static_cast<std::uint16_t>(acc_ << (16 - nacc_));
      nacc_ = 16;
      WriteWord();
    }
  }

  std::vector<std::byte> out_;
  std::deque<std::size_t> slots_;
  std::uint16_t acc_ = 0;
  unsigned nacc_ = 0;
  long consumed_ = 0;
  long loaded_ = 0;
};

std::string AsString(const std::vector<std::byte>& v) { return {reinterpret_cast<const char*>(v.data()), v.size()}; }

TEST(LzxpressHuffmanTest, LiteralsAndShortMatches) {
  TestStream s;
  for (char c : std::string("abcab")) s.Literal(static_cast<std::uint8_t>(c));
  s.Match(3, 5);  // "abc"
  s.Match(7, 1);  // "ccccccc" (overlapping copy)
  const auto stream = s.Finish();
  auto out = DecompressLzxpressHuffman(stream, 15);
  ASSERT_TRUE(out) << out.error().ToString();
  EXPECT_EQ(AsString(*out), "abcababcccccccc");
}

TEST(LzxpressHuffmanTest, LongMatchLengthEscapes) {
  // 17 (nibble 14), 18 (byte escape 0), 272 (byte escape 254), 300 (u16),
  // 70000 (u32 after a zero u16) -- the last spills into a second block's
  // worth of output, which MS-XCA allows within one match.
  const std::vector<std::uint32_t> lengths = {17, 18, 272, 300, 70000};
  std::size_t total = 1;
  for (auto l : lengths) total += l;
  TestStream s;
  s.Literal('x');
  for (auto l : lengths) s.Match(l, 1);
  const auto stream = s.Finish();
  auto out = DecompressLzxpressHuffman(stream, total);
  ASSERT_TRUE(out) << out.error().ToString();
  EXPECT_EQ(AsString(*out), std::string(total, 'x'));
}

TEST(LzxpressHuffmanTest, LargeOffsetsAndSecondBlock) {
  // 65536 bytes in block 0 (pseudo-random literals), then block 1 copies
  // from 65535 bytes back and adds literals.
  std::mt19937 rng(7);
  std::string expect;
  TestStream s;
  for (int i = 0; i < 65536; ++i) {
    const auto b = static_cast<std::uint8_t>(rng());
    expect.push_back(static_cast<char>(b));
    s.Literal(b);
  }
  s.StartBlock();
  s.Match(100, 65535);
  expect += expect.substr(expect.size() - 65535, 100);
  s.Literal('!');
  expect.push_back('!');
  const auto stream = s.Finish();
  auto out = DecompressLzxpressHuffman(stream, expect.size());
  ASSERT_TRUE(out) << out.error().ToString();
  EXPECT_EQ(AsString(*out), expect);
}

TEST(LzxpressHuffmanTest, RejectsBadTables) {
  TestStream s;
  s.Literal('a');
  auto stream = s.Finish();
  // Incomplete: symbol 0 loses its code.
  stream[0] = std::byte{0x90};
  auto out = DecompressLzxpressHuffman(stream, 1);
  ASSERT_FALSE(out);
  EXPECT_EQ(out.error().code, ErrorCode::kFormat);
  EXPECT_NE(out.error().message.find("incomplete"), std::string::npos) << out.error().message;
  // Over-subscribed: symbol 0 gets an 8-bit code on top of 511 9-bit ones.
  stream[0] = std::byte{0x98};
  out = DecompressLzxpressHuffman(stream, 1);
  ASSERT_FALSE(out);
  EXPECT_NE(out.error().message.find("over-subscribed"), std::string::npos) << out.error().message;
  // All zero: nothing assigned.
  std::fill_n(stream.begin(), 256, std::byte{0});
  out = DecompressLzxpressHuffman(stream, 1);
  ASSERT_FALSE(out);
  EXPECT_EQ(out.error().code, ErrorCode::kFormat);
}

TEST(LzxpressHuffmanTest, RejectsOffsetBeforeStartAndLengthPastEnd) {
  {
    TestStream s;
    s.Literal('a');
    s.Match(3, 2);  // only one byte produced
    auto out = DecompressLzxpressHuffman(s.Finish(), 4);
    ASSERT_FALSE(out);
    EXPECT_EQ(out.error().code, ErrorCode::kFormat);
    EXPECT_NE(out.error().message.find("before the start"), std::string::npos);
  }
  {
    TestStream s;
    s.Literal('a');
    s.Match(10, 1);
    auto out = DecompressLzxpressHuffman(s.Finish(), 5);
    ASSERT_FALSE(out);
    EXPECT_NE(out.error().message.find("past the declared size"), std::string::npos);
  }
}

TEST(LzxpressHuffmanTest, TruncatedInputAndLimits) {
  TestStream s;
  for (int i = 0; i < 200; ++i) s.Literal(static_cast<std::uint8_t>(i));
  const auto stream = s.Finish();
  ASSERT_TRUE(DecompressLzxpressHuffman(stream, 200));
  // Every prefix shorter than the bits actually needed fails cleanly.
  for (std::size_t n = 0; n < stream.size() - 4; ++n) {
    auto out = DecompressLzxpressHuffman(Bytes(stream).first(n), 200);
    ASSERT_FALSE(out) << "prefix " << n;
    EXPECT_EQ(out.error().code, ErrorCode::kTruncated) << out.error().message;
  }
  // Declared sizes: over the limit, and more blocks than the input can hold.
  auto big = DecompressLzxpressHuffman(stream, 65u << 20);
  ASSERT_FALSE(big);
  EXPECT_EQ(big.error().code, ErrorCode::kLimit);
  auto small_limit = DecompressLzxpressHuffman(stream, 200, 199);
  ASSERT_FALSE(small_limit);
  EXPECT_EQ(small_limit.error().code, ErrorCode::kLimit);
  auto many_blocks = DecompressLzxpressHuffman(stream, 64u << 20);
  ASSERT_FALSE(many_blocks);
  EXPECT_EQ(many_blocks.error().code, ErrorCode::kTruncated);
  // Empty output needs no input at all.
  auto empty = DecompressLzxpressHuffman(Bytes{}, 0);
  ASSERT_TRUE(empty);
  EXPECT_TRUE(empty->empty());
}

// The MAM\x04 payloads of the shared prefetch files.
struct MamStream {
  std::string name;
  std::vector<std::byte> file;
  std::size_t uncompressed_size = 0;
  Bytes payload() const { return Bytes(file).subspan(8); }
};

std::vector<MamStream> SharedMamStreams() {
  std::vector<MamStream> streams;
  const auto root = test::SharedTestdata() / "prefetch";
  for (const auto& entry : std::filesystem::recursive_directory_iterator(root)) {
    if (!entry.is_regular_file()) continue;
    auto bytes = ReadFileBytes(entry.path());
    if (!bytes || bytes->size() < 8 || std::memcmp(bytes->data(), "MAM\x04", 4) != 0) continue;
    MamStream s;
    s.name = std::filesystem::relative(entry.path(), root).string();
    s.uncompressed_size = static_cast<std::uint32_t>(bytes->at(4)) | (static_cast<std::uint32_t>(bytes->at(5)) << 8) |
                          (static_cast<std::uint32_t>(bytes->at(6)) << 16) |
                          (static_cast<std::uint32_t>(bytes->at(7)) << 24);
    s.file = std::move(*bytes);
    streams.push_back(std::move(s));
  }
  std::sort(streams.begin(), streams.end(), [](const MamStream& a, const MamStream& b) { return a.name < b.name; });
  return streams;
}

TEST(LzxpressHuffmanTest, RealPrefetchStreamsDecompressToScca) {
  const auto streams = SharedMamStreams();
  ASSERT_GE(streams.size(), 20u);
  for (const auto& s : streams) {
    auto out = DecompressLzxpressHuffman(s.payload(), s.uncompressed_size);
    ASSERT_TRUE(out) << s.name << ": " << out.error().ToString();
    ASSERT_EQ(out->size(), s.uncompressed_size);
    EXPECT_EQ(AsString(*out).substr(4, 4), "SCCA") << s.name;
  }
}

TEST(LzxpressHuffmanTest, MutatedRealStreamsNeverCrash) {
  const auto streams = SharedMamStreams();
  ASSERT_FALSE(streams.empty());
  std::mt19937_64 rng(20240611);
  int ok = 0, failed = 0;
  for (int iter = 0; iter < 3000; ++iter) {
    const auto& s = streams[rng() % streams.size()];
    std::vector<std::byte> mutated(s.payload().begin(), s.payload().end());
    const int flips = 1 + static_cast<int>(rng() % 4);
    for (int f = 0; f < flips; ++f) {
      mutated[rng() % mutated.size()] ^= static_cast<std::byte>(1u << (rng() % 8));
    }
    if (rng() % 4 == 0) mutated.resize(rng() % (mutated.size() + 1));
    auto out = DecompressLzxpressHuffman(mutated, s.uncompressed_size);
    if (out) {
      ++ok;
      EXPECT_EQ(out->size(), s.uncompressed_size);
    } else {
      ++failed;
      EXPECT_FALSE(out.error().message.empty());
    }
  }
  EXPECT_GT(failed, 0);
  RecordProperty("mutations_ok", ok);
  RecordProperty("mutations_failed", failed);
}

#if defined(TRAWL_HAVE_LIBFWNT)

// libfwnt is the oracle but not hardened against hostile input (its Huffman
// tree has a fixed node array, and later chunks may read past the buffer), so
// each call runs in a forked child with a zero-padded copy of the input; the
// output comes back through a shared mapping.
struct FwntResult {
  enum Status { kOk, kFailed, kCrashed } status = kFailed;
  std::vector<std::byte> out;  // only for kOk, sized to what libfwnt reported
};

FwntResult RunLibfwnt(Bytes input, std::size_t uncompressed_size) {
  const std::size_t map_size = sizeof(std::size_t) + uncompressed_size + 1;
  void* map = mmap(nullptr, map_size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  if (map == MAP_FAILED) return {FwntResult::kCrashed, {}};
  FwntResult result;
  const pid_t pid = fork();
  if (pid == 0) {
    std::vector<std::uint8_t> padded(2 * input.size() + 65536, 0);
    std::memcpy(padded.data(), input.data(), input.size());
    auto* out = static_cast<std::uint8_t*>(map) + sizeof(std::size_t);
    std::size_t size = uncompressed_size;
    libfwnt_error_t* error = nullptr;
    const int rc = libfwnt_lzxpress_huffman_decompress(padded.data(), input.size(), out, &size, &error);
    std::memcpy(map, &size, sizeof(size));
    _exit(rc == 1 ? 0 : 1);
  }
  int status = 0;
  waitpid(pid, &status, 0);
  if (WIFEXITED(status) && WEXITSTATUS(status) == 0) {
    std::size_t size = 0;
    std::memcpy(&size, map, sizeof(size));
    result.status = FwntResult::kOk;
    const auto* out = static_cast<const std::byte*>(map) + sizeof(std::size_t);
    result.out.assign(out, out + std::min(size, uncompressed_size));
  } else if (WIFEXITED(status)) {
    result.status = FwntResult::kFailed;
  } else {
    result.status = FwntResult::kCrashed;
  }
  munmap(map, map_size);
  return result;
}

TEST(LzxpressHuffmanTest, AgreesWithLibfwntOnRealAndMutatedStreams) {
  const auto streams = SharedMamStreams();
  ASSERT_GE(streams.size(), 20u);
  // Unmodified files: both must succeed with identical bytes.
  for (const auto& s : streams) {
    auto ours = DecompressLzxpressHuffman(s.payload(), s.uncompressed_size);
    auto theirs = RunLibfwnt(s.payload(), s.uncompressed_size);
    ASSERT_TRUE(ours) << s.name << ": " << ours.error().ToString();
    ASSERT_EQ(theirs.status, FwntResult::kOk) << s.name;
    ASSERT_EQ(theirs.out.size(), s.uncompressed_size) << s.name;
    EXPECT_TRUE(*ours == theirs.out) << s.name;
  }
  // Mutations: tally each outcome pair. libfwnt returning fewer bytes than
  // declared counts as a failure (libscca itself notes it does not check).
  std::map<std::string, int> tally;
  std::map<std::string, std::string> examples;
  std::mt19937_64 rng(424242);
#if defined(__SANITIZE_ADDRESS__)
  // Forking a process with ASan's shadow memory is slow; fewer rounds.
  constexpr int kMutations = 250;
#else
  constexpr int kMutations = 2000;
#endif
  for (int iter = 0; iter < kMutations; ++iter) {
    const auto& s = streams[rng() % streams.size()];
    std::vector<std::byte> mutated(s.payload().begin(), s.payload().end());
    const int flips = 1 + static_cast<int>(rng() % 3);
    for (int f = 0; f < flips; ++f) {
      // Mostly the bit stream; sometimes the first table.
      const std::size_t pos = rng() % 8 == 0 ? rng() % 256 : rng() % mutated.size();
      mutated[pos] ^= static_cast<std::byte>(1u << (rng() % 8));
    }
    auto ours = DecompressLzxpressHuffman(mutated, s.uncompressed_size);
    auto theirs = RunLibfwnt(mutated, s.uncompressed_size);
    const bool theirs_ok = theirs.status == FwntResult::kOk && theirs.out.size() == s.uncompressed_size;
    std::string key;
    if (ours && theirs_ok) {
      key = *ours == theirs.out ? "both ok, identical" : "both ok, DIFFERENT output";
    } else if (!ours && !theirs_ok) {
      key = theirs.status == FwntResult::kCrashed ? "both fail (libfwnt crashed)" : "both fail";
    } else if (ours) {
      key = "ours ok, libfwnt fails";
    } else {
      key = "ours fails, libfwnt ok: " + ours.error().message.substr(0, 60);
      // Keep the category, not the offsets, in the key.
      if (ours.error().message.find("incomplete") != std::string::npos) {
        key = "ours fails (table incomplete), libfwnt ok";
      } else if (ours.error().message.find("over-subscribed") != std::string::npos) {
        key = "ours fails (table over-subscribed), libfwnt ok";
      } else if (ours.error().message.find("before the start") != std::string::npos) {
        key = "ours fails (offset), libfwnt ok";
      } else if (ours.error().message.find("input ends") != std::string::npos) {
        key = "ours fails (input exhausted), libfwnt ok";
      }
    }
    if (examples.find(key) == examples.end()) {
      examples[key] = s.name + (ours ? "" : " / " + ours.error().message);
    }
    ++tally[key];
  }
  for (const auto& [key, count] : tally) {
    std::printf("[ libfwnt ] %-55s %5d  e.g. %s\n", key.c_str(), count, examples[key].c_str());
  }
  EXPECT_EQ(tally["both ok, DIFFERENT output"], 0);
  EXPECT_EQ(tally["ours ok, libfwnt fails"], 0);
  EXPECT_GT(tally["both fail"] + tally["both fail (libfwnt crashed)"], 0);
}

#else

TEST(LzxpressHuffmanTest, AgreesWithLibfwntOnRealAndMutatedStreams) {
  GTEST_SKIP() << "libfwnt (Debian libfwnt-dev) not found at configure time";
}

#endif

}  // namespace
}  // namespace trawl::core::formats
