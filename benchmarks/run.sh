#!/usr/bin/env bash
# Builds the benchmarks (build-bench/, Release), runs bench_latent (when it exists), bench_peers and the
# PyTorch scripts, and prints one Markdown table of medians and ratios (benchmarks/report.py).
#
#   benchmarks/run.sh [--no-build] [--no-python] [--filter REGEX] [--reps N]
#
# --filter is passed to the binaries as --benchmark_filter and also selects the Python peers (names
# "seed/pytorch-python", "vae/pytorch-python", "convvae/pytorch-python", "resnetvae/pytorch-python"; note
# that "vae" matches the conv and ResNet VAEs' rows too, "^vae" does not; issue #23's rows:
# --filter 'resnetvae|norm|infer-resnet'); --reps sets the Python repetitions (the C++ benchmarks
# register 5 each). Raw outputs and report.md land in $BUILD_DIR/bench-results/.
# Issue #24's sparse dictionary: --filter 'sae|peak' (bench_latent's sae/, sae-encoder/ and sae-topk/ rows,
# the FMA peaks, and sae_pytorch.py's "sae/pytorch-<decoder>-<N>t[-blas<M>]" rows: both decoders at ATen 1
# + OpenBLAS 1, 2 + 2 and 2 + 1 threads, one run of 1 warm-up + 5 timed steps each, SAE_RUNS runs with
# SAE_RUNS=N; they start from the weights and data bench_latent writes, sae_init.npz and sae_data.npy).
# Issue #25's VQ-VAE recipe: --filter vq (bench_latent's vq/ training steps at 1 and 2 threads, vq-distance/
# and vq-distance-product/ with their fraction of the FMA peak measured in the same binary, and
# vq_pytorch.py's "vq/pytorch-python-<N>t" rows: 3 warm-up + 20 timed steps of batch 100 each). The full
# 10-epoch recipes are long and not run here: $BUILD_DIR/benchmarks/vq_recipe --epochs 10 --threads 1
# [--no-restarts] and benchmarks/vq_pytorch.py --epochs 10 --threads 1 (see docs/vq-vae.md).
# Environment: BUILD_DIR (default <repo>/build-bench), PYTHON (default /usr/bin/python3, Debian's
# PyTorch), LATENT_FASHION_MNIST_DIR (default /usr/share/datasets/fashion-mnist).
# OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE are unset for the peers so that OpenBLAS picks its fast kernels
# for this CPU; the peers size OpenBLAS's thread pool themselves (peers/blas_threads.hpp).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(dirname "$here")
build=${BUILD_DIR:-$root/build-bench}
py=${PYTHON:-/usr/bin/python3}
data_dir=${LATENT_FASHION_MNIST_DIR:-/usr/share/datasets/fashion-mnist}
do_build=1 do_python=1 filter="" reps=5
while [[ $# -gt 0 ]]; do
  case $1 in
    --no-build) do_build=0 ;;
    --no-python) do_python=0 ;;
    --filter) filter=$2; shift ;;
    --reps) reps=$2; shift ;;
    -h|--help) sed -n '2,24p' "$0"; exit 0 ;;
    *) echo "run.sh: unknown option $1" >&2; exit 2 ;;
  esac
  shift
done

if [[ $do_build == 1 ]]; then
  cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Release -DLATENT_BUILD_BENCHMARKS=ON \
        -DLATENT_BUILD_TESTS=OFF -DLATENT_BUILD_EXAMPLES=OFF >/dev/null
  cmake --build "$build" -j2
fi

out="$build/bench-results"
rm -rf "$out" && mkdir -p "$out"
# GLIBC_TUNABLES: glibc's malloc hands libtorch's large tensors back to the kernel when they are freed
# and page-faults them in again at the next step; with these thresholds it keeps them. That makes the
# libtorch VAE epoch 6x faster here (13 s -> 2.1 s at one thread; a quarter of its time was page
# faults), so the peers run with it: beating a slow configuration proves nothing.
malloc_tunables="glibc.malloc.mmap_threshold=1073741824:glibc.malloc.trim_threshold=4294967296"
peer_env=(env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE GLIBC_TUNABLES="$malloc_tunables"
          LATENT_FASHION_MNIST_DIR="$data_dir")
# Repetitions of different benchmarks are interleaved, so that a slow spell of this shared machine
# does not land on one row of a ratio.
gb_args=(--benchmark_out_format=json --benchmark_enable_random_interleaving=true)
[[ -n $filter ]] && gb_args+=("--benchmark_filter=$filter")

if [[ -x $build/benchmarks/bench_latent ]]; then
  echo "== bench_latent" >&2
  # LATENT_SAE_BENCH_DIR: the sae/ rows write their initial weights and data there for sae_pytorch.py.
  LATENT_SAE_BENCH_DIR="$out" "$build/benchmarks/bench_latent" "${gb_args[@]}" --benchmark_out="$out/bench_latent.json" >&2
fi
if [[ -x $build/benchmarks/bench_latent_avx2 ]]; then
  echo "== bench_latent_avx2 (the same benchmarks compiled for AVX2 only: latent-avx2)" >&2
  "$build/benchmarks/bench_latent_avx2" "${gb_args[@]}" --benchmark_out="$out/bench_latent_avx2.json" >&2
fi
echo "== bench_peers" >&2
"${peer_env[@]}" "$build/benchmarks/bench_peers" "${gb_args[@]}" --benchmark_out="$out/bench_peers.json" >&2

if [[ $do_python == 1 ]]; then
  if [[ -z $filter || "seed/pytorch-python" =~ $filter ]]; then
    echo "== seed_pytorch.py" >&2
    "${peer_env[@]}" "$py" "$here/seed_pytorch.py" --repetitions "$reps" | tee "$out/seed_pytorch.jsonl" >&2
  fi
  if [[ -f $data_dir/train-images-idx3-ubyte.gz && ( -z $filter || "vae/pytorch-python" =~ $filter ) ]]; then
    for t in 1 2; do
      echo "== vae_pytorch.py --threads $t" >&2
      "${peer_env[@]}" "$py" "$here/vae_pytorch.py" --repetitions "$reps" --threads "$t" \
        | tee "$out/vae_pytorch_${t}t.jsonl" >&2
    done
  fi
  # The conv VAE (issue #11): 20 timed steps per repetition, as bench_peers' convvae/libtorch rows.
  if [[ -f $data_dir/train-images-idx3-ubyte.gz && ( -z $filter || "convvae/pytorch-python" =~ $filter ) ]]; then
    for t in 1 2; do
      echo "== conv_vae_pytorch.py --bench-steps 20 --threads $t" >&2
      "${peer_env[@]}" "$py" "$here/conv_vae_pytorch.py" --bench-steps 20 --repetitions "$reps" --threads "$t" \
        | tee "$out/conv_vae_pytorch_${t}t.jsonl" >&2
    done
  fi
  # The ResNet VAE (issue #23): the same 20 timed steps, as bench_peers' resnetvae/libtorch rows.
  if [[ -f $data_dir/train-images-idx3-ubyte.gz && ( -z $filter || "resnetvae/pytorch-python" =~ $filter ) ]]; then
    for t in 1 2; do
      echo "== resnet_vae_pytorch.py --bench-steps 20 --threads $t" >&2
      "${peer_env[@]}" "$py" "$here/resnet_vae_pytorch.py" --bench-steps 20 --repetitions "$reps" --threads "$t" \
        | tee "$out/resnet_vae_pytorch_${t}t.jsonl" >&2
    done
  fi
  # The VQ-VAE recipe (issue #25): 20 timed steps of batch 100 per repetition, as bench_latent's vq/ rows.
  if [[ -f $data_dir/train-images-idx3-ubyte.gz && ( -z $filter || "vq/pytorch-python" =~ $filter ) ]]; then
    for t in 1 2; do
      echo "== vq_pytorch.py --bench-steps 20 --threads $t" >&2
      "${peer_env[@]}" "$py" "$here/vq_pytorch.py" --bench-steps 20 --repetitions "$reps" --threads "$t" \
        | tee "$out/vq_pytorch_${t}t.jsonl" >&2
    done
  fi
  # The sparse dictionary (issue #24): sae_pytorch.py's two decoders at 1 thread (ATen 1, OpenBLAS 1) and
  # at 2 (ATen 2 with OpenBLAS 2, and with OpenBLAS 1: report.py compares latent with the faster), from
  # the initial weights and data the sae/latent rows wrote, so that report.py can compare the losses.
  if [[ -z $filter || "sae/pytorch" =~ $filter ]]; then
    sae_inputs=()
    if [[ -f $out/sae_init.npz && -f $out/sae_data.npy ]]; then
      sae_inputs=(--init "$out/sae_init.npz" --data "$out/sae_data.npy")
    else
      echo "run.sh: no sae_init.npz / sae_data.npy from bench_latent's sae/ rows: sae_pytorch.py draws its own" \
           "weights and data (no loss comparison)" >&2
    fi
    for threads in "1 1" "2 2" "2 1"; do
      read -r t b <<<"$threads"
      for decoder in dense embedding_bag; do
        for ((run = 1; run <= ${SAE_RUNS:-1}; run++)); do
          echo "== sae_pytorch.py --decoder $decoder --threads $t --blas-threads $b (run $run)" >&2
          "${peer_env[@]}" "$py" "$here/sae_pytorch.py" --dim 768 --latents 16384 --k 32 --batch 4096 --lr 2e-4 \
            --warmup 1 --steps 5 --threads "$t" --blas-threads "$b" --decoder "$decoder" "${sae_inputs[@]}" \
            | tee -a "$out/sae_pytorch_${decoder}_${t}t_blas${b}.jsonl" >&2
        done
      done
    done
  fi
fi

shopt -s nullglob
"$py" "$here/report.py" "$out"/*.json "$out"/*.jsonl | tee "$out/report.md"
