#!/usr/bin/env bash
# Usage: tests/fuzz/run_fuzz.sh BUILD_DIR SECONDS
#
# Builds the libFuzzer target response_parser_fuzz with clang++ in BUILD_DIR/fuzz (a build
# of its own: the main build uses g++), then fuzzes ParseQueryResponse and Classify for
# SECONDS, starting from the seed corpus in tests/fuzz/corpus. New inputs go to
# BUILD_DIR/fuzz/corpus, a crashing input to BUILD_DIR/fuzz/artifacts. Exits non-zero on
# a crash, a sanitizer report, a leak or a failed build.
set -euo pipefail

if [[ $# -lt 1 || $# -gt 2 ]]; then
  echo "usage: $0 BUILD_DIR [SECONDS]   e.g. $0 build 60" >&2
  exit 2
fi
build_dir=$(realpath -m "$1")
seconds=${2:-60}
root=$(cd "$(dirname "$0")/../.." && pwd)
fuzz_dir="$build_dir/fuzz"
cxx=${CXX:-clang++}
if ! command -v "$cxx" >/dev/null 2>&1; then
  echo "run_fuzz.sh: $cxx not found; install clang to fuzz" >&2
  exit 1
fi
if [[ "$("$cxx" --version)" != *clang* ]]; then
  echo "run_fuzz.sh: CXX=$cxx is not clang; libFuzzer needs clang" >&2
  exit 1
fi

echo "== configuring $fuzz_dir with $cxx"
cmake -S "$root" -B "$fuzz_dir" -G Ninja -DCMAKE_CXX_COMPILER="$cxx" \
  -DCMAKE_BUILD_TYPE=RelWithDebInfo -DBATCHFETCH_WERROR=OFF >"$fuzz_dir.configure.log" 2>&1 || {
  cat "$fuzz_dir.configure.log" >&2
  exit 1
}
echo "== building response_parser_fuzz"
cmake --build "$fuzz_dir" --target response_parser_fuzz -j "$(nproc)"

mkdir -p "$fuzz_dir/corpus" "$fuzz_dir/artifacts"
echo "== fuzzing for ${seconds}s"
# The first corpus folder receives new inputs; the committed seeds are read only.
"$fuzz_dir/tests/fuzz/response_parser_fuzz" \
  -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -max_len=65536 \
  -print_final_stats=1 -artifact_prefix="$fuzz_dir/artifacts/" \
  "$fuzz_dir/corpus" "$root/tests/fuzz/corpus"
echo "== no crash in ${seconds}s"
