#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The Windows collector's acceptance test, under Wine: a DLL side-load like
# X_TRADER / VEILEDSIGNAL's (TpmVscMgrSvr.exe loading a planted winscard.dll
# from C:\ProgramData\TPM) is running while the static trawl-collect.exe
# collects the "live" Windows host; the archive is then checked on Linux with
# trawl-triage:
#   - verify passes and decrypt extracts it;
#   - the victim's process record exists (name, image path, pid);
#   - its module list holds C:\ProgramData\TPM\winscard.dll with the SHA-256
#     of the DLL this script built;
#   - with `trawl-triage analyze` and a side-load rule: the finding is raised.
#
#   tests/windows/sideload_under_wine.sh [TRAWL_COLLECT_EXE [TRAWL_TRIAGE]]
#
# Defaults: dist/out/trawl-collect.exe, and trawl-triage from $TRAWL_BIN_DIR
# or the PATH. Exit 0 pass, 1 fail, 77 skipped (no wine, no mingw compiler or
# no .exe), the ctest skip code; with TRAWL_REQUIRE_WINDOWS=1 those are
# failures. Every wine call has a timeout; the victim and
# the wineserver are killed at the end and the temp dir removed (set
# TRAWL_KEEP_WINE_TMP=1 to keep it). Headless: no DISPLAY is used.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
collect_exe=${1:-${TRAWL_COLLECT_EXE:-$repo/dist/out/trawl-collect.exe}}
triage=${2:-${TRAWL_TRIAGE:-}}
if [ -z "$triage" ]; then
  if [ -n "${TRAWL_BIN_DIR:-}" ] && [ -x "$TRAWL_BIN_DIR/trawl-triage" ]; then triage=$TRAWL_BIN_DIR/trawl-triage
  else triage=$(command -v trawl-triage || true); fi
fi
cc=x86_64-w64-mingw32-gcc-posix
py=/usr/bin/python3
# CI (dist/test-all.sh) sets TRAWL_REQUIRE_WINDOWS=1: there a missing piece
# is a failure, not a skip.
skip() {
  if [ "${TRAWL_REQUIRE_WINDOWS:-0}" = 1 ]; then echo "FAIL (TRAWL_REQUIRE_WINDOWS=1): $*"; exit 1; fi
  echo "SKIP: $*"; exit 77
}
command -v wine >/dev/null || skip "wine not installed (dist/install-deps.sh --windows)"
command -v "$cc" >/dev/null || skip "$cc not installed"
[ -f "$collect_exe" ] || skip "$collect_exe not built (dist/build-release.sh win64)"
[ -n "$triage" ] && [ -x "$triage" ] || skip "trawl-triage (Linux) not found; pass it or set TRAWL_BIN_DIR"
[ -x "$py" ] || skip "$py not found"

work=$(mktemp -d "${TMPDIR:-/tmp}/trawl-sideload.XXXXXX")
export WINEPREFIX=$work/prefix WINEDEBUG=-all WINEARCH=win64
# No mono/gecko installers, no display.
export WINEDLLOVERRIDES="mscoree,mshtml="
unset DISPLAY WAYLAND_DISPLAY
victim_pid=""
cleanup() {
  [ -n "$victim_pid" ] && kill "$victim_pid" 2>/dev/null || true
  timeout 20 wineserver -k >/dev/null 2>&1 || true
  if [ "${TRAWL_KEEP_WINE_TMP:-0}" = 1 ]; then echo "kept $work"; else rm -rf "$work"; fi
}
trap cleanup EXIT
fail() { echo "FAIL: $*"; exit 1; }
now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN{printf "%.1f", b-a}'; }
quiet_wine() { grep -v 'wine32 is missing\|multiarch\|dpkg --add-architecture\|apt-get install wine32' || true; }

# 1. The victim, the planted DLL and the payload holder, built here.
bin=$work/bin
mkdir -p "$bin"
"$cc" -O2 -static -municode -Wall -Wextra -o "$bin/TpmVscMgrSvr.exe" "$here/tpm_host.c"
"$cc" -O2 -static -shared -Wall -Wextra -o "$bin/winscard.dll" "$here/winscard_stub.c"
"$cc" -O2 -static -shared -Wall -Wextra -o "$bin/msvcr100.dll" "$here/payload_holder.c"

# 2. A fresh prefix.
t0=$(now)
timeout 180 wine wineboot --init >/dev/null 2>&1 || fail "wineboot --init failed or timed out"
timeout 120 wineserver -w || true
echo "prefix ready in $(since "$t0") s"

# 3. The side-load set in C:\ProgramData\TPM, as the intrusion left it.
tpm=$WINEPREFIX/drive_c/ProgramData/TPM
mkdir -p "$tpm" "$WINEPREFIX/drive_c/trawl"
cp "$bin/TpmVscMgrSvr.exe" "$bin/winscard.dll" "$bin/msvcr100.dll" "$tpm/"
head -c 65536 /dev/urandom > "$tpm/tpm.dat"
dll_sha=$(sha256sum "$tpm/winscard.dll" | cut -d' ' -f1)
cp "$collect_exe" "$WINEPREFIX/drive_c/trawl/trawl-collect.exe"
marker=$WINEPREFIX/drive_c/loaded.txt

# 4. The victim, in the background. winscard is a DLL Wine ships itself, so
# Wine must be told to prefer the native copy (Windows' search order does
# that unasked: the application folder comes first).
(cd "$tpm" && WINEDLLOVERRIDES="$WINEDLLOVERRIDES;winscard=n,b" \
   exec timeout 600 wine 'C:\ProgramData\TPM\TpmVscMgrSvr.exe' 'C:\loaded.txt' 300 \
   > "$work/victim.log" 2>&1) &
victim_pid=$!
for _ in $(seq 1 120); do
  [ -s "$marker" ] && break
  kill -0 "$victim_pid" 2>/dev/null || fail "victim exited early: $(cat "$work/victim.log")"
  sleep 0.5
done
[ -s "$marker" ] || fail "victim did not load winscard.dll within 60 s: $(cat "$work/victim.log")"
win_pid=$(sed -n 1p "$marker" | tr -d '\r')
loaded=$(sed -n 2p "$marker" | tr -d '\r')
echo "victim: Windows pid $win_pid loaded $loaded"
case "${loaded,,}" in
  'c:\programdata\tpm\winscard.dll') ;;
  *) fail "the victim loaded $loaded, not the planted DLL (is WINEDLLOVERRIDES honoured?)" ;;
esac

# 5. Wine's registry has no KnownDLLs key; two values let the test see the
# collector read it (a real Windows host has about 30).
known='HKLM\System\CurrentControlSet\Control\Session Manager\KnownDLLs'
for dll in kernel32 user32; do
  timeout 60 wine reg add "$known" /v "$dll" /t REG_SZ /d "$dll.dll" /f >/dev/null 2>&1 || fail "wine reg add $dll"
done

# 6. Collect the live "host".
keyfile=$work/identity.txt
recipient=$("$triage" keygen -o "$keyfile" | tail -n1)
[[ "$recipient" == age1* ]] || fail "trawl-triage keygen printed no recipient"
t0=$(now)
set +e
# The archive also goes up to a real HTTPS server on loopback (nginx with a
# WebDAV PUT location, certificate from a test CA): the Windows collector's
# libcurl + OpenSSL, checked against the bytes on the server below.
"$here/../upload/loopback_servers.sh" start "$work/servers" > /dev/null || fail "loopback servers did not start"
stop_servers() { "$here/../upload/loopback_servers.sh" stop "$work/servers" || true; }
trap 'stop_servers; cleanup' EXIT
# shellcheck disable=SC1091
. "$work/servers/servers.env"
# The collection runs the way a responder would: from a kit made by
# `trawl-triage kit` (trawl.yaml with the recipient, profile, upload target
# and the test CA), started through the kit's collect.cmd.
"$triage" kit --recipient "$recipient" --profile default --upload "${HTTPS_BASE}wine/{name}" \
  --upload-ca "$CA" --collectors "$(dirname "$collect_exe")" -o "$WINEPREFIX/drive_c/trawl" --force \
  > "$work/kit.out" || fail "trawl-triage kit"
cmp -s "$collect_exe" "$WINEPREFIX/drive_c/trawl/trawl-collect.exe" || fail "the kit's trawl-collect.exe is not $collect_exe"
timeout 900 wine cmd /c 'C:\trawl\collect.cmd' --output 'C:\trawl-out' --quiet \
  > "$work/collect.out" 2> "$work/collect.err"
rc=$?
set -e
collect_secs=$(since "$t0")
quiet_wine < "$work/collect.out"
quiet_wine < "$work/collect.err"
echo "collection: exit $rc in $collect_secs s"
[ "$rc" = 0 ] || [ "$rc" = 1 ] || fail "trawl-collect.exe exited $rc"
shopt -s nullglob
archives=("$WINEPREFIX"/drive_c/trawl-out/*.zip.age)
[ "${#archives[@]}" -ge 1 ] || fail "no archive in C:\\trawl-out"

# 6b. The upload: every part and the sidecar on the server, byte for byte,
# and the machine-readable last line says so.
for f in "${archives[@]}" "$WINEPREFIX"/drive_c/trawl-out/*.json; do
  remote=$WWW/drop/wine/$(basename "$f")
  [ -f "$remote" ] || fail "upload: $(basename "$f") is not on the server"
  cmp -s "$f" "$remote" || fail "upload: $(basename "$f") differs on the server"
done
tr -d '\r' < "$work/collect.out" | tail -n1 > "$work/result.line"
"$py" - "$work/result.line" <<'EOF' || fail "trawl:result line"
import json, sys
line = open(sys.argv[1], encoding="utf-8").read().strip()
assert line.startswith("trawl:result "), line[:200]
res = json.loads(line[len("trawl:result "):])
ups = res["uploads"]
assert ups and all(u["ok"] for u in ups), ups
assert any(u["target"].startswith("https://127.0.0.1:") for u in ups), ups
print(f"upload: {len(ups)} files sent over HTTPS by trawl-collect.exe, confirmed (status "
      f"{sorted({a['status'] for u in ups for a in u['attempts']})})")
EOF

# 7. Verify, decrypt and check the records.
"$triage" verify -i "$keyfile" "${archives[@]}" || fail "trawl-triage verify"
"$triage" decrypt -i "$keyfile" -o "$work/extracted" "${archives[0]}" >/dev/null || fail "trawl-triage decrypt"
"$py" - "$work/extracted" "$win_pid" "$dll_sha" "$tpm/winscard.dll" "$tpm/TpmVscMgrSvr.exe" <<'EOF' || fail "record checks"
import glob, hashlib, json, os, sys
root, pid, sha, dll_path, exe_path = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4], sys.argv[5]
def table(name):
    rows = []
    for f in sorted(glob.glob(os.path.join(root, "records", name + ".*.jsonl"))):
        with open(f, encoding="utf-8") as fh:
            rows += [json.loads(line) for line in fh if line.strip()]
    return rows
procs, mods = table("processes"), table("modules")
print(f"records: {len(procs)} processes, {len(mods)} modules, {len(table('known_dlls'))} known_dlls, "
      f"{len(table('dir_entries'))} dir_entries")
victim = [p for p in procs if p["pid"] == pid]
assert victim, f"no process record for pid {pid}"
v = victim[0]
print("victim record:", json.dumps({k: v.get(k) for k in ("pid", "ppid", "name", "exe", "exe_sha256", "cmdline", "user", "sid", "integrity", "start_time", "cwd", "session", "error")}))
assert v["name"].lower() == "tpmvscmgrsvr.exe", v["name"]
assert v["exe"].lower() == r"c:\programdata\tpm\tpmvscmgrsvr.exe", v["exe"]
assert len(v.get("exe_sha256", "")) == 64, "image not hashed"
assert "loaded.txt" in v["cmdline"] and "TpmVscMgrSvr.exe" in v["cmdline"], v["cmdline"]
assert v["cwd"].lower() == r"c:\programdata\tpm", v["cwd"]
assert v["sid"].startswith("S-1-"), v["sid"]
known = {k["name"].lower(): k["value"] for k in table("known_dlls")}
assert known.get("kernel32") == "kernel32.dll" and known.get("user32") == "user32.dll", known
planted = [m for m in mods if m["pid"] == pid and m["path"].lower() == r"c:\programdata\tpm\winscard.dll"]
assert planted, "winscard.dll missing from the victim's modules: " + ", ".join(m["path"] for m in mods if m["pid"] == pid)
m = planted[0]
print("module record:", json.dumps(m))
assert m["sha256"] == sha, f"module sha256 {m['sha256']} != built {sha}"
assert m["base"] > 0 and m["size"] > 0, "no base/size"
# The one-read facts on module and process records, against hashlib and
# python3-pefile (Debian), which no one here wrote.
import pefile
def oracle(path):
    data = open(path, "rb").read()
    pe = pefile.PE(data=data)
    return {"md5": hashlib.md5(data).hexdigest(), "sha1": hashlib.sha1(data).hexdigest(),
            "imphash": pe.get_imphash(), "timestamp": pe.FILE_HEADER.TimeDateStamp,
            "signed": pe.OPTIONAL_HEADER.DATA_DIRECTORY[4].Size > 0}
o = oracle(dll_path)
assert (m.get("md5"), m.get("sha1")) == (o["md5"], o["sha1"]), f"module md5/sha1 {m.get('md5')}/{m.get('sha1')} != {o}"
assert m.get("is_pe") is True and m.get("pe_machine") == "AMD64", m
assert m.get("pe_timestamp") == o["timestamp"] and m.get("pe_imphash", "") == o["imphash"], (m, o)
assert m.get("pe_signed") is o["signed"] is False, m
o = oracle(exe_path)
assert (v.get("exe_md5"), v.get("exe_sha1")) == (o["md5"], o["sha1"]), f"image md5/sha1 != {o}"
assert v.get("exe_imphash", "") == o["imphash"] and v.get("exe_signed") is False, v
print("module and image facts agree with hashlib and pefile")
# The payload winscard.dll placed in private memory (tests/windows/winscard_stub.c):
# executable, no file behind it, a PE header, and the SHA-256 of the same bytes.
import struct
dll = open(dll_path, "rb").read()
lfanew = struct.unpack_from("<I", dll, 0x3C)[0]
headers = min(struct.unpack_from("<I", dll, lfanew + 24 + 60)[0], 0x2000)  # OptionalHeader.SizeOfHeaders
region = bytearray(65536)
region[0:headers] = dll[0:headers]
marker = b"trawl-test: payload decrypted into private memory\0"
region[0x2000:0x2000 + len(marker)] = marker
want = hashlib.sha256(region).hexdigest()
anon = [m for m in mods if m["pid"] == pid and m.get("kind") == "anon_exec"]
hit = [m for m in anon if m.get("region_sha256") == want]
assert hit, "no anon_exec record of the in-memory payload: " + json.dumps(anon)[:2000]
r = hit[0]
assert r.get("region_header") == "pe" and r.get("region_read") == 65536 and r.get("size") == 65536, r
assert r.get("perms") == "r-xp", r
# Dumped (region_dump_max, default 1 MiB): the archive member is the region, byte for byte.
assert r.get("region_dump") == f"memory/{pid}_0x{r['base']:x}.bin", r
dumped = open(os.path.join(root, r["region_dump"]), "rb").read()
assert hashlib.sha256(dumped).hexdigest() == want, "the dump differs from the region"
open(os.path.join(root, "..", "payload-dump.txt"), "w").write(r["region_dump"])
print(f"in-memory payload: anon_exec at 0x{r['base']:x}, {r['perms']}, header {r['region_header']}, "
      f"entropy {r.get('region_entropy'):.3f}, SHA-256 {want[:16]}... ({len(anon)} executable private regions in pid {pid})")
EOF

# 7b. The dumped in-memory image, read by trawl-triage inspect pe (memory layout:
# the headers are what counts; it must parse them, not crash).
dump_member=$(cat "$work/payload-dump.txt")
"$triage" inspect pe --json "$work/extracted/$dump_member" > "$work/dump-pe.json" 2> "$work/dump-pe.err" ||
  [ $? = 1 ] || fail "inspect pe on the dump: $(cat "$work/dump-pe.err")"
grep -q '"machine": *"AMD64"' "$work/dump-pe.json" || fail "inspect pe did not read the dump's headers: $(head -c 600 "$work/dump-pe.json")"
echo "inspect pe on $dump_member: AMD64 image headers read"

# 8. Triage's verdict, when this build has it.
if "$triage" --help 2>&1 | grep -q '^ *analyze'; then
  # A Sigma image_load rule over the live module snapshot (triage/sigma_case.h): the
  # side-load by its Sysmon-7 fields, the hash as the collector computed it.
  sha_upper=$(tr 'a-f' 'A-F' <<<"$dll_sha")
  mkdir -p "$work/sigma"
  cat > "$work/sigma/tpm_sideload.yml" <<SIGMA
title: winscard.dll from ProgramData\TPM loaded by TpmVscMgrSvr.exe (test)
id: 0c6f3f0e-5a55-4c1e-9a57-7e1d0a000001
status: test
author: trawl tests
logsource: {product: windows, category: image_load}
detection:
  selection:
    Image|endswith: '\ProgramData\TPM\TpmVscMgrSvr.exe'
    ImageLoaded|endswith: '\TPM\winscard.dll'
    Signed: 'false'
    SignatureStatus: 'Unavailable'
    Hashes|contains: 'SHA256=$sha_upper'
  condition: selection
level: critical
SIGMA
  "$triage" analyze -i "$keyfile" --case "$work/case.db" --sigma "$work/sigma" "${archives[@]}" > "$work/analyze.out" 2>&1 ||
    fail "trawl-triage analyze: $(tail -n5 "$work/analyze.out")"
  sigma_hits=$("$triage" query --case "$work/case.db" --format tsv \
    "SELECT count(*) FROM findings WHERE rule_id = 'sigma.0c6f3f0e-5a55-4c1e-9a57-7e1d0a000001' AND entity_type = 'module' AND lower(entity_key) LIKE '%programdata\\tpm\\winscard.dll'")
  echo "sigma image_load findings on winscard.dll: $(tail -n1 <<<"$sigma_hits")"
  [ "$(tail -n1 <<<"$sigma_hits")" = 1 ] ||
    fail "the Sigma image_load rule did not raise exactly one finding on winscard.dll: $(cat "$work/analyze.out")"
  findings=$("$triage" query --case "$work/case.db" --format tsv \
    "SELECT rule_id, score, entity_key FROM findings WHERE rule_id LIKE 'sideload.%' AND lower(entity_key) LIKE '%programdata\\tpm\\winscard.dll%'")
  echo "side-load findings:"; echo "$findings"
  grep -q 'sideload\.' <<<"$findings" || fail "no sideload.* finding for C:\\ProgramData\\TPM\\winscard.dll"
  # The payload in private memory, scored by the memory rule (unsigned host: 80).
  memory=$("$triage" query --case "$work/case.db" --format tsv \
    "SELECT score, message FROM findings WHERE rule_id = 'payload.windows_exec_memory_no_file' AND entity_key = 'pid $win_pid anon_exec'")
  echo "memory finding: $(tail -n1 <<<"$memory")"
  [ "$(tail -n1 <<<"$memory" | cut -f1)" = 80 ] && grep -q 'PE header' <<<"$memory" ||
    fail "no payload.windows_exec_memory_no_file finding (score 80, PE header) for pid $win_pid: $memory"
else
  echo "note: this trawl-triage has no analyze command; finding not checked"
fi
echo "PASS: side-load seen under Wine (collection $collect_secs s)"
