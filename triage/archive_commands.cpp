// SPDX-License-Identifier: Apache-2.0
#include "triage/archive_commands.h"

#include <sys/stat.h>

#include <fstream>
#include <iostream>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "core/archive/archive_reader.h"
#include "core/formats/pe.h"
#include "core/formats/pe_json.h"
#include "core/formats/prefetch.h"
#include "core/formats/prefetch_json.h"
#include "core/util/file.h"
#include "core/util/text.h"

namespace trawl::triage {

using core::Result;

Result<std::vector<core::age::Identity>> LoadIdentities(const std::vector<std::string>& identity_files,
                                                        const std::string& passphrase_file) {
  std::vector<core::age::Identity> ids;
  for (const auto& f : identity_files) {
    auto text = core::ReadFileText(f, 1 << 20);
    if (!text) return std::unexpected(text.error());
    auto parsed = core::age::ParseIdentityFile(*text, f);
    if (!parsed) return std::unexpected(parsed.error());
    for (auto& id : *parsed) ids.push_back(id);
  }
  if (!passphrase_file.empty()) {
    auto text = core::ReadFileText(passphrase_file, 1 << 16);
    if (!text) return std::unexpected(text.error());
    std::string pass = *text;
    while (!pass.empty() && (pass.back() == '\n' || pass.back() == '\r')) pass.pop_back();
    ids.push_back(core::age::ScryptIdentity{pass});
  }
  if (ids.empty()) {
    return core::Fail(core::ErrorCode::kInvalidArgument, "no identity: give -i IDENTITY_FILE or --passphrase-file");
  }
  return ids;
}

int RunKeygen(const std::string& output, std::ostream& out, std::ostream& err) {
  auto id = core::age::GenerateX25519Identity();
  if (!id) {
    err << "trawl-triage keygen: " << id.error().ToString() << "\n";
    return kExitFatal;
  }
  const std::string text = core::age::FormatIdentityFile(*id);
  if (output.empty() || output == "-") {
    out << text;
  } else {
    std::error_code ec;
    if (std::filesystem::exists(output, ec)) {
      err << "trawl-triage keygen: " << output << ": already exists, refusing to overwrite a key\n";
      return kExitUsage;
    }
    // The identity is a secret: owner-only from the start.
    const mode_t old = umask(077);
    auto w = core::WriteFileText(output, text);
    umask(old);
    if (!w) {
      err << "trawl-triage keygen: " << w.error().message << "\n";
      return kExitFatal;
    }
  }
  err << "Public key: " << id->ToRecipient().Encode() << "\n";
  if (!output.empty() && output != "-") out << id->ToRecipient().Encode() << "\n";
  return kExitOk;
}

void AddArchiveLimitOptions(CLI::App* app, core::archive::ReadLimits& limits) {
  app->add_option("--max-inflated", limits.max_total_inflated,
                  "most bytes one archive may inflate to (all members; units: KiB, MiB, GiB)")
      ->transform(CLI::AsSizeValue(false))
      ->capture_default_str();
  app->add_option("--max-inflation-ratio", limits.max_inflation_ratio,
                  "most an archive may inflate to, as a multiple of its file size (above a 64 MiB floor)")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
}

int RunDecrypt(const std::vector<core::age::Identity>& ids, const std::string& archive, const std::string& out_path,
               bool raw, std::ostream& out, std::ostream& err, const core::archive::ExtractOptions& options) {
  const std::string shown_out = core::EscapeForTerminal(out_path);
  if (raw) {
    auto n = core::archive::DecryptRaw(archive, ids, out_path);
    if (!n) {
      err << "trawl-triage decrypt: " << core::EscapeForTerminal(n.error().ToString()) << "\n";
      return kExitProblems;
    }
    out << fmt::format("decrypted {} bytes to {}\n", *n, shown_out);
    return kExitOk;
  }
  auto report = core::archive::ExtractArchive(archive, ids, out_path, options);
  if (!report) {
    // The message may name a member: the archive author's bytes.
    err << "trawl-triage decrypt: " << core::EscapeForTerminal(report.error().ToString()) << "\n";
    return kExitProblems;
  }
  for (const auto& p : report->problems) {
    err << "did not verify: " << core::EscapeForTerminal(p.member) << ": " << core::EscapeForTerminal(p.problem)
        << "\n";
  }
  for (const auto& r : report->refused) {
    err << "refused: " << core::EscapeForTerminal(r.member) << ": " << core::EscapeForTerminal(r.problem) << "\n";
  }
  out << fmt::format("extracted {} members ({} bytes) to {}{}{}\n", report->extracted, report->bytes, shown_out,
                     report->refused.empty() ? "" : fmt::format(" ({} refused)", report->refused.size()),
                     report->problems.empty()
                         ? ""
                         : fmt::format("; the archive did NOT verify ({} problem(s))", report->problems.size()));
  return report->refused.empty() && report->problems.empty() ? kExitOk : kExitProblems;
}

int RunVerify(const std::vector<core::age::Identity>& ids, const std::vector<std::string>& archives, std::ostream& out,
              std::ostream& err, const core::archive::ReadLimits& limits) {
  int rc = kExitOk;
  for (const auto& a : archives) {
    // Archive names come from whoever handed the files over: escaped too.
    const std::string name = core::EscapeForTerminal(a);
    auto report = core::archive::VerifyArchive(a, ids, limits);
    if (!report) {
      out << "FAIL " << name << ": " << core::EscapeForTerminal(report.error().ToString()) << "\n";
      rc = kExitProblems;
      continue;
    }
    if (report->ok && report->manifest) {
      const auto& m = *report->manifest;
      out << fmt::format("OK   {}: {} members verified; host {}, result {}, part {}, content SHA-256 {}\n", name,
                         report->members_checked, core::EscapeForTerminal(m.host.hostname), m.result, m.part,
                         report->content_sha256);
    } else {
      rc = kExitProblems;
      out << fmt::format("FAIL {}: {} problem(s)\n", name, report->problems.size());
      for (const auto& p : report->problems) {
        out << "  " << core::EscapeForTerminal(p.member) << ": " << core::EscapeForTerminal(p.problem) << "\n";
      }
    }
  }
  (void)err;
  return rc;
}

namespace {
constexpr std::uint64_t kMaxInspect = 512ull << 20;
}

int RunInspectPrefetch(const std::vector<std::string>& files, bool json, std::ostream& out, std::ostream& err) {
  int rc = kExitOk;
  for (const auto& f : files) {
    auto bytes = core::ReadFileBytes(f, 64ull << 20);
    Result<core::formats::PrefetchFile> pf = bytes
                                                 ? core::formats::ParsePrefetch(*bytes)
                                                 : Result<core::formats::PrefetchFile>(std::unexpected(bytes.error()));
    if (!pf) {
      rc = kExitProblems;
      if (json)
        out << core::formats::PrefetchErrorJson(f, pf.error())
                   .dump(-1, ' ', false, nlohmann::json::error_handler_t::replace)
            << "\n";
      else
        err << core::EscapeForTerminal(f) << ": " << pf.error().ToString() << "\n";
      continue;
    }
    if (json)
      out << core::formats::PrefetchToJson(*pf, f).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace)
          << "\n";
    else
      out << core::formats::PrefetchToText(*pf, f) << "\n";
  }
  return rc;
}

int RunInspectPe(const std::vector<std::string>& files, bool json, std::ostream& out, std::ostream& err) {
  int rc = kExitOk;
  for (const auto& f : files) {
    auto bytes = core::ReadFileBytes(f, kMaxInspect);
    Result<core::formats::PeInfo> pe =
        bytes ? core::formats::AnalyzePe(*bytes) : Result<core::formats::PeInfo>(std::unexpected(bytes.error()));
    if (!pe) {
      rc = kExitProblems;
      if (json)
        out << core::formats::PeErrorJson(f, pe.error()).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace)
            << "\n";
      else
        err << core::EscapeForTerminal(f) << ": " << pe.error().ToString() << "\n";
      continue;
    }
    if (json)
      out << core::formats::PeToJson(*pe, f).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) << "\n";
    else
      out << core::formats::PeToText(*pe, f) << "\n";
  }
  return rc;
}

}  // namespace trawl::triage
