"""Python twin of benchmarks/peers/common.hpp: the same splitmix64 stream, seed data, Glorot-uniform
weights and Fisher-Yates order, so the PyTorch peers train on bit-identical inputs to the C++ peers."""

import ctypes
import gzip
import json
import math
import struct
import time

MASK64 = (1 << 64) - 1
SEED_SIZES = (100, 20, 5, 20, 100)
SEED_ROWS = 1000
SEED_BATCH = 32
SEED_DATA_SEED = 42
SHUFFLE_SALT = 0x5EED5EED5EED5EED
VAE_IN, VAE_HIDDEN, VAE_LATENT = 784, 400, 20
FASHION_MNIST_DIR = "/usr/share/datasets/fashion-mnist"


class SplitMix64:
    def __init__(self, seed):
        self.state = seed & MASK64

    def next(self):
        self.state = (self.state + 0x9E3779B97F4A7C15) & MASK64
        z = self.state
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK64
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK64
        return z ^ (z >> 31)

    def uniform(self):
        return (self.next() >> 11) * 2.0 ** -53

    def normal(self):
        u1 = 1.0 - self.uniform()
        u2 = self.uniform()
        return math.sqrt(-2.0 * math.log(u1)) * math.cos(6.283185307179586 * u2)

    def below(self, bound):
        return ((self.next() >> 32) * bound) >> 32


def make_seed_data(rows, cols, seed):
    rng = SplitMix64(seed)
    return [rng.normal() for _ in range(rows * cols)]


def glorot_uniform(rng, fan_in, fan_out):
    """Row-major [out][in] values, as PyTorch's Linear.weight."""
    limit = math.sqrt(6.0 / (fan_in + fan_out))
    return [(2.0 * rng.uniform() - 1.0) * limit for _ in range(fan_in * fan_out)]


def shuffle(rng, order):
    for i in range(len(order), 1, -1):
        j = rng.below(i)
        order[i - 1], order[j] = order[j], order[i - 1]


def steps_per_epoch(n, batch):
    return (n + batch - 1) // batch


def dense_train_flops_per_sample(sizes):
    macs = sum(a * b for a, b in zip(sizes, sizes[1:]))
    return 2.0 * (3.0 * macs - sizes[0] * sizes[1])


SEED_FLOPS_PER_SAMPLE = dense_train_flops_per_sample(SEED_SIZES)
VAE_FLOPS_PER_SAMPLE = 2.0 * (3.0 * (VAE_IN * VAE_HIDDEN + 2 * VAE_HIDDEN * VAE_LATENT + VAE_LATENT * VAE_HIDDEN
                                     + VAE_HIDDEN * VAE_IN) - VAE_IN * VAE_HIDDEN)


# Convolutional VAE (issue #11, Keras's conv VAE on Fashion-MNIST): the twin of conv_vae_flops_per_sample()
# in peers/common.hpp. Layers as (kind, output positions or input positions, c_in, c_out, kernel):
# "conv" counts per output position, "convT" (a GEMM then col2im) per input position, "dense" is in x out.
CONV_VAE_SIDE, CONV_VAE_LATENT, CONV_VAE_DENSE = 28, 16, 16
CONV_VAE_PARAMETERS = 178545
CONV_VAE_LAYERS = (("conv", 14 * 14, 1, 32, 3), ("conv", 7 * 7, 32, 64, 3), ("dense", 1, 3136, 16, 1),
                   ("dense", 1, 16, 16, 1), ("dense", 1, 16, 16, 1), ("dense", 1, 16, 3136, 1),
                   ("convT", 7 * 7, 64, 64, 3), ("convT", 14 * 14, 64, 32, 3), ("convT", 28 * 28, 32, 1, 3))


def conv_vae_flops_per_sample():
    """2 x (3 x forward MACs - the first conv's MACs): forward, weight gradient and input gradient of every
    layer but the first (whose input needs no gradient), as for the dense chains. 40 118 784 per image."""
    macs = [positions * cin * cout * k * k for _, positions, cin, cout, k in CONV_VAE_LAYERS]
    return 2.0 * (3.0 * sum(macs) - macs[0])


def load_idx_images(path):
    """(n, rows*cols, bytes) of an idx3-ubyte.gz file; pixels still as raw bytes."""
    with gzip.open(path, "rb") as f:
        raw = f.read()
    magic, n, rows, cols = struct.unpack(">IIII", raw[:16])
    if magic != 0x00000803:
        raise ValueError(f"not an idx3-ubyte image file: {path}")
    return n, rows * cols, raw[16:16 + n * rows * cols]


def median(values):
    s = sorted(values)
    k = len(s) // 2
    return s[k] if len(s) % 2 else 0.5 * (s[k - 1] + s[k])


def set_blas_threads(threads):
    """torch.set_num_threads does not size OpenBLAS's own pthread pool (Debian's torch calls the generic
    BLAS interface); without this a "1-thread" run still does its GEMMs on every core. Finds the loaded
    OpenBLAS through /proc/self/maps (its symbols are not global under Python's dlopen). Returns the
    library path, or None when OpenBLAS is not loaded."""
    with open("/proc/self/maps") as maps:
        paths = {line.split()[-1] for line in maps if "openblas" in line and line.rstrip().endswith(".so")
                 or "libopenblas" in line}
    for path in sorted(paths):
        try:
            lib = ctypes.CDLL(path)
            lib.openblas_set_num_threads(ctypes.c_int(threads))
            return path
        except (OSError, AttributeError):
            continue
    return None


# ResNet VAE (issue #23: BatchNorm after the strided convolutions, a pre-activation residual block each
# side): the twin of resnet_vae_flops_per_sample() in peers/common.hpp, in the same convention (normalisations,
# activations and the skip additions are element-wise and not counted). Its rows time the same 20 steps
# after 3 warm-up steps as the conv VAE's.
RESNET_VAE_PARAMETERS = 339745
RESNET_VAE_STATE = 259  # the three BatchNorms' running mean, variance and batches tracked
RESNET_VAE_LAYERS = (("conv", 14 * 14, 1, 32, 3), ("conv", 7 * 7, 32, 64, 3),
                     ("conv", 7 * 7, 64, 64, 3), ("conv", 7 * 7, 64, 64, 3),      # the encoder's residual block
                     ("dense", 1, 3136, 32, 1), ("dense", 1, 16, 3136, 1),
                     ("conv", 7 * 7, 64, 64, 3), ("conv", 7 * 7, 64, 64, 3),      # the decoder's residual block
                     ("convT", 7 * 7, 64, 32, 3), ("convT", 14 * 14, 32, 1, 3))


def resnet_vae_flops_per_sample():
    """2 x (3 x forward MACs - the first conv's MACs), as conv_vae_flops_per_sample: 55 657 728 per image."""
    macs = [positions * cin * cout * k * k for _, positions, cin, cout, k in RESNET_VAE_LAYERS]
    return 2.0 * (3.0 * sum(macs) - macs[0])


def bench_steps(args, x, blas, workload, flops_per_sample, fresh_model, train_step):
    """The timing rows "<workload>/pytorch-python-<T>t" of the conv and ResNet VAE scripts'
    --bench-steps S: per repetition a fresh model (fresh_model() -> (model, optimiser)), args.warmup
    untimed steps on the first batches, then S timed steps (train_step(model, opt, rows) -> loss) on the
    first S x args.batch rows in order; one JSON line per repetition and one with the medians."""
    steps, warmup, batch = args.bench_steps, args.warmup, args.batch
    if x.shape[0] < max(steps, warmup) * batch:
        raise SystemExit(f"--bench-steps {steps} needs {max(steps, warmup) * batch} rows, have {x.shape[0]}")
    peer = f"pytorch-python-{args.threads}t"
    flops = steps * batch * flops_per_sample
    common = {"peer": peer, "workload": workload, "steps": steps, "warmup_steps": warmup, "batch": batch,
              "threads": args.threads, "openblas": blas is not None}
    runs = []
    for r in range(args.repetitions):
        model, opt = fresh_model()
        for w in range(warmup):
            train_step(model, opt, x[w * batch:(w + 1) * batch])
        start_time, start_cpu = time.perf_counter(), time.process_time()
        total = 0.0
        for s in range(steps):
            total += train_step(model, opt, x[s * batch:(s + 1) * batch])
        seconds, cpu_seconds = time.perf_counter() - start_time, time.process_time() - start_cpu
        row = dict(common, repetition=r, seconds=seconds, cpu_seconds=cpu_seconds, us_per_step=seconds * 1e6 / steps,
                   gflops=flops * 1e-9 / seconds, final_loss=total / steps)
        runs.append(row)
        print(json.dumps(row), flush=True)
    s = median([r["seconds"] for r in runs])
    print(json.dumps(dict(common, aggregate="median", seconds=s, us_per_step=s * 1e6 / steps,
                          gflops=flops * 1e-9 / s, final_loss=runs[-1]["final_loss"])), flush=True)
