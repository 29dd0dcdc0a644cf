// SPDX-License-Identifier: Apache-2.0
// One record table's bound INSERT for triage ingest (triage/ingest.cpp):
// collection_id, host_id, the table's declared columns in declaration order
// (core/profile/kinds.cpp), the derived lookup columns (name, dir, *_lc,
// ext_lc) and `extra` (JSON of undeclared fields). Records come from the
// DOM-free parser (triage/ingest_jsonl.h) or, for anything else, nlohmann.
// Strings are bound without copying unless they hold a NUL, which is stored
// as U+FFFD. Not thread-safe; one per table and ingest.
#pragma once

#include <algorithm>
#include <cstdint>
#include <deque>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "core/profile/kinds.h"
#include "core/util/error.h"
#include "triage/case_db.h"
#include "triage/file_writer.h"
#include "triage/ingest_jsonl.h"

namespace trawl::triage {

// Lower-cases ASCII into a reused buffer (bound without copying).
inline std::string_view LowerInto(std::string& buf, std::string_view s) {
  buf.assign(s);
  for (char& c : buf) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return buf;
}

// SQLite and most tools that read a case treat NUL as the end of a string:
// a value holding one (a forged "\u0000") would be cut short wherever it is
// shown. NUL becomes U+FFFD, as an invalid UTF-8 byte does.
inline bool HasNul(std::string_view v) { return v.find('\0') != std::string_view::npos; }
inline std::string WithoutNul(std::string_view v) {
  std::string out;
  out.reserve(v.size() + 8);
  for (char c : v) {
    if (c == '\0')
      out += "\xEF\xBF\xBD";
    else
      out += c;
  }
  return out;
}

inline std::string_view ExtOfView(std::string_view name_lc) {
  const auto dot = name_lc.rfind('.');
  return dot == std::string_view::npos || dot == 0 ? std::string_view() : name_lc.substr(dot + 1);
}

struct TransparentHash {
  using is_transparent = void;
  std::size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
};

// Bound INSERT for one record table: collection_id, host_id, its columns in
// declaration order, the derived lookup columns, extra. Strings are bound
// without copying: every value outlives the Run that follows its binding.
class TableWriter {
  using json = nlohmann::json;

 public:
  // through_view: files rows go through the view's insert trigger (the
  // reference FileRowWriter is tested against) instead of FileRowWriter.
  static core::Result<TableWriter> Create(Db& db, const core::profile::RecordSpec& spec, bool through_view = false) {
    TableWriter w;
    w.table_ = std::string(spec.table);
    if (w.table_ == "files" || w.table_ == "modules")
      w.derive_ = Derive::kPath;
    else if (w.table_ == "processes")
      w.derive_ = Derive::kExe;
    else if (w.table_ == "dir_entries")
      w.derive_ = Derive::kDirEntry;
    std::string cols = "collection_id, host_id";
    std::string params = "?1, ?2";
    std::vector<std::string> slots = {"collection_id", "host_id"};  // the column of each bound value
    int i = 3;
    for (const auto& c : spec.columns) {
      w.index_.emplace(std::string(c.name), i);
      slots.emplace_back(c.name);
      cols += fmt::format(", \"{}\"", c.name);
      params += fmt::format(", ?{}", i++);
    }
    for (const auto& d : DerivedColumns(spec.table)) {
      int slot = 0;
      if (auto it = w.index_.find(d); it != w.index_.end()) {
        slot = it->second;
      } else {
        slot = i++;
        slots.push_back(d);
        cols += fmt::format(", \"{}\"", d);
        params += fmt::format(", ?{}", slot);
      }
      if (d == "name")
        w.slot_name_ = slot;
      else if (d == "dir")
        w.slot_dir_ = slot;
      else if (d == "name_lc")
        w.slot_name_lc_ = slot;
      else if (d == "dir_lc")
        w.slot_dir_lc_ = slot;
      else if (d == "ext_lc")
        w.slot_ext_lc_ = slot;
      else if (d == "exe_name_lc")
        w.slot_exe_name_lc_ = slot;
      else if (d == "exe_dir_lc")
        w.slot_exe_dir_lc_ = slot;
    }
    w.extra_index_ = i;
    slots.emplace_back("extra");
    cols += ", extra";
    params += fmt::format(", ?{}", i);
    if (w.table_ == "files" && !through_view) {
      // Written straight into the storage tables (triage/file_writer.h).
      auto f = FileRowWriter::Create(db, spec, slots);
      if (!f) return std::unexpected(f.error());
      w.files_ = std::make_unique<FileRowWriter>(std::move(*f));
      w.row_.resize(slots.size());
      return w;
    }
    auto s = db.Prepare(fmt::format("INSERT INTO {} ({}) VALUES ({})", spec.table, cols, params));
    if (!s) return std::unexpected(s.error().WithContext(std::string(spec.table)));
    w.stmt_ = std::move(*s);
    return w;
  }

  // A flat record as ParseFlatRecord returned it (duplicate keys: the last wins).
  core::Result<void> Insert(std::int64_t collection_id, std::int64_t host_id, std::span<const FlatField> record) {
    Set(1, collection_id);
    Set(2, host_id);
    json extra;  // stays null unless the record has undeclared fields
    DeriveFrom from;
    for (std::size_t k = 0; k < record.size(); ++k) {
      const FlatField& f = record[k];
      const KeyInfo& key = Lookup(k, f.key);
      if (key.source != Source::kNone) {
        NoteDeriveSource(key.source, f.value.type == FlatValue::Type::kString ? f.value.text : std::string_view(),
                         from);
      }
      if (key.column == 0) {
        extra[std::string(f.key)] = FlatToJson(f.value);
        continue;
      }
      const int i = key.column;
      const FlatValue& v = f.value;
      switch (v.type) {
        case FlatValue::Type::kNull: SetNull(i); break;
        case FlatValue::Type::kBool:
        case FlatValue::Type::kInt: Set(i, v.i); break;
        case FlatValue::Type::kUInt:
          if (v.u <= static_cast<std::uint64_t>(INT64_MAX))
            Set(i, static_cast<std::int64_t>(v.u));
          else
            SetOwnedText(i, std::to_string(v.u));
          break;
        case FlatValue::Type::kDouble: Set(i, v.d); break;
        case FlatValue::Type::kString: BindText(i, v.text); break;
      }
    }
    return Finish(from, extra);
  }

  // Any other record (nested values...), as nlohmann parsed it.
  core::Result<void> Insert(std::int64_t collection_id, std::int64_t host_id, const json& record) {
    Set(1, collection_id);
    Set(2, host_id);
    json extra;
    DeriveFrom from;
    for (auto field = record.begin(); field != record.end(); ++field) {
      const std::string& key = field.key();
      const json& value = field.value();
      auto it = index_.find(key);
      if (it == index_.end()) {
        extra[key] = value;
        continue;
      }
      const int i = it->second;
      switch (value.type()) {
        case json::value_t::boolean: Set(i, static_cast<std::int64_t>(value.get<bool>() ? 1 : 0)); break;
        case json::value_t::number_integer: Set(i, value.get<std::int64_t>()); break;
        case json::value_t::number_unsigned: {
          const auto u = value.get<std::uint64_t>();
          if (u <= static_cast<std::uint64_t>(INT64_MAX))
            Set(i, static_cast<std::int64_t>(u));
          else
            SetOwnedText(i, std::to_string(u));
          break;
        }
        case json::value_t::number_float: Set(i, value.get<double>()); break;
        case json::value_t::string: BindText(i, std::string_view(value.get_ref<const std::string&>())); break;
        case json::value_t::null: SetNull(i); break;
        default: SetOwnedText(i, value.dump(-1, ' ', false, json::error_handler_t::replace)); break;
      }
    }
    // The DOM holds each key once: look the sources up.
    auto str = [&](const char* key, std::string_view& out) {
      auto it = record.find(key);
      if (it != record.end() && it->is_string()) out = it->get_ref<const std::string&>();
    };
    str("path", from.path);
    str("exe", from.exe);
    str("name", from.name);
    str("dir", from.dir);
    return Finish(from, extra);
  }

  const std::string& table() const { return table_; }
  // files: the writer of its rows (null through the view).
  const FileRowWriter* files() const { return files_.get(); }

 private:
  enum class Derive { kNone, kPath, kExe, kDirEntry };
  // The string values the derived columns come from ("" when the field is
  // missing or not a string).
  struct DeriveFrom {
    std::string_view path, exe, name, dir;
  };

  // Which derived columns a key feeds.
  enum class Source { kNone, kPath, kExe, kName, kDir };
  struct KeyInfo {
    std::string key;
    int column = 0;  // 0: not declared (goes to extra)
    Source source = Source::kNone;
  };

  // Records of one collector list their keys in the same order, so the key
  // at position k is usually the one seen there last time: a compare instead
  // of a hash lookup.
  const KeyInfo& Lookup(std::size_t k, std::string_view key) {
    if (k < keys_.size() && keys_[k].key == key) return keys_[k];
    KeyInfo info;
    info.key = std::string(key);
    if (auto it = index_.find(key); it != index_.end()) info.column = it->second;
    if (derive_ == Derive::kPath && key == "path")
      info.source = Source::kPath;
    else if (derive_ == Derive::kExe && key == "exe")
      info.source = Source::kExe;
    else if (derive_ == Derive::kDirEntry && key == "name")
      info.source = Source::kName;
    else if (derive_ == Derive::kDirEntry && key == "dir")
      info.source = Source::kDir;
    if (k >= keys_.size()) keys_.resize(k + 1);
    keys_[k] = std::move(info);
    return keys_[k];
  }

  // The last occurrence of a key wins, as in nlohmann's DOM; a value that is
  // not a string counts as "".
  static void NoteDeriveSource(Source source, std::string_view text, DeriveFrom& from) {
    switch (source) {
      case Source::kPath: from.path = text; break;
      case Source::kExe: from.exe = text; break;
      case Source::kName: from.name = text; break;
      case Source::kDir: from.dir = text; break;
      case Source::kNone: break;
    }
  }

  core::Result<void> Finish(const DeriveFrom& from, const json& extra) {
    BindDerived(from);
    if (extra.is_object() && !extra.empty()) {
      SetOwnedText(extra_index_, extra.dump(-1, ' ', false, json::error_handler_t::replace));
    }
    core::Result<void> r;
    if (files_ != nullptr) {
      r = files_->Insert(row_);
      std::fill(row_.begin(), row_.end(), RowValue{});
    } else {
      r = stmt_.Run();
    }
    repaired_.clear();
    return r;
  }

  // The value of 1-based slot i: bound to the INSERT, or (files) kept in row_.
  void SetNull(int i) {
    if (files_ != nullptr)
      row_[static_cast<std::size_t>(i) - 1] = RowValue{};
    else
      stmt_.BindNull(i);
  }
  void Set(int i, std::int64_t v) {
    if (files_ != nullptr)
      row_[static_cast<std::size_t>(i) - 1] = RowValue{RowValue::Type::kInt, v, 0, {}};
    else
      stmt_.Bind(i, v);
  }
  void Set(int i, double v) {
    if (files_ != nullptr)
      row_[static_cast<std::size_t>(i) - 1] = RowValue{RowValue::Type::kReal, 0, v, {}};
    else
      stmt_.Bind(i, v);
  }
  // `v` must stay unchanged until the row is written.
  void SetTextNoCopy(int i, std::string_view v) {
    if (files_ != nullptr)
      row_[static_cast<std::size_t>(i) - 1] = RowValue{RowValue::Type::kText, 0, 0, v};
    else
      stmt_.BindNoCopy(i, v);
  }
  void SetOwnedText(int i, std::string v) {
    repaired_.push_back(std::move(v));
    SetTextNoCopy(i, repaired_.back());
  }

  // Bound without copying unless it holds a NUL (then a repaired copy that
  // lives until the row is written).
  void BindText(int i, std::string_view v) {
    if (!HasNul(v)) {
      SetTextNoCopy(i, v);
      return;
    }
    SetOwnedText(i, WithoutNul(v));
  }

  void BindSlot(int slot, std::string_view value) {
    if (slot != 0) BindText(slot, value);
  }

  // Computed straight into the bound slots: this runs once per record.
  void BindDerived(const DeriveFrom& from) {
    switch (derive_) {
      case Derive::kPath: {
        const auto [dir, name] = SplitTargetPathView(from.path);
        const std::string_view name_lc = LowerInto(name_lc_, name);
        BindSlot(slot_name_, name);
        BindSlot(slot_dir_, dir);
        BindSlot(slot_name_lc_, name_lc);
        BindSlot(slot_dir_lc_, LowerInto(dir_lc_, dir));
        BindSlot(slot_ext_lc_, ExtOfView(name_lc));
        break;
      }
      case Derive::kExe: {
        const auto [dir, name] = SplitTargetPathView(from.exe);
        BindSlot(slot_exe_name_lc_, LowerInto(name_lc_, name));
        BindSlot(slot_exe_dir_lc_, LowerInto(dir_lc_, dir));
        break;
      }
      case Derive::kDirEntry:
        BindSlot(slot_name_lc_, LowerInto(name_lc_, from.name));
        BindSlot(slot_dir_lc_, LowerInto(dir_lc_, from.dir));
        break;
      case Derive::kNone: break;
    }
  }

  std::string table_;
  Stmt stmt_;
  std::unordered_map<std::string, int, TransparentHash, std::equal_to<>> index_;
  Derive derive_ = Derive::kNone;
  int slot_name_ = 0, slot_dir_ = 0, slot_name_lc_ = 0, slot_dir_lc_ = 0, slot_ext_lc_ = 0;
  int slot_exe_name_lc_ = 0, slot_exe_dir_lc_ = 0;
  int extra_index_ = 0;
  std::string name_lc_, dir_lc_;          // bound without copying
  std::vector<KeyInfo> keys_;             // by position in the last records
  std::deque<std::string> repaired_;      // NUL-free and formatted copies bound for the current row
  std::unique_ptr<FileRowWriter> files_;  // files: written by it, not by stmt_
  std::vector<RowValue> row_;             // files: the current row's values
};

}  // namespace trawl::triage
