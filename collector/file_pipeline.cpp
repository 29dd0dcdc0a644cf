// SPDX-License-Identifier: Apache-2.0
#include "collector/file_pipeline.h"

#include <fmt/format.h>

#include <algorithm>
#include <span>
#include <vector>

#include "core/profile/kinds.h"
#include "core/archive/archive_paths.h"
#include "core/formats/pe.h"
#include "core/util/text.h"
#include "core/util/time.h"

namespace trawl::collector {
namespace {

using core::Bytes;
using core::ErrorCode;

constexpr std::size_t kChunk = 1u << 20;

enum class Magic { kNone, kPe, kElf, kMachO };

Magic DetectMagic(Bytes b) {
  auto at = [&](std::size_t i) { return static_cast<unsigned char>(b[i]); };
  if (b.size() >= 2 && at(0) == 'M' && at(1) == 'Z') return Magic::kPe;
  if (b.size() >= 4 && at(0) == 0x7F && at(1) == 'E' && at(2) == 'L' && at(3) == 'F') return Magic::kElf;
  if (b.size() >= 4) {
    const std::uint32_t m = at(0) | (at(1) << 8) | (at(2) << 16) | (static_cast<std::uint32_t>(at(3)) << 24);
    if (m == 0xFEEDFACE || m == 0xFEEDFACF || m == 0xCEFAEDFE || m == 0xCFFAEDFE || m == 0xBEBAFECA) {
      return Magic::kMachO;
    }
  }
  return Magic::kNone;
}

bool LibraryByName(std::string_view name) {
  for (std::string_view ext : {".exe", ".dll", ".sys", ".ocx", ".cpl", ".scr", ".so", ".dylib", ".node", ".drv", ".efi",
                               ".msi", ".ps1", ".bat", ".cmd", ".vbs", ".js", ".sh"}) {
    if (core::EndsWithIgnoreCaseAscii(name, ext)) return true;
  }
  return name.find(".so.") != std::string_view::npos;
}

template <std::size_t N>
void HexToBytes(const std::string& hex, std::array<std::uint8_t, N>& out) {
  auto nib = [](char c) { return c <= '9' ? c - '0' : c - 'a' + 10; };
  for (std::size_t i = 0; i < N && 2 * i + 1 < hex.size(); ++i) {
    out[i] = static_cast<std::uint8_t>(nib(hex[2 * i]) << 4 | nib(hex[2 * i + 1]));
  }
}

template <std::size_t N>
std::string BytesToHex(const std::array<std::uint8_t, N>& b) {
  return core::ToHex(Bytes(reinterpret_cast<const std::byte*>(b.data()), N));
}

}  // namespace

void ProductColumns::ApplyTo(Record& r) const {
  r.SetText("product", product);
  r.SetText("vendor", vendor);
  r.SetText("category", category);
}

void FilePipeline::ApplyPe(const PeColumns& pe, Record& r) {
  r.SetText("pe_machine", pe.machine);
  r.SetBool("pe_is_dll", pe.is_dll);
  r.SetInt("pe_timestamp", pe.timestamp);
  r.SetText("pe_imphash", pe.imphash);
  r.SetBool("pe_signed", pe.signed_);
  r.SetText("pe_signer", pe.signer);
  r.SetBool("pe_digest_matches", pe.digest_matches);
  r.SetBool("pe_padding_anomaly", pe.padding_anomaly);
  const std::pair<const char*, const std::string*> version[] = {{"pe_original_filename", &pe.original_filename},
                                                                {"pe_product", &pe.product},
                                                                {"pe_company", &pe.company},
                                                                {"pe_description", &pe.description},
                                                                {"pe_file_version", &pe.file_version}};
  for (const auto& [column, value] : version) {
    if (!value->empty()) r.SetText(column, *value);
  }
}

FilePipeline::CacheValue* FilePipeline::CacheFind(const CacheKey& key) {
  if (auto it = cache_new_.find(key); it != cache_new_.end()) return &it->second;
  auto old = cache_old_.find(key);
  if (old == cache_old_.end()) return nullptr;
  CacheValue v = std::move(old->second);
  cache_old_.erase(old);
  CacheStore(key, std::move(v));
  return &cache_new_.at(key);
}

void FilePipeline::CacheStore(const CacheKey& key, CacheValue value) {
  if (cache_new_.size() >= kCacheGeneration && !cache_new_.contains(key)) {
    // The older generation goes; what was used since it was made moved on.
    cache_old_ = std::move(cache_new_);
    cache_new_ = CacheMap();
  }
  cache_new_.insert_or_assign(key, std::move(value));
}

void StopControl::RequestStop(std::string reason) {
  std::lock_guard lock(mu_);
  if (reason_.empty()) reason_ = std::move(reason);
  stop_ = true;
}

bool StopControl::ShouldStop() {
  if (stop_) return true;
  if (signal_flag_ != nullptr) {
    if (const int sig = signal_flag_->load(); sig != 0) {
      RequestStop(fmt::format("signal {}", sig == 15 ? "SIGTERM" : sig == 2 ? "SIGINT" : std::to_string(sig)));
      return true;
    }
  }
  if (deadline_ && std::chrono::steady_clock::now() >= *deadline_) {
    RequestStop("time_limit");
    return true;
  }
  return false;
}

std::string StopControl::reason() {
  std::lock_guard lock(mu_);
  return reason_;
}

void AddMetaFields(const FileMeta& meta, Record& r) {
  r.SetText("type", meta.type);
  r.SetUInt("size", meta.size);
  r.SetInt("mode", static_cast<std::int64_t>(meta.mode));
  r.SetInt("uid", meta.uid);
  r.SetInt("gid", meta.gid);
  r.SetText("mtime", core::UnixNsToIso(meta.mtime_ns));
  r.SetText("atime", core::UnixNsToIso(meta.atime_ns));
  r.SetText("ctime", core::UnixNsToIso(meta.ctime_ns));
  r.SetText("btime", core::UnixNsToIso(meta.btime_ns));
  if (!meta.access.empty()) r.SetText("access", meta.access);
}

FileAccess ParseFileAccess(std::string_view text) {
  if (text == "api") return FileAccess::kApi;
  if (text == "raw") return FileAccess::kRaw;
  return FileAccess::kAuto;
}

// Opens a request's file as its access mode says: the file API first, the
// volume for a file another process holds locked.
Result<std::unique_ptr<FileReader>> OpenWithAccess(Platform& platform, const FileRequest& req) {
  if (req.access == FileAccess::kRaw) return platform.OpenRaw(req.host_path);
  auto opened = platform.OpenForRead(req.host_path);
  if (opened || req.access == FileAccess::kApi || opened.error().code != ErrorCode::kLocked) return opened;
  auto raw = platform.OpenRaw(req.host_path);
  if (raw) return raw;
  return core::Fail(ErrorCode::kLocked, fmt::format("{}; the raw read of its volume failed too: {}",
                                                    opened.error().message, raw.error().message));
}

// A record that broke its table's declaration (a key it does not declare, a
// value of the wrong type) is a collector bug: the key would land in
// triage's `extra` JSON where no rule looks. Logged once per table and
// misuse as an error event, which the end-to-end tests look for.
core::Result<void> FilePipeline::AddRecord(const Record& record) {
  std::lock_guard lock(archive_mu_);
  return AddRecordLocked(record);
}

core::Result<void> FilePipeline::AddRecords(std::span<const Record> records) {
  std::lock_guard lock(archive_mu_);
  for (const Record& r : records) TRAWL_TRY_VOID(AddRecordLocked(r));
  return {};
}

core::Result<void> FilePipeline::AddRecordLocked(const Record& record) {
  for (const std::string& m : record.misuse()) {
    std::string id = std::string(record.table()) + "." + m;
    if (!undeclared_.insert(id).second) continue;
    archive_.Log("error", "undeclared_record_field",
                 {{"table", std::string(record.table())}, {"field", m.substr(0, m.find(':'))}, {"why", m}});
  }
  line_.clear();
  record.AppendJson(line_);
  return archive_.AddRecordLine(record.table(), line_);
}

void FilePipeline::AddItem(const core::archive::ItemRecord& item) {
  std::lock_guard lock(archive_mu_);
  archive_.AddItem(item);
}

void FilePipeline::Log(std::string_view level, std::string_view event, nlohmann::json fields) {
  std::lock_guard lock(archive_mu_);
  archive_.Log(level, event, std::move(fields));
}

std::unique_ptr<FilePipeline::Scratch> FilePipeline::TakeScratch() {
  {
    std::lock_guard lock(scratch_mu_);
    if (!scratch_.empty()) {
      auto s = std::move(scratch_.back());
      scratch_.pop_back();
      return s;
    }
  }
  auto s = std::make_unique<Scratch>();
  s->buffer.resize(kChunk);
  return s;
}

void FilePipeline::GiveScratch(std::unique_ptr<Scratch> scratch) {
  if (!scratch) return;
  std::lock_guard lock(scratch_mu_);
  scratch_.push_back(std::move(scratch));
}

FileOutcome FilePipeline::Process(const FileRequest& req) {
  FileOutcome out;
  Record& r = out.record;
  r.SetText("path", req.target_path);
  r.SetText("source_path", req.host_path);
  r.SetText("artifact", req.artifact);
  r.SetText("status", "ok");
  if (req.product) req.product->ApplyTo(r);
  if (stop_.ShouldStop()) {
    r.SetText("status", "skipped");
    r.SetText("error", "collection stopped: " + stop_.reason());
    return out;
  }
  auto opened = OpenWithAccess(platform_, req);
  if (!opened) {
    const auto code = opened.error().code;
    r.SetText("status",
              code == ErrorCode::kNotFound ? "vanished" : (code == ErrorCode::kUnsupported ? "skipped" : "error"));
    r.SetText("error", opened.error().message);
    if (auto st = platform_.Stat(req.host_path); st) AddMetaFields(*st, r);
    out.error = code != ErrorCode::kUnsupported;
    return out;
  }
  FileReader& file = **opened;
  const FileMeta meta = file.meta();
  AddMetaFields(meta, r);
  if (req.max_file_size > 0 && meta.size > req.max_file_size) {
    r.SetText("status", "skipped");
    r.SetText("error", fmt::format("larger than max_file_size ({} > {} bytes)", meta.size, req.max_file_size));
    return out;
  }
  if (!req.hash && !req.copy.copy) return out;

  const CacheKey key{meta.device, meta.inode, meta.size, meta.mtime_ns};
  {
    std::lock_guard lock(cache_mu_);
    if (const CacheValue* hit = CacheFind(key)) {
      const bool wants_copy = req.copy.copy || req.copy.copy_executables || req.copy.small_files_max > 0;
      const CacheExtra* extra = hit->extra.get();
      const bool was_copied = extra && !extra->copied_as.empty();
      if ((!wants_copy || was_copied) && (hit->hashed || !req.hash)) {
        if (hit->hashed) {
          r.SetText("md5", BytesToHex(hit->md5));
          r.SetText("sha1", BytesToHex(hit->sha1));
          r.SetText("sha256", BytesToHex(hit->sha256));
          r.SetReal("entropy", hit->entropy);
        }
        r.SetBool("is_pe", extra != nullptr && extra->pe.has_value());
        if (extra) {
          if (extra->pe) ApplyPe(*extra->pe, r);
          if (was_copied) r.SetText("copied_as", extra->copied_as);
        }
        ++cache_hits_;
        return out;
      }
    }
  }

  // The digests are fetched from OpenSSL's provider once per Scratch, not for every file.
  std::unique_ptr<Scratch> scratch = TakeScratch();
  class GiveBack {
   public:
    GiveBack(FilePipeline* pipeline, std::unique_ptr<Scratch>* scratch) : pipeline_(pipeline), scratch_(scratch) {}
    GiveBack(const GiveBack&) = delete;
    GiveBack& operator=(const GiveBack&) = delete;
    GiveBack(GiveBack&&) = delete;
    GiveBack& operator=(GiveBack&&) = delete;
    ~GiveBack() { pipeline_->GiveScratch(std::move(*scratch_)); }

   private:
    FilePipeline* pipeline_;
    std::unique_ptr<Scratch>* scratch_;
  } give_back(this, &scratch);
  core::MultiHasher& hasher = scratch->hasher;
  hasher.Reset();
  std::optional<core::formats::PeAnalyzer> pe;
  std::unique_lock<std::mutex> archive_lock(archive_mu_, std::defer_lock);
  bool copying = false;
  std::string copied_as;
  std::string status = "ok";
  std::string error;
  Magic magic = Magic::kNone;
  std::vector<std::byte>& buffer = scratch->buffer;
  // Read no more than the size seen at open: a file appended to (or
  // extended) faster than we hash would otherwise keep us reading forever.
  // The Restat below then reports "changed". Size 0 (procfs and the like)
  // reads to EOF, within max_file_size.
  const std::uint64_t read_cap = meta.size > 0 ? meta.size : req.max_file_size;
  bool first = true;
  while (true) {
    if (stop_.ShouldStop()) {
      status = "truncated";
      error = "collection stopped while reading: " + stop_.reason();
      break;
    }
    std::span<std::byte> slice(buffer);
    if (read_cap > 0) {
      if (out.bytes_read >= read_cap) break;
      slice = slice.first(static_cast<std::size_t>(std::min<std::uint64_t>(slice.size(), read_cap - out.bytes_read)));
    }
    auto n = file.Read(slice);
    if (!n) {
      status = "error";
      error = n.error().message;
      out.error = true;
      break;
    }
    if (*n == 0) break;
    const Bytes chunk(buffer.data(), *n);
    if (first) {
      first = false;
      magic = DetectMagic(chunk);
      if (magic == Magic::kPe && req.pe_analysis) pe.emplace();
      const bool executable = magic != Magic::kNone || LibraryByName(req.target_path);
      bool want = req.copy.copy || (req.copy.copy_executables && executable) ||
                  (!executable && req.copy.small_files_max > 0 && meta.size <= req.copy.small_files_max);
      if (req.copy.copy_max_size > 0 && meta.size > req.copy.copy_max_size) want = false;
      if (want) {
        archive_lock.lock();
        const std::string apath = req.archive_path.empty()
                                      ? core::archive::ArchivePathForSource(req.target_path, req.windows_target)
                                      : req.archive_path;
        core::archive::EntryMeta em;
        em.mtime = meta.mtime_ns / 1000000000;
        em.compress = !core::archive::LooksCompressed(req.target_path);
        if (auto b = archive_.BeginFile(apath, em); b) {
          copying = true;
          copied_as = apath;
        } else {
          archive_lock.unlock();
          out.output_limit = b.error().code == ErrorCode::kLimit;
          r.SetText("copy_error", b.error().message);
        }
      }
    }
    hasher.Update(chunk);
    if (pe) pe->Update(chunk);
    out.bytes_read += *n;
    if (copying) {
      if (auto w = archive_.WriteFile(chunk); !w) {
        out.output_limit = w.error().code == ErrorCode::kLimit;
        status = "truncated";
        error = "copy stopped: " + w.error().message;
        // Keep hashing the rest so the record stays complete.
        core::archive::ItemRecord item;
        item.source_path = req.target_path;
        item.type = "file";
        item.artifact = req.artifact;
        item.status = "truncated";
        item.error = error;
        if (auto e = archive_.EndFile(std::move(item)); !e) error += "; closing the copy: " + e.error().message;
        copying = false;
        archive_lock.unlock();
      } else {
        out.bytes_copied += *n;
      }
    }
  }
  // Did the file change under us?
  if (status == "ok") {
    if (auto again = file.Restat(); again) {
      if (again->size != meta.size || again->mtime_ns != meta.mtime_ns || out.bytes_read != meta.size) {
        status = "changed";
        error = fmt::format("file changed while read (size {} -> {}, read {})", meta.size, again->size, out.bytes_read);
      }
    } else if (out.bytes_read != meta.size) {
      status = "changed";
      error = "file size changed while read";
    }
  }
  if (copying) {
    core::archive::ItemRecord item;
    item.source_path = core::RepairUtf8(req.target_path);
    if (!core::IsValidUtf8(req.target_path)) item.source_path_hex = core::ToHex(core::AsBytes(req.target_path));
    item.type = "file";
    item.artifact = req.artifact;
    item.access = meta.access;
    item.status = status;
    item.error = error;
    if (auto e = archive_.EndFile(std::move(item)); !e) {
      status = "error";
      error = e.error().message;
      copied_as.clear();
    }
    archive_lock.unlock();
    out.copied = !copied_as.empty();
  }
  CacheValue cached{};
  if (req.hash && status != "error") {
    const core::Digests d = hasher.Finish();
    r.SetText("md5", d.md5);
    r.SetText("sha1", d.sha1);
    r.SetText("sha256", d.sha256);
    cached.entropy = d.entropy;
    r.SetReal("entropy", d.entropy);
    HexToBytes(d.md5, cached.md5);
    HexToBytes(d.sha1, cached.sha1);
    HexToBytes(d.sha256, cached.sha256);
    cached.hashed = true;
    ++files_hashed_;
  }
  std::optional<PeColumns> pe_columns;
  if (pe) {
    if (auto info = pe->Finish()) {
      const auto& a = info->authenticode;
      pe_columns = PeColumns{info->machine_name,
                             info->imphash,
                             a.signer_subject,
                             core::RepairUtf8(info->VersionString("OriginalFilename")),
                             core::RepairUtf8(info->VersionString("ProductName")),
                             core::RepairUtf8(info->VersionString("CompanyName")),
                             core::RepairUtf8(info->VersionString("FileDescription")),
                             core::RepairUtf8(info->VersionString("FileVersion")),
                             info->timestamp,
                             info->is_dll,
                             a.signed_,
                             a.digest_matches,
                             a.padding_anomaly};
      ApplyPe(*pe_columns, r);
    }
  }
  r.SetBool("is_pe", pe_columns.has_value());
  if (!copied_as.empty()) r.SetText("copied_as", copied_as);
  r.SetText("status", status);
  if (!error.empty()) r.SetText("error", error);
  if (status == "ok") {
    if (pe_columns || !copied_as.empty()) {
      cached.extra = std::make_unique<CacheExtra>(CacheExtra{std::move(pe_columns), copied_as});
    }
    std::lock_guard lock(cache_mu_);
    CacheStore(key, std::move(cached));
  }
  return out;
}

}  // namespace trawl::collector
