#!/usr/bin/env bash
# Builds the comparison example (Release, in build/) and runs it with the given arguments:
#   bash scripts/compare.sh                              the built-in shapes data, under a minute on 2 cores
#   bash scripts/compare.sh --data shapes --out docs/shapes  the same, spelt out: with β-VAEs at β = 2, 4, 8, 16
#                                                        and the disentanglement table and pictures
#   bash scripts/compare.sh --data fashion-mnist --epochs 10 --out docs/fashion-mnist
#   bash scripts/compare.sh --arch resnet --data fashion-mnist --latent 16   BatchNorm and residual blocks
#   bash scripts/compare.sh --data superposition          the sparse dictionaries (TopK, BatchTopK, JumpReLU,
#                                                        ReLU + L1) on synthetic activations with known features
#   bash scripts/compare.sh --help                       every option
# Writes compare-out/ (results.md, results.json and pictures) unless told otherwise with --out.
# Only the family asked for is compiled (--arch and --latent pick target compare_<arch>_<Z>: main.cpp and
# that family's translation unit); `cmake --build build --target compare` builds the program with all.
set -euo pipefail
cd "$(dirname "$0")/.."
arch=dense latent=8 data=
args=("$@")
for ((i = 0; i < ${#args[@]}; ++i)); do
  case ${args[i]} in
    --arch) arch=${args[i + 1]:-} ;;
    --latent) latent=${args[i + 1]:-} ;;
    --data) data=${args[i + 1]:-} ;;
  esac
done
if [[ $data == superposition ]]; then
  # The sparse dictionaries: a program of its own (examples/sae_superposition.cpp), sae-out/ by default.
  cmake -S . -B build -DCMAKE_BUILD_TYPE=Release >/dev/null
  cmake --build build --target sae_superposition -j2
  exec build/examples/sae_superposition "$@"
fi
target=compare_${arch}_${latent}
# A pair without a program of its own (a code size the architecture does not have, a misspelt
# architecture): the default one, whose option checks say what is expected.
[[ -f examples/compare/${arch}_${latent}.cpp ]] || target=compare_dense_8
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build --target "$target" -j2
exec "build/examples/$target" "$@"
