// SPDX-License-Identifier: Apache-2.0
#include "triage/sigma.h"

#include <yaml-cpp/eventhandler.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <array>
#include <charconv>
#include <cstring>
#include <map>
#include <set>
#include <sstream>
#include <unordered_map>
#include <utility>

#include <fmt/format.h>

#include "core/hash/multi_hasher.h"
#include "core/util/file.h"
#include "core/util/text.h"
#include "triage/embedded.h"
#include "triage/sigma_regex.h"

namespace trawl::triage::sigma {

using core::ErrorCode;
using core::Fail;
using core::Result;

std::string LogSource::ToString() const {
  std::string s;
  auto add = [&](std::string_view k, const std::string& v) {
    if (v.empty()) return;
    if (!s.empty()) s += ' ';
    s += fmt::format("{}={}", k, v);
  };
  add("product", product);
  add("category", category);
  add("service", service);
  return s.empty() ? "(empty)" : s;
}

std::string_view RefusalKindName(RefusalKind kind) {
  switch (kind) {
    case RefusalKind::kInvalid: return "invalid";
    case RefusalKind::kUnsupported: return "unsupported";
    case RefusalKind::kLimit: return "limit";
    case RefusalKind::kLogSource: return "logsource";
  }
  return "?";
}

namespace {

// --- limits on what one rule may ask for (hostile rule files)
constexpr std::size_t kMaxSelections = 1000;
constexpr std::size_t kMaxValuesPerRule = 100000;
constexpr std::size_t kMaxConditionBytes = 16384;
constexpr int kMaxConditionDepth = 64;
constexpr std::size_t kMaxValueBytes = 65536;
constexpr std::size_t kMaxRegexesPerRule = 2000;

// System values of an event, addressable as fields; interned first.
constexpr int kFieldEventId = 0;
constexpr int kFieldChannel = 1;
constexpr int kFieldProvider = 2;
constexpr int kFieldComputer = 3;
constexpr std::array<std::string_view, 4> kSystemFields = {"eventid", "channel", "provider_name", "computer"};

std::string Where(const std::string& file, const YAML::Mark& m) {
  if (m.line < 0) return file;
  return fmt::format("{}:{}:{}", file, m.line + 1, m.column + 1);
}

std::string Lower(std::string_view s) { return core::ToLowerAscii(s); }

// A compile-time refusal, carried up to the rule.
struct Refuse {
  RefusalKind kind;
  std::string code;
  std::string reason;
};

template <typename T>
using Try = std::expected<T, Refuse>;

std::unexpected<Refuse> Refused(RefusalKind kind, std::string code, std::string reason) {
  return std::unexpected<Refuse>(Refuse{kind, std::move(code), std::move(reason)});
}

// ---------------------------------------------------------------------------
// Wildcard patterns.

// The five characters `windash` makes interchangeable.
bool IsDashAt(std::string_view v, std::size_t pos, std::size_t* len) {
  if (pos >= v.size()) return false;
  const char c = v[pos];
  if (c == '-' || c == '/') {
    *len = 1;
    return true;
  }
  if (c == '\xE2' && pos + 2 < v.size() && v[pos + 1] == '\x80' &&
      (v[pos + 2] == '\x93' || v[pos + 2] == '\x94' || v[pos + 2] == '\x95')) {
    *len = 3;
    return true;
  }
  return false;
}

struct Glob {
  enum class Fast : std::uint8_t { kExact, kPrefix, kSuffix, kContains, kAny, kGeneral };
  enum class TokKind : std::uint8_t { kLit, kOne, kDash };
  struct Tok {
    TokKind kind;
    std::uint32_t off, len;  // kLit: bytes of `text`
  };
  struct Seg {
    std::uint32_t first, count;  // tokens
  };
  Fast fast = Fast::kExact;
  std::string text;  // literal bytes (folded unless cased)
  std::vector<Tok> toks;
  std::vector<Seg> segs;
  bool anchored_start = true;
  bool anchored_end = true;

  std::string_view Lit(const Tok& t) const { return std::string_view(text).substr(t.off, t.len); }

  // Matches the segment's tokens at `pos`; the end, or npos.
  std::size_t MatchAt(const Seg& s, std::string_view v, std::size_t pos) const {
    for (std::uint32_t i = 0; i < s.count; ++i) {
      const Tok& t = toks[s.first + i];
      switch (t.kind) {
        case TokKind::kLit:
          if (v.size() - pos < t.len || v.compare(pos, t.len, Lit(t)) != 0) return std::string_view::npos;
          pos += t.len;
          break;
        case TokKind::kOne: {
          if (pos >= v.size()) return std::string_view::npos;
          std::size_t len = 1;
          DecodeUtf8At(v, pos, &len);
          pos += len;
          break;
        }
        case TokKind::kDash: {
          std::size_t len = 0;
          if (!IsDashAt(v, pos, &len)) return std::string_view::npos;
          pos += len;
          break;
        }
      }
    }
    return pos;
  }
  // Matches the segment ending at `end`; its start, or npos.
  std::size_t MatchBefore(const Seg& s, std::string_view v, std::size_t end) const {
    for (std::uint32_t i = s.count; i-- > 0;) {
      const Tok& t = toks[s.first + i];
      switch (t.kind) {
        case TokKind::kLit:
          if (end < t.len || v.compare(end - t.len, t.len, Lit(t)) != 0) return std::string_view::npos;
          end -= t.len;
          break;
        case TokKind::kOne: {
          if (end == 0) return std::string_view::npos;
          std::size_t b = end - 1;
          std::size_t back = 0;
          while (b > 0 && back < 3 && (static_cast<unsigned char>(v[b]) & 0xC0) == 0x80) --b, ++back;
          std::size_t len = 1;
          DecodeUtf8At(v, b, &len);
          end = (b + len == end) ? b : end - 1;
          break;
        }
        case TokKind::kDash: {
          std::size_t len = 0;
          if (end >= 1 && IsDashAt(v, end - 1, &len) && len == 1) {
            end -= 1;
          } else if (end >= 3 && IsDashAt(v, end - 3, &len) && len == 3) {
            end -= 3;
          } else {
            return std::string_view::npos;
          }
          break;
        }
      }
    }
    return end;
  }
  // Leftmost match of the segment starting at or after `pos`; its end, or npos.
  std::size_t Find(const Seg& s, std::string_view v, std::size_t pos) const {
    const Tok& first = toks[s.first];
    while (pos <= v.size()) {
      if (first.kind == TokKind::kLit) {
        pos = v.find(Lit(first), pos);
        if (pos == std::string_view::npos) return pos;
      }
      const std::size_t end = MatchAt(s, v, pos);
      if (end != std::string_view::npos) return end;
      if (pos >= v.size()) break;
      std::size_t len = 1;
      if (first.kind != TokKind::kLit) DecodeUtf8At(v, pos, &len);
      pos += len;
    }
    return std::string_view::npos;
  }

  bool Match(std::string_view v) const {
    switch (fast) {
      case Fast::kExact: return v == text;
      case Fast::kPrefix: return v.starts_with(text);
      case Fast::kSuffix: return v.ends_with(text);
      case Fast::kContains: return v.find(text) != std::string_view::npos;
      case Fast::kAny: return true;
      case Fast::kGeneral: break;
    }
    const std::size_t k = segs.size();
    if (k == 0) return !anchored_start ? true : v.empty();
    std::size_t pos = 0, first = 0, last = k;
    if (anchored_start) {
      pos = MatchAt(segs[0], v, 0);
      if (pos == std::string_view::npos) return false;
      first = 1;
      if (k == 1 && anchored_end) return pos == v.size();
    }
    std::size_t limit = v.size();
    if (anchored_end && last > first) {
      const std::size_t start = MatchBefore(segs[k - 1], v, v.size());
      if (start == std::string_view::npos || start < pos) return false;
      limit = start;
      last = k - 1;
    }
    for (std::size_t i = first; i < last; ++i) {
      const std::size_t end = Find(segs[i], v.substr(0, limit), pos);
      if (end == std::string_view::npos) return false;
      pos = end;
    }
    return true;
  }
};

// A Sigma string: literal text with unescaped wildcards.
struct SigmaString {
  struct Piece {
    enum Kind : std::uint8_t { kLit, kStar, kOne } kind;
    std::string text;  // kLit
  };
  std::vector<Piece> pieces;

  static SigmaString Parse(std::string_view s) {
    SigmaString out;
    std::string lit;
    auto flush = [&] {
      if (!lit.empty()) out.pieces.push_back({Piece::kLit, std::move(lit)});
      lit.clear();
    };
    for (std::size_t i = 0; i < s.size(); ++i) {
      const char c = s[i];
      if (c == '\\' && i + 1 < s.size() && (s[i + 1] == '*' || s[i + 1] == '?' || s[i + 1] == '\\')) {
        lit += s[++i];
      } else if (c == '*') {
        flush();
        if (out.pieces.empty() || out.pieces.back().kind != Piece::kStar) out.pieces.push_back({Piece::kStar, {}});
      } else if (c == '?') {
        flush();
        out.pieces.push_back({Piece::kOne, {}});
      } else {
        lit += c;
      }
    }
    flush();
    return out;
  }
  static SigmaString Literal(std::string s) {
    SigmaString out;
    if (!s.empty()) out.pieces.push_back({Piece::kLit, std::move(s)});
    return out;
  }
  bool HasWildcards() const {
    return std::any_of(pieces.begin(), pieces.end(), [](const Piece& p) { return p.kind != Piece::kLit; });
  }
  std::string Plain() const {
    std::string s;
    for (const auto& p : pieces) s += p.text;
    return s;
  }
  void StarFront() {
    if (pieces.empty() || pieces.front().kind != Piece::kStar) pieces.insert(pieces.begin(), {Piece::kStar, {}});
  }
  void StarBack() {
    if (pieces.empty() || pieces.back().kind != Piece::kStar) pieces.push_back({Piece::kStar, {}});
  }
};

Glob BuildGlob(const SigmaString& s, bool cased, bool windash) {
  Glob g;
  g.anchored_start = s.pieces.empty() || s.pieces.front().kind != SigmaString::Piece::kStar;
  g.anchored_end = s.pieces.empty() || s.pieces.back().kind != SigmaString::Piece::kStar;
  bool star_inside = false, singles = false;
  std::string folded;
  Glob::Seg cur{0, 0};
  auto close_seg = [&] {
    if (cur.count > 0) g.segs.push_back(cur);
    cur = Glob::Seg{static_cast<std::uint32_t>(g.toks.size()), 0};
  };
  auto add_lit = [&](std::string_view lit) {
    if (lit.empty()) return;
    if (!g.toks.empty() && cur.count > 0 && g.toks.back().kind == Glob::TokKind::kLit) {
      g.toks.back().len += static_cast<std::uint32_t>(lit.size());  // contiguous in text
    } else {
      g.toks.push_back(
          {Glob::TokKind::kLit, static_cast<std::uint32_t>(g.text.size()), static_cast<std::uint32_t>(lit.size())});
      ++cur.count;
    }
    g.text += lit;
  };
  for (std::size_t i = 0; i < s.pieces.size(); ++i) {
    const auto& p = s.pieces[i];
    if (p.kind == SigmaString::Piece::kStar) {
      if (i != 0 && i + 1 != s.pieces.size()) star_inside = true;
      close_seg();
      continue;
    }
    if (p.kind == SigmaString::Piece::kOne) {
      singles = true;
      g.toks.push_back({Glob::TokKind::kOne, 0, 0});
      ++cur.count;
      continue;
    }
    std::string_view lit = p.text;
    if (!cased) {
      FoldUtf8(p.text, folded);
      lit = folded;
    }
    if (!windash) {
      add_lit(lit);
      continue;
    }
    std::size_t start = 0;
    for (std::size_t j = 0; j < lit.size();) {
      std::size_t len = 0;
      if (IsDashAt(lit, j, &len)) {
        add_lit(lit.substr(start, j - start));
        singles = true;
        g.toks.push_back({Glob::TokKind::kDash, 0, 0});
        ++cur.count;
        j += len;
        start = j;
      } else {
        ++j;
      }
    }
    add_lit(lit.substr(start));
  }
  close_seg();
  if (g.segs.empty()) {
    g.fast = g.anchored_start ? Glob::Fast::kExact : Glob::Fast::kAny;
    g.text.clear();
  } else if (!singles && !star_inside && g.segs.size() == 1) {
    g.fast = g.anchored_start && g.anchored_end ? Glob::Fast::kExact
             : g.anchored_start                 ? Glob::Fast::kPrefix
             : g.anchored_end                   ? Glob::Fast::kSuffix
                                                : Glob::Fast::kContains;
  } else {
    g.fast = Glob::Fast::kGeneral;
  }
  return g;
}

// ---------------------------------------------------------------------------
// Encodings for base64 / base64offset / utf16.

std::string Base64(std::string_view in) {
  static constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  out.reserve((in.size() + 2) / 3 * 4);
  std::size_t i = 0;
  for (; i + 3 <= in.size(); i += 3) {
    const std::uint32_t v = (static_cast<std::uint32_t>(static_cast<unsigned char>(in[i])) << 16) |
                            (static_cast<std::uint32_t>(static_cast<unsigned char>(in[i + 1])) << 8) |
                            static_cast<unsigned char>(in[i + 2]);
    out += kAlphabet[(v >> 18) & 63];
    out += kAlphabet[(v >> 12) & 63];
    out += kAlphabet[(v >> 6) & 63];
    out += kAlphabet[v & 63];
  }
  if (i + 1 == in.size()) {
    const std::uint32_t v = static_cast<std::uint32_t>(static_cast<unsigned char>(in[i])) << 16;
    out += kAlphabet[(v >> 18) & 63];
    out += kAlphabet[(v >> 12) & 63];
    out += "==";
  } else if (i + 2 == in.size()) {
    const std::uint32_t v = (static_cast<std::uint32_t>(static_cast<unsigned char>(in[i])) << 16) |
                            (static_cast<std::uint32_t>(static_cast<unsigned char>(in[i + 1])) << 8);
    out += kAlphabet[(v >> 18) & 63];
    out += kAlphabet[(v >> 12) & 63];
    out += kAlphabet[(v >> 6) & 63];
    out += '=';
  }
  return out;
}

// The part of base64(prefix + in) that does not depend on the bytes around
// `in`, for each of the three alignments `in` can have inside a longer
// base64 text. A prefix of k bytes fills the first k*8 bits: whole
// characters before bit 6*ceil(8k/6) carry only prefix bits (k=1: 2
// characters, k=2: 3). At the end, a last group of 1 or 2 bytes leaves a
// character mixing value and padding bits, dropped with the '='s.
std::vector<std::string> Base64Offsets(std::string_view in) {
  std::vector<std::string> out;
  static constexpr std::size_t kSkip[3] = {0, 2, 3};
  static constexpr std::size_t kTrim[3] = {0, 3, 2};
  for (std::size_t k = 0; k < 3; ++k) {
    std::string buf(k, '\0');
    buf.append(in.data(), in.size());
    const std::string enc = Base64(buf);
    const std::size_t trim = kTrim[buf.size() % 3];
    if (enc.size() < kSkip[k] + trim) continue;
    std::string part = enc.substr(kSkip[k], enc.size() - kSkip[k] - trim);
    if (!part.empty()) out.push_back(std::move(part));
  }
  return out;
}

std::string Utf16(std::string_view utf8, bool big_endian, bool bom) {
  std::string le = core::Utf8ToUtf16Le(utf8);
  if (big_endian) {
    for (std::size_t i = 0; i + 1 < le.size(); i += 2) std::swap(le[i], le[i + 1]);
  }
  if (bom) le.insert(0, big_endian ? std::string("\xFE\xFF", 2) : std::string("\xFF\xFE", 2));
  return le;
}

// ---------------------------------------------------------------------------
// IP networks for `cidr`.

bool ParseIpv4(std::string_view s, std::uint8_t out[4]) {
  int part = 0;
  std::size_t i = 0;
  while (part < 4) {
    if (i >= s.size() || s[i] < '0' || s[i] > '9') return false;
    unsigned v = 0;
    std::size_t digits = 0;
    while (i < s.size() && s[i] >= '0' && s[i] <= '9') {
      v = v * 10 + static_cast<unsigned>(s[i] - '0');
      if (++digits > 3 || v > 255) return false;
      ++i;
    }
    out[part++] = static_cast<std::uint8_t>(v);
    if (part < 4) {
      if (i >= s.size() || s[i] != '.') return false;
      ++i;
    }
  }
  return i == s.size();
}

// 16 bytes; IPv4 as ::ffff:a.b.c.d. `v4` tells which form was written.
bool ParseIp(std::string_view s, std::uint8_t out[16], bool* v4) {
  if (!s.empty() && s.front() == '[' && s.back() == ']') s = s.substr(1, s.size() - 2);
  if (const auto pct = s.find('%'); pct != std::string_view::npos) s = s.substr(0, pct);  // zone
  std::memset(out, 0, 16);
  if (s.find(':') == std::string_view::npos) {
    *v4 = true;
    out[10] = out[11] = 0xFF;
    return ParseIpv4(s, out + 12);
  }
  *v4 = false;
  std::uint16_t words[8] = {};
  int n = 0, gap = -1;
  std::size_t i = 0;
  if (s.starts_with("::")) {
    gap = 0;
    i = 2;
  }
  while (i < s.size()) {
    if (n >= 8) return false;
    // An embedded IPv4 address ends the text.
    const std::size_t next_colon = s.find(':', i);
    const std::string_view tok = s.substr(i, next_colon == std::string_view::npos ? s.size() - i : next_colon - i);
    if (tok.find('.') != std::string_view::npos) {
      if (next_colon != std::string_view::npos || n > 6) return false;
      std::uint8_t b[4];
      if (!ParseIpv4(tok, b)) return false;
      words[n++] = static_cast<std::uint16_t>(b[0] << 8 | b[1]);
      words[n++] = static_cast<std::uint16_t>(b[2] << 8 | b[3]);
      i = s.size();
      break;
    }
    if (tok.empty() || tok.size() > 4) return false;
    unsigned v = 0;
    for (char c : tok) {
      const int h = (c >= '0' && c <= '9')   ? c - '0'
                    : (c >= 'a' && c <= 'f') ? c - 'a' + 10
                    : (c >= 'A' && c <= 'F') ? c - 'A' + 10
                                             : -1;
      if (h < 0) return false;
      v = v * 16 + static_cast<unsigned>(h);
    }
    words[n++] = static_cast<std::uint16_t>(v);
    i += tok.size();
    if (i < s.size()) {
      ++i;  // ':'
      if (i < s.size() && s[i] == ':') {
        if (gap >= 0) return false;
        gap = n;
        ++i;
      } else if (i >= s.size()) {
        return false;  // trailing single ':'
      }
    }
  }
  if (gap < 0 && n != 8) return false;
  if (gap >= 0 && n > 7) return false;
  std::uint16_t full[8] = {};
  if (gap >= 0) {
    const int tail = n - gap;
    for (int k = 0; k < gap; ++k) full[k] = words[k];
    for (int k = 0; k < tail; ++k) full[8 - tail + k] = words[gap + k];
  } else {
    std::copy(words, words + 8, full);
  }
  for (int k = 0; k < 8; ++k) {
    out[2 * k] = static_cast<std::uint8_t>(full[k] >> 8);
    out[2 * k + 1] = static_cast<std::uint8_t>(full[k] & 0xFF);
  }
  return true;
}

struct Cidr {
  std::uint8_t net[16] = {};
  int bits = 0;  // of the 128
  bool Contains(std::string_view value) const {
    std::uint8_t a[16];
    bool v4 = false;
    if (!ParseIp(value, a, &v4)) return false;
    int left = bits;
    for (int i = 0; i < 16 && left > 0; ++i, left -= 8) {
      const int b = std::min(left, 8);
      const auto mask = static_cast<std::uint8_t>(0xFF << (8 - b));
      if ((a[i] & mask) != (net[i] & mask)) return false;
    }
    return true;
  }
};

std::optional<Cidr> ParseCidr(std::string_view s) {
  Cidr c;
  const auto slash = s.find('/');
  bool v4 = false;
  if (!ParseIp(s.substr(0, slash), c.net, &v4)) return std::nullopt;
  int prefix = v4 ? 32 : 128;
  if (slash != std::string_view::npos) {
    const std::string_view p = s.substr(slash + 1);
    auto [ptr, ec] = std::from_chars(p.data(), p.data() + p.size(), prefix);
    if (ec != std::errc() || ptr != p.data() + p.size() || prefix < 0 || prefix > (v4 ? 32 : 128)) {
      return std::nullopt;
    }
  }
  c.bits = v4 ? 96 + prefix : prefix;
  return c;
}

std::optional<double> ParseNumber(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  if (s.empty()) return std::nullopt;
  if (s.size() > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
    std::uint64_t v = 0;
    auto [ptr, ec] = std::from_chars(s.data() + 2, s.data() + s.size(), v, 16);
    if (ec != std::errc() || ptr != s.data() + s.size()) return std::nullopt;
    return static_cast<double>(v);
  }
  if (s.front() == '+') s.remove_prefix(1);
  double d = 0;
  auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), d);
  if (ec != std::errc() || ptr != s.data() + s.size()) return std::nullopt;
  return d;
}

// ---------------------------------------------------------------------------
// Compiled rules.

struct Test {
  enum class Kind : std::uint8_t { kGlob, kRegex, kCidr, kNum, kFieldRef, kExists, kNull };
  enum class Cmp : std::uint8_t { kGt, kGte, kLt, kLte };
  enum class RefMode : std::uint8_t { kEq, kContains, kStarts, kEnds };
  Kind kind = Kind::kGlob;
  bool cased = false;
  bool want = true;  // kExists
  Cmp cmp = Cmp::kGt;
  RefMode ref = RefMode::kEq;
  std::uint32_t group = 0;  // the value this test is a variant of (`all` needs one per group)
  std::uint32_t index = 0;  // globs_/regexes_/cidrs_ index, or the other field for kFieldRef
  double num = 0;
};

struct Item {
  int field = -1;  // -1: keyword search over every data value
  bool all = false;
  std::vector<Test> tests;
};
struct Group {
  std::vector<Item> items;  // AND
};
struct Selection {
  std::string name;
  std::vector<Group> groups;  // OR
};

struct CondNode {
  enum class Kind : std::uint8_t { kSel, kNot, kAnd, kOr, kOf };
  Kind kind = Kind::kSel;
  int sel = -1;
  std::uint32_t need = 0;  // kOf: at least this many
  std::vector<int> kids;   // nodes (kNot/kAnd/kOr) or selections (kOf)
};

struct Binding {
  std::vector<std::string> channels;     // folded
  std::vector<std::uint32_t> event_ids;  // sorted; empty: any
  Group conditions;                      // evaluated without renames
  std::vector<std::pair<int, std::vector<int>>> renames;
};

struct CompiledRule {
  RuleInfo info;
  std::vector<Selection> sels;
  std::vector<CondNode> cond;
  int root = -1;
  std::vector<std::uint32_t> bindings;  // Engine::Impl::bindings indexes
};

}  // namespace

// ---------------------------------------------------------------------------
// Log-source mapping.

namespace {

struct StrHash {
  using is_transparent = void;
  std::size_t operator()(std::string_view s) const noexcept { return std::hash<std::string_view>{}(s); }
};

Result<std::vector<std::string>> ScalarList(const YAML::Node& n, const std::string& file, std::string_view what) {
  std::vector<std::string> out;
  if (n.IsScalar()) {
    out.push_back(n.Scalar());
  } else if (n.IsSequence()) {
    for (const auto& x : n) {
      if (!x.IsScalar()) {
        return Fail(ErrorCode::kFormat,
                    fmt::format("{}: {}: expected a string or a list of strings", Where(file, x.Mark()), what));
      }
      out.push_back(x.Scalar());
    }
  } else {
    return Fail(ErrorCode::kFormat,
                fmt::format("{}: {}: expected a string or a list of strings", Where(file, n.Mark()), what));
  }
  return out;
}

bool LsKeyApplies(const std::string& entry, const std::string& rule, bool rule_needs_entry) {
  if (!entry.empty()) return core::EqualsIgnoreCaseAscii(entry, rule);
  return !(rule_needs_entry && !rule.empty());
}

}  // namespace

Result<LogSourceMap> LogSourceMap::Parse(std::string_view yaml, const std::string& file) {
  LogSourceMap map;
  map.file_ = file;
  try {
    const YAML::Node root = YAML::Load(std::string(yaml));
    if (!root.IsMap()) return Fail(ErrorCode::kFormat, Where(file, root.Mark()) + ": a mapping file is a YAML mapping");
    static const std::set<std::string, std::less<>> kTop = {"title",       "order",      "backends",
                                                            "description", "logsources", "license"};
    for (auto it = root.begin(); it != root.end(); ++it) {
      if (!kTop.contains(it->first.Scalar())) {
        return Fail(ErrorCode::kFormat, fmt::format("{}: unknown key '{}' (known: title, order, backends, "
                                                    "description, license, logsources)",
                                                    Where(file, it->first.Mark()), it->first.Scalar()));
      }
    }
    const YAML::Node ls = root["logsources"];
    if (!ls || !ls.IsMap()) {
      return Fail(ErrorCode::kFormat, Where(file, ls ? ls.Mark() : root.Mark()) + ": 'logsources' must be a mapping");
    }
    for (auto it = ls.begin(); it != ls.end(); ++it) {
      Entry e;
      e.name = it->first.Scalar();
      const YAML::Node n = it->second;  // a copy: the iterator yields a temporary
      const std::string at = Where(file, n.Mark());
      if (!n.IsMap()) return Fail(ErrorCode::kFormat, fmt::format("{}: logsources.{}: must be a mapping", at, e.name));
      for (auto kv = n.begin(); kv != n.end(); ++kv) {
        const std::string key = kv->first.Scalar();
        const YAML::Node v = kv->second;
        const std::string what = fmt::format("logsources.{}.{}", e.name, key);
        if (key == "category" || key == "product" || key == "service") {
          if (!v.IsScalar()) return Fail(ErrorCode::kFormat, fmt::format("{}: {}: must be a string", at, what));
          (key == "category" ? e.ls.category : key == "product" ? e.ls.product : e.ls.service) = Lower(v.Scalar());
        } else if (key == "conditions") {
          if (!v.IsMap()) return Fail(ErrorCode::kFormat, fmt::format("{}: {}: must be a mapping", at, what));
          for (auto c = v.begin(); c != v.end(); ++c) {
            auto vals = ScalarList(c->second, file, what + "." + c->first.Scalar());
            if (!vals) return std::unexpected(vals.error());
            e.conditions.push_back({c->first.Scalar(), std::move(*vals)});
          }
        } else if (key == "sources") {
          auto vals = ScalarList(v, file, what);
          if (!vals) return std::unexpected(vals.error());
          e.sources = std::move(*vals);
        } else if (key == "rewrite") {
          if (!v.IsMap()) return Fail(ErrorCode::kFormat, fmt::format("{}: {}: must be a mapping", at, what));
          LogSource r;
          for (auto c = v.begin(); c != v.end(); ++c) {
            const std::string k = c->first.Scalar();
            if ((k != "product" && k != "service" && k != "category") || !c->second.IsScalar()) {
              return Fail(ErrorCode::kFormat, fmt::format("{}: {}.{}: rewrite takes product/service/category strings",
                                                          Where(file, c->first.Mark()), what, k));
            }
            (k == "category" ? r.category : k == "product" ? r.product : r.service) = Lower(c->second.Scalar());
          }
          e.rewrite = std::move(r);
        } else if (key == "fieldmappings") {
          if (!v.IsMap()) return Fail(ErrorCode::kFormat, fmt::format("{}: {}: must be a mapping", at, what));
          for (auto c = v.begin(); c != v.end(); ++c) {
            auto vals = ScalarList(c->second, file, what + "." + c->first.Scalar());
            if (!vals) return std::unexpected(vals.error());
            e.renames.push_back({c->first.Scalar(), std::move(*vals)});
          }
        } else if (key == "description") {
          // documentation only
        } else {
          return Fail(ErrorCode::kFormat, fmt::format("{}: {}: unknown key (known: category, product, service, "
                                                      "conditions, rewrite, sources, fieldmappings, description)",
                                                      Where(file, kv->first.Mark()), what));
        }
      }
      map.entries_.push_back(std::move(e));
    }
  } catch (const YAML::Exception& e) {
    return Fail(ErrorCode::kFormat, fmt::format("{}:{}:{}: {}", file, e.mark.line + 1, e.mark.column + 1, e.msg));
  }
  return map;
}

Result<LogSourceMap> LogSourceMap::Load(const std::filesystem::path& path) {
  auto text = core::ReadFileText(path, 4 << 20);
  if (!text) return std::unexpected(text.error());
  return Parse(*text, path.string());
}

Result<LogSourceMap> LogSourceMap::Builtin() {
  static constexpr std::string_view kPath = "rules/sigma/logsources.yaml";
  const std::string_view text = EmbeddedTriageFile(kPath);
  if (text.empty()) return Fail(ErrorCode::kNotFound, fmt::format("builtin:{}: not compiled in", kPath));
  return Parse(text, fmt::format("builtin:{}", kPath));
}

std::expected<std::vector<LogSourceMap::Binding>, std::string> LogSourceMap::Resolve(const LogSource& ls) const {
  std::vector<Binding> out;
  std::vector<std::string> notes;
  for (const Entry& e : entries_) {
    if (!LsKeyApplies(e.ls.category, ls.category, true) || !LsKeyApplies(e.ls.service, ls.service, true) ||
        !LsKeyApplies(e.ls.product, ls.product, false)) {
      continue;
    }
    if (e.ls.category.empty() && e.ls.service.empty() && e.ls.product.empty()) continue;
    Binding b;
    b.name = e.name;
    b.conditions = e.conditions;
    b.renames = e.renames;
    auto add_sources = [&](const std::vector<std::string>& sources) {
      for (const auto& s : sources) {
        if (s.size() > 12 && core::EqualsIgnoreCaseAscii(std::string_view(s).substr(0, 12), "WinEventLog:")) {
          b.channels.push_back(s.substr(12));
        } else if (s.size() > 6 && core::EqualsIgnoreCaseAscii(std::string_view(s).substr(0, 6), "trawl:")) {
          // What the collector saw live, as events of this pseudo-channel
          // (triage/sigma_case.h): "trawl:processes:windows", ...
          b.channels.push_back(s);
        }
      }
    };
    if (!e.sources.empty()) {
      add_sources(e.sources);
      if (b.channels.empty()) {
        notes.push_back(fmt::format("entry '{}' names no event log channel ({})", e.name, e.sources.front()));
        continue;
      }
    } else if (e.rewrite) {
      bool found = false;
      for (const Entry& t : entries_) {
        if (t.ls.category.empty() && core::EqualsIgnoreCaseAscii(t.ls.product, e.rewrite->product) &&
            core::EqualsIgnoreCaseAscii(t.ls.service, e.rewrite->service) && !t.sources.empty()) {
          add_sources(t.sources);
          b.renames.insert(b.renames.end(), t.renames.begin(), t.renames.end());
          found = true;
        }
      }
      if (!found || b.channels.empty()) {
        notes.push_back(
            fmt::format("entry '{}' rewrites to {} which names no event log channel", e.name, e.rewrite->ToString()));
        continue;
      }
    } else if (e.conditions.empty()) {
      notes.push_back(fmt::format("entry '{}' has neither sources nor conditions", e.name));
      continue;
    }
    out.push_back(std::move(b));
  }
  if (out.empty()) {
    std::string why = fmt::format("log source {} has no mapping in {}", ls.ToString(), file_.empty() ? "(map)" : file_);
    for (const auto& n : notes) why += "; " + n;
    return std::unexpected(why);
  }
  return out;
}

// ---------------------------------------------------------------------------
// Engine.

struct Engine::Impl {
  LogSourceMap map;
  EngineOptions options;
  std::string fingerprint_input;  // a SHA-256 hex per input (fingerprint())
  std::vector<CompiledRule> rules;
  std::vector<Refusal> refusals;
  std::vector<Glob> globs;
  std::vector<Regex> regexes;
  std::vector<Cidr> cidrs;
  std::vector<Binding> bindings;
  // LogSource key -> bindings, or why there are none.
  std::map<std::string, std::expected<std::vector<std::uint32_t>, std::string>> binding_cache;
  std::unordered_map<std::string, int, StrHash, std::equal_to<>> field_ids;  // folded names
  // Channel index: folded channel -> (rule, binding) pairs; any_channel for bindings without one.
  struct Entry {
    std::uint32_t rule, binding;
  };
  std::unordered_map<std::string, std::vector<Entry>, StrHash, std::equal_to<>> by_channel;
  std::vector<Entry> any_channel;

  Impl(LogSourceMap m, EngineOptions o) : map(std::move(m)), options(o) {
    for (auto f : kSystemFields) Intern(f);
  }

  int Intern(std::string_view name) {
    const std::string key = Lower(name);
    auto it = field_ids.find(key);
    if (it != field_ids.end()) return it->second;
    const int id = static_cast<int>(field_ids.size());
    field_ids.emplace(key, id);
    return id;
  }

  std::expected<std::size_t, Refusal> Add(std::string_view yaml, const std::string& file);
  Try<CompiledRule> Compile(const YAML::Node& root, const std::string& file);
  Try<Selection> CompileSelection(const std::string& name, const YAML::Node& n, const std::string& file);
  Try<Item> CompileItem(const std::string& key, const YAML::Node& value, const std::string& where);
  void AddGlobTests(Item& item, const SigmaString& s, std::uint32_t group, bool cased, bool windash);
  Try<std::vector<std::uint32_t>> BindLogSource(const LogSource& ls);
  void Index(std::uint32_t rule);
};

namespace {

// --- the condition grammar

struct CondParser {
  std::string_view text;
  const std::vector<Selection>& sels;
  std::vector<CondNode>& nodes;
  std::string where;
  std::size_t pos = 0;
  std::optional<Refuse> err;

  int Fail(RefusalKind kind, std::string code, std::string msg) {
    if (!err) err = Refuse{kind, std::move(code), fmt::format("{}: condition '{}': {}", where, text, msg)};
    return -1;
  }
  static bool IdentChar(char c) {
    return c != ' ' && c != '\t' && c != '\n' && c != '\r' && c != '(' && c != ')' && c != '|';
  }
  std::string_view PeekToken() {
    while (pos < text.size() && (text[pos] == ' ' || text[pos] == '\t' || text[pos] == '\n' || text[pos] == '\r'))
      ++pos;
    if (pos >= text.size()) return {};
    if (text[pos] == '(' || text[pos] == ')' || text[pos] == '|') return text.substr(pos, 1);
    std::size_t e = pos;
    while (e < text.size() && IdentChar(text[e])) ++e;
    return text.substr(pos, e - pos);
  }
  std::string_view NextToken() {
    const std::string_view t = PeekToken();
    pos += t.size();
    return t;
  }
  static bool Is(std::string_view t, std::string_view kw) { return core::EqualsIgnoreCaseAscii(t, kw); }

  int Add(CondNode n) {
    nodes.push_back(std::move(n));
    return static_cast<int>(nodes.size() - 1);
  }

  int ParseOr(int depth) {
    if (depth > kMaxConditionDepth) {
      return Fail(RefusalKind::kLimit, "condition too deep",
                  fmt::format("nested more than {} levels", kMaxConditionDepth));
    }
    CondNode n;
    n.kind = CondNode::Kind::kOr;
    n.kids.push_back(ParseAnd(depth));
    while (!err && Is(PeekToken(), "or")) {
      NextToken();
      n.kids.push_back(ParseAnd(depth));
    }
    if (err) return -1;
    return n.kids.size() == 1 ? n.kids[0] : Add(std::move(n));
  }
  int ParseAnd(int depth) {
    CondNode n;
    n.kind = CondNode::Kind::kAnd;
    n.kids.push_back(ParseNot(depth));
    while (!err && Is(PeekToken(), "and")) {
      NextToken();
      n.kids.push_back(ParseNot(depth));
    }
    if (err) return -1;
    return n.kids.size() == 1 ? n.kids[0] : Add(std::move(n));
  }
  int ParseNot(int depth) {
    if (depth > kMaxConditionDepth) {
      return Fail(RefusalKind::kLimit, "condition too deep",
                  fmt::format("nested more than {} levels", kMaxConditionDepth));
    }
    if (Is(PeekToken(), "not")) {
      NextToken();
      const int kid = ParseNot(depth + 1);
      if (kid < 0) return -1;
      CondNode n;
      n.kind = CondNode::Kind::kNot;
      n.kids = {kid};
      return Add(std::move(n));
    }
    return ParsePrimary(depth);
  }
  static bool NameMatches(std::string_view pattern, std::string_view name) {
    // '*' any run, everything else literal (case-sensitive, as identifiers are).
    std::size_t p = 0, n = 0, star = std::string_view::npos, mark = 0;
    while (n < name.size()) {
      if (p < pattern.size() && pattern[p] == '*') {
        star = p++;
        mark = n;
      } else if (p < pattern.size() && pattern[p] == name[n]) {
        ++p, ++n;
      } else if (star != std::string_view::npos) {
        p = star + 1;
        n = ++mark;
      } else {
        return false;
      }
    }
    while (p < pattern.size() && pattern[p] == '*') ++p;
    return p == pattern.size();
  }
  int ParsePrimary(int depth) {
    const std::string_view t = NextToken();
    if (t.empty()) return Fail(RefusalKind::kInvalid, "condition syntax", "ends where an operand is expected");
    if (t == "(") {
      const int e = ParseOr(depth + 1);
      if (err) return -1;
      if (NextToken() != ")") return Fail(RefusalKind::kInvalid, "condition syntax", "missing ')'");
      return e;
    }
    if (t == ")") return Fail(RefusalKind::kInvalid, "condition syntax", "unexpected ')'");
    if (t == "|") {
      return Fail(RefusalKind::kUnsupported, "aggregation",
                  "aggregation expressions ('| count() ...') are not supported (deprecated in Sigma 2: write a "
                  "correlation rule)");
    }
    if (Is(t, "near")) return Fail(RefusalKind::kUnsupported, "near", "the 'near' operator is not supported");
    if (Is(t, "and") || Is(t, "or") || Is(t, "of") || Is(t, "them")) {
      return Fail(RefusalKind::kInvalid, "condition syntax", fmt::format("unexpected '{}'", t));
    }
    // "1 of X", "all of X", "N of X"
    if (Is(PeekToken(), "of")) {
      std::uint32_t need = 0;
      bool all = false;
      if (Is(t, "all")) {
        all = true;
      } else {
        auto [ptr, ec] = std::from_chars(t.data(), t.data() + t.size(), need);
        if (ec != std::errc() || ptr != t.data() + t.size() || need == 0) {
          return Fail(RefusalKind::kInvalid, "condition syntax",
                      fmt::format("'{} of': expected 'all' or a positive number", t));
        }
      }
      NextToken();  // of
      const std::string_view target = NextToken();
      if (target.empty() || target == "(" || target == ")" || target == "|") {
        return Fail(RefusalKind::kInvalid, "condition syntax", "'of' needs 'them' or a search-identifier pattern");
      }
      CondNode n;
      n.kind = CondNode::Kind::kOf;
      for (std::size_t i = 0; i < sels.size(); ++i) {
        const std::string& name = sels[i].name;
        const bool hit = Is(target, "them") ? !name.starts_with('_') : NameMatches(target, name);
        if (hit) n.kids.push_back(static_cast<int>(i));
      }
      if (n.kids.empty()) {
        return Fail(RefusalKind::kInvalid, "condition names unknown identifier",
                    fmt::format("'{}' matches no search identifier", target));
      }
      n.need = all ? static_cast<std::uint32_t>(n.kids.size()) : need;
      return Add(std::move(n));
    }
    if (Is(t, "not")) return Fail(RefusalKind::kInvalid, "condition syntax", "misplaced 'not'");
    for (std::size_t i = 0; i < sels.size(); ++i) {
      if (sels[i].name == t) {
        CondNode n;
        n.kind = CondNode::Kind::kSel;
        n.sel = static_cast<int>(i);
        return Add(std::move(n));
      }
    }
    if (t.find('*') != std::string_view::npos) {
      return Fail(RefusalKind::kInvalid, "condition syntax", fmt::format("pattern '{}' outside '1 of' / 'all of'", t));
    }
    return Fail(RefusalKind::kInvalid, "condition names unknown identifier",
                fmt::format("'{}' is not a search identifier of this rule", t));
  }
};

// Counts the YAML documents of `text`, stopping at two. yaml-cpp 0.7's
// LoadAll never returns on a document that starts with ',' (its parser
// yields an empty document without consuming the token, again and again,
// until memory runs out), so documents are counted with the event parser,
// which stops after the second.
class NullHandler final : public YAML::EventHandler {
 public:
  void OnDocumentStart(const YAML::Mark&) override {}
  void OnDocumentEnd() override {}
  void OnNull(const YAML::Mark&, YAML::anchor_t) override {}
  void OnAlias(const YAML::Mark&, YAML::anchor_t) override {}
  void OnScalar(const YAML::Mark&, const std::string&, YAML::anchor_t, const std::string&) override {}
  void OnSequenceStart(const YAML::Mark&, const std::string&, YAML::anchor_t, YAML::EmitterStyle::value) override {}
  void OnSequenceEnd() override {}
  void OnMapStart(const YAML::Mark&, const std::string&, YAML::anchor_t, YAML::EmitterStyle::value) override {}
  void OnMapEnd() override {}
};

bool MoreThanOneDocument(const std::string& text) {
  // A second document needs a '---' or '...' marker at the start of a line.
  bool marker = false;
  for (std::size_t pos = 0; pos < text.size() && !marker;) {
    marker = text.compare(pos, 3, "---") == 0 || text.compare(pos, 3, "...") == 0;
    pos = text.find('\n', pos);
    if (pos == std::string::npos) break;
    ++pos;
  }
  if (!marker) return false;
  std::istringstream in(text);
  YAML::Parser parser(in);
  NullHandler h;
  int docs = 0;
  while (docs < 2 && parser.HandleNextDocument(h)) ++docs;
  return docs > 1;
}

std::string ScalarOrJoin(const YAML::Node& n) {
  if (!n) return {};
  if (n.IsScalar()) return n.Scalar();
  std::string s;
  if (n.IsSequence()) {
    for (const auto& x : n) {
      if (!x.IsScalar()) continue;
      if (!s.empty()) s += ", ";
      s += x.Scalar();
    }
  }
  return s;
}

std::vector<std::string> StringList(const YAML::Node& n) {
  std::vector<std::string> out;
  if (!n) return out;
  if (n.IsScalar()) {
    if (!n.IsNull()) out.push_back(n.Scalar());
  } else if (n.IsSequence()) {
    for (const auto& x : n)
      if (x.IsScalar() && !x.IsNull()) out.push_back(x.Scalar());
  }
  return out;
}

}  // namespace

void Engine::Impl::AddGlobTests(Item& item, const SigmaString& s, std::uint32_t group, bool cased, bool windash) {
  Test t;
  t.kind = Test::Kind::kGlob;
  t.cased = cased;
  t.group = group;
  t.index = static_cast<std::uint32_t>(globs.size());
  globs.push_back(BuildGlob(s, cased, windash));
  item.tests.push_back(t);
}

Try<Item> Engine::Impl::CompileItem(const std::string& key, const YAML::Node& value, const std::string& where) {
  Item item;
  // "Field|mod|mod"
  std::vector<std::string> parts;
  {
    std::size_t start = 0;
    while (true) {
      const std::size_t bar = key.find('|', start);
      parts.push_back(key.substr(start, bar == std::string::npos ? std::string::npos : bar - start));
      if (bar == std::string::npos) break;
      start = bar + 1;
    }
  }
  const std::string field = parts[0];
  item.field = field.empty() ? -1 : Intern(field);
  enum class Match : std::uint8_t { kExact, kContains, kStarts, kEnds } match = Match::kExact;
  bool re = false, cidr = false, exists = false, fieldref = false, cased = false, windash = false;
  bool base64 = false, base64offset = false, re_i = false, re_m = false, re_s = false;
  std::optional<Test::Cmp> cmp;
  enum class Wide : std::uint8_t { kNone, kLe, kBe, kBom } wide = Wide::kNone;
  auto invalid = [&](std::string code, std::string msg) {
    return Refused(RefusalKind::kInvalid, std::move(code), fmt::format("{}: '{}': {}", where, key, msg));
  };
  for (std::size_t i = 1; i < parts.size(); ++i) {
    const std::string m = Lower(parts[i]);
    if (m == "contains" || m == "startswith" || m == "endswith") {
      if (match != Match::kExact) return invalid("modifier conflict", "more than one of contains/startswith/endswith");
      match = m == "contains" ? Match::kContains : m == "startswith" ? Match::kStarts : Match::kEnds;
    } else if (m == "all") {
      item.all = true;
    } else if (m == "re") {
      re = true;
    } else if (m == "i" || m == "m" || m == "s") {
      if (!re) return invalid("modifier conflict", fmt::format("'{}' is a sub-modifier of 're'", m));
      (m == "i" ? re_i : m == "m" ? re_m : re_s) = true;
    } else if (m == "base64") {
      base64 = true;
    } else if (m == "base64offset") {
      base64offset = true;
    } else if (m == "utf16le" || m == "wide" || m == "utf16be" || m == "utf16") {
      if (base64 || base64offset) {
        return Refused(RefusalKind::kUnsupported, "modifier order",
                       fmt::format("{}: '{}': '{}' after base64 (encode first, then base64)", where, key, m));
      }
      wide = m == "utf16be" ? Wide::kBe : m == "utf16" ? Wide::kBom : Wide::kLe;
    } else if (m == "windash") {
      windash = true;
    } else if (m == "cidr") {
      cidr = true;
    } else if (m == "exists") {
      exists = true;
    } else if (m == "gt" || m == "gte" || m == "lt" || m == "lte") {
      cmp = m == "gt" ? Test::Cmp::kGt : m == "gte" ? Test::Cmp::kGte : m == "lt" ? Test::Cmp::kLt : Test::Cmp::kLte;
    } else if (m == "fieldref") {
      fieldref = true;
    } else if (m == "cased") {
      cased = true;
    } else if (m == "expand") {
      return Refused(RefusalKind::kUnsupported, "modifier expand",
                     fmt::format("{}: '{}': modifier 'expand' (placeholders such as %Administrators%) is not "
                                 "supported: there is no placeholder value list",
                                 where, key));
    } else if (m == "neq" || m == "minute" || m == "hour" || m == "day" || m == "week" || m == "month" || m == "year") {
      return Refused(RefusalKind::kUnsupported, "modifier " + m,
                     fmt::format("{}: '{}': modifier '{}' is not supported", where, key, m));
    } else {
      return Refused(RefusalKind::kUnsupported, "unknown modifier",
                     fmt::format("{}: '{}': unknown modifier '{}'", where, key, parts[i]));
    }
  }
  const bool encoded = base64 || base64offset;
  const int kinds = (re ? 1 : 0) + (cidr ? 1 : 0) + (exists ? 1 : 0) + (cmp ? 1 : 0) + (fieldref ? 1 : 0);
  if (kinds > 1) return invalid("modifier conflict", "combines re, cidr, exists, gt/gte/lt/lte or fieldref");
  if ((re || cidr || exists || cmp) && (match != Match::kExact || encoded || windash || wide != Wide::kNone)) {
    return invalid("modifier conflict", "re/cidr/exists/gt/lt take no string transformation or contains/startswith");
  }
  if (fieldref && (encoded || windash || wide != Wide::kNone)) {
    return invalid("modifier conflict", "fieldref takes no encoding modifier");
  }
  if (base64 && base64offset) return invalid("modifier conflict", "both base64 and base64offset");
  if (wide != Wide::kNone && !encoded) {
    return Refused(RefusalKind::kUnsupported, "utf16 without base64",
                   fmt::format("{}: '{}': utf16/wide without base64 would match raw UTF-16 bytes, which event "
                               "fields (decoded text) never hold",
                               where, key));
  }
  if (windash && encoded) {
    return Refused(RefusalKind::kUnsupported, "windash with base64",
                   fmt::format("{}: '{}': windash combined with base64 is not supported", where, key));
  }
  if (item.field < 0 && (exists || fieldref || cmp || cidr)) {
    return invalid("modifier conflict", "exists/fieldref/cidr/gt/lt need a field name");
  }

  // The values.
  std::vector<YAML::Node> values;
  if (value.IsSequence()) {
    for (const auto& v : value) values.push_back(v);
    if (values.empty()) return invalid("empty value list", "empty list of values");
  } else {
    values.push_back(value);
  }
  if (values.size() > kMaxValuesPerRule) {
    return Refused(RefusalKind::kLimit, "too many values",
                   fmt::format("{}: '{}': {} values", where, key, values.size()));
  }
  if (exists) {
    if (values.size() != 1 || !values[0].IsScalar()) return invalid("bad exists value", "exists takes true or false");
    const std::string v = Lower(values[0].Scalar());
    if (v != "true" && v != "false" && v != "yes" && v != "no") {
      return invalid("bad exists value", "exists takes true or false");
    }
    Test t;
    t.kind = Test::Kind::kExists;
    t.want = v == "true" || v == "yes";
    item.tests.push_back(t);
    return item;
  }
  std::uint32_t group = 0;
  for (const YAML::Node& v : values) {
    if (!v.IsScalar() && !v.IsNull()) {
      return invalid("nested value", "a value must be a string, number, boolean or null (not a list or mapping)");
    }
    if (v.IsNull()) {
      if (item.field < 0) return invalid("null keyword", "null is not a keyword");
      Test t;
      t.kind = Test::Kind::kNull;
      t.group = group++;
      item.tests.push_back(t);
      continue;
    }
    const std::string& text = v.Scalar();
    if (text.size() > kMaxValueBytes) {
      return Refused(RefusalKind::kLimit, "value too long",
                     fmt::format("{}: '{}': a value of {} bytes (limit {})", where, key, text.size(), kMaxValueBytes));
    }
    if (re) {
      RegexOptions o;
      o.icase = re_i;
      o.multiline = re_m;
      o.dotall = re_s;
      auto rx = Regex::Compile(text, o);
      if (!rx) {
        const RefusalKind k = rx.error().code == ErrorCode::kUnsupported ? RefusalKind::kUnsupported
                              : rx.error().code == ErrorCode::kLimit     ? RefusalKind::kLimit
                                                                         : RefusalKind::kInvalid;
        return Refused(k,
                       k == RefusalKind::kUnsupported ? "regex feature"
                       : k == RefusalKind::kLimit     ? "regex too large"
                                                      : "regex syntax",
                       fmt::format("{}: '{}': {}", where, key, rx.error().message));
      }
      Test t;
      t.kind = Test::Kind::kRegex;
      t.group = group++;
      t.index = static_cast<std::uint32_t>(regexes.size());
      regexes.push_back(std::move(*rx));
      item.tests.push_back(t);
      continue;
    }
    if (cidr) {
      auto c = ParseCidr(text);
      if (!c) return invalid("bad cidr", fmt::format("'{}' is not an IPv4 or IPv6 network", text));
      Test t;
      t.kind = Test::Kind::kCidr;
      t.group = group++;
      t.index = static_cast<std::uint32_t>(cidrs.size());
      cidrs.push_back(*c);
      item.tests.push_back(t);
      continue;
    }
    if (cmp) {
      auto num = ParseNumber(text);
      if (!num) return invalid("bad number", fmt::format("'{}' is not a number", text));
      Test t;
      t.kind = Test::Kind::kNum;
      t.cmp = *cmp;
      t.num = *num;
      t.group = group++;
      item.tests.push_back(t);
      continue;
    }
    if (fieldref) {
      Test t;
      t.kind = Test::Kind::kFieldRef;
      t.index = static_cast<std::uint32_t>(Intern(text));
      t.ref = match == Match::kContains ? Test::RefMode::kContains
              : match == Match::kStarts ? Test::RefMode::kStarts
              : match == Match::kEnds   ? Test::RefMode::kEnds
                                        : Test::RefMode::kEq;
      t.cased = cased;
      t.group = group++;
      item.tests.push_back(t);
      continue;
    }
    SigmaString s = SigmaString::Parse(text);
    std::vector<SigmaString> variants;
    if (encoded) {
      if (s.HasWildcards()) {
        return Refused(RefusalKind::kUnsupported, "wildcard under base64",
                       fmt::format("{}: '{}': value '{}' has wildcards, which base64 cannot encode", where, key, text));
      }
      std::string plain = s.Plain();
      if (wide != Wide::kNone) plain = Utf16(plain, wide == Wide::kBe, wide == Wide::kBom);
      if (base64) {
        variants.push_back(SigmaString::Literal(Base64(plain)));
      } else {
        for (auto& o : Base64Offsets(plain)) variants.push_back(SigmaString::Literal(std::move(o)));
      }
      if (variants.empty()) return invalid("empty value", "base64offset of an empty value");
    } else {
      variants.push_back(std::move(s));
    }
    for (auto& var : variants) {
      if (match == Match::kContains || match == Match::kEnds) var.StarFront();
      if (match == Match::kContains || match == Match::kStarts) var.StarBack();
      if (item.field < 0) {  // keywords: anywhere in a value
        var.StarFront();
        var.StarBack();
      }
      AddGlobTests(item, var, group, cased, windash);
    }
    ++group;
  }
  return item;
}

Try<Selection> Engine::Impl::CompileSelection(const std::string& name, const YAML::Node& n, const std::string& file) {
  Selection sel;
  sel.name = name;
  const std::string where = fmt::format("{}: detection.{}", Where(file, n.Mark()), name);
  auto add_map = [&](const YAML::Node& m) -> Try<void> {
    Group g;
    for (auto kv = m.begin(); kv != m.end(); ++kv) {
      if (!kv->first.IsScalar()) {
        return Refused(RefusalKind::kInvalid, "bad field name", where + ": a field name must be a string");
      }
      auto item = CompileItem(kv->first.Scalar(), kv->second,
                              fmt::format("{}: detection.{}", Where(file, kv->first.Mark()), name));
      if (!item) return std::unexpected(item.error());
      g.items.push_back(std::move(*item));
    }
    if (g.items.empty()) return Refused(RefusalKind::kInvalid, "empty selection", where + ": empty mapping");
    sel.groups.push_back(std::move(g));
    return {};
  };
  if (n.IsMap()) {
    auto r = add_map(n);
    if (!r) return std::unexpected(r.error());
  } else if (n.IsSequence()) {
    YAML::Node keywords(YAML::NodeType::Sequence);
    for (const auto& x : n) {
      if (x.IsMap()) {
        auto r = add_map(x);
        if (!r) return std::unexpected(r.error());
      } else if (x.IsScalar()) {
        keywords.push_back(x);
      } else {
        return Refused(
            RefusalKind::kInvalid, "nested list",
            fmt::format("{}: detection.{}: a list holds strings (keywords) or mappings", Where(file, x.Mark()), name));
      }
    }
    if (keywords.size() > 0) {
      auto item = CompileItem("", keywords, where);
      if (!item) return std::unexpected(item.error());
      Group g;
      g.items.push_back(std::move(*item));
      sel.groups.push_back(std::move(g));
    }
    if (sel.groups.empty()) return Refused(RefusalKind::kInvalid, "empty selection", where + ": empty list");
  } else if (n.IsScalar()) {
    auto item = CompileItem("", n, where);
    if (!item) return std::unexpected(item.error());
    Group g;
    g.items.push_back(std::move(*item));
    sel.groups.push_back(std::move(g));
  } else {
    return Refused(RefusalKind::kInvalid, "empty selection", where + ": empty search identifier");
  }
  return sel;
}

Try<CompiledRule> Engine::Impl::Compile(const YAML::Node& root, const std::string& file) {
  CompiledRule r;
  RuleInfo& info = r.info;
  info.file = file;
  const YAML::Node title = root["title"];
  if (!title || !title.IsScalar() || title.Scalar().empty()) {
    return Refused(RefusalKind::kInvalid, "missing title", Where(file, root.Mark()) + ": missing 'title'");
  }
  info.title = title.Scalar();
  info.id = ScalarOrJoin(root["id"]);
  info.status = ScalarOrJoin(root["status"]);
  info.level = ScalarOrJoin(root["level"]);
  info.author = ScalarOrJoin(root["author"]);
  info.description = ScalarOrJoin(root["description"]);
  info.date = ScalarOrJoin(root["date"]);
  info.modified = ScalarOrJoin(root["modified"]);
  info.references = StringList(root["references"]);
  info.tags = StringList(root["tags"]);
  info.fields = StringList(root["fields"]);
  info.falsepositives = StringList(root["falsepositives"]);
  const YAML::Node ls = root["logsource"];
  if (!ls || !ls.IsMap()) {
    return Refused(RefusalKind::kInvalid, "missing logsource",
                   Where(file, ls ? ls.Mark() : root.Mark()) + ": 'logsource' must be a mapping");
  }
  for (auto kv = ls.begin(); kv != ls.end(); ++kv) {
    const std::string k = kv->first.Scalar();
    if (k != "category" && k != "product" && k != "service") continue;
    if (!kv->second.IsScalar()) {
      return Refused(RefusalKind::kInvalid, "bad logsource",
                     fmt::format("{}: logsource.{}: must be a string", Where(file, kv->second.Mark()), k));
    }
    (k == "category"  ? info.logsource.category
     : k == "product" ? info.logsource.product
                      : info.logsource.service) = Lower(kv->second.Scalar());
  }
  const YAML::Node det = root["detection"];
  if (!det || !det.IsMap()) {
    return Refused(RefusalKind::kInvalid, "missing detection",
                   Where(file, det ? det.Mark() : root.Mark()) + ": 'detection' must be a mapping");
  }
  if (det["timeframe"]) {
    return Refused(RefusalKind::kUnsupported, "timeframe",
                   Where(file, det["timeframe"].Mark()) +
                       ": detection.timeframe (an aggregation window) is not supported: write a correlation rule");
  }
  const YAML::Node cond = det["condition"];
  if (!cond) return Refused(RefusalKind::kInvalid, "missing condition", Where(file, det.Mark()) + ": no condition");
  std::vector<std::string> conds;
  if (cond.IsScalar() && !cond.IsNull()) {
    conds.push_back(cond.Scalar());
  } else if (cond.IsSequence() && cond.size() > 0) {
    for (const auto& c : cond) {
      if (!c.IsScalar() || c.IsNull()) {
        return Refused(RefusalKind::kInvalid, "bad condition", Where(file, c.Mark()) + ": a condition is a string");
      }
      conds.push_back(c.Scalar());
    }
  } else {
    return Refused(RefusalKind::kInvalid, "bad condition",
                   Where(file, cond.Mark()) + ": condition must be a string or a list of strings");
  }
  const std::size_t regexes_before = regexes.size(), globs_before = globs.size();
  for (auto kv = det.begin(); kv != det.end(); ++kv) {
    const std::string name = kv->first.Scalar();
    if (name == "condition") continue;
    if (r.sels.size() >= kMaxSelections) {
      return Refused(RefusalKind::kLimit, "too many selections",
                     fmt::format("{}: more than {} search identifiers", Where(file, det.Mark()), kMaxSelections));
    }
    auto sel = CompileSelection(name, kv->second, file);
    if (!sel) return std::unexpected(sel.error());
    r.sels.push_back(std::move(*sel));
    if (globs.size() - globs_before + regexes.size() - regexes_before > kMaxValuesPerRule) {
      return Refused(RefusalKind::kLimit, "too many values",
                     fmt::format("{}: more than {} values", Where(file, det.Mark()), kMaxValuesPerRule));
    }
  }
  if (regexes.size() - regexes_before > kMaxRegexesPerRule) {
    return Refused(RefusalKind::kLimit, "too many regexes",
                   fmt::format("{}: more than {} regular expressions", Where(file, det.Mark()), kMaxRegexesPerRule));
  }
  std::vector<int> roots;
  for (const auto& c : conds) {
    const std::string where = Where(file, cond.Mark()) + ": detection.condition";
    if (c.size() > kMaxConditionBytes) {
      return Refused(RefusalKind::kLimit, "condition too long",
                     fmt::format("{}: {} bytes (limit {})", where, c.size(), kMaxConditionBytes));
    }
    CondParser p{c, r.sels, r.cond, where, 0, std::nullopt};
    const int root_node = p.ParseOr(0);
    if (p.err) return std::unexpected(*p.err);
    if (!p.PeekToken().empty()) {
      const std::string_view rest = p.PeekToken();
      if (rest == "|") {
        return Refused(RefusalKind::kUnsupported, "aggregation",
                       fmt::format("{}: '{}': aggregation expressions ('| count() ...') are not supported "
                                   "(deprecated in Sigma 2: write a correlation rule)",
                                   where, c));
      }
      if (CondParser::Is(rest, "near")) {
        return Refused(RefusalKind::kUnsupported, "near",
                       fmt::format("{}: '{}': the 'near' operator is not supported", where, c));
      }
      return Refused(RefusalKind::kInvalid, "condition syntax",
                     fmt::format("{}: '{}': unexpected '{}'", where, c, rest));
    }
    roots.push_back(root_node);
  }
  if (roots.size() == 1) {
    r.root = roots[0];
  } else {
    CondNode n;
    n.kind = CondNode::Kind::kOr;
    n.kids = roots;
    r.cond.push_back(std::move(n));
    r.root = static_cast<int>(r.cond.size() - 1);
  }
  return r;
}

Try<std::vector<std::uint32_t>> Engine::Impl::BindLogSource(const LogSource& ls) {
  const std::string key = ls.product + '\x1f' + ls.category + '\x1f' + ls.service;
  if (auto it = binding_cache.find(key); it != binding_cache.end()) {
    if (!it->second) return Refused(RefusalKind::kLogSource, "no log-source mapping", it->second.error());
    return *it->second;
  }
  auto resolved = map.Resolve(ls);
  std::vector<LogSourceMap::Binding> list;
  if (resolved) {
    list = std::move(*resolved);
  } else if (options.require_logsource) {
    binding_cache[key] = std::unexpected(resolved.error());
    return Refused(RefusalKind::kLogSource, "no log-source mapping", resolved.error());
  } else {
    list.emplace_back();  // every event
    list.back().name = "(any)";
  }
  std::vector<std::uint32_t> ids;
  for (const auto& b : list) {
    Binding cb;
    for (const auto& c : b.channels) cb.channels.push_back(Lower(c));
    for (const auto& c : b.conditions) {
      Item item;
      item.field = Intern(c.field);
      std::uint32_t group = 0;
      const bool is_event_id = core::EqualsIgnoreCaseAscii(c.field, "EventID");
      for (const auto& v : c.values) {
        if (is_event_id) {
          std::uint32_t id = 0;
          auto [ptr, ec] = std::from_chars(v.data(), v.data() + v.size(), id);
          if (ec == std::errc() && ptr == v.data() + v.size()) cb.event_ids.push_back(id);
        }
        AddGlobTests(item, SigmaString::Literal(v), group++, false, false);
      }
      cb.conditions.items.push_back(std::move(item));
    }
    std::sort(cb.event_ids.begin(), cb.event_ids.end());
    for (const auto& rn : b.renames) {
      std::vector<int> to;
      for (const auto& f : rn.event_fields) to.push_back(Intern(f));
      cb.renames.emplace_back(Intern(rn.sigma_field), std::move(to));
    }
    ids.push_back(static_cast<std::uint32_t>(bindings.size()));
    bindings.push_back(std::move(cb));
  }
  binding_cache[key] = ids;
  return ids;
}

void Engine::Impl::Index(std::uint32_t rule) {
  for (std::uint32_t b : rules[rule].bindings) {
    const Binding& bd = bindings[b];
    if (bd.channels.empty()) {
      any_channel.push_back({rule, b});
    } else {
      for (const auto& ch : bd.channels) {
        auto it = by_channel.find(ch);
        if (it == by_channel.end()) it = by_channel.emplace(ch, std::vector<Entry>{}).first;
        auto& v = it->second;
        if (v.empty() || v.back().rule != rule || v.back().binding != b) v.push_back({rule, b});
      }
    }
  }
}

std::expected<std::size_t, Refusal> Engine::Impl::Add(std::string_view yaml, const std::string& file) {
  Refusal ref;
  ref.file = file;
  auto refuse = [&](RefusalKind kind, std::string code, std::string reason) -> std::unexpected<Refusal> {
    ref.kind = kind;
    ref.code = std::move(code);
    ref.reason = std::move(reason);
    refusals.push_back(ref);
    return std::unexpected(ref);
  };
  if (yaml.size() > options.max_rule_bytes) {
    return refuse(RefusalKind::kLimit, "file too large",
                  fmt::format("{}: {} bytes (limit {})", file, yaml.size(), options.max_rule_bytes));
  }
  const std::size_t globs_before = globs.size(), regexes_before = regexes.size(), cidrs_before = cidrs.size();
  auto rollback = [&] {
    globs.resize(globs_before);
    regexes.erase(regexes.begin() + static_cast<std::ptrdiff_t>(regexes_before), regexes.end());
    cidrs.resize(cidrs_before);
  };
  try {
    const std::string text(yaml);
    const YAML::Node root = YAML::Load(text);  // the first document only
    if (!root || root.IsNull()) return refuse(RefusalKind::kInvalid, "empty file", file + ": empty");
    if (root.IsMap()) {
      if (root["id"] && root["id"].IsScalar()) ref.id = root["id"].Scalar();
      if (root["title"] && root["title"].IsScalar()) ref.title = root["title"].Scalar();
    }
    if (MoreThanOneDocument(text)) {
      return refuse(RefusalKind::kUnsupported, "rule collection",
                    fmt::format("{}: several YAML documents: rule collections (action: global/repeat) are not "
                                "supported",
                                file));
    }
    if (!root.IsMap())
      return refuse(RefusalKind::kInvalid, "not a mapping", Where(file, root.Mark()) + ": not a mapping");
    if (root["correlation"]) {
      return refuse(RefusalKind::kUnsupported, "correlation rule",
                    Where(file, root["correlation"].Mark()) +
                        ": correlation rules (event counts, temporal proximity across events) are not supported");
    }
    if (root["filter"] && !root["detection"]) {
      return refuse(RefusalKind::kUnsupported, "filter rule",
                    Where(file, root["filter"].Mark()) + ": Sigma filter documents are not supported");
    }
    if (root["action"]) {
      return refuse(RefusalKind::kUnsupported, "rule collection",
                    Where(file, root["action"].Mark()) + ": rule collections (action:) are not supported");
    }
    auto compiled = Compile(root, file);
    if (!compiled) {
      rollback();
      return refuse(compiled.error().kind, compiled.error().code, compiled.error().reason);
    }
    auto b = BindLogSource(compiled->info.logsource);
    if (!b) {
      rollback();
      return refuse(b.error().kind, b.error().code,
                    fmt::format("{}: logsource: {}", Where(file, root["logsource"].Mark()), b.error().reason));
    }
    compiled->bindings = std::move(*b);
    rules.push_back(std::move(*compiled));
  } catch (const YAML::Exception& e) {
    rollback();
    return refuse(RefusalKind::kInvalid, "yaml",
                  fmt::format("{}:{}:{}: {}", file, e.mark.line + 1, e.mark.column + 1, e.msg));
  } catch (const std::exception& e) {  // bad_alloc and the like from hostile sizes
    rollback();
    return refuse(RefusalKind::kLimit, "exception", fmt::format("{}: {}", file, e.what()));
  }
  Index(static_cast<std::uint32_t>(rules.size() - 1));
  return rules.size() - 1;
}

Engine::Engine(LogSourceMap map, EngineOptions options) : impl_(std::make_unique<Impl>(std::move(map), options)) {}
Engine::~Engine() = default;
Engine::Engine(Engine&&) noexcept = default;
Engine& Engine::operator=(Engine&&) noexcept = default;

std::expected<std::size_t, Refusal> Engine::AddRule(std::string_view yaml, const std::string& file) {
  AddFingerprint(file);
  AddFingerprint(yaml);
  return impl_->Add(yaml, file);
}

void Engine::AddFingerprint(std::string_view text) {
  // A digest per input keeps the boundaries: ("ab", "c") differs from ("a", "bc").
  impl_->fingerprint_input += core::Sha256Hex(core::AsBytes(text));
}

std::string Engine::fingerprint() const { return core::Sha256Hex(core::AsBytes(impl_->fingerprint_input)); }

Result<void> Engine::AddRuleDir(const std::filesystem::path& dir) {
  std::error_code ec;
  if (!std::filesystem::is_directory(dir, ec)) {
    return Fail(ErrorCode::kNotFound, fmt::format("{}: not a directory", dir.string()));
  }
  std::vector<std::filesystem::path> files;
  for (auto it = std::filesystem::recursive_directory_iterator(dir, ec);
       !ec && it != std::filesystem::recursive_directory_iterator(); it.increment(ec)) {
    if (it.depth() > 16) it.disable_recursion_pending();
    const auto ext = it->path().extension();
    if (it->is_regular_file(ec) && (ext == ".yml" || ext == ".yaml")) files.push_back(it->path());
  }
  if (ec) return Fail(ErrorCode::kIo, fmt::format("{}: {}", dir.string(), ec.message()));
  std::sort(files.begin(), files.end());
  for (const auto& p : files) {
    auto text = core::ReadFileText(p, impl_->options.max_rule_bytes);
    if (!text) {
      Refusal r;
      r.file = p.string();
      r.kind = text.error().code == ErrorCode::kLimit ? RefusalKind::kLimit : RefusalKind::kInvalid;
      r.code = "unreadable file";
      r.reason = text.error().message;
      impl_->refusals.push_back(std::move(r));
      continue;
    }
    (void)impl_->Add(*text, p.string());
  }
  return {};
}

std::size_t Engine::size() const { return impl_->rules.size(); }
const RuleInfo& Engine::rule(std::size_t index) const { return impl_->rules.at(index).info; }
const std::vector<Refusal>& Engine::refusals() const { return impl_->refusals; }

// ---------------------------------------------------------------------------
// Evaluation.

struct Evaluator::State {
  const Engine::Impl& e;
  struct Val {
    std::string_view raw;
    std::uint32_t foff = 0, flen = 0;
    int next = -1;
    bool system = false;
  };
  std::vector<Val> vals;
  std::vector<int> head;
  std::vector<int> touched;
  std::string folded;
  std::string name_buf;
  std::string channel_buf;
  char id_buf[16] = {};
  std::optional<std::uint32_t> event_id;
  std::vector<std::uint32_t> rule_stamp;
  std::vector<std::uint32_t> bind_stamp;
  std::vector<std::uint8_t> bind_ok;
  std::uint32_t stamp = 0;
  std::vector<std::size_t> out;
  const Binding* binding = nullptr;

  explicit State(const Engine::Impl& impl) : e(impl) {}

  std::string_view Folded(const Val& v) const { return std::string_view(folded).substr(v.foff, v.flen); }

  void Push(int id, std::string_view raw, bool system) {
    Val v;
    v.raw = raw;
    v.system = system;
    v.foff = static_cast<std::uint32_t>(folded.size());
    v.flen = static_cast<std::uint32_t>(raw.size());
    folded.append(raw.data(), raw.size());
    // Fold in place (FoldUtf8 keeps lengths).
    for (std::size_t i = v.foff; i < folded.size();) {
      const auto b = static_cast<unsigned char>(folded[i]);
      if (b < 0x80) {
        if (b >= 'A' && b <= 'Z') folded[i] = static_cast<char>(b + 32);
        ++i;
        continue;
      }
      std::size_t len = 1;
      const std::uint32_t cp = DecodeUtf8At(folded, i, &len);
      if (len == 2) {
        const std::uint32_t f = FoldCodePoint(cp);
        if (f != cp && f >= 0x80 && f < 0x800) {
          folded[i] = static_cast<char>(0xC0 | (f >> 6));
          folded[i + 1] = static_cast<char>(0x80 | (f & 0x3F));
        }
      }
      i += len;
    }
    const int idx = static_cast<int>(vals.size());
    if (id >= 0) {
      v.next = head[static_cast<std::size_t>(id)];
      if (v.next < 0) touched.push_back(id);
      head[static_cast<std::size_t>(id)] = idx;
    }
    vals.push_back(v);
  }

  void Prepare(const Event& ev) {
    for (int id : touched) head[static_cast<std::size_t>(id)] = -1;
    touched.clear();
    vals.clear();
    folded.clear();
    if (head.size() < e.field_ids.size()) head.resize(e.field_ids.size(), -1);
    if (rule_stamp.size() < e.rules.size()) rule_stamp.resize(e.rules.size(), 0);
    if (bind_stamp.size() < e.bindings.size()) {
      bind_stamp.resize(e.bindings.size(), 0);
      bind_ok.resize(e.bindings.size(), 0);
    }
    ++stamp;
    event_id = ev.event_id;
    if (ev.event_id) {
      auto [ptr, ec] = std::to_chars(id_buf, id_buf + sizeof(id_buf), *ev.event_id);
      (void)ec;
      Push(kFieldEventId, std::string_view(id_buf, static_cast<std::size_t>(ptr - id_buf)), true);
    }
    if (!ev.channel.empty()) Push(kFieldChannel, ev.channel, true);
    if (!ev.provider.empty()) Push(kFieldProvider, ev.provider, true);
    if (!ev.computer.empty()) Push(kFieldComputer, ev.computer, true);
    for (const auto& f : ev.fields) {
      name_buf.assign(f.name.data(), f.name.size());
      for (auto& c : name_buf)
        if (c >= 'A' && c <= 'Z') c = static_cast<char>(c + 32);
      auto it = e.field_ids.find(std::string_view(name_buf));
      Push(it == e.field_ids.end() ? -1 : it->second, f.value, false);
    }
    channel_buf.assign(ev.channel.data(), ev.channel.size());
    for (auto& c : channel_buf)
      if (c >= 'A' && c <= 'Z') c = static_cast<char>(c + 32);
  }

  int Lookup(int id) const {
    if (binding != nullptr) {
      for (const auto& [from, tos] : binding->renames) {
        if (from != id) continue;
        for (int to : tos) {
          if (head[static_cast<std::size_t>(to)] >= 0) return head[static_cast<std::size_t>(to)];
        }
        return -1;
      }
    }
    return head[static_cast<std::size_t>(id)];
  }

  bool TestVal(const Test& t, const Val& v) const {
    switch (t.kind) {
      case Test::Kind::kGlob: return e.globs[t.index].Match(t.cased ? v.raw : Folded(v));
      case Test::Kind::kRegex: return e.regexes[t.index].Search(v.raw);
      case Test::Kind::kCidr: return e.cidrs[t.index].Contains(v.raw);
      case Test::Kind::kNum: {
        const auto n = ParseNumber(v.raw);
        if (!n) return false;
        switch (t.cmp) {
          case Test::Cmp::kGt: return *n > t.num;
          case Test::Cmp::kGte: return *n >= t.num;
          case Test::Cmp::kLt: return *n < t.num;
          case Test::Cmp::kLte: return *n <= t.num;
        }
        return false;
      }
      case Test::Kind::kFieldRef: {
        const std::string_view a = t.cased ? v.raw : Folded(v);
        for (int j = Lookup(static_cast<int>(t.index)); j >= 0; j = vals[static_cast<std::size_t>(j)].next) {
          const Val& o = vals[static_cast<std::size_t>(j)];
          const std::string_view b = t.cased ? o.raw : Folded(o);
          switch (t.ref) {
            case Test::RefMode::kEq:
              if (a == b) return true;
              break;
            case Test::RefMode::kContains:
              if (a.find(b) != std::string_view::npos) return true;
              break;
            case Test::RefMode::kStarts:
              if (a.starts_with(b)) return true;
              break;
            case Test::RefMode::kEnds:
              if (a.ends_with(b)) return true;
              break;
          }
        }
        return false;
      }
      case Test::Kind::kExists:
      case Test::Kind::kNull: return false;
    }
    return false;
  }

  bool TestField(const Test& t, int first) const {
    switch (t.kind) {
      case Test::Kind::kExists: return (first >= 0) == t.want;
      case Test::Kind::kNull:
        for (int i = first; i >= 0; i = vals[static_cast<std::size_t>(i)].next) {
          if (!vals[static_cast<std::size_t>(i)].raw.empty()) return false;
        }
        return true;
      default:
        for (int i = first; i >= 0; i = vals[static_cast<std::size_t>(i)].next) {
          if (TestVal(t, vals[static_cast<std::size_t>(i)])) return true;
        }
        return false;
    }
  }

  bool TestKeyword(const Test& t) const {
    for (const Val& v : vals) {
      if (!v.system && TestVal(t, v)) return true;
    }
    return false;
  }

  bool EvalItem(const Item& item) const {
    const int first = item.field >= 0 ? Lookup(item.field) : -1;
    auto test = [&](const Test& t) { return item.field >= 0 ? TestField(t, first) : TestKeyword(t); };
    if (!item.all) {
      for (const Test& t : item.tests)
        if (test(t)) return true;
      return false;
    }
    // all: every value (group of variants) must match.
    std::size_t i = 0;
    while (i < item.tests.size()) {
      const std::uint32_t g = item.tests[i].group;
      bool ok = false;
      for (; i < item.tests.size() && item.tests[i].group == g; ++i) {
        if (!ok && test(item.tests[i])) ok = true;
      }
      if (!ok) return false;
    }
    return true;
  }

  bool EvalGroup(const Group& g) const {
    for (const Item& it : g.items)
      if (!EvalItem(it)) return false;
    return true;
  }

  bool EvalSel(const Selection& s) const {
    for (const Group& g : s.groups)
      if (EvalGroup(g)) return true;
    return false;
  }

  bool EvalNode(const CompiledRule& r, int idx) const {
    const CondNode& n = r.cond[static_cast<std::size_t>(idx)];
    switch (n.kind) {
      case CondNode::Kind::kSel: return EvalSel(r.sels[static_cast<std::size_t>(n.sel)]);
      case CondNode::Kind::kNot: return !EvalNode(r, n.kids[0]);
      case CondNode::Kind::kAnd:
        for (int k : n.kids)
          if (!EvalNode(r, k)) return false;
        return true;
      case CondNode::Kind::kOr:
        for (int k : n.kids)
          if (EvalNode(r, k)) return true;
        return false;
      case CondNode::Kind::kOf: {
        std::uint32_t hits = 0;
        for (std::size_t i = 0; i < n.kids.size(); ++i) {
          if (EvalSel(r.sels[static_cast<std::size_t>(n.kids[i])]) && ++hits >= n.need) return true;
          if (hits + (n.kids.size() - i - 1) < n.need) return false;
        }
        return hits >= n.need;
      }
    }
    return false;
  }

  bool BindingOk(std::uint32_t bi) {
    if (bind_stamp[bi] == stamp) return bind_ok[bi] != 0;
    const Binding& b = e.bindings[bi];
    bool ok = true;
    if (!b.event_ids.empty()) ok = event_id && std::binary_search(b.event_ids.begin(), b.event_ids.end(), *event_id);
    if (ok && !b.channels.empty())
      ok = std::find(b.channels.begin(), b.channels.end(), channel_buf) != b.channels.end();
    if (ok) {
      binding = nullptr;
      ok = EvalGroup(b.conditions);
    }
    bind_stamp[bi] = stamp;
    bind_ok[bi] = ok ? 1 : 0;
    return ok;
  }

  bool EvalRule(std::uint32_t rule, std::uint32_t bi) {
    if (!BindingOk(bi)) return false;
    const CompiledRule& r = e.rules[rule];
    binding = &e.bindings[bi];
    if (binding->renames.empty()) binding = nullptr;
    const bool hit = EvalNode(r, r.root);
    binding = nullptr;
    return hit;
  }
};

Evaluator::Evaluator(const Engine& engine) : s_(std::make_unique<State>(*engine.impl_)) {}
Evaluator::~Evaluator() = default;

const std::vector<std::size_t>& Evaluator::Match(const Event& event) {
  State& s = *s_;
  s.Prepare(event);
  s.out.clear();
  auto consider = [&](const Engine::Impl::Entry& en) {
    if (s.rule_stamp[en.rule] == s.stamp) return;
    if (s.EvalRule(en.rule, en.binding)) {
      s.rule_stamp[en.rule] = s.stamp;
      s.out.push_back(en.rule);
    }
  };
  if (auto it = s.e.by_channel.find(std::string_view(s.channel_buf)); it != s.e.by_channel.end()) {
    for (const auto& en : it->second) consider(en);
  }
  for (const auto& en : s.e.any_channel) consider(en);
  std::sort(s.out.begin(), s.out.end());
  return s.out;
}

bool Evaluator::MatchRule(std::size_t rule, const Event& event) {
  State& s = *s_;
  s.Prepare(event);
  for (std::uint32_t b : s.e.rules.at(rule).bindings) {
    if (s.EvalRule(static_cast<std::uint32_t>(rule), b)) return true;
  }
  return false;
}

}  // namespace trawl::triage::sigma
