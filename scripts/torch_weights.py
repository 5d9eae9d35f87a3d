#!/usr/bin/env python3
"""PyTorch's side of latent's weight interchange tests (#12): docs/weights.md.

  torch_weights.py write DIR   builds five seeded PyTorch models and writes, for each NET:
      NET.safetensors          its state_dict (PyTorch layout), safetensors written by hand (below)
      NET.npz                  the same, numpy.savez (stored members)
      NET_deflated.npz         the same, numpy.savez_compressed (deflated members)
      NET_keras.npz            the same weights in Keras's layouts (Dense kernels in x out, conv
                               kernels [K][K][C][F] / [K][K][F][C], channel-last flattening), as
                               Keras's get_weights() would give for the same network. Debian has no
                               TensorFlow: this file is made by transposing PyTorch's tensors, so it
                               tests latent's conversion against this script's reading of Keras's
                               conventions, not against Keras itself.
      NET_io.npz               x (the input batch) and out_0, out_1, ...: the output of every leaf
                               layer of the matching latent model, in latent's order (a Gaussian
                               head's output is [mu | log var]); for the two networks of issue #23's
                               blocks (flat_blocks, blocks: BatchNorm, GroupNorm, LayerNorm, residual
                               blocks, attention, ...), whose modules are named as latent's default
                               names, out_0 is the code (latent's encode) and out_1 the
                               reconstruction (reconstruct), in eval mode after a few training-mode
                               passes that move the running statistics
  torch_weights.py check DIR   loads NET_latent.safetensors and NET_latent.npz (written by latent's
                               test) into the PyTorch models in state_dict order and compares their
                               layer outputs on x with latent's (NET_latent_io.npz), and compares
                               NET_latent_keras.npz with this script's Keras conversion of the same
                               weights; the blocks networks also load latent's files by name
                               (load_state_dict, strict) and keep num_batches_tracked int64; exits 1
                               if any differs by more than 1e-5 (times max(1, max |output|) for the
                               blocks networks' outputs).

Run with Debian's /usr/bin/python3 (torch 1.13, numpy; the `safetensors` package is not needed).
"""
import json
import struct
import sys

import numpy as np
import torch
from torch import nn

torch.set_num_threads(1)
TOLERANCE = 1e-5


class Seed(nn.Module):
    """The Keras article's autoencoder: 100 -> 20 ReLU -> 5 sigmoid -> 20 ReLU -> 100 sigmoid."""

    def __init__(self):
        super().__init__()
        self.enc1, self.enc2 = nn.Linear(100, 20), nn.Linear(20, 5)
        self.dec1, self.dec2 = nn.Linear(5, 20), nn.Linear(20, 100)

    def leaves(self, x):
        a = torch.relu(self.enc1(x))
        b = torch.sigmoid(self.enc2(a))
        c = torch.relu(self.dec1(b))
        return [a, b, c, torch.sigmoid(self.dec2(c))]


class VAE(nn.Module):
    """PyTorch's examples/vae/main.py (decode returns logits here: latent's Bernoulli takes logits)."""

    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(784, 400)
        self.fc21 = nn.Linear(400, 20)
        self.fc22 = nn.Linear(400, 20)
        self.fc3 = nn.Linear(20, 400)
        self.fc4 = nn.Linear(400, 784)

    def leaves(self, x):
        h1 = torch.relu(self.fc1(x))
        mu, logvar = self.fc21(h1), self.fc22(h1)
        h3 = torch.relu(self.fc3(mu))  # z = mu: inference, as latent's encode
        return [h1, torch.cat([mu, logvar], 1), h3, self.fc4(h3)]


class ConvVAE(nn.Module):
    """README "Images as shapes" with PyTorch's paddings (latent: Pad<1>, Pad<1, 1>)."""

    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 32, 3, stride=2, padding=1)
        self.conv2 = nn.Conv2d(32, 64, 3, stride=2, padding=1)
        self.fc = nn.Linear(3136, 16)
        self.fc_mu = nn.Linear(16, 16)
        self.fc_logvar = nn.Linear(16, 16)
        self.dec_fc = nn.Linear(16, 3136)
        self.deconv1 = nn.ConvTranspose2d(64, 64, 3, stride=2, padding=1, output_padding=1)
        self.deconv2 = nn.ConvTranspose2d(64, 32, 3, stride=2, padding=1, output_padding=1)
        self.deconv3 = nn.ConvTranspose2d(32, 1, 3, stride=1, padding=1)

    def leaves(self, x):
        n = x.shape[0]
        image = x.reshape(n, 1, 28, 28)
        c1 = torch.relu(self.conv1(image))
        c2 = torch.relu(self.conv2(c1))
        flat = c2.reshape(n, -1)
        h = torch.relu(self.fc(flat))
        mu, logvar = self.fc_mu(h), self.fc_logvar(h)
        d = torch.relu(self.dec_fc(mu))
        shaped = d.reshape(n, 64, 7, 7)
        d1 = torch.relu(self.deconv1(shaped))
        d2 = torch.relu(self.deconv2(d1))
        d3 = self.deconv3(d2)
        return [image, c1, c2, flat, h, torch.cat([mu, logvar], 1), d, shaped, d1, d2, d3]


class Residual(nn.Module):
    """latent's Residual<Branch> (y = x + branch(x)) and Residual<Branch, Projection> (projection(x) +
    branch(x)); the state_dict holds branch.<j>.* then projection.<j>.*, as latent's names."""

    def __init__(self, branch, projection=None):
        super().__init__()
        self.branch = branch
        if projection is not None:
            self.projection = projection

    def forward(self, x):
        return (self.projection(x) if hasattr(self, "projection") else x) + self.branch(x)


class AttnBlock(nn.Module):
    """Latent diffusion's (and diffusers') AttnBlock, latent's SpatialAttention: GroupNorm (eps 1e-6),
    1x1 convolutions q, k, v, softmax over positions of q.k/sqrt(C), proj_out, the skip."""

    def __init__(self, channels, groups):
        super().__init__()
        self.norm = nn.GroupNorm(groups, channels, eps=1e-6)
        self.q = nn.Conv2d(channels, channels, 1)
        self.k = nn.Conv2d(channels, channels, 1)
        self.v = nn.Conv2d(channels, channels, 1)
        self.proj_out = nn.Conv2d(channels, channels, 1)

    def forward(self, x):
        h = self.norm(x)
        q, k, v = self.q(h), self.k(h), self.v(h)
        b, c, height, width = q.shape
        q = q.reshape(b, c, height * width).permute(0, 2, 1)  # b, hw, c
        k = k.reshape(b, c, height * width)  # b, c, hw
        w = torch.softmax(torch.bmm(q, k) * (int(c) ** (-0.5)), dim=2)  # w[b, i, j]: position i attends to j
        v = v.reshape(b, c, height * width)
        h = torch.bmm(v, w.permute(0, 2, 1)).reshape(b, c, height, width)
        return x + self.proj_out(h)


class FlatBlocks(nn.Module):
    """tests/test_weights.cpp's FlatBlocks: BatchNorm1d, GELU, Dropout, LayerNorm, residual blocks."""

    def __init__(self):
        super().__init__()
        self.encoder = nn.Sequential(
            nn.Linear(12, 16), nn.BatchNorm1d(16), nn.GELU(), nn.Dropout(0.2),
            Residual(nn.Sequential(nn.LayerNorm(16), nn.Linear(16, 16), nn.Tanh(), nn.Linear(16, 16))),
            Residual(nn.Sequential(nn.Linear(16, 8), nn.ReLU(), nn.Linear(8, 8)), nn.Sequential(nn.Linear(16, 8))),
            nn.SiLU(), nn.Linear(8, 4))
        self.decoder = nn.Sequential(nn.Linear(4, 16), nn.BatchNorm1d(16), nn.ReLU(), nn.Linear(16, 12))


class Blocks(nn.Module):
    """tests/test_weights.cpp's Blocks: BatchNorm2d, GroupNorm, a pre-activation residual block, max
    pooling, a residual block with a 1x1 projection, attention, upsampling (latent's Input<1, 8, 8> and
    Reshape<16, 4, 4> are the Unflatten modules, so that the indices are latent's)."""

    def __init__(self):
        super().__init__()
        self.encoder = nn.Sequential(
            nn.Unflatten(1, (1, 8, 8)), nn.Conv2d(1, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU(),
            Residual(nn.Sequential(nn.GroupNorm(4, 8), nn.SiLU(), nn.Conv2d(8, 8, 3, padding=1), nn.GroupNorm(4, 8),
                                   nn.SiLU(), nn.Conv2d(8, 8, 3, padding=1))),
            nn.MaxPool2d(2),
            Residual(nn.Sequential(nn.Conv2d(8, 16, 3, padding=1), nn.BatchNorm2d(16), nn.ReLU(),
                                   nn.Conv2d(16, 16, 3, padding=1)),
                     nn.Sequential(nn.Conv2d(8, 16, 1))),
            AttnBlock(16, 4), nn.Flatten(), nn.Linear(256, 6))
        self.decoder = nn.Sequential(
            nn.Linear(6, 256), nn.Unflatten(1, (16, 4, 4)), AttnBlock(16, 4), nn.Upsample(scale_factor=2),
            nn.Conv2d(16, 8, 3, padding=1), nn.GroupNorm(2, 8), nn.GELU(), nn.Dropout(0.1),
            nn.Conv2d(8, 1, 3, padding=1), nn.Flatten())


# name: (class, input width, seed, whole model (code, reconstruction) rather than every leaf,
#        Keras's channel-last reorderings: {Linear: ("rows" after a Flatten | "cols" before a Reshape, (C, H, W))})
NETS = {
    "seed": (Seed, 100, 1, False, {}),
    "vae": (VAE, 784, 2, False, {}),
    "conv_vae": (ConvVAE, 784, 3, False, {"fc": ("rows", (64, 7, 7)), "dec_fc": ("cols", (64, 7, 7))}),
    "flat_blocks": (FlatBlocks, 12, 4, True, {}),
    "blocks": (Blocks, 64, 5, True, {"encoder.9": ("rows", (16, 4, 4)), "decoder.0": ("cols", (16, 4, 4))}),
}
KERAS_NAMES = {"running_mean": "moving_mean", "running_var": "moving_variance"}


def keras_tensors(net, state):
    """The state_dict's tensors in Keras's layouts and get_weights() order (see the module's doc):
    kernels, biases; a normalisation's gamma, beta (BatchNorm's moving_mean, moving_variance; Keras
    has no num_batches_tracked)."""
    out = []
    reorder = NETS[net][4]
    for name, t in state.items():
        a = t.detach().numpy()
        layer, role = name.rsplit(".", 1)
        if role == "num_batches_tracked":
            continue
        norm = state[layer + ".weight"].dim() == 1  # BatchNorm, GroupNorm, LayerNorm
        how, (c, h, w) = reorder.get(layer, (None, (0, 0, 0)))
        if a.ndim == 4:
            # Conv2d [F][C][K][K] -> [K][K][C][F]; ConvTranspose2d [C][F][K][K] -> [K][K][F][C]
            a = a.transpose(2, 3, 1, 0)
        elif a.ndim == 2:
            a = a.T  # Linear out x in -> Dense kernel in x out
            if how == "rows":  # after Flatten of c x h x w: rows (c,h,w) -> (h,w,c)
                a = a.reshape(c, h, w, -1).transpose(1, 2, 0, 3).reshape(c * h * w, -1)
            if how == "cols":  # before Reshape<c, h, w>: columns likewise
                a = a.reshape(-1, c, h, w).transpose(0, 2, 3, 1).reshape(-1, c * h * w)
        elif how == "cols":
            a = a.reshape(c, h, w).transpose(1, 2, 0).reshape(c * h * w)
        if role in KERAS_NAMES:
            suffix = KERAS_NAMES[role]
        elif norm:
            suffix = "gamma" if role == "weight" else "beta"
        else:
            suffix = "kernel" if role == "weight" else "bias"
        out.append((f"{layer}.{suffix}", np.ascontiguousarray(a)))
    return out


def write_safetensors(path, tensors):
    """The safetensors format by hand: u64 header length, JSON header, raw little-endian data (F32, and
    I64 for int64 tensors: BatchNorm's num_batches_tracked)."""
    header, offset, blobs = {"__metadata__": {"format": "pt"}}, 0, []
    for name, a in tensors:
        whole = np.asarray(a).dtype == np.int64
        a = np.array(a, dtype="<i8" if whole else "<f4", order="C")  # keeps 0-d (ascontiguousarray gives 1-d)
        header[name] = {"dtype": "I64" if whole else "F32", "shape": list(a.shape),
                        "data_offsets": [offset, offset + a.nbytes]}
        offset += a.nbytes
        blobs.append(a.tobytes())
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)) + text + b"".join(blobs))


def read_safetensors(path):
    """[(name, array)] in the header's order (F32, F64 and I64: what latent writes)."""
    with open(path, "rb") as f:
        data = f.read()
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8 : 8 + n])  # dicts keep the file's order
    body, out = data[8 + n :], []
    for name, info in header.items():
        if name == "__metadata__":
            continue
        begin, end = info["data_offsets"]
        dtype = {"F32": "<f4", "F64": "<f8", "I64": "<i8"}[info["dtype"]]
        out.append((name, np.frombuffer(body[begin:end], dtype=dtype).reshape(info["shape"])))
    return out


def build(net):
    cls, width, seed, whole, _ = NETS[net]
    torch.manual_seed(seed)
    model = cls()
    if whole:
        # Trained-looking normalisations: γ and β away from 1 and 0, running statistics moved by a few
        # training-mode passes (num_batches_tracked counts them).
        with torch.no_grad():
            for m in model.modules():
                if isinstance(m, (nn.BatchNorm1d, nn.BatchNorm2d, nn.GroupNorm, nn.LayerNorm)):
                    m.weight.uniform_(0.5, 1.5)
                    m.bias.uniform_(-0.5, 0.5)
            model.train()
            for _ in range(3):
                model.decoder(model.encoder(2 * torch.rand(16, width) - 0.5))
    model.eval()
    x = torch.rand(4, width, generator=torch.Generator().manual_seed(100 + seed))
    return model, x


def outputs(model, x):
    with torch.no_grad():
        if hasattr(model, "leaves"):
            return [o.reshape(x.shape[0], -1).numpy().astype(np.float32) for o in model.leaves(x)]
        code = model.encoder(x)  # eval mode: running statistics, no dropout
        return [code.numpy().astype(np.float32), model.decoder(code).reshape(x.shape[0], -1).numpy().astype(np.float32)]


def write(directory):
    for net in NETS:
        model, x = build(net)
        state = model.state_dict()
        tensors = [(k, v.detach().numpy()) for k, v in state.items()]
        write_safetensors(f"{directory}/{net}.safetensors", tensors)
        np.savez(f"{directory}/{net}.npz", **dict(tensors))
        np.savez_compressed(f"{directory}/{net}_deflated.npz", **dict(tensors))
        np.savez(f"{directory}/{net}_keras.npz", **dict(keras_tensors(net, state)))
        io = {"x": x.numpy()}
        for i, o in enumerate(outputs(model, x)):
            io[f"out_{i}"] = o
        np.savez(f"{directory}/{net}_io.npz", **io)
        print(f"{net}: {sum(v.numel() for v in state.values())} values, {len(state)} tensors written")


def load_in_order(model, tensors, path):
    state = model.state_dict()
    if len(tensors) != len(state):
        raise SystemExit(f"{path}: expected {len(state)} tensors, found {len(tensors)}")
    new = {}
    for (key, want), (name, a) in zip(state.items(), tensors):
        if tuple(a.shape) != tuple(want.shape):
            raise SystemExit(f"{path}: tensor '{name}' for {key}: expected {list(want.shape)}, found {list(a.shape)}")
        if (want.dtype == torch.int64) != (np.asarray(a).dtype == np.int64):
            raise SystemExit(f"{path}: tensor '{name}' for {key}: expected {want.dtype}, found {np.asarray(a).dtype}")
        new[key] = torch.from_numpy(np.array(a, dtype=np.int64 if want.dtype == torch.int64 else np.float32))
    model.load_state_dict(new)


def load_by_name(model, tensors, path):
    """latent's default names are the blocks networks' state_dict keys: strict load_state_dict by name."""
    state = model.state_dict()
    new = {name: torch.from_numpy(np.array(a)) for name, a in tensors}
    if list(new) != list(state):
        raise SystemExit(f"{path}: expected the names {list(state)}, found {list(new)}")
    for k, v in new.items():
        if v.dtype != state[k].dtype:
            raise SystemExit(f"{path}: tensor '{k}': expected {state[k].dtype}, found {v.dtype}")
    model.load_state_dict(new, strict=True)


def check(directory):
    worst_all = 0.0
    for net in NETS:
        io = np.load(f"{directory}/{net}_latent_io.npz")
        x = torch.from_numpy(io["x"])
        whole = NETS[net][3]
        for ext in ("safetensors", "npz"):
            path = f"{directory}/{net}_latent.{ext}"
            if ext == "safetensors":
                tensors = read_safetensors(path)
            else:
                archive = np.load(path)
                tensors = [(k, archive[k]) for k in archive.files]
            for how in ("by order", "by name") if whole else ("by order",):
                model, _ = build(net)
                (load_in_order if how == "by order" else load_by_name)(model, tensors, path)
                worst = 0.0
                for i, o in enumerate(outputs(model, x)):
                    latent_out = io[f"out_{i}"]
                    if latent_out.shape != o.shape:
                        raise SystemExit(f"{net} output {i}: expected shape {o.shape}, latent gave {latent_out.shape}")
                    # The blocks networks' outputs are compared relative to their size (the others are
                    # about 1 at most).
                    scale = max(1.0, float(np.max(np.abs(o)))) if whole else 1.0
                    worst = max(worst, float(np.max(np.abs(latent_out - o))) / scale)
                what = "the code and the reconstruction (relative to max(1, |output|))" if whole else "every layer"
                print(f"{net} from {path} ({how}): max |latent - PyTorch| over {what} = {worst:.3g}")
                worst_all = max(worst_all, worst)
            if whole:
                counters = [(k, a) for k, a in tensors if k.endswith("num_batches_tracked")]
                if not counters or any(np.asarray(a).dtype != np.int64 or np.asarray(a).shape != () for _, a in counters):
                    raise SystemExit(f"{path}: expected 0-d int64 num_batches_tracked tensors, found "
                                     f"{[(k, np.asarray(a).dtype, np.asarray(a).shape) for k, a in counters]}")
                if [int(a) for _, a in counters] != [int(model.state_dict()[k]) for k, _ in counters]:
                    raise SystemExit(f"{path}: num_batches_tracked did not arrive in PyTorch")
        # latent's Keras-layout export against this script's own conversion of the same weights.
        path = f"{directory}/{net}_latent_keras.npz"
        archive = np.load(path)
        mine = keras_tensors(net, model.state_dict())
        if len(mine) != len(archive.files):
            raise SystemExit(f"{path}: expected {len(mine)} arrays, found {len(archive.files)}")
        worst = 0.0
        for (name, a), file_name in zip(mine, archive.files):
            b = archive[file_name]
            if a.shape != b.shape:
                raise SystemExit(f"{path}: array '{file_name}' for {name}: expected {list(a.shape)}, found {list(b.shape)}")
            worst = max(worst, float(np.max(np.abs(a - b))))
        print(f"{net} from {path}: max |latent - Keras layout of the same weights| = {worst:.3g}")
        worst_all = max(worst_all, worst)
    if not worst_all <= TOLERANCE:
        print(f"FAILED: {worst_all:.3g} > {TOLERANCE}")
        return 1
    return 0


if __name__ == "__main__":
    if len(sys.argv) != 3 or sys.argv[1] not in ("write", "check"):
        raise SystemExit(__doc__)
    sys.exit(write(sys.argv[2]) if sys.argv[1] == "write" else check(sys.argv[2]))
