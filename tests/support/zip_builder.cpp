// SPDX-License-Identifier: Apache-2.0
#include "tests/support/zip_builder.h"

#include <openssl/evp.h>
#include <zlib.h>

#include <limits>
#include <stdexcept>

#include "tests/support/test_env.h"

namespace trawl::test {
namespace {

constexpr std::uint32_t kLocalHeaderSig = 0x04034b50;
constexpr std::uint32_t kCentralHeaderSig = 0x02014b50;
constexpr std::uint32_t kEndRecordSig = 0x06054b50;
constexpr std::uint16_t kVersionNeeded = 20;                        // 2.0: deflate
constexpr std::uint16_t kVersionMadeBy = (3u << 8) | 20u;           // Unix, 2.0
constexpr std::uint16_t kDosDate1980 = (0u << 9) | (1u << 5) | 1u;  // 1980-01-01, the DOS epoch
constexpr std::uint16_t kMethodStored = 0;
constexpr std::uint16_t kMethodDeflate = 8;

void Put16(std::string& out, std::uint16_t v) {
  out.push_back(static_cast<char>(v & 0xff));
  out.push_back(static_cast<char>(v >> 8));
}

void Put32(std::string& out, std::uint32_t v) {
  for (int shift = 0; shift < 32; shift += 8) out.push_back(static_cast<char>((v >> shift) & 0xff));
}

std::uint32_t Fit32(std::size_t n, const char* what) {
  if (n > std::numeric_limits<std::uint32_t>::max())
    throw std::length_error(std::string("zip: ") + what + " too large");
  return static_cast<std::uint32_t>(n);
}

std::uint16_t Fit16(std::size_t n, const char* what) {
  if (n > std::numeric_limits<std::uint16_t>::max())
    throw std::length_error(std::string("zip: ") + what + " too large");
  return static_cast<std::uint16_t>(n);
}

// Raw deflate (RFC 1951, no zlib wrapper), as zip method 8 stores it.
std::string Deflate(std::string_view data) {
  z_stream zs{};
  if (deflateInit2(&zs, Z_BEST_COMPRESSION, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY) != Z_OK) {
    throw std::runtime_error("zip: deflateInit2 failed");
  }
  std::string out(deflateBound(&zs, Fit32(data.size(), "member")), '\0');
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
  zs.avail_in = Fit32(data.size(), "member");
  zs.next_out = reinterpret_cast<Bytef*>(out.data());
  zs.avail_out = Fit32(out.size(), "member");
  const int rc = deflate(&zs, Z_FINISH);
  out.resize(zs.total_out);
  deflateEnd(&zs);
  if (rc != Z_STREAM_END) throw std::runtime_error("zip: deflate failed");
  return out;
}

}  // namespace

ZipBuilder& ZipBuilder::Add(std::string_view name, std::string_view data, bool deflate) {
  return AddMember(name, data, deflate, 0100644);
}

ZipBuilder& ZipBuilder::AddSymlink(std::string_view name, std::string_view target) {
  // Stored, like Info-ZIP's zip -y.
  return AddMember(name, target, false, 0120777);
}

ZipBuilder& ZipBuilder::AddMember(std::string_view name, std::string_view data, bool deflate, std::uint32_t unix_mode) {
  const std::string packed = deflate ? Deflate(data) : std::string(data);
  const std::uint16_t method = deflate ? kMethodDeflate : kMethodStored;
  const auto crc =
      static_cast<std::uint32_t>(crc32(0L, reinterpret_cast<const Bytef*>(data.data()), Fit32(data.size(), "member")));
  const std::uint32_t offset = Fit32(members_.size(), "archive");
  const std::uint16_t name_len = Fit16(name.size(), "member name");
  // The fields local and central headers share, from "version needed" to
  // "file name length" (APPNOTE 4.3.7 and 4.3.12).
  std::string common;
  Put16(common, kVersionNeeded);
  Put16(common, 0);  // flags: no encryption, no data descriptor, names not marked UTF-8
  Put16(common, method);
  Put16(common, 0);  // time 00:00:00
  Put16(common, kDosDate1980);
  Put32(common, crc);
  Put32(common, Fit32(packed.size(), "member"));
  Put32(common, Fit32(data.size(), "member"));
  Put16(common, name_len);

  Put32(members_, kLocalHeaderSig);
  members_ += common;
  Put16(members_, 0);  // extra field length
  members_.append(name);
  members_ += packed;
  Fit32(members_.size(), "archive");

  Put32(central_, kCentralHeaderSig);
  Put16(central_, kVersionMadeBy);
  central_ += common;
  Put16(central_, 0);                // extra field length
  Put16(central_, 0);                // comment length
  Put16(central_, 0);                // disk number start
  Put16(central_, 0);                // internal attributes
  Put32(central_, unix_mode << 16);  // external attributes: Unix mode in the high half
  Put32(central_, offset);
  central_.append(name);
  Fit16(++count_, "member count");
  return *this;
}

std::string ZipBuilder::Build() const {
  std::string out = members_ + central_;
  Put32(out, kEndRecordSig);
  Put16(out, 0);                              // this disk
  Put16(out, 0);                              // disk holding the central directory
  Put16(out, Fit16(count_, "member count"));  // entries on this disk
  Put16(out, Fit16(count_, "member count"));  // entries in total
  Put32(out, Fit32(central_.size(), "central directory"));
  Put32(out, Fit32(members_.size(), "archive"));  // central directory offset
  Put16(out, 0);                                  // comment length
  return out;
}

void ZipBuilder::WriteTo(const std::filesystem::path& path) const { WriteFile(path, Build()); }

std::string ManifestSha256(std::string_view data) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (EVP_Digest(data.data(), data.size(), md, &len, EVP_sha256(), nullptr) != 1) return "EVP_Digest failed";
  static constexpr char kHex[] = "0123456789abcdef";
  std::string hex;
  for (unsigned int i = 0; i < len; ++i) {
    hex += kHex[md[i] >> 4];
    hex += kHex[md[i] & 15];
  }
  return hex;
}

std::string ManifestText(const nlohmann::json& entries, const nlohmann::json& fields) {
  nlohmann::json m = {{"format", "trawl-archive"},
                      {"format_version", 1},
                      {"part", 1},
                      {"tool", "test"},
                      {"host", {{"hostname", "test-host"}, {"os", "linux"}}},
                      {"started", "2026-12-01T00:00:00.000Z"},
                      {"ended", "2026-12-01T00:00:01.000Z"},
                      {"result", "complete"},
                      {"entries", entries}};
  for (auto it = fields.begin(); it != fields.end(); ++it) {
    if (it.value().is_null())
      m.erase(it.key());
    else
      m[it.key()] = it.value();
  }
  return m.dump();
}

nlohmann::json MemberEntry(std::string_view archive_path, std::string_view data) {
  return {{"archive_path", archive_path},   {"source_path", ""}, {"type", "records"}, {"size", data.size()},
          {"sha256", ManifestSha256(data)}, {"status", "ok"}};
}

}  // namespace trawl::test
