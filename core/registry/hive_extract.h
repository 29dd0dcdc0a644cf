// SPDX-License-Identifier: Apache-2.0
// Evidence read out of registry hives (core/formats/regf.h) at ingest:
// Amcache (InventoryApplicationFile / InventoryApplication, and the older
// Root\File and Root\Programs layouts), ShimCache from every ControlSet,
// BAM/DAM, services, autoruns (Run/RunOnce of the machine and of each user,
// Winlogon Shell/Userinit, AppInit_DLLs, IFEO Debugger, Active Setup),
// ProfileList and the TaskCache. Pure functions over an open hive: no
// database. A key or value that cannot be read is an error line naming its
// path, and extraction goes on with the rest.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/formats/regf.h"

namespace trawl::core::hive {

enum class HiveType { kSystem, kSoftware, kSam, kSecurity, kDefault, kNtuser, kUsrClass, kAmcache, kOther };

// From the file name (case-insensitive): SYSTEM, SOFTWARE, NTUSER.DAT, ...
HiveType TypeFromFileName(std::string_view name);
std::string_view TypeName(HiveType t);
// True for a hive's transaction log (name.LOG, .LOG1, .LOG2) of a known hive name.
bool IsHiveOrLogName(std::string_view name);

struct AmcacheFile {
  std::string source;  // InventoryApplicationFile | File
  std::string key;     // key path in the hive
  std::string path, name, sha1, publisher, product, version, program_id, link_date;
  std::optional<std::int64_t> size;
  std::uint64_t last_written = 0;  // the entry key's last write (first seen / last update)
  bool os_component = false;
};

struct AmcacheApp {
  std::string source;  // InventoryApplication | Programs
  std::string key, program_id, name, version, publisher, install_date, root_dir, uninstall_string;
  std::uint64_t last_written = 0;
};

struct ShimRow {
  std::string control_set;  // ControlSet001, ...
  std::string format;
  std::uint32_t position = 0;
  std::string path;
  std::optional<std::int64_t> last_modified_ns;
  std::optional<bool> executed;
};

struct BamRow {
  std::string source;  // bam | dam
  std::string control_set, sid, path;
  std::uint64_t last_run = 0;  // FILETIME
};

struct ServiceRow {
  std::string control_set, name, display_name, image_path, service_dll, account;
  std::optional<std::uint32_t> start, type;
  std::uint64_t last_written = 0;
};

struct AutorunRow {
  std::string location;  // e.g. HKLM\SOFTWARE\Microsoft\Windows\CurrentVersion\Run
  std::string name, value;
  std::uint64_t last_written = 0;  // of the key holding the value
};

// Uninstall keys (HKLM, its Wow6432Node, and each user's HKCU: per-user
// installs such as 3CX DesktopApp register there).
struct InstalledRow {
  std::string location;  // HKLM\SOFTWARE\...\Uninstall or HKU\<user>\...\Uninstall
  std::string key, name, version, publisher, install_location, install_date, uninstall_string;
  std::uint64_t last_written = 0;
};

struct ProfileRow {
  std::string sid, path;
  std::uint64_t last_written = 0;
};

struct TaskCacheRow {
  std::string path;  // \Folder\Name under TaskCache\Tree
  std::string id;    // {GUID}
  std::string uri, author, date, description;
  bool has_sd = false;    // Tree key has its security descriptor value (missing: hidden from schtasks)
  bool has_task = false;  // Tasks\{GUID} exists
  std::uint64_t last_written = 0;
};

struct Extracted {
  std::vector<AmcacheFile> amcache_files;
  std::vector<AmcacheApp> amcache_apps;
  std::vector<ShimRow> shimcache;
  std::vector<BamRow> bam;
  std::vector<ServiceRow> services;
  std::vector<AutorunRow> autoruns;
  std::vector<ProfileRow> profiles;
  std::vector<InstalledRow> installed;
  std::vector<TaskCacheRow> task_cache;
  std::vector<std::string> errors;  // "<key path>: <what>"
};

// Reads what the hive type holds. `user` names the owner of an NTUSER.DAT
// (its profile folder name) for the autorun locations.
void Extract(const core::formats::regf::Hive& hive, HiveType type, std::string_view user, Extracted& out);

// The program a command line (a service ImagePath, a Run value, a task
// command) starts, lower case, with the prefixes Windows resolves made plain:
// "\??\", "\SystemRoot\", "%SystemRoot%", "%windir%", "%ProgramData%" and
// a bare "system32\" (drivers) become "c:\windows\..." / "c:\programdata";
// other variables (per-user ones) stay as written. Quoted paths end at the
// quote; unquoted ones at the first executable extension or else the first
// space.
std::string CommandFileLc(std::string_view command);

// "MM/DD/YYYY HH:MM:SS" (Amcache's LinkDate/InstallDate) -> ISO 8601 UTC;
// anything else is returned as written.
std::string AmcacheDateToIso(std::string_view s);

}  // namespace trawl::core::hive
