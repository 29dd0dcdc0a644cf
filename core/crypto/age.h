// SPDX-License-Identifier: Apache-2.0
// The age v1 file format (age-encryption.org/v1, c2sp.org/age): X25519 and
// scrypt (passphrase) recipients, the textual header with its HMAC, the
// STREAM-chunked ChaCha20-Poly1305 payload, and the ASCII armor on input.
// Built on OpenSSL 3 (X25519, HKDF-SHA-256, ChaCha20-Poly1305, scrypt,
// HMAC-SHA-256, RAND_bytes); interoperates with the `age` CLI both ways.
//
// Encryptor and Decryptor stream with bounded memory (one 64 KiB chunk plus
// its ciphertext). The Decryptor never hands out a byte of a chunk before that
// chunk's tag verified, and reports the end of the stream only after a valid
// final chunk. Each object is used by one thread at a time; distinct objects
// are independent. Key structs hold secrets in plain memory: callers own them.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "core/util/byte_reader.h"
#include "core/util/error.h"

namespace trawl::core::age {

// Receives output bytes; the span is valid only during the call.
using Sink = std::function<Result<void>(Bytes)>;
// Fills a prefix of the buffer and returns how many bytes it wrote; 0 = EOF.
using Source = std::function<Result<std::size_t>(std::span<std::byte>)>;

// Plaintext bytes per payload chunk (the ciphertext chunk adds a 16-byte tag).
inline constexpr std::size_t kChunkSize = 64 * 1024;

struct X25519Recipient {
  std::array<std::uint8_t, 32> public_key{};
  // "age1..." (lower-case Bech32).
  std::string Encode() const;
};

struct ScryptRecipient {
  // Shown by the CLI whenever a passphrase recipient is used.
  static constexpr std::string_view kWarning =
      "passphrase encryption: anyone who can guess or brute-force the passphrase can decrypt "
      "the file, and the file cannot also be encrypted to public keys; prefer an age1 recipient";
  std::string passphrase;
  int log2_work_factor = 18;  // scrypt N = 2^log2_work_factor, r = 8, p = 1
};

using Recipient = std::variant<X25519Recipient, ScryptRecipient>;

struct X25519Identity {
  std::array<std::uint8_t, 32> secret_key{};
  // "AGE-SECRET-KEY-1..." (upper-case Bech32).
  std::string Encode() const;
  // The matching public key. Should OpenSSL fail (out of memory), the result
  // is all zero, which Encryptor::Create rejects as a low-order point.
  X25519Recipient ToRecipient() const;
};

struct ScryptIdentity {
  std::string passphrase;
  // Files asking for more work (memory 2^N KiB) are refused: a hostile file
  // could otherwise make decryption take gigabytes and minutes.
  int max_log2_work_factor = 22;
};

using Identity = std::variant<X25519Identity, ScryptIdentity>;

Result<X25519Identity> GenerateX25519Identity();

// Parses one "age1..." recipient. Errors say what is wrong (secret key given
// instead of a recipient, SSH key, bad checksum, wrong case, wrong length).
Result<X25519Recipient> ParseRecipient(std::string_view text);
// A recipients file: one age1 recipient per line, '#' comments and blank lines
// allowed, surrounding whitespace ignored. Errors name "source_name:line".
Result<std::vector<X25519Recipient>> ParseRecipientsFile(std::string_view text, std::string_view source_name);
// An identity file as age-keygen writes it ('#' comments, one
// AGE-SECRET-KEY-1... per line). Errors name "source_name:line" and never
// quote the line, which may hold a secret.
Result<std::vector<X25519Identity>> ParseIdentityFile(std::string_view text, std::string_view source_name);
// "# created: <RFC 3339 UTC>\n# public key: age1...\nAGE-SECRET-KEY-1...\n",
// the layout age-keygen writes.
std::string FormatIdentityFile(const X25519Identity& identity);

// Streaming encryption to one or more recipients. Create writes the header and
// payload nonce to the sink at once; Write buffers at most one chunk; Finish
// writes the final chunk. A scrypt recipient must be the only recipient.
class Encryptor {
 public:
  static Result<std::unique_ptr<Encryptor>> Create(const std::vector<Recipient>& recipients, Sink sink);
  ~Encryptor();
  Encryptor(const Encryptor&) = delete;
  Encryptor& operator=(const Encryptor&) = delete;

  Result<void> Write(Bytes plaintext);
  // Writes the final chunk; must be called exactly once. After an error (here
  // or from the sink) the encryptor refuses further use.
  Result<void> Finish();
  // Ciphertext bytes handed to the sink so far, header included.
  std::uint64_t bytes_written() const;

  struct State;

 private:
  explicit Encryptor(std::unique_ptr<State> state);
  std::unique_ptr<State> state_;
};

// Streaming decryption. Open reads and authenticates the header (detecting and
// stripping ASCII armor) and finds the file key; Read returns plaintext of
// verified chunks only. Errors: kNoIdentity (no identity fits), kAuthentication
// (header MAC or a chunk tag), kTruncated, kFormat, kUnsupported, kLimit
// (scrypt work factor above the identity's maximum). Errors are sticky.
class Decryptor {
 public:
  static Result<std::unique_ptr<Decryptor>> Open(Source source, const std::vector<Identity>& identities);
  ~Decryptor();
  Decryptor(const Decryptor&) = delete;
  Decryptor& operator=(const Decryptor&) = delete;

  // Copies up to out.size() bytes; 0 = end of a fully verified stream.
  Result<std::size_t> Read(std::span<std::byte> out);

  struct State;

 private:
  explicit Decryptor(std::unique_ptr<State> state);
  std::unique_ptr<State> state_;
};

// Convenience for small inputs and tests: whole buffers in and out.
Result<std::string> EncryptToString(const std::vector<Recipient>& recipients, Bytes plaintext);
Result<std::string> DecryptToString(Bytes ciphertext, const std::vector<Identity>& identities);

}  // namespace trawl::core::age
