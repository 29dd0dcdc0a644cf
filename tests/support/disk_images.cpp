// SPDX-License-Identifier: Apache-2.0
#include "tests/support/disk_images.h"

#include <archive.h>
#include <archive_entry.h>
#include <zlib.h>

#include <array>
#include <cstdio>
#include <fstream>
#include <random>
#include <stdexcept>
#include <system_error>

#include "core/hash/multi_hasher.h"
#include "tests/support/test_env.h"

namespace trawl::test {
namespace {

bool EndsWith(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

// Inflates a .gz into `out`, seeking over all-zero blocks so a 1 GiB disk
// that is mostly empty takes little space.
void Inflate(const std::filesystem::path& gz, const std::filesystem::path& out) {
  gzFile in = gzopen(gz.string().c_str(), "rb");
  if (!in) throw std::runtime_error("cannot open " + gz.string());
  std::FILE* f = std::fopen(out.string().c_str(), "wb");
  if (!f) {
    gzclose(in);
    throw std::runtime_error("cannot write " + out.string());
  }
  std::array<char, 65536> buf{};
  static const std::array<char, 65536> zeros{};
  long long total = 0;
  while (true) {
    const int n = gzread(in, buf.data(), static_cast<unsigned>(buf.size()));
    if (n < 0) {
      std::fclose(f);
      gzclose(in);
      throw std::runtime_error("inflating " + gz.string() + " failed");
    }
    if (n == 0) break;
    if (n == static_cast<int>(buf.size()) && buf == zeros) {
      std::fseek(f, n, SEEK_CUR);
    } else {
      std::fwrite(buf.data(), 1, static_cast<std::size_t>(n), f);
    }
    total += n;
  }
  gzclose(in);
  std::fclose(f);
  std::filesystem::resize_file(out, static_cast<std::uintmax_t>(total));
}

// Decompresses a .xz into `out` with libarchive (the raw format behind the xz
// filter), seeking over all-zero blocks as Inflate does.
void Unxz(const std::filesystem::path& xz, const std::filesystem::path& out) {
  struct archive* a = archive_read_new();
  const auto fail = [&](const std::string& what) {
    const std::string why = archive_error_string(a) ? archive_error_string(a) : "unknown error";
    archive_read_free(a);
    std::error_code ec;
    std::filesystem::remove(out, ec);
    throw std::runtime_error(what + " " + xz.string() + ": " + why);
  };
  if (archive_read_support_filter_xz(a) < ARCHIVE_WARN) fail("no xz support for");
  archive_read_support_format_raw(a);
  if (archive_read_open_filename(a, xz.string().c_str(), 1 << 16) != ARCHIVE_OK) fail("cannot open");
  struct archive_entry* entry = nullptr;
  if (archive_read_next_header(a, &entry) != ARCHIVE_OK) fail("cannot read");
  // Without a working xz filter the raw format would hand back the
  // compressed bytes as they are.
  if (archive_filter_count(a) < 2 || archive_filter_code(a, 0) != ARCHIVE_FILTER_XZ) fail("not xz-decoded:");
  std::FILE* f = std::fopen(out.string().c_str(), "wb");
  if (!f) fail("cannot write " + out.string() + " from");
  std::array<char, 65536> buf{};
  static const std::array<char, 65536> zeros{};
  long long total = 0;
  while (true) {
    // Fill the whole buffer so that all-zero blocks line up.
    std::size_t got = 0;
    la_ssize_t n = 0;
    while (got < buf.size() && (n = archive_read_data(a, buf.data() + got, buf.size() - got)) > 0) {
      got += static_cast<std::size_t>(n);
    }
    if (n < 0) {
      std::fclose(f);
      fail("decompressing");
    }
    if (got == buf.size() && buf == zeros) {
      std::fseek(f, static_cast<long>(got), SEEK_CUR);
    } else if (got > 0) {
      std::fwrite(buf.data(), 1, got, f);
    }
    total += static_cast<long long>(got);
    if (got < buf.size()) break;
  }
  archive_read_free(a);
  std::fclose(f);
  std::filesystem::resize_file(out, static_cast<std::uintmax_t>(total));
}

}  // namespace

bool CanUnpackXz() {
  struct archive* a = archive_read_new();
  const int r = archive_read_support_filter_xz(a);
  archive_read_free(a);
  return r == ARCHIVE_OK || (r == ARCHIVE_WARN && HaveTool("xz"));
}

std::filesystem::path UnpackedImage(const std::filesystem::path& source, const std::string& member) {
  std::error_code ec;
  if (!std::filesystem::exists(source, ec)) return {};
  const std::string name = source.filename().string();
  const bool gz = EndsWith(name, ".gz") && !EndsWith(name, ".tar.gz");
  const bool tgz = EndsWith(name, ".tgz") || EndsWith(name, ".tar.gz");
  const bool zip = EndsWith(name, ".zip");
  const bool xz = EndsWith(name, ".xz") && !EndsWith(name, ".tar.xz");
  if (!gz && !tgz && !zip && !xz) return source;
  const auto dir = std::filesystem::temp_directory_path() / "trawl-test-images";
  std::filesystem::create_directories(dir);
  const std::string key = name + "-" + std::to_string(std::filesystem::file_size(source)) +
                          (member.empty() ? "" : "-" + std::filesystem::path(member).filename().string());
  const auto done = dir / (key + ".raw");
  if (std::filesystem::exists(done, ec)) return done;
  const std::string unique = std::to_string(std::random_device{}());
  const auto tmp = dir / (key + ".tmp" + unique);
  if (gz) {
    Inflate(source, tmp);
  } else if (xz) {
    Unxz(source, tmp);
  } else {
    const auto work = dir / (key + ".dir" + unique);
    std::filesystem::create_directories(work);
    const auto r = tgz ? RunCommand({"tar", "-xzf", source.string(), "-C", work.string(), member})
                       : RunCommand({"unzip", "-o", "-q", source.string(), member, "-d", work.string()});
    if (r.exit_code != 0) {
      std::filesystem::remove_all(work, ec);
      throw std::runtime_error("unpacking " + member + " from " + source.string() + " failed: " + r.err);
    }
    std::filesystem::rename(work / member, tmp);
    std::filesystem::remove_all(work, ec);
  }
  std::filesystem::rename(tmp, done, ec);  // another test process may have won the race: same bytes
  if (ec) std::filesystem::remove(tmp, ec);
  return done;
}

std::string TskSha256(const std::filesystem::path& image, const std::string& path, std::uint64_t sector_offset) {
  const std::string offset = std::to_string(sector_offset);
  auto inode = RunCommand({"ifind", "-o", offset, "-n", path, image.string()});
  if (inode.exit_code != 0) return "ifind failed: " + inode.err;
  auto cat = RunCommand({"icat", "-o", offset, image.string(), inode.out.substr(0, inode.out.find('\n'))});
  if (cat.exit_code != 0) return "icat failed: " + cat.err;
  return core::Sha256Hex(core::AsBytes(cat.out));
}

}  // namespace trawl::test
