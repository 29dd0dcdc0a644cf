// SPDX-License-Identifier: Apache-2.0
// One writer for tabular output that a human or a spreadsheet opens: the
// rows of a SQLite statement as TSV, CSV or JSON Lines. Every string came
// from a collected host, so
//  - CSV: text cells that a spreadsheet would evaluate (leading = + - @, and
//    after the escapes below) get a leading apostrophe (OWASP CSV injection);
//    cells holding , ; " are quoted, so locales whose list separator is ';'
//    split them the same way;
//  - CSV and TSV: control characters (ESC, BEL, line breaks) and invisible or
//    bidirectional format characters (U+202E) are written as visible \xNN /
//    \uNNNN escapes (core::EscapeInvisible; TSV also doubles backslashes);
//  - JSON: values as JSON (nlohmann escapes controls); for programs.
// Integers and reals are written as numbers, never guarded.
#pragma once

#include <iosfwd>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "core/util/error.h"
#include "triage/case_db.h"

namespace trawl::triage {

enum class TabularFormat { kTsv, kCsv, kJson };

// "tsv", "csv", "json"; anything else is kInvalidArgument.
core::Result<TabularFormat> ParseTabularFormat(std::string_view name);

// A column of the current row as JSON (integer, real, null, or the text as
// repaired UTF-8); report.cpp's JSON uses it too.
nlohmann::json CellJson(const Stmt& stmt, int column);
// The same cell as JSON text, equal to CellJson(...).dump() but without the
// DOM for the usual printable-ASCII text (the scoring hot path).
std::string CellJsonText(const Stmt& stmt, int column);
// Appends `text` as a JSON string when it is printable ASCII; false (and
// nothing appended) otherwise.
bool AppendPlainJsonString(std::string_view text, std::string& out);

// One CSV cell for a text value (guarded, escaped, quoted as needed).
std::string CsvTextCell(std::string_view v);

// Writes a header line (TSV, CSV) and every row of `stmt`.
core::Result<void> WriteTabular(Stmt& stmt, TabularFormat format, std::ostream& out, bool header = true);

}  // namespace trawl::triage
