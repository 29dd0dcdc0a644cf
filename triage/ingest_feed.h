// SPDX-License-Identifier: Apache-2.0
// The read side of ingest on a worker thread (issue #16): decryption,
// inflation, member hashing, line splitting and the DOM-free parse of record
// lines (triage/ingest_jsonl.h) run on one thread while the caller, the one
// SQLite writer, consumes what it produced in archive order. A bounded queue
// between them keeps memory flat (kFeedQueueBytes, plus at most one line of
// max_line bytes) however large the archive.
//
// WalkArchiveFed keeps core::archive::WalkArchive's contract: the same
// report, the same problems in the same order, the same callbacks in the same
// order, each on the calling thread. The worker waits for the caller's verdict
// on a member before it moves to the next, so a visitor error is recorded
// against its member exactly as WalkArchive records it (and one that ends the
// walk ends it); within a member, the worker reads ahead while the caller
// writes. Manifest entries are handed over without waiting: an error of
// on_entry stops the manifest parse at the next entry and, if none follows,
// is recorded as a problem of manifest.json, so the archive never verifies.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <fmt/format.h>

#include "core/archive/archive_reader.h"
#include "core/archive/manifest.h"
#include "core/crypto/age.h"
#include "core/util/error.h"
#include "triage/ingest_jsonl.h"

namespace trawl::triage {

// What the worker may hold ahead of the writer (chunks and parsed lines).
inline constexpr std::size_t kFeedQueueBytes = 16u << 20;

// Calls on_line(line, line_no) for each non-empty line of `stream` (without
// its line break and a trailing '\r'); a line longer than max_line is a
// kLimit error naming the member and the line.
template <typename F>
core::Result<void> ReadLines(const std::string& member, core::archive::MemberStream& stream, std::size_t max_line,
                             F&& on_line) {
  std::string pending;
  std::vector<std::byte> buf(1 << 20);
  std::uint64_t line_no = 0;
  auto too_long = [&] {
    return core::Fail(core::ErrorCode::kLimit,
                      fmt::format("{}: line {}: longer than {} bytes", member, line_no + 1, max_line));
  };
  auto handle = [&](std::string_view line) -> core::Result<void> {
    ++line_no;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.empty()) return {};
    return on_line(line, line_no);
  };
  while (true) {
    auto n = stream.Read(buf);
    if (!n) return std::unexpected(n.error());
    if (*n == 0) break;
    std::string_view chunk(reinterpret_cast<const char*>(buf.data()), *n);
    std::size_t start = 0;
    while (true) {
      const auto nl = chunk.find('\n', start);
      if (nl == std::string_view::npos) {
        pending.append(chunk.substr(start));
        if (pending.size() > max_line) return too_long();
        break;
      }
      if (pending.size() + (nl - start) > max_line) return too_long();
      if (pending.empty()) {
        TRAWL_TRY_VOID(handle(chunk.substr(start, nl - start)));
      } else {
        pending.append(chunk.substr(start, nl - start));
        TRAWL_TRY_VOID(handle(pending));
        pending.clear();
      }
      start = nl + 1;
    }
  }
  if (!pending.empty()) TRAWL_TRY_VOID(handle(pending));
  return {};
}

// One non-empty line of a record member, as the worker split and parsed it.
struct FedLine {
  std::uint64_t line_no = 0;
  std::string_view raw;  // without its line break and a trailing '\r'
  bool flat = false;     // ParseFlatRecord accepted it; `fields` hold it
  std::span<const FlatField> fields;
};

// The lines of one record member, pulled by the writer. Views stay valid
// until the next call.
class LineSource {
 public:
  virtual ~LineSource() = default;
  // The next line; nullptr after the last. Errors: the member's read error,
  // or a line longer than max_line (kLimit), as ReadLines gives them.
  virtual core::Result<const FedLine*> Next() = 0;
};

struct FeedOptions {
  core::archive::ReadLimits limits;
  // Members fed as parsed lines to `records` (called on the worker thread:
  // it must be a pure function of the name); all others go to `visit`.
  std::function<bool(std::string_view member)> is_records;
  std::function<core::Result<void>(const core::archive::MemberInfo&, LineSource&)> records;
  core::archive::MemberVisitor visit;
  core::archive::ManifestEntryFn on_entry;
  std::size_t max_line = 64u << 20;
  std::size_t queue_bytes = kFeedQueueBytes;  // tests make it tiny
};

core::Result<core::archive::VerifyReport> WalkArchiveFed(const std::filesystem::path& path,
                                                         const std::vector<core::age::Identity>& identities,
                                                         const FeedOptions& options);

}  // namespace trawl::triage
