// SPDX-License-Identifier: Apache-2.0
#include "core/formats/pe.h"

#include <fmt/format.h>
#include <openssl/evp.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <limits>
#include <unordered_set>

#include "core/formats/authenticode.h"
#include "core/formats/pe_ordinals.h"
#include "core/util/text.h"

namespace trawl::core::formats {
namespace {

constexpr std::uint64_t kUnknownSize = std::numeric_limits<std::uint64_t>::max();
constexpr std::uint32_t kPeSignature = 0x00004550;
constexpr std::uint16_t kMz = 0x5A4D;
constexpr std::uint16_t kZm = 0x4D5A;
constexpr std::size_t kSectionHeaderSize = 40;
constexpr std::size_t kDirImport = 1;
constexpr std::size_t kDirResource = 2;
constexpr std::size_t kDirSecurity = 4;
constexpr std::size_t kDirIat = 12;
// pefile limits (pefile.py): import symbols, DLL and symbol name lengths.
constexpr std::uint64_t kMaxImportSymbols = 0x2000;
constexpr std::uint64_t kMaxNameLength = 0x200;
constexpr std::uint64_t kMaxVersionResource = 1ULL << 20;

// Python slice data[begin:begin+len] over a buffer.
Bytes PySlice(Bytes data, std::uint64_t begin, std::uint64_t len) {
  if (begin >= data.size()) return {};
  const std::uint64_t avail = data.size() - begin;
  return data.subspan(static_cast<std::size_t>(begin), static_cast<std::size_t>(std::min(avail, len)));
}

std::uint64_t AdjustFileAlignment(std::uint64_t val, std::uint32_t file_alignment) {
  if (file_alignment < 0x200) return val;
  return (val / 0x200) * 0x200;
}

std::uint64_t AdjustSectionAlignment(std::uint64_t val, std::uint32_t section_alignment, std::uint32_t file_alignment) {
  std::uint64_t align = section_alignment;
  if (section_alignment < 0x1000) align = file_alignment;
  if (align != 0 && val % align != 0) return align * (val / align);
  return val;
}

struct DataDir {
  std::uint32_t va = 0;
  std::uint32_t size = 0;
};

struct RawSection {
  std::array<std::byte, 8> name{};
  std::uint32_t virtual_size = 0;
  std::uint32_t virtual_address = 0;
  std::uint32_t raw_size = 0;
  std::uint32_t raw_pointer = 0;
  std::uint32_t characteristics = 0;
  std::size_t table_index = 0;
};

// What the headers say, read with pefile's tolerance.
struct Headers {
  std::uint64_t nt_offset = 0;
  std::uint16_t machine = 0;
  std::uint16_t number_of_sections = 0;
  std::uint32_t timestamp = 0;
  std::uint16_t size_of_optional_header = 0;
  std::uint16_t characteristics = 0;
  std::uint64_t optional_offset = 0;
  std::uint64_t sections_offset = 0;
  std::uint16_t magic = 0;
  bool is64 = false;
  std::uint32_t entry_point = 0;
  std::uint64_t image_base = 0;
  std::uint32_t section_alignment = 0;
  std::uint32_t file_alignment = 0;
  std::uint16_t subsystem = 0;
  std::uint32_t number_of_rva_and_sizes = 0;
  std::vector<DataDir> dirs;
  std::vector<RawSection> sections;  // table order, pefile's acceptance rules
  std::uint64_t header_length = 0;   // pefile's self.header
  std::vector<std::string> notes;

  DataDir Dir(std::size_t i) const { return i < dirs.size() ? dirs[i] : DataDir{}; }
  std::uint64_t ChecksumOffset() const { return nt_offset + 88; }
  std::uint64_t CertDirOffset() const { return nt_offset + 152 + (is64 ? 16 : 0); }
};

Error NotPe(std::string why) { return Error{ErrorCode::kFormat, "not a PE: " + std::move(why)}; }

// Bytes needed from the file start to parse the headers; 0 = not yet known
// (need more bytes to tell). Error for non-PE input recognisable early.
Result<std::uint64_t> HeaderBytesNeeded(Bytes prefix, const PeAnalyzerLimits& limits) {
  if (prefix.size() < 2) return 0;
  FieldReader r(prefix, "PE header prefix");
  const std::uint16_t magic = r.U16(0);
  TRAWL_TRY_VOID(r.Check());
  if (magic == kZm) return std::unexpected(NotPe("ZM executable"));
  if (magic != kMz) return std::unexpected(NotPe("no MZ signature at offset 0"));
  if (prefix.size() < 64) return 0;
  const std::uint64_t e_lfanew = r.U32(0x3C);
  TRAWL_TRY_VOID(r.Check());
  if (e_lfanew + 24 > limits.max_header_bytes) {
    return std::unexpected(Error{ErrorCode::kLimit, fmt::format("PE header offset e_lfanew {} is beyond the {}-byte "
                                                                "header limit",
                                                                HexOffset(e_lfanew), limits.max_header_bytes)});
  }
  if (prefix.size() < e_lfanew + 24) return 0;
  const std::uint64_t nsec = std::min<std::uint64_t>(r.U16(e_lfanew + 6), limits.max_sections);
  const std::uint64_t opt_size = r.U16(e_lfanew + 20);
  TRAWL_TRY_VOID(r.Check());
  const std::uint64_t opt = e_lfanew + 24;
  const std::uint64_t need = std::max(opt + 0x200, opt + opt_size + nsec * kSectionHeaderSize);
  if (need > limits.max_header_bytes) {
    return std::unexpected(
        Error{ErrorCode::kLimit, fmt::format("PE headers need {} bytes, limit is {}", need, limits.max_header_bytes)});
  }
  return need;
}

// Parses the headers from the file prefix. `file_size` is kUnknownSize while
// planning (the stream has not ended), which makes the result a superset of
// the sections pefile would accept.
Result<Headers> ParseHeaders(Bytes prefix, std::uint64_t file_size, const PeAnalyzerLimits& limits) {
  const std::uint64_t data_len = std::min<std::uint64_t>(file_size, prefix.size());
  Bytes data = prefix.first(static_cast<std::size_t>(data_len));
  if (data.size() < 64) {
    if (data.size() >= 2 && FieldReader(data, "DOS header").U16(0) != kMz) {
      return std::unexpected(NotPe("no MZ signature at offset 0"));
    }
    return std::unexpected(NotPe(fmt::format("file too small for a DOS header ({} bytes)", data.size())));
  }
  FieldReader dos(data, "DOS header");
  const std::uint16_t magic = dos.U16(0);
  if (magic == kZm) return std::unexpected(NotPe("ZM executable"));
  if (magic != kMz) return std::unexpected(NotPe("no MZ signature at offset 0"));
  Headers h;
  h.nt_offset = dos.U32(0x3C);
  TRAWL_TRY_VOID(dos.Check());
  if (h.nt_offset > file_size) {
    return std::unexpected(NotPe(
        fmt::format("MZ-only DOS executable: e_lfanew {} points past the end of the file", HexOffset(h.nt_offset))));
  }
  Bytes nt = PySlice(data, h.nt_offset, 8);
  FieldReader ntr(nt, "NT signature");
  if (nt.size() < 4 || ntr.U32(0) == 0) {
    return std::unexpected(
        NotPe(fmt::format("MZ-only DOS executable: no NT headers at e_lfanew {}", HexOffset(h.nt_offset))));
  }
  const std::uint32_t sig = ntr.U32(0);
  TRAWL_TRY_VOID(ntr.Check());
  switch (sig & 0xFFFF) {
    case 0x454E:
      return std::unexpected(
          NotPe(fmt::format("NE (16-bit Windows) executable, header at {}", HexOffset(h.nt_offset))));
    case 0x454C: return std::unexpected(NotPe(fmt::format("LE executable, header at {}", HexOffset(h.nt_offset))));
    case 0x584C: return std::unexpected(NotPe(fmt::format("LX executable, header at {}", HexOffset(h.nt_offset))));
    case 0x5A56: return std::unexpected(NotPe(fmt::format("TE image, header at {}", HexOffset(h.nt_offset))));
    default: break;
  }
  if (sig != kPeSignature) {
    return std::unexpected(
        NotPe(fmt::format("MZ-only DOS executable: no PE signature at e_lfanew {}", HexOffset(h.nt_offset))));
  }
  Bytes fh = PySlice(data, h.nt_offset + 4, 20);
  if (fh.size() < 20) {
    return std::unexpected(
        Error{ErrorCode::kTruncated, fmt::format("PE file header at {} is truncated", HexOffset(h.nt_offset + 4))});
  }
  FieldReader fr(fh, "PE file header");
  h.machine = fr.U16(0);
  h.number_of_sections = fr.U16(2);
  h.timestamp = fr.U32(4);
  h.size_of_optional_header = fr.U16(16);
  h.characteristics = fr.U16(18);
  TRAWL_TRY_VOID(fr.Check());
  h.optional_offset = h.nt_offset + 24;
  h.sections_offset = h.optional_offset + h.size_of_optional_header;

  // Optional header: pefile zero-pads a short one when at least 69 (73 for
  // PE32+) bytes exist.
  std::array<std::byte, 0x200 + 128> opt{};
  Bytes avail = PySlice(data, h.optional_offset, 0x200);
  std::copy(avail.begin(), avail.end(), opt.begin());
  FieldReader o(Bytes(opt.data(), opt.size()), "PE optional header");
  h.magic = o.U16(0);
  h.is64 = h.magic == 0x20B;
  const std::size_t opt_struct = h.is64 ? 112 : 96;
  if (avail.size() < opt_struct && avail.size() < (h.is64 ? 73u : 69u)) {
    return std::unexpected(Error{ErrorCode::kTruncated, fmt::format("PE optional header at {} is truncated ({} bytes)",
                                                                    HexOffset(h.optional_offset), avail.size())});
  }
  if (h.magic != 0x10B && h.magic != 0x20B) {
    h.notes.push_back(fmt::format("invalid optional header magic {}", HexOffset(h.magic)));
  }
  h.entry_point = o.U32(16);
  h.image_base = h.is64 ? o.U64(24) : o.U32(28);
  h.section_alignment = o.U32(32);
  h.file_alignment = o.U32(36);
  h.subsystem = o.U16(68);
  h.number_of_rva_and_sizes = o.U32(h.is64 ? 108 : 92);
  TRAWL_TRY_VOID(o.Check());

  std::uint64_t off = h.optional_offset + opt_struct;
  const std::uint64_t dir_limit = h.optional_offset + opt_struct + 8 * 16;
  for (std::uint64_t i = 0; i < (h.number_of_rva_and_sizes & 0x7FFFFFFFu) && i < 16; ++i) {
    if (file_size != kUnknownSize && file_size == off) break;
    Bytes d = PySlice(data, off, 8);
    DataDir dir;
    if (d.size() == 8) {
      FieldReader dr(d, "data directory entry");
      dir = {dr.U32(0), dr.U32(4)};
      TRAWL_TRY_VOID(dr.Check());
    }
    h.dirs.push_back(dir);
    off += 8;
    if (off >= dir_limit) break;
  }

  // Section table, with pefile's acceptance rules.
  for (std::size_t i = 0; i < h.number_of_sections; ++i) {
    if (i >= limits.max_sections) {
      h.notes.push_back(
          fmt::format("too many sections ({}), only {} analysed", h.number_of_sections, limits.max_sections));
      break;
    }
    const std::uint64_t so = h.sections_offset + kSectionHeaderSize * i;
    Bytes s = PySlice(data, so, kSectionHeaderSize);
    if (s.size() == kSectionHeaderSize &&
        std::all_of(s.begin(), s.end(), [](std::byte b) { return b == std::byte{0}; })) {
      break;
    }
    if (s.empty()) break;
    if (s.size() < kSectionHeaderSize) {
      return std::unexpected(
          Error{ErrorCode::kTruncated, fmt::format("section header {} at {} is truncated", i, HexOffset(so))});
    }
    RawSection sec;
    std::copy_n(s.begin(), 8, sec.name.begin());
    FieldReader sr(s, "section header");
    sec.virtual_size = sr.U32(8);
    sec.virtual_address = sr.U32(12);
    sec.raw_size = sr.U32(16);
    sec.raw_pointer = sr.U32(20);
    sec.characteristics = sr.U32(36);
    TRAWL_TRY_VOID(sr.Check());
    sec.table_index = i;
    int errors = 0;
    if (file_size != kUnknownSize) {
      if (static_cast<std::uint64_t>(sec.raw_size) + sec.raw_pointer > file_size) ++errors;
      if (AdjustFileAlignment(sec.raw_pointer, h.file_alignment) > file_size) ++errors;
    }
    if (sec.virtual_size > 0x10000000) ++errors;
    if (AdjustSectionAlignment(sec.virtual_address, h.section_alignment, h.file_alignment) > 0x10000000) {
      ++errors;
    }
    if (h.file_alignment != 0 && sec.raw_pointer % h.file_alignment != 0) ++errors;
    if (errors >= 3) {
      h.notes.push_back(fmt::format("section header {} is implausible; section table parsing stopped", i));
      break;
    }
    h.sections.push_back(sec);
  }
  std::uint64_t after_table = h.sections_offset;
  if (h.number_of_sections > 0 && !h.sections.empty()) {
    after_table = h.sections_offset + kSectionHeaderSize * h.number_of_sections;
  }
  std::optional<std::uint64_t> lowest;
  for (const auto& sec : h.sections) {
    if (sec.raw_pointer == 0) continue;
    const std::uint64_t adj = AdjustFileAlignment(sec.raw_pointer, h.file_alignment);
    lowest = lowest ? std::min(*lowest, adj) : adj;
  }
  h.header_length = (!lowest || *lowest == 0 || *lowest < after_table) ? after_table : *lowest;
  return h;
}

// The analyzer's view of the file after streaming: its size and the byte
// ranges it kept.
struct Capture {
  std::uint64_t begin = 0;
  std::uint64_t end = 0;  // planned end; data may be shorter at EOF
  std::vector<std::byte> data;
};

class SparseFile {
 public:
  SparseFile(std::uint64_t size, const std::vector<Capture>& captures) : size_(size), captures_(captures) {}
  std::uint64_t size() const { return size_; }
  bool missing() const { return missing_; }

  // Python data[begin:begin+len]; marks `missing` when in-file bytes were not
  // captured and returns the captured leading part.
  Bytes Slice(std::uint64_t begin, std::uint64_t len) const {
    if (begin >= size_ || len == 0) return {};
    const std::uint64_t want = std::min(len, size_ - begin);
    for (const auto& c : captures_) {
      if (begin >= c.begin && begin < c.begin + c.data.size()) {
        const Bytes d(c.data.data(), c.data.size());
        Bytes got = PySlice(d, begin - c.begin, want);
        if (got.size() < want) missing_ = true;
        return got;
      }
    }
    missing_ = true;
    return {};
  }

 private:
  std::uint64_t size_;
  const std::vector<Capture>& captures_;
  mutable bool missing_ = false;
};

struct ImportSymbol {
  std::optional<std::uint32_t> ordinal;
  std::string name;  // empty when by ordinal without a table name
};

struct ImportDesc {
  std::string dll;
  std::vector<ImportSymbol> symbols;
};

struct PefileError {};

// pefile's RVA mapping and import-directory walk over a SparseFile.
class PeImage {
 public:
  PeImage(const SparseFile& file, const Headers& h) : f_(file), h_(h) {
    for (const auto& s : h.sections) {
      Sec sec;
      sec.raw = s;
      sec.va_adj = AdjustSectionAlignment(s.virtual_address, h.section_alignment, h.file_alignment);
      sec.ptr_adj = AdjustFileAlignment(s.raw_pointer, h.file_alignment);
      sorted_.push_back(sec);
    }
    std::stable_sort(sorted_.begin(), sorted_.end(),
                     [](const Sec& a, const Sec& b) { return a.raw.virtual_address < b.raw.virtual_address; });
    for (std::size_t i = 0; i < sorted_.size(); ++i) {
      Sec& s = sorted_[i];
      std::uint64_t size = 0;
      if (f_.size() < s.ptr_adj || f_.size() - s.ptr_adj < s.raw.raw_size) {
        size = s.raw.virtual_size;
      } else {
        size = std::max(s.raw.raw_size, s.raw.virtual_size);
      }
      if (i + 1 < sorted_.size()) {
        const std::uint64_t next = sorted_[i + 1].raw.virtual_address;
        if (next > s.raw.virtual_address && s.va_adj + size > next) size = next - s.va_adj;
      }
      s.min_addr = s.va_adj;
      s.max_addr = s.va_adj + size;
    }
  }

  std::uint64_t FileSize() const { return f_.size(); }

  // pefile get_section_by_rva, including its last-used cache.
  const void* SectionHandle(std::uint64_t rva) { return FindSection(rva); }

  std::optional<std::uint64_t> OffsetFromRva(std::uint64_t rva) {
    const Sec* s = FindSection(rva);
    if (s == nullptr) {
      if (rva < f_.size()) return rva;
      return std::nullopt;
    }
    return rva - s->va_adj + s->ptr_adj;
  }

  // pefile PE.get_data(rva, length) for length > 0; nullopt = PEFormatError.
  std::optional<Bytes> GetData(std::uint64_t rva, std::uint64_t length) {
    const Sec* s = FindSection(rva);
    if (s == nullptr) {
      const std::uint64_t header_len = std::min(h_.header_length, f_.size());
      if (rva < header_len) return f_.Slice(rva, std::min(length, header_len - rva));
      if (rva < f_.size()) return f_.Slice(rva, length);
      return std::nullopt;
    }
    return SectionData(*s, rva, length);
  }

  std::string StringAtRva(std::uint64_t rva, std::uint64_t max_length) {
    const Sec* s = FindSection(rva);
    Bytes d = s == nullptr ? f_.Slice(rva, max_length) : SectionData(*s, rva, max_length);
    std::string out;
    for (std::byte b : d) {
      if (b == std::byte{0}) break;
      out.push_back(static_cast<char>(b));
    }
    return out;
  }

  std::vector<ImportDesc> ParseImportDirectory(std::uint64_t rva) {
    std::vector<ImportDesc> descs;
    int error_count = 0;
    // Bounded by pefile's own limits (error_count, total symbols); the extra
    // guard keeps a pathological table from spinning on skipped descriptors.
    for (std::uint64_t guard = 0; guard < 1u << 20; ++guard) {
      auto data = GetData(rva, 20);
      if (!data) break;
      const std::uint64_t file_offset = OffsetFromRva(rva).value_or(0);
      if (data->size() < 20) break;
      if (std::all_of(data->begin(), data->end(), [](std::byte b) { return b == std::byte{0}; })) break;
      FieldReader dr(*data, "import descriptor");
      const std::uint64_t oft = dr.U32(0);
      const std::uint64_t name_rva = dr.U32(12);
      const std::uint64_t ft = dr.U32(16);
      if (!dr.ok()) break;
      rva += 20;
      std::int64_t max_len = static_cast<std::int64_t>(f_.size()) - static_cast<std::int64_t>(file_offset);
      if (rva > oft || rva > ft) {
        max_len = std::max(static_cast<std::int64_t>(rva) - static_cast<std::int64_t>(oft),
                           static_cast<std::int64_t>(rva) - static_cast<std::int64_t>(ft));
      }
      std::vector<ImportSymbol> symbols;
      if (auto parsed = ParseImports(oft, ft, max_len)) symbols = std::move(*parsed);
      if (error_count > 5) break;
      if (symbols.empty()) {
        ++error_count;
        continue;
      }
      std::string dll = StringAtRva(name_rva, kMaxNameLength);
      if (!IsValidDosFilename(dll)) dll = "*invalid*";
      if (dll.empty()) continue;
      for (auto& sym : symbols) {
        if (sym.name.empty() && sym.ordinal) {
          if (auto n = PeOrdinalName(dll, *sym.ordinal)) sym.name = *n;
        }
      }
      descs.push_back(ImportDesc{std::move(dll), std::move(symbols)});
    }
    return descs;
  }

 private:
  struct Sec {
    RawSection raw;
    std::uint64_t va_adj = 0;
    std::uint64_t ptr_adj = 0;
    std::uint64_t min_addr = 0;
    std::uint64_t max_addr = 0;
  };

  const Sec* FindSection(std::uint64_t rva) {
    if (last_used_ && rva >= last_used_->min_addr && rva < last_used_->max_addr) return last_used_;
    for (const auto& s : sorted_) {
      if (rva >= s.min_addr && rva < s.max_addr) {
        last_used_ = &s;
        return &s;
      }
    }
    return nullptr;
  }

  // SectionStructure.get_data(start=rva, length).
  Bytes SectionData(const Sec& s, std::uint64_t rva, std::uint64_t length) const {
    const std::uint64_t offset = rva - s.va_adj + s.ptr_adj;
    std::uint64_t end = offset + length;
    const std::uint64_t limit = static_cast<std::uint64_t>(s.raw.raw_pointer) + s.raw.raw_size;
    if (end > limit) end = limit;
    if (end <= offset) return {};
    return f_.Slice(offset, end - offset);
  }

  static bool IsValidDosFilename(std::string_view s) {
    static constexpr std::string_view kExtra = "!#$%&'()-@^_`{}~+,.;=[]\\/";
    return std::all_of(s.begin(), s.end(), [](char c) {
      return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
             kExtra.find(c) != std::string_view::npos;
    });
  }
  static bool IsValidFunctionName(std::string_view s) {
    static constexpr std::string_view kExtra = "._?@$()<>";
    return std::all_of(s.begin(), s.end(), [](char c) {
      return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
             kExtra.find(c) != std::string_view::npos;
    });
  }

  // pefile get_import_table: nullopt = None (unreadable), empty = [].
  std::optional<std::vector<std::uint64_t>> GetImportTable(std::uint64_t rva, std::int64_t max_length) {
    std::vector<std::uint64_t> table;
    const std::uint64_t entry = h_.is64 ? 8 : 4;
    const std::uint64_t ordinal_flag = h_.is64 ? (1ULL << 63) : 0x80000000ULL;
    constexpr std::uint64_t kMaxSpread = 128ULL << 20;
    int repeated = 0;
    std::unordered_set<std::uint64_t> set32, set64;
    std::uint64_t min32 = 0, max32 = 0, min64 = 0, max64 = 0;
    const std::uint64_t start = rva;
    while (rva != 0) {
      if (static_cast<std::int64_t>(rva) >= static_cast<std::int64_t>(start) + max_length) break;
      if (total_import_symbols_ > kMaxImportSymbols) break;
      ++total_import_symbols_;
      if (repeated >= 15) return std::vector<std::uint64_t>{};
      if (!set32.empty() && max32 - min32 > kMaxSpread) return std::vector<std::uint64_t>{};
      if (!set64.empty() && max64 - min64 > kMaxSpread) return std::vector<std::uint64_t>{};
      auto data = GetData(rva, entry);
      if (!data || data->size() != entry) return std::nullopt;
      FieldReader tr(*data, "import thunk");
      const std::uint64_t value = h_.is64 ? tr.U64(0) : tr.U32(0);
      if (!tr.ok()) return std::nullopt;
      if (value >= start && value <= rva) break;
      if (value != 0) {
        if (value & ordinal_flag) {
          if ((value & 0x7FFFFFFF) > 0xFFFF) return std::vector<std::uint64_t>{};
        } else {
          const bool big = value >= (1ULL << 32);
          auto& set = big ? set64 : set32;
          auto& mn = big ? min64 : min32;
          auto& mx = big ? max64 : max32;
          if (set.contains(value)) ++repeated;
          if (set.empty()) {
            mn = mx = value;
          } else {
            mn = std::min(mn, value);
            mx = std::max(mx, value);
          }
          set.insert(value);
        }
      }
      if (value == 0) break;
      rva += entry;
      table.push_back(value);
    }
    return table;
  }

  // pefile parse_imports; nullopt stands for a raised PEFormatError.
  std::optional<std::vector<ImportSymbol>> ParseImports(std::uint64_t oft, std::uint64_t ft, std::int64_t max_length) {
    auto ilt = GetImportTable(oft, max_length);
    auto iat = GetImportTable(ft, max_length);
    const bool ilt_ok = ilt && !ilt->empty();
    const bool iat_ok = iat && !iat->empty();
    if (!ilt_ok && !iat_ok) return std::vector<ImportSymbol>{};
    const std::vector<std::uint64_t>& table = ilt_ok ? *ilt : *iat;
    const std::uint64_t ordinal_flag = h_.is64 ? (1ULL << 63) : 0x80000000ULL;
    const std::uint64_t address_mask = h_.is64 ? 0x7FFFFFFFFFFFFFFFULL : 0x7FFFFFFFULL;
    std::vector<ImportSymbol> out;
    std::size_t num_invalid = 0;
    for (std::size_t idx = 0; idx < table.size(); ++idx) {
      const std::uint64_t value = table[idx];
      std::optional<std::uint32_t> ordinal;
      std::optional<std::string> name;
      if (value & ordinal_flag) {
        ordinal = static_cast<std::uint32_t>(value & 0xFFFF);
      } else {
        const std::uint64_t hint_rva = value & address_mask;
        if (GetData(hint_rva, 2)) {
          std::string n = StringAtRva(value + 2, kMaxNameLength);
          name = IsValidFunctionName(n) ? n : "*invalid*";
        }
      }
      if (!ordinal && !name) return std::nullopt;  // "Invalid entries, aborting parsing."
      if (name && *name == "*invalid*") {
        if (num_invalid > 1000 && num_invalid == idx) return std::nullopt;
        ++num_invalid;
        continue;
      }
      if ((ordinal && *ordinal != 0) || (name && !name->empty())) {
        out.push_back(ImportSymbol{ordinal, name.value_or("")});
      }
    }
    return out;
  }

  const SparseFile& f_;
  const Headers& h_;
  std::vector<Sec> sorted_;
  const Sec* last_used_ = nullptr;
  std::uint64_t total_import_symbols_ = 0;
};

std::string Md5Hex(std::string_view s) {
  std::array<unsigned char, EVP_MAX_MD_SIZE> md{};
  unsigned int len = 0;
  if (EVP_Digest(s.data(), s.size(), md.data(), &len, EVP_md5(), nullptr) != 1) return {};
  return ToHex(Bytes(reinterpret_cast<const std::byte*>(md.data()), len));
}

std::string Imphash(const std::vector<ImportDesc>& descs) {
  if (descs.empty()) return "";
  std::string joined;
  bool first = true;
  for (const auto& d : descs) {
    std::string lib = ToLowerAscii(d.dll);
    if (auto dot = lib.rfind('.'); dot != std::string::npos) {
      const std::string ext = lib.substr(dot + 1);
      if (ext == "ocx" || ext == "sys" || ext == "dll") lib.resize(dot);
    }
    for (const auto& sym : d.symbols) {
      std::string func = sym.name;
      if (func.empty() && sym.ordinal) func = "ord" + std::to_string(*sym.ordinal);
      if (func.empty()) continue;
      if (!first) joined.push_back(',');
      first = false;
      joined += lib + "." + ToLowerAscii(func);
    }
  }
  return Md5Hex(joined);
}

// ---------------------------------------------------------------------------
// Version resource (RT_VERSION, VS_VERSIONINFO / StringFileInfo).

std::uint64_t DwordAlign(std::uint64_t offset, std::uint64_t base) {
  return ((offset + base + 3) & ~std::uint64_t{3}) - (base & ~std::uint64_t{3});
}

// UTF-16LE string at `pos` in `d` up to NUL or `max_units`; returns units read.
std::string Utf16At(Bytes d, std::uint64_t pos, std::uint64_t max_units, std::uint64_t* units) {
  Bytes s = PySlice(d, pos, max_units * 2);
  std::size_t n = 0;
  while (n + 1 < s.size() && (s[n] != std::byte{0} || s[n + 1] != std::byte{0})) n += 2;
  if (units) *units = n / 2;
  return Utf16LeToUtf8(s.first(n));
}

void ParseVersionInfo(Bytes d, std::uint64_t base_rva, std::vector<std::pair<std::string, std::string>>& out) {
  // Each block: u16 wLength, u16 wValueLength, u16 wType, WCHAR szKey[], pad,
  // Value, pad, Children.
  if (d.size() < 6) return;
  std::uint64_t key_units = 0;
  if (Utf16At(d, 6, 64, &key_units) != "VS_VERSION_INFO") return;
  FieldReader r(d, "VS_VERSIONINFO");
  const std::uint64_t root_len = std::min<std::uint64_t>(r.U16(0), d.size());
  const std::uint64_t fixed_len = r.U16(2);
  std::uint64_t pos = DwordAlign(6 + 2 * (key_units + 1), base_rva);
  pos = DwordAlign(pos + fixed_len, base_rva);
  int blocks = 0;
  while (pos + 6 <= root_len && ++blocks < 64 && r.ok()) {
    const std::uint64_t len = r.U16(pos);
    if (len < 6 || !r.ok()) break;
    const std::uint64_t end = std::min(pos + len, root_len);
    std::uint64_t units = 0;
    const std::string key = Utf16At(d, pos + 6, (end - pos - 6) / 2, &units);
    if (key.starts_with("StringFileInfo")) {
      std::uint64_t tpos = DwordAlign(pos + 6 + 2 * (units + 1), base_rva);
      int tables = 0;
      while (tpos + 6 <= end && ++tables < 64) {
        const std::uint64_t tlen = r.U16(tpos);
        if (tlen < 6 || !r.ok()) break;
        const std::uint64_t tend = std::min(tpos + tlen, end);
        std::uint64_t tunits = 0;
        Utf16At(d, tpos + 6, 16, &tunits);
        std::uint64_t spos = DwordAlign(tpos + 6 + 2 * (tunits + 1), base_rva);
        int strings = 0;
        while (spos + 6 <= tend && ++strings < 4096) {
          const std::uint64_t slen = r.U16(spos);
          const std::uint64_t vlen = r.U16(spos + 2);
          if (slen < 6 || !r.ok()) break;
          const std::uint64_t send = std::min(spos + slen, tend);
          std::uint64_t kunits = 0;
          std::string skey = Utf16At(d, spos + 6, (send - spos - 6) / 2, &kunits);
          const std::uint64_t vpos = DwordAlign(spos + 6 + 2 * (kunits + 1), base_rva);
          std::string value;
          if (vpos < send) value = Utf16At(d, vpos, std::min(vlen, (send - vpos) / 2), nullptr);
          const bool seen = std::any_of(out.begin(), out.end(), [&](const auto& kv) { return kv.first == skey; });
          if (!seen && !skey.empty()) out.emplace_back(std::move(skey), std::move(value));
          spos = DwordAlign(spos + slen, base_rva);
        }
        tpos = DwordAlign(tpos + tlen, base_rva);
      }
    }
    pos = DwordAlign(pos + len, base_rva);
  }
}

// Finds the first RT_VERSION data entry and returns its RVA and size.
std::optional<DataDir> FindVersionResource(PeImage& img, std::uint64_t root_rva) {
  auto read_dir = [&](std::uint64_t rva, auto&& pick) -> std::optional<std::uint32_t> {
    auto hdr = img.GetData(rva, 16);
    if (!hdr || hdr->size() < 16) return std::nullopt;
    FieldReader hr(*hdr, "resource directory");
    const std::uint32_t count = static_cast<std::uint32_t>(hr.U16(12)) + hr.U16(14);
    if (!hr.ok()) return std::nullopt;
    for (std::uint32_t i = 0; i < count && i < 4096; ++i) {
      auto e = img.GetData(rva + 16 + 8ULL * i, 8);
      if (!e || e->size() < 8) return std::nullopt;
      FieldReader er(*e, "resource directory entry");
      const std::uint32_t name = er.U32(0);
      const std::uint32_t target = er.U32(4);
      if (!er.ok()) return std::nullopt;
      if (pick(name, target)) return target;
    }
    return std::nullopt;
  };
  auto type =
      read_dir(root_rva, [](std::uint32_t name, std::uint32_t target) { return name == 16 && (target & 0x80000000u); });
  if (!type) return std::nullopt;
  auto id = read_dir(root_rva + (*type & 0x7FFFFFFFu),
                     [](std::uint32_t, std::uint32_t target) { return (target & 0x80000000u) != 0; });
  if (!id) return std::nullopt;
  auto lang = read_dir(root_rva + (*id & 0x7FFFFFFFu),
                       [](std::uint32_t, std::uint32_t target) { return (target & 0x80000000u) == 0; });
  if (!lang) return std::nullopt;
  auto entry = img.GetData(root_rva + *lang, 16);
  if (!entry || entry->size() < 16) return std::nullopt;
  FieldReader dr(*entry, "resource data entry");
  const DataDir dir{dr.U32(0), dr.U32(4)};
  if (!dr.ok()) return std::nullopt;
  return dir;
}

// ---------------------------------------------------------------------------
// Byte histograms between boundaries, so entropies of ranges whose exact
// bounds depend on the final file size can be answered at Finish.

class RangeHistograms {
 public:
  static constexpr std::size_t kMaxBoundaries = 1024;
  using Histogram = std::array<std::uint64_t, 256>;

  void SetBoundaries(std::vector<std::uint64_t> b) {
    b.push_back(0);
    std::sort(b.begin(), b.end());
    b.erase(std::unique(b.begin(), b.end()), b.end());
    if (b.size() > kMaxBoundaries) b.resize(kMaxBoundaries);
    boundaries_ = std::move(b);
    histograms_.clear();
    histograms_.resize(boundaries_.size());
  }

  void Update(std::uint64_t offset, Bytes chunk) {
    if (boundaries_.empty()) return;
    std::size_t seg = Segment(offset);
    std::size_t i = 0;
    while (i < chunk.size()) {
      const std::uint64_t pos = offset + i;
      while (seg + 1 < boundaries_.size() && boundaries_[seg + 1] <= pos) ++seg;
      std::uint64_t limit = chunk.size();
      if (seg + 1 < boundaries_.size()) limit = std::min<std::uint64_t>(limit, boundaries_[seg + 1] - offset);
      if (!histograms_[seg]) histograms_[seg] = std::make_unique<Histogram>();
      Histogram& h = *histograms_[seg];
      for (; i < limit; ++i) ++h[static_cast<std::uint8_t>(chunk[i])];
    }
  }

  // Entropy of [begin, end) where both are boundaries or `end` is EOF.
  // Answered from cumulative histograms so many overlapping sections cost
  // O(256) each, not O(boundaries * 256).
  std::optional<double> Entropy(std::uint64_t begin, std::uint64_t end, std::uint64_t file_size) {
    end = std::min(end, file_size);
    if (begin >= end) return 0.0;
    if (!IsBoundary(begin) || (end != file_size && !IsBoundary(end))) return std::nullopt;
    if (cumulative_.empty()) {
      cumulative_.assign(boundaries_.size() + 1, Histogram{});
      for (std::size_t k = 0; k < boundaries_.size(); ++k) {
        cumulative_[k + 1] = cumulative_[k];
        if (!histograms_[k]) continue;
        for (std::size_t j = 0; j < 256; ++j) cumulative_[k + 1][j] += (*histograms_[k])[j];
      }
    }
    // Segments k with begin <= boundaries_[k] < end.
    const auto lo =
        static_cast<std::size_t>(std::lower_bound(boundaries_.begin(), boundaries_.end(), begin) - boundaries_.begin());
    const auto hi =
        static_cast<std::size_t>(std::lower_bound(boundaries_.begin(), boundaries_.end(), end) - boundaries_.begin());
    Histogram sum{};
    std::uint64_t total = 0;
    for (std::size_t j = 0; j < 256; ++j) {
      sum[j] = cumulative_[hi][j] - cumulative_[lo][j];
      total += sum[j];
    }
    if (total == 0) return 0.0;
    double e = 0.0;
    for (auto c : sum) {
      if (c == 0) continue;
      const double p = static_cast<double>(c) / static_cast<double>(total);
      e -= p * std::log2(p);
    }
    return e;
  }

 private:
  std::size_t Segment(std::uint64_t pos) const {
    auto it = std::upper_bound(boundaries_.begin(), boundaries_.end(), pos);
    return static_cast<std::size_t>(it - boundaries_.begin()) - 1;
  }
  bool IsBoundary(std::uint64_t v) const { return std::binary_search(boundaries_.begin(), boundaries_.end(), v); }
  std::vector<std::uint64_t> boundaries_;
  std::vector<std::unique_ptr<Histogram>> histograms_;
  std::vector<Histogram> cumulative_;  // built on the first query, after the stream ended
};

std::string SectionName(const std::array<std::byte, 8>& raw) {
  std::string name;
  for (std::byte b : raw) {
    if (b == std::byte{0}) break;
    name.push_back(static_cast<char>(b));
  }
  return RepairUtf8(name);
}

std::string SubsystemName(std::uint16_t s) {
  switch (s) {
    case 1: return "NATIVE";
    case 2: return "WINDOWS_GUI";
    case 3: return "WINDOWS_CUI";
    case 5: return "OS2_CUI";
    case 7: return "POSIX_CUI";
    case 8: return "NATIVE_WINDOWS";
    case 9: return "WINDOWS_CE_GUI";
    case 10: return "EFI_APPLICATION";
    case 11: return "EFI_BOOT_SERVICE_DRIVER";
    case 12: return "EFI_RUNTIME_DRIVER";
    case 13: return "EFI_ROM";
    case 14: return "XBOX";
    case 16: return "WINDOWS_BOOT_APPLICATION";
    default: return "UNKNOWN";
  }
}

}  // namespace

std::string PeMachineName(std::uint16_t machine) {
  switch (machine) {
    case 0x0000: return "UNKNOWN";
    case 0x014C: return "I386";
    case 0x0162: return "R3000";
    case 0x0166: return "R4000";
    case 0x0168: return "R10000";
    case 0x0169: return "WCEMIPSV2";
    case 0x0184: return "ALPHA";
    case 0x01A2: return "SH3";
    case 0x01A6: return "SH4";
    case 0x01A8: return "SH5";
    case 0x01C0: return "ARM";
    case 0x01C2: return "THUMB";
    case 0x01C4: return "ARMNT";
    case 0x01D3: return "AM33";
    case 0x01F0: return "POWERPC";
    case 0x01F1: return "POWERPCFP";
    case 0x0200: return "IA64";
    case 0x0266: return "MIPS16";
    case 0x0284: return "ALPHA64";
    case 0x0366: return "MIPSFPU";
    case 0x0466: return "MIPSFPU16";
    case 0x0520: return "TRICORE";
    case 0x0EBC: return "EBC";
    case 0x5032: return "RISCV32";
    case 0x5064: return "RISCV64";
    case 0x5128: return "RISCV128";
    case 0x6232: return "LOONGARCH32";
    case 0x6264: return "LOONGARCH64";
    case 0x8664: return "AMD64";
    case 0x9041: return "M32R";
    case 0xAA64: return "ARM64";
    case 0xC0EE: return "CEE";
    default: return fmt::format("UNKNOWN_{:04X}", machine);
  }
}

std::string PeInfo::VersionString(std::string_view key) const {
  for (const auto& [k, v] : version_info) {
    if (k == key) return v;
  }
  return "";
}

// ---------------------------------------------------------------------------
// PeAnalyzer

class PeAnalyzer::Impl {
 public:
  explicit Impl(PeAnalyzerLimits limits) : limits_(limits) {}

  void Update(Bytes chunk) {
    if (chunk.empty()) return;
    if (!planned_) {
      if (failure_) {
        position_ += chunk.size();
        return;
      }
      const std::uint64_t room =
          limits_.max_header_bytes - std::min<std::uint64_t>(prefix_.size(), limits_.max_header_bytes);
      const std::size_t take = static_cast<std::size_t>(std::min<std::uint64_t>(room, chunk.size()));
      prefix_.insert(prefix_.end(), chunk.begin(), chunk.begin() + static_cast<std::ptrdiff_t>(take));
      position_ += take;
      if (prefix_.size() >= 64) e_lfanew_ = FieldReader(Bytes(prefix_.data(), prefix_.size()), "DOS header").U32(0x3C);
      auto need = HeaderBytesNeeded(Bytes(prefix_.data(), prefix_.size()), limits_);
      if (!need) {
        failure_ = need.error();
        prefix_.clear();
        prefix_.shrink_to_fit();
        position_ += chunk.size() - take;
        return;
      }
      if (*need == 0 || prefix_.size() < *need) {
        if (take < chunk.size()) {
          failure_ = Error{ErrorCode::kLimit, "PE headers exceed the header buffer limit"};
          position_ += chunk.size() - take;
        }
        return;
      }
      Plan(kUnknownSize);
      if (failure_) {
        position_ += chunk.size() - take;
        return;
      }
      chunk = chunk.subspan(take);
      if (chunk.empty()) return;
    }
    if (failure_) {
      position_ += chunk.size();
      return;
    }
    Process(position_, chunk);
    position_ += chunk.size();
  }

  Result<PeInfo> Finish() {
    if (finished_) return std::unexpected(Error{ErrorCode::kInvalidArgument, "PeAnalyzer::Finish called twice"});
    finished_ = true;
    const std::uint64_t file_size = position_;
    if (failure_) {
      // A far e_lfanew in a file too short to hold it is a DOS program, not
      // a PE whose headers merely exceed the buffer.
      if (failure_->code == ErrorCode::kLimit && e_lfanew_ && *e_lfanew_ >= file_size) {
        return std::unexpected(NotPe(
            fmt::format("MZ-only DOS executable: e_lfanew {} points past the end of the file", HexOffset(*e_lfanew_))));
      }
      return std::unexpected(*failure_);
    }
    if (!planned_) {
      if (file_size == 0) return std::unexpected(NotPe("empty file"));
      Plan(file_size);
      if (failure_) return std::unexpected(*failure_);
    }
    return Analyse(file_size);
  }

 private:
  // Parses the buffered headers, decides what to capture and where the
  // digest and histogram boundaries lie, then replays the buffer.
  void Plan(std::uint64_t file_size) {
    auto headers = ParseHeaders(Bytes(prefix_.data(), prefix_.size()), file_size, limits_);
    if (!headers) {
      failure_ = headers.error();
      return;
    }
    planned_ = true;
    const Headers& h = *headers;
    const DataDir cert = h.Dir(kDirSecurity);
    hasher_.SetLayout(h.ChecksumOffset(), h.CertDirOffset(), cert.va);

    // Captures, in priority order for the total budget.
    std::vector<std::pair<std::uint64_t, std::uint64_t>> wanted;
    const std::uint64_t cap = limits_.max_range_capture_bytes;
    wanted.emplace_back(
        0, std::max<std::uint64_t>({limits_.prefix_capture_bytes, prefix_.size(), std::min(h.header_length, cap)}));
    if (cert.va != 0 && cert.size != 0) {
      if (cert.size > cap) notes_.push_back("truncated analysis: certificate table larger than the capture cap");
      wanted.emplace_back(cert.va, static_cast<std::uint64_t>(cert.va) + std::min<std::uint64_t>(cert.size, cap));
    }
    for (std::size_t dir : {kDirImport, kDirIat, kDirResource}) {
      const std::uint64_t rva = h.Dir(dir).va;
      if (rva == 0) continue;
      for (const auto& s : h.sections) {
        const std::uint64_t va_adj = AdjustSectionAlignment(s.virtual_address, h.section_alignment, h.file_alignment);
        const std::uint64_t span = std::max(s.raw_size, s.virtual_size);
        if (rva < va_adj || rva >= va_adj + span) continue;
        const std::uint64_t begin = AdjustFileAlignment(s.raw_pointer, h.file_alignment);
        std::uint64_t end = static_cast<std::uint64_t>(s.raw_pointer) + s.raw_size;
        if (end <= begin) continue;
        if (end - begin > cap) {
          notes_.push_back(
              fmt::format("truncated analysis: section {} larger than the capture cap", SectionName(s.name)));
          end = begin + cap;
        }
        wanted.emplace_back(begin, end);
      }
    }
    std::uint64_t budget = limits_.max_total_capture_bytes;
    std::vector<std::pair<std::uint64_t, std::uint64_t>> granted;
    for (auto [b, e] : wanted) {
      const std::uint64_t len = std::min(e - b, budget);
      if (len < e - b) notes_.push_back("truncated analysis: total capture budget exhausted");
      if (len == 0) continue;
      budget -= len;
      granted.emplace_back(b, b + len);
    }
    std::sort(granted.begin(), granted.end());
    for (auto [b, e] : granted) {
      if (!captures_.empty() && b <= captures_.back().end) {
        captures_.back().end = std::max(captures_.back().end, e);
      } else {
        captures_.push_back(Capture{b, e, {}});
      }
    }

    // Histogram boundaries: section data ranges, overlay candidates, and the
    // certificate table.
    std::vector<std::uint64_t> bounds;
    bounds.push_back(h.optional_offset + h.size_of_optional_header);
    for (const auto& s : h.sections) {
      const std::uint64_t adj = AdjustFileAlignment(s.raw_pointer, h.file_alignment);
      bounds.push_back(adj);
      bounds.push_back(adj + s.raw_size);
      bounds.push_back(static_cast<std::uint64_t>(s.raw_pointer) + s.raw_size);
    }
    for (std::size_t i = 0; i < h.dirs.size(); ++i) {
      if (i == kDirSecurity) continue;
      const std::uint64_t va = h.dirs[i].va;
      const std::uint64_t size = h.dirs[i].size;
      bounds.push_back(va + size);
      for (const auto& s : h.sections) {
        const std::uint64_t va_adj = AdjustSectionAlignment(s.virtual_address, h.section_alignment, h.file_alignment);
        if (va < va_adj || va >= va_adj + std::max(s.raw_size, s.virtual_size)) continue;
        bounds.push_back(va - va_adj + AdjustFileAlignment(s.raw_pointer, h.file_alignment) + size);
      }
    }
    if (cert.va != 0) {
      bounds.push_back(cert.va);
      bounds.push_back(static_cast<std::uint64_t>(cert.va) + cert.size);
    }
    histograms_.SetBoundaries(std::move(bounds));

    std::vector<std::byte> buffered;
    buffered.swap(prefix_);
    Process(0, Bytes(buffered.data(), buffered.size()));
  }

  void Process(std::uint64_t offset, Bytes chunk) {
    hasher_.Update(offset, chunk);
    histograms_.Update(offset, chunk);
    const std::uint64_t end = offset + chunk.size();
    for (auto& c : captures_) {
      const std::uint64_t have = c.begin + c.data.size();
      if (have >= c.end || end <= have || offset > have) continue;
      const std::uint64_t stop = std::min(end, c.end);
      const auto part = chunk.subspan(static_cast<std::size_t>(have - offset), static_cast<std::size_t>(stop - have));
      c.data.insert(c.data.end(), part.begin(), part.end());
    }
  }

  Result<PeInfo> Analyse(std::uint64_t file_size) {
    const Capture& head = captures_.front();
    auto parsed = ParseHeaders(Bytes(head.data.data(), head.data.size()), file_size, limits_);
    if (!parsed) return std::unexpected(parsed.error());
    const Headers& h = *parsed;
    PeInfo info;
    info.file_size = file_size;
    info.machine = h.machine;
    info.machine_name = PeMachineName(h.machine);
    info.timestamp = h.timestamp;
    info.characteristics = h.characteristics;
    info.subsystem = h.subsystem;
    info.subsystem_name = SubsystemName(h.subsystem);
    info.is_dll = (h.characteristics & 0x2000) != 0;
    info.is_64 = h.is64;
    info.entry_point = h.entry_point;
    info.image_base = h.image_base;
    info.number_of_sections = h.number_of_sections;
    info.notes = notes_;
    info.notes.insert(info.notes.end(), h.notes.begin(), h.notes.end());

    for (const auto& s : h.sections) {
      PeSection out;
      out.name = SectionName(s.name);
      out.virtual_address = s.virtual_address;
      out.virtual_size = s.virtual_size;
      out.raw_offset = s.raw_pointer;
      out.raw_size = s.raw_size;
      out.characteristics = s.characteristics;
      const std::uint64_t adj = AdjustFileAlignment(s.raw_pointer, h.file_alignment);
      out.entropy = histograms_.Entropy(adj, adj + s.raw_size, file_size);
      info.sections.push_back(std::move(out));
    }

    SparseFile file(file_size, captures_);
    PeImage image(file, h);
    image.SectionHandle(h.entry_point);  // pefile looks this up first; it primes its cache
    if (const DataDir imp = h.Dir(kDirImport); imp.va != 0) {
      auto descs = image.ParseImportDirectory(imp.va);
      info.imphash = Imphash(descs);
      for (auto& d : descs) {
        PeImport pi;
        pi.dll = RepairUtf8(d.dll);
        for (auto& sym : d.symbols) {
          pi.functions.push_back(sym.name.empty() && sym.ordinal ? "ord" + std::to_string(*sym.ordinal)
                                                                 : RepairUtf8(sym.name));
        }
        info.imports.push_back(std::move(pi));
      }
    }
    if (const DataDir rsrc = h.Dir(kDirResource); rsrc.va != 0) {
      if (auto ver = FindVersionResource(image, rsrc.va)) {
        if (auto off = image.OffsetFromRva(ver->va)) {
          Bytes d = file.Slice(*off, std::min<std::uint64_t>(ver->size, kMaxVersionResource));
          ParseVersionInfo(d, ver->va, info.version_info);
        }
      }
    }
    if (file.missing()) {
      info.notes.push_back("truncated analysis: import or resource data lies outside the captured ranges");
    }

    // Overlay, as pefile get_overlay_data_start_offset().
    std::uint64_t best_off = 0, best_size = 0;
    auto consider = [&](std::uint64_t off, std::uint64_t size) {
      if (off + size <= file_size && off + size > best_off + best_size) {
        best_off = off;
        best_size = size;
      }
    };
    consider(h.optional_offset, h.size_of_optional_header);
    for (const auto& s : h.sections) consider(s.raw_pointer, s.raw_size);
    for (std::size_t i = 0; i < h.dirs.size(); ++i) {
      if (i == kDirSecurity) continue;
      if (auto off = image.OffsetFromRva(h.dirs[i].va)) consider(*off, h.dirs[i].size);
    }
    const DataDir cert = h.Dir(kDirSecurity);
    const bool cert_at_end =
        cert.va != 0 && cert.size != 0 && static_cast<std::uint64_t>(cert.va) + cert.size == file_size;
    if (file_size > best_off + best_size) {
      PeOverlay ov;
      ov.offset = best_off + best_size;
      std::uint64_t end = file_size;
      if (cert_at_end && cert.va >= ov.offset) end = cert.va;
      ov.size = end - ov.offset;
      ov.entropy = histograms_.Entropy(ov.offset, end, file_size);
      info.overlay = ov;
    }

    // Authenticode.
    AuthenticodeInfo& auth = info.authenticode;
    auth.cert_table_offset = cert.va;
    auth.cert_table_size = cert.size;
    auth.present = cert.va != 0 && cert.size != 0;
    const bool cert_in_file = auth.present && cert.va < file_size;
    const auto digests = hasher_.Finish(cert_in_file, file_size);
    if (auth.present) {
      if (!cert_in_file) {
        auth.notes.push_back("certificate table starts past the end of the file");
      } else {
        if (!cert_at_end) {
          auth.notes.push_back(static_cast<std::uint64_t>(cert.va) + cert.size > file_size
                                   ? "certificate table runs past the end of the file"
                                   : "certificate table not at end of file");
        }
        Bytes table;
        for (const auto& c : captures_) {
          if (cert.va >= c.begin && cert.va < c.begin + c.data.size()) {
            table = Bytes(c.data.data(), c.data.size()).subspan(static_cast<std::size_t>(cert.va - c.begin));
            break;
          }
        }
        table = table.first(static_cast<std::size_t>(std::min<std::uint64_t>(table.size(), cert.size)));
        AnalyzeCertificateTable(table, std::min<std::uint64_t>(cert.size, file_size - cert.va), auth);
      }
    }
    if (auth.digest_algorithm == "sha1") {
      auth.computed_digest = digests.sha1;
    } else if (auth.digest_algorithm == "sha256" || auth.digest_algorithm.empty()) {
      auth.computed_digest = digests.sha256;
    } else {
      auth.notes.push_back("digest algorithm " + auth.digest_algorithm + " is not computed");
    }
    auth.digest_matches = auth.signed_ && !auth.computed_digest.empty() && auth.computed_digest == auth.signed_digest;
    return info;
  }

  PeAnalyzerLimits limits_;
  std::vector<std::byte> prefix_;
  std::uint64_t position_ = 0;
  bool planned_ = false;
  bool finished_ = false;
  std::optional<Error> failure_;
  std::optional<std::uint64_t> e_lfanew_;
  std::vector<Capture> captures_;
  std::vector<std::string> notes_;
  AuthenticodeHasher hasher_;
  RangeHistograms histograms_;
};

PeAnalyzer::PeAnalyzer(PeAnalyzerLimits limits) : impl_(std::make_unique<Impl>(limits)) {}
PeAnalyzer::~PeAnalyzer() = default;
PeAnalyzer::PeAnalyzer(PeAnalyzer&&) noexcept = default;
PeAnalyzer& PeAnalyzer::operator=(PeAnalyzer&&) noexcept = default;

void PeAnalyzer::Update(Bytes chunk) { impl_->Update(chunk); }
Result<PeInfo> PeAnalyzer::Finish() { return impl_->Finish(); }

Result<PeInfo> AnalyzePe(Bytes whole_file, PeAnalyzerLimits limits) {
  PeAnalyzer analyzer(limits);
  analyzer.Update(whole_file);
  return analyzer.Finish();
}

}  // namespace trawl::core::formats
