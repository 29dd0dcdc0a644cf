// SPDX-License-Identifier: Apache-2.0
#include "core/archive/archive_reader.h"

#include <archive.h>
#include <archive_entry.h>

#include <fstream>
#include <map>
#include <set>

#include <fmt/format.h>

#include "core/archive/archive_paths.h"
#include "core/hash/multi_hasher.h"
#include "core/util/json_depth.h"
#include "core/util/text.h"

namespace trawl::core::archive {
namespace {

constexpr std::size_t kBufferSize = 64 * 1024;

Result<std::unique_ptr<std::ifstream>> OpenInput(const std::filesystem::path& path) {
  auto in = std::make_unique<std::ifstream>(path, std::ios::binary);
  if (!*in) return Fail(ErrorCode::kIo, fmt::format("{}: cannot open", path.string()));
  return in;
}

ByteSource StreamSource(std::ifstream* in, std::filesystem::path path) {
  return [in, path](std::span<std::byte> buf) -> Result<std::size_t> {
    in->read(reinterpret_cast<char*>(buf.data()), static_cast<std::streamsize>(buf.size()));
    if (in->bad()) return Fail(ErrorCode::kIo, fmt::format("{}: read error", path.string()));
    return static_cast<std::size_t>(in->gcount());
  };
}

// Peeks at the first bytes to tell a zip from an age file.
Result<bool> LooksLikeZip(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Fail(ErrorCode::kIo, fmt::format("{}: cannot open", path.string()));
  char magic[4] = {};
  in.read(magic, 4);
  return in.gcount() == 4 && magic[0] == 'P' && magic[1] == 'K' && magic[2] == 3 && magic[3] == 4;
}

class HashingStream final : public MemberStream {
 public:
  explicit HashingStream(ArchiveReader& r) : r_(r) {}
  Result<std::size_t> Read(std::span<std::byte> out) override {
    auto n = r_.Read(out);
    if (n && *n > 0) {
      hash_.Update(std::span<const std::byte>(out.data(), *n));
      size_ += *n;
    }
    return n;
  }
  std::uint64_t size() const { return size_; }
  std::string Hex() { return hash_.Hex(); }

 private:
  ArchiveReader& r_;
  core::Sha256 hash_;
  std::uint64_t size_ = 0;
};

// Reads what `read` yields until its end, refusing to hold more than
// max_bytes; `what` names the member in the error.
template <typename ReadFn>
Result<std::string> ReadToString(ReadFn read, std::uint64_t max_bytes, std::string_view what) {
  std::string out;
  std::vector<std::byte> buf(kBufferSize);
  while (true) {
    auto n = read(std::span<std::byte>(buf));
    if (!n) return std::unexpected(n.error());
    if (*n == 0) break;
    if (out.size() + *n > max_bytes) {
      return Fail(ErrorCode::kLimit, fmt::format("{} larger than {} bytes", what, max_bytes));
    }
    out.append(reinterpret_cast<const char*>(buf.data()), *n);
  }
  return out;
}

}  // namespace

Result<std::string> MemberStream::ReadAll(std::uint64_t max_bytes) {
  return ReadToString([this](std::span<std::byte> b) { return Read(b); }, max_bytes, "member");
}

ArchiveReader::~ArchiveReader() {
  if (archive_) archive_read_free(archive_);
}

std::ptrdiff_t ArchiveReader::ReadCallback(::archive*, void* self_ptr, const void** buffer) {
  auto* self = static_cast<ArchiveReader*>(self_ptr);
  *buffer = self->buffer_.data();
  if (self->source_failed_) return -1;
  auto got = self->source_(self->buffer_);
  if (!got) {
    self->source_failed_ = true;
    self->source_error_ = got.error();
    return -1;
  }
  return static_cast<std::ptrdiff_t>(*got);
}

Error ArchiveReader::LibError(std::string_view what) const {
  if (source_failed_) return source_error_.WithContext(path_.string());
  const char* msg = archive_ ? archive_error_string(archive_) : nullptr;
  return Error{ErrorCode::kFormat, fmt::format("{}: zip {}{}{}: {}", path_.string(), what,
                                               current_.empty() ? "" : " of member '",
                                               current_.empty() ? "" : EscapeForTerminal(current_) + "'",
                                               msg ? msg : "libarchive error")};
}

Result<std::unique_ptr<ArchiveReader>> ArchiveReader::Open(const std::filesystem::path& path,
                                                           const std::vector<age::Identity>& identities,
                                                           ReadLimits limits) {
  std::unique_ptr<ArchiveReader> r(new ArchiveReader());
  r->path_ = path;
  r->limits_ = limits;
  r->buffer_.resize(kBufferSize);
  auto is_zip = LooksLikeZip(path);
  if (!is_zip) return std::unexpected(is_zip.error());
  auto in = OpenInput(path);
  if (!in) return std::unexpected(in.error());
  r->file_ = std::move(*in);
  ByteSource file_source = StreamSource(r->file_.get(), path);
  if (*is_zip) {
    r->source_ = file_source;
  } else {
    auto dec = age::Decryptor::Open(file_source, identities);
    if (!dec) return std::unexpected(dec.error().WithContext(path.string()));
    r->decryptor_ = std::move(*dec);
    r->encrypted_ = true;
    age::Decryptor* d = r->decryptor_.get();
    r->source_ = [d](std::span<std::byte> buf) { return d->Read(buf); };
  }
  r->archive_ = archive_read_new();
  archive_read_support_format_zip_streamable(r->archive_);
  archive_read_set_options(r->archive_, "zip:hdrcharset=UTF-8");
  if (archive_read_open(r->archive_, r.get(), nullptr, &ArchiveReader::ReadCallback, nullptr) !=
      ARCHIVE_OK) {
    return std::unexpected(r->LibError("open"));
  }
  return r;
}

Result<std::optional<MemberInfo>> ArchiveReader::Next() {
  archive_entry* e = nullptr;
  current_.clear();
  const int rc = archive_read_next_header(archive_, &e);
  if (rc == ARCHIVE_EOF) return std::optional<MemberInfo>();
  if (rc < ARCHIVE_WARN) return std::unexpected(LibError("header"));
  if (++members_ > limits_.max_members) {
    return Fail(ErrorCode::kLimit, fmt::format("{}: more than {} members", path_.string(), limits_.max_members));
  }
  MemberInfo info;
  const char* utf8 = archive_entry_pathname_utf8(e);
  const char* raw = archive_entry_pathname(e);
  info.name = utf8 ? utf8 : (raw ? RepairUtf8(raw) : "");
  const auto type = archive_entry_filetype(e);
  info.is_dir = type == AE_IFDIR;
  info.is_link = type == AE_IFLNK || archive_entry_hardlink(e) != nullptr;
  info.is_regular = type == AE_IFREG && !info.is_link;
  current_ = info.name;
  current_read_ = 0;
  return info;
}

Result<std::size_t> ArchiveReader::Read(std::span<std::byte> out) {
  const la_ssize_t n = archive_read_data(archive_, out.data(), out.size());
  if (n < 0) return std::unexpected(LibError("data"));
  current_read_ += static_cast<std::uint64_t>(n);
  if (current_read_ > limits_.max_member_size) {
    return Fail(ErrorCode::kLimit, fmt::format("{}: member '{}' exceeds {} bytes (compression bomb?)",
                                               path_.string(), EscapeForTerminal(current_),
                                               limits_.max_member_size));
  }
  return static_cast<std::size_t>(n);
}

Result<std::string> ArchiveReader::ReadAll(std::uint64_t max_bytes) {
  return ReadToString([this](std::span<std::byte> b) { return Read(b); }, max_bytes,
                      fmt::format("{}: member '{}'", path_.string(), EscapeForTerminal(current_)));
}

Result<VerifyReport> WalkArchive(const std::filesystem::path& path,
                                 const std::vector<age::Identity>& identities,
                                 const MemberVisitor& visit) {
  auto reader = ArchiveReader::Open(path, identities);
  if (!reader) return std::unexpected(reader.error());
  ArchiveReader& r = **reader;
  VerifyReport report;
  struct Seen {
    std::uint64_t size;
    std::string sha256;
  };
  std::map<std::string, Seen> seen;
  std::vector<std::byte> buf(kBufferSize);
  bool have_manifest = false;
  while (true) {
    auto next = r.Next();
    if (!next) return std::unexpected(next.error());
    if (!*next) break;
    const MemberInfo& m = **next;
    if (auto safe = CheckSafeEntryName(m.name); !safe) {
      report.problems.push_back({m.name, safe.error().message});
    }
    if (m.is_link || (!m.is_regular && !m.is_dir)) {
      report.problems.push_back({m.name, "member is a link or special file"});
      continue;
    }
    if (m.is_dir) continue;
    if (m.name == "manifest.json") {
      if (have_manifest) report.problems.push_back({m.name, "duplicate manifest.json"});
      auto text = r.ReadAll(ReadLimits{}.max_manifest_size);
      if (!text) return std::unexpected(text.error());
      // Depth first: a deeply nested manifest parses but overflows the stack
      // when it is later copied or printed (core/util/json_depth.h).
      if (auto depth = CheckJsonNesting(*text, m.name); !depth) {
        report.problems.push_back({m.name, depth.error().message});
        continue;
      }
      try {
        report.manifest = nlohmann::json::parse(*text, nullptr, true, false);
        have_manifest = true;
      } catch (const std::exception& e) {
        report.problems.push_back({m.name, std::string("not valid JSON: ") + e.what()});
      }
      continue;
    }
    HashingStream stream(r);
    if (visit) {
      if (auto v = visit(m, stream); !v) {
        if (v.error().code == ErrorCode::kAuthentication || v.error().code == ErrorCode::kTruncated) {
          return std::unexpected(v.error());
        }
        report.problems.push_back({m.name, v.error().ToString()});
      }
    }
    while (true) {
      auto n = stream.Read(buf);
      if (!n) return std::unexpected(n.error());
      if (*n == 0) break;
    }
    const std::uint64_t size = stream.size();
    if (seen.contains(m.name)) report.problems.push_back({m.name, "duplicate member"});
    seen[m.name] = Seen{size, stream.Hex()};
    ++report.members_checked;
  }
  if (!have_manifest) {
    report.problems.push_back({"manifest.json", "missing: the archive is incomplete or not a trawl archive"});
    return report;
  }
  const auto& entries = report.manifest.contains("entries") ? report.manifest["entries"] : nlohmann::json();
  if (!entries.is_array()) {
    report.problems.push_back({"manifest.json", "has no entries array"});
    return report;
  }
  std::set<std::string> listed;
  for (const auto& e : entries) {
    if (!e.is_object() || !e.contains("archive_path") || !e["archive_path"].is_string()) continue;
    const std::string ap = e["archive_path"].get<std::string>();
    listed.insert(ap);
    auto it = seen.find(ap);
    if (it == seen.end()) {
      report.problems.push_back({ap, "listed in the manifest but missing from the archive"});
      continue;
    }
    // json::value() throws on a type mismatch: a lying manifest may hold
    // "size": "12" or -1; anything but an unsigned number counts as 0.
    const auto size_it = e.find("size");
    const auto size = size_it != e.end() && size_it->is_number_unsigned() ? size_it->get<std::uint64_t>()
                                                                         : std::uint64_t{0};
    const auto sha = e.contains("sha256") && e["sha256"].is_string() ? e["sha256"].get<std::string>() : "";
    if (size != it->second.size) {
      report.problems.push_back({ap, fmt::format("size {} differs from the manifest's {}", it->second.size, size)});
    }
    if (sha != it->second.sha256) {
      report.problems.push_back({ap, fmt::format("SHA-256 {} differs from the manifest's {}", it->second.sha256, sha)});
    }
  }
  for (const auto& [name, s] : seen) {
    if (!listed.contains(name)) report.problems.push_back({name, "member not listed in the manifest"});
  }
  report.ok = report.problems.empty();
  return report;
}

Result<VerifyReport> VerifyArchive(const std::filesystem::path& path,
                                   const std::vector<age::Identity>& identities) {
  return WalkArchive(path, identities, nullptr);
}

Result<ExtractReport> ExtractArchive(const std::filesystem::path& path,
                                     const std::vector<age::Identity>& identities,
                                     const std::filesystem::path& out_dir) {
  auto reader = ArchiveReader::Open(path, identities);
  if (!reader) return std::unexpected(reader.error());
  ArchiveReader& r = **reader;
  std::error_code ec;
  std::filesystem::create_directories(out_dir, ec);
  if (ec) return Fail(ErrorCode::kIo, fmt::format("{}: cannot create: {}", out_dir.string(), ec.message()));
  ExtractReport report;
  std::vector<std::byte> buf(kBufferSize);
  while (true) {
    auto next = r.Next();
    if (!next) return std::unexpected(next.error());
    if (!*next) break;
    const MemberInfo& m = **next;
    if (auto safe = CheckSafeEntryName(m.name); !safe) {
      report.refused.push_back({m.name, safe.error().message});
      continue;
    }
    if (m.is_link || (!m.is_regular && !m.is_dir)) {
      report.refused.push_back({m.name, "links and special files are not extracted"});
      continue;
    }
    const std::filesystem::path target = out_dir / std::filesystem::path(m.name);
    if (m.is_dir) {
      std::filesystem::create_directories(target, ec);
      continue;
    }
    std::filesystem::create_directories(target.parent_path(), ec);
    // Refuse to write through a symlink planted by an earlier member or
    // already present in out_dir.
    if (std::filesystem::is_symlink(target, ec) || std::filesystem::exists(target, ec)) {
      report.refused.push_back({m.name, "target exists (duplicate member or planted link)"});
      continue;
    }
    std::ofstream out(target, std::ios::binary | std::ios::trunc);
    if (!out) {
      // A name this file system refuses (on Windows: < > " | ? * or a device
      // name from a hand-made archive), or a member below a file: refuse this
      // one, named, and go on with the rest.
      report.refused.push_back({m.name, "cannot create it here (the local file system refuses the name or path)"});
      continue;
    }
    while (true) {
      auto n = r.Read(buf);
      if (!n) return std::unexpected(n.error());
      if (*n == 0) break;
      out.write(reinterpret_cast<const char*>(buf.data()), static_cast<std::streamsize>(*n));
    }
    if (!out) return Fail(ErrorCode::kIo, fmt::format("{}: write failed", target.string()));
    ++report.extracted;
  }
  return report;
}

Result<std::uint64_t> DecryptRaw(const std::filesystem::path& in_path,
                                 const std::vector<age::Identity>& identities,
                                 const std::filesystem::path& out_path) {
  auto in = OpenInput(in_path);
  if (!in) return std::unexpected(in.error());
  auto dec = age::Decryptor::Open(StreamSource(in->get(), in_path), identities);
  if (!dec) return std::unexpected(dec.error().WithContext(in_path.string()));
  std::filesystem::path partial = out_path;
  partial += ".partial";
  std::uint64_t total = 0;
  {
    std::ofstream out(partial, std::ios::binary | std::ios::trunc);
    if (!out) return Fail(ErrorCode::kIo, fmt::format("{}: cannot create", partial.string()));
    std::vector<std::byte> buf(kBufferSize);
    while (true) {
      auto n = (*dec)->Read(buf);
      if (!n) {
        out.close();
        std::error_code ec;
        std::filesystem::remove(partial, ec);
        return std::unexpected(n.error().WithContext(in_path.string()));
      }
      if (*n == 0) break;
      out.write(reinterpret_cast<const char*>(buf.data()), static_cast<std::streamsize>(*n));
      total += *n;
    }
    out.flush();
    if (!out) return Fail(ErrorCode::kIo, fmt::format("{}: write failed", partial.string()));
  }
  std::error_code ec;
  std::filesystem::rename(partial, out_path, ec);
  if (ec) return Fail(ErrorCode::kIo, fmt::format("{}: cannot rename: {}", out_path.string(), ec.message()));
  return total;
}

}  // namespace trawl::core::archive
