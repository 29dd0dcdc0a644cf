// SPDX-License-Identifier: Apache-2.0
// --upload URL parsing (shared by trawl-collect and trawl-triage kit): what is
// shown never holds the query (presigned signatures, SAS tokens), templates and
// SFTP folders take every file, Azure is recognised, and bad input names the
// option.
#include "core/util/upload_target.h"

#include <gtest/gtest.h>

#include "tests/support/test_env.h"

namespace trawl::core {
namespace {

TEST(UploadTargetTest, ShownFormDropsTheQueryAndKindsAreRecognised) {
  UploadOptions o;
  o.urls = {"https://bucket.s3.amazonaws.com/case/host.zip.age?X-Amz-Signature=abc&X-Amz-Credential=k",
            "HTTPS://acct.blob.core.windows.net/c/{name}?sv=2022-11-02&sig=zzz", "http://10.1.2.3:8080/drop/{name}"};
  auto t = ParseUploadTargets(o);
  ASSERT_TRUE(t) << t.error().message;
  ASSERT_EQ(t->size(), 3u);
  EXPECT_EQ((*t)[0].shown, "https://bucket.s3.amazonaws.com/case/host.zip.age?…");
  EXPECT_FALSE((*t)[0].per_file);
  EXPECT_FALSE((*t)[0].azure);
  EXPECT_EQ((*t)[1].scheme, UploadScheme::kHttps);
  EXPECT_TRUE((*t)[1].per_file);
  EXPECT_TRUE((*t)[1].azure);
  EXPECT_EQ((*t)[1].shown.find("sig"), std::string::npos);
  EXPECT_EQ((*t)[2].scheme, UploadScheme::kHttp);
  EXPECT_EQ((*t)[2].shown, "http://10.1.2.3:8080/drop/{name}");
}

TEST(UploadTargetTest, SftpNeedsUserKeyAndAPinnedHostKey) {
  test::TempDir dir;
  test::WriteFile(dir / "key", "-----BEGIN OPENSSH PRIVATE KEY-----\n");
  UploadOptions o;
  o.urls = {"sftp://ir@drop.example:2222/case7/"};
  auto no_key = ParseUploadTargets(o);
  ASSERT_FALSE(no_key);
  EXPECT_NE(no_key.error().message.find("--upload-key FILE is required"), std::string::npos);
  o.key_file = dir / "key";
  auto no_pin = ParseUploadTargets(o);
  ASSERT_FALSE(no_pin);
  EXPECT_NE(no_pin.error().message.find("--upload-host-key"), std::string::npos);
  o.host_key = "SHA256:pzNCThSpsMbyIb74DfrKgeRqebaMWIVi3ZinC4X8MTg";
  auto ok = ParseUploadTargets(o);
  ASSERT_TRUE(ok) << ok.error().message;
  EXPECT_TRUE((*ok)[0].per_file);
  EXPECT_EQ((*ok)[0].shown, "sftp://ir@drop.example:2222/case7/");
  EXPECT_EQ(HostKeyHash(o.host_key).value(), "pzNCThSpsMbyIb74DfrKgeRqebaMWIVi3ZinC4X8MTg");
  EXPECT_EQ(HostKeyHash("pzNCThSpsMbyIb74DfrKgeRqebaMWIVi3ZinC4X8MTg=").value(),
            "pzNCThSpsMbyIb74DfrKgeRqebaMWIVi3ZinC4X8MTg");
  o.urls = {"sftp://drop.example/case7/"};
  auto no_user = ParseUploadTargets(o);
  ASSERT_FALSE(no_user);
  EXPECT_NE(no_user.error().message.find("name the user"), std::string::npos);
}

TEST(UploadTargetTest, RefusalsNameTheOptionAndNeverEchoAPassword) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"ftp://x.example/a", "unsupported scheme"},
      {"https://alice:hunter2@x.example/a", "credentials in the URL are not accepted"},
      {"https://alice@x.example/a", "credentials in the URL are not accepted"},
      {"https:///nohost", "no host"},
  };
  for (const auto& [url, want] : cases) {
    UploadOptions o;
    o.urls = {url};
    auto r = ParseUploadTargets(o);
    ASSERT_FALSE(r) << url;
    EXPECT_NE(r.error().message.find(want), std::string::npos) << r.error().message;
    EXPECT_NE(r.error().message.find("--upload"), std::string::npos) << r.error().message;
    EXPECT_EQ(r.error().message.find("hunter2"), std::string::npos) << r.error().message;
  }
  EXPECT_FALSE(HostKeyHash("SHA256:tooshort"));
  EXPECT_FALSE(HostKeyHash("MD5:aa:bb"));
  UploadOptions ca;
  ca.urls = {"https://x.example/{name}"};
  ca.ca_file = "/nonexistent/ca.pem";
  auto r = ParseUploadTargets(ca);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("--upload-ca /nonexistent/ca.pem: no such file"), std::string::npos);
}

}  // namespace
}  // namespace trawl::core
