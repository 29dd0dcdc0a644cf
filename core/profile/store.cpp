// SPDX-License-Identifier: Apache-2.0
#include "core/profile/store.h"

#include <openssl/evp.h>

#include <algorithm>
#include <memory>
#include <system_error>

#include "core/profile/embedded.h"
#include "core/util/file.h"
#include "core/util/text.h"

namespace trawl::core::profile {
namespace {

constexpr std::uint64_t kMaxYamlFile = 1ULL << 20;
constexpr std::size_t kMaxYamlFiles = 10000;

bool IsArtifactPath(std::string_view rel) {
  return rel.starts_with("artifacts/") || rel.find("/artifacts/") != std::string_view::npos;
}

std::string StemOf(std::string_view rel) {
  std::string_view file = rel.substr(rel.find_last_of('/') == std::string_view::npos ? 0 : rel.find_last_of('/') + 1);
  if (file.ends_with(".yaml"))
    file.remove_suffix(5);
  else if (file.ends_with(".yml"))
    file.remove_suffix(4);
  return std::string(file);
}

Result<std::string> Sha256Hex(std::string_view text) {
  std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx(EVP_MD_CTX_new(), EVP_MD_CTX_free);
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  if (!ctx || EVP_DigestInit_ex(ctx.get(), EVP_sha256(), nullptr) != 1 ||
      EVP_DigestUpdate(ctx.get(), text.data(), text.size()) != 1 ||
      EVP_DigestFinal_ex(ctx.get(), digest, &length) != 1) {
    return Fail(ErrorCode::kInternal, "SHA-256 of the canonical profile failed (OpenSSL EVP)");
  }
  return ToHex(Bytes(reinterpret_cast<const std::byte*>(digest), length));
}

std::vector<SourceFile> EmbeddedSources() {
  std::vector<SourceFile> files;
  for (const EmbeddedFile& f : EmbeddedProfileFiles()) {
    files.push_back({std::string(f.path), "profiles/" + std::string(f.path), std::string(f.text)});
  }
  return files;
}

bool LooksLikePath(std::string_view s) {
  return s.find('/') != std::string_view::npos || s.find('\\') != std::string_view::npos || s.ends_with(".yaml") ||
         s.ends_with(".yml");
}

// Sources for resolving a profile file: the embedded set plus the artifacts/
// directory next to it.
Result<ProfileStore> StoreForFile(const std::filesystem::path& path) {
  std::vector<SourceFile> files = EmbeddedSources();
  const std::filesystem::path dir = path.parent_path().empty() ? "." : path.parent_path();
  std::error_code ec;
  if (std::filesystem::is_directory(dir / "artifacts", ec)) {
    auto extra = ReadProfileDirectory(dir);
    if (!extra) return std::unexpected(extra.error());
    for (SourceFile& f : *extra) {
      if (IsArtifactPath(f.path)) files.push_back(std::move(f));
    }
  }
  std::vector<SourceFile> artifacts_only;
  for (SourceFile& f : files) {
    if (IsArtifactPath(f.path)) artifacts_only.push_back(std::move(f));
  }
  return ProfileStore::FromFiles(artifacts_only);
}

// Host-controlled names reach a terminal: escape them when they hold control
// characters or invalid UTF-8, else print them as they are (EscapeForTerminal
// would also double every Windows backslash).
std::string Safe(std::string_view s) {
  bool plain = IsValidUtf8(s);
  for (std::size_t i = 0; plain && i < s.size(); ++i) {
    const auto u = static_cast<unsigned char>(s[i]);
    const bool c1 = u == 0xC2 && i + 1 < s.size() && static_cast<unsigned char>(s[i + 1]) >= 0x80 &&
                    static_cast<unsigned char>(s[i + 1]) <= 0x9F;
    if (u < 0x20 || u == 0x7F || c1) plain = false;
  }
  return plain ? std::string(s) : EscapeForTerminal(s);
}

void ExplainLimits(std::string& out, const ArtifactLimits& l) {
  out += "    limits: max_file_size " + FormatSize(l.max_file_size) + ", max_files " + std::to_string(l.max_files) +
         ", max_total_bytes " + FormatSize(l.max_total_bytes) + ", max_depth " + std::to_string(l.max_depth) +
         ", copy_max_size " + FormatSize(l.copy_max_size) + "\n";
}

}  // namespace

// ---- store -------------------------------------------------------------------

Result<ProfileStore> ProfileStore::FromFiles(const std::vector<SourceFile>& files) {
  ProfileStore store;
  std::string errors;
  auto add_error = [&](const Error& e) {
    if (!errors.empty()) errors.push_back('\n');
    errors += e.message;
  };
  for (const SourceFile& f : files) {
    if (!IsArtifactPath(f.path)) continue;
    auto art = ParseArtifact(f.text, f.origin, f.path);
    if (!art) {
      add_error(art.error());
      continue;
    }
    std::string name = art->name;
    store.artifacts_[name] = std::move(*art);
  }
  const std::vector<std::string> names = store.ArtifactNames();
  const ArtifactLookup lookup = [&store](std::string_view n) { return store.FindArtifact(n); };
  for (const SourceFile& f : files) {
    if (IsArtifactPath(f.path)) continue;
    auto def = ParseProfile(f.text, f.origin, StemOf(f.path), lookup, names);
    if (!def) {
      add_error(def.error());
      continue;
    }
    std::string name = def->name;
    store.profiles_[name] = std::move(*def);
  }
  if (!errors.empty()) return Fail(ErrorCode::kFormat, errors);
  return store;
}

Result<ProfileStore> ProfileStore::Embedded() {
  static const Result<ProfileStore> embedded = FromFiles(EmbeddedSources());
  return embedded;
}

Result<ProfileStore> ProfileStore::WithDirectory(const std::filesystem::path& dir) {
  std::vector<SourceFile> files = EmbeddedSources();
  auto extra = ReadProfileDirectory(dir);
  if (!extra) return std::unexpected(extra.error());
  for (SourceFile& f : *extra) files.push_back(std::move(f));
  return FromFiles(files);
}

const ArtifactDef* ProfileStore::FindArtifact(std::string_view name) const {
  auto it = artifacts_.find(name);
  return it == artifacts_.end() ? nullptr : &it->second;
}

std::vector<std::string> ProfileStore::ArtifactNames() const {
  std::vector<std::string> names;
  for (const auto& [name, def] : artifacts_) names.push_back(name);
  return names;
}

std::vector<std::string> ProfileStore::ProfileNames() const {
  std::vector<std::string> names;
  for (const auto& [name, def] : profiles_) names.push_back(name);
  return names;
}

std::vector<ProfileSummary> ProfileStore::Profiles() const {
  std::vector<ProfileSummary> out;
  for (const auto& [name, def] : profiles_) {
    out.push_back({name, def.description, def.origin, def.artifacts.size()});
  }
  return out;
}

Result<ProfileDef> ProfileStore::ParseProfileText(std::string_view text, std::string_view origin,
                                                  std::string_view file_stem) const {
  const ArtifactLookup lookup = [this](std::string_view n) { return FindArtifact(n); };
  return ParseProfile(text, origin, file_stem, lookup, ArtifactNames());
}

Result<ResolvedProfile> ProfileStore::Resolve(std::string_view profile_name) const {
  auto it = profiles_.find(profile_name);
  if (it == profiles_.end()) {
    const std::vector<std::string> names = ProfileNames();
    std::string list;
    for (const std::string& n : names) list += (list.empty() ? "" : ", ") + n;
    const std::string best = ClosestMatch(profile_name, names);
    return Fail(ErrorCode::kNotFound, "unknown profile '" + std::string(profile_name) + "'" +
                                          (best.empty() ? "" : " (did you mean '" + best + "'?)") +
                                          "; profiles: " + list);
  }
  return Resolve(it->second);
}

Result<ResolvedProfile> ProfileStore::Resolve(const ProfileDef& def) const {
  ResolvedProfile out;
  out.name = def.name;
  out.description = def.description;
  out.origin = def.origin;
  if (def.limits.time_limit) out.limits.time_limit = *def.limits.time_limit;
  if (def.limits.max_output) out.limits.max_output = *def.limits.max_output;
  if (def.limits.max_file_size) out.limits.max_file_size = *def.limits.max_file_size;
  for (const ArtifactRef& ref : def.artifacts) {
    const ArtifactDef* art = FindArtifact(ref.name);
    if (!art || !art->kind) {
      return Fail(ErrorCode::kNotFound, def.origin + ":" + std::to_string(ref.line) + ":" + std::to_string(ref.column) +
                                            ": unknown artifact '" + ref.name + "'");
    }
    ResolvedArtifact ra;
    ra.name = art->name;
    ra.description = art->description;
    ra.rationale = art->rationale;
    ra.references = art->references;
    ra.platforms = art->platforms;
    ra.kind = art->kind;
    ra.origin = art->origin;
    for (const ParamSpec& spec : art->kind->parameters) {
      if (const ParamValue* v = ref.parameters.Find(spec.name)) {
        ra.parameters.Set(std::string(spec.name), *v);
      } else if (const ParamValue* a = art->parameters.Find(spec.name)) {
        ra.parameters.Set(std::string(spec.name), *a);
      } else {
        auto d = ParseParamScalar(spec, spec.default_text);
        if (!d) {
          return Fail(ErrorCode::kInternal, "kind '" + std::string(art->kind->name) + "': bad default for '" +
                                                std::string(spec.name) + "': " + d.error().message);
        }
        ra.parameters.Set(std::string(spec.name), *d);
      }
    }
    auto apply = [](ArtifactLimits& l, const ArtifactLimitOverrides& o) {
      if (o.max_file_size) l.max_file_size = *o.max_file_size;
      if (o.max_files) l.max_files = *o.max_files;
      if (o.max_total_bytes) l.max_total_bytes = *o.max_total_bytes;
      if (o.max_depth) l.max_depth = *o.max_depth;
      if (o.copy_max_size) l.copy_max_size = *o.copy_max_size;
    };
    apply(ra.limits, art->limits);
    apply(ra.limits, ref.limits);
    ra.limits.max_file_size = std::min(ra.limits.max_file_size, out.limits.max_file_size);
    out.artifacts.push_back(std::move(ra));
  }
  std::stable_sort(
      out.artifacts.begin(), out.artifacts.end(),
      [](const ResolvedArtifact& a, const ResolvedArtifact& b) { return a.kind->priority < b.kind->priority; });
  auto hash = Sha256Hex(CanonicalText(out));
  if (!hash) return std::unexpected(hash.error());
  out.sha256 = *hash;
  return out;
}

Result<std::vector<SourceFile>> ReadProfileDirectory(const std::filesystem::path& dir) {
  namespace fs = std::filesystem;
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) {
    return Fail(ErrorCode::kNotFound, dir.string() + ": not a directory");
  }
  std::vector<SourceFile> files;
  fs::recursive_directory_iterator it(dir, fs::directory_options::none, ec);
  if (ec) return Fail(ErrorCode::kIo, dir.string() + ": cannot list: " + ec.message());
  for (; it != fs::recursive_directory_iterator(); it.increment(ec)) {
    if (ec) return Fail(ErrorCode::kIo, dir.string() + ": error while listing: " + ec.message());
    const fs::path& p = it->path();
    const std::string ext = p.extension().string();
    std::error_code sec;
    if (!it->is_regular_file(sec) || it->is_symlink(sec) || (ext != ".yaml" && ext != ".yml")) {
      continue;
    }
    if (files.size() >= kMaxYamlFiles) {
      return Fail(ErrorCode::kLimit, dir.string() + ": more than " + std::to_string(kMaxYamlFiles) + " YAML files");
    }
    auto text = ReadFileText(p, kMaxYamlFile);
    if (!text) return std::unexpected(text.error());
    files.push_back({p.lexically_relative(dir).generic_string(), p.string(), std::move(*text)});
  }
  std::sort(files.begin(), files.end(), [](const SourceFile& a, const SourceFile& b) { return a.path < b.path; });
  return files;
}

// ---- entry points ----------------------------------------------------------------

Result<ResolvedProfile> LoadProfile(std::string_view name_or_path) {
  if (!LooksLikePath(name_or_path)) {
    auto store = ProfileStore::Embedded();
    if (!store) return std::unexpected(store.error());
    return store->Resolve(name_or_path);
  }
  const std::filesystem::path path{std::string(name_or_path)};
  auto text = ReadFileText(path, kMaxYamlFile);
  if (!text) return std::unexpected(text.error());
  auto store = StoreForFile(path);
  if (!store) return std::unexpected(store.error());
  auto def = store->ParseProfileText(*text, path.string(), StemOf(path.filename().string()));
  if (!def) return std::unexpected(def.error());
  return store->Resolve(*def);
}

Result<std::vector<ProfileSummary>> ListProfiles() {
  auto store = ProfileStore::Embedded();
  if (!store) return std::unexpected(store.error());
  return store->Profiles();
}

Result<std::string> ValidateFile(const std::filesystem::path& path) {
  auto text = ReadFileText(path, kMaxYamlFile);
  if (!text) return std::unexpected(text.error());
  const std::string origin = path.string();
  auto type = ClassifyDocument(*text, origin);
  // A file under artifacts/ is an artifact even when its 'kind' key is
  // misspelt, so the message names the key rather than the document type.
  const bool artifact_path = IsArtifactPath(path.generic_string());
  if (!type && !artifact_path) return std::unexpected(type.error());
  if ((type && *type == DocumentType::kArtifact) || (!type && artifact_path)) {
    // The path check needs the artifacts/<os>/<category>/<name>.yaml tail.
    auto art = ParseArtifact(*text, origin, path.generic_string());
    if (!art) return std::unexpected(art.error());
    return "artifact " + art->name + " (kind " + std::string(art->kind->name) + ") is valid";
  }
  auto store = StoreForFile(path);
  if (!store) return std::unexpected(store.error());
  auto def = store->ParseProfileText(*text, origin, StemOf(path.filename().string()));
  if (!def) return std::unexpected(def.error());
  auto resolved = store->Resolve(*def);
  if (!resolved) return std::unexpected(resolved.error());
  return "profile " + resolved->name + " (" + std::to_string(resolved->artifacts.size()) + " artifacts, sha256 " +
         resolved->sha256 + ") is valid";
}

// ---- expansion and explain ---------------------------------------------------------

Result<std::vector<PatternExpansion>> ExpandArtifactPaths(const ResolvedArtifact& artifact, const ExpansionContext& ctx,
                                                          DirectoryLister& lister,
                                                          const std::function<bool(const PathMatch&)>& on_match) {
  std::vector<PatternExpansion> out;
  if (!artifact.kind || !artifact.parameters.Has("paths")) return out;
  GlobOptions options;
  options.max_depth = artifact.WalkDepth();
  options.max_matches = static_cast<std::size_t>(artifact.limits.max_files);
  options.exclude = artifact.parameters.GetList("exclude");
  options.on_match = on_match;
  for (const std::string& pattern : artifact.parameters.GetList("paths")) {
    auto expansion = ExpandGlob(pattern, ctx, lister, options);
    if (!expansion) {
      return std::unexpected(expansion.error().WithContext("artifact " + artifact.name));
    }
    out.push_back({pattern, std::move(*expansion)});
  }
  return out;
}

std::string ExplainProfile(const ResolvedProfile& profile, const ExpansionContext& ctx, DirectoryLister& lister) {
  std::string out;
  out += "profile " + profile.name + " (" + Safe(profile.origin) + ")\n";
  out += "  " + profile.description + "\n";
  out += "  sha256 " + profile.sha256 + "\n";
  out += "  limits: time_limit " + std::to_string(profile.limits.time_limit) + "s, max_output " +
         FormatSize(profile.limits.max_output) + ", max_file_size " + FormatSize(profile.limits.max_file_size) + "\n";
  out += "  target: " + std::string(TargetOsName(ctx.os)) + ", root " + Safe(ctx.root) + ", users:";
  if (ctx.users.empty()) out += " (none)";
  for (const UserProfile& u : ctx.users) out += " " + Safe(u.name);
  out += "\n\nartifacts in run order (nothing is collected by --explain):\n";
  std::size_t index = 0;
  for (const ResolvedArtifact& a : profile.artifacts) {
    ++index;
    out += "\n" + std::to_string(index) + ". " + a.name + "  [" + std::string(a.kind->name) + ", priority " +
           std::to_string(a.kind->priority) + "]\n";
    out += "    " + a.description + "\n";
    if (!a.AppliesTo(ctx.os)) {
      out += "    skipped: not for " + std::string(TargetOsName(ctx.os)) + "\n";
      continue;
    }
    out += "    parameters:";
    for (const auto& [name, value] : a.parameters.values()) {
      out += " " + name + "=" + FormatParamValue(value);
    }
    out += "\n";
    ExplainLimits(out, a.limits);
    auto expansions = ExpandArtifactPaths(a, ctx, lister);
    if (!expansions) {
      out += "    error: " + expansions.error().message + "\n";
      continue;
    }
    for (const PatternExpansion& pe : *expansions) {
      out += "    path " + pe.pattern + "\n";
      const Expansion& e = pe.expansion;
      if (e.matches.empty()) out += "      (no match)\n";
      constexpr std::size_t kShow = 50;
      for (std::size_t i = 0; i < e.matches.size() && i < kShow; ++i) {
        const PathMatch& m = e.matches[i];
        out += "      -> " + Safe(m.target_path) +
               (m.is_symlink ? " (symlink, not followed)"
                : m.is_dir   ? " (dir)"
                             : "") +
               "\n";
      }
      if (e.matches.size() > kShow) {
        out += "      ... " + std::to_string(e.matches.size() - kShow) + " more\n";
      }
      for (const ExpansionIssue& issue : e.issues) {
        out += "      ! " + Safe(issue.path) + ": " + Safe(issue.message) + "\n";
      }
      if (e.truncated) out += "      ! stopped at max_files\n";
      if (e.depth_limited) out += "      ! max_depth kept some directories unvisited\n";
    }
  }
  return out;
}

std::string ExplainProfile(const ResolvedProfile& profile, const ExpansionContext& ctx) {
  FsDirectoryLister lister;
  return ExplainProfile(profile, ctx, lister);
}

}  // namespace trawl::core::profile
