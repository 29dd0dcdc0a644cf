// SPDX-License-Identifier: Apache-2.0
// OpenSSL 3 wrappers for age. Every OpenSSL object is owned by a unique_ptr
// with its free function so no error path leaks; secrets in local buffers are
// cleansed before return.
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/params.h>
#include <openssl/rand.h>

#include <algorithm>
#include <cstring>
#include <memory>

#include <fmt/format.h>

#include "core/crypto/age_internal.h"

namespace trawl::core::age::internal {
namespace {

struct PkeyFree {
  void operator()(EVP_PKEY* p) const { EVP_PKEY_free(p); }
};
struct PkeyCtxFree {
  void operator()(EVP_PKEY_CTX* p) const { EVP_PKEY_CTX_free(p); }
};
struct KdfFree {
  void operator()(EVP_KDF* p) const { EVP_KDF_free(p); }
};
struct KdfCtxFree {
  void operator()(EVP_KDF_CTX* p) const { EVP_KDF_CTX_free(p); }
};
struct MacFree {
  void operator()(EVP_MAC* p) const { EVP_MAC_free(p); }
};
struct MacCtxFree {
  void operator()(EVP_MAC_CTX* p) const { EVP_MAC_CTX_free(p); }
};
struct CipherCtxFree {
  void operator()(EVP_CIPHER_CTX* p) const { EVP_CIPHER_CTX_free(p); }
};
using Pkey = std::unique_ptr<EVP_PKEY, PkeyFree>;

// The OpenSSL error queue's newest entry, for messages; clears the queue.
std::string OpenSslError(std::string_view what) {
  const unsigned long code = ERR_get_error();
  ERR_clear_error();
  if (code == 0) return fmt::format("openssl: {} failed", what);
  char buf[256];
  ERR_error_string_n(code, buf, sizeof buf);
  return fmt::format("openssl: {} failed: {}", what, buf);
}

std::unexpected<Error> SslFail(std::string_view what) { return Fail(ErrorCode::kInternal, OpenSslError(what)); }

Result<Key32> RunKdf(const char* name, OSSL_PARAM* params, std::string_view what) {
  std::unique_ptr<EVP_KDF, KdfFree> kdf(EVP_KDF_fetch(nullptr, name, nullptr));
  if (!kdf) return SslFail(what);
  std::unique_ptr<EVP_KDF_CTX, KdfCtxFree> ctx(EVP_KDF_CTX_new(kdf.get()));
  if (!ctx) return SslFail(what);
  Key32 out{};
  if (EVP_KDF_derive(ctx.get(), out.data(), out.size(), params) != 1) return SslFail(what);
  return out;
}

void* MutableData(std::span<const std::uint8_t> s) {
  // OSSL_PARAM takes void* but only reads input octet strings.
  return const_cast<std::uint8_t*>(s.data());
}

}  // namespace

Result<void> RandomBytes(std::span<std::uint8_t> out) {
  if (RAND_bytes(out.data(), static_cast<int>(out.size())) != 1) return SslFail("RAND_bytes");
  return {};
}

Result<Key32> X25519Base(const Key32& scalar) {
  Pkey key(EVP_PKEY_new_raw_private_key(EVP_PKEY_X25519, nullptr, scalar.data(), scalar.size()));
  if (!key) return SslFail("X25519 private key");
  Key32 out{};
  std::size_t len = out.size();
  if (EVP_PKEY_get_raw_public_key(key.get(), out.data(), &len) != 1 || len != out.size()) {
    return SslFail("X25519 public key");
  }
  return out;
}

Result<Key32> X25519(const Key32& scalar, const Key32& point) {
  Pkey key(EVP_PKEY_new_raw_private_key(EVP_PKEY_X25519, nullptr, scalar.data(), scalar.size()));
  Pkey peer(EVP_PKEY_new_raw_public_key(EVP_PKEY_X25519, nullptr, point.data(), point.size()));
  if (!key || !peer) return SslFail("X25519 key");
  std::unique_ptr<EVP_PKEY_CTX, PkeyCtxFree> ctx(EVP_PKEY_CTX_new(key.get(), nullptr));
  if (!ctx || EVP_PKEY_derive_init(ctx.get()) != 1 || EVP_PKEY_derive_set_peer(ctx.get(), peer.get()) != 1) {
    return SslFail("X25519 setup");
  }
  Key32 out{};
  std::size_t len = out.size();
  // OpenSSL refuses an all-zero result (a low-order point), which age
  // requires to abort on; the caller reports that as a format error.
  if (EVP_PKEY_derive(ctx.get(), out.data(), &len) != 1 || len != out.size()) {
    ERR_clear_error();
    return Fail(ErrorCode::kFormat, "X25519 shared secret is all zero (low-order share)");
  }
  const Key32 zero{};
  if (ConstantTimeEqual(out, zero)) {
    return Fail(ErrorCode::kFormat, "X25519 shared secret is all zero (low-order share)");
  }
  return out;
}

Result<Key32> HkdfSha256(std::span<const std::uint8_t> ikm, std::span<const std::uint8_t> salt, std::string_view info) {
  OSSL_PARAM params[5];
  std::size_t n = 0;
  char digest[] = "SHA256";
  params[n++] = OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, digest, 0);
  params[n++] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY, MutableData(ikm), ikm.size());
  // An absent salt is HKDF's default (HashLen zero bytes), which equals an
  // empty salt because HMAC zero-pads its key.
  if (!salt.empty()) {
    params[n++] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT, MutableData(salt), salt.size());
  }
  params[n++] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO, const_cast<char*>(info.data()), info.size());
  params[n] = OSSL_PARAM_construct_end();
  return RunKdf("HKDF", params, "HKDF-SHA-256");
}

Result<Key32> HmacSha256(std::span<const std::uint8_t> key, std::span<const std::uint8_t> message) {
  std::unique_ptr<EVP_MAC, MacFree> mac(EVP_MAC_fetch(nullptr, "HMAC", nullptr));
  if (!mac) return SslFail("HMAC fetch");
  std::unique_ptr<EVP_MAC_CTX, MacCtxFree> ctx(EVP_MAC_CTX_new(mac.get()));
  char digest[] = "SHA256";
  OSSL_PARAM params[] = {OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest, 0),
                         OSSL_PARAM_construct_end()};
  if (!ctx || EVP_MAC_init(ctx.get(), key.data(), key.size(), params) != 1 ||
      EVP_MAC_update(ctx.get(), message.data(), message.size()) != 1) {
    return SslFail("HMAC-SHA-256");
  }
  Key32 out{};
  std::size_t len = 0;
  if (EVP_MAC_final(ctx.get(), out.data(), &len, out.size()) != 1 || len != out.size()) {
    return SslFail("HMAC-SHA-256");
  }
  return out;
}

Result<Key32> Scrypt(std::string_view passphrase, std::span<const std::uint8_t> salt, int log2_n) {
  if (log2_n < 1 || log2_n > 40) {
    return Fail(ErrorCode::kInvalidArgument, fmt::format("scrypt work factor 2^{} out of range", log2_n));
  }
  std::uint64_t n_param = std::uint64_t{1} << log2_n;
  std::uint32_t r = 8;
  std::uint32_t p = 1;
  // scrypt needs 128*r*N bytes for V plus small buffers; OpenSSL's default cap
  // (32 MiB) is below age's default work factor, so raise it to what this
  // work factor needs. The identity's maximum bounds log2_n beforehand.
  std::uint64_t maxmem = 128ull * r * n_param + (1u << 20);
  OSSL_PARAM params[] = {OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_PASSWORD,
                                                           const_cast<char*>(passphrase.data()), passphrase.size()),
                         OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT, MutableData(salt), salt.size()),
                         OSSL_PARAM_construct_uint64(OSSL_KDF_PARAM_SCRYPT_N, &n_param),
                         OSSL_PARAM_construct_uint32(OSSL_KDF_PARAM_SCRYPT_R, &r),
                         OSSL_PARAM_construct_uint32(OSSL_KDF_PARAM_SCRYPT_P, &p),
                         OSSL_PARAM_construct_uint64(OSSL_KDF_PARAM_SCRYPT_MAXMEM, &maxmem),
                         OSSL_PARAM_construct_end()};
  return RunKdf("SCRYPT", params, "scrypt");
}

namespace {

// One AEAD operation; iv is 12 bytes. On decryption `tag` is the expected tag
// and the return value says whether it verified.
Result<bool> Aead(EVP_CIPHER_CTX* ctx, bool encrypt, const Key32& key, const std::uint8_t* iv, const std::uint8_t* in,
                  std::size_t len, std::uint8_t* out, std::uint8_t* tag) {
  if (EVP_CipherInit_ex2(ctx, nullptr, key.data(), iv, encrypt ? 1 : 0, nullptr) != 1) {
    return SslFail("ChaCha20-Poly1305 init");
  }
  int out_len = 0;
  if (len > 0 && (EVP_CipherUpdate(ctx, out, &out_len, in, static_cast<int>(len)) != 1 ||
                  static_cast<std::size_t>(out_len) != len)) {
    return SslFail("ChaCha20-Poly1305 update");
  }
  if (!encrypt && EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_SET_TAG, static_cast<int>(kTagSize), tag) != 1) {
    return SslFail("ChaCha20-Poly1305 set tag");
  }
  int final_len = 0;
  if (EVP_CipherFinal_ex(ctx, out + len, &final_len) != 1) {
    if (encrypt) return SslFail("ChaCha20-Poly1305 final");
    ERR_clear_error();
    return false;
  }
  if (encrypt && EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_GET_TAG, static_cast<int>(kTagSize), tag) != 1) {
    return SslFail("ChaCha20-Poly1305 get tag");
  }
  return true;
}

Result<std::unique_ptr<EVP_CIPHER_CTX, CipherCtxFree>> NewChaChaCtx() {
  std::unique_ptr<EVP_CIPHER_CTX, CipherCtxFree> ctx(EVP_CIPHER_CTX_new());
  if (!ctx || EVP_CipherInit_ex2(ctx.get(), EVP_chacha20_poly1305(), nullptr, nullptr, 1, nullptr) != 1) {
    return SslFail("ChaCha20-Poly1305 context");
  }
  return ctx;
}

}  // namespace

Result<std::vector<std::uint8_t>> SealZeroNonce(const Key32& key, std::span<const std::uint8_t> plaintext) {
  auto ctx = NewChaChaCtx();
  if (!ctx) return std::unexpected(std::move(ctx.error()));
  const std::array<std::uint8_t, 12> iv{};
  std::vector<std::uint8_t> out(plaintext.size() + kTagSize);
  auto ok = Aead(ctx->get(), true, key, iv.data(), plaintext.data(), plaintext.size(), out.data(),
                 out.data() + plaintext.size());
  if (!ok) return std::unexpected(std::move(ok.error()));
  return out;
}

Result<std::optional<std::vector<std::uint8_t>>> OpenZeroNonce(const Key32& key,
                                                               std::span<const std::uint8_t> ciphertext) {
  if (ciphertext.size() < kTagSize) return std::optional<std::vector<std::uint8_t>>();
  auto ctx = NewChaChaCtx();
  if (!ctx) return std::unexpected(std::move(ctx.error()));
  const std::array<std::uint8_t, 12> iv{};
  const std::size_t len = ciphertext.size() - kTagSize;
  std::vector<std::uint8_t> out(len + kTagSize);
  std::array<std::uint8_t, kTagSize> tag{};
  std::copy(ciphertext.begin() + static_cast<std::ptrdiff_t>(len), ciphertext.end(), tag.begin());
  auto ok = Aead(ctx->get(), false, key, iv.data(), ciphertext.data(), len, out.data(), tag.data());
  if (!ok) return std::unexpected(std::move(ok.error()));
  if (!*ok) {
    Cleanse(out);
    return std::optional<std::vector<std::uint8_t>>();
  }
  out.resize(len);
  return std::optional<std::vector<std::uint8_t>>(std::move(out));
}

bool ConstantTimeEqual(std::span<const std::uint8_t> a, std::span<const std::uint8_t> b) {
  return a.size() == b.size() && CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

void Cleanse(std::span<std::uint8_t> secret) { OPENSSL_cleanse(secret.data(), secret.size()); }

ChunkCipher::ChunkCipher() {
  auto ctx = NewChaChaCtx();
  if (ctx) ctx_ = ctx->release();
}

ChunkCipher::~ChunkCipher() {
  EVP_CIPHER_CTX_free(static_cast<EVP_CIPHER_CTX*>(ctx_));
  Cleanse(key_);
}

Result<void> ChunkCipher::SetKey(const Key32& key) {
  if (ctx_ == nullptr) return Fail(ErrorCode::kInternal, "openssl: ChaCha20-Poly1305 context unavailable");
  key_ = key;
  return {};
}

namespace {
std::array<std::uint8_t, 12> ChunkNonce(std::uint64_t counter, bool last) {
  // 11-byte big-endian counter (the top 3 bytes stay zero) and the last flag.
  std::array<std::uint8_t, 12> iv{};
  for (int i = 0; i < 8; ++i) iv[10 - i] = static_cast<std::uint8_t>(counter >> (8 * i));
  iv[11] = last ? 1 : 0;
  return iv;
}
}  // namespace

Result<void> ChunkCipher::Seal(std::uint64_t counter, bool last, Bytes plaintext, std::span<std::byte> out) {
  if (ctx_ == nullptr) return Fail(ErrorCode::kInternal, "openssl: ChaCha20-Poly1305 context unavailable");
  if (out.size() < plaintext.size() + kTagSize) return Fail(ErrorCode::kInternal, "chunk output too small");
  const auto iv = ChunkNonce(counter, last);
  auto* o = reinterpret_cast<std::uint8_t*>(out.data());
  auto ok = Aead(static_cast<EVP_CIPHER_CTX*>(ctx_), true, key_, iv.data(), U8(plaintext).data(), plaintext.size(), o,
                 o + plaintext.size());
  if (!ok) return std::unexpected(std::move(ok.error()));
  return {};
}

Result<bool> ChunkCipher::Open(std::uint64_t counter, bool last, Bytes in, std::span<std::byte> out) {
  if (ctx_ == nullptr) return Fail(ErrorCode::kInternal, "openssl: ChaCha20-Poly1305 context unavailable");
  if (in.size() < kTagSize || out.size() < in.size() - kTagSize) {
    return Fail(ErrorCode::kInternal, "chunk buffer sizes");
  }
  const std::size_t len = in.size() - kTagSize;
  const auto iv = ChunkNonce(counter, last);
  std::array<std::uint8_t, kTagSize> tag{};
  std::memcpy(tag.data(), in.data() + len, kTagSize);
  // Final writes nothing for this AEAD, but give it a valid pointer.
  std::uint8_t scratch[1];
  auto* o = out.empty() ? scratch : reinterpret_cast<std::uint8_t*>(out.data());
  return Aead(static_cast<EVP_CIPHER_CTX*>(ctx_), false, key_, iv.data(), U8(in).data(), len, o, tag.data());
}

}  // namespace trawl::core::age::internal
