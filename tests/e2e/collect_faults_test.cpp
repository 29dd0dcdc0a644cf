// SPDX-License-Identifier: Apache-2.0
// Fault injection against the real trawl-collect binary on this Linux host:
// unreadable files (the collector runs as nobody through setpriv), files
// vanishing during the walk, files growing and shrinking while read, FIFOs,
// sockets and devices (must not block), symlink loops, 100,000 files in one
// folder, paths longer than PATH_MAX, names that are not UTF-8, and the
// output running out of space (a 2 MiB tmpfs, RLIMIT_FSIZE). Each test
// checks that the run goes on or stops clearly, that the records say what
// happened, and that what was written verifies (or, when the run failed,
// that nothing verifies as complete). SIGTERM/SIGKILL mid-run are in
// collect_linux_test.cpp.
#include <gtest/gtest.h>
#include <fcntl.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/un.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstring>
#include <map>
#include <thread>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "core/archive/archive_reader.h"
#include "core/crypto/age.h"
#include "core/hash/multi_hasher.h"
#include "tests/support/child_process.h"
#include "core/util/text.h"
#include "tests/support/test_env.h"

namespace trawl {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

struct Collection {
  std::vector<json> files;  // records/files.*.jsonl
  std::vector<json> log;    // log.jsonl
  json manifest;
  bool verified = false;
  std::vector<std::string> problems;
};

Collection ReadCollection(const fs::path& archive, const core::age::X25519Identity& id) {
  Collection c;
  auto lines = [](const std::string& text, std::vector<json>& out) {
    std::size_t start = 0;
    while (start < text.size()) {
      std::size_t end = text.find('\n', start);
      if (end == std::string::npos) end = text.size();
      if (end > start) out.push_back(json::parse(text.substr(start, end - start)));
      start = end + 1;
    }
  };
  auto report = core::archive::WalkArchive(
      archive, {id}, [&](const core::archive::MemberInfo& m, core::archive::MemberStream& s) -> core::Result<void> {
        const bool files = m.name.starts_with("records/files.");
        if (!files && m.name != "log.jsonl") return {};
        auto text = s.ReadAll(1u << 30);
        if (!text) return std::unexpected(text.error());
        lines(*text, files ? c.files : c.log);
        return {};
      });
  EXPECT_TRUE(report) << report.error().ToString();
  if (report) {
    c.verified = report->ok;
    c.manifest = report->manifest ? core::archive::ManifestToJson(*report->manifest) : nlohmann::json();
    for (const auto& p : report->problems) c.problems.push_back(p.member + ": " + p.problem);
  }
  // Every record key is a declared column (collector/file_pipeline.cpp CheckDeclared).
  for (const auto& l : c.log) EXPECT_NE(l.value("event", ""), "undeclared_record_field") << l.dump();
  return c;
}

std::vector<fs::path> WithSuffix(const fs::path& dir, const std::string& suffix) {
  std::vector<fs::path> out;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(dir, ec)) {
    if (e.path().string().ends_with(suffix)) out.push_back(e.path());
  }
  return out;
}

const json* RecordFor(const Collection& c, const std::string& path) {
  for (const auto& r : c.files) {
    if (r.value("path", "") == path) return &r;
  }
  return nullptr;
}

bool LogHas(const Collection& c, const std::string& event, const std::string& needle = "") {
  for (const auto& l : c.log) {
    if (l.value("event", "") == event && l.dump().find(needle) != std::string::npos) return true;
  }
  return false;
}

class CollectFaultsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    id_ = core::age::GenerateX25519Identity().value();
    collect_ = (test::BinDir() / "trawl-collect").string();
    ASSERT_TRUE(fs::exists(collect_)) << collect_;
    tree_ = dir_ / "tree";
    out_ = dir_ / "out";
    fs::create_directories(tree_);
  }

  // A profile of one `files` artifact over tree_/** with extra parameters.
  fs::path Profile(const std::string& extra_parameters = "", const std::string& limits = "") {
    const auto root = dir_ / "profiles";
    test::WriteFile(root / "artifacts/linux/test/fault_tree.yaml",
                    "name: linux.test.fault_tree\n"
                    "description: every file under the fault-test tree\n"
                    "rationale: fault injection tests\n"
                    "references: [{title: 'fault tests', source: 'tests/e2e/collect_faults_test.cpp'}]\n"
                    "kind: files\n"
                    "platforms: [linux]\n"
                    "parameters:\n"
                    "  paths: ['" +
                        tree_.string() +
                        "/**']\n"
                        "  max_depth: 64\n" +
                        extra_parameters +
                        "limits:\n"
                        "  max_files: 1000000\n"
                        "  max_depth: 64\n" +
                        limits);
    test::WriteFile(root / "fault.yaml",
                    "name: fault\ndescription: the fault-test tree\nartifacts:\n  - linux.test.fault_tree\n");
    return root / "fault.yaml";
  }

  std::vector<std::string> Argv(const fs::path& profile, const std::vector<std::string>& prefix = {}) {
    std::vector<std::string> argv = prefix;
    for (const std::string& a :
         {collect_, std::string("--profile"), profile.string(), std::string("--output"), out_.string(),
          std::string("--recipient"), id_.ToRecipient().Encode(), std::string("--quiet")}) {
      argv.push_back(a);
    }
    return argv;
  }

  // Runs the collector as a child and fails the test if it is not done
  // within `seconds` (a blocked read would hang here).
  int RunBounded(const std::vector<std::string>& argv, int seconds) {
    test::ChildProcess child(argv, {}, (dir_ / "stdout.txt").string());
    const auto t0 = std::chrono::steady_clock::now();
    const int rc = child.Wait(seconds * 1000);
    elapsed_ = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    EXPECT_NE(rc, -1) << "trawl-collect still running after " << seconds << " s";
    return rc;
  }

  // What the last RunBounded/child printed, stdout then stderr.
  std::string Output() {
    std::string s;
    for (const char* f : {"stdout.txt", "stdout.txt.err"}) {
      if (fs::exists(dir_ / f)) s += test::ReadFile(dir_ / f);
    }
    return s;
  }

  Collection OnlyCollection() {
    auto archives = WithSuffix(out_, ".zip.age");
    EXPECT_EQ(archives.size(), 1u);
    if (archives.size() != 1) return {};
    Collection c = ReadCollection(archives[0], id_);
    EXPECT_TRUE(c.verified);
    for (const auto& p : c.problems) ADD_FAILURE() << p;
    return c;
  }

  test::TempDir dir_;
  core::age::X25519Identity id_;
  std::string collect_;
  fs::path tree_;
  fs::path out_;
  double elapsed_ = 0;
};

TEST_F(CollectFaultsTest, UnreadableFilesAndFoldersAreRecordedAndTheRunGoesOn) {
  // Root reads everything; run the collector as nobody so permissions apply.
  if (!test::HaveTool("setpriv") || ::geteuid() != 0) GTEST_SKIP() << "needs root and setpriv";
  test::WriteFile(tree_ / "open.txt", "readable");
  test::WriteFile(tree_ / "secret.txt", "not for nobody");
  fs::create_directories(tree_ / "closed");
  test::WriteFile(tree_ / "closed/inner.txt", "hidden");
  ::chmod((tree_ / "secret.txt").c_str(), 0);
  ::chmod((tree_ / "closed").c_str(), 0);
  fs::create_directories(out_);
  for (const fs::path& p : {dir_.path(), tree_, out_}) ::chmod(p.c_str(), 0777);
  const auto profile = Profile();
  for (const auto& e : fs::recursive_directory_iterator(dir_ / "profiles")) ::chmod(e.path().c_str(), 0755);
  const int rc = RunBounded(Argv(profile, {"setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"}), 120);
  EXPECT_EQ(rc, 0) << Output();
  Collection c = OnlyCollection();
  const json* open = RecordFor(c, (tree_ / "open.txt").string());
  ASSERT_NE(open, nullptr);
  EXPECT_EQ(open->value("status", json()), "ok");
  const json* secret = RecordFor(c, (tree_ / "secret.txt").string());
  ASSERT_NE(secret, nullptr);
  EXPECT_EQ(secret->value("status", json()), "error") << secret->dump();
  EXPECT_NE(secret->value("error", "").find("ermission denied"), std::string::npos) << secret->dump();
  EXPECT_FALSE(secret->contains("sha256"));
  // The closed folder cannot be listed: the log says so.
  EXPECT_TRUE(LogHas(c, "path_issue", "closed")) << json(c.log).dump(1);
  EXPECT_GE(c.manifest["counts"]["errors"].get<int>(), 1);
}

TEST_F(CollectFaultsTest, FilesVanishingDuringTheWalkAreRecordedAsVanished) {
  constexpr int kFiles = 30000;
  for (int i = 0; i < kFiles; ++i) test::WriteFile(tree_ / fmt::format("f{:05}.txt", i), std::to_string(i));
  test::ChildProcess child(Argv(Profile()), {}, (dir_ / "stdout.txt").string());
  // Delete from the end of the walk order while the collector works.
  std::this_thread::sleep_for(std::chrono::milliseconds(1500));
  int deleted = 0;
  for (int i = kFiles - 1; i >= 0 && child.running(); --i) {
    fs::remove(tree_ / fmt::format("f{:05}.txt", i));
    ++deleted;
  }
  EXPECT_EQ(child.Wait(300000), 0) << Output();
  Collection c = OnlyCollection();
  std::map<std::string, int> by_status;
  for (const auto& r : c.files) {
    const std::string st = r.value("status", "");
    ++by_status[st];
    EXPECT_TRUE(st == "ok" || st == "vanished") << r.dump();
    if (st == "ok") {
      const std::string name = fs::path(r.value("path", "")).filename().string();
      const std::string content = std::to_string(std::stoi(name.substr(1, 5)));
      EXPECT_EQ(r["sha256"], core::Sha256Hex(core::AsBytes(content))) << r.dump();
    }
    if (st == "vanished") {
      EXPECT_FALSE(r.value("error", "").empty());
    }
  }
  std::cout << "[ info ] deleted " << deleted << " files during the run; records: ok " << by_status["ok"]
            << ", vanished " << by_status["vanished"] << "\n";
  if (deleted == 0 || by_status["ok"] == kFiles) GTEST_SKIP() << "the run ended before any file was removed";
}

TEST_F(CollectFaultsTest, FilesGrowingOrShrinkingWhileReadAreRecordedAsChanged) {
  const auto growing = tree_ / "growing.log";
  const auto shrinking = tree_ / "shrinking.bin";
  const std::string block(1 << 20, 'g');
  {
    std::string big;
    for (int i = 0; i < 100; ++i) big += block;  // under the default max_file_size (256 MiB)
    test::WriteFile(growing, big);
    test::WriteFile(shrinking, big);
  }
  std::atomic<bool> stop{false};
  std::thread writer([&] {
    const int fd = ::open(growing.c_str(), O_WRONLY | O_APPEND);
    off_t size = 100 << 20;
    while (!stop.load()) {
      if (::write(fd, block.data(), 16 * 1024) < 0) break;
      size -= 16 * 1024;
      if (size > 0) (void)::truncate(shrinking.c_str(), size);
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
    ::close(fd);
  });
  const int rc = RunBounded(Argv(Profile()), 300);
  stop = true;
  writer.join();
  EXPECT_EQ(rc, 0) << Output();
  Collection c = OnlyCollection();
  for (const fs::path& p : {growing, shrinking}) {
    const json* r = RecordFor(c, p.string());
    ASSERT_NE(r, nullptr) << p;
    EXPECT_EQ(r->value("status", json()), "changed") << r->dump();
    EXPECT_NE(r->value("error", "").find("changed while read"), std::string::npos) << r->dump();
  }
}

TEST_F(CollectFaultsTest, FifosSocketsDevicesAndLinksToThemDoNotBlock) {
  ASSERT_EQ(::mkfifo((tree_ / "fifo").c_str(), 0644), 0);
  // A FIFO with a writer that never writes: opening for read would succeed
  // and the read would block forever.
  const int keep_open = ::open((tree_ / "fifo").c_str(), O_RDWR | O_NONBLOCK);
  ASSERT_GE(keep_open, 0);
  const int sock = ::socket(AF_UNIX, SOCK_STREAM, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  const std::string sock_path = (tree_ / "sock").string();
  ASSERT_LT(sock_path.size(), sizeof(addr.sun_path));
  std::memcpy(addr.sun_path, sock_path.c_str(), sock_path.size() + 1);
  ASSERT_EQ(::bind(sock, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
  ASSERT_EQ(::listen(sock, 1), 0);
  const bool have_dev = ::mknod((tree_ / "zero").c_str(), S_IFCHR | 0644, makedev(1, 5)) == 0;  // /dev/zero
  fs::create_symlink("/dev/zero", tree_ / "link-to-dev-zero");
  fs::create_symlink(tree_ / "fifo", tree_ / "link-to-fifo");
  test::WriteFile(tree_ / "plain.txt", "plain");

  const int rc = RunBounded(Argv(Profile("  copy: true\n")), 120);
  ::close(keep_open);
  ::close(sock);
  EXPECT_EQ(rc, 0) << Output();
  Collection c = OnlyCollection();
  std::vector<std::pair<std::string, std::string>> specials = {{"fifo", "fifo"}, {"sock", "socket"}};
  if (have_dev) specials.emplace_back("zero", "char");
  for (const auto& [name, type] : specials) {
    const json* r = RecordFor(c, (tree_ / name).string());
    ASSERT_NE(r, nullptr) << name;
    EXPECT_EQ(r->value("type", json()), type) << r->dump();
    EXPECT_EQ(r->value("status", json()), "skipped") << r->dump();
    EXPECT_FALSE(r->contains("sha256")) << r->dump();
  }
  for (const char* name : {"link-to-dev-zero", "link-to-fifo"}) {
    const json* r = RecordFor(c, (tree_ / name).string());
    ASSERT_NE(r, nullptr) << name;
    EXPECT_EQ(r->value("type", json()), "symlink") << r->dump();
    EXPECT_FALSE(r->contains("sha256")) << "a link was followed: " << r->dump();
  }
  const json* plain = RecordFor(c, (tree_ / "plain.txt").string());
  ASSERT_NE(plain, nullptr);
  EXPECT_EQ(plain->value("status", ""), "ok");
}

TEST_F(CollectFaultsTest, SymlinkLoopsEndTheWalk) {
  fs::create_directories(tree_ / "loop");
  fs::create_directory_symlink("..", tree_ / "loop/up");
  fs::create_directory_symlink(tree_ / "loop", tree_ / "loop/self");
  fs::create_symlink(tree_ / "b", tree_ / "a");
  fs::create_symlink(tree_ / "a", tree_ / "b");
  test::WriteFile(tree_ / "loop/real.txt", "real");
  const int rc = RunBounded(Argv(Profile()), 120);
  EXPECT_EQ(rc, 0) << Output();
  Collection c = OnlyCollection();
  ASSERT_NE(RecordFor(c, (tree_ / "loop/real.txt").string()), nullptr);
  // Each link is one record; nothing below a link was walked.
  for (const auto& r : c.files) {
    EXPECT_EQ(r.value("path", "").find("/up/"), std::string::npos) << r.dump();
    EXPECT_EQ(r.value("path", "").find("/self/"), std::string::npos) << r.dump();
  }
  const json* a = RecordFor(c, (tree_ / "a").string());
  ASSERT_NE(a, nullptr);
  EXPECT_EQ(a->value("type", ""), "symlink");
  EXPECT_LE(c.files.size(), 10u);
}

// One folder past any 16-bit count and many getdents buffers (100,000 took
// 68 s under ASan in CI); the time over many files is bench/sweep.sh's.
TEST_F(CollectFaultsTest, FortyThousandFilesInOneFolder) {
  constexpr int kFiles = 40000;
  const int dfd = ::open(tree_.c_str(), O_RDONLY | O_DIRECTORY);
  ASSERT_GE(dfd, 0);
  for (int i = 0; i < kFiles; ++i) {
    const int fd = ::openat(dfd, fmt::format("n{:06}", i).c_str(), O_WRONLY | O_CREAT | O_EXCL, 0644);
    ASSERT_GE(fd, 0);
    ::close(fd);
  }
  ::close(dfd);
  const int rc = RunBounded(Argv(Profile()), 900);
  std::cout << "[ info ] " << kFiles << " files collected in " << elapsed_ << " s\n";
  EXPECT_EQ(rc, 0) << Output();
  Collection c = OnlyCollection();
  EXPECT_EQ(c.files.size(), static_cast<std::size_t>(kFiles));
  std::size_t ok = 0;
  for (const auto& r : c.files) ok += r.value("status", "") == "ok";
  EXPECT_EQ(ok, static_cast<std::size_t>(kFiles));
  EXPECT_EQ(c.manifest["counts"]["files"], kFiles);
}

TEST_F(CollectFaultsTest, PathsLongerThanPathMaxAreRecordedAsErrors) {
  // 45 levels of 100-byte names, made relative to an open folder: the
  // deepest file's path is about 4,600 bytes (PATH_MAX is 4096).
  int fd = ::open(tree_.c_str(), O_RDONLY | O_DIRECTORY);
  ASSERT_GE(fd, 0);
  std::string rel;
  std::string shallow, deep;
  for (int depth = 1; depth <= 45; ++depth) {
    const std::string name(100, static_cast<char>('a' + depth % 26));
    ASSERT_EQ(::mkdirat(fd, name.c_str(), 0755), 0) << std::strerror(errno);
    const int next = ::openat(fd, name.c_str(), O_RDONLY | O_DIRECTORY);
    ASSERT_GE(next, 0);
    ::close(fd);
    fd = next;
    rel += "/" + name;
    if (depth == 30 || depth == 45) {
      const int f = ::openat(fd, "leaf.txt", O_WRONLY | O_CREAT, 0644);
      ASSERT_GE(f, 0);
      ASSERT_EQ(::write(f, "leaf", 4), 4);
      ::close(f);
      (depth == 30 ? shallow : deep) = tree_.string() + rel + "/leaf.txt";
    }
  }
  ::close(fd);
  ASSERT_LT(shallow.size(), 4096u);
  ASSERT_GT(deep.size(), 4096u);
  const int rc = RunBounded(Argv(Profile()), 120);
  EXPECT_EQ(rc, 0) << Output();
  Collection c = OnlyCollection();
  const json* s = RecordFor(c, shallow);
  ASSERT_NE(s, nullptr);
  EXPECT_EQ(s->value("status", json()), "ok");
  EXPECT_EQ(s->value("sha256", json()), core::Sha256Hex(core::AsBytes(std::string("leaf"))));
  // Paths are opened by name, so the walk cannot go below PATH_MAX: the
  // first entry whose path is too long must be recorded as an error (it
  // used to be "ok" without any metadata), and nothing may claim "ok"
  // without a type.
  bool too_long_recorded = false;
  for (const auto& r : c.files) {
    const std::string path = r.value("path", "");
    if (r.value("status", "") == "ok") {
      EXPECT_TRUE(r.contains("type")) << path.size() << ": " << r.dump().substr(0, 300);
    }
    if (path.size() > 4096) {
      EXPECT_EQ(r.value("status", ""), "error") << r.dump().substr(0, 300);
      if (r.value("error", "").find("too long") != std::string::npos) too_long_recorded = true;
    }
  }
  EXPECT_TRUE(too_long_recorded) << "no record says the path was too long";
  EXPECT_EQ(RecordFor(c, deep), nullptr) << "the walk went below PATH_MAX after all: update this test";
}

TEST_F(CollectFaultsTest, NamesThatAreNotUtf8AreKeptExactly) {
  const std::string raw = "bad-\xff\xfe-\xc3(-name.txt";
  test::WriteFile(tree_ / raw, "latin-1 world");
  const int rc = RunBounded(Argv(Profile("  copy: true\n")), 120);
  EXPECT_EQ(rc, 0) << Output();
  Collection c = OnlyCollection();
  const json* found = nullptr;
  for (const auto& r : c.files) {
    if (r.contains("path_hex")) found = &r;
  }
  ASSERT_NE(found, nullptr) << "no record carries the raw name";
  EXPECT_EQ(found->value("status", json()), "ok") << found->dump();
  const std::string full = (tree_ / raw).string();
  EXPECT_EQ(found->value("path_hex", json()), core::ToHex(core::AsBytes(full)));
  EXPECT_EQ(found->value("sha256", json()), core::Sha256Hex(core::AsBytes(std::string("latin-1 world"))));
  EXPECT_TRUE(found->contains("copied_as")) << found->dump();
}

// Regression: the reader read until EOF, so a file extended faster than it
// is hashed (a busy log, or an attacker stalling the collector) was read
// forever. Reads now stop at the size seen at open. The file is extended
// sparsely (ftruncate), so this costs no disk space.
TEST_F(CollectFaultsTest, FileExtendedFasterThanReadStillEnds) {
  const auto endless = tree_ / "endless.log";
  test::WriteFile(endless, "start\n");
  ASSERT_EQ(::truncate(endless.c_str(), 256 << 20), 0);
  test::ChildProcess child(Argv(Profile()), {}, (dir_ / "stdout.txt").string());
  // Start extending once the collector has the file open (at open it must
  // stay under max_file_size), then grow it far faster than it can be read.
  bool opened = false;
  for (int i = 0; i < 6000 && !opened && child.running(); ++i) {
    std::error_code ec;
    for (const auto& fd : fs::directory_iterator(fmt::format("/proc/{}/fd", child.pid()), ec)) {
      if (fs::read_symlink(fd.path(), ec) == endless) opened = true;
    }
    if (!opened) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  ASSERT_TRUE(opened) << "the collector never opened " << endless;
  std::atomic<bool> stop{false};
  std::thread extender([&] {
    off_t size = 256 << 20;
    while (!stop.load() && size < (off_t{1} << 40)) {
      size += 16 << 20;
      if (::truncate(endless.c_str(), size) != 0) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
  });
  const int rc = child.Wait(180000);
  stop = true;
  extender.join();
  ASSERT_NE(rc, -1) << "still reading a file that keeps growing after 180 s";
  EXPECT_EQ(rc, 0) << Output();
  Collection c = OnlyCollection();
  const json* r = RecordFor(c, endless.string());
  ASSERT_NE(r, nullptr);
  EXPECT_EQ(r->value("status", json()), "changed") << r->dump();
  EXPECT_EQ(r->value("size", json()), 256 << 20) << r->dump();
}

// The output fills up: a 2 MiB tmpfs (root only), then RLIMIT_FSIZE.
class CollectOutputFullTest : public CollectFaultsTest {
 protected:
  void FillTree() {
    // 6 MiB of incompressible data, copied into the archive.
    std::string noise(6u << 20, '\0');
    std::uint64_t x = 0x9E3779B97F4A7C15ULL;
    for (char& ch : noise) {
      x ^= x << 13, x ^= x >> 7, x ^= x << 17;
      ch = static_cast<char>(x);
    }
    for (int i = 0; i < 6; ++i) test::WriteFile(tree_ / fmt::format("noise{}.bin", i), noise.substr(i << 20, 1u << 20));
  }
  // libarchive's allocations abandoned after a failed write (see the file)
  // are not the collector's leaks; only these runs suppress them.
  void SetUp() override {
    CollectFaultsTest::SetUp();
    const char* old = std::getenv("LSAN_OPTIONS");
    if (old != nullptr) saved_lsan_ = old;
    had_lsan_ = old != nullptr;
    const std::string supp = (test::SourceDir() / "tests/lsan/libarchive-failed-output.supp").string();
    ::setenv("LSAN_OPTIONS", ("suppressions=" + supp + (had_lsan_ ? ":" + saved_lsan_ : "")).c_str(), 1);
  }
  void TearDown() override {
    if (had_lsan_)
      ::setenv("LSAN_OPTIONS", saved_lsan_.c_str(), 1);
    else
      ::unsetenv("LSAN_OPTIONS");
    CollectFaultsTest::TearDown();
  }
  void ExpectStoppedClearly(int rc, const std::string& out) {
    EXPECT_NE(rc, 0) << out;
    EXPECT_LT(rc, 128) << "killed by signal " << rc - 128 << ":\n" << out;
    EXPECT_TRUE(WithSuffix(out_, ".zip.age").empty()) << "a finished archive on a full disk";
    EXPECT_TRUE(WithSuffix(out_, ".json").empty()) << "a sidecar claims completion";
    for (const auto& p : WithSuffix(out_, ".partial")) {
      auto v = core::archive::VerifyArchive(p, {id_});
      EXPECT_FALSE(v && v->ok) << p << " verifies as complete";
    }
  }

 private:
  std::string saved_lsan_;
  bool had_lsan_ = false;
};

TEST_F(CollectOutputFullTest, FullDiskStopsWithAnErrorAndNothingComplete) {
  if (::geteuid() != 0) GTEST_SKIP() << "mounting a tmpfs needs root";
  fs::create_directories(out_);
  if (::mount("tmpfs", out_.c_str(), "tmpfs", 0, "size=2m") != 0) GTEST_SKIP() << "mount: " << std::strerror(errno);
  struct Unmount {
    fs::path p;
    ~Unmount() { ::umount2(p.c_str(), MNT_DETACH); }
  } unmount{out_};
  FillTree();
  const int rc = RunBounded(Argv(Profile("  copy: true\n")), 120);
  const std::string out = Output();
  ExpectStoppedClearly(rc, out);
}

TEST_F(CollectOutputFullTest, FileSizeLimitStopsWithAnErrorNotASignal) {
  if (!test::HaveTool("prlimit")) GTEST_SKIP() << "needs prlimit (util-linux)";
  FillTree();
  const int rc = RunBounded(Argv(Profile("  copy: true\n"), {"prlimit", "--fsize=2000000"}), 120);
  ExpectStoppedClearly(rc, Output());
}

}  // namespace
}  // namespace trawl
