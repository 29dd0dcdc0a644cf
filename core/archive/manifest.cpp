// SPDX-License-Identifier: Apache-2.0
#include "core/archive/manifest.h"

#include <array>
#include <set>
#include <sstream>
#include <streambuf>

#include <fmt/format.h>

#include "core/archive/archive_writer.h"

namespace trawl::core::archive {
namespace {

using nlohmann::json;

constexpr std::uint32_t kMaxPart = 1'000'000;

// Reads through another streambuf, counting; past `max` bytes it reports
// end of input and remembers that the cap, not the text, ended it.
class CappedBuf final : public std::streambuf {
 public:
  CappedBuf(std::streambuf* src, std::uint64_t max) : src_(src), max_(max) {}
  bool over() const { return over_; }

 protected:
  int_type underflow() override {
    if (over_) return traits_type::eof();
    const std::streamsize n = src_->sgetn(buf_.data(), static_cast<std::streamsize>(buf_.size()));
    if (n <= 0) return traits_type::eof();
    count_ += static_cast<std::uint64_t>(n);
    if (count_ > max_) {
      over_ = true;
      return traits_type::eof();
    }
    setg(buf_.data(), buf_.data(), buf_.data() + n);
    return traits_type::to_int_type(buf_[0]);
  }

 private:
  std::streambuf* src_;
  std::uint64_t max_;
  std::uint64_t count_ = 0;
  bool over_ = false;
  std::array<char, 64 * 1024> buf_{};
};

// One scalar as the SAX events deliver it.
struct Scalar {
  enum class Type { kNull, kBool, kInt, kUInt, kFloat, kString } type = Type::kNull;
  bool b = false;
  std::int64_t i = 0;
  std::uint64_t u = 0;
  double d = 0;
  std::string* s = nullptr;
};

std::string_view TypeName(Scalar::Type t) {
  switch (t) {
    case Scalar::Type::kNull: return "null";
    case Scalar::Type::kBool: return "a boolean";
    case Scalar::Type::kInt: return "a negative integer";
    case Scalar::Type::kUInt: return "an unsigned integer";
    case Scalar::Type::kFloat: return "a number that is not an integer or is out of range";
    case Scalar::Type::kString: return "a string";
  }
  return "a value";
}

// Where a container sits in the manifest; decides how its members are read.
enum class Ctx {
  kTop,        // the root object
  kHost,       // host {...}
  kProfile,    // profile {...}
  kLimitsHit,  // limits_hit [...]
  kEntries,    // entries [...]
  kEntry,      // entries[i] {...}
  kDom,        // kept as JSON (counts, limits, artifacts, ...)
  kSkip,       // an unknown key's value: checked for caps, dropped
};

struct Frame {
  Ctx ctx;
  bool is_object;
  std::string key;             // current key (objects)
  std::uint64_t index = 0;     // next element (arrays)
  std::set<std::string> keys;  // seen keys: duplicates are refused
  json* dom = nullptr;         // kDom: the container being filled
};

class Handler {
 public:
  Handler(std::string_view where, const ManifestEntryFn& on_entry, const ManifestLimits& limits)
      : where_(where), on_entry_(on_entry), limits_(limits) {}

  // ---- nlohmann SAX interface ----
  bool null() { return OnScalar(Scalar{}); }
  bool boolean(bool v) {
    Scalar s;
    s.type = Scalar::Type::kBool;
    s.b = v;
    return OnScalar(s);
  }
  bool number_integer(json::number_integer_t v) {
    Scalar s;
    s.type = v < 0 ? Scalar::Type::kInt : Scalar::Type::kUInt;
    s.i = v;
    s.u = v < 0 ? 0 : static_cast<std::uint64_t>(v);
    return OnScalar(s);
  }
  bool number_unsigned(json::number_unsigned_t v) {
    Scalar s;
    s.type = Scalar::Type::kUInt;
    s.u = v;
    return OnScalar(s);
  }
  bool number_float(json::number_float_t v, const std::string&) {
    Scalar s;
    s.type = Scalar::Type::kFloat;
    s.d = v;
    return OnScalar(s);
  }
  bool string(std::string& v) {
    if (v.size() > limits_.max_string) {
      return Error(ErrorCode::kLimit,
                   fmt::format("{}: a string of {} bytes (at most {})", Path(), v.size(), limits_.max_string));
    }
    Scalar s;
    s.type = Scalar::Type::kString;
    s.s = &v;
    return OnScalar(s);
  }
  bool binary(json::binary_t&) { return Error(ErrorCode::kFormat, fmt::format("{}: binary value", Path())); }
  bool start_object(std::size_t) { return Open(true); }
  bool start_array(std::size_t) { return Open(false); }
  bool key(std::string& k) {
    Frame& f = stack_.back();
    if (!f.keys.insert(k).second) {
      f.key.clear();  // the path is the object's, not its previous key's
      return Error(ErrorCode::kFormat, fmt::format("{}: duplicate key '{}'", Path(), Printable(k)));
    }
    f.key = k;
    return true;
  }
  bool end_object() { return Close(); }
  bool end_array() { return Close(); }
  bool parse_error(std::size_t position, const std::string&, const nlohmann::json::exception& ex) {
    if (!error_) {
      error_ = core::Error{ErrorCode::kFormat,
                           fmt::format("{}: not valid JSON at byte {}: {}", where_, position, ex.what())};
    }
    return false;
  }

  // ---- results ----
  Manifest& manifest() { return m_; }
  const std::optional<core::Error>& error() const { return error_; }
  void SetError(core::Error e) {
    if (!error_) error_ = std::move(e);
  }

  // Required fields, once the text ended without error.
  Result<void> CheckComplete() const {
    if (!saw_root_) return Fail(ErrorCode::kFormat, fmt::format("{}: not a JSON object", where_));
    for (const char* k : {"format", "format_version", "part", "host", "started", "result", "entries"}) {
      if (!top_keys_.contains(k))
        return Fail(ErrorCode::kFormat, fmt::format("{}: required field '{}' is missing", where_, k));
    }
    if (!host_has_name_)
      return Fail(ErrorCode::kFormat, fmt::format("{}: required field 'host.hostname' is missing", where_));
    return {};
  }

 private:
  static std::string Printable(std::string_view s) {
    std::string out;
    for (char c : s.substr(0, 64)) {
      const auto u = static_cast<unsigned char>(c);
      out += (u < 0x20 || u >= 0x7F) ? fmt::format("\\x{:02x}", u) : std::string(1, c);
    }
    if (s.size() > 64) out += "...";
    return out;
  }

  // "host.hostname", "entries[12].size" (the value being read).
  std::string Path() const {
    std::string p = std::string(where_) + ": ";
    std::string inner;
    for (std::size_t k = 0; k < stack_.size(); ++k) {
      const Frame& f = stack_[k];
      if (f.is_object) {
        if (f.key.empty()) continue;
        if (!inner.empty()) inner += '.';
        inner += Printable(f.key);
      } else {
        inner += fmt::format("[{}]", f.index);
      }
    }
    return p + (inner.empty() ? "(root)" : inner);
  }

  bool Error(ErrorCode code, std::string message) {
    if (!error_) error_ = core::Error{code, std::move(message)};
    return false;
  }

  bool TypeError(std::string_view expected, Scalar::Type got) {
    return Error(ErrorCode::kFormat, fmt::format("{}: expected {}, got {}", Path(), expected, TypeName(got)));
  }

  bool CountValue() {
    if (++other_values_ > limits_.max_other_values) {
      return Error(ErrorCode::kLimit,
                   fmt::format("{}: more than {} values outside the entries", where_, limits_.max_other_values));
    }
    return true;
  }

  // The context a container opened under the current frame's key gets.
  Ctx ChildCtx(bool is_object) {
    if (stack_.empty()) return Ctx::kTop;
    Frame& f = stack_.back();
    switch (f.ctx) {
      case Ctx::kTop: {
        const std::string& k = f.key;
        top_keys_.insert(k);
        if (k == "host") return is_object ? Ctx::kHost : Ctx::kSkip;
        if (k == "profile") return is_object ? Ctx::kProfile : Ctx::kSkip;
        if (k == "limits_hit") return is_object ? Ctx::kSkip : Ctx::kLimitsHit;
        if (k == "entries") return is_object ? Ctx::kSkip : Ctx::kEntries;
        if (k == "counts" || k == "limits" || k == "collector") return is_object ? Ctx::kDom : Ctx::kSkip;
        if (k == "artifacts" || k == "skipped_artifacts") return is_object ? Ctx::kSkip : Ctx::kDom;
        return Ctx::kSkip;
      }
      case Ctx::kEntries: return is_object ? Ctx::kEntry : Ctx::kSkip;
      case Ctx::kDom: return Ctx::kDom;
      default: return Ctx::kSkip;
    }
  }

  // Keys whose value must be a container of one kind: the wrong kind is a
  // type error rather than a silently skipped field.
  bool CheckContainerType(const Frame& parent, bool is_object) {
    if (parent.ctx == Ctx::kTop) {
      const std::string& k = parent.key;
      const bool want_object = k == "host" || k == "profile" || k == "counts" || k == "limits" || k == "collector";
      const bool want_array = k == "limits_hit" || k == "entries" || k == "artifacts" || k == "skipped_artifacts";
      if (want_object && !is_object)
        return Error(ErrorCode::kFormat, fmt::format("{}: expected an object, got an array", Path()));
      if (want_array && is_object)
        return Error(ErrorCode::kFormat, fmt::format("{}: expected an array, got an object", Path()));
      if (!want_object && !want_array && KnownScalarKey(k)) {
        return Error(ErrorCode::kFormat,
                     fmt::format("{}: expected a scalar, got {}", Path(), is_object ? "an object" : "an array"));
      }
    } else if (parent.ctx == Ctx::kEntries && !is_object) {
      return Error(ErrorCode::kFormat, fmt::format("{}: expected an object, got an array", Path()));
    } else if (parent.ctx == Ctx::kEntry || parent.ctx == Ctx::kHost || parent.ctx == Ctx::kProfile ||
               parent.ctx == Ctx::kLimitsHit) {
      if (parent.ctx == Ctx::kLimitsHit || KnownScalarKeyIn(parent.ctx, parent.key)) {
        return Error(ErrorCode::kFormat,
                     fmt::format("{}: expected a scalar, got {}", Path(), is_object ? "an object" : "an array"));
      }
    }
    return true;
  }

  static bool KnownScalarKey(std::string_view k) {
    for (std::string_view s : {"format", "format_version", "part", "continued_in_part", "tool", "tool_version",
                               "target_os", "started", "ended", "result", "stop_reason"}) {
      if (k == s) return true;
    }
    return false;
  }
  static bool KnownScalarKeyIn(Ctx ctx, std::string_view k) {
    if (ctx == Ctx::kHost) {
      for (std::string_view s :
           {"hostname", "os", "os_version", "kernel", "arch", "boot_time", "timezone", "root", "live"}) {
        if (k == s) return true;
      }
    } else if (ctx == Ctx::kProfile) {
      return k == "name" || k == "sha256";
    } else if (ctx == Ctx::kEntry) {
      for (std::string_view s : {"archive_path", "source_path", "source_path_hex", "type", "artifact", "size", "sha256",
                                 "status", "error", "access"}) {
        if (k == s) return true;
      }
    }
    return false;
  }

  bool Open(bool is_object) {
    if (stack_.size() >= limits_.max_depth) {
      return Error(ErrorCode::kLimit, fmt::format("{}: nested deeper than {} levels", where_, limits_.max_depth));
    }
    if (stack_.empty()) {
      if (saw_root_ || !is_object) return Error(ErrorCode::kFormat, fmt::format("{}: not a JSON object", where_));
      saw_root_ = true;
      stack_.push_back(Frame{Ctx::kTop, true, {}, 0, {}, nullptr});
      return true;
    }
    Frame& parent = stack_.back();
    if (!CheckContainerType(parent, is_object)) return false;
    const Ctx ctx = ChildCtx(is_object);
    Frame f{ctx, is_object, {}, 0, {}, nullptr};
    if (ctx != Ctx::kEntry && ctx != Ctx::kEntries && !CountValue()) return false;
    if (ctx == Ctx::kDom) {
      json fresh = is_object ? json::object() : json::array();
      f.dom = Insert(std::move(fresh));
    } else if (ctx == Ctx::kEntry) {
      if (m_.entry_count >= limits_.max_entries) {
        return Error(ErrorCode::kLimit, fmt::format("{}: more than {} entries", where_, limits_.max_entries));
      }
      entry_ = ManifestEntry{};
    }
    stack_.push_back(std::move(f));
    return true;
  }

  // Places a new DOM value under the current kDom container, or as the root
  // of a kept field; returns where it lives.
  json* Insert(json value) {
    Frame& parent = stack_.back();
    if (parent.ctx == Ctx::kDom) {
      if (parent.is_object) {
        json& slot = (*parent.dom)[parent.key];
        slot = std::move(value);
        return &slot;
      }
      parent.dom->push_back(std::move(value));
      return &parent.dom->back();
    }
    // A top-level kept field.
    json* target = nullptr;
    const std::string& k = parent.key;
    if (k == "counts")
      target = &m_.counts;
    else if (k == "limits")
      target = &m_.limits;
    else if (k == "collector")
      target = &m_.collector;
    else if (k == "artifacts")
      target = &m_.artifacts;
    else
      target = &m_.skipped_artifacts;
    *target = std::move(value);
    return target;
  }

  bool Close() {
    Frame f = std::move(stack_.back());
    stack_.pop_back();
    if (f.ctx == Ctx::kEntry) {
      // The array frame's index names this entry in messages.
      for (const char* k : {"archive_path", "source_path", "type", "size", "sha256", "status"}) {
        if (!f.keys.contains(k)) {
          return Error(ErrorCode::kFormat, fmt::format("{}: required field '{}' is missing", Path(), k));
        }
      }
      if (entry_.archive_path && !entry_.sha256) {
        return Error(ErrorCode::kFormat, fmt::format("{}: a stored member (archive_path set) needs a sha256", Path()));
      }
      if (on_entry_) {
        if (auto r = on_entry_(entry_, m_.entry_count); !r) {
          SetError(r.error());
          return false;
        }
      }
      ++m_.entry_count;
    }
    if (!stack_.empty() && !stack_.back().is_object) ++stack_.back().index;
    return true;
  }

  bool OnScalar(const Scalar& v) {
    if (stack_.empty()) return Error(ErrorCode::kFormat, fmt::format("{}: not a JSON object", where_));
    Frame& f = stack_.back();
    switch (f.ctx) {
      case Ctx::kTop: top_keys_.insert(f.key); return TopField(f.key, v);
      case Ctx::kHost: return HostField(f.key, v);
      case Ctx::kProfile: return ProfileField(f.key, v);
      case Ctx::kLimitsHit:
        if (!CountValue()) return false;
        if (v.type != Scalar::Type::kString) return TypeError("a string", v.type);
        m_.limits_hit.push_back(*v.s);
        ++f.index;
        return true;
      case Ctx::kEntries: return TypeError("an object", v.type);
      case Ctx::kEntry: return EntryField(f.key, v);
      case Ctx::kDom: {
        if (!CountValue()) return false;
        json value;
        switch (v.type) {
          case Scalar::Type::kNull: break;
          case Scalar::Type::kBool: value = v.b; break;
          case Scalar::Type::kInt: value = v.i; break;
          case Scalar::Type::kUInt: value = v.u; break;
          case Scalar::Type::kFloat: value = v.d; break;
          case Scalar::Type::kString: value = std::move(*v.s); break;
        }
        Insert(std::move(value));
        if (!f.is_object) ++f.index;
        return true;
      }
      case Ctx::kSkip:
        if (!f.is_object) ++f.index;
        return CountValue();
    }
    return true;
  }

  bool Str(const Scalar& v, std::string& out) {
    if (v.type != Scalar::Type::kString) return TypeError("a string", v.type);
    out = std::move(*v.s);
    return true;
  }
  bool OptStr(const Scalar& v, std::optional<std::string>& out) {
    if (v.type == Scalar::Type::kNull) {
      out.reset();
      return true;
    }
    if (v.type != Scalar::Type::kString) return TypeError("a string or null", v.type);
    out = std::move(*v.s);
    return true;
  }
  bool UInt(const Scalar& v, std::uint64_t lo, std::uint64_t hi, std::uint64_t& out) {
    if (v.type != Scalar::Type::kUInt) return TypeError("an unsigned integer", v.type);
    if (v.u < lo || v.u > hi) {
      return Error(ErrorCode::kFormat, fmt::format("{}: {} is out of range ({} to {})", Path(), v.u, lo, hi));
    }
    out = v.u;
    return true;
  }
  bool OneOf(std::string_view value, std::initializer_list<std::string_view> allowed) {
    for (std::string_view a : allowed) {
      if (value == a) return true;
    }
    std::string list;
    for (std::string_view a : allowed) list += (list.empty() ? "" : ", ") + std::string(a);
    return Error(ErrorCode::kFormat, fmt::format("{}: '{}' is not one of {}", Path(), Printable(value), list));
  }

  bool TopField(const std::string& k, const Scalar& v) {
    if (k == "format") {
      if (!Str(v, m_.format)) return false;
      if (m_.format != kManifestFormat) {
        return Error(ErrorCode::kFormat, fmt::format("{}: format '{}' is not a trawl archive ('{}')", Path(),
                                                     Printable(m_.format), kManifestFormat));
      }
      return true;
    }
    if (k == "format_version") {
      if (v.type != Scalar::Type::kUInt && v.type != Scalar::Type::kInt) return TypeError("an integer", v.type);
      if (v.type == Scalar::Type::kInt || v.u != static_cast<std::uint64_t>(kArchiveFormatVersion)) {
        return Error(ErrorCode::kUnsupported,
                     fmt::format("{}: version {} is not supported (this reader knows version {})", Path(),
                                 v.type == Scalar::Type::kInt ? std::to_string(v.i) : std::to_string(v.u),
                                 kArchiveFormatVersion));
      }
      m_.format_version = kArchiveFormatVersion;
      return true;
    }
    if (k == "part") {
      std::uint64_t p = 0;
      if (!UInt(v, 1, kMaxPart, p)) return false;
      m_.part = static_cast<std::uint32_t>(p);
      return true;
    }
    if (k == "continued_in_part") {
      std::uint64_t p = 0;
      if (!UInt(v, 2, kMaxPart, p)) return false;
      m_.continued_in_part = static_cast<std::uint32_t>(p);
      return true;
    }
    if (k == "tool") return Str(v, m_.tool);
    if (k == "tool_version") return Str(v, m_.tool_version);
    if (k == "target_os") return Str(v, m_.target_os);
    if (k == "started") return Str(v, m_.started);
    if (k == "ended") return Str(v, m_.ended);
    if (k == "stop_reason") return Str(v, m_.stop_reason);
    if (k == "result") {
      if (!Str(v, m_.result)) return false;
      return OneOf(m_.result, {"complete", "partial", "aborted", "continued"});
    }
    if (k == "host" || k == "profile" || k == "counts" || k == "limits" || k == "collector") {
      return TypeError("an object", v.type);
    }
    if (k == "limits_hit" || k == "entries" || k == "artifacts" || k == "skipped_artifacts") {
      return TypeError("an array", v.type);
    }
    return CountValue();  // unknown key: skipped
  }

  bool HostField(const std::string& k, const Scalar& v) {
    ManifestHost& h = m_.host;
    if (k == "hostname") {
      host_has_name_ = true;
      return Str(v, h.hostname);
    }
    if (k == "live") {
      if (v.type != Scalar::Type::kBool) return TypeError("a boolean", v.type);
      h.live = v.b;
      return true;
    }
    if (k == "os") return Str(v, h.os);
    if (k == "os_version") return Str(v, h.os_version);
    if (k == "kernel") return Str(v, h.kernel);
    if (k == "arch") return Str(v, h.arch);
    if (k == "boot_time") return Str(v, h.boot_time);
    if (k == "timezone") return Str(v, h.timezone);
    if (k == "root") return Str(v, h.root);
    return CountValue();
  }

  bool ProfileField(const std::string& k, const Scalar& v) {
    if (k == "name") return Str(v, m_.profile_name);
    if (k == "sha256") return Str(v, m_.profile_sha256);
    return CountValue();
  }

  bool EntryField(const std::string& k, const Scalar& v) {
    ManifestEntry& e = entry_;
    if (k == "archive_path") return OptStr(v, e.archive_path);
    if (k == "sha256") {
      if (!OptStr(v, e.sha256)) return false;
      if (e.sha256 && !IsSha256Hex(*e.sha256)) {
        return Error(ErrorCode::kFormat, fmt::format("{}: not 64 lower-case hex digits", Path()));
      }
      return true;
    }
    if (k == "size") return UInt(v, 0, static_cast<std::uint64_t>(INT64_MAX), e.size);
    if (k == "source_path") return Str(v, e.source_path);
    if (k == "source_path_hex") return Str(v, e.source_path_hex);
    if (k == "type") return Str(v, e.type);
    if (k == "artifact") return Str(v, e.artifact);
    if (k == "error") return Str(v, e.error);
    if (k == "access") {
      if (!Str(v, e.access)) return false;
      return OneOf(e.access, {"api", "raw"});
    }
    if (k == "status") {
      if (!Str(v, e.status)) return false;
      return OneOf(e.status, {"ok", "changed", "vanished", "truncated", "error", "skipped"});
    }
    return CountValue();
  }

  std::string_view where_;
  const ManifestEntryFn& on_entry_;
  const ManifestLimits& limits_;
  std::vector<Frame> stack_;
  Manifest m_;
  ManifestEntry entry_;
  std::set<std::string> top_keys_;
  bool saw_root_ = false;
  bool host_has_name_ = false;
  std::uint64_t other_values_ = 0;
  std::optional<core::Error> error_;
};

template <typename Run>
Result<Manifest> Finish(Handler& h, Run&& run) {
  bool ok = false;
  try {
    ok = run();
  } catch (const std::exception& e) {
    // nlohmann reports through parse_error; anything else (allocation) lands here.
    h.SetError(core::Error{ErrorCode::kFormat, std::string("manifest: ") + e.what()});
  }
  if (h.error()) return std::unexpected(*h.error());
  if (!ok) return Fail(ErrorCode::kFormat, "manifest: not valid JSON");
  TRAWL_TRY_VOID(h.CheckComplete());
  return std::move(h.manifest());
}

}  // namespace

bool IsSha256Hex(std::string_view s) {
  if (s.size() != 64) return false;
  for (char c : s) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

nlohmann::json ManifestToJson(const Manifest& m) {
  json host = {{"hostname", m.host.hostname}, {"os", m.host.os},     {"os_version", m.host.os_version},
               {"kernel", m.host.kernel},     {"arch", m.host.arch}, {"boot_time", m.host.boot_time},
               {"timezone", m.host.timezone}, {"live", m.host.live}};
  if (!m.host.root.empty()) host["root"] = m.host.root;
  json j = {{"format", m.format},
            {"format_version", m.format_version},
            {"part", m.part},
            {"tool", m.tool},
            {"tool_version", m.tool_version},
            {"profile", {{"name", m.profile_name}, {"sha256", m.profile_sha256}}},
            {"host", host},
            {"target_os", m.target_os},
            {"started", m.started},
            {"ended", m.ended},
            {"result", m.result},
            {"stop_reason", m.stop_reason},
            {"limits_hit", m.limits_hit},
            {"counts", m.counts},
            {"limits", m.limits},
            {"artifacts", m.artifacts},
            {"skipped_artifacts", m.skipped_artifacts},
            {"collector", m.collector},
            {"entry_count", m.entry_count}};
  if (m.continued_in_part) j["continued_in_part"] = *m.continued_in_part;
  return j;
}

nlohmann::json EntryToJson(const ManifestEntry& e) {
  json j = {{"archive_path", e.archive_path ? json(*e.archive_path) : json()},
            {"source_path", e.source_path},
            {"type", e.type},
            {"size", e.size},
            {"sha256", e.sha256 ? json(*e.sha256) : json()},
            {"status", e.status}};
  if (!e.artifact.empty()) j["artifact"] = e.artifact;
  if (!e.source_path_hex.empty()) j["source_path_hex"] = e.source_path_hex;
  if (!e.error.empty()) j["error"] = e.error;
  if (!e.access.empty()) j["access"] = e.access;
  return j;
}

Result<Manifest> ParseManifest(std::istream& in, std::string_view where, const ManifestEntryFn& on_entry,
                               const ManifestLimits& limits) {
  CappedBuf capped(in.rdbuf(), limits.max_bytes);
  std::istream capped_in(&capped);
  Handler h(where, on_entry, limits);
  auto r = Finish(h, [&] { return json::sax_parse(capped_in, &h, json::input_format_t::json, true); });
  if (capped.over()) {
    return Fail(ErrorCode::kLimit, fmt::format("{}: larger than {} bytes", where, limits.max_bytes));
  }
  return r;
}

Result<Manifest> ParseManifest(std::string_view text, std::string_view where, const ManifestEntryFn& on_entry,
                               const ManifestLimits& limits) {
  if (text.size() > limits.max_bytes) {
    return Fail(ErrorCode::kLimit, fmt::format("{}: larger than {} bytes", where, limits.max_bytes));
  }
  Handler h(where, on_entry, limits);
  return Finish(h, [&] { return json::sax_parse(text.begin(), text.end(), &h, json::input_format_t::json, true); });
}

}  // namespace trawl::core::archive
