#!/usr/bin/python3
"""One epoch of PyTorch's examples/vae from Python (run with Debian's /usr/bin/python3), the recipe of
benchmarks/peers/vae_torch.cpp: 784-400 ReLU -> (mu, logvar) 400-20, z = mu + exp(logvar/2) eps,
20-400 ReLU -> 400-784 logits; BCE-with-logits summed over pixels + KL summed over dims, averaged
over the batch; Adam(lr 1e-3); batch 128, shuffled, last partial batch kept. Prints one JSON line per
repetition and one with the medians."""

import argparse
import json
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import peers_common as pc  # noqa: E402

import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402


class VAE(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = torch.nn.Linear(pc.VAE_IN, pc.VAE_HIDDEN)
        self.fc21 = torch.nn.Linear(pc.VAE_HIDDEN, pc.VAE_LATENT)
        self.fc22 = torch.nn.Linear(pc.VAE_HIDDEN, pc.VAE_LATENT)
        self.fc3 = torch.nn.Linear(pc.VAE_LATENT, pc.VAE_HIDDEN)
        self.fc4 = torch.nn.Linear(pc.VAE_HIDDEN, pc.VAE_IN)

    def forward(self, x):
        h = F.relu(self.fc1(x))
        mu, logvar = self.fc21(h), self.fc22(h)
        z = mu + torch.exp(0.5 * logvar) * torch.randn_like(mu)
        return self.fc4(F.relu(self.fc3(z))), mu, logvar


def epoch(x, batch):
    torch.manual_seed(1)
    model = VAE()
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    n = x.shape[0]
    start_time = time.perf_counter()
    start_cpu = time.process_time()
    xp = x.index_select(0, torch.randperm(n))
    total = 0.0
    for start in range(0, n, batch):
        xb = xp[start:start + batch]
        opt.zero_grad()
        logits, mu, logvar = model(xb)
        bce = F.binary_cross_entropy_with_logits(logits, xb, reduction="sum")
        kld = -0.5 * torch.sum(1 + logvar - mu.pow(2) - logvar.exp())
        loss = (bce + kld) / xb.shape[0]
        loss.backward()
        opt.step()
        total += loss.item() * xb.shape[0]
    return time.perf_counter() - start_time, time.process_time() - start_cpu, total / n


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--repetitions", type=int, default=5)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--batch", type=int, default=128)
    ap.add_argument("--data", default=os.environ.get("LATENT_FASHION_MNIST_DIR", pc.FASHION_MNIST_DIR),
                    help="directory with train-images-idx3-ubyte.gz")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    torch.zeros(2, 2) @ torch.zeros(2, 2)  # make sure the BLAS is loaded before sizing its pool
    # OpenBLAS on one thread whatever --threads is: ATen's and OpenBLAS's pools both sized to the cores
    # oversubscribe them (7 s instead of 3 s per epoch at 2 threads here); see peers/vae_torch.cpp.
    blas = pc.set_blas_threads(1)

    n, d, raw = pc.load_idx_images(os.path.join(args.data, "train-images-idx3-ubyte.gz"))
    x = torch.frombuffer(bytearray(raw), dtype=torch.uint8).view(n, d).float() / 255.0

    peer = f"pytorch-python-{args.threads}t"
    steps = pc.steps_per_epoch(n, args.batch)
    flops = n * pc.VAE_FLOPS_PER_SAMPLE
    runs = []
    for r in range(args.repetitions):
        seconds, cpu_seconds, loss = epoch(x, args.batch)
        row = {"peer": peer, "workload": "vae", "repetition": r, "seconds": seconds, "cpu_seconds": cpu_seconds,
               "us_per_step": seconds * 1e6 / steps, "gflops": flops * 1e-9 / seconds, "final_loss": loss,
               "steps": steps, "threads": args.threads, "openblas": blas is not None}
        runs.append(row)
        print(json.dumps(row), flush=True)
    s = pc.median([r["seconds"] for r in runs])
    print(json.dumps({"peer": peer, "workload": "vae", "aggregate": "median", "seconds": s,
                      "us_per_step": s * 1e6 / steps, "gflops": flops * 1e-9 / s,
                      "final_loss": runs[-1]["final_loss"], "steps": steps, "threads": args.threads, "openblas": blas is not None}), flush=True)


if __name__ == "__main__":
    main()
