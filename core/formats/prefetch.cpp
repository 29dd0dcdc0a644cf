// SPDX-License-Identifier: Apache-2.0
#include "core/formats/prefetch.h"

#include <fmt/format.h>

#include <cstring>
#include <utility>

#include "core/formats/lzxpress_huffman.h"
#include "core/util/text.h"

namespace trawl::core::formats {
namespace {

// Assigns the value of a Result expression or returns its error.
// NOLINTBEGIN(bugprone-macro-parentheses): `var` names a declaration
#define PF_ASSIGN(var, expr)                                                    \
  auto var##_result_ = (expr);                                                  \
  if (!var##_result_) return std::unexpected(std::move(var##_result_.error())); \
  auto var = std::move(*var##_result_)
// NOLINTEND(bugprone-macro-parentheses)

constexpr std::uint64_t kFileInformationOffset = 0x54;
constexpr std::size_t kMamHeaderSize = 8;

// Where the version-dependent fields live (absolute offsets) and how large
// the array entries are; windows-formats.md §1.5-1.8.
struct Layout {
  std::uint64_t last_run_offset;
  std::size_t last_run_slots;
  std::uint64_t run_count_offset;
  std::uint64_t metric_entry_size;
  std::uint64_t trace_entry_size;
  std::uint64_t volume_entry_size;
  std::uint64_t file_refs_header_size;  // before the u64 array
};

constexpr Layout kV17{0x78, 1, 0x90, 20, 12, 40, 8};
constexpr Layout kV23{0x80, 1, 0x98, 32, 12, 104, 16};
constexpr Layout kV26{0x80, 8, 0xD0, 32, 12, 104, 16};
constexpr Layout kV30Variant1{0x80, 8, 0xD0, 32, 8, 96, 16};
constexpr Layout kV30Variant2{0x80, 8, 0xC8, 32, 8, 96, 16};

constexpr std::uint32_t kV30Variant1MetricsOffset = 0x130;
constexpr std::uint32_t kV30Variant2MetricsOffset = 0x128;

Error Prefixed(const Error& e) { return e.WithContext("prefetch"); }

// An array of `count` entries of `entry_size` bytes at `offset` must fit in
// `total` bytes (64-bit arithmetic: count and size are at most 2^32 and 104).
Result<void> CheckArray(std::uint64_t offset, std::uint64_t count, std::uint64_t entry_size, std::uint64_t total,
                        std::string_view what) {
  const std::uint64_t bytes = count * entry_size;
  if (offset > total || bytes > total - offset) {
    return Fail(ErrorCode::kTruncated,
                fmt::format("prefetch: {} ({} entries of {} bytes at {}) extends past the end of "
                            "the data ({} bytes)",
                            what, count, entry_size, HexOffset(offset), total));
  }
  return {};
}

// Bytes of strings a file may decode to, whatever its references say.
struct StringBudget {
  std::uint64_t left;
  Result<void> Take(std::uint64_t bytes, std::string_view what) {
    if (bytes > left) {
      return Fail(ErrorCode::kLimit,
                  fmt::format("prefetch: {} decode to more than twice the file's size: strings are referenced "
                              "repeatedly (a forged file?)",
                              what));
    }
    left -= bytes;
    return {};
  }
};

Result<std::string> ReadUtf16(const ByteReader& r, std::uint64_t offset, std::uint64_t chars, std::string_view field) {
  auto slice = r.Slice(offset, chars * 2, field);
  if (!slice) return std::unexpected(Prefixed(slice.error()));
  return Utf16LeToUtf8(*slice);
}

// Offsets inside a volume entry are relative to the volumes information
// block (`vr`, which starts at `base` in the file); error messages say so.
Result<PrefetchVolume> ParseVolume(const ByteReader& vr, std::uint64_t base, std::uint64_t entry, const Layout& layout,
                                   std::size_t index, StringBudget& budget) {
  auto field = [&](std::string_view name) {
    return fmt::format("volume {} {} (relative to volumes information at {})", index, name, HexOffset(base));
  };
  PrefetchVolume v;
  // Fixed fields were bounds-checked as part of the volume array.
  const std::uint32_t path_offset = vr.U32Unchecked(entry + 0);
  const std::uint32_t path_chars = vr.U32Unchecked(entry + 4);
  v.creation_time = vr.U64Unchecked(entry + 8);
  v.serial_number = vr.U32Unchecked(entry + 16);
  const std::uint32_t refs_offset = vr.U32Unchecked(entry + 20);
  const std::uint32_t refs_size = vr.U32Unchecked(entry + 24);
  const std::uint32_t dirs_offset = vr.U32Unchecked(entry + 28);
  const std::uint32_t dirs_count = vr.U32Unchecked(entry + 32);

  TRAWL_TRY_VOID(budget.Take(std::uint64_t{path_chars} * 2, "volume device paths"));
  PF_ASSIGN(path, ReadUtf16(vr, path_offset, path_chars, field("device path")));
  v.device_path = std::move(path);

  if (refs_size != 0) {
    auto refs = vr.Slice(refs_offset, refs_size, field("file references"));
    if (!refs) return std::unexpected(Prefixed(refs.error()));
    ByteReader rr(*refs);
    auto count = rr.U32(4, field("file reference count"));
    if (!count) return std::unexpected(Prefixed(count.error()));
    TRAWL_TRY_VOID(CheckArray(layout.file_refs_header_size, *count, 8, refs_size, field("file references")));
    v.file_reference_count = *count;
  }

  // Directory strings: {u16 chars, UTF-16LE chars, u16 NUL} repeated. Each
  // takes at least 4 bytes, which bounds the count before reserving.
  if (dirs_count != 0) {
    TRAWL_TRY_VOID(CheckArray(dirs_offset, dirs_count, 4, vr.size(), field("directory strings")));
    v.directories.reserve(dirs_count);
    std::uint64_t pos = dirs_offset;
    for (std::uint32_t k = 0; k < dirs_count; ++k) {
      auto chars = vr.U16(pos, field(fmt::format("directory string {} length", k)));
      if (!chars) return std::unexpected(Prefixed(chars.error()));
      TRAWL_TRY_VOID(budget.Take(std::uint64_t{*chars} * 2 + 4, "volume directory strings"));
      PF_ASSIGN(dir, ReadUtf16(vr, pos + 2, *chars, field(fmt::format("directory string {}", k))));
      // Each string is followed by a 2-byte NUL terminator.
      const std::uint64_t end = pos + 2 + std::uint64_t{*chars} * 2;
      if (!vr.InBounds(end, 2)) {
        return Fail(ErrorCode::kTruncated,
                    fmt::format("prefetch: {} terminator at {} lies outside the volumes "
                                "information ({} bytes)",
                                field(fmt::format("directory string {}", k)), HexOffset(end), vr.size()));
      }
      v.directories.push_back(std::move(dir));
      pos = end + 2;
    }
  }
  return v;
}

Result<PrefetchFile> ParseScca(Bytes data, bool compressed) {
  const ByteReader r(data);
  auto u32 = [&](std::uint64_t offset, std::string_view field) -> Result<std::uint32_t> {
    auto v = r.U32(offset, field);
    if (!v) return std::unexpected(Prefixed(v.error()));
    return *v;
  };

  PrefetchFile pf;
  pf.compressed = compressed;
  PF_ASSIGN(version, u32(0, "format version"));
  pf.version = version;

  // Common file-information fields (all versions) at 0x54..0x78.
  PF_ASSIGN(metrics_offset, u32(kFileInformationOffset + 0x00, "metrics array offset"));
  PF_ASSIGN(metrics_count, u32(kFileInformationOffset + 0x04, "metrics entry count"));
  PF_ASSIGN(trace_offset, u32(kFileInformationOffset + 0x08, "trace chain array offset"));
  PF_ASSIGN(trace_count, u32(kFileInformationOffset + 0x0C, "trace chain entry count"));
  PF_ASSIGN(strings_offset, u32(kFileInformationOffset + 0x10, "filename strings offset"));
  PF_ASSIGN(strings_size, u32(kFileInformationOffset + 0x14, "filename strings size"));
  PF_ASSIGN(volumes_offset, u32(kFileInformationOffset + 0x18, "volumes information offset"));
  PF_ASSIGN(volumes_count, u32(kFileInformationOffset + 0x1C, "volume count"));
  PF_ASSIGN(volumes_size, u32(kFileInformationOffset + 0x20, "volumes information size"));

  Layout layout{};
  switch (version) {
    case 17: layout = kV17; break;
    case 23: layout = kV23; break;
    case 26: layout = kV26; break;
    case 30:
    case 31:
      // libscca tells the two Windows 10 layouts apart by where the metrics
      // array starts (= end of the file information); v31 uses variant 2.
      if (metrics_offset == kV30Variant1MetricsOffset && version == 30) {
        layout = kV30Variant1;
        pf.variant = 1;
      } else if (metrics_offset == kV30Variant2MetricsOffset) {
        layout = kV30Variant2;
        pf.variant = 2;
      } else {
        return Fail(ErrorCode::kUnsupported,
                    fmt::format("prefetch: version {} with metrics array offset {} at 0x54 is an "
                                "unknown layout (expected {}{})",
                                version, HexOffset(metrics_offset), version == 30 ? "0x130 or " : "", "0x128"));
      }
      break;
    default:
      return Fail(ErrorCode::kUnsupported,
                  fmt::format("prefetch: unsupported format version {} at 0x0 (known: 17, 23, 26, "
                              "30, 31)",
                              version));
  }

  auto name = r.Slice(0x10, 60, "executable name");
  if (!name) return std::unexpected(Prefixed(name.error()));
  pf.executable = Utf16LeToUtf8UntilNul(*name);
  PF_ASSIGN(hash, u32(0x4C, "prefetch hash"));
  pf.prefetch_hash = hash;
  for (std::size_t i = 0; i < layout.last_run_slots; ++i) {
    auto t = r.U64(layout.last_run_offset + 8 * i, "last run time");
    if (!t) return std::unexpected(Prefixed(t.error()));
    if (*t != 0) pf.last_run_times.push_back(*t);
  }
  PF_ASSIGN(run_count, u32(layout.run_count_offset, "run count"));
  pf.run_count = run_count;

  // Sections: every array must lie inside the data before it is read.
  TRAWL_TRY_VOID(CheckArray(metrics_offset, metrics_count, layout.metric_entry_size, r.size(), "file metrics array"));
  TRAWL_TRY_VOID(CheckArray(trace_offset, trace_count, layout.trace_entry_size, r.size(), "trace chain array"));
  pf.trace_chain_count = trace_count;
  TRAWL_TRY_VOID(CheckArray(strings_offset, strings_size, 1, r.size(), "filename strings"));
  TRAWL_TRY_VOID(CheckArray(volumes_offset, volumes_size, 1, r.size(), "volumes information"));
  const ByteReader strings(data.subspan(strings_offset, strings_size));
  const ByteReader volumes(data.subspan(volumes_offset, volumes_size));
  // Names are references into the string areas: a forged file can point
  // 20,000 metrics at one 1-million-character name and ask for gigabytes.
  // Genuine files reference each string once, so what the names decode from
  // never exceeds the file; allow twice that.
  StringBudget budget{2 * static_cast<std::uint64_t>(data.size()) + 65536};

  pf.file_metrics.reserve(metrics_count);
  for (std::uint32_t i = 0; i < metrics_count; ++i) {
    const std::uint64_t e = metrics_offset + std::uint64_t{i} * layout.metric_entry_size;
    PrefetchFileMetric m;
    if (version == 17) {
      m.filename_offset = r.U32Unchecked(e + 8);
      m.filename_length = r.U32Unchecked(e + 12);
      m.flags = r.U32Unchecked(e + 16);
    } else {
      m.filename_offset = r.U32Unchecked(e + 12);
      m.filename_length = r.U32Unchecked(e + 16);
      m.flags = r.U32Unchecked(e + 20);
      m.file_reference = r.U64Unchecked(e + 24);
    }
    TRAWL_TRY_VOID(budget.Take(std::uint64_t{m.filename_length} * 2, "file metric names"));
    PF_ASSIGN(filename,
              ReadUtf16(strings, m.filename_offset, m.filename_length,
                        fmt::format("file metric {} filename (filename strings at {})", i, HexOffset(strings_offset))));
    m.filename = std::move(filename);
    pf.file_metrics.push_back(std::move(m));
  }

  TRAWL_TRY_VOID(CheckArray(0, volumes_count, layout.volume_entry_size, volumes.size(),
                            "volume entries (inside volumes information)"));
  pf.volumes.reserve(volumes_count);
  for (std::uint32_t i = 0; i < volumes_count; ++i) {
    auto v = ParseVolume(volumes, volumes_offset, std::uint64_t{i} * layout.volume_entry_size, layout, i, budget);
    if (!v) return std::unexpected(std::move(v.error()));
    pf.volumes.push_back(std::move(*v));
  }
  return pf;
}

}  // namespace

Result<PrefetchFile> ParsePrefetch(Bytes data) {
  const ByteReader r(data);
  if (data.size() >= 4 && std::memcmp(data.data(), "MAM", 3) == 0) {
    const auto kind = static_cast<std::uint8_t>(data[3]);
    if (kind != 0x04) {
      return Fail(ErrorCode::kUnsupported,
                  fmt::format("prefetch: compressed container signature MAM\\x{:02x} at 0x0 is not "
                              "supported (only MAM\\x04, LZXPRESS Huffman)",
                              kind));
    }
    auto size = r.U32(4, "MAM uncompressed size");
    if (!size) return std::unexpected(Prefixed(size.error()));
    auto plain = DecompressLzxpressHuffman(data.subspan(kMamHeaderSize), *size, kPrefetchMaxDecompressedSize);
    if (!plain) return std::unexpected(Prefixed(plain.error()));
    const Bytes inner(*plain);
    if (inner.size() < 8 || std::memcmp(inner.data() + 4, "SCCA", 4) != 0) {
      return Fail(ErrorCode::kFormat, "prefetch: decompressed MAM data lacks the SCCA signature at 0x4");
    }
    return ParseScca(inner, true);
  }
  if (data.size() < 8 || std::memcmp(data.data() + 4, "SCCA", 4) != 0) {
    return Fail(ErrorCode::kFormat, fmt::format("prefetch: not a prefetch file: no SCCA signature at 0x4 and no "
                                                "MAM\\x04 signature at 0x0 ({} bytes)",
                                                data.size()));
  }
  return ParseScca(data, false);
}

namespace {

// The hashes run over the UTF-16LE bytes of the path.
std::string HashInput(std::string_view upper_device_path_utf8) { return Utf8ToUtf16Le(upper_device_path_utf8); }

}  // namespace

std::uint32_t PrefetchHashXp(std::string_view upper_device_path_utf8) {
  std::uint32_t h = 0;
  for (const char c : HashInput(upper_device_path_utf8)) {
    h = h * 37u + static_cast<std::uint8_t>(c);
  }
  h *= 314159269u;
  // The reference treats the product as a signed 32-bit value and takes its
  // absolute value before the modulus.
  if (h > 0x80000000u) h = 0u - h;
  return h % 1000000007u;
}

std::uint32_t PrefetchHashVista(std::string_view upper_device_path_utf8) {
  std::uint32_t h = 314159u;
  for (const char c : HashInput(upper_device_path_utf8)) {
    h = h * 37u + static_cast<std::uint8_t>(c);
  }
  return h;
}

std::uint32_t PrefetchHash2008(std::string_view upper_device_path_utf8) {
  const std::string bytes = HashInput(upper_device_path_utf8);
  auto b = [&](std::size_t i) { return static_cast<std::uint32_t>(static_cast<std::uint8_t>(bytes[i])); };
  std::uint32_t h = 314159u;
  std::size_t i = 0;
  // Eight bytes per step: 442596621 = 37^7 and -803794207 = 37^8 (mod 2^32).
  while (i + 8 < bytes.size()) {
    std::uint32_t v = b(i + 1) * 37u + b(i + 2);
    v = v * 37u + b(i + 3);
    v = v * 37u + b(i + 4);
    v = v * 37u + b(i + 5);
    v = v * 37u + b(i + 6);
    v = v * 37u + b(i) * 442596621u + b(i + 7);
    h = v - h * 803794207u;
    i += 8;
  }
  for (; i < bytes.size(); ++i) h = h * 37u + b(i);
  return h;
}

#undef PF_ASSIGN

}  // namespace trawl::core::formats
