// SPDX-License-Identifier: Apache-2.0
// Reads trawl archives on the analyst's side: decrypts the age stream (or
// reads a plain zip written with --no-encrypt), walks the zip members as a
// stream, and on top of that verifies every manifest hash, extracts safely,
// and decrypts raw age files. Archive content is hostile input: anyone on the
// collected host holds the public key and could have forged the archive, so
// member names are checked, sizes capped, and nothing unauthenticated is
// presented as good. One reader per archive; not thread-safe.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/archive/manifest.h"
#include "core/crypto/age.h"
#include "core/hash/multi_hasher.h"
#include "core/util/error.h"
#include "core/util/stream.h"

struct archive;  // libarchive handle (global namespace)

namespace trawl::core::archive {

// What one archive may cost. Defaults sit far above any genuine collection
// (docs/archive-format.md, "Threat model") and can be raised from the
// command line (trawl-triage --max-inflated, --max-inflation-ratio).
struct ReadLimits {
  std::uint64_t max_member_size = 64ull << 30;  // decompressed bytes per member
  std::uint64_t max_members = 2'000'000;
  // Decompressed bytes of all members together: at most
  // min(max_total_inflated, max(inflation_floor, max_inflation_ratio x the
  // archive file's size)). A deflate bomb inflates ~1000x; real collections
  // (JSON records, PE files, hives, logs) stay well under 50x.
  std::uint64_t max_total_inflated = 256ull << 30;
  std::uint64_t max_inflation_ratio = 200;
  std::uint64_t inflation_floor = 64ull << 20;
  ManifestLimits manifest;
};

struct MemberInfo {
  std::string name;
  bool is_regular = true;
  bool is_dir = false;
  bool is_link = false;
};

class ArchiveReader {
 public:
  // Opens `path`: an age file (binary or armored) decrypted with
  // `identities`, or a plain zip.
  static Result<std::unique_ptr<ArchiveReader>> Open(const std::filesystem::path& path,
                                                     const std::vector<age::Identity>& identities,
                                                     ReadLimits limits = {});
  ~ArchiveReader();

  // The next member, or nullopt after the last one.
  Result<std::optional<MemberInfo>> Next();
  // Reads the current member's data; 0 at its end.
  Result<std::size_t> Read(std::span<std::byte> out);
  // Reads the rest of the current member into memory (capped at max_bytes).
  Result<std::string> ReadAll(std::uint64_t max_bytes);
  bool encrypted() const { return encrypted_; }
  // After Next() returned nullopt: reads what libarchive left of the
  // plaintext (the central directory), so the age stream is authenticated to
  // its final chunk, and returns the SHA-256 of the whole plaintext zip: the
  // collection's identity, which no one can reproduce without the plaintext.
  Result<std::string> FinishContent();
  std::uint64_t inflated() const { return inflated_; }
  std::uint64_t inflation_cap() const { return inflation_cap_; }

 private:
  ArchiveReader() = default;
  Error LibError(std::string_view what) const;
  // std::ptrdiff_t is la_ssize_t on both LP64 (long) and LLP64 Windows (long long).
  static std::ptrdiff_t ReadCallback(::archive*, void* self, const void** buffer);

  std::filesystem::path path_;
  ReadLimits limits_;
  ByteSource source_;
  std::unique_ptr<age::Decryptor> decryptor_;
  std::unique_ptr<std::ifstream> file_;
  std::vector<std::byte> buffer_;
  ::archive* archive_ = nullptr;
  bool encrypted_ = false;
  bool source_failed_ = false;
  Error source_error_;
  std::string current_;
  std::uint64_t current_read_ = 0;
  std::uint64_t members_ = 0;
  std::uint64_t inflated_ = 0;
  std::uint64_t inflation_cap_ = 0;
  core::Sha256 content_hash_;
};

struct VerifyProblem {
  std::string member;  // archive path or manifest entry
  std::string problem;
};

struct VerifyReport {
  bool ok = false;
  std::optional<Manifest> manifest;  // absent when none was found or it did not parse
  std::uint64_t members_checked = 0;
  std::uint64_t inflated_bytes = 0;  // decompressed bytes of every member
  std::uint64_t manifest_bytes = 0;  // size of (the first) manifest.json
  std::string content_sha256;        // of the plaintext zip (ArchiveReader::FinishContent)
  std::vector<VerifyProblem> problems;
};

// Decrypts and walks the whole archive; checks each member's size and SHA-256
// against the manifest, members missing from either side, duplicates, and
// unsafe names. Fails (Result error) only when the archive cannot be read at
// all (wrong key, authentication failure, truncation); content problems are
// listed in the report.
Result<VerifyReport> VerifyArchive(const std::filesystem::path& path, const std::vector<age::Identity>& identities,
                                   const ReadLimits& limits = {});

// A member's data as handed to a visitor: what it reads is hashed, and what
// it leaves unread is drained and hashed after it returns.
class MemberStream {
 public:
  virtual ~MemberStream() = default;
  virtual Result<std::size_t> Read(std::span<std::byte> out) = 0;
  // Reads the rest into memory; kLimit beyond max_bytes.
  Result<std::string> ReadAll(std::uint64_t max_bytes);
};

// Visits each regular member except manifest.json; used by triage ingest.
// A visitor error is recorded as a problem of that member and the walk goes
// on (kAuthentication, kTruncated and kLimit errors end the walk: the archive
// cannot be trusted or costs too much). Then manifest.json, which must be
// the last member, is parsed as a stream (core/archive/manifest.h): each
// entry is checked against the members seen and handed to on_entry. A
// manifest that does not parse is a problem naming the field.
using MemberVisitor = std::function<Result<void>(const MemberInfo&, MemberStream&)>;
struct WalkOptions {
  MemberVisitor visit;
  ManifestEntryFn on_entry;
  ReadLimits limits;
};
Result<VerifyReport> WalkArchive(const std::filesystem::path& path, const std::vector<age::Identity>& identities,
                                 const WalkOptions& options);
Result<VerifyReport> WalkArchive(const std::filesystem::path& path, const std::vector<age::Identity>& identities,
                                 const MemberVisitor& visit);

struct ExtractReport {
  std::uint64_t extracted = 0;
  std::uint64_t bytes = 0;
  std::vector<VerifyProblem> refused;   // unsafe names, links, special files
  std::vector<VerifyProblem> problems;  // what verification found (extraction goes on)
};
struct ExtractOptions {
  ReadLimits limits;
  // Bytes free in out_dir; unset: asked from the file system. Tests set it.
  std::optional<std::uint64_t> available;
  // Kept free beyond what the archive needs.
  std::uint64_t reserve = 64ull << 20;
};
// Extracts into out_dir (created if missing), refusing members that would
// escape it (absolute, "..", links) with a named error per member. A first
// pass verifies the archive and totals what it would write; if that does not
// fit in the free space of out_dir (less `reserve`), nothing is written and
// the error says how much is needed. The second pass writes no member beyond
// the size the first pass measured.
Result<ExtractReport> ExtractArchive(const std::filesystem::path& path, const std::vector<age::Identity>& identities,
                                     const std::filesystem::path& out_dir, const ExtractOptions& options = {});

// Decrypts any age file as it is into `out`. Output goes to `out.partial`
// and is renamed only after the final chunk authenticated; on failure the
// partial file is removed and the error names the failing chunk.
Result<std::uint64_t> DecryptRaw(const std::filesystem::path& in, const std::vector<age::Identity>& identities,
                                 const std::filesystem::path& out);

}  // namespace trawl::core::archive
