// SPDX-License-Identifier: Apache-2.0
// A per-process scratch folder with a case database, for the fuzz targets
// that drive triage ingest (jsonl, analyze). Removed at exit.
#pragma once

#include <unistd.h>

#include <filesystem>
#include <memory>
#include <string>

#include "fuzz/fuzz_support.h"
#include "triage/case_db.h"

namespace trawl::fuzz {

struct CaseScratch {
  std::filesystem::path root;
  std::unique_ptr<trawl::triage::Db> db;
  explicit CaseScratch(const std::string& name) {
    root = std::filesystem::temp_directory_path() / ("trawl-" + name + "-fuzz-" + std::to_string(::getpid()));
    std::filesystem::create_directories(root);
    auto opened = trawl::triage::Db::Open(root / "case.db", trawl::triage::Db::Mode::kReadWriteCreate);
    FUZZ_CHECK(opened.has_value(), "scratch case database opens");
    db = std::move(*opened);
  }
  ~CaseScratch() {
    db.reset();
    std::error_code ec;
    std::filesystem::remove_all(root, ec);
  }
};

}  // namespace trawl::fuzz
