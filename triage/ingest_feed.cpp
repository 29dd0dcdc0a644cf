// SPDX-License-Identifier: Apache-2.0
#include "triage/ingest_feed.h"

#include <condition_variable>
#include <cstring>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>
#include <utility>

namespace trawl::triage {
namespace {

using core::ErrorCode;
using core::Fail;
using core::Result;
using core::archive::MemberInfo;
using core::archive::VerifyReport;

constexpr std::size_t kChunkBytes = 1u << 20;  // raw members are handed over in these
constexpr std::size_t kBatchBytes = 1u << 20;  // record lines are handed over in batches of about this
constexpr std::size_t kBatchLines = 4096;      // ... or of this many lines
constexpr char kEmpty[] = "";

// Parsed lines of a record member with the bytes they view: each line and
// the unescaped strings of its parse are copied into the batch's own blocks,
// and the fields' views rebased onto the copies.
class LineBatch {
 public:
  struct Line {
    std::uint64_t line_no = 0;
    std::string_view raw;
    bool flat = false;
    std::size_t first = 0, count = 0;  // its fields
  };

  void Add(std::uint64_t line_no, std::string_view line, bool flat, const std::vector<FlatField>& parsed,
           const std::string& scratch) {
    Line l;
    l.line_no = line_no;
    l.raw = Copy(line);
    l.flat = flat;
    l.first = fields_.size();
    if (flat) {
      const std::string_view scratch_copy = Copy(scratch);
      auto rebase = [&](std::string_view v) -> std::string_view {
        if (v.empty()) return std::string_view(kEmpty);
        const std::less_equal<const char*> le;
        if (le(line.data(), v.data()) && le(v.data() + v.size(), line.data() + line.size()))
          return {l.raw.data() + (v.data() - line.data()), v.size()};
        return {scratch_copy.data() + (v.data() - scratch.data()), v.size()};
      };
      for (const FlatField& f : parsed) {
        FlatField c = f;
        c.key = rebase(f.key);
        c.value.text = rebase(f.value.text);
        fields_.push_back(c);
      }
      l.count = parsed.size();
    }
    bytes_ += sizeof(Line) + l.count * sizeof(FlatField);
    lines_.push_back(l);
  }

  std::size_t bytes() const { return bytes_; }
  std::size_t size() const { return lines_.size(); }
  FedLine At(std::size_t i) const {
    const Line& l = lines_[i];
    return FedLine{l.line_no, l.raw, l.flat, std::span<const FlatField>(fields_).subspan(l.first, l.count)};
  }

 private:
  std::string_view Copy(std::string_view s) {
    if (s.empty()) return std::string_view(kEmpty);
    if (blocks_.empty() || left_ < s.size()) {
      const std::size_t n = std::max(s.size(), kBatchBytes / 4);
      blocks_.push_back(std::make_unique<char[]>(n));
      next_ = blocks_.back().get();
      left_ = n;
    }
    std::memcpy(next_, s.data(), s.size());
    const std::string_view out(next_, s.size());
    next_ += s.size();
    left_ -= s.size();
    bytes_ += s.size();
    return out;
  }

  std::vector<std::unique_ptr<char[]>> blocks_;
  char* next_ = nullptr;
  std::size_t left_ = 0;
  std::vector<FlatField> fields_;
  std::vector<Line> lines_;
  std::size_t bytes_ = 0;
};

struct Item {
  enum class Kind { kBegin, kChunk, kLines, kEnd, kError, kEntry, kDone };
  Kind kind = Kind::kEnd;
  std::size_t cost = 0;  // bytes it holds, for the queue's bound
  MemberInfo info;       // kBegin
  bool records = false;  // kBegin: fed as lines
  std::vector<std::byte> chunk;
  std::unique_ptr<LineBatch> lines;
  core::Error error;                         // kError: the member's read error
  core::archive::ManifestEntry entry;        // kEntry
  std::uint64_t index = 0;                   // kEntry
  std::optional<Result<VerifyReport>> done;  // kDone: the walk's result
};

// Worker -> writer: a bounded queue of items; writer -> worker: the verdict
// on the member being fed, and an error of on_entry.
class Channel {
 public:
  explicit Channel(std::size_t max_bytes) : max_bytes_(max_bytes) {}

  // Worker: queues `item` once there is room (an empty queue always has
  // room, so one item larger than the bound still passes). False, without
  // queueing, once the writer gave its verdict on the member (it reads no
  // further) or stopped.
  bool Push(Item item) {
    std::unique_lock lock(mu_);
    space_.wait(lock, [&] { return cancelled_ || verdict_ || queue_.empty() || bytes_ + item.cost <= max_bytes_; });
    if (cancelled_ || verdict_) return false;
    bytes_ += item.cost;
    queue_.push_back(std::move(item));
    ready_.notify_one();
    return true;
  }

  // Worker: the walk's result, the last item.
  void PushDone(Result<VerifyReport> report) {
    std::lock_guard lock(mu_);
    Item item;
    item.kind = Item::Kind::kDone;
    item.done.emplace(std::move(report));
    queue_.push_back(std::move(item));
    ready_.notify_one();
  }

  // Writer.
  Item Pop() {
    std::unique_lock lock(mu_);
    ready_.wait(lock, [&] { return !queue_.empty(); });
    Item item = std::move(queue_.front());
    queue_.pop_front();
    bytes_ -= item.cost;
    space_.notify_one();
    return item;
  }

  // Writer: its verdict on the member being fed. What is still queued is of
  // that member (the worker feeds the next only after the verdict): dropped.
  void SetVerdict(Result<void> verdict) {
    std::lock_guard lock(mu_);
    verdict_.emplace(std::move(verdict));
    queue_.clear();
    bytes_ = 0;
    space_.notify_all();
  }

  // Worker: waits for the writer's verdict on the member and takes it.
  Result<void> TakeVerdict() {
    std::unique_lock lock(mu_);
    space_.wait(lock, [&] { return cancelled_ || verdict_; });
    if (cancelled_) return Fail(ErrorCode::kTruncated, "ingest stopped");
    Result<void> v = std::move(*verdict_);
    verdict_.reset();
    return v;
  }

  void SetEntryError(core::Error e) {
    std::lock_guard lock(mu_);
    entry_error_ = std::move(e);
  }
  // Worker: an error of on_entry not yet returned to the manifest parse.
  std::optional<core::Error> TakeEntryError() {
    std::lock_guard lock(mu_);
    if (!entry_error_ || entry_error_delivered_) return std::nullopt;
    entry_error_delivered_ = true;
    return entry_error_;
  }
  bool EntryErrorDelivered() {
    std::lock_guard lock(mu_);
    return entry_error_delivered_;
  }

  // The writer leaves (an exception): the worker's waits end and its walk
  // stops at the next member.
  void Cancel() {
    std::lock_guard lock(mu_);
    cancelled_ = true;
    space_.notify_all();
  }

 private:
  std::mutex mu_;
  std::condition_variable ready_, space_;
  std::deque<Item> queue_;
  std::size_t bytes_ = 0;
  const std::size_t max_bytes_;
  std::optional<Result<void>> verdict_;
  bool cancelled_ = false;
  std::optional<core::Error> entry_error_;
  bool entry_error_delivered_ = false;
};

Item MemberItem(Item::Kind kind) {
  Item item;
  item.kind = kind;
  return item;
}

// The worker's side of one member: raw chunks, or parsed lines; then the
// member's end (or its read error). Returns the writer's verdict.
Result<void> FeedMember(Channel& ch, const FeedOptions& options, const MemberInfo& m,
                        core::archive::MemberStream& stream) {
  const bool records = options.is_records && options.records && options.is_records(m.name);
  if (!records && !options.visit) return {};
  Item begin = MemberItem(Item::Kind::kBegin);
  begin.info = m;
  begin.records = records;
  begin.cost = m.name.size();
  bool open = ch.Push(std::move(begin));  // false: the writer stopped reading (or left)
  auto fail = [&](const core::Error& e) {
    Item item = MemberItem(Item::Kind::kError);
    item.error = e;
    open = open && ch.Push(std::move(item));
  };
  if (open && records) {
    auto batch = std::make_unique<LineBatch>();
    std::vector<FlatField> fields;
    std::string scratch;
    auto flush = [&] {
      if (batch->size() == 0) return true;
      Item item = MemberItem(Item::Kind::kLines);
      item.cost = batch->bytes();
      item.lines = std::move(batch);
      batch = std::make_unique<LineBatch>();
      return ch.Push(std::move(item));
    };
    auto read =
        ReadLines(m.name, stream, options.max_line, [&](std::string_view line, std::uint64_t line_no) -> Result<void> {
          const bool flat = ParseFlatRecord(line, fields, scratch);
          batch->Add(line_no, line, flat, fields, scratch);
          if (batch->bytes() >= kBatchBytes || batch->size() >= kBatchLines) {
            open = flush();
            if (!open) return Fail(ErrorCode::kInterrupted, "the writer stopped reading");
          }
          return {};
        });
    if (open) open = flush();
    if (!read && open) fail(read.error());
  } else if (open) {
    while (open) {
      std::vector<std::byte> buf(kChunkBytes);
      auto n = stream.Read(buf);
      if (!n) {
        fail(n.error());
        break;
      }
      if (*n == 0) break;
      buf.resize(*n);
      Item item = MemberItem(Item::Kind::kChunk);
      item.cost = *n;
      item.chunk = std::move(buf);
      open = ch.Push(std::move(item));
    }
  }
  if (open) ch.Push(MemberItem(Item::Kind::kEnd));
  return ch.TakeVerdict();
}

// The writer's view of a raw member.
class FedStream : public core::archive::MemberStream {
 public:
  explicit FedStream(Channel& ch) : ch_(ch) {}
  Result<std::size_t> Read(std::span<std::byte> out) override {
    while (pos_ == chunk_.size()) {
      if (ended_) {
        if (error_) return std::unexpected(*error_);
        return 0;
      }
      Item item = ch_.Pop();
      if (item.kind == Item::Kind::kChunk) {
        chunk_ = std::move(item.chunk);
        pos_ = 0;
      } else {
        ended_ = true;
        if (item.kind == Item::Kind::kError) error_ = std::move(item.error);
      }
    }
    const std::size_t n = std::min(out.size(), chunk_.size() - pos_);
    std::memcpy(out.data(), chunk_.data() + pos_, n);
    pos_ += n;
    return n;
  }

 private:
  Channel& ch_;
  std::vector<std::byte> chunk_;
  std::size_t pos_ = 0;
  bool ended_ = false;
  std::optional<core::Error> error_;
};

// The writer's view of a record member.
class FedLines : public LineSource {
 public:
  explicit FedLines(Channel& ch) : ch_(ch) {}
  Result<const FedLine*> Next() override {
    while (batch_ == nullptr || next_ == batch_->size()) {
      if (ended_) {
        if (error_) return std::unexpected(*error_);
        return nullptr;
      }
      Item item = ch_.Pop();
      if (item.kind == Item::Kind::kLines) {
        batch_ = std::move(item.lines);
        next_ = 0;
      } else {
        ended_ = true;
        if (item.kind == Item::Kind::kError) error_ = std::move(item.error);
      }
    }
    line_ = batch_->At(next_++);
    return &line_;
  }

 private:
  Channel& ch_;
  std::unique_ptr<LineBatch> batch_;
  std::size_t next_ = 0;
  FedLine line_;
  bool ended_ = false;
  std::optional<core::Error> error_;
};

}  // namespace

Result<VerifyReport> WalkArchiveFed(const std::filesystem::path& path,
                                    const std::vector<core::age::Identity>& identities, const FeedOptions& options) {
  Channel ch(options.queue_bytes);
  std::thread worker([&] {
    core::archive::WalkOptions walk;
    walk.limits = options.limits;
    walk.visit = [&](const MemberInfo& m, core::archive::MemberStream& stream) {
      return FeedMember(ch, options, m, stream);
    };
    walk.on_entry = [&](const core::archive::ManifestEntry& e, std::uint64_t index) -> Result<void> {
      if (auto err = ch.TakeEntryError()) return std::unexpected(*err);
      if (!options.on_entry) return {};
      Item item = MemberItem(Item::Kind::kEntry);
      item.cost = sizeof(Item) + e.source_path.size() + e.source_path_hex.size() +
                  (e.archive_path ? e.archive_path->size() : 0) + e.error.size();
      item.entry = e;
      item.index = index;
      if (!ch.Push(std::move(item))) return Fail(ErrorCode::kInterrupted, "ingest stopped");
      return {};
    };
    ch.PushDone(core::archive::WalkArchive(path, identities, walk));
  });
  // However the writer leaves, the worker is stopped and joined first.
  struct Joiner {
    Channel& ch;
    std::thread& t;
    ~Joiner() {
      ch.Cancel();
      t.join();
    }
  } joiner{ch, worker};
  std::optional<core::Error> entry_error;
  while (true) {
    Item item = ch.Pop();
    switch (item.kind) {
      case Item::Kind::kBegin: {
        Result<void> verdict;
        if (item.records) {
          FedLines lines(ch);
          verdict = options.records(item.info, lines);
        } else {
          FedStream stream(ch);
          verdict = options.visit(item.info, stream);
        }
        ch.SetVerdict(std::move(verdict));
        break;
      }
      case Item::Kind::kEntry:
        if (!entry_error) {
          if (auto r = options.on_entry(item.entry, item.index); !r) {
            entry_error = r.error();
            ch.SetEntryError(r.error());
          }
        }
        break;
      case Item::Kind::kDone: {
        Result<VerifyReport> report = std::move(*item.done);
        // An error of the last entry(s) that the manifest parse never saw.
        if (report && entry_error && !ch.EntryErrorDelivered()) {
          report->ok = false;
          report->problems.push_back({"manifest.json", entry_error->ToString()});
        }
        return report;
      }
      default: break;  // member items outside a member: not produced
    }
  }
}

}  // namespace trawl::triage
