// SPDX-License-Identifier: Apache-2.0
// Authenticode pieces of PE analysis, used by PeAnalyzer (core/formats/pe.h):
//
//  * AuthenticodeHasher computes the Authenticode image digest (SHA-1 and
//    SHA-256 at once) while the file streams past, leaving out the CheckSum
//    field, the certificate-table directory entry and the certificate table,
//    exactly as osslsigncode's pe_digest_calc does (windows-formats.md §2.2).
//  * AnalyzeCertificateTable walks the WIN_CERTIFICATE entries, parses the
//    first PKCS#7 SignedData with OpenSSL (defensively: any failure becomes a
//    note, never a crash), extracts the SpcIndirectDataContent digest and the
//    signer, and measures the slack after the DER blob that CVE-2013-3900
//    abuse hides data in (§2.3).
//
// The hasher owns OpenSSL digest contexts; one instance per file, not
// thread-safe. AnalyzeCertificateTable is a pure function.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "core/formats/pe.h"
#include "core/util/byte_reader.h"

namespace trawl::core::formats {

class AuthenticodeHasher {
 public:
  AuthenticodeHasher();
  ~AuthenticodeHasher();
  AuthenticodeHasher(AuthenticodeHasher&&) noexcept;
  AuthenticodeHasher& operator=(AuthenticodeHasher&&) noexcept;

  // Layout from the PE headers; call before the first Update.
  // checksum_offset = e_lfanew + 88, cert_dir_offset = e_lfanew + 152 (+16 for
  // PE32+), cert_table_offset = DataDirectory[4].VirtualAddress (0 = none).
  void SetLayout(std::uint64_t checksum_offset, std::uint64_t cert_dir_offset, std::uint64_t cert_table_offset);
  // Bytes at `file_offset`, which must continue where the previous call ended.
  void Update(std::uint64_t file_offset, Bytes chunk);

  struct Digests {
    std::string sha1;    // hex
    std::string sha256;  // hex
  };
  // stop_at_cert_table: the file is signed (certificate table at its end), so
  // the digest ends where the table starts. Otherwise it covers the whole file
  // zero-padded to a multiple of 8, as a signer would see it.
  Digests Finish(bool stop_at_cert_table, std::uint64_t file_size);

 private:
  class State;
  std::unique_ptr<State> state_;
};

// Fills `out` (all fields except present/cert_table_* and computed_digest/
// digest_matches, which the caller owns) from the certificate table bytes.
// `captured` may be shorter than `declared_size` when the capture was capped.
void AnalyzeCertificateTable(Bytes captured, std::uint64_t declared_size, AuthenticodeInfo& out);

}  // namespace trawl::core::formats
