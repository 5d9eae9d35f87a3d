#!/usr/bin/python3
"""The convolutional VAE of issue #11 (Keras's conv VAE on Fashion-MNIST, 28x28 grey, 16-dim code) in
PyTorch from Python (run with Debian's /usr/bin/python3), the recipe of benchmarks/peers/conv_vae_torch.cpp:

  encoder  Conv2d(1,32,3,s2,p1) ReLU -> Conv2d(32,64,3,s2,p1) ReLU -> flatten 3136 -> Linear(3136,16) ReLU
           -> Linear(16,16) mu, Linear(16,16) logvar
  decoder  Linear(16,3136) ReLU -> view(64,7,7) -> ConvT(64,64,3,s2,p1,op1) ReLU -> ConvT(64,32,3,s2,p1,op1)
           ReLU -> ConvT(32,1,3,s1,p1) logits                                        (178 545 parameters)
  loss     BCE-with-logits summed over the 784 pixels + KL(q || N(0, I)) summed over the code, averaged over
           the batch; z = mu + exp(logvar/2) eps; Adam(lr 1e-3); batch 128, pixels/255, reshuffled every
           epoch (last partial batch kept); torch.manual_seed(1), PyTorch's default init.

Training (default): one JSON line per epoch {"epoch", "seconds" (training only), "train_loss" (mean loss
per image over the epoch), "test_neg_elbo" (mean -ELBO per image over the 10 000 test images, one eps
sample each), "test_seconds"}, then one {"summary": ...} line.

--bench-steps S: the timing row "convvae/pytorch-python" for benchmarks/report.py, like the libtorch rows
of bench_peers: per repetition a fresh model, W warm-up steps on the first W batches (untimed), then S
timed steps on the first S x 128 training rows in order; one JSON line per repetition
{"peer": "pytorch-python-<T>t", "workload": "convvae", "seconds", "us_per_step", "gflops", "final_loss"
(mean loss of the timed steps), ...} and one with the medians."""

import argparse
import json
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import peers_common as pc  # noqa: E402

import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402


class ConvVAE(torch.nn.Module):
    """Modules are created in the order of peers/conv_vae_torch.cpp, so that both draw the same
    initial weights from torch.manual_seed(1)."""

    def __init__(self):
        super().__init__()
        nn = torch.nn
        self.enc1 = nn.Conv2d(1, 32, 3, stride=2, padding=1)
        self.enc2 = nn.Conv2d(32, 64, 3, stride=2, padding=1)
        self.enc_fc = nn.Linear(64 * 7 * 7, pc.CONV_VAE_DENSE)
        self.mu = nn.Linear(pc.CONV_VAE_DENSE, pc.CONV_VAE_LATENT)
        self.logvar = nn.Linear(pc.CONV_VAE_DENSE, pc.CONV_VAE_LATENT)
        self.dec_fc = nn.Linear(pc.CONV_VAE_LATENT, 64 * 7 * 7)
        self.dec1 = nn.ConvTranspose2d(64, 64, 3, stride=2, padding=1, output_padding=1)
        self.dec2 = nn.ConvTranspose2d(64, 32, 3, stride=2, padding=1, output_padding=1)
        self.dec3 = nn.ConvTranspose2d(32, 1, 3, stride=1, padding=1)

    def forward(self, x):
        """x: [B, 784] in [0, 1]. Returns (logits [B, 784], mu, logvar); the sigmoid is in the loss."""
        side = pc.CONV_VAE_SIDE
        h = F.relu(self.enc1(x.view(-1, 1, side, side)))
        h = F.relu(self.enc2(h))
        h = F.relu(self.enc_fc(h.flatten(1)))
        mu, logvar = self.mu(h), self.logvar(h)
        z = mu + torch.exp(0.5 * logvar) * torch.randn_like(mu)
        d = F.relu(self.dec_fc(z)).view(-1, 64, 7, 7)
        d = F.relu(self.dec1(d))
        d = F.relu(self.dec2(d))
        return self.dec3(d).view(-1, side * side), mu, logvar


def neg_elbo_sum(model, xb):
    """Sum over the batch of BCE(logits, x) summed over pixels + KL(q || N(0, I)) summed over the code."""
    logits, mu, logvar = model(xb)
    bce = F.binary_cross_entropy_with_logits(logits, xb, reduction="sum")
    kld = -0.5 * torch.sum(1 + logvar - mu.pow(2) - logvar.exp())
    return bce + kld


def fresh_model():
    torch.manual_seed(1)
    model = ConvVAE()
    count = sum(p.numel() for p in model.parameters())
    assert count == pc.CONV_VAE_PARAMETERS, f"{count} parameters, expected {pc.CONV_VAE_PARAMETERS}"
    return model, torch.optim.Adam(model.parameters(), lr=1e-3)


def train_step(model, opt, xb):
    opt.zero_grad()
    loss = neg_elbo_sum(model, xb) / xb.shape[0]
    loss.backward()
    opt.step()
    return loss.item()


def test_neg_elbo(model, x, batch=1000):
    """Mean -ELBO per image over x, one eps sample per image."""
    total = 0.0
    with torch.no_grad():
        for start in range(0, x.shape[0], batch):
            total += neg_elbo_sum(model, x[start:start + batch]).item()
    return total / x.shape[0]


def load(path):
    n, d, raw = pc.load_idx_images(path)
    return torch.frombuffer(bytearray(raw), dtype=torch.uint8).view(n, d).float() / 255.0


def train(args, x, x_test):
    model, opt = fresh_model()
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
        t0 = time.perf_counter()
        test = test_neg_elbo(model, x_test)
        row = {"epoch": e, "seconds": seconds, "cpu_seconds": cpu_seconds, "train_loss": total / n,
               "test_neg_elbo": test, "test_seconds": time.perf_counter() - t0, "threads": args.threads}
        epochs.append(row)
        print(json.dumps(row), flush=True)
    print(json.dumps({"summary": "convvae/pytorch-python training", "epochs": args.epochs, "threads": args.threads,
                      "batch": args.batch, "parameters": pc.CONV_VAE_PARAMETERS,
                      "median_epoch_seconds": pc.median([r["seconds"] for r in epochs]),
                      "total_seconds": sum(r["seconds"] for r in epochs),
                      "test_neg_elbo": {r["epoch"]: r["test_neg_elbo"] for r in epochs},
                      "final_train_loss": epochs[-1]["train_loss"], "final_test_neg_elbo": epochs[-1]["test_neg_elbo"],
                      "gflop_per_epoch": n * pc.conv_vae_flops_per_sample() * 1e-9}), flush=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--epochs", type=int, default=10)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--batch", type=int, default=128)
    ap.add_argument("--data", default=os.environ.get("LATENT_FASHION_MNIST_DIR", pc.FASHION_MNIST_DIR),
                    help="directory with {train,t10k}-images-idx3-ubyte.gz")
    ap.add_argument("--bench-steps", type=int, default=0, metavar="S",
                    help="time S training steps per repetition instead of training (report.py rows)")
    ap.add_argument("--warmup", type=int, default=3, help="untimed steps before the timed ones (--bench-steps)")
    ap.add_argument("--repetitions", type=int, default=5, help="repetitions of --bench-steps")
    ap.add_argument("--blas-threads", type=int, default=1, help="OpenBLAS's pool (see below)")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    torch.zeros(2, 2) @ torch.zeros(2, 2)  # make sure the BLAS is loaded before sizing its pool
    # OpenBLAS on one thread whatever --threads is: the configuration of vae_pytorch.py and the libtorch
    # peers, and the fastest here at two threads (10 steps: ATen 2 + BLAS 1 149 ms/step, 2 + 2 291 ms,
    # 1 + 2 223 ms). Debian's torch 1.13 runs the two Conv2d in oneDNN (ATen's OpenMP threads) but the
    # ConvTranspose2d in its native slow_conv_transpose2d (a GEMM per image + col2im, through BLAS),
    # about 90 % of the step (136 of 152 ms, layer by layer); the Linear layers also go through BLAS.
    blas = pc.set_blas_threads(args.blas_threads)

    x = load(os.path.join(args.data, "train-images-idx3-ubyte.gz"))
    if args.bench_steps > 0:
        pc.bench_steps(args, x, blas, "convvae", pc.conv_vae_flops_per_sample(), fresh_model, train_step)
    else:
        train(args, x, load(os.path.join(args.data, "t10k-images-idx3-ubyte.gz")))


if __name__ == "__main__":
    main()
