// SPDX-License-Identifier: Apache-2.0
#include "collector/upload.h"

#include <curl/curl.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <cstdio>
#include <fstream>
#include <mutex>

#include <fmt/format.h>

#include "core/util/text.h"

namespace trawl::collector {

using core::ErrorCode;
using core::HostKeyHash;
using nlohmann::json;

namespace {

std::once_flag g_curl_once;

// The URL (or shown form) for one file: {name} replaced, or the name appended
// to an SFTP folder URL (one ending in '/').
std::string TargetFor(const UploadTarget& t, const std::string& url, const std::string& name, bool escape);

std::string FillName(const std::string& url, const std::string& name, bool escape) {
  std::string value = name;
  if (escape) {
    if (char* e = curl_easy_escape(nullptr, name.c_str(), static_cast<int>(name.size()))) {
      value = e;
      curl_free(e);
    }
  }
  std::string out = url;
  for (std::size_t at = out.find("{name}"); at != std::string::npos; at = out.find("{name}", at + value.size())) {
    out.replace(at, 6, value);
  }
  return out;
}

std::string TargetFor(const UploadTarget& t, const std::string& url, const std::string& name, bool escape) {
  if (url.find("{name}") != std::string::npos) return FillName(url, name, escape);
  if (t.scheme == UploadScheme::kSftp && t.per_file) {
    // The shown form has no query; a real URL's folder ends before any '?'.
    const auto q = url.find('?');
    const std::string base = q == std::string::npos ? url : url.substr(0, q);
    return FillName(base + "{name}", name, escape) + (q == std::string::npos ? "" : url.substr(q));
  }
  return url;
}

struct CurlDeleter {
  void operator()(CURL* h) const { curl_easy_cleanup(h); }
};
using CurlHandle = std::unique_ptr<CURL, CurlDeleter>;
struct SlistDeleter {
  void operator()(curl_slist* l) const { curl_slist_free_all(l); }
};
using Slist = std::unique_ptr<curl_slist, SlistDeleter>;

struct Transfer {
  std::ifstream in;
  std::string etag;
  std::function<bool()> cancelled;
};

extern "C" size_t ReadBody(char* buf, size_t size, size_t n, void* user) {
  auto* t = static_cast<Transfer*>(user);
  t->in.read(buf, static_cast<std::streamsize>(size * n));
  if (t->in.bad()) return CURL_READFUNC_ABORT;
  return static_cast<size_t>(t->in.gcount());
}

extern "C" size_t OnHeader(char* buf, size_t size, size_t n, void* user) {
  auto* t = static_cast<Transfer*>(user);
  const std::string_view line(buf, size * n);
  if (line.size() > 5 && core::ToLowerAscii(line.substr(0, 5)) == "etag:") {
    std::string v(line.substr(5));
    const auto b = v.find_first_not_of(" \t");
    const auto e = v.find_last_not_of(" \t\r\n");
    t->etag = b == std::string::npos ? "" : v.substr(b, e - b + 1);
  }
  return size * n;
}

extern "C" int OnProgress(void* user, curl_off_t, curl_off_t, curl_off_t, curl_off_t) {
  auto* t = static_cast<Transfer*>(user);
  return t->cancelled() ? 1 : 0;
}

// Errors that another attempt cannot fix.
bool Permanent(CURLcode rc, long status) {
  switch (rc) {
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_LOGIN_DENIED:
    case CURLE_UNSUPPORTED_PROTOCOL:
    case CURLE_URL_MALFORMAT:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_REMOTE_ACCESS_DENIED:
    case CURLE_ABORTED_BY_CALLBACK: return true;
    default: break;
  }
  return status >= 400 && status < 500 && status != 408 && status != 429;
}

std::string Explain(CURLcode rc, const char* errbuf, UploadScheme scheme, const std::string& ca) {
  std::string detail = errbuf[0] != '\0' ? errbuf : curl_easy_strerror(rc);
  while (!detail.empty() && (detail.back() == '\n' || detail.back() == '\r')) detail.pop_back();
  switch (rc) {
    case CURLE_PEER_FAILED_VERIFICATION:
      if (scheme == UploadScheme::kSftp) return "the server's host key does not match --upload-host-key: " + detail;
      return fmt::format("TLS: the server's certificate is not trusted ({}): {}",
                         ca.empty() ? "system store" : "CA " + ca, detail);
    case CURLE_LOGIN_DENIED:
      return "SFTP login refused with --upload-key (an RSA key is signed with SHA-1 by libssh2 1.10, which "
             "OpenSSH 8.8 and later refuse: use an ed25519 or ECDSA key): " +
             detail;
    case CURLE_ABORTED_BY_CALLBACK: return "interrupted (signal or upload time limit)";
    default: return detail;
  }
}

}  // namespace

std::string FindSystemCaBundle() {
#ifdef _WIN32
  return "";
#else
  static constexpr std::array<const char*, 6> kBundles = {
      "/etc/ssl/certs/ca-certificates.crt",                 // Debian, Ubuntu, Alpine, Arch
      "/etc/pki/tls/certs/ca-bundle.crt",                   // RHEL, Fedora, CentOS
      "/etc/pki/ca-trust/extracted/pem/tls-ca-bundle.pem",  // RHEL 7+
      "/etc/ssl/ca-bundle.pem",                             // SUSE
      "/etc/pki/tls/cacert.pem",                            // OpenELEC
      "/etc/ssl/cert.pem",                                  // Alpine, BSD-like
  };
  for (const char* b : kBundles) {
    std::error_code ec;
    if (std::filesystem::is_regular_file(b, ec)) return b;
  }
  return "";
#endif
}

json UploadAttempt::ToJson() const {
  json j = {{"attempt", attempt}, {"seconds", seconds}, {"outcome", outcome}};
  if (status != 0) j["status"] = status;
  return j;
}

json UploadResult::ToJson() const {
  json j = {{"file", name}, {"target", target}, {"ok", ok}, {"bytes", bytes}};
  if (sidecar) j["sidecar"] = true;
  if (!etag.empty()) j["etag"] = etag;
  if (remote_size) j["remote_size"] = *remote_size;
  if (deleted_local) j["deleted_local"] = true;
  if (!ok) j["error"] = error;
  json a = json::array();
  for (const auto& x : attempts) a.push_back(x.ToJson());
  j["attempts"] = a;
  return j;
}

Uploader::Uploader(UploadOptions options, std::vector<UploadTarget> targets, const std::atomic<int>* signal_flag)
    : options_(std::move(options)), targets_(std::move(targets)), signal_flag_(signal_flag) {
  std::call_once(g_curl_once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
  if (!options_.ca_file.empty()) {
    ca_file_ = options_.ca_file.string();
  } else {
    ca_file_ = FindSystemCaBundle();
#ifndef _WIN32
    ca_error_ = ca_file_.empty() ? "no CA bundle found on this host (looked in /etc/ssl and /etc/pki); give "
                                   "--upload-ca FILE"
                                 : "";
#endif
  }
  worker_ = std::thread([this] { Run(); });
}

Uploader::~Uploader() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (worker_.joinable()) worker_.join();
}

void Uploader::SetLog(LogFn log) {
  std::lock_guard lock(log_mu_);
  log_ = std::move(log);
}

void Uploader::Log(std::string_view level, std::string_view event, json fields) {
  std::lock_guard lock(log_mu_);
  if (log_) log_(level, event, std::move(fields));
}

bool Uploader::Cancelled() const {
  if (signal_flag_ != nullptr && signal_flag_->load() != 0) return true;
  std::lock_guard lock(mu_);
  return deadline_ && std::chrono::steady_clock::now() >= *deadline_;
}

void Uploader::Enqueue(const std::filesystem::path& file, bool sidecar) {
  std::unique_lock lock(mu_);
  std::vector<std::size_t> chosen;
  for (std::size_t i = 0; i < targets_.size(); ++i) {
    if (targets_[i].per_file) chosen.push_back(i);
  }
  // One-object URLs are used in order, one file each.
  for (; next_fixed_ < targets_.size(); ++next_fixed_) {
    if (!targets_[next_fixed_].per_file) {
      chosen.push_back(next_fixed_++);
      break;
    }
  }
  if (chosen.empty()) {
    lock.unlock();
    if (!sidecar) {
      UploadResult r;
      r.file = file.string();
      r.name = file.filename().string();
      r.error = "not uploaded: every one-object --upload URL is used (give one per part, or a {name} template)";
      {
        std::lock_guard again(mu_);
        results_.push_back(r);
      }
    }
    Log(sidecar ? "info" : "error", "upload_no_target", {{"file", file.filename().string()}});
    return;
  }
  for (std::size_t t : chosen) {
    UploadResult r;
    r.file = file.string();
    r.name = file.filename().string();
    r.sidecar = sidecar;
    r.target = TargetFor(targets_[t], targets_[t].shown, r.name, false);
    results_.push_back(r);
    queue_.push_back({file, sidecar, t, results_.size() - 1});
  }
  cv_.notify_all();
}

void Uploader::Drain() {
  std::unique_lock lock(mu_);
  if (options_.time_limit > 0 && !deadline_) {
    deadline_ = std::chrono::steady_clock::now() + std::chrono::seconds(options_.time_limit);
  }
  while (!queue_.empty() || busy_) {
    cv_.wait_for(lock, std::chrono::milliseconds(200));
    const bool cut = (signal_flag_ != nullptr && signal_flag_->load() != 0) ||
                     (deadline_ && std::chrono::steady_clock::now() >= *deadline_);
    if (cut) {
      for (const Job& j : queue_) {
        results_[j.result].error = "not uploaded: collection interrupted or upload time limit reached";
      }
      queue_.clear();
    }
  }
}

std::vector<UploadResult> Uploader::Results() const {
  std::lock_guard lock(mu_);
  return results_;
}

bool Uploader::AllOk() const {
  std::lock_guard lock(mu_);
  return std::all_of(results_.begin(), results_.end(), [](const UploadResult& r) { return r.ok; });
}

void Uploader::Run() {
  while (true) {
    Job job;
    {
      std::unique_lock lock(mu_);
      cv_.wait(lock, [&] { return stop_ || !queue_.empty(); });
      if (queue_.empty()) return;
      job = queue_.front();
      queue_.pop_front();
      busy_ = true;
    }
    Upload(job);
    {
      std::lock_guard lock(mu_);
      busy_ = false;
      // Delete the local copy once every target that took this file confirmed it.
      if (options_.delete_local) {
        bool pending = false;
        bool all_ok = true;
        for (const Job& q : queue_) pending = pending || q.file == job.file;
        for (const UploadResult& r : results_) {
          if (r.file == job.file.string()) all_ok = all_ok && r.ok;
        }
        if (!pending && all_ok) {
          std::error_code ec;
          if (std::filesystem::remove(job.file, ec)) {
            for (UploadResult& r : results_) {
              if (r.file == job.file.string()) r.deleted_local = true;
            }
          }
        }
      }
    }
    cv_.notify_all();
  }
}

void Uploader::Upload(const Job& job) {
  const UploadTarget& target = targets_[job.target];
  UploadResult r;
  {
    std::lock_guard lock(mu_);
    r = results_[job.result];
  }
  const std::string name = job.file.filename().string();
  const std::string url = TargetFor(target, target.url, name, true);
  std::error_code ec;
  const std::uint64_t size = std::filesystem::file_size(job.file, ec);
  r.bytes = ec ? 0 : size;
  double wait_s = options_.backoff_s;
  for (int attempt = 1; attempt <= options_.attempts; ++attempt) {
    UploadAttempt a;
    a.attempt = attempt;
    const auto t0 = std::chrono::steady_clock::now();
    bool retry = true;
    if (ec) {
      a.outcome = fmt::format("cannot read {}: {}", job.file.string(), ec.message());
      retry = false;
    } else if (Cancelled()) {
      a.outcome = "interrupted (signal or upload time limit)";
      retry = false;
    } else if (target.scheme == UploadScheme::kHttps && !ca_error_.empty()) {
      a.outcome = ca_error_;
      retry = false;
    } else {
      Transfer t;
      t.cancelled = [this] { return Cancelled(); };
      t.in.open(job.file, std::ios::binary);
      CurlHandle h(curl_easy_init());
      std::array<char, CURL_ERROR_SIZE> errbuf{};
      Slist headers;
      if (!t.in || !h) {
        a.outcome = fmt::format("cannot open {}", job.file.string());
        retry = false;
      } else {
        CURL* c = h.get();
        curl_easy_setopt(c, CURLOPT_URL, url.c_str());
        curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, core::UploadSchemeName(target.scheme));
        curl_easy_setopt(c, CURLOPT_REDIR_PROTOCOLS_STR, core::UploadSchemeName(target.scheme));
        curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
        curl_easy_setopt(c, CURLOPT_UPLOAD, 1L);
        curl_easy_setopt(c, CURLOPT_READFUNCTION, ReadBody);
        curl_easy_setopt(c, CURLOPT_READDATA, &t);
        curl_easy_setopt(c, CURLOPT_INFILESIZE_LARGE, static_cast<curl_off_t>(size));
        curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
        curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, 30L);
        curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, 1L);
        curl_easy_setopt(c, CURLOPT_LOW_SPEED_TIME, 60L);
        curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
        curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, OnProgress);
        curl_easy_setopt(c, CURLOPT_XFERINFODATA, &t);
        curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf.data());
        curl_easy_setopt(c, CURLOPT_FRESH_CONNECT, 1L);
        // Larger reads per callback: SFTP sends a write request per buffer, so
        // the default 64 KiB made SFTP uploads ~4x slower than the curl tool.
        curl_easy_setopt(c, CURLOPT_UPLOAD_BUFFERSIZE, 1L << 20);
        if (target.scheme == UploadScheme::kSftp) {
          curl_easy_setopt(c, CURLOPT_SSH_AUTH_TYPES, static_cast<long>(CURLSSH_AUTH_PUBLICKEY));
          curl_easy_setopt(c, CURLOPT_SSH_PRIVATE_KEYFILE, options_.key_file.string().c_str());
          curl_easy_setopt(c, CURLOPT_SSH_PUBLIC_KEYFILE, "");  // derived from the private key
          const std::string pin = HostKeyHash(options_.host_key).value_or("");
          curl_easy_setopt(c, CURLOPT_SSH_HOST_PUBLIC_KEY_SHA256, pin.c_str());
          curl_easy_setopt(c, CURLOPT_FTP_CREATE_MISSING_DIRS, static_cast<long>(CURLFTP_CREATE_DIR));
        } else {
          curl_easy_setopt(c, CURLOPT_USERAGENT, "trawl-collect/" TRAWL_VERSION);
          headers.reset(curl_slist_append(headers.release(), "Expect:"));
          headers.reset(curl_slist_append(headers.release(), "Content-Type: application/octet-stream"));
          if (target.azure) headers.reset(curl_slist_append(headers.release(), "x-ms-blob-type: BlockBlob"));
          curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers.get());
          curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, OnHeader);
          curl_easy_setopt(c, CURLOPT_HEADERDATA, &t);
          curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 1L);
          curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 2L);
          if (!ca_file_.empty()) {
            curl_easy_setopt(c, CURLOPT_CAINFO, ca_file_.c_str());
            curl_easy_setopt(c, CURLOPT_CAPATH, nullptr);
          } else {
#ifdef _WIN32
            curl_easy_setopt(c, CURLOPT_SSL_OPTIONS, static_cast<long>(CURLSSLOPT_NATIVE_CA));
#endif
          }
        }
        const CURLcode rc = curl_easy_perform(c);
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &a.status);
        curl_off_t sent = 0;
        curl_easy_getinfo(c, CURLINFO_SIZE_UPLOAD_T, &sent);
        if (rc != CURLE_OK) {
          a.outcome = Explain(rc, errbuf.data(), target.scheme, options_.ca_file.string());
          retry = !Permanent(rc, 0);
        } else if (target.scheme != UploadScheme::kSftp && (a.status < 200 || a.status > 299)) {
          a.outcome = fmt::format("the server answered HTTP {}", a.status);
          retry = !Permanent(rc, a.status);
        } else if (static_cast<std::uint64_t>(sent) != size) {
          a.outcome = fmt::format("sent {} of {} bytes", sent, size);
        } else if (target.scheme == UploadScheme::kSftp) {
          // Confirm with the size the server reports for the file.
          curl_easy_setopt(c, CURLOPT_UPLOAD, 0L);
          curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
          errbuf[0] = '\0';
          const CURLcode rc2 = curl_easy_perform(c);
          curl_off_t remote = -1;
          curl_easy_getinfo(c, CURLINFO_CONTENT_LENGTH_DOWNLOAD_T, &remote);
          if (rc2 != CURLE_OK) {
            a.outcome =
                "uploaded, but the remote size could not be read: " + Explain(rc2, errbuf.data(), target.scheme, "");
          } else if (remote < 0 || static_cast<std::uint64_t>(remote) != size) {
            a.outcome = fmt::format("the server reports {} bytes, {} were sent", remote, size);
          } else {
            r.remote_size = static_cast<std::uint64_t>(remote);
            a.outcome = "ok";
          }
        } else {
          r.etag = t.etag;
          a.outcome = "ok";
        }
      }
    }
    a.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    r.attempts.push_back(a);
    const bool ok = a.outcome == "ok";
    json fields = {{"file", name},         {"target", r.target}, {"attempt", attempt},
                   {"outcome", a.outcome}, {"bytes", r.bytes},   {"seconds", a.seconds}};
    if (a.status != 0) fields["status"] = a.status;
    if (!r.etag.empty()) fields["etag"] = r.etag;
    Log(ok ? "info" : "warning", "upload_attempt", fields);
    if (ok) {
      r.ok = true;
      r.error.clear();
      break;
    }
    r.error = a.outcome;
    if (!retry || attempt == options_.attempts) break;
    // Back off, waking early for a signal or the time limit.
    std::unique_lock lock(mu_);
    cv_.wait_for(lock, std::chrono::duration<double>(wait_s), [&] {
      return stop_ || (signal_flag_ != nullptr && signal_flag_->load() != 0) ||
             (deadline_ && std::chrono::steady_clock::now() >= *deadline_);
    });
    wait_s = std::min(wait_s * 2, 60.0);
  }
  std::lock_guard lock(mu_);
  results_[job.result] = r;
}

}  // namespace trawl::collector
