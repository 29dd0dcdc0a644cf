// SPDX-License-Identifier: Apache-2.0
#include "collector/collect.h"

#include <chrono>
#include <cmath>
#include <iostream>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "collector/file_pipeline.h"
#include "collector/platform/ntfs/image_platform.h"
#include "collector/kinds/kinds.h"
#include "collector/progress_line.h"
#include "collector/recipients.h"
#include "collector/run_state.h"
#include "core/archive/archive_writer.h"
#include "core/archive/layout.h"
#include "core/profile/store.h"
#include "core/util/file.h"
#include "core/util/text.h"
#include "core/util/time.h"

namespace trawl::collector {
namespace {

namespace profile = core::profile;
using core::ErrorCode;
using core::Result;
using nlohmann::json;

std::filesystem::path DefaultOutputDir(Platform& platform) {
  const std::string self = platform.SelfExe();
  if (self.empty()) return "trawl-output";
  return std::filesystem::path(self).parent_path() / "trawl-output";
}

// `host` runs the collector (its executable, priority, output folder);
// `platform` is what is collected: the host itself, or a disk image.
int RunCollectOn(const CollectOptions& options, Platform& host, Platform& platform, const std::string& image_desc,
                 std::ostream& out, std::ostream& err) {
  const auto t0 = std::chrono::steady_clock::now();
  const std::string started = core::IsoUtcNow();
  RunState s{options, platform, err};
  s.live = options.root.empty();
  // Profile.
  auto resolved = profile::LoadProfile(options.profile);
  if (!resolved) {
    err << "trawl-collect: profile: " << resolved.error().message << "\n";
    return kExitUsage;
  }
  // Target.
  profile::TargetOs os = profile::TargetOs::kLinux;
#ifdef _WIN32
  os = profile::TargetOs::kWindows;
#endif
  if (!options.target_os.empty()) {
    auto parsed = profile::ParseTargetOs(options.target_os);
    if (!parsed) {
      err << "trawl-collect: --target-os: unknown OS '" << options.target_os << "' (linux, windows, macos)\n";
      return kExitUsage;
    }
    os = *parsed;
  } else if (!s.live) {
    os = profile::DetectTargetOs(options.root, s.lister);
  }
  s.windows_target = os == profile::TargetOs::kWindows;
  auto ctx = profile::MakeExpansionContext(os, s.live ? LiveRoot() : options.root, s.lister);
  if (!ctx) {
    err << "trawl-collect: " << ctx.error().message << "\n";
    return kExitUsage;
  }
  s.ctx = std::move(*ctx);
  if (s.live && s.windows_target) ApplyLiveWindowsEnv(s.ctx);
  const std::vector<profile::ProfileNote> profile_notes =
      s.windows_target ? ApplyProfileList(s) : std::vector<profile::ProfileNote>{};
  // Keys.
  auto recipients = GatherRecipients(options, err);
  if (!recipients) {
    err << "trawl-collect: " << recipients.error().message << "\n";
    return kExitUsage;
  }
  if (recipients->empty() && !options.no_encrypt) {
    err << "trawl-collect: no recipient: give --recipient age1... (or --recipients-file, --passphrase-file); "
           "refusing to write unencrypted output without --no-encrypt\n";
    return kExitUsage;
  }
  // Upload targets: checked before anything is collected.
  auto upload_targets = ParseUploadTargets(options.upload);
  if (!upload_targets) {
    err << "trawl-collect: " << upload_targets.error().message << "\n";
    return kExitUsage;
  }
  if (options.low_priority) host.SetLowPriority();
  // Limits.
  const std::uint64_t time_limit = options.time_limit ? options.time_limit : resolved->limits.time_limit;
  const std::uint64_t max_output = options.max_output ? options.max_output : resolved->limits.max_output;
  s.global_max_file_size = resolved->limits.max_file_size;
  s.stop.SetDeadline(t0 + std::chrono::seconds(time_limit));
  s.stop.SetSignalFlag(options.signal_flag);
  // Host facts and names.
  SystemFacts facts;
  if (s.live) {
    facts = platform.Facts();
  } else if (!options.image.empty()) {
    facts.os = std::string(profile::TargetOsName(os));
    facts.hostname = std::filesystem::path(options.image).stem().string();
  } else {
    facts.os = std::string(profile::TargetOsName(os));
    facts.hostname = std::filesystem::path(options.root).filename().string();
    if (auto hn = core::ReadFileText(std::filesystem::path(options.root) / "etc/hostname", 4096); hn) {
      std::string h = *hn;
      while (!h.empty() && (h.back() == '\n' || h.back() == '\r')) h.pop_back();
      if (!h.empty()) facts.hostname = h;
    }
  }
  const std::string base = core::archive::ArchiveBaseName(facts.hostname, core::CompactUtcNow());
  std::filesystem::path output_dir = options.output_dir.empty() ? DefaultOutputDir(host) : options.output_dir;
  const std::string self_exe = host.SelfExe();
  std::string self_sha;
  if (!self_exe.empty()) {
    if (auto r = host.OpenForRead(self_exe); r) {
      core::MultiHasher h;
      std::vector<std::byte> buf(1 << 20);
      while (true) {
        auto n = (*r)->Read(buf);
        if (!n || *n == 0) break;
        h.Update(core::Bytes(buf.data(), *n));
      }
      self_sha = h.Finish().sha256;
    }
  }
  json host_json = {{"hostname", core::RepairUtf8(facts.hostname)},
                    {"os", facts.os},
                    {"os_version", core::RepairUtf8(facts.os_version)},
                    {"kernel", core::RepairUtf8(facts.kernel)},
                    {"arch", facts.arch},
                    {"boot_time", facts.boot_time},
                    {"timezone", core::RepairUtf8(facts.timezone)},
                    {"live", s.live}};
  if (!s.live) host_json["root"] = core::RepairUtf8(image_desc.empty() ? options.root : "image:" + image_desc);
  json recipients_json = json::array();
  for (const auto& r : *recipients) {
    if (auto* x = std::get_if<core::age::X25519Recipient>(&r))
      recipients_json.push_back(x->Encode());
    else
      recipients_json.push_back("scrypt passphrase");
  }
  core::archive::WriterOptions wo;
  wo.output_dir = output_dir;
  wo.base_name = base;
  wo.recipients = *recipients;
  wo.encrypt = !options.no_encrypt;
  wo.split_size = options.split_size;
  wo.max_output = max_output;
  wo.header = {{"tool", "trawl-collect"},
               {"tool_version", TRAWL_VERSION},
               {"profile", {{"name", resolved->name}, {"sha256", resolved->sha256}}},
               {"host", host_json},
               {"target_os", profile::TargetOsName(os)},
               {"started", started},
               {"limits",
                {{"time_limit", time_limit},
                 {"max_output", max_output},
                 {"max_file_size", s.global_max_file_size},
                 {"split_size", options.split_size}}}};
  // Parts go up as soon as they are closed, while collection goes on.
  std::unique_ptr<Uploader> uploader;
  if (!upload_targets->empty()) {
    uploader = std::make_unique<Uploader>(options.upload, *upload_targets, options.signal_flag);
    wo.on_part_closed = [u = uploader.get()](const core::archive::PartInfo& p) { u->Enqueue(p.path); };
  }
  auto writer = core::archive::ArchiveWriter::Create(wo);
  if (!writer) {
    err << "trawl-collect: output: " << writer.error().message << "\n";
    return kExitFatal;
  }
  s.archive = writer->get();
  FilePipeline pipeline(platform, **writer, s.stop);
  s.pipeline = &pipeline;
  if (uploader) {
    uploader->SetLog([&pipeline](std::string_view level, std::string_view event, json fields) {
      pipeline.Log(level, event, std::move(fields));
    });
  }
  pipeline.Log("info", "collection_started", {{"profile", resolved->name}, {"pid", host.SelfPid()}});
  for (const profile::ProfileNote& n : profile_notes) {
    json fields = {{"path", n.path}, {"message", n.message}};
    if (!n.sid.empty()) fields["sid"] = n.sid;
    pipeline.Log(n.level, n.event, fields);
  }
  ProgressLine progress(s, err, options.quiet, options.progress);
  // Artifacts, volatile data first (the resolved profile is sorted by priority).
  json skipped = json::array();
  const auto artifacts = resolved->ForTarget(os);
  std::size_t artifact_index = 0;
  for (const profile::ResolvedArtifact* art : artifacts) {
    ++artifact_index;
    if (s.stop.ShouldStop()) {
      skipped.push_back({{"artifact", art->name}, {"reason", s.stop.reason()}});
      core::archive::ItemRecord item;
      item.type = "artifact";
      item.artifact = art->name;
      item.status = "skipped";
      item.error = "collection stopped: " + s.stop.reason();
      pipeline.AddItem(item);
      continue;
    }
    const auto a0 = std::chrono::steady_clock::now();
    json summary = {{"artifact", art->name}, {"kind", art->kind->name}};
    progress.Artifact(artifact_index, artifacts.size(), art->name);
    if (const CollectorKind* kind = FindCollectorKind(art->kind->name)) {
      kind->run(s, *art, summary);
    } else {
      // A kind the profile schema declares but this collector does not run.
      summary["error"] = "kind not implemented by this collector";
      ++s.errors;
      pipeline.Log("error", "kind_not_implemented", {{"artifact", art->name}, {"kind", art->kind->name}});
    }
    summary["seconds"] = std::chrono::duration<double>(std::chrono::steady_clock::now() - a0).count();
    if (s.stop.ShouldStop()) summary["stopped"] = s.stop.reason();
    pipeline.Log("info", "artifact_done", summary);
    s.artifacts_run.push_back(summary);
  }
  progress.Stop();
  // Close.
  std::string result = "complete";
  const std::string reason = s.stop.ShouldStop() ? s.stop.reason() : "";
  if (!reason.empty()) {
    if (reason == "time_limit" || reason == "max_output") {
      NoteLimit(s, reason);
      result = "partial";
    } else {
      result = "aborted";
    }
  } else if (!s.limits_hit.empty()) {
    result = "partial";
  }
  const std::string ended = core::IsoUtcNow();
  json counts = {
      {"processes", s.processes.load()},    {"modules", s.modules.load()}, {"files", s.files.load()},
      {"copied", s.copied.load()},          {"errors", s.errors.load()},   {"dir_entries", s.dir_entries.load()},
      {"cache_hits", pipeline.cache_hits()}};
  json trailer = {{"result", result},
                  {"stop_reason", reason},
                  {"ended", ended},
                  {"limits_hit", s.limits_hit},
                  {"counts", counts},
                  {"artifacts", s.artifacts_run},
                  {"skipped_artifacts", skipped},
                  {"collector",
                   {{"pid", host.SelfPid()},
                    {"binary", core::RepairUtf8(self_exe)},
                    {"binary_sha256", self_sha},
                    {"output_dir", core::RepairUtf8(output_dir.string())}}}};
  // Uploads that end after the last part is closed are reported in the
  // sidecar and the result line only.
  if (uploader) uploader->SetLog({});
  auto parts = (*writer)->Finish(trailer);
  if (!parts) {
    err << "trawl-collect: closing the archive failed: " << parts.error().message << "\n";
    return kExitFatal;
  }
  // Sidecar: no secrets.
  json sidecar = {{"format", "trawl-sidecar"},
                  {"format_version", core::archive::kArchiveFormatVersion},
                  {"tool", "trawl-collect"},
                  {"tool_version", TRAWL_VERSION},
                  {"host", host_json},
                  {"started", started},
                  {"ended", ended},
                  {"profile", {{"name", resolved->name}, {"sha256", resolved->sha256}}},
                  {"recipients", recipients_json},
                  {"result", result},
                  {"stop_reason", reason},
                  {"limits_hit", s.limits_hit},
                  {"counts", counts},
                  {"encrypted", !options.no_encrypt}};
  json files_written = json::array();
  for (const auto& p : *parts) {
    sidecar["archives"].push_back({{"name", p.path.filename().string()}, {"size", p.size}, {"sha256", p.sha256}});
    files_written.push_back(p.path.filename().string());
  }
  const auto sidecar_path = output_dir / (base + ".json");
  files_written.push_back(sidecar_path.filename().string());
  sidecar["files_written"] = files_written;
  // The parts' uploads finish before the sidecar is written, so it can say
  // how each went; the sidecar itself is sent last.
  if (uploader) {
    if (!options.quiet) err << "trawl-collect: uploading...\n";
    uploader->Drain();
    json ups = json::array();
    for (const UploadResult& u : uploader->Results()) ups.push_back(u.ToJson());
    sidecar["uploads"] = ups;
  }
  bool sidecar_written = true;
  if (auto w = core::WriteFileText(sidecar_path, sidecar.dump(2, ' ', false, json::error_handler_t::replace) + "\n");
      !w) {
    err << "trawl-collect: sidecar: " << w.error().message << "\n";
    sidecar_written = false;
  }
  if (uploader && sidecar_written) {
    uploader->Enqueue(sidecar_path, /*sidecar=*/true);
    uploader->Drain();
  }
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  int exit_code = result == "complete" ? kExitComplete : kExitPartial;
  std::string final_result = result;
  json uploads = json::array();
  if (uploader) {
    const auto results = uploader->Results();
    for (const UploadResult& u : results) {
      uploads.push_back(u.ToJson());
      if (!u.ok) {
        err << fmt::format("trawl-collect: upload of {} to {} failed: {}\n", u.name, u.target, u.error);
      } else if (!options.quiet) {
        err << fmt::format("trawl-collect: uploaded {} to {}{}\n", u.name, u.target,
                           u.deleted_local ? " (local copy deleted)" : "");
      }
    }
    if (!uploader->AllOk()) {
      exit_code = kExitPartial;
      if (final_result == "complete") final_result = "partial";
    }
  }
  out << fmt::format("trawl-collect: {}{}: {} in {:.1f} s\n", result, reason.empty() ? "" : " (" + reason + ")",
                     StatusLine(s), secs);
  out << "sidecar: " << sidecar_path.string() << "\n";
  for (const auto& p : *parts) out << p.sha256 << "  " << p.path.string() << "\n";
  // One machine-readable line for consoles and scripts (docs/upload.md).
  json machine = {{"result", final_result},    {"exit_code", exit_code},
                  {"archives", json::array()}, {"sidecar", core::RepairUtf8(sidecar_path.string())},
                  {"uploads", uploads},        {"host", core::RepairUtf8(facts.hostname)},
                  {"profile", resolved->name}, {"elapsed_s", std::round(secs * 10) / 10}};
  for (const auto& p : *parts) {
    machine["archives"].push_back(
        {{"path", core::RepairUtf8(p.path.string())}, {"sha256", p.sha256}, {"bytes", p.size}});
  }
  out << "trawl:result " << machine.dump(-1, ' ', false, json::error_handler_t::replace) << "\n";
  out << std::flush;
  return exit_code;
}

}  // namespace

int RunCollect(const CollectOptions& options, Platform& host, std::ostream& out, std::ostream& err) {
  if (options.image.empty()) return RunCollectOn(options, host, host, "", out, err);
  if (!options.root.empty()) {
    err << "trawl-collect: --image and --root exclude each other\n";
    return kExitUsage;
  }
  if (options.image_partition != 0 && options.image_offset) {
    err << "trawl-collect: --partition and --offset exclude each other\n";
    return kExitUsage;
  }
  auto image = OpenImagePlatform({options.image, options.image_partition, options.image_offset}, host);
  if (!image) {
    err << "trawl-collect: --image: " << image.error().message << "\n";
    return kExitUsage;
  }
  CollectOptions o = options;
  o.root = "/";  // the volume's root, read through the image platform
  return RunCollectOn(o, host, *image->platform, image->description, out, err);
}

int RunValidate(const std::filesystem::path& file, std::ostream& out, std::ostream& err) {
  auto r = profile::ValidateFile(file);
  if (!r) {
    err << r.error().message << "\n";
    return kExitUsage;
  }
  out << *r << "\n";
  return kExitComplete;
}

int RunListProfiles(std::ostream& out, std::ostream& err) {
  auto list = profile::ListProfiles();
  if (!list) {
    err << list.error().message << "\n";
    return kExitFatal;
  }
  for (const auto& p : *list) {
    out << fmt::format("{:<28} {:>3} artifacts  {}\n", p.name, p.artifact_count, p.description);
  }
  return kExitComplete;
}

int RunExplain(const CollectOptions& options, std::ostream& out, std::ostream& err) {
  auto resolved = profile::LoadProfile(options.profile);
  if (!resolved) {
    err << resolved.error().message << "\n";
    return kExitUsage;
  }
  profile::FsDirectoryLister lister;
  profile::TargetOs os = profile::TargetOs::kLinux;
#ifdef _WIN32
  os = profile::TargetOs::kWindows;
#endif
  const std::string root = options.root.empty() ? LiveRoot() : options.root;
  if (!options.target_os.empty()) {
    auto parsed = profile::ParseTargetOs(options.target_os);
    if (!parsed) {
      err << "--target-os: unknown OS '" << options.target_os << "'\n";
      return kExitUsage;
    }
    os = *parsed;
  } else if (!options.root.empty()) {
    os = profile::DetectTargetOs(root, lister);
  }
  auto ctx = profile::MakeExpansionContext(os, root);
  if (!ctx) {
    err << ctx.error().message << "\n";
    return kExitUsage;
  }
  out << profile::ExplainProfile(*resolved, *ctx);
  return kExitComplete;
}

}  // namespace trawl::collector
