#!/usr/bin/env bash
# Installs the Debian 12 packages latent needs, only those that are missing (run as root).
#   scripts/deps.sh           build, tests, examples
#   scripts/deps.sh --peers   also the peers: libtorch, PyTorch for Python, OpenBLAS, NumPy and onnx (the
#                             benchmarks, and the tests that check interchange with PyTorch and ONNX)
#   scripts/deps.sh --format  also clang-format 16, which scripts/format.sh runs
set -euo pipefail
pkgs=(g++ cmake make clang libclang-rt-14-dev libboost-dev libxsimd-dev xtensor-dev doctest-dev libbenchmark-dev
      zlib1g-dev libpng-dev dataset-fashion-mnist libopenmpi-dev openmpi-bin)
# --peers, for benchmarks/: libtorch C++, PyTorch from Python, OpenBLAS so PyTorch is configured fairly
for arg in "$@"; do
  case "$arg" in
    --peers) pkgs+=(libtorch-dev python3-torch python3-numpy python3-onnx libopenblas0-pthread) ;;
    --format) pkgs+=(clang-format-16) ;;
    *) echo "deps.sh: unknown option $arg (expected --peers or --format)" >&2; exit 2 ;;
  esac
done
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "latent: installing ${missing[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q
  apt-get install -y -q --no-install-recommends "${missing[@]}"
fi
