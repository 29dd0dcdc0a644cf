// SPDX-License-Identifier: Apache-2.0
// Builds zip files byte by byte for the hostile-archive tests: any member name
// ("..", absolute, control bytes), duplicate members, members marked as Unix
// symlinks and deflate bombs, laid out as an attacker's own writer would. It
// shares no code with the reader under test (libarchive); zlib does the raw
// deflate and the CRC-32. Layout per PKWARE APPNOTE.TXT 6.3.10: local file
// header (4.3.7), central directory header (4.3.12), end of central directory
// record (4.3.16). No zip64, no data descriptors: members and the whole file
// stay below 4 GiB and 65535 entries. Not thread-safe.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

namespace trawl::test {

class ZipBuilder {
 public:
  // A regular file member (mode 0100644), deflated unless `deflate` is false.
  ZipBuilder& Add(std::string_view name, std::string_view data, bool deflate = true);
  // A member whose central directory entry says Unix symlink (made by Unix,
  // external attributes 0120777 << 16, as Info-ZIP writes links); its data is
  // the link target. The local header carries no mode, as in real zips.
  ZipBuilder& AddSymlink(std::string_view name, std::string_view target);

  // Members, central directory and end record.
  std::string Build() const;
  // Writes Build() to `path` (parent folders are created); throws on failure.
  void WriteTo(const std::filesystem::path& path) const;

 private:
  ZipBuilder& AddMember(std::string_view name, std::string_view data, bool deflate, std::uint32_t unix_mode);

  std::string members_;  // local headers and data, in order
  std::string central_;  // central directory headers, in the same order
  std::uint32_t count_ = 0;
};

// Lower-case hex SHA-256 for manifest fixtures, straight from OpenSSL's
// one-shot EVP_Digest (not the code under test).
std::string ManifestSha256(std::string_view data);

// A manifest.json the reader accepts (docs/archive-format.md): the required
// fields around `entries`; `fields` replace or add top-level fields (null
// removes one).
std::string ManifestText(const nlohmann::json& entries, const nlohmann::json& fields = nlohmann::json::object());
// The manifest entry of a stored member holding `data`.
nlohmann::json MemberEntry(std::string_view archive_path, std::string_view data);

}  // namespace trawl::test
