#!/usr/bin/env bash
# The whole test suite, in three stages:
#  1. build/ (g++, Release, warnings are errors): every test, the static and compile-fail tiers (g++'s
#     wording), the consumer projects (find_package, add_subdirectory) and every example, through
#     ctest; every header compiled by g++ in one unit, or each on its own when stage 2 does not run
#     (--quick);
#  2. build-clang-asan/ (clang++, -O1 but test_core, test_io and a few small units at -O0 as
#     tests/CMakeLists.txt says, AddressSanitizer + UndefinedBehaviorSanitizer, leaks checked,
#     warnings are errors): the library and every run-time test again (the PyTorch and ONNX checks
#     too), header self-containment (every header on its own, with clang: LATENT_TEST_HEADERS), and
#     the static and compile-fail tiers in clang's wording (those compile with -fsyntax-only,
#     without the sanitizers); not the examples and consumers (stage 1 has them), and test_mpi
#     is built but not run (Open MPI's own allocations are reported as leaks). AddressSanitizer's
#     checks are calls rather than inline code (-fsanitize-address-outline-instrumentation: the same
#     checks, the tree compiles in about 40 % less time, the tests run about twice as long);
#  3. the libFuzzer targets (IDX reader, CSV reader, model loader, weight files; scripts/fuzz.sh),
#     LATENT_FUZZ_SECONDS each (default 30), as many at a time as there are cores.
# Each step and stage prints its wall and CPU time, and a table at the end gives them all. A failed step
# ends its stage; the other stages still run, and the exit status is 1.
#   scripts/test.sh [--quick | --stage N ...]   (--quick: stage 1 only; --stage N: stage N, repeatable)
# LATENT_JOBS (default: the number of cores) sets the build's and ctest's parallelism; LATENT_CMAKE_ARGS
# adds arguments to both configure steps (e.g. "-G Ninja" for a new tree, or a compiler launcher).
set -euo pipefail
cd "$(dirname "$0")/.."

stages=()
while (($#)); do
  case "$1" in
    --quick) stages+=(1) ;;
    --stage)
      [[ "${2:-}" =~ ^[123]$ ]] || { echo "test.sh: --stage takes 1, 2 or 3" >&2; exit 2; }
      stages+=("$2")
      shift ;;
    *) echo "test.sh: unknown option $1 (expected --quick or --stage N)" >&2; exit 2 ;;
  esac
  shift
done
((${#stages[@]})) || stages=(1 2 3)
jobs="${LATENT_JOBS:-$(nproc)}"
read -r -a cmake_args <<< "${LATENT_CMAKE_ARGS:-}"

# Every step's wall time and the CPU time of its processes (user + system, all cores: on a machine
# shared with other work the wall time grows, the CPU time hardly), printed as the step ends and in a
# table at the end (also after a failure).
times_file=$(mktemp)
cpu_now() {  # sets cpu: the CPU seconds of this shell's finished children so far (bash's `times`)
  local self children r
  times > "$times_file"
  { read -r self; read -r children; } < "$times_file"
  [[ "$children" =~ ^([0-9]+)m([0-9]+)\.([0-9]{3})s\ ([0-9]+)m([0-9]+)\.([0-9]{3})s$ ]]
  r=("${BASH_REMATCH[@]}")
  cpu=$((((r[1] + r[4]) * 60000 + 10#${r[2]}${r[3]} + 10#${r[5]}${r[6]} + 500) / 1000))
}
row() { printf '%-34s %7s s %9s s%s' "$1" "$2" "$3" "${4:-}"; }
table=("$(row step wall CPU)")
suite_start=$SECONDS
cpu_now
suite_cpu=$cpu
step() {
  local name="$1" start=$SECONDS start_cpu status=0 line
  shift
  cpu_now
  start_cpu=$cpu
  echo "== test.sh: ${name}" >&2
  "$@" || status=$?
  cpu_now
  line="$(row "$name" $((SECONDS - start)) $((cpu - start_cpu)) "$( ((status == 0)) || echo "  FAILED ($status)")")"
  table+=("$line")
  echo "== test.sh: ${line}" >&2
  return $status
}
stage_done() {  # stage, its start (wall, CPU), its status
  local line
  cpu_now
  line="$(row "stage $1" $((SECONDS - $2)) $((cpu - $3)) "$( (($4 == 0)) || echo "  FAILED")")"
  table+=("$line" "")
  echo "== test.sh: ${line}" >&2
}
summary() {
  local status=$?
  cpu_now
  {
    echo
    echo "== test.sh: wall and CPU time per step (${jobs} jobs, $(nproc) cores)"
    printf '%s\n' "${table[@]}"
    row "all" $((SECONDS - suite_start)) $((cpu - suite_cpu)) "$( ((status == 0)) || echo "  FAILED")"
    echo
  } >&2
  rm -f "$times_file"
}
trap summary EXIT

# Header self-containment is checked in one tree: stage 2's (clang) when it runs, else stage 1's.
headers_in_1=ON
[[ " ${stages[*]} " == *" 2 "* ]] && headers_in_1=OFF
stage_1() {
  step "1 configure (g++ Release)" cmake -S . -B build -DCMAKE_BUILD_TYPE=Release -DLATENT_BUILD_BENCHMARKS=OFF \
    "-DLATENT_TEST_HEADERS=${headers_in_1}" "${cmake_args[@]}" &&
    step "1 build" cmake --build build -j"$jobs" &&
    step "1 ctest" ctest --test-dir build --output-on-failure -j"$jobs"
}
stage_2() {
  step "2 configure (clang ASan+UBSan)" cmake -S . -B build-clang-asan -DCMAKE_CXX_COMPILER=clang++ \
    -DCMAKE_BUILD_TYPE=Release "-DCMAKE_CXX_FLAGS_RELEASE=-O1 -fsanitize-address-outline-instrumentation" \
    -DLATENT_SANITIZE=ON -DLATENT_TEST_HEADERS=ON -DLATENT_BUILD_EXAMPLES=OFF -DLATENT_BUILD_BENCHMARKS=OFF \
    "${cmake_args[@]}" &&
    step "2 build" cmake --build build-clang-asan -j"$jobs" &&
    step "2 ctest" env ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
      ctest --test-dir build-clang-asan --output-on-failure -j"$jobs"
}
stage_3() {
  step "3 fuzz (4 targets)" bash scripts/fuzz.sh "${LATENT_FUZZ_SECONDS:-30}"
}

failed=()
for stage in "${stages[@]}"; do
  start=$SECONDS
  cpu_now
  start_cpu=$cpu
  status=0
  "stage_${stage}" || status=$?
  ((status == 0)) || failed+=("$stage")
  stage_done "$stage" "$start" "$start_cpu" "$status"
done
if ((${#failed[@]})); then
  echo "== test.sh: stage ${failed[*]} FAILED" >&2
  exit 1
fi
