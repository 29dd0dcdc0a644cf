// SPDX-License-Identifier: Apache-2.0
// age interoperability against the real CLIs (Debian's `age` and
// `age-keygen`, the Go reference implementation): every size at the STREAM
// chunk boundaries in both directions, armor, several recipients, key files
// both ways, and passphrases (driven through a pseudo-terminal, since age
// reads passphrases only from the terminal).
#include <gtest/gtest.h>

#include <cstring>
#include <random>

#include "core/crypto/age.h"
#include "core/util/text.h"
#include "tests/support/test_env.h"

namespace trawl::core::age {
namespace {

using test::CommandResult;
using test::ReadFile;
using test::RunCommand;
using test::TempDir;
using test::WriteFile;

std::string RandomText(std::size_t n, std::uint32_t seed) {
  std::mt19937 rng(seed);
  std::string s(n, '\0');
  for (auto& c : s) c = static_cast<char>(rng() & 0xff);
  return s;
}

Result<std::string> Decrypt(const std::string& file, const std::vector<Identity>& ids) {
  return DecryptToString(AsBytes(file), ids);
}

class AgeInteropTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!test::HaveTool("age") || !test::HaveTool("age-keygen")) GTEST_SKIP() << "age CLI not installed";
  }

  // A key made by age-keygen, parsed by us.
  X25519Identity KeygenIdentity(const std::string& name) {
    const auto path = dir_ / name;
    CommandResult r = RunCommand({"age-keygen", "-o", path.string()});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    auto ids = ParseIdentityFile(ReadFile(path), path.string());
    EXPECT_TRUE(ids) << ids.error().ToString();
    return ids ? ids->front() : X25519Identity{};
  }

  std::string AgeDecrypt(const std::string& file, const std::string& key_text) {
    const auto key = dir_ / "dec.key";
    const auto in = dir_ / "in.age";
    WriteFile(key, key_text);
    WriteFile(in, file);
    CommandResult r = RunCommand({"age", "-d", "-i", key.string(), in.string()});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    return r.out;
  }

  std::string AgeEncrypt(const std::string& plain, const std::vector<std::string>& extra) {
    const auto in = dir_ / "plain.bin";
    const auto out = dir_ / "out.age";
    WriteFile(in, plain);
    std::vector<std::string> argv = {"age", "-e"};
    argv.insert(argv.end(), extra.begin(), extra.end());
    argv.insert(argv.end(), {"-o", out.string(), in.string()});
    CommandResult r = RunCommand(argv);
    EXPECT_EQ(r.exit_code, 0) << r.err;
    return ReadFile(out);
  }

  // Runs argv under a pseudo-terminal, answering every passphrase prompt.
  CommandResult RunWithPassphrase(const std::vector<std::string>& argv, const std::string& passphrase) {
    const auto script = dir_ / "answer_prompts.py";
    WriteFile(script, R"PY(
import os, pty, select, signal, sys, time
passphrase = sys.argv[1].encode()
pid, fd = pty.fork()
if pid == 0:
    os.execvp(sys.argv[2], sys.argv[2:])
seen = b""
answered = 0
deadline = time.time() + 120
while True:
    left = deadline - time.time()
    if left <= 0:
        os.kill(pid, signal.SIGKILL)
        sys.exit(124)
    r, _, _ = select.select([fd], [], [], left)
    if not r:
        continue
    try:
        data = os.read(fd, 4096)
    except OSError:
        break
    if not data:
        break
    seen += data
    sys.stderr.write(data.decode("utf-8", "replace"))
    while seen.count(b"passphrase") > answered and seen.rstrip().endswith(b":"):
        time.sleep(0.2)
        os.write(fd, passphrase + b"\n")
        answered += 1
_, status = os.waitpid(pid, 0)
sys.exit(os.waitstatus_to_exitcode(status))
)PY");
    std::vector<std::string> full = {"/usr/bin/python3", script.string(), passphrase};
    full.insert(full.end(), argv.begin(), argv.end());
    return RunCommand(full);
  }

  TempDir dir_;
};

const std::vector<std::size_t> kSizes = {0, 65536, 65537, 131072, std::size_t{5} << 20};

TEST_F(AgeInteropTest, KeygenKeysAndOurIdentityFiles) {
  const auto path = dir_ / "keygen.txt";
  CommandResult r = RunCommand({"age-keygen", "-o", path.string()});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const std::string text = ReadFile(path);
  auto ids = ParseIdentityFile(text, path.string());
  ASSERT_TRUE(ids) << ids.error().ToString();
  ASSERT_EQ(ids->size(), 1u);
  // age-keygen's "# public key:" comment equals the public key we derive.
  const std::size_t pk_at = text.find("# public key: ");
  ASSERT_NE(pk_at, std::string::npos);
  const std::string pk = text.substr(pk_at + 14, text.find('\n', pk_at) - pk_at - 14);
  EXPECT_EQ((*ids)[0].ToRecipient().Encode(), pk);
  EXPECT_TRUE(ParseRecipient(pk));
  EXPECT_EQ((*ids)[0].Encode() + "\n", text.substr(text.find("AGE-SECRET-KEY-")));

  // Our identity file is read by age-keygen -y and age -d.
  auto ours = GenerateX25519Identity();
  ASSERT_TRUE(ours);
  const std::string our_text = FormatIdentityFile(*ours);
  EXPECT_TRUE(our_text.starts_with("# created: "));
  const auto our_path = dir_ / "ours.txt";
  WriteFile(our_path, our_text);
  CommandResult y = RunCommand({"age-keygen", "-y", our_path.string()});
  ASSERT_EQ(y.exit_code, 0) << y.err;
  EXPECT_EQ(y.out, ours->ToRecipient().Encode() + "\n");
  auto file = EncryptToString({ours->ToRecipient()}, AsBytes(std::string_view("ping")));
  ASSERT_TRUE(file);
  EXPECT_EQ(AgeDecrypt(*file, our_text), "ping");

  // The spec's example identity, through age-keygen -y.
  const auto spec = dir_ / "spec.txt";
  WriteFile(spec, "AGE-SECRET-KEY-1GFPYYSJZGFPYYSJZGFPYYSJZGFPYYSJZGFPYYSJZGFPYYSJZGFPQ4EGAEX\n");
  CommandResult sy = RunCommand({"age-keygen", "-y", spec.string()});
  auto spec_ids = ParseIdentityFile(ReadFile(spec), "spec");
  ASSERT_TRUE(spec_ids);
  EXPECT_EQ(sy.out, (*spec_ids)[0].ToRecipient().Encode() + "\n");
}

TEST_F(AgeInteropTest, OursDecryptedByAgeAtEverySize) {
  const X25519Identity id = KeygenIdentity("k.txt");
  const std::string key_text = ReadFile(dir_ / "k.txt");
  for (std::size_t n : kSizes) {
    const std::string plain = RandomText(n, static_cast<std::uint32_t>(n + 1));
    auto file = EncryptToString({id.ToRecipient()}, AsBytes(plain));
    ASSERT_TRUE(file) << file.error().ToString();
    const std::string out = AgeDecrypt(*file, key_text);
    EXPECT_EQ(out.size(), plain.size()) << n;
    EXPECT_TRUE(out == plain) << "age -d output differs for size " << n;
  }
}

TEST_F(AgeInteropTest, AgeOutputDecryptedByUsAtEverySize) {
  const X25519Identity id = KeygenIdentity("k.txt");
  const std::string pk = id.ToRecipient().Encode();
  for (std::size_t n : kSizes) {
    const std::string plain = RandomText(n, static_cast<std::uint32_t>(n + 2));
    for (bool armor : {false, true}) {
      std::vector<std::string> args = {"-r", pk};
      if (armor) args.push_back("-a");
      const std::string file = AgeEncrypt(plain, args);
      if (armor) {
        ASSERT_TRUE(file.starts_with("-----BEGIN AGE ENCRYPTED FILE-----"));
      }
      auto out = Decrypt(file, {id});
      ASSERT_TRUE(out) << n << (armor ? " armored: " : ": ") << out.error().ToString();
      EXPECT_TRUE(*out == plain) << "our output differs for size " << n << (armor ? " (armored)" : "");
    }
  }
}

TEST_F(AgeInteropTest, SeveralRecipientsBothWays) {
  const X25519Identity a = KeygenIdentity("a.txt"), b = KeygenIdentity("b.txt"), c = KeygenIdentity("c.txt");
  const std::string plain = RandomText(200000, 5);
  // age -r a -r b -r c, each identity alone through our decryptor.
  const std::string theirs = AgeEncrypt(
      plain, {"-r", a.ToRecipient().Encode(), "-r", b.ToRecipient().Encode(), "-r", c.ToRecipient().Encode()});
  for (const auto& id : {a, b, c}) {
    auto out = Decrypt(theirs, {id});
    ASSERT_TRUE(out) << out.error().ToString();
    EXPECT_TRUE(*out == plain);
  }
  // A recipients file for age -R, parsed by us too.
  const auto rfile = dir_ / "recipients.txt";
  WriteFile(rfile, "# team\n" + a.ToRecipient().Encode() + "\n\n" + b.ToRecipient().Encode() + "\n");
  auto parsed = ParseRecipientsFile(ReadFile(rfile), rfile.string());
  ASSERT_TRUE(parsed);
  EXPECT_EQ(parsed->size(), 2u);
  const std::string via_file = AgeEncrypt(plain, {"-R", rfile.string()});
  EXPECT_TRUE(Decrypt(via_file, {b}).value_or("") == plain);
  // Ours to three recipients; age -d with each key file alone.
  auto ours = EncryptToString({a.ToRecipient(), b.ToRecipient(), c.ToRecipient()}, AsBytes(plain));
  ASSERT_TRUE(ours);
  for (const char* name : {"a.txt", "b.txt", "c.txt"}) {
    EXPECT_TRUE(AgeDecrypt(*ours, ReadFile(dir_ / name)) == plain) << name;
  }
  // And a key that is not a recipient: age fails, as do we.
  const X25519Identity stranger = KeygenIdentity("s.txt");
  auto no = Decrypt(*ours, {stranger});
  ASSERT_FALSE(no);
  EXPECT_EQ(no.error().code, ErrorCode::kNoIdentity);
  const auto in = dir_ / "x.age";
  WriteFile(in, *ours);
  EXPECT_NE(RunCommand({"age", "-d", "-i", (dir_ / "s.txt").string(), in.string()}).exit_code, 0);
}

TEST_F(AgeInteropTest, TamperedOursIsRejectedByAgeToo) {
  // Our notion of a damaged file agrees with the reference implementation.
  const X25519Identity id = KeygenIdentity("k.txt");
  const std::string plain = RandomText(70000, 8);
  auto file = EncryptToString({id.ToRecipient()}, AsBytes(plain));
  ASSERT_TRUE(file);
  const auto in = dir_ / "t.age";
  for (std::size_t pos : {std::size_t{5}, file->size() / 2, file->size() - 1}) {
    std::string t = *file;
    t[pos] = static_cast<char>(t[pos] ^ 0x20);
    WriteFile(in, t);
    EXPECT_NE(RunCommand({"age", "-d", "-i", (dir_ / "k.txt").string(), in.string()}).exit_code, 0) << pos;
    EXPECT_FALSE(Decrypt(t, {id})) << pos;
  }
}

TEST_F(AgeInteropTest, PassphraseOursDecryptedByAge) {
  const std::string plain = RandomText(100000, 6);
  auto file = EncryptToString({ScryptRecipient{"trawl test passphrase", 15}}, AsBytes(plain));
  ASSERT_TRUE(file);
  const auto in = dir_ / "p.age";
  const auto out = dir_ / "p.out";
  WriteFile(in, *file);
  CommandResult r = RunWithPassphrase({"age", "-d", "-o", out.string(), in.string()}, "trawl test passphrase");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(ReadFile(out) == plain);
  // And age refuses a wrong passphrase, as we do.
  std::filesystem::remove(out);
  CommandResult wrong = RunWithPassphrase({"age", "-d", "-o", out.string(), in.string()}, "not it");
  EXPECT_NE(wrong.exit_code, 0);
}

TEST_F(AgeInteropTest, PassphraseAgeDecryptedByUs) {
  const std::string plain = RandomText(150000, 7);
  const auto in = dir_ / "plain.bin";
  const auto out = dir_ / "p.age";
  WriteFile(in, plain);
  CommandResult r = RunWithPassphrase({"age", "-p", "-o", out.string(), in.string()}, "correct horse battery");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const std::string file = ReadFile(out);
  ASSERT_NE(file.find("\n-> scrypt "), std::string::npos);
  auto dec = Decrypt(file, {ScryptIdentity{"correct horse battery"}});
  ASSERT_TRUE(dec) << dec.error().ToString();
  EXPECT_TRUE(*dec == plain);
  // age's default work factor (2^18) is above a low limit.
  auto limited = Decrypt(file, {ScryptIdentity{"correct horse battery", 16}});
  ASSERT_FALSE(limited);
  EXPECT_EQ(limited.error().code, ErrorCode::kLimit);
}

}  // namespace
}  // namespace trawl::core::age
