// SPDX-License-Identifier: Apache-2.0
#include "core/formats/ntfs.h"

#include <algorithm>
#include <cstring>
#include <set>
#include <utility>

#include <fmt/format.h>

#include "core/formats/lznt1.h"
#include "core/util/text.h"

namespace trawl::core::formats::ntfs {
namespace {

constexpr std::uint32_t kFixupStride = 512;  // NTFS_BLOCK_SIZE: update sequences protect 512-byte strides
constexpr std::uint16_t kRecordInUse = 0x0001;
constexpr std::uint16_t kRecordDirectory = 0x0002;
constexpr std::uint16_t kAttrFlagCompressed = 0x0001;
constexpr std::uint16_t kAttrFlagEncrypted = 0x4000;
constexpr std::uint16_t kAttrFlagSparse = 0x8000;
constexpr std::uint32_t kIndexEntryHasSubnode = 0x01;
constexpr std::uint32_t kIndexEntryLast = 0x02;
constexpr std::uint32_t kReparseMountPoint = 0xA0000003;
constexpr std::uint32_t kReparseSymlink = 0xA000000C;
constexpr std::uint64_t kRefNumberMask = 0x0000FFFFFFFFFFFFULL;

// Little-endian reads at offsets the callers have checked against `b`.
std::uint16_t Get16(Bytes b, std::size_t o) { return ByteReader(b).U16Unchecked(o); }
std::uint32_t Get32(Bytes b, std::size_t o) { return ByteReader(b).U32Unchecked(o); }
std::uint64_t Get64(Bytes b, std::size_t o) { return ByteReader(b).U64Unchecked(o); }

std::u16string Utf16Of(Bytes b) {
  std::u16string s(b.size() / 2, u'\0');
  for (std::size_t i = 0; i < s.size(); ++i) s[i] = static_cast<char16_t>(Get16(b, i * 2));
  return s;
}

// Size from a boot-sector "clusters per record" byte: positive = clusters,
// negative = 2^-v bytes.
std::uint64_t RecordSizeFrom(std::int8_t v, std::uint32_t cluster_size) {
  if (v > 0) return static_cast<std::uint64_t>(v) * cluster_size;
  if (v < 0 && v >= -31) return 1ULL << static_cast<unsigned>(-v);
  return 0;
}

bool ParseTimes(Bytes b, std::size_t o, Times& t) {
  if (o + 32 > b.size()) return false;
  t.created = Get64(b, o);
  t.modified = Get64(b, o + 8);
  t.mft_modified = Get64(b, o + 16);
  t.accessed = Get64(b, o + 24);
  return true;
}

Result<FileName> ParseFileName(Bytes v, std::string_view where) {
  if (v.size() < 0x42)
    return Fail(ErrorCode::kFormat, fmt::format("{}: $FILE_NAME of {} bytes is too short", where, v.size()));
  FileName fn;
  const std::uint64_t ref = Get64(v, 0);
  fn.parent = ref & kRefNumberMask;
  fn.parent_sequence = static_cast<std::uint16_t>(ref >> 48);
  ParseTimes(v, 8, fn.times);
  fn.allocated_size = Get64(v, 0x28);
  fn.real_size = Get64(v, 0x30);
  fn.flags = Get32(v, 0x38);
  const std::size_t len = std::to_integer<std::size_t>(v[0x40]);
  fn.name_space = std::to_integer<std::uint8_t>(v[0x41]);
  if (0x42 + len * 2 > v.size()) {
    return Fail(ErrorCode::kFormat,
                fmt::format("{}: $FILE_NAME name of {} characters runs past its {} bytes", where, len, v.size()));
  }
  fn.name = Utf16Of(v.subspan(0x42, len * 2));
  return fn;
}

Reparse ParseReparse(Bytes v) {
  Reparse r;
  if (v.size() < 8) return r;
  r.tag = Get32(v, 0);
  r.kind = r.tag == kReparseMountPoint ? "junction" : r.tag == kReparseSymlink ? "symlink" : "other";
  if (r.tag != kReparseMountPoint && r.tag != kReparseSymlink) return r;
  const std::size_t data_len = Get16(v, 4);
  Bytes data = v.subspan(8, std::min(data_len, v.size() - 8));
  if (data.size() < 8) return r;
  const std::size_t sub_off = Get16(data, 0), sub_len = Get16(data, 2), print_off = Get16(data, 4),
                    print_len = Get16(data, 6);
  const std::size_t buf_start = r.tag == kReparseSymlink ? 12 : 8;
  if (buf_start > data.size()) return r;
  Bytes path = data.subspan(buf_start);
  auto take = [&](std::size_t off, std::size_t len) -> std::string {
    if (off > path.size() || len > path.size() - off) return {};
    return Utf16LeToUtf8(path.subspan(off, len));
  };
  r.target = take(print_off, print_len);
  if (r.target.empty()) r.target = take(sub_off, sub_len);
  return r;
}

// Reads `buf.size()` bytes at byte `offset` of a non-resident attribute
// through its runs; sparse runs and unmapped VCNs inside the allocation read
// as zeros only when `zero_unmapped` (sparse streams), else an unmapped VCN
// is an error.
Result<void> ReadThroughRuns(const Volume& vol, const std::vector<Run>& runs, std::uint64_t offset,
                             std::span<std::byte> buf, std::string_view what) {
  const std::uint64_t cs = vol.boot().cluster_size;
  std::size_t done = 0;
  while (done < buf.size()) {
    const std::uint64_t pos = offset + done;
    const std::uint64_t vcn = pos / cs;
    auto it = std::upper_bound(runs.begin(), runs.end(), vcn, [](std::uint64_t v, const Run& r) { return v < r.vcn; });
    if (it == runs.begin()) return Fail(ErrorCode::kFormat, fmt::format("{}: no run maps VCN {}", what, vcn));
    --it;
    if (vcn - it->vcn >= it->length) return Fail(ErrorCode::kFormat, fmt::format("{}: no run maps VCN {}", what, vcn));
    const std::uint64_t run_end = (it->vcn + it->length) * cs;
    const std::size_t n = static_cast<std::size_t>(std::min<std::uint64_t>(buf.size() - done, run_end - pos));
    if (it->lcn < 0) {
      std::memset(buf.data() + done, 0, n);
    } else {
      const std::uint64_t disk = static_cast<std::uint64_t>(it->lcn) * cs + (pos - it->vcn * cs);
      TRAWL_TRY_VOID(vol.source().ReadExact(disk, buf.subspan(done, n), what));
    }
    done += n;
  }
  return {};
}

// Joins the fragments of non-resident attributes (same type and name) into
// the fragment starting at VCN 0, runs sorted by VCN.
void JoinFragments(std::vector<Attribute>& attrs, std::vector<std::string>& problems) {
  std::vector<Attribute> out;
  std::vector<Attribute> tails;
  for (auto& a : attrs) {
    if (!a.resident && a.start_vcn != 0) {
      tails.push_back(std::move(a));
    } else {
      out.push_back(std::move(a));
    }
  }
  std::sort(tails.begin(), tails.end(),
            [](const Attribute& x, const Attribute& y) { return x.start_vcn < y.start_vcn; });
  for (auto& t : tails) {
    auto head = std::find_if(out.begin(), out.end(), [&](const Attribute& h) {
      return !h.resident && h.start_vcn == 0 && h.type == t.type && h.name == t.name;
    });
    if (head == out.end()) {
      problems.push_back(fmt::format("attribute 0x{:x} fragment at VCN {} has no first fragment", t.type, t.start_vcn));
      continue;
    }
    const std::uint64_t expected = head->runs.empty() ? 0 : head->runs.back().vcn + head->runs.back().length;
    if (t.start_vcn != expected) {
      problems.push_back(fmt::format("attribute 0x{:x} fragment starts at VCN {}, previous ends at {}", t.type,
                                     t.start_vcn, expected));
      continue;
    }
    head->runs.insert(head->runs.end(), t.runs.begin(), t.runs.end());
    head->last_vcn = t.last_vcn;
  }
  attrs = std::move(out);
}

}  // namespace

// ---- pure parsing ----------------------------------------------------------

Result<BootSector> ParseBootSector(Bytes s) {
  if (s.size() < 512) return Fail(ErrorCode::kTruncated, fmt::format("NTFS boot sector: {} bytes, need 512", s.size()));
  if (std::memcmp(s.data() + 3, "NTFS    ", 8) != 0) {
    return Fail(ErrorCode::kFormat, "NTFS boot sector: no 'NTFS    ' OEM id at offset 3 (not an NTFS volume)");
  }
  BootSector b;
  b.bytes_per_sector = Get16(s, 0x0B);
  if (b.bytes_per_sector < 256 || b.bytes_per_sector > 4096 || (b.bytes_per_sector & (b.bytes_per_sector - 1)) != 0) {
    return Fail(ErrorCode::kFormat,
                fmt::format("NTFS boot sector: bytes per sector {} at 0x0B is invalid", b.bytes_per_sector));
  }
  const unsigned spc = std::to_integer<unsigned>(s[0x0D]);
  std::uint64_t sectors_per_cluster = 0;
  if (spc == 0) {
    sectors_per_cluster = 0;
  } else if (spc <= 0x80) {
    sectors_per_cluster = spc;
  } else if (256 - spc <= 20) {
    sectors_per_cluster = 1ULL << (256 - spc);
  }
  const std::uint64_t cs = sectors_per_cluster * b.bytes_per_sector;
  if (cs == 0 || (cs & (cs - 1)) != 0 || cs > (1ULL << 21)) {
    return Fail(ErrorCode::kFormat,
                fmt::format("NTFS boot sector: sectors per cluster byte 0x{:02x} at 0x0D is invalid", spc));
  }
  b.cluster_size = static_cast<std::uint32_t>(cs);
  b.total_sectors = Get64(s, 0x28);
  b.mft_lcn = Get64(s, 0x30);
  b.mftmirr_lcn = Get64(s, 0x38);
  const std::uint64_t rs = RecordSizeFrom(static_cast<std::int8_t>(std::to_integer<int>(s[0x40])), b.cluster_size);
  const std::uint64_t is = RecordSizeFrom(static_cast<std::int8_t>(std::to_integer<int>(s[0x44])), b.cluster_size);
  if (rs < 512 || rs > 65536 || (rs & (rs - 1)) != 0) {
    return Fail(ErrorCode::kFormat, fmt::format("NTFS boot sector: MFT record size {} (byte 0x40) is invalid", rs));
  }
  if (is < 512 || is > 65536 || (is & (is - 1)) != 0) {
    return Fail(ErrorCode::kFormat, fmt::format("NTFS boot sector: index block size {} (byte 0x44) is invalid", is));
  }
  b.mft_record_size = static_cast<std::uint32_t>(rs);
  b.index_block_size = static_cast<std::uint32_t>(is);
  b.serial = Get64(s, 0x48);
  if (b.total_sectors == 0 || b.mft_lcn >= b.cluster_count()) {
    return Fail(ErrorCode::kFormat,
                fmt::format("NTFS boot sector: MFT cluster {} lies outside the volume's {} clusters", b.mft_lcn,
                            b.cluster_count()));
  }
  return b;
}

Result<void> ApplyFixups(std::span<std::byte> rec, std::uint32_t /*sector_size*/, std::string_view what) {
  if (rec.size() < 8 || rec.size() % kFixupStride != 0) {
    return Fail(ErrorCode::kFormat, fmt::format("{}: record size {} is not a multiple of 512", what, rec.size()));
  }
  const Bytes b(rec.data(), rec.size());
  const std::size_t usa_off = Get16(b, 4), usa_count = Get16(b, 6);
  const std::size_t strides = rec.size() / kFixupStride;
  if (usa_count == 0 || usa_count - 1 > strides || usa_off % 2 != 0 || usa_off + usa_count * 2 > rec.size()) {
    return Fail(ErrorCode::kFormat,
                fmt::format("{}: update sequence array (offset {}, {} entries) does not fit the record", what, usa_off,
                            usa_count));
  }
  const std::uint16_t usn = Get16(b, usa_off);
  for (std::size_t i = 1; i < usa_count; ++i) {
    const std::size_t end = i * kFixupStride - 2;
    if (Get16(b, end) != usn) {
      return Fail(ErrorCode::kFormat,
                  fmt::format("{}: update sequence mismatch at offset {} (torn write or not a record)", what, end));
    }
    rec[end] = rec[usa_off + i * 2];
    rec[end + 1] = rec[usa_off + i * 2 + 1];
  }
  return {};
}

Result<std::vector<Run>> DecodeRunlist(Bytes p, std::uint64_t start_vcn, std::uint64_t cluster_count) {
  std::vector<Run> runs;
  std::uint64_t vcn = start_vcn;
  std::int64_t lcn = 0;
  std::size_t i = 0;
  while (i < p.size()) {
    const unsigned header = std::to_integer<unsigned>(p[i]);
    if (header == 0) return runs;
    const unsigned len_size = header & 0x0F, off_size = header >> 4;
    if (len_size == 0 || len_size > 8 || off_size > 8 || i + 1 + len_size + off_size > p.size()) {
      return Fail(ErrorCode::kFormat, fmt::format("runlist: bad pair header 0x{:02x} at offset {}", header, i));
    }
    std::uint64_t length = 0;
    for (unsigned k = 0; k < len_size; ++k) length |= std::to_integer<std::uint64_t>(p[i + 1 + k]) << (8 * k);
    std::int64_t delta = 0;
    if (off_size > 0) {
      std::uint64_t u = 0;
      for (unsigned k = 0; k < off_size; ++k) u |= std::to_integer<std::uint64_t>(p[i + 1 + len_size + k]) << (8 * k);
      if (off_size < 8 && (u >> (8 * off_size - 1)) & 1) u |= ~0ULL << (8 * off_size);  // sign-extend
      delta = static_cast<std::int64_t>(u);
    }
    if (length == 0 || length > (1ULL << 48) || vcn + length < vcn) {
      return Fail(ErrorCode::kFormat, fmt::format("runlist: run length {} at offset {} is invalid", length, i));
    }
    Run r{vcn, length, -1};
    if (off_size > 0) {
      if ((delta > 0 && lcn > INT64_MAX - delta) || (delta < 0 && lcn < INT64_MIN - delta)) {
        return Fail(ErrorCode::kFormat, fmt::format("runlist: cluster offset overflows at offset {}", i));
      }
      lcn += delta;
      if (lcn < 0 || (cluster_count != 0 && (static_cast<std::uint64_t>(lcn) >= cluster_count ||
                                             length > cluster_count - static_cast<std::uint64_t>(lcn)))) {
        return Fail(ErrorCode::kFormat,
                    fmt::format("runlist: run of {} clusters at cluster {} (offset {}) lies outside "
                                "the volume's {} clusters",
                                length, lcn, i, cluster_count));
      }
      r.lcn = lcn;
    }
    runs.push_back(r);
    vcn += length;
    i += 1 + len_size + off_size;
    if (runs.size() > (1u << 22)) return Fail(ErrorCode::kLimit, "runlist: more than 4 Mi runs");
  }
  return Fail(ErrorCode::kFormat, "runlist: no terminating zero byte");
}

Result<Entry> ParseRecord(Bytes rec, std::uint64_t number) {
  const std::string where = fmt::format("MFT entry {}", number);
  if (rec.size() < 0x30) return Fail(ErrorCode::kTruncated, fmt::format("{}: record of {} bytes", where, rec.size()));
  if (std::memcmp(rec.data(), "FILE", 4) != 0) {
    return Fail(ErrorCode::kFormat,
                fmt::format("{}: no FILE signature ({})", where,
                            std::memcmp(rec.data(), "BAAD", 4) == 0 ? "BAAD: torn write" : "unused or damaged"));
  }
  Entry e;
  e.number = number;
  e.sequence = Get16(rec, 0x10);
  e.link_count = Get16(rec, 0x12);
  const std::size_t first = Get16(rec, 0x14);
  const std::uint16_t flags = Get16(rec, 0x16);
  e.in_use = (flags & kRecordInUse) != 0;
  e.directory = (flags & kRecordDirectory) != 0;
  const std::size_t used = std::min<std::size_t>(Get32(rec, 0x18), rec.size());
  e.base_record = Get64(rec, 0x20) & kRefNumberMask;
  if (first < 0x18 || first >= used) {
    return Fail(ErrorCode::kFormat,
                fmt::format("{}: first attribute offset {} outside the used {} bytes", where, first, used));
  }
  std::size_t off = first;
  for (int count = 0; off + 4 <= used; ++count) {
    const std::uint32_t type = Get32(rec, off);
    if (type == kAttrEnd) break;
    if (count > 1024 || off + 0x10 > used) {
      e.problems.push_back(fmt::format("{}: attribute header at offset {} runs past the record", where, off));
      break;
    }
    const std::uint32_t len = Get32(rec, off + 4);
    if (len < 0x18 || len % 8 != 0 || len > used - off) {
      e.problems.push_back(fmt::format("{}: attribute 0x{:x} at offset {} has bad length {}", where, type, off, len));
      break;
    }
    Bytes a = rec.subspan(off, len);
    Attribute attr;
    attr.type = type;
    attr.resident = std::to_integer<unsigned>(a[8]) == 0;
    const std::size_t name_len = std::to_integer<std::size_t>(a[9]);
    const std::size_t name_off = Get16(a, 0x0A);
    attr.flags = Get16(a, 0x0C);
    attr.id = Get16(a, 0x0E);
    if (name_len > 0) {
      if (name_off + name_len * 2 > len) {
        e.problems.push_back(fmt::format("{}: attribute 0x{:x} name runs past the attribute", where, type));
        off += len;
        continue;
      }
      attr.name = Utf16Of(a.subspan(name_off, name_len * 2));
    }
    bool ok = true;
    if (attr.resident) {
      const std::size_t vlen = Get32(a, 0x10), voff = Get16(a, 0x14);
      if (voff > len || vlen > len - voff) {
        e.problems.push_back(fmt::format("{}: resident attribute 0x{:x} value ({} bytes at {}) runs past the attribute",
                                         where, type, vlen, voff));
        ok = false;
      } else {
        attr.value.assign(a.begin() + static_cast<std::ptrdiff_t>(voff),
                          a.begin() + static_cast<std::ptrdiff_t>(voff + vlen));
      }
    } else if (len < 0x40) {
      e.problems.push_back(
          fmt::format("{}: non-resident attribute 0x{:x} header too short ({} bytes)", where, type, len));
      ok = false;
    } else {
      attr.start_vcn = Get64(a, 0x10);
      attr.last_vcn = Get64(a, 0x18);
      const std::size_t pairs = Get16(a, 0x20);
      attr.compression_unit = static_cast<std::uint8_t>(std::min<unsigned>(Get16(a, 0x22), 255));
      attr.allocated_size = Get64(a, 0x28);
      attr.data_size = Get64(a, 0x30);
      attr.initialized_size = Get64(a, 0x38);
      if (pairs >= len) {
        e.problems.push_back(
            fmt::format("{}: attribute 0x{:x} runlist offset {} outside the attribute", where, type, pairs));
        ok = false;
      } else if (auto runs = DecodeRunlist(a.subspan(pairs), attr.start_vcn, 0); !runs) {
        e.problems.push_back(fmt::format("{}: attribute 0x{:x}: {}", where, type, runs.error().message));
        ok = false;
      } else {
        attr.runs = std::move(*runs);
      }
    }
    if (ok) {
      if (type == kAttrStandardInformation && attr.resident && attr.value.size() >= 0x24) {
        e.has_si = ParseTimes(attr.value, 0, e.si);
        e.si_flags = Get32(attr.value, 0x20);
      } else if (type == kAttrFileName && attr.resident) {
        if (auto fn = ParseFileName(attr.value, where); fn) {
          e.names.push_back(std::move(*fn));
        } else {
          e.problems.push_back(fn.error().message);
        }
      } else if (type == kAttrReparsePoint && attr.resident) {
        e.reparse = ParseReparse(attr.value);
      } else if (type == kAttrAttributeList) {
        e.has_attribute_list = true;
      }
      e.attributes.push_back(std::move(attr));
    }
    off += len;
  }
  return e;
}

const FileName* Entry::BestName() const {
  const FileName* best = nullptr;
  for (const auto& n : names) {
    if (n.name_space != 2) return &n;
    if (!best) best = &n;
  }
  return best;
}

std::vector<StreamInfo> Entry::Streams() const {
  std::vector<StreamInfo> out;
  for (const auto& a : attributes) {
    if (a.type != kAttrData || (!a.resident && a.start_vcn != 0)) continue;
    StreamInfo s;
    s.name = ToUtf8(a.name);
    s.resident = a.resident;
    s.size = a.resident ? a.value.size() : a.data_size;
    s.allocated_size = a.resident ? 0 : a.allocated_size;
    s.compressed = (a.flags & kAttrFlagCompressed) != 0;
    s.sparse = (a.flags & kAttrFlagSparse) != 0;
    s.encrypted = (a.flags & kAttrFlagEncrypted) != 0;
    out.push_back(std::move(s));
  }
  return out;
}

std::pair<std::string, std::string> SplitStreamPath(const std::string& path) {
  const std::size_t slash = path.find_last_of("/\\");
  const std::size_t colon = path.find(':', slash == std::string::npos ? 0 : slash + 1);
  if (colon == std::string::npos) return {path, ""};
  return {path.substr(0, colon), path.substr(colon + 1)};
}

std::string ToUtf8(const std::u16string& s) {
  std::string bytes(s.size() * 2, '\0');
  for (std::size_t i = 0; i < s.size(); ++i) {
    bytes[2 * i] = static_cast<char>(s[i] & 0xFF);
    bytes[2 * i + 1] = static_cast<char>(s[i] >> 8);
  }
  return Utf16LeToUtf8(AsBytes(bytes));
}

std::u16string FromUtf8(std::string_view s) {
  const std::string le = Utf8ToUtf16Le(s);
  return Utf16Of(AsBytes(le));
}

std::int64_t FiletimeToUnixNs(std::uint64_t ft) {
  constexpr std::uint64_t kEpochDiff = 116444736000000000ULL;  // 1601 -> 1970 in 100 ns
  if (ft == 0) return 0;
  const auto rel = static_cast<std::int64_t>(ft - kEpochDiff);
  if (rel > INT64_MAX / 100 || rel < INT64_MIN / 100) return 0;
  return rel * 100;
}

// ---- streams ---------------------------------------------------------------

StreamReader::StreamReader(const Volume& volume, Attribute attr, std::string what)
    : volume_(volume), attr_(std::move(attr)), what_(std::move(what)) {
  size_ = attr_.resident ? attr_.value.size() : attr_.data_size;
}

Result<std::size_t> StreamReader::Read(std::span<std::byte> buf) {
  auto n = ReadAt(pos_, buf);
  if (n) pos_ += *n;
  return n;
}

Result<std::size_t> StreamReader::ReadAt(std::uint64_t offset, std::span<std::byte> buf) {
  if (offset >= size_) return std::size_t{0};
  const std::size_t n = static_cast<std::size_t>(std::min<std::uint64_t>(buf.size(), size_ - offset));
  buf = buf.first(n);
  if (attr_.resident) {
    std::memcpy(buf.data(), attr_.value.data() + offset, n);
    return n;
  }
  if (attr_.compression_unit != 0 && (attr_.flags & kAttrFlagCompressed) != 0) return ReadCompressed(offset, buf);
  // Bytes past the initialized size read as zeros (Windows' valid data length).
  const std::uint64_t init = std::min(attr_.initialized_size, size_);
  std::size_t live = offset >= init ? 0 : static_cast<std::size_t>(std::min<std::uint64_t>(n, init - offset));
  if (live > 0) TRAWL_TRY_VOID(ReadThroughRuns(volume_, attr_.runs, offset, buf.first(live), what_));
  if (live < n) std::memset(buf.data() + live, 0, n - live);
  return n;
}

Result<std::size_t> StreamReader::ReadCompressed(std::uint64_t offset, std::span<std::byte> buf) {
  const std::uint64_t cs = volume_.boot().cluster_size;
  if (attr_.compression_unit > 8) {
    return Fail(ErrorCode::kUnsupported,
                fmt::format("{}: compression unit 2^{} clusters", what_, attr_.compression_unit));
  }
  const std::uint64_t unit_clusters = 1ULL << attr_.compression_unit;
  const std::uint64_t unit_bytes = unit_clusters * cs;
  if (unit_bytes > (4u << 20))
    return Fail(ErrorCode::kUnsupported, fmt::format("{}: compression unit of {} bytes", what_, unit_bytes));
  std::size_t done = 0;
  while (done < buf.size()) {
    const std::uint64_t pos = offset + done;
    const std::uint64_t unit = pos / unit_bytes;
    if (unit != unit_index_) {
      unit_.assign(unit_bytes, std::byte{0});
      // Allocated clusters of this unit, in VCN order.
      const std::uint64_t first_vcn = unit * unit_clusters;
      std::vector<std::pair<std::int64_t, std::uint64_t>> pieces;  // (lcn, count)
      std::uint64_t allocated = 0;
      for (const auto& r : attr_.runs) {
        const std::uint64_t lo = std::max(r.vcn, first_vcn), hi = std::min(r.vcn + r.length, first_vcn + unit_clusters);
        if (lo >= hi) continue;
        if (r.lcn >= 0) {
          pieces.emplace_back(r.lcn + static_cast<std::int64_t>(lo - r.vcn), hi - lo);
          allocated += hi - lo;
        }
      }
      if (allocated > 0) {
        std::vector<std::byte> raw(allocated * cs);
        std::size_t at = 0;
        for (const auto& [lcn, count] : pieces) {
          TRAWL_TRY_VOID(volume_.ReadClusters(lcn, count, std::span(raw).subspan(at, count * cs)));
          at += count * cs;
        }
        if (allocated == unit_clusters) {
          unit_ = std::move(raw);  // stored uncompressed
        } else {
          auto got = DecompressLznt1(raw, unit_);
          if (!got) {
            return Fail(got.error().code, fmt::format("{}: compression unit {}: {}", what_, unit, got.error().message));
          }
        }
      }
      unit_index_ = unit;
    }
    const std::uint64_t in_unit = pos - unit * unit_bytes;
    const std::size_t n = static_cast<std::size_t>(std::min<std::uint64_t>(buf.size() - done, unit_bytes - in_unit));
    std::memcpy(buf.data() + done, unit_.data() + in_unit, n);
    done += n;
  }
  return done;
}

// ---- volume ----------------------------------------------------------------

Result<std::unique_ptr<Volume>> Volume::Open(const ReadAtSource& source, VolumeLimits limits) {
  std::vector<std::byte> sector(512);
  TRAWL_TRY_VOID(source.ReadExact(0, sector, "NTFS boot sector"));
  auto boot = ParseBootSector(sector);
  if (!boot) return std::unexpected(boot.error().WithContext(source.Name()));
  if (boot->volume_size() > source.Size() + boot->bytes_per_sector) {
    // Windows puts the backup boot sector one sector past total_sectors;
    // anything larger means a truncated image. Reads are still checked.
  }
  std::unique_ptr<Volume> v(new Volume(source, *boot, limits));
  TRAWL_TRY_VOID(v->LoadMft());
  v->LoadUpCase();
  return v;
}

Result<void> Volume::ReadClusters(std::int64_t lcn, std::uint64_t count, std::span<std::byte> buf) const {
  if (lcn < 0 || static_cast<std::uint64_t>(lcn) >= boot_.cluster_count() ||
      count > boot_.cluster_count() - static_cast<std::uint64_t>(lcn) || buf.size() != count * boot_.cluster_size) {
    return Fail(ErrorCode::kFormat,
                fmt::format("{}: clusters {}+{} lie outside the volume", source_.Name(), lcn, count));
  }
  return source_.ReadExact(static_cast<std::uint64_t>(lcn) * boot_.cluster_size, buf, "clusters");
}

Result<std::vector<std::byte>> Volume::ReadRecordAt(std::uint64_t number, const std::vector<Run>& runs) const {
  std::vector<std::byte> rec(boot_.mft_record_size);
  const std::string what = fmt::format("MFT entry {}", number);
  TRAWL_TRY_VOID(ReadThroughRuns(*this, runs, number * boot_.mft_record_size, rec, what));
  TRAWL_TRY_VOID(ApplyFixups(rec, boot_.bytes_per_sector, what));
  return rec;
}

Result<std::vector<std::byte>> Volume::ReadRecord(std::uint64_t number) const {
  if (number >= entry_count_) {
    return Fail(ErrorCode::kNotFound, fmt::format("MFT entry {} is past the {} entries of $MFT", number, entry_count_));
  }
  return ReadRecordAt(number, mft_runs_);
}

Result<void> Volume::LoadMft() {
  // Record 0 lies at the boot sector's MFT cluster; its $DATA maps the rest.
  const std::uint64_t rs = boot_.mft_record_size, cs = boot_.cluster_size;
  const std::vector<Run> bootstrap{{0, (rs + cs - 1) / cs, static_cast<std::int64_t>(boot_.mft_lcn)}};
  auto rec = ReadRecordAt(0, bootstrap);
  if (!rec) return std::unexpected(rec.error().WithContext(fmt::format("{}: $MFT", source_.Name())));
  auto e = ParseRecord(*rec, 0);
  if (!e) return std::unexpected(e.error().WithContext(fmt::format("{}: $MFT", source_.Name())));
  auto find_data = [&](const Entry& entry) -> const Attribute* {
    for (const auto& a : entry.attributes)
      if (a.type == kAttrData && a.name.empty() && !a.resident && a.start_vcn == 0) return &a;
    return nullptr;
  };
  const Attribute* data = find_data(*e);
  if (!data) return Fail(ErrorCode::kFormat, fmt::format("{}: $MFT has no non-resident $DATA", source_.Name()));
  mft_runs_ = data->runs;
  for (const auto& r : mft_runs_) {
    if (r.lcn < 0 || static_cast<std::uint64_t>(r.lcn) + r.length > boot_.cluster_count()) {
      return Fail(ErrorCode::kFormat,
                  fmt::format("{}: $MFT run at cluster {} lies outside the volume", source_.Name(), r.lcn));
    }
  }
  const std::uint64_t data_size = data->data_size;
  entry_count_ = std::min<std::uint64_t>(data_size / rs, (mft_runs_.back().vcn + mft_runs_.back().length) * cs / rs);
  if (e->has_attribute_list) {
    // $MFT's data continues in extension records, which the first runs map.
    Entry full = *e;
    if (MergeAttributeList(full); const Attribute* joined = find_data(full)) {
      mft_runs_ = joined->runs;
      entry_count_ =
          std::min<std::uint64_t>(joined->data_size / rs, (mft_runs_.back().vcn + mft_runs_.back().length) * cs / rs);
    }
  }
  if (entry_count_ < 16)
    return Fail(ErrorCode::kFormat, fmt::format("{}: $MFT holds only {} entries", source_.Name(), entry_count_));
  return {};
}

void Volume::LoadUpCase() {
  auto s = OpenStream(kMftEntryUpCase, "");
  if (!s || (*s)->size() != 131072) return;
  std::vector<std::byte> raw(131072);
  auto n = (*s)->ReadAt(0, raw);
  if (!n || *n != raw.size()) return;
  upcase_.resize(65536);
  for (std::size_t i = 0; i < 65536; ++i) upcase_[i] = static_cast<char16_t>(Get16(raw, i * 2));
}

std::u16string Volume::UpCase(std::u16string s) const {
  for (auto& c : s) {
    if (!upcase_.empty()) {
      c = upcase_[c];
    } else if (c >= u'a' && c <= u'z') {
      c = static_cast<char16_t>(c - 32);
    }
  }
  return s;
}

bool Volume::NamesEqual(const std::u16string& a, const std::u16string& b) const {
  if (a.size() != b.size()) return false;
  return UpCase(a) == UpCase(b);
}

Result<std::vector<std::byte>> Volume::ReadAttributeValue(const Attribute& attr, std::uint64_t max_size) const {
  if (attr.resident) return attr.value;
  if (attr.data_size > max_size || attr.data_size > source_.Size()) {
    return Fail(ErrorCode::kLimit,
                fmt::format("attribute 0x{:x} of {} bytes is larger than {}", attr.type, attr.data_size, max_size));
  }
  std::vector<std::byte> out(attr.data_size);
  StreamReader r(*this, attr, fmt::format("attribute 0x{:x}", attr.type));
  auto n = r.ReadAt(0, out);
  if (!n) return std::unexpected(n.error());
  return out;
}

Result<void> Volume::MergeAttributeList(Entry& entry) const {
  const Attribute* list = nullptr;
  for (const auto& a : entry.attributes)
    if (a.type == kAttrAttributeList) list = &a;
  if (!list) return {};
  auto value = ReadAttributeValue(*list, 8u << 20);
  if (!value) {
    entry.problems.push_back(fmt::format("MFT entry {}: $ATTRIBUTE_LIST: {}", entry.number, value.error().message));
    return {};
  }
  Bytes v = *value;
  std::set<std::uint64_t> records;
  for (std::size_t off = 0; off + 0x1A <= v.size();) {
    const std::size_t len = Get16(v, off + 4);
    if (len < 0x1A || len > v.size() - off) {
      entry.problems.push_back(
          fmt::format("MFT entry {}: $ATTRIBUTE_LIST entry at {} has bad length {}", entry.number, off, len));
      break;
    }
    const std::uint64_t ref = Get64(v, off + 0x10) & kRefNumberMask;
    if (ref != entry.number) records.insert(ref);
    off += len;
  }
  if (records.size() > limits_.max_extension_records) {
    entry.problems.push_back(fmt::format("MFT entry {}: {} extension records (limit {})", entry.number, records.size(),
                                         limits_.max_extension_records));
    return {};
  }
  for (const std::uint64_t n : records) {
    // While $MFT itself loads, entry_count_ is 0 and the runs known so far
    // decide what is readable.
    if (entry_count_ != 0 && n >= entry_count_) {
      entry.problems.push_back(
          fmt::format("MFT entry {}: extension record {} is past the end of $MFT", entry.number, n));
      continue;
    }
    auto rec = ReadRecordAt(n, mft_runs_);
    if (!rec) {
      entry.problems.push_back(
          fmt::format("MFT entry {}: extension record {}: {}", entry.number, n, rec.error().message));
      continue;
    }
    auto ext = ParseRecord(*rec, n);
    if (!ext) {
      entry.problems.push_back(ext.error().message);
      continue;
    }
    if (ext->base_record != entry.number) {
      entry.problems.push_back(
          fmt::format("MFT entry {}: extension record {} belongs to entry {}", entry.number, n, ext->base_record));
      continue;
    }
    for (auto& p : ext->problems) entry.problems.push_back(std::move(p));
    for (auto& a : ext->attributes) {
      if (a.type == kAttrFileName && a.resident) {
        if (auto fn = ParseFileName(a.value, fmt::format("MFT entry {}", n)); fn) entry.names.push_back(std::move(*fn));
      } else if (a.type == kAttrStandardInformation && a.resident && !entry.has_si && a.value.size() >= 0x24) {
        entry.has_si = ParseTimes(a.value, 0, entry.si);
        entry.si_flags = Get32(a.value, 0x20);
      } else if (a.type == kAttrReparsePoint && a.resident && !entry.reparse) {
        entry.reparse = ParseReparse(a.value);
      }
      entry.attributes.push_back(std::move(a));
    }
  }
  JoinFragments(entry.attributes, entry.problems);
  return {};
}

Result<Entry> Volume::ReadEntry(std::uint64_t number) const {
  auto rec = ReadRecord(number);
  if (!rec) return std::unexpected(rec.error());
  auto e = ParseRecord(*rec, number);
  if (!e) return e;
  if (e->has_attribute_list && e->base_record == 0) {
    TRAWL_TRY_VOID(MergeAttributeList(*e));
  } else {
    JoinFragments(e->attributes, e->problems);
  }
  return e;
}

Result<std::unique_ptr<StreamReader>> Volume::OpenStream(std::uint64_t number, std::string_view stream) const {
  auto e = ReadEntry(number);
  if (!e) return std::unexpected(e.error());
  return OpenStream(*e, stream);
}

Result<std::unique_ptr<StreamReader>> Volume::OpenStream(const Entry& entry, std::string_view stream) const {
  const std::u16string want = FromUtf8(stream);
  for (const auto& a : entry.attributes) {
    if (a.type != kAttrData || (!a.resident && a.start_vcn != 0)) continue;
    if (!(stream.empty() ? a.name.empty() : NamesEqual(a.name, want))) continue;
    const std::string what = stream.empty() ? fmt::format("MFT entry {} $DATA", entry.number)
                                            : fmt::format("MFT entry {} stream '{}'", entry.number, stream);
    if (a.flags & kAttrFlagEncrypted) {
      return Fail(ErrorCode::kUnsupported,
                  fmt::format("{} is EFS-encrypted; its clear text is not on the volume", what));
    }
    if (!a.resident) {
      const std::uint64_t mapped = a.runs.empty() ? 0 : (a.runs.back().vcn + a.runs.back().length) * boot_.cluster_size;
      const bool compressed = a.compression_unit != 0 && (a.flags & kAttrFlagCompressed) != 0;
      if (!compressed && std::min(a.initialized_size, a.data_size) > mapped) {
        return Fail(ErrorCode::kFormat,
                    fmt::format("{}: {} bytes of data but runs map only {}", what, a.data_size, mapped));
      }
    }
    return std::unique_ptr<StreamReader>(new StreamReader(*this, a, what));
  }
  return Fail(ErrorCode::kNotFound, stream.empty()
                                        ? fmt::format("MFT entry {} has no unnamed $DATA", entry.number)
                                        : fmt::format("MFT entry {} has no stream '{}'", entry.number, stream));
}

// ---- directories -----------------------------------------------------------

namespace {

// The index node header at `node` inside `block` (offsets relative to it).
struct NodeEntries {
  std::vector<IndexEntry> entries;
  std::vector<std::uint64_t> children;  // subnode VCNs, in order; the last entry's child last
  std::vector<int> child_of;            // per entry: index into children or -1 (for lookups)
  int last_child = -1;
};

Result<NodeEntries> ParseNode(Bytes block, std::size_t node, std::string_view where) {
  if (node + 16 > block.size())
    return Fail(ErrorCode::kFormat, fmt::format("{}: index node header past the block", where));
  const std::size_t first = node + Get32(block, node);
  const std::size_t end = std::min<std::size_t>(node + Get32(block, node + 4), block.size());
  if (first < node + 16 || first > end) {
    return Fail(ErrorCode::kFormat,
                fmt::format("{}: index entries at {} outside the node (end {})", where, first, end));
  }
  NodeEntries out;
  std::size_t off = first;
  while (true) {
    if (off + 16 > end)
      return Fail(ErrorCode::kFormat, fmt::format("{}: index entry at {} runs past the node", where, off));
    const std::size_t len = Get16(block, off + 8);
    const std::size_t key_len = Get16(block, off + 10);
    const std::uint32_t flags = Get16(block, off + 12);
    if (len < 16 || len % 8 != 0 || len > end - off) {
      return Fail(ErrorCode::kFormat, fmt::format("{}: index entry at {} has bad length {}", where, off, len));
    }
    int child = -1;
    if (flags & kIndexEntryHasSubnode) {
      if (len < 24)
        return Fail(ErrorCode::kFormat, fmt::format("{}: index entry at {} too short for a subnode", where, off));
      out.children.push_back(Get64(block, off + len - 8));
      child = static_cast<int>(out.children.size()) - 1;
    }
    if (flags & kIndexEntryLast) {
      out.last_child = child;
      break;
    }
    if (key_len > len - 16)
      return Fail(ErrorCode::kFormat, fmt::format("{}: index key at {} runs past its entry", where, off));
    auto fn = ParseFileName(block.subspan(off + 16, key_len), where);
    if (!fn) return std::unexpected(fn.error());
    IndexEntry ie;
    const std::uint64_t ref = Get64(block, off);
    ie.entry = ref & kRefNumberMask;
    ie.sequence = static_cast<std::uint16_t>(ref >> 48);
    ie.name = std::move(*fn);
    out.entries.push_back(std::move(ie));
    out.child_of.push_back(child);
    off += len;
    if (out.entries.size() > 65536)
      return Fail(ErrorCode::kFormat, fmt::format("{}: more than 65536 entries in one node", where));
  }
  return out;
}

struct I30 {
  std::optional<Attribute> root;
  std::optional<Attribute> allocation;
  std::uint32_t block_size = 0;
};

I30 FindI30(const Entry& e) {
  I30 out;
  const std::u16string i30 = u"$I30";
  for (const auto& a : e.attributes) {
    if (a.name != i30) continue;
    if (a.type == kAttrIndexRoot && a.resident) out.root = a;
    if (a.type == kAttrIndexAllocation && !a.resident && a.start_vcn == 0) out.allocation = a;
  }
  if (out.root && out.root->value.size() >= 16) out.block_size = Get32(out.root->value, 8);
  return out;
}

}  // namespace

// Reads index block `vcn` of a directory's $INDEX_ALLOCATION.
static Result<std::vector<std::byte>> ReadIndexBlock(const Volume& vol, StreamReader& alloc, std::uint32_t block_size,
                                                     std::uint64_t vcn, std::uint64_t dir) {
  const std::uint64_t unit = block_size >= vol.boot().cluster_size ? vol.boot().cluster_size : 512;
  const std::string where = fmt::format("directory {} index block VCN {}", dir, vcn);
  if (vcn > alloc.size() / unit) return Fail(ErrorCode::kFormat, fmt::format("{}: past the index allocation", where));
  std::vector<std::byte> block(block_size);
  auto n = alloc.ReadAt(vcn * unit, block);
  if (!n) return std::unexpected(n.error());
  if (*n != block.size()) return Fail(ErrorCode::kTruncated, fmt::format("{}: short read", where));
  if (std::memcmp(block.data(), "INDX", 4) != 0)
    return Fail(ErrorCode::kFormat, fmt::format("{}: no INDX signature", where));
  TRAWL_TRY_VOID(ApplyFixups(block, vol.boot().bytes_per_sector, where));
  return block;
}

Result<void> Volume::WalkIndex(std::uint64_t dir, std::vector<IndexEntry>& out, bool* reparse) const {
  auto e = ReadEntry(dir);
  if (!e) return std::unexpected(e.error());
  if (reparse) *reparse = e->reparse.has_value();
  if (!e->directory) return Fail(ErrorCode::kInvalidArgument, fmt::format("MFT entry {} is not a directory", dir));
  const I30 idx = FindI30(*e);
  if (!idx.root) return Fail(ErrorCode::kFormat, fmt::format("directory {} has no $I30 index root", dir));
  const std::string where = fmt::format("directory {} index root", dir);
  auto root = ParseNode(idx.root->value, 16, where);
  if (!root) return std::unexpected(root.error());
  std::unique_ptr<StreamReader> alloc;
  if (idx.allocation) {
    if (idx.block_size < 512 || idx.block_size > 65536 || (idx.block_size & (idx.block_size - 1)) != 0) {
      return Fail(ErrorCode::kFormat, fmt::format("{}: index block size {}", where, idx.block_size));
    }
    alloc.reset(new StreamReader(*this, *idx.allocation, fmt::format("directory {} $INDEX_ALLOCATION", dir)));
  }
  std::set<std::uint64_t> visited;
  // Depth-first in key order: entries of a node interleave with their subtrees.
  std::vector<std::string> errors;
  auto walk = [&](auto&& self, const NodeEntries& node, std::size_t depth) -> Result<void> {
    auto visit_child = [&](int child) -> Result<void> {
      if (child < 0) return {};
      const std::uint64_t vcn = node.children[static_cast<std::size_t>(child)];
      if (!alloc)
        return Fail(ErrorCode::kFormat, fmt::format("directory {}: subnode VCN {} but no $INDEX_ALLOCATION", dir, vcn));
      if (depth >= limits_.max_index_depth)
        return Fail(ErrorCode::kLimit, fmt::format("directory {}: index deeper than {}", dir, depth));
      if (!visited.insert(vcn).second)
        return Fail(ErrorCode::kFormat, fmt::format("directory {}: index block VCN {} visited twice (loop)", dir, vcn));
      auto block = ReadIndexBlock(*this, *alloc, idx.block_size, vcn, dir);
      if (!block) return std::unexpected(block.error());
      auto sub = ParseNode(*block, 0x18, fmt::format("directory {} index block VCN {}", dir, vcn));
      if (!sub) return std::unexpected(sub.error());
      return self(self, *sub, depth + 1);
    };
    for (std::size_t i = 0; i < node.entries.size(); ++i) {
      TRAWL_TRY_VOID(visit_child(node.child_of[i]));
      out.push_back(node.entries[i]);
      if (out.size() > limits_.max_directory_entries) {
        return Fail(ErrorCode::kLimit,
                    fmt::format("directory {}: more than {} index entries", dir, limits_.max_directory_entries));
      }
    }
    return visit_child(node.last_child);
  };
  return walk(walk, *root, 0);
}

Result<std::shared_ptr<const Volume::CachedDirectory>> Volume::Directory(std::uint64_t dir) const {
  {
    std::lock_guard lock(cache_mu_);
    if (auto it = dir_cache_.find(dir); it != dir_cache_.end()) return it->second;
  }
  std::vector<IndexEntry> all;
  bool reparse = false;
  TRAWL_TRY_VOID(WalkIndex(dir, all, &reparse));
  auto d = std::make_shared<CachedDirectory>();
  d->reparse = reparse;
  d->entries.reserve(all.size());
  for (auto& ie : all) {
    if (ie.name.name_space == 2) continue;
    d->upper.try_emplace(UpCase(ie.name.name), d->entries.size());
    d->entries.push_back(std::move(ie));
  }
  std::lock_guard lock(cache_mu_);
  if (cached_names_ + d->entries.size() > kDirectoryCacheEntries) {
    dir_cache_.clear();
    cached_names_ = 0;
  }
  if (dir_cache_.emplace(dir, d).second) cached_names_ += d->entries.size();
  return std::shared_ptr<const CachedDirectory>(d);
}

Result<std::vector<IndexEntry>> Volume::ListDirectory(std::uint64_t dir) const {
  auto d = Directory(dir);
  if (!d) return std::unexpected(d.error());
  return (*d)->entries;
}

Result<std::uint64_t> Volume::Lookup(std::string_view path) const {
  std::uint64_t cur = kMftEntryRoot;
  std::size_t i = 0;
  std::string walked;
  bool reparse_pending = false;
  while (i < path.size()) {
    while (i < path.size() && (path[i] == '/' || path[i] == '\\')) ++i;
    if (i >= path.size()) break;
    std::size_t j = i;
    while (j < path.size() && path[j] != '/' && path[j] != '\\') ++j;
    const std::string_view comp = path.substr(i, j - i);
    i = j;
    if (comp == ".") continue;
    if (comp == "..")
      return Fail(ErrorCode::kInvalidArgument, fmt::format("{}: '..' is not followed in NTFS paths", path));
    auto d = Directory(cur);
    if (!d) return std::unexpected(d.error());
    // The index's copy of the flags may not say so: the directory's own
    // record decides whether it is a junction.
    if (reparse_pending || (*d)->reparse) {
      return Fail(ErrorCode::kNotFound, fmt::format("{} is a reparse point (junction or link), not followed", walked));
    }
    auto it = (*d)->upper.find(UpCase(FromUtf8(comp)));
    const bool found = it != (*d)->upper.end();
    if (found) {
      const IndexEntry& ie = (*d)->entries[it->second];
      cur = ie.entry;
      reparse_pending = (ie.name.flags & kFlagReparse) != 0;
    }
    walked += "/";
    walked += comp;
    if (!found) return Fail(ErrorCode::kNotFound, fmt::format("{}: not found on the volume", walked));
  }
  return cur;
}

}  // namespace trawl::core::formats::ntfs
