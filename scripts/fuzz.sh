#!/usr/bin/env bash
# Builds the libFuzzer targets (clang, AddressSanitizer + UndefinedBehaviorSanitizer) and runs each for
# a bounded time from the seed corpus in tests/fuzz/corpus (copied: the repository is not modified).
#   scripts/fuzz.sh [seconds per target, default 60]
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${1:-60}"
out=build-fuzz
mkdir -p "$out"
flags=(-std=c++20 -O1 -g -mavx2 -mfma -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined -Iinclude)
for target in idx csv load weights; do
  clang++ "${flags[@]}" "tests/fuzz/fuzz_${target}.cpp" -o "$out/fuzz_${target}" -lz -lpng &
done
wait
status=0
for target in idx csv load weights; do
  work="$out/corpus-${target}"
  rm -rf "$work" && mkdir -p "$work" && cp tests/fuzz/corpus/"${target}"/* "$work"/
  echo "fuzz_${target}: ${seconds} s" >&2
  if ! "$out/fuzz_${target}" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
        "$work" > "$out/fuzz_${target}.log" 2>&1; then
    echo "fuzz_${target}: FAILED (see $out/fuzz_${target}.log)" >&2
    tail -40 "$out/fuzz_${target}.log" >&2
    status=1
  fi
  grep -E "stat::number_of_executed_units|stat::peak_rss_mb" "$out/fuzz_${target}.log" | sed "s/^/fuzz_${target}: /" >&2 || true
done
exit $status
