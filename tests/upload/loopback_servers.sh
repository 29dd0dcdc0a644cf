#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Real upload targets on loopback for the upload tests, started by the tests
# themselves (nothing listens beyond 127.0.0.1):
#   - nginx with a WebDAV PUT location over TLS, its certificate from a test
#     CA made here (HTTPS);
#   - a second nginx whose location fails the first two connections with 503
#     and then accepts (retry): a single worker numbers its connections, and
#     a map on $connection turns numbers 1 and 2 into errors;
#   - OpenSSH's sshd on a free high port with a test host key, public-key
#     login with a test client key, the internal SFTP server (SFTP).
#
#   tests/upload/loopback_servers.sh start DIR   # writes DIR/servers.env
#   tests/upload/loopback_servers.sh stop DIR
#
# servers.env (shell syntax): HTTPS_BASE, FLAKY_BASE, SFTP_BASE (URLs ending
# in /), WWW (the folder nginx stores into), SFTP_DIR, CA, OTHER_CA,
# CLIENT_KEY, HOST_KEY and WRONG_HOST_KEY (SHA256:... fingerprints).
set -euo pipefail
cmd=${1:-}
dir=${2:-}
[ -n "$dir" ] || { echo "usage: $0 start|stop DIR" >&2; exit 2; }

stop() {
  for f in "$dir"/nginx.pid "$dir"/nginx-flaky.pid "$dir"/sshd.pid; do
    [ -f "$f" ] || continue
    kill "$(cat "$f")" 2>/dev/null || true
  done
  # nginx removes its pid file on exit; give both a moment.
  for _ in $(seq 50); do
    [ -f "$dir/nginx.pid" ] || [ -f "$dir/nginx-flaky.pid" ] || break
    sleep 0.1
  done
}

if [ "$cmd" = stop ]; then stop; exit 0; fi
[ "$cmd" = start ] || { echo "usage: $0 start|stop DIR" >&2; exit 2; }

for tool in openssl nginx /usr/sbin/sshd ssh-keygen python3; do
  command -v "$tool" >/dev/null || { echo "$0: $tool not found (run dist/install-deps.sh)" >&2; exit 1; }
done
mkdir -p "$dir"
dir=$(cd "$dir" && pwd)
mkdir -p "$dir"/{ca,ssh,logs,tmp,www/drop,www/flaky,sftp}

# Three free ports from the kernel.
read -r p_https p_flaky p_ssh < <(python3 - <<'PY'
import socket
socks = [socket.socket() for _ in range(3)]
for s in socks:
    s.bind(("127.0.0.1", 0))
print(*[s.getsockname()[1] for s in socks])
PY
)

# Test CA, a server certificate for 127.0.0.1/localhost, and an unrelated CA.
(
  cd "$dir/ca"
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout ca.key -out ca.pem \
    -days 2 -subj "/CN=trawl upload test CA" 2>/dev/null
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout other-ca.key -out other-ca.pem \
    -days 2 -subj "/CN=trawl unrelated CA" 2>/dev/null
  openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout server.key -out server.csr \
    -subj "/CN=localhost" 2>/dev/null
  printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\n' > san.ext
  openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out server.pem -days 2 \
    -extfile san.ext 2>/dev/null
)

user_line=""
[ "$(id -u)" = 0 ] && user_line="user root;"
nginx_conf() {  # NAME PORT LOCATION_BODY
  cat > "$dir/$1.conf" <<EOF
$user_line
worker_processes 1;
pid $dir/$1.pid;
error_log $dir/logs/$1-error.log info;
events { worker_connections 64; }
http {
  access_log $dir/logs/$1-access.log;
  client_body_temp_path $dir/tmp/$1-body;
  proxy_temp_path $dir/tmp/$1-proxy;
  fastcgi_temp_path $dir/tmp/$1-fastcgi;
  uwsgi_temp_path $dir/tmp/$1-uwsgi;
  scgi_temp_path $dir/tmp/$1-scgi;
  map \$connection \$trawl_fail { 1 1; 2 1; default 0; }
  server {
    listen 127.0.0.1:$2 ssl;
    ssl_certificate $dir/ca/server.pem;
    ssl_certificate_key $dir/ca/server.key;
    root $dir/www;
    client_max_body_size 0;
    $3
  }
}
EOF
  nginx -e "$dir/logs/$1-startup.log" -c "$dir/$1.conf" -p "$dir" \
    || { cat "$dir/logs/$1-startup.log" "$dir/logs/$1-error.log" >&2 2>/dev/null; exit 1; }
}
nginx_conf nginx "$p_https" "location /drop/ { dav_methods PUT; create_full_put_path on; dav_access user:rw; }"
nginx_conf nginx-flaky "$p_flaky" \
  "location /flaky/ { if (\$trawl_fail) { return 503; } dav_methods PUT; create_full_put_path on; }"

# sshd: host key, client key, internal SFTP.
ssh-keygen -q -t ed25519 -N '' -f "$dir/ssh/host_ed25519" -C trawl-test-host
ssh-keygen -q -t ed25519 -N '' -f "$dir/ssh/other_host_ed25519" -C trawl-other-host
ssh-keygen -q -t ed25519 -N '' -f "$dir/ssh/client_ed25519" -C trawl-test-client
cp "$dir/ssh/client_ed25519.pub" "$dir/ssh/authorized_keys"
chmod 600 "$dir/ssh/authorized_keys"
cat > "$dir/sshd_config" <<EOF
Port $p_ssh
ListenAddress 127.0.0.1
HostKey $dir/ssh/host_ed25519
PidFile $dir/sshd.pid
AuthorizedKeysFile $dir/ssh/authorized_keys
PubkeyAuthentication yes
PasswordAuthentication no
KbdInteractiveAuthentication no
PermitRootLogin prohibit-password
StrictModes no
UsePAM no
Subsystem sftp internal-sftp
LogLevel VERBOSE
EOF
[ "$(id -u)" = 0 ] && mkdir -p /run/sshd
/usr/sbin/sshd -f "$dir/sshd_config" -E "$dir/logs/sshd.log" || { cat "$dir/logs/sshd.log" >&2; exit 1; }

wait_port() {
  for _ in $(seq 100); do
    if (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; then return 0; fi
    sleep 0.1
  done
  echo "$0: nothing listens on 127.0.0.1:$1" >&2
  exit 1
}
wait_port "$p_https"
wait_port "$p_ssh"
# The flaky server is not probed: a probe would use up one of its failures.
for _ in $(seq 100); do [ -s "$dir/nginx-flaky.pid" ] && break; sleep 0.1; done

fp() { ssh-keygen -l -E sha256 -f "$1" | awk '{print $2}'; }
cat > "$dir/servers.env" <<EOF
HTTPS_BASE=https://127.0.0.1:$p_https/drop/
FLAKY_BASE=https://127.0.0.1:$p_flaky/flaky/
SFTP_BASE=sftp://$(id -un)@127.0.0.1:$p_ssh$dir/sftp/
WWW=$dir/www
SFTP_DIR=$dir/sftp
CA=$dir/ca/ca.pem
OTHER_CA=$dir/ca/other-ca.pem
CLIENT_KEY=$dir/ssh/client_ed25519
HOST_KEY=$(fp "$dir/ssh/host_ed25519.pub")
WRONG_HOST_KEY=$(fp "$dir/ssh/other_host_ed25519.pub")
EOF
cat "$dir/servers.env"
