"""Python twin of benchmarks/peers/common.hpp: the same splitmix64 stream, seed data, Glorot-uniform
weights and Fisher-Yates order, so the PyTorch peers train on bit-identical inputs to the C++ peers."""

import ctypes
import gzip
import math
import struct

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
