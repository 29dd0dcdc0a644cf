// SPDX-License-Identifier: Apache-2.0
#include "core/hash/multi_hasher.h"

#include <openssl/evp.h>

#include <cmath>
#include <new>
#include <stdexcept>

#include "core/util/text.h"

namespace trawl::core {

void EntropyCounter::Update(Bytes data) {
  // Four interleaved tables avoid store-to-load stalls on runs of one byte.
  std::array<std::array<std::uint32_t, 256>, 4> local{};
  std::size_t i = 0;
  const std::size_t n = data.size();
  const auto* p = reinterpret_cast<const unsigned char*>(data.data());
  while (i < n) {
    // Flush before a 32-bit counter could overflow.
    const std::size_t end = std::min(n, i + (std::size_t{1} << 30));
    std::size_t j = i;
    for (; j + 4 <= end; j += 4) {
      ++local[0][p[j]];
      ++local[1][p[j + 1]];
      ++local[2][p[j + 2]];
      ++local[3][p[j + 3]];
    }
    for (; j < end; ++j) ++local[0][p[j]];
    for (std::size_t b = 0; b < 256; ++b) {
      counts_[b] += static_cast<std::uint64_t>(local[0][b]) + local[1][b] + local[2][b] + local[3][b];
    }
    local = {};
    i = end;
  }
  total_ += n;
}

double EntropyCounter::Entropy() const {
  if (total_ == 0) return 0;
  double h = 0;
  const double total = static_cast<double>(total_);
  for (std::uint64_t c : counts_) {
    if (c == 0) continue;
    const double p = static_cast<double>(c) / total;
    h -= p * std::log2(p);
  }
  return h;
}

// The three digest implementations, fetched once per process (C++ makes the
// first call's initialisation thread-safe) and never freed: every hasher on
// every file worker shares them, so no two threads fetch and free method
// objects at once (OpenSSL's method store is where such races would lie),
// and a hasher costs no fetch.
namespace {
struct SharedMds {
  EVP_MD* md5 = nullptr;
  EVP_MD* sha1 = nullptr;
  EVP_MD* sha256 = nullptr;
};
const SharedMds& SharedDigests() {
  static const SharedMds d{EVP_MD_fetch(nullptr, "MD5", nullptr), EVP_MD_fetch(nullptr, "SHA1", nullptr),
                           EVP_MD_fetch(nullptr, "SHA256", nullptr)};
  return d;
}
}  // namespace

struct MultiHasher::Impl {
  EVP_MD_CTX* md5 = nullptr;
  EVP_MD_CTX* sha1 = nullptr;
  EVP_MD_CTX* sha256 = nullptr;
  const EVP_MD* md5_md = nullptr;
  const EVP_MD* sha1_md = nullptr;
  const EVP_MD* sha256_md = nullptr;
  EntropyCounter entropy;
  std::uint64_t size = 0;
};

MultiHasher::MultiHasher() : impl_(std::make_unique<Impl>()) {
  const SharedMds& d = SharedDigests();
  impl_->md5_md = d.md5;
  impl_->sha1_md = d.sha1;
  impl_->sha256_md = d.sha256;
  impl_->md5 = EVP_MD_CTX_new();
  impl_->sha1 = EVP_MD_CTX_new();
  impl_->sha256 = EVP_MD_CTX_new();
  if (!impl_->md5_md || !impl_->sha1_md || !impl_->sha256_md || !impl_->md5 || !impl_->sha1 || !impl_->sha256) {
    throw std::runtime_error("OpenSSL digests unavailable");
  }
  Reset();
}

MultiHasher::~MultiHasher() {
  EVP_MD_CTX_free(impl_->md5);
  EVP_MD_CTX_free(impl_->sha1);
  EVP_MD_CTX_free(impl_->sha256);
}

void MultiHasher::Reset() {
  EVP_DigestInit_ex2(impl_->md5, impl_->md5_md, nullptr);
  EVP_DigestInit_ex2(impl_->sha1, impl_->sha1_md, nullptr);
  EVP_DigestInit_ex2(impl_->sha256, impl_->sha256_md, nullptr);
  impl_->entropy = EntropyCounter();
  impl_->size = 0;
}

void MultiHasher::Update(Bytes data) {
  if (data.empty()) return;
  EVP_DigestUpdate(impl_->md5, data.data(), data.size());
  EVP_DigestUpdate(impl_->sha1, data.data(), data.size());
  EVP_DigestUpdate(impl_->sha256, data.data(), data.size());
  impl_->entropy.Update(data);
  impl_->size += data.size();
}

namespace {
std::string FinalHex(EVP_MD_CTX* ctx) {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_DigestFinal_ex(ctx, out, &len);
  return ToHex(Bytes(reinterpret_cast<const std::byte*>(out), len));
}
}  // namespace

Digests MultiHasher::Finish() {
  Digests d;
  d.md5 = FinalHex(impl_->md5);
  d.sha1 = FinalHex(impl_->sha1);
  d.sha256 = FinalHex(impl_->sha256);
  d.entropy = impl_->entropy.Entropy();
  d.size = impl_->size;
  return d;
}

struct Sha256::Impl {
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  ~Impl() { EVP_MD_CTX_free(ctx); }
};

Sha256::Sha256() : impl_(std::make_unique<Impl>()) { Reset(); }

void Sha256::Reset() {
  if (impl_->ctx == nullptr || EVP_DigestInit_ex2(impl_->ctx, EVP_sha256(), nullptr) != 1) {
    throw std::bad_alloc();  // OpenSSL out of memory: nothing sensible to return
  }
}
Sha256::~Sha256() = default;

void Sha256::Update(Bytes data) { EVP_DigestUpdate(impl_->ctx, data.data(), data.size()); }

std::string Sha256::Hex() {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_DigestFinal_ex(impl_->ctx, md, &len);
  return ToHex(Bytes(reinterpret_cast<const std::byte*>(md), len));
}

std::string Sha256Hex(Bytes data) {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_Digest(data.data(), data.size(), out, &len, EVP_sha256(), nullptr);
  return ToHex(Bytes(reinterpret_cast<const std::byte*>(out), len));
}

}  // namespace trawl::core
