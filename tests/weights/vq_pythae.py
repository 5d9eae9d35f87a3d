#!/usr/bin/python3
"""pythae's side of latent's VQ-VAE weight names (#25, docs/vq-vae.md).

    /usr/bin/python3 vq_pythae.py DIR

DIR holds what tests/test_vq.cpp's "VQVAE: export for tests/weights/vq_pythae.py" case wrote, for a
codebook trained by gradient (quantizer.*) and an EMA codebook (quantizer_ema.*): latent's weights file
NAME.safetensors (save_weights, PyTorch layout), rows NAME.x.npy (the quantiser's input: 4 channels at
3 × 3, channel-first as latent's), and latent's codes NAME.indices.npy [N, 9] and values NAME.code.npy.

The two modules below register their parameters and buffers as pythae's `Quantizer` and `QuantizerEMA`
do (clementchadebec/benchmark_VAE, src/pythae/models/vq_vae/vq_vae_utils.py: `self.embeddings =
nn.Embedding(num_embeddings, embedding_dim)`; buffers "cluster_size" [K], "ema_embed" [K, D],
"embeddings" [K, D], in that order), and compute the nearest code as pythae's forward does (squared
distances ‖z‖² + ‖e‖² − 2 z·eᵀ in float32, argmin, on the encoder output permuted to [N, H, W, D]).
pythae is not packaged for Debian, so the modules are written here; the check is that latent's file
loads into them with load_state_dict(strict=True) once the layer prefix "encoder.1." is taken off (the
state_dict's keys and order equal the file's), and that they then give latent's codes: the indices
equal, the values within 1e-6. Exit status 1 on any difference.
"""
import json
import struct
import sys

import numpy as np
import torch
from torch import nn

K, D, H, W = 8, 4, 3, 3


class Quantizer(nn.Module):
    """pythae's Quantizer: the codebook as an nn.Embedding(K, D)."""

    def __init__(self):
        super().__init__()
        self.embeddings = nn.Embedding(K, D)

    def codebook(self):
        return self.embeddings.weight


class QuantizerEMA(nn.Module):
    """pythae's QuantizerEMA: the codebook and its moving averages as buffers, in its order."""

    def __init__(self):
        super().__init__()
        self.register_buffer("cluster_size", torch.zeros(K))
        self.register_buffer("ema_embed", torch.zeros(K, D))
        self.register_buffer("embeddings", torch.zeros(K, D))

    def codebook(self):
        return self.embeddings


def nearest(module, z):
    """pythae's forward up to the codes: z [N, H, W, D] → indices [N, H, W] and quantised values."""
    e = module.codebook()
    flat = z.reshape(-1, D)
    distances = (flat ** 2).sum(dim=-1, keepdim=True) + (e ** 2).sum(dim=-1) - 2 * flat @ e.T
    closest = distances.argmin(-1)
    quantized = torch.nn.functional.one_hot(closest, num_classes=K).type(torch.float) @ e
    return closest.reshape(z.shape[0], H, W), quantized.reshape_as(z)


def read_safetensors(path):
    """[(name, array)] in the header's order."""
    with open(path, "rb") as f:
        data = f.read()
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8:8 + n])
    body, out = data[8 + n:], []
    for name, info in header.items():
        if name == "__metadata__":
            continue
        begin, end = info["data_offsets"]
        dtype = {"F32": "<f4", "F64": "<f8", "I64": "<i8"}[info["dtype"]]
        out.append((name, np.frombuffer(body[begin:end], dtype=dtype).reshape(info["shape"])))
    return out


def check(directory, name, module):
    tensors = read_safetensors("%s/%s.safetensors" % (directory, name))
    prefix = "encoder.1."
    mine = [(n[len(prefix):], a) for n, a in tensors if n.startswith(prefix)]
    if [n for n, _ in mine] != list(module.state_dict().keys()):
        raise SystemExit("%s: latent's quantiser tensors %s, pythae's state_dict %s" %
                         (name, [n for n, _ in mine], list(module.state_dict().keys())))
    module.load_state_dict({n: torch.from_numpy(a.copy()) for n, a in mine}, strict=True)
    x = np.load("%s/%s.x.npy" % (directory, name))
    want_k = np.load("%s/%s.indices.npy" % (directory, name))
    want_z = np.load("%s/%s.code.npy" % (directory, name))
    z = torch.from_numpy(x).reshape(-1, D, H, W).permute(0, 2, 3, 1)  # pythae quantises [N, H, W, D]
    with torch.no_grad():
        k, q = nearest(module, z)
    got_k = k.reshape(-1, H * W).numpy()  # position p = h·W + w, as latent's
    got_z = q.permute(0, 3, 1, 2).reshape(x.shape[0], -1).numpy()  # back to channel-first rows
    if got_k.shape != want_k.shape or not np.array_equal(got_k, want_k):
        raise SystemExit("%s: pythae's codes differ from latent's at %d of %d positions" %
                         (name, int(np.sum(got_k != want_k)), want_k.size))
    delta = float(np.max(np.abs(got_z - want_z)))
    if delta > 1e-6:
        raise SystemExit("%s: pythae's code values differ from latent's by %.3g" % (name, delta))
    print("%s: loads into pythae's %s (strict); %d codes equal (%d distinct), values max |Δ| %.1e" %
          (name, type(module).__name__, want_k.size, len(np.unique(want_k)), delta))


def main(argv):
    if len(argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    check(argv[1], "quantizer", Quantizer())
    check(argv[1], "quantizer_ema", QuantizerEMA())
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
