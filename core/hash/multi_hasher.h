// SPDX-License-Identifier: Apache-2.0
// One pass over a byte stream computing MD5, SHA-1, SHA-256 and the Shannon
// entropy of the bytes, so the collector reads each file once while the same
// bytes stream into the archive. OpenSSL EVP underneath; one instance per
// stream, not thread-safe; instances are independent.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <string>

#include "core/util/byte_reader.h"

namespace trawl::core {

struct Digests {
  std::string md5;  // lower-case hex
  std::string sha1;
  std::string sha256;
  double entropy = 0;  // bits per byte, 0..8
  std::uint64_t size = 0;
};

// Shannon entropy accumulator (bits per byte).
class EntropyCounter {
 public:
  void Update(Bytes data);
  double Entropy() const;
  std::uint64_t total() const { return total_; }

 private:
  std::array<std::uint64_t, 256> counts_{};
  std::uint64_t total_ = 0;
};

class MultiHasher {
 public:
  MultiHasher();
  ~MultiHasher();
  MultiHasher(const MultiHasher&) = delete;
  MultiHasher& operator=(const MultiHasher&) = delete;

  void Update(Bytes data);
  // Finalises; the hasher may then be Reset() for another stream.
  Digests Finish();
  void Reset();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Streaming SHA-256 (archive parts, manifest checks): Update, then Hex() once.
class Sha256 {
 public:
  Sha256();
  ~Sha256();
  Sha256(const Sha256&) = delete;
  Sha256& operator=(const Sha256&) = delete;
  void Update(Bytes data);
  // Lower-case hex of everything passed to Update since construction or the
  // last Reset(); call once, then Reset() to reuse.
  std::string Hex();
  void Reset();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Convenience: SHA-256 hex of a buffer.
std::string Sha256Hex(Bytes data);

}  // namespace trawl::core
