// SPDX-License-Identifier: Apache-2.0
#include "triage/ingest_jsonl.h"

#include <bit>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstring>

namespace trawl::triage {
namespace {

class Parser {
 public:
  Parser(std::string_view line, std::string& scratch)
      : p_(line.data()), end_(line.data() + line.size()), scratch_(scratch) {
    scratch_.clear();
    // Unescaping never lengthens text, so views into scratch stay valid.
    if (scratch_.capacity() < line.size()) scratch_.reserve(line.size());
  }

  bool Object(std::vector<FlatField>& fields) {
    SkipWs();
    if (!Eat('{')) return false;
    SkipWs();
    if (Eat('}')) return AtEnd();
    while (true) {
      FlatField f;
      if (!Eat('"') || !String(f.key)) return false;
      SkipWs();
      if (!Eat(':')) return false;
      SkipWs();
      if (!Value(f.value)) return false;
      fields.push_back(f);
      SkipWs();
      if (Eat(',')) {
        SkipWs();
        continue;
      }
      if (Eat('}')) return AtEnd();
      return false;
    }
  }

 private:
  bool AtEnd() {
    SkipWs();
    return p_ == end_;
  }
  void SkipWs() {
    while (p_ != end_ && (*p_ == ' ' || *p_ == '\t' || *p_ == '\n' || *p_ == '\r')) ++p_;
  }
  bool Eat(char c) {
    if (p_ == end_ || *p_ != c) return false;
    ++p_;
    return true;
  }
  static bool IsDigit(char c) { return c >= '0' && c <= '9'; }
  static unsigned Byte(char c) { return static_cast<unsigned char>(c); }

  bool Value(FlatValue& v) {
    if (p_ == end_) return false;
    const char c = *p_;
    if (c == '"') {
      ++p_;
      v.type = FlatValue::Type::kString;
      return String(v.text);
    }
    if (c == '-' || IsDigit(c)) return Number(v);
    auto literal = [&](std::string_view word) {
      if (static_cast<std::size_t>(end_ - p_) < word.size() || std::string_view(p_, word.size()) != word) return false;
      p_ += word.size();
      return true;
    };
    if (c == 't' && literal("true")) {
      v.type = FlatValue::Type::kBool;
      v.i = 1;
      return true;
    }
    if (c == 'f' && literal("false")) {
      v.type = FlatValue::Type::kBool;
      v.i = 0;
      return true;
    }
    if (c == 'n' && literal("null")) {
      v.type = FlatValue::Type::kNull;
      return true;
    }
    return false;  // nested object or array, or not JSON
  }

  // JSON number grammar; integers as nlohmann converts them (strtoll for
  // negative, strtoull otherwise, the double on overflow).
  bool Number(FlatValue& v) {
    const char* start = p_;
    const bool negative = *p_ == '-';
    if (negative) ++p_;
    if (p_ == end_) return false;
    if (*p_ == '0') {
      ++p_;
    } else if (IsDigit(*p_)) {
      while (p_ != end_ && IsDigit(*p_)) ++p_;
    } else {
      return false;
    }
    bool is_float = false;
    if (p_ != end_ && *p_ == '.') {
      is_float = true;
      ++p_;
      if (p_ == end_ || !IsDigit(*p_)) return false;
      while (p_ != end_ && IsDigit(*p_)) ++p_;
    }
    if (p_ != end_ && (*p_ == 'e' || *p_ == 'E')) {
      is_float = true;
      ++p_;
      if (p_ != end_ && (*p_ == '+' || *p_ == '-')) ++p_;
      if (p_ == end_ || !IsDigit(*p_)) return false;
      while (p_ != end_ && IsDigit(*p_)) ++p_;
    }
    if (!is_float) {
      if (negative) {
        const auto r = std::from_chars(start, p_, v.i);
        if (r.ec == std::errc{} && r.ptr == p_) {
          v.type = FlatValue::Type::kInt;
          return true;
        }
      } else {
        const auto r = std::from_chars(start, p_, v.u);
        if (r.ec == std::errc{} && r.ptr == p_) {
          v.type = FlatValue::Type::kUInt;
          return true;
        }
      }
    }
    // Out of range (overflow nlohmann rejects, underflow it keeps as strtod
    // rounds it): declined, so nlohmann decides.
    const auto r = std::from_chars(start, p_, v.d);
    if (r.ec != std::errc{} || r.ptr != p_ || !std::isfinite(v.d)) return false;
    v.type = FlatValue::Type::kDouble;
    return true;
  }

  // After the opening quote. Stays a view into the line unless it holds an
  // escape; then the text is unescaped into scratch, run by run.
  bool String(std::string_view& out) {
    const char* start = p_;
    const char* run = p_;  // start of the text not yet copied to scratch
    std::size_t copied_from = std::string::npos;
    while (true) {
      SkipPlain();
      if (p_ == end_) return false;
      const unsigned c = Byte(*p_);
      if (c == '"') {
        if (copied_from == std::string::npos) {
          out = std::string_view(start, static_cast<std::size_t>(p_ - start));
        } else {
          scratch_.append(run, p_);
          out = std::string_view(scratch_).substr(copied_from);
        }
        ++p_;
        return true;
      }
      if (c < 0x20) return false;
      if (c == '\\') {
        if (copied_from == std::string::npos) copied_from = scratch_.size();
        scratch_.append(run, p_);
        ++p_;
        if (!Escape()) return false;
        run = p_;
      } else if (c < 0x80) {
        ++p_;
      } else if (!Utf8Sequence()) {
        return false;
      }
    }
  }

  // Skips 8 bytes at a time while none is '"', '\\', a control character or
  // non-ASCII (SWAR: a byte of x is zero iff the "has zero" bit is set).
  void SkipPlain() {
    constexpr std::uint64_t kOnes = 0x0101010101010101ull;
    constexpr std::uint64_t kHigh = 0x8080808080808080ull;
    auto has_zero = [](std::uint64_t x) { return (x - kOnes) & ~x & kHigh; };
    while (end_ - p_ >= 8) {
      std::uint64_t w;
      std::memcpy(&w, p_, 8);
      const std::uint64_t special =
          has_zero(w ^ (kOnes * '"')) | has_zero(w ^ (kOnes * '\\')) | ((w - kOnes * 0x20) & ~w & kHigh) | (w & kHigh);
      if (special != 0) {
        // The lowest flagged byte is the first special one (false flags only
        // ever sit above a true one), so jump straight to it.
        if constexpr (std::endian::native == std::endian::little) p_ += std::countr_zero(special) / 8;
        return;
      }
      p_ += 8;
    }
  }

  // One well-formed UTF-8 sequence (RFC 3629 table 3-7, as nlohmann checks it).
  bool Utf8Sequence() {
    const unsigned c = Byte(*p_++);
    auto next = [&](unsigned lo, unsigned hi) {
      if (p_ == end_) return false;
      const unsigned b = Byte(*p_);
      if (b < lo || b > hi) return false;
      ++p_;
      return true;
    };
    if (c >= 0xC2 && c <= 0xDF) return next(0x80, 0xBF);
    if (c == 0xE0) return next(0xA0, 0xBF) && next(0x80, 0xBF);
    if ((c >= 0xE1 && c <= 0xEC) || c == 0xEE || c == 0xEF) return next(0x80, 0xBF) && next(0x80, 0xBF);
    if (c == 0xED) return next(0x80, 0x9F) && next(0x80, 0xBF);
    if (c == 0xF0) return next(0x90, 0xBF) && next(0x80, 0xBF) && next(0x80, 0xBF);
    if (c >= 0xF1 && c <= 0xF3) return next(0x80, 0xBF) && next(0x80, 0xBF) && next(0x80, 0xBF);
    if (c == 0xF4) return next(0x80, 0x8F) && next(0x80, 0xBF) && next(0x80, 0xBF);
    return false;
  }

  int Hex4() {
    if (end_ - p_ < 4) return -1;
    int v = 0;
    for (int k = 0; k < 4; ++k) {
      const char h = *p_++;
      v <<= 4;
      if (h >= '0' && h <= '9')
        v |= h - '0';
      else if (h >= 'a' && h <= 'f')
        v |= h - 'a' + 10;
      else if (h >= 'A' && h <= 'F')
        v |= h - 'A' + 10;
      else
        return -1;
    }
    return v;
  }

  // After the backslash; appends the character to scratch.
  bool Escape() {
    if (p_ == end_) return false;
    const char e = *p_++;
    switch (e) {
      case '"': scratch_ += '"'; return true;
      case '\\': scratch_ += '\\'; return true;
      case '/': scratch_ += '/'; return true;
      case 'b': scratch_ += '\b'; return true;
      case 'f': scratch_ += '\f'; return true;
      case 'n': scratch_ += '\n'; return true;
      case 'r': scratch_ += '\r'; return true;
      case 't': scratch_ += '\t'; return true;
      case 'u': break;
      default: return false;
    }
    int cp = Hex4();
    if (cp < 0) return false;
    if (cp >= 0xD800 && cp <= 0xDBFF) {
      if (!Eat('\\') || !Eat('u')) return false;
      const int low = Hex4();
      if (low < 0xDC00 || low > 0xDFFF) return false;
      cp = 0x10000 + ((cp - 0xD800) << 10) + (low - 0xDC00);
    } else if (cp >= 0xDC00 && cp <= 0xDFFF) {
      return false;
    }
    auto put = [&](int b) { scratch_ += static_cast<char>(b); };
    if (cp < 0x80) {
      put(cp);
    } else if (cp < 0x800) {
      put(0xC0 | (cp >> 6));
      put(0x80 | (cp & 0x3F));
    } else if (cp < 0x10000) {
      put(0xE0 | (cp >> 12));
      put(0x80 | ((cp >> 6) & 0x3F));
      put(0x80 | (cp & 0x3F));
    } else {
      put(0xF0 | (cp >> 18));
      put(0x80 | ((cp >> 12) & 0x3F));
      put(0x80 | ((cp >> 6) & 0x3F));
      put(0x80 | (cp & 0x3F));
    }
    return true;
  }

  const char* p_;
  const char* end_;
  std::string& scratch_;
};

}  // namespace

bool ParseFlatRecord(std::string_view line, std::vector<FlatField>& fields, std::string& scratch) {
  fields.clear();
  Parser parser(line, scratch);
  return parser.Object(fields);
}

nlohmann::json FlatToJson(const FlatValue& v) {
  switch (v.type) {
    case FlatValue::Type::kNull: return nullptr;
    case FlatValue::Type::kBool: return v.i != 0;
    case FlatValue::Type::kInt: return v.i;
    case FlatValue::Type::kUInt: return v.u;
    case FlatValue::Type::kDouble: return v.d;
    case FlatValue::Type::kString: return std::string(v.text);
  }
  return nullptr;
}

}  // namespace trawl::triage
