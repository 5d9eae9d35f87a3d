#!/usr/bin/env python3
"""PyTorch's side of latent's weight interchange tests (#12): docs/weights.md.

  torch_weights.py write DIR   builds three seeded PyTorch models and writes, for each NET:
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
                               head's output is [mu | log var])
  torch_weights.py check DIR   loads NET_latent.safetensors and NET_latent.npz (written by latent's
                               test) into the PyTorch models in state_dict order and compares their
                               layer outputs on x with latent's (NET_latent_io.npz), and compares
                               NET_latent_keras.npz with this script's Keras conversion of the same
                               weights; exits 1 if any differs by more than 1e-5.

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


NETS = {"seed": (Seed, 100, 1), "vae": (VAE, 784, 2), "conv_vae": (ConvVAE, 784, 3)}


def keras_tensors(net, state):
    """The state_dict's tensors in Keras's layouts and get_weights() order (see the module's doc)."""
    out = []
    items = list(state.items())
    for i, (name, t) in enumerate(items):
        a = t.detach().numpy()
        layer = name.rsplit(".", 1)[0]
        if a.ndim == 4:
            # Conv2d [F][C][K][K] -> [K][K][C][F]; ConvTranspose2d [C][F][K][K] -> [K][K][F][C]
            a = a.transpose(2, 3, 1, 0)
        elif a.ndim == 2:
            a = a.T  # Linear out x in -> Dense kernel in x out
            if net == "conv_vae" and layer == "fc":  # after Flatten of 64x7x7: rows (c,h,w) -> (h,w,c)
                a = a.reshape(64, 7, 7, -1).transpose(1, 2, 0, 3).reshape(3136, -1)
            if net == "conv_vae" and layer == "dec_fc":  # before Reshape<64,7,7>: columns likewise
                a = a.reshape(-1, 64, 7, 7).transpose(0, 2, 3, 1).reshape(-1, 3136)
        elif net == "conv_vae" and layer == "dec_fc":
            a = a.reshape(64, 7, 7).transpose(1, 2, 0).reshape(3136)
        suffix = "kernel" if name.endswith("weight") else "bias"
        out.append((f"{layer}.{suffix}", np.ascontiguousarray(a)))
    return out


def write_safetensors(path, tensors):
    """The safetensors format by hand: u64 header length, JSON header, raw little-endian data."""
    header, offset, blobs = {"__metadata__": {"format": "pt"}}, 0, []
    for name, a in tensors:
        a = np.ascontiguousarray(a, dtype="<f4")
        header[name] = {"dtype": "F32", "shape": list(a.shape), "data_offsets": [offset, offset + a.nbytes]}
        offset += a.nbytes
        blobs.append(a.tobytes())
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)) + text + b"".join(blobs))


def read_safetensors(path):
    """[(name, array)] in the header's order (F32 and F64 only: what latent writes)."""
    with open(path, "rb") as f:
        data = f.read()
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8 : 8 + n])  # dicts keep the file's order
    body, out = data[8 + n :], []
    for name, info in header.items():
        if name == "__metadata__":
            continue
        begin, end = info["data_offsets"]
        dtype = {"F32": "<f4", "F64": "<f8"}[info["dtype"]]
        out.append((name, np.frombuffer(body[begin:end], dtype=dtype).reshape(info["shape"])))
    return out


def build(net):
    cls, width, seed = NETS[net]
    torch.manual_seed(seed)
    model = cls().eval()
    x = torch.rand(4, width, generator=torch.Generator().manual_seed(100 + seed))
    return model, x


def outputs(model, x):
    with torch.no_grad():
        return [o.reshape(x.shape[0], -1).numpy().astype(np.float32) for o in model.leaves(x)]


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
        print(f"{net}: {sum(v.numel() for v in state.values())} parameters, {len(state)} tensors written")


def load_in_order(model, tensors, path):
    state = model.state_dict()
    if len(tensors) != len(state):
        raise SystemExit(f"{path}: expected {len(state)} tensors, found {len(tensors)}")
    new = {}
    for (key, want), (name, a) in zip(state.items(), tensors):
        if tuple(a.shape) != tuple(want.shape):
            raise SystemExit(f"{path}: tensor '{name}' for {key}: expected {list(want.shape)}, found {list(a.shape)}")
        new[key] = torch.from_numpy(np.array(a, dtype=np.float32))
    model.load_state_dict(new)


def check(directory):
    worst_all = 0.0
    for net in NETS:
        io = np.load(f"{directory}/{net}_latent_io.npz")
        x = torch.from_numpy(io["x"])
        for ext in ("safetensors", "npz"):
            path = f"{directory}/{net}_latent.{ext}"
            model, _ = build(net)
            if ext == "safetensors":
                tensors = read_safetensors(path)
            else:
                archive = np.load(path)
                tensors = [(k, archive[k]) for k in archive.files]
            load_in_order(model, tensors, path)
            worst = 0.0
            for i, o in enumerate(outputs(model, x)):
                latent_out = io[f"out_{i}"]
                if latent_out.shape != o.shape:
                    raise SystemExit(f"{net} layer {i}: expected shape {o.shape}, latent gave {latent_out.shape}")
                worst = max(worst, float(np.max(np.abs(latent_out - o))))
            print(f"{net} from {path}: max |latent - PyTorch| over every layer = {worst:.3g}")
            worst_all = max(worst_all, worst)
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
