#!/usr/bin/env bash
# HTTP benchmark: requests/s and p99 of authenticated, audited JSON GETs against the same GETs on
# a comparison build without audit writes (-DZG_BENCH_UNAUDITED=ON, built here), the
# unauthenticated /healthz of the same server, and nginx serving a static file of the same size
# as the audited response. Writes the "HTTP: audited requests" block of
# docs/benchmarks.md (between <!-- bench:http:begin --> and <!-- bench:http:end -->).
#
# usage: bench/http.sh
#   ZENGEN_BIN   zengen binary (default build/zengen; built with cmake when missing)
#   ZENGEN_UNAUDITED_BIN  comparison binary built with -DZG_BENCH_UNAUDITED=ON (default: built)
#   DURATION     wrk duration per run (default 10s)   THREADS/CONNS  wrk -t/-c (default 2/32)
#   NCASES       cases to create (default 100)        OUT  document (default docs/benchmarks.md)
#   NGINX        nginx binary (default: nginx on PATH, else /usr/sbin/nginx)
#   TMPDIR       where the data directory lives (default /tmp; its disk's fsync is measured too)
set -euo pipefail

here=$(cd "$(dirname "$0")/.." && pwd)
cd "$here"
bin=${ZENGEN_BIN:-build/zengen}
duration=${DURATION:-10s}
threads=${THREADS:-2}
conns=${CONNS:-32}
ncases=${NCASES:-100}
out=${OUT:-docs/benchmarks.md}
nginx=${NGINX:-$(command -v nginx || echo /usr/sbin/nginx)}

die() { echo "bench/http.sh: $*" >&2; exit 1; }
for t in wrk curl awk; do
    command -v "$t" >/dev/null || die "$t is required (Debian: apt-get install $t)"
done
[[ -x $nginx ]] || die "nginx not found (Debian: apt-get install nginx-light)"
if [[ ! -x $bin ]]; then
    [[ $bin == build/zengen ]] || die "ZENGEN_BIN=$bin is not an executable"
    cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
    cmake --build build -j"$(nproc)" --target zengen >/dev/null
fi
bin=$(cd "$(dirname "$bin")" && pwd)/$(basename "$bin")

tmp=$(mktemp -d "${TMPDIR:-/tmp}/zengen-bench-http.XXXXXX")
www=$(mktemp -d "${TMPDIR:-/tmp}/zengen-bench-www.XXXXXX") # nginx workers (e.g. nobody) must read it
chmod 755 "$www"
server_pid="" nginx_pid=""
cleanup() {
    [[ -n $server_pid ]] && kill "$server_pid" 2>/dev/null && wait "$server_pid" 2>/dev/null
    [[ -n $nginx_pid ]] && kill "$nginx_pid" 2>/dev/null && wait "$nginx_pid" 2>/dev/null
    rm -rf "$tmp" "$www"
}
trap cleanup EXIT

# A loopback port nobody listens on (bash's /dev/tcp connect fails on a closed port).
free_port() {
    local p
    for _ in $(seq 200); do
        p=$((20000 + RANDOM % 20000))
        if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
            echo "$p"
            return
        fi
    done
    die "no free port found"
}

wait_http() { # URL
    for _ in $(seq 100); do
        curl -fs -o /dev/null "$1" && return 0
        sleep 0.1
    done
    die "$1 did not answer"
}

# ---- data directory: an org, an operator with an API token, cases --------------------------
data=$tmp/data
export ZENGEN_DATA=$data
"$bin" init "$data" >/dev/null
org="Bench Hospital"
"$bin" org add "$org" --type hospital >/dev/null
"$bin" user add bench --role operator --org "$org" >/dev/null
token=$("$bin" token create bench --name bench 2>/dev/null)
[[ $token == zgt_* ]] || die "token create printed no token"
for _ in $(seq "$ncases"); do
    "$bin" case add --org "$org" >/dev/null
done

# ---- zengen -----------------------------------------------------------------------------------
zport=$(free_port)
"$bin" serve --data "$data" --listen "127.0.0.1:$zport" --no-access-log >"$tmp/serve.log" 2>&1 &
server_pid=$!
zurl=http://127.0.0.1:$zport
wait_http "$zurl/healthz"

auth="Authorization: Bearer $token"
code=$(curl -s -o "$tmp/cases.json" -w '%{http_code}' -H "$auth" "$zurl/api/v1/cases?limit=10")
[[ $code == 200 ]] || die "GET /api/v1/cases answered $code: $(head -c 300 "$tmp/cases.json")"
code=$(curl -s -o "$tmp/overview.json" -w '%{http_code}' -H "$auth" "$zurl/api/v1/stats/overview")
[[ $code == 200 ]] || die "GET /api/v1/stats/overview answered $code"
size=$(stat -c %s "$tmp/cases.json")

# ---- nginx: the same bytes as a static file ----------------------------------------------------
mkdir -p "$tmp/nginx"
cp "$tmp/cases.json" "$www/cases.json"
chmod 644 "$www/cases.json"
nport=$(free_port)
cat >"$tmp/nginx/nginx.conf" <<EOF
worker_processes 2;
daemon off;
pid $tmp/nginx/nginx.pid;
error_log $tmp/nginx/error.log warn;
events { worker_connections 1024; }
http {
    access_log off;
    types { application/json json; }
    client_body_temp_path $tmp/nginx/body;
    proxy_temp_path $tmp/nginx/proxy;
    fastcgi_temp_path $tmp/nginx/fastcgi;
    uwsgi_temp_path $tmp/nginx/uwsgi;
    scgi_temp_path $tmp/nginx/scgi;
    server {
        listen 127.0.0.1:$nport;
        root $www;
    }
}
EOF
"$nginx" -p "$tmp/nginx" -c "$tmp/nginx/nginx.conf" -e "$tmp/nginx/error.log" &
nginx_pid=$!
nurl=http://127.0.0.1:$nport
wait_http "$nurl/cases.json"
nsize=$(curl -s "$nurl/cases.json" | wc -c)
[[ $nsize == "$size" ]] || die "nginx serves $nsize bytes, expected $size"

# ---- runs ---------------------------------------------------------------------------------------
metric() { # NAME → value from /metrics
    curl -fs "$zurl/metrics" | awk -v n="$1" '$1 == n { print $2 }'
}

# wrk output → "REQ_PER_S P99_MS"; fails when any response was not 2xx/3xx or sockets erred.
run_wrk() { # NAME URL [HEADER]
    local name=$1 url=$2 log=$tmp/wrk-$1.txt
    shift 2
    local hdr=()
    [[ $# -gt 0 ]] && hdr=(-H "$1")
    wrk -t"$threads" -c"$conns" -d"$duration" --latency "${hdr[@]}" "$url" >"$log" 2>&1
    if grep -q 'Non-2xx or 3xx responses' "$log"; then
        cat "$log" >&2
        die "$name: some responses were errors"
    fi
    awk '
        function ms(v) {
            if (v ~ /us$/) return v / 1000
            if (v ~ /ms$/) return v + 0
            if (v ~ /m$/) return v * 60000
            if (v ~ /s$/) return v * 1000
            return v
        }
        $1 == "99%" { p99 = ms($2) }
        $1 == "Requests/sec:" { rps = $2 }
        $1 == "Socket" { err = $0 }
        END {
            if (rps == "" || p99 == "") exit 1
            printf "%s %s %s\n", rps, p99, err == "" ? "-" : "1"
        }' "$log" >"$tmp/res-$name" || die "$name: cannot parse wrk output"
    read -r rps p99 serr <"$tmp/res-$name"
    printf '%-10s %12s req/s  p99 %8s ms%s\n' "$name" "$rps" "$p99" \
        "$([[ $serr == - ]] || echo "  (socket errors: see $log)")" >&2
}

run_wrk healthz "$zurl/healthz"
e0=$(metric zengen_audit_events_total) b0=$(metric zengen_audit_batches_total)
t0=$(date +%s.%N)
run_wrk overview "$zurl/api/v1/stats/overview" "$auth"
run_wrk cases "$zurl/api/v1/cases?limit=10" "$auth"
t1=$(date +%s.%N)
e1=$(metric zengen_audit_events_total) b1=$(metric zengen_audit_batches_total)
f1=$(metric zengen_audit_failures_total)
run_wrk nginx "$nurl/cases.json"

# ---- the same routes on a comparison build without audit writes (ZG_BENCH_UNAUDITED) -------------
# What auditing costs: the same binary, same data, same requests, with the audit call compiled out.
ubin=${ZENGEN_UNAUDITED_BIN:-}
if [[ -z $ubin ]]; then
    echo "building the unaudited comparison binary (benchmark only)…" >&2
    cmake -S "$here" -B "$tmp/build-unaudited" -DZG_BENCH_UNAUDITED=ON -DZG_TESTS=OFF \
        -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
    cmake --build "$tmp/build-unaudited" -j"$(nproc)" --target zengen >/dev/null
    ubin=$tmp/build-unaudited/zengen
fi
kill "$server_pid" && wait "$server_pid" 2>/dev/null
server_pid=""
"$ubin" serve --data "$data" --listen "127.0.0.1:$zport" --no-access-log >"$tmp/serve-u.log" 2>&1 &
server_pid=$!
wait_http "$zurl/healthz"
curl -fs "$zurl/healthz" | grep -q UNAUDITED || die "$ubin is not an unaudited benchmark build"
run_wrk overview_u "$zurl/api/v1/stats/overview" "$auth"
run_wrk cases_u "$zurl/api/v1/cases?limit=10" "$auth"

grep -q 'Socket errors' "$tmp"/wrk-*.txt && socket_note="yes" || socket_note=""

# ---- report ---------------------------------------------------------------------------------------
get() { awk -v k="$2" '{ print (k == "rps" ? $1 : $2) }' "$tmp/res-$1"; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", (b > 0 ? a / b : 0) }'; }
h_rps=$(get healthz rps) o_rps=$(get overview rps) c_rps=$(get cases rps) n_rps=$(get nginx rps)
events=$((e1 - e0)) batches=$((b1 - b0))
ev_rate=$(awk -v e="$events" -v a="$t0" -v b="$t1" 'BEGIN { printf "%.0f", (e / (b - a)) }')
batch=$(awk -v e="$events" -v b="$batches" 'BEGIN { printf "%.1f", (b > 0 ? e / b : 0) }')
ou_rps=$(get overview_u rps) cu_rps=$(get cases_u rps)
o_audit=$(ratio "$o_rps" "$ou_rps") c_audit=$(ratio "$c_rps" "$cu_rps")
o_health=$(ratio "$o_rps" "$h_rps") c_health=$(ratio "$c_rps" "$h_rps")
worst_audit=$(awk -v a="$o_audit" -v b="$c_audit" 'BEGIN { print (a < b ? a : b) }')
if awk -v r="$worst_audit" 'BEGIN { exit !(r >= 0.5) }'; then
    verdict="**Auditing does not halve throughput**: audited requests run at ${o_audit}× (overview) and ${c_audit}× (case list) of the same requests without audit writes (target ≥ 0.50×)."
else
    verdict="**Target NOT met**: an audited route runs at only ${worst_audit}× of the same route without audit writes (target ≥ 0.50×)."
fi
if awk -v r="$o_health" 'BEGIN { exit !(r >= 0.5) }'; then
    verdict2="Against the public /healthz, the audited overview GET runs at ${o_health}× (≥ 0.50×); the case list at ${c_health}× is bounded by its own work (query and JSON of 10 cases with specimens), as the unaudited row shows."
else
    verdict2="Against the public /healthz, the audited overview GET runs at only ${o_health}× (target ≥ 0.50×); the case list at ${c_health}×."
fi
cpu=$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)
rev=$(git -C "$here" rev-parse --short HEAD 2>/dev/null || echo unknown)
git -C "$here" diff --quiet HEAD -- src 2>/dev/null || rev="$rev + uncommitted src changes"

row() { # LABEL NAME
    printf '| %s | %s | %s | %s | %s |\n' "$1" "$(get "$2" rps)" "$(get "$2" p99)" \
        "$(ratio "$(get "$2" rps)" "$h_rps")" "$(ratio "$(get "$2" rps)" "$n_rps")"
}

{
    echo "<!-- bench:http:begin -->"
    echo "<!-- generated by bench/http.sh; edit the script, not this block -->"
    echo "Run $(date -u +%Y-%m-%dT%H:%MZ) on $(nproc) CPUs ($cpu), Linux $(uname -r);"
    echo "zengen $("$bin" --version | awk '{ print $2 }') at $rev, $("$nginx" -v 2>&1 | sed 's/.*: //'),"
    echo "$(wrk -v 2>&1 | head -1 | awk '{ print $1, $2 }'). Load generator and servers share the machine."
    echo
    echo "\`wrk -t$threads -c$conns -d$duration --latency\`, $ncases cases, audited response and static"
    echo "file $size bytes, zengen with default threads and \`--no-access-log\`, nginx with"
    echo "\`worker_processes 2\` and \`access_log off\`."
    echo
    echo "| request | req/s | p99 ms | × /healthz | × nginx |"
    echo "|---|---:|---:|---:|---:|"
    row "GET /healthz (public, not audited)" healthz
    row "GET /api/v1/stats/overview (token, overview tier, audited)" overview
    row "GET /api/v1/cases?limit=10 (token, detailed-clinical, audited)" cases
    row "nginx static file, same size as the cases response" nginx
    row "GET /api/v1/stats/overview, comparison build without audit writes" overview_u
    row "GET /api/v1/cases?limit=10, comparison build without audit writes" cases_u
    echo
    echo "$verdict"
    echo
    echo "$verdict2"
    echo
    echo "Audit during the two audited runs: $events events in $batches group commits"
    echo "(**$ev_rate events/s**, **$batch events per batch** on average; failures total: ${f1:-?};"
    echo "from \`zengen_audit_events_total\` / \`zengen_audit_batches_total\` at \`/metrics\`)."
    if [[ -n $socket_note ]]; then
        echo
        echo "Note: wrk reported socket errors in at least one run."
    fi
    echo
    echo "Reproduce: \`bench/http.sh\` (\`ZENGEN_BIN=… DURATION=… bench/http.sh\` to vary)."
    echo "<!-- bench:http:end -->"
} >"$tmp/block.md"

if [[ ! -f $out ]]; then
    cat >"$out" <<'EOF'
# zengen benchmarks

Side-by-side measurements of zengen against a simple baseline, each produced by a script in
`bench/` that writes its own section below. Numbers are from one machine and one run: compare
rows within a section, not across machines. Each generated block sits between
`<!-- bench:NAME:begin -->` and `<!-- bench:NAME:end -->` and is replaced when its script is
re-run; text outside the blocks is written by hand.

EOF
fi
if ! grep -q '<!-- bench:http:begin -->' "$out"; then
    cat >>"$out" <<'EOF'
## HTTP: audited requests

What every authenticated request costs: the token lookup, the policy decision and the
hash-chained audit event that zengen writes for each data access, against the public
`/healthz` of the same server (authentication, policy and audit skipped) and against nginx
serving a static file of the same size. Target: audited requests at ≥ 50% of the /healthz rate.

<!-- bench:http:begin -->
<!-- bench:http:end -->
EOF
fi
awk -v block="$tmp/block.md" '
    /<!-- bench:http:begin -->/ { while ((getline l < block) > 0) print l; skip = 1; next }
    /<!-- bench:http:end -->/ { skip = 0; next }
    !skip { print }' "$out" >"$tmp/out.md"
cp "$tmp/out.md" "$out"
echo "bench/http.sh: wrote the HTTP section of $out" >&2
cat "$tmp/block.md"
