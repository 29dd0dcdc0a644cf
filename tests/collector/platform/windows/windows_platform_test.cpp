// SPDX-License-Identifier: Apache-2.0
// collector/platform/windows/windows_platform.cpp against the running test
// process, built only for Windows (run under Wine by dist/test-wine.sh; the
// side-load scenario is tests/windows/sideload_under_wine.sh). Oracles are
// other Win32 APIs than the ones the platform uses: GetModuleHandleW +
// GetModuleFileNameW for modules, GetCurrentProcessId, files written here
// with CreateFileW and compared byte for byte.
#include "collector/platform/platform.h"

#include <windows.h>
#include <winioctl.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <vector>

#include "collector/platform/windows/wide.h"
#include "core/util/text.h"
#include "tests/support/test_env.h"

namespace trawl::collector {
namespace {

using core::EndsWithIgnoreCaseAscii;
using core::ToLowerAscii;

std::string ModulePath(HMODULE h) {
  std::wstring buf(32768, L'\0');
  const DWORD n = GetModuleFileNameW(h, buf.data(), static_cast<DWORD>(buf.size()));
  buf.resize(n);
  return win::Narrow(buf);
}

std::string ReadAll(FileReader& r) {
  std::string out;
  std::vector<std::byte> buf(4096);
  while (true) {
    auto n = r.Read(buf);
    if (!n || *n == 0) break;
    out.append(reinterpret_cast<const char*>(buf.data()), *n);
  }
  return out;
}

void WriteWide(const std::string& path, const std::string& bytes) {
  HANDLE h = CreateFileW(win::ExtendedPath(path).c_str(), GENERIC_WRITE, 0, nullptr, CREATE_ALWAYS,
                         FILE_ATTRIBUTE_NORMAL, nullptr);
  ASSERT_NE(h, INVALID_HANDLE_VALUE) << path;
  DWORD written = 0;
  ASSERT_TRUE(WriteFile(h, bytes.data(), static_cast<DWORD>(bytes.size()), &written, nullptr));
  CloseHandle(h);
}

TEST(WindowsPlatformTest, ListsItselfWithImageTokenAndTimes) {
  auto platform = MakeHostPlatform();
  ASSERT_EQ(platform->SelfPid(), static_cast<std::int64_t>(GetCurrentProcessId()));
  auto procs = platform->ListProcesses();
  ASSERT_TRUE(procs) << procs.error().message;
  auto self =
      std::find_if(procs->begin(), procs->end(), [&](const ProcessInfo& p) { return p.pid == platform->SelfPid(); });
  ASSERT_NE(self, procs->end());
  EXPECT_EQ(ToLowerAscii(self->exe), ToLowerAscii(ModulePath(nullptr)));
  EXPECT_EQ(self->exe_open_path, self->exe);
  EXPECT_TRUE(EndsWithIgnoreCaseAscii(self->name, ".exe")) << self->name;
  EXPECT_TRUE(self->sid.starts_with("S-1-")) << self->sid;
  EXPECT_FALSE(self->user.empty());
  EXPECT_FALSE(self->integrity.empty());
  EXPECT_FALSE(self->start_time.empty());
  EXPECT_NE(ToLowerAscii(self->cmdline).find("trawl_tests"), std::string::npos) << self->cmdline;
  EXPECT_FALSE(self->cwd.empty());
  EXPECT_TRUE(self->error.empty()) << self->error;
}

TEST(WindowsPlatformTest, ModulesOfThisProcessMatchTheLoadersView) {
  auto platform = MakeHostPlatform();
  auto mods = platform->ListModules(platform->SelfPid());
  ASSERT_TRUE(mods) << mods.error().message;
  for (const wchar_t* name : {L"ntdll.dll", L"kernel32.dll"}) {
    const HMODULE h = GetModuleHandleW(name);
    ASSERT_NE(h, nullptr);
    const std::string path = ModulePath(h);
    auto it = std::find_if(mods->begin(), mods->end(), [&](const ModuleInfo& m) {
      return m.base == reinterpret_cast<std::uintptr_t>(h) && ToLowerAscii(m.path) == ToLowerAscii(path);
    });
    ASSERT_NE(it, mods->end()) << path;
    EXPECT_EQ(it->kind, "file");
    EXPECT_GT(it->size, 0u);
    EXPECT_EQ(it->open_path, it->path);
  }
  // The main image too, at the base the loader gave it.
  const auto exe_base = reinterpret_cast<std::uintptr_t>(GetModuleHandleW(nullptr));
  EXPECT_TRUE(std::any_of(mods->begin(), mods->end(), [&](const ModuleInfo& m) { return m.base == exe_base; }));
  EXPECT_FALSE(platform->ListModules(0));
}

TEST(WindowsPlatformTest, ExecutablePrivateMemoryIsListedAndReadBackUnchanged) {
  // Like a loader that decrypted a payload: private memory, written, then
  // made executable. It must be listed as anon_exec with its protection, and
  // ReadMemory must return its bytes; a region that is only readable is not
  // listed.
  constexpr std::size_t kSize = 3 * 4096;
  auto* exec = static_cast<unsigned char*>(VirtualAlloc(nullptr, kSize, MEM_COMMIT | MEM_RESERVE, PAGE_READWRITE));
  auto* data = static_cast<unsigned char*>(VirtualAlloc(nullptr, kSize, MEM_COMMIT | MEM_RESERVE, PAGE_READWRITE));
  ASSERT_NE(exec, nullptr);
  ASSERT_NE(data, nullptr);
  const char marker[] = "trawl unit test: in-memory payload";
  std::memcpy(exec + 100, marker, sizeof marker);
  DWORD old = 0;
  ASSERT_TRUE(VirtualProtect(exec, kSize, PAGE_EXECUTE_READWRITE, &old));
  auto platform = MakeHostPlatform();
  auto mods = platform->ListModules(platform->SelfPid());
  ASSERT_TRUE(mods) << mods.error().message;
  const auto at = reinterpret_cast<std::uintptr_t>(exec);
  auto it = std::find_if(mods->begin(), mods->end(), [&](const ModuleInfo& m) { return m.base == at; });
  ASSERT_NE(it, mods->end()) << "no module record at the executable region";
  EXPECT_EQ(it->kind, "anon_exec");
  EXPECT_EQ(it->perms, "rwxp");
  EXPECT_EQ(it->size, kSize);
  EXPECT_TRUE(it->path.empty()) << it->path;
  EXPECT_FALSE(std::any_of(mods->begin(), mods->end(),
                           [&](const ModuleInfo& m) { return m.base == reinterpret_cast<std::uintptr_t>(data); }));
  std::vector<std::byte> buf(kSize);
  auto got = platform->ReadMemory(platform->SelfPid(), at, buf);
  ASSERT_TRUE(got) << got.error().message;
  EXPECT_EQ(*got, kSize);
  EXPECT_EQ(std::memcmp(buf.data() + 100, marker, sizeof marker), 0);
  // Memory that is not there (the first 64 KiB are never mapped) is a named
  // error, not a crash.
  VirtualFree(data, 0, MEM_RELEASE);
  auto gone = platform->ReadMemory(platform->SelfPid(), 0x1000, buf);
  ASSERT_FALSE(gone);
  EXPECT_NE(gone.error().message.find("memory at 0x"), std::string::npos) << gone.error().message;
  VirtualFree(exec, 0, MEM_RELEASE);
}

TEST(WindowsPlatformTest, ReadsFilesBeyondMaxPathAndStatsThem) {
  test::TempDir tmp;
  auto platform = MakeHostPlatform();
  // Six 60-character levels: well past MAX_PATH (260).
  std::string dir = tmp.path().string();
  std::vector<std::string> made;
  for (int i = 0; i < 6; ++i) {
    dir += "/" + std::string(59, static_cast<char>('a' + i)) + "\xc3\xa9";  // é: a non-ASCII name
    ASSERT_TRUE(CreateDirectoryW(win::ExtendedPath(dir).c_str(), nullptr)) << dir;
    made.push_back(dir);
  }
  const std::string file = dir + "/payload.bin";
  std::string content(100000, '\0');
  for (std::size_t i = 0; i < content.size(); ++i) content[i] = static_cast<char>((i * 131) & 0xff);
  WriteWide(file, content);
  ASSERT_GT(file.size(), 300u);
  {
    auto r = platform->OpenForRead(file);
    ASSERT_TRUE(r) << r.error().message;
    EXPECT_EQ((*r)->meta().type, "file");
    EXPECT_EQ((*r)->meta().size, content.size());
    EXPECT_NE((*r)->meta().mtime_ns, 0);
    EXPECT_EQ(ReadAll(**r), content);
    auto again = (*r)->Restat();
    ASSERT_TRUE(again);
    EXPECT_EQ(again->size, content.size());
    EXPECT_EQ(again->inode, (*r)->meta().inode);
  }
  auto st = platform->Stat(dir);
  ASSERT_TRUE(st) << st.error().message;
  EXPECT_EQ(st->type, "dir");
  // The platform's lister sees the file with its kind.
  auto lister = platform->MakeDirectoryLister();
  auto entries = lister->List(dir);
  ASSERT_TRUE(entries) << entries.error().message;
  ASSERT_EQ(entries->size(), 1u);
  EXPECT_EQ((*entries)[0].name, "payload.bin");
  EXPECT_TRUE((*entries)[0].is_regular);
  auto parent = lister->List(made[4]);
  ASSERT_TRUE(parent);
  ASSERT_EQ(parent->size(), 1u);
  EXPECT_TRUE((*parent)[0].is_dir);
  EXPECT_EQ((*parent)[0].name, std::string(59, 'f') + "\xc3\xa9");
  // The test dir's own clean-up goes through std::filesystem, which cannot
  // reach past MAX_PATH here.
  DeleteFileW(win::ExtendedPath(file).c_str());
  for (auto it = made.rbegin(); it != made.rend(); ++it) RemoveDirectoryW(win::ExtendedPath(*it).c_str());
}

TEST(WindowsPlatformTest, RefusesDevicesDirectoriesAndMissingFiles) {
  test::TempDir tmp;
  auto platform = MakeHostPlatform();
  auto dev = platform->OpenForRead("\\\\.\\NUL");
  ASSERT_FALSE(dev);
  EXPECT_EQ(dev.error().code, core::ErrorCode::kUnsupported) << dev.error().message;
  auto dir = platform->OpenForRead(tmp.path().string());
  ASSERT_FALSE(dir);
  EXPECT_NE(dir.error().message.find("dir"), std::string::npos) << dir.error().message;
  auto missing = platform->OpenForRead((tmp.path() / "nope.dll").string());
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code, core::ErrorCode::kNotFound) << missing.error().message;
}

TEST(WindowsPlatformTest, FactsDescribeThisWindows) {
  auto platform = MakeHostPlatform();
  const SystemFacts f = platform->Facts();
  EXPECT_EQ(f.os, "windows");
  EXPECT_FALSE(f.hostname.empty());
  EXPECT_FALSE(f.os_version.empty());
  EXPECT_EQ(f.arch, "x86_64");
  EXPECT_FALSE(f.boot_time.empty());
  EXPECT_FALSE(f.timezone.empty());
  EXPECT_FALSE(platform->SelfExe().empty());
}

// A user profile's junction loop (AppData\Local\Application Data -> AppData\Local),
// made with FSCTL_SET_REPARSE_POINT: the platform's lister reports it as a
// link, so no walk enters it. Skipped where the OS (an older Wine) cannot
// make a mount point; the same loop inside an NTFS image is tested through
// --image (tests/e2e/collect_image_test.cpp).
TEST(WindowsPlatformTest, JunctionLoopIsListedAsALink) {
  test::TempDir dir;
  const auto local = dir.path() / "Users" / "alice" / "AppData" / "Local";
  std::filesystem::create_directories(local / "Microsoft");
  const auto junction = local / "Application Data";
  std::filesystem::create_directory(junction);
  HANDLE h = CreateFileW(junction.wstring().c_str(), GENERIC_READ | GENERIC_WRITE, 0, nullptr, OPEN_EXISTING,
                         FILE_FLAG_BACKUP_SEMANTICS | FILE_FLAG_OPEN_REPARSE_POINT, nullptr);
  ASSERT_NE(h, INVALID_HANDLE_VALUE);
  // REPARSE_DATA_BUFFER, mount point: tag, data length, reserved, then the
  // substitute and print names' offsets and lengths and both names.
  const std::wstring target = L"\\??\\" + std::filesystem::absolute(local).wstring();
  const std::wstring print = std::filesystem::absolute(local).wstring();
  std::vector<char> buf(8 + 8);
  auto put16 = [&](std::size_t at, std::size_t v) {
    buf[at] = static_cast<char>(v & 0xFF);
    buf[at + 1] = static_cast<char>((v >> 8) & 0xFF);
  };
  const std::size_t sub_bytes = target.size() * 2, print_bytes = print.size() * 2;
  buf.resize(16 + sub_bytes + 2 + print_bytes + 2, '\0');
  const std::uint32_t tag = IO_REPARSE_TAG_MOUNT_POINT;
  std::memcpy(buf.data(), &tag, 4);
  put16(4, buf.size() - 8);
  put16(8, 0);
  put16(10, sub_bytes);
  put16(12, sub_bytes + 2);
  put16(14, print_bytes);
  std::memcpy(buf.data() + 16, target.data(), sub_bytes);
  std::memcpy(buf.data() + 16 + sub_bytes + 2, print.data(), print_bytes);
  DWORD ret = 0;
  const BOOL ok = DeviceIoControl(h, FSCTL_SET_REPARSE_POINT, buf.data(), static_cast<DWORD>(buf.size()), nullptr, 0,
                                  &ret, nullptr);
  const DWORD err = GetLastError();
  CloseHandle(h);
  if (!ok) GTEST_SKIP() << "this Windows (Wine) cannot make a junction: error " << err;
  auto platform = MakeHostPlatform();
  auto lister = platform->MakeDirectoryLister();
  auto list = lister->List(win::Narrow(local.wstring()));
  ASSERT_TRUE(list) << list.error().message;
  bool seen = false;
  for (const auto& e : *list) {
    if (e.name != "Application Data") continue;
    seen = true;
    EXPECT_TRUE(e.is_symlink) << "a junction is reported as a link";
    EXPECT_FALSE(e.is_dir) << "and never as a directory to enter";
  }
  EXPECT_TRUE(seen);
}

}  // namespace
}  // namespace trawl::collector
