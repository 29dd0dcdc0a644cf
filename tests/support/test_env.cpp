// SPDX-License-Identifier: Apache-2.0
// Portable half of the test helpers. Running external tools is per OS:
// test_env_posix.cpp (Linux) and test_env_win.cpp (the win64 test build).
#include "tests/support/test_env.h"

#include <cstdlib>
#include <fstream>
#include <random>
#include <sstream>
#include <stdexcept>

namespace trawl::test {

std::filesystem::path SharedTestdata() {
  if (const char* env = std::getenv("TRAWL_SHARED_TESTDATA"); env && *env) return env;
  return TRAWL_SHARED_TESTDATA_DEFAULT;
}

std::filesystem::path SourceDir() { return TRAWL_SOURCE_DIR; }
std::filesystem::path BinDir() { return TRAWL_BIN_DIR; }

TempDir::TempDir() {
  // $TMPDIR, else /tmp on POSIX; GetTempPathW on Windows.
  const std::filesystem::path root = std::filesystem::temp_directory_path();
  std::random_device rd;
  for (int attempt = 0; attempt < 100; ++attempt) {
    auto candidate = root / ("trawl-test-" + std::to_string(rd()));
    std::error_code ec;
    if (std::filesystem::create_directory(candidate, ec)) {
      path_ = candidate;
      return;
    }
  }
  throw std::runtime_error("cannot create a temporary directory");
}

TempDir::~TempDir() {
  std::error_code ec;
  // Make everything removable first (tests create unreadable files).
  for (auto it = std::filesystem::recursive_directory_iterator(
           path_, std::filesystem::directory_options::skip_permission_denied, ec);
       !ec && it != std::filesystem::recursive_directory_iterator(); it.increment(ec)) {
    if (it->is_directory(ec) && !it->is_symlink(ec)) {
      std::filesystem::permissions(it->path(), std::filesystem::perms::owner_all, std::filesystem::perm_options::add,
                                   ec);
    }
  }
  std::filesystem::remove_all(path_, ec);
}

void WriteFile(const std::filesystem::path& path, const std::string& bytes) {
  std::filesystem::create_directories(path.parent_path());
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  if (!out) throw std::runtime_error("cannot write " + path.string());
}

std::string ReadFile(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("cannot read " + path.string());
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace trawl::test
