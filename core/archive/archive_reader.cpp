// SPDX-License-Identifier: Apache-2.0
#include "core/archive/layout.h"
#include "core/archive/archive_reader.h"

#include <archive.h>
#include <archive_entry.h>

#include <array>
#include <fstream>
#include <istream>
#include <map>
#include <set>
#include <streambuf>

#include <fmt/format.h>

#include "core/archive/archive_paths.h"
#include "core/hash/multi_hasher.h"
#include "core/util/json_depth.h"
#include "core/util/text.h"

namespace trawl::core::archive {
namespace {

constexpr std::size_t kBufferSize = 64 * 1024;
constexpr std::size_t kMaxProblems = 1000;                   // listed in a report; the rest counted
constexpr std::uint64_t kMaxMemberNameBytes = 256ull << 20;  // names kept while walking

Result<std::unique_ptr<std::ifstream>> OpenInput(const std::filesystem::path& path) {
  auto in = std::make_unique<std::ifstream>(path, std::ios::binary);
  if (!*in) return Fail(ErrorCode::kIo, fmt::format("{}: cannot open", path.string()));
  return in;
}

ByteSource StreamSource(std::ifstream* in, const std::filesystem::path& path) {
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
  return Error{ErrorCode::kFormat,
               fmt::format("{}: zip {}{}{}: {}", path_.string(), what, current_.empty() ? "" : " of member '",
                           current_.empty() ? "" : EscapeForTerminal(current_) + "'", msg ? msg : "libarchive error")};
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
  std::error_code ec;
  const std::uint64_t file_size = std::filesystem::file_size(path, ec);
  const std::uint64_t by_ratio =
      ec ? limits.max_total_inflated
         : (file_size > limits.max_total_inflated / std::max<std::uint64_t>(1, limits.max_inflation_ratio)
                ? limits.max_total_inflated
                : file_size * limits.max_inflation_ratio);
  r->inflation_cap_ = std::min(limits.max_total_inflated, std::max(limits.inflation_floor, by_ratio));
  ByteSource file_source = StreamSource(r->file_.get(), path);
  ByteSource plain;
  if (*is_zip) {
    plain = file_source;
  } else {
    auto dec = age::Decryptor::Open(file_source, identities);
    if (!dec) return std::unexpected(dec.error().WithContext(path.string()));
    r->decryptor_ = std::move(*dec);
    r->encrypted_ = true;
    age::Decryptor* d = r->decryptor_.get();
    plain = [d](std::span<std::byte> buf) { return d->Read(buf); };
  }
  // Every plaintext byte passes here once: the content hash.
  ArchiveReader* self = r.get();
  r->source_ = [self, plain](std::span<std::byte> buf) -> Result<std::size_t> {
    auto n = plain(buf);
    if (n && *n > 0) self->content_hash_.Update(Bytes(buf.data(), *n));
    return n;
  };
  r->archive_ = archive_read_new();
  archive_read_support_format_zip_streamable(r->archive_);
  archive_read_set_options(r->archive_, "zip:hdrcharset=UTF-8");
  if (archive_read_open(r->archive_, r.get(), nullptr, &ArchiveReader::ReadCallback, nullptr) != ARCHIVE_OK) {
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
  inflated_ += static_cast<std::uint64_t>(n);
  if (current_read_ > limits_.max_member_size) {
    return Fail(ErrorCode::kLimit, fmt::format("{}: member '{}' exceeds {} bytes (compression bomb?)", path_.string(),
                                               EscapeForTerminal(current_), limits_.max_member_size));
  }
  if (inflated_ > inflation_cap_) {
    return Fail(ErrorCode::kLimit,
                fmt::format("{}: inflates to more than {} bytes (at member '{}'; the cap is the larger of {} bytes "
                            "and {}x the archive's size, at most {}): a compression bomb? Raise --max-inflated or "
                            "--max-inflation-ratio for a genuine archive",
                            path_.string(), inflation_cap_, EscapeForTerminal(current_), limits_.inflation_floor,
                            limits_.max_inflation_ratio, limits_.max_total_inflated));
  }
  return static_cast<std::size_t>(n);
}

Result<std::string> ArchiveReader::FinishContent() {
  std::vector<std::byte> buf(kBufferSize);
  while (!source_failed_) {
    auto n = source_(buf);
    if (!n) return std::unexpected(n.error().WithContext(path_.string()));
    if (*n == 0) break;
  }
  if (source_failed_) return std::unexpected(source_error_.WithContext(path_.string()));
  return content_hash_.Hex();
}

Result<std::string> ArchiveReader::ReadAll(std::uint64_t max_bytes) {
  return ReadToString([this](std::span<std::byte> b) { return Read(b); }, max_bytes,
                      fmt::format("{}: member '{}'", path_.string(), EscapeForTerminal(current_)));
}

namespace {

// A member's data as a std::streambuf, for the streaming manifest parser; a
// read error is kept (and ends the input) so the caller can report it as is.
class MemberBuf final : public std::streambuf {
 public:
  explicit MemberBuf(MemberStream& r) : r_(r) {}
  const std::optional<Error>& error() const { return error_; }

 protected:
  int_type underflow() override {
    if (error_) return traits_type::eof();
    auto n = r_.Read(std::span<std::byte>(reinterpret_cast<std::byte*>(buf_.data()), buf_.size()));
    if (!n) {
      error_ = n.error();
      return traits_type::eof();
    }
    if (*n == 0) return traits_type::eof();
    setg(buf_.data(), buf_.data(), buf_.data() + *n);
    return traits_type::to_int_type(buf_[0]);
  }

 private:
  MemberStream& r_;
  std::array<char, kBufferSize> buf_{};
  std::optional<Error> error_;
};

// Errors after which the rest of an archive cannot be trusted: the walk
// ends with them.
bool EndsTheWalk(const Error& e) { return e.code == ErrorCode::kAuthentication || e.code == ErrorCode::kTruncated; }

}  // namespace

Result<VerifyReport> WalkArchive(const std::filesystem::path& path, const std::vector<age::Identity>& identities,
                                 const MemberVisitor& visit) {
  WalkOptions options;
  options.visit = visit;
  return WalkArchive(path, identities, options);
}

Result<VerifyReport> WalkArchive(const std::filesystem::path& path, const std::vector<age::Identity>& identities,
                                 const WalkOptions& options) {
  auto reader = ArchiveReader::Open(path, identities, options.limits);
  if (!reader) return std::unexpected(reader.error());
  ArchiveReader& r = **reader;
  VerifyReport report;
  // Problems and member names are kept for the report: both are capped, so a
  // forged archive of millions of bad members costs no more than the caps.
  std::uint64_t omitted = 0;
  auto problem = [&](VerifyProblem p) {
    if (report.problems.size() < kMaxProblems)
      report.problems.push_back(std::move(p));
    else
      ++omitted;
  };
  std::uint64_t name_bytes = 0;
  struct Seen {
    std::uint64_t size;
    std::string sha256;
    bool listed = false;
  };
  std::map<std::string, Seen, std::less<>> seen;
  std::vector<std::byte> buf(kBufferSize);
  bool have_manifest = false;
  bool manifest_parsed = false;
  // Problems are listed under the member's name: the message need not repeat it.
  const std::string where = std::string(kManifestMember);
  while (true) {
    auto next = r.Next();
    if (!next) return std::unexpected(next.error());
    if (!*next) break;
    const MemberInfo& m = **next;
    if (auto safe = CheckSafeEntryName(m.name); !safe) {
      problem({m.name, safe.error().message});
    }
    if (m.is_link || (!m.is_regular && !m.is_dir)) {
      // trawl never writes links. libarchive's streaming reader cannot tell
      // where a compressed link member ends, so members after one may be
      // lost; the manifest check below then names what is missing.
      problem({m.name,
               "member is a link or special file (never written by trawl; members after "
               "a compressed link may be unreadable by a streaming reader)"});
      continue;
    }
    if (m.is_dir) continue;
    if (have_manifest) {
      problem({m.name,
               m.name == kManifestMember ? "duplicate manifest.json" : "member after manifest.json (it must be last)"});
      continue;
    }
    if (m.name == kManifestMember) {
      have_manifest = true;
      // Each entry is checked as it streams past; nothing of the entries is kept.
      auto on_entry = [&](const ManifestEntry& e, std::uint64_t index) -> Result<void> {
        if (e.archive_path) {
          const std::string& ap = *e.archive_path;
          auto it = seen.find(ap);
          if (it == seen.end()) {
            problem({ap, "listed in the manifest but missing from the archive"});
          } else {
            if (it->second.listed) problem({ap, "listed twice in the manifest"});
            it->second.listed = true;
            if (e.size != it->second.size) {
              problem({ap, fmt::format("size {} differs from the manifest's {}", it->second.size, e.size)});
            }
            if (e.sha256.value_or("") != it->second.sha256) {
              problem({ap, fmt::format("SHA-256 {} differs from the manifest's {}", it->second.sha256,
                                       e.sha256.value_or(""))});
            }
          }
        }
        if (options.on_entry) return options.on_entry(e, index);
        return {};
      };
      HashingStream stream(r);
      MemberBuf mbuf(stream);
      std::istream min(&mbuf);
      auto parsed = ParseManifest(min, where, on_entry, options.limits.manifest);
      if (mbuf.error()) return std::unexpected(*mbuf.error());
      // What the parser left (trailing bytes, or all after an error) is
      // read too: the member's size is what an extraction would write.
      while (true) {
        auto n = stream.Read(buf);
        if (!n) return std::unexpected(n.error());
        if (*n == 0) break;
      }
      report.manifest_bytes = stream.size();
      if (!parsed) {
        std::string message = parsed.error().message;
        if (message.starts_with(where + ": ")) message.erase(0, where.size() + 2);
        problem({std::string(kManifestMember), std::move(message)});
        continue;
      }
      report.manifest = std::move(*parsed);
      manifest_parsed = true;
      continue;
    }
    HashingStream stream(r);
    if (options.visit) {
      if (auto v = options.visit(m, stream); !v) {
        if (EndsTheWalk(v.error())) return std::unexpected(v.error());
        problem({m.name, v.error().ToString()});
      }
    }
    while (true) {
      auto n = stream.Read(buf);
      if (!n) return std::unexpected(n.error());
      if (*n == 0) break;
    }
    const std::uint64_t size = stream.size();
    if (seen.contains(m.name)) {
      problem({m.name, "duplicate member"});
    } else {
      name_bytes += m.name.size();
      if (name_bytes > kMaxMemberNameBytes) {
        return Fail(ErrorCode::kLimit,
                    fmt::format("{}: member names add up to more than {} bytes", path.string(), kMaxMemberNameBytes));
      }
    }
    seen[m.name] = Seen{size, stream.Hex()};
    ++report.members_checked;
  }
  if (omitted > 0) report.problems.push_back({"(archive)", fmt::format("... and {} more problems", omitted)});
  auto content = r.FinishContent();
  if (!content) return std::unexpected(content.error());
  report.content_sha256 = std::move(*content);
  report.inflated_bytes = r.inflated();
  if (!have_manifest) {
    problem({"manifest.json", "missing: the archive is incomplete or not a trawl archive"});
    return report;
  }
  if (!manifest_parsed) return report;
  for (const auto& [name, s] : seen) {
    if (!s.listed) problem({name, "member not listed in the manifest"});
  }
  report.ok = report.problems.empty();
  return report;
}

Result<VerifyReport> VerifyArchive(const std::filesystem::path& path, const std::vector<age::Identity>& identities,
                                   const ReadLimits& limits) {
  WalkOptions options;
  options.limits = limits;
  return WalkArchive(path, identities, options);
}

namespace {

Result<std::uint64_t> AvailableBytes(const std::filesystem::path& dir, const std::optional<std::uint64_t>& given) {
  if (given) return *given;
  std::error_code ec;
  const auto info = std::filesystem::space(dir, ec);
  if (ec) return Fail(ErrorCode::kIo, fmt::format("{}: cannot tell the free space: {}", dir.string(), ec.message()));
  return static_cast<std::uint64_t>(info.available);
}

Result<void> CheckRoom(const std::filesystem::path& dir, std::uint64_t need, const ExtractOptions& options) {
  auto available = AvailableBytes(dir, options.available);
  if (!available) return std::unexpected(available.error());
  if (need + options.reserve > *available) {
    return Fail(ErrorCode::kLimit,
                fmt::format("{}: needs {} bytes ({:.1f} MiB) plus {} MiB kept free, but only {} bytes ({:.1f} MiB) "
                            "are available; nothing was written",
                            dir.string(), need, static_cast<double>(need) / 1048576.0, options.reserve >> 20,
                            *available, static_cast<double>(*available) / 1048576.0));
  }
  return {};
}

}  // namespace

Result<ExtractReport> ExtractArchive(const std::filesystem::path& path, const std::vector<age::Identity>& identities,
                                     const std::filesystem::path& out_dir, const ExtractOptions& options) {
  std::error_code ec;
  std::filesystem::create_directories(out_dir, ec);
  if (ec) return Fail(ErrorCode::kIo, fmt::format("{}: cannot create: {}", out_dir.string(), ec.message()));
  // Pass 1: verify, and measure what each member inflates to (the manifest's
  // sizes are the archive author's claim; these are what will be written).
  std::map<std::string, std::uint64_t, std::less<>> sizes;
  std::uint64_t need = 0;
  WalkOptions walk;
  walk.limits = options.limits;
  std::vector<std::byte> buf(kBufferSize);
  walk.visit = [&](const MemberInfo& m, MemberStream& stream) -> Result<void> {
    std::uint64_t n = 0;
    while (true) {
      auto got = stream.Read(buf);
      if (!got) return std::unexpected(got.error());
      if (*got == 0) break;
      n += *got;
    }
    if (sizes.emplace(m.name, n).second) need += n;
    return {};
  };
  auto verified = WalkArchive(path, identities, walk);
  if (!verified) return std::unexpected(verified.error());
  if (sizes.emplace(std::string(kManifestMember), verified->manifest_bytes).second) need += verified->manifest_bytes;
  TRAWL_TRY_VOID(CheckRoom(out_dir, need, options));
  ExtractReport report;
  report.problems = verified->problems;
  // Pass 2: write.
  auto reader = ArchiveReader::Open(path, identities, options.limits);
  if (!reader) return std::unexpected(reader.error());
  ArchiveReader& r = **reader;
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
    const auto measured = sizes.find(m.name);
    const std::uint64_t allowed = measured == sizes.end() ? 0 : measured->second;
    std::ofstream out(target, std::ios::binary | std::ios::trunc);
    if (!out) {
      // A name this file system refuses (on Windows: < > " | ? * or a device
      // name from a hand-made archive), or a member below a file: refuse this
      // one, named, and go on with the rest.
      report.refused.push_back({m.name, "cannot create it here (the local file system refuses the name or path)"});
      continue;
    }
    std::uint64_t written = 0;
    while (true) {
      auto n = r.Read(buf);
      if (!n) return std::unexpected(n.error());
      if (*n == 0) break;
      if (written + *n > allowed) {
        // The file changed between the passes: never write more than was measured.
        return Fail(ErrorCode::kFormat, fmt::format("{}: member '{}' grew between the verification and the "
                                                    "extraction pass; stopped",
                                                    path.string(), EscapeForTerminal(m.name)));
      }
      out.write(reinterpret_cast<const char*>(buf.data()), static_cast<std::streamsize>(*n));
      written += *n;
    }
    if (!out) return Fail(ErrorCode::kIo, fmt::format("{}: write failed", target.string()));
    ++report.extracted;
    report.bytes += written;
  }
  return report;
}

Result<std::uint64_t> DecryptRaw(const std::filesystem::path& in_path, const std::vector<age::Identity>& identities,
                                 const std::filesystem::path& out_path) {
  auto in = OpenInput(in_path);
  if (!in) return std::unexpected(in.error());
  auto dec = age::Decryptor::Open(StreamSource(in->get(), in_path), identities);
  if (!dec) return std::unexpected(dec.error().WithContext(in_path.string()));
  std::filesystem::path partial = out_path;
  partial += ".partial";
  {
    // The plaintext is a little smaller than the age file.
    std::error_code ec;
    const std::uint64_t size = std::filesystem::file_size(in_path, ec);
    std::filesystem::path dir = out_path.parent_path();
    if (dir.empty()) dir = ".";
    if (!ec) TRAWL_TRY_VOID(CheckRoom(dir, size, ExtractOptions{}));
  }
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
