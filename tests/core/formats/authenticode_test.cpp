// SPDX-License-Identifier: Apache-2.0
// Authenticode digest, signer and CVE-2013-3900 padding checks against
// osslsigncode and the openssl CLI: fixtures are compiled with mingw-w64 and
// signed with a throwaway CA at test time; the signed real files in shared
// testdata are compared too.
#include "core/formats/authenticode.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <algorithm>
#include <iostream>
#include <tuple>
#include <memory>
#include <optional>
#include <random>
#include <regex>
#include <sstream>

#include "core/formats/pe.h"
#include "core/formats/pe_json.h"
#include "core/util/file.h"
#include "core/util/text.h"
#include "tests/support/test_env.h"

namespace trawl::core::formats {
namespace {

namespace fs = std::filesystem;
using trawl::test::HaveTool;
using trawl::test::RunCommand;
using trawl::test::SharedTestdata;
using trawl::test::SourceDir;
using trawl::test::TempDir;

constexpr const char* kMingw = "x86_64-w64-mingw32-gcc-posix";

std::vector<std::byte> Load(const fs::path& p) {
  auto bytes = ReadFileBytes(p);
  EXPECT_TRUE(bytes) << p;
  return bytes ? *bytes : std::vector<std::byte>{};
}

void Save(const fs::path& p, const std::vector<std::byte>& data) {
  trawl::test::WriteFile(p, std::string(reinterpret_cast<const char*>(data.data()), data.size()));
}

Result<PeInfo> Analyze(const std::vector<std::byte>& data) { return AnalyzePe({data.data(), data.size()}); }

struct OsslVerify {
  int exit_code = -1;
  std::string algorithm;   // "sha256" (lower case)
  std::string calculated;  // lower-case hex, primary signature
  std::string output;
};

OsslVerify OsslsigncodeVerify(const fs::path& file, const std::vector<std::string>& extra = {}) {
  std::vector<std::string> argv = {"osslsigncode", "verify"};
  argv.insert(argv.end(), extra.begin(), extra.end());
  argv.push_back("-in");
  argv.push_back(file.string());
  auto r = RunCommand(argv);
  OsslVerify v;
  v.exit_code = r.exit_code;
  v.output = r.out + r.err;
  std::smatch m;
  static const std::regex kAlg(R"(Message digest algorithm\s+:\s+(\S+))");
  static const std::regex kCalc(R"(Calculated message digest\s+:\s+([0-9A-Fa-f]+))");
  if (std::regex_search(v.output, m, kAlg)) v.algorithm = ToLowerAscii(m[1].str());
  if (std::regex_search(v.output, m, kCalc)) v.calculated = ToLowerAscii(m[1].str());
  return v;
}

// Subjects `openssl pkcs7 -print_certs` lists for the extracted signature.
std::vector<std::string> SignatureSubjects(const fs::path& file, const TempDir& tmp) {
  const fs::path der = tmp / (file.filename().string() + ".sig.der");
  auto ex = RunCommand({"osslsigncode", "extract-signature", "-in", file.string(), "-out", der.string()});
  if (ex.exit_code != 0) return {};
  auto pr = RunCommand({"openssl", "pkcs7", "-inform", "DER", "-in", der.string(), "-print_certs", "-noout"});
  std::vector<std::string> subjects;
  std::istringstream lines(pr.out);
  for (std::string line; std::getline(lines, line);) {
    if (line.starts_with("subject=")) subjects.push_back(line.substr(8));
  }
  return subjects;
}

void Put32(std::vector<std::byte>& f, std::uint64_t at, std::uint32_t v) {
  for (int i = 0; i < 4; ++i) f[at + static_cast<std::uint64_t>(i)] = static_cast<std::byte>(v >> (8 * i));
}
std::uint32_t Get32(const std::vector<std::byte>& f, std::uint64_t at) {
  std::uint32_t v = 0;
  for (int i = 3; i >= 0; --i) v = (v << 8) | static_cast<std::uint8_t>(f[at + static_cast<std::uint64_t>(i)]);
  return v;
}

// Builds, once, a throwaway CA + code-signing certificate and signed fixtures.
class AuthenticodeFixtureTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    for (const char* tool : {kMingw, "osslsigncode", "openssl"}) {
      if (!HaveTool(tool)) {
        skip_reason_ = std::string(tool) + " not installed (dist/install-deps.sh installs it)";
        return;
      }
    }
    dir_ = std::make_unique<TempDir>();
    const auto& d = dir_->path();
    const fs::path src = SourceDir() / "tests/fixtures/pe";
    auto run = [&](const std::vector<std::string>& argv) {
      auto r = RunCommand(argv);
      if (r.exit_code != 0 && build_error_.empty()) build_error_ = argv[0] + " failed: " + r.out + r.err;
    };
    run({kMingw, "-O1", "-s", "-o", (d / "tiny.exe").string(), (src / "tiny_exe.c").string(), "-lws2_32"});
    run({kMingw, "-O1", "-s", "-shared", "-o", (d / "tiny.dll").string(), (src / "tiny_dll.c").string()});
    fs::path ext = d / "ext.cnf";
    trawl::test::WriteFile(ext, "basicConstraints=CA:FALSE\nkeyUsage=digitalSignature\nextendedKeyUsage=codeSigning\n");
    run({"openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", (d / "ca.key").string(), "-out",
         (d / "ca.crt").string(), "-subj", "/CN=trawl throwaway test CA", "-days", "2"});
    run({"openssl", "req", "-newkey", "rsa:2048", "-nodes", "-keyout", (d / "cs.key").string(), "-out",
         (d / "cs.csr").string(), "-subj", "/O=trawl tests/CN=trawl test code signing"});
    run({"openssl", "x509", "-req", "-in", (d / "cs.csr").string(), "-CA", (d / "ca.crt").string(), "-CAkey",
         (d / "ca.key").string(), "-CAcreateserial", "-out", (d / "cs.crt").string(), "-days", "2", "-extfile",
         ext.string()});
    for (auto [in, out, hash] :
         {std::tuple{"tiny.exe", "signed.exe", "sha256"}, std::tuple{"tiny.dll", "signed.dll", "sha256"},
          std::tuple{"tiny.dll", "signed-sha1.dll", "sha1"}}) {
      run({"osslsigncode", "sign", "-certs", (d / "cs.crt").string(), "-key", (d / "cs.key").string(), "-h", hash, "-n",
           "trawl fixture", "-in", (d / in).string(), "-out", (d / out).string()});
    }
  }
  static void TearDownTestSuite() { dir_.reset(); }

  void SetUp() override {
    if (!skip_reason_.empty()) GTEST_SKIP() << skip_reason_;
    ASSERT_TRUE(build_error_.empty()) << build_error_;
  }

  static fs::path Path(const std::string& name) { return dir_->path() / name; }
  std::vector<std::string> CaArgs() const { return {"-CAfile", Path("ca.crt").string()}; }

  static inline std::unique_ptr<TempDir> dir_;
  static inline std::string skip_reason_;
  static inline std::string build_error_;
};

TEST_F(AuthenticodeFixtureTest, SignedFixturesMatchOsslsigncode) {
  for (const char* name : {"signed.exe", "signed.dll", "signed-sha1.dll"}) {
    SCOPED_TRACE(name);
    const auto v = OsslsigncodeVerify(Path(name), CaArgs());
    ASSERT_EQ(v.exit_code, 0) << v.output;
    ASSERT_FALSE(v.calculated.empty()) << v.output;
    auto r = Analyze(Load(Path(name)));
    ASSERT_TRUE(r) << r.error().ToString();
    const auto& a = r->authenticode;
    EXPECT_TRUE(a.present);
    EXPECT_TRUE(a.signed_);
    EXPECT_TRUE(a.digest_matches) << a.signed_digest << " vs " << a.computed_digest;
    EXPECT_EQ(a.computed_digest, v.calculated);
    EXPECT_EQ(a.digest_algorithm, v.algorithm);
    EXPECT_EQ(a.signer_subject, "O = trawl tests, CN = trawl test code signing");
    EXPECT_EQ(a.issuer, "CN = trawl throwaway test CA");
    EXPECT_FALSE(a.padding_anomaly);
    EXPECT_LT(a.padding_bytes, 8u);
    EXPECT_FALSE(a.padding_marker_feedface);
    const auto subjects = SignatureSubjects(Path(name), *dir_);
    EXPECT_NE(std::find(subjects.begin(), subjects.end(), a.signer_subject), subjects.end());
  }
  // The DLL's imports survive signing; the EXE imports ws2_32 by name.
  auto exe = Analyze(Load(Path("signed.exe")));
  ASSERT_TRUE(exe);
  EXPECT_FALSE(exe->imphash.empty());
  EXPECT_FALSE(exe->is_dll);
  auto dll = Analyze(Load(Path("signed.dll")));
  ASSERT_TRUE(dll);
  EXPECT_TRUE(dll->is_dll);
}

TEST_F(AuthenticodeFixtureTest, UnsignedDigestEqualsWhatTheSignerSigned) {
  // The digest of the unsigned input (zero-padded to 8) is the digest the
  // signature later carries.
  auto unsigned_exe = Analyze(Load(Path("tiny.exe")));
  auto signed_exe = Analyze(Load(Path("signed.exe")));
  ASSERT_TRUE(unsigned_exe && signed_exe);
  EXPECT_FALSE(unsigned_exe->authenticode.present);
  EXPECT_FALSE(unsigned_exe->authenticode.signed_);
  EXPECT_EQ(unsigned_exe->authenticode.computed_digest, signed_exe->authenticode.signed_digest);
}

TEST_F(AuthenticodeFixtureTest, FlippedSectionByteBreaksTheDigest) {
  auto data = Load(Path("signed.exe"));
  auto r = Analyze(data);
  ASSERT_TRUE(r);
  const auto& text = r->sections.at(0);
  ASSERT_GT(text.raw_size, 64u);
  data[text.raw_offset + 40] ^= std::byte{0x01};
  Save(Path("flipped.exe"), data);
  const auto v = OsslsigncodeVerify(Path("flipped.exe"), CaArgs());
  EXPECT_NE(v.exit_code, 0) << v.output;
  auto f = Analyze(data);
  ASSERT_TRUE(f);
  EXPECT_TRUE(f->authenticode.signed_);
  EXPECT_FALSE(f->authenticode.digest_matches);
  EXPECT_EQ(f->authenticode.computed_digest, v.calculated);
  EXPECT_EQ(f->authenticode.signed_digest, r->authenticode.signed_digest);
}

// Appends 0x4000 bytes (FE ED FA CE + random) inside the WIN_CERTIFICATE, as
// the 3CX d3dcompiler_47.dll did; the signature stays valid.
std::vector<std::byte> PadSignature(std::vector<std::byte> data, const PeInfo& info) {
  const std::uint64_t cert = info.authenticode.cert_table_offset;
  const std::uint64_t e_lfanew = Get32(data, 0x3C);
  const std::uint64_t dir = e_lfanew + 152 + (info.is_64 ? 16 : 0);
  std::mt19937 rng(3900);
  std::vector<std::byte> extra(0x4000);
  for (auto& b : extra) b = static_cast<std::byte>(rng());
  extra[0] = std::byte{0xFE};
  extra[1] = std::byte{0xED};
  extra[2] = std::byte{0xFA};
  extra[3] = std::byte{0xCE};
  data.insert(data.end(), extra.begin(), extra.end());
  Put32(data, cert, Get32(data, cert) + 0x4000);
  Put32(data, dir + 4, Get32(data, dir + 4) + 0x4000);
  return data;
}

TEST_F(AuthenticodeFixtureTest, PaddedSignatureIsValidButFlagged) {
  for (const char* name : {"signed.exe", "signed.dll"}) {
    SCOPED_TRACE(name);
    auto clean = Load(Path(name));
    auto r = Analyze(clean);
    ASSERT_TRUE(r);
    ASSERT_EQ(r->authenticode.entry_count, 1u);
    const auto padded = PadSignature(clean, *r);
    const fs::path out = Path(std::string("padded-") + name);
    Save(out, padded);
    const auto v = OsslsigncodeVerify(out, CaArgs());
    EXPECT_EQ(v.exit_code, 0) << "osslsigncode should still accept the padded file\n" << v.output;
    auto p = Analyze(padded);
    ASSERT_TRUE(p) << p.error().ToString();
    const auto& a = p->authenticode;
    EXPECT_TRUE(a.signed_);
    EXPECT_TRUE(a.digest_matches);
    EXPECT_EQ(a.computed_digest, v.calculated);
    EXPECT_TRUE(a.padding_anomaly);
    EXPECT_GE(a.padding_bytes, 0x4000u);
    EXPECT_LT(a.padding_bytes, 0x4008u);
    EXPECT_GT(a.padding_entropy, 7.9);
    EXPECT_TRUE(a.padding_marker_feedface);
    const auto j = PeToJson(*p, out.string());
    EXPECT_EQ(j["authenticode"]["padding_marker_feedface"], true);
    // Streaming in odd chunks sees the same.
    PeAnalyzer analyzer;
    for (std::size_t pos = 0; pos < padded.size(); pos += 333) {
      analyzer.Update(
          Bytes(padded.data(), padded.size()).subspan(pos, std::min<std::size_t>(333, padded.size() - pos)));
    }
    auto s = analyzer.Finish();
    ASSERT_TRUE(s);
    EXPECT_EQ(PeToJson(*s, "x").dump(), PeToJson(*p, "x").dump());
  }
}

// Signed real files (public test data): our digest equals osslsigncode's
// "Calculated message digest" wherever osslsigncode handles the file, and the
// signer subject is among `openssl pkcs7 -print_certs` subjects.
TEST(AuthenticodeRealFilesTest, DigestsAndSignersMatchOsslsigncode) {
  if (!HaveTool("osslsigncode") || !HaveTool("openssl")) GTEST_SKIP() << "osslsigncode/openssl not installed";
  TempDir tmp;
  int signed_files = 0, digest_compared = 0, subject_compared = 0, matches = 0;
  std::error_code ec;
  std::vector<fs::path> files;
  for (auto it = fs::recursive_directory_iterator(SharedTestdata() / "pe", ec);
       !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
    if (it->is_regular_file()) files.push_back(it->path());
  }
  std::sort(files.begin(), files.end());
  for (const auto& f : files) {
    SCOPED_TRACE(f.string());
    auto r = Analyze(Load(f));
    if (!r || !r->authenticode.present) continue;
    const auto& a = r->authenticode;
    ++signed_files;
    if (a.digest_matches) ++matches;
    const auto v = OsslsigncodeVerify(f);
    if (!v.calculated.empty()) {
      EXPECT_EQ(a.digest_algorithm, v.algorithm);
      EXPECT_EQ(a.computed_digest, v.calculated);
      EXPECT_TRUE(a.digest_matches);
      ++digest_compared;
    }
    const auto subjects = SignatureSubjects(f, tmp);
    if (!subjects.empty()) {
      EXPECT_NE(std::find(subjects.begin(), subjects.end(), a.signer_subject), subjects.end())
          << "ours: " << a.signer_subject;
      ++subject_compared;
    }
    std::cout << "[authenticode] " << f.filename().string() << ": " << a.digest_algorithm
              << (a.digest_matches ? " match" : " MISMATCH") << (v.calculated.empty() ? " (osslsigncode: n/a)" : "")
              << " padding " << a.padding_bytes << (a.padding_anomaly ? " ANOMALY" : "") << " signer '"
              << a.signer_subject << "'";
    for (const auto& n : a.notes) std::cout << " [" << n << "]";
    std::cout << "\n";
  }
  std::cout << "[authenticode] signed " << signed_files << ", digests compared " << digest_compared
            << ", subjects compared " << subject_compared << ", matching " << matches << "\n";
  EXPECT_EQ(signed_files, 12);
  // osslsigncode refuses pegoat-authenticode_duplicated.exe (two entries) and
  // YourPhone.exe (data stuffed after the certificate table).
  EXPECT_EQ(digest_compared, 10);
  EXPECT_GE(subject_compared, 8);
  // All but YourPhone.exe, whose trailing stuffing we leave outside the digest
  // and report as "certificate table not at end of file".
  EXPECT_EQ(matches, 11);
}

TEST(AuthenticodeTableTest, HostileTablesBecomeNotes) {
  AuthenticodeInfo a;
  AnalyzeCertificateTable({}, 0, a);
  EXPECT_FALSE(a.signed_);
  std::vector<std::byte> t(64, std::byte{0});
  t[0] = std::byte{4};  // dwLength 4 < 8
  AuthenticodeInfo b;
  AnalyzeCertificateTable({t.data(), t.size()}, t.size(), b);
  EXPECT_FALSE(b.notes.empty());
  // A 2.0/PKCS entry whose DER header claims far more than exists.
  std::vector<std::byte> u = {std::byte{0x18}, std::byte{0},    std::byte{0},    std::byte{0},    std::byte{0},
                              std::byte{2},    std::byte{2},    std::byte{0},    std::byte{0x30}, std::byte{0x84},
                              std::byte{0x7f}, std::byte{0xff}, std::byte{0xff}, std::byte{0xff}};
  u.resize(0x18, std::byte{0xAA});
  AuthenticodeInfo c;
  AnalyzeCertificateTable({u.data(), u.size()}, u.size(), c);
  EXPECT_FALSE(c.signed_);
  EXPECT_FALSE(c.notes.empty());
}

}  // namespace
}  // namespace trawl::core::formats
