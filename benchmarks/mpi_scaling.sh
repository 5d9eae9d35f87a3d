#!/usr/bin/env bash
# Data-parallel scaling of the reference VAE (784-400-20, global batch 128) on Fashion-MNIST, in one
# run on this machine: 1 rank x 1 thread, 1 rank x 2 threads and 2 ranks x 1 thread, each for
# EPOCHS epochs (default 3); then the ring all-reduce cost model projected to 2-64 machines at 10 and
# 100 Gbit/s from the measured compute time. Writes the tables to stdout (docs/mpi.md holds a run).
#   bash benchmarks/mpi_scaling.sh [EPOCHS]
set -euo pipefail
cd "$(dirname "$0")/.."
epochs="${1:-3}"
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build --target mpi_fashion_mnist -j2 >/dev/null
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_btl_vader_single_copy_mechanism=none
run() {  # ranks threads -> median seconds per epoch
  mpirun -np "$1" --oversubscribe --bind-to none build/examples/mpi_fashion_mnist "$epochs" --threads "$2" 2>/dev/null |
    sed -n 's/.*(median of [0-9]*: \([0-9.]*\) s).*/\1/p'
}
t11=$(run 1 1)
t12=$(run 1 2)
t21=$(run 2 1)
cpu=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//')
echo "Machine: $cpu, $(nproc) cores; $(date -u +%Y-%m-%d); median epoch of $epochs, seconds"
echo
echo "| ranks x threads | s / epoch | speed-up over 1 x 1 |"
echo "|---|---:|---:|"
awk -v a="$t11" -v b="$t12" -v c="$t21" 'BEGIN {
  printf "| 1 x 1 | %.2f | 1.00 |\n| 1 x 2 | %.2f | %.2f |\n| 2 x 1 | %.2f | %.2f |\n", a, b, a / b, c, a / c }'
echo
# The model: P = 652 824 float parameters, 4P bytes per gradient; 469 steps per epoch (60 000 / 128).
# Ring all-reduce over M machines: each sends and receives 2(M-1)/M * 4P bytes per step, in 2(M-1)
# messages of latency alpha = 20 us. Compute per epoch on M machines: the best measured one-machine
# epoch divided by M (each machine trains 1/M of the rows).
awk -v t="$t12" -v u="$t21" 'BEGIN {
  P = 652824; bytes = 4 * P; steps = 469; alpha = 20e-6; best = (t < u ? t : u)
  printf "Cost model: %.2f MB per gradient; compute %.2f s per epoch on one machine (the better of 1 x 2 and 2 x 1)\n\n", bytes / 1e6, best
  printf "| machines | MB sent per step per machine | GB per epoch per machine | epoch at 10 Gbit/s (s) | epoch at 100 Gbit/s (s) |\n"
  printf "|---:|---:|---:|---:|---:|\n"
  for (m = 2; m <= 64; m *= 2) {
    per = 2 * (m - 1) / m * bytes
    c10 = steps * (per / (10e9 / 8) + 2 * (m - 1) * alpha)
    c100 = steps * (per / (100e9 / 8) + 2 * (m - 1) * alpha)
    printf "| %d | %.2f | %.2f | %.2f (%.0f%% communication) | %.2f (%.0f%% communication) |\n", m, per / 1e6, steps * per / 1e9,
           best / m + c10, 100 * c10 / (best / m + c10), best / m + c100, 100 * c100 / (best / m + c100)
  }
}'
