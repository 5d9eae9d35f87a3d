#!/usr/bin/env bash
# The whole test suite:
#  1. build/ (g++, Release, warnings are errors): every test, compile-fail tier, header and consumer
#     tests, and every example, through ctest;
#  2. build-clang/ (clang++, Release, warnings are errors): the library and every test again with clang
#     (compile-fail diagnostics checked in clang's wording), without the examples and benchmarks;
#  3. build-asan/: the run-time tests again under AddressSanitizer + UndefinedBehaviorSanitizer (-O1,
#     without the examples, which step 1 runs);
#  4. the libFuzzer targets (IDX reader, CSV reader, model loader), about a minute each.
#   scripts/test.sh [--quick | --clang]   (--quick: step 1 only; --clang: step 2 only)
set -euo pipefail
cd "$(dirname "$0")/.."

clang_build() {
  cmake -S . -B build-clang -DCMAKE_CXX_COMPILER=clang++ -DCMAKE_BUILD_TYPE=Release \
        -DLATENT_BUILD_EXAMPLES=OFF -DLATENT_BUILD_BENCHMARKS=OFF
  cmake --build build-clang -j2
  ctest --test-dir build-clang --output-on-failure -j2
}

if [[ "${1:-}" == --clang ]]; then
  clang_build
  exit 0
fi
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release -DLATENT_BUILD_BENCHMARKS=OFF
cmake --build build -j2
ctest --test-dir build --output-on-failure -j2
[[ "${1:-}" == --quick ]] && exit 0
clang_build
cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=Release -DCMAKE_CXX_FLAGS_RELEASE=-O1 -DLATENT_SANITIZE=ON \
      -DLATENT_BUILD_BENCHMARKS=OFF -DLATENT_BUILD_EXAMPLES=OFF
cmake --build build-asan -j2
ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 ctest --test-dir build-asan --output-on-failure -j2
bash scripts/fuzz.sh "${LATENT_FUZZ_SECONDS:-60}"
