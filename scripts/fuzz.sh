#!/usr/bin/env bash
# Builds the libFuzzer targets (clang, AddressSanitizer + UndefinedBehaviorSanitizer) and runs each for
# a bounded time from the seed corpus in tests/fuzz/corpus (copied: the repository is not modified).
# As many run at a time as there are cores (LATENT_JOBS, default nproc): on two cores, two pairs one
# after the other, each fuzzer on a core of its own for its seconds, as when they ran one by one.
#   scripts/fuzz.sh [seconds per target, default 60]
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${1:-60}"
jobs="${LATENT_JOBS:-$(nproc)}"
out=build-fuzz
targets=(idx csv load weights)
mkdir -p "$out"
flags=(-std=c++20 -O1 -g -mavx2 -mfma -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined -Iinclude)
pids=()
for target in "${targets[@]}"; do
  clang++ "${flags[@]}" "tests/fuzz/fuzz_${target}.cpp" -o "$out/fuzz_${target}" -lz -lpng &
  pids+=($!)
done
for pid in "${pids[@]}"; do wait "$pid"; done  # a failed build stops here (set -e)

# One fuzzer: its log, its exit status (.status) and its CPU seconds, user and system (.cpu).
run_one() {
  local target="$1" work="$out/corpus-$1" code TIMEFORMAT="%U %S"
  rm -rf "$work" && mkdir -p "$work" && cp tests/fuzz/corpus/"${target}"/* "$work"/
  { time { "$out/fuzz_${target}" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
             "$work" > "$out/fuzz_${target}.log" 2>&1 && code=0 || code=$?; }; } 2> "$out/fuzz_${target}.cpu"
  echo "$code" > "$out/fuzz_${target}.status"
}

echo "fuzz: ${targets[*]}, ${seconds} s each, ${jobs} at a time" >&2
running=0
for target in "${targets[@]}"; do
  if ((running >= jobs)); then
    wait -n
    running=$((running - 1))
  fi
  run_one "$target" &
  running=$((running + 1))
done
wait

status=0
for target in "${targets[@]}"; do
  read -r user sys < "$out/fuzz_${target}.cpu"
  if [[ "$(cat "$out/fuzz_${target}.status")" != 0 ]]; then
    echo "fuzz_${target}: FAILED (see $out/fuzz_${target}.log)" >&2
    tail -40 "$out/fuzz_${target}.log" >&2
    status=1
  fi
  echo "fuzz_${target}: CPU ${user} s user + ${sys} s system" >&2
  grep -E "stat::number_of_executed_units|stat::peak_rss_mb" "$out/fuzz_${target}.log" | sed "s/^/fuzz_${target}: /" >&2 || true
done
exit $status
