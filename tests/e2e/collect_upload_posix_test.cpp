// SPDX-License-Identifier: Apache-2.0
// Uploads against real servers on loopback, started by the test itself
// (tests/upload/loopback_servers.sh): nginx with WebDAV PUT over TLS signed by
// a test CA, a second nginx that fails the first two connections, and
// OpenSSH's sshd serving SFTP with a pinned host key. After each collection
// the bytes on the server must equal the local part, the sidecar and the
// `trawl:result` line must say what happened, and a wrong host key or CA must
// be refused with a clear error and exit code 1, the archive kept on disk.
#include <gtest/gtest.h>

#include <fstream>
#include <map>

#include <nlohmann/json.hpp>

#include "core/crypto/age.h"
#include "tests/support/loopback_servers.h"
#include "tests/support/test_env.h"

namespace trawl {
namespace {

using nlohmann::json;

class CollectUploadTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { servers_ = new test::LoopbackServers(); }
  static void TearDownTestSuite() {
    delete servers_;
    servers_ = nullptr;
  }

  void SetUp() override {
    ASSERT_TRUE(servers_->ok()) << servers_->error();
    id_ = core::age::GenerateX25519Identity().value();
    // Evidence: a copied file large enough to split into several parts.
    std::string blob;
    for (int i = 0; i < 40000; ++i) blob += std::to_string(i * 7919 % 100003) + (i % 13 == 0 ? "\n" : ",");
    test::WriteFile(dir_ / "evidence/loader.bin", blob);
    test::WriteFile(dir_ / "artifacts/linux/test/upload_evidence.yaml",
                    "name: linux.test.upload_evidence\n"
                    "description: the test's evidence folder, copied\n"
                    "rationale: upload test\n"
                    "references: [{title: 'upload test', source: 'tests/e2e/collect_upload_posix_test.cpp'}]\n"
                    "kind: files\n"
                    "platforms: [linux]\n"
                    "parameters:\n"
                    "  paths: ['" +
                        (dir_ / "evidence").string() +
                        "/**']\n"
                        "  copy: true\n");
    test::WriteFile(dir_ / "upload-test.yaml",
                    "name: upload-test\ndescription: upload test\nartifacts: [linux.test.upload_evidence]\n");
  }

  test::CommandResult Collect(const std::vector<std::string>& extra) {
    std::vector<std::string> argv = {(test::BinDir() / "trawl-collect").string(),
                                     "--profile",
                                     (dir_ / "upload-test.yaml").string(),
                                     "--recipient",
                                     id_.ToRecipient().Encode(),
                                     "--output",
                                     (dir_ / "out").string(),
                                     "--quiet"};
    argv.insert(argv.end(), extra.begin(), extra.end());
    return test::RunCommand(argv);
  }

  // The last line of stdout, `trawl:result {...}`, parsed.
  static json ResultLine(const test::CommandResult& r) {
    const auto at = r.out.rfind("trawl:result ");
    if (at == std::string::npos) return {};
    const auto end = r.out.find('\n', at);
    EXPECT_EQ(end, r.out.size() - 1) << "trawl:result is not the last line:\n" << r.out;
    return json::parse(r.out.substr(at + 13, end - at - 13));
  }

  static std::string Sidecar(const json& result) { return test::ReadFile(result.at("sidecar").get<std::string>()); }

  test::TempDir dir_;
  core::age::X25519Identity id_;
  static test::LoopbackServers* servers_;
  // A servers.env value.
  static std::string Env(const std::string& key) { return (*servers_)[key]; }
};
test::LoopbackServers* CollectUploadTest::servers_ = nullptr;

TEST_F(CollectUploadTest, HttpsPutTemplateSendsEveryPartAndTheSidecarByteForByte) {
  auto r =
      Collect({"--split-size", "150000", "--upload", Env("HTTPS_BASE") + "case-7/{name}", "--upload-ca", Env("CA")});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  const json res = ResultLine(r);
  ASSERT_TRUE(res.is_object()) << r.out;
  EXPECT_EQ(res["result"], "complete");
  EXPECT_EQ(res["exit_code"], 0);
  ASSERT_GE(res["archives"].size(), 2u) << "expected a split collection: " << r.out;
  // Every part and the sidecar are on the server, equal to the local files.
  const auto remote = std::filesystem::path(Env("WWW")) / "drop/case-7";
  std::vector<std::string> local_files;
  for (const auto& a : res["archives"]) local_files.push_back(a["path"]);
  local_files.push_back(res["sidecar"]);
  for (const std::string& f : local_files) {
    const auto name = std::filesystem::path(f).filename();
    ASSERT_TRUE(std::filesystem::exists(remote / name)) << name;
    EXPECT_EQ(test::ReadFile(remote / name), test::ReadFile(f)) << name;
  }
  ASSERT_EQ(res["uploads"].size(), local_files.size());
  for (const auto& u : res["uploads"]) {
    EXPECT_TRUE(u["ok"].get<bool>()) << u.dump();
    EXPECT_EQ(u["attempts"][0]["status"], 201) << u.dump();
    EXPECT_EQ(u["target"].get<std::string>().find("{name}"), std::string::npos);
  }
  // The sidecar (written after the parts went up) lists the parts' uploads.
  const json side = json::parse(Sidecar(res));
  ASSERT_EQ(side["uploads"].size(), res["archives"].size());
  for (const auto& u : side["uploads"]) EXPECT_TRUE(u["ok"].get<bool>());
}

TEST_F(CollectUploadTest, RetriesAfterTwoFailuresAndSucceeds) {
  auto r = Collect({"--upload", Env("FLAKY_BASE") + "{name}", "--upload-ca", Env("CA")});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  const json res = ResultLine(r);
  ASSERT_EQ(res["archives"].size(), 1u);
  const json& first = res["uploads"][0];
  ASSERT_EQ(first["attempts"].size(), 3u) << first.dump();
  EXPECT_EQ(first["attempts"][0]["status"], 503);
  EXPECT_EQ(first["attempts"][1]["status"], 503);
  EXPECT_EQ(first["attempts"][2]["outcome"], "ok");
  const std::string part = res["archives"][0]["path"];
  EXPECT_EQ(test::ReadFile(std::filesystem::path(Env("WWW")) / "flaky" / std::filesystem::path(part).filename()),
            test::ReadFile(part));
}

TEST_F(CollectUploadTest, SftpWithPinnedHostKeyConfirmsTheRemoteSizeAndCanDeleteLocal) {
  auto r = Collect({"--upload", Env("SFTP_BASE") + "host-a/", "--upload-key", Env("CLIENT_KEY"), "--upload-host-key",
                    Env("HOST_KEY"), "--upload-delete-local"});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  const json res = ResultLine(r);
  ASSERT_EQ(res["archives"].size(), 1u);
  const std::string part = res["archives"][0]["path"];
  const auto remote = std::filesystem::path(Env("SFTP_DIR")) / "host-a" / std::filesystem::path(part).filename();
  ASSERT_TRUE(std::filesystem::exists(remote)) << r.out;
  EXPECT_EQ(std::filesystem::file_size(remote), res["archives"][0]["bytes"].get<std::uint64_t>());
  EXPECT_EQ(test::RunCommand({"sha256sum", remote.string()}).out.substr(0, 64),
            res["archives"][0]["sha256"].get<std::string>());
  for (const auto& u : res["uploads"]) {
    EXPECT_TRUE(u["ok"].get<bool>()) << u.dump();
    EXPECT_TRUE(u["deleted_local"].get<bool>()) << u.dump();
    EXPECT_TRUE(u.contains("remote_size")) << u.dump();
  }
  // Confirmed, so the local copies are gone.
  EXPECT_FALSE(std::filesystem::exists(part));
  EXPECT_FALSE(std::filesystem::exists(res["sidecar"].get<std::string>()));
}

TEST_F(CollectUploadTest, WrongHostKeyIsRefusedAndTheArchiveStays) {
  auto r = Collect({"--upload", Env("SFTP_BASE") + "host-b/", "--upload-key", Env("CLIENT_KEY"), "--upload-host-key",
                    Env("WRONG_HOST_KEY"), "--upload-delete-local"});
  EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
  const json res = ResultLine(r);
  EXPECT_EQ(res["result"], "partial");
  const std::string part = res["archives"][0]["path"];
  EXPECT_TRUE(std::filesystem::exists(part)) << "the archive must stay on disk";
  EXPECT_FALSE(std::filesystem::exists(std::filesystem::path(Env("SFTP_DIR")) / "host-b"));
  const json& u = res["uploads"][0];
  EXPECT_FALSE(u["ok"].get<bool>());
  EXPECT_EQ(u["attempts"].size(), 1u) << "a host key mismatch is not retried: " << u.dump();
  EXPECT_NE(u["error"].get<std::string>().find("host key does not match --upload-host-key"), std::string::npos)
      << u.dump();
  EXPECT_NE(r.err.find("failed: the server's host key does not match"), std::string::npos) << r.err;
}

TEST_F(CollectUploadTest, CertificateFromAnotherCaIsRefused) {
  auto r = Collect({"--upload", Env("HTTPS_BASE") + "wrong-ca/{name}", "--upload-ca", Env("OTHER_CA")});
  EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
  const json res = ResultLine(r);
  EXPECT_TRUE(std::filesystem::exists(res["archives"][0]["path"].get<std::string>()));
  EXPECT_FALSE(std::filesystem::exists(std::filesystem::path(Env("WWW")) / "drop/wrong-ca"));
  const json& u = res["uploads"][0];
  EXPECT_NE(u["error"].get<std::string>().find("TLS: the server's certificate is not trusted (CA " + Env("OTHER_CA")),
            std::string::npos)
      << u.dump();
  EXPECT_EQ(u["attempts"].size(), 1u);
}

TEST_F(CollectUploadTest, OneObjectUrlTakesTheFirstPartAndLaterPartsAreReportedNotSent) {
  // A presigned URL names one object: with two parts and one such URL, the
  // second part cannot go anywhere and the run says so (exit 1).
  auto r = Collect({"--split-size", "150000", "--upload", Env("HTTPS_BASE") + "single/object.age?X-Sig=secret",
                    "--upload-ca", Env("CA")});
  EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
  const json res = ResultLine(r);
  ASSERT_GE(res["archives"].size(), 2u);
  EXPECT_EQ(test::ReadFile(std::filesystem::path(Env("WWW")) / "drop/single/object.age"),
            test::ReadFile(res["archives"][0]["path"].get<std::string>()));
  EXPECT_TRUE(res["uploads"][0]["ok"].get<bool>());
  EXPECT_EQ(res["uploads"][0]["target"], Env("HTTPS_BASE") + "single/object.age?…");
  EXPECT_FALSE(res["uploads"][1]["ok"].get<bool>());
  EXPECT_NE(res["uploads"][1]["error"].get<std::string>().find("every one-object --upload URL is used"),
            std::string::npos);
  // The signature never reaches the output, the sidecar or the archive's log.
  EXPECT_EQ(r.out.find("secret"), std::string::npos);
  EXPECT_EQ(r.err.find("secret"), std::string::npos);
  EXPECT_EQ(Sidecar(res).find("secret"), std::string::npos);
}

TEST_F(CollectUploadTest, BadUploadArgumentsStopBeforeAnythingIsCollected) {
  struct Case {
    std::vector<std::string> args;
    std::string error;
  };
  const std::vector<Case> cases = {
      {{"--upload", Env("SFTP_BASE")}, "--upload-key FILE is required"},
      {{"--upload", Env("SFTP_BASE"), "--upload-key", Env("CLIENT_KEY")}, "--upload-host-key SHA256:... is required"},
      {{"--upload", Env("SFTP_BASE"), "--upload-key", Env("CLIENT_KEY"), "--upload-host-key", "SHA256:short"},
       "expected SHA256:<43 base64 characters>"},
      {{"--upload", "ftp://example.invalid/x"}, "unsupported scheme"},
      {{"--upload", "https://user:pw@example.invalid/x"}, "credentials in the URL are not accepted"},
      {{"--upload", Env("HTTPS_BASE"), "--upload-ca", (dir_ / "missing.pem").string()}, "--upload-ca"},
  };
  for (const Case& c : cases) {
    auto r = Collect(c.args);
    EXPECT_EQ(r.exit_code, 2) << r.out << r.err;
    EXPECT_NE(r.err.find(c.error), std::string::npos) << "want '" << c.error << "' in: " << r.err;
    EXPECT_EQ(r.err.find("pw@"), std::string::npos) << r.err;
    EXPECT_FALSE(std::filesystem::exists(dir_ / "out")) << c.error;
  }
}

}  // namespace
}  // namespace trawl
