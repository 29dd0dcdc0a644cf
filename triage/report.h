// SPDX-License-Identifier: Apache-2.0
// What an analyst reads: the terminal summary after analyze (hosts by
// score, top findings with reasons), `stack` (least-frequent path + SHA-256
// across hosts), and `report` files: JSON, CSV, a single self-contained
// HTML page, and a Timesketch CSV timeline. Every string from a host is
// hostile: terminal output goes through core::EscapeForTerminal, HTML
// through HtmlEscape under a CSP that allows only the report's own inline
// script (by hash). Read-only on the
// case; not thread-safe per Db.
#pragma once

#include <filesystem>
#include <iosfwd>
#include <string>
#include <string_view>

#include "core/util/error.h"
#include "triage/case_db.h"

namespace trawl::triage {

// &, <, >, ", ' escaped; invalid UTF-8 repaired.
std::string HtmlEscape(std::string_view s);

void PrintSummary(Db& db, std::size_t top, std::ostream& out);

// what: modules | files | prefetch.
core::Result<void> WriteStack(Db& db, std::string_view what, std::size_t limit, std::ostream& out);

// The HTML report (triage/report_html.cpp): self-contained, one inline
// script allowed by its hash in the CSP, every collected string escaped.
core::Result<void> WriteHtmlReport(Db& db, std::ostream& out);

// format: json | html | csv | timeline.
core::Result<void> WriteReport(Db& db, std::string_view format, std::ostream& out);

}  // namespace trawl::triage
