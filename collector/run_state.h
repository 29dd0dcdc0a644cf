// SPDX-License-Identifier: Apache-2.0
// What one collection run shares between orchestration (collect.cpp) and
// the kinds (collector/kinds/): options, platform, the expansion context,
// the stop control, the archive pipeline and the counters the manifest and
// the progress line read. The counters are atomic (file workers add to
// them); everything else is touched by the orchestrating thread only.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <ostream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "collector/collect.h"
#include "collector/file_pipeline.h"
#include "core/archive/archive_writer.h"
#include "core/profile/paths.h"
#include "core/profile/profile_list.h"

namespace trawl::collector {

// Lists directories until the collection is told to stop, then reports every
// directory as empty so an expansion in progress ends at once.
namespace profile = core::profile;

class StoppableLister final : public profile::DirectoryLister {
 public:
  StoppableLister(StopControl& stop, std::unique_ptr<profile::DirectoryLister> inner)
      : stop_(stop), inner_(std::move(inner)) {}
  core::Result<std::vector<profile::DirEntry>> List(const std::string& dir) override {
    if (stop_.ShouldStop()) return std::vector<profile::DirEntry>{};
    return inner_->List(dir);
  }

 private:
  StopControl& stop_;
  std::unique_ptr<profile::DirectoryLister> inner_;  // the platform's lister
};

struct RunState {
  RunState(const CollectOptions& o, Platform& p, std::ostream& e) : options(o), platform(p), err(e) {}
  const CollectOptions& options;
  Platform& platform;
  std::ostream& err;
  profile::ExpansionContext ctx;
  StopControl stop;
  StoppableLister lister{stop, platform.MakeDirectoryLister()};
  core::archive::ArchiveWriter* archive = nullptr;
  FilePipeline* pipeline = nullptr;
  bool live = true;
  bool windows_target = false;
  std::uint64_t global_max_file_size = 0;
  // Counters for the manifest and the summary; atomic because file workers
  // add to them and the progress line reads them while the run goes on.
  std::atomic<std::uint64_t> processes{0}, modules{0}, files{0}, errors{0}, copied{0}, dir_entries{0}, bytes_read{0};
  std::vector<std::string> limits_hit;
  nlohmann::json artifacts_run = nlohmann::json::array();

  // Writes a record; when the archive cannot take it the run stops, named.
  void Emit(const Record& record) {
    if (auto r = pipeline->AddRecord(record); !r) stop.RequestStop("archive write failed: " + r.error().message);
  }
};

// Adds `what` to limits_hit once.
void NoteLimit(RunState& s, const std::string& what);
// "N processes, N modules, N files (N copied), N errors".
std::string StatusLine(const RunState& s);
// The host directory holding the live system's tree ("/", or "C:/").
std::string LiveRoot();
// Live Windows: %SystemRoot%, %ProgramData%... as this host has them.
void ApplyLiveWindowsEnv(profile::ExpansionContext& ctx);

// Windows target: adds the profiles ProfileList (the target's SOFTWARE hive,
// read raw on a live host, with its logs) knows beyond <SystemDrive>\Users
// to s.ctx.users; maps another drive holding a profile on a live host. The
// notes go to the run log once the archive is open.
std::vector<profile::ProfileNote> ApplyProfileList(RunState& s);

}  // namespace trawl::collector
