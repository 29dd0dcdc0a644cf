// SPDX-License-Identifier: Apache-2.0
// trawl-collect: parses the command line and calls the collector library.
// On Windows the entry point is wmain (linked with -municode): it hardens the
// DLL search path, converts the UTF-16 arguments to UTF-8 and then runs the
// same Main as on POSIX.
#ifdef _WIN32
#include <io.h>
#include <windows.h>

#include "collector/platform/windows/wide.h"
#endif

#include <openssl/crypto.h>

#ifndef _WIN32
#include <unistd.h>
#endif

#include "core/util/main_guard.h"

#include <csignal>
#include <cstdio>
#include <iostream>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "collector/collect.h"

namespace {
std::atomic<int> g_signal{0};
extern "C" void OnSignal(int sig) { g_signal.store(sig); }

#ifdef _WIN32
// Ctrl+C, Ctrl+Break, console close, logoff and shutdown end the collection
// the way SIGINT / SIGTERM do on POSIX: the archive is closed, not torn.
BOOL WINAPI OnConsoleEvent(DWORD event) {
  g_signal.store(event == CTRL_C_EVENT ? SIGINT : SIGTERM);
  return TRUE;
}
#endif

int Main(int argc, char** argv) {
  // First: a hostile host's openssl.cnf or OPENSSL_CONF must not steer us.
  OPENSSL_init_crypto(OPENSSL_INIT_NO_LOAD_CONFIG, nullptr);
  using trawl::collector::CollectOptions;
  CollectOptions o;
  CLI::App app{"trawl-collect: collect evidence from a live host or a mounted volume into an encrypted archive"};
  app.set_version_flag("--version", std::string("trawl-collect ") + TRAWL_VERSION);
  std::string validate;
  bool list_profiles = false;
  bool explain = false;
  std::string priority = "low";
  std::vector<std::string> recipients_files;
  std::string passphrase_file, output;
  app.add_option("--profile", o.profile, "profile name (see --list-profiles) or a YAML file")->capture_default_str();
  app.add_option("--output", output, "output folder (default: trawl-output beside the executable)");
  app.add_option("--time-limit", o.time_limit, "stop after SECONDS and close a valid archive");
  app.add_option("--max-output", o.max_output, "stop before the archive exceeds BYTES");
  app.add_option("--split-size", o.split_size, "split into parts of about BYTES, each a complete archive");
  app.add_option("--recipient,-r", o.recipients, "age X25519 recipient (age1...); repeatable")
      ->expected(1)
      ->allow_extra_args(false)
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
  app.add_option("--recipients-file", recipients_files, "file of age1 recipients, one per line")
      ->expected(1)
      ->allow_extra_args(false)
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
  app.add_option("--passphrase-file", passphrase_file, "encrypt to a passphrase read from FILE (weaker than a key)");
  app.add_flag("--no-encrypt", o.no_encrypt, "write a plain zip (only when you must)");
  app.add_option("--root", o.root, "collect from a mounted or extracted volume instead of the live host");
  app.add_option("--image", o.image,
                 "collect from an NTFS volume inside a disk image (raw/dd), read without mounting, on any OS");
  auto* partition = app.add_option("--partition", o.image_partition,
                                   "with --image: the partition number, in table order (MBR primaries then logicals; "
                                   "GPT entries); default: the "
                                   "NTFS one, the largest of several)")
                        ->check(CLI::Range(1, 128));
  std::uint64_t image_offset = 0;
  auto* offset_opt = app.add_option("--offset", image_offset, "with --image: byte offset of the NTFS boot sector");
  partition->excludes(offset_opt);
  app.add_option("--target-os", o.target_os, "OS of --root or --image: linux, windows or macos (default: detected)");
  app.add_option("--priority", priority, "low (default) or normal CPU and I/O priority")
      ->check(CLI::IsMember({"low", "normal"}));
  app.add_option("--upload", o.upload.urls,
                 "send each finished part and the sidecar to URL: https://... (presigned or SAS; {name} is the "
                 "file name), sftp://user@host[:port]/dir/; repeatable")
      ->expected(1)
      ->allow_extra_args(false)
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
  std::string upload_key, upload_ca;
  app.add_option("--upload-key", upload_key, "SFTP: private key FILE (ed25519 or ECDSA; no passphrase)");
  app.add_option("--upload-host-key", o.upload.host_key,
                 "SFTP: the server's host key as SHA256:... (ssh-keygen -lf); required");
  app.add_option("--upload-ca", upload_ca, "HTTPS: trust only the CA certificates in FILE (PEM)");
  int upload_retries = 3;
  app.add_option("--upload-retries", upload_retries, "further attempts per file after a failure (backoff 1 s, 2 s...)")
      ->capture_default_str()
      ->check(CLI::Range(0, 99));
  app.add_option("--upload-time-limit", o.upload.time_limit,
                 "seconds to wait for uploads after the collection ends (default: no limit)");
  app.add_flag("--upload-delete-local", o.upload.delete_local,
               "delete a local file once every upload of it is confirmed");
  app.add_flag("--quiet,-q", o.quiet, "only the closing lines");
  app.add_option("--validate", validate, "validate an artifact or profile YAML file and exit");
  app.add_flag("--list-profiles", list_profiles, "list the built-in profiles and exit");
  app.add_flag("--explain", explain, "show what --profile would collect (resolved paths and limits) and exit");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int rc = app.exit(e);
    return rc == 0 ? 0 : trawl::collector::kExitUsage;
  }
  if (offset_opt->count() > 0) o.image_offset = image_offset;
  for (const auto& f : recipients_files) o.recipients_files.emplace_back(f);
  if (!passphrase_file.empty()) o.passphrase_file = passphrase_file;
  if (!output.empty()) o.output_dir = output;
  if (!upload_key.empty()) o.upload.key_file = upload_key;
  if (!upload_ca.empty()) o.upload.ca_file = upload_ca;
  o.upload.attempts = upload_retries + 1;
  o.low_priority = priority == "low";
  if (!validate.empty()) return trawl::collector::RunValidate(validate, std::cout, std::cerr);
  if (list_profiles) return trawl::collector::RunListProfiles(std::cout, std::cerr);
  if (explain) return trawl::collector::RunExplain(o, std::cout, std::cerr);
  auto platform = trawl::collector::MakeHostPlatform();
  // A prepared USB stick: trawl.yaml beside the executable supplies defaults.
  if (const std::string self = platform->SelfExe(); !self.empty()) {
    if (auto r = trawl::collector::ApplyConfigFile(std::filesystem::path(self).parent_path() / "trawl.yaml", o); !r) {
      std::cerr << "trawl-collect: " << r.error().message << "\n";
      return trawl::collector::kExitUsage;
    }
  }
#ifdef _WIN32
  SetConsoleCtrlHandler(OnConsoleEvent, TRUE);
#else
  std::signal(SIGINT, OnSignal);
  std::signal(SIGTERM, OnSignal);
#endif
#ifdef SIGPIPE
  std::signal(SIGPIPE, SIG_IGN);
#endif
#ifdef SIGXFSZ
  // Past RLIMIT_FSIZE the default action kills us without a word; ignored,
  // the write fails with EFBIG and the run stops like on a full disk.
  std::signal(SIGXFSZ, SIG_IGN);
#endif
  o.signal_flag = &g_signal;
#ifdef _WIN32
  o.progress = _isatty(_fileno(stderr)) != 0;
#else
  o.progress = isatty(STDERR_FILENO) != 0;
#endif
  return trawl::collector::RunCollect(o, *platform, std::cout, std::cerr);
}

}  // namespace

#ifdef _WIN32
int wmain(int argc, wchar_t** wargv) {
  // Before anything can load a DLL: only System32 is searched for DLLs
  // loaded at run time, never the folder the collector was started from (a
  // USB stick or share the suspect host may have written to) or the current
  // directory. SetDefaultDllDirectories is looked up because Windows 7
  // without KB2533623 lacks it; the statically imported DLLs are resolved
  // by the loader before this runs (docs/windows-collector.md).
  using SetDefaultDllDirectoriesFn = BOOL(WINAPI*)(DWORD);
  if (HMODULE k32 = GetModuleHandleW(L"kernel32.dll")) {
    if (auto set_dirs = reinterpret_cast<SetDefaultDllDirectoriesFn>(
            reinterpret_cast<void*>(GetProcAddress(k32, "SetDefaultDllDirectories")))) {
      set_dirs(LOAD_LIBRARY_SEARCH_SYSTEM32);
    }
  }
  SetDllDirectoryW(L"");
  SetConsoleOutputCP(CP_UTF8);
  std::vector<std::string> args;
  args.reserve(static_cast<std::size_t>(argc));
  for (int i = 0; i < argc; ++i) args.push_back(trawl::collector::win::Narrow(wargv[i]));
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  return trawl::core::RunGuarded("trawl-collect", [&] { return Main(argc, argv.data()); });
}
#else
int main(int argc, char** argv) {
  return trawl::core::RunGuarded("trawl-collect", [&] { return Main(argc, argv); });
}
#endif
