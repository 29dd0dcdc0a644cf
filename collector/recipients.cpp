// SPDX-License-Identifier: Apache-2.0
#include "collector/recipients.h"

#include "core/util/file.h"

namespace trawl::collector {

using core::ErrorCode;
using core::Result;

Result<std::vector<core::age::Recipient>> GatherRecipients(const CollectOptions& o, std::ostream& err) {
  std::vector<core::age::Recipient> out;
  for (const auto& r : o.recipients) {
    auto parsed = core::age::ParseRecipient(r);
    if (!parsed) return std::unexpected(parsed.error().WithContext("--recipient"));
    out.push_back(*parsed);
  }
  for (const auto& f : o.recipients_files) {
    auto text = core::ReadFileText(f, 1 << 20);
    if (!text) return std::unexpected(text.error());
    auto parsed = core::age::ParseRecipientsFile(*text, f.string());
    if (!parsed) return std::unexpected(parsed.error());
    for (auto& r : *parsed) out.push_back(r);
  }
  if (!o.passphrase_file.empty()) {
    auto text = core::ReadFileText(o.passphrase_file, 1 << 16);
    if (!text) return std::unexpected(text.error());
    std::string pass = *text;
    while (!pass.empty() && (pass.back() == '\n' || pass.back() == '\r')) pass.pop_back();
    if (pass.empty()) return core::Fail(ErrorCode::kInvalidArgument, o.passphrase_file.string() + ": empty passphrase");
    err << "trawl-collect: warning: " << core::age::ScryptRecipient::kWarning << "\n";
    out.push_back(core::age::ScryptRecipient{pass, 18});
  }
  return out;
}

}  // namespace trawl::collector
