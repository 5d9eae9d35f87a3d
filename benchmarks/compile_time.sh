#!/usr/bin/env bash
# Build cost (issue #22): CPU seconds and peak memory of compiling and linking latent programs, beside
# a floor (benchmarks/compile/floor.cpp: xtensor and xsimd only, a small loop), and the comparison
# program built from clean by CMake on both cores.
#
#   benchmarks/compile_time.sh [--runs N] [--no-compare] [--cxx COMPILER] [--trace]
#
# Each translation unit is compiled and linked N times (default 3) with
#   -O2 -march=native                      what a user types, and
#   the project's flags                     -O3 -DNDEBUG -mavx2 -mfma (+ AVX-512 where the CPU has it),
# and the table shows the median CPU time (user + system of the compiler and linker), the median
# peak resident memory of the largest process, and the ratio to the floor's CPU time with the same
# flags. One row compiles the seed example with LATENT_EXTERN_TEMPLATES (fit's loop compiled once per
# program, linked from an object compiled before), and a line after the table gives that object's cost.
# The compare rows configure a fresh build directory and build, with -j2, the target the
# README's first command builds (compare_dense_8) and the program with every family (compare): wall
# time, total CPU, the number of compiler processes and the largest one's peak memory.
# --trace also writes clang's -ftime-trace of the seed example and the conv VAE to
# build-compile-time/ and prints where the time goes (see docs/build-cost.md).
set -euo pipefail
cd "$(dirname "$0")/.."
runs=3 do_compare=1 cxx=${CXX:-g++} trace=0
while [[ $# -gt 0 ]]; do
  case $1 in
    --runs) runs=$2; shift ;;
    --no-compare) do_compare=0 ;;
    --cxx) cxx=$2; shift ;;
    --trace) trace=1 ;;
    -h|--help) sed -n '2,19p' "$0"; exit 0 ;;
    *) echo "compile_time.sh: unknown option $1" >&2; exit 2 ;;
  esac
  shift
done
out=build-compile-time
mkdir -p "$out"
native=(-O2 -march=native)
project=(-O3 -DNDEBUG -mavx2 -mfma)
project_label="-O3 AVX2"
if grep -qw avx512bw /proc/cpuinfo; then
  project+=(-mavx512f -mavx512cd -mavx512vl -mavx512bw -mavx512dq)
  project_label="-O3 AVX-512"
  # As CMake does: where 512-bit FMAs run at half rate, latent's targets define LATENT_AVX512_HALF_RATE.
  if g++ -O2 cmake/probe_avx512_rate.cpp -o "$out/avx512-rate" 2>/dev/null && ! "$out/avx512-rate" >/dev/null; then
    project+=(-DLATENT_AVX512_HALF_RATE)
    project_label="-O3 AVX-512 (half rate)"
  fi
fi
libs=(-lpng -lz -pthread)

median() { sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }

# measure SOURCE FLAGS...: prints "cpu_seconds peak_mb" (medians over the runs). SOURCE may carry
# extra arguments after a space (a macro, an object to link).
measure() {
  local src cpus=() mems=()
  read -r -a src <<<"$1"
  shift
  for ((r = 0; r < runs; ++r)); do
    /usr/bin/time -f '%U %S %M' -o "$out/time.txt" \
      "$cxx" -std=c++20 "$@" -Iinclude "${src[@]}" -o "$out/probe" "${libs[@]}"
    read -r user sys kb < "$out/time.txt"
    cpus+=("$(awk -v u="$user" -v s="$sys" 'BEGIN { printf "%.2f", u + s }')")
    mems+=("$((kb / 1024))")
  done
  echo "$(printf '%s\n' "${cpus[@]}" | median) $(printf '%s\n' "${mems[@]}" | median)"
}

units=(
  "benchmarks/compile/floor.cpp|floor: xtensor + xsimd, a small loop"
  "benchmarks/compile/umbrella.cpp|#include <latent/latent.hpp> alone"
  "examples/keras_seed.cpp|seed example (4 Dense layers, fit, encode, decode)"
  "examples/vae_fashion_mnist.cpp|reference VAE (PyTorch's example)"
  "examples/conv_vae_fashion_mnist.cpp|conv VAE (Keras's example)"
  # fit's loop compiled once per program (docs/building.md): the seed example with the macro, linked
  # with the object of <latent/instantiate.hpp> compiled beforehand; that object's own cost is the
  # line after the table.
  "examples/keras_seed.cpp -DLATENT_EXTERN_TEMPLATES OBJ|seed example, fit's loop compiled once (LATENT_EXTERN_TEMPLATES)"
)
echo "Compiler: $($cxx --version | head -1); CPU: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//'); median of $runs runs"
echo
echo "| translation unit (compile + link) | flags | CPU s | × floor | peak MB |"
echo "|---|---|---:|---:|---:|"
inst_notes=()
for label_flags in "-O2 -march=native|native" "$project_label|project"; do
  label=${label_flags%|*}
  if [[ ${label_flags#*|} == native ]]; then flags=("${native[@]}"); else flags=("${project[@]}"); fi
  floor=""
  # The object the LATENT_EXTERN_TEMPLATES row links, compiled with these flags; its CPU time (median).
  inst_cpus=()
  for ((r = 0; r < runs; ++r)); do
    /usr/bin/time -f '%U %S' -o "$out/time.txt" "$cxx" -std=c++20 "${flags[@]}" -Iinclude -DLATENT_EXTERN_TEMPLATES \
      -c benchmarks/compile/instantiate.cpp -o "$out/instantiate-${label_flags#*|}.o"
    read -r user sys < "$out/time.txt"
    inst_cpus+=("$(awk -v u="$user" -v s="$sys" 'BEGIN { printf "%.2f", u + s }')")
  done
  inst_notes+=("$label: \`benchmarks/compile/instantiate.cpp\` (<latent/instantiate.hpp>, once per program) $(printf '%s\n' "${inst_cpus[@]}" | median) CPU s")
  for u in "${units[@]}"; do
    src=${u%%|*} what=${u#*|}
    src=${src/OBJ/$out/instantiate-${label_flags#*|}.o}
    read -r cpu mb <<<"$(measure "$src" "${flags[@]}")"
    [[ -z $floor ]] && floor=$cpu
    ratio=$(awk -v c="$cpu" -v f="$floor" 'BEGIN { printf "%.1f×", c / f }')
    echo "| \`${src%% *}\` ($what) | $label | $cpu | $ratio | $mb |"
  done
done
echo
printf '%s\n' "${inst_notes[@]}"

if [[ $do_compare == 1 ]]; then
  # The comparison program from clean: a fresh build directory, the compiler wrapped by GNU time so
  # that every compiler and linker process reports its CPU time and peak memory. Two targets:
  # compare_dense_8, what the README's first command builds (main.cpp and the one family it runs), and
  # compare, every family.
  printf "\n| from clean (configure + build, -j2, project flags) | wall s | CPU s | processes | largest process MB |\n|---|---:|---:|---:|---:|\n"
  for target in compare_dense_8 compare; do
    dir="$out/compare-build"
    rm -rf "$dir" "$out/compare-times.txt"
    launcher="/usr/bin/time;-a;-o;$PWD/$out/compare-times.txt;-f;%U %S %M"
    start=$(date +%s.%N)
    cmake -S . -B "$dir" -DCMAKE_BUILD_TYPE=Release -DLATENT_BUILD_TESTS=OFF -DLATENT_BUILD_BENCHMARKS=OFF \
          -DCMAKE_CXX_COMPILER="$(command -v "$cxx")" -DCMAKE_CXX_COMPILER_LAUNCHER="$launcher" \
          -DCMAKE_CXX_LINKER_LAUNCHER="$launcher" >/dev/null
    cmake --build "$dir" --target "$target" -j2 >/dev/null
    end=$(date +%s.%N)
    awk -v s="$start" -v e="$end" -v t="$target" '
      { cpu += $1 + $2; if ($3 > peak) peak = $3; n += 1 }
      END { printf "| `%s` | %.1f | %.1f | %d | %d |\n", t, e - s, cpu, n, peak / 1024 }
    ' "$out/compare-times.txt"
  done
fi

if [[ $trace == 1 ]]; then
  # Where the time goes: clang's -ftime-trace of two programs, summarised.
  for src in examples/keras_seed.cpp examples/conv_vae_fashion_mnist.cpp; do
    name=$(basename "$src" .cpp)
    clang++ -std=c++20 -O2 -march=native -Iinclude -ftime-trace -ftime-trace-granularity=200 -c "$src" \
      -o "$out/$name.o"
    mv "$out/$name.json" "$out/$name-trace.json" 2>/dev/null || true
    echo
    echo "clang -ftime-trace, $src:"
    python3 benchmarks/compile/trace_summary.py "$out/$name-trace.json"
  done
fi
