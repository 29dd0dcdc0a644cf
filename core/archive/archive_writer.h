// SPDX-License-Identifier: Apache-2.0
// Writes one collection as trawl archives (docs/archive-format.md): a zip
// streamed through age encryption into `<base>.zip.age` (or split parts
// `<base>.partNNN.zip.age`), each part a complete zip with its own
// manifest.json, log.jsonl and record segments, and a plaintext sidecar
// `<base>.json` without secrets. Every byte is produced once, then compressed,
// encrypted and written: no plaintext reaches the disk and memory stays
// bounded (record and log buffers are capped and flushed as segments).
// Files are written as `.partial` and renamed only when closed, so a killed
// run is never mistaken for a complete one. Not thread-safe: the caller
// serialises access (a streamed entry spans BeginFile..EndFile).
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/archive/zip_writer.h"
#include "core/crypto/age.h"
#include "core/util/error.h"

namespace trawl::core::archive {

inline constexpr int kArchiveFormatVersion = 1;

// One manifest entry: an archive member, or an item that was not stored
// (failed, skipped) so the manifest still accounts for it.
struct ItemRecord {
  std::string archive_path;     // empty when nothing was stored
  std::string source_path;      // path on the host, UTF-8 (repaired if needed)
  std::string source_path_hex;  // raw bytes, set only when not valid UTF-8
  std::string type;             // "file", "records", "log", "meta"
  std::string artifact;         // artifact that produced it
  std::uint64_t size = 0;       // bytes stored
  std::string sha256;           // of the stored bytes
  std::string status = "ok";    // ok | changed | vanished | truncated | error | skipped
  std::string error;
  std::string access;  // "raw": read from the NTFS volume, not through the OS's file API
  nlohmann::json ToJson() const;
};

struct PartInfo {
  std::filesystem::path path;
  std::uint64_t size = 0;
  std::string sha256;  // of the file as written (ciphertext)
  std::uint64_t entries = 0;
};

struct WriterOptions {
  std::filesystem::path output_dir;
  std::string base_name;  // "<host>_<yyyymmddThhmmssZ>"
  std::vector<age::Recipient> recipients;
  bool encrypt = true;           // false only with --no-encrypt
  std::uint64_t split_size = 0;  // 0: one archive
  std::uint64_t max_output = 0;  // 0: unlimited; counts every output byte
  std::size_t record_segment_bytes = 4u << 20;
  std::size_t log_max_bytes = 8u << 20;
  nlohmann::json header;  // tool, profile, host... copied into every manifest
  // Called (on the writing thread, under the caller's lock) once a part is
  // closed and renamed: an uploader queues it while collection goes on.
  // Must not call back into the writer.
  std::function<void(const PartInfo&)> on_part_closed;
};

class ArchiveWriter {
 public:
  static Result<std::unique_ptr<ArchiveWriter>> Create(WriterOptions options);
  ~ArchiveWriter();

  // Streams one member. Write fails with kLimit once the output budget is
  // spent; the caller then ends the entry (status "truncated") and stops.
  Result<void> BeginFile(const std::string& archive_path, const EntryMeta& meta);
  Result<void> WriteFile(Bytes data);
  // Closes the member; size and sha256 of what was stored are filled in.
  Result<void> EndFile(ItemRecord record);
  // A manifest entry without content.
  void AddItem(const ItemRecord& record);
  // Appends one JSON object to records/<table>.NNNN.jsonl.
  Result<void> AddRecord(std::string_view table, const nlohmann::json& record);
  // The same for a record already serialised as one JSON object (no newline).
  Result<void> AddRecordLine(std::string_view table, std::string_view json_object);
  // Appends an event to log.jsonl (capped; overflow is counted, not lost silently).
  void Log(std::string_view level, std::string_view event, nlohmann::json fields = {});

  // Bytes that can still be written before max_output (after reserving room
  // for the closing manifest); UINT64_MAX when unlimited.
  std::uint64_t RemainingBudget() const;
  bool budget_exhausted() const { return budget_exhausted_; }
  std::uint64_t bytes_out() const;

  // Closes the last part: `trailer` (result, ended, limits_hit, counts,
  // collector footprint) is merged into its manifest. Returns every part.
  Result<std::vector<PartInfo>> Finish(const nlohmann::json& trailer);
  // Emergency close (signal, fatal error): same as Finish, never throws.
  const std::vector<PartInfo>& parts() const { return parts_; }

 private:
  explicit ArchiveWriter(WriterOptions options);
  Result<void> OpenPart();
  Result<void> ClosePart(const nlohmann::json& trailer);
  Result<void> FlushRecords();
  Result<void> MaybeRotate();
  std::uint64_t Reserve() const;

  struct Part;
  WriterOptions options_;
  std::unique_ptr<Part> part_;
  std::vector<PartInfo> parts_;
  std::uint64_t bytes_out_closed_parts_ = 0;
  std::map<std::string, std::string, std::less<>> record_buffers_;
  std::map<std::string, int, std::less<>> record_segments_;
  std::size_t record_buffered_ = 0;
  std::string log_;
  std::uint64_t log_dropped_ = 0;
  std::uint64_t manifest_estimate_ = 0;
  bool budget_exhausted_ = false;
  bool finished_ = false;
};

}  // namespace trawl::core::archive
