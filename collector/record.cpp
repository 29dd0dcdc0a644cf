// SPDX-License-Identifier: Apache-2.0
#include "collector/record.h"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <iterator>
#include <cmath>
#include <stdexcept>

#include "core/util/text.h"

namespace trawl::collector {
namespace {

using core::profile::ColumnType;
using core::profile::RecordSpec;

// One bit per declared column of every table: set once a written record
// carried the column. 256 columns a table are plenty (files has 32).
struct Coverage {
  std::array<std::atomic<std::uint64_t>, 4> bits{};
};

std::vector<Coverage>& CoverageTable() {
  static std::vector<Coverage> table(core::profile::RecordTables().size());
  return table;
}

Coverage* CoverageOf(const RecordSpec* spec) {
  const auto& tables = core::profile::RecordTables();
  for (std::size_t i = 0; i < tables.size(); ++i) {
    if (tables[i] == spec) return &CoverageTable()[i];
  }
  return nullptr;
}

const RecordSpec& SpecOf(std::string_view table) {
  const RecordSpec* spec = core::profile::FindRecordTable(table);
  // A table name is a constant in the collector's code: a wrong one is a
  // programming error that every test of the kind would hit at once.
  if (spec == nullptr) throw std::logic_error("record table not declared: " + std::string(table));
  return *spec;
}

void AppendString(std::string& out, std::string_view s) {
  out.push_back('"');
  for (const char ch : s) {
    const auto c = static_cast<unsigned char>(ch);
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      case '\b': out += "\\b"; break;
      case '\f': out += "\\f"; break;
      default:
        if (c < 0x20) {
          fmt::format_to(std::back_inserter(out), "\\u{:04x}", c);
        } else {
          out.push_back(ch);
        }
    }
  }
  out.push_back('"');
}

void AppendDouble(std::string& out, double d) {
  if (!std::isfinite(d)) {
    out += "null";  // JSON has no NaN or infinity
    return;
  }
  const std::size_t start = out.size();
  fmt::format_to(std::back_inserter(out), "{}", d);
  // Keep it a JSON float ("3.0", not "3"), as a REAL column expects.
  if (out.find_first_of(".eE", start) == std::string::npos) out += ".0";
}

template <typename Value>
void AppendValue(std::string& out, const Value& v) {
  std::visit(
      [&](const auto& x) {
        using T = std::decay_t<decltype(x)>;
        if constexpr (std::is_same_v<T, std::monostate>) {
          out += "null";
        } else if constexpr (std::is_same_v<T, std::string>) {
          AppendString(out, x);
        } else if constexpr (std::is_same_v<T, bool>) {
          out += x ? "true" : "false";
        } else if constexpr (std::is_same_v<T, double>) {
          AppendDouble(out, x);
        } else {
          fmt::format_to(std::back_inserter(out), "{}", x);
        }
      },
      v);
}

}  // namespace

Record::Record(std::string_view table) : Record(SpecOf(table)) {}

Record::Record(const RecordSpec& spec) : spec_(&spec), values_(spec.columns.size()), hex_(spec.columns.size()) {}

int Record::Index(std::string_view column) const {
  const auto& cols = spec_->columns;
  for (std::size_t i = 0; i < cols.size(); ++i) {
    if (cols[i].name == column) return static_cast<int>(i);
  }
  return -1;
}

Record::Value* Record::Slot(std::string_view column, ColumnType type, const char* type_name, std::string** hex) {
  const int i = Index(column);
  if (i >= 0 && spec_->columns[static_cast<std::size_t>(i)].type == type) {
    std::string& h = hex_[static_cast<std::size_t>(i)];
    h.clear();
    if (hex != nullptr) *hex = &h;
    return &values_[static_cast<std::size_t>(i)];
  }
  misuse_.push_back(fmt::format(
      "{}: {}", column,
      i < 0 ? std::string("not a column of ") + std::string(spec_->table)
            : fmt::format("a {} value in a {} column", type_name,
                          core::profile::ColumnTypeName(spec_->columns[static_cast<std::size_t>(i)].type))));
  for (Extra& e : extras_) {
    if (e.name == column) return &e.value;
  }
  extras_.push_back(Extra{std::string(column), {}});
  return &extras_.back().value;
}

void Record::SetText(std::string_view column, std::string_view value) {
  std::string* hex = nullptr;  // stays null for an undeclared key
  Value* slot = Slot(column, ColumnType::kText, "text", &hex);
  if (core::IsValidUtf8(value)) {
    *slot = std::string(value);
    return;
  }
  *slot = core::RepairUtf8(value);
  if (hex != nullptr) *hex = core::ToHex(core::AsBytes(value));
}

void Record::SetInt(std::string_view column, std::int64_t value) { *Slot(column, ColumnType::kInt, "int") = value; }
void Record::SetUInt(std::string_view column, std::uint64_t value) { *Slot(column, ColumnType::kInt, "int") = value; }
void Record::SetReal(std::string_view column, double value) { *Slot(column, ColumnType::kReal, "real") = value; }
void Record::SetBool(std::string_view column, bool value) { *Slot(column, ColumnType::kBool, "bool") = value; }

const Record::Value* Record::Get(std::string_view column) const {
  if (const int i = Index(column); i >= 0) return &values_[static_cast<std::size_t>(i)];
  for (const Extra& e : extras_) {
    if (e.name == column) return &e.value;
  }
  return nullptr;
}

bool Record::Has(std::string_view column) const {
  const Value* v = Get(column);
  return v != nullptr && !std::holds_alternative<std::monostate>(*v);
}

std::string_view Record::Text(std::string_view column) const {
  const Value* v = Get(column);
  if (v == nullptr) return {};
  if (const auto* s = std::get_if<std::string>(v)) return *s;
  return {};
}

std::optional<bool> Record::Bool(std::string_view column) const {
  const Value* v = Get(column);
  if (v == nullptr) return std::nullopt;
  if (const auto* b = std::get_if<bool>(v)) return *b;
  return std::nullopt;
}

std::optional<std::int64_t> Record::Int(std::string_view column) const {
  const Value* v = Get(column);
  if (v == nullptr) return std::nullopt;
  if (const auto* i = std::get_if<std::int64_t>(v)) return *i;
  return std::nullopt;
}

void Record::AppendJson(std::string& out) const {
  std::array<std::uint64_t, 4> carried{};
  out.push_back('{');
  bool first = true;
  auto key = [&](std::string_view k) {
    if (!first) out.push_back(',');
    first = false;
    AppendString(out, k);
    out.push_back(':');
  };
  const auto& cols = spec_->columns;
  for (std::size_t i = 0; i < cols.size(); ++i) {
    if (std::holds_alternative<std::monostate>(values_[i])) continue;
    if (i < 256) carried[i / 64] |= std::uint64_t{1} << (i % 64);
    key(cols[i].name);
    AppendValue(out, values_[i]);
    if (!hex_[i].empty()) {
      out.push_back(',');
      AppendString(out, std::string(cols[i].name) + "_hex");
      out.push_back(':');
      AppendString(out, hex_[i]);
    }
  }
  for (const Extra& e : extras_) {
    if (std::holds_alternative<std::monostate>(e.value)) continue;
    key(e.name);
    AppendValue(out, e.value);
  }
  out.push_back('}');
  if (Coverage* c = CoverageOf(spec_)) {
    for (std::size_t w = 0; w < carried.size(); ++w) {
      if ((c->bits[w].load(std::memory_order_relaxed) & carried[w]) != carried[w]) {
        c->bits[w].fetch_or(carried[w], std::memory_order_relaxed);
      }
    }
  }
}

std::string Record::Json() const {
  std::string s;
  AppendJson(s);
  return s;
}

std::vector<std::string> ColumnsWritten(std::string_view table) {
  std::vector<std::string> out;
  const RecordSpec* spec = core::profile::FindRecordTable(table);
  if (spec == nullptr) return out;
  Coverage* c = CoverageOf(spec);
  for (std::size_t i = 0; i < spec->columns.size() && i < 256; ++i) {
    if (c->bits[i / 64].load() & (std::uint64_t{1} << (i % 64))) out.emplace_back(spec->columns[i].name);
  }
  return out;
}

}  // namespace trawl::collector
