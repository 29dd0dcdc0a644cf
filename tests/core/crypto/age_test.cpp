// SPDX-License-Identifier: Apache-2.0
// In-process tests of the age implementation: keys, round trips at the STREAM
// chunk boundaries, every error the Decryptor promises, tampering and
// truncation sweeps. Files crafted here with the internal primitives are also
// checked against the real `age` CLI (see age_interop_test.cpp for the rest).
#include "core/crypto/age.h"

#include <gtest/gtest.h>

#include <cstring>
#include <random>

#include <fmt/format.h>

#include "core/crypto/age_internal.h"
#include "core/crypto/bech32.h"
#include "core/util/text.h"
#include "tests/support/test_env.h"

namespace trawl::core::age {
namespace {

using internal::kEncChunkSize;

std::string RandomText(std::size_t n, std::uint32_t seed) {
  std::mt19937 rng(seed);
  std::string s(n, '\0');
  for (auto& c : s) c = static_cast<char>(rng() & 0xff);
  return s;
}

X25519Identity NewIdentity() {
  auto id = GenerateX25519Identity();
  EXPECT_TRUE(id);
  return *id;
}

std::string Encrypt(const std::vector<Recipient>& r, const std::string& plain) {
  auto out = EncryptToString(r, AsBytes(plain));
  EXPECT_TRUE(out) << out.error().ToString();
  return out ? *out : std::string();
}

// Decrypts, keeping whatever plaintext was released before an error.
struct Outcome {
  std::string plain;
  std::optional<Error> error;
  bool opened = false;
};

Outcome DecryptAll(const std::string& file, const std::vector<Identity>& ids, std::size_t read_size = 10000) {
  Outcome o;
  std::string_view rest = file;
  auto dec = Decryptor::Open(
      [&rest](std::span<std::byte> buf) -> Result<std::size_t> {
        // Deliver in odd pieces to exercise buffering.
        const std::size_t n = std::min({buf.size(), rest.size(), std::size_t{7777}});
        std::memcpy(buf.data(), rest.data(), n);
        rest.remove_prefix(n);
        return n;
      },
      ids);
  if (!dec) {
    o.error = dec.error();
    return o;
  }
  o.opened = true;
  std::vector<std::byte> buf(read_size);
  for (;;) {
    auto n = (*dec)->Read(buf);
    if (!n) {
      o.error = n.error();
      // Errors are sticky.
      auto again = (*dec)->Read(buf);
      EXPECT_FALSE(again);
      return o;
    }
    if (*n == 0) return o;
    o.plain.append(reinterpret_cast<const char*>(buf.data()), *n);
  }
}

std::size_t HeaderLength(const std::string& file) {
  const std::size_t mac = file.find("\n--- ");
  EXPECT_NE(mac, std::string::npos);
  return file.find('\n', mac + 1) + 1;
}

// Builds an age file with an arbitrary chunk layout, from the primitives, so
// the decoder's rules about chunk sequences can be tested.
std::string Craft(const X25519Identity& id, const std::vector<std::pair<std::string, bool>>& chunks) {
  internal::FileKey file_key{};
  EXPECT_TRUE(internal::RandomBytes(file_key));
  internal::Key32 eph{};
  EXPECT_TRUE(internal::RandomBytes(eph));
  const auto share = *internal::X25519Base(eph);
  const auto pk = id.ToRecipient().public_key;
  const auto shared = *internal::X25519(eph, pk);
  std::vector<std::uint8_t> salt(share.begin(), share.end());
  salt.insert(salt.end(), pk.begin(), pk.end());
  const auto wrap = *internal::HkdfSha256(shared, salt, "age-encryption.org/v1/X25519");
  internal::Stanza st{{"X25519", internal::Base64RawEncode(share)}, *internal::SealZeroNonce(wrap, file_key), 0};
  std::string header = internal::FormatHeaderWithoutMac({st}) + "---";
  const auto mac_key = *internal::HkdfSha256(file_key, {}, "header");
  const auto mac = *internal::HmacSha256(mac_key, internal::U8(AsBytes(header)));
  header += " " + internal::Base64RawEncode(mac) + "\n";
  std::array<std::uint8_t, 16> nonce{};
  EXPECT_TRUE(internal::RandomBytes(nonce));
  header.append(reinterpret_cast<const char*>(nonce.data()), nonce.size());
  internal::ChunkCipher cipher;
  EXPECT_TRUE(cipher.SetKey(*internal::HkdfSha256(file_key, nonce, "payload")));
  std::uint64_t counter = 0;
  for (const auto& [plain, last] : chunks) {
    std::vector<std::byte> out(plain.size() + 16);
    EXPECT_TRUE(cipher.Seal(counter++, last, AsBytes(plain), out));
    header.append(reinterpret_cast<const char*>(out.data()), out.size());
  }
  return header;
}

std::string Armor(const std::string& bin, const std::string& eol = "\n") {
  std::string out = "-----BEGIN AGE ENCRYPTED FILE-----" + eol;
  for (std::size_t i = 0; i < bin.size(); i += 48) {
    const std::string part = bin.substr(i, 48);
    std::string line = internal::Base64RawEncode(internal::U8(AsBytes(part)));
    line.append((3 - part.size() % 3) % 3, '=');
    out += line + eol;
  }
  return out + "-----END AGE ENCRYPTED FILE-----" + eol;
}

// ---------------------------------------------------------------------------

TEST(AgeKeysTest, EncodeParseRoundTrip) {
  const X25519Identity id = NewIdentity();
  const std::string sk = id.Encode();
  EXPECT_TRUE(sk.starts_with("AGE-SECRET-KEY-1"));
  EXPECT_EQ(sk, ToUpperAscii(sk));
  const std::string pk = id.ToRecipient().Encode();
  EXPECT_TRUE(pk.starts_with("age1"));
  EXPECT_EQ(pk.size(), 62u);
  auto parsed = ParseRecipient(pk);
  ASSERT_TRUE(parsed);
  EXPECT_EQ(parsed->public_key, id.ToRecipient().public_key);
  auto ids = ParseIdentityFile(FormatIdentityFile(id), "key.txt");
  ASSERT_TRUE(ids);
  ASSERT_EQ(ids->size(), 1u);
  EXPECT_EQ((*ids)[0].secret_key, id.secret_key);
}

TEST(AgeKeysTest, SpecExampleKeyPair) {
  // c2sp.org/age: this identity's recipient is the spec's example recipient.
  auto ids = ParseIdentityFile("AGE-SECRET-KEY-1GFPYYSJZGFPYYSJZGFPYYSJZGFPYYSJZGFPYYSJZGFPYYSJZGFPQ4EGAEX\n", "spec");
  ASSERT_TRUE(ids) << ids.error().ToString();
  EXPECT_EQ((*ids)[0].ToRecipient().Encode(), "age1zvkyg2lqzraa2lnjvqej32nkuu0ues2s82hzrye869xeexvn73equnujwj");
}

TEST(AgeKeysTest, ParseRecipientSaysWhatIsWrong) {
  const X25519Identity id = NewIdentity();
  const std::string pk = id.ToRecipient().Encode();
  auto expect_error = [](std::string_view text, std::string_view needle) {
    auto r = ParseRecipient(text);
    ASSERT_FALSE(r) << text;
    EXPECT_NE(r.error().message.find(needle), std::string::npos) << r.error().message;
  };
  expect_error("", "empty");
  expect_error(id.Encode(), "secret key");
  expect_error("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIG", "SSH");
  expect_error("hello", "not an age recipient");
  std::string typo = pk;
  typo[10] = typo[10] == 'q' ? 'p' : 'q';
  expect_error(typo, "checksum");
  expect_error(ToUpperAscii(pk), "lower case");
  std::string mixed = pk;
  mixed[5] = static_cast<char>(std::toupper(static_cast<unsigned char>(mixed[5])));
  if (mixed != pk) expect_error(mixed, "mixed");
  std::vector<std::uint8_t> short_key(31, 7);
  expect_error(*Bech32Encode("age", short_key), "31 bytes");
  expect_error(*Bech32Encode("age1pq", short_key), "unsupported recipient type");
}

TEST(AgeKeysTest, RecipientsFileCommentsAndLineNumbers) {
  const std::string a = NewIdentity().ToRecipient().Encode();
  const std::string b = NewIdentity().ToRecipient().Encode();
  auto ok = ParseRecipientsFile("# team keys\n\n" + a + "\r\n  " + b + "  \n# end\n", "team.txt");
  ASSERT_TRUE(ok) << ok.error().ToString();
  ASSERT_EQ(ok->size(), 2u);
  EXPECT_EQ((*ok)[1].Encode(), b);
  auto bad = ParseRecipientsFile("# c\n" + a + "\nage1qqqq\n", "team.txt");
  ASSERT_FALSE(bad);
  EXPECT_TRUE(bad.error().message.starts_with("team.txt:3: ")) << bad.error().message;
  auto empty = ParseRecipientsFile("# nothing\n\n", "none.txt");
  ASSERT_FALSE(empty);
  EXPECT_NE(empty.error().message.find("none.txt"), std::string::npos);
}

TEST(AgeKeysTest, IdentityFileErrorsNameLineWithoutEchoingSecrets) {
  const X25519Identity id = NewIdentity();
  std::string damaged = id.Encode();
  damaged[20] = damaged[20] == 'Q' ? 'P' : 'Q';
  auto bad = ParseIdentityFile("# created: x\n# public key: y\n" + damaged + "\n", "key.txt");
  ASSERT_FALSE(bad);
  EXPECT_TRUE(bad.error().message.starts_with("key.txt:3: ")) << bad.error().message;
  EXPECT_EQ(bad.error().message.find(damaged.substr(16, 20)), std::string::npos);
  auto lower = ParseIdentityFile(ToLowerAscii(id.Encode()) + "\n", "key.txt");
  ASSERT_FALSE(lower);
  EXPECT_NE(lower.error().message.find("upper case"), std::string::npos);
  auto pub = ParseIdentityFile(id.ToRecipient().Encode() + "\n", "key.txt");
  ASSERT_FALSE(pub);
  EXPECT_NE(pub.error().message.find("recipient"), std::string::npos);
  EXPECT_FALSE(ParseIdentityFile("# only comments\n", "key.txt"));
}

TEST(AgeStreamTest, RoundTripAtChunkBoundaries) {
  const X25519Identity id = NewIdentity();
  for (std::size_t n : {std::size_t{0}, std::size_t{1}, kChunkSize - 1, kChunkSize, kChunkSize + 1, 2 * kChunkSize,
                        2 * kChunkSize + 5, std::size_t{5} << 20}) {
    const std::string plain = RandomText(n, static_cast<std::uint32_t>(n));
    const std::string file = Encrypt({id.ToRecipient()}, plain);
    // Size: header, nonce, then one tag per chunk (at least one chunk).
    const std::size_t chunks = n == 0 ? 1 : (n + kChunkSize - 1) / kChunkSize;
    EXPECT_EQ(file.size(), HeaderLength(file) + 16 + n + 16 * chunks) << n;
    Outcome o = DecryptAll(file, {id});
    ASSERT_FALSE(o.error) << n << ": " << o.error->ToString();
    EXPECT_EQ(o.plain, plain) << n;
  }
}

TEST(AgeStreamTest, StreamingWritesInOddPiecesAndCountsBytes) {
  const X25519Identity id = NewIdentity();
  const std::string plain = RandomText(3 * kChunkSize + 1234, 7);
  std::string file;
  auto enc = Encryptor::Create({id.ToRecipient()}, [&file](Bytes b) -> Result<void> {
    file.append(reinterpret_cast<const char*>(b.data()), b.size());
    return {};
  });
  ASSERT_TRUE(enc);
  EXPECT_EQ((*enc)->bytes_written(), file.size());
  const std::uint64_t head = (*enc)->bytes_written();
  std::size_t pos = 0;
  std::mt19937 rng(3);
  while (pos < plain.size()) {
    const std::size_t n = std::min<std::size_t>(plain.size() - pos, rng() % 100000);
    ASSERT_TRUE((*enc)->Write(AsBytes(std::string_view(plain).substr(pos, n))));
    pos += n;
    // Memory stays bounded: only whole chunks leave, at most one waits.
    const std::uint64_t body = (*enc)->bytes_written() - head;
    EXPECT_EQ(body % kEncChunkSize, 0u);
    EXPECT_LE(pos - body / kEncChunkSize * kChunkSize, kChunkSize);
  }
  ASSERT_TRUE((*enc)->Finish());
  EXPECT_EQ((*enc)->bytes_written(), file.size());
  EXPECT_FALSE((*enc)->Finish());
  EXPECT_FALSE((*enc)->Write(AsBytes(std::string_view("x"))));
  Outcome o = DecryptAll(file, {id}, 333);  // reads that straddle chunks
  ASSERT_FALSE(o.error) << o.error->ToString();
  EXPECT_EQ(o.plain, plain);
}

TEST(AgeStreamTest, SinkErrorPropagatesAndPoisons) {
  const X25519Identity id = NewIdentity();
  int calls = 0;
  auto enc = Encryptor::Create({id.ToRecipient()}, [&calls](Bytes) -> Result<void> {
    if (++calls > 1) return Fail(ErrorCode::kIo, "disk full");
    return {};
  });
  ASSERT_TRUE(enc);
  const std::string big(2 * kChunkSize + 1, 'a');
  auto w = (*enc)->Write(AsBytes(big));
  ASSERT_FALSE(w);
  EXPECT_EQ(w.error().message, "disk full");
  EXPECT_FALSE((*enc)->Finish());
}

TEST(AgeRecipientsTest, MultipleRecipientsEachDecryptAlone) {
  const X25519Identity a = NewIdentity(), b = NewIdentity(), c = NewIdentity();
  const std::string plain = RandomText(100000, 1);
  const std::string file = Encrypt({a.ToRecipient(), b.ToRecipient(), c.ToRecipient()}, plain);
  for (const auto& id : {a, b, c}) {
    Outcome o = DecryptAll(file, {id});
    ASSERT_FALSE(o.error) << o.error->ToString();
    EXPECT_EQ(o.plain, plain);
  }
  // An unrelated identity listed first does not get in the way.
  Outcome o = DecryptAll(file, {NewIdentity(), c});
  EXPECT_FALSE(o.error);
}

TEST(AgeRecipientsTest, WrongKeyIsNoIdentity) {
  const std::string file = Encrypt({NewIdentity().ToRecipient()}, "secret");
  Outcome o = DecryptAll(file, {NewIdentity(), NewIdentity()});
  ASSERT_TRUE(o.error);
  EXPECT_FALSE(o.opened);
  EXPECT_EQ(o.error->code, ErrorCode::kNoIdentity);
  EXPECT_EQ(o.error->message, "no identity matched any of the file's recipients");
  Outcome p = DecryptAll(file, {ScryptIdentity{"pw"}});
  EXPECT_EQ(p.error->code, ErrorCode::kNoIdentity);
  EXPECT_FALSE(Decryptor::Open([](std::span<std::byte>) -> Result<std::size_t> { return 0; }, {}));
}

TEST(AgeScryptTest, RoundTripWrongPassphraseAndWorkFactorLimit) {
  const std::string plain = RandomText(70000, 9);
  const std::string file = Encrypt({ScryptRecipient{"correct horse", 10}}, plain);
  EXPECT_NE(file.find("\n-> scrypt "), std::string::npos);
  EXPECT_NE(file.find(" 10\n"), std::string::npos);
  Outcome ok = DecryptAll(file, {ScryptIdentity{"correct horse"}});
  ASSERT_FALSE(ok.error) << ok.error->ToString();
  EXPECT_EQ(ok.plain, plain);
  Outcome wrong = DecryptAll(file, {ScryptIdentity{"battery staple"}});
  ASSERT_TRUE(wrong.error);
  EXPECT_EQ(wrong.error->code, ErrorCode::kNoIdentity);
  Outcome limit = DecryptAll(file, {ScryptIdentity{"correct horse", 9}});
  ASSERT_TRUE(limit.error);
  EXPECT_EQ(limit.error->code, ErrorCode::kLimit);
  EXPECT_NE(limit.error->message.find("2^10 exceeds the maximum 2^9"), std::string::npos);
  // An X25519 identity simply does not match a passphrase file.
  EXPECT_EQ(DecryptAll(file, {NewIdentity()}).error->code, ErrorCode::kNoIdentity);
  EXPECT_FALSE(ScryptRecipient::kWarning.empty());
}

TEST(AgeScryptTest, MixingIsRejectedBothWays) {
  const X25519Identity id = NewIdentity();
  auto mixed = EncryptToString({ScryptRecipient{"pw", 10}, id.ToRecipient()}, AsBytes(std::string_view("x")));
  ASSERT_FALSE(mixed);
  EXPECT_EQ(mixed.error().code, ErrorCode::kInvalidArgument);
  EXPECT_FALSE(EncryptToString({ScryptRecipient{"a", 10}, ScryptRecipient{"b", 10}}, {}));
  EXPECT_FALSE(EncryptToString({ScryptRecipient{"", 10}}, {}));
  EXPECT_FALSE(EncryptToString({ScryptRecipient{"pw", 0}}, {}));
  EXPECT_FALSE(EncryptToString({}, {}));

  // Splice an X25519 stanza into a passphrase file's header: decryption must
  // refuse before trying the passphrase (the MAC is not even reached).
  const std::string pw_file = Encrypt({ScryptRecipient{"pw", 10}}, "x");
  const std::string x_file = Encrypt({id.ToRecipient()}, "x");
  const std::size_t x_stanza = x_file.find("-> X25519");
  const std::size_t x_end = x_file.find("---");
  std::string spliced = pw_file;
  spliced.insert(pw_file.find("---"), x_file.substr(x_stanza, x_end - x_stanza));
  for (const std::vector<Identity>& ids : {std::vector<Identity>{ScryptIdentity{"pw"}}, std::vector<Identity>{id}}) {
    Outcome o = DecryptAll(spliced, ids);
    ASSERT_TRUE(o.error);
    EXPECT_EQ(o.error->code, ErrorCode::kFormat);
    EXPECT_NE(o.error->message.find("scrypt stanza must be the only stanza"), std::string::npos);
  }
}

TEST(AgeHeaderTest, UnknownStanzasAreIgnoredButMacCoversThem) {
  // A file from age with a grease-like extra stanza would be MACed by the
  // sender; here we check that an inserted stanza breaks the MAC.
  const X25519Identity id = NewIdentity();
  std::string file = Encrypt({id.ToRecipient()}, "hello");
  file.insert(file.find("---"), "-> example.com/grease a b\nAAAA\n");
  Outcome o = DecryptAll(file, {id});
  ASSERT_TRUE(o.error);
  EXPECT_EQ(o.error->code, ErrorCode::kAuthentication);
  EXPECT_NE(o.error->message.find("header MAC mismatch"), std::string::npos);
}

TEST(AgeHeaderTest, FlipInAnotherRecipientsStanzaIsAMacMismatch) {
  const X25519Identity a = NewIdentity(), b = NewIdentity();
  std::string file = Encrypt({a.ToRecipient(), b.ToRecipient()}, "hello");
  // Second stanza's body: its first base64 character, swapped for another.
  const std::size_t second = file.find("-> X25519", file.find("-> X25519") + 1);
  const std::size_t body = file.find('\n', second) + 1;
  file[body] = file[body] == 'A' ? 'B' : 'A';
  Outcome o = DecryptAll(file, {a});
  ASSERT_TRUE(o.error);
  EXPECT_EQ(o.error->code, ErrorCode::kAuthentication);
  EXPECT_NE(o.error->message.find("header MAC mismatch"), std::string::npos);
  // For b the damaged stanza is its own: it cannot be told from a stanza for
  // someone else.
  EXPECT_EQ(DecryptAll(file, {b}).error->code, ErrorCode::kNoIdentity);
}

TEST(AgeHeaderTest, MalformedHeadersNameTheLine) {
  const X25519Identity id = NewIdentity();
  const std::string good = Encrypt({id.ToRecipient()}, "hello");
  auto expect = [&](std::string file, ErrorCode code, std::string_view needle) {
    Outcome o = DecryptAll(file, {id});
    ASSERT_TRUE(o.error) << needle;
    EXPECT_EQ(o.error->code, code) << o.error->ToString();
    EXPECT_NE(o.error->message.find(needle), std::string::npos) << o.error->message;
  };
  expect("", ErrorCode::kFormat, "empty");
  expect("hello world\n", ErrorCode::kFormat, "not an age file");
  expect("age-encryption.org/v2\n", ErrorCode::kUnsupported, "unsupported version");
  expect("age-encrypt", ErrorCode::kTruncated, "version line");
  std::string s = good;
  s.replace(s.find("-> "), 3, "->  ");
  expect(s, ErrorCode::kFormat, "line 2");
  s = good;
  s.insert(s.find("---"), "garbage\n");
  expect(s, ErrorCode::kFormat, "line 4");
  s = good;
  s.insert(s.find("---") + 3, " ");
  expect(s, ErrorCode::kFormat, "MAC line");
  s = good;
  s.replace(s.find("-> X25519 ") + 10, 1, "\x01");
  expect(s, ErrorCode::kFormat, "line 2");
  // A body line of 64 columns must be followed by another line.
  s = good;
  const std::size_t body = s.find('\n', s.find("-> X25519")) + 1;
  s.insert(body, std::string(64, 'A') + "\n");
  expect(s, ErrorCode::kFormat, "body is 80 bytes");
  // A header that never ends is bounded.
  std::string huge = "age-encryption.org/v1\n-> a\n" + std::string(2 << 20, 'A');
  expect(huge, ErrorCode::kLimit, "larger than");
}

TEST(AgePayloadTest, ChunkSequenceRules) {
  const X25519Identity id = NewIdentity();
  const std::string full(kChunkSize, 'f');
  // Sanity: crafted files in the normal shapes decrypt.
  EXPECT_EQ(DecryptAll(Craft(id, {{"", true}}), {id}).plain, "");
  EXPECT_EQ(DecryptAll(Craft(id, {{full, false}, {"x", true}}), {id}).plain, full + "x");
  EXPECT_EQ(DecryptAll(Craft(id, {{full, true}}), {id}).plain, full);

  // A full last chunk must carry the last flag: an empty final chunk after it
  // is invalid, and nothing of the last chunk is released before the check.
  Outcome empty_after_full = DecryptAll(Craft(id, {{full, false}, {"", true}}), {id});
  ASSERT_TRUE(empty_after_full.error);
  EXPECT_EQ(empty_after_full.error->code, ErrorCode::kFormat);
  EXPECT_NE(empty_after_full.error->message.find("empty final chunk"), std::string::npos);
  EXPECT_EQ(empty_after_full.plain, full);

  // A non-final empty chunk is invalid.
  Outcome empty_middle = DecryptAll(Craft(id, {{"", false}, {"x", true}}), {id});
  ASSERT_TRUE(empty_middle.error);
  EXPECT_EQ(empty_middle.error->code, ErrorCode::kAuthentication);
  EXPECT_EQ(empty_middle.plain, "");

  // Missing final chunk: stream ends after a full non-final chunk.
  Outcome missing = DecryptAll(Craft(id, {{full, false}}), {id});
  ASSERT_TRUE(missing.error);
  EXPECT_EQ(missing.error->code, ErrorCode::kTruncated);
  EXPECT_NE(missing.error->message.find("without a final chunk"), std::string::npos);
  EXPECT_EQ(missing.plain, "");

  // A short chunk flagged non-final at the end.
  Outcome short_middle = DecryptAll(Craft(id, {{"abc", false}}), {id});
  EXPECT_EQ(short_middle.error->code, ErrorCode::kAuthentication);

  // Data after a final chunk: a whole second chunk, or a few bytes.
  Outcome after_full = DecryptAll(Craft(id, {{full, true}, {"x", true}}), {id});
  ASSERT_TRUE(after_full.error);
  EXPECT_EQ(after_full.error->code, ErrorCode::kFormat);
  EXPECT_NE(after_full.error->message.find("trailing data after final chunk 0"), std::string::npos);
  EXPECT_EQ(after_full.plain, "");
  Outcome junk = DecryptAll(Craft(id, {{full, true}}) + "J", {id});
  EXPECT_EQ(junk.error->code, ErrorCode::kFormat);
  Outcome short_junk = DecryptAll(Craft(id, {{"abc", true}}) + "J", {id});
  EXPECT_EQ(short_junk.error->code, ErrorCode::kAuthentication);
  EXPECT_EQ(short_junk.plain, "");
}

TEST(AgeArmorTest, ArmorVariants) {
  const X25519Identity id = NewIdentity();
  const std::string plain = RandomText(100000, 4);
  const std::string bin = Encrypt({id.ToRecipient()}, plain);
  EXPECT_EQ(DecryptAll(Armor(bin), {id}).plain, plain);
  EXPECT_EQ(DecryptAll(Armor(bin, "\r\n"), {id}).plain, plain);
  EXPECT_EQ(DecryptAll(" \n\t" + Armor(bin) + "\n\n  ", {id}).plain, plain);
  // Armor of a file whose length is a multiple of 48: last line is full.
  const std::string bin48 = Encrypt({id.ToRecipient()}, RandomText(48 * 1000, 5));
  Outcome o48 = DecryptAll(Armor(bin48), {id});
  EXPECT_FALSE(o48.error);

  auto expect = [&](const std::string& file, ErrorCode code, std::string_view needle) {
    Outcome o = DecryptAll(file, {id});
    ASSERT_TRUE(o.error) << needle;
    EXPECT_EQ(o.error->code, code) << o.error->ToString();
    EXPECT_NE(o.error->message.find(needle), std::string::npos) << o.error->message;
    EXPECT_NE(o.plain, plain);
  };
  expect(Armor(bin) + "garbage", ErrorCode::kFormat, "data after the END line");
  std::string a = Armor(bin);
  a.erase(a.find("-----END"));
  expect(a, ErrorCode::kTruncated, "before the END line");
  a = Armor(bin);
  a.insert(a.find('\n') + 1 + 64, "AAAA");  // 68 columns
  expect(a, ErrorCode::kFormat, "longer than 64");
  a = Armor(bin);
  a.erase(a.find('\n') + 1 + 60, 4);  // a short line in the middle
  expect(a, ErrorCode::kFormat, "expected the END line");
  a = Armor(bin);
  a.replace(a.find('\n') + 1, 1, "*");
  expect(a, ErrorCode::kFormat, "base64");
  expect("-----BEGIN AGE ENCRYPTED FILE-----\n-----END AGE ENCRYPTED FILE-----\n", ErrorCode::kFormat, "no data");
  expect("-----BEGIN AGE ENCRYPTED FILE----- x\n", ErrorCode::kFormat, "BEGIN");
}

TEST(AgeTamperTest, EveryHeaderByteAndSampledPayloadBytes) {
  const X25519Identity a = NewIdentity(), b = NewIdentity();
  const std::string plain = RandomText(2 * kChunkSize + 1000, 11);
  const std::string file = Encrypt({a.ToRecipient(), b.ToRecipient()}, plain);
  const std::size_t header = HeaderLength(file);
  const std::size_t payload = header + 16;

  int mac_mismatches = 0;
  for (std::size_t pos = 0; pos < header; ++pos) {
    std::string t = file;
    t[pos] = static_cast<char>(t[pos] ^ 0x01);
    Outcome o = DecryptAll(t, {a});
    ASSERT_TRUE(o.error) << "flip at " << pos << " was accepted";
    EXPECT_FALSE(o.opened) << pos;
    const ErrorCode c = o.error->code;
    EXPECT_TRUE(c == ErrorCode::kAuthentication || c == ErrorCode::kFormat || c == ErrorCode::kNoIdentity ||
                c == ErrorCode::kUnsupported || c == ErrorCode::kTruncated)
        << pos << ": " << o.error->ToString();
    if (c == ErrorCode::kAuthentication) ++mac_mismatches;
  }
  EXPECT_GT(mac_mismatches, 10);  // flips in b's stanza and the MAC itself

  std::vector<std::size_t> positions;
  for (std::size_t i = 0; i < 16; ++i) positions.push_back(header + i);  // nonce
  for (std::size_t chunk = 0; chunk < 3; ++chunk) {
    const std::size_t start = payload + chunk * kEncChunkSize;
    const std::size_t end = std::min(file.size(), start + kEncChunkSize);
    for (std::size_t d : {0, 1, 2, 100, 4096, 30000}) {
      if (start + d < end) positions.push_back(start + d);
    }
    for (std::size_t d = 1; d <= 20; ++d) positions.push_back(end - d);  // tag and just before
  }
  for (std::size_t pos : positions) {
    std::string t = file;
    t[pos] = static_cast<char>(t[pos] ^ 0x80);
    Outcome o = DecryptAll(t, {b});
    ASSERT_TRUE(o.error) << "flip at " << pos << " was accepted";
    const std::size_t chunk = pos < payload ? 0 : (pos - payload) / kEncChunkSize;
    EXPECT_EQ(o.error->code, ErrorCode::kAuthentication) << pos;
    EXPECT_NE(o.error->message.find(fmt::format("payload chunk {} failed authentication", chunk)), std::string::npos)
        << pos << ": " << o.error->message;
    // Exactly the verified chunks before the damaged one were released.
    EXPECT_EQ(o.plain, plain.substr(0, chunk * kChunkSize)) << pos;
  }
}

TEST(AgeTamperTest, TruncationAtManyLengths) {
  const X25519Identity id = NewIdentity();
  const std::string plain = RandomText(3 * kChunkSize + 500, 12);
  const std::string file = Encrypt({id.ToRecipient()}, plain);
  const std::size_t header = HeaderLength(file);
  const std::size_t payload = header + 16;
  std::vector<std::size_t> lengths;
  for (std::size_t n = 0; n < payload + 40; ++n) lengths.push_back(n);
  for (std::size_t k = 1; k <= 3; ++k) {
    for (std::size_t d : {0, 1, 15, 16, 17, 1000}) {
      lengths.push_back(payload + k * kEncChunkSize - d);
      lengths.push_back(payload + k * kEncChunkSize + d);
    }
  }
  lengths.push_back(file.size() - 1);
  for (std::size_t len : lengths) {
    if (len >= file.size()) continue;
    Outcome o = DecryptAll(file.substr(0, len), {id});
    ASSERT_TRUE(o.error) << "truncation to " << len << " was accepted";
    if (len < payload) {
      EXPECT_FALSE(o.opened);
      EXPECT_TRUE(o.error->code == ErrorCode::kTruncated || o.error->code == ErrorCode::kFormat)
          << len << ": " << o.error->ToString();
      continue;
    }
    const std::size_t p = len - payload;
    const std::size_t full = p / kEncChunkSize;
    const std::size_t rem = p % kEncChunkSize;
    std::size_t released = 0;
    if (rem == 0) {
      // Ends exactly after a chunk: that chunk verifies only as non-final.
      EXPECT_EQ(o.error->code, ErrorCode::kTruncated) << len << ": " << o.error->ToString();
      released = full == 0 ? 0 : (full - 1) * kChunkSize;
    } else if (rem < 16) {
      EXPECT_EQ(o.error->code, ErrorCode::kTruncated) << len << ": " << o.error->ToString();
      released = full * kChunkSize;
    } else {
      // Mid-chunk: indistinguishable from a damaged final chunk.
      EXPECT_EQ(o.error->code, ErrorCode::kAuthentication) << len << ": " << o.error->ToString();
      EXPECT_NE(o.error->message.find("truncated"), std::string::npos);
      released = full * kChunkSize;
    }
    EXPECT_EQ(o.plain, plain.substr(0, released)) << len;
  }
}

TEST(AgeSourceTest, SourceErrorsPropagate) {
  const X25519Identity id = NewIdentity();
  auto dec = Decryptor::Open(
      [](std::span<std::byte>) -> Result<std::size_t> { return Fail(ErrorCode::kIo, "read failed: EIO"); }, {id});
  ASSERT_FALSE(dec);
  EXPECT_EQ(dec.error().code, ErrorCode::kIo);
}

}  // namespace
}  // namespace trawl::core::age
