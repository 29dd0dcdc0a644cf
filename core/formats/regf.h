// SPDX-License-Identifier: Apache-2.0
// Windows registry hive files (regf), read from a copy in memory: the base
// block with its XOR-32 checksum, hive bins, key nodes (nk), values (vk) of
// every type including big data (db), subkey lists (lf, lh, li, ri), class
// names, key last-write times, ASCII (Latin-1) and UTF-16LE names.
//
// A dirty hive (sequence numbers that disagree, or a bad checksum) is
// recovered as Windows recovers it, from the transaction logs given to Open:
// new-format logs (Windows 8.1 and later: HvLE log entries checked with their
// Marvin32 hashes, applied in sequence order across .LOG1 and .LOG2) and
// old-format logs (a dirty-page bitmap, applied when the log's timestamp is
// the primary's). Recovery() says what was applied; the primary file itself
// is never changed. Written from M. Suhanov's "Windows registry file format
// specification" (github.com/msuhanov/regf).
//
// Everything in a hive is hostile: every cell offset and length is checked
// against the hive bins data, lists are bounded and cycle-free, and a broken
// structure is an error naming the cell (offset relative to the hive bins
// data, as regf offsets are) while the rest of the hive stays readable.
// Thread-compatible; a Hive owns its bytes.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/util/byte_reader.h"
#include "core/util/error.h"

namespace trawl::core::formats::regf {

inline constexpr std::uint32_t kNoCell = 0xFFFFFFFFu;

// Value types (winnt.h).
enum ValueType : std::uint32_t {
  kRegNone = 0,
  kRegSz = 1,
  kRegExpandSz = 2,
  kRegBinary = 3,
  kRegDword = 4,
  kRegDwordBigEndian = 5,
  kRegLink = 6,
  kRegMultiSz = 7,
  kRegResourceList = 8,
  kRegFullResourceDescriptor = 9,
  kRegResourceRequirementsList = 10,
  kRegQword = 11,
};

struct BaseBlock {
  std::uint32_t primary_sequence = 0;
  std::uint32_t secondary_sequence = 0;
  std::uint64_t last_written = 0;  // FILETIME
  std::uint32_t major_version = 0;
  std::uint32_t minor_version = 0;
  std::uint32_t file_type = 0;  // 0 primary, 1/2 old-format log, 6 new-format log
  std::uint32_t root_cell = kNoCell;
  std::uint32_t hive_bins_size = 0;
  std::uint32_t clustering_factor = 0;
  std::string file_name;  // the embedded (partial) path, UTF-8
  std::uint32_t checksum = 0;
  bool checksum_ok = false;
  bool Dirty() const { return !checksum_ok || primary_sequence != secondary_sequence; }
};

// A transaction log offered to Open (the caller names it, e.g. "SYSTEM.LOG1").
struct LogFile {
  std::string name;
  std::vector<std::byte> data;
};

struct AppliedLogEntry {
  std::string log;             // LogFile::name
  std::uint32_t sequence = 0;  // the log entry's sequence number (new format) or the log's (old)
  std::uint32_t pages = 0;     // dirty pages written
  std::uint64_t bytes = 0;     // bytes written
};

struct Recovery {
  bool dirty = false;                    // the primary needed recovery
  bool header_from_log = false;          // the primary's base block was bad and came from a log
  std::string format;                    // "new", "old" or "" (nothing applied)
  std::vector<AppliedLogEntry> applied;  // in the order applied
  std::vector<std::string> notes;        // logs not used and why, entries that stopped the replay
};

struct Key {
  std::uint32_t cell = kNoCell;  // offset of the nk cell in the hive bins data
  std::string name;              // UTF-8
  std::uint64_t last_written = 0;
  std::uint16_t flags = 0;
  std::uint32_t parent = kNoCell;
  std::uint32_t subkey_count = 0;
  std::uint32_t subkey_list = kNoCell;
  std::uint32_t value_count = 0;
  std::uint32_t value_list = kNoCell;
  std::uint32_t class_cell = kNoCell;
  std::uint16_t class_length = 0;  // bytes
};

struct Value {
  std::uint32_t cell = kNoCell;
  std::string name;  // UTF-8; empty is the key's default value
  std::uint32_t type = 0;
  std::uint32_t declared_size = 0;  // the data size the vk cell states (inline flag removed)
  std::vector<std::byte> data;      // the data as stored (declared_size bytes unless error says otherwise)
  std::string error;                // why the data could not be read in full; empty when it was
};

class Hive {
 public:
  // Parses the base block and, when the hive is dirty, replays the logs
  // given (any order; each is recognised by its own base block). Fails only
  // when the file is not a hive at all or its root key cannot be found.
  static Result<Hive> Open(std::vector<std::byte> primary, const std::vector<LogFile>& logs = {});

  const BaseBlock& header() const { return header_; }
  const Recovery& recovery() const { return recovery_; }
  // The hive after recovery: base block and hive bins data.
  Bytes bytes() const { return {data_.data(), data_.size()}; }

  Result<Key> Root() const;
  Result<Key> KeyAt(std::uint32_t cell) const;
  // Every subkey, in list order (lf/lh/li, through ri). A list cell that
  // does not parse is an error naming it. A subkey cell that does not parse
  // is an error too, unless `bad` is given: then the readable subkeys are
  // returned and each unreadable one is described in `bad`.
  Result<std::vector<Key>> Subkeys(const Key& key, std::vector<std::string>* bad = nullptr) const;
  // Every value; a value whose data cannot be read in full keeps its error.
  // A value cell that does not parse: as for Subkeys.
  Result<std::vector<Value>> Values(const Key& key, std::vector<std::string>* bad = nullptr) const;
  // Case-insensitive (ASCII letters) lookups; nullopt when absent.
  Result<std::optional<Key>> Subkey(const Key& key, std::string_view name) const;
  // A path of subkey names separated by '\' below `from` (the root when
  // omitted). Empty path components are skipped.
  Result<std::optional<Key>> Find(std::string_view path) const;
  Result<std::optional<Key>> Find(const Key& from, std::string_view path) const;
  Result<std::optional<Value>> GetValue(const Key& key, std::string_view name) const;
  Result<std::string> ClassName(const Key& key) const;  // "" when the key has none

 private:
  Hive() = default;
  Result<Bytes> Cell(std::uint32_t offset, std::string_view what) const;
  Result<void> CollectSubkeys(std::uint32_t list, int depth, std::vector<std::uint32_t>& out) const;
  Result<Value> ValueAt(std::uint32_t cell) const;

  std::vector<std::byte> data_;
  BaseBlock header_;
  Recovery recovery_;
  std::size_t bins_end_ = 0;  // end of the readable hive bins data, as a file offset
};

// Reads a base block (the first 4096 bytes of a primary, the first 512 of a log).
Result<BaseBlock> ParseBaseBlock(Bytes data);
// The Marvin32 hash (seed as in the new-format logs), exposed for tests.
std::uint64_t Marvin32(Bytes data, std::uint64_t seed);

// Value data helpers. Strings are UTF-16LE up to the first NUL, as UTF-8.
std::string ValueString(const Value& v);
std::vector<std::string> ValueMultiString(const Value& v);
std::optional<std::uint64_t> ValueInteger(const Value& v);  // REG_DWORD (either order), REG_QWORD
std::string_view TypeName(std::uint32_t type);              // "REG_SZ", ..., "0x1234" style for unknown via empty

}  // namespace trawl::core::formats::regf
