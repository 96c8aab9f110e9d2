#!/usr/bin/env bash
# Upload throughput: `zengen upload` of a ~1 GB BAM to a zengen server on loopback (the client
# hashes the file, then sends raw chunks over HTTP with token authentication; the server makes
# each chunk durable; at the end it moves the file into the content-addressed store and reads it
# once for SHA-256 and MD5, checks the client's SHA-256, validates it with htslib, registers it
# and writes audit events) against `curl -T`
# of the same file to nginx's WebDAV PUT (the raw HTTP transfer to disk a center would
# otherwise use), and `sha256sum` of it (what checking the copy by hand costs).
# Writes the block <!-- bench:upload:… --> of docs/benchmarks.md.
#
# usage: bench/upload.sh   (ZENGEN_BIN, SIZE_MB = file size, RUNS = runs per tool, OUT)
set -euo pipefail

here=$(cd "$(dirname "$0")/.." && pwd)
cd "$here"
bin=${ZENGEN_BIN:-build/zengen}
size_mb=${SIZE_MB:-1024}
runs=${RUNS:-3}
out=${OUT:-docs/benchmarks.md}
nginx=${NGINX:-$(command -v nginx || echo /usr/sbin/nginx)}

die() { echo "bench/upload.sh: $*" >&2; exit 1; }
for t in samtools curl python3 sha256sum; do command -v "$t" >/dev/null || die "$t is required"; done
[[ -x $nginx ]] || die "nginx not found (Debian: apt-get install nginx)"
[[ -x $bin ]] || die "no zengen binary at $bin (build first or set ZENGEN_BIN)"
bin=$(cd "$(dirname "$bin")" && pwd)/$(basename "$bin")

tmp=$(mktemp -d "${TMPDIR:-/tmp}/zengen-bench-upload.XXXXXX")
chmod 755 "$tmp"
server_pid=""; nginx_started=""
cleanup() {
    [[ -n $server_pid ]] && kill "$server_pid" 2>/dev/null && wait "$server_pid" 2>/dev/null
    [[ -n $nginx_started ]] && "$nginx" -p "$tmp/ng" -c "$tmp/ng/nginx.conf" -s stop 2>/dev/null
    rm -rf "$tmp"
}
trap cleanup EXIT

free_port() {
    for _ in $(seq 200); do
        local p=$((20000 + RANDOM % 20000))
        if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then echo "$p"; return; fi
    done
    die "no free port"
}

# --- a valid BAM of about size_mb: a generated block of reads, concatenated -----------------
echo "generating a ${size_mb} MB BAM …" >&2
python3 - "$tmp" <<'PY'
import random, sys
d = sys.argv[1]
random.seed(11)
L = 2_000_000
ref = ''.join(random.choice('ACGT') for _ in range(L))
with open(f'{d}/block.sam', 'w') as f:
    f.write(f'@HD\tVN:1.6\tSO:unsorted\n@SQ\tSN:1\tLN:{L}\n@RG\tID:b\tSM:b\n')
    q = ''.join(random.choice('#,:FF') for _ in range(150))
    for i in range(200_000):
        p = random.randrange(0, L - 200)
        s = list(ref[p:p + 150])
        for _ in range(3):
            s[random.randrange(150)] = random.choice('ACGT')
        f.write(f'r{i}\t0\t1\t{p + 1}\t60\t150M\t*\t0\t0\t{"".join(s)}\t{q}\tRG:Z:b\n')
PY
samtools view -b -o "$tmp/block.bam" "$tmp/block.sam"
rm -f "$tmp/block.sam"
block=$(stat -c %s "$tmp/block.bam")
copies=$(( (size_mb * 1000000 + block - 1) / block ))
parts=()
for _ in $(seq "$copies"); do parts+=("$tmp/block.bam"); done
samtools cat -o "$tmp/big.bam" "${parts[@]}"
rm -f "$tmp/block.bam"
bytes=$(stat -c %s "$tmp/big.bam")

# --- zengen server ------------------------------------------------------------------------
data="$tmp/data"
"$bin" init "$data" >/dev/null
# the sequencing role uploads for cases of its own organisation
"$bin" org add "Bench Hospital" --type hospital --data "$data" >/dev/null
"$bin" user add benchseq --role sequencer --org "Bench Hospital" --data "$data" >/dev/null
( umask 077; "$bin" token create benchseq --name bench --scope detailed-genome --data "$data" \
    2>/dev/null | grep -o 'zgt_[A-Za-z0-9_-]*' > "$tmp/token" )
zport=$(free_port)
"$bin" serve --data "$data" --listen "127.0.0.1:$zport" --no-access-log >"$tmp/serve.log" 2>&1 &
server_pid=$!
for _ in $(seq 100); do curl -fs "http://127.0.0.1:$zport/healthz" >/dev/null && break; sleep 0.1; done

# --- nginx: WebDAV PUT to disk --------------------------------------------------------------
mkdir -p "$tmp/ng/www" "$tmp/ng/body" "$tmp/ng/logs"
chmod -R 777 "$tmp/ng"
nport=$(free_port)
cat > "$tmp/ng/nginx.conf" <<EOF
worker_processes 1;
pid $tmp/ng/nginx.pid;
error_log $tmp/ng/logs/error.log;
events {}
http {
    access_log off;
    client_body_temp_path $tmp/ng/body;
    client_max_body_size 0;
    server {
        listen 127.0.0.1:$nport;
        root $tmp/ng/www;
        location / { dav_methods PUT; create_full_put_path on; }
    }
}
EOF
"$nginx" -p "$tmp/ng" -c "$tmp/ng/nginx.conf" || die "nginx did not start"
nginx_started=1

now() { date +%s.%N; }
secs() { python3 -c "import sys; print(f'{float(sys.argv[2]) - float(sys.argv[1]):.3f}')" "$1" "$2"; }
best() { python3 -c "import sys; a=sys.argv[1]; b=float(sys.argv[2]); print(b if not a else min(float(a), b))" "$1" "$2"; }

# interleaved, best of $runs: each zengen upload goes to a new case (a file is stored once per
# case), each curl to a new name
best_zg=""; best_curl=""; best_sha=""
for r in $(seq "$runs"); do
    sync
    c=$("$bin" case add --org "Bench Hospital" --data "$data")
    t0=$(now)
    "$bin" upload "$tmp/big.bam" --server "http://127.0.0.1:$zport" --case "$c" \
        --token-file "$tmp/token" --kind reads --quiet >/dev/null || die "zengen upload failed"
    t1=$(now)
    best_zg=$(best "$best_zg" "$(secs "$t0" "$t1")")
    sync
    t0=$(now)
    curl -fsS -T "$tmp/big.bam" "http://127.0.0.1:$nport/run$r.bam" >/dev/null || die "curl PUT failed"
    t1=$(now)
    best_curl=$(best "$best_curl" "$(secs "$t0" "$t1")")
    cmp -s "$tmp/big.bam" "$tmp/ng/www/run$r.bam" || die "nginx stored something else"
    rm -f "$tmp/ng/www/run$r.bam"
    t0=$(now)
    sha256sum "$tmp/big.bam" >/dev/null
    t1=$(now)
    best_sha=$(best "$best_sha" "$(secs "$t0" "$t1")")
done
# the stored copy is the file, byte for byte
stored=$(find "$data/files" -type f -size "${bytes}c" | head -1)
[[ -n $stored ]] && cmp -s "$tmp/big.bam" "$stored" || die "zengen stored something else"

python3 - "$out" "$bytes" "$best_zg" "$best_curl" "$best_sha" "$runs" <<'PY'
import sys, re, os, subprocess, datetime, platform
out, nbytes, t_zg, t_curl, t_sha, runs = sys.argv[1], int(sys.argv[2]), float(sys.argv[3]), float(sys.argv[4]), float(sys.argv[5]), sys.argv[6]
mb = nbytes / 1e6
try: rev = subprocess.check_output(["git", "rev-parse", "--short", "HEAD"], text=True).strip()
except Exception: rev = "?"
ngv = subprocess.run(["nginx", "-v"], capture_output=True, text=True).stderr.strip().replace("nginx version: ", "")
cv = subprocess.check_output(["curl", "--version"], text=True).split()[1]
lines = [
 "<!-- generated by bench/upload.sh; edit the script, not this block -->",
 f"Run {datetime.datetime.utcnow().strftime('%Y-%m-%dT%H:%MZ')} on {os.cpu_count()} CPUs, Linux {platform.release()}; zengen at {rev}, {ngv}, curl {cv}.",
 "",
 f"One BAM of {mb:,.0f} MB over loopback HTTP, best of {runs} interleaved runs (page cache warm, disk flushed before each):",
 "",
 "| tool | seconds | MB/s | × nginx |",
 "|---|---:|---:|---:|",
 f"| `curl -T` to nginx WebDAV PUT (raw transfer to disk) | {t_curl:.2f} | {mb / t_curl:,.0f} | 1.00 |",
 f"| `zengen upload --kind reads` (client SHA-256; 16 MB chunks, each fsynced, token auth; server hashes each chunk after answering it, then at finish moves the file into the content-addressed store, checks the SHA-256, validates with htslib, registers, audits) | {t_zg:.2f} | {mb / t_zg:,.0f} | {t_curl / t_zg:.2f} |",
 f"| for scale: `sha256sum` of the file alone | {t_sha:.2f} | {mb / t_sha:,.0f} | — |",
 "",
 "Reproduce: `bench/upload.sh` (`SIZE_MB=… RUNS=… bench/upload.sh` to vary).",
]
block = "\n".join(lines)
import subprocess as _sp
_sp.run([sys.executable, "bench/write_block.py", out, "upload", 'Genome file upload', "`zengen upload` (a sequencing center's client of the upload API) against a plain HTTP upload of the same file to nginx (issue 4: uploads stream, resumable, checksum verified at the end)."], input=block, text=True, check=True)
PY
