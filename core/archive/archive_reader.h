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

#include "core/crypto/age.h"
#include "core/util/error.h"
#include "core/util/stream.h"

struct archive;  // libarchive handle (global namespace)

namespace trawl::core::archive {

struct ReadLimits {
  std::uint64_t max_member_size = 64ull << 30;   // decompressed bytes per member
  std::uint64_t max_members = 5'000'000;
  std::uint64_t max_manifest_size = 1ull << 30;
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
};

struct VerifyProblem {
  std::string member;  // archive path or manifest entry
  std::string problem;
};

struct VerifyReport {
  bool ok = false;
  nlohmann::json manifest;          // null when none was found
  std::uint64_t members_checked = 0;
  std::vector<VerifyProblem> problems;
};

// Decrypts and walks the whole archive; checks each member's size and SHA-256
// against the manifest, members missing from either side, duplicates, and
// unsafe names. Fails (Result error) only when the archive cannot be read at
// all (wrong key, authentication failure, truncation); content problems are
// listed in the report.
Result<VerifyReport> VerifyArchive(const std::filesystem::path& path,
                                   const std::vector<age::Identity>& identities);

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
// on. The manifest's hashes are checked as in VerifyArchive.
using MemberVisitor = std::function<Result<void>(const MemberInfo&, MemberStream&)>;
Result<VerifyReport> WalkArchive(const std::filesystem::path& path,
                                 const std::vector<age::Identity>& identities,
                                 const MemberVisitor& visit);

struct ExtractReport {
  std::uint64_t extracted = 0;
  std::vector<VerifyProblem> refused;  // unsafe names, links, special files
};
// Extracts into out_dir (created if missing), refusing members that would
// escape it (absolute, "..", links) with a named error per member.
Result<ExtractReport> ExtractArchive(const std::filesystem::path& path,
                                     const std::vector<age::Identity>& identities,
                                     const std::filesystem::path& out_dir);

// Decrypts any age file as it is into `out`. Output goes to `out.partial`
// and is renamed only after the final chunk authenticated; on failure the
// partial file is removed and the error names the failing chunk.
Result<std::uint64_t> DecryptRaw(const std::filesystem::path& in,
                                 const std::vector<age::Identity>& identities,
                                 const std::filesystem::path& out);

}  // namespace trawl::core::archive
