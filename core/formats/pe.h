// SPDX-License-Identifier: Apache-2.0
// PE (Portable Executable) analysis for triage (`inspect pe`) and for the
// collector, which must learn PE facts and the Authenticode digest in the same
// single sequential read that computes its file hashes.
//
// PeAnalyzer is a streaming analyzer: it is fed the file front to back in
// chunks of any size, buffers the headers (bounded), learns the section table,
// computes the Authenticode digests (SHA-1 and SHA-256; the signature at the end
// of the file says which one counts) and per-range byte histograms as bytes
// pass, and keeps only the byte ranges it needs later: a prefix holding the
// headers, the section(s) holding the import and resource directories, and the
// certificate table. Each capture is capped; when a cap bites the result
// carries a note instead of growing memory. AnalyzePe() is the same code fed
// one chunk, so both uses agree byte for byte.
//
// Field semantics follow pefile 2023.2.7 where the two could differ (section
// RVA mapping, import-table heuristics, imphash, overlay start), because pefile
// is what analysts compare against; docs/windows-formats.md §2 (shared docs)
// gives the Authenticode and CVE-2013-3900 facts. An instance is
// single-threaded; separate instances are independent.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "core/util/byte_reader.h"
#include "core/util/error.h"

namespace trawl::core::formats {

struct PeAnalyzerLimits {
  // Headers (DOS header, NT headers, section table) must fit in this.
  std::uint64_t max_header_bytes = 16ULL << 20;
  // The file prefix kept regardless of layout (header-resident import tables,
  // tiny hand-made PEs).
  std::uint64_t prefix_capture_bytes = 256ULL << 10;
  // Each captured section and the certificate table are cut at this size.
  std::uint64_t max_range_capture_bytes = 32ULL << 20;
  // All captures together.
  std::uint64_t max_total_capture_bytes = 96ULL << 20;
  // Sections beyond this count are ignored (pefile's MAX_SECTIONS).
  std::uint32_t max_sections = 0x800;
};

struct PeSection {
  std::string name;  // raw 8-byte name up to the first NUL, UTF-8 repaired
  std::uint32_t virtual_address = 0;
  std::uint32_t virtual_size = 0;
  std::uint32_t raw_offset = 0;  // PointerToRawData as stored
  std::uint32_t raw_size = 0;
  std::uint32_t characteristics = 0;
  // Shannon entropy (bits per byte) of the section's bytes in the file, as
  // pefile's get_entropy(); nullopt when the analyzer could not track them.
  std::optional<double> entropy;
};

struct PeImport {
  std::string dll;
  // Function names; by-ordinal imports appear as pefile names them (a name
  // from the oleaut32/ws2_32/wsock32 tables or "ord<N>").
  std::vector<std::string> functions;
};

struct PeOverlay {
  std::uint64_t offset = 0;  // pefile get_overlay_data_start_offset()
  std::uint64_t size = 0;    // up to EOF, or up to the certificate table at EOF
  std::optional<double> entropy;
};

struct AuthenticodeInfo {
  bool present = false;  // certificate directory non-empty
  bool signed_ = false;  // a PKCS#7 SignedData Authenticode entry parsed
  std::string signer_subject;
  std::string issuer;
  std::string serial;            // hex, upper case as OpenSSL prints it
  std::string digest_algorithm;  // "sha1", "sha256", ...
  std::string signed_digest;     // hex, from SpcIndirectDataContent
  std::string computed_digest;   // hex, our Authenticode digest in that algorithm
  bool digest_matches = false;
  bool nested_signature = false;  // an SPC nested signature attribute is present
  std::uint64_t cert_table_offset = 0;
  std::uint64_t cert_table_size = 0;
  std::uint32_t entry_count = 0;
  // Bytes inside the first Authenticode WIN_CERTIFICATE after the DER
  // SignedData, plus non-zero alignment bytes (CVE-2013-3900 slack).
  std::uint64_t padding_bytes = 0;
  double padding_entropy = 0.0;
  bool padding_marker_feedface = false;  // FE ED FA CE found in the slack
  bool padding_anomaly = false;
  std::vector<std::string> notes;
};

struct PeInfo {
  std::uint64_t file_size = 0;
  std::uint16_t machine = 0;
  std::string machine_name;  // "I386", "AMD64", ... or "UNKNOWN"
  std::uint32_t timestamp = 0;
  std::uint16_t characteristics = 0;
  std::uint16_t subsystem = 0;
  std::string subsystem_name;
  bool is_dll = false;
  bool is_64 = false;  // PE32+
  std::uint32_t entry_point = 0;
  std::uint64_t image_base = 0;
  std::uint16_t number_of_sections = 0;  // as declared in the file header
  std::vector<PeSection> sections;       // section-table order
  std::vector<PeImport> imports;
  std::string imphash;  // MD5 hex, "" when there are no imports (as pefile)
  // StringFileInfo entries of the RT_VERSION resource, first occurrence of
  // each key wins (CompanyName, ProductName, FileVersion, ...).
  std::vector<std::pair<std::string, std::string>> version_info;
  std::optional<PeOverlay> overlay;
  AuthenticodeInfo authenticode;
  // Things the analysis skipped or found odd ("truncated analysis: ...").
  std::vector<std::string> notes;

  // Value of a version_info key, or "" when absent.
  std::string VersionString(std::string_view key) const;
};

class PeAnalyzer {
 public:
  explicit PeAnalyzer(PeAnalyzerLimits limits = {});
  ~PeAnalyzer();
  PeAnalyzer(PeAnalyzer&&) noexcept;
  PeAnalyzer& operator=(PeAnalyzer&&) noexcept;
  PeAnalyzer(const PeAnalyzer&) = delete;
  PeAnalyzer& operator=(const PeAnalyzer&) = delete;

  // Feeds the next bytes of the file. Never fails; problems surface in Finish.
  void Update(Bytes chunk);
  // Ends the file and returns the analysis; kFormat "not a PE: ..." for
  // non-PE input (including NE/LE and MZ-only DOS programs). Call once.
  Result<PeInfo> Finish();

  class Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

// Update(whole_file) + Finish().
Result<PeInfo> AnalyzePe(Bytes whole_file, PeAnalyzerLimits limits = {});

// "AMD64" for 0x8664 etc. (pefile MACHINE_TYPE names without the prefix).
std::string PeMachineName(std::uint16_t machine);

}  // namespace trawl::core::formats
