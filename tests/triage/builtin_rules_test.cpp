// SPDX-License-Identifier: Apache-2.0
// Each shipped rule fires on the situation it describes and stays quiet on
// its benign twin. Rows are inserted directly into a fresh case (the golden
// test covers real collector output; live Linux and prefetch side-load data
// cannot be produced by an offline collection).
#include <gtest/gtest.h>

#include <map>
#include <set>

#include "tests/support/test_env.h"
#include "triage/case_db.h"
#include "triage/rules.h"
#include "triage/scoring.h"

namespace trawl::triage {
namespace {

class TriageBuiltinRules : public ::testing::Test {
 protected:
  void SetUp() override {
    auto db = Db::Open(dir_ / "case.db", Db::Mode::kReadWriteCreate);
    ASSERT_TRUE(db) << db.error().ToString();
    db_ = std::move(*db);
    Exec("INSERT INTO hosts (id, hostname) VALUES (1, 'WIN'), (2, 'LNX')");
    Exec(
        "INSERT INTO collections (id, host_id, archive_name, archive_sha256, ingested_at) VALUES "
        "(1, 1, 'a', 'x1', 'now'), (2, 2, 'b', 'x2', 'now')");
    Exec(
        "INSERT INTO dir_entries (collection_id, host_id, dir, name, type, name_lc, dir_lc) VALUES "
        "(1, 1, 'C:\\Windows\\System32', 'winscard.dll', 'file', 'winscard.dll', 'c:\\windows\\system32'),"
        "(1, 1, 'C:\\Windows\\SysWOW64', 'version.dll', 'file', 'version.dll', 'c:\\windows\\syswow64')");
  }
  void Exec(const std::string& sql) { ASSERT_TRUE(db_->Exec(sql)) << sql; }
  void File(const std::string& path, const std::string& extra_cols = "", const std::string& extra_vals = "") {
    auto [dir, name] = SplitTargetPath(path);
    std::string ext = name.substr(name.rfind('.') == std::string::npos ? name.size() : name.rfind('.') + 1);
    Exec("INSERT INTO files (collection_id, host_id, path, type, name, dir, name_lc, dir_lc, ext_lc" + extra_cols +
         ") VALUES (1, 1, '" + path + "', 'file', '" + name + "', '" + dir + "', lower('" + name + "'), lower('" + dir +
         "'), lower('" + ext + "')" + extra_vals + ")");
  }
  // rule id -> entity keys it fired on
  std::map<std::string, std::set<std::string>> Run(const std::vector<IocEntry>& iocs = {}) {
    auto rules = LoadRules({});
    EXPECT_TRUE(rules);
    auto s = ScoreCase(*db_, *rules, iocs);
    EXPECT_TRUE(s) << s.error().ToString();
    std::map<std::string, std::set<std::string>> out;
    auto q = db_->Prepare("SELECT rule_id, entity_key FROM findings");
    while (q && *q->Step()) out[q->Text(0)].insert(q->Text(1));
    return out;
  }
  test::TempDir dir_;
  std::unique_ptr<Db> db_;
};

TEST_F(TriageBuiltinRules, PrefetchSideLoadAndKnownHosts) {
  Exec(
      "INSERT INTO prefetch (id, collection_id, host_id, archive_path, path, executable, executable_lc, exe_dir_lc, "
      "last_run) VALUES "
      "(1, 1, 1, 'a1', 'C:\\Windows\\Prefetch\\TPMVSCMGRSVR.EXE-1.pf', 'TPMVSCMGRSVR.EXE', 'tpmvscmgrsvr.exe', "
      "'\\programdata\\tpm', '2023-03-01'),"
      "(2, 1, 1, 'a2', 'C:\\Windows\\Prefetch\\TPMVSCMGRSVR.EXE-2.pf', 'TPMVSCMGRSVR.EXE', 'tpmvscmgrsvr.exe', "
      "'\\windows\\system32', '2023-03-01'),"
      "(3, 1, 1, 'a3', 'C:\\Windows\\Prefetch\\NOTEPAD.EXE-3.pf', 'NOTEPAD.EXE', 'notepad.exe', '\\windows\\system32', "
      "'2023-03-01')");
  Exec(
      "INSERT INTO prefetch_files (prefetch_id, host_id, path, rel_path_lc, dir_lc, name_lc) VALUES "
      "(1, 1, '\\VOLUME{1}\\PROGRAMDATA\\TPM\\WINSCARD.DLL', '\\programdata\\tpm\\winscard.dll', '\\programdata\\tpm', "
      "'winscard.dll'),"
      "(2, 1, '\\VOLUME{1}\\WINDOWS\\SYSTEM32\\WINSCARD.DLL', '\\windows\\system32\\winscard.dll', "
      "'\\windows\\system32', 'winscard.dll'),"
      "(3, 1, '\\VOLUME{1}\\WINDOWS\\SYSTEM32\\WINSCARD.DLL', '\\windows\\system32\\winscard.dll', "
      "'\\windows\\system32', 'winscard.dll')");
  auto f = Run();
  EXPECT_EQ(f["sideload.prefetch_system_dll_elsewhere"],
            std::set<std::string>{"C:\\Windows\\Prefetch\\TPMVSCMGRSVR.EXE-1.pf"});
  EXPECT_EQ(f["supply_chain.prefetch_known_host_own_folder"],
            std::set<std::string>{"C:\\Windows\\Prefetch\\TPMVSCMGRSVR.EXE-1.pf"});
}

TEST_F(TriageBuiltinRules, WindowsFileRules) {
  File("C:\\Users\\bob\\AppData\\Local\\Programs\\3CXDesktopApp\\app-18.12.416\\ffmpeg.dll", ", sha256",
       ", 'c485674ee63ec8d4e8fde9800788175a8b02d3f9416d0e763360fff7f8eb4e02'");
  File("C:\\Users\\bob\\AppData\\Local\\Programs\\3CXDesktopApp\\app-18.12.400\\ffmpeg.dll", ", sha256", ", 'ab'");
  File("C:\\Vendor\\signed.exe", ", is_pe, pe_signed, pe_digest_matches", ", 1, 1, 0");
  File("C:\\Vendor\\ok.exe", ", is_pe, pe_signed, pe_digest_matches", ", 1, 1, 1");
  File("C:\\Vendor\\padded.dll", ", is_pe, pe_is_dll, pe_signed, pe_padding_anomaly", ", 1, 1, 1, 1");
  File("C:\\Vendor\\plain.dll", ", is_pe, pe_is_dll, pe_signed", ", 1, 1, 0");
  File("C:\\Vendor\\payload.dat", ", is_pe, entropy, size", ", 0, 7.9, 65536");
  File("C:\\Vendor\\image.png", ", is_pe, entropy, size", ", 0, 7.9, 65536");
  File("C:\\Vendor\\version.dll", ", is_pe, pe_is_dll, pe_signed", ", 1, 1, 1");
  File("C:\\Windows\\System32\\MsMpEng.exe");
  File("C:\\tt\\x_trader\\bin\\x_trader.exe", ", product", ", 'tt-xtrader'");
  auto f = Run({{"ab", "md5", 0, "", "", 0}});
  EXPECT_EQ(f["ioc.3cx_hashes"].size(), 1u);
  EXPECT_EQ(
      f["supply_chain.3cx_affected_version"],
      std::set<std::string>{"C:\\Users\\bob\\AppData\\Local\\Programs\\3CXDesktopApp\\app-18.12.416\\ffmpeg.dll"});
  EXPECT_EQ(f["pe.signed_digest_mismatch"], std::set<std::string>{"C:\\Vendor\\signed.exe"});
  EXPECT_EQ(f["pe.authenticode_padding_anomaly"], std::set<std::string>{"C:\\Vendor\\padded.dll"});
  EXPECT_EQ(f["pe.unsigned_dll_in_signed_app_dir"], std::set<std::string>{"C:\\Vendor\\plain.dll"});
  EXPECT_EQ(f["payload.high_entropy_blob_beside_dlls"], std::set<std::string>{"C:\\Vendor\\payload.dat"});
  EXPECT_EQ(f["sideload.system_dll_name_in_app_dir"], std::set<std::string>{"C:\\Vendor\\version.dll"});
  EXPECT_EQ(f["ioc.3cx_xtrader_filenames"], std::set<std::string>{"C:\\Windows\\System32\\MsMpEng.exe"});
  EXPECT_EQ(f["supply_chain.xtrader_present"], std::set<std::string>{"WIN"});
  EXPECT_TRUE(f["ioc.user_hash_list"].empty());  // user IOC score 0 carries no weight
}

TEST_F(TriageBuiltinRules, SideLoadTemplateInWritableFolder) {
  // The template under new names in ProgramData: fires on the DLL.
  File("C:\\ProgramData\\HealthSvc\\hlthmon.exe", ", is_pe", ", 1");
  File("C:\\ProgramData\\HealthSvc\\winscard.dll", ", is_pe, pe_is_dll", ", 1, 1");
  File("C:\\ProgramData\\HealthSvc\\cache.bin", ", is_pe, entropy, size", ", 0, 7.95, 65536");
  // Twins: no blob; a compressed archive for a blob; not a writable folder.
  File("C:\\ProgramData\\Vendor\\tool.exe", ", is_pe", ", 1");
  File("C:\\ProgramData\\Vendor\\version.dll", ", is_pe, pe_is_dll", ", 1, 1");
  File("C:\\ProgramData\\Vendor\\update.zip", ", is_pe, entropy, size", ", 0, 7.99, 65536");
  File("C:\\Program Files\\App\\app.exe", ", is_pe", ", 1");
  File("C:\\Program Files\\App\\winscard.dll", ", is_pe, pe_is_dll", ", 1, 1");
  File("C:\\Program Files\\App\\data.bin", ", is_pe, entropy, size", ", 0, 7.9, 65536");
  auto f = Run();
  EXPECT_EQ(f["sideload.template_in_writable_dir"], std::set<std::string>{"C:\\ProgramData\\HealthSvc\\winscard.dll"});
}

TEST_F(TriageBuiltinRules, RegistryEvidenceRules) {
  Exec("INSERT INTO registry_hives (id, collection_id, host_id, archive_path) VALUES (1, 1, 1, 'h')");
  // Execution evidence of a system name in a writable folder, and twins.
  Exec(
      "INSERT INTO amcache_files (hive_id, host_id, path, path_lc, dir_lc, name_lc, sha1) VALUES "
      "(1, 1, 'c:\\programdata\\tpm\\tpmvscmgrsvr.exe', 'c:\\programdata\\tpm\\tpmvscmgrsvr.exe', "
      "'c:\\programdata\\tpm', 'tpmvscmgrsvr.exe', 'aa'),"
      "(1, 1, 'c:\\windows\\system32\\svchost.exe', 'c:\\windows\\system32\\svchost.exe', 'c:\\windows\\system32', "
      "'svchost.exe', 'bb'),"
      "(1, 1, 'c:\\programdata\\vendor\\tool.exe', 'c:\\programdata\\vendor\\tool.exe', 'c:\\programdata\\vendor', "
      "'tool.exe', 'cc'),"
      "(1, 1, 'c:\\users\\a\\appdata\\local\\microsoft\\onedrive\\update\\onedrivesetup.exe', "
      "'c:\\users\\a\\appdata\\local\\microsoft\\onedrive\\update\\onedrivesetup.exe', "
      "'c:\\users\\a\\appdata\\local\\microsoft\\onedrive\\update', 'onedrivesetup.exe', 'dd'),"
      "(1, 1, 'c:\\windows\\system32\\onedrivesetup.exe', 'c:\\windows\\system32\\onedrivesetup.exe', "
      "'c:\\windows\\system32', 'onedrivesetup.exe', 'ee')");
  Exec(
      "INSERT INTO shimcache (hive_id, host_id, path, path_lc, dir_lc, name_lc) VALUES "
      "(1, 1, 'C:\\Users\\a\\AppData\\Local\\Temp\\svchost.exe', 'c:\\users\\a\\appdata\\local\\temp\\svchost.exe', "
      "'c:\\users\\a\\appdata\\local\\temp', 'svchost.exe'),"
      "(1, 1, 'C:\\Windows\\System32\\wlbsctrl.dll', 'c:\\windows\\system32\\wlbsctrl.dll', 'c:\\windows\\system32', "
      "'wlbsctrl.dll')");
  // Services: a DLL in ProgramData; ProgramData only in an argument; Defender's own folder.
  Exec(
      "INSERT INTO services (hive_id, host_id, name, image_path, image_file_lc, service_dll, service_dll_lc) VALUES "
      "(1, 1, 'Evil', 'svchost.exe -k netsvcs', 'svchost.exe', 'C:\\ProgramData\\x\\evil.dll', "
      "'c:\\programdata\\x\\evil.dll'),"
      "(1, 1, 'NVDisplay', '\"C:\\Program Files\\NVIDIA\\nv.exe\" -f \"C:\\ProgramData\\NVIDIA\\x.log\"', "
      "'c:\\program files\\nvidia\\nv.exe', NULL, NULL),"
      "(1, 1, 'WinDefend', '\"C:\\ProgramData\\Microsoft\\Windows Defender\\platform\\4.18\\MsMpEng.exe\"', "
      "'c:\\programdata\\microsoft\\windows defender\\platform\\4.18\\msmpeng.exe', NULL, NULL)");
  Exec(
      "INSERT INTO autoruns (hive_id, host_id, location, name, command, command_lc, command_file_lc) VALUES "
      "(1, 1, 'HKLM\\SOFTWARE\\Microsoft\\Windows NT\\CurrentVersion\\Image File Execution Options\\sethc.exe', "
      "'Debugger', 'cmd.exe', 'cmd.exe', 'cmd.exe'),"
      "(1, 1, 'HKU\\a\\Software\\Microsoft\\Windows\\CurrentVersion\\Run', 'upd', "
      "'C:\\Users\\Public\\upd.exe', 'c:\\users\\public\\upd.exe', 'c:\\users\\public\\upd.exe'),"
      "(1, 1, 'HKLM\\SOFTWARE\\Microsoft\\Windows\\CurrentVersion\\Run', 'ok', "
      "'\"C:\\Program Files\\App\\app.exe\" /bg', '\"c:\\program files\\app\\app.exe\" /bg', "
      "'c:\\program files\\app\\app.exe')");
  Exec(
      "INSERT INTO scheduled_tasks (collection_id, host_id, source, path, uri, command, arguments, command_lc, hidden) "
      "VALUES (1, 1, 'taskcache', '\\Microsoft\\Windows\\Sneaky', NULL, NULL, NULL, NULL, 1),"
      "(1, 1, 'xml', 'C:\\Windows\\System32\\Tasks\\GameOver', '\\GameOver', 'C:\\TMP\\mim.exe', "
      "'sekurlsa::LogonPasswords', 'c:\\tmp\\mim.exe', 0),"
      "(1, 1, 'xml', 'C:\\Windows\\System32\\Tasks\\Defrag', '\\Defrag', '%windir%\\system32\\defrag.exe', '-c', "
      "'c:\\windows\\system32\\defrag.exe', 0)");
  Exec(
      "INSERT INTO amcache_apps (hive_id, host_id, name, name_lc, version, root_dir) VALUES "
      "(1, 1, '3CX Desktop App', '3cx desktop app', '18.12.416', "
      "'C:\\Users\\a\\AppData\\Local\\Programs\\3CXDesktopApp'),"
      "(1, 1, '3CX Desktop App', '3cx desktop app', '18.12.425', "
      "'C:\\Users\\b\\AppData\\Local\\Programs\\3CXDesktopApp')");
  Exec(
      "INSERT INTO installed_programs (hive_id, host_id, location, key_name, name, name_lc, version) VALUES "
      "(1, 1, 'HKU\\c\\Software\\Microsoft\\Windows\\CurrentVersion\\Uninstall', '3CXDesktopApp', "
      "'3CX Desktop App', '3cx desktop app', '18.12.407'),"
      "(1, 1, 'HKU\\d\\Software\\Microsoft\\Windows\\CurrentVersion\\Uninstall', '3CXDesktopApp', "
      "'3CX Desktop App', '3cx desktop app', '18.12.422')");
  // The Evil service's DLL was collected, unsigned; a signed one beside it is fine.
  File("C:\\ProgramData\\x\\evil.dll", ", is_pe, pe_is_dll, pe_signed", ", 1, 1, 0");
  File("C:\\Program Files\\App\\app.exe", ", is_pe, pe_signed, pe_digest_matches", ", 1, 1, 1");
  // The Defrag task's program: catalog-signed, so no embedded signature --
  // not judged; a System32 binary whose embedded signature does not match is.
  File("C:\\Windows\\System32\\defrag.exe", ", is_pe, pe_signed", ", 1, 0");
  File("C:\\Windows\\System32\\svchost.exe", ", is_pe, pe_signed, pe_digest_matches", ", 1, 1, 0");
  auto f = Run();
  EXPECT_EQ(f["persistence.unsigned_autostart_binary"],
            (std::set<std::string>{"C:\\ProgramData\\x\\evil.dll", "C:\\Windows\\System32\\svchost.exe"}));
  EXPECT_EQ(f["execution.system_name_in_writable_dir"],
            (std::set<std::string>{"c:\\programdata\\tpm\\tpmvscmgrsvr.exe",
                                   "C:\\Users\\a\\AppData\\Local\\Temp\\svchost.exe"}));
  EXPECT_EQ(f["persistence.phantom_dll"], std::set<std::string>{"C:\\Windows\\System32\\wlbsctrl.dll"});
  EXPECT_EQ(f["persistence.service_in_writable_dir"], std::set<std::string>{"Evil"});
  EXPECT_EQ(
      f["persistence.autorun_suspicious"],
      (std::set<std::string>{
          "HKLM\\SOFTWARE\\Microsoft\\Windows NT\\CurrentVersion\\Image File Execution Options\\sethc.exe\\Debugger",
          "HKU\\a\\Software\\Microsoft\\Windows\\CurrentVersion\\Run\\upd"}));
  EXPECT_EQ(f["persistence.suspicious_scheduled_task"],
            (std::set<std::string>{"\\Microsoft\\Windows\\Sneaky", "\\GameOver"}));
  EXPECT_EQ(f["supply_chain.3cx_affected_version_registry"],
            (std::set<std::string>{"C:\\Users\\a\\AppData\\Local\\Programs\\3CXDesktopApp",
                                   "HKU\\c\\Software\\Microsoft\\Windows\\CurrentVersion\\Uninstall\\3CXDesktopApp"}));
  // An Amcache SHA-1 is a hash like any other for the IOC rules.
  auto g = Run({{"aa", "sha1", 90, "", "", 0}});
  EXPECT_EQ(g["ioc.user_hash_list"], std::set<std::string>{"c:\\programdata\\tpm\\tpmvscmgrsvr.exe"});
}

TEST_F(TriageBuiltinRules, UserIocListMatches) {
  File("C:\\x\\a.bin", ", sha256, md5", ", 'aa', '404b09def6054a281b41d309d809a428'");
  IocEntry e{"404b09def6054a281b41d309d809a428", "md5", 70, "from case 12", "mine.txt", 3};
  auto f = Run({e});
  EXPECT_EQ(f["ioc.user_hash_list"], std::set<std::string>{"C:\\x\\a.bin"});
  EXPECT_EQ(f["ioc.veiledsignal_hashes"], std::set<std::string>{"C:\\x\\a.bin"});
  auto s = db_->Prepare("SELECT score, message FROM findings WHERE rule_id = 'ioc.user_hash_list'");
  ASSERT_TRUE(s);
  ASSERT_TRUE(*s->Step());
  EXPECT_EQ(s->Int(0), 70);
  EXPECT_NE(s->Text(1).find("mine.txt:3"), std::string::npos) << s->Text(1);
}

TEST_F(TriageBuiltinRules, LinuxLiveRules) {
  Exec(
      "INSERT INTO processes (collection_id, host_id, pid, exe, exe_deleted, exe_name_lc) VALUES "
      "(2, 2, 100, '/tmp/.x/implant', 1, 'implant'), (2, 2, 101, '/usr/bin/bash', 0, 'bash')");
  Exec(
      "INSERT INTO modules (collection_id, host_id, pid, path, kind, name_lc, dir_lc, ext_lc) VALUES "
      "(2, 2, 100, '/memfd:payload (deleted)', 'memfd', '', '', ''),"
      "(2, 2, 100, '', 'anon_exec', '', '', ''),"
      "(2, 2, 101, '/dev/shm/libx.so', 'file', 'libx.so', '/dev/shm', 'so'),"
      "(2, 2, 101, '/usr/lib/x86_64-linux-gnu/libc.so.6', 'file', 'libc.so.6', '/usr/lib/x86_64-linux-gnu', '6')");
  auto f = Run();
  EXPECT_EQ(f["linux.process_deleted_exe"], std::set<std::string>{"100 /tmp/.x/implant"});
  EXPECT_EQ(f["linux.memfd_or_anon_exec"].size(), 2u);
  EXPECT_EQ(f["linux.module_from_writable_dir"], std::set<std::string>{"/dev/shm/libx.so"});
  auto s = db_->Prepare("SELECT level FROM entity_scores WHERE entity_key LIKE 'pid 100 memfd%'");
  ASSERT_TRUE(s);
  ASSERT_TRUE(*s->Step());
  EXPECT_EQ(s->Text(0), "alert");
  // Anonymous executable memory: a JIT's is a notice; one that starts with an
  // ELF header (a loaded image no file backs) is alert-level.
  auto anon = db_->Prepare("SELECT score FROM findings WHERE entity_key = 'pid 100 anon_exec'");
  ASSERT_TRUE(anon);
  ASSERT_TRUE(*anon->Step());
  EXPECT_EQ(anon->Int(0), 40);
  anon->Reset();  // no statement may hold the case while it is scored again
  s->Reset();
  Exec(
      "INSERT INTO modules (collection_id, host_id, pid, path, kind, name_lc, dir_lc, ext_lc, region_header, "
      "region_sha256) VALUES (2, 2, 101, '', 'anon_exec', '', '', '', 'elf', 'ab12')");
  Run();
  auto elf = db_->Prepare("SELECT score, message FROM findings WHERE entity_key = 'pid 101 anon_exec'");
  ASSERT_TRUE(elf);
  ASSERT_TRUE(*elf->Step());
  EXPECT_EQ(elf->Int(0), 80);
  EXPECT_NE(elf->Text(1).find("ELF header (SHA-256 of the region ab12)"), std::string::npos) << elf->Text(1);
}

TEST_F(TriageBuiltinRules, WindowsExecutableMemoryNoFileBacks) {
  // Host 1 is a Windows collection: a signed process with executable private
  // memory that starts with a PE header (the template's decrypted payload),
  // an unsigned one whose only such memory is JIT-like, and an unlisted image.
  Exec("UPDATE collections SET target_os = 'windows' WHERE id = 1");
  Exec(
      "INSERT INTO processes (collection_id, host_id, pid, exe, exe_signed, exe_signer) VALUES "
      "(1, 1, 700, 'C:\\Program Files\\Google\\Chrome\\Application\\chrome.exe', 1, 'Google LLC'),"
      "(1, 1, 701, 'C:\\Tools\\jit.exe', 0, '')");
  Exec(
      "INSERT INTO modules (collection_id, host_id, pid, path, kind, perms, name_lc, dir_lc, ext_lc, region_header, "
      "region_sha256) VALUES "
      "(1, 1, 700, '', 'anon_exec', 'r-xp', '', '', '', 'pe', 'feed01'),"
      "(1, 1, 700, '', 'anon_exec', 'rwxp', '', '', '', '', 'beef02'),"
      "(1, 1, 701, '', 'anon_exec', 'rwxp', '', '', '', '', 'cafe03'),"
      "(1, 1, 701, '\\Device\\HarddiskVolume3\\x.dll', 'unlisted_image', 'r--p', '', '', '', '', '')");
  Run();
  auto q = db_->Prepare(
      "SELECT entity_key, score, message FROM findings WHERE rule_id = 'payload.windows_exec_memory_no_file' "
      "ORDER BY entity_key");
  ASSERT_TRUE(q);
  std::map<std::string, std::pair<std::int64_t, std::string>> got;
  while (*q->Step()) got[q->Text(0)] = {q->Int(1), q->Text(2)};
  ASSERT_EQ(got.size(), 3u);
  EXPECT_EQ(got["pid 700 anon_exec"].first, 90);
  EXPECT_NE(got["pid 700 anon_exec"].second.find("signed by Google LLC) has 2 executable region(s) no file backs, "
                                                 "one starting with a PE header (SHA-256 of the region feed01)"),
            std::string::npos)
      << got["pid 700 anon_exec"].second;
  EXPECT_EQ(got["pid 701 anon_exec"].first, 20);
  EXPECT_EQ(got["pid 701 unlisted_image"].first, 60);
  q->Reset();
  // The Linux rule leaves Windows collections to this one.
  auto linux_rule = db_->Prepare("SELECT count(*) FROM findings WHERE rule_id = 'linux.memfd_or_anon_exec'");
  ASSERT_TRUE(linux_rule);
  ASSERT_TRUE(*linux_rule->Step());
  EXPECT_EQ(linux_rule->Int(0), 0);
}

TEST_F(TriageBuiltinRules, OutboundConnectionFromDeletedImageOrTemporaryFolder) {
  Exec(
      "INSERT INTO processes (collection_id, host_id, pid, exe, exe_deleted) VALUES "
      "(2, 2, 10, '/tmp/.x/agent', 0), (2, 2, 11, '/usr/sbin/sshd', 0), (2, 2, 12, '/usr/bin/upd (deleted)', 1),"
      "(1, 1, 20, 'C:\\Users\\bob\\AppData\\Local\\Temp\\ffmpeg-helper.exe', 0),"
      "(1, 1, 21, 'C:\\Program Files\\Mozilla Firefox\\firefox.exe', 0),"
      "(1, 1, 22, 'C:\\ProgramData\\svc.exe', 0), (1, 1, 23, 'C:\\ProgramData\\Vendor\\agent.exe', 0)");
  Exec(
      "INSERT INTO connections (collection_id, host_id, protocol, local_address, local_port, remote_address, "
      "remote_port, state, pid, exe) VALUES "
      "(2, 2, 'tcp', '10.0.0.5', 40000, '198.51.100.7', 443, 'ESTABLISHED', 10, '/tmp/.x/agent'),"
      "(2, 2, 'tcp', '10.0.0.5', 22, '203.0.113.9', 51000, 'ESTABLISHED', 11, '/usr/sbin/sshd'),"
      "(2, 2, 'tcp', '10.0.0.5', 40001, '198.51.100.8', 8443, 'SYN_SENT', 12, '/usr/bin/upd (deleted)'),"
      "(2, 2, 'tcp', '127.0.0.1', 40002, '127.0.0.1', 631, 'ESTABLISHED', 10, '/tmp/.x/agent'),"
      "(2, 2, 'tcp', '0.0.0.0', 4444, '0.0.0.0', 0, 'LISTEN', 10, '/tmp/.x/agent'),"
      "(1, 1, 'tcp', '10.0.0.6', 50000, '192.0.2.10', 443, 'ESTABLISHED', 20, "
      "'C:\\Users\\bob\\AppData\\Local\\Temp\\ffmpeg-helper.exe'),"
      "(1, 1, 'tcp', '10.0.0.6', 50001, '192.0.2.11', 443, 'ESTABLISHED', 21, "
      "'C:\\Program Files\\Mozilla Firefox\\firefox.exe'),"
      "(1, 1, 'tcp', '10.0.0.6', 50002, '192.0.2.12', 443, 'ESTABLISHED', 22, 'C:\\ProgramData\\svc.exe'),"
      "(1, 1, 'tcp', '10.0.0.6', 50003, '192.0.2.13', 443, 'ESTABLISHED', 23, 'C:\\ProgramData\\Vendor\\agent.exe')");
  auto f = Run();
  EXPECT_EQ(f["network.outbound_from_writable_or_deleted"],
            (std::set<std::string>{"10 /tmp/.x/agent", "12 /usr/bin/upd (deleted)",
                                   "20 C:\\Users\\bob\\AppData\\Local\\Temp\\ffmpeg-helper.exe",
                                   "22 C:\\ProgramData\\svc.exe"}));
  auto q = db_->Prepare(
      "SELECT max(score) FROM findings WHERE rule_id = 'network.outbound_from_writable_or_deleted' AND "
      "entity_key LIKE '12 %'");
  ASSERT_TRUE(q && *q->Step());
  EXPECT_EQ(q->Int(0), 75);  // a deleted image scores higher
}

TEST_F(TriageBuiltinRules, NtfsTimestompHiddenStreamAndDeletedExecutables) {
  auto mft = [&](int entry, const std::string& path, bool in_use, const std::string& si_created,
                 const std::string& si_modified, const std::string& fn_created, const std::string& ads_pe = "") {
    const std::string name = path.substr(path.rfind('\\') + 1);
    Exec(
        "INSERT INTO mft (collection_id, host_id, entry, path, name, in_use, directory, si_created, si_modified, "
        "fn_created, ads_pe) VALUES (1, 1, " +
        std::to_string(entry) + ", '" + path + "', '" + name + "', " + (in_use ? "1" : "0") + ", 0, '" + si_created +
        "', '" + si_modified + "', '" + fn_created + "', " + (ads_pe.empty() ? "NULL" : "'" + ads_pe + "'") + ")");
  };
  // Backdated: $SI created years before the name existed; its benign twin has equal times.
  mft(40, "C:\\ProgramData\\TPM\\winscard.dll", true, "2019-03-01T10:00:00.000000000Z",
      "2019-03-01T10:00:00.000000000Z", "2023-04-02T08:12:33.123456700Z");
  mft(41, "C:\\Users\\bob\\notes.txt", true, "2023-04-02T08:12:33.123456700Z", "2023-04-02T08:12:33.123456700Z",
      "2023-04-02T08:12:33.123456700Z");
  // Whole-second $SI on an executable in a writable folder, not in System32.
  mft(42, "C:\\Users\\bob\\AppData\\Local\\upd.exe", true, "2023-04-02T08:12:33.000000000Z",
      "2023-04-02T08:12:34.000000000Z", "2023-04-02T08:12:32.523456700Z");
  mft(43, "C:\\Windows\\System32\\kernel32.dll", true, "2023-04-02T08:12:33.000000000Z",
      "2023-04-02T08:12:34.000000000Z", "2023-04-02T08:12:32.523456700Z");
  // A PE in an alternate data stream; a Zone.Identifier is not flagged (no ads_pe).
  mft(44, "C:\\Users\\bob\\readme.txt", true, "2023-04-02T08:12:33.5Z", "2023-04-02T08:12:33.5Z",
      "2023-04-02T08:12:33.5Z", "payload.exe");
  // Deleted executables: in ProgramData (flagged), in System32 (not).
  mft(45, "C:\\ProgramData\\TPM\\TpmVscMgrSvr.exe", false, "2023-04-02T08:12:33.5Z", "2023-04-02T08:12:33.5Z",
      "2023-04-02T08:12:33.5Z");
  mft(46, "C:\\Windows\\System32\\old.dll", false, "2023-04-02T08:12:33.5Z", "2023-04-02T08:12:33.5Z",
      "2023-04-02T08:12:33.5Z");
  auto f = Run();
  EXPECT_EQ(f["ntfs.timestomp_si_before_fn"], (std::set<std::string>{"C:\\ProgramData\\TPM\\winscard.dll"}));
  EXPECT_EQ(f["ntfs.whole_second_times_on_executable"],
            (std::set<std::string>{"C:\\Users\\bob\\AppData\\Local\\upd.exe", "C:\\ProgramData\\TPM\\winscard.dll"}));
  EXPECT_EQ(f["ntfs.executable_in_ads"], (std::set<std::string>{"C:\\Users\\bob\\readme.txt"}));
  EXPECT_EQ(f["ntfs.deleted_executable_in_app_or_writable"],
            (std::set<std::string>{"C:\\ProgramData\\TPM\\TpmVscMgrSvr.exe"}));
}

}  // namespace
}  // namespace trawl::triage
