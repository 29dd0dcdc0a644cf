// SPDX-License-Identifier: Apache-2.0
#include "core/profile/kinds.h"

#include <algorithm>
#include <array>

namespace trawl::core::profile {
namespace {

constexpr long long kKiB = 1024;
constexpr long long kMiB = 1024 * kKiB;
constexpr long long kGiB = 1024 * kMiB;
constexpr long long kTiB = 1024 * kGiB;

// ---- record tables -------------------------------------------------------

constexpr ColumnSpec kProcessColumns[] = {
    {"pid", ColumnType::kInt, "process id"},
    {"ppid", ColumnType::kInt, "parent process id"},
    {"name", ColumnType::kText, "process name (comm / image name)"},
    {"exe", ColumnType::kText, "path of the executable image as the OS reports it"},
    {"exe_deleted", ColumnType::kBool, "the executable was deleted or replaced after start"},
    {"exe_sha256", ColumnType::kText, "SHA-256 of the executable image (empty if unreadable)"},
    {"cmdline", ColumnType::kText, "command line, arguments joined by spaces"},
    {"uid", ColumnType::kInt, "user id (unix) or -1"},
    {"user", ColumnType::kText, "user name or SID of the process owner"},
    {"start_time", ColumnType::kText, "start time, ISO 8601 UTC"},
    {"cwd", ColumnType::kText, "current working directory"},
    {"error", ColumnType::kText, "what could not be read of this process (command line, owner, ...)"},
    {"exe_copied_as", ColumnType::kText, "archive member holding the image of a deleted executable"},
    {"exe_error", ColumnType::kText, "why the executable could not be hashed"},
    {"artifact", ColumnType::kText, "name of the artifact that produced the record"},
    {"sid", ColumnType::kText, "Windows: SID of the process owner"},
    {"session", ColumnType::kInt, "Windows: terminal services session id, or -1"},
    {"integrity", ColumnType::kText, "Windows: integrity level (low, medium, high, system...)"},
    {"exe_md5", ColumnType::kText, "MD5 of the executable image (the same read as exe_sha256)"},
    {"exe_sha1", ColumnType::kText, "SHA-1 of the executable image"},
    {"exe_imphash", ColumnType::kText, "PE: import hash of the executable image"},
    {"exe_signed", ColumnType::kBool, "PE: the executable image carries an Authenticode signature"},
    {"exe_signer", ColumnType::kText, "PE: subject of the image's signing certificate"},
    {"exe_digest_matches", ColumnType::kBool, "PE: the image's signed digest equals the computed one"},
    {"exe_original_filename", ColumnType::kText, "PE: OriginalFilename of the image's version resource"},
    {"exe_product", ColumnType::kText, "PE: ProductName of the image's version resource"},
    {"exe_company", ColumnType::kText, "PE: CompanyName of the image's version resource"},
    {"exe_description", ColumnType::kText, "PE: FileDescription of the image's version resource"},
    {"exe_file_version", ColumnType::kText, "PE: FileVersion of the image's version resource"},
};

constexpr ColumnSpec kModuleColumns[] = {
    {"pid", ColumnType::kInt, "process id the module is mapped into"},
    {"path", ColumnType::kText, "path of the mapped file (empty for anonymous memory)"},
    {"base", ColumnType::kInt, "base address of the mapping"},
    {"size", ColumnType::kInt, "size of the mapping in bytes"},
    {"device", ColumnType::kInt, "device number of the mapped file (unix)"},
    {"inode", ColumnType::kInt, "inode / file index of the mapped file"},
    {"deleted", ColumnType::kBool, "the mapped file was deleted"},
    {"kind", ColumnType::kText, "file | anon_exec | memfd | unlisted_image"},
    {"perms", ColumnType::kText, "protection of the mapping as r/w/x then p (private) or s (shared, a section)"},
    {"region_read", ColumnType::kInt, "anon_exec, unlisted_image: bytes of the region read (region_max_read caps it)"},
    {"region_sha256", ColumnType::kText, "anon_exec, unlisted_image: SHA-256 of the bytes read"},
    {"region_entropy", ColumnType::kReal,
     "anon_exec, unlisted_image: Shannon entropy of the bytes read, bits per byte"},
    {"region_header", ColumnType::kText,
     "anon_exec, unlisted_image: elf or pe when the region starts with that header, else empty"},
    {"region_dump", ColumnType::kText,
     "archive member holding the region's first region_dump_max bytes (memory/...), when dumps are on"},
    {"sha256", ColumnType::kText, "SHA-256 of the mapped file (hash_modules)"},
    {"error", ColumnType::kText, "why the mapped file could not be hashed"},
    {"artifact", ColumnType::kText, "name of the artifact that produced the record"},
    {"md5", ColumnType::kText, "MD5 of the mapped file (hash_modules; the same read as sha256)"},
    {"sha1", ColumnType::kText, "SHA-1 of the mapped file (hash_modules)"},
    {"is_pe", ColumnType::kBool, "hash_modules: the mapped file is a PE"},
    {"pe_machine", ColumnType::kText, "PE: machine type"},
    {"pe_timestamp", ColumnType::kInt, "PE: TimeDateStamp of the file header"},
    {"pe_imphash", ColumnType::kText, "PE: import hash (pefile-compatible)"},
    {"pe_signed", ColumnType::kBool, "PE: carries an Authenticode signature"},
    {"pe_signer", ColumnType::kText, "PE: subject of the signing certificate"},
    {"pe_digest_matches", ColumnType::kBool, "PE: signed digest equals the computed one"},
    {"pe_original_filename", ColumnType::kText, "PE: OriginalFilename of the version resource"},
    {"pe_product", ColumnType::kText, "PE: ProductName of the version resource"},
    {"pe_company", ColumnType::kText, "PE: CompanyName of the version resource"},
    {"pe_description", ColumnType::kText, "PE: FileDescription of the version resource"},
    {"pe_file_version", ColumnType::kText, "PE: FileVersion of the version resource"},
};

constexpr ColumnSpec kKnownDllColumns[] = {
    {"name", ColumnType::kText, "value name under the KnownDLLs registry key"},
    {"value", ColumnType::kText, "value data: the DLL file name"},
    {"artifact", ColumnType::kText, "name of the artifact that produced the record"},
};

constexpr ColumnSpec kProcessErrorColumns[] = {
    {"pid", ColumnType::kInt, "process id whose modules could not be listed"},
    {"error", ColumnType::kText, "why (access denied, the process exited, ...)"},
    {"artifact", ColumnType::kText, "name of the artifact that produced the record"},
};

constexpr ColumnSpec kFileColumns[] = {
    {"path", ColumnType::kText, "path on the target as the target names it (C:\\... or /...)"},
    {"source_path", ColumnType::kText, "path that was read on the collecting host (under --root)"},
    {"type", ColumnType::kText, "file | dir | symlink | other"},
    {"size", ColumnType::kInt, "size in bytes"},
    {"mode", ColumnType::kInt, "unix mode bits / Windows attributes"},
    {"uid", ColumnType::kInt, "owner user id (unix) or -1"},
    {"gid", ColumnType::kInt, "owner group id (unix) or -1"},
    {"mtime", ColumnType::kText, "modification time, ISO 8601 UTC"},
    {"atime", ColumnType::kText, "access time, ISO 8601 UTC"},
    {"ctime", ColumnType::kText, "inode change time (unix), ISO 8601 UTC"},
    {"btime", ColumnType::kText, "birth / creation time where known, ISO 8601 UTC"},
    {"md5", ColumnType::kText, "MD5 of the content"},
    {"sha1", ColumnType::kText, "SHA-1 of the content"},
    {"sha256", ColumnType::kText, "SHA-256 of the content"},
    {"entropy", ColumnType::kReal, "Shannon entropy of the content, bits per byte (0..8)"},
    {"is_pe", ColumnType::kBool, "the content starts with a valid MZ/PE header"},
    {"status", ColumnType::kText, "ok | skipped | error (why the record is partial)"},
    {"error", ColumnType::kText, "reason for a skipped or failed item"},
    {"copied_as", ColumnType::kText, "name of the raw copy inside the archive, empty if not copied"},
    {"copy_error", ColumnType::kText, "why the copy was not made or was cut short"},
    {"access", ColumnType::kText,
     "raw when the content was read from the NTFS volume (a locked file, or --image); "
     "absent for the OS's file API"},
    {"artifact", ColumnType::kText, "name of the artifact that produced the record"},
    {"product", ColumnType::kText, "install_dirs: catalog product id"},
    {"vendor", ColumnType::kText, "install_dirs: vendor"},
    {"category", ColumnType::kText, "install_dirs: trading | voip"},
    {"pe_machine", ColumnType::kText, "PE: machine type (x86, x64, arm64...)"},
    {"pe_is_dll", ColumnType::kBool, "PE: IMAGE_FILE_DLL is set"},
    {"pe_timestamp", ColumnType::kInt, "PE: TimeDateStamp of the file header"},
    {"pe_imphash", ColumnType::kText, "PE: import hash (pefile-compatible)"},
    {"pe_signed", ColumnType::kBool, "PE: carries an Authenticode signature"},
    {"pe_signer", ColumnType::kText, "PE: subject of the signing certificate"},
    {"pe_digest_matches", ColumnType::kBool, "PE: signed digest equals the computed one"},
    {"pe_padding_anomaly", ColumnType::kBool, "PE: non-zero data after the PKCS#7 blob inside the certificate table"},
    {"pe_original_filename", ColumnType::kText, "PE: OriginalFilename of the version resource"},
    {"pe_product", ColumnType::kText, "PE: ProductName of the version resource"},
    {"pe_company", ColumnType::kText, "PE: CompanyName of the version resource"},
    {"pe_description", ColumnType::kText, "PE: FileDescription of the version resource"},
    {"pe_file_version", ColumnType::kText, "PE: FileVersion of the version resource"},
};

constexpr ColumnSpec kDirEntryColumns[] = {
    {"dir", ColumnType::kText, "the listed directory, as the target names it"},
    {"name", ColumnType::kText, "entry name"},
    {"type", ColumnType::kText, "file | dir | symlink | other"},
    {"artifact", ColumnType::kText, "name of the artifact that produced the record"},
};

constexpr ColumnSpec kConnectionColumns[] = {
    {"protocol", ColumnType::kText, "tcp | tcp6 | udp | udp6"},
    {"local_address", ColumnType::kText, "local IP address (0.0.0.0 / :: for any)"},
    {"local_port", ColumnType::kInt, "local port"},
    {"remote_address", ColumnType::kText, "remote IP address (0.0.0.0 / :: when not connected)"},
    {"remote_port", ColumnType::kInt, "remote port (0 when not connected)"},
    {"state", ColumnType::kText, "TCP state: LISTEN, ESTABLISHED, SYN_SENT, TIME_WAIT, ... (empty for UDP)"},
    {"pid", ColumnType::kInt, "owning process id, -1 when the OS does not say (Linux: not ours to read)"},
    {"process", ColumnType::kText, "name of the owning process at collection time"},
    {"exe", ColumnType::kText, "executable of the owning process at collection time"},
    {"inode", ColumnType::kInt, "Linux: socket inode (0 on Windows)"},
    {"artifact", ColumnType::kText, "name of the artifact that produced the record"},
};

constexpr RecordSpec kProcessRecords{"processes", "one record per running process", kProcessColumns};
constexpr RecordSpec kModuleRecords{"modules", "one record per executable mapping of a process", kModuleColumns};
constexpr RecordSpec kKnownDllRecords{
    "known_dlls",
    "Windows: one record per value of HKLM\\SYSTEM\\CurrentControlSet\\Control\\Session Manager\\KnownDLLs",
    kKnownDllColumns};
constexpr RecordSpec kProcessErrorRecords{"process_errors", "one record per process whose modules could not be listed",
                                          kProcessErrorColumns};
constexpr RecordSpec kFileRecords{"files", "one record per file or directory visited", kFileColumns};
constexpr RecordSpec kConnectionRecords{"connections", "one record per TCP or UDP socket of the host",
                                        kConnectionColumns};
constexpr RecordSpec kDirEntryRecords{"dir_entries", "one record per name in a listed directory", kDirEntryColumns};

// ---- parameter schemas ---------------------------------------------------

constexpr ParamSpec kProcessParams[] = {
    {"include_modules", ParamType::kBool, "true", false,
     "also list the executable mappings (DLLs, shared objects) of each process"},
    {"hash_modules", ParamType::kBool, "true", false,
     "hash each mapped module file once per file (MD5, SHA-1, SHA-256; PE, version and Authenticode facts); needs "
     "include_modules"},
    {"region_max_read", ParamType::kSize, "16MiB", false,
     "executable memory no file backs (anonymous mappings): bytes read of each region for its SHA-256, entropy and "
     "header (0: none); read only, from the process's memory",
     0, kGiB},
    {"regions_max_total", ParamType::kSize, "256MiB", false,
     "stop reading executable regions after this many bytes in all (the records still list them)", 0, 64 * kGiB},
    {"region_dump_max", ParamType::kSize, "1MiB", false,
     "store the first bytes of each executable region that starts with a PE or ELF header in the archive "
     "(memory/<pid>_<base>.bin), up to this many per region (0: no dumps); the bytes come from the same read",
     0, kGiB},
    {"region_dumps_max_total", ParamType::kSize, "16MiB", false,
     "stop dumping regions after this many bytes in all (the records then say so)", 0, 64 * kGiB},
};

constexpr ParamSpec kFilesParams[] = {
    {"paths", ParamType::kGlobList, "[]", true, "globs of the files to collect"},
    {"exclude", ParamType::kGlobList, "[]", false,
     "globs of paths to skip (a glob without a separator matches the entry name)"},
    {"hash", ParamType::kBool, "true", false, "compute MD5, SHA-1, SHA-256 and entropy"},
    {"copy", ParamType::kBool, "false", false, "store a raw copy of each file in the archive"},
    {"copy_max_size", ParamType::kSize, "64MiB", false, "files larger than this are hashed but not copied", 0, kTiB},
    {"max_depth", ParamType::kInt, "8", false, "how many levels below the fixed prefix of a glob are searched", 0, 64},
    {"pe_analysis", ParamType::kBool, "true", false, "parse PE headers and Authenticode of files that start with MZ"},
    {"access", ParamType::kString, "auto", false,
     "auto: the OS's file API, and for a file locked by another process (hives, event logs) a raw read of its "
     "NTFS volume (Windows, administrator); api: the file API only; raw: the volume only",
     0, 0, "auto|api|raw"},
};

constexpr ParamSpec kInstallDirParams[] = {
    {"product", ParamType::kString, "", true, "catalog product id"},
    {"vendor", ParamType::kString, "", false, "vendor name"},
    {"category", ParamType::kString, "", false, "trading | voip"},
    {"paths", ParamType::kGlobList, "[]", true, "globs of install roots; everything below each root is listed"},
    {"exclude", ParamType::kGlobList, "[]", false,
     "globs of paths to skip (a glob without a separator matches the entry name)"},
    {"max_depth", ParamType::kInt, "12", false, "levels listed below an install root", 0, 64},
    {"access", ParamType::kString, "auto", false,
     "auto: the OS's file API, falling back to a raw NTFS read for a locked file; api: the file API only; raw: the "
     "volume only",
     0, 0, "auto|api|raw"},
    {"copy_executables", ParamType::kBool, "true", false,
     "store a raw copy of every PE / Mach-O / ELF file (subject to copy_max_size)"},
    {"copy_small_files_max", ParamType::kSize, "1MiB", false,
     "also copy any file up to this size (configs, scripts, blobs)", 0, kGiB},
    {"copy_max_total", ParamType::kSize, "512MiB", false, "stop copying for this artifact after this many bytes", 0,
     kTiB},
};

constexpr ColumnSpec kMftColumns[] = {
    {"entry", ColumnType::kInt, "MFT entry number"},
    {"sequence", ColumnType::kInt, "sequence number of the entry (bumped each time the entry is reused)"},
    {"path", ColumnType::kText,
     "full path (C:\\...) through the parent chain; $OrphanFiles\\<name> when a parent is gone"},
    {"name", ColumnType::kText, "the entry's long ($FILE_NAME Win32 or POSIX) name"},
    {"parent", ColumnType::kInt, "MFT entry of the parent directory"},
    {"in_use", ColumnType::kBool, "false for a deleted entry (the record is not in use)"},
    {"directory", ColumnType::kBool, "the entry is a directory"},
    {"size", ColumnType::kInt, "size of the unnamed data stream in bytes"},
    {"links", ColumnType::kInt, "hard link count"},
    {"flags", ColumnType::kInt, "$STANDARD_INFORMATION file attribute flags"},
    {"si_created", ColumnType::kText, "$STANDARD_INFORMATION creation time (what Explorer shows; trivially set)"},
    {"si_modified", ColumnType::kText, "$STANDARD_INFORMATION content modification time"},
    {"si_mft_modified", ColumnType::kText, "$STANDARD_INFORMATION MFT record change time"},
    {"si_accessed", ColumnType::kText, "$STANDARD_INFORMATION access time"},
    {"fn_created", ColumnType::kText, "$FILE_NAME creation time (set by the kernel, hard to forge)"},
    {"fn_modified", ColumnType::kText, "$FILE_NAME modification time"},
    {"fn_mft_modified", ColumnType::kText, "$FILE_NAME MFT change time"},
    {"fn_accessed", ColumnType::kText, "$FILE_NAME access time"},
    {"ads", ColumnType::kText, "named data streams as name:size, separated by '|'"},
    {"ads_pe", ColumnType::kText, "names of the named streams whose content starts with MZ, separated by '|'"},
    {"reparse_kind", ColumnType::kText, "junction | symlink | other, for a reparse point"},
    {"reparse_target", ColumnType::kText, "where a junction or symbolic link points (never followed)"},
    {"error", ColumnType::kText, "what could not be read of this entry"},
    {"artifact", ColumnType::kText, "name of the artifact that produced the record"},
};
constexpr RecordSpec kMftRecords{"mft", "one record per MFT entry (in use or deleted)", kMftColumns};

constexpr ParamSpec kMftParams[] = {
    {"volume", ParamType::kString, "C:", false,
     "live Windows: the drive letter whose volume is read raw (administrator); --image: ignored (the image's volume)"},
    {"max_entries", ParamType::kInt, "8000000", false, "stop after this many MFT entries", 1, 1'000'000'000},
    {"include_deleted", ParamType::kBool, "true", false, "also list entries that are not in use"},
};

constexpr ParamSpec kAutostartParams[] = {
    {"include_user_hives", ParamType::kBool, "true", false,
     "also read each user's NTUSER.DAT for its Run/RunOnce, Load and Shell values"},
    {"include_tasks", ParamType::kBool, "true", false,
     "also read the task store (System32\\Tasks) for the programs of Exec actions"},
    {"max_files", ParamType::kInt, "5000", false, "stop after this many distinct files", 1, 1'000'000},
    {"copy", ParamType::kBool, "false", false, "store a raw copy of each file in the archive"},
    {"copy_max_size", ParamType::kSize, "64MiB", false, "files larger than this are hashed but not copied", 0, kTiB},
    {"access", ParamType::kString, "auto", false,
     "auto: the OS's file API, and for a locked file (the hives themselves on a live host) a raw read of its NTFS "
     "volume; api: the file API only; raw: the volume only",
     0, 0, "auto|api|raw"},
};

constexpr ParamSpec kDirListingParams[] = {
    {"paths", ParamType::kGlobList, "[]", true, "globs of the directories to list"},
    {"pattern", ParamType::kNameGlob, "*", false, "glob of the entry names to record, e.g. *.dll"},
};

constexpr const RecordSpec* kProcessTables[] = {&kProcessRecords, &kModuleRecords, &kKnownDllRecords,
                                                &kProcessErrorRecords};
constexpr const RecordSpec* kFileTables[] = {&kFileRecords};
constexpr const RecordSpec* kDirTables[] = {&kDirEntryRecords};
constexpr const RecordSpec* kConnectionTables[] = {&kConnectionRecords};
constexpr const RecordSpec* kMftTables[] = {&kMftRecords};

}  // namespace

std::string_view ParamTypeName(ParamType type) {
  switch (type) {
    case ParamType::kBool: return "bool";
    case ParamType::kInt: return "int";
    case ParamType::kSize: return "size";
    case ParamType::kString: return "string";
    case ParamType::kStringList: return "string_list";
    case ParamType::kGlobList: return "glob_list";
    case ParamType::kNameGlob: return "name_glob";
  }
  return "?";
}

std::string_view ColumnTypeName(ColumnType type) {
  switch (type) {
    case ColumnType::kText: return "text";
    case ColumnType::kInt: return "int";
    case ColumnType::kReal: return "real";
    case ColumnType::kBool: return "bool";
  }
  return "?";
}

const std::vector<KindSpec>& Kinds() {
  static const std::vector<KindSpec> kinds = [] {
    std::vector<KindSpec> v = {
        {"processes", 0, "running processes and their loaded modules (volatile: collected first)", kProcessParams,
         kProcessTables},
        {"connections",
         0,
         "TCP and UDP sockets (IPv4 and IPv6) with their state, endpoints and owning process (volatile: "
         "collected first)",
         {},
         kConnectionTables},
        {"install_dirs", 1,
         "recursive listing of a product's install roots with metadata, hashes, entropy and "
         "PE facts of every file; executables and small files are copied",
         kInstallDirParams, kFileTables},
        {"files", 2, "files matched by globs: metadata, hashes, PE facts, optional raw copy", kFilesParams,
         kFileTables},
        {"dir_listing", 3,
         "names only of the entries of directories (e.g. the System32 DLL names that the "
         "side-loading rules compare against)",
         kDirListingParams, kDirTables},
        {"autostart_files", 2,
         "every file a service (ImagePath, ServiceDll), driver, autorun (Run/RunOnce, Winlogon, AppInit_DLLs, IFEO, "
         "Active Setup) or scheduled task starts, read from the target's own hives and task store, then hashed and "
         "PE-analysed like any file",
         kAutostartParams, kFileTables},
        {"mft", 4,
         "every entry of the NTFS master file table, read raw from the volume (live Windows or --image): "
         "paths, both sets of times, named streams, reparse targets, deleted entries",
         kMftParams, kMftTables},
    };
    std::stable_sort(v.begin(), v.end(), [](const KindSpec& a, const KindSpec& b) { return a.priority < b.priority; });
    return v;
  }();
  return kinds;
}

const KindSpec* FindKind(std::string_view name) {
  for (const KindSpec& kind : Kinds()) {
    if (kind.name == name) return &kind;
  }
  return nullptr;
}

const ParamSpec* FindParam(const KindSpec& kind, std::string_view name) {
  for (const ParamSpec& param : kind.parameters) {
    if (param.name == name) return &param;
  }
  return nullptr;
}

const std::vector<const RecordSpec*>& RecordTables() {
  static const std::vector<const RecordSpec*> tables = [] {
    std::vector<const RecordSpec*> v;
    for (const KindSpec& kind : Kinds()) {
      for (const RecordSpec* record : kind.records) {
        if (std::find(v.begin(), v.end(), record) == v.end()) v.push_back(record);
      }
    }
    return v;
  }();
  return tables;
}

const RecordSpec* FindRecordTable(std::string_view table) {
  for (const RecordSpec* record : RecordTables()) {
    if (record->table == table) return record;
  }
  return nullptr;
}

}  // namespace trawl::core::profile
