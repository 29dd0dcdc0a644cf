// SPDX-License-Identifier: Apache-2.0
// The regular expressions of Sigma's `re` modifier, matched without
// backtracking: a pattern is parsed into a Thompson NFA and searched by
// stepping the set of live states over the text one code point at a time
// (no recursion, no per-match allocation after the first call on a thread).
// Time is O(text length x program size) whatever the pattern or the text,
// and the program size is capped, so a hostile rule or event cannot stall
// the engine; std::regex was not used because it backtracks (exponential on
// patterns such as (a|a)*b), recurses once per repeated character (a stack
// overflow on long values) and has no inline flags.
//
// The syntax is PCRE's as Sigma uses it: literals, `.`, classes `[a-z]`
// `[^...]` (with \d \w \s \D \W \S inside), anchors `^` `$` `\A` `\z` `\Z`,
// word boundaries `\b` `\B`, groups `(...)` `(?:...)` `(?<name>...)`
// `(?P<name>...)`, alternation, quantifiers `* + ? {n} {n,} {n,m}` (a lazy
// `?` suffix is accepted: it changes nothing for "does it match"), inline
// flags `(?i)` `(?m)` `(?s)` `(?-i)` and scoped `(?i:...)`, escapes \t \n \r
// \f \v \e \xHH \x{H...} \uHHHH and escaped punctuation. \d \w \s are ASCII
// (PCRE without UCP). Refused with a reason: back-references, lookaround,
// possessive quantifiers and atomic groups, \p{..}, \Q..\E, \K \R \G \X and
// other letter escapes PCRE would reject. Matching is a search (the pattern
// may match anywhere in the value) on code points of UTF-8 text; invalid
// bytes stand for themselves. Immutable after Compile; Search is
// thread-safe (per-thread scratch).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/util/error.h"

namespace trawl::triage::sigma {

struct RegexOptions {
  bool icase = false;               // `re|i`, (?i)
  bool multiline = false;           // `re|m`, (?m): ^ and $ also at line breaks
  bool dotall = false;              // `re|s`, (?s): . also matches \n
  std::size_t max_program = 5000;   // NFA states; SigmaHQ's largest regex needs 1004
  std::size_t max_pattern = 16384;  // bytes
};

class Regex {
 public:
  // Errors are kUnsupported (a PCRE feature outside the subset above) or
  // kFormat (not a valid pattern) or kLimit, with the offset in the pattern.
  static core::Result<Regex> Compile(std::string_view pattern, const RegexOptions& options = {});

  bool Search(std::string_view text) const;
  std::size_t ProgramSize() const { return prog_.size(); }

  enum class Op : std::uint8_t { kChar, kClass, kAny, kAnyNl, kSplit, kJmp, kAssert, kMatch };
  enum class Assert : std::uint8_t { kBol, kEol, kBeginText, kEndText, kEndTextOrFinalNl, kWord, kNotWord };
  struct Inst {
    Op op = Op::kMatch;
    bool icase = false;
    Assert assert_kind = Assert::kBol;
    std::uint32_t arg = 0;  // kChar: code point; kClass: class index
    std::int32_t x = 0;     // kSplit/kJmp targets
    std::int32_t y = 0;
  };
  struct Range {
    std::uint32_t lo, hi;
  };
  struct Class {
    std::vector<Range> ranges;  // sorted, merged
    bool negated = false;
  };

 private:
  std::vector<Inst> prog_;
  std::vector<Class> classes_;
  std::int32_t start_ = 0;
  bool anchored_start_ = false;  // begins with \A or ^ (not multiline): only position 0 can start a match
  // Prefilters that reject most values before the NFA runs: a match needs
  // at least min_chars_ code points, and `required_` (a run of plain
  // literals every match contains) must occur in the text.
  std::size_t min_chars_ = 0;
  std::string required_;
  friend class RegexCompiler;
  bool ClassHas(const Inst& in, std::uint32_t cp) const;
};

// Case folding shared with the wildcard matcher: ASCII, Latin-1, Latin
// Extended-A, Greek and Cyrillic capitals to small letters (the same UTF-8
// length, so folding never moves offsets). Other code points are unchanged.
std::uint32_t FoldCodePoint(std::uint32_t cp);
std::uint32_t UpperCodePoint(std::uint32_t cp);
// Folds UTF-8 text; invalid bytes are copied as they are. out.size() ==
// in.size() always.
void FoldUtf8(std::string_view in, std::string& out);
// Decodes one code point at text[pos]; *len gets its byte length (1 for an
// invalid byte, whose value is returned as 0x110000 + byte so it equals no
// real character).
std::uint32_t DecodeUtf8At(std::string_view text, std::size_t pos, std::size_t* len);

}  // namespace trawl::triage::sigma
