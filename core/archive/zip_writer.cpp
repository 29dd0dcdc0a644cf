// SPDX-License-Identifier: Apache-2.0
#include "core/archive/zip_writer.h"

#include <archive.h>
#include <archive_entry.h>

#include <array>
#include <ctime>

#include <fmt/format.h>

#include "core/util/text.h"

namespace trawl::core::archive {

ZipWriter::ZipWriter(ByteSink sink) : sink_(std::move(sink)) {}

ZipWriter::~ZipWriter() {
  if (archive_) {
    // Without Close() the archive is abandoned: free without writing the
    // central directory (the output is incomplete by design).
    archive_write_free(archive_);
  }
}

std::ptrdiff_t ZipWriter::WriteCallback(::archive*, void* self_ptr, const void* buf, std::size_t len) {
  auto* self = static_cast<ZipWriter*>(self_ptr);
  if (self->failed_) return -1;
  auto r = self->sink_(Bytes(static_cast<const std::byte*>(buf), len));
  if (!r) {
    self->failed_ = true;
    self->sink_error_ = r.error();
    return -1;
  }
  return static_cast<std::ptrdiff_t>(len);
}

Error ZipWriter::LibError(std::string_view what) {
  if (failed_) return sink_error_.WithContext(fmt::format("zip {}", what));
  const char* msg = archive_ ? archive_error_string(archive_) : nullptr;
  return Error{ErrorCode::kIo, fmt::format("zip {}: {}", what, msg ? msg : "libarchive error")};
}

Result<std::unique_ptr<ZipWriter>> ZipWriter::Create(ByteSink sink) {
  std::unique_ptr<ZipWriter> w(new ZipWriter(std::move(sink)));
  w->archive_ = archive_write_new();
  if (!w->archive_) return Fail(ErrorCode::kInternal, "archive_write_new failed");
  if (archive_write_set_format_zip(w->archive_) != ARCHIVE_OK ||
      archive_write_set_bytes_per_block(w->archive_, 64 * 1024) != ARCHIVE_OK ||
      archive_write_set_bytes_in_last_block(w->archive_, 1) != ARCHIVE_OK) {
    return std::unexpected(w->LibError("setup"));
  }
  if (archive_write_open2(w->archive_, w.get(), nullptr, &ZipWriter::WriteCallback, nullptr, nullptr) != ARCHIVE_OK) {
    return std::unexpected(w->LibError("open"));
  }
  return w;
}

Result<void> ZipWriter::BeginEntry(std::string_view name, const EntryMeta& meta) {
  if (closed_ || in_entry_) return Fail(ErrorCode::kInternal, "zip: entry already open");
  if (meta.compress) {
    archive_write_zip_set_compression_deflate(archive_);
  } else {
    archive_write_zip_set_compression_store(archive_);
  }
  archive_entry* e = archive_entry_new();
  const std::string n(name);
  // Member names are ASCII by construction (ArchivePathForSource
  // percent-encodes everything else), so they are stored as they are, with no
  // character-set conversion: a static binary in the C locale has no iconv.
  archive_entry_set_pathname(e, n.c_str());
  archive_entry_set_filetype(e, AE_IFREG);
  archive_entry_set_perm(e, meta.mode & 07777);
  archive_entry_set_mtime(e, meta.mtime ? meta.mtime : std::time(nullptr), 0);
  archive_entry_unset_size(e);  // length at end: data descriptor, zip64
  const int rc = archive_write_header(archive_, e);
  archive_entry_free(e);
  if (rc < ARCHIVE_WARN) return std::unexpected(LibError(fmt::format("header for '{}'", EscapeForTerminal(name))));
  in_entry_ = true;
  return {};
}

Result<void> ZipWriter::Write(Bytes data) {
  if (!in_entry_) return Fail(ErrorCode::kInternal, "zip: no entry open");
  std::size_t done = 0;
  while (done < data.size()) {
    const la_ssize_t w = archive_write_data(archive_, data.data() + done, data.size() - done);
    if (w <= 0) return std::unexpected(LibError("write"));
    done += static_cast<std::size_t>(w);
  }
  return {};
}

Result<void> ZipWriter::EndEntry() {
  if (!in_entry_) return Fail(ErrorCode::kInternal, "zip: no entry open");
  in_entry_ = false;
  if (archive_write_finish_entry(archive_) < ARCHIVE_WARN) return std::unexpected(LibError("finish entry"));
  return {};
}

Result<void> ZipWriter::AddEntry(std::string_view name, Bytes data, const EntryMeta& meta) {
  TRAWL_TRY_VOID(BeginEntry(name, meta));
  TRAWL_TRY_VOID(Write(data));
  return EndEntry();
}

Result<void> ZipWriter::Close() {
  if (closed_) return {};
  if (in_entry_) TRAWL_TRY_VOID(EndEntry());
  closed_ = true;
  const int rc = archive_write_close(archive_);
  Result<void> result;
  if (rc != ARCHIVE_OK) result = std::unexpected(LibError("close"));
  archive_write_free(archive_);
  archive_ = nullptr;
  return result;
}

bool LooksCompressed(std::string_view name) {
  static constexpr std::array<std::string_view, 24> kExt = {
      ".zip", ".gz",  ".tgz", ".bz2", ".xz",   ".zst",   ".7z",  ".rar", ".cab",  ".msi",  ".jpg", ".jpeg",
      ".png", ".gif", ".mp3", ".mp4", ".webm", ".nupkg", ".jar", ".apk", ".docx", ".xlsx", ".age", ".lz4"};
  for (std::string_view ext : kExt) {
    if (EndsWithIgnoreCaseAscii(name, ext)) return true;
  }
  return false;
}

}  // namespace trawl::core::archive
