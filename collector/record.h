// SPDX-License-Identifier: Apache-2.0
// One collector record, built through its table's declared columns
// (core/profile/kinds.cpp) and written straight to a JSON Lines line.
//
// Setters are typed and named (SetText, SetInt, SetReal, SetBool): a column
// the table does not declare, or a value of the wrong type for the declared
// column, is a collector bug. It is kept (written under its key, so nothing
// is lost) and reported by misuse(); FilePipeline::AddRecord logs it as an
// `undeclared_record_field` error event, which the end-to-end tests look for.
// Text that is not valid UTF-8 (host paths, names, command lines) is repaired
// for JSON and its raw bytes kept in "<column>_hex".
//
// Every column a record carries when it is written is marked in a
// process-wide coverage table (ColumnsWritten), so a test can show that each
// declared column is produced by the collector.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "core/profile/kinds.h"

namespace trawl::collector {

class Record {
 public:
  explicit Record(std::string_view table);  // a table of core::profile::RecordTables()
  explicit Record(const core::profile::RecordSpec& spec);

  void SetText(std::string_view column, std::string_view value);
  void SetInt(std::string_view column, std::int64_t value);
  void SetUInt(std::string_view column, std::uint64_t value);
  void SetReal(std::string_view column, double value);
  void SetBool(std::string_view column, bool value);

  bool Has(std::string_view column) const;
  // The text of a set text column ("" when unset or not text).
  std::string_view Text(std::string_view column) const;
  // The value of a set bool / integer column (nullopt when unset or of another type).
  std::optional<bool> Bool(std::string_view column) const;
  std::optional<std::int64_t> Int(std::string_view column) const;

  const core::profile::RecordSpec& spec() const { return *spec_; }
  std::string_view table() const { return spec_->table; }
  // "<column>: <why>" for every set that broke the declaration.
  const std::vector<std::string>& misuse() const { return misuse_; }

  // The record as one JSON object without a trailing newline; marks the
  // columns it carries in the coverage table.
  void AppendJson(std::string& out) const;
  std::string Json() const;

 private:
  using Value = std::variant<std::monostate, std::string, std::int64_t, std::uint64_t, double, bool>;
  struct Extra {
    std::string name;
    Value value;
  };
  int Index(std::string_view column) const;
  // The value of a declared column of that type (and, in *hex, its raw-bytes
  // field), else of an extra key, with the misuse noted.
  Value* Slot(std::string_view column, core::profile::ColumnType type, const char* type_name,
              std::string** hex = nullptr);
  const Value* Get(std::string_view column) const;

  const core::profile::RecordSpec* spec_;
  std::vector<Value> values_;
  std::vector<std::string> hex_;  // raw bytes as hex for repaired text, per column
  std::vector<Extra> extras_;     // undeclared keys (bugs, kept)
  std::vector<std::string> misuse_;
};

// Columns of `table` that some written record carried, in this process.
std::vector<std::string> ColumnsWritten(std::string_view table);

}  // namespace trawl::collector
