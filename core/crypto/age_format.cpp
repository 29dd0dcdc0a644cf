// SPDX-License-Identifier: Apache-2.0
// The byte-level parts of age: raw base64, the header grammar of c2sp.org/age
// ("ABNF definition of file header"), the buffered line reader and the strict
// PEM (RFC 7468 section 3) ASCII armor decoder.
#include <algorithm>
#include <cstring>

#include <fmt/format.h>

#include "core/crypto/age_internal.h"
#include "core/util/text.h"

namespace trawl::core::age::internal {
namespace {

constexpr std::string_view kBase64Alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
constexpr std::string_view kVersionLine = "age-encryption.org/v1";
constexpr std::string_view kArmorBegin = "-----BEGIN AGE ENCRYPTED FILE-----";
constexpr std::string_view kArmorEnd = "-----END AGE ENCRYPTED FILE-----";
constexpr std::size_t kBodyColumns = 64;
constexpr std::size_t kArmorColumns = 64;
constexpr std::size_t kMacBase64Length = 43;  // 32 bytes unpadded

int Base64Value(char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '+') return 62;
  if (c == '/') return 63;
  return -1;
}

bool IsBase64Text(std::string_view s) {
  return std::all_of(s.begin(), s.end(), [](char c) { return Base64Value(c) >= 0; });
}

std::string Quote(std::string_view s) {
  constexpr std::size_t kMaxQuoted = 40;
  std::string shown = EscapeForTerminal(s.substr(0, kMaxQuoted));
  if (s.size() > kMaxQuoted) shown += "...";
  return "'" + shown + "'";
}

}  // namespace

std::string Base64RawEncode(std::span<const std::uint8_t> data) {
  std::string out;
  out.reserve((data.size() * 4 + 2) / 3);
  std::size_t i = 0;
  for (; i + 3 <= data.size(); i += 3) {
    const std::uint32_t v = (std::uint32_t{data[i]} << 16) | (std::uint32_t{data[i + 1]} << 8) | data[i + 2];
    out.push_back(kBase64Alphabet[(v >> 18) & 63]);
    out.push_back(kBase64Alphabet[(v >> 12) & 63]);
    out.push_back(kBase64Alphabet[(v >> 6) & 63]);
    out.push_back(kBase64Alphabet[v & 63]);
  }
  const std::size_t rest = data.size() - i;
  if (rest == 1) {
    const std::uint32_t v = std::uint32_t{data[i]} << 16;
    out.push_back(kBase64Alphabet[(v >> 18) & 63]);
    out.push_back(kBase64Alphabet[(v >> 12) & 63]);
  } else if (rest == 2) {
    const std::uint32_t v = (std::uint32_t{data[i]} << 16) | (std::uint32_t{data[i + 1]} << 8);
    out.push_back(kBase64Alphabet[(v >> 18) & 63]);
    out.push_back(kBase64Alphabet[(v >> 12) & 63]);
    out.push_back(kBase64Alphabet[(v >> 6) & 63]);
  }
  return out;
}

Result<std::vector<std::uint8_t>> Base64RawDecode(std::string_view text) {
  if (text.size() % 4 == 1) {
    return Fail(ErrorCode::kFormat, fmt::format("base64 of length {} is impossible", text.size()));
  }
  std::vector<std::uint8_t> out;
  out.reserve(text.size() * 3 / 4);
  std::uint32_t acc = 0;
  int bits = 0;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const int v = Base64Value(text[i]);
    if (v < 0) {
      return Fail(ErrorCode::kFormat,
                  fmt::format("invalid base64 character {} at column {}", Quote(text.substr(i, 1)), i + 1));
    }
    acc = (acc << 6) | static_cast<std::uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<std::uint8_t>((acc >> bits) & 0xff));
    }
    acc &= 0xff;  // at most 6 pending bits matter
  }
  // Canonical encodings leave the unused trailing bits zero (RFC 4648 3.5).
  if (bits > 0 && (acc & ((1u << bits) - 1)) != 0) {
    return Fail(ErrorCode::kFormat, "non-canonical base64 (unused trailing bits are not zero)");
  }
  return out;
}

std::string FormatHeaderWithoutMac(const std::vector<Stanza>& stanzas) {
  std::string out(kVersionLine);
  out += '\n';
  for (const Stanza& s : stanzas) {
    out += "->";
    for (const std::string& a : s.args) {
      out += ' ';
      out += a;
    }
    out += '\n';
    const std::string body = Base64RawEncode(s.body);
    // Full 64-column lines, then a final shorter (possibly empty) line.
    std::size_t pos = 0;
    for (; pos + kBodyColumns <= body.size(); pos += kBodyColumns) {
      out.append(body, pos, kBodyColumns);
      out += '\n';
    }
    out.append(body, pos, std::string::npos);
    out += '\n';
  }
  return out;
}

// ---------------------------------------------------------------------------

BufferedSource::BufferedSource(Source source) : source_(std::move(source)), buffer_(64 * 1024) {}

Result<bool> BufferedSource::FillMore() {
  if (eof_) return false;
  if (end_ == buffer_.size()) {
    if (begin_ > 0) {
      std::memmove(buffer_.data(), buffer_.data() + begin_, end_ - begin_);
      end_ -= begin_;
      begin_ = 0;
    } else {
      buffer_.resize(buffer_.size() * 2);
    }
  }
  auto n = source_(std::span<std::byte>(buffer_).subspan(end_));
  if (!n) return std::unexpected(std::move(n.error()));
  if (*n > buffer_.size() - end_) return Fail(ErrorCode::kInternal, "age: source reported more bytes than asked");
  if (*n == 0) {
    eof_ = true;
    return false;
  }
  end_ += *n;
  return true;
}

Result<std::optional<std::string>> BufferedSource::ReadLine(std::size_t max_length, bool* terminated) {
  std::size_t scanned = 0;
  for (;;) {
    const std::byte* start = buffer_.data() + begin_;
    const std::size_t avail = end_ - begin_;
    const void* nl = std::memchr(start + scanned, '\n', avail - scanned);
    if (nl != nullptr) {
      const auto len = static_cast<std::size_t>(static_cast<const std::byte*>(nl) - start);
      if (len > max_length) break;
      std::string line(reinterpret_cast<const char*>(start), len);
      begin_ += len + 1;
      *terminated = true;
      return std::optional<std::string>(std::move(line));
    }
    scanned = avail;
    if (avail > max_length) break;
    auto more = FillMore();
    if (!more) return std::unexpected(std::move(more.error()));
    if (!*more) {
      *terminated = false;
      if (avail == 0) return std::optional<std::string>();
      std::string line(reinterpret_cast<const char*>(buffer_.data() + begin_), avail);
      begin_ = end_;
      return std::optional<std::string>(std::move(line));
    }
  }
  return Fail(ErrorCode::kLimit, fmt::format("line longer than {} bytes", max_length));
}

Result<std::size_t> BufferedSource::ReadFull(std::span<std::byte> out) {
  std::size_t done = std::min(out.size(), end_ - begin_);
  if (done > 0) std::memcpy(out.data(), buffer_.data() + begin_, done);
  begin_ += done;
  while (done < out.size() && !eof_) {
    auto n = source_(out.subspan(done));
    if (!n) return std::unexpected(std::move(n.error()));
    if (*n > out.size() - done) return Fail(ErrorCode::kInternal, "age: source reported more bytes than asked");
    if (*n == 0) eof_ = true;
    done += *n;
  }
  return done;
}

Result<Bytes> BufferedSource::Peek(std::size_t n) {
  while (end_ - begin_ < n) {
    if (begin_ + n > buffer_.size() && begin_ > 0) {
      std::memmove(buffer_.data(), buffer_.data() + begin_, end_ - begin_);
      end_ -= begin_;
      begin_ = 0;
    }
    auto more = FillMore();
    if (!more) return std::unexpected(std::move(more.error()));
    if (!*more) break;
  }
  return Bytes(buffer_.data() + begin_, std::min(n, end_ - begin_));
}

void BufferedSource::Skip(std::size_t n) { begin_ += std::min(n, end_ - begin_); }

// ---------------------------------------------------------------------------

Result<Header> ReadHeader(BufferedSource& in) {
  Header header;
  std::string text;  // the header so far, for the MAC
  int line_no = 0;
  bool terminated = false;
  auto next_line = [&]() -> Result<std::optional<std::string>> {
    ++line_no;
    const std::size_t budget = kMaxHeaderSize - std::min(kMaxHeaderSize, text.size());
    auto line = in.ReadLine(budget, &terminated);
    if (!line) {
      if (line.error().code == ErrorCode::kLimit) {
        return Fail(ErrorCode::kLimit,
                    fmt::format("age header line {}: header larger than {} bytes", line_no, kMaxHeaderSize));
      }
      return std::unexpected(std::move(line.error()));
    }
    if (*line) {
      text += **line;
      text += '\n';
    }
    return line;
  };

  auto version = next_line();
  if (!version) return std::unexpected(std::move(version.error()));
  if (!*version) return Fail(ErrorCode::kFormat, "not an age file: the input is empty");
  const std::string& v = **version;
  if (!terminated) {
    if (kVersionLine.starts_with(v)) {
      return Fail(ErrorCode::kTruncated, "age header line 1: input ends inside the version line");
    }
    return Fail(ErrorCode::kFormat, fmt::format("not an age file: line 1 is {}", Quote(v)));
  }
  if (v != kVersionLine) {
    if (v.starts_with("age-encryption.org/")) {
      return Fail(ErrorCode::kUnsupported, fmt::format("age header line 1: unsupported version {}", Quote(v)));
    }
    return Fail(ErrorCode::kFormat,
                fmt::format("not an age file: line 1 is {}, expected 'age-encryption.org/v1'", Quote(v)));
  }

  for (;;) {
    auto line = next_line();
    if (!line) return std::unexpected(std::move(line.error()));
    if (!*line || !terminated) {
      return Fail(ErrorCode::kTruncated,
                  fmt::format("age header line {}: input ends before the header's '---' MAC line", line_no));
    }
    const std::string l = std::move(**line);
    if (l.starts_with("-> ")) {
      Stanza stanza;
      stanza.line = line_no;
      std::string_view rest = std::string_view(l).substr(3);
      for (;;) {
        const std::size_t sp = rest.find(' ');
        const std::string_view arg = rest.substr(0, sp);
        if (arg.empty()) {
          return Fail(ErrorCode::kFormat, fmt::format("age header line {}: empty stanza argument", line_no));
        }
        for (char c : arg) {
          const auto u = static_cast<unsigned char>(c);
          if (u < 0x21 || u > 0x7e) {
            return Fail(ErrorCode::kFormat,
                        fmt::format("age header line {}: stanza argument has byte 0x{:02x}", line_no, u));
          }
        }
        stanza.args.emplace_back(arg);
        if (sp == std::string_view::npos) break;
        rest = rest.substr(sp + 1);
      }
      std::string body;
      for (;;) {
        auto body_line = next_line();
        if (!body_line) return std::unexpected(std::move(body_line.error()));
        if (!*body_line || !terminated) {
          return Fail(ErrorCode::kTruncated,
                      fmt::format("age header line {}: input ends inside a stanza body", line_no));
        }
        const std::string& b = **body_line;
        if (b.size() > kBodyColumns) {
          return Fail(ErrorCode::kFormat,
                      fmt::format("age header line {}: stanza body line longer than 64 columns", line_no));
        }
        if (!IsBase64Text(b)) {
          return Fail(ErrorCode::kFormat,
                      fmt::format("age header line {}: stanza body is not unpadded base64", line_no));
        }
        body += b;
        if (b.size() < kBodyColumns) break;
      }
      auto decoded = Base64RawDecode(body);
      if (!decoded) {
        return Fail(ErrorCode::kFormat,
                    fmt::format("age header line {}: stanza body: {}", line_no, decoded.error().message));
      }
      stanza.body = std::move(*decoded);
      header.stanzas.push_back(std::move(stanza));
    } else if (l.starts_with("---")) {
      if (l.size() != 4 + kMacBase64Length || l[3] != ' ') {
        return Fail(ErrorCode::kFormat,
                    fmt::format("age header line {}: MAC line must be '--- ' and 43 base64 characters", line_no));
      }
      auto mac = Base64RawDecode(std::string_view(l).substr(4));
      if (!mac) {
        return Fail(ErrorCode::kFormat, fmt::format("age header line {}: MAC: {}", line_no, mac.error().message));
      }
      if (header.stanzas.empty()) {
        return Fail(ErrorCode::kFormat, "age header: no recipient stanzas before the MAC line");
      }
      header.mac = std::move(*mac);
      // The MAC covers everything up to and including "---", not the space.
      text.resize(text.size() - l.size() - 1 + 3);
      header.mac_input = std::move(text);
      return header;
    } else {
      return Fail(
          ErrorCode::kFormat,
          fmt::format("age header line {}: expected a '-> ' stanza or the '---' MAC line, got {}", line_no, Quote(l)));
    }
  }
}

// ---------------------------------------------------------------------------

namespace {

bool IsArmorSpace(std::byte b) {
  const auto c = static_cast<char>(b);
  return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

// Decodes RFC 7468 strict PEM: 64-column lines of padded canonical base64,
// the last one shorter or padded, then the END line and only whitespace.
class ArmorReader {
 public:
  explicit ArmorReader(std::unique_ptr<BufferedSource> raw) : raw_(std::move(raw)) {}

  Result<std::size_t> Read(std::span<std::byte> out) {
    while (pos_ == decoded_.size()) {
      if (done_) return std::size_t{0};
      auto next = NextLine();
      if (!next) return std::unexpected(std::move(next.error()));
    }
    const std::size_t n = std::min(out.size(), decoded_.size() - pos_);
    std::memcpy(out.data(), decoded_.data() + pos_, n);
    pos_ += n;
    return n;
  }

  int line_no_ = 1;  // the BEGIN line was line 1

 private:
  Result<void> NextLine() {
    ++line_no_;
    bool terminated = false;
    auto line = raw_->ReadLine(kArmorColumns + 1, &terminated);
    if (!line) {
      if (line.error().code == ErrorCode::kLimit) {
        return Fail(ErrorCode::kFormat, fmt::format("age armor line {}: longer than 64 columns", line_no_));
      }
      return std::unexpected(std::move(line.error()));
    }
    if (!*line) {
      return Fail(ErrorCode::kTruncated, fmt::format("age armor line {}: input ends before the END line", line_no_));
    }
    std::string l = std::move(**line);
    if (!l.empty() && l.back() == '\r') l.pop_back();  // CRLF is allowed
    decoded_.clear();
    pos_ = 0;
    if (l == kArmorEnd) {
      if (!saw_data_) return Fail(ErrorCode::kFormat, "age armor: no data between BEGIN and END");
      done_ = true;
      // Only whitespace may follow; anything else could smuggle data.
      for (;;) {
        auto rest = raw_->Peek(4096);
        if (!rest) return std::unexpected(std::move(rest.error()));
        if (rest->empty()) return {};
        for (std::byte b : *rest) {
          if (!IsArmorSpace(b)) {
            return Fail(ErrorCode::kFormat, fmt::format("age armor: data after the END line (line {})", line_no_));
          }
        }
        raw_->Skip(rest->size());
      }
    }
    if (!terminated) {
      return Fail(ErrorCode::kTruncated, fmt::format("age armor line {}: input ends inside a line", line_no_));
    }
    if (expect_end_) {
      return Fail(ErrorCode::kFormat,
                  fmt::format("age armor line {}: expected the END line after a short or padded line", line_no_));
    }
    if (l.empty() || l.size() > kArmorColumns || l.size() % 4 != 0) {
      return Fail(ErrorCode::kFormat,
                  fmt::format("age armor line {}: {} columns, expected 64 (or fewer, a multiple of 4, on the "
                              "last line)",
                              line_no_, l.size()));
    }
    std::size_t pad = 0;
    while (pad < 2 && l[l.size() - 1 - pad] == '=') ++pad;
    auto decoded = Base64RawDecode(std::string_view(l).substr(0, l.size() - pad));
    if (!decoded) {
      return Fail(ErrorCode::kFormat, fmt::format("age armor line {}: {}", line_no_, decoded.error().message));
    }
    if (pad > 0 || l.size() < kArmorColumns) expect_end_ = true;
    saw_data_ = true;
    decoded_ = std::move(*decoded);
    return {};
  }

  std::unique_ptr<BufferedSource> raw_;
  std::vector<std::uint8_t> decoded_;
  std::size_t pos_ = 0;
  bool done_ = false;
  bool expect_end_ = false;
  bool saw_data_ = false;
};

}  // namespace

Result<std::unique_ptr<BufferedSource>> DetectArmor(std::unique_ptr<BufferedSource> raw) {
  // Armor may follow some whitespace; a binary file never starts with any, so
  // peek without consuming and leave a binary input untouched.
  constexpr std::size_t kMaxLeadingSpace = 1024;
  std::size_t skip = 0;
  for (;;) {
    auto head = raw->Peek(skip + 1);
    if (!head) return std::unexpected(std::move(head.error()));
    if (head->size() <= skip || !IsArmorSpace((*head)[skip])) break;
    if (++skip > kMaxLeadingSpace) return raw;
  }
  auto head = raw->Peek(skip + kArmorBegin.size());
  if (!head) return std::unexpected(std::move(head.error()));
  const bool armored = head->size() == skip + kArmorBegin.size() &&
                       std::memcmp(head->data() + skip, kArmorBegin.data(), kArmorBegin.size()) == 0;
  if (!armored) return raw;
  raw->Skip(skip);
  bool terminated = false;
  auto begin = raw->ReadLine(kArmorColumns + 1, &terminated);
  if (!begin || !*begin) return Fail(ErrorCode::kFormat, "age armor line 1: malformed BEGIN line");
  std::string b = std::move(**begin);
  if (!b.empty() && b.back() == '\r') b.pop_back();
  if (b != kArmorBegin || !terminated) {
    return Fail(ErrorCode::kFormat, "age armor line 1: malformed BEGIN line");
  }
  auto reader = std::make_shared<ArmorReader>(std::move(raw));
  return std::make_unique<BufferedSource>(
      [reader](std::span<std::byte> out) -> Result<std::size_t> { return reader->Read(out); });
}

}  // namespace trawl::core::age::internal
