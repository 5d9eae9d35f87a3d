#!/usr/bin/env bash
# Build cost (issues #4, #11): one g++ -O2 compile+link of the seed example, a 6-layer VAE and the conv VAE, with the
# flags latent's own targets use (AVX2, and AVX-512 when this CPU has it); median of 3 runs of wall
# time and of CPU time (user + system; the steadier figure on a shared machine).
set -euo pipefail
cd "$(dirname "$0")/.."
avx2=(-mavx2 -mfma)
avx512=(-mavx2 -mfma -mavx512f -mavx512cd -mavx512vl -mavx512bw -mavx512dq)
libs=(-lpng -lz -pthread)
measure() {
  local src=$1 walls=() cpus=()
  shift
  local flags=(-std=c++20 -O2 "$@" -Iinclude)
  for _ in 1 2 3; do
    local TIMEFORMAT='%R %U %S' t
    t=$({ time g++ "${flags[@]}" "$src" -o /tmp/latent-compile-probe "${libs[@]}"; } 2>&1 | tail -1)
    read -r real user sys <<<"$t"
    walls+=("$real")
    cpus+=("$(awk -v u="$user" -v s="$sys" 'BEGIN { printf "%.1f", u + s }')")
  done
  echo "$(printf '%s\n' "${walls[@]}" | sort -n | sed -n 2p) | $(printf '%s\n' "${cpus[@]}" | sort -n | sed -n 2p)"
}
echo "| translation unit | flags | wall s | CPU s |"
echo "|---|---|---:|---:|"
echo "| examples/keras_seed.cpp (seed example) | AVX2 | $(measure examples/keras_seed.cpp "${avx2[@]}") |"
echo "| benchmarks/compile/vae_6_layers.cpp (6-layer VAE) | AVX2 | $(measure benchmarks/compile/vae_6_layers.cpp "${avx2[@]}") |"
echo "| examples/conv_vae_fashion_mnist.cpp (conv VAE) | AVX2 | $(measure examples/conv_vae_fashion_mnist.cpp "${avx2[@]}") |"
if grep -qw avx512bw /proc/cpuinfo; then
  # As CMake does: where 512-bit FMAs run at half rate, latent's targets also define
  # LATENT_AVX512_HALF_RATE (more kernel instantiations: some widths use 8-float registers).
  if g++ -O2 cmake/probe_avx512_rate.cpp -o /tmp/latent-avx512-rate && ! /tmp/latent-avx512-rate >/dev/null; then
    avx512+=(-DLATENT_AVX512_HALF_RATE)
  fi
  label="AVX-512"
  [[ " ${avx512[*]} " == *" -DLATENT_AVX512_HALF_RATE "* ]] && label="AVX-512, half rate"
  echo "| examples/keras_seed.cpp (seed example) | $label | $(measure examples/keras_seed.cpp "${avx512[@]}") |"
  echo "| benchmarks/compile/vae_6_layers.cpp (6-layer VAE) | $label | $(measure benchmarks/compile/vae_6_layers.cpp "${avx512[@]}") |"
  echo "| examples/conv_vae_fashion_mnist.cpp (conv VAE) | $label | $(measure examples/conv_vae_fashion_mnist.cpp "${avx512[@]}") |"
fi
