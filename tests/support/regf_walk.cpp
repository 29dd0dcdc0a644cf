// SPDX-License-Identifier: Apache-2.0
#include "tests/support/regf_walk.h"

#include <openssl/evp.h>

#include <fstream>
#include <sstream>
#include <stdexcept>
#include <unordered_map>
#include <unordered_set>

#include <fmt/format.h>

#include "core/util/text.h"

namespace trawl::test {
namespace {

namespace regf = core::formats::regf;
using json = RegfLine;

constexpr std::uint64_t kCellDataOffset = 4096 + 4;  // base block + the cell's size field

std::string Dump(const json& j, std::size_t max = 400) {
  std::string s = RegfLineText(j);
  if (s.size() > max) s = s.substr(0, max) + "...";
  return s;
}

std::string Digest(const EVP_MD* md, core::Bytes data) {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (EVP_Digest(data.data(), data.size(), out, &len, md, nullptr) != 1) return "digest failed";
  return core::ToHex(core::Bytes(reinterpret_cast<const std::byte*>(out), len));
}

struct Entry {
  std::string id;     // "k" path, or "v" path name, made unique by occurrence
  std::string canon;  // the line without "off", for comparing
  std::size_t index;  // in RegfWalk::lines
};

std::vector<Entry> Entries(const RegfWalk& w) {
  std::vector<Entry> out;
  std::unordered_map<std::string, int> seen;
  for (std::size_t i = 0; i < w.lines.size(); ++i) {
    const json& line = w.lines[i];
    std::string id;
    if (line.contains("k")) {
      id = "key " + Dump(line["k"], 100000);
    } else if (line.contains("v")) {
      id = "value " + Dump(line["v"], 100000) + " " + Dump(line.value("n", json("")), 100000);
    } else {
      continue;
    }
    if (const int n = ++seen[id]; n > 1) id += " (#" + std::to_string(n) + ")";
    json c = line;
    c.erase("off");
    out.push_back({std::move(id), Dump(c, std::string::npos), i});
  }
  return out;
}

}  // namespace

std::string RegfLineText(const RegfLine& line) { return line.dump(-1, ' ', true, json::error_handler_t::replace); }

RegfLine ParseRegfLine(const std::string& text) {
  json j = json::parse(text, nullptr, false);
  if (j.is_discarded() || !j.is_object()) {
    return json{{"err", "oracle line is not a JSON object"}, {"at", text.substr(0, 300)}};
  }
  return j;
}

RegfWalk WalkHive(const regf::Hive& hive, const RegfWalkOptions& options) {
  RegfWalk w;
  const auto error = [&w](const std::string& why, const std::string& at) {
    w.lines.push_back({{"err", why}, {"at", at}});
    ++w.errors;
  };
  auto root = hive.Root();
  if (!root) {
    error("root: " + root.error().message, "");
    return w;
  }
  struct Item {
    regf::Key key;
    std::string parent;  // path of the parent; unused for the root
    std::size_t depth;
  };
  std::vector<Item> stack;
  stack.push_back({*root, "", 0});
  std::unordered_set<std::uint32_t> entered;
  while (!stack.empty()) {
    Item item = std::move(stack.back());
    stack.pop_back();
    const regf::Key& key = item.key;
    const std::string path = item.depth == 0 ? key.name : item.parent + "\\" + key.name;
    if (!entered.insert(key.cell).second) {
      error(fmt::format("key cell 0x{:x} reached again (a cycle or a repeated subkey)", key.cell), path);
      continue;
    }
    if (w.keys >= options.max_keys) {
      error("walk stopped after " + std::to_string(w.keys) + " keys", path);
      break;
    }
    auto subkeys = hive.Subkeys(key);
    auto values = hive.Values(key);
    auto class_name = hive.ClassName(key);
    if (options.lines) {
      w.lines.push_back({{"k", path},
                         {"t", key.last_written},
                         {"nsub", subkeys ? subkeys->size() : std::size_t{key.subkey_count}},
                         {"nval", values ? values->size() : std::size_t{key.value_count}},
                         {"class", class_name && !class_name->empty() ? json(*class_name) : json(nullptr)},
                         {"off", kCellDataOffset + key.cell}});
    }
    ++w.keys;
    if (!class_name) error("class name: " + class_name.error().message, path);
    if (!values) {
      error("values: " + values.error().message, path);
    } else {
      for (const regf::Value& v : *values) {
        if (!options.lines) {
          if (!v.error.empty()) error("value " + v.name + ": " + v.error, path);
          ++w.values;
          continue;
        }
        json line = {{"v", path}, {"n", v.name}, {"type", v.type}, {"size", v.declared_size}};
        if (options.hash_data) line["sha1"] = Sha1Hex(v.data);
        line["off"] = kCellDataOffset + v.cell;  // then "err": the oracle's order
        if (!v.error.empty()) {
          line["err"] = v.error;
          ++w.errors;
        }
        w.lines.push_back(std::move(line));
        ++w.values;
      }
    }
    if (!subkeys) {
      error("subkeys: " + subkeys.error().message, path);
    } else if (!subkeys->empty() && item.depth >= options.max_depth) {
      error("deeper than " + std::to_string(options.max_depth) + " keys: subkeys not entered", path);
    } else {
      for (auto it = subkeys->rbegin(); it != subkeys->rend(); ++it) stack.push_back({*it, path, item.depth + 1});
    }
  }
  return w;
}

RegfWalk ParseRegfOracle(const std::string& text) {
  RegfWalk w;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    json j = ParseRegfLine(line);
    if (j.contains("k")) ++w.keys;
    if (j.contains("v")) ++w.values;
    if (j.contains("err")) ++w.errors;
    w.lines.push_back(std::move(j));
  }
  return w;
}

std::string DiffRegfWalks(const RegfWalk& want, const RegfWalk& got, std::string_view want_name,
                          std::string_view got_name, std::size_t max_report) {
  const std::vector<Entry> a = Entries(want), b = Entries(got);
  std::unordered_map<std::string, std::size_t> in_a, in_b;
  for (std::size_t i = 0; i < a.size(); ++i) in_a.emplace(a[i].id, i);
  for (std::size_t i = 0; i < b.size(); ++i) in_b.emplace(b[i].id, i);
  const std::string wn(want_name), gn(got_name);
  std::vector<std::string> diffs;
  std::size_t only_a = 0, only_b = 0, changed = 0;
  const auto context = [&](std::size_t i) {
    return i == 0 ? std::string("(first line)") : "after " + Dump(want.lines[a[i - 1].index], 200);
  };
  for (std::size_t i = 0; i < a.size(); ++i) {
    const auto it = in_b.find(a[i].id);
    if (it == in_b.end()) {
      ++only_a;
      if (diffs.size() < max_report) {
        diffs.push_back("only " + wn + ": " + Dump(want.lines[a[i].index]) + "\n      " + context(i));
      }
    } else if (a[i].canon != b[it->second].canon) {
      ++changed;
      if (diffs.size() < max_report) {
        diffs.push_back("differ: " + wn + " " + Dump(want.lines[a[i].index]) + "\n         " + gn + " " +
                        Dump(got.lines[b[it->second].index]));
      }
    }
  }
  for (std::size_t i = 0; i < b.size(); ++i) {
    if (in_a.count(b[i].id)) continue;
    ++only_b;
    if (diffs.size() < max_report) {
      diffs.push_back("only " + gn + ": " + Dump(got.lines[b[i].index]) +
                      (i == 0 ? std::string() : "\n      after " + Dump(got.lines[b[i - 1].index], 200)));
    }
  }
  std::ostringstream out;
  if (!diffs.empty()) {
    out << wn << " " << want.keys << " keys / " << want.values << " values, " << gn << " " << got.keys << " keys / "
        << got.values << " values: " << only_a << " lines only " << wn << ", " << only_b << " only " << gn << ", "
        << changed << " differ; the first " << diffs.size() << ":\n";
    for (const auto& d : diffs) out << "  " << d << "\n";
    return out.str();
  }
  // Same lines: the same order too.
  for (std::size_t i = 0; i < a.size() && i < b.size(); ++i) {
    if (a[i].id == b[i].id) continue;
    out << "same lines, different order: line " << i << " is " << wn << " " << Dump(want.lines[a[i].index]) << ", "
        << gn << " " << Dump(got.lines[b[i].index]) << "; " << context(i) << "\n";
    return out.str();
  }
  return "";
}

std::string RegfErrors(const RegfWalk& walk, std::size_t max) {
  std::string out;
  std::size_t n = 0;
  for (const auto& line : walk.lines) {
    if (!line.contains("err")) continue;
    if (n++ == max) {
      out += "  ...\n";
      break;
    }
    out += "  " + Dump(line) + "\n";
  }
  return out;
}

std::vector<std::byte> ReadBytes(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary | std::ios::ate);
  if (!in) throw std::runtime_error("cannot read " + path.string());
  std::vector<std::byte> out(static_cast<std::size_t>(in.tellg()));
  in.seekg(0);
  if (!in.read(reinterpret_cast<char*>(out.data()), static_cast<std::streamsize>(out.size()))) {
    throw std::runtime_error("cannot read " + path.string());
  }
  return out;
}

std::string Sha1Hex(core::Bytes data) { return Digest(EVP_sha1(), data); }
std::string Md5Hex(core::Bytes data) { return Digest(EVP_md5(), data); }

}  // namespace trawl::test
