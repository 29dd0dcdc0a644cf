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

std::string IsoFromNs(std::int64_t ns) {
  if (ns == 0) return {};
  std::int64_t secs = ns / 1000000000;
  std::int64_t rem = ns % 1000000000;
  if (rem < 0) {
    rem += 1000000000;
    secs -= 1;
  }
  return core::UnixToIso(secs, static_cast<std::uint32_t>(rem), 9);
}

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

void AddPeFields(const core::formats::PeInfo& pe, nlohmann::json& r) {
  r["pe_machine"] = pe.machine_name;
  r["pe_is_dll"] = pe.is_dll;
  r["pe_timestamp"] = pe.timestamp;
  r["pe_imphash"] = pe.imphash;
  const auto& a = pe.authenticode;
  r["pe_signed"] = a.signed_;
  r["pe_signer"] = a.signer_subject;
  r["pe_digest_matches"] = a.digest_matches;
  r["pe_padding_anomaly"] = a.padding_anomaly;
}

template <std::size_t N>
bool HexToBytes(const nlohmann::json& j, std::array<std::uint8_t, N>& out) {
  if (!j.is_string()) return false;
  const std::string& s = j.get_ref<const std::string&>();
  if (s.size() != 2 * N) return false;
  auto nib = [](char c) { return c <= '9' ? c - '0' : c - 'a' + 10; };
  for (std::size_t i = 0; i < N; ++i) out[i] = static_cast<std::uint8_t>(nib(s[2 * i]) << 4 | nib(s[2 * i + 1]));
  return true;
}

template <std::size_t N>
std::string BytesToHex(const std::array<std::uint8_t, N>& b) {
  return core::ToHex(Bytes(reinterpret_cast<const std::byte*>(b.data()), N));
}

}  // namespace

FilePipeline::CacheValue FilePipeline::Pack(const nlohmann::json& facts) {
  CacheValue v{};
  v.hashed = facts.contains("sha256") && HexToBytes(facts["md5"], v.md5) && HexToBytes(facts["sha1"], v.sha1) &&
             HexToBytes(facts["sha256"], v.sha256);
  v.entropy = facts.value("entropy", 0.0);
  return v;
}

void FilePipeline::Unpack(const CacheValue& v, nlohmann::json& r) {
  if (v.hashed) {
    r["md5"] = BytesToHex(v.md5);
    r["sha1"] = BytesToHex(v.sha1);
    r["sha256"] = BytesToHex(v.sha256);
    r["entropy"] = v.entropy;
  }
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

void SetPathField(nlohmann::json& record, const char* field, const std::string& value) {
  if (core::IsValidUtf8(value)) {
    record[field] = value;
  } else {
    record[field] = core::RepairUtf8(value);
    record[std::string(field) + "_hex"] = core::ToHex(core::AsBytes(value));
  }
}

void AddMetaFields(const FileMeta& meta, nlohmann::json& r) {
  r["type"] = meta.type;
  r["size"] = meta.size;
  r["mode"] = meta.mode;
  r["uid"] = meta.uid;
  r["gid"] = meta.gid;
  r["mtime"] = IsoFromNs(meta.mtime_ns);
  r["atime"] = IsoFromNs(meta.atime_ns);
  r["ctime"] = IsoFromNs(meta.ctime_ns);
  r["btime"] = IsoFromNs(meta.btime_ns);
}

core::Result<void> FilePipeline::AddRecord(std::string_view table, const nlohmann::json& record) {
  std::lock_guard lock(archive_mu_);
  CheckDeclared(table, record);
  return archive_.AddRecord(table, record);
}

// Records follow their table's declared columns (core/profile/kinds.cpp);
// a key that is not declared (nor the <column>_hex of a declared text
// column) is a collector bug: it would land in triage's `extra` JSON where
// no rule looks. Logged once per table and key as an error event, which the
// end-to-end tests look for in every archive they read.
void FilePipeline::CheckDeclared(std::string_view table, const nlohmann::json& record) {
  const core::profile::RecordSpec* spec = core::profile::FindRecordTable(table);
  auto declared = [&](std::string_view key) {
    if (spec == nullptr) return false;
    for (const auto& c : spec->columns) {
      if (c.name == key) return true;
    }
    return false;
  };
  for (auto it = record.begin(); it != record.end(); ++it) {
    const std::string& key = it.key();
    if (declared(key)) continue;
    if (key.ends_with("_hex") && declared(std::string_view(key).substr(0, key.size() - 4))) continue;
    std::string id = std::string(table) + "." + key;
    if (!undeclared_.insert(id).second) continue;
    archive_.Log("error", "undeclared_record_field", {{"table", std::string(table)}, {"field", key}});
  }
}

void FilePipeline::AddItem(core::archive::ItemRecord item) {
  std::lock_guard lock(archive_mu_);
  archive_.AddItem(std::move(item));
}

void FilePipeline::Log(std::string_view level, std::string_view event, nlohmann::json fields) {
  std::lock_guard lock(archive_mu_);
  archive_.Log(level, event, std::move(fields));
}

FileOutcome FilePipeline::Process(const FileRequest& req) {
  FileOutcome out;
  nlohmann::json& r = out.record;
  SetPathField(r, "path", req.target_path);
  SetPathField(r, "source_path", req.host_path);
  r["artifact"] = req.artifact;
  r["status"] = "ok";
  if (req.product.is_object()) {
    for (auto& [k, v] : req.product.items()) r[k] = v;
  }
  if (stop_.ShouldStop()) {
    r["status"] = "skipped";
    r["error"] = "collection stopped: " + stop_.reason();
    return out;
  }
  auto opened = platform_.OpenForRead(req.host_path);
  if (!opened) {
    const auto code = opened.error().code;
    r["status"] = code == ErrorCode::kNotFound ? "vanished" : (code == ErrorCode::kUnsupported ? "skipped" : "error");
    r["error"] = opened.error().message;
    if (auto st = platform_.Stat(req.host_path); st) AddMetaFields(*st, r);
    out.error = code != ErrorCode::kUnsupported;
    return out;
  }
  FileReader& file = **opened;
  const FileMeta meta = file.meta();
  AddMetaFields(meta, r);
  if (req.max_file_size > 0 && meta.size > req.max_file_size) {
    r["status"] = "skipped";
    r["error"] = fmt::format("larger than max_file_size ({} > {} bytes)", meta.size, req.max_file_size);
    return out;
  }
  if (!req.hash && !req.copy.copy) return out;

  const CacheKey key{meta.device, meta.inode, meta.size, meta.mtime_ns};
  {
    std::lock_guard lock(cache_mu_);
    auto it = cache_.find(key);
    if (it != cache_.end()) {
      const bool wants_copy = req.copy.copy || req.copy.copy_executables || req.copy.small_files_max > 0;
      const CacheExtra* extra = it->second.extra ? &cache_extra_[it->second.extra - 1] : nullptr;
      const bool was_copied = extra && !extra->copied_as.empty();
      if ((!wants_copy || was_copied) && (it->second.hashed || !req.hash)) {
        Unpack(it->second, r);
        r["is_pe"] = extra != nullptr && extra->pe.is_object() && !extra->pe.empty();
        if (extra) {
          if (extra->pe.is_object()) {
            for (auto& [k, v] : extra->pe.items()) r[k] = v;
          }
          if (was_copied) r["copied_as"] = extra->copied_as;
        }
        ++cache_hits_;
        return out;
      }
    }
  }

  core::MultiHasher hasher;
  std::optional<core::formats::PeAnalyzer> pe;
  std::unique_lock<std::mutex> archive_lock(archive_mu_, std::defer_lock);
  bool copying = false;
  std::string copied_as;
  std::string status = "ok";
  std::string error;
  Magic magic = Magic::kNone;
  thread_local std::vector<std::byte> buffer(kChunk);
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
          r["copy_error"] = b.error().message;
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
        (void)archive_.EndFile(std::move(item));
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
    SetPathField(r, "path", req.target_path);
    item.source_path = core::RepairUtf8(req.target_path);
    if (!core::IsValidUtf8(req.target_path)) item.source_path_hex = core::ToHex(core::AsBytes(req.target_path));
    item.type = "file";
    item.artifact = req.artifact;
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
  nlohmann::json facts;
  if (req.hash && status != "error") {
    const core::Digests d = hasher.Finish();
    facts["md5"] = d.md5;
    facts["sha1"] = d.sha1;
    facts["sha256"] = d.sha256;
    facts["entropy"] = d.entropy;
    ++files_hashed_;
  }
  facts["is_pe"] = false;
  if (pe) {
    auto info = pe->Finish();
    if (info) {
      facts["is_pe"] = true;
      AddPeFields(*info, facts);
    }
  }
  for (auto& [k, v] : facts.items()) r[k] = v;
  if (!copied_as.empty()) r["copied_as"] = copied_as;
  r["status"] = status;
  if (!error.empty()) r["error"] = error;
  if (status == "ok") {
    CacheValue v = Pack(facts);
    std::lock_guard lock(cache_mu_);
    if (facts.value("is_pe", false) || !copied_as.empty()) {
      nlohmann::json pe_facts = nlohmann::json::object();
      for (auto& [k, val] : facts.items()) {
        if (k.starts_with("pe_")) pe_facts[k] = val;
      }
      cache_extra_.push_back(CacheExtra{std::move(pe_facts), copied_as});
      v.extra = static_cast<std::uint32_t>(cache_extra_.size());
    }
    cache_[key] = v;
  }
  return out;
}

}  // namespace trawl::collector
