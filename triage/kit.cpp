// SPDX-License-Identifier: Apache-2.0
#include "triage/kit.h"

#ifdef _WIN32
#include <windows.h>
#endif

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <fstream>
#include <iostream>
#include <set>

#include <fmt/format.h>

#include "core/crypto/age.h"
#include "core/hash/multi_hasher.h"
#include "core/profile/store.h"
#include "core/util/exit_codes.h"
#include "core/util/file.h"
#include "core/util/time.h"

namespace trawl::triage {

namespace fs = std::filesystem;

namespace {

struct Shipped {
  std::string rel;  // path inside the kit, '/'-separated
  std::string sha256;
};

std::filesystem::path SelfDir() {
#ifdef _WIN32
  std::wstring buf(32768, L'\0');
  const DWORD n = GetModuleFileNameW(nullptr, buf.data(), static_cast<DWORD>(buf.size()));
  if (n == 0 || n >= buf.size()) return {};
  buf.resize(n);
  return fs::path(buf).parent_path();
#else
  std::error_code ec;
  const fs::path p = fs::read_symlink("/proc/self/exe", ec);
  return ec ? fs::path() : p.parent_path();
#endif
}

core::Result<std::string> Sha256File(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  if (!in) return core::Fail(core::ErrorCode::kIo, p.string() + ": cannot open");
  core::MultiHasher h;
  std::vector<char> buf(1 << 20);
  while (in) {
    in.read(buf.data(), static_cast<std::streamsize>(buf.size()));
    const auto n = static_cast<std::size_t>(in.gcount());
    if (n > 0) h.Update(core::Bytes(reinterpret_cast<const std::byte*>(buf.data()), n));
  }
  if (in.bad()) return core::Fail(core::ErrorCode::kIo, p.string() + ": read error");
  return h.Finish().sha256;
}

// Characters a value may hold so that it can stand, unescaped, inside a
// single-quoted PowerShell string, a double-quoted VQL string and a YAML
// scalar: printable ASCII without quotes, backslash, backtick or space.
bool ScriptSafe(std::string_view v) {
  return !v.empty() && std::all_of(v.begin(), v.end(), [](char c) {
    return c > ' ' && c < 0x7f && c != '\'' && c != '"' && c != '\\' && c != '`';
  });
}

std::string Join(const std::vector<std::string>& v, std::string_view sep) {
  std::string out;
  for (const auto& s : v) {
    if (!out.empty()) out += sep;
    out += s;
  }
  return out;
}

// The collector's arguments for a console that cannot rely on trawl.yaml
// beside the binary. `key` and `ca` are the paths the files have there.
std::vector<std::string> ConsoleArgs(const KitOptions& o, std::uint64_t time_limit, bool with_uploads,
                                     const std::string& key, const std::string& ca) {
  std::vector<std::string> a;
  for (const auto& r : o.recipients) a.insert(a.end(), {"--recipient", r});
  a.insert(a.end(), {"--profile", o.profile});
  if (time_limit != 0) a.insert(a.end(), {"--time-limit", std::to_string(time_limit)});
  if (o.max_output != 0) a.insert(a.end(), {"--max-output", std::to_string(o.max_output)});
  if (o.split_size != 0) a.insert(a.end(), {"--split-size", std::to_string(o.split_size)});
  if (with_uploads) {
    for (const auto& u : o.upload.urls) a.insert(a.end(), {"--upload", u});
    if (!o.upload.key_file.empty()) a.insert(a.end(), {"--upload-key", key});
    if (!o.upload.host_key.empty()) a.insert(a.end(), {"--upload-host-key", o.upload.host_key});
    if (!o.upload.ca_file.empty()) a.insert(a.end(), {"--upload-ca", ca});
    if (o.upload.delete_local) a.emplace_back("--upload-delete-local");
  }
  a.emplace_back("--quiet");
  return a;
}

std::string TrawlYaml(const KitOptions& o, bool has_key, bool has_ca) {
  YAML::Emitter y;
  y << YAML::Comment("trawl kit: read by trawl-collect from the folder it runs in (docs/kit.md)");
  y << YAML::BeginMap;
  y << YAML::Key << "recipients" << YAML::Value << YAML::BeginSeq;
  for (const auto& r : o.recipients) y << r;
  y << YAML::EndSeq;
  y << YAML::Key << "profile" << YAML::Value << o.profile;
  y << YAML::Key << "output" << YAML::Value << "trawl-output";
  if (o.time_limit != 0) y << YAML::Key << "time_limit" << YAML::Value << o.time_limit;
  if (o.max_output != 0) y << YAML::Key << "max_output" << YAML::Value << o.max_output;
  if (o.split_size != 0) y << YAML::Key << "split_size" << YAML::Value << o.split_size;
  if (!o.upload.urls.empty()) {
    y << YAML::Key << "upload" << YAML::Value << YAML::BeginSeq;
    for (const auto& u : o.upload.urls) y << YAML::DoubleQuoted << u;
    y << YAML::EndSeq;
  }
  if (has_key) y << YAML::Key << "upload_key" << YAML::Value << "upload/upload_key";
  if (!o.upload.host_key.empty()) y << YAML::Key << "upload_host_key" << YAML::Value << o.upload.host_key;
  if (has_ca) y << YAML::Key << "upload_ca" << YAML::Value << "upload/ca.pem";
  if (o.upload.delete_local) y << YAML::Key << "upload_delete_local" << YAML::Value << true;
  y << YAML::EndMap;
  return std::string(y.c_str()) + "\n";
}

const char* kCollectSh = R"SH(#!/bin/sh
# trawl kit: runs the Linux collector beside this script. Its settings come
# from trawl.yaml in the same folder; arguments given here win over them.
# Exit code: the collector's (0 complete, 1 partial, 2 usage, 3 fatal).
here=$(cd "$(dirname "$0")" && pwd) || exit 3
bin="$here/trawl-collect"
if [ ! -f "$bin" ]; then
  echo "collect.sh: $bin is missing from this kit" >&2
  exit 3
fi
[ -x "$bin" ] || chmod u+x "$bin" 2>/dev/null || true
exec "$bin" "$@"
)SH";

// CRLF: cmd.exe reads batch files line by line and mis-parses LF-only labels.
const char* kCollectCmd =
    "@echo off\r\n"
    "rem trawl kit: runs the Windows collector beside this script. Its settings\r\n"
    "rem come from trawl.yaml in the same folder; arguments given here win.\r\n"
    "rem Exit code: the collector's (0 complete, 1 partial, 2 usage, 3 fatal).\r\n"
    "setlocal\r\n"
    "set \"TRAWL_EXE=%~dp0trawl-collect.exe\"\r\n"
    "if not exist \"%TRAWL_EXE%\" (\r\n"
    "  echo collect.cmd: %TRAWL_EXE% is missing from this kit 1>&2\r\n"
    "  exit /b 3\r\n"
    ")\r\n"
    "\"%TRAWL_EXE%\" %*\r\n"
    "exit /b %ERRORLEVEL%\r\n";

std::string PsQuote(const std::string& s) { return "'" + s + "'"; }

std::string DefenderScript(const KitOptions& o, const std::string& exe_sha) {
  const std::string dl = R"(C:\ProgramData\Microsoft\Windows Defender Advanced Threat Protection\Downloads)";
  const std::uint64_t tl =
      o.time_limit == 0 ? kDefenderCollectSeconds : std::min(o.time_limit, kDefenderCollectSeconds);
  std::vector<std::string> args = ConsoleArgs(o, tl, true, dl + R"(\upload_key)", dl + R"(\ca.pem)");
  if (!o.upload.urls.empty()) {
    args.insert(args.end() - 1, {"--upload-time-limit", std::to_string(kDefenderUploadSeconds)});
  }
  std::vector<std::string> quoted;
  quoted.reserve(args.size());
  for (const auto& a : args) quoted.push_back(PsQuote(a));
  std::string s;
  s += "# trawl kit for Microsoft Defender for Endpoint Live Response (docs/kit.md).\r\n";
  s += "# Library: upload trawl-collect.exe and this script. In a session: `putfile trawl-collect.exe`";
  if (!o.upload.key_file.empty()) s += ", `putfile upload_key`";
  if (!o.upload.ca_file.empty()) s += ", `putfile ca.pem`";
  s +=
      ",\r\n# then `run trawl-collect-defender.ps1`, then `getfile` the archive it names (unless it was uploaded).\r\n";
  s += fmt::format("# RunScript stops after 10 minutes: the collection is limited to {} s", tl);
  if (!o.upload.urls.empty()) s += fmt::format(" and uploads to {} s", kDefenderUploadSeconds);
  s += ".\r\n";
  s += "$ErrorActionPreference = 'Stop'\r\n";
  s += "$dir = " + PsQuote(dl) + "\r\n";
  s += "$exe = Join-Path $dir 'trawl-collect.exe'\r\n";
  s += "if (-not (Test-Path -LiteralPath $exe)) { $exe = Join-Path $PSScriptRoot 'trawl-collect.exe' }\r\n";
  s += "if (-not (Test-Path -LiteralPath $exe)) { Write-Output 'trawl: putfile trawl-collect.exe first'; exit 3 }\r\n";
  s += "$expected = " + PsQuote(exe_sha) + "\r\n";
  s += "$actual = (Get-FileHash -LiteralPath $exe -Algorithm SHA256).Hash.ToLowerInvariant()\r\n";
  s += "if ($actual -ne $expected) { Write-Output \"trawl: $exe has SHA-256 $actual, the kit's collector has "
       "$expected\"; exit 3 }\r\n";
  s += "$out = Join-Path $env:ProgramData 'trawl-output'\r\n";
  s += "New-Item -ItemType Directory -Force -Path $out | Out-Null\r\n";
  s += "$arguments = @(" + Join(quoted, ", ") + ", '--output', $out)\r\n";
  s += "# Start-Process joins the list into one command line: quote each argument.\r\n";
  s += "$line = ($arguments | ForEach-Object { '\"' + $_ + '\"' }) -join ' '\r\n";
  s += "$stdout = Join-Path $out 'collect-stdout.txt'\r\n";
  s += "$stderr = Join-Path $out 'collect-stderr.txt'\r\n";
  s += "$p = Start-Process -FilePath $exe -ArgumentList $line -NoNewWindow -Wait -PassThru "
       "-RedirectStandardOutput $stdout -RedirectStandardError $stderr\r\n";
  s += "Get-Content -LiteralPath $stderr -Tail 5\r\n";
  s += "Get-Content -LiteralPath $stdout -Tail 6\r\n";
  s += "exit $p.ExitCode\r\n";
  return s;
}

std::string VelociraptorArtifact(const KitOptions& o, const std::string& win_sha, const std::string& linux_sha) {
  const std::uint64_t tl = o.time_limit == 0 ? 600 : o.time_limit;
  std::vector<std::string> args = ConsoleArgs(o, tl, false, "", "");
  std::string argv;
  for (const auto& a : args) argv += ", \"" + a + "\"";
  auto query = [&](const std::string& tool) {
    return "LET Bin <= SELECT OSPath FROM Artifact.Generic.Utils.FetchBinary(ToolName=\"" + tool +
           "\")\n"
           "LET OutDir <= tempdir()\n"
           "LET Run <= SELECT ReturnCode, Stdout, Stderr FROM execve(argv=[Bin[0].OSPath" +
           argv +
           ", \"--output\", OutDir], length=1000000)\n"
           "SELECT Run[0].ReturnCode AS ReturnCode, Run[0].Stdout AS Stdout, OSPath.Basename AS File,\n"
           "       upload(file=OSPath, name=OSPath.Basename) AS Upload\n"
           "FROM glob(globs=\"*\", root=OutDir)\n";
  };
  YAML::Emitter y;
  y << YAML::BeginMap;
  y << YAML::Key << "name" << YAML::Value << "Custom.Trawl.Collect";
  y << YAML::Key << "description" << YAML::Value << YAML::Literal
    << "Runs trawl-collect on the client and uploads its age-encrypted archive(s) and sidecar\n"
       "to the Velociraptor server (ciphertext only: the recipients' keys stay with the analysts).\n"
       "Made by `trawl-triage kit` on " +
           core::IsoUtcNow() +
           ". Before use, add the kit's trawl-collect.exe and\n"
           "trawl-collect to the tools inventory as TrawlCollectWindows and TrawlCollectLinux: the\n"
           "expected hashes below must match. The archive goes to the Velociraptor server; the\n"
           "kit's --upload targets are not used here.\n";
  y << YAML::Key << "author" << YAML::Value << "trawl-triage kit";
  y << YAML::Key << "type" << YAML::Value << "CLIENT";
  y << YAML::Key << "required_permissions" << YAML::Value << YAML::Flow << YAML::BeginSeq << "EXECVE" << YAML::EndSeq;
  y << YAML::Key << "resources" << YAML::Value << YAML::BeginMap << YAML::Key << "timeout" << YAML::Value << tl + 600
    << YAML::EndMap;
  y << YAML::Key << "tools" << YAML::Value << YAML::BeginSeq;
  if (!win_sha.empty()) {
    y << YAML::BeginMap << YAML::Key << "name" << YAML::Value << "TrawlCollectWindows" << YAML::Key << "serve_locally"
      << YAML::Value << true << YAML::Key << "expected_hash" << YAML::Value << win_sha << YAML::EndMap;
  }
  if (!linux_sha.empty()) {
    y << YAML::BeginMap << YAML::Key << "name" << YAML::Value << "TrawlCollectLinux" << YAML::Key << "serve_locally"
      << YAML::Value << true << YAML::Key << "expected_hash" << YAML::Value << linux_sha << YAML::EndMap;
  }
  y << YAML::EndSeq;
  y << YAML::Key << "sources" << YAML::Value << YAML::BeginSeq;
  if (!win_sha.empty()) {
    y << YAML::BeginMap << YAML::Key << "name" << YAML::Value << "Windows" << YAML::Key << "precondition" << YAML::Value
      << "SELECT OS FROM info() WHERE OS = 'windows'" << YAML::Key << "query" << YAML::Value << YAML::Literal
      << query("TrawlCollectWindows") << YAML::EndMap;
  }
  if (!linux_sha.empty()) {
    y << YAML::BeginMap << YAML::Key << "name" << YAML::Value << "Linux" << YAML::Key << "precondition" << YAML::Value
      << "SELECT OS FROM info() WHERE OS = 'linux'" << YAML::Key << "query" << YAML::Value << YAML::Literal
      << query("TrawlCollectLinux") << YAML::EndMap;
  }
  y << YAML::EndSeq;
  y << YAML::EndMap;
  return std::string(y.c_str()) + "\n";
}

std::string Readme(const KitOptions& o, bool has_linux, bool has_windows) {
  std::string s = "trawl collection kit, made " + core::IsoUtcNow() + " by trawl-triage kit.\n\n";
  s += "Archives are encrypted to: " + Join(o.recipients, ", ") + "\nProfile: " + o.profile + "\n";
  if (!o.upload.urls.empty()) s += "Uploads: " + std::to_string(o.upload.urls.size()) + " target(s), see trawl.yaml\n";
  s += "\nCheck the kit first:  sha256sum -c SHA256SUMS\n\n";
  if (has_linux) s += "Linux (USB stick, SSH, RTR runscript):   sh collect.sh\n";
  if (has_windows) {
    s += "Windows (USB stick, console that runs .cmd):  collect.cmd\n";
    s += "Defender Live Response: putfile trawl-collect.exe, run defender\\trawl-collect-defender.ps1\n";
  }
  s += "Velociraptor: import velociraptor/Custom.Trawl.Collect.yaml, add the collectors as tools\n";
  s += "\nThe collector's last output line is `trawl:result {json}` (docs/upload.md).\n";
  s += "Full guide per channel, with each console's limits: docs/kit.md in the trawl sources.\n";
  return s;
}

}  // namespace

int RunKit(const KitOptions& o, std::ostream& out, std::ostream& err) {
  auto usage = [&](const std::string& msg) {
    err << "trawl-triage kit: " << msg << "\n";
    return core::kExitUsage;
  };
  if (o.output.empty()) return usage("-o DIR is required");
  if (o.recipients.empty()) return usage("--recipient age1... is required (the analysts' key)");
  for (const auto& r : o.recipients) {
    if (auto p = core::age::ParseRecipient(r); !p) return usage("--recipient: " + p.error().message);
  }
  auto profiles = core::profile::ListProfiles();
  if (!profiles) return usage(profiles.error().message);
  std::vector<std::string> names;
  for (const auto& p : *profiles) names.push_back(p.name);
  if (std::find(names.begin(), names.end(), o.profile) == names.end()) {
    return usage(fmt::format("--profile '{}': not a built-in profile ({})", o.profile, Join(names, ", ")));
  }
  if (auto t = core::ParseUploadTargets(o.upload); !t) return usage(t.error().message);
  for (const auto& u : o.upload.urls) {
    if (!ScriptSafe(u)) {
      return usage(
          "--upload: a URL with quotes, backslashes, backticks, spaces or control characters cannot be "
          "put into the kit's scripts safely; percent-encode them");
    }
  }
  if (!o.upload.host_key.empty() && !ScriptSafe(o.upload.host_key)) return usage("--upload-host-key: bad characters");
  const fs::path from = o.collectors.empty() ? SelfDir() : o.collectors;
  const fs::path linux_bin = from / "trawl-collect";
  const fs::path win_bin = from / "trawl-collect.exe";
  std::error_code ec;
  const bool has_linux = fs::is_regular_file(linux_bin, ec);
  const bool has_windows = fs::is_regular_file(win_bin, ec);
  if (!has_linux && !has_windows) {
    return usage(fmt::format("no trawl-collect or trawl-collect.exe in {} (give --collectors DIR, e.g. dist/out)",
                             from.string()));
  }
  if (fs::exists(o.output, ec) && !fs::is_empty(o.output, ec) && !o.force) {
    return usage(o.output.string() + " is not empty (use --force to write into it)");
  }
  std::vector<Shipped> shipped;
  auto fail = [&](const std::string& msg) {
    err << "trawl-triage kit: " << msg << "\n";
    return core::kExitFatal;
  };
  auto write = [&](const std::string& rel, std::string_view text) -> bool {
    const fs::path p = o.output / fs::path(rel);
    std::error_code mk;
    fs::create_directories(p.parent_path(), mk);
    if (auto w = core::WriteFileText(p, text); !w) {
      err << "trawl-triage kit: " << w.error().message << "\n";
      return false;
    }
    shipped.push_back({rel, core::Sha256Hex(core::AsBytes(text))});
    return true;
  };
  auto copy = [&](const fs::path& src, const std::string& rel, bool exec) -> std::string {
    const fs::path dst = o.output / fs::path(rel);
    std::error_code ce;
    fs::create_directories(dst.parent_path(), ce);
    fs::copy_file(src, dst, fs::copy_options::overwrite_existing, ce);
    if (ce) {
      err << fmt::format("trawl-triage kit: cannot copy {} to {}: {}\n", src.string(), dst.string(), ce.message());
      return "";
    }
    if (exec) {
      fs::permissions(dst, fs::perms::owner_exec | fs::perms::group_exec | fs::perms::others_exec,
                      fs::perm_options::add, ce);
    }
    auto sha = Sha256File(dst);
    if (!sha) {
      err << "trawl-triage kit: " << sha.error().message << "\n";
      return "";
    }
    shipped.push_back({rel, *sha});
    return *sha;
  };
  fs::create_directories(o.output, ec);
  if (ec) return fail(fmt::format("cannot create {}: {}", o.output.string(), ec.message()));
  const std::string linux_sha = has_linux ? copy(linux_bin, "trawl-collect", true) : "";
  const std::string win_sha = has_windows ? copy(win_bin, "trawl-collect.exe", false) : "";
  if ((has_linux && linux_sha.empty()) || (has_windows && win_sha.empty())) return core::kExitFatal;
  const bool has_key = !o.upload.key_file.empty();
  const bool has_ca = !o.upload.ca_file.empty();
  if (has_key && copy(o.upload.key_file, "upload/upload_key", false).empty()) return core::kExitFatal;
  if (has_key) fs::permissions(o.output / "upload/upload_key", fs::perms::owner_read | fs::perms::owner_write, ec);
  if (has_ca && copy(o.upload.ca_file, "upload/ca.pem", false).empty()) return core::kExitFatal;
  if (!write("trawl.yaml", TrawlYaml(o, has_key, has_ca))) return core::kExitFatal;
  if (has_linux) {
    if (!write("collect.sh", kCollectSh)) return core::kExitFatal;
    fs::permissions(o.output / "collect.sh", fs::perms::owner_exec | fs::perms::group_exec | fs::perms::others_exec,
                    fs::perm_options::add, ec);
  }
  if (has_windows) {
    if (!write("collect.cmd", kCollectCmd)) return core::kExitFatal;
    if (!write("defender/trawl-collect-defender.ps1", DefenderScript(o, win_sha))) return core::kExitFatal;
  }
  if (!write("velociraptor/Custom.Trawl.Collect.yaml", VelociraptorArtifact(o, win_sha, linux_sha))) {
    return core::kExitFatal;
  }
  if (!write("README.txt", Readme(o, has_linux, has_windows))) return core::kExitFatal;
  std::sort(shipped.begin(), shipped.end(), [](const Shipped& a, const Shipped& b) { return a.rel < b.rel; });
  std::string sums;
  for (const auto& f : shipped) sums += f.sha256 + "  " + f.rel + "\n";
  if (auto w = core::WriteFileText(o.output / "SHA256SUMS", sums); !w) return fail(w.error().message);
  for (const auto& f : shipped) out << f.sha256 << "  " << f.rel << "\n";
  if (!has_linux) err << "trawl-triage kit: note: no Linux collector in " << from.string() << "\n";
  if (!has_windows) err << "trawl-triage kit: note: no trawl-collect.exe in " << from.string() << "\n";
  out << "kit: " << o.output.string() << " (" << shipped.size() << " files; check with sha256sum -c SHA256SUMS)\n";
  return core::kExitOk;
}

}  // namespace trawl::triage
