// SPDX-License-Identifier: Apache-2.0
#include "core/archive/layout.h"
#include "core/archive/archive_writer.h"

#include <fstream>
#include <limits>

#include <fmt/format.h>

#include "core/hash/multi_hasher.h"
#include "core/util/text.h"
#include "core/util/time.h"

namespace trawl::core::archive {
namespace {

// Room kept free under max_output for what closing a part still writes:
// buffers inside libarchive and age (up to one block/chunk each), deflate
// state, the central directory, the log and the manifest.
constexpr std::uint64_t kFixedReserve = 512u * 1024;

// Counts and hashes what reaches the output file.
class OutputFile {
 public:
  Result<void> Open(const std::filesystem::path& path) {
    path_ = path;
    std::error_code ec;
    if (std::filesystem::exists(path, ec)) {
      return Fail(ErrorCode::kIo, fmt::format("{}: already exists, refusing to overwrite", path.string()));
    }
    out_.open(path, std::ios::binary | std::ios::trunc);
    if (!out_) return Fail(ErrorCode::kIo, fmt::format("{}: cannot create", path.string()));
    return {};
  }
  Result<void> Write(Bytes b) {
    out_.write(reinterpret_cast<const char*>(b.data()), static_cast<std::streamsize>(b.size()));
    if (!out_) return Fail(ErrorCode::kIo, fmt::format("{}: write failed (disk full?)", path_.string()));
    hash_.Update(b);
    size_ += b.size();
    return {};
  }
  Result<std::string> Close() {
    out_.flush();
    const bool ok = static_cast<bool>(out_);
    out_.close();
    if (!ok || out_.fail()) return Fail(ErrorCode::kIo, fmt::format("{}: write failed on close", path_.string()));
    return hash_.Hex();
  }
  std::uint64_t size() const { return size_; }
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
  std::ofstream out_;
  core::Sha256 hash_;
  std::uint64_t size_ = 0;
};

}  // namespace

nlohmann::json ItemRecord::ToJson() const {
  nlohmann::json j = {{"archive_path", archive_path.empty() ? nlohmann::json() : nlohmann::json(archive_path)},
                      {"source_path", source_path},
                      {"type", type},
                      {"size", size},
                      {"sha256", sha256.empty() ? nlohmann::json() : nlohmann::json(sha256)},
                      {"status", status}};
  if (!artifact.empty()) j["artifact"] = artifact;
  if (!source_path_hex.empty()) j["source_path_hex"] = source_path_hex;
  if (!error.empty()) j["error"] = error;
  if (!access.empty()) j["access"] = access;
  return j;
}

struct ArchiveWriter::Part {
  int number = 1;
  std::filesystem::path final_path;
  OutputFile file;
  std::unique_ptr<age::Encryptor> encryptor;
  std::unique_ptr<ZipWriter> zip;
  nlohmann::json entries = nlohmann::json::array();
  // Current streamed member.
  bool in_file = false;
  std::string current_path;
  core::Sha256 entry_hash;
  std::uint64_t entry_size = 0;
  std::uint64_t bytes_out() const { return file.size(); }
};

ArchiveWriter::ArchiveWriter(WriterOptions options) : options_(std::move(options)) {}

ArchiveWriter::~ArchiveWriter() = default;

Result<std::unique_ptr<ArchiveWriter>> ArchiveWriter::Create(WriterOptions options) {
  if (options.encrypt && options.recipients.empty()) {
    return Fail(ErrorCode::kInvalidArgument, "no recipients: give --recipient age1... (or --no-encrypt)");
  }
  std::error_code ec;
  std::filesystem::create_directories(options.output_dir, ec);
  if (ec) {
    return Fail(ErrorCode::kIo,
                fmt::format("{}: cannot create output folder: {}", options.output_dir.string(), ec.message()));
  }
  std::unique_ptr<ArchiveWriter> w(new ArchiveWriter(std::move(options)));
  TRAWL_TRY_VOID(w->OpenPart());
  return w;
}

Result<void> ArchiveWriter::OpenPart() {
  auto part = std::make_unique<Part>();
  part->number = static_cast<int>(parts_.size()) + 1;
  const std::string ext = options_.encrypt ? ".zip.age" : ".zip";
  const std::string name = options_.split_size > 0
                               ? fmt::format("{}.part{:03}{}", options_.base_name, part->number, ext)
                               : options_.base_name + ext;
  part->final_path = options_.output_dir / name;
  TRAWL_TRY_VOID(part->file.Open(options_.output_dir / (name + ".partial")));
  Part* raw = part.get();
  ByteSink file_sink = [raw](Bytes b) { return raw->file.Write(b); };
  ByteSink zip_sink = file_sink;
  if (options_.encrypt) {
    auto enc = age::Encryptor::Create(options_.recipients, file_sink);
    if (!enc) return std::unexpected(enc.error());
    part->encryptor = std::move(*enc);
    zip_sink = [raw](Bytes b) { return raw->encryptor->Write(b); };
  }
  auto zip = ZipWriter::Create(zip_sink);
  if (!zip) return std::unexpected(zip.error());
  part->zip = std::move(*zip);
  part_ = std::move(part);
  return {};
}

std::uint64_t ArchiveWriter::bytes_out() const { return bytes_out_closed_parts_ + (part_ ? part_->bytes_out() : 0); }

std::uint64_t ArchiveWriter::Reserve() const {
  // The manifest compresses well; a quarter of its JSON is a safe bound.
  return kFixedReserve + manifest_estimate_ / 4 + record_buffered_ / 2 + log_.size() / 2;
}

std::uint64_t ArchiveWriter::RemainingBudget() const {
  if (options_.max_output == 0) return std::numeric_limits<std::uint64_t>::max();
  const std::uint64_t used = bytes_out() + Reserve();
  return used >= options_.max_output ? 0 : options_.max_output - used;
}

Result<void> ArchiveWriter::BeginFile(const std::string& archive_path, const EntryMeta& meta) {
  if (finished_ || !part_) return Fail(ErrorCode::kInternal, "archive already finished");
  if (part_->in_file) return Fail(ErrorCode::kInternal, "archive: a member is already open");
  if (RemainingBudget() == 0) {
    budget_exhausted_ = true;
    return Fail(ErrorCode::kLimit, "output size limit reached");
  }
  TRAWL_TRY_VOID(part_->zip->BeginEntry(archive_path, meta));
  part_->in_file = true;
  part_->current_path = archive_path;
  part_->entry_size = 0;
  part_->entry_hash.Reset();
  return {};
}

Result<void> ArchiveWriter::WriteFile(Bytes data) {
  if (!part_ || !part_->in_file) return Fail(ErrorCode::kInternal, "archive: no member open");
  if (options_.max_output != 0 && RemainingBudget() < data.size()) {
    budget_exhausted_ = true;
    return Fail(ErrorCode::kLimit, "output size limit reached");
  }
  TRAWL_TRY_VOID(part_->zip->Write(data));
  part_->entry_hash.Update(data);
  part_->entry_size += data.size();
  return {};
}

Result<void> ArchiveWriter::EndFile(ItemRecord record) {
  if (!part_ || !part_->in_file) return Fail(ErrorCode::kInternal, "archive: no member open");
  part_->in_file = false;
  TRAWL_TRY_VOID(part_->zip->EndEntry());
  record.archive_path = part_->current_path;
  record.size = part_->entry_size;
  record.sha256 = part_->entry_hash.Hex();
  AddItem(record);
  if (record_buffered_ >= options_.record_segment_bytes) TRAWL_TRY_VOID(FlushRecords());
  return MaybeRotate();
}

void ArchiveWriter::AddItem(const ItemRecord& record) {
  nlohmann::json j = record.ToJson();
  manifest_estimate_ += j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace).size() + 2;
  part_->entries.push_back(std::move(j));
}

Result<void> ArchiveWriter::AddRecord(std::string_view table, const nlohmann::json& record) {
  return AddRecordLine(table, record.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
}

Result<void> ArchiveWriter::AddRecordLine(std::string_view table, std::string_view json_object) {
  record_buffered_ += json_object.size() + 1;
  auto it = record_buffers_.find(table);
  if (it == record_buffers_.end()) it = record_buffers_.emplace(std::string(table), std::string()).first;
  it->second += json_object;
  it->second.push_back('\n');
  if (record_buffered_ >= options_.record_segment_bytes && part_ && !part_->in_file) {
    TRAWL_TRY_VOID(FlushRecords());
    return MaybeRotate();
  }
  return {};
}

Result<void> ArchiveWriter::FlushRecords() {
  for (auto& [table, text] : record_buffers_) {
    if (text.empty()) continue;
    int& seq = record_segments_[table];
    ++seq;
    const std::string path = RecordSegmentName(table, static_cast<std::uint32_t>(seq));
    TRAWL_TRY_VOID(part_->zip->BeginEntry(path, {}));
    TRAWL_TRY_VOID(part_->zip->Write(AsBytes(text)));
    TRAWL_TRY_VOID(part_->zip->EndEntry());
    ItemRecord item;
    item.archive_path = path;
    item.type = "records";
    item.size = text.size();
    item.sha256 = Sha256Hex(AsBytes(text));
    AddItem(item);
    text.clear();
  }
  record_buffered_ = 0;
  return {};
}

void ArchiveWriter::Log(std::string_view level, std::string_view event, nlohmann::json fields) {
  if (!fields.is_object()) fields = nlohmann::json::object();
  fields["time"] = IsoUtcNow();
  fields["level"] = level;
  fields["event"] = event;
  std::string line = fields.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  if (log_.size() + line.size() + 1 > options_.log_max_bytes) {
    ++log_dropped_;
    return;
  }
  log_ += line;
  log_.push_back('\n');
}

Result<void> ArchiveWriter::MaybeRotate() {
  if (options_.split_size == 0 || !part_ || part_->in_file) return {};
  if (part_->bytes_out() + Reserve() < options_.split_size) return {};
  nlohmann::json trailer = {{"result", "continued"}, {"continued_in_part", part_->number + 1}};
  TRAWL_TRY_VOID(ClosePart(trailer));
  return OpenPart();
}

Result<void> ArchiveWriter::ClosePart(const nlohmann::json& trailer) {
  Part& p = *part_;
  if (p.in_file) {
    // An interrupted member: close it so the zip stays valid, and say so.
    p.in_file = false;
    TRAWL_TRY_VOID(p.zip->EndEntry());
    ItemRecord item;
    item.archive_path = p.current_path;
    item.size = p.entry_size;
    item.status = "truncated";
    item.error = "collection stopped while this member was written";
    AddItem(item);
  }
  TRAWL_TRY_VOID(FlushRecords());
  if (log_dropped_ > 0) {
    Log("warning", "log_truncated", {{"dropped_events", log_dropped_}});
  }
  if (!log_.empty()) {
    TRAWL_TRY_VOID(p.zip->AddEntry(std::string(kLogMember), AsBytes(log_), {}));
    ItemRecord item;
    item.archive_path = std::string(kLogMember);
    item.type = "log";
    item.size = log_.size();
    item.sha256 = Sha256Hex(AsBytes(log_));
    AddItem(item);
    log_.clear();
    log_dropped_ = 0;
  }
  nlohmann::json manifest = options_.header;
  manifest["format"] = "trawl-archive";
  manifest["format_version"] = kArchiveFormatVersion;
  manifest["part"] = p.number;
  for (auto& [k, v] : trailer.items()) manifest[k] = v;
  manifest["entries"] = std::move(p.entries);
  const std::string text = manifest.dump(1, ' ', false, nlohmann::json::error_handler_t::replace);
  TRAWL_TRY_VOID(p.zip->AddEntry(std::string(kManifestMember), AsBytes(text), {}));
  TRAWL_TRY_VOID(p.zip->Close());
  if (p.encryptor) TRAWL_TRY_VOID(p.encryptor->Finish());
  auto sha = p.file.Close();
  if (!sha) return std::unexpected(sha.error());
  std::error_code ec;
  std::filesystem::rename(p.file.path(), p.final_path, ec);
  if (ec) {
    return Fail(ErrorCode::kIo, fmt::format("{}: cannot rename to {}: {}", p.file.path().string(),
                                            p.final_path.string(), ec.message()));
  }
  PartInfo info;
  info.path = p.final_path;
  info.size = p.file.size();
  info.sha256 = *sha;
  info.entries = manifest["entries"].size();
  parts_.push_back(info);
  bytes_out_closed_parts_ += info.size;
  if (options_.on_part_closed) options_.on_part_closed(info);
  manifest_estimate_ = 0;
  part_.reset();
  return {};
}

Result<std::vector<PartInfo>> ArchiveWriter::Finish(const nlohmann::json& trailer) {
  if (finished_) return parts_;
  finished_ = true;
  if (part_) TRAWL_TRY_VOID(ClosePart(trailer));
  return parts_;
}

}  // namespace trawl::core::archive
