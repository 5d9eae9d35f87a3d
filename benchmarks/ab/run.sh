#!/usr/bin/env bash
# A/B of latent's training step against an older commit's headers, both built here with the same flags
# (the way the README's "last good weights" figures were measured):
#   bash benchmarks/ab/run.sh [OLD_COMMIT] [PAIRS]     default e2e8e3e (before the model-core rework), 6 pairs
#   (AB_CALLGRIND=0 skips the instruction counts)
# Prints, per interleaved pair, µs per seed training step (20 000 steps of the Keras seed model, batch 32,
# Adam, one thread) for old and new, then callgrind's instruction counts when valgrind is installed
# (AVX2 build: valgrind has no AVX-512; several minutes per binary), and the cost of Adam's update with and without keeping the
# previous parameters (update_cost: 653 k parameters, caches cold).
set -euo pipefail
cd "$(dirname "$0")/../.."
old=${1:-e2e8e3e}
pairs=${2:-6}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
git archive "$old" include | tar -x -C "$work"
flags=(-std=gnu++20 -O3 -DNDEBUG -mavx2 -mfma)
g++ "${flags[@]}" -I"$work/include" benchmarks/ab/seed_step.cpp -o "$work/seed_old" -lpng -lz -lpthread
g++ "${flags[@]}" -Iinclude benchmarks/ab/seed_step.cpp -o "$work/seed_new" -lpng -lz -lpthread
for ((i = 1; i <= pairs; ++i)); do echo "pair $i: old $("$work/seed_old") | new $("$work/seed_new")"; done
if [[ ${AB_CALLGRIND:-1} == 1 ]] && command -v valgrind > /dev/null; then
  for b in old new; do
    echo "$b: $(valgrind --tool=callgrind --callgrind-out-file="$work/cg.$b" "$work/seed_$b" 2>&1 | grep 'refs')"
  done
fi
if grep -q avx512f /proc/cpuinfo; then
  g++ "${flags[@]}" -mavx512f -mavx512cd -mavx512vl -mavx512bw -mavx512dq -Iinclude benchmarks/ab/update_cost.cpp \
      -o "$work/update_cost" -lpng -lz -lpthread
  "$work/update_cost"
fi
