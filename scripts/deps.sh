#!/usr/bin/env bash
# Installs what zengen needs to build, test and demo on Debian 12; skips what is present.
# Usage: scripts/deps.sh [build|test|demo]   (test adds browser/fuzz/bench tools)
set -euo pipefail
want=${1:-test}  # build | demo | test
here=$(cd "$(dirname "$0")/.." && pwd)

build_pkgs=(build-essential cmake pkg-config libmicrohttpd-dev libjansson-dev libsqlite3-dev
            libsodium-dev liboath-dev libqrencode-dev libcurl4-gnutls-dev libhts-dev libroaring-dev
            libssl-dev sqlite3 ca-certificates)
test_pkgs=(libcmocka-dev clang-14 libclang-rt-14-dev chromium fonts-noto-cjk wrk nginx-light curl oathtool openssl
           samtools bcftools tabix mosdepth)
node_pkgs=(nodejs npm)

pkgs=("${build_pkgs[@]}")
[ "$want" = test ] && pkgs+=("${test_pkgs[@]}")
[ "$want" = demo ] && pkgs+=(oathtool fonts-noto-cjk)
command -v node >/dev/null 2>&1 || pkgs+=("${node_pkgs[@]}")

missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "deps: installing ${missing[*]}"
  if [ "$(id -u)" -ne 0 ]; then SUDO=sudo; else SUDO=; fi
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

# node packages for the portal, API and browser tests (no browser download: Debian chromium is used)
# and the portal's vendor files (igv.js; oncoprintjs, which the build bundles with esbuild),
# which the build puts into web/vendor/
if [ ! -d "$here/node_modules/playwright-core" ] || [ ! -d "$here/node_modules/igv" ] ||
   [ ! -d "$here/node_modules/oncoprintjs" ] || [ ! -d "$here/node_modules/esbuild" ] ||
   [ "$here/package.json" -nt "$here/node_modules/.zg-stamp" ]; then
  echo "deps: npm install"
  (cd "$here" && npm install --no-audit --no-fund --loglevel=error && touch node_modules/.zg-stamp)
fi
