#!/usr/bin/env bash
# Build cost (issue #4): wall time of one g++ -O2 compile+link of the seed example and of a 6-layer
# VAE, median of 3 runs each, with the flags latent's own targets use.
set -euo pipefail
cd "$(dirname "$0")/.."
flags=(-std=c++20 -O2 -mavx2 -mfma -Iinclude)
libs=(-lpng -lz -pthread)
measure() {
  local src=$1 times=()
  for _ in 1 2 3; do
    local start end
    start=$(date +%s.%N)
    g++ "${flags[@]}" "$src" -o /tmp/latent-compile-probe "${libs[@]}"
    end=$(date +%s.%N)
    times+=("$(awk -v a="$start" -v b="$end" 'BEGIN { printf "%.1f", b - a }')")
  done
  printf '%s\n' "${times[@]}" | sort -n | sed -n 2p
}
echo "| translation unit | g++ -O2 wall seconds (median of 3) |"
echo "|---|---:|"
echo "| examples/keras_seed.cpp (seed example) | $(measure examples/keras_seed.cpp) |"
echo "| benchmarks/compile/vae_6_layers.cpp (6-layer VAE) | $(measure benchmarks/compile/vae_6_layers.cpp) |"
