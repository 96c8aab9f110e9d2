#!/usr/bin/env bash
# Builds zengen with AddressSanitizer + UndefinedBehaviorSanitizer and runs the whole suite in
# that build (called by ctest from the main build as test sanitizer.asan-ubsan-suite).
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
out=${1:-$here/build-asan}
cmake -S "$here" -B "$out" -DZG_SANITIZE=ON -DZG_WERROR=ON -DCMAKE_BUILD_TYPE=Debug >/dev/null
cmake --build "$out" -j"$(nproc)"
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1:strict_string_checks=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
export LSAN_OPTIONS=suppressions=$here/tests/lsan.supp
cd "$out"
ctest --output-on-failure -j"$(nproc)"
