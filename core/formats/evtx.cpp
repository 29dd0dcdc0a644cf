// SPDX-License-Identifier: Apache-2.0
#include "core/formats/evtx.h"

#include <algorithm>
#include <array>
#include <bit>
#include <charconv>
#include <cstring>
#include <limits>
#include <memory>
#include <optional>
#include <span>
#include <unordered_map>
#include <utility>

#include <fmt/format.h>

#include "core/formats/partition.h"  // Crc32
#include "core/util/text.h"
#include "core/util/time.h"

namespace trawl::core::formats::evtx {
namespace {

constexpr std::size_t kRecordHeaderSize = 24;                  // signature, size, identifier, written time
constexpr std::size_t kMinRecordSize = kRecordHeaderSize + 4;  // and the size copy
constexpr std::uint32_t kRecordSignature = 0x00002a2au;
constexpr int kMaxElementDepth = 64;         // element nesting inside one fragment
constexpr int kMaxNesting = 8;               // binary XML values and template instances inside each other
constexpr std::size_t kMaxTemplates = 4096;  // template definitions cached per chunk
constexpr std::size_t kMaxRenderNodes = std::size_t{1} << 18;   // nodes one record may expand to
constexpr std::size_t kMaxRenderBytes = std::size_t{16} << 20;  // text one record may expand to
constexpr std::size_t kMaxRecordErrors = 8;                     // non-fatal problems kept per record

// Binary XML tokens ([MS-EVEN6] 2.2.12); 0x40 on some is "more data follows".
enum Token : std::uint8_t {
  kEof = 0x00,
  kOpenStartElement = 0x01,
  kCloseStartElement = 0x02,
  kCloseEmptyElement = 0x03,
  kEndElement = 0x04,
  kValue = 0x05,
  kAttribute = 0x06,
  kCData = 0x07,
  kCharRef = 0x08,
  kEntityRef = 0x09,
  kPITarget = 0x0a,
  kPIData = 0x0b,
  kTemplateInstance = 0x0c,
  kNormalSubstitution = 0x0d,
  kOptionalSubstitution = 0x0e,
  kFragmentHeader = 0x0f,
};
constexpr std::uint8_t kMoreFlag = 0x40;

// Value types ([MS-EVEN6] 3.1.4.7.3); 0x80 marks an array.
enum ValueType : std::uint8_t {
  kNull = 0x00,
  kString = 0x01,
  kAnsiString = 0x02,
  kInt8 = 0x03,
  kUInt8 = 0x04,
  kInt16 = 0x05,
  kUInt16 = 0x06,
  kInt32 = 0x07,
  kUInt32 = 0x08,
  kInt64 = 0x09,
  kUInt64 = 0x0a,
  kReal32 = 0x0b,
  kReal64 = 0x0c,
  kBool = 0x0d,
  kBinary = 0x0e,
  kGuid = 0x0f,
  kSizeT = 0x10,
  kFileTime = 0x11,
  kSysTime = 0x12,
  kSid = 0x13,
  kHexInt32 = 0x14,
  kHexInt64 = 0x15,
  kEvtHandle = 0x20,
  kBinXml = 0x21,
  kEvtXml = 0x23,
};
constexpr std::uint8_t kArrayFlag = 0x80;

std::uint16_t Le16(Bytes b, std::size_t at) { return ByteReader(b).U16Unchecked(at); }
std::uint32_t Le32(Bytes b, std::size_t at) { return ByteReader(b).U32Unchecked(at); }
std::uint64_t Le64(Bytes b, std::size_t at) { return ByteReader(b).U64Unchecked(at); }
std::uint8_t U8(Bytes b, std::size_t at) { return static_cast<std::uint8_t>(b[at]); }

bool HasSignature(Bytes b, std::size_t at, std::string_view sig) {
  if (at > b.size() || b.size() - at < sig.size()) return false;
  for (std::size_t i = 0; i < sig.size(); ++i)
    if (static_cast<char>(b[at + i]) != sig[i]) return false;
  return true;
}

bool AllZero(Bytes b) {
  return std::all_of(b.begin(), b.end(), [](std::byte x) { return x == std::byte{0}; });
}

// A character reference to half a surrogate pair becomes U+FFFD.
void AppendCodePoint(std::string& out, std::uint32_t cp) {
  core::AppendUtf8(out, cp >= 0xD800 && cp <= 0xDFFF ? 0xFFFD : cp);
}

// Strings in values are counted, and writers often count a terminating NUL.
std::string Utf16Trimmed(Bytes b) {
  std::size_t n = b.size() & ~std::size_t{1};
  while (n >= 2 && b[n - 1] == std::byte{0} && b[n - 2] == std::byte{0}) n -= 2;
  return Utf16LeToUtf8(b.first(n));
}

// ANSI strings: Windows-1252, the code page Event Viewer assumes.
std::string AnsiTrimmed(Bytes b) {
  static constexpr std::array<std::uint16_t, 32> kHigh = {
      0x20AC, 0x0081, 0x201A, 0x0192, 0x201E, 0x2026, 0x2020, 0x2021, 0x02C6, 0x2030, 0x0160,
      0x2039, 0x0152, 0x008D, 0x017D, 0x008F, 0x0090, 0x2018, 0x2019, 0x201C, 0x201D, 0x2022,
      0x2013, 0x2014, 0x02DC, 0x2122, 0x0161, 0x203A, 0x0153, 0x009D, 0x017E, 0x0178};
  std::size_t n = b.size();
  while (n > 0 && b[n - 1] == std::byte{0}) --n;
  std::string out;
  out.reserve(n);
  for (std::size_t i = 0; i < n; ++i) {
    const auto c = static_cast<std::uint8_t>(b[i]);
    AppendCodePoint(out, c >= 0x80 && c < 0xA0 ? kHigh[c - 0x80] : c);
  }
  return out;
}

template <typename T>
std::string Real(T v) {
  std::array<char, 64> buf{};
  const auto r = std::to_chars(buf.data(), buf.data() + buf.size(), v);
  return std::string(buf.data(), r.ptr);
}

std::string Hex(std::uint64_t v) { return fmt::format("0x{:x}", v); }

std::string UpperHex(Bytes b) {
  static constexpr char kDigits[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(b.size() * 2);
  for (std::byte x : b) {
    out.push_back(kDigits[static_cast<std::uint8_t>(x) >> 4]);
    out.push_back(kDigits[static_cast<std::uint8_t>(x) & 0xF]);
  }
  return out;
}

std::string Guid(Bytes b) {
  return fmt::format("{{{:08X}-{:04X}-{:04X}-{:02X}{:02X}-{:02X}{:02X}{:02X}{:02X}{:02X}{:02X}}}", Le32(b, 0),
                     Le16(b, 4), Le16(b, 6), U8(b, 8), U8(b, 9), U8(b, 10), U8(b, 11), U8(b, 12), U8(b, 13), U8(b, 14),
                     U8(b, 15));
}

// A SID's size from its header; 0 when `b` cannot hold one.
std::size_t SidSize(Bytes b) {
  if (b.size() < 8) return 0;
  const std::size_t need = 8 + std::size_t{U8(b, 1)} * 4;
  return need <= b.size() ? need : 0;
}

std::string Sid(Bytes b) {
  std::uint64_t authority = 0;
  for (std::size_t i = 2; i < 8; ++i) authority = authority << 8 | U8(b, i);
  std::string out = authority < (std::uint64_t{1} << 32) ? fmt::format("S-{}-{}", U8(b, 0), authority)
                                                         : fmt::format("S-{}-0x{:012X}", U8(b, 0), authority);
  for (std::size_t i = 0; i < U8(b, 1); ++i) out += fmt::format("-{}", Le32(b, 8 + i * 4));
  return out;
}

std::string SystemTime(Bytes b) {
  return fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z", Le16(b, 0), Le16(b, 2), Le16(b, 6), Le16(b, 8),
                     Le16(b, 10), Le16(b, 12), Le16(b, 14));
}

// Bytes per item of a fixed-size type; 0 for variable-size types.
std::size_t FixedSize(std::uint8_t type, std::size_t total) {
  switch (type) {
    case kInt8:
    case kUInt8: return 1;
    case kInt16:
    case kUInt16: return 2;
    case kInt32:
    case kUInt32:
    case kReal32:
    case kBool:
    case kHexInt32: return 4;
    case kInt64:
    case kUInt64:
    case kReal64:
    case kFileTime:
    case kHexInt64: return 8;
    case kGuid:
    case kSysTime: return 16;
    case kSizeT:
    case kEvtHandle: return total % 8 == 0 && total > 0 ? 8 : 4;
    default: return 0;
  }
}

// ---------------------------------------------------------------------------
// The parsed form of binary XML: templates are parsed once per chunk into
// these nodes and then rendered for every record that instantiates them.

struct Value {
  std::uint8_t type = kNull;
  Bytes data;
};

struct Template;
struct Node;

struct Attr {
  std::string name;
  std::vector<Node> value;  // text, substitutions, character and entity references
};

struct Node {
  enum class Kind : std::uint8_t { kElement, kText, kSubst, kCharRef, kEntityRef, kCData, kPI, kInstance };
  Kind kind = Kind::kText;
  bool optional = false;    // optional substitution
  std::uint8_t type = 0;    // substitution's declared value type
  std::uint16_t index = 0;  // substitution index, character reference
  std::string name;         // element, entity or PI target name
  std::string text;         // text, CDATA, PI data
  std::vector<Attr> attrs;
  std::vector<Node> children;
  const Template* tmpl = nullptr;  // template instance
  std::vector<Value> values;       // template instance
};

struct Template {
  std::uint32_t offset = 0;  // chunk offset of the definition
  std::uint32_t id = 0;      // first four bytes of its GUID
  std::vector<Node> nodes;
  std::string error;  // set when the definition does not parse
};

// Reads binary XML inside a chunk; every offset is chunk-relative, as the
// format's own name and template offsets are.
class Parser {
 public:
  explicit Parser(Bytes chunk) : chunk_(chunk) {}

  // A fragment in [pos, end): fragment headers, one element or template
  // instance, processing instructions, up to the end-of-file token.
  Result<std::vector<Node>> Fragment(std::size_t pos, std::size_t end, int nesting) {
    if (nesting > kMaxNesting)
      return Fail(ErrorCode::kLimit, fmt::format("binary XML at 0x{:x} nests deeper than {}", pos, kMaxNesting));
    Cursor c(chunk_, pos, end);
    std::vector<Node> out;
    while (c.left() > 0) {
      const std::uint8_t t = c.Peek();
      if (t == kEof) break;
      if (t == kFragmentHeader) {
        if (c.left() < 4) return Truncated(c, "fragment header");
        c.Skip(4);
      } else if (t == kTemplateInstance) {
        auto n = Instance(c);
        if (!n) return std::unexpected(n.error());
        out.push_back(std::move(*n));
      } else if ((t & ~kMoreFlag) == kOpenStartElement) {
        Node n;
        TRAWL_TRY_VOID(Element(c, 0, false, n));
        out.push_back(std::move(n));
      } else if (t == kPITarget || t == kPIData) {
        Node n;
        TRAWL_TRY_VOID(PI(c, n));
        out.push_back(std::move(n));
      } else {
        return Fail(ErrorCode::kFormat, fmt::format("unexpected token 0x{:02x} at 0x{:x}", t, c.pos()));
      }
    }
    return out;
  }

  // The template defined at `offset`, parsed once. `id` is what the instance
  // names it by; a definition found only through a reference must carry it.
  Result<const Template*> TemplateAt(std::uint32_t offset, std::uint32_t id, bool inline_def) {
    if (auto it = templates_.find(offset); it != templates_.end()) {
      const Template* t = it->second.get();
      if (!t->error.empty()) return Fail(ErrorCode::kFormat, t->error);
      if (t->id != id)
        return Fail(ErrorCode::kFormat, fmt::format("template definition at 0x{:x} has identifier 0x{:08x}, the "
                                                    "instance names 0x{:08x}",
                                                    std::size_t{offset}, t->id, id));
      return t;
    }
    if (templates_.size() >= kMaxTemplates)
      return Fail(ErrorCode::kLimit, fmt::format("more than {} template definitions in one chunk", kMaxTemplates));
    auto owned = std::make_unique<Template>();
    Template* t = owned.get();
    t->offset = offset;
    // In the map before parsing: a definition that reaches itself finds this error.
    t->error = fmt::format("template definition at 0x{:x} refers to itself", offset);
    templates_.emplace(offset, std::move(owned));
    auto parsed = ParseTemplate(offset, id, inline_def, *t);
    if (!parsed) {
      t->error = parsed.error().message;
      return std::unexpected(parsed.error());
    }
    t->error.clear();
    return t;
  }

  // Size of the template definition at `offset` (header and data), for
  // skipping an inline definition; 0 when it does not fit in the chunk.
  std::size_t TemplateSize(std::size_t offset) const {
    if (offset > chunk_.size() || chunk_.size() - offset < 24) return 0;
    const std::size_t size = Le32(chunk_, offset + 20);
    return size <= chunk_.size() - offset - 24 ? 24 + size : 0;
  }

  Bytes chunk() const { return chunk_; }

 private:
  class Cursor {
   public:
    Cursor(Bytes b, std::size_t pos, std::size_t end) : b_(b), pos_(pos), end_(std::min(end, b.size())) {
      if (pos_ > end_) pos_ = end_;
    }
    std::size_t pos() const { return pos_; }
    std::size_t end() const { return end_; }
    std::size_t left() const { return end_ - pos_; }
    // Callers check left() first.
    std::uint8_t Peek() const { return U8(b_, pos_); }
    std::uint8_t Byte() { return U8(b_, pos_++); }
    std::uint16_t Word() {
      const auto v = Le16(b_, pos_);
      pos_ += 2;
      return v;
    }
    std::uint32_t Dword() {
      const auto v = Le32(b_, pos_);
      pos_ += 4;
      return v;
    }
    Bytes Take(std::size_t n) {
      const Bytes s = b_.subspan(pos_, n);
      pos_ += n;
      return s;
    }
    void Skip(std::size_t n) { pos_ += n; }

   private:
    Bytes b_;
    std::size_t pos_, end_;
  };

  static std::unexpected<Error> Truncated(const Cursor& c, std::string_view what) {
    return Fail(ErrorCode::kFormat,
                fmt::format("{} at 0x{:x} runs past the end of its data (0x{:x})", what, c.pos(), c.end()));
  }

  // A name: a 4-byte chunk offset, the name itself following inline when
  // the offset points right after the field.
  Result<std::string> Name(Cursor& c, std::string_view what) {
    if (c.left() < 4) return Truncated(c, what);
    const std::uint32_t off = c.Dword();
    const std::size_t at = off;
    if (at > chunk_.size() || chunk_.size() - at < 8)
      return Fail(ErrorCode::kFormat,
                  fmt::format("{} at 0x{:x} names offset 0x{:x}, outside the chunk", what, c.pos() - 4, off));
    const std::size_t chars = Le16(chunk_, at + 6);
    if (chars * 2 > chunk_.size() - at - 8)
      return Fail(ErrorCode::kFormat, fmt::format("{} at 0x{:x}: name at 0x{:x} of {} characters runs past the chunk",
                                                  what, c.pos() - 4, off, chars));
    if (at == c.pos()) {
      const std::size_t size = 8 + chars * 2 + 2;  // and its NUL
      if (c.left() < size) return Truncated(c, fmt::format("{} name", what));
      c.Skip(size);
    }
    return Utf16LeToUtf8(chunk_.subspan(at + 8, chars * 2));
  }

  // UTF-16 text with a 16-bit character count (value text, CDATA, PI data).
  Result<std::string> CountedText(Cursor& c, std::string_view what) {
    if (c.left() < 2) return Truncated(c, what);
    const std::size_t chars = c.Word();
    if (c.left() < chars * 2) return Truncated(c, what);
    return Utf16LeToUtf8(c.Take(chars * 2));
  }

  Result<void> Element(Cursor& c, int depth, bool in_template, Node& out) {
    if (depth > kMaxElementDepth)
      return Fail(ErrorCode::kLimit,
                  fmt::format("element at 0x{:x} nests deeper than {} elements", c.pos(), kMaxElementDepth));
    const std::size_t start = c.pos();
    if (c.left() < (in_template ? 11u : 9u)) return Truncated(c, "element start");
    const std::uint8_t token = c.Byte();
    // Inside a template definition an element names the substitution it
    // depends on (0xFFFF: none); elsewhere (a record or a binary XML value
    // that is not a template) the field is absent.
    if (in_template) c.Skip(2);
    c.Skip(4);  // data size
    auto name = Name(c, "element");
    if (!name) return std::unexpected(name.error());
    out.kind = Node::Kind::kElement;
    out.name = std::move(*name);
    if ((token & kMoreFlag) != 0) {
      if (c.left() < 4) return Truncated(c, "attribute list");
      c.Skip(4);  // attribute list size
      while (c.left() > 0 && (c.Peek() & ~kMoreFlag) == kAttribute) {
        c.Skip(1);
        auto attr_name = Name(c, "attribute");
        if (!attr_name) return std::unexpected(attr_name.error());
        Attr a;
        a.name = std::move(*attr_name);
        while (c.left() > 0) {
          const std::uint8_t t = c.Peek() & ~kMoreFlag;
          if (t != kValue && t != kNormalSubstitution && t != kOptionalSubstitution && t != kCharRef && t != kEntityRef)
            break;
          Node part;
          TRAWL_TRY_VOID(CharData(c, part));
          a.value.push_back(std::move(part));
        }
        out.attrs.push_back(std::move(a));
      }
    }
    if (c.left() < 1) return Truncated(c, fmt::format("element <{}> started at 0x{:x}", out.name, start));
    const std::uint8_t close = c.Byte();
    if (close == kCloseEmptyElement) return {};
    if (close != kCloseStartElement)
      return Fail(ErrorCode::kFormat, fmt::format("element <{}> at 0x{:x}: token 0x{:02x} at 0x{:x} where its start "
                                                  "tag should close",
                                                  out.name, start, close, c.pos() - 1));
    while (true) {
      if (c.left() < 1) return Truncated(c, fmt::format("element <{}> started at 0x{:x}", out.name, start));
      const std::uint8_t t = c.Peek();
      const std::uint8_t base = t & ~kMoreFlag;
      if (t == kEndElement) {
        c.Skip(1);
        return {};
      }
      Node child;
      if (base == kOpenStartElement) {
        TRAWL_TRY_VOID(Element(c, depth + 1, in_template, child));
      } else if (base == kValue || t == kNormalSubstitution || t == kOptionalSubstitution || base == kCharRef ||
                 base == kEntityRef) {
        TRAWL_TRY_VOID(CharData(c, child));
      } else if (base == kCData) {
        c.Skip(1);
        auto text = CountedText(c, "CDATA section");
        if (!text) return std::unexpected(text.error());
        child.kind = Node::Kind::kCData;
        child.text = std::move(*text);
      } else if (t == kPITarget || t == kPIData) {
        TRAWL_TRY_VOID(PI(c, child));
      } else {
        return Fail(ErrorCode::kFormat, fmt::format("element <{}> at 0x{:x}: unexpected token 0x{:02x} at 0x{:x}",
                                                    out.name, start, t, c.pos()));
      }
      out.children.push_back(std::move(child));
    }
  }

  // Value text, a substitution, a character or an entity reference.
  Result<void> CharData(Cursor& c, Node& out) {
    const std::size_t at = c.pos();
    const std::uint8_t t = c.Byte();
    const std::uint8_t base = t & ~kMoreFlag;
    if (t == kNormalSubstitution || t == kOptionalSubstitution) {
      if (c.left() < 3) return Truncated(c, "substitution");
      out.kind = Node::Kind::kSubst;
      out.optional = t == kOptionalSubstitution;
      out.index = c.Word();
      out.type = c.Byte();
      return {};
    }
    if (base == kCharRef) {
      if (c.left() < 2) return Truncated(c, "character reference");
      out.kind = Node::Kind::kCharRef;
      out.index = c.Word();
      return {};
    }
    if (base == kEntityRef) {
      auto name = Name(c, "entity reference");
      if (!name) return std::unexpected(name.error());
      out.kind = Node::Kind::kEntityRef;
      out.name = std::move(*name);
      return {};
    }
    // Value text: a type, then the value. Windows writes strings only; other
    // fixed-size types are read by their size.
    if (c.left() < 1) return Truncated(c, "value");
    const std::uint8_t type = c.Byte();
    out.kind = Node::Kind::kText;
    if (type == kString) {
      auto text = CountedText(c, "value text");
      if (!text) return std::unexpected(text.error());
      out.text = std::move(*text);
      return {};
    }
    if (type == kAnsiString) {
      if (c.left() < 2) return Truncated(c, "value text");
      const std::size_t n = c.Word();
      if (c.left() < n) return Truncated(c, "value text");
      out.text = AnsiTrimmed(c.Take(n));
      return {};
    }
    const std::size_t size = (type & kArrayFlag) == 0 ? FixedSize(type, 0) : 0;
    if (size == 0 || type == kSizeT || type == kEvtHandle)
      return Fail(ErrorCode::kFormat,
                  fmt::format("value text at 0x{:x} has type 0x{:02x}, which has no size", at, type));
    if (c.left() < size) return Truncated(c, "value text");
    out.text = FormatValue(type, c.Take(size));
    return {};
  }

  Result<void> PI(Cursor& c, Node& out) {
    out.kind = Node::Kind::kPI;
    if (c.Peek() == kPITarget) {
      c.Skip(1);
      auto name = Name(c, "processing instruction target");
      if (!name) return std::unexpected(name.error());
      out.name = std::move(*name);
    }
    if (c.left() > 0 && c.Peek() == kPIData) {
      c.Skip(1);
      auto text = CountedText(c, "processing instruction data");
      if (!text) return std::unexpected(text.error());
      out.text = std::move(*text);
    }
    return {};
  }

  // A template instance: its definition (inline the first time, referenced
  // by offset after that) and the values that fill its substitutions.
  Result<Node> Instance(Cursor& c) {
    const std::size_t at = c.pos();
    if (c.left() < 10) return Truncated(c, "template instance");
    c.Skip(2);  // token, unknown byte
    const std::uint32_t id = c.Dword();
    const std::uint32_t def = c.Dword();
    const bool inline_def = def == c.pos();
    if (inline_def) {
      const std::size_t size = TemplateSize(def);
      if (size == 0 || c.left() < size)
        return Truncated(c, fmt::format("template definition (instance at 0x{:x})", at));
      c.Skip(size);
    }
    auto t = TemplateAt(def, id, inline_def);
    if (!t) return Fail(t.error().code, fmt::format("template instance at 0x{:x}: {}", at, t.error().message));
    Node n;
    n.kind = Node::Kind::kInstance;
    n.tmpl = *t;
    if (c.left() < 4) return Truncated(c, "template instance data");
    const std::uint32_t count = c.Dword();
    if (count > c.left() / 4)
      return Fail(ErrorCode::kFormat,
                  fmt::format("template instance at 0x{:x}: {} values do not fit in its data", at, count));
    n.values.resize(count);
    std::vector<std::uint16_t> sizes(count);
    for (std::uint32_t i = 0; i < count; ++i) {
      sizes[i] = c.Word();
      n.values[i].type = c.Byte();
      c.Skip(1);
    }
    for (std::uint32_t i = 0; i < count; ++i) {
      if (c.left() < sizes[i])
        return Fail(ErrorCode::kFormat,
                    fmt::format("template instance at 0x{:x}: value {} of {} bytes at 0x{:x} runs past its data", at, i,
                                sizes[i], c.pos()));
      n.values[i].data = c.Take(sizes[i]);
    }
    return n;
  }

  Result<void> ParseTemplate(std::uint32_t offset, std::uint32_t id, bool inline_def, Template& t) {
    const std::size_t size = TemplateSize(offset);
    if (size == 0)
      return Fail(ErrorCode::kFormat,
                  fmt::format("template definition at 0x{:x} does not fit in the chunk", std::size_t{offset}));
    t.id = Le32(chunk_, offset + 4);
    if (t.id != id && !inline_def)
      return Fail(ErrorCode::kFormat, fmt::format("template definition at 0x{:x} has identifier 0x{:08x}, the "
                                                  "instance names 0x{:08x}",
                                                  std::size_t{offset}, t.id, id));
    Cursor c(chunk_, offset + 24, offset + size);
    while (c.left() > 0) {
      const std::uint8_t tok = c.Peek();
      if (tok == kEof) break;
      if (tok == kFragmentHeader) {
        if (c.left() < 4) return Truncated(c, "fragment header");
        c.Skip(4);
      } else if ((tok & ~kMoreFlag) == kOpenStartElement) {
        Node n;
        TRAWL_TRY_VOID(Element(c, 0, true, n));
        t.nodes.push_back(std::move(n));
      } else if (tok == kPITarget || tok == kPIData) {
        Node n;
        TRAWL_TRY_VOID(PI(c, n));
        t.nodes.push_back(std::move(n));
      } else {
        return Fail(ErrorCode::kFormat,
                    fmt::format("template definition at 0x{:x}: unexpected token 0x{:02x} at 0x{:x}",
                                std::size_t{offset}, tok, c.pos()));
      }
    }
    return {};
  }

  Bytes chunk_;
  std::unordered_map<std::uint32_t, std::unique_ptr<Template>> templates_;
};

// ---------------------------------------------------------------------------
// Rendering: the parsed nodes and their values as a stream of XML events.

class Sink {
 public:
  virtual ~Sink() = default;
  virtual void StartElement(std::string_view name) = 0;
  virtual void Attribute(std::string_view name, std::string_view value) = 0;
  virtual void Text(std::string_view text) = 0;  // character data, references resolved
  virtual void CData(std::string_view text) = 0;
  virtual void PI(std::string_view target, std::string_view data) = 0;
  virtual void EndElement() = 0;
};

std::string_view EntityText(std::string_view name) {
  if (name == "lt") return "<";
  if (name == "gt") return ">";
  if (name == "amp") return "&";
  if (name == "quot") return "\"";
  if (name == "apos") return "'";
  return {};
}

// Array items of a value whose type has the array bit: strings are
// NUL-terminated, SIDs carry their own size, the rest have a fixed size.
std::vector<Bytes> ArrayItems(std::uint8_t base, Bytes data, bool* ok) {
  std::vector<Bytes> items;
  *ok = true;
  if (base == kString) {
    std::size_t start = 0;
    const std::size_t n = data.size() & ~std::size_t{1};
    for (std::size_t i = 0; i < n; i += 2) {
      if (data[i] != std::byte{0} || data[i + 1] != std::byte{0}) continue;
      items.push_back(data.subspan(start, i - start));
      start = i + 2;
    }
    if (start < n) items.push_back(data.subspan(start, n - start));
    *ok = n == data.size();
  } else if (base == kAnsiString) {
    std::size_t start = 0;
    for (std::size_t i = 0; i < data.size(); ++i) {
      if (data[i] != std::byte{0}) continue;
      items.push_back(data.subspan(start, i - start));
      start = i + 1;
    }
    if (start < data.size()) items.push_back(data.subspan(start));
  } else if (base == kSid) {
    std::size_t at = 0;
    while (at < data.size()) {
      const std::size_t n = SidSize(data.subspan(at));
      if (n == 0) {
        *ok = false;
        break;
      }
      items.push_back(data.subspan(at, n));
      at += n;
    }
  } else {
    const std::size_t size = FixedSize(base, data.size());
    if (size == 0) {
      *ok = false;
      return items;
    }
    for (std::size_t at = 0; at + size <= data.size(); at += size) items.push_back(data.subspan(at, size));
    *ok = data.size() % size == 0;
  }
  return items;
}

class Renderer {
 public:
  Renderer(Parser& parser, Sink& sink, std::vector<std::string>& problems)
      : parser_(parser), sink_(sink), problems_(problems) {}

  Result<void> Nodes(const std::vector<Node>& nodes, std::span<const Value> values, int nesting) {
    for (const Node& n : nodes) TRAWL_TRY_VOID(Content(n, values, nesting, kNoItem));
    return {};
  }

 private:
  static constexpr std::size_t kNoItem = static_cast<std::size_t>(-1);

  void Problem(std::string what) {
    if (problems_.size() < kMaxRecordErrors) problems_.push_back(std::move(what));
  }

  Result<void> Spend(std::size_t bytes) {
    ++nodes_;
    bytes_ += bytes;
    if (nodes_ > kMaxRenderNodes || bytes_ > kMaxRenderBytes)
      return Fail(ErrorCode::kLimit, fmt::format("the record expands to more than {} nodes or {} bytes",
                                                 kMaxRenderNodes, kMaxRenderBytes));
    return {};
  }

  const Value* ValueOf(const Node& subst, std::span<const Value> values) {
    if (subst.index < values.size()) return &values[subst.index];
    Problem(fmt::format("substitution {} has no value (the instance holds {})", subst.index, values.size()));
    return nullptr;
  }

  static bool IsNull(const Value* v) { return v == nullptr || v->type == kNull; }

  // One value as text; `item` selects an array element (kNoItem: all of
  // them, separated by spaces).
  std::string Text(const Value& v, std::size_t item) {
    if ((v.type & kArrayFlag) == 0) {
      if (v.type == kBinXml) {
        Problem("binary XML value used as text (attribute value)");
        return {};
      }
      bool ok = true;
      std::string s = FormatValue(v.type, v.data, &ok);
      if (!ok) {
        Problem(
            fmt::format("value of type 0x{:02x} and {} bytes is not readable; shown as hex", v.type, v.data.size()));
        return UpperHex(v.data);
      }
      return s;
    }
    bool ok = true;
    const std::uint8_t base = v.type & ~kArrayFlag;
    const std::vector<Bytes> items = ArrayItems(base, v.data, &ok);
    if (!ok)
      Problem(fmt::format("array of type 0x{:02x} and {} bytes does not divide into items", v.type, v.data.size()));
    std::string out;
    for (std::size_t i = 0; i < items.size(); ++i) {
      if (item != kNoItem && i != item) continue;
      if (!out.empty()) out.push_back(' ');
      bool item_ok = true;
      out += FormatValue(base, items[i], &item_ok);
      if (!item_ok) out += UpperHex(items[i]);
    }
    return out;
  }

  std::size_t ArraySize(const Value& v) {
    bool ok = true;
    return ArrayItems(v.type & ~kArrayFlag, v.data, &ok).size();
  }

  Result<void> Content(const Node& n, std::span<const Value> values, int nesting, std::size_t item) {
    TRAWL_TRY_VOID(Spend(n.text.size()));
    switch (n.kind) {
      case Node::Kind::kElement: return Element(n, values, nesting);
      case Node::Kind::kText: sink_.Text(n.text); return {};
      case Node::Kind::kCData: sink_.CData(n.text); return {};
      case Node::Kind::kPI: sink_.PI(n.name, n.text); return {};
      case Node::Kind::kCharRef: {
        std::string s;
        AppendCodePoint(s, n.index);
        sink_.Text(s);
        return {};
      }
      case Node::Kind::kEntityRef: {
        const std::string_view e = EntityText(n.name);
        sink_.Text(e.empty() ? "&" + n.name + ";" : std::string(e));
        return {};
      }
      case Node::Kind::kInstance: return Instance(n, nesting);
      case Node::Kind::kSubst: {
        const Value* v = ValueOf(n, values);
        if (IsNull(v)) return {};
        if (v->type == kBinXml) return BinXml(*v, nesting);
        const std::string s = Text(*v, item);
        TRAWL_TRY_VOID(Spend(s.size()));
        sink_.Text(s);
        return {};
      }
    }
    return {};
  }

  Result<void> Instance(const Node& n, int nesting) {
    if (nesting >= kMaxNesting)
      return Fail(ErrorCode::kLimit, fmt::format("template instances nest deeper than {}", kMaxNesting));
    return Nodes(n.tmpl->nodes, n.values, nesting + 1);
  }

  // A substitution of binary XML: a fragment of its own, rendered in place.
  Result<void> BinXml(const Value& v, int nesting) {
    const std::size_t at = static_cast<std::size_t>(v.data.data() - parser_.chunk().data());
    auto nodes = parser_.Fragment(at, at + v.data.size(), nesting + 1);
    if (!nodes) return Fail(nodes.error().code, fmt::format("binary XML value: {}", nodes.error().message));
    return Nodes(*nodes, {}, nesting + 1);
  }

  Result<void> Element(const Node& e, std::span<const Value> values, int nesting) {
    // [MS-EVEN6] 3.1.4.7.2: an optional substitution whose value is NULL
    // removes the element that immediately encloses it.
    std::size_t repeat = 0;  // items of the largest array substituted in the content
    bool has_array = false;
    for (const Node& c : e.children) {
      if (c.kind != Node::Kind::kSubst) continue;
      const Value* v = ValueOf(c, values);
      if (c.optional && IsNull(v)) return {};
      if (v != nullptr && (v->type & kArrayFlag) != 0) {
        has_array = true;
        repeat = std::max(repeat, ArraySize(*v));
      }
    }
    if (!has_array) return ElementOnce(e, values, nesting, kNoItem);
    // An array substituted as content repeats the element once per item.
    for (std::size_t i = 0; i < std::max<std::size_t>(repeat, 1); ++i)
      TRAWL_TRY_VOID(ElementOnce(e, values, nesting, repeat == 0 ? kNoItem : i));
    return {};
  }

  Result<void> ElementOnce(const Node& e, std::span<const Value> values, int nesting, std::size_t item) {
    sink_.StartElement(e.name);
    for (const Attr& a : e.attrs) {
      std::string value;
      bool omit = false;
      for (const Node& part : a.value) {
        if (part.kind == Node::Kind::kSubst) {
          const Value* v = ValueOf(part, values);
          if (part.optional && IsNull(v)) omit = true;
          if (!IsNull(v)) value += Text(*v, kNoItem);
        } else if (part.kind == Node::Kind::kCharRef) {
          AppendCodePoint(value, part.index);
        } else if (part.kind == Node::Kind::kEntityRef) {
          const std::string_view t = EntityText(part.name);
          value += t.empty() ? "&" + part.name + ";" : std::string(t);
        } else {
          value += part.text;
        }
      }
      TRAWL_TRY_VOID(Spend(value.size()));
      if (!omit) sink_.Attribute(a.name, value);
    }
    for (const Node& c : e.children) TRAWL_TRY_VOID(Content(c, values, nesting, item));
    sink_.EndElement();
    return {};
  }

  Parser& parser_;
  Sink& sink_;
  std::vector<std::string>& problems_;
  std::size_t nodes_ = 0;
  std::size_t bytes_ = 0;
};

// ---------------------------------------------------------------------------
// What a record's events become: Record fields, and XML when asked for.

// An ISO 8601 UTC time given as text (forwarded events carry SystemTime as a
// string, "2021-11-19T16:52:33.833733500Z") with 7 fractional digits, as a
// FILETIME renders; anything else is kept as it is.
std::string SevenDigits(std::string_view s) {
  static constexpr std::string_view kShape = "dddd-dd-ddTdd:dd:dd";
  if (s.size() < kShape.size() + 1 || s.back() != 'Z') return std::string(s);
  for (std::size_t i = 0; i < kShape.size(); ++i) {
    const bool digit = s[i] >= '0' && s[i] <= '9';
    if (kShape[i] == 'd' ? !digit : s[i] != kShape[i]) return std::string(s);
  }
  std::string_view frac = s.substr(kShape.size(), s.size() - kShape.size() - 1);
  if (!frac.empty()) {
    if (frac[0] != '.' || frac.size() == 1) return std::string(s);
    frac.remove_prefix(1);
    for (char c : frac)
      if (c < '0' || c > '9') return std::string(s);
  }
  std::string out(s.substr(0, kShape.size()));
  out += '.';
  out += frac.substr(0, 7);
  out.append(7 - std::min<std::size_t>(frac.size(), 7), '0');
  out += 'Z';
  return out;
}

void EscapeXml(std::string& out, std::string_view s, bool attribute) {
  for (const char ch : s) {
    const auto c = static_cast<unsigned char>(ch);
    switch (ch) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"':
        if (attribute) {
          out += "&quot;";
        } else {
          out.push_back(ch);
        }
        break;
      default:
        if (c < 0x20 && ch != '\t' && ch != '\n') {
          out += fmt::format("&#x{:x};", c);
        } else {
          out.push_back(ch);
        }
    }
  }
}

class RecordBuilder final : public Sink {
 public:
  RecordBuilder(Record& r, bool xml) : r_(r), xml_(xml) {}

  void StartElement(std::string_view name) override {
    if (!stack_.empty()) stack_.back().has_child = true;
    Frame f;
    f.name.assign(name);
    stack_.push_back(std::move(f));
    if (stack_.size() == 2) section_ = name;
    if (xml_) {
      CloseStartTag();
      if (!r_.xml.empty()) r_.xml.push_back('\n');
      r_.xml.append(2 * (stack_.size() - 1), ' ');
      r_.xml += '<';
      r_.xml += name;
      open_tag_ = true;
    }
  }

  void Attribute(std::string_view name, std::string_view value) override {
    if (xml_ && open_tag_) {
      r_.xml += ' ';
      r_.xml += name;
      r_.xml += "=\"";
      EscapeXml(r_.xml, value, true);
      r_.xml += '"';
    }
    if (stack_.empty()) return;
    const std::string& el = stack_.back().name;
    const std::size_t depth = stack_.size();
    if (depth == 3 && section_ == "System") {
      if (el == "Provider" && name == "Name") r_.provider.assign(value);
      if (el == "EventID" && name == "Qualifiers") r_.qualifiers = Number<std::uint16_t>(value, "Qualifiers");
      if (el == "TimeCreated" && name == "SystemTime") r_.time_created = SevenDigits(value);
      if (el == "Execution" && name == "ProcessID") r_.process_id = Number<std::uint32_t>(value, "ProcessID");
      if (el == "Execution" && name == "ThreadID") r_.thread_id = Number<std::uint32_t>(value, "ThreadID");
      if (el == "Security" && name == "UserID") r_.user_sid.assign(value);
    }
    if (depth == 3 && section_ == "EventData" && el == "Data" && name == "Name") stack_.back().data_name.assign(value);
    // Below UserData and the other sections, attributes carry data too
    // (CAPI2: <EventAuxInfo ProcessName="..."/>); namespace declarations do not.
    if (depth >= 3 && section_ != "System" && section_ != "EventData" && name != "xmlns" &&
        !name.starts_with("xmlns:")) {
      r_.fields.push_back({fmt::format("{}@{}", el, name), std::string(value)});
      stack_.back().has_attr = true;
    }
  }

  void Text(std::string_view text) override {
    if (!stack_.empty()) stack_.back().text += text;
    if (xml_ && !text.empty()) {
      CloseStartTag();
      EscapeXml(r_.xml, text, false);
    }
  }

  void CData(std::string_view text) override {
    if (!stack_.empty()) stack_.back().text += text;
    if (xml_) {
      CloseStartTag();
      r_.xml += "<![CDATA[";
      r_.xml += text;
      r_.xml += "]]>";
    }
  }

  void PI(std::string_view target, std::string_view data) override {
    if (xml_) {
      CloseStartTag();
      r_.xml += "<?";
      r_.xml += target;
      if (!data.empty()) {
        r_.xml += ' ';
        r_.xml += data;
      }
      r_.xml += "?>";
    }
  }

  void EndElement() override {
    if (stack_.empty()) return;
    Frame f = std::move(stack_.back());
    stack_.pop_back();
    const std::size_t depth = stack_.size() + 1;  // of the element that ends
    if (xml_) {
      if (open_tag_) {
        r_.xml += "/>";
        open_tag_ = false;
      } else {
        if (f.has_child) {
          r_.xml.push_back('\n');
          r_.xml.append(2 * (depth - 1), ' ');
        }
        r_.xml += "</";
        r_.xml += f.name;
        r_.xml += '>';
      }
    }
    // Text of elements below a section's children counts for their parent
    // (a Data element's nested content).
    if (depth >= 4) stack_.back().text += f.text;
    if (depth == 3 && section_ == "System") {
      System(f);
    } else if (depth == 3 && section_ == "EventData") {
      r_.fields.push_back({f.name == "Data" ? (f.data_name.empty() ? "Data" : f.data_name) : f.name, f.text});
    } else if (depth >= 3 && section_ != "System" && section_ != "EventData" && !f.has_child &&
               !(f.has_attr && f.text.empty())) {
      r_.fields.push_back({f.name, f.text});
    } else if (depth == 2 && f.name != "System" && !f.has_child && !f.text.empty()) {
      r_.fields.push_back({f.name, f.text});
    }
    if (depth == 2) section_.clear();
  }

  std::vector<std::string>& problems() { return problems_; }

 private:
  struct Frame {
    std::string name;
    std::string text;
    std::string data_name;
    bool has_child = false;
    bool has_attr = false;  // a data attribute became a field
  };

  void CloseStartTag() {
    if (open_tag_) {
      r_.xml += '>';
      open_tag_ = false;
    }
  }

  template <typename T>
  T Number(std::string_view s, std::string_view what) {
    std::uint64_t v = 0;
    std::string_view digits = s;
    int base = 10;
    if (digits.size() > 2 && digits[0] == '0' && (digits[1] == 'x' || digits[1] == 'X')) {
      digits.remove_prefix(2);
      base = 16;
    }
    const auto r = std::from_chars(digits.data(), digits.data() + digits.size(), v, base);
    if (s.empty()) return 0;
    if (r.ec != std::errc() || r.ptr != digits.data() + digits.size() || v > std::numeric_limits<T>::max()) {
      if (problems_.size() < kMaxRecordErrors)
        problems_.push_back(fmt::format("System {} '{}' is not a {}-bit number", what, s, sizeof(T) * 8));
      return 0;
    }
    return static_cast<T>(v);
  }

  void System(const Frame& f) {
    const std::string_view n = f.name;
    if (n == "EventID") r_.event_id = Number<std::uint32_t>(f.text, "EventID");
    if (n == "Version") r_.version = Number<std::uint8_t>(f.text, "Version");
    if (n == "Level") r_.level = Number<std::uint8_t>(f.text, "Level");
    if (n == "Task") r_.task = Number<std::uint16_t>(f.text, "Task");
    if (n == "Opcode") r_.opcode = Number<std::uint8_t>(f.text, "Opcode");
    if (n == "Keywords") r_.keywords = Number<std::uint64_t>(f.text, "Keywords");
    if (n == "Channel") r_.channel = f.text;
    if (n == "Computer") r_.computer = f.text;
  }

  Record& r_;
  bool xml_;
  bool open_tag_ = false;
  std::vector<Frame> stack_;
  std::string section_;
  std::vector<std::string> problems_;
};

// ---------------------------------------------------------------------------
// Chunks and records.

class Reader {
 public:
  Reader(const ReadAtSource& src, const std::function<void(const Record&)>& fn, const Options& o, Stats& stats)
      : src_(src), fn_(fn), options_(o), stats_(stats) {}

  Result<void> Run() {
    buf_.resize(kChunkSize);
    const std::uint64_t size = stats_.file_size;
    for (std::uint64_t off = kFileHeaderSize, index = 0; off < size; off += kChunkSize, ++index) {
      const std::size_t n = static_cast<std::size_t>(std::min<std::uint64_t>(kChunkSize, size - off));
      TRAWL_TRY_VOID(src_.ReadExact(off, std::span<std::byte>(buf_.data(), n), "chunk"));
      ++stats_.chunks;
      if (n < kChunkSize) stats_.trailing_bytes = n;
      Chunk(static_cast<std::uint32_t>(index), off, Bytes(buf_.data(), n));
    }
    return {};
  }

  void Problem(std::string what) {
    if (stats_.problems.size() < options_.max_problems) {
      stats_.problems.push_back(std::move(what));
    } else {
      ++stats_.problems_dropped;
    }
  }

 private:
  enum class Check { kOk, kEnd, kBad, kBadCopy };

  // Whether a record header at `pos` checks out: signature, a size that fits
  // in the chunk and its copy at the end.
  static Check RecordHeader(Bytes chunk, std::size_t pos, std::string* why) {
    if (pos > chunk.size() || chunk.size() - pos < kMinRecordSize) {
      *why = "no room for a record header";
      return Check::kBad;
    }
    const std::uint32_t sig = Le32(chunk, pos);
    const std::uint32_t size = Le32(chunk, pos + 4);
    if (sig == 0 && size == 0) return Check::kEnd;
    if (sig != kRecordSignature) {
      *why = fmt::format("signature 0x{:08x}, not 0x00002a2a", sig);
      return Check::kBad;
    }
    if (size < kMinRecordSize || size > chunk.size() - pos) {
      *why = fmt::format("size {} does not fit in the chunk", size);
      return Check::kBad;
    }
    const std::uint32_t copy = Le32(chunk, pos + size - 4);
    if (copy != size) {
      *why = fmt::format("size {} but its copy at the end says {}", size, copy);
      return Check::kBadCopy;
    }
    return Check::kOk;
  }

  void Chunk(std::uint32_t index, std::uint64_t file_offset, Bytes chunk) {
    const std::string where = fmt::format("chunk {} (file offset 0x{:x})", index, file_offset);
    bool bad = false;
    std::optional<ChunkHeader> h;
    if (chunk.size() >= kChunkHeaderSize) {
      auto parsed = ParseChunkHeader(chunk);
      if (parsed) h = *parsed;
    }
    if (!h || !h->signature_ok) {
      if (AllZero(chunk)) {
        ++stats_.chunks_empty;
        return;
      }
      bad = true;
      Problem(fmt::format("{}: no ElfChnk signature{}", where,
                          chunk.size() < kChunkSize ? fmt::format(" ({} bytes, a partial chunk)", chunk.size()) : ""));
    } else {
      const bool crc_kept = (stats_.header.flags & kFlagNoCrc32) == 0;
      if (!h->checksum_ok && crc_kept) {
        bad = true;
        Problem(fmt::format("{}: header CRC32 0x{:08x} does not match its contents", where, h->checksum));
      }
      if (h->free_space_offset < kChunkHeaderSize || h->free_space_offset > kChunkSize) {
        bad = true;
        Problem(fmt::format("{}: free space offset 0x{:x} is impossible", where, h->free_space_offset));
      } else if (h->free_space_offset > chunk.size()) {
        bad = true;
        Problem(fmt::format("{}: the file ends at chunk offset 0x{:x}, before its records do (0x{:x})", where,
                            chunk.size(), h->free_space_offset));
      } else if (!h->records_checksum_ok && crc_kept) {
        bad = true;
        Problem(fmt::format("{}: event records CRC32 0x{:08x} does not match records 0x200..0x{:x}", where,
                            h->records_checksum, h->free_space_offset));
      }
    }
    if (bad) {
      ++stats_.chunks_bad;
      if (!options_.recover) return;
    }
    Parser parser(chunk);
    std::size_t pos = kChunkHeaderSize;
    if (h && h->signature_ok) {
      const std::size_t free = std::clamp<std::size_t>(h->free_space_offset, kChunkHeaderSize, chunk.size());
      const std::size_t last = h->last_record_offset;
      while (pos < free && pos <= last) {
        std::string why;
        const Check check = RecordHeader(chunk, pos, &why);
        if (check == Check::kEnd) break;
        const std::uint32_t size = check == Check::kBad ? 0 : Le32(chunk, pos + 4);
        if (check == Check::kBadCopy) {
          // A record whose size copy was not written yet (the log was
          // copied while Windows wrote it) is kept when its binary XML
          // reads in full within the size it states.
          Render(parser, index, file_offset, pos, true);
          if (record_.error.empty()) {
            record_.error = fmt::format("{} (the record was being written?)", why);
            Problem(
                fmt::format("{}: record at chunk offset 0x{:x}: {}; its binary XML reads in full, kept as "
                            "recovered",
                            where, pos, why));
            Deliver();
            pos += size;
            continue;
          }
        }
        if (check != Check::kOk) {
          ++stats_.records_bad;
          Problem(fmt::format(
              "{}: record at chunk offset 0x{:x}: {}{}; the rest of the chunk is scanned for records", where, pos, why,
              check == Check::kBadCopy ? fmt::format(" and its binary XML does not read ({})", record_.error)
                                       : std::string()));
          break;
        }
        Render(parser, index, file_offset, pos, bad);
        Deliver();
        pos += size;
      }
    }
    if (!options_.recover) return;
    // Slack: records that were overwritten or not yet announced by the header.
    while (pos + kMinRecordSize <= chunk.size()) {
      const auto* start = reinterpret_cast<const char*>(chunk.data());
      const void* hit = std::memchr(start + pos, 0x2a, chunk.size() - pos);
      if (hit == nullptr) break;
      pos = static_cast<std::size_t>(static_cast<const char*>(hit) - start);
      std::string why;
      if (RecordHeader(chunk, pos, &why) != Check::kOk ||
          static_cast<std::uint8_t>(chunk[pos + kRecordHeaderSize]) != kFragmentHeader) {
        ++pos;
        continue;
      }
      const std::uint32_t size = Le32(chunk, pos + 4);
      Render(parser, index, file_offset, pos, true);
      Deliver();
      pos += size;
    }
  }

  void Render(Parser& parser, std::uint32_t chunk_index, std::uint64_t file_offset, std::size_t pos, bool recovered) {
    const Bytes chunk = parser.chunk();
    Record& r = record_;
    r = Record();
    r.record_id = Le64(chunk, pos + 8);
    r.written = Le64(chunk, pos + 16);
    r.chunk = chunk_index;
    r.offset = file_offset + pos;
    r.recovered = recovered;
    const std::size_t size = Le32(chunk, pos + 4);
    RecordBuilder builder(r, options_.xml);
    std::vector<std::string>& problems = builder.problems();
    auto nodes = parser.Fragment(pos + kRecordHeaderSize, pos + size - 4, 0);
    if (!nodes) {
      problems.insert(problems.begin(), nodes.error().message);
    } else if (nodes->empty()) {
      problems.insert(problems.begin(), "no binary XML");
    } else {
      Renderer renderer(parser, builder, problems);
      auto done = renderer.Nodes(*nodes, {}, 0);
      if (!done) problems.insert(problems.begin(), done.error().message);
    }
    for (const auto& p : problems) {
      if (!r.error.empty()) r.error += "; ";
      r.error += p;
    }
  }

  void Deliver() {
    const Record& r = record_;
    ++stats_.records;
    if (r.recovered) ++stats_.records_recovered;
    if (!r.error.empty()) ++stats_.records_with_errors;
    fn_(r);
  }

  const ReadAtSource& src_;
  const std::function<void(const Record&)>& fn_;
  const Options& options_;
  Stats& stats_;
  std::vector<std::byte> buf_;
  Record record_;
};

}  // namespace

std::string FormatValue(std::uint8_t type, Bytes data, bool* ok) {
  const auto fail = [&] {
    if (ok != nullptr) *ok = false;
    return std::string();
  };
  if (ok != nullptr) *ok = true;
  const std::size_t fixed = FixedSize(type, data.size());
  if (fixed != 0 && data.size() != fixed) return fail();
  switch (type) {
    case kNull: return {};
    case kString:
    case kEvtXml: return Utf16Trimmed(data);
    case kAnsiString: return AnsiTrimmed(data);
    case kInt8: return fmt::format("{}", static_cast<std::int8_t>(U8(data, 0)));
    case kUInt8: return fmt::format("{}", U8(data, 0));
    case kInt16: return fmt::format("{}", static_cast<std::int16_t>(Le16(data, 0)));
    case kUInt16: return fmt::format("{}", Le16(data, 0));
    case kInt32: return fmt::format("{}", static_cast<std::int32_t>(Le32(data, 0)));
    case kUInt32: return fmt::format("{}", Le32(data, 0));
    case kInt64: return fmt::format("{}", static_cast<std::int64_t>(Le64(data, 0)));
    case kUInt64: return fmt::format("{}", Le64(data, 0));
    case kReal32: return Real(std::bit_cast<float>(Le32(data, 0)));
    case kReal64: return Real(std::bit_cast<double>(Le64(data, 0)));
    case kBool: return Le32(data, 0) != 0 ? "true" : "false";
    case kBinary: return UpperHex(data);
    case kGuid: return Guid(data);
    case kSizeT:
    case kEvtHandle:
    case kHexInt32:
    case kHexInt64: return Hex(data.size() == 8 ? Le64(data, 0) : Le32(data, 0));
    case kFileTime: return FiletimeToIso(Le64(data, 0));
    case kSysTime: return SystemTime(data);
    case kSid:
      if (SidSize(data) == 0) return fail();
      return Sid(data);
    default: return fail();
  }
}

Result<FileHeader> ParseFileHeader(Bytes data) {
  if (data.size() < 128) return Fail(ErrorCode::kFormat, fmt::format("file header: {} bytes, need 128", data.size()));
  FileHeader h;
  h.signature_ok = HasSignature(data, 0, std::string_view("ElfFile\0", 8));
  h.first_chunk = Le64(data, 8);
  h.last_chunk = Le64(data, 16);
  h.next_record_id = Le64(data, 24);
  h.header_size = Le32(data, 32);
  h.minor_version = Le16(data, 36);
  h.major_version = Le16(data, 38);
  h.header_block_size = Le16(data, 40);
  h.chunk_count = Le16(data, 42);
  h.flags = Le32(data, 120);
  h.checksum = Le32(data, 124);
  h.checksum_ok = Crc32(data.first(120)) == h.checksum;
  return h;
}

Result<ChunkHeader> ParseChunkHeader(Bytes chunk) {
  if (chunk.size() < kChunkHeaderSize)
    return Fail(ErrorCode::kFormat, fmt::format("chunk header: {} bytes, need 512", chunk.size()));
  ChunkHeader h;
  h.signature_ok = HasSignature(chunk, 0, std::string_view("ElfChnk\0", 8));
  h.first_record_number = Le64(chunk, 8);
  h.last_record_number = Le64(chunk, 16);
  h.first_record_id = Le64(chunk, 24);
  h.last_record_id = Le64(chunk, 32);
  h.header_size = Le32(chunk, 40);
  h.last_record_offset = Le32(chunk, 44);
  h.free_space_offset = Le32(chunk, 48);
  h.records_checksum = Le32(chunk, 52);
  h.flags = Le32(chunk, 120);
  h.checksum = Le32(chunk, 124);
  h.checksum_ok = Crc32(chunk.subspan(128, kChunkHeaderSize - 128), Crc32(chunk.first(120))) == h.checksum;
  h.records_checksum_ok =
      h.free_space_offset >= kChunkHeaderSize && h.free_space_offset <= chunk.size() &&
      Crc32(chunk.subspan(kChunkHeaderSize, h.free_space_offset - kChunkHeaderSize)) == h.records_checksum;
  return h;
}

Result<Stats> ForEachRecord(const ReadAtSource& src, const std::function<void(const Record&)>& fn,
                            const Options& options) {
  Stats stats;
  stats.file_size = src.Size();
  if (stats.file_size == 0)
    return Fail(ErrorCode::kFormat, fmt::format("{}: empty file, not an event log", src.Name()));
  std::vector<std::byte> head(static_cast<std::size_t>(std::min<std::uint64_t>(stats.file_size, 128)));
  TRAWL_TRY_VOID(src.ReadExact(0, head, "file header"));
  if (head.size() < 128)
    return Fail(ErrorCode::kFormat,
                fmt::format("{}: {} bytes, shorter than the 128-byte EVTX file header", src.Name(), head.size()));
  auto header = ParseFileHeader(head);
  if (!header) return std::unexpected(header.error());
  stats.header = *header;
  Reader reader(src, fn, options, stats);
  if (!header->signature_ok) {
    std::array<std::byte, 8> sig{};
    const bool chunk_follows = stats.file_size >= kFileHeaderSize + sig.size() &&
                               src.ReadExact(kFileHeaderSize, sig, "chunk signature").has_value() &&
                               HasSignature(sig, 0, std::string_view("ElfChnk\0", 8));
    if (!chunk_follows)
      return Fail(
          ErrorCode::kFormat,
          fmt::format("{}: not an EVTX file (no ElfFile signature at offset 0, no ElfChnk at 0x1000)", src.Name()));
    reader.Problem("file header: no ElfFile signature; chunks read as they are");
  } else {
    if (!header->checksum_ok)
      reader.Problem(fmt::format("file header: CRC32 0x{:08x} does not match its first 120 bytes", header->checksum));
    if (header->major_version != 3)
      reader.Problem(fmt::format("file header: version {}.{} (3.1 and 3.2 are known)", header->major_version,
                                 header->minor_version));
  }
  if (stats.file_size < kFileHeaderSize)
    reader.Problem(fmt::format("file of {} bytes ends inside its 4096-byte header", stats.file_size));
  TRAWL_TRY_VOID(reader.Run());
  return stats;
}

}  // namespace trawl::core::formats::evtx
