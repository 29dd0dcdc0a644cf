// SPDX-License-Identifier: Apache-2.0
#include "triage/tabular.h"

#include <sqlite3.h>

#include <ostream>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "core/util/text.h"

namespace trawl::triage {

using core::Result;

Result<TabularFormat> ParseTabularFormat(std::string_view name) {
  if (name == "tsv") return TabularFormat::kTsv;
  if (name == "csv") return TabularFormat::kCsv;
  if (name == "json") return TabularFormat::kJson;
  return core::Fail(core::ErrorCode::kInvalidArgument, fmt::format("unknown format '{}' (tsv, csv, json)", name));
}

nlohmann::json CellJson(const Stmt& stmt, int column) {
  switch (stmt.ColumnType(column)) {
    case SQLITE_INTEGER: return stmt.Int(column);
    case SQLITE_FLOAT: return stmt.Real(column);
    case SQLITE_NULL: return nullptr;
    default: return core::RepairUtf8(stmt.Text(column));
  }
}

bool AppendPlainJsonString(std::string_view text, std::string& out) {
  for (char c : text) {
    if (c < 0x20 || c >= 0x7f) return false;
  }
  out.reserve(out.size() + text.size() + 8);
  out.push_back('"');
  for (char c : text) {
    if (c == '"' || c == '\\') out.push_back('\\');
    out.push_back(c);
  }
  out.push_back('"');
  return true;
}

std::string CellJsonText(const Stmt& stmt, int column) {
  if (stmt.ColumnType(column) == SQLITE_TEXT) {
    const std::string text = stmt.Text(column);
    std::string out;
    if (AppendPlainJsonString(text, out)) return out;
  }
  if (stmt.ColumnType(column) == SQLITE_INTEGER) return std::to_string(stmt.Int(column));
  return CellJson(stmt, column).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

std::string CsvTextCell(std::string_view v) {
  std::string s = core::EscapeInvisible(core::RepairUtf8(v));
  if (!s.empty() && (s[0] == '=' || s[0] == '+' || s[0] == '-' || s[0] == '@')) s.insert(0, "'");
  if (s.find_first_of(",;\"") == std::string::npos) return s;
  std::string out = "\"";
  for (char c : s) {
    if (c == '"') out += '"';
    out += c;
  }
  return out + "\"";
}

namespace {

std::string Cell(const Stmt& s, int i, TabularFormat format) {
  switch (s.ColumnType(i)) {
    case SQLITE_INTEGER: return std::to_string(s.Int(i));
    case SQLITE_FLOAT: return fmt::format("{}", s.Real(i));
    case SQLITE_NULL: return "";
    case SQLITE_BLOB: return fmt::format("<blob {} bytes>", s.Text(i).size());
    default: break;
  }
  const std::string text = s.Text(i);
  return format == TabularFormat::kCsv ? CsvTextCell(text) : core::EscapeForTerminal(text);
}

}  // namespace

Result<void> WriteTabular(Stmt& stmt, TabularFormat format, std::ostream& out, bool header) {
  const int n = stmt.ColumnCount();
  const char* sep = format == TabularFormat::kCsv ? "," : "\t";
  if (header && format != TabularFormat::kJson) {
    for (int i = 0; i < n; ++i) {
      if (i > 0) out << sep;
      const std::string name = stmt.ColumnName(i);
      out << (format == TabularFormat::kCsv ? CsvTextCell(name) : core::EscapeForTerminal(name));
    }
    out << "\n";
  }
  while (true) {
    auto row = stmt.Step();
    if (!row) return std::unexpected(row.error());
    if (!*row) break;
    if (format == TabularFormat::kJson) {
      nlohmann::json obj = nlohmann::json::object();
      for (int i = 0; i < n; ++i) {
        obj[stmt.ColumnName(i)] = CellJson(stmt, i);
      }
      out << obj.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) << "\n";
      continue;
    }
    for (int i = 0; i < n; ++i) {
      if (i > 0) out << sep;
      out << Cell(stmt, i, format);
    }
    out << "\n";
  }
  return {};
}

}  // namespace trawl::triage
