// SPDX-License-Identifier: Apache-2.0
#include "core/formats/regf.h"

#include <algorithm>
#include <bit>
#include <set>

#include <fmt/format.h>

#include "core/util/text.h"

namespace trawl::core::formats::regf {
namespace {

constexpr std::size_t kBaseBlockSize = 4096;
constexpr std::size_t kChecksummed = 508;
constexpr std::size_t kSector = 512;
constexpr std::uint32_t kBigDataSegment = 16344;     // bytes of data per db segment
constexpr std::uint32_t kMaxListEntries = 1u << 20;  // subkeys or values of one key
constexpr std::uint32_t kMaxDataSize = 1u << 30;     // one value's data
constexpr std::uint64_t kMarvinSeed = 0x82EF4D887A4E55C5ull;
constexpr std::size_t kMaxHiveSize = std::size_t{1} << 31;  // regf offsets are 32-bit

// Callers check the range first (cells are bounds-checked as a whole).
std::uint16_t Le16(Bytes b, std::size_t at) { return ByteReader(b).U16Unchecked(at); }
std::uint32_t Le32(Bytes b, std::size_t at) { return ByteReader(b).U32Unchecked(at); }
std::uint64_t Le64(Bytes b, std::size_t at) { return ByteReader(b).U64Unchecked(at); }
void Put32(std::vector<std::byte>& b, std::size_t at, std::uint32_t v) {
  for (int i = 0; i < 4; ++i) b[at + static_cast<std::size_t>(i)] = static_cast<std::byte>(v >> (8 * i));
}

bool HasSignature(Bytes b, std::size_t at, std::string_view sig) {
  if (at > b.size() || b.size() - at < sig.size()) return false;
  for (std::size_t i = 0; i < sig.size(); ++i)
    if (static_cast<char>(b[at + i]) != sig[i]) return false;
  return true;
}

std::uint32_t XorChecksum(Bytes b) {
  std::uint32_t c = 0;
  for (std::size_t i = 0; i + 4 <= kChecksummed; i += 4) c ^= Le32(b, i);
  return c;
}

// Names flagged "compressed" are one byte per character (Latin-1 as Windows
// widens them); the others are UTF-16LE.
std::string DecodeName(Bytes raw, bool one_byte) {
  if (!one_byte) return Utf16LeToUtf8(raw);
  std::string out;
  out.reserve(raw.size());
  for (std::byte b : raw) {
    const auto c = static_cast<unsigned char>(b);
    if (c < 0x80) {
      out.push_back(static_cast<char>(c));
    } else {
      out.push_back(static_cast<char>(0xC0 | (c >> 6)));
      out.push_back(static_cast<char>(0x80 | (c & 0x3F)));
    }
  }
  return out;
}

bool NamesEqual(std::string_view a, std::string_view b) { return EqualsIgnoreCaseAscii(a, b); }

struct LogEntry {
  std::uint32_t sequence = 0;
  std::uint32_t bins_size = 0;
  std::vector<std::pair<std::uint32_t, Bytes>> pages;  // offset in hive bins data, bytes
  std::uint64_t bytes = 0;
};

struct ParsedLog {
  const LogFile* file = nullptr;
  BaseBlock header;
  std::vector<LogEntry> entries;  // new format: valid entries in file order
};

// New-format log entries from sector 1 on, until the first that is not a
// valid entry (signature, size, hashes, page references inside the entry).
std::vector<LogEntry> ReadLogEntries(const LogFile& log, std::vector<std::string>& notes) {
  std::vector<LogEntry> out;
  const Bytes b(log.data.data(), log.data.size());
  std::size_t at = kSector;
  while (at + 40 <= b.size() && HasSignature(b, at, "HvLE")) {
    const std::uint32_t size = Le32(b, at + 4);
    const auto where = fmt::format("{}: log entry at 0x{:x}", log.name, at);
    if (size < 40 || size % kSector != 0 || size > b.size() - at) {
      notes.push_back(fmt::format("{}: size {} is not a whole number of sectors inside the log; stopped", where, size));
      break;
    }
    const Bytes entry = b.subspan(at, size);
    const std::uint64_t hash1 = Le64(entry, 24);
    const std::uint64_t hash2 = Le64(entry, 32);
    if (Marvin32(entry.subspan(0, 32), kMarvinSeed) != hash2 || Marvin32(entry.subspan(40), kMarvinSeed) != hash1) {
      notes.push_back(fmt::format("{}: hash mismatch; stopped", where));
      break;
    }
    LogEntry e;
    e.sequence = Le32(entry, 12);
    e.bins_size = Le32(entry, 16);
    const std::uint32_t count = Le32(entry, 20);
    if (e.bins_size % kBaseBlockSize != 0 || count > (size - 40) / 8) {
      notes.push_back(
          fmt::format("{}: hive bins size {} or page count {} is impossible; stopped", where, e.bins_size, count));
      break;
    }
    std::size_t page_at = 40 + std::size_t{count} * 8;
    bool ok = true;
    for (std::uint32_t i = 0; i < count && ok; ++i) {
      const std::uint32_t off = Le32(entry, 40 + std::size_t{i} * 8);
      const std::uint32_t len = Le32(entry, 44 + std::size_t{i} * 8);
      if (len == 0 || len > size - page_at || off % kSector != 0 || std::uint64_t{off} + len > e.bins_size) {
        notes.push_back(fmt::format("{}: page {} (offset 0x{:x}, {} bytes) does not fit; stopped", where, i, off, len));
        ok = false;
        break;
      }
      e.pages.emplace_back(off, entry.subspan(page_at, len));
      e.bytes += len;
      page_at += len;
    }
    if (!ok) break;
    out.push_back(std::move(e));
    at += size;
  }
  return out;
}

}  // namespace

std::uint64_t Marvin32(Bytes data, std::uint64_t seed) {
  auto lo = static_cast<std::uint32_t>(seed);
  auto hi = static_cast<std::uint32_t>(seed >> 32);
  const auto mix = [&] {
    hi ^= lo;
    lo = std::rotl(lo, 20);
    lo += hi;
    hi = std::rotl(hi, 9);
    hi ^= lo;
    lo = std::rotl(lo, 27);
    lo += hi;
    hi = std::rotl(hi, 19);
  };
  std::size_t i = 0;
  for (; i + 4 <= data.size(); i += 4) {
    lo += Le32(data, i);
    mix();
  }
  std::uint32_t last = 0x80;
  const std::size_t rest = data.size() - i;
  for (std::size_t k = 0; k < rest; ++k) last = (last << 8) | static_cast<std::uint32_t>(data[i + rest - 1 - k]);
  lo += last;
  mix();
  mix();
  return static_cast<std::uint64_t>(hi) << 32 | lo;
}

Result<BaseBlock> ParseBaseBlock(Bytes data) {
  if (data.size() < kSector)
    return Fail(ErrorCode::kFormat, fmt::format("base block: {} bytes, need 512", data.size()));
  if (!HasSignature(data, 0, "regf")) return Fail(ErrorCode::kFormat, "base block: no 'regf' signature");
  BaseBlock h;
  h.primary_sequence = Le32(data, 4);
  h.secondary_sequence = Le32(data, 8);
  h.last_written = Le64(data, 12);
  h.major_version = Le32(data, 20);
  h.minor_version = Le32(data, 24);
  h.file_type = Le32(data, 28);
  h.root_cell = Le32(data, 36);
  h.hive_bins_size = Le32(data, 40);
  h.clustering_factor = Le32(data, 44);
  h.file_name = Utf16LeToUtf8UntilNul(data.subspan(48, 64));
  h.checksum = Le32(data, kChecksummed);
  const std::uint32_t computed = XorChecksum(data);
  // Windows never stores 0 or 0xFFFFFFFF; it substitutes 1 and 0xFFFFFFFE.
  const std::uint32_t expect = computed == 0 ? 1 : computed == 0xFFFFFFFFu ? 0xFFFFFFFEu : computed;
  h.checksum_ok = h.checksum == expect;
  return h;
}

Result<Hive> Hive::Open(std::vector<std::byte> primary, const std::vector<LogFile>& logs) {
  if (primary.size() > kMaxHiveSize)
    return Fail(ErrorCode::kFormat, fmt::format("hive of {} bytes is larger than regf allows", primary.size()));
  auto header = ParseBaseBlock({primary.data(), primary.size()});
  if (!header) return std::unexpected(header.error());
  if (primary.size() < kBaseBlockSize)
    return Fail(ErrorCode::kFormat, fmt::format("hive: {} bytes, shorter than its base block", primary.size()));
  Hive hive;
  hive.data_ = std::move(primary);
  hive.header_ = *header;
  Recovery& rec = hive.recovery_;
  rec.dirty = header->Dirty();
  if (rec.dirty) {
    std::vector<ParsedLog> parsed;
    // A log may grow the hive, but not past what its pages could fill.
    std::size_t growth_limit = hive.data_.size() + (std::size_t{1} << 20);
    for (const auto& log : logs) growth_limit += 2 * log.data.size();
    growth_limit = std::min(growth_limit, kMaxHiveSize);
    for (const auto& log : logs) {
      auto h = ParseBaseBlock({log.data.data(), log.data.size()});
      if (!h) {
        rec.notes.push_back(fmt::format("{}: not a transaction log ({})", log.name, h.error().message));
        continue;
      }
      if (!h->checksum_ok) {
        rec.notes.push_back(fmt::format("{}: base block checksum is wrong; not used", log.name));
        continue;
      }
      ParsedLog p{&log, *h, {}};
      if (h->file_type == 6) p.entries = ReadLogEntries(log, rec.notes);
      parsed.push_back(std::move(p));
    }
    // A primary whose own base block is bad takes the newest valid log's.
    if (!header->checksum_ok) {
      const ParsedLog* best = nullptr;
      for (const auto& p : parsed)
        if (best == nullptr || p.header.secondary_sequence > best->header.secondary_sequence) best = &p;
      if (best != nullptr) {
        std::copy_n(best->file->data.begin(), kSector, hive.data_.begin());
        Put32(hive.data_, 28, 0);
        Put32(hive.data_, kChecksummed, XorChecksum({hive.data_.data(), kSector}));
        rec.header_from_log = true;
        auto fixed = ParseBaseBlock({hive.data_.data(), hive.data_.size()});
        if (fixed) hive.header_ = *fixed;
        rec.notes.push_back(
            fmt::format("primary base block checksum is wrong; took the base block of {}", best->file->name));
      } else {
        rec.notes.push_back("primary base block checksum is wrong and no valid log base block was given");
      }
    }
    const bool any_new =
        std::any_of(parsed.begin(), parsed.end(), [](const ParsedLog& p) { return p.header.file_type == 6; });
    if (any_new) {
      // Each log holds a run of entries with consecutive sequence numbers,
      // then possibly stale entries from before it was last rotated. Runs
      // not older than the primary are applied in sequence order, .LOG1's
      // and .LOG2's runs continuing each other; a gap before the first run
      // is a partially reconciled primary (its data is already in place).
      const std::uint32_t expect = hive.header_.secondary_sequence;
      struct Run {
        const ParsedLog* log;
        std::vector<const LogEntry*> entries;
      };
      std::vector<Run> runs;
      for (const auto& p : parsed) {
        Run run{&p, {}};
        for (const auto& e : p.entries) {
          if (e.sequence < expect && run.entries.empty()) continue;
          if (!run.entries.empty() && e.sequence != run.entries.back()->sequence + 1) {
            rec.notes.push_back(fmt::format("{}: entry with sequence {} after {} is stale; not applied", p.file->name,
                                            e.sequence, run.entries.back()->sequence));
            break;
          }
          run.entries.push_back(&e);
        }
        if (!run.entries.empty()) runs.push_back(std::move(run));
      }
      std::sort(runs.begin(), runs.end(),
                [](const Run& a, const Run& b) { return a.entries.front()->sequence < b.entries.front()->sequence; });
      if (!runs.empty() && runs.front().entries.front()->sequence != expect)
        rec.notes.push_back(fmt::format("log entries start at sequence {}, not {} (partially reconciled hive)",
                                        runs.front().entries.front()->sequence, expect));
      std::uint32_t bins_size = hive.header_.hive_bins_size;
      bool stop = false;
      for (const auto& run : runs) {
        for (const LogEntry* e : run.entries) {
          // Entries another log already applied (the logs' runs overlap).
          if (!rec.applied.empty() && e->sequence <= rec.applied.back().sequence) continue;
          if (!rec.applied.empty() && e->sequence != rec.applied.back().sequence + 1) {
            rec.notes.push_back(fmt::format("{}: sequence {} does not follow {}; stopped", run.log->file->name,
                                            e->sequence, rec.applied.back().sequence));
            stop = true;
            break;
          }
          const std::size_t need = kBaseBlockSize + std::size_t{e->bins_size};
          if (need > growth_limit) {
            rec.notes.push_back(fmt::format("{}: entry {} claims {} bytes of hive bins; stopped", run.log->file->name,
                                            e->sequence, e->bins_size));
            stop = true;
            break;
          }
          if (hive.data_.size() < need) hive.data_.resize(need);
          for (const auto& [off, page] : e->pages)
            std::copy(page.begin(), page.end(), hive.data_.begin() + static_cast<std::ptrdiff_t>(kBaseBlockSize + off));
          bins_size = e->bins_size;
          rec.applied.push_back(
              {run.log->file->name, e->sequence, static_cast<std::uint32_t>(e->pages.size()), e->bytes});
        }
        if (stop) break;
      }
      if (!rec.applied.empty()) {
        rec.format = "new";
        const std::uint32_t seq = rec.applied.back().sequence + 1;
        Put32(hive.data_, 4, seq);
        Put32(hive.data_, 8, seq);
        Put32(hive.data_, 40, bins_size);
        Put32(hive.data_, kChecksummed, XorChecksum({hive.data_.data(), kSector}));
      } else {
        rec.notes.push_back("no new-format log entries at or after the primary's sequence number");
      }
    } else {
      // Old format: the log whose timestamp is the primary's.
      for (const auto& p : parsed) {
        if (p.header.file_type != 1 && p.header.file_type != 2) continue;
        const Bytes b(p.file->data.data(), p.file->data.size());
        if (p.header.last_written != hive.header_.last_written ||
            p.header.primary_sequence != p.header.secondary_sequence) {
          rec.notes.push_back(
              fmt::format("{}: timestamp or sequence numbers do not match the primary; not used", p.file->name));
          continue;
        }
        const std::size_t vector_at = kSector * std::max<std::uint32_t>(1, p.header.clustering_factor);
        if (!HasSignature(b, vector_at, "DIRT")) {
          rec.notes.push_back(fmt::format("{}: no dirty vector (DIRT) at 0x{:x}; not used", p.file->name, vector_at));
          continue;
        }
        const std::size_t bits = p.header.hive_bins_size / kSector;
        const std::size_t bitmap_bytes = (bits + 7) / 8;
        if (bitmap_bytes > b.size() - vector_at - 4) {
          rec.notes.push_back(fmt::format("{}: dirty vector runs past the log; not used", p.file->name));
          continue;
        }
        std::size_t page_at = (vector_at + 4 + bitmap_bytes + kSector - 1) / kSector * kSector;
        const std::size_t need = kBaseBlockSize + std::size_t{p.header.hive_bins_size};
        if (need > growth_limit) {
          rec.notes.push_back(
              fmt::format("{}: claims {} bytes of hive bins; not used", p.file->name, p.header.hive_bins_size));
          continue;
        }
        if (hive.data_.size() < need) hive.data_.resize(need);
        AppliedLogEntry applied{p.file->name, p.header.secondary_sequence, 0, 0};
        for (std::size_t bit = 0; bit < bits; ++bit) {
          const auto byte = static_cast<unsigned>(b[vector_at + 4 + bit / 8]);
          if ((byte >> (bit % 8) & 1u) == 0) continue;
          if (page_at + kSector > b.size()) {
            rec.notes.push_back(fmt::format("{}: dirty page {} is missing from the log; stopped", p.file->name, bit));
            break;
          }
          std::copy_n(b.begin() + static_cast<std::ptrdiff_t>(page_at), kSector,
                      hive.data_.begin() + static_cast<std::ptrdiff_t>(kBaseBlockSize + bit * kSector));
          page_at += kSector;
          ++applied.pages;
          applied.bytes += kSector;
        }
        rec.applied.push_back(applied);
        rec.format = "old";
        Put32(hive.data_, 4, p.header.secondary_sequence);
        Put32(hive.data_, 8, p.header.secondary_sequence);
        Put32(hive.data_, 40, p.header.hive_bins_size);
        Put32(hive.data_, kChecksummed, XorChecksum({hive.data_.data(), kSector}));
        break;
      }
    }
    if (!rec.applied.empty()) {
      auto fixed = ParseBaseBlock({hive.data_.data(), hive.data_.size()});
      if (fixed) hive.header_ = *fixed;
    }
  }
  const std::size_t declared = kBaseBlockSize + std::size_t{hive.header_.hive_bins_size};
  hive.bins_end_ = hive.header_.hive_bins_size == 0 ? hive.data_.size() : std::min(hive.data_.size(), declared);
  auto root = hive.Root();
  if (!root) return std::unexpected(root.error());
  return hive;
}

Result<Bytes> Hive::Cell(std::uint32_t offset, std::string_view what) const {
  const Bytes all(data_.data(), bins_end_);
  const std::size_t at = kBaseBlockSize + std::size_t{offset};
  if (offset == kNoCell || at + 4 > all.size())
    return Fail(ErrorCode::kFormat, fmt::format("{} cell 0x{:x} is outside the hive bins data", what, offset));
  const auto raw = static_cast<std::int32_t>(Le32(all, at));
  const std::uint64_t size = raw < 0 ? -static_cast<std::int64_t>(raw) : static_cast<std::int64_t>(raw);
  if (size < 4 || size > all.size() - at)
    return Fail(ErrorCode::kFormat, fmt::format("{} cell 0x{:x} has an impossible size {}", what, offset, raw));
  return all.subspan(at + 4, size - 4);
}

Result<Key> Hive::Root() const {
  auto k = KeyAt(header_.root_cell);
  if (!k) return Fail(ErrorCode::kFormat, fmt::format("root key: {}", k.error().message));
  return k;
}

Result<Key> Hive::KeyAt(std::uint32_t cell) const {
  auto c = Cell(cell, "key");
  if (!c) return std::unexpected(c.error());
  const Bytes b = *c;
  if (b.size() < 76 || !HasSignature(b, 0, "nk"))
    return Fail(ErrorCode::kFormat, fmt::format("key cell 0x{:x} is not a key node (nk)", cell));
  Key k;
  k.cell = cell;
  k.flags = Le16(b, 2);
  k.last_written = Le64(b, 4);
  k.parent = Le32(b, 16);
  k.subkey_count = Le32(b, 20);
  k.subkey_list = Le32(b, 28);
  k.value_count = Le32(b, 36);
  k.value_list = Le32(b, 40);
  k.class_cell = Le32(b, 48);
  const std::uint16_t name_len = Le16(b, 72);
  k.class_length = Le16(b, 74);
  if (name_len > b.size() - 76)
    return Fail(ErrorCode::kFormat,
                fmt::format("key cell 0x{:x}: name of {} bytes runs past the cell", cell, name_len));
  k.name = DecodeName(b.subspan(76, name_len), (k.flags & 0x20) != 0);
  return k;
}

Result<void> Hive::CollectSubkeys(std::uint32_t list, int depth, std::vector<std::uint32_t>& out) const {
  // A key node takes at least 80 bytes: a list naming more keys than the
  // hive could hold repeats itself (a cheap way to make a walk slow).
  const std::size_t cap = std::min<std::size_t>(kMaxListEntries, bins_end_ / 80 + 1);
  auto c = Cell(list, "subkey list");
  if (!c) return std::unexpected(c.error());
  const Bytes b = *c;
  if (b.size() < 4) return Fail(ErrorCode::kFormat, fmt::format("subkey list cell 0x{:x} is too small", list));
  const std::uint16_t n = Le16(b, 2);
  const bool ri = HasSignature(b, 0, "ri");
  const bool li = HasSignature(b, 0, "li");
  const bool hashed = HasSignature(b, 0, "lf") || HasSignature(b, 0, "lh");
  if (!ri && !li && !hashed)
    return Fail(ErrorCode::kFormat, fmt::format("subkey list cell 0x{:x} has no lf/lh/li/ri signature", list));
  const std::size_t stride = hashed ? 8 : 4;
  if (std::size_t{n} * stride > b.size() - 4)
    return Fail(ErrorCode::kFormat, fmt::format("subkey list cell 0x{:x}: {} elements run past the cell", list, n));
  std::set<std::uint32_t> leaves;  // an index root naming one list twice
  for (std::uint16_t i = 0; i < n; ++i) {
    const std::uint32_t target = Le32(b, 4 + i * stride);
    if (ri) {
      if (depth > 0)
        return Fail(ErrorCode::kFormat, fmt::format("index root 0x{:x} points to another index root", list));
      if (!leaves.insert(target).second)
        return Fail(ErrorCode::kFormat, fmt::format("index root 0x{:x} names list 0x{:x} twice", list, target));
      TRAWL_TRY_VOID(CollectSubkeys(target, depth + 1, out));
    } else {
      if (out.size() >= cap)
        return Fail(ErrorCode::kFormat, fmt::format("subkey list cell 0x{:x}: more than {} subkeys", list, cap));
      out.push_back(target);
    }
  }
  return {};
}

Result<std::vector<Key>> Hive::Subkeys(const Key& key, std::vector<std::string>* bad) const {
  std::vector<Key> out;
  if (key.subkey_count == 0 || key.subkey_list == kNoCell) return out;
  std::vector<std::uint32_t> cells;
  TRAWL_TRY_VOID(CollectSubkeys(key.subkey_list, 0, cells));
  std::set<std::uint32_t> seen;
  out.reserve(cells.size());
  for (std::uint32_t c : cells) {
    if (c == key.cell || !seen.insert(c).second)
      return Fail(ErrorCode::kFormat, fmt::format("key 0x{:x}: subkey list repeats cell 0x{:x}", key.cell, c));
    auto k = KeyAt(c);
    if (!k) {
      if (bad == nullptr) return std::unexpected(k.error());
      bad->push_back(k.error().message);
      continue;
    }
    out.push_back(std::move(*k));
  }
  return out;
}

Result<Value> Hive::ValueAt(std::uint32_t cell) const {
  auto c = Cell(cell, "value");
  if (!c) return std::unexpected(c.error());
  const Bytes b = *c;
  if (b.size() < 20 || !HasSignature(b, 0, "vk"))
    return Fail(ErrorCode::kFormat, fmt::format("value cell 0x{:x} is not a key value (vk)", cell));
  Value v;
  v.cell = cell;
  const std::uint16_t name_len = Le16(b, 2);
  const std::uint32_t raw_size = Le32(b, 4);
  const std::uint32_t data_off = Le32(b, 8);
  v.type = Le32(b, 12);
  const std::uint16_t flags = Le16(b, 16);
  if (name_len > b.size() - 20)
    return Fail(ErrorCode::kFormat,
                fmt::format("value cell 0x{:x}: name of {} bytes runs past the cell", cell, name_len));
  v.name = DecodeName(b.subspan(20, name_len), (flags & 1) != 0);
  const bool inline_data = (raw_size & 0x80000000u) != 0;
  v.declared_size = raw_size & 0x7FFFFFFFu;
  if (inline_data) {
    const std::uint32_t n = std::min<std::uint32_t>(v.declared_size, 4);
    const Bytes field = b.subspan(8, 4);
    v.data.assign(field.begin(), field.begin() + n);
    if (v.declared_size > 4) v.error = fmt::format("inline data of {} bytes (4 at most); kept 4", v.declared_size);
    return v;
  }
  if (v.declared_size == 0) return v;
  if (v.declared_size > kMaxDataSize) {
    v.error = fmt::format("data size {} is beyond the {} bytes read", v.declared_size, kMaxDataSize);
    return v;
  }
  auto data = Cell(data_off, "value data");
  if (!data) {
    v.error = data.error().message;
    return v;
  }
  const Bytes d = *data;
  const bool big =
      v.declared_size > kBigDataSegment && header_.minor_version > 3 && d.size() >= 8 && HasSignature(d, 0, "db");
  if (!big) {
    const std::size_t n = std::min<std::size_t>(d.size(), v.declared_size);
    v.data.assign(d.begin(), d.begin() + static_cast<std::ptrdiff_t>(n));
    if (n < v.declared_size)
      v.error = fmt::format("data cell 0x{:x} holds {} of {} bytes", data_off, n, v.declared_size);
    return v;
  }
  const std::uint16_t segments = Le16(d, 2);
  auto list = Cell(Le32(d, 4), "big data segment list");
  if (!list || std::size_t{segments} * 4 > list->size()) {
    v.error = list ? fmt::format("big data 0x{:x}: {} segments run past the list cell", data_off, segments)
                   : list.error().message;
    return v;
  }
  v.data.reserve(v.declared_size);
  for (std::uint16_t i = 0; i < segments && v.data.size() < v.declared_size; ++i) {
    auto seg = Cell(Le32(*list, std::size_t{i} * 4), "big data segment");
    if (!seg) {
      v.error = seg.error().message;
      break;
    }
    const std::size_t want = std::min<std::size_t>({seg->size(), kBigDataSegment, v.declared_size - v.data.size()});
    v.data.insert(v.data.end(), seg->begin(), seg->begin() + static_cast<std::ptrdiff_t>(want));
  }
  if (v.error.empty() && v.data.size() < v.declared_size)
    v.error = fmt::format("big data 0x{:x} holds {} of {} bytes", data_off, v.data.size(), v.declared_size);
  return v;
}

Result<std::vector<Value>> Hive::Values(const Key& key, std::vector<std::string>* bad) const {
  std::vector<Value> out;
  if (key.value_count == 0 || key.value_list == kNoCell) return out;
  if (key.value_count > kMaxListEntries)
    return Fail(ErrorCode::kFormat, fmt::format("key 0x{:x}: {} values is impossible", key.cell, key.value_count));
  auto list = Cell(key.value_list, "value list");
  if (!list) return std::unexpected(list.error());
  if (std::size_t{key.value_count} * 4 > list->size())
    return Fail(ErrorCode::kFormat,
                fmt::format("value list 0x{:x}: {} values run past the cell", key.value_list, key.value_count));
  out.reserve(key.value_count);
  for (std::uint32_t i = 0; i < key.value_count; ++i) {
    auto v = ValueAt(Le32(*list, std::size_t{i} * 4));
    if (!v) {
      if (bad == nullptr) return std::unexpected(v.error());
      bad->push_back(v.error().message);
      continue;
    }
    out.push_back(std::move(*v));
  }
  return out;
}

Result<std::optional<Key>> Hive::Subkey(const Key& key, std::string_view name) const {
  std::vector<std::string> bad;  // a damaged sibling does not hide the one asked for
  auto subs = Subkeys(key, &bad);
  if (!subs) return std::unexpected(subs.error());
  for (auto& k : *subs)
    if (NamesEqual(k.name, name)) return std::optional<Key>(std::move(k));
  return std::optional<Key>();
}

Result<std::optional<Key>> Hive::Find(std::string_view path) const {
  auto root = Root();
  if (!root) return std::unexpected(root.error());
  return Find(*root, path);
}

Result<std::optional<Key>> Hive::Find(const Key& from, std::string_view path) const {
  Key cur = from;
  while (!path.empty()) {
    const auto sep = path.find('\\');
    const std::string_view part = path.substr(0, sep);
    path = sep == std::string_view::npos ? std::string_view() : path.substr(sep + 1);
    if (part.empty()) continue;
    auto next = Subkey(cur, part);
    if (!next) return std::unexpected(next.error());
    if (!*next) return std::optional<Key>();
    cur = std::move(**next);
  }
  return std::optional<Key>(std::move(cur));
}

Result<std::optional<Value>> Hive::GetValue(const Key& key, std::string_view name) const {
  std::vector<std::string> bad;
  auto values = Values(key, &bad);
  if (!values) return std::unexpected(values.error());
  for (auto& v : *values)
    if (NamesEqual(v.name, name)) return std::optional<Value>(std::move(v));
  return std::optional<Value>();
}

Result<std::string> Hive::ClassName(const Key& key) const {
  if (key.class_cell == kNoCell || key.class_length == 0) return std::string();
  auto c = Cell(key.class_cell, "class name");
  if (!c) return std::unexpected(c.error());
  if (key.class_length > c->size())
    return Fail(ErrorCode::kFormat,
                fmt::format("class name cell 0x{:x}: {} bytes run past the cell", key.class_cell, key.class_length));
  return Utf16LeToUtf8(c->subspan(0, key.class_length));
}

std::string ValueString(const Value& v) {
  if (v.type != kRegSz && v.type != kRegExpandSz && v.type != kRegLink && v.type != kRegMultiSz) return {};
  return Utf16LeToUtf8UntilNul({v.data.data(), v.data.size() & ~std::size_t{1}});
}

std::vector<std::string> ValueMultiString(const Value& v) {
  // NUL-terminated strings; an empty string ends the list, and text left
  // without a terminator at the end of the data is kept.
  std::vector<std::string> out;
  const Bytes b(v.data.data(), v.data.size() & ~std::size_t{1});
  std::size_t start = 0;
  for (std::size_t i = 0; i < b.size(); i += 2) {
    if (b[i] != std::byte{0} || b[i + 1] != std::byte{0}) continue;
    if (i == start) return out;
    out.push_back(Utf16LeToUtf8(b.subspan(start, i - start)));
    start = i + 2;
  }
  if (start < b.size()) out.push_back(Utf16LeToUtf8(b.subspan(start)));
  return out;
}

std::optional<std::uint64_t> ValueInteger(const Value& v) {
  const Bytes b(v.data.data(), v.data.size());
  if ((v.type == kRegDword || v.type == kRegDwordBigEndian) && b.size() >= 4) {
    const std::uint32_t x = Le32(b, 0);
    return v.type == kRegDword ? x : std::byteswap(x);
  }
  if (v.type == kRegQword && b.size() >= 8) return Le64(b, 0);
  return std::nullopt;
}

std::string_view TypeName(std::uint32_t type) {
  static constexpr std::string_view kNames[] = {"REG_NONE",
                                                "REG_SZ",
                                                "REG_EXPAND_SZ",
                                                "REG_BINARY",
                                                "REG_DWORD",
                                                "REG_DWORD_BIG_ENDIAN",
                                                "REG_LINK",
                                                "REG_MULTI_SZ",
                                                "REG_RESOURCE_LIST",
                                                "REG_FULL_RESOURCE_DESCRIPTOR",
                                                "REG_RESOURCE_REQUIREMENTS_LIST",
                                                "REG_QWORD"};
  return type < std::size(kNames) ? kNames[type] : std::string_view();
}

}  // namespace trawl::core::formats::regf
