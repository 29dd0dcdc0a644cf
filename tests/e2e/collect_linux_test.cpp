// SPDX-License-Identifier: Apache-2.0
// End to end on this Linux host: the real trawl-collect binary finds real
// child processes (a copied shared library mapped by LD_PRELOAD; an
// executable deleted after start), and runs stopped by the time budget, by
// SIGTERM and by SIGKILL leave what they must.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <map>
#include <thread>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "core/archive/archive_reader.h"
#include "core/crypto/age.h"
#include "core/hash/multi_hasher.h"
#include "tests/support/child_process.h"
#include "tests/support/test_env.h"

namespace trawl {
namespace {

using nlohmann::json;

std::string Sha256File(const std::filesystem::path& p) { return core::Sha256Hex(core::AsBytes(test::ReadFile(p))); }

// The first field of coreutils' md5sum / sha1sum for `p`.
std::string ToolDigest(const std::string& tool, const std::filesystem::path& p) {
  const auto r = test::RunCommand({tool, p.string()});
  return r.exit_code == 0 ? r.out.substr(0, r.out.find(' ')) : "(" + tool + " failed)";
}

struct Collection {
  std::vector<std::filesystem::path> archives;
  std::map<std::string, std::vector<json>> records;
  json manifest;
  bool verified = false;
};

Collection ReadCollection(const std::filesystem::path& archive, const core::age::X25519Identity& id) {
  Collection c;
  c.archives.push_back(archive);
  auto report = core::archive::WalkArchive(
      archive, {id}, [&](const core::archive::MemberInfo& m, core::archive::MemberStream& s) -> core::Result<void> {
        if (m.name == "log.jsonl") {
          // Every record key is a declared column (collector/file_pipeline.cpp CheckDeclared).
          auto log = s.ReadAll(64u << 20);
          if (!log) return std::unexpected(log.error());
          EXPECT_EQ(log->find("undeclared_record_field"), std::string::npos) << *log;
          return {};
        }
        if (!m.name.starts_with("records/")) return {};
        auto text = s.ReadAll(512u << 20);
        if (!text) return std::unexpected(text.error());
        const std::string table = m.name.substr(8, m.name.find('.') - 8);
        std::size_t start = 0;
        while (start < text->size()) {
          std::size_t end = text->find('\n', start);
          if (end == std::string::npos) end = text->size();
          if (end > start) c.records[table].push_back(json::parse(text->substr(start, end - start)));
          start = end + 1;
        }
        return {};
      });
  EXPECT_TRUE(report) << report.error().ToString();
  if (report) {
    c.verified = report->ok;
    c.manifest = report->manifest ? core::archive::ManifestToJson(*report->manifest) : nlohmann::json();
    for (const auto& p : report->problems) ADD_FAILURE() << p.member << ": " << p.problem;
  }
  return c;
}

std::vector<std::filesystem::path> Archives(const std::filesystem::path& dir) {
  std::vector<std::filesystem::path> out;
  for (const auto& e : std::filesystem::directory_iterator(dir)) {
    if (e.path().string().ends_with(".zip.age")) out.push_back(e.path());
  }
  std::sort(out.begin(), out.end());
  return out;
}

// Signals must land mid-write: true once a .partial archive in `out` has
// grown past its header. Polled rather than a fixed delay, since a sanitizer
// build on a loaded machine may take seconds to get there.
bool WaitUntilWriting(const std::filesystem::path& out) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(120);
  while (std::chrono::steady_clock::now() < deadline) {
    std::error_code ec;
    for (const auto& e : std::filesystem::directory_iterator(out, ec)) {
      if (e.path().string().ends_with(".partial") && e.file_size(ec) > 4096) return true;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return false;
}

class CollectLinuxTest : public ::testing::Test {
 protected:
  void SetUp() override {
    id_ = core::age::GenerateX25519Identity().value();
    key_file_ = dir_ / "key.txt";
    test::WriteFile(key_file_, core::age::FormatIdentityFile(id_));
    collect_ = (test::BinDir() / "trawl-collect").string();
    ASSERT_TRUE(std::filesystem::exists(collect_)) << collect_;
  }
  // A profile walking /usr: long enough to be stopped.
  std::filesystem::path SlowProfile() {
    const auto root = dir_ / "profiles";
    test::WriteFile(root / "artifacts/linux/test/usr_tree.yaml",
                    "name: linux.test.usr_tree\n"
                    "description: every file under /usr, hashed\n"
                    "rationale: a long walk for budget tests\n"
                    "references: [{title: 'budget tests', source: 'tests/e2e/collect_linux_test.cpp'}]\n"
                    "kind: files\n"
                    "platforms: [linux]\n"
                    "parameters:\n"
                    "  paths: ['/usr/**']\n"
                    "  max_depth: 20\n"
                    "limits:\n"
                    "  max_files: 1000000\n");
    test::WriteFile(root / "slow.yaml",
                    "name: slow\ndescription: processes then a long walk\n"
                    "artifacts:\n  - common.live.processes\n  - linux.test.usr_tree\n");
    return root / "slow.yaml";
  }
  test::TempDir dir_;
  core::age::X25519Identity id_;
  std::filesystem::path key_file_;
  std::string collect_;
};

// Executable memory no file backs (issue #15): a child maps anonymous RWX
// memory and copies an ELF header and a marker into it, as a loader that
// decrypts its payload in memory does. The module record of that region
// has its protection, the ELF header, and the SHA-256 of exactly the bytes
// the child wrote (the rest of the region is zero); no other region of the
// host is that one.
TEST_F(CollectLinuxTest, AnonymousExecutableMemoryIsReadAndHashed) {
  constexpr std::size_t kSize = 1 << 20;
  struct Child {
    std::string sharing, marker;
    std::unique_ptr<test::ChildProcess> process;
    std::uint64_t base = 0;
    std::string sha;
  };
  std::vector<Child> children;
  for (const std::string sharing : {"private", "shared"}) {
    Child ch;
    ch.sharing = sharing;
    ch.marker = "TRAWL-ANON-EXEC-MARKER-" + sharing + "-" + std::to_string(::getpid());
    const std::string out_file = (dir_ / (sharing + ".out")).string();
    ch.process = std::make_unique<test::ChildProcess>(
        std::vector<std::string>{"/usr/bin/python3", (test::SourceDir() / "tests/fixtures/anon_exec_child.py").string(),
                                 "/bin/true", ch.marker, std::to_string(kSize), sharing},
        std::vector<std::string>{}, out_file);
    std::string address;
    for (int i = 0; i < 200 && address.empty(); ++i) {
      const std::string text = test::ReadFile(out_file);
      if (text.find('\n') != std::string::npos) address = text.substr(0, text.find('\n'));
      if (address.empty()) std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    ASSERT_FALSE(address.empty()) << "the " << sharing << " child did not map its region";
    ch.base = std::stoull(address, nullptr, 16);
    std::string expect = test::ReadFile("/bin/true").substr(0, 65536) + ch.marker;
    expect.resize(kSize, '\0');
    ch.sha = core::Sha256Hex(core::AsBytes(expect));
    children.push_back(std::move(ch));
  }

  auto r = test::RunCommand({collect_, "--profile", "default", "--output", (dir_ / "out").string(), "--recipient",
                             id_.ToRecipient().Encode(), "--quiet"});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  auto archives = Archives(dir_ / "out");
  ASSERT_EQ(archives.size(), 1u);
  Collection c = ReadCollection(archives[0], id_);
  std::map<std::string, std::string> dumps;  // member -> expected SHA-256
  for (const Child& ch : children) {
    const json* region = nullptr;
    int same_hash = 0;
    for (const auto& m : c.records["modules"]) {
      if (m.value("region_sha256", "") == ch.sha) ++same_hash;
      if (m["pid"] == ch.process->pid() && m["base"] == ch.base) region = &m;
    }
    ASSERT_NE(region, nullptr) << ch.sharing << ": no module record of pid " << ch.process->pid();
    EXPECT_EQ((*region)["kind"], "anon_exec") << *region;
    EXPECT_EQ((*region)["path"], "") << *region;
    EXPECT_EQ((*region)["perms"], ch.sharing == "shared" ? "rwxs" : "rwxp");
    EXPECT_EQ((*region)["size"], kSize);
    EXPECT_EQ((*region).value("region_read", 0u), kSize) << *region;
    EXPECT_EQ((*region).value("region_header", ""), "elf");
    EXPECT_EQ((*region).value("region_sha256", ""), ch.sha);
    EXPECT_GT((*region).value("region_entropy", 0.0), 0.0);
    EXPECT_EQ(same_hash, 1) << ch.sharing;
    // Image-headed, so its first region_dump_max (default 1 MiB) bytes are in
    // the archive: byte for byte the child's region.
    const std::string dump = (*region).value("region_dump", "");
    EXPECT_EQ(dump, fmt::format("memory/{}_0x{:x}.bin", ch.process->pid(), ch.base)) << *region;
    dumps[dump] = ch.sha;
  }
  // Extracted by trawl-triage decrypt (which checks every member's SHA-256
  // against the manifest): each dump hashes to the region's SHA-256.
  auto x = test::RunCommand({(test::BinDir() / "trawl-triage").string(), "decrypt", "-i", key_file_.string(),
                             archives[0].string(), "-o", (dir_ / "x").string()});
  ASSERT_EQ(x.exit_code, 0) << x.out << x.err;
  for (const auto& [member, sha] : dumps) {
    EXPECT_EQ(core::Sha256Hex(core::AsBytes(test::ReadFile(dir_ / "x" / member))), sha) << member;
  }
}

TEST_F(CollectLinuxTest, FindsMappedLibraryCopyAndDeletedExecutable) {
  // A real shared library, copied to a folder of ours and mapped by a child.
  const auto libz = std::filesystem::canonical("/lib/x86_64-linux-gnu/libz.so.1");
  const auto lib_copy = dir_ / "libtrawl-planted.so";
  std::filesystem::copy_file(libz, lib_copy);
  test::ChildProcess mapper({"sleep", "120"}, {"LD_PRELOAD=" + lib_copy.string()});
  ASSERT_TRUE(mapper.WaitForMapping(lib_copy.string()));
  // A child whose executable is deleted after it started.
  const auto exe_copy = dir_ / "vanishing-sleeper";
  std::filesystem::copy_file(std::filesystem::canonical("/bin/sleep"), exe_copy);
  const std::string exe_sha = Sha256File(exe_copy);
  const std::string exe_md5 = ToolDigest("md5sum", exe_copy), exe_sha1 = ToolDigest("sha1sum", exe_copy);
  test::ChildProcess deleted({exe_copy.string(), "120"});
  ASSERT_TRUE(deleted.WaitForMapping(exe_copy.string()));
  std::filesystem::remove(exe_copy);
  // A listener of this test process: the default profile lists sockets.
  const int listener = socket(AF_INET, SOCK_STREAM, 0);
  ASSERT_GE(listener, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(bind(listener, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  ASSERT_EQ(listen(listener, 1), 0);
  socklen_t addr_len = sizeof addr;
  ASSERT_EQ(getsockname(listener, reinterpret_cast<sockaddr*>(&addr), &addr_len), 0);
  const int port = ntohs(addr.sin_port);

  auto r = test::RunCommand({collect_, "--profile", "default", "--output", (dir_ / "out").string(), "--recipient",
                             id_.ToRecipient().Encode(), "--quiet"});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  auto archives = Archives(dir_ / "out");
  ASSERT_EQ(archives.size(), 1u);
  // The last line names the archive with its SHA-256, as sha256sum prints it.
  EXPECT_NE(r.out.find(Sha256File(archives[0]) + "  " + archives[0].string()), std::string::npos) << r.out;
  // The real age CLI decrypts it and unzip accepts the zip.
  auto dec =
      test::RunCommand({"age", "-d", "-i", key_file_.string(), "-o", (dir_ / "c.zip").string(), archives[0].string()});
  ASSERT_EQ(dec.exit_code, 0) << dec.err;
  EXPECT_EQ(test::RunCommand({"unzip", "-tq", (dir_ / "c.zip").string()}).exit_code, 0);

  Collection c = ReadCollection(archives[0], id_);
  EXPECT_TRUE(c.verified);
  EXPECT_EQ(c.manifest["result"], "complete");
  bool module_found = false;
  for (const auto& m : c.records["modules"]) {
    if (m["pid"] == mapper.pid() && m["path"] == lib_copy.string()) {
      module_found = true;
      EXPECT_EQ(m["sha256"], Sha256File(libz));
      EXPECT_EQ(m["kind"], "file");
      // The same read gives MD5 and SHA-1 (coreutils as the oracle); an ELF is no PE.
      EXPECT_EQ(m.value("md5", ""), ToolDigest("md5sum", libz));
      EXPECT_EQ(m.value("sha1", ""), ToolDigest("sha1sum", libz));
      EXPECT_EQ(m.value("is_pe", true), false);
    }
  }
  EXPECT_TRUE(module_found) << "no module record for pid " << mapper.pid();
  bool process_found = false;
  for (const auto& p : c.records["processes"]) {
    if (p["pid"] == deleted.pid()) {
      process_found = true;
      EXPECT_EQ(p["exe"], exe_copy.string());
      EXPECT_EQ(p["exe_deleted"], true);
      EXPECT_EQ(p["exe_sha256"], exe_sha);
      EXPECT_EQ(p.value("exe_md5", ""), exe_md5);
      EXPECT_EQ(p.value("exe_sha1", ""), exe_sha1);
    }
  }
  EXPECT_TRUE(process_found) << "no process record for pid " << deleted.pid();
  bool socket_found = false;
  for (const auto& k : c.records["connections"]) {
    if (k["protocol"] == "tcp" && k["local_port"] == port) {
      socket_found = true;
      EXPECT_EQ(k["state"], "LISTEN");
      EXPECT_EQ(k["local_address"], "127.0.0.1");
      EXPECT_EQ(k["pid"], getpid());
      EXPECT_EQ(k["exe"], std::filesystem::canonical("/proc/self/exe").string());
    }
  }
  close(listener);
  EXPECT_TRUE(socket_found) << "no connections record for the listener on port " << port;
  // The sidecar holds no secret and names the archive with its hash.
  const std::string sidecar_name = archives[0].filename().string();
  const auto sidecar_path = dir_ / "out" / (sidecar_name.substr(0, sidecar_name.size() - 8) + ".json");
  json sidecar = json::parse(test::ReadFile(sidecar_path));
  EXPECT_EQ(sidecar["archives"][0]["sha256"], Sha256File(archives[0]));
  EXPECT_EQ(sidecar["recipients"][0], id_.ToRecipient().Encode());
  EXPECT_EQ(test::ReadFile(sidecar_path).find("AGE-SECRET-KEY"), std::string::npos);
}

TEST_F(CollectLinuxTest, TimeBudgetClosesAValidPartialArchive) {
  auto r = test::RunCommand({collect_, "--profile", SlowProfile().string(), "--output", (dir_ / "out").string(),
                             "--recipient", id_.ToRecipient().Encode(), "--time-limit", "2", "--quiet"});
  EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
  auto archives = Archives(dir_ / "out");
  ASSERT_EQ(archives.size(), 1u);
  Collection c = ReadCollection(archives[0], id_);
  EXPECT_TRUE(c.verified);
  EXPECT_EQ(c.manifest["result"], "partial");
  EXPECT_NE(c.manifest["limits_hit"].dump().find("time_limit"), std::string::npos);
  auto v = test::RunCommand(
      {(test::BinDir() / "trawl-triage").string(), "verify", "-i", key_file_.string(), archives[0].string()});
  EXPECT_EQ(v.exit_code, 0) << v.out << v.err;
}

// Issue #18, finding 1: a genuine collection that hit --max-output writes
// skipped-artifact entries with "archive_path": null and "sha256": null (as
// the format document allows), and `analyze` aborted on them with a
// nlohmann type_error while `verify` said OK.
TEST_F(CollectLinuxTest, CollectionThatHitMaxOutputIsAnalyzed) {
  const auto root = dir_ / "profiles";
  test::WriteFile(root / "artifacts/linux/test/copy_docs.yaml",
                  "name: linux.test.copy_docs\n"
                  "description: copies of /usr/share, to fill the output budget\n"
                  "rationale: max-output tests\n"
                  "references: [{title: 'budget tests', source: 'tests/e2e/collect_linux_test.cpp'}]\n"
                  "kind: files\n"
                  "platforms: [linux]\n"
                  "parameters:\n"
                  "  paths: ['/usr/share/**']\n"
                  "  max_depth: 20\n"
                  "  copy: true\n");
  test::WriteFile(root / "artifacts/linux/test/list_etc.yaml",
                  "name: linux.test.list_etc\n"
                  "description: runs after the budget is spent, so it is skipped\n"
                  "rationale: max-output tests\n"
                  "references: [{title: 'budget tests', source: 'tests/e2e/collect_linux_test.cpp'}]\n"
                  "kind: files\n"
                  "platforms: [linux]\n"
                  "parameters:\n"
                  "  paths: ['/etc/*']\n");
  test::WriteFile(root / "fill.yaml",
                  "name: fill\ndescription: copies until the budget is spent, then a skipped artifact\n"
                  "artifacts:\n  - linux.test.copy_docs\n  - linux.test.list_etc\n");
  auto r = test::RunCommand({collect_, "--profile", (root / "fill.yaml").string(), "--output", (dir_ / "out").string(),
                             "--recipient", id_.ToRecipient().Encode(), "--max-output", "3000000", "--quiet"});
  EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
  auto archives = Archives(dir_ / "out");
  ASSERT_EQ(archives.size(), 1u);
  std::uint64_t null_entries = 0;
  core::archive::WalkOptions walk;
  walk.on_entry = [&](const core::archive::ManifestEntry& e, std::uint64_t) -> core::Result<void> {
    if (!e.archive_path) ++null_entries;
    return {};
  };
  auto report = core::archive::WalkArchive(archives[0], {id_}, walk);
  ASSERT_TRUE(report) << report.error().ToString();
  ASSERT_TRUE(report->ok) << (report->problems.empty() ? "" : report->problems[0].problem);
  EXPECT_EQ(report->manifest->result, "partial");
  EXPECT_GE(null_entries, 1u) << "no skipped or not-stored item: the budget was not hit";
  auto a = test::RunCommand({(test::BinDir() / "trawl-triage").string(), "analyze", "-i", key_file_.string(), "--case",
                             (dir_ / "case.db").string(), archives[0].string()});
  EXPECT_EQ(a.exit_code, 0) << a.out << a.err;
  EXPECT_NE(a.out.find("ingested "), std::string::npos) << a.out << a.err;
}

TEST_F(CollectLinuxTest, SigtermClosesAValidArchive) {
  test::ChildProcess collector({collect_, "--profile", SlowProfile().string(), "--output", (dir_ / "out").string(),
                                "--recipient", id_.ToRecipient().Encode(), "--quiet"});
  ASSERT_TRUE(WaitUntilWriting(dir_ / "out")) << "the collector never started writing its archive";
  ASSERT_TRUE(collector.running()) << "collection ended before the signal";
  collector.Signal(SIGTERM);
  EXPECT_EQ(collector.Wait(60000), 1);
  auto archives = Archives(dir_ / "out");
  ASSERT_EQ(archives.size(), 1u);
  Collection c = ReadCollection(archives[0], id_);
  EXPECT_TRUE(c.verified);
  EXPECT_EQ(c.manifest["result"], "aborted");
  EXPECT_EQ(c.manifest["stop_reason"], "signal SIGTERM");
}

TEST_F(CollectLinuxTest, SigkillLeavesNothingThatLooksComplete) {
  test::ChildProcess collector({collect_, "--profile", SlowProfile().string(), "--output", (dir_ / "out").string(),
                                "--recipient", id_.ToRecipient().Encode(), "--quiet"});
  ASSERT_TRUE(WaitUntilWriting(dir_ / "out")) << "the collector never started writing its archive";
  collector.Signal(SIGKILL);
  collector.Wait(10000);
  EXPECT_TRUE(Archives(dir_ / "out").empty());
  int partials = 0;
  for (const auto& e : std::filesystem::directory_iterator(dir_ / "out")) {
    EXPECT_FALSE(e.path().string().ends_with(".json")) << "a sidecar claims completion: " << e.path();
    if (e.path().string().ends_with(".partial")) {
      ++partials;
      auto v = core::archive::VerifyArchive(e.path(), {id_});
      EXPECT_FALSE(v && v->ok) << "a killed run's output verified as complete";
    }
  }
  EXPECT_EQ(partials, 1);
}

TEST_F(CollectLinuxTest, RefusesUnencryptedOutputAndBadArguments) {
  auto r = test::RunCommand({collect_, "--output", (dir_ / "out").string(), "--quiet"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("--no-encrypt"), std::string::npos) << r.err;
  auto bad = test::RunCommand({collect_, "--recipient", "age1notakey", "--output", (dir_ / "out").string()});
  EXPECT_EQ(bad.exit_code, 2);
  auto missing =
      test::RunCommand({collect_, "--profile", "no-such-profile", "--recipient", id_.ToRecipient().Encode()});
  EXPECT_EQ(missing.exit_code, 2);
  EXPECT_NE(missing.err.find("no-such-profile"), std::string::npos) << missing.err;
}

}  // namespace
}  // namespace trawl
