// SPDX-License-Identifier: Apache-2.0
// Upload targets as trawl-collect takes them (--upload URL, docs/upload.md):
// parsed and checked here, with no network code, so that `trawl-triage kit`
// refuses exactly what the collector would refuse, before a kit ships.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "core/util/error.h"

namespace trawl::core {

struct UploadOptions {
  std::vector<std::string> urls;
  std::filesystem::path key_file;  // SFTP private key (OpenSSH or PEM; ed25519 or ECDSA recommended)
  std::string host_key;            // SFTP: "SHA256:<base64>" as ssh-keygen -lf prints it
  std::filesystem::path ca_file;   // HTTPS: trust only this CA bundle (else the system's store)
  bool delete_local = false;       // delete a file once its upload is confirmed (every target)
  int attempts = 4;                // per file and target
  double backoff_s = 1.0;          // first wait; doubles, at most 60 s
  std::uint64_t time_limit = 0;    // seconds for all uploads after collection ends; 0: none
};

enum class UploadScheme { kHttp, kHttps, kSftp };

struct UploadTarget {
  UploadScheme scheme = UploadScheme::kHttps;
  std::string url;        // as given (may hold a signature: never logged)
  std::string shown;      // scheme://[user@]host[:port]/path, no query: safe to log
  bool per_file = false;  // a template or an SFTP folder: receives every file
  bool azure = false;     // Azure Blob SAS: needs x-ms-blob-type
};

// Parses and checks every URL and the options that go with them; the error
// names the option and the URL (shown form).
Result<std::vector<UploadTarget>> ParseUploadTargets(const UploadOptions& options);

// "http", "https" or "sftp".
const char* UploadSchemeName(UploadScheme s);

// "SHA256:<base64>" or the bare base64 (43 characters, '=' padding allowed):
// the bare base64 that curl compares with the server's host key.
Result<std::string> HostKeyHash(const std::string& given);

}  // namespace trawl::core
