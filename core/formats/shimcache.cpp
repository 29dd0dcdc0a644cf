// SPDX-License-Identifier: Apache-2.0
#include "core/formats/shimcache.h"

#include <fmt/format.h>

#include <algorithm>
#include <cstring>
#include <limits>
#include <string_view>
#include <utility>

#include "core/util/text.h"
#include "core/util/time.h"

namespace trawl::core::formats {
namespace {

constexpr std::uint32_t kXpMagic = 0xdeadbeef;
constexpr std::uint32_t kNt52Magic = 0xbadc0ffe;  // Server 2003, Vista, Server 2008
constexpr std::uint32_t kNt61Magic = 0xbadc0fee;  // 7, Server 2008 R2
constexpr std::uint32_t kWin10HeaderSize = 0x30;
constexpr std::uint32_t kWin10CreatorsHeaderSize = 0x34;
constexpr std::uint64_t kWin8HeaderSize = 0x80;
constexpr std::uint32_t kExecutedFlag = 0x2;  // insertion flag set by CSRSS

// XP: a 400-byte header (magic, slot count, LRU count, unknown, then an array
// of slot indexes, most recent first) and 96 slots of 552 bytes: a
// NUL-terminated UTF-16LE path in 528 bytes, last modification FILETIME, file
// size, last update FILETIME.
constexpr std::uint64_t kXpHeaderSize = 400;
constexpr std::uint64_t kXpLruArrayOffset = 16;
constexpr std::uint64_t kXpSlots = 96;
constexpr std::uint64_t kXpSlotSize = 552;
constexpr std::uint64_t kXpPathBytes = 528;

// The fixed-size entries of 2003/Vista and 7: a UNICODE_STRING (length,
// maximum length, path offset from the start of the value), the FILETIME,
// then either insertion and shim flags (Vista, 7) or a 64-bit file size
// (2003) at `flags`, and on 7 a data blob (size, offset).
struct FixedLayout {
  int bits;
  std::uint64_t header_size;
  std::uint64_t entry_size;
  std::uint64_t path_offset;  // field offset; u32 on 32-bit, u64 on 64-bit
  std::uint64_t filetime;
  std::uint64_t flags;
  std::uint64_t data_size;  // 0: no data blob (2003/Vista)
  std::uint64_t data_offset;
};

constexpr FixedLayout kNt52x32{32, 8, 24, 4, 8, 16, 0, 0};
constexpr FixedLayout kNt52x64{64, 8, 32, 8, 16, 24, 0, 0};
constexpr FixedLayout kNt61x32{32, 128, 32, 4, 8, 16, 24, 28};
constexpr FixedLayout kNt61x64{64, 128, 48, 8, 16, 24, 32, 40};

struct FixedEntry {
  std::uint16_t length = 0;
  std::uint16_t max_length = 0;
  std::uint32_t padding = 0;  // 64-bit only: zero in genuine data
  std::uint64_t path_offset = 0;
  std::uint64_t filetime = 0;
  std::uint32_t flags_low = 0;  // insertion flags, or the file size's low half
  std::uint32_t flags_high = 0;
  std::uint64_t data_size = 0;
  std::uint64_t data_offset = 0;
};

std::string EntryAt(std::uint64_t index, std::uint64_t offset) {
  return fmt::format("entry {} at {}", index, HexOffset(offset));
}

// FILETIME to Unix nanoseconds; nullopt for 0 and for times int64
// nanoseconds cannot hold (before 1677 or after 2262).
std::optional<std::int64_t> FiletimeNs(std::uint64_t filetime) {
  if (filetime == 0) return std::nullopt;
  constexpr std::int64_t kMaxSeconds = std::numeric_limits<std::int64_t>::max() / 1000000000 - 1;
  const std::int64_t seconds = FiletimeToUnixSeconds(filetime);
  if (seconds > kMaxSeconds || seconds < -kMaxSeconds) return std::nullopt;
  return seconds * 1000000000 + static_cast<std::int64_t>(filetime % 10000000ULL) * 100;
}

class Walker {
 public:
  explicit Walker(Bytes value) : r_(value) {}

  Result<ShimCache> Xp();
  Result<ShimCache> Fixed(std::uint32_t magic);
  ShimCache Tagged(std::string format, std::uint64_t start, std::string_view tag, bool win8);

 private:
  // Sets a time field, noting a FILETIME outside the representable range.
  std::optional<std::int64_t> Time(std::uint64_t filetime, std::uint64_t index, std::string_view what) {
    auto ns = FiletimeNs(filetime);
    if (filetime != 0 && !ns) {
      out_.warnings.push_back(
          fmt::format("entry {}: {} FILETIME 0x{:016x} is outside 1677-2262; left unset", index, what, filetime));
    }
    return ns;
  }
  void Stop(std::uint64_t index, std::uint64_t offset, std::string_view why) {
    out_.warnings.push_back(fmt::format("{}: {}; stopped", EntryAt(index, offset), why));
  }
  bool RestIsZero(std::uint64_t offset) const {
    const Bytes rest = r_.data().subspan(offset);
    return std::all_of(rest.begin(), rest.end(), [](std::byte b) { return b == std::byte{0}; });
  }
  FixedEntry ReadFixed(std::uint64_t at, const FixedLayout& l) const;
  bool Sane(const FixedEntry& e, const FixedLayout& l) const;
  std::uint64_t FittingEntries(std::uint64_t count, const FixedLayout& l) const {
    if (r_.size() < l.header_size) return 0;
    return std::min<std::uint64_t>(count, (r_.size() - l.header_size) / l.entry_size);
  }
  bool TaggedBody(Bytes body, std::uint64_t index, std::uint64_t offset, bool win8, ShimCacheEntry& e);

  ByteReader r_;
  ShimCache out_;
};

Result<ShimCache> Walker::Xp() {
  out_.format = "xp";
  out_.pointer_bits = 32;
  if (r_.size() < kXpHeaderSize) {
    return Fail(ErrorCode::kTruncated,
                fmt::format("shimcache: XP header needs {} bytes, the value has {}", kXpHeaderSize, r_.size()));
  }
  std::uint64_t lru_count = r_.U32Unchecked(8);
  if (lru_count > kXpSlots) {
    out_.warnings.push_back(
        fmt::format("LRU count {} at 0x8 exceeds the {} slots; reading {}", lru_count, kXpSlots, kXpSlots));
    lru_count = kXpSlots;
  }
  const std::uint64_t slots_present = std::min(kXpSlots, (r_.size() - kXpHeaderSize) / kXpSlotSize);
  for (std::uint64_t i = 0; i < lru_count; ++i) {
    const std::uint64_t lru_at = kXpLruArrayOffset + 4 * i;
    const std::uint32_t slot = r_.U32Unchecked(lru_at);
    const std::uint64_t base = kXpHeaderSize + std::uint64_t{slot} * kXpSlotSize;
    if (slot >= kXpSlots) {
      Stop(i, lru_at, fmt::format("LRU index {} names no slot (there are {})", slot, kXpSlots));
      break;
    }
    if (slot >= slots_present) {
      Stop(i, base, fmt::format("slot {} ({} bytes) runs past the value ({} bytes)", slot, kXpSlotSize, r_.size()));
      break;
    }
    ShimCacheEntry e;
    e.position = static_cast<std::uint32_t>(i);
    e.path = Utf16LeToUtf8UntilNul(r_.data().subspan(base, kXpPathBytes));
    e.last_modified = Time(r_.U64Unchecked(base + kXpPathBytes), i, "last modification");
    e.file_size = r_.U64Unchecked(base + kXpPathBytes + 8);
    e.last_update = Time(r_.U64Unchecked(base + kXpPathBytes + 16), i, "last update");
    out_.entries.push_back(std::move(e));
  }
  return std::move(out_);
}

FixedEntry Walker::ReadFixed(std::uint64_t at, const FixedLayout& l) const {
  // Callers pass entries inside the value (FittingEntries).
  FixedEntry e;
  e.length = r_.U16Unchecked(at);
  e.max_length = r_.U16Unchecked(at + 2);
  if (l.bits == 64) {
    e.padding = r_.U32Unchecked(at + 4);
    e.path_offset = r_.U64Unchecked(at + l.path_offset);
  } else {
    e.path_offset = r_.U32Unchecked(at + l.path_offset);
  }
  e.filetime = r_.U64Unchecked(at + l.filetime);
  e.flags_low = r_.U32Unchecked(at + l.flags);
  e.flags_high = r_.U32Unchecked(at + l.flags + 4);
  if (l.data_size != 0) {
    e.data_size = l.bits == 64 ? r_.U64Unchecked(at + l.data_size) : r_.U32Unchecked(at + l.data_size);
    e.data_offset = l.bits == 64 ? r_.U64Unchecked(at + l.data_offset) : r_.U32Unchecked(at + l.data_offset);
  }
  return e;
}

// A genuine entry's path is a whole number of UTF-16 units inside the value,
// after the header, no longer than its maximum; 64-bit entries have zero
// padding where a 32-bit entry keeps its path offset.
bool Walker::Sane(const FixedEntry& e, const FixedLayout& l) const {
  return e.padding == 0 && e.length % 2 == 0 && e.length <= e.max_length && e.path_offset >= l.header_size &&
         r_.InBounds(e.path_offset, e.length);
}

Result<ShimCache> Walker::Fixed(std::uint32_t magic) {
  const bool nt61 = magic == kNt61Magic;
  const FixedLayout& narrow = nt61 ? kNt61x32 : kNt52x32;
  const FixedLayout& wide = nt61 ? kNt61x64 : kNt52x64;
  out_.format = nt61 ? "7" : "vista";
  if (r_.size() < narrow.header_size) {
    return Fail(ErrorCode::kTruncated,
                fmt::format("shimcache: {} header needs {} bytes, the value has {}",
                            nt61 ? "Windows 7" : "Server 2003/Vista", narrow.header_size, r_.size()));
  }
  const std::uint32_t count = r_.U32Unchecked(4);
  if (count == 0) return std::move(out_);

  // Vote over the first entries: the layout under which more of them are sane.
  auto sane_count = [&](const FixedLayout& l) {
    const std::uint64_t n = FittingEntries(std::min<std::uint32_t>(count, 8), l);
    std::uint64_t sane = 0;
    for (std::uint64_t i = 0; i < n; ++i) sane += Sane(ReadFixed(l.header_size + i * l.entry_size, l), l) ? 1 : 0;
    return sane;
  };
  const std::uint64_t sane_wide = sane_count(wide);
  const std::uint64_t sane_narrow = sane_count(narrow);
  if (sane_wide == 0 && sane_narrow == 0) {
    out_.warnings.push_back(fmt::format(
        "neither the 32- nor the 64-bit entry layout gives a path inside the value ({} bytes) for the first of {} "
        "entries; no entries read",
        r_.size(), count));
    return std::move(out_);
  }
  const FixedLayout& l = sane_wide > sane_narrow ? wide : narrow;
  out_.pointer_bits = l.bits;

  const std::uint64_t n = FittingEntries(count, l);
  if (n < count) {
    out_.warnings.push_back(fmt::format(
        "header counts {} entries but the value ({} bytes) holds at most {} of {} bytes after the {}-byte header",
        count, r_.size(), n, l.entry_size, l.header_size));
  }
  // 2003 keeps a file size where Vista keeps flags of at most 3 (Mandiant).
  bool is_2003 = false;
  if (!nt61) {
    for (std::uint64_t i = 0; i < n && !is_2003; ++i) {
      is_2003 = r_.U32Unchecked(l.header_size + i * l.entry_size + l.flags) > 3;
    }
    if (is_2003) out_.format = "2003";
  }

  for (std::uint64_t i = 0; i < n; ++i) {
    const std::uint64_t at = l.header_size + i * l.entry_size;
    const FixedEntry raw = ReadFixed(at, l);
    if (!r_.InBounds(raw.path_offset, raw.length)) {
      Stop(i, at,
           fmt::format("path ({} bytes at {}) runs past the value ({} bytes)", raw.length, HexOffset(raw.path_offset),
                       r_.size()));
      break;
    }
    if (raw.data_size != 0 && !r_.InBounds(raw.data_offset, raw.data_size)) {
      Stop(i, at,
           fmt::format("data ({} bytes at {}) runs past the value ({} bytes)", raw.data_size,
                       HexOffset(raw.data_offset), r_.size()));
      break;
    }
    ShimCacheEntry e;
    e.position = static_cast<std::uint32_t>(i);
    e.path = Utf16LeToUtf8(r_.data().subspan(raw.path_offset, raw.length));
    e.last_modified = Time(raw.filetime, i, "last modification");
    if (is_2003) {
      e.file_size = (std::uint64_t{raw.flags_high} << 32) | raw.flags_low;
    } else {
      e.executed = (raw.flags_low & kExecutedFlag) != 0;
    }
    e.data_size = raw.data_size;
    out_.entries.push_back(std::move(e));
  }
  return std::move(out_);
}

// One record body (after tag, CRC and size). 8.0/8.1: u16 path size, path,
// u16 package size, package, u32 insertion flags, u32 shim flags, FILETIME,
// u32 data size, data. 10: u16 path size, path, FILETIME, u32 data size, data.
bool Walker::TaggedBody(Bytes body, std::uint64_t index, std::uint64_t offset, bool win8, ShimCacheEntry& e) {
  const ByteReader b(body);
  auto need = [&](std::uint64_t at, std::uint64_t length, std::string_view what) {
    if (b.InBounds(at, length)) return true;
    Stop(index, offset,
         fmt::format("{} ({} bytes at +{}) runs past the record's {} bytes", what, length, HexOffset(12 + at),
                     body.size()));
    return false;
  };
  if (!need(0, 2, "path size")) return false;
  const std::uint64_t path_size = b.U16Unchecked(0);
  if (!need(2, path_size, "path")) return false;
  e.path = Utf16LeToUtf8(body.subspan(2, path_size));
  std::uint64_t at = 2 + path_size;
  std::uint32_t insertion_flags = 0;
  if (win8) {
    if (!need(at, 2, "package size")) return false;
    const std::uint64_t package_size = b.U16Unchecked(at);
    if (!need(at + 2, package_size, "package name")) return false;
    at += 2 + package_size;
    if (!need(at, 8, "flags")) return false;
    insertion_flags = b.U32Unchecked(at);
    at += 8;
  }
  if (!need(at, 12, "time and data size")) return false;
  const std::uint64_t filetime = b.U64Unchecked(at);
  e.data_size = b.U32Unchecked(at + 8);
  if (!need(at + 12, e.data_size, "data")) return false;
  e.last_modified = Time(filetime, index, "last modification");
  if (win8) e.executed = (insertion_flags & kExecutedFlag) != 0;
  return true;
}

// Records follow one another to the end of the value, or to zero padding.
ShimCache Walker::Tagged(std::string format, std::uint64_t start, std::string_view tag, bool win8) {
  out_.format = std::move(format);
  std::uint64_t offset = start;
  std::uint64_t index = 0;
  while (offset < r_.size()) {
    const bool head_fits = r_.InBounds(offset, 12);
    if (!head_fits || std::memcmp(r_.data().data() + offset, tag.data(), 4) != 0) {
      if (RestIsZero(offset)) break;
      if (!head_fits) {
        Stop(index, offset, fmt::format("record header needs 12 bytes, the value has {} left", r_.size() - offset));
      } else {
        Stop(index, offset, fmt::format("signature 0x{:08x} is not \"{}\"", r_.U32Unchecked(offset), std::string(tag)));
      }
      break;
    }
    const std::uint64_t body_size = r_.U32Unchecked(offset + 8);
    if (!r_.InBounds(offset + 12, body_size)) {
      Stop(index, offset,
           fmt::format("record size {} runs past the value ({} bytes left)", body_size, r_.size() - offset - 12));
      break;
    }
    ShimCacheEntry e;
    e.position = static_cast<std::uint32_t>(index);
    if (!TaggedBody(r_.data().subspan(offset + 12, body_size), index, offset, win8, e)) break;
    out_.entries.push_back(std::move(e));
    offset += 12 + body_size;
    ++index;
  }
  // Windows 10 headers keep a count 12 bytes before the first record; it has
  // been seen below the number of records but never above in genuine data.
  if (!win8 && out_.warnings.empty()) {
    const std::uint32_t count = r_.U32Unchecked(start - 12);
    if (count > out_.entries.size()) {
      out_.warnings.push_back(fmt::format("header count {} at {} exceeds the {} records in the value (truncated?)",
                                          count, HexOffset(start - 12), out_.entries.size()));
    }
  }
  return std::move(out_);
}

bool TagAt(const ByteReader& r, std::uint64_t offset, std::string_view tag) {
  return r.InBounds(offset, 4) && std::memcmp(r.data().data() + offset, tag.data(), 4) == 0;
}

}  // namespace

Result<ShimCache> ParseShimCache(Bytes value) {
  const ByteReader r(value);
  if (value.size() < 4) {
    return Fail(ErrorCode::kFormat,
                fmt::format("shimcache: a {}-byte value is too short for any AppCompatCache header", value.size()));
  }
  const std::uint32_t magic = r.U32Unchecked(0);
  Walker w(value);
  if (magic == kXpMagic) return w.Xp();
  if (magic == kNt52Magic || magic == kNt61Magic) return w.Fixed(magic);
  if (magic == kWin10HeaderSize && TagAt(r, kWin10HeaderSize, "10ts")) {
    return w.Tagged("10", kWin10HeaderSize, "10ts", false);
  }
  if (magic == kWin10CreatorsHeaderSize && TagAt(r, kWin10CreatorsHeaderSize, "10ts")) {
    return w.Tagged("10-creators", kWin10CreatorsHeaderSize, "10ts", false);
  }
  // Windows 8.x headers start with 0x80 or, as often, 0: the record tag tells.
  if (TagAt(r, kWin8HeaderSize, "00ts")) return w.Tagged("8", kWin8HeaderSize, "00ts", true);
  if (TagAt(r, kWin8HeaderSize, "10ts")) return w.Tagged("8.1", kWin8HeaderSize, "10ts", true);
  return Fail(ErrorCode::kFormat,
              fmt::format("shimcache: unknown AppCompatCache signature 0x{:08x} at 0x0 (no \"10ts\"/\"00ts\" record at "
                          "0x30, 0x34 or 0x80) in a {}-byte value",
                          magic, value.size()));
}

}  // namespace trawl::core::formats
