-- SPDX-License-Identifier: Apache-2.0
-- trawl-triage case database, schema version 4 (PRAGMA user_version).
-- Version 3 kept files records in a table; version 4 keeps them in interned
-- storage behind the `files` view with the same columns (triage/file_store.cpp).
-- Version 2 had UNIQUE (host_id, started, part) on collections and no content_sha256;
-- version 1 differed from 2 in indexes and in pe being a rowid table. triage/case_db.cpp
-- migrates such a case when it opens it for writing.
-- Many hosts per case; each archive (or split part) is one collection.
-- Record tables (processes, modules, files, dir_entries) are generated from
-- the collector's column declarations (core/profile/kinds.cpp) at the marker
-- line below (files: tables, indexes, the view and its insert trigger);
-- everything else is declared here. Rules read these tables and
-- the v_* views; they never write.

CREATE TABLE IF NOT EXISTS hosts (
  id INTEGER PRIMARY KEY,
  hostname TEXT NOT NULL UNIQUE COLLATE NOCASE,  -- manifest host.hostname (attacker-controlled text)
  os TEXT,
  os_version TEXT,
  first_seen TEXT,                               -- earliest collection start
  last_seen TEXT                                 -- latest collection start
);

CREATE TABLE IF NOT EXISTS collections (
  id INTEGER PRIMARY KEY,
  host_id INTEGER REFERENCES hosts(id),
  archive_name TEXT NOT NULL,
  archive_sha256 TEXT NOT NULL UNIQUE,           -- of the .zip.age as ingested (idempotence key)
  content_sha256 TEXT,                           -- of the decrypted zip: the same collection re-encrypted
  started TEXT,
  ended TEXT,
  part INTEGER NOT NULL DEFAULT 0,
  result TEXT,                                   -- complete | partial | aborted
  tool_version TEXT,
  profile_name TEXT,
  profile_sha256 TEXT,
  target_os TEXT,
  live INTEGER,
  root TEXT,
  limits_hit TEXT,                               -- JSON array
  counts TEXT,                                   -- JSON object
  ingested_at TEXT NOT NULL,
  conflict TEXT                                  -- another archive claims the same host, start and part
);
-- What a collection claims (host, start, part) is plaintext in the sidecar and easy to copy: a
-- forgery can claim a genuine collection's identity. Both are kept and flagged (conflict, rule
-- integrity.conflicting_collections); only content_sha256 makes two archives the same collection.
CREATE INDEX IF NOT EXISTS collections_claim ON collections (host_id, started, part);
CREATE UNIQUE INDEX IF NOT EXISTS collections_content ON collections (content_sha256) WHERE content_sha256 IS NOT NULL;

-- Manifest entries: every member and every item that was not stored, with its status.
CREATE TABLE IF NOT EXISTS archive_entries (
  id INTEGER PRIMARY KEY,
  collection_id INTEGER NOT NULL REFERENCES collections(id),
  archive_path TEXT,
  source_path TEXT,
  type TEXT,
  size INTEGER,
  sha256 TEXT,
  status TEXT,
  error TEXT,
  artifact TEXT
);

-- log.jsonl lines (warnings and errors of the collector run).
CREATE TABLE IF NOT EXISTS collection_log (
  id INTEGER PRIMARY KEY,
  collection_id INTEGER NOT NULL REFERENCES collections(id),
  level TEXT,
  event TEXT,
  line TEXT                                      -- the JSON object
);

-- Where each collection's rows lie in each table that holds host records
-- (triage/ingest.h RangedTables): one archive is ingested by one writer in
-- one transaction, so its rows have consecutive ids. A scoring run reads
-- only the rows of the hosts that changed through these ranges
-- (triage/scoring.h); a collection without rows here (ingested before
-- this table existed) makes its host's scoring read the whole case.
CREATE TABLE IF NOT EXISTS collection_rows (
  collection_id INTEGER NOT NULL,
  table_name TEXT NOT NULL,
  first_id INTEGER NOT NULL,
  last_id INTEGER NOT NULL,                      -- below first_id: no rows
  PRIMARY KEY (collection_id, table_name)
) WITHOUT ROWID;

-- Facts about the case itself: the fingerprint of the rule set, IOC lists
-- and Sigma rules of the last scoring run (key rules_fingerprint).
CREATE TABLE IF NOT EXISTS case_meta (
  key TEXT PRIMARY KEY,
  value TEXT
) WITHOUT ROWID;

-- trawl:record-tables

-- Records of tables the case schema does not know (from a newer collector).
CREATE TABLE IF NOT EXISTS other_records (
  id INTEGER PRIMARY KEY,
  collection_id INTEGER NOT NULL REFERENCES collections(id),
  host_id INTEGER,
  table_name TEXT NOT NULL,
  record TEXT NOT NULL                           -- the JSON object
);

-- PE facts per file content, from triage's own analysis of copied members
-- (core/formats/pe.h); the files records carry the collector's pe_* columns.
-- WITHOUT ROWID: the key is stored once, not in the row and again in an index.
CREATE TABLE IF NOT EXISTS pe (
  sha256 TEXT PRIMARY KEY,
  machine TEXT,
  is_dll INTEGER,
  is_64 INTEGER,
  timestamp INTEGER,
  subsystem TEXT,
  imphash TEXT,
  signed INTEGER,
  signer TEXT,
  issuer TEXT,
  serial TEXT,
  digest_algorithm TEXT,
  digest_matches INTEGER,
  padding_anomaly INTEGER,
  padding_bytes INTEGER,
  padding_feedface INTEGER,
  company_name TEXT,
  product_name TEXT,
  product_version TEXT,
  file_version TEXT,
  original_filename TEXT,
  internal_name TEXT,
  file_description TEXT,
  overlay_size INTEGER,
  overlay_entropy REAL,
  notes TEXT                                     -- JSON array
) WITHOUT ROWID;

-- Parsed prefetch files found in archives (files/**/*.pf).
CREATE TABLE IF NOT EXISTS prefetch (
  id INTEGER PRIMARY KEY,
  collection_id INTEGER NOT NULL REFERENCES collections(id),
  host_id INTEGER,
  archive_path TEXT NOT NULL,
  path TEXT,                                     -- the .pf path on the target (files.path)
  executable TEXT,                               -- header name (max 29 chars)
  executable_lc TEXT,
  prefetch_hash TEXT,                            -- 8 hex digits
  version INTEGER,
  compressed INTEGER,
  run_count INTEGER,
  last_run TEXT,                                 -- newest run time, ISO 8601 UTC
  run_times TEXT,                                -- JSON array, newest first
  exe_path TEXT,                                 -- the executable's own NT path from the file metrics
  exe_dir_lc TEXT,                               -- its folder without the volume prefix, lower case
  error TEXT                                     -- parse error; other columns empty
);

-- One row per stored run time of a prefetch file (timeline, time-window rules).
CREATE TABLE IF NOT EXISTS prefetch_runs (
  id INTEGER PRIMARY KEY,
  prefetch_id INTEGER NOT NULL REFERENCES prefetch(id),
  host_id INTEGER,
  run_time TEXT NOT NULL                         -- ISO 8601 UTC
);

CREATE TABLE IF NOT EXISTS prefetch_files (
  id INTEGER PRIMARY KEY,
  prefetch_id INTEGER NOT NULL REFERENCES prefetch(id),
  host_id INTEGER,
  idx INTEGER,
  path TEXT,                                     -- NT path as stored (\VOLUME{...}\WINDOWS\...)
  rel_path_lc TEXT,                              -- volume prefix removed, lower case: \windows\system32\x.dll
  dir_lc TEXT,                                   -- \windows\system32
  name_lc TEXT                                   -- x.dll
);

-- Registry hives and task files copied by a collection, parsed at ingest
-- (core/formats/regf.h: dirty hives are replayed from the .LOG1/.LOG2 copied
-- beside them; triage/hive_extract.h says what is read from each type). One
-- row per hive; the evidence tables below point back to it. Times are ISO
-- 8601 UTC; *_lc columns are lower case for joins.
CREATE TABLE IF NOT EXISTS registry_hives (
  id INTEGER PRIMARY KEY,
  collection_id INTEGER NOT NULL REFERENCES collections(id),
  host_id INTEGER,
  archive_path TEXT NOT NULL,
  path TEXT,                                     -- the hive's path on the target
  hive_type TEXT,                                -- SYSTEM | SOFTWARE | NTUSER | UsrClass | Amcache | SAM | ...
  user_name TEXT,                                -- NTUSER/UsrClass: the profile folder it came from
  last_written TEXT,                             -- base block timestamp (after recovery)
  dirty INTEGER,                                 -- the primary needed recovery
  logs_applied TEXT,                             -- JSON array: {log, sequence, pages}
  recovery_notes TEXT,                           -- JSON array
  errors TEXT,                                   -- JSON array: keys or values that could not be read
  error TEXT                                     -- the hive could not be opened at all
);

CREATE TABLE IF NOT EXISTS amcache_files (
  id INTEGER PRIMARY KEY,
  hive_id INTEGER NOT NULL REFERENCES registry_hives(id),
  host_id INTEGER,
  source TEXT,                                   -- InventoryApplicationFile | File (Windows 7/8)
  key_path TEXT,
  path TEXT,                                     -- as stored (LowerCaseLongPath is lower case already)
  path_lc TEXT,
  dir_lc TEXT,
  name_lc TEXT,
  sha1 TEXT,                                     -- lower-case hex, without Amcache's 0000 prefix
  size INTEGER,
  link_date TEXT,                                -- PE link time
  publisher TEXT,
  product TEXT,
  version TEXT,
  program_id TEXT,
  os_component INTEGER,
  key_last_written TEXT                          -- the entry key's last write (when Windows recorded the file)
);

CREATE TABLE IF NOT EXISTS amcache_apps (
  id INTEGER PRIMARY KEY,
  hive_id INTEGER NOT NULL REFERENCES registry_hives(id),
  host_id INTEGER,
  source TEXT,                                   -- InventoryApplication | Programs
  key_path TEXT,
  program_id TEXT,
  name TEXT,
  name_lc TEXT,
  version TEXT,
  publisher TEXT,
  install_date TEXT,
  root_dir TEXT,
  uninstall_string TEXT,
  key_last_written TEXT
);

-- AppCompatCache of every ControlSet of a SYSTEM hive (position 0 = newest).
CREATE TABLE IF NOT EXISTS shimcache (
  id INTEGER PRIMARY KEY,
  hive_id INTEGER NOT NULL REFERENCES registry_hives(id),
  host_id INTEGER,
  control_set TEXT,
  format TEXT,                                   -- xp | 2003 | vista | 7 | 8 | 8.1 | 10 | 10-creators
  position INTEGER,
  path TEXT,                                     -- as stored (\??\C:\..., SYSVOL\..., C:\...)
  path_lc TEXT,                                  -- \??\ removed, lower case
  dir_lc TEXT,
  name_lc TEXT,
  last_modified TEXT,                            -- the file's $SI modification time when cached
  executed INTEGER                               -- insertion flag (Vista-8.1); NULL where the format has none
);

-- BAM / DAM (Windows 10 1709+): last execution per user SID and program.
CREATE TABLE IF NOT EXISTS bam (
  id INTEGER PRIMARY KEY,
  hive_id INTEGER NOT NULL REFERENCES registry_hives(id),
  host_id INTEGER,
  source TEXT,                                   -- bam | dam
  control_set TEXT,
  sid TEXT,
  path TEXT,                                     -- \Device\HarddiskVolumeN\... or an app id
  path_lc TEXT,
  dir_lc TEXT,
  name_lc TEXT,
  last_run TEXT
);

CREATE TABLE IF NOT EXISTS services (
  id INTEGER PRIMARY KEY,
  hive_id INTEGER NOT NULL REFERENCES registry_hives(id),
  host_id INTEGER,
  control_set TEXT,
  name TEXT,
  display_name TEXT,
  image_path TEXT,
  image_path_lc TEXT,
  image_file_lc TEXT,                            -- the program ImagePath starts (triage/hive_extract.h CommandFileLc)
  service_dll TEXT,                              -- Parameters\ServiceDll (or ServiceDll)
  service_dll_lc TEXT,
  start_type INTEGER,                            -- 0 boot, 1 system, 2 automatic, 3 manual, 4 disabled
  type INTEGER,
  account TEXT,                                  -- ObjectName
  last_written TEXT
);

-- Run/RunOnce (machine and each user), Winlogon Shell/Userinit, AppInit_DLLs,
-- IFEO Debugger, Active Setup StubPath, Load/Run of a user's Windows key.
CREATE TABLE IF NOT EXISTS autoruns (
  id INTEGER PRIMARY KEY,
  hive_id INTEGER NOT NULL REFERENCES registry_hives(id),
  host_id INTEGER,
  location TEXT,                                 -- HKLM\SOFTWARE\... or HKU\<user>\...
  name TEXT,
  command TEXT,
  command_lc TEXT,
  command_file_lc TEXT,                          -- the program the command starts
  last_written TEXT                              -- of the key holding the value
);

-- Uninstall keys: HKLM (and Wow6432Node) and each user's (per-user installs).
CREATE TABLE IF NOT EXISTS installed_programs (
  id INTEGER PRIMARY KEY,
  hive_id INTEGER NOT NULL REFERENCES registry_hives(id),
  host_id INTEGER,
  location TEXT,                                 -- HKLM\SOFTWARE\...\Uninstall or HKU\<user>\...\Uninstall
  key_name TEXT,
  name TEXT,                                     -- DisplayName
  name_lc TEXT,
  version TEXT,                                  -- DisplayVersion
  publisher TEXT,
  install_location TEXT,
  install_date TEXT,                             -- as written (usually YYYYMMDD)
  uninstall_string TEXT,
  last_written TEXT
);

-- SOFTWARE ProfileList: SID to profile folder (profiles on other drives too).
CREATE TABLE IF NOT EXISTS user_profiles (
  id INTEGER PRIMARY KEY,
  hive_id INTEGER NOT NULL REFERENCES registry_hives(id),
  host_id INTEGER,
  sid TEXT,
  profile_path TEXT,
  last_written TEXT
);

-- Scheduled tasks: the XML files of System32\Tasks (source xml) and the
-- SOFTWARE TaskCache (source taskcache; a Tree entry without its SD value is
-- hidden from schtasks and the Task Scheduler UI).
CREATE TABLE IF NOT EXISTS scheduled_tasks (
  id INTEGER PRIMARY KEY,
  collection_id INTEGER NOT NULL REFERENCES collections(id),
  host_id INTEGER,
  hive_id INTEGER,
  source TEXT NOT NULL,                          -- xml | taskcache
  path TEXT,                                     -- the XML file's path, or the TaskCache\Tree path
  uri TEXT,
  task_id TEXT,                                  -- TaskCache {GUID}
  author TEXT,
  description TEXT,
  registration_date TEXT,                        -- as written (local time, no zone)
  command TEXT,                                  -- first Exec action
  arguments TEXT,
  command_lc TEXT,                               -- the program it starts, lower case, prefixes made plain
  actions TEXT,                                  -- JSON array of every action
  triggers TEXT,                                 -- JSON array
  user_id TEXT,
  run_level TEXT,
  hidden INTEGER,                                -- Settings/Hidden (xml); SD value missing (taskcache)
  enabled INTEGER,
  last_written TEXT,                             -- taskcache: the Tree key's last write
  error TEXT                                     -- the XML could not be parsed
);

-- Windows event logs a collection copied (*.evtx under files/), one row per
-- log, and their records (core/formats/evtx.h; triage/ingest_evtx.h).
CREATE TABLE IF NOT EXISTS event_logs (
  id INTEGER PRIMARY KEY,
  collection_id INTEGER NOT NULL REFERENCES collections(id),
  host_id INTEGER,
  archive_path TEXT NOT NULL,                    -- the copied member
  path TEXT,                                     -- the log's path on the host (from the files record)
  size INTEGER,
  records INTEGER,
  recovered INTEGER,                             -- of those, from chunk slack or damaged chunks
  with_errors INTEGER,                           -- of those, read only in part
  chunks INTEGER,
  chunks_bad INTEGER,                            -- failed their CRC32 or header checks (still read)
  error TEXT                                     -- why the log was not read, or its first problems
);

CREATE TABLE IF NOT EXISTS event_records (
  id INTEGER PRIMARY KEY,
  log_id INTEGER NOT NULL REFERENCES event_logs(id),
  collection_id INTEGER NOT NULL,
  host_id INTEGER,
  record_id INTEGER,                             -- EventRecordID
  time_created TEXT,                             -- System/TimeCreated, ISO 8601 UTC (7 digits)
  written TEXT,                                  -- the record header's time
  channel TEXT,
  provider TEXT,
  event_id INTEGER,
  level INTEGER,                                 -- 1 critical, 2 error, 3 warning, 4 information
  computer TEXT,
  user_sid TEXT,                                 -- System/Security/@UserID
  process_id INTEGER,                            -- System/Execution/@ProcessID
  recovered INTEGER NOT NULL,                    -- from chunk slack or a damaged chunk
  error TEXT,                                    -- what of the record did not read
  summary TEXT,                                  -- the first fields, "Name=value; ..." (for timelines)
  fields TEXT NOT NULL                           -- JSON object: EventData/UserData name -> value
                                                 -- (an array of values when a name repeats)
);

-- Sigma rules (analyze --sigma and the shipped ones) the engine could not
-- evaluate in the last scoring run, each with the reason (never skipped silently).
CREATE TABLE IF NOT EXISTS sigma_refusals (
  id INTEGER PRIMARY KEY,
  file TEXT,
  rule_id TEXT,
  title TEXT,
  kind TEXT,                                     -- invalid | unsupported | limit | logsource
  code TEXT,
  reason TEXT
);

-- User IOC lists (--ioc FILE) loaded by the last analyze.
CREATE TABLE IF NOT EXISTS user_iocs (
  id INTEGER PRIMARY KEY,
  hash TEXT NOT NULL,                            -- lower-case hex
  hash_type TEXT NOT NULL,                       -- md5 | sha1 | sha256
  score INTEGER NOT NULL,
  comment TEXT,
  source_file TEXT,
  line INTEGER
);

-- The rules of the last scoring run.
CREATE TABLE IF NOT EXISTS rules (
  id TEXT PRIMARY KEY,
  file TEXT,
  title TEXT,
  description TEXT,
  rationale TEXT,
  author TEXT,
  refs TEXT,                                     -- JSON array
  score INTEGER,
  entity TEXT,
  query TEXT
);

-- Every sub-score: a rule hit on one entity, with the record and evidence.
CREATE TABLE IF NOT EXISTS findings (
  id INTEGER PRIMARY KEY,
  host_id INTEGER NOT NULL,
  rule_id TEXT NOT NULL,
  rule_file TEXT,
  entity_type TEXT NOT NULL,
  entity_key TEXT NOT NULL,
  record_table TEXT,
  record_id INTEGER,
  score INTEGER NOT NULL,
  message TEXT,
  author TEXT,
  evidence TEXT                                  -- JSON object of the rule's other columns
);

-- THOR / Loki-RS accumulation of the findings per entity.
CREATE TABLE IF NOT EXISTS entity_scores (
  id INTEGER PRIMARY KEY,
  host_id INTEGER NOT NULL,
  entity_type TEXT NOT NULL,
  entity_key TEXT NOT NULL,
  score REAL NOT NULL,                           -- unrounded
  score_int INTEGER NOT NULL,                    -- rounded; levels use this
  level TEXT NOT NULL,                           -- alert | warning | notice | info
  reasons TEXT NOT NULL,                         -- JSON array, highest sub-score first
  UNIQUE (host_id, entity_type, entity_key)
);

CREATE TABLE IF NOT EXISTS host_scores (
  host_id INTEGER PRIMARY KEY,
  score INTEGER NOT NULL,                        -- highest entity score
  level TEXT NOT NULL,
  entities INTEGER NOT NULL,
  findings INTEGER NOT NULL
);

CREATE INDEX IF NOT EXISTS modules_name ON modules (name_lc);
CREATE INDEX IF NOT EXISTS modules_sha256 ON modules (sha256);
CREATE INDEX IF NOT EXISTS dir_entries_name ON dir_entries (name_lc);
CREATE INDEX IF NOT EXISTS prefetch_files_prefetch ON prefetch_files (prefetch_id);
CREATE INDEX IF NOT EXISTS prefetch_files_name ON prefetch_files (name_lc);
CREATE INDEX IF NOT EXISTS findings_host ON findings (host_id, entity_type, entity_key);
CREATE INDEX IF NOT EXISTS amcache_files_sha1 ON amcache_files (sha1);
CREATE INDEX IF NOT EXISTS amcache_files_name ON amcache_files (name_lc);
CREATE INDEX IF NOT EXISTS event_records_log ON event_records (log_id);
CREATE INDEX IF NOT EXISTS event_records_event ON event_records (event_id, channel);

-- ---- views the rules build on ------------------------------------------------

-- DLL names present in each host's System32 / SysWOW64 (dir_listing artifacts).
CREATE VIEW IF NOT EXISTS v_system_dll_names AS
  SELECT DISTINCT host_id, name_lc
  FROM dir_entries
  WHERE name_lc LIKE '%.dll'
    AND (dir_lc LIKE '%\windows\system32' OR dir_lc LIKE '%\windows\syswow64');

-- Regular files outside the Windows folder (application and user folders).
CREATE VIEW IF NOT EXISTS v_app_files AS
  SELECT * FROM files
  WHERE type = 'file'
    AND dir_lc NOT LIKE '_:\windows' AND dir_lc NOT LIKE '_:\windows\%';

-- Every hash of every hashed thing, one row per (record, hash type), for IOC
-- rules: files, mapped modules and process images (sha256, sha1, md5),
-- Amcache entries (sha1). Hashes are lower-case hex as the collector writes them. Filter
-- with `hash IN (...)`: SQLite pushes that into each arm, so the sha256 arm
-- uses the file_contents_sha256 index.
CREATE VIEW IF NOT EXISTS v_hashes AS
  SELECT host_id, path, 'files' AS record_table, id AS record_id, 'sha256' AS hash_type, sha256 AS hash
  FROM files WHERE sha256 <> ''
  UNION ALL SELECT host_id, path, 'files', id, 'sha1', sha1 FROM files WHERE sha1 <> ''
  UNION ALL SELECT host_id, path, 'files', id, 'md5', md5 FROM files WHERE md5 <> ''
  UNION ALL SELECT host_id, path, 'modules', id, 'sha256', sha256 FROM modules WHERE sha256 <> ''
  UNION ALL SELECT host_id, path, 'modules', id, 'sha1', sha1 FROM modules WHERE coalesce(sha1, '') <> ''
  UNION ALL SELECT host_id, path, 'modules', id, 'md5', md5 FROM modules WHERE coalesce(md5, '') <> ''
  UNION ALL SELECT host_id, exe, 'processes', id, 'sha256', exe_sha256 FROM processes WHERE exe_sha256 <> ''
  UNION ALL SELECT host_id, exe, 'processes', id, 'sha1', exe_sha1 FROM processes WHERE coalesce(exe_sha1, '') <> ''
  UNION ALL SELECT host_id, exe, 'processes', id, 'md5', exe_md5 FROM processes WHERE coalesce(exe_md5, '') <> ''
  UNION ALL SELECT host_id, path, 'amcache_files', id, 'sha1', sha1 FROM amcache_files WHERE sha1 <> '';

-- Findings with host names and rule titles, for reports and ad-hoc queries.
CREATE VIEW IF NOT EXISTS v_findings AS
  SELECT f.*, h.hostname, r.title AS rule_title, r.refs AS rule_refs
  FROM findings f JOIN hosts h ON h.id = f.host_id LEFT JOIN rules r ON r.id = f.rule_id;
