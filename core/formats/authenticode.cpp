// SPDX-License-Identifier: Apache-2.0
#include "core/formats/authenticode.h"

#include <fmt/format.h>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/pkcs7.h>
#include <openssl/x509.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstring>
#include <limits>
#include <optional>
#include <string_view>

#include "core/util/text.h"

namespace trawl::core::formats {
namespace {

constexpr std::uint16_t kWinCertRevision2 = 0x0200;
constexpr std::uint16_t kWinCertTypePkcsSignedData = 0x0002;
constexpr std::string_view kSpcIndirectDataOid = "1.3.6.1.4.1.311.2.1.4";
constexpr std::string_view kSpcNestedSignatureOid = "1.3.6.1.4.1.311.2.4.1";

struct EvpMdCtxDeleter {
  void operator()(EVP_MD_CTX* ctx) const { EVP_MD_CTX_free(ctx); }
};
using EvpMdCtxPtr = std::unique_ptr<EVP_MD_CTX, EvpMdCtxDeleter>;

EvpMdCtxPtr NewDigest(const EVP_MD* md) {
  EvpMdCtxPtr ctx(EVP_MD_CTX_new());
  if (ctx && EVP_DigestInit_ex(ctx.get(), md, nullptr) != 1) ctx.reset();
  return ctx;
}

std::string FinalHex(EVP_MD_CTX* ctx) {
  if (ctx == nullptr) return {};
  std::array<unsigned char, EVP_MAX_MD_SIZE> md{};
  unsigned int len = 0;
  if (EVP_DigestFinal_ex(ctx, md.data(), &len) != 1) return {};
  return ToHex(Bytes(reinterpret_cast<const std::byte*>(md.data()), len));
}

double Entropy(Bytes data) {
  if (data.empty()) return 0.0;
  std::array<std::uint64_t, 256> counts{};
  for (std::byte b : data) ++counts[static_cast<std::uint8_t>(b)];
  double entropy = 0.0;
  const double total = static_cast<double>(data.size());
  for (std::uint64_t c : counts) {
    if (c == 0) continue;
    const double p = static_cast<double>(c) / total;
    entropy -= p * std::log2(p);
  }
  return entropy;
}

// Minimal DER walker for the few structures OpenSSL has no public type for
// (SpcIndirectDataContent). Bounds-checked; definite lengths only.
struct Der {
  std::uint8_t tag = 0;
  Bytes content;
  std::size_t total = 0;  // header + content
};

std::optional<Der> ReadDer(Bytes data) {
  if (data.size() < 2) return std::nullopt;
  Der der;
  der.tag = static_cast<std::uint8_t>(data[0]);
  if ((der.tag & 0x1F) == 0x1F) return std::nullopt;  // high tag numbers: not used here
  std::size_t pos = 1;
  std::uint64_t len = static_cast<std::uint8_t>(data[pos++]);
  if (len & 0x80) {
    const std::size_t n = len & 0x7F;
    if (n == 0 || n > 8 || pos + n > data.size()) return std::nullopt;  // indefinite or absurd
    len = 0;
    for (std::size_t i = 0; i < n; ++i) len = (len << 8) | static_cast<std::uint8_t>(data[pos++]);
  }
  if (len > data.size() - pos) return std::nullopt;
  der.content = data.subspan(pos, static_cast<std::size_t>(len));
  der.total = pos + static_cast<std::size_t>(len);
  return der;
}

// Length of the DER object at the start of `data` as declared by its header
// (the object may extend past `data`); nullopt when the header is not DER.
std::optional<std::uint64_t> DeclaredDerLength(Bytes data) {
  if (data.size() < 2 || static_cast<std::uint8_t>(data[0]) != 0x30) return std::nullopt;
  std::size_t pos = 1;
  std::uint64_t len = static_cast<std::uint8_t>(data[pos++]);
  if (len & 0x80) {
    const std::size_t n = len & 0x7F;
    if (n == 0 || n > 8 || pos + n > data.size()) return std::nullopt;
    len = 0;
    for (std::size_t i = 0; i < n; ++i) len = (len << 8) | static_cast<std::uint8_t>(data[pos++]);
  }
  if (len > std::numeric_limits<std::uint64_t>::max() - pos) return std::nullopt;
  return pos + len;
}

std::string DigestNameFromOid(Bytes oid) {
  struct Known {
    std::string_view der;
    std::string_view name;
  };
  static constexpr std::array<Known, 6> kKnown = {{
      {"\x2B\x0E\x03\x02\x1A", "sha1"},
      {"\x60\x86\x48\x01\x65\x03\x04\x02\x01", "sha256"},
      {"\x60\x86\x48\x01\x65\x03\x04\x02\x02", "sha384"},
      {"\x60\x86\x48\x01\x65\x03\x04\x02\x03", "sha512"},
      {"\x2A\x86\x48\x86\xF7\x0D\x02\x05", "md5"},
      {"\x60\x86\x48\x01\x65\x03\x04\x02\x04", "sha224"},
  }};
  for (const auto& k : kKnown) {
    if (oid.size() == k.der.size() && std::memcmp(oid.data(), k.der.data(), oid.size()) == 0) {
      return std::string(k.name);
    }
  }
  return "oid:" + ToHex(oid);
}

// SpcIndirectDataContent ::= SEQUENCE { data SpcAttributeTypeAndOptionalValue,
//   messageDigest DigestInfo ::= SEQUENCE { AlgorithmIdentifier, OCTET STRING } }
bool ParseIndirectData(Bytes encoded, AuthenticodeInfo& out) {
  auto outer = ReadDer(encoded);
  if (!outer || outer->tag != 0x30) return false;
  auto data = ReadDer(outer->content);
  if (!data || data->tag != 0x30) return false;
  auto digest_info = ReadDer(outer->content.subspan(data->total));
  if (!digest_info || digest_info->tag != 0x30) return false;
  auto alg = ReadDer(digest_info->content);
  if (!alg || alg->tag != 0x30) return false;
  auto oid = ReadDer(alg->content);
  if (!oid || oid->tag != 0x06) return false;
  auto digest = ReadDer(digest_info->content.subspan(alg->total));
  if (!digest || digest->tag != 0x04) return false;
  out.digest_algorithm = DigestNameFromOid(oid->content);
  out.signed_digest = ToHex(digest->content);
  return true;
}

std::string ObjectText(const ASN1_OBJECT* obj) {
  if (obj == nullptr) return {};
  std::array<char, 128> buf{};
  const int n = OBJ_obj2txt(buf.data(), static_cast<int>(buf.size()), obj, 1);
  if (n <= 0) return {};
  return std::string(buf.data(), std::min<std::size_t>(static_cast<std::size_t>(n), buf.size() - 1));
}

// One-line "C = US, O = Example, CN = Name", as `openssl x509 -subject` and
// `openssl pkcs7 -print_certs` print names by default.
std::string NameText(const X509_NAME* name) {
  if (name == nullptr) return {};
  BIO* bio = BIO_new(BIO_s_mem());
  if (bio == nullptr) return {};
  std::string text;
  if (X509_NAME_print_ex(bio, name, 0, XN_FLAG_ONELINE) >= 0) {
    char* data = nullptr;
    const long len = BIO_get_mem_data(bio, &data);
    if (len > 0 && data != nullptr) text.assign(data, static_cast<std::size_t>(len));
  }
  BIO_free(bio);
  return RepairUtf8(text);
}

std::string SerialHex(const ASN1_INTEGER* serial) {
  if (serial == nullptr) return {};
  BIGNUM* bn = ASN1_INTEGER_to_BN(serial, nullptr);
  if (bn == nullptr) return {};
  std::string hex;
  if (char* s = BN_bn2hex(bn)) {
    hex = s;
    OPENSSL_free(s);
  }
  BN_free(bn);
  return hex;
}

struct Pkcs7Deleter {
  void operator()(PKCS7* p) const { PKCS7_free(p); }
};

// Parses one PKCS#7 blob (the bCertificate of a 2.0/PKCS entry).
void ParseSignedData(Bytes blob, AuthenticodeInfo& out) {
  if (blob.size() > static_cast<std::size_t>(std::numeric_limits<long>::max())) return;
  const auto* p = reinterpret_cast<const unsigned char*>(blob.data());
  std::unique_ptr<PKCS7, Pkcs7Deleter> p7(d2i_PKCS7(nullptr, &p, static_cast<long>(blob.size())));
  if (!p7) {
    out.notes.push_back("certificate entry is not a parsable PKCS#7 structure");
    return;
  }
  if (!PKCS7_type_is_signed(p7.get()) || p7->d.sign == nullptr) {
    out.notes.push_back("PKCS#7 structure is not SignedData");
    return;
  }
  PKCS7_SIGNED* sign = p7->d.sign;
  PKCS7* contents = sign->contents;
  if (contents == nullptr || ObjectText(contents->type) != kSpcIndirectDataOid) {
    out.notes.push_back("SignedData content is not SpcIndirectDataContent");
    return;
  }
  const ASN1_TYPE* other = contents->d.other;
  if (other == nullptr || other->type != V_ASN1_SEQUENCE || other->value.sequence == nullptr ||
      other->value.sequence->data == nullptr || other->value.sequence->length <= 0) {
    out.notes.push_back("SpcIndirectDataContent is missing or not a SEQUENCE");
    return;
  }
  const Bytes indirect(reinterpret_cast<const std::byte*>(other->value.sequence->data),
                       static_cast<std::size_t>(other->value.sequence->length));
  if (!ParseIndirectData(indirect, out)) {
    out.notes.push_back("SpcIndirectDataContent digest could not be decoded");
    return;
  }
  out.signed_ = true;

  STACK_OF(PKCS7_SIGNER_INFO)* infos = PKCS7_get_signer_info(p7.get());
  if (infos == nullptr || sk_PKCS7_SIGNER_INFO_num(infos) < 1) {
    out.notes.push_back("SignedData has no SignerInfo");
    return;
  }
  if (sk_PKCS7_SIGNER_INFO_num(infos) > 1) out.notes.push_back("SignedData has several SignerInfos");
  PKCS7_SIGNER_INFO* si = sk_PKCS7_SIGNER_INFO_value(infos, 0);
  if (si == nullptr || si->issuer_and_serial == nullptr) {
    out.notes.push_back("SignerInfo lacks issuer and serial");
    return;
  }
  X509_NAME* issuer = si->issuer_and_serial->issuer;
  ASN1_INTEGER* serial = si->issuer_and_serial->serial;
  out.issuer = NameText(issuer);
  out.serial = SerialHex(serial);
  if (sign->cert != nullptr && issuer != nullptr && serial != nullptr) {
    if (X509* cert = X509_find_by_issuer_and_serial(sign->cert, issuer, serial)) {
      out.signer_subject = NameText(X509_get_subject_name(cert));
    }
  }
  if (out.signer_subject.empty()) out.notes.push_back("signer certificate not included in SignedData");

  const int n_unauth = sk_X509_ATTRIBUTE_num(si->unauth_attr);
  for (int i = 0; i < n_unauth; ++i) {
    const X509_ATTRIBUTE* attr = sk_X509_ATTRIBUTE_value(si->unauth_attr, i);
    if (ObjectText(X509_ATTRIBUTE_get0_object(const_cast<X509_ATTRIBUTE*>(attr))) == kSpcNestedSignatureOid) {
      out.nested_signature = true;
    }
  }
}

}  // namespace

// ---------------------------------------------------------------------------
// AuthenticodeHasher

class AuthenticodeHasher::State {
 public:
  std::uint64_t checksum_offset = 0;
  std::uint64_t cert_dir_offset = 0;
  std::uint64_t cert_table_offset = 0;
  EvpMdCtxPtr sha1 = NewDigest(EVP_sha1());
  EvpMdCtxPtr sha256 = NewDigest(EVP_sha256());
  // Copies taken when the stream reached cert_table_offset.
  EvpMdCtxPtr sha1_at_table;
  EvpMdCtxPtr sha256_at_table;
  bool snapshot_taken = false;
  std::uint64_t position = 0;

  void Hash(Bytes bytes) {
    if (bytes.empty()) return;
    if (sha1) EVP_DigestUpdate(sha1.get(), bytes.data(), bytes.size());
    if (sha256) EVP_DigestUpdate(sha256.get(), bytes.data(), bytes.size());
  }

  void Snapshot() {
    snapshot_taken = true;
    sha1_at_table.reset(EVP_MD_CTX_new());
    sha256_at_table.reset(EVP_MD_CTX_new());
    if (sha1_at_table && (!sha1 || EVP_MD_CTX_copy_ex(sha1_at_table.get(), sha1.get()) != 1)) {
      sha1_at_table.reset();
    }
    if (sha256_at_table && (!sha256 || EVP_MD_CTX_copy_ex(sha256_at_table.get(), sha256.get()) != 1)) {
      sha256_at_table.reset();
    }
  }

  // Hashes [begin, end) of the file given that `chunk` starts at `base`,
  // leaving out the two header fields.
  void HashRange(std::uint64_t base, Bytes chunk) {
    std::uint64_t pos = base;
    const std::uint64_t end = base + chunk.size();
    while (pos < end) {
      // Next interesting boundary after pos.
      std::uint64_t next = end;
      for (std::uint64_t b :
           {checksum_offset, checksum_offset + 4, cert_dir_offset, cert_dir_offset + 8, cert_table_offset}) {
        if (b > pos && b < next) next = b;
      }
      if (cert_table_offset != 0 && pos == cert_table_offset && !snapshot_taken) Snapshot();
      const bool excluded = (pos >= checksum_offset && pos < checksum_offset + 4) ||
                            (pos >= cert_dir_offset && pos < cert_dir_offset + 8);
      if (!excluded) Hash(chunk.subspan(pos - base, next - pos));
      pos = next;
    }
    if (cert_table_offset != 0 && end == cert_table_offset && !snapshot_taken) Snapshot();
  }
};

AuthenticodeHasher::AuthenticodeHasher() : state_(std::make_unique<State>()) {}
AuthenticodeHasher::~AuthenticodeHasher() = default;
AuthenticodeHasher::AuthenticodeHasher(AuthenticodeHasher&&) noexcept = default;
AuthenticodeHasher& AuthenticodeHasher::operator=(AuthenticodeHasher&&) noexcept = default;

void AuthenticodeHasher::SetLayout(std::uint64_t checksum_offset, std::uint64_t cert_dir_offset,
                                   std::uint64_t cert_table_offset) {
  state_->checksum_offset = checksum_offset;
  state_->cert_dir_offset = cert_dir_offset;
  state_->cert_table_offset = cert_table_offset;
}

void AuthenticodeHasher::Update(std::uint64_t file_offset, Bytes chunk) {
  if (file_offset != state_->position) return;  // caller bug; keep the digest honest
  state_->HashRange(file_offset, chunk);
  state_->position += chunk.size();
}

AuthenticodeHasher::Digests AuthenticodeHasher::Finish(bool stop_at_cert_table, std::uint64_t file_size) {
  Digests digests;
  if (stop_at_cert_table && state_->snapshot_taken) {
    digests.sha1 = FinalHex(state_->sha1_at_table.get());
    digests.sha256 = FinalHex(state_->sha256_at_table.get());
    return digests;
  }
  const std::uint64_t pad = (8 - file_size % 8) % 8;
  static constexpr std::array<std::byte, 8> kZeros{};
  state_->Hash(Bytes(kZeros.data(), static_cast<std::size_t>(pad)));
  digests.sha1 = FinalHex(state_->sha1.get());
  digests.sha256 = FinalHex(state_->sha256.get());
  return digests;
}

// ---------------------------------------------------------------------------
// Certificate table

void AnalyzeCertificateTable(Bytes captured, std::uint64_t declared_size, AuthenticodeInfo& out) {
  ByteReader reader(captured);
  std::uint64_t pos = 0;
  std::uint64_t sum_rounded = 0;
  bool analysed_first = false;
  std::vector<std::byte> slack;  // bytes after the DER blob + non-zero alignment
  bool slack_nonzero = false;
  std::uint64_t slack_after_der = 0;
  constexpr std::uint32_t kMaxEntries = 4096;

  while (pos + 8 <= declared_size && out.entry_count < kMaxEntries) {
    if (!reader.InBounds(pos, 8)) {
      out.notes.push_back(fmt::format(
          "truncated analysis: certificate table capture ends before entry at table offset {}", HexOffset(pos)));
      break;
    }
    const std::uint32_t length = reader.U32Unchecked(static_cast<std::size_t>(pos));
    const std::uint16_t revision = reader.U16Unchecked(static_cast<std::size_t>(pos + 4));
    const std::uint16_t type = reader.U16Unchecked(static_cast<std::size_t>(pos + 6));
    if (length < 8) {
      out.notes.push_back(
          fmt::format("WIN_CERTIFICATE at table offset {} has dwLength {} (< 8)", HexOffset(pos), length));
      break;
    }
    ++out.entry_count;
    const std::uint64_t rounded = (static_cast<std::uint64_t>(length) + 7) & ~std::uint64_t{7};
    if (pos + length > declared_size) {
      out.notes.push_back(
          fmt::format("WIN_CERTIFICATE at table offset {} (dwLength {}) runs past the directory size {}",
                      HexOffset(pos), length, declared_size));
    }
    if (!analysed_first && revision == kWinCertRevision2 && type == kWinCertTypePkcsSignedData) {
      analysed_first = true;
      const std::uint64_t blob_end = std::min<std::uint64_t>(pos + length, captured.size());
      const Bytes blob =
          captured.subspan(static_cast<std::size_t>(pos + 8), static_cast<std::size_t>(blob_end - (pos + 8)));
      if (blob_end < pos + length) {
        out.notes.push_back("truncated analysis: certificate entry larger than the capture cap");
      }
      ParseSignedData(blob, out);
      if (auto der_len = DeclaredDerLength(blob)) {
        const std::uint64_t body = static_cast<std::uint64_t>(length) - 8;
        if (*der_len > body) {
          out.notes.push_back(fmt::format("PKCS#7 DER length {} exceeds WIN_CERTIFICATE body {}", *der_len, body));
        } else {
          slack_after_der = body - *der_len;
          const std::uint64_t slack_begin = pos + 8 + *der_len;
          const std::uint64_t slack_end = std::min<std::uint64_t>({pos + rounded, declared_size, captured.size()});
          if (slack_end > slack_begin) {
            auto s = captured.subspan(static_cast<std::size_t>(slack_begin),
                                      static_cast<std::size_t>(slack_end - slack_begin));
            slack.assign(s.begin(), s.end());
          }
          const std::uint64_t pad_end = std::min<std::uint64_t>(pos + rounded, declared_size);
          out.padding_bytes = pad_end > slack_begin ? pad_end - slack_begin : 0;
        }
      } else {
        out.notes.push_back("certificate entry does not start with a DER SEQUENCE");
      }
    }
    sum_rounded += rounded;
    pos += rounded;
  }
  if (out.entry_count >= kMaxEntries) out.notes.push_back("too many WIN_CERTIFICATE entries");
  if (sum_rounded != declared_size) {
    out.notes.push_back(fmt::format("sum of entries != directory size (entries {} bytes, directory {} bytes)",
                                    sum_rounded, declared_size));
  }
  if (out.entry_count > 1) out.notes.push_back(fmt::format("{} WIN_CERTIFICATE entries", out.entry_count));
  if (!analysed_first && out.entry_count > 0) {
    out.notes.push_back("no WIN_CERT_REVISION_2_0 PKCS_SIGNED_DATA entry");
  }

  for (std::byte b : slack) {
    if (b != std::byte{0}) {
      slack_nonzero = true;
      break;
    }
  }
  out.padding_entropy = Entropy(slack);
  static constexpr std::array<std::byte, 4> kMarker{std::byte{0xFE}, std::byte{0xED}, std::byte{0xFA}, std::byte{0xCE}};
  out.padding_marker_feedface = std::search(slack.begin(), slack.end(), kMarker.begin(), kMarker.end()) != slack.end();
  if (slack_after_der > 7 || slack_nonzero) {
    out.padding_anomaly = true;
    out.notes.push_back(fmt::format("Authenticode padding anomaly (CVE-2013-3900): {} bytes after the PKCS#7 blob{}",
                                    out.padding_bytes, slack_nonzero ? ", non-zero" : ""));
  }
}

}  // namespace trawl::core::formats
