#!/usr/bin/python3
"""The ResNet VAE of issue #23 (examples/resnet_vae_fashion_mnist.cpp) in PyTorch from Python (run with
Debian's /usr/bin/python3): BatchNorm after the strided convolutions, latent diffusion's pre-activation
residual block on each side, a 16-dim code, on Fashion-MNIST. benchmarks/peers/resnet_vae_torch.cpp is
its libtorch twin.

The model is two nn.Sequential, `encoder` and `decoder`, numbered as latent's leaf layers (a Seq's
layers in order, Input and parameterless layers included; a residual block is one layer holding its
`branch`, numbered from 0), so that the state_dict's names are latent's weight names:

  encoder.0  Unflatten(1, (1, 28, 28))                     Input<1, 28, 28>
  encoder.1  Conv2d(1, 32, 3, stride 2, padding 1)         Conv2D<32, 3, 2, Pad<1>>
  encoder.2  BatchNorm2d(32)                               BatchNorm
  encoder.3  ReLU                                          Relu
  encoder.4  Conv2d(32, 64, 3, stride 2, padding 1)        Conv2D<64, 3, 2, Pad<1>>
  encoder.5  BatchNorm2d(64)                               BatchNorm
  encoder.6  ReLU                                          Relu
  encoder.7  Residual: x + branch(x), branch =             ResBlock<64> = Residual<Seq<
               .branch.0 GroupNorm(8, 64)  .branch.1 SiLU    GroupNorm<8>, Silu, Conv2D<64, 3, 1, Same>,
               .branch.2 Conv2d(64, 64, 3, padding 1)        GroupNorm<8>, Silu, Conv2D<64, 3, 1, Same>>>
               .branch.3 GroupNorm(8, 64)  .branch.4 SiLU
               .branch.5 Conv2d(64, 64, 3, padding 1)
  encoder.8  Flatten                                       Flatten
  encoder.9  Linear(3136, 32): outputs [mu (16) | logvar (16)]   Gaussian<16>
  decoder.0  Linear(16, 3136)                              Dense<16, 3136>
  decoder.1  Unflatten(1, (64, 7, 7))                      Reshape<64, 7, 7>
  decoder.2  Residual (as encoder.7)                       ResBlock<64>
  decoder.3  ConvTranspose2d(64, 32, 3, s2, p1, output_padding 1)   ConvTranspose2D<32, 3, 2, Pad<1, 1>>
  decoder.4  BatchNorm2d(32)                               BatchNorm
  decoder.5  ReLU                                          Relu
  decoder.6  ConvTranspose2d(32, 1, 3, s2, p1, output_padding 1)    ConvTranspose2D<1, 3, 2, Pad<1, 1>> (logits)
                                                           (339 745 parameters, 259 values of state)

The one difference from latent's default weight names: latent splits the Gaussian head into
encoder.9.mu.{weight,bias} (rows 0-15 of encoder.9.weight) and encoder.9.log_var.{weight,bias} (rows
16-31); --latent-names writes it so. Weights are PyTorch's default init after torch.manual_seed(1),
modules created in the table's order (the libtorch twin draws the same). BatchNorm: momentum 0.1,
eps 1e-5; GroupNorm eps 1e-5.

Loss: BCE-with-logits summed over the 784 pixels + KL(q || N(0, I)) summed over the code, averaged over
the batch; z = mu + exp(logvar/2) eps; Adam(1e-3, (0.9, 0.999), 1e-8); batch 128, pixels/255,
reshuffled every epoch (torch.randperm; the last partial batch kept). Training steps run in train mode
(batch statistics; the running statistics move); the test -ELBO in eval mode (model.eval(): running
statistics), one eps draw per image, as latent's `elbo`.

Training (default): one JSON line per epoch {"epoch", "seconds" (training only), "cpu_seconds",
"train_loss" (mean loss per image over the epoch), "test_neg_elbo" (mean -ELBO per image over the test
images), "test_reconstruction", "test_kl", "test_seconds", "threads"}, then one {"summary": ...} line.
After training, --save-state-dict FILE writes the state_dict (running statistics and
num_batches_tracked included): FILE.npz as NumPy arrays (float32; num_batches_tracked int64, shape ()),
anything else with torch.save; --eval-outputs FILE.npz writes, for the first 64 test images in eval
mode, "x" [64, 784], "mu" [64, 16], "log_var" [64, 16] and "reconstruction" [64, 784] (sigmoid of the
decoder's logits at mu: the Predictor's reconstruct).

--bench-steps S: the timing row "resnetvae/pytorch-python-<T>t" for benchmarks/report.py, as
conv_vae_pytorch.py's: per repetition a fresh model, W warm-up steps on the first W batches (untimed),
then S timed steps on the first S x 128 training rows in order; one JSON line per repetition {"peer",
"workload": "resnetvae", "seconds", "us_per_step", "gflops", "final_loss" (mean loss of the timed
steps), ...} and one with the medians."""

import argparse
import json
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import peers_common as pc  # noqa: E402

import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402

nn = torch.nn
SIDE, CODE = 28, 16


class Residual(nn.Module):
    """y = x + branch(x): latent's Residual<Branch> without a projection."""

    def __init__(self, *branch):
        super().__init__()
        self.branch = nn.Sequential(*branch)

    def forward(self, x):
        return x + self.branch(x)


def res_block(c):
    """Latent diffusion's pre-activation block: GroupNorm(8) SiLU Conv3x3, twice, plus the skip."""
    return Residual(nn.GroupNorm(8, c, eps=1e-5), nn.SiLU(), nn.Conv2d(c, c, 3, padding=1),
                    nn.GroupNorm(8, c, eps=1e-5), nn.SiLU(), nn.Conv2d(c, c, 3, padding=1))


class ResNetVAE(nn.Module):
    def __init__(self):
        super().__init__()
        bn = dict(eps=1e-5, momentum=0.1)
        self.encoder = nn.Sequential(
            nn.Unflatten(1, (1, SIDE, SIDE)),
            nn.Conv2d(1, 32, 3, stride=2, padding=1), nn.BatchNorm2d(32, **bn), nn.ReLU(),
            nn.Conv2d(32, 64, 3, stride=2, padding=1), nn.BatchNorm2d(64, **bn), nn.ReLU(),
            res_block(64), nn.Flatten(), nn.Linear(64 * 7 * 7, 2 * CODE))
        self.decoder = nn.Sequential(
            nn.Linear(CODE, 64 * 7 * 7), nn.Unflatten(1, (64, 7, 7)), res_block(64),
            nn.ConvTranspose2d(64, 32, 3, stride=2, padding=1, output_padding=1), nn.BatchNorm2d(32, **bn), nn.ReLU(),
            nn.ConvTranspose2d(32, 1, 3, stride=2, padding=1, output_padding=1))

    def statistics(self, x):
        """x: [B, 784] in [0, 1]. Returns (mu, logvar), each [B, 16]."""
        h = self.encoder(x)
        return h[:, :CODE], h[:, CODE:]

    def decode(self, z):
        """Logits [B, 784] of p(x|z)."""
        return self.decoder(z).flatten(1)

    def forward(self, x):
        """x: [B, 784]. Returns (logits [B, 784], mu, logvar); z is drawn (in train and eval mode)."""
        mu, logvar = self.statistics(x)
        z = mu + torch.exp(0.5 * logvar) * torch.randn_like(mu)
        return self.decode(z), mu, logvar


def neg_elbo_terms(model, xb):
    """Sums over the batch of BCE(logits, x) over pixels and of KL(q || N(0, I)) over the code."""
    logits, mu, logvar = model(xb)
    bce = F.binary_cross_entropy_with_logits(logits, xb, reduction="sum")
    kld = -0.5 * torch.sum(1 + logvar - mu.pow(2) - logvar.exp())
    return bce, kld


def fresh_model():
    torch.manual_seed(1)
    model = ResNetVAE()
    count = sum(p.numel() for p in model.parameters())
    assert count == pc.RESNET_VAE_PARAMETERS, f"{count} parameters, expected {pc.RESNET_VAE_PARAMETERS}"
    state = sum(b.numel() for b in model.buffers())
    assert state == pc.RESNET_VAE_STATE, f"{state} values of state, expected {pc.RESNET_VAE_STATE}"
    return model, torch.optim.Adam(model.parameters(), lr=1e-3, betas=(0.9, 0.999), eps=1e-8)


def train_step(model, opt, xb):
    opt.zero_grad()
    bce, kld = neg_elbo_terms(model, xb)
    loss = (bce + kld) / xb.shape[0]
    loss.backward()
    opt.step()
    return loss.item()


def test_neg_elbo(model, x, batch=1000):
    """Mean -ELBO per image over x in eval mode, one eps draw per image; and its two terms."""
    model.eval()
    rec = kl = 0.0
    with torch.no_grad():
        for start in range(0, x.shape[0], batch):
            bce, kld = neg_elbo_terms(model, x[start:start + batch])
            rec += bce.item()
            kl += kld.item()
    model.train()
    n = x.shape[0]
    return (rec + kl) / n, rec / n, kl / n


def load(path, limit=0):
    n, d, raw = pc.load_idx_images(path)
    x = torch.frombuffer(bytearray(raw), dtype=torch.uint8).view(n, d).float() / 255.0
    return x[:limit] if 0 < limit < n else x


def state_dict_arrays(model, latent_names):
    """The state_dict as NumPy arrays; with latent_names, the Gaussian head split as latent names it."""
    out = {}
    for name, t in model.state_dict().items():
        a = t.detach().cpu().numpy()
        if latent_names and name == "encoder.9.weight":
            continue  # with the bias, below: latent's order is mu.weight, mu.bias, log_var.weight, log_var.bias
        if latent_names and name == "encoder.9.bias":
            weight = model.state_dict()["encoder.9.weight"].detach().cpu().numpy()
            out["encoder.9.mu.weight"] = weight[:CODE].copy()
            out["encoder.9.mu.bias"] = a[:CODE].copy()
            out["encoder.9.log_var.weight"] = weight[CODE:].copy()
            out["encoder.9.log_var.bias"] = a[CODE:].copy()
        else:
            out[name] = a
    return out


def save_state_dict(model, path, latent_names):
    if path.endswith(".npz"):
        import numpy as np
        np.savez(path, **state_dict_arrays(model, latent_names))
    else:
        torch.save(model.state_dict(), path)


def save_eval_outputs(model, x_test, path, rows=64):
    import numpy as np
    model.eval()
    with torch.no_grad():
        xb = x_test[:rows]
        mu, logvar = model.statistics(xb)
        rec = torch.sigmoid(model.decode(mu))
    model.train()
    np.savez(path, x=xb.numpy(), mu=mu.numpy(), log_var=logvar.numpy(), reconstruction=rec.numpy())


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
        test, rec, kl = test_neg_elbo(model, x_test)
        row = {"epoch": e, "seconds": seconds, "cpu_seconds": cpu_seconds, "train_loss": total / n,
               "test_neg_elbo": test, "test_reconstruction": rec, "test_kl": kl,
               "test_seconds": time.perf_counter() - t0, "threads": args.threads}
        epochs.append(row)
        print(json.dumps(row), flush=True)
    print(json.dumps({"summary": "resnetvae/pytorch-python training", "epochs": args.epochs, "threads": args.threads,
                      "batch": args.batch, "train_images": n, "test_images": x_test.shape[0],
                      "parameters": pc.RESNET_VAE_PARAMETERS,
                      "median_epoch_seconds": pc.median([r["seconds"] for r in epochs]),
                      "total_seconds": sum(r["seconds"] for r in epochs),
                      "test_neg_elbo": {r["epoch"]: r["test_neg_elbo"] for r in epochs},
                      "final_train_loss": epochs[-1]["train_loss"], "final_test_neg_elbo": epochs[-1]["test_neg_elbo"],
                      "gflop_per_epoch": n * pc.resnet_vae_flops_per_sample() * 1e-9}), flush=True)
    if args.save_state_dict:
        save_state_dict(model, args.save_state_dict, args.latent_names)
    if args.eval_outputs:
        save_eval_outputs(model, x_test, args.eval_outputs)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--epochs", type=int, default=10)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--batch", type=int, default=128)
    ap.add_argument("--train-size", type=int, default=0, help="use the first N training images (0: all)")
    ap.add_argument("--test-size", type=int, default=0, help="use the first N test images (0: all)")
    ap.add_argument("--data", default=os.environ.get("LATENT_FASHION_MNIST_DIR", pc.FASHION_MNIST_DIR),
                    help="directory with {train,t10k}-images-idx3-ubyte.gz")
    ap.add_argument("--save-state-dict", metavar="FILE", help="after training: the state_dict (.npz or torch.save)")
    ap.add_argument("--latent-names", action="store_true",
                    help="with a .npz state_dict: the Gaussian head as encoder.9.mu.* and encoder.9.log_var.*")
    ap.add_argument("--eval-outputs", metavar="FILE", help="after training: eval-mode outputs of 64 test images (.npz)")
    ap.add_argument("--bench-steps", type=int, default=0, metavar="S",
                    help="time S training steps per repetition instead of training (report.py rows)")
    ap.add_argument("--warmup", type=int, default=3, help="untimed steps before the timed ones (--bench-steps)")
    ap.add_argument("--repetitions", type=int, default=5, help="repetitions of --bench-steps")
    ap.add_argument("--blas-threads", type=int, default=1, help="OpenBLAS's pool (as conv_vae_pytorch.py)")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    torch.zeros(2, 2) @ torch.zeros(2, 2)  # make sure the BLAS is loaded before sizing its pool
    # OpenBLAS on one thread whatever --threads is, as the other peers (ATen 2 + OpenBLAS 1 is the fastest
    # pair at two threads on the conv VAE; see benchmarks/README.md).
    blas = pc.set_blas_threads(args.blas_threads)

    x = load(os.path.join(args.data, "train-images-idx3-ubyte.gz"), args.train_size)
    if args.bench_steps > 0:
        pc.bench_steps(args, x, blas, "resnetvae", pc.resnet_vae_flops_per_sample(), fresh_model, train_step)
    else:
        train(args, x, load(os.path.join(args.data, "t10k-images-idx3-ubyte.gz"), args.test_size))


if __name__ == "__main__":
    main()
