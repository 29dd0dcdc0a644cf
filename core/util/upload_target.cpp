// SPDX-License-Identifier: Apache-2.0
#include "core/util/upload_target.h"

#include <algorithm>
#include <cctype>

#include <fmt/format.h>

namespace trawl::core {

namespace {

std::string Lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

}  // namespace

const char* UploadSchemeName(UploadScheme s) {
  switch (s) {
    case UploadScheme::kHttp: return "http";
    case UploadScheme::kHttps: return "https";
    case UploadScheme::kSftp: return "sftp";
  }
  return "https";
}

// "SHA256:<base64>" or the bare base64 of a SHA-256 (43 characters without
// padding, 44 with): what curl compares with the server's host key.
Result<std::string> HostKeyHash(const std::string& given) {
  std::string b64 = given;
  if (b64.rfind("SHA256:", 0) == 0) b64 = b64.substr(7);
  while (!b64.empty() && b64.back() == '=') b64.pop_back();
  const bool chars_ok =
      std::all_of(b64.begin(), b64.end(), [](unsigned char c) { return std::isalnum(c) != 0 || c == '+' || c == '/'; });
  if (b64.size() != 43 || !chars_ok) {
    return Fail(ErrorCode::kInvalidArgument,
                fmt::format("--upload-host-key '{}': expected SHA256:<43 base64 characters>, as "
                            "`ssh-keygen -lf <host key>.pub` prints it",
                            given));
  }
  return b64;
}

Result<std::vector<UploadTarget>> ParseUploadTargets(const UploadOptions& o) {
  std::vector<UploadTarget> out;
  bool need_key = false;
  for (const std::string& url : o.urls) {
    UploadTarget t;
    t.url = url;
    const std::string lower = Lower(url);
    std::string rest;
    if (lower.rfind("https://", 0) == 0) {
      t.scheme = UploadScheme::kHttps;
      rest = url.substr(8);
    } else if (lower.rfind("http://", 0) == 0) {
      t.scheme = UploadScheme::kHttp;
      rest = url.substr(7);
    } else if (lower.rfind("sftp://", 0) == 0) {
      t.scheme = UploadScheme::kSftp;
      rest = url.substr(7);
    } else {
      const auto colon = url.find(':');
      return Fail(ErrorCode::kInvalidArgument,
                  fmt::format("--upload '{}': unsupported scheme (use https://, http:// or sftp://)",
                              colon == std::string::npos ? url : url.substr(0, colon) + ":..."));
    }
    const auto path_at = rest.find('/');
    const std::string authority = rest.substr(0, path_at);
    std::string path = path_at == std::string::npos ? "/" : rest.substr(path_at);
    const auto query_at = path.find_first_of("?#");
    const std::string query = query_at == std::string::npos ? "" : path.substr(query_at + 1);
    if (query_at != std::string::npos) path.resize(query_at);
    const auto at = authority.rfind('@');
    const std::string userinfo = at == std::string::npos ? "" : authority.substr(0, at);
    const std::string host = at == std::string::npos ? authority : authority.substr(at + 1);
    t.shown = std::string(UploadSchemeName(t.scheme)) + "://" + (t.scheme == UploadScheme::kSftp ? authority : host) +
              path + (query.empty() ? "" : "?…");
    if (host.empty()) {
      return Fail(ErrorCode::kInvalidArgument, fmt::format("--upload '{}': no host", t.shown));
    }
    if (userinfo.find(':') != std::string::npos || (!userinfo.empty() && t.scheme != UploadScheme::kSftp)) {
      return Fail(ErrorCode::kInvalidArgument,
                  fmt::format("--upload '{}://{}…': credentials in the URL are not accepted (they would "
                              "show in process lists); use a presigned URL or sftp:// with --upload-key",
                              UploadSchemeName(t.scheme), host));
    }
    if (t.scheme == UploadScheme::kSftp) {
      if (userinfo.empty()) {
        return Fail(ErrorCode::kInvalidArgument,
                    fmt::format("--upload '{}': name the user (sftp://user@host/dir/)", t.shown));
      }
      need_key = true;
      t.per_file = path.ends_with('/') || url.find("{name}") != std::string::npos;
    } else {
      t.per_file = url.find("{name}") != std::string::npos;
      const std::string lhost = Lower(host);
      t.azure = lhost.ends_with(".blob.core.windows.net") ||
                (query.find("sv=") != std::string::npos && query.find("sig=") != std::string::npos);
    }
    out.push_back(std::move(t));
  }
  if (need_key) {
    if (o.key_file.empty()) {
      return Fail(ErrorCode::kInvalidArgument, "--upload sftp://...: --upload-key FILE is required");
    }
    std::error_code ec;
    if (!std::filesystem::is_regular_file(o.key_file, ec)) {
      return Fail(ErrorCode::kInvalidArgument, fmt::format("--upload-key {}: no such file", o.key_file.string()));
    }
    if (o.host_key.empty()) {
      return Fail(ErrorCode::kInvalidArgument,
                  "--upload sftp://...: --upload-host-key SHA256:... is required (the server's host key is "
                  "pinned; there are no known_hosts prompts)");
    }
    if (auto pin = HostKeyHash(o.host_key); !pin) return std::unexpected(pin.error());
  }
  if (!o.ca_file.empty()) {
    std::error_code ec;
    if (!std::filesystem::is_regular_file(o.ca_file, ec)) {
      return Fail(ErrorCode::kInvalidArgument, fmt::format("--upload-ca {}: no such file", o.ca_file.string()));
    }
  }
  if (o.attempts < 1 || o.attempts > 100) {
    return Fail(ErrorCode::kInvalidArgument, "--upload-retries: between 0 and 99");
  }
  return out;
}

}  // namespace trawl::core
