// SPDX-License-Identifier: Apache-2.0
#include "triage/sigma_regex.h"

#include <algorithm>
#include <cstdint>
#include <utility>

#include <fmt/format.h>

#include "core/util/text.h"

namespace trawl::triage::sigma {

using core::ErrorCode;
using core::Fail;
using core::Result;

namespace {

constexpr std::uint32_t kNone = 0xFFFFFFFFu;  // no character (before the start, past the end)
constexpr std::uint32_t kMaxCp = 0x10FFFF;
constexpr std::uint32_t kInvalidBase = 0x110000;  // invalid byte b decodes as kInvalidBase + b
constexpr int kMaxDepth = 100;
constexpr std::uint32_t kMaxRepeat = 1000;

bool IsWordCp(std::uint32_t c) {
  return c != kNone && ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_');
}

}  // namespace

std::uint32_t FoldCodePoint(std::uint32_t c) {
  if (c < 0x80) return (c >= 'A' && c <= 'Z') ? c + 32 : c;
  if (c >= 0xC0 && c <= 0xDE && c != 0xD7) return c + 32;  // Latin-1 capitals (not the multiplication sign)
  if (c >= 0x100 && c <= 0x137) return c | 1;              // Latin Extended-A pairs
  if (c >= 0x139 && c <= 0x148) return (c & 1) ? c + 1 : c;
  if (c >= 0x14A && c <= 0x177) return c | 1;
  if (c == 0x178) return 0xFF;
  if (c >= 0x179 && c <= 0x17E) return (c & 1) ? c + 1 : c;
  if (c >= 0x391 && c <= 0x3AB && c != 0x3A2) return c + 32;  // Greek capitals
  if (c >= 0x410 && c <= 0x42F) return c + 32;                // Cyrillic А..Я
  if (c >= 0x400 && c <= 0x40F) return c + 80;                // Cyrillic Ѐ..Џ
  return c;
}

std::uint32_t UpperCodePoint(std::uint32_t c) {
  if (c < 0x80) return (c >= 'a' && c <= 'z') ? c - 32 : c;
  if (c >= 0xE0 && c <= 0xFE && c != 0xF7) return c - 32;
  if (c == 0xFF) return 0x178;
  if (c >= 0x100 && c <= 0x137) return c & ~1u;
  if (c >= 0x139 && c <= 0x148) return (c & 1) ? c : c - 1;
  if (c >= 0x14A && c <= 0x177) return c & ~1u;
  if (c >= 0x179 && c <= 0x17E) return (c & 1) ? c : c - 1;
  if (c >= 0x3B1 && c <= 0x3CB && c != 0x3C2) return c - 32;
  if (c >= 0x430 && c <= 0x44F) return c - 32;
  if (c >= 0x450 && c <= 0x45F) return c - 80;
  return c;
}

std::uint32_t DecodeUtf8At(std::string_view s, std::size_t pos, std::size_t* len) {
  const auto b0 = static_cast<unsigned char>(s[pos]);
  *len = 1;
  if (b0 < 0x80) return b0;
  int need = 0;
  std::uint32_t cp = 0;
  if (b0 >= 0xC2 && b0 <= 0xDF) {
    need = 1;
    cp = b0 & 0x1Fu;
  } else if (b0 >= 0xE0 && b0 <= 0xEF) {
    need = 2;
    cp = b0 & 0x0Fu;
  } else if (b0 >= 0xF0 && b0 <= 0xF4) {
    need = 3;
    cp = b0 & 0x07u;
  } else {
    return kInvalidBase + b0;
  }
  if (pos + static_cast<std::size_t>(need) >= s.size()) return kInvalidBase + b0;
  for (int i = 1; i <= need; ++i) {
    const auto b = static_cast<unsigned char>(s[pos + static_cast<std::size_t>(i)]);
    if ((b & 0xC0) != 0x80) return kInvalidBase + b0;
    cp = (cp << 6) | (b & 0x3Fu);
  }
  // Overlong 3/4-byte forms, surrogates and values past U+10FFFF are invalid.
  if ((need == 2 && (cp < 0x800 || (cp >= 0xD800 && cp <= 0xDFFF))) || (need == 3 && (cp < 0x10000 || cp > kMaxCp))) {
    return kInvalidBase + b0;
  }
  *len = static_cast<std::size_t>(need) + 1;
  return cp;
}

void FoldUtf8(std::string_view in, std::string& out) {
  out.assign(in.data(), in.size());
  for (std::size_t i = 0; i < out.size();) {
    const auto b = static_cast<unsigned char>(out[i]);
    if (b < 0x80) {
      if (b >= 'A' && b <= 'Z') out[i] = static_cast<char>(b + 32);
      ++i;
      continue;
    }
    std::size_t len = 1;
    const std::uint32_t cp = DecodeUtf8At(out, i, &len);
    if (len == 2) {
      const std::uint32_t f = FoldCodePoint(cp);
      if (f != cp && f >= 0x80 && f < 0x800) {
        out[i] = static_cast<char>(0xC0 | (f >> 6));
        out[i + 1] = static_cast<char>(0x80 | (f & 0x3F));
      }
    }
    i += len;
  }
}

// ---------------------------------------------------------------------------
// Parser: pattern -> AST; compiler: AST -> program.

class RegexCompiler {
 public:
  RegexCompiler(std::string_view pattern, const RegexOptions& opts) : p_(pattern), opts_(opts) {}

  Result<Regex> Run() {
    if (p_.size() > opts_.max_pattern) {
      return Fail(ErrorCode::kLimit,
                  fmt::format("regular expression of {} bytes (limit {})", p_.size(), opts_.max_pattern));
    }
    Flags f{opts_.icase, opts_.multiline, opts_.dotall};
    const int root = ParseAlt(f, 0);
    if (!err_.empty()) return Fail(err_code_, err_);
    if (pos_ < p_.size()) return Fail(ErrorCode::kFormat, fmt::format("regex offset {}: unmatched ')'", pos_));
    // Program: the root, then kMatch.
    Emit(root, 0);
    Push(Regex::Inst{Regex::Op::kMatch});
    if (!err_.empty()) return Fail(err_code_, err_);
    re_.start_ = 0;
    re_.anchored_start_ = StartsAnchored(root);
    re_.min_chars_ = MinChars(root, 0);
    re_.required_ = RequiredLiteral(root);
    return std::move(re_);
  }

 private:
  struct Flags {
    bool i, m, s;
  };
  enum class K : std::uint8_t { kEmpty, kLit, kClass, kAny, kAssert, kConcat, kAlt, kRepeat };
  struct Node {
    K kind = K::kEmpty;
    bool icase = false;
    bool dotall = false;
    Regex::Assert assert_kind = Regex::Assert::kBol;
    std::uint32_t cp = 0;            // kLit; kClass: class index
    std::uint32_t min = 0, max = 0;  // kRepeat; max kInf = unbounded
    std::vector<int> kids;
  };
  static constexpr std::uint32_t kInf = 0xFFFFFFFFu;

  std::string_view p_;
  RegexOptions opts_;
  std::size_t pos_ = 0;
  std::vector<Node> nodes_;
  Regex re_;
  std::string err_;
  ErrorCode err_code_ = ErrorCode::kFormat;

  int Error(ErrorCode code, std::string msg) {
    if (err_.empty()) {
      err_code_ = code;
      err_ = fmt::format("regex offset {}: {}", pos_, msg);
    }
    return -1;
  }
  int Add(Node n) {
    nodes_.push_back(std::move(n));
    return static_cast<int>(nodes_.size() - 1);
  }
  bool AtEnd() const { return pos_ >= p_.size(); }
  char Peek() const { return p_[pos_]; }
  std::uint32_t NextCp() {
    std::size_t len = 1;
    const std::uint32_t cp = DecodeUtf8At(p_, pos_, &len);
    pos_ += len;
    return cp;
  }

  int ParseAlt(Flags& f, int depth) {
    if (depth > kMaxDepth) return Error(ErrorCode::kLimit, "groups nested too deeply");
    std::vector<int> alts;
    alts.push_back(ParseConcat(f, depth));
    while (err_.empty() && !AtEnd() && Peek() == '|') {
      ++pos_;
      alts.push_back(ParseConcat(f, depth));
    }
    if (!err_.empty()) return -1;
    if (alts.size() == 1) return alts[0];
    Node n;
    n.kind = K::kAlt;
    n.kids = std::move(alts);
    return Add(std::move(n));
  }

  int ParseConcat(Flags& f, int depth) {
    Node n;
    n.kind = K::kConcat;
    while (err_.empty() && !AtEnd() && Peek() != '|' && Peek() != ')') {
      const int atom = ParseRepeat(f, depth);
      if (atom == -2) continue;  // a flag group (?i) or a comment: nothing to match
      if (atom < 0) return -1;
      n.kids.push_back(atom);
    }
    if (!err_.empty()) return -1;
    if (n.kids.size() == 1) return n.kids[0];
    return Add(std::move(n));
  }

  bool ParseCount(std::uint32_t* out) {
    std::uint64_t v = 0;
    const std::size_t start = pos_;
    while (!AtEnd() && Peek() >= '0' && Peek() <= '9') {
      v = v * 10 + static_cast<std::uint64_t>(Peek() - '0');
      if (v > 1000000) v = 1000000;
      ++pos_;
    }
    *out = static_cast<std::uint32_t>(v);
    return pos_ > start;
  }

  int ParseRepeat(Flags& f, int depth) {
    int atom = ParseAtom(f, depth);
    if (atom < 0) return atom;
    while (!AtEnd()) {
      std::uint32_t mn = 0, mx = 0;
      const char c = Peek();
      const std::size_t save = pos_;
      if (c == '*') {
        mn = 0, mx = kInf, ++pos_;
      } else if (c == '+') {
        mn = 1, mx = kInf, ++pos_;
      } else if (c == '?') {
        mn = 0, mx = 1, ++pos_;
      } else if (c == '{') {
        ++pos_;
        if (!ParseCount(&mn)) {  // not a quantifier: a literal '{' (PCRE)
          pos_ = save;
          break;
        }
        if (!AtEnd() && Peek() == ',') {
          ++pos_;
          if (!ParseCount(&mx)) mx = kInf;
        } else {
          mx = mn;
        }
        if (AtEnd() || Peek() != '}') {
          pos_ = save;
          break;
        }
        ++pos_;
        if (mx != kInf && mx < mn) return Error(ErrorCode::kFormat, "quantifier {n,m} with m < n");
        if (mn > kMaxRepeat || (mx != kInf && mx > kMaxRepeat)) {
          return Error(ErrorCode::kLimit, fmt::format("repetition count above {}", kMaxRepeat));
        }
      } else {
        break;
      }
      if (!AtEnd() && Peek() == '+') return Error(ErrorCode::kUnsupported, "possessive quantifiers are not supported");
      if (!AtEnd() && Peek() == '?') ++pos_;  // lazy: same language
      const K k = nodes_[static_cast<std::size_t>(atom)].kind;
      if (k == K::kAssert) return Error(ErrorCode::kFormat, "quantifier after an assertion");
      Node n;
      n.kind = K::kRepeat;
      n.min = mn;
      n.max = mx;
      n.kids = {atom};
      atom = Add(std::move(n));
    }
    return atom;
  }

  int Lit(std::uint32_t cp, const Flags& f) {
    Node n;
    n.kind = K::kLit;
    n.cp = cp;
    n.icase = f.i && FoldCodePoint(cp) != UpperCodePoint(cp);
    if (n.icase) n.cp = FoldCodePoint(cp);
    return Add(std::move(n));
  }
  int ClassNode(Regex::Class cls, const Flags& f) {
    Normalize(cls.ranges);
    re_.classes_.push_back(std::move(cls));
    Node n;
    n.kind = K::kClass;
    n.cp = static_cast<std::uint32_t>(re_.classes_.size() - 1);
    n.icase = f.i;
    return Add(std::move(n));
  }
  int AssertNode(Regex::Assert a) {
    Node n;
    n.kind = K::kAssert;
    n.assert_kind = a;
    return Add(std::move(n));
  }

  static void Normalize(std::vector<Regex::Range>& r) {
    std::sort(r.begin(), r.end(), [](const Regex::Range& a, const Regex::Range& b) { return a.lo < b.lo; });
    std::vector<Regex::Range> out;
    for (const auto& x : r) {
      if (!out.empty() && x.lo <= out.back().hi + 1) {
        out.back().hi = std::max(out.back().hi, x.hi);
      } else {
        out.push_back(x);
      }
    }
    r = std::move(out);
  }
  static std::vector<Regex::Range> Complement(std::vector<Regex::Range> r) {
    Normalize(r);
    std::vector<Regex::Range> out;
    std::uint32_t next = 0;
    for (const auto& x : r) {
      if (x.lo > next) out.push_back({next, x.lo - 1});
      next = x.hi + 1;
    }
    if (next <= kInvalidBase + 0xFF) out.push_back({next, kInvalidBase + 0xFF});
    return out;
  }
  // \d \w \s \h \v and their negations; false when `c` names none.
  static bool Builtin(char c, std::vector<Regex::Range>* out) {
    std::vector<Regex::Range> r;
    switch (c | 0x20) {
      case 'd': r = {{'0', '9'}}; break;
      case 'w': r = {{'0', '9'}, {'A', 'Z'}, {'_', '_'}, {'a', 'z'}}; break;
      case 's': r = {{'\t', '\r'}, {' ', ' '}}; break;
      case 'h':
        r = {{'\t', '\t'},     {' ', ' '},       {0xA0, 0xA0},     {0x1680, 0x1680},
             {0x2000, 0x200A}, {0x202F, 0x202F}, {0x205F, 0x205F}, {0x3000, 0x3000}};
        break;
      case 'v': r = {{'\n', '\r'}, {0x85, 0x85}, {0x2028, 0x2029}}; break;
      default: return false;
    }
    if (c >= 'A' && c <= 'Z') r = Complement(std::move(r));
    out->insert(out->end(), r.begin(), r.end());
    return true;
  }

  // Parses \xHH, \x{...}, \uHHHH after the letter; -1 on error.
  std::int64_t ParseHexEscape(char letter) {
    auto hex = [](char h) -> int {
      if (h >= '0' && h <= '9') return h - '0';
      if (h >= 'a' && h <= 'f') return h - 'a' + 10;
      if (h >= 'A' && h <= 'F') return h - 'A' + 10;
      return -1;
    };
    std::uint32_t v = 0;
    if (letter == 'x' && !AtEnd() && Peek() == '{') {
      ++pos_;
      int n = 0;
      while (!AtEnd() && Peek() != '}') {
        const int h = hex(Peek());
        if (h < 0 || ++n > 6) return -1;
        v = v * 16 + static_cast<std::uint32_t>(h);
        ++pos_;
      }
      if (AtEnd() || n == 0) return -1;
      ++pos_;
    } else {
      const int digits = letter == 'x' ? 2 : 4;
      for (int i = 0; i < digits; ++i) {
        if (AtEnd() || hex(Peek()) < 0) return -1;
        v = v * 16 + static_cast<std::uint32_t>(hex(Peek()));
        ++pos_;
      }
    }
    if (v > kMaxCp) return -1;
    return v;
  }

  // After a backslash outside or inside a class: a single character (>= 0),
  // or -2 when the escape was a class added to `ranges` (inside a class or
  // when ranges != nullptr), or -1 on error (err_ set).
  std::int64_t ParseCharEscape(bool in_class) {
    if (AtEnd()) {
      Error(ErrorCode::kFormat, "pattern ends with a backslash");
      return -1;
    }
    const char c = Peek();
    if (static_cast<unsigned char>(c) >= 0x80) return NextCp();  // escaped non-ASCII: itself
    ++pos_;
    switch (c) {
      case 't': return '\t';
      case 'n': return '\n';
      case 'r': return '\r';
      case 'f': return '\f';
      case 'e': return 0x1B;
      case 'a': return 0x07;
      case '0': return 0;
      case 'x':
      case 'u': {
        const std::int64_t v = ParseHexEscape(c);
        if (v < 0) Error(ErrorCode::kFormat, fmt::format("bad \\{} escape", c));
        return v;
      }
      case 'b':
        if (in_class) return 0x08;
        break;
      default: break;
    }
    if ((c >= '1' && c <= '9')) {
      Error(ErrorCode::kUnsupported, "back-references are not supported");
      return -1;
    }
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')) {
      Error(ErrorCode::kUnsupported, fmt::format("escape \\{} is not supported", c));
      return -1;
    }
    return static_cast<unsigned char>(c);  // escaped punctuation
  }

  int ParseClass(const Flags& f) {
    // at '[' already consumed
    Regex::Class cls;
    if (!AtEnd() && Peek() == '^') {
      cls.negated = true;
      ++pos_;
    }
    bool first = true;
    while (true) {
      if (AtEnd()) return Error(ErrorCode::kFormat, "missing ']'");
      if (Peek() == ']' && !first) {
        ++pos_;
        break;
      }
      first = false;
      std::int64_t lo;
      if (Peek() == '[' && pos_ + 1 < p_.size() && p_[pos_ + 1] == ':') {
        const std::size_t end = p_.find(":]", pos_ + 2);
        if (end == std::string_view::npos) return Error(ErrorCode::kFormat, "missing ':]'");
        const std::string_view name = p_.substr(pos_ + 2, end - pos_ - 2);
        static const std::pair<std::string_view, std::vector<Regex::Range>> kPosix[] = {
            {"alpha", {{'A', 'Z'}, {'a', 'z'}}},
            {"digit", {{'0', '9'}}},
            {"alnum", {{'0', '9'}, {'A', 'Z'}, {'a', 'z'}}},
            {"upper", {{'A', 'Z'}}},
            {"lower", {{'a', 'z'}}},
            {"space", {{'\t', '\r'}, {' ', ' '}}},
            {"xdigit", {{'0', '9'}, {'A', 'F'}, {'a', 'f'}}},
            {"word", {{'0', '9'}, {'A', 'Z'}, {'_', '_'}, {'a', 'z'}}},
            {"punct", {{'!', '/'}, {':', '@'}, {'[', '`'}, {'{', '~'}}},
        };
        bool found = false;
        for (const auto& [n, r] : kPosix) {
          if (n == name) {
            cls.ranges.insert(cls.ranges.end(), r.begin(), r.end());
            found = true;
          }
        }
        if (!found) return Error(ErrorCode::kUnsupported, fmt::format("POSIX class [:{}:] is not supported", name));
        pos_ = end + 2;
        continue;
      }
      if (Peek() == '\\') {
        ++pos_;
        if (!AtEnd() && Builtin(Peek(), &cls.ranges)) {
          ++pos_;
          continue;
        }
        lo = ParseCharEscape(true);
        if (lo < 0) return -1;
      } else {
        lo = NextCp();
      }
      std::int64_t hi = lo;
      if (pos_ + 1 < p_.size() && Peek() == '-' && p_[pos_ + 1] != ']') {
        ++pos_;
        if (Peek() == '\\') {
          ++pos_;
          if (!AtEnd() && Builtin(Peek(), &cls.ranges)) return Error(ErrorCode::kFormat, "class escape as range end");
          hi = ParseCharEscape(true);
          if (hi < 0) return -1;
        } else {
          hi = NextCp();
        }
        if (hi < lo) return Error(ErrorCode::kFormat, "range out of order in class");
      }
      cls.ranges.push_back({static_cast<std::uint32_t>(lo), static_cast<std::uint32_t>(hi)});
    }
    return ClassNode(std::move(cls), f);
  }

  int ParseGroup(Flags& f, int depth) {
    // '(' consumed
    Flags inner = f;
    if (!AtEnd() && Peek() == '?') {
      ++pos_;
      if (AtEnd()) return Error(ErrorCode::kFormat, "bad group");
      const char c = Peek();
      if (c == ':') {
        ++pos_;
      } else if (c == '#') {  // comment
        const std::size_t end = p_.find(')', pos_);
        if (end == std::string_view::npos) return Error(ErrorCode::kFormat, "unterminated comment");
        pos_ = end + 1;
        return -2;
      } else if (c == 'P' && pos_ + 1 < p_.size() && p_[pos_ + 1] == '<') {
        const std::size_t end = p_.find('>', pos_);
        if (end == std::string_view::npos) return Error(ErrorCode::kFormat, "bad group name");
        pos_ = end + 1;
      } else if ((c == '<' && pos_ + 1 < p_.size() && p_[pos_ + 1] != '=' && p_[pos_ + 1] != '!') || c == '\'') {
        const std::size_t end = p_.find(c == '<' ? '>' : '\'', pos_ + 1);
        if (end == std::string_view::npos) return Error(ErrorCode::kFormat, "bad group name");
        pos_ = end + 1;
      } else if (c == '=' || c == '!' || c == '<') {
        return Error(ErrorCode::kUnsupported, "lookaround assertions are not supported");
      } else if (c == '>') {
        return Error(ErrorCode::kUnsupported, "atomic groups are not supported");
      } else {
        // (?flags) or (?flags:...)
        bool on = true;
        Flags nf = f;
        while (!AtEnd() && Peek() != ')' && Peek() != ':') {
          const char fl = Peek();
          if (fl == '-') {
            on = false;
          } else if (fl == 'i') {
            nf.i = on;
          } else if (fl == 'm') {
            nf.m = on;
          } else if (fl == 's') {
            nf.s = on;
          } else {
            return Error(ErrorCode::kUnsupported, fmt::format("group flag or construct '(?{}' is not supported", fl));
          }
          ++pos_;
        }
        if (AtEnd()) return Error(ErrorCode::kFormat, "missing ')'");
        if (Peek() == ')') {  // applies to the rest of the enclosing group
          ++pos_;
          f = nf;
          return -2;
        }
        ++pos_;  // ':'
        inner = nf;
      }
    }
    const int body = ParseAlt(inner, depth + 1);
    if (body < 0 && !err_.empty()) return -1;
    if (AtEnd() || Peek() != ')') return Error(ErrorCode::kFormat, "missing ')'");
    ++pos_;
    if (body < 0) return Add(Node{});
    return body;
  }

  int ParseAtom(Flags& f, int depth) {
    const char c = Peek();
    switch (c) {
      case '(': ++pos_; return ParseGroup(f, depth);
      case '[': ++pos_; return ParseClass(f);
      case '.': {
        ++pos_;
        Node n;
        n.kind = K::kAny;
        n.dotall = f.s;
        return Add(std::move(n));
      }
      case '^': ++pos_; return AssertNode(f.m ? Regex::Assert::kBol : Regex::Assert::kBeginText);
      case '$': ++pos_; return AssertNode(f.m ? Regex::Assert::kEol : Regex::Assert::kEndTextOrFinalNl);
      case '*':
      case '+':
      case '?': return Error(ErrorCode::kFormat, "quantifier without anything to repeat");
      case '\\': {
        ++pos_;
        if (AtEnd()) return Error(ErrorCode::kFormat, "pattern ends with a backslash");
        const char e = Peek();
        std::vector<Regex::Range> r;
        if (Builtin(e, &r)) {
          ++pos_;
          return ClassNode(Regex::Class{std::move(r), false}, f);
        }
        switch (e) {
          case 'b': ++pos_; return AssertNode(Regex::Assert::kWord);
          case 'B': ++pos_; return AssertNode(Regex::Assert::kNotWord);
          case 'A': ++pos_; return AssertNode(Regex::Assert::kBeginText);
          case 'z': ++pos_; return AssertNode(Regex::Assert::kEndText);
          case 'Z': ++pos_; return AssertNode(Regex::Assert::kEndTextOrFinalNl);
          default: break;
        }
        const std::int64_t cp = ParseCharEscape(false);
        if (cp < 0) return -1;
        return Lit(static_cast<std::uint32_t>(cp), f);
      }
      default: return Lit(NextCp(), f);
    }
  }

  // --- emission
  void Push(Regex::Inst in) {
    if (re_.prog_.size() >= opts_.max_program) {
      if (err_.empty()) {
        err_code_ = ErrorCode::kLimit;
        err_ = fmt::format("regular expression needs more than {} NFA states", opts_.max_program);
      }
      return;
    }
    re_.prog_.push_back(in);
  }
  std::int32_t Pc() const { return static_cast<std::int32_t>(re_.prog_.size()); }

  void Emit(int id, int depth) {
    if (!err_.empty()) return;
    if (depth > 4 * kMaxDepth) {
      err_code_ = ErrorCode::kLimit;
      err_ = "regular expression nested too deeply";
      return;
    }
    const Node& n = nodes_[static_cast<std::size_t>(id)];
    switch (n.kind) {
      case K::kEmpty: return;
      case K::kLit: {
        Regex::Inst in{Regex::Op::kChar};
        in.arg = n.cp;
        in.icase = n.icase;
        Push(in);
        return;
      }
      case K::kClass: {
        Regex::Inst in{Regex::Op::kClass};
        in.arg = n.cp;
        in.icase = n.icase;
        Push(in);
        return;
      }
      case K::kAny: Push(Regex::Inst{n.dotall ? Regex::Op::kAnyNl : Regex::Op::kAny}); return;
      case K::kAssert: {
        Regex::Inst in{Regex::Op::kAssert};
        in.assert_kind = n.assert_kind;
        Push(in);
        return;
      }
      case K::kConcat:
        for (int k : n.kids) Emit(k, depth + 1);
        return;
      case K::kAlt: {
        std::vector<std::int32_t> jumps;
        for (std::size_t i = 0; i < n.kids.size(); ++i) {
          if (i + 1 < n.kids.size()) {
            const std::int32_t split = Pc();
            Push(Regex::Inst{Regex::Op::kSplit});
            if (!err_.empty()) return;
            re_.prog_[static_cast<std::size_t>(split)].x = Pc();
            Emit(n.kids[i], depth + 1);
            jumps.push_back(Pc());
            Push(Regex::Inst{Regex::Op::kJmp});
            if (!err_.empty()) return;
            re_.prog_[static_cast<std::size_t>(split)].y = Pc();
          } else {
            Emit(n.kids[i], depth + 1);
          }
        }
        if (!err_.empty()) return;
        for (std::int32_t j : jumps) re_.prog_[static_cast<std::size_t>(j)].x = Pc();
        return;
      }
      case K::kRepeat: {
        const int kid = n.kids[0];
        const std::uint32_t mn = n.min, mx = n.max;
        for (std::uint32_t i = 0; i < mn && err_.empty(); ++i) Emit(kid, depth + 1);
        if (!err_.empty()) return;
        if (mx == kInf) {
          // L: split body, out; body; jmp L; out:
          const std::int32_t loop = Pc();
          Push(Regex::Inst{Regex::Op::kSplit});
          if (!err_.empty()) return;
          re_.prog_[static_cast<std::size_t>(loop)].x = Pc();
          Emit(kid, depth + 1);
          Regex::Inst j{Regex::Op::kJmp};
          j.x = loop;
          Push(j);
          if (!err_.empty()) return;
          re_.prog_[static_cast<std::size_t>(loop)].y = Pc();
          return;
        }
        std::vector<std::int32_t> splits;
        for (std::uint32_t i = mn; i < mx && err_.empty(); ++i) {
          splits.push_back(Pc());
          Push(Regex::Inst{Regex::Op::kSplit});
          if (!err_.empty()) return;
          re_.prog_[static_cast<std::size_t>(splits.back())].x = Pc();
          Emit(kid, depth + 1);
        }
        if (!err_.empty()) return;
        for (std::int32_t s : splits) re_.prog_[static_cast<std::size_t>(s)].y = Pc();
        return;
      }
    }
  }

  // The fewest code points any match consumes (saturating).
  std::size_t MinChars(int id, int depth) const {
    if (depth > 4 * kMaxDepth) return 0;
    const Node& n = nodes_[static_cast<std::size_t>(id)];
    switch (n.kind) {
      case K::kLit:
      case K::kClass:
      case K::kAny: return 1;
      case K::kEmpty:
      case K::kAssert: return 0;
      case K::kConcat: {
        std::size_t s = 0;
        for (int k : n.kids) s = std::min<std::size_t>(s + MinChars(k, depth + 1), 1u << 30);
        return s;
      }
      case K::kAlt: {
        std::size_t m = SIZE_MAX;
        for (int k : n.kids) m = std::min(m, MinChars(k, depth + 1));
        return m == SIZE_MAX ? 0 : m;
      }
      case K::kRepeat: return std::min<std::size_t>(std::size_t{n.min} * MinChars(n.kids[0], depth + 1), 1u << 30);
    }
    return 0;
  }
  // The longest run of case-sensitive literals in the top-level sequence.
  std::string RequiredLiteral(int id) const {
    const Node& n = nodes_[static_cast<std::size_t>(id)];
    std::vector<int> seq;
    if (n.kind == K::kConcat) {
      seq = n.kids;
    } else {
      seq = {id};
    }
    std::string best, cur;
    auto flush = [&] {
      if (cur.size() > best.size()) best = cur;
      cur.clear();
    };
    for (int k : seq) {
      const Node& x = nodes_[static_cast<std::size_t>(k)];
      if (x.kind == K::kLit && !x.icase && x.cp <= kMaxCp) {
        core::AppendUtf8(cur, x.cp);
      } else if (x.kind == K::kAssert || x.kind == K::kEmpty) {
        // zero-width: the literal run goes on
      } else {
        flush();
      }
    }
    flush();
    return best;
  }
  bool StartsAnchored(int id) const {
    const Node& n = nodes_[static_cast<std::size_t>(id)];
    if (n.kind == K::kAssert) return n.assert_kind == Regex::Assert::kBeginText;
    if (n.kind == K::kConcat && !n.kids.empty()) return StartsAnchored(n.kids[0]);
    if (n.kind == K::kAlt) {
      for (int k : n.kids)
        if (!StartsAnchored(k)) return false;
      return true;
    }
    return false;
  }
};

Result<Regex> Regex::Compile(std::string_view pattern, const RegexOptions& options) {
  return RegexCompiler(pattern, options).Run();
}

bool Regex::ClassHas(const Inst& in, std::uint32_t cp) const {
  const Class& c = classes_[in.arg];
  auto has = [&](std::uint32_t x) {
    auto it =
        std::upper_bound(c.ranges.begin(), c.ranges.end(), x, [](std::uint32_t v, const Range& r) { return v < r.lo; });
    return it != c.ranges.begin() && x <= std::prev(it)->hi;
  };
  bool r = has(cp);
  if (!r && in.icase) r = has(FoldCodePoint(cp)) || has(UpperCodePoint(cp));
  return r != c.negated;
}

namespace {

struct SparseSet {
  std::vector<std::int32_t> dense, sparse;
  std::size_t n = 0;
  void Resize(std::size_t size) {
    if (sparse.size() < size) {
      sparse.resize(size);
      dense.resize(size);
    }
    n = 0;
  }
  bool Has(std::int32_t pc) const {
    const auto i = static_cast<std::size_t>(sparse[static_cast<std::size_t>(pc)]);
    return i < n && dense[i] == pc;
  }
  void Add(std::int32_t pc) {
    sparse[static_cast<std::size_t>(pc)] = static_cast<std::int32_t>(n);
    dense[n++] = pc;
  }
};

struct Scratch {
  SparseSet a, b;
  std::vector<std::int32_t> stack;
};

struct Ctx {
  std::uint32_t prev, next;
  bool at_start, at_end, final_nl;
};

}  // namespace

bool Regex::Search(std::string_view text) const {
  if (text.size() < min_chars_) return false;
  if (!required_.empty() && text.find(required_) == std::string_view::npos) return false;
  thread_local Scratch s;
  const std::size_t size = prog_.size();
  s.a.Resize(size);
  s.b.Resize(size);
  SparseSet* cl = &s.a;
  SparseSet* nl = &s.b;
  auto holds = [](Assert a, const Ctx& c) {
    switch (a) {
      case Assert::kBol: return c.at_start || c.prev == '\n';
      case Assert::kEol: return c.at_end || c.next == '\n';
      case Assert::kBeginText: return c.at_start;
      case Assert::kEndText: return c.at_end;
      case Assert::kEndTextOrFinalNl: return c.at_end || c.final_nl;
      case Assert::kWord: return IsWordCp(c.prev) != IsWordCp(c.next);
      case Assert::kNotWord: return IsWordCp(c.prev) == IsWordCp(c.next);
    }
    return false;
  };
  // Adds pc and its epsilon closure; true when kMatch is reached.
  auto add = [&](SparseSet& set, std::int32_t pc0, const Ctx& c) {
    s.stack.clear();
    s.stack.push_back(pc0);
    while (!s.stack.empty()) {
      const std::int32_t pc = s.stack.back();
      s.stack.pop_back();
      if (set.Has(pc)) continue;
      set.Add(pc);
      const Inst& in = prog_[static_cast<std::size_t>(pc)];
      switch (in.op) {
        case Op::kMatch: return true;
        case Op::kJmp: s.stack.push_back(in.x); break;
        case Op::kSplit:
          s.stack.push_back(in.y);
          s.stack.push_back(in.x);
          break;
        case Op::kAssert:
          if (holds(in.assert_kind, c)) s.stack.push_back(pc + 1);
          break;
        default: break;
      }
    }
    return false;
  };
  const std::size_t n = text.size();
  std::size_t pos = 0;
  std::uint32_t prev = kNone;
  std::size_t cur_len = 0;
  std::uint32_t cur = n > 0 ? DecodeUtf8At(text, 0, &cur_len) : kNone;
  cl->n = 0;
  while (true) {
    const bool at_end = pos >= n;
    if (!anchored_start_ || pos == 0) {
      const Ctx c{prev, cur, pos == 0, at_end, cur == '\n' && pos + 1 == n};
      if (add(*cl, start_, c)) return true;
    }
    if (at_end) return false;
    if (cl->n == 0 && anchored_start_) return false;
    const std::size_t next_pos = pos + cur_len;
    std::size_t next_len = 0;
    const std::uint32_t next = next_pos < n ? DecodeUtf8At(text, next_pos, &next_len) : kNone;
    nl->n = 0;
    if (cl->n != 0) {
      const Ctx c{cur, next, false, next_pos >= n, next == '\n' && next_pos + 1 == n};
      for (std::size_t i = 0; i < cl->n; ++i) {
        const std::int32_t pc = cl->dense[i];
        const Inst& in = prog_[static_cast<std::size_t>(pc)];
        bool ok = false;
        switch (in.op) {
          case Op::kChar: ok = in.icase ? FoldCodePoint(cur) == in.arg : cur == in.arg; break;
          case Op::kClass: ok = ClassHas(in, cur); break;
          case Op::kAny: ok = cur != '\n'; break;
          case Op::kAnyNl: ok = true; break;
          default: break;
        }
        if (ok && add(*nl, pc + 1, c)) return true;
      }
    }
    std::swap(cl, nl);
    pos = next_pos;
    prev = cur;
    cur = next;
    cur_len = next_len;
  }
}

}  // namespace trawl::triage::sigma
