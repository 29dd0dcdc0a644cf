// SPDX-License-Identifier: Apache-2.0
// trawl-triage: parses the command line and calls the triage library.
#include <openssl/crypto.h>

#include <iostream>

#include <CLI/CLI.hpp>

#include "core/util/main_guard.h"
#include "triage/archive_commands.h"
#include "triage/case_commands.h"
#include "triage/kit.h"

namespace {

int Main(int argc, char** argv) {
  OPENSSL_init_crypto(OPENSSL_INIT_NO_LOAD_CONFIG, nullptr);
  namespace t = trawl::triage;
  CLI::App app{"trawl-triage: decrypt, verify, inspect and score trawl collections offline"};
  app.set_version_flag("--version", std::string("trawl-triage ") + TRAWL_VERSION);
  app.require_subcommand(1);
  std::vector<std::string> identity_files;
  std::string passphrase_file;
  auto add_ids = [&](CLI::App* c) {
    // One file per -i (repeat -i for more), so "-i KEY ARCHIVE" leaves
    // ARCHIVE to the positional argument.
    c->add_option("-i,--identity", identity_files, "age identity file (age-keygen format); repeatable")
        ->expected(1)
        ->allow_extra_args(false)
        ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
    c->add_option("--passphrase-file", passphrase_file, "passphrase for scrypt-encrypted files");
  };

  std::string keygen_out;
  auto* keygen = app.add_subcommand("keygen", "make an X25519 identity (as age-keygen) and print its recipient");
  keygen->add_option("-o,--output", keygen_out, "identity file to write (default: standard output)");

  std::string archive, out_path;
  bool raw = false;
  auto* decrypt = app.add_subcommand("decrypt", "decrypt and extract an archive (or --raw: any age file)");
  add_ids(decrypt);
  decrypt->add_option("archive", archive, "the .zip.age file")->required();
  decrypt->add_option("-o,--output", out_path, "folder to extract into (file with --raw)")->required();
  decrypt->add_flag("--raw", raw, "write the decrypted payload as it is");
  trawl::core::archive::ExtractOptions extract_options;
  t::AddArchiveLimitOptions(decrypt, extract_options.limits);

  std::vector<std::string> archives;
  auto* verify = app.add_subcommand("verify", "check authenticity and every manifest hash");
  add_ids(verify);
  verify->add_option("archives", archives, "archives")->required();
  trawl::core::archive::ReadLimits verify_limits;
  t::AddArchiveLimitOptions(verify, verify_limits);

  auto* inspect = app.add_subcommand("inspect", "parse Windows artifacts");
  inspect->require_subcommand(1);
  std::vector<std::string> files;
  bool as_json = false;
  auto* prefetch = inspect->add_subcommand("prefetch", "Windows prefetch files (v17-v31, compressed)");
  prefetch->add_option("files", files)->required();
  prefetch->add_flag("--json", as_json, "one JSON object per file");
  auto* pe = inspect->add_subcommand("pe", "PE headers, imports, version info and Authenticode");
  pe->add_option("files", files)->required();
  pe->add_flag("--json", as_json, "one JSON object per file");
  t::NtfsInspectOptions ntfs_opts;
  std::uint64_t ntfs_offset = 0;
  auto* ntfs = inspect->add_subcommand("ntfs", "the files of an NTFS volume in a disk image (no mount, any OS)");
  ntfs->add_option("image", ntfs_opts.image, "raw disk or volume image")->required();
  auto* ntfs_part = ntfs->add_option("--partition", ntfs_opts.partition, "partition number, in table order");
  auto* ntfs_off = ntfs->add_option("--offset", ntfs_offset, "byte offset of the NTFS boot sector");
  ntfs_part->excludes(ntfs_off);
  ntfs->add_option("--cat", ntfs_opts.cat, "write this file (PATH or PATH:stream) to stdout");
  ntfs->add_flag("--json", ntfs_opts.json, "one JSON object per name (times, streams, reparse target)");
  t::HiveInspectOptions hive_opts;
  auto* hive = inspect->add_subcommand("hive", "the keys and values of a registry hive, after log replay");
  hive->add_option("file", hive_opts.file, "registry hive file (SYSTEM, NTUSER.DAT, Amcache.hve, ...)")->required();
  hive->add_option("--key", hive_opts.key, "start at this key (names separated by backslashes; default: the root)");
  hive->add_flag("--json", hive_opts.json, "a header object, then one JSON object per key with its values");
  hive->add_flag("--no-logs", hive_opts.no_logs, "do not look for FILE.LOG, .LOG1, .LOG2 beside FILE");
  hive->add_option("--log", hive_opts.logs, "a transaction log to offer as well; repeatable")
      ->expected(1)
      ->allow_extra_args(false)
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);

  auto* evtx_cmd = inspect->add_subcommand("evtx", "the records of Windows event logs (.evtx), any OS");
  evtx_cmd->add_option("files", files)->required();
  evtx_cmd->add_flag("--json", as_json, "one JSON object per record");
  t::SigmaOptions sigma_opts;
  auto* sigma_cmd = app.add_subcommand("sigma", "run Sigma rules over Windows event logs (.evtx)");
  sigma_cmd->add_option("--rules", sigma_opts.rules, "a rule file or a folder of rules; repeatable")
      ->required()
      ->expected(1)
      ->allow_extra_args(false)
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
  sigma_cmd->add_option("--mapping", sigma_opts.mapping, "log-source mapping file (default: the built-in one)");
  sigma_cmd->add_flag("--json", sigma_opts.json, "one JSON object per match");
  sigma_cmd->add_option("files", sigma_opts.files, "EVTX files")->required();

  t::KitOptions kit_opts;
  auto* kit = app.add_subcommand("kit", "lay out a collection kit for USB sticks and EDR consoles (docs/kit.md)");
  kit->add_option("--recipient,-r", kit_opts.recipients, "age recipient (age1...); repeatable")
      ->required()
      ->expected(1)
      ->allow_extra_args(false)
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
  kit->add_option("--profile", kit_opts.profile, "built-in profile the kit runs")->capture_default_str();
  kit->add_option("--upload", kit_opts.upload.urls, "upload target (as trawl-collect --upload); repeatable")
      ->expected(1)
      ->allow_extra_args(false)
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
  std::string kit_key, kit_ca, kit_collectors, kit_out;
  kit->add_option("--upload-key", kit_key, "SFTP private key copied into the kit (use a write-only account)");
  kit->add_option("--upload-host-key", kit_opts.upload.host_key, "SFTP server host key, SHA256:...");
  kit->add_option("--upload-ca", kit_ca, "CA certificates (PEM) copied into the kit for HTTPS");
  kit->add_flag("--upload-delete-local", kit_opts.upload.delete_local, "delete local files once uploaded");
  kit->add_option("--time-limit", kit_opts.time_limit, "seconds (default: the profile's)");
  kit->add_option("--max-output", kit_opts.max_output, "bytes (default: the profile's)");
  kit->add_option("--split-size", kit_opts.split_size, "bytes per archive part");
  kit->add_option("--collectors", kit_collectors,
                  "folder with trawl-collect and trawl-collect.exe (default: "
                  "beside trawl-triage)");
  kit->add_option("-o,--output", kit_out, "folder to lay the kit out in")->required();
  kit->add_flag("--force", kit_opts.force, "write into a folder that is not empty");

  t::CaseCommands extra;
  t::AddCaseCommands(app, extra, add_ids);

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int rc = app.exit(e);
    return rc == 0 ? 0 : t::kExitUsage;
  }
  if (*keygen) return t::RunKeygen(keygen_out, std::cout, std::cerr);
  if (*kit) {
    kit_opts.upload.key_file = kit_key;
    kit_opts.upload.ca_file = kit_ca;
    kit_opts.collectors = kit_collectors;
    kit_opts.output = kit_out;
    return t::RunKit(kit_opts, std::cout, std::cerr);
  }
  if (*prefetch) return t::RunInspectPrefetch(files, as_json, std::cout, std::cerr);
  if (*ntfs) {
    if (ntfs_off->count() > 0) ntfs_opts.offset = ntfs_offset;
    return t::RunInspectNtfs(ntfs_opts, std::cout, std::cerr);
  }
  if (*pe) return t::RunInspectPe(files, as_json, std::cout, std::cerr);
  if (*hive) return t::RunInspectHive(hive_opts, std::cout, std::cerr);
  if (*evtx_cmd) return t::RunInspectEvtx(files, as_json, std::cout, std::cerr);
  if (*sigma_cmd) return t::RunSigma(sigma_opts, std::cout, std::cerr);
  auto need_ids = [&]() -> trawl::core::Result<std::vector<trawl::core::age::Identity>> {
    return t::LoadIdentities(identity_files, passphrase_file);
  };
  if (*decrypt || *verify) {
    auto ids = need_ids();
    if (!ids) {
      std::cerr << "trawl-triage: " << ids.error().message << "\n";
      return t::kExitUsage;
    }
    if (*decrypt) return t::RunDecrypt(*ids, archive, out_path, raw, std::cout, std::cerr, extract_options);
    return t::RunVerify(*ids, archives, std::cout, std::cerr, verify_limits);
  }
  return t::RunCaseCommands(app, extra, identity_files, passphrase_file, std::cout, std::cerr);
}

}  // namespace

int main(int argc, char** argv) {
  return trawl::core::RunGuarded("trawl-triage", [&] { return Main(argc, argv); });
}
