// SPDX-License-Identifier: Apache-2.0
// Windows XML Event Log files (EVTX, Vista and later): the 4 KiB file header
// with its CRC32, 64 KiB chunks ("ElfChnk", header and event-records CRC32),
// event records ("**\0\0", size and its copy, record identifier, written
// FILETIME) and their binary XML: fragment headers, elements, attributes,
// value text, CDATA, character and entity references, processing
// instructions, template instances (definitions cached per chunk by offset),
// normal and optional substitutions, names from the chunk or inline, every
// value type (strings UTF-16 and ANSI, integers, reals, bool, binary, GUID,
// SizeT, FILETIME, SYSTEMTIME, SID, hex integers, EvtHandle, nested binary
// XML) and arrays of them. Written from J. Metz's "Windows XML Event Log
// (EVTX) format" (libevtx documentation) and Microsoft's [MS-EVEN6] 2.2.12
// (BinXml) and 3.1.4.7 (templates, optional substitutions, type system).
//
// Rendering follows [MS-EVEN6]: an element or attribute whose optional
// substitution (token 0x0E) has a NULL value is left out; an element whose
// content is an array substitution is repeated once per array item (once,
// empty, for an empty array); values are text as Event Viewer shows them
// (FILETIME as ISO 8601 UTC with 7 fractional digits, SYSTEMTIME with its 3,
// GUIDs as
// {XXXXXXXX-...}, hex integers as 0x1a2b, binary as upper-case hex, bool as
// true/false, SIDs as S-1-...).
//
// The file header is not trusted: every 64 KiB chunk slot after it is read,
// to the end of the file (dirty logs carry stale chunk counts). A chunk with a
// bad signature or CRC is reported, not fatal, and its records are still read
// when their structure checks out; records past the last one the chunk header
// announces (chunk slack, older overwritten records) are read too. Both kinds
// are flagged `recovered`. Everything is hostile input: offsets and sizes are
// checked, recursion and output are bounded, and a record that cannot be read
// in full is passed on with `error` set or counted in Stats, never dropped
// silently. Reads one chunk at a time, so a 1 GiB Security.evtx costs 64 KiB
// of buffer. Thread-compatible.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "core/util/byte_reader.h"
#include "core/util/error.h"
#include "core/util/read_at.h"

namespace trawl::core::formats::evtx {

inline constexpr std::size_t kFileHeaderSize = 4096;
inline constexpr std::size_t kChunkSize = 65536;
inline constexpr std::size_t kChunkHeaderSize = 512;

// File header flags.
inline constexpr std::uint32_t kFlagDirty = 0x1;
inline constexpr std::uint32_t kFlagFull = 0x2;
inline constexpr std::uint32_t kFlagNoCrc32 = 0x4;  // chunk CRCs are not kept

struct FileHeader {
  bool signature_ok = false;  // "ElfFile\0"
  std::uint64_t first_chunk = 0;
  std::uint64_t last_chunk = 0;
  std::uint64_t next_record_id = 0;
  std::uint32_t header_size = 0;  // 128
  std::uint16_t minor_version = 0;
  std::uint16_t major_version = 0;
  std::uint16_t header_block_size = 0;  // 4096
  std::uint16_t chunk_count = 0;
  std::uint32_t flags = 0;
  std::uint32_t checksum = 0;  // CRC32 of the first 120 bytes
  bool checksum_ok = false;
  bool dirty() const { return (flags & kFlagDirty) != 0; }
  bool full() const { return (flags & kFlagFull) != 0; }
};

struct ChunkHeader {
  bool signature_ok = false;  // "ElfChnk\0"
  std::uint64_t first_record_number = 0;
  std::uint64_t last_record_number = 0;
  std::uint64_t first_record_id = 0;
  std::uint64_t last_record_id = 0;
  std::uint32_t header_size = 0;         // 128
  std::uint32_t last_record_offset = 0;  // chunk-relative
  std::uint32_t free_space_offset = 0;   // chunk-relative
  std::uint32_t records_checksum = 0;    // CRC32 of [512, free_space_offset)
  std::uint32_t flags = 0;
  std::uint32_t checksum = 0;  // CRC32 of [0, 120) and [128, 512)
  bool checksum_ok = false;
  bool records_checksum_ok = false;  // false too when free_space_offset is impossible
};

// Reads the first 128 bytes of a file header (fails when fewer are given).
Result<FileHeader> ParseFileHeader(Bytes data);
// Reads a chunk header and checks both CRCs against `chunk` (a whole chunk,
// or what the file holds of it). Fails when fewer than 512 bytes are given.
Result<ChunkHeader> ParseChunkHeader(Bytes chunk);

struct Field {
  std::string name;
  std::string value;
};

struct Record {
  std::uint64_t record_id = 0;  // from the record header
  std::uint64_t written = 0;    // FILETIME from the record header
  // System/TimeCreated/@SystemTime, 2021-03-01T12:34:56.1234567Z (a time
  // given as text, as forwarded events carry it, is brought to 7 digits).
  std::string time_created;
  std::string provider;          // System/Provider/@Name
  std::string channel;           // System/Channel
  std::string computer;          // System/Computer
  std::string user_sid;          // System/Security/@UserID
  std::uint32_t event_id = 0;    // System/EventID
  std::uint16_t qualifiers = 0;  // System/EventID/@Qualifiers
  std::uint8_t version = 0;
  std::uint8_t level = 0;
  std::uint8_t opcode = 0;
  std::uint16_t task = 0;
  std::uint64_t keywords = 0;
  std::uint32_t process_id = 0;  // System/Execution/@ProcessID
  std::uint32_t thread_id = 0;   // System/Execution/@ThreadID
  // The event's data, in document order. EventData: each Data element by its
  // Name attribute ("Data" when it has none; names may repeat), any other
  // child of EventData by its element name; the value is the element's text
  // (its descendants' text included). UserData and any other section beside
  // System (ProcessingErrorData, DebugData, ...): every leaf element below
  // it by element name, and every attribute of the elements below it as
  // "Element@Attribute" (namespace declarations left out; a leaf with such
  // attributes and no text gives no field of its own).
  std::vector<Field> fields;
  bool recovered = false;    // from chunk slack or from a chunk that failed its checks
  std::uint32_t chunk = 0;   // chunk index (0 = the chunk at file offset 4096)
  std::uint64_t offset = 0;  // file offset of the record
  std::string error;         // why the record could not be rendered in full (what was read is kept)
  std::string xml;           // the rendered XML, when Options::xml is set
};

struct Options {
  bool recover = true;             // also read chunk slack and chunks that fail their checks
  bool xml = false;                // fill Record::xml
  std::size_t max_problems = 256;  // Stats::problems kept (the rest are counted)
};

struct Stats {
  FileHeader header;
  std::uint64_t file_size = 0;
  std::uint64_t chunks = 0;               // 64 KiB slots after the header (a partial last one included)
  std::uint64_t chunks_empty = 0;         // all zero: never used
  std::uint64_t chunks_bad = 0;           // bad signature, header or records CRC, impossible offsets, truncated
  std::uint64_t records = 0;              // passed to the callback
  std::uint64_t records_recovered = 0;    // of those, flagged recovered
  std::uint64_t records_with_errors = 0;  // of those, with `error` set
  std::uint64_t records_bad = 0;          // where a record should be but whose header does not check out (not passed)
  std::uint64_t trailing_bytes = 0;       // bytes of a last, partial chunk slot
  std::vector<std::string> problems;      // file- and chunk-level findings, in file order
  std::uint64_t problems_dropped = 0;
};

// Calls `fn` for every record, in file order: chunk by chunk, each chunk's
// records in order, then the records recovered from its slack. Fails only
// when the source cannot be read or is not an event log at all (no
// "ElfFile" signature and no chunk where the first should be); everything
// else is in Stats and in each Record.
Result<Stats> ForEachRecord(const ReadAtSource& src, const std::function<void(const Record&)>& fn,
                            const Options& options = {});

// The text form of one value of the binary XML type system (type without the
// array bit), as rendered in fields and XML: "" when the type is unknown or
// the size does not fit it (then *ok is false). Exposed for tests.
std::string FormatValue(std::uint8_t type, Bytes data, bool* ok = nullptr);

}  // namespace trawl::core::formats::evtx
