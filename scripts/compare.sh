#!/usr/bin/env bash
# Builds the comparison example (Release, in build/) and runs it with the given arguments:
#   bash scripts/compare.sh                              the built-in shapes data, under a minute on 2 cores
#   bash scripts/compare.sh --data shapes --out docs/shapes  the same, spelt out: with β-VAEs at β = 2, 4, 8, 16
#                                                        and the disentanglement table and pictures
#   bash scripts/compare.sh --data fashion-mnist --epochs 10 --out docs/fashion-mnist
#   bash scripts/compare.sh --help                       every option
# Writes compare-out/ (results.md, results.json and pictures) unless told otherwise with --out.
set -euo pipefail
cd "$(dirname "$0")/.."
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build --target compare -j2
exec build/examples/compare "$@"
