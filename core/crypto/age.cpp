// SPDX-License-Identifier: Apache-2.0
// age v1 encryption and decryption: recipient stanzas (X25519, scrypt), the
// header MAC, and the STREAM payload (c2sp.org/age, "Payload").
#include "core/crypto/age.h"

#include <algorithm>
#include <cstring>
#include <optional>

#include <fmt/format.h>

#include "core/crypto/age_internal.h"

namespace trawl::core::age {

using internal::FileKey;
using internal::kEncChunkSize;
using internal::Key32;
using internal::kTagSize;

namespace {

constexpr std::string_view kX25519Label = "age-encryption.org/v1/X25519";
constexpr std::string_view kScryptLabel = "age-encryption.org/v1/scrypt";
constexpr int kMaxEncryptWorkFactor = 22;

// Zeroes a secret on scope exit.
template <typename T>
struct CleanseOnExit {
  T& secret;
  ~CleanseOnExit() { internal::Cleanse(std::span<std::uint8_t>(secret.data(), secret.size())); }
};

std::vector<std::uint8_t> Concat(std::span<const std::uint8_t> a, std::span<const std::uint8_t> b) {
  std::vector<std::uint8_t> out(a.begin(), a.end());
  out.insert(out.end(), b.begin(), b.end());
  return out;
}

Result<internal::Stanza> WrapX25519(const X25519Recipient& r, const FileKey& file_key, std::size_t index) {
  Key32 ephemeral{};
  CleanseOnExit<Key32> c1{ephemeral};
  TRAWL_TRY_VOID(internal::RandomBytes(ephemeral));
  auto share = internal::X25519Base(ephemeral);
  if (!share) return std::unexpected(std::move(share.error()));
  auto shared = internal::X25519(ephemeral, r.public_key);
  if (!shared) {
    return Fail(ErrorCode::kInvalidArgument,
                fmt::format("recipient {} ({}) is not a usable X25519 public key", index + 1, r.Encode()));
  }
  CleanseOnExit<Key32> c2{*shared};
  auto wrap_key = internal::HkdfSha256(*shared, Concat(*share, r.public_key), kX25519Label);
  if (!wrap_key) return std::unexpected(std::move(wrap_key.error()));
  CleanseOnExit<Key32> c3{*wrap_key};
  auto body = internal::SealZeroNonce(*wrap_key, file_key);
  if (!body) return std::unexpected(std::move(body.error()));
  return internal::Stanza{{"X25519", internal::Base64RawEncode(*share)}, std::move(*body), 0};
}

Result<internal::Stanza> WrapScrypt(const ScryptRecipient& r, const FileKey& file_key) {
  if (r.passphrase.empty()) return Fail(ErrorCode::kInvalidArgument, "empty passphrase");
  if (r.log2_work_factor < 1 || r.log2_work_factor > kMaxEncryptWorkFactor) {
    return Fail(ErrorCode::kInvalidArgument,
                fmt::format("scrypt work factor 2^{} outside 2^1..2^{}", r.log2_work_factor, kMaxEncryptWorkFactor));
  }
  std::array<std::uint8_t, 16> salt{};
  TRAWL_TRY_VOID(internal::RandomBytes(salt));
  const std::string_view label = kScryptLabel;
  auto key = internal::Scrypt(
      r.passphrase,
      Concat(std::span<const std::uint8_t>(reinterpret_cast<const std::uint8_t*>(label.data()), label.size()), salt),
      r.log2_work_factor);
  if (!key) return std::unexpected(std::move(key.error()));
  CleanseOnExit<Key32> c{*key};
  auto body = internal::SealZeroNonce(*key, file_key);
  if (!body) return std::unexpected(std::move(body.error()));
  return internal::Stanza{
      {"scrypt", internal::Base64RawEncode(salt), std::to_string(r.log2_work_factor)}, std::move(*body), 0};
}

}  // namespace

// ---------------------------------------------------------------------------

struct Encryptor::State {
  Sink sink;
  internal::ChunkCipher cipher;
  std::vector<std::byte> plain;  // pending plaintext, at most one chunk
  std::vector<std::byte> out;    // one ciphertext chunk
  std::uint64_t counter = 0;
  std::uint64_t written = 0;
  bool finished = false;
  bool failed = false;

  Result<void> Emit(Bytes data) {
    auto r = sink(data);
    if (!r) {
      failed = true;
      return r;
    }
    written += data.size();
    return {};
  }

  Result<void> SealChunk(Bytes plaintext, bool last) {
    auto sealed = cipher.Seal(counter, last, plaintext, out);
    if (!sealed) {
      failed = true;
      return sealed;
    }
    ++counter;
    return Emit(std::span<const std::byte>(out).first(plaintext.size() + kTagSize));
  }
};

Encryptor::Encryptor(std::unique_ptr<State> state) : state_(std::move(state)) {}
Encryptor::~Encryptor() = default;

Result<std::unique_ptr<Encryptor>> Encryptor::Create(const std::vector<Recipient>& recipients, Sink sink) {
  if (recipients.empty()) return Fail(ErrorCode::kInvalidArgument, "age: no recipients");
  if (!sink) return Fail(ErrorCode::kInvalidArgument, "age: no sink");
  const auto scrypt_count = std::count_if(recipients.begin(), recipients.end(), [](const Recipient& r) {
    return std::holds_alternative<ScryptRecipient>(r);
  });
  if (scrypt_count > 0 && recipients.size() > 1) {
    return Fail(ErrorCode::kInvalidArgument,
                "age: a passphrase (scrypt) recipient must be the only recipient of a file");
  }
  FileKey file_key{};
  CleanseOnExit<FileKey> c1{file_key};
  TRAWL_TRY_VOID(internal::RandomBytes(file_key));

  std::vector<internal::Stanza> stanzas;
  for (std::size_t i = 0; i < recipients.size(); ++i) {
    Result<internal::Stanza> stanza = std::holds_alternative<X25519Recipient>(recipients[i])
                                          ? WrapX25519(std::get<X25519Recipient>(recipients[i]), file_key, i)
                                          : WrapScrypt(std::get<ScryptRecipient>(recipients[i]), file_key);
    if (!stanza) return std::unexpected(std::move(stanza.error()));
    stanzas.push_back(std::move(*stanza));
  }

  std::string header = internal::FormatHeaderWithoutMac(stanzas) + "---";
  auto mac_key = internal::HkdfSha256(file_key, {}, "header");
  if (!mac_key) return std::unexpected(std::move(mac_key.error()));
  CleanseOnExit<Key32> c2{*mac_key};
  auto mac = internal::HmacSha256(*mac_key, internal::U8(AsBytes(header)));
  if (!mac) return std::unexpected(std::move(mac.error()));
  header += ' ';
  header += internal::Base64RawEncode(*mac);
  header += '\n';

  std::array<std::uint8_t, internal::kPayloadNonceSize> nonce{};
  TRAWL_TRY_VOID(internal::RandomBytes(nonce));
  auto payload_key = internal::HkdfSha256(file_key, nonce, "payload");
  if (!payload_key) return std::unexpected(std::move(payload_key.error()));
  CleanseOnExit<Key32> c3{*payload_key};

  auto state = std::make_unique<State>();
  state->sink = std::move(sink);
  TRAWL_TRY_VOID(state->cipher.SetKey(*payload_key));
  state->plain.reserve(kChunkSize);
  state->out.resize(kEncChunkSize);
  header.append(reinterpret_cast<const char*>(nonce.data()), nonce.size());
  TRAWL_TRY_VOID(state->Emit(AsBytes(header)));
  return std::unique_ptr<Encryptor>(new Encryptor(std::move(state)));
}

Result<void> Encryptor::Write(Bytes plaintext) {
  State& s = *state_;
  if (s.finished) return Fail(ErrorCode::kInvalidArgument, "age: Write after Finish");
  if (s.failed) return Fail(ErrorCode::kIo, "age: encryptor unusable after an earlier error");
  while (!plaintext.empty()) {
    // A full buffered chunk is sealed as non-final only once more data shows
    // it is not the last (a full final chunk must carry the last flag).
    if (s.plain.size() == kChunkSize) {
      TRAWL_TRY_VOID(s.SealChunk(s.plain, false));
      s.plain.clear();
    }
    if (s.plain.empty() && plaintext.size() > kChunkSize) {
      TRAWL_TRY_VOID(s.SealChunk(plaintext.first(kChunkSize), false));
      plaintext = plaintext.subspan(kChunkSize);
      continue;
    }
    const std::size_t take = std::min(kChunkSize - s.plain.size(), plaintext.size());
    s.plain.insert(s.plain.end(), plaintext.begin(), plaintext.begin() + static_cast<std::ptrdiff_t>(take));
    plaintext = plaintext.subspan(take);
  }
  return {};
}

Result<void> Encryptor::Finish() {
  State& s = *state_;
  if (s.finished) return Fail(ErrorCode::kInvalidArgument, "age: Finish called twice");
  if (s.failed) return Fail(ErrorCode::kIo, "age: encryptor unusable after an earlier error");
  s.finished = true;
  TRAWL_TRY_VOID(s.SealChunk(s.plain, true));
  internal::Cleanse(std::span<std::uint8_t>(reinterpret_cast<std::uint8_t*>(s.plain.data()), s.plain.size()));
  s.plain.clear();
  return {};
}

std::uint64_t Encryptor::bytes_written() const { return state_->written; }

// ---------------------------------------------------------------------------

namespace {

// Tries one identity against one stanza: a file key, nullopt when the stanza
// is not for this identity, or an error for a malformed stanza of its type.
Result<std::optional<FileKey>> UnwrapX25519(const X25519Identity& id, const Key32& our_public,
                                            const internal::Stanza& s) {
  if (s.args[0] != "X25519") return std::optional<FileKey>();
  if (s.args.size() != 2) {
    return Fail(ErrorCode::kFormat,
                fmt::format("age header line {}: X25519 stanza must have 2 arguments, has {}", s.line, s.args.size()));
  }
  auto share = internal::Base64RawDecode(s.args[1]);
  if (!share || share->size() != 32) {
    return Fail(ErrorCode::kFormat,
                fmt::format("age header line {}: X25519 share is not canonical base64 of 32 bytes", s.line));
  }
  if (s.body.size() != 32) {
    return Fail(ErrorCode::kFormat,
                fmt::format("age header line {}: X25519 stanza body is {} bytes, expected 32", s.line, s.body.size()));
  }
  Key32 share_key{};
  std::copy(share->begin(), share->end(), share_key.begin());
  auto shared = internal::X25519(id.secret_key, share_key);
  if (!shared) {
    return Fail(shared.error().code, fmt::format("age header line {}: {}", s.line, shared.error().message));
  }
  CleanseOnExit<Key32> c1{*shared};
  auto wrap_key = internal::HkdfSha256(*shared, Concat(share_key, our_public), kX25519Label);
  if (!wrap_key) return std::unexpected(std::move(wrap_key.error()));
  CleanseOnExit<Key32> c2{*wrap_key};
  auto plain = internal::OpenZeroNonce(*wrap_key, s.body);
  if (!plain) return std::unexpected(std::move(plain.error()));
  if (!*plain) return std::optional<FileKey>();
  FileKey fk{};
  std::copy((*plain)->begin(), (*plain)->end(), fk.begin());
  internal::Cleanse(**plain);
  return std::optional<FileKey>(fk);
}

Result<std::optional<FileKey>> UnwrapScrypt(const ScryptIdentity& id, const internal::Stanza& s) {
  if (s.args[0] != "scrypt") return std::optional<FileKey>();
  if (s.args.size() != 3) {
    return Fail(ErrorCode::kFormat,
                fmt::format("age header line {}: scrypt stanza must have 3 arguments, has {}", s.line, s.args.size()));
  }
  auto salt = internal::Base64RawDecode(s.args[1]);
  if (!salt || salt->size() != 16) {
    return Fail(ErrorCode::kFormat,
                fmt::format("age header line {}: scrypt salt is not canonical base64 of 16 bytes", s.line));
  }
  const std::string& wf_text = s.args[2];
  const bool digits = !wf_text.empty() && wf_text.size() <= 2 && wf_text[0] >= '1' && wf_text[0] <= '9' &&
                      std::all_of(wf_text.begin(), wf_text.end(), [](char c) { return c >= '0' && c <= '9'; });
  if (!digits) {
    return Fail(ErrorCode::kFormat,
                fmt::format("age header line {}: scrypt work factor '{}' is not a decimal number without leading "
                            "zeros (at most 2 digits)",
                            s.line, wf_text.substr(0, 8)));
  }
  const int wf = std::stoi(wf_text);
  if (wf > id.max_log2_work_factor) {
    return Fail(ErrorCode::kLimit, fmt::format("age header line {}: scrypt work factor 2^{} exceeds the maximum 2^{}",
                                               s.line, wf, id.max_log2_work_factor));
  }
  if (s.body.size() != 32) {
    return Fail(ErrorCode::kFormat,
                fmt::format("age header line {}: scrypt stanza body is {} bytes, expected 32", s.line, s.body.size()));
  }
  if (id.passphrase.empty()) return Fail(ErrorCode::kInvalidArgument, "age: empty passphrase");
  const std::string_view label = kScryptLabel;
  auto key = internal::Scrypt(
      id.passphrase,
      Concat(std::span<const std::uint8_t>(reinterpret_cast<const std::uint8_t*>(label.data()), label.size()), *salt),
      wf);
  if (!key) return std::unexpected(std::move(key.error()));
  CleanseOnExit<Key32> c{*key};
  auto plain = internal::OpenZeroNonce(*key, s.body);
  if (!plain) return std::unexpected(std::move(plain.error()));
  if (!*plain) return std::optional<FileKey>();
  FileKey fk{};
  std::copy((*plain)->begin(), (*plain)->end(), fk.begin());
  internal::Cleanse(**plain);
  return std::optional<FileKey>(fk);
}

}  // namespace

struct Decryptor::State {
  std::unique_ptr<internal::BufferedSource> in;
  internal::ChunkCipher cipher;
  std::vector<std::byte> enc;    // one ciphertext chunk plus one lookahead byte
  std::size_t enc_carry = 0;     // lookahead bytes carried into enc[0]
  std::vector<std::byte> plain;  // verified plaintext of the current chunk
  std::size_t plain_size = 0;
  std::size_t plain_pos = 0;
  std::uint64_t counter = 0;
  bool done = false;
  std::optional<Error> error;

  void Wipe() {
    internal::Cleanse(std::span<std::uint8_t>(reinterpret_cast<std::uint8_t*>(plain.data()), plain.size()));
    plain_size = plain_pos = 0;
  }

  Result<void> Fail(ErrorCode code, std::string message) {
    Wipe();
    error = Error{code, std::move(message)};
    return std::unexpected(*error);
  }

  // Reads, verifies and decrypts the next chunk into `plain`. A chunk is final
  // when the input ends within one ciphertext chunk of its start, which needs
  // one byte of lookahead past a full chunk.
  Result<void> LoadChunk() {
    auto n = in->ReadFull(std::span<std::byte>(enc).subspan(enc_carry));
    if (!n) return Fail(n.error().code, n.error().message);
    const std::size_t total = enc_carry + *n;
    enc_carry = 0;
    const std::uint64_t index = counter;
    const Bytes all(enc.data(), total);
    if (total == 0) {
      return Fail(ErrorCode::kTruncated, "age payload: no chunk after the nonce (file truncated)");
    }
    if (total == kEncChunkSize + 1) {
      auto ok = cipher.Open(index, false, all.first(kEncChunkSize), plain);
      if (!ok) return Fail(ok.error().code, ok.error().message);
      if (!*ok) {
        auto as_last = cipher.Open(index, true, all.first(kEncChunkSize), plain);
        if (as_last && *as_last) {
          return Fail(ErrorCode::kFormat, fmt::format("age payload: trailing data after final chunk {}", index));
        }
        return Fail(ErrorCode::kAuthentication, fmt::format("age payload chunk {} failed authentication", index));
      }
      plain_size = kChunkSize;
      plain_pos = 0;
      enc[0] = enc[kEncChunkSize];
      enc_carry = 1;
      ++counter;
      return {};
    }
    if (total < kTagSize) {
      return Fail(
          ErrorCode::kTruncated,
          fmt::format("age payload chunk {}: {} bytes, shorter than its 16-byte tag (file truncated)", index, total));
    }
    auto ok = cipher.Open(index, true, all, plain);
    if (!ok) return Fail(ok.error().code, ok.error().message);
    if (!*ok) {
      if (total == kEncChunkSize) {
        auto as_middle = cipher.Open(index, false, all, plain);
        if (as_middle && *as_middle) {
          return Fail(ErrorCode::kTruncated,
                      fmt::format("age payload ends after chunk {} without a final chunk (file truncated)", index));
        }
      }
      // A short last chunk that does not verify is tampered, truncated or
      // followed by junk; cryptographically these look the same.
      return Fail(ErrorCode::kAuthentication,
                  fmt::format("age payload chunk {} failed authentication (the file is damaged, truncated, or has "
                              "trailing data)",
                              index));
    }
    if (total == kTagSize && index > 0) {
      return Fail(ErrorCode::kFormat,
                  fmt::format("age payload chunk {}: empty final chunk after a full chunk (not allowed)", index));
    }
    plain_size = total - kTagSize;
    plain_pos = 0;
    done = true;
    return {};
  }
};

Decryptor::Decryptor(std::unique_ptr<State> state) : state_(std::move(state)) {}
Decryptor::~Decryptor() {
  if (state_) state_->Wipe();
}

Result<std::unique_ptr<Decryptor>> Decryptor::Open(Source source, const std::vector<Identity>& identities) {
  if (identities.empty()) return Fail(ErrorCode::kInvalidArgument, "age: no identities");
  if (!source) return Fail(ErrorCode::kInvalidArgument, "age: no source");
  auto in = internal::DetectArmor(std::make_unique<internal::BufferedSource>(std::move(source)));
  if (!in) return std::unexpected(std::move(in.error()));
  auto header = internal::ReadHeader(**in);
  if (!header) return std::unexpected(std::move(header.error()));

  for (const internal::Stanza& s : header->stanzas) {
    if (s.args[0] == "scrypt" && header->stanzas.size() > 1) {
      return Fail(ErrorCode::kFormat,
                  fmt::format("age header line {}: an scrypt stanza must be the only stanza in the header", s.line));
    }
  }

  // Public keys of the X25519 identities, computed once.
  std::vector<Key32> publics(identities.size());
  for (std::size_t i = 0; i < identities.size(); ++i) {
    if (const auto* x = std::get_if<X25519Identity>(&identities[i])) {
      auto pk = internal::X25519Base(x->secret_key);
      if (!pk) return std::unexpected(std::move(pk.error()));
      publics[i] = *pk;
    }
  }

  std::optional<FileKey> file_key;
  for (const internal::Stanza& s : header->stanzas) {
    for (std::size_t i = 0; i < identities.size() && !file_key; ++i) {
      Result<std::optional<FileKey>> r = std::holds_alternative<X25519Identity>(identities[i])
                                             ? UnwrapX25519(std::get<X25519Identity>(identities[i]), publics[i], s)
                                             : UnwrapScrypt(std::get<ScryptIdentity>(identities[i]), s);
      if (!r) return std::unexpected(std::move(r.error()));
      file_key = *r;
    }
    if (file_key) break;
  }
  if (!file_key) return Fail(ErrorCode::kNoIdentity, "no identity matched any of the file's recipients");
  CleanseOnExit<FileKey> c1{*file_key};

  auto mac_key = internal::HkdfSha256(*file_key, {}, "header");
  if (!mac_key) return std::unexpected(std::move(mac_key.error()));
  CleanseOnExit<Key32> c2{*mac_key};
  auto mac = internal::HmacSha256(*mac_key, internal::U8(AsBytes(header->mac_input)));
  if (!mac) return std::unexpected(std::move(mac.error()));
  if (!internal::ConstantTimeEqual(*mac, header->mac)) {
    return Fail(ErrorCode::kAuthentication, "age header: header MAC mismatch (the header was modified)");
  }

  std::array<std::byte, internal::kPayloadNonceSize> nonce{};
  auto got = (*in)->ReadFull(nonce);
  if (!got) return std::unexpected(std::move(got.error()));
  if (*got < nonce.size()) {
    return Fail(ErrorCode::kTruncated,
                fmt::format("age payload: input ends {} bytes into the 16-byte payload nonce (file truncated)", *got));
  }
  auto payload_key = internal::HkdfSha256(*file_key, internal::U8(nonce), "payload");
  if (!payload_key) return std::unexpected(std::move(payload_key.error()));
  CleanseOnExit<Key32> c3{*payload_key};

  auto state = std::make_unique<State>();
  state->in = std::move(*in);
  TRAWL_TRY_VOID(state->cipher.SetKey(*payload_key));
  state->enc.resize(kEncChunkSize + 1);
  state->plain.resize(kChunkSize);
  return std::unique_ptr<Decryptor>(new Decryptor(std::move(state)));
}

Result<std::size_t> Decryptor::Read(std::span<std::byte> out) {
  State& s = *state_;
  if (s.error) return std::unexpected(*s.error);
  while (s.plain_pos == s.plain_size) {
    if (s.done) return std::size_t{0};
    TRAWL_TRY_VOID(s.LoadChunk());
  }
  const std::size_t n = std::min(out.size(), s.plain_size - s.plain_pos);
  std::memcpy(out.data(), s.plain.data() + s.plain_pos, n);
  s.plain_pos += n;
  return n;
}

// ---------------------------------------------------------------------------

Result<std::string> EncryptToString(const std::vector<Recipient>& recipients, Bytes plaintext) {
  std::string out;
  auto enc = Encryptor::Create(recipients, [&out](Bytes b) -> Result<void> {
    out.append(reinterpret_cast<const char*>(b.data()), b.size());
    return {};
  });
  if (!enc) return std::unexpected(std::move(enc.error()));
  TRAWL_TRY_VOID((*enc)->Write(plaintext));
  TRAWL_TRY_VOID((*enc)->Finish());
  return out;
}

Result<std::string> DecryptToString(Bytes ciphertext, const std::vector<Identity>& identities) {
  auto dec = Decryptor::Open(
      [ciphertext](std::span<std::byte> buf) mutable -> Result<std::size_t> {
        const std::size_t n = std::min(buf.size(), ciphertext.size());
        std::memcpy(buf.data(), ciphertext.data(), n);
        ciphertext = ciphertext.subspan(n);
        return n;
      },
      identities);
  if (!dec) return std::unexpected(std::move(dec.error()));
  std::string out;
  std::array<std::byte, 16384> buf;
  for (;;) {
    auto n = (*dec)->Read(buf);
    if (!n) return std::unexpected(std::move(n.error()));
    if (*n == 0) break;
    out.append(reinterpret_cast<const char*>(buf.data()), *n);
  }
  return out;
}

}  // namespace trawl::core::age
