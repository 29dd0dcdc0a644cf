// SPDX-License-Identifier: Apache-2.0
// age X25519 keys: Bech32 encodings ("age1...", "AGE-SECRET-KEY-1..."),
// recipients files and identity files as age and age-keygen read and write
// them.
#include <ctime>

#include <fmt/format.h>

#include "core/crypto/age.h"
#include "core/crypto/age_internal.h"
#include "core/crypto/bech32.h"
#include "core/util/text.h"
#include "core/util/time.h"

namespace trawl::core::age {
namespace {

constexpr std::string_view kRecipientHrp = "age";
constexpr std::string_view kIdentityHrp = "AGE-SECRET-KEY-";

std::string_view TrimSpace(std::string_view s) {
  const auto is_space = [](char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f'; };
  while (!s.empty() && is_space(s.front())) s.remove_prefix(1);
  while (!s.empty() && is_space(s.back())) s.remove_suffix(1);
  return s;
}

bool StartsWithIgnoreCase(std::string_view s, std::string_view prefix) {
  return s.size() >= prefix.size() && EqualsIgnoreCaseAscii(s.substr(0, prefix.size()), prefix);
}

Result<X25519Identity> ParseIdentity(std::string_view text) {
  if (StartsWithIgnoreCase(text, "age1")) {
    return Fail(ErrorCode::kFormat,
                "found a recipient (public key, age1...), expected an AGE-SECRET-KEY-1... identity");
  }
  if (!StartsWithIgnoreCase(text, "AGE-SECRET-KEY-1")) {
    if (StartsWithIgnoreCase(text, "AGE-")) {
      return Fail(ErrorCode::kUnsupported, "unsupported identity type (only AGE-SECRET-KEY-1... X25519 identities)");
    }
    if (text.starts_with("-----BEGIN") || text.starts_with("age-encryption.org/")) {
      return Fail(ErrorCode::kUnsupported, "SSH keys and encrypted identity files are not supported");
    }
    return Fail(ErrorCode::kFormat, "not an age identity (expected AGE-SECRET-KEY-1...)");
  }
  auto decoded = Bech32Decode(text, 0);
  if (!decoded) {
    // Bech32 errors may quote a character; a secret key's must not be echoed.
    const bool checksum = decoded.error().message.find("checksum") != std::string::npos;
    return Fail(ErrorCode::kFormat, checksum ? "invalid identity: Bech32 checksum mismatch (damaged key)"
                                             : "invalid identity: not valid Bech32");
  }
  if (decoded->hrp != kIdentityHrp) {
    return Fail(ErrorCode::kFormat, "invalid identity: AGE-SECRET-KEY-1... must be upper case");
  }
  if (decoded->data.size() != 32) {
    return Fail(ErrorCode::kFormat,
                fmt::format("invalid identity: key is {} bytes, expected 32", decoded->data.size()));
  }
  X25519Identity id;
  std::copy(decoded->data.begin(), decoded->data.end(), id.secret_key.begin());
  internal::Cleanse(decoded->data);
  return id;
}

}  // namespace

std::string X25519Recipient::Encode() const {
  auto s = Bech32Encode(kRecipientHrp, public_key);
  return s ? *s : std::string();
}

std::string X25519Identity::Encode() const {
  auto s = Bech32Encode(kIdentityHrp, secret_key);
  return s ? ToUpperAscii(*s) : std::string();
}

X25519Recipient X25519Identity::ToRecipient() const {
  X25519Recipient r;
  if (auto pk = internal::X25519Base(secret_key)) r.public_key = *pk;
  return r;
}

Result<X25519Identity> GenerateX25519Identity() {
  X25519Identity id;
  TRAWL_TRY_VOID(internal::RandomBytes(id.secret_key));
  return id;
}

Result<X25519Recipient> ParseRecipient(std::string_view text) {
  if (text.empty()) return Fail(ErrorCode::kInvalidArgument, "empty recipient");
  if (StartsWithIgnoreCase(text, "AGE-SECRET-KEY-")) {
    return Fail(ErrorCode::kInvalidArgument,
                "this is a secret key (AGE-SECRET-KEY-1...), not a recipient; give its public key (age1...)");
  }
  if (text.starts_with("ssh-") || text.starts_with("ecdsa-")) {
    return Fail(ErrorCode::kUnsupported, "SSH public keys are not supported as recipients; use an age1... key");
  }
  if (!StartsWithIgnoreCase(text, "age1")) {
    return Fail(ErrorCode::kFormat,
                fmt::format("'{}' is not an age recipient (expected age1...)", EscapeForTerminal(text.substr(0, 20))));
  }
  auto decoded = Bech32Decode(text, 0);
  if (!decoded) {
    return Fail(ErrorCode::kFormat, fmt::format("invalid recipient: {}", decoded.error().message));
  }
  if (decoded->hrp != kRecipientHrp) {
    if (EqualsIgnoreCaseAscii(decoded->hrp, kRecipientHrp)) {
      return Fail(ErrorCode::kFormat, "invalid recipient: age1... must be lower case");
    }
    return Fail(ErrorCode::kUnsupported,
                fmt::format("unsupported recipient type '{}' (plugin and post-quantum recipients are not "
                            "supported; only X25519 age1... keys)",
                            EscapeForTerminal(decoded->hrp)));
  }
  if (decoded->data.size() != 32) {
    return Fail(ErrorCode::kFormat,
                fmt::format("invalid recipient: key is {} bytes, expected 32", decoded->data.size()));
  }
  X25519Recipient r;
  std::copy(decoded->data.begin(), decoded->data.end(), r.public_key.begin());
  return r;
}

namespace {

// Key files (age-keygen output, recipients files): one key per line, blank
// lines and '#' comments skipped; errors name the source and line.
template <typename T, typename ParseLine>
Result<std::vector<T>> ParseKeyLines(std::string_view text, std::string_view source_name, std::string_view what,
                                     ParseLine parse_line) {
  std::vector<T> out;
  int line_no = 0;
  while (!text.empty()) {
    ++line_no;
    const std::size_t nl = text.find('\n');
    const std::string_view line = TrimSpace(text.substr(0, nl));
    text = nl == std::string_view::npos ? std::string_view() : text.substr(nl + 1);
    if (line.empty() || line.front() == '#') continue;
    auto parsed = parse_line(line);
    if (!parsed) {
      return Fail(parsed.error().code, fmt::format("{}:{}: {}", source_name, line_no, parsed.error().message));
    }
    out.push_back(std::move(*parsed));
  }
  if (out.empty()) return Fail(ErrorCode::kFormat, fmt::format("{}: no {} found", source_name, what));
  return out;
}

}  // namespace

Result<std::vector<X25519Recipient>> ParseRecipientsFile(std::string_view text, std::string_view source_name) {
  return ParseKeyLines<X25519Recipient>(text, source_name, "recipients",
                                        [](std::string_view line) { return ParseRecipient(line); });
}

Result<std::vector<X25519Identity>> ParseIdentityFile(std::string_view text, std::string_view source_name) {
  return ParseKeyLines<X25519Identity>(text, source_name, "identities",
                                       [](std::string_view line) { return ParseIdentity(line); });
}

std::string FormatIdentityFile(const X25519Identity& identity) {
  // UnixToIso, not gmtime_r: the same code serves Windows (no gmtime_r).
  const std::string created = UnixToIso(static_cast<std::int64_t>(std::time(nullptr)));
  return fmt::format("# created: {}\n# public key: {}\n{}\n", created, identity.ToRecipient().Encode(),
                     identity.Encode());
}

}  // namespace trawl::core::age
