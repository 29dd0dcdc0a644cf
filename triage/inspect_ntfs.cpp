// SPDX-License-Identifier: Apache-2.0
// `trawl-triage inspect ntfs IMAGE`: the files of an NTFS volume inside a
// disk image, read with trawl's own reader (core/formats/ntfs.h), without
// mounting, on any OS. Lists the live tree from the root (one line per name,
// as `fls -r -p` does; junctions and links are listed, never entered), or
// with --json one object per name with both sets of times and every stream;
// `--cat PATH[:stream]` writes one file's content to stdout.
#include <functional>
#include <iostream>
#include <ostream>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "core/formats/disk_volume.h"
#include "core/formats/ntfs.h"
#include "core/util/text.h"
#include "core/util/time.h"
#include "triage/archive_commands.h"

#ifdef _WIN32
#include <fcntl.h>
#include <io.h>
#endif

namespace trawl::triage {
namespace {

namespace ntfs = core::formats::ntfs;
using nlohmann::json;

json TimesJson(const ntfs::Times& t) {
  auto iso = [](std::uint64_t ft) { return ft == 0 ? json() : json(core::FiletimeToIso(ft)); };
  return {{"created", iso(t.created)},
          {"modified", iso(t.modified)},
          {"mft_modified", iso(t.mft_modified)},
          {"accessed", iso(t.accessed)}};
}

}  // namespace

int RunInspectNtfs(const NtfsInspectOptions& o, std::ostream& out, std::ostream& err) {
  auto disk = core::OpenFileSource(o.image);
  if (!disk) {
    err << "inspect ntfs: " << disk.error().message << "\n";
    return kExitUsage;
  }
  auto where = core::formats::LocateNtfsVolume(**disk, o.partition, o.offset);
  if (!where) {
    err << "inspect ntfs: " << where.error().message << "\n";
    return kExitUsage;
  }
  auto part = core::MakeSubSource(**disk, where->offset, where->length);
  if (!part) {
    err << "inspect ntfs: " << part.error().message << "\n";
    return kExitUsage;
  }
  auto vol = ntfs::Volume::Open(**part);
  if (!vol) {
    err << "inspect ntfs: " << o.image << " " << where->description << ": " << vol.error().message << "\n";
    return kExitProblems;
  }
  const ntfs::Volume& v = **vol;
  if (!o.cat.empty()) {
    const auto [file, stream] = ntfs::SplitStreamPath(o.cat);
    auto n = v.Lookup(file);
    auto r =
        n ? v.OpenStream(*n, stream) : core::Result<std::unique_ptr<ntfs::StreamReader>>(std::unexpected(n.error()));
    if (!r) {
      err << "inspect ntfs: " << o.cat << ": " << r.error().message << "\n";
      return kExitProblems;
    }
#ifdef _WIN32
    if (&out == &std::cout) (void)_setmode(_fileno(stdout), _O_BINARY);  // no CRLF translation of file bytes
#endif
    std::vector<std::byte> buf(1 << 20);
    while (true) {
      auto got = (*r)->Read(buf);
      if (!got) {
        err << "inspect ntfs: " << o.cat << ": " << got.error().message << "\n";
        return kExitProblems;
      }
      if (*got == 0) break;
      out.write(reinterpret_cast<const char*>(buf.data()), static_cast<std::streamsize>(*got));
    }
    return out ? kExitOk : kExitProblems;
  }
  int rc = kExitOk;
  std::size_t names = 0;
  std::function<void(std::uint64_t, const std::string&, int)> walk = [&](std::uint64_t dir, const std::string& prefix,
                                                                         int depth) {
    auto list = v.ListDirectory(dir);
    if (!list) {
      err << "inspect ntfs: " << core::EscapeForTerminal(prefix.empty() ? "/" : prefix) << ": " << list.error().message
          << "\n";
      rc = kExitProblems;
      return;
    }
    for (const auto& ie : *list) {
      if (ie.entry == dir) continue;
      const std::string path = prefix + "/" + ntfs::ToUtf8(ie.name.name);
      auto e = v.ReadEntry(ie.entry);
      ++names;
      if (!e) {
        err << "inspect ntfs: " << core::EscapeForTerminal(path) << ": " << e.error().message << "\n";
        rc = kExitProblems;
        continue;
      }
      const std::string type = e->reparse ? "link" : e->directory ? "dir" : "file";
      if (o.json) {
        json j = {{"path", path},
                  {"entry", e->number},
                  {"sequence", e->sequence},
                  {"type", type},
                  {"in_use", e->in_use},
                  {"links", e->link_count},
                  {"si", TimesJson(e->si)},
                  {"fn", TimesJson(ie.name.times)}};
        json streams = json::array();
        for (const auto& s : e->Streams()) {
          streams.push_back({{"name", s.name},
                             {"size", s.size},
                             {"resident", s.resident},
                             {"compressed", s.compressed},
                             {"sparse", s.sparse}});
        }
        j["streams"] = streams;
        if (e->reparse) j["reparse"] = {{"kind", e->reparse->kind}, {"target", e->reparse->target}};
        if (!e->problems.empty()) j["problems"] = e->problems;
        out << j.dump(-1, ' ', false, json::error_handler_t::replace) << "\n";
      } else {
        std::uint64_t size = 0;
        for (const auto& s : e->Streams())
          if (s.name.empty()) size = s.size;
        out << fmt::format("{}\t{}\t{}\t{}\n", e->number, type, size, core::EscapeForTerminal(path));
      }
      if (e->directory && !e->reparse && depth < 256) walk(ie.entry, path, depth + 1);
    }
  };
  walk(ntfs::kMftEntryRoot, "", 0);
  if (!o.json) err << fmt::format("{} names, {} {}\n", names, o.image, where->description);
  return rc;
}

}  // namespace trawl::triage
