#!/usr/bin/python3
"""The VQ-VAE reference recipe of issue #25 (item 6) in PyTorch from Python (run with Debian's
/usr/bin/python3): pythae's MNIST VQ-VAE configuration (256 codes of 16 values, beta 0.25, EMA codebook
with decay 0.99 as pythae's QuantizerEMA, Adam lr 1e-3, batch 100) on Fashion-MNIST, the model of
benchmarks/vq_recipe.hpp (latent's twin: benchmarks/vq_recipe.cpp):

  encoder  Conv2d(1,32,3,s2,p1) ReLU -> Conv2d(32,64,3,s2,p1) ReLU -> Conv2d(64,16,1)        (16 x 7 x 7)
  quantise each of the 49 positions (channels last, as pythae): nearest of 256 codes by
           |z|^2 + |e|^2 - 2 z.e, argmin; straight-through; EMA update as pythae's QuantizerEMA
           (cluster sizes from 0, sums from U(-1/K, 1/K), Laplace smoothing 1e-5; no restarts)
  decoder  ConvT(16,64,3,s2,p1,op1) ReLU -> ConvT(64,32,3,s2,p1,op1) ReLU -> ConvT(32,1,3,s1,p1) Sigmoid
  loss     MSE (mean over the 784 pixels) + 0.25 x commitment (mean over the code values), batch mean
           (pythae sums the MSE over the pixels; both recipes here use latent's per-pixel mean)
                                                                                    (47 889 parameters)
Training (default): one JSON line per epoch {"epoch", "seconds" (training only), "train_loss",
"test_mse" (mean squared error per pixel over the 10 000 test images, eval mode), "usage" (fraction of
the 256 codes used by the test images' codes), "perplexity"}, then a {"summary": ...} line.

--bench-steps S: the timing rows "vq/pytorch-python-<T>t" for benchmarks/report.py (as the conv VAE's):
per repetition a fresh model, W warm-up steps, then S timed steps of batch 100 on the first rows."""

import argparse
import json
import math
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import peers_common as pc  # noqa: E402

import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402

CODES, DIM, SIDE = 256, 16, 7
PARAMETERS = 47889
VQ_LAYERS = (("conv", 14 * 14, 1, 32, 3), ("conv", 7 * 7, 32, 64, 3), ("conv", 7 * 7, 64, 16, 1),
             ("convT", 7 * 7, 16, 64, 3), ("convT", 14 * 14, 64, 32, 3), ("convT", 28 * 28, 32, 1, 3))


def vq_flops_per_sample():
    """As vq_flops_per_sample() in vq_recipe.hpp: 2 x (3 x MACs - the first conv's) + the forward distance
    product 2 x 49 x 256 x 16; 32 087 552 per image."""
    macs = [positions * cin * cout * k * k for _, positions, cin, cout, k in VQ_LAYERS]
    return 2.0 * (3.0 * sum(macs) - macs[0]) + 2.0 * SIDE * SIDE * CODES * DIM


class QuantizerEMA(torch.nn.Module):
    """pythae's QuantizerEMA mechanics (decay 0.99, beta 0.25), written out."""

    def __init__(self, codes=CODES, dim=DIM, decay=0.99, beta=0.25):
        super().__init__()
        self.codes, self.dim, self.decay, self.beta = codes, dim, decay, beta
        self.register_buffer("embeddings", torch.empty(codes, dim).uniform_(-1 / codes, 1 / codes))
        self.register_buffer("cluster_size", torch.zeros(codes))
        self.register_buffer("ema_embed", torch.empty(codes, dim).uniform_(-1 / codes, 1 / codes))

    def forward(self, z):
        """z: [B, H, W, D] (channels last). Returns (z_q straight-through, indices [B*H*W], loss)."""
        flat = z.reshape(-1, self.dim)
        distances = ((flat ** 2).sum(dim=-1, keepdim=True) + (self.embeddings ** 2).sum(dim=-1)
                     - 2 * flat @ self.embeddings.T)
        closest = distances.argmin(-1)
        one_hot = F.one_hot(closest, num_classes=self.codes).type(flat.dtype)
        quantized = (one_hot @ self.embeddings).reshape_as(z)
        if self.training:
            with torch.no_grad():
                n_i = one_hot.sum(dim=0)
                self.cluster_size.mul_(self.decay).add_(n_i, alpha=1 - self.decay)
                dw = one_hot.T @ flat
                self.ema_embed.mul_(self.decay).add_(dw, alpha=1 - self.decay)
                n = self.cluster_size.sum()
                self.cluster_size.copy_((self.cluster_size + 1e-5) / (n + self.codes * 1e-5) * n)
                self.embeddings.copy_(self.ema_embed / self.cluster_size.unsqueeze(-1))
        commitment = F.mse_loss(quantized.detach(), z, reduction="mean")
        return z + (quantized - z).detach(), closest, self.beta * commitment


class VQVAE(torch.nn.Module):
    def __init__(self):
        super().__init__()
        nn = torch.nn
        self.enc1 = nn.Conv2d(1, 32, 3, stride=2, padding=1)
        self.enc2 = nn.Conv2d(32, 64, 3, stride=2, padding=1)
        self.pre = nn.Conv2d(64, DIM, 1)
        self.quantizer = QuantizerEMA()
        self.dec1 = nn.ConvTranspose2d(DIM, 64, 3, stride=2, padding=1, output_padding=1)
        self.dec2 = nn.ConvTranspose2d(64, 32, 3, stride=2, padding=1, output_padding=1)
        self.dec3 = nn.ConvTranspose2d(32, 1, 3, stride=1, padding=1)

    def forward(self, x):
        """x: [B, 784] in [0, 1]. Returns (reconstruction [B, 784], indices, VQ loss)."""
        h = F.relu(self.enc1(x.view(-1, 1, 28, 28)))
        h = F.relu(self.enc2(h))
        z = self.pre(h).permute(0, 2, 3, 1)  # [B, 7, 7, 16]
        zq, idx, vq_loss = self.quantizer(z)
        d = F.relu(self.dec1(zq.permute(0, 3, 1, 2)))
        d = F.relu(self.dec2(d))
        return torch.sigmoid(self.dec3(d)).view(-1, 784), idx, vq_loss


def fresh_model(seed=1):
    torch.manual_seed(seed)
    model = VQVAE()
    count = sum(p.numel() for p in model.parameters())
    assert count == PARAMETERS, f"{count} parameters, expected {PARAMETERS}"
    return model, torch.optim.Adam(model.parameters(), lr=1e-3)


def train_step(model, opt, xb):
    opt.zero_grad()
    recon, _, vq_loss = model(xb)
    loss = F.mse_loss(recon, xb, reduction="mean") + vq_loss
    loss.backward()
    opt.step()
    return loss.item()


def evaluate(model, x, batch=1000):
    """(mean squared error per pixel, usage, perplexity) over x in eval mode."""
    model.eval()
    se, counts = 0.0, torch.zeros(CODES)
    with torch.no_grad():
        for start in range(0, x.shape[0], batch):
            xb = x[start:start + batch]
            recon, idx, _ = model(xb)
            se += F.mse_loss(recon, xb, reduction="sum").item()
            counts += torch.bincount(idx, minlength=CODES).float()
    model.train()
    p = counts / counts.sum()
    nz = p[p > 0]
    return se / x.numel(), (counts > 0).float().mean().item(), math.exp(-(nz * nz.log()).sum().item())


def load(path):
    n, d, raw = pc.load_idx_images(path)
    return torch.frombuffer(bytearray(raw), dtype=torch.uint8).view(n, d).float() / 255.0


def train(args, x, x_test):
    model, opt = fresh_model(args.seed)
    n = x.shape[0]
    epochs = []
    for e in range(1, args.epochs + 1):
        start_time, start_cpu = time.perf_counter(), time.process_time()
        xp = x.index_select(0, torch.randperm(n))
        total = 0.0
        for start in range(0, n, args.batch):
            xb = xp[start:start + args.batch]
            total += train_step(model, opt, xb) * xb.shape[0]
        seconds, cpu_seconds = time.perf_counter() - start_time, time.process_time() - start_cpu
        mse, usage, perplexity = evaluate(model, x_test)
        row = {"peer": f"pytorch-python-{args.threads}t", "epoch": e, "seconds": seconds, "cpu_seconds": cpu_seconds,
               "train_loss": total / n, "test_mse": mse, "usage": usage, "codes_used": round(usage * CODES),
               "perplexity": perplexity, "threads": args.threads}
        epochs.append(row)
        print(json.dumps(row), flush=True)
    print(json.dumps({"summary": "vq/pytorch-python training", "epochs": args.epochs, "threads": args.threads,
                      "batch": args.batch, "parameters": PARAMETERS,
                      "median_epoch_seconds": pc.median([r["seconds"] for r in epochs]),
                      "final_test_mse": epochs[-1]["test_mse"], "final_usage": epochs[-1]["usage"],
                      "final_perplexity": epochs[-1]["perplexity"]}), flush=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--epochs", type=int, default=10)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--batch", type=int, default=100)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--data", default=os.environ.get("LATENT_FASHION_MNIST_DIR", pc.FASHION_MNIST_DIR),
                    help="directory with {train,t10k}-images-idx3-ubyte.gz")
    ap.add_argument("--bench-steps", type=int, default=0, metavar="S",
                    help="time S training steps per repetition instead of training (report.py rows)")
    ap.add_argument("--warmup", type=int, default=3, help="untimed steps before the timed ones (--bench-steps)")
    ap.add_argument("--repetitions", type=int, default=5, help="repetitions of --bench-steps")
    ap.add_argument("--blas-threads", type=int, default=1, help="OpenBLAS's pool (as conv_vae_pytorch.py)")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    torch.zeros(2, 2) @ torch.zeros(2, 2)  # make sure the BLAS is loaded before sizing its pool
    blas = pc.set_blas_threads(args.blas_threads)
    x = load(os.path.join(args.data, "train-images-idx3-ubyte.gz"))
    if args.bench_steps > 0:
        pc.bench_steps(args, x, blas, "vq", vq_flops_per_sample(), lambda: fresh_model(args.seed), train_step)
    else:
        train(args, x, load(os.path.join(args.data, "t10k-images-idx3-ubyte.gz")))


if __name__ == "__main__":
    main()
