// SPDX-License-Identifier: Apache-2.0
#include "core/formats/pe_json.h"

#include <fmt/format.h>

#include "core/util/text.h"

namespace trawl::core::formats {
namespace {

nlohmann::json OptionalDouble(const std::optional<double>& v) {
  return v ? nlohmann::json(*v) : nlohmann::json(nullptr);
}

std::string Ent(const std::optional<double>& v) { return v ? fmt::format("{:.3f}", *v) : "n/a"; }

}  // namespace

nlohmann::json PeToJson(const PeInfo& info, std::string_view path) {
  using nlohmann::json;
  json j;
  j["path"] = RepairUtf8(path);
  j["file_size"] = info.file_size;
  j["machine"] = info.machine_name;
  j["machine_id"] = info.machine;
  j["timestamp"] = info.timestamp;
  j["characteristics"] = info.characteristics;
  j["subsystem"] = info.subsystem_name;
  j["is_dll"] = info.is_dll;
  j["is_64"] = info.is_64;
  j["entry_point"] = info.entry_point;
  j["image_base"] = info.image_base;
  j["number_of_sections"] = info.number_of_sections;
  j["imphash"] = info.imphash;
  json sections = json::array();
  for (const auto& s : info.sections) {
    sections.push_back({{"name", s.name},
                        {"virtual_address", s.virtual_address},
                        {"virtual_size", s.virtual_size},
                        {"raw_offset", s.raw_offset},
                        {"raw_size", s.raw_size},
                        {"characteristics", s.characteristics},
                        {"entropy", OptionalDouble(s.entropy)}});
  }
  j["sections"] = std::move(sections);
  json imports = json::array();
  for (const auto& imp : info.imports) imports.push_back({{"dll", imp.dll}, {"functions", imp.functions}});
  j["imports"] = std::move(imports);
  json version = json::object();
  for (const auto& [k, v] : info.version_info) version[RepairUtf8(k)] = RepairUtf8(v);
  j["version_info"] = std::move(version);
  if (info.overlay) {
    j["overlay"] = {{"offset", info.overlay->offset},
                    {"size", info.overlay->size},
                    {"entropy", OptionalDouble(info.overlay->entropy)}};
  } else {
    j["overlay"] = nullptr;
  }
  const AuthenticodeInfo& a = info.authenticode;
  j["authenticode"] = {{"present", a.present},
                       {"signed", a.signed_},
                       {"signer_subject", a.signer_subject},
                       {"issuer", a.issuer},
                       {"serial", a.serial},
                       {"digest_algorithm", a.digest_algorithm},
                       {"signed_digest", a.signed_digest},
                       {"computed_digest", a.computed_digest},
                       {"digest_matches", a.digest_matches},
                       {"nested_signature", a.nested_signature},
                       {"cert_table_offset", a.cert_table_offset},
                       {"cert_table_size", a.cert_table_size},
                       {"entry_count", a.entry_count},
                       {"padding_bytes", a.padding_bytes},
                       {"padding_entropy", a.padding_entropy},
                       {"padding_marker_feedface", a.padding_marker_feedface},
                       {"padding_anomaly", a.padding_anomaly},
                       {"notes", a.notes}};
  j["notes"] = info.notes;
  return j;
}

nlohmann::json PeErrorJson(std::string_view path, const Error& error) {
  return {{"path", RepairUtf8(path)}, {"error", RepairUtf8(error.ToString())}};
}

std::string PeToText(const PeInfo& info, std::string_view path) {
  std::string out;
  auto line = [&out](std::string_view key, std::string_view value) { out += fmt::format("  {:<18} {}\n", key, value); };
  out += EscapeForTerminal(path) + "\n";
  line("machine", fmt::format("{} (0x{:04x}){}", info.machine_name, info.machine, info.is_64 ? " PE32+" : " PE32"));
  line("timestamp", fmt::format("{} (0x{:08x})", info.timestamp, info.timestamp));
  line("type", fmt::format("{}, subsystem {}", info.is_dll ? "DLL" : "EXE", info.subsystem_name));
  line("entry point", fmt::format("0x{:x}, image base 0x{:x}", info.entry_point, info.image_base));
  line("imphash", info.imphash.empty() ? "(no imports)" : info.imphash);
  for (const auto& s : info.sections) {
    line("section",
         fmt::format("{:<8} va 0x{:08x} vsize 0x{:08x} raw 0x{:08x}+0x{:x} entropy {}", EscapeForTerminal(s.name),
                     s.virtual_address, s.virtual_size, s.raw_offset, s.raw_size, Ent(s.entropy)));
  }
  for (const auto& imp : info.imports) {
    line("import", fmt::format("{} ({} functions)", EscapeForTerminal(imp.dll), imp.functions.size()));
  }
  for (const auto& [k, v] : info.version_info) {
    line("version", EscapeForTerminal(k) + ": " + EscapeForTerminal(v));
  }
  if (info.overlay) {
    line("overlay", fmt::format("offset 0x{:x} size {} entropy {}", info.overlay->offset, info.overlay->size,
                                Ent(info.overlay->entropy)));
  }
  const AuthenticodeInfo& a = info.authenticode;
  if (!a.present) {
    line("authenticode", "not signed (no certificate table)");
  } else {
    line("authenticode", a.signed_ ? fmt::format("signed, {} digest {}", a.digest_algorithm,
                                                 a.digest_matches ? "matches" : "DOES NOT MATCH")
                                   : "certificate table present, no parsable Authenticode signature");
    if (!a.signer_subject.empty()) line("signer", EscapeForTerminal(a.signer_subject));
    if (!a.issuer.empty()) line("issuer", EscapeForTerminal(a.issuer));
    if (!a.serial.empty()) line("serial", a.serial);
    line("cert table",
         fmt::format("offset 0x{:x} size {} ({} entries)", a.cert_table_offset, a.cert_table_size, a.entry_count));
    line("padding", fmt::format("{} bytes, entropy {:.3f}{}{}", a.padding_bytes, a.padding_entropy,
                                a.padding_marker_feedface ? ", FE ED FA CE marker" : "",
                                a.padding_anomaly ? ", ANOMALY (CVE-2013-3900)" : ""));
    for (const auto& n : a.notes) line("note", EscapeForTerminal(n));
  }
  for (const auto& n : info.notes) line("note", EscapeForTerminal(n));
  return out;
}

}  // namespace trawl::core::formats
