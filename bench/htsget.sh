#!/usr/bin/env bash
# htsget and coverage-QC benchmarks on a generated WGS-like data set (two 4 Mb contigs, 2×150 bp
# reads at about 60×, BAM and CRAM):
#  - htsget: `samtools view` of a region through zengen's htsget URL (ticket + blocks over HTTP,
#    token auth, policy, audit) against `samtools view` of the same region of the local file;
#    target overhead ≤ 10 %. Outputs are compared, not just timed.
#  - QC: `zengen qc coverage` against `mosdepth -n` on the same BAM and CRAM; target ≥ 1× its
#    speed.
# Writes the blocks <!-- bench:htsget:… --> and <!-- bench:qc:… --> of docs/benchmarks.md.
#
# usage: bench/htsget.sh
#   ZENGEN_BIN  zengen binary (default build/zengen)   RUNS  timed runs per row (default 7)
#   MB          contig length in Mb (default 4)         DEPTH read depth (default 60)
#   OUT         document (default docs/benchmarks.md)
set -euo pipefail

here=$(cd "$(dirname "$0")/.." && pwd)
cd "$here"
bin=${ZENGEN_BIN:-build/zengen}
runs=${RUNS:-7}
mb=${MB:-4}
depth=${DEPTH:-60}
out=${OUT:-docs/benchmarks.md}

die() { echo "bench/htsget.sh: $*" >&2; exit 1; }
for t in samtools mosdepth python3 curl; do
    command -v "$t" >/dev/null || die "$t is required"
done
[[ -x $bin ]] || die "no zengen binary at $bin (build first or set ZENGEN_BIN)"
bin=$(cd "$(dirname "$bin")" && pwd)/$(basename "$bin")

tmp=$(mktemp -d "${TMPDIR:-/tmp}/zengen-bench-htsget.XXXXXX")
server_pid=""
cleanup() {
    [[ -n $server_pid ]] && kill "$server_pid" 2>/dev/null && wait "$server_pid" 2>/dev/null
    rm -rf "$tmp"
}
trap cleanup EXIT

echo "generating ${mb} Mb × 2 contigs at ${depth}× …" >&2
python3 - "$tmp" "$mb" "$depth" <<'PY'
import random, sys
d, mb, depth = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
random.seed(7)
L = mb * 1000000
refs = {c: ''.join(random.choice('ACGT') for _ in range(L)) for c in ('1', '2')}
with open(f'{d}/ref.fa', 'w') as f:
    for c, s in refs.items():
        f.write(f'>{c}\n')
        for i in range(0, L, 60):
            f.write(s[i:i + 60] + '\n')
comp = str.maketrans('ACGT', 'TGCA')
with open(f'{d}/reads.sam', 'w') as f:
    f.write('@HD\tVN:1.6\tSO:unsorted\n')
    for c in refs:
        f.write(f'@SQ\tSN:{c}\tLN:{L}\n')
    f.write('@RG\tID:bench\tSM:bench\n')
    n = L * depth // 300
    q = 'F' * 150
    for c, s in refs.items():
        for i in range(n):
            p = random.randrange(0, L - 600)
            ins = random.randrange(250, 450)
            p2 = p + ins - 150
            r1 = list(s[p:p + 150])
            for _ in range(2):
                k = random.randrange(150); r1[k] = random.choice('ACGT')
            r1 = ''.join(r1)
            r2 = s[p2:p2 + 150]
            name = f'r{c}_{i}'
            f.write(f'{name}\t99\t{c}\t{p+1}\t60\t150M\t=\t{p2+1}\t{ins}\t{r1}\t{q}\tRG:Z:bench\n')
            f.write(f'{name}\t147\t{c}\t{p2+1}\t60\t150M\t=\t{p+1}\t{-ins}\t{r2}\t{q}\tRG:Z:bench\n')
PY
samtools faidx "$tmp/ref.fa"
samtools sort -@2 -o "$tmp/bench.bam" "$tmp/reads.sam" 2>/dev/null
samtools index "$tmp/bench.bam"
samtools view -@2 -C -T "$tmp/ref.fa" -o "$tmp/bench.cram" "$tmp/bench.bam"
samtools index "$tmp/bench.cram"
rm -f "$tmp/reads.sam"
nreads=$(samtools idxstats "$tmp/bench.bam" | awk '{s+=$3} END {print s}')

# zengen data directory with the two files and an operator token
data="$tmp/data"
"$bin" init "$data" >/dev/null
"$bin" org add BenchHosp --type hospital --data "$data" >/dev/null
"$bin" user add benchop --role operator --org BenchHosp --data "$data" >/dev/null
case_id=$("$bin" case add --org BenchHosp --data "$data")
bam_id=$("$bin" file add "$tmp/bench.bam" --case "$case_id" --data "$data" | grep -o 'ZGF-[0-9A-F]*' | tail -1)
cram_id=$("$bin" file add "$tmp/bench.cram" --case "$case_id" --ref-fasta "$tmp/ref.fa" --data "$data" | grep -o 'ZGF-[0-9A-F]*' | tail -1)
"$bin" token create benchop --name bench --scope detailed-genome --data "$data" | grep -o 'zgt_[A-Za-z0-9_-]*' > "$tmp/token"

port=""
for _ in $(seq 200); do
    p=$((20000 + RANDOM % 20000))
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then port=$p; break; fi
done
[[ -n $port ]] || die "no free port"
"$bin" serve --data "$data" --listen "127.0.0.1:$port" --no-access-log >"$tmp/serve.log" 2>&1 &
server_pid=$!
for _ in $(seq 100); do curl -fs "http://127.0.0.1:$port/healthz" >/dev/null && break; sleep 0.1; done
export HTS_AUTH_LOCATION="$tmp/token" HTS_ALLOW_UNENCRYPTED_AUTHORIZATION_HEADER="I understand the risks"
export REF_PATH="$tmp/ref.fa"

# median wall time (ms) of a command over $runs runs, after one warm-up
median_ms() {
    "$@" >/dev/null 2>&1 || die "failed: $*"
    local t=()
    for _ in $(seq "$runs"); do
        local s e
        s=$(date +%s%N)
        "$@" >/dev/null 2>&1
        e=$(date +%s%N)
        t+=($(( (e - s) / 1000 )))
    done
    printf '%s\n' "${t[@]}" | sort -n | awk '{a[NR]=$1} END {printf "%.1f", a[int((NR+1)/2)]/1000}'
}

url="http://127.0.0.1:$port/api/htsget/v1/reads"
# htslib's fixed cost of any network read (loading its libcurl plugin, connecting): a URL on a
# port nobody listens on fails right after that start-up
floor_port=""
for _ in $(seq 200); do
    p=$((20000 + RANDOM % 20000))
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then floor_port=$p; break; fi
done
floor_ms() {
    local t=()
    for _ in $(seq "$runs"); do
        local s e
        s=$(date +%s%N)
        samtools view -c "http://127.0.0.1:$floor_port/none.bam" >/dev/null 2>&1 || true
        e=$(date +%s%N)
        t+=($(( (e - s) / 1000 )))
    done
    printf '%s\n' "${t[@]}" | sort -n | awk '{a[NR]=$1} END {printf "%.1f", a[int((NR+1)/2)]/1000}'
}
floor=$(floor_ms)
rows_h=""
for spec in "BAM $bam_id $tmp/bench.bam" "CRAM $cram_id $tmp/bench.cram"; do
    read -r fmt id file <<<"$spec"
    for region in "1:2000001-2010000" "1:1000001-2000000" "2"; do
        ref=${region%%:*}
        if [[ $region == *:* ]]; then
            span=${region#*:}; s=$(( ${span%-*} - 1 )); e=${span#*-}
            q="referenceName=$ref&start=$s&end=$e"
        else
            q="referenceName=$ref"
        fi
        # same reads, byte for byte
        cmp -s <(samtools view --reference "$tmp/ref.fa" "$url/$id?$q") \
               <(samtools view --reference "$tmp/ref.fa" "$file" "$region") ||
            die "$fmt $region: htsget output differs from the local slice"
        n=$(samtools view -c --reference "$tmp/ref.fa" "$file" "$region")
        lt=$(median_ms samtools view --reference "$tmp/ref.fa" -o /dev/null "$file" "$region")
        ht=$(median_ms samtools view --reference "$tmp/ref.fa" -o /dev/null "$url/$id?$q")
        ov=$(awk -v a="$lt" -v b="$ht" 'BEGIN {printf "%+.1f", (b / a - 1) * 100}')
        ovf=$(awk -v a="$lt" -v b="$ht" -v f="$floor" 'BEGIN {printf "%+.1f", (b - f) / a * 100 - 100}')
        rows_h+="| $fmt | \`$region\` | $n | $lt | $ht | $ov % | $ovf % |"$'\n'
    done
done

rows_q=""
# same decoding threads on both sides: none (one thread does everything), then one extra
# decompression thread each (zengen --threads 1, mosdepth -t 1)
for th in 0 1; do
for spec in "BAM $tmp/bench.bam" "CRAM $tmp/bench.cram"; do
    read -r fmt file <<<"$spec"
    zt=$(median_ms "$bin" qc coverage "$file" --reference "$tmp/ref.fa" --threads "$th")
    mt=$(median_ms mosdepth -n -t "$th" --fasta "$tmp/ref.fa" "$tmp/md" "$file")
    ft=$(median_ms mosdepth -n -t "$th" --fast-mode --fasta "$tmp/ref.fa" "$tmp/mdf" "$file")
    zmean=$("$bin" qc coverage "$file" --reference "$tmp/ref.fa" --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["mean_autosome_coverage"])')
    mmean=$(awk '$1=="total" {print $4}' "$tmp/mdf.mosdepth.summary.txt")
    sp=$(awk -v a="$mt" -v b="$zt" 'BEGIN {printf "%.2f", a / b}')
    spf=$(awk -v a="$ft" -v b="$zt" 'BEGIN {printf "%.2f", a / b}')
    rows_q+="| $fmt | $th | $zt | $mt | $ft | ${sp}× | ${spf}× | $zmean | $mmean |"$'\n'
done
done

cpu=$(awk -F': ' '/model name/ {print $2; exit}' /proc/cpuinfo | sed 's/ *$//')
head=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
stamp=$(date -u +%Y-%m-%dT%H:%MZ)
hv=$(samtools --version | head -1)
mv=$(mosdepth --version 2>&1 | head -1)
block_h=$(cat <<MD
<!-- generated by bench/htsget.sh; edit the script, not this block -->
Run $stamp on $(nproc) CPUs ($cpu); zengen at $head, $hv. Data: two ${mb} Mb contigs,
$nreads simulated 2×150 bp reads (≈${depth}×), BAM and CRAM (3.0, reference-based).
Median of $runs runs after a warm-up; each htsget row was first checked to print exactly the
local slice. htsget = ticket + data blocks over loopback HTTP with token authentication,
policy and an audit event per request. htslib's own start-up for any network URL (plugin
load and connect, measured on a closed port) is ${floor} ms; the last column leaves it out.

| file | region | reads | local \`samtools view\` ms | via zengen htsget ms | overhead | overhead beyond htslib's network start-up |
|---|---|---:|---:|---:|---:|---:|
${rows_h}
MD
)
block_q=$(cat <<MD
<!-- generated by bench/htsget.sh; edit the script, not this block -->
Run $stamp on $(nproc) CPUs ($cpu); zengen at $head, $mv. Same data as above.
Both tools get the same decoding threads in each row: 0 = one thread does everything,
1 = one extra decompression thread (\`zengen qc coverage --threads 1\`, \`mosdepth -t 1\`).
mosdepth with \`-n\` (no per-base output); default mode also corrects mate overlaps,
\`--fast-mode\` does not (zengen does not either: it counts the aligned bases of every primary,
non-duplicate read like mosdepth's fast mode with CIGAR). Median of $runs runs.

| file | extra threads | zengen qc coverage ms | mosdepth -n ms | mosdepth -n --fast-mode ms | speed vs mosdepth | vs fast-mode | zengen mean | mosdepth mean |
|---|---:|---:|---:|---:|---:|---:|---:|---:|
${rows_q}
MD
)

replace_block() { # name, content
    python3 - "$out" "$1" "$2" <<'PY'
import sys, re
path, name, body = sys.argv[1], sys.argv[2], sys.argv[3]
doc = open(path).read()
b, e = f'<!-- bench:{name}:begin -->', f'<!-- bench:{name}:end -->'
block = f'{b}\n{body.strip()}\n{e}'
if b in doc and e in doc:
    doc = doc[:doc.index(b)] + block + doc[doc.index(e) + len(e):]
else:
    title = {'htsget': '## htsget: region slices', 'qc': '## Coverage QC'}[name]
    doc = doc.rstrip('\n') + f'\n\n{title}\n\n{block}\n'
open(path, 'w').write(doc)
PY
}
replace_block htsget "$block_h"
replace_block qc "$block_q"
echo "$block_h"
echo "$block_q"
