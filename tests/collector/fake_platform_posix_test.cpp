// SPDX-License-Identifier: Apache-2.0
// RunCollect in-process on a scripted platform (tests/support/fake_platform.h):
// every collector kind over an in-memory host, with the failures a live host
// produces (sharing violation, vanished file, file growing while read,
// modules that cannot be listed). POSIX-only because the live root of a
// Windows build is a drive ("C:/"); the end-to-end tests on real processes
// and the Wine tests cover the platforms themselves.
#include <gtest/gtest.h>

#include <map>
#include <sstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "collector/collect.h"
#include "collector/record.h"
#include "core/profile/kinds.h"
#include "core/archive/archive_reader.h"
#include "core/crypto/age.h"
#include "core/hash/multi_hasher.h"
#include "core/util/file.h"
#include "core/util/read_at.h"
#include "tests/support/disk_images.h"
#include "tests/support/fake_platform.h"
#include "tests/support/test_env.h"

namespace trawl::collector {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

struct Read {
  std::map<std::string, std::vector<json>> records;
  std::vector<std::string> members;
  std::string log;
  std::optional<core::archive::Manifest> manifest;
  bool ok = false;
};

Read ReadArchive(const fs::path& dir, const core::age::X25519Identity& id) {
  Read out;
  fs::path archive;
  for (const auto& e : fs::directory_iterator(dir)) {
    if (e.path().string().ends_with(".zip.age")) archive = e.path();
  }
  auto report = core::archive::WalkArchive(
      archive, {id}, [&](const core::archive::MemberInfo& m, core::archive::MemberStream& s) -> core::Result<void> {
        out.members.push_back(m.name);
        auto text = s.ReadAll(64u << 20);
        if (!text) return std::unexpected(text.error());
        if (m.name == "log.jsonl") out.log = *text;
        if (!m.name.starts_with("records/")) return {};
        const std::string table = m.name.substr(8, m.name.find('.') - 8);
        std::istringstream lines(*text);
        for (std::string line; std::getline(lines, line);) {
          if (!line.empty()) out.records[table].push_back(json::parse(line));
        }
        return {};
      });
  EXPECT_TRUE(report) << report.error().ToString();
  if (report) {
    out.ok = report->ok;
    out.manifest = report->manifest;
  }
  return out;
}

const json* Find(const std::vector<json>& v, const char* key, const std::string& value) {
  for (const auto& r : v) {
    if (r.value(key, json()).dump() == json(value).dump()) return &r;
  }
  return nullptr;
}

std::string Sha256(const std::string& s) { return core::Sha256Hex(core::AsBytes(s)); }

// The artifact linux.test.<name> of `kind` under `profiles`.
void WriteArtifact(const fs::path& profiles, const std::string& name, const std::string& kind,
                   const std::string& params) {
  test::WriteFile(profiles / "artifacts/linux/test" / (name + ".yaml"),
                  "name: linux.test." + name +
                      "\ndescription: fake host test\nrationale: test\n"
                      "references: [{title: t, source: 'tests/collector/fake_platform_posix_test.cpp'}]\n"
                      "kind: " +
                      kind + "\nplatforms: [linux]\nparameters:\n" + params);
}

// RunCollect of the profile file on the fake host into out_dir, encrypted to id.
int CollectTo(test::FakePlatform& host, const fs::path& profile, const fs::path& out_dir,
              const core::age::X25519Identity& id, std::ostream& out, std::ostream& err, std::uint64_t max_output = 0) {
  CollectOptions o;
  o.profile = profile.string();
  o.output_dir = out_dir;
  o.recipients = {id.ToRecipient().Encode()};
  o.quiet = true;
  o.low_priority = false;
  o.max_output = max_output;
  return RunCollect(o, host, out, err);
}

fs::path FeaturesImage() { return test::UnpackedImage(test::SourceDir() / "tests/data/ntfs/features.img.gz"); }

// The NTFS test image as the "raw volume" of the fake host; `damaged`: a
// copy in `dir` whose /empty.txt record has an attribute of impossible
// length (the mft kind's `error` column).
std::unique_ptr<collector::NtfsFiles> RawVolume(const fs::path& damaged = {}) {
  auto image = FeaturesImage();
  EXPECT_FALSE(image.empty());
  if (!damaged.empty()) {
    std::string bytes = test::ReadFile(image);
    auto files = collector::NtfsFiles::Open(core::OpenFileSource(image.string()).value()).value();
    const std::uint64_t entry = files->volume().Lookup("/empty.txt").value();
    bool done = false;
    for (std::size_t at = 0; at + 1024 <= bytes.size() && !done; at += 1024) {
      const auto u = [&](std::size_t o) {
        return static_cast<std::uint32_t>(static_cast<unsigned char>(bytes[at + o]));
      };
      if (bytes.compare(at, 4, "FILE") != 0 || (u(0x2C) | u(0x2D) << 8 | u(0x2E) << 16 | u(0x2F) << 24) != entry) {
        continue;
      }
      const std::size_t first = u(0x14) | u(0x15) << 8;
      bytes[at + first + 4] = '\xF0';  // the first attribute's length
      bytes[at + first + 5] = '\xFF';
      done = true;
    }
    EXPECT_TRUE(done) << "no record of /empty.txt found";
    test::WriteFile(damaged, bytes);
    image = damaged;
  }
  auto src = core::OpenFileSource(image.string());
  EXPECT_TRUE(src) << src.error().message;
  auto files = collector::NtfsFiles::Open(std::move(*src));
  EXPECT_TRUE(files) << files.error().message;
  return std::move(*files);
}

// A file the OS keeps locked (sharing violation) is read from the volume with
// access auto, never with access api; access raw reads from the volume even
// when the API would answer; a locked file the volume cannot serve is a named
// error and the run goes on.
TEST(FakePlatformCollect, LockedFilesAreReadFromTheRawVolume) {
  if (!test::HaveTool("icat") || !test::HaveTool("ifind")) GTEST_SKIP() << "The Sleuth Kit is not installed";
  test::TempDir dir;
  test::FakePlatform host;
  const std::string hive = "/vol/Windows/System32/config/SYSTEM";
  host.AddFile(hive, "the API cannot open this");
  host.at(hive).open_error = core::Error{core::ErrorCode::kLocked, hive +
                                                                       ": The process cannot access the file "
                                                                       "because it is being used by another process"};
  host.AddFile("/vol/small.txt", "API content (differs from the volume's)");
  host.AddFile("/other/locked.evtx", "x");
  host.at("/other/locked.evtx").open_error =
      core::Error{core::ErrorCode::kLocked, "/other/locked.evtx: sharing violation"};
  host.AddFile("/vol/Windows/System32/config/GONE", "x");
  host.at("/vol/Windows/System32/config/GONE").open_error = core::Error{core::ErrorCode::kLocked, "GONE: locked"};
  host.SetRawVolume("/vol", RawVolume());
  const fs::path profiles = dir / "profiles";
  auto artifact = [&](const std::string& name, const std::string& params) {
    WriteArtifact(profiles, name, "files", "  copy: true\n" + params);
  };
  artifact("auto", "  paths: ['/vol/Windows/System32/config/*', '/other/locked.evtx']\n");
  artifact("api", "  access: api\n  paths: ['/vol/Windows/System32/config/SYSTEM']\n");
  artifact("raw", "  access: raw\n  paths: ['/vol/small.txt']\n");
  test::WriteFile(profiles / "p.yaml",
                  "name: p\ndescription: access\nartifacts:\n  - linux.test.auto\n"
                  "  - linux.test.api\n  - linux.test.raw\n");
  const auto id = core::age::GenerateX25519Identity().value();
  std::ostringstream out, err;
  EXPECT_EQ(CollectTo(host, profiles / "p.yaml", dir / "out", id, out, err), 0) << out.str() << err.str();
  EXPECT_NE(out.str().find("3 errors"), std::string::npos) << out.str();
  const Read a = ReadArchive(dir / "out", id);
  ASSERT_TRUE(a.ok);
  const auto& files = a.records.at("files");
  std::map<std::string, const json*> by;  // "<artifact> <path>"
  for (const auto& r : files) by[r.value("artifact", "") + " " + r.value("path", "")] = &r;

  const json* raw_hive = by["linux.test.auto " + hive];
  ASSERT_NE(raw_hive, nullptr);
  EXPECT_EQ(raw_hive->value("status", ""), "ok") << raw_hive->dump();
  EXPECT_EQ(raw_hive->value("access", ""), "raw");
  EXPECT_EQ(raw_hive->value("sha256", ""), test::TskSha256(FeaturesImage(), "/Windows/System32/config/SYSTEM"));
  EXPECT_FALSE(raw_hive->value("copied_as", "").empty());
  EXPECT_EQ(host.opens("raw:" + hive), 1u);

  const json* api_hive = by["linux.test.api " + hive];
  ASSERT_NE(api_hive, nullptr);
  EXPECT_EQ(api_hive->value("status", ""), "error");
  EXPECT_NE(api_hive->value("error", "").find("used by another process"), std::string::npos) << api_hive->dump();
  EXPECT_FALSE(api_hive->contains("access"));

  const json* raw_small = by["linux.test.raw /vol/small.txt"];
  ASSERT_NE(raw_small, nullptr);
  EXPECT_EQ(raw_small->value("access", ""), "raw");
  EXPECT_EQ(raw_small->value("sha256", ""), test::TskSha256(FeaturesImage(), "/small.txt"));
  EXPECT_EQ(host.opens("/vol/small.txt"), 0u) << "access raw never asks the API";

  // Locked and not on a raw-readable volume, or absent from it: named errors.
  const json* evtx = by["linux.test.auto /other/locked.evtx"];
  ASSERT_NE(evtx, nullptr);
  EXPECT_EQ(evtx->value("status", ""), "error");
  EXPECT_NE(evtx->value("error", "").find("sharing violation"), std::string::npos) << evtx->dump();
  EXPECT_NE(evtx->value("error", "").find("raw read"), std::string::npos) << evtx->dump();
  const json* gone = by["linux.test.auto /vol/Windows/System32/config/GONE"];
  ASSERT_NE(gone, nullptr);
  EXPECT_EQ(gone->value("status", ""), "error");
  EXPECT_NE(gone->value("error", "").find("not found on the volume"), std::string::npos) << gone->dump();
}

TEST(FakePlatformCollect, EveryKindRunsInProcessWithLiveHostFailures) {
  test::TempDir dir;
  test::FakePlatform host;
  host.AddFile("/data/ok.txt", "hello");
  host.AddFile("/data/locked.dat", "held open by the system");
  host.at("/data/locked.dat").open_error = core::Error{core::ErrorCode::kIo, "/data/locked.dat: sharing violation"};
  host.AddFile("/data/gone.txt", "deleted after the listing");
  host.at("/data/gone.txt").vanish_on_open = true;
  host.AddFile("/data/growing.log", "a log that is written to");
  host.at("/data/growing.log").grows_by = 100;
  const std::string exe = "MZ" + std::string(200, 'x');
  host.AddFile("/opt/testapp/app.exe", exe);
  host.AddFile("/opt/testapp/config.ini", "[a]\nb=1\n");
  host.AddFile("/usr/lib/libc.so", "ELF-ish");
  host.AddFile("/usr/lib/libz.so", "zlib");
  host.AddFile("/usr/lib/readme.txt", "not a library");
  ProcessInfo app;
  app.pid = 100;
  app.ppid = 1;
  app.name = "app.exe";
  app.exe = app.exe_open_path = "/opt/testapp/app.exe";
  app.cmdline = "/opt/testapp/app.exe --serve";
  ModuleInfo libc;
  libc.pid = 100;
  libc.path = libc.open_path = "/usr/lib/libc.so";
  libc.kind = "file";
  host.AddProcess(app, {libc});
  ProcessInfo denied;
  denied.pid = 200;
  denied.name = "protected";
  host.AddProcess(denied, {});
  host.DenyModules(200, "access denied");

  const fs::path profiles = dir / "profiles";
  auto artifact = [&](const std::string& name, const std::string& kind, const std::string& params) {
    WriteArtifact(profiles, name, kind, params);
  };
  artifact("procs", "processes", "  include_modules: true\n  region_dump_max: 1KiB\n");
  artifact("data", "files", "  paths: ['/data/**']\n  copy: true\n");
  artifact("app", "install_dirs", "  product: testapp\n  paths: ['/opt/testapp']\n");
  artifact("libs", "dir_listing", "  paths: ['/usr/lib']\n  pattern: '*.so'\n");
  test::WriteFile(profiles / "fake.yaml",
                  "name: fake\ndescription: every kind\nartifacts:\n"
                  "  - linux.test.procs\n  - linux.test.data\n  - linux.test.app\n"
                  "  - linux.test.libs\n");
  const auto id = core::age::GenerateX25519Identity().value();
  std::ostringstream out, err;
  const int rc = CollectTo(host, profiles / "fake.yaml", dir / "out", id, out, err);
  ASSERT_EQ(rc, kExitComplete) << out.str() << err.str();

  const Read a = ReadArchive(dir / "out", id);
  ASSERT_TRUE(a.ok);
  ASSERT_TRUE(a.manifest);
  EXPECT_EQ(a.manifest->host.hostname, "fakehost");
  EXPECT_EQ(a.log.find("undeclared_record_field"), std::string::npos) << a.log;
  // processes: image hashed, modules hashed, the denied process on record.
  const json* p = Find(a.records.at("processes"), "exe", "/opt/testapp/app.exe");
  ASSERT_NE(p, nullptr);
  EXPECT_EQ((*p)["exe_sha256"], Sha256(exe));
  const json* m = Find(a.records.at("modules"), "path", "/usr/lib/libc.so");
  ASSERT_NE(m, nullptr);
  EXPECT_EQ((*m)["sha256"], Sha256("ELF-ish"));
  ASSERT_EQ(a.records.at("process_errors").size(), 1u);
  EXPECT_EQ(a.records.at("process_errors")[0]["pid"], 200);
  EXPECT_EQ(a.records.at("process_errors")[0]["error"], "access denied");
  // files: each failure named, the good file hashed and copied.
  const auto& files = a.records.at("files");
  const json* ok = Find(files, "path", "/data/ok.txt");
  ASSERT_NE(ok, nullptr);
  EXPECT_EQ((*ok)["status"], "ok");
  EXPECT_EQ((*ok)["sha256"], Sha256("hello"));
  EXPECT_EQ((*ok)["copied_as"], "files/data/ok.txt");
  const json* locked = Find(files, "path", "/data/locked.dat");
  ASSERT_NE(locked, nullptr);
  EXPECT_EQ((*locked)["status"], "error");
  EXPECT_NE((*locked)["error"].get<std::string>().find("sharing violation"), std::string::npos);
  const json* gone = Find(files, "path", "/data/gone.txt");
  ASSERT_NE(gone, nullptr);
  EXPECT_EQ((*gone)["status"], "vanished");
  const json* growing = Find(files, "path", "/data/growing.log");
  ASSERT_NE(growing, nullptr);
  EXPECT_EQ((*growing)["status"], "changed");
  // install_dirs: executables and small files copied, with the product.
  const json* app_rec = Find(files, "path", "/opt/testapp/app.exe");
  ASSERT_NE(app_rec, nullptr);
  EXPECT_EQ((*app_rec)["product"], "testapp");
  EXPECT_EQ((*app_rec)["copied_as"], "files/opt/testapp/app.exe");
  EXPECT_NE(Find(files, "copied_as", "files/opt/testapp/config.ini"), nullptr);
  // dir_listing: names only, filtered.
  EXPECT_EQ(a.records.at("dir_entries").size(), 2u);
  // One read per file: the good file was opened once.
  EXPECT_EQ(host.opens("/data/ok.txt"), 1u);
}

TEST(FakePlatformCollect, AProcessListFailureIsRecordedAndTheRunGoesOn) {
  test::TempDir dir;
  test::FakePlatform host;
  host.FailProcessList("cannot enumerate processes: access denied");
  host.AddFile("/data/ok.txt", "hello");
  const auto id = core::age::GenerateX25519Identity().value();
  const fs::path profiles = dir / "profiles";
  WriteArtifact(profiles, "data", "files", "  paths: ['/data/*']\n");
  test::WriteFile(profiles / "p.yaml",
                  "name: p\ndescription: d\nartifacts:\n  - common.live.processes\n  - linux.test.data\n");
  std::ostringstream out, err;
  EXPECT_EQ(CollectTo(host, profiles / "p.yaml", dir / "out", id, out, err), kExitComplete) << out.str() << err.str();
  const Read a = ReadArchive(dir / "out", id);
  ASSERT_TRUE(a.ok);
  EXPECT_NE(a.log.find("process_list_failed"), std::string::npos) << a.log;
  EXPECT_EQ(a.records.at("files").size(), 1u);
  EXPECT_NE(a.manifest->artifacts.dump().find("cannot enumerate processes"), std::string::npos);
}

// Every column a table declares is written by the collector in some case:
// a declared column nothing fills is dead weight in triage's schema (or a
// field the collector forgot). One scripted host covers every kind and the
// failure and Windows-only paths; the coverage table in collector/record.h
// remembers each column a written record carried in this process.
TEST(FakePlatformCollect, EveryDeclaredColumnIsWritten) {
  test::TempDir dir;
  test::FakePlatform host;
  // A signed PE with a version resource (PowerShell 7's pwsh.exe): the PE,
  // version and Authenticode columns of files, modules and processes.
  auto pe = core::ReadFileBytes(test::SharedTestdata() / "pe/saferwall-pe/pwsh.exe");
  ASSERT_TRUE(pe) << pe.error().ToString();
  host.AddFile("/opt/vendor/app.exe", std::string(reinterpret_cast<const char*>(pe->data()), pe->size()));
  host.AddFile("/opt/vendor/settings.ini", "[x]\n");
  host.at("/opt/vendor/settings.ini").btime_ns = 1'600'000'000'000'000'000;
  host.AddFile("/opt/vendor/big.bin", std::string(4096, 'b'));
  host.AddFile("/data/locked.dat", "locked");
  host.at("/data/locked.dat").open_error = core::Error{core::ErrorCode::kIo, "/data/locked.dat: sharing violation"};
  host.AddFile("/data/Windows/System32/config/SYSTEM", "api view of a locked hive");
  host.at("/data/Windows/System32/config/SYSTEM").open_error =
      core::Error{core::ErrorCode::kLocked, "/data/Windows/System32/config/SYSTEM: sharing violation"};
  host.SetRawVolume("/data", RawVolume(dir / "damaged.img"));
  host.AddFile("/bin/gone", "deleted image");
  host.at("/bin/gone").vanish_on_open = true;
  host.AddFile("/memfd/image", "MZ deleted but mapped");
  host.AddFile("/usr/lib/liba.so", "a");
  collector::ProcessInfo win;  // the Windows-only columns and a partial read
  win.pid = 300;
  win.ppid = 4;
  win.name = "svc.exe";
  win.exe = "/opt/vendor/app.exe";
  win.exe_open_path = "/opt/vendor/app.exe";
  win.sid = "S-1-5-18";
  win.session = 0;
  win.integrity = "system";
  win.start_time = "2026-12-01T00:00:00Z";
  win.cwd = "/";
  win.error = "command line: access denied";
  collector::ModuleInfo unreadable;
  unreadable.pid = 300;
  unreadable.path = unreadable.open_path = "/data/locked.dat";
  unreadable.kind = "file";
  collector::ModuleInfo lib;
  lib.pid = 300;
  lib.path = lib.open_path = "/usr/lib/liba.so";
  lib.kind = "file";
  collector::ModuleInfo image;  // a Windows process's own image is one of its modules
  image.pid = 300;
  image.path = image.open_path = "/opt/vendor/app.exe";
  image.kind = "file";
  collector::ModuleInfo shellcode;  // executable memory no file backs, with a PE header
  shellcode.pid = 300;
  shellcode.kind = "anon_exec";
  shellcode.base = 0x7f0000000000;
  shellcode.size = 8192;
  shellcode.perms = "rwxp";
  std::string region(4096, '\0');
  region[0] = 'M';
  region[1] = 'Z';
  region[0x3C] = 0x40;
  region.replace(0x40, 4, std::string("PE\0\0", 4));
  host.SetMemory(300, shellcode.base, region);  // the second page does not read
  host.AddProcess(win, {image, unreadable, lib, shellcode});
  collector::ProcessInfo deleted;  // a deleted image: copied from memory's backing file
  deleted.pid = 400;
  deleted.name = "gone";
  deleted.exe = "/bin/gone (deleted)";
  deleted.exe_deleted = true;
  deleted.exe_open_path = "/memfd/image";
  host.AddProcess(deleted, {});
  collector::ProcessInfo unhashable;  // its image cannot be read
  unhashable.pid = 500;
  unhashable.name = "gone2";
  unhashable.exe = unhashable.exe_open_path = "/bin/gone";
  host.AddProcess(unhashable, {});
  host.DenyModules(500, "access denied");
  host.SetKnownDlls({{"kernel32", "kernel32.dll"}});
  collector::ConnectionList sockets;
  collector::ConnectionInfo beacon;  // the owner is named from the process list
  beacon.protocol = "tcp";
  beacon.local_address = "10.0.2.15";
  beacon.local_port = 50000;
  beacon.remote_address = "34.216.184.93";
  beacon.remote_port = 443;
  beacon.state = "ESTABLISHED";
  beacon.pid = 300;
  beacon.inode = 4343;
  sockets.sockets.push_back(beacon);
  sockets.problems.push_back("/proc/net/tcp6: 1 lines that do not parse as sockets");
  host.SetConnections(sockets);

  const fs::path profiles = dir / "profiles";
  auto artifact = [&](const std::string& name, const std::string& kind, const std::string& params) {
    WriteArtifact(profiles, name, kind, params);
  };
  artifact("procs", "processes", "  include_modules: true\n  region_dump_max: 1KiB\n");
  artifact("net", "connections", "  {}\n");
  artifact("vendor", "install_dirs",
           "  product: vendorapp\n  vendor: Vendor\n  category: trading\n  paths: ['/opt/vendor']\n");
  artifact("data", "files", "  paths: ['/data/**']\n");
  artifact("libs", "dir_listing", "  paths: ['/usr/lib']\n");
  artifact("mft", "mft", "  include_deleted: true\n");
  test::WriteFile(profiles / "all.yaml",
                  "name: all\ndescription: every kind\nartifacts:\n  - linux.test.procs\n  - linux.test.net\n"
                  "  - linux.test.vendor\n"
                  "  - linux.test.data\n  - linux.test.libs\n  - linux.test.mft\n");
  test::WriteFile(profiles / "copy.yaml", "name: copy\ndescription: copies\nartifacts:\n  - linux.test.vendor\n");
  const auto id = core::age::GenerateX25519Identity().value();
  auto run = [&](const std::string& profile, const std::string& out_name, std::uint64_t max_output) {
    std::ostringstream out, err;
    (void)CollectTo(host, profiles / profile, dir / out_name, id, out, err, max_output);
    const Read a = ReadArchive(dir / out_name, id);
    EXPECT_TRUE(a.ok) << out.str() << err.str();
    EXPECT_EQ(a.log.find("undeclared_record_field"), std::string::npos) << a.log;
    return a;
  };
  const Read all = run("all.yaml", "out-all", 0);
  const json* sc = Find(all.records.at("modules"), "kind", "anon_exec");
  ASSERT_NE(sc, nullptr);
  EXPECT_EQ((*sc)["region_header"], "pe");
  EXPECT_EQ((*sc)["region_read"], 4096);
  EXPECT_EQ((*sc)["region_sha256"], Sha256(region));
  EXPECT_EQ((*sc)["perms"], "rwxp");
  EXPECT_NE((*sc)["error"].get<std::string>().find("did not read"), std::string::npos) << *sc;
  // region_dump_max: the first KiB of the PE-headed region is in the archive,
  // named by the record (ReadArchive verified every member against the manifest).
  EXPECT_EQ((*sc)["region_dump"], "memory/300_0x7f0000000000.bin");
  EXPECT_NE(std::find(all.members.begin(), all.members.end(), "memory/300_0x7f0000000000.bin"), all.members.end());
  ASSERT_EQ(all.records.at("connections").size(), 1u);
  const json& c = all.records.at("connections")[0];
  EXPECT_EQ(c["process"], "svc.exe");
  EXPECT_EQ(c["exe"], "/opt/vendor/app.exe");
  EXPECT_EQ(c["remote_port"], 443);
  EXPECT_NE(all.log.find("connection_list_incomplete"), std::string::npos) << all.log;
  // An output budget too small for any copy: the copy is refused, by name.
  Read small = run("copy.yaml", "out-small", 1);
  bool refused = false;
  for (const json& r : small.records["files"]) refused |= r.contains("copy_error");
  EXPECT_TRUE(refused);

  for (const core::profile::RecordSpec* table : core::profile::RecordTables()) {
    const std::vector<std::string> written = ColumnsWritten(table->table);
    for (const auto& column : table->columns) {
      EXPECT_NE(std::find(written.begin(), written.end(), column.name), written.end())
          << table->table << "." << column.name << " is declared but no record carried it";
    }
  }
}

}  // namespace
}  // namespace trawl::collector
