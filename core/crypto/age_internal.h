// SPDX-License-Identifier: Apache-2.0
// Internals of the age implementation shared by its .cpp files (not for other
// modules): thin wrappers over the OpenSSL 3 primitives age needs, the raw
// (unpadded, canonical) base64 of the age header, the header model and a
// buffered reader over a Source. Pure functions and value types; BufferedSource
// is used by one thread at a time.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/crypto/age.h"

namespace trawl::core::age::internal {

using Key32 = std::array<std::uint8_t, 32>;
using FileKey = std::array<std::uint8_t, 16>;

inline constexpr std::size_t kTagSize = 16;
inline constexpr std::size_t kEncChunkSize = kChunkSize + kTagSize;
inline constexpr std::size_t kPayloadNonceSize = 16;
// Hostile headers cannot make us buffer more than this.
inline constexpr std::size_t kMaxHeaderSize = 1 << 20;

inline std::span<const std::uint8_t> U8(Bytes b) { return {reinterpret_cast<const std::uint8_t*>(b.data()), b.size()}; }
inline Bytes AsByteSpan(std::span<const std::uint8_t> b) {
  return {reinterpret_cast<const std::byte*>(b.data()), b.size()};
}

// --- primitives (age_crypto.cpp) ---
Result<void> RandomBytes(std::span<std::uint8_t> out);
// X25519(scalar, basepoint).
Result<Key32> X25519Base(const Key32& scalar);
// X25519(scalar, point); fails when OpenSSL refuses (including a low-order
// point yielding an all-zero secret).
Result<Key32> X25519(const Key32& scalar, const Key32& point);
Result<Key32> HkdfSha256(std::span<const std::uint8_t> ikm, std::span<const std::uint8_t> salt, std::string_view info);
Result<Key32> HmacSha256(std::span<const std::uint8_t> key, std::span<const std::uint8_t> message);
Result<Key32> Scrypt(std::string_view passphrase, std::span<const std::uint8_t> salt, int log2_n);
// One-shot ChaCha20-Poly1305 with a 12-byte zero nonce, as stanza bodies use.
Result<std::vector<std::uint8_t>> SealZeroNonce(const Key32& key, std::span<const std::uint8_t> plaintext);
// Empty optional when the tag does not verify.
Result<std::optional<std::vector<std::uint8_t>>> OpenZeroNonce(const Key32& key,
                                                               std::span<const std::uint8_t> ciphertext);
bool ConstantTimeEqual(std::span<const std::uint8_t> a, std::span<const std::uint8_t> b);
void Cleanse(std::span<std::uint8_t> secret);

// ChaCha20-Poly1305 with a reusable OpenSSL context, for payload chunks.
class ChunkCipher {
 public:
  ChunkCipher();
  ~ChunkCipher();
  ChunkCipher(const ChunkCipher&) = delete;
  ChunkCipher& operator=(const ChunkCipher&) = delete;
  Result<void> SetKey(const Key32& key);
  // out receives ciphertext || tag (plaintext.size() + 16 bytes).
  Result<void> Seal(std::uint64_t counter, bool last, Bytes plaintext, std::span<std::byte> out);
  // in is ciphertext || tag; out receives in.size() - 16 bytes. false = bad tag.
  Result<bool> Open(std::uint64_t counter, bool last, Bytes in, std::span<std::byte> out);

 private:
  void* ctx_ = nullptr;  // EVP_CIPHER_CTX, kept opaque to keep OpenSSL out of headers
  Key32 key_{};
};

// --- base64 (age_format.cpp) ---
// Standard alphabet, no padding.
std::string Base64RawEncode(std::span<const std::uint8_t> data);
// Rejects padding, non-alphabet characters and non-canonical trailing bits.
Result<std::vector<std::uint8_t>> Base64RawDecode(std::string_view text);

// --- header model (age_format.cpp) ---
struct Stanza {
  std::vector<std::string> args;  // args[0] is the type
  std::vector<std::uint8_t> body;
  int line = 0;  // 1-based line of the "->" line, for errors
};

struct Header {
  std::vector<Stanza> stanzas;
  std::string mac_input;          // header bytes up to and including "---"
  std::vector<std::uint8_t> mac;  // 32 bytes
};

// Serializes stanzas (without the MAC line): version line and stanzas.
std::string FormatHeaderWithoutMac(const std::vector<Stanza>& stanzas);

// A buffered reader over a Source, for line-oriented header parsing followed
// by bulk payload reads.
class BufferedSource {
 public:
  explicit BufferedSource(Source source);
  // Reads through the next '\n'. Returns the line without it, or nullopt at
  // EOF before any byte. `*terminated` is false when EOF ended the line.
  // Fails with kLimit when the line would exceed max_length.
  Result<std::optional<std::string>> ReadLine(std::size_t max_length, bool* terminated);
  // Fills `out` completely unless EOF comes first; returns bytes read.
  Result<std::size_t> ReadFull(std::span<std::byte> out);
  // Ensures up to n bytes are buffered (fewer at EOF) and returns them.
  Result<Bytes> Peek(std::size_t n);
  void Skip(std::size_t n);  // n <= size of the last Peek

 private:
  Result<bool> FillMore();  // false at EOF
  Source source_;
  std::vector<std::byte> buffer_;
  std::size_t begin_ = 0;
  std::size_t end_ = 0;
  bool eof_ = false;
};

// Reads and parses a v1 header from `in`.
Result<Header> ReadHeader(BufferedSource& in);

// Wraps a raw source in an ASCII-armor decoder when it starts (after optional
// whitespace) with the armor line; otherwise returns it as is.
Result<std::unique_ptr<BufferedSource>> DetectArmor(std::unique_ptr<BufferedSource> raw);

}  // namespace trawl::core::age::internal
