#!/usr/bin/python3
"""PyTorch references for the training step of a TopK sparse autoencoder (issue #24, "Speed targets"),
run with Debian's /usr/bin/python3 (python3-torch 1.13, OpenBLAS). The model is latent's
SparseDictionary<D, M, TopK<k>>:

  parameters  W_enc [M, D] (row j: latent j's encoder direction, as PyTorch's Linear.weight), b_enc [M],
              W_dec [M, D] (row j: dictionary atom j, unit norm), b_dec [D]
  forward     xb = x - b_dec;  pre = xb W_enc^T + b_enc;  the k largest entries of each row of pre
              (torch.topk), z = relu of those, the others 0;  x_hat = z W_dec + b_dec
  loss        ((x_hat - x)^2).sum(dim=1).mean()   (SAELens's MSE: summed over D, mean over the batch;
              no auxiliary loss: no latent is dead at the start)
  step        gradients by autograd; each W_dec row's gradient loses its component along the row,
              g_j <- g_j - (g_j . w_j) w_j (OpenAI's rule); one Adam update of the four tensors; each
              W_dec row renormalised to unit norm.

Two decoders (--decoder): `dense` scatters z into a dense [B, M] tensor and multiplies by W_dec, as
SAELens does; `embedding_bag` is F.embedding_bag(indices, W_dec, per_sample_weights=values, mode="sum")
+ b_dec, as EleutherAI's sparsify decodes. The encoder is F.linear then torch.topk in both, and its
backward is autograd's (dense: the code's gradient is a dense [B, M] tensor with k nonzeros a row).

Adam is written by hand as latent's `Adam` (include/latent/optim/adam.hpp, kernels/update.hpp), not
torch.optim.Adam: latent adds epsilon to sqrt(v) and folds the bias correction into the step size,
  m <- b1 m + c1 g;  v <- b2 v + c2 g g;  p <- p - (lr_t m) / (sqrt(v) + eps),
  lr_t = float32(lr sqrt(w2) / w1),  w = c / (1 - b) * (1 - b^t) computed in double,
with b = float32(beta), c = float32(1) - b (the rounded betas the moments actually decay by, so the
correction undoes their bias exactly) and t = 1 at the first step; torch.optim.Adam adds its eps to
sqrt(v)/sqrt(1 - beta2^t) instead, i.e. latent's eps acts as torch's eps/sqrt(1 - beta2^t) (31.6 eps at
the first step), which changes the update wherever |g| is within a few orders of magnitude of 1e-7.
The float32 operations follow the kernel's order; the one rounding difference is that the kernel forms
b1 m + (c1 g) and b2 v + (c2 g g) with one FMA each, here a multiply then an add (at most an ulp of a
moment; --check measures it against a NumPy emulation of the kernel with exact FMAs).

Weights and data: by default from --seed (torch.manual_seed): W_dec rows standard normal, then each row
normalised; W_enc a copy of W_dec; b_enc = b_dec = 0; then the data, standard normal, as many rows as
the run's steps use (or --rows). --init FILE.npz (arrays W_enc, b_enc, W_dec, b_dec, float32, W_dec's
rows unit norm) and --data FILE.npy (N x D float32, memory-mapped) replace them, so that latent's C++
benchmark can give both programs the same start. Step i (warm-up steps first, i from 0) trains on rows
i*B .. (i+1)*B - 1 of the data, each row index taken modulo N (the data cycles).

Output: one JSON line per run: the configuration, "step_seconds" (each timed step, wall clock,
time.perf_counter; warm-up steps in "warmup_seconds"), "median_step_seconds", "samples_per_second"
(batch / median step), "cpu_seconds" of the timed steps, and "losses": the loss of every step (before
its update), warm-up steps included, so that losses[i] is step i's. --losses-out FILE.json also writes
that object to FILE.json. Threads: torch.set_num_threads(--threads) for ATen's pool, and OpenBLAS's
own pool set to --blas-threads (default: --threads, unlike the VAE scripts, whose GEMMs are small:
here the encoder product, 2 B D M = 103 GFLOP at the issue's size, is one large GEMM that only
OpenBLAS's pool can spread over the cores). Run with OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE unset, as
run.sh runs every PyTorch peer.

--check: a fast self-check (D=16, M=64, k=4, B=32, 5 steps): both decoders give the same losses (1e-5
relative), the decoder rows stay unit norm, the projected gradient is orthogonal to its row, the
--init/--data files reproduce the in-memory run, and the hand-written Adam equals latent's formula
(derived independently in double) and the kernel's float32 arithmetic on a tiny example. Exit status 1
on a failure.

Example (the issue's size):
  env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE /usr/bin/python3 benchmarks/sae_pytorch.py \\
      --dim 768 --latents 16384 --k 32 --batch 4096 --steps 5 --warmup 1 --threads 1 --decoder embedding_bag"""

import argparse
import json
import math
import os
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import peers_common as pc  # noqa: E402

import numpy as np  # noqa: E402
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402

PARAM_NAMES = ("W_enc", "b_enc", "W_dec", "b_dec")
DECODERS = ("dense", "embedding_bag")
UNIT_NORM_TOLERANCE = 1e-4  # --init: the largest accepted | |W_dec row| - 1 |


def f32(x):
    """x rounded to float32, as a Python float (exact in a float32 tensor op)."""
    return float(np.float32(x))


class LatentAdam:
    """latent::Adam (Keras's form, defaults beta1 0.9, beta2 0.999, epsilon 1e-7) on float32 tensors."""

    def __init__(self, params, lr, beta1=0.9, beta2=0.999, epsilon=1e-7):
        self.params = list(params)
        self.lr = float(lr)
        self.beta = (beta1, beta2)
        self.b1, self.b2 = f32(beta1), f32(beta2)
        self.c1 = float(np.float32(1) - np.float32(beta1))
        self.c2 = float(np.float32(1) - np.float32(beta2))
        self.eps = f32(epsilon)
        self.t = 0
        self.m = [torch.zeros_like(p) for p in self.params]
        self.v = [torch.zeros_like(p) for p in self.params]

    def moment_weight(self, beta):
        """Adam::moment_weight<float>: the summed weight c (1 - b^t)/(1 - b) of the gradients in a moment."""
        kept = f32(beta)
        added = float(np.float32(1) - np.float32(beta))
        if kept == 0:
            return added
        return added / (1 - kept) * -math.expm1(float(self.t) * math.log(kept))

    def step_rate(self):
        """Adam::set_step_rate<float>, rounded to float32 as the kernel receives it."""
        return f32(self.lr * math.sqrt(self.moment_weight(self.beta[1])) / self.moment_weight(self.beta[0]))

    @torch.no_grad()
    def step(self, grads):
        self.t += 1
        lr_t = self.step_rate()
        for p, g, m, v in zip(self.params, grads, self.m, self.v):
            m.mul_(self.b1).add_(g * self.c1)                # kernel: fma(b1, m, c1*g)
            v.mul_(self.b2).add_((g * self.c2).mul_(g))      # kernel: fma(b2, v, c2*g*g)
            p.sub_((m * lr_t).div_(v.sqrt().add_(self.eps)))  # kernel: p - lr*m / (sqrt(v) + eps)
        return lr_t


def initial_weights(dim, latents, seed):
    """W_dec rows standard normal then unit norm, W_enc = W_dec, b_enc = b_dec = 0 (torch.manual_seed(seed),
    drawn before the data)."""
    torch.manual_seed(seed)
    w_dec = torch.randn(latents, dim)
    w_dec /= w_dec.norm(dim=1, keepdim=True)
    return {"W_enc": w_dec.clone(), "b_enc": torch.zeros(latents), "W_dec": w_dec, "b_dec": torch.zeros(dim)}


def make_params(weights):
    return [weights[n].detach().clone().contiguous().requires_grad_(True) for n in PARAM_NAMES]


def forward_loss(params, x, k, decoder):
    w_enc, b_enc, w_dec, b_dec = params
    pre = F.linear(x - b_dec, w_enc, b_enc)
    values, indices = pre.topk(k, dim=1, sorted=False)
    z = F.relu(values)
    if decoder == "dense":
        x_hat = pre.new_zeros(pre.shape).scatter_(1, indices, z) @ w_dec + b_dec
    else:
        x_hat = F.embedding_bag(indices, w_dec, per_sample_weights=z, mode="sum") + b_dec
    return (x_hat - x).pow(2).sum(dim=1).mean()


@torch.no_grad()
def project_decoder_grad(w_dec):
    """g_j <- g_j - (g_j . w_j) w_j for every row j of W_dec."""
    g = w_dec.grad
    g.sub_((g * w_dec).sum(dim=1, keepdim=True) * w_dec)


@torch.no_grad()
def normalise_rows(w):
    w.div_(w.norm(dim=1, keepdim=True))


def train_step(params, opt, x, k, decoder):
    """One step; returns the loss before the update."""
    for p in params:
        p.grad = None
    loss = forward_loss(params, x, k, decoder)
    loss.backward()
    project_decoder_grad(params[2])
    opt.step([p.grad for p in params])
    normalise_rows(params[2])
    return loss.item()


def batch_rows(data, step, batch):
    """Rows step*batch .. (step+1)*batch - 1 of data (a NumPy array, maybe memory-mapped), modulo N."""
    n = data.shape[0]
    first = (step * batch) % n
    if first + batch <= n:
        rows = data[first:first + batch]
    else:
        rows = np.take(data, np.arange(first, first + batch) % n, axis=0)
    return torch.from_numpy(np.array(rows, dtype=np.float32, order="C", copy=True))


def load_init(path, dim, latents, fail):
    try:
        f = np.load(path)
    except (OSError, ValueError) as e:
        fail(f"--init {path}: cannot read it as .npz: {e}")
    if not isinstance(f, np.lib.npyio.NpzFile):
        fail(f"--init {path}: a single array, expected an .npz archive of W_enc, b_enc, W_dec, b_dec")
    with f:
        arrays = {n: f[n] for n in PARAM_NAMES if n in f.files}
        files = f.files
    missing = [n for n in PARAM_NAMES if n not in arrays]
    if missing:
        fail(f"--init {path}: missing array(s) {', '.join(missing)} (has {', '.join(files) or 'none'})")
    shapes = {"W_enc": (latents, dim), "b_enc": (latents,), "W_dec": (latents, dim), "b_dec": (dim,)}
    for n in PARAM_NAMES:
        a = arrays[n]
        if a.dtype != np.float32:
            fail(f"--init {path}: {n} is {a.dtype}, expected float32")
        if a.shape != shapes[n]:
            fail(f"--init {path}: {n} has shape {list(a.shape)}, expected {list(shapes[n])} "
                 f"(--dim {dim} --latents {latents})")
        if not np.all(np.isfinite(a)):
            fail(f"--init {path}: {n} has non-finite values")
    norms = np.linalg.norm(arrays["W_dec"].astype(np.float64), axis=1)
    worst = float(np.max(np.abs(norms - 1)))
    if worst > UNIT_NORM_TOLERANCE:
        fail(f"--init {path}: W_dec's rows must have unit norm (largest | |row| - 1 | = {worst:.3g}, "
             f"tolerance {UNIT_NORM_TOLERANCE:g})")
    return {n: torch.from_numpy(np.ascontiguousarray(arrays[n])) for n in PARAM_NAMES}


def load_data(path, dim, fail):
    try:
        data = np.load(path, mmap_mode="r")
    except (OSError, ValueError) as e:
        fail(f"--data {path}: cannot read it as .npy: {e}")
    if not isinstance(data, np.ndarray):
        data.close()
        fail(f"--data {path}: an .npz archive, expected one .npy array of N x {dim} rows")
    if data.ndim != 2 or data.shape[1] != dim or data.shape[0] < 1:
        fail(f"--data {path}: expected an N x {dim} array (--dim {dim}), found shape {list(np.shape(data))}")
    if data.dtype != np.float32:
        fail(f"--data {path}: {data.dtype}, expected float32")
    return data


def run(args, weights, data, blas):
    """args.warmup untimed then args.steps timed steps; returns the JSON row."""
    params = make_params(weights)
    opt = LatentAdam(params, args.lr)
    losses, warmup_seconds, step_seconds = [], [], []
    cpu = 0.0
    for s in range(args.warmup + args.steps):
        xb = batch_rows(data, s, args.batch)
        t0, c0 = time.perf_counter(), time.process_time()
        losses.append(train_step(params, opt, xb, args.k, args.decoder))
        seconds = time.perf_counter() - t0
        if s < args.warmup:
            warmup_seconds.append(seconds)
        else:
            step_seconds.append(seconds)
            cpu += time.process_time() - c0
    med = pc.median(step_seconds)
    return {"peer": f"pytorch-python-{args.threads}t", "workload": "sae-topk", "decoder": args.decoder,
            "dim": args.dim, "latents": args.latents, "k": args.k, "batch": args.batch, "steps": args.steps,
            "warmup_steps": args.warmup, "threads": args.threads, "blas_threads": args.blas_threads,
            "openblas": blas is not None, "torch": torch.__version__,
            "adam": {"lr": args.lr, "beta1": 0.9, "beta2": 0.999, "epsilon": 1e-7, "form": "latent (hand-written)"},
            "init": args.init or f"seed {args.seed}", "data": args.data or f"seed {args.seed}",
            "rows": int(data.shape[0]), "step_seconds": step_seconds, "warmup_seconds": warmup_seconds,
            "median_step_seconds": med, "samples_per_second": args.batch / med, "seconds": sum(step_seconds),
            "cpu_seconds": cpu, "encoder_gflop_per_step": 2.0 * args.batch * args.dim * args.latents * 1e-9,
            "losses": losses}


# ----------------------------------------------------------------------------------------------- --check

def adam_reference_double(p0, grads, lr, beta1=0.9, beta2=0.999, eps=1e-7):
    """adam.hpp's documented rule, in double, element by element: m <- b1 m + (1 - b1) g, v likewise,
    p <- p - lr sqrt(1 - b2^t)/(1 - b1^t) m/(sqrt(v) + eps), with b = float32(beta) (the moments decay by
    the rounded beta and the correction is that of the rounded beta)."""
    b1, b2 = f32(beta1), f32(beta2)
    p = [float(x) for x in p0]
    m = [0.0] * len(p)
    v = [0.0] * len(p)
    for t, g in enumerate(grads, start=1):
        rate = lr * math.sqrt(1 - b2 ** t) / (1 - b1 ** t)
        for i, gi in enumerate(g):
            gi = float(gi)
            m[i] = b1 * m[i] + (1 - b1) * gi
            v[i] = b2 * v[i] + (1 - b2) * gi * gi
            p[i] -= rate * m[i] / (math.sqrt(v[i]) + eps)
    return np.array(p), np.array(m), np.array(v)


def adam_kernel_float32(p0, grads, lr, beta1=0.9, beta2=0.999, eps=1e-7, fused=True):
    """kernels::adam_update<float> emulated in NumPy: float32 operations in the kernel's order, each FMA
    exact when fused (the product of two floats is exact in double; one rounding of the sum, then to
    float32: a double rounding that differs from a true FMA with probability about 2^-29), or a float32
    multiply then add when not (LatentAdam's order, which it must then equal bit for bit)."""
    ref = LatentAdam([torch.zeros(1)], lr, beta1, beta2, eps)
    b1, b2, c1, c2, e = (np.float32(x) for x in (ref.b1, ref.b2, ref.c1, ref.c2, ref.eps))
    p = np.array(p0, dtype=np.float32)
    m = np.zeros_like(p)
    v = np.zeros_like(p)
    for g in grads:
        g = np.asarray(g, dtype=np.float32)
        ref.t += 1
        lr_t = np.float32(ref.step_rate())
        if fused:
            m = (np.float64(b1) * m.astype(np.float64) + (c1 * g).astype(np.float64)).astype(np.float32)
            v = (np.float64(b2) * v.astype(np.float64) + (c2 * g * g).astype(np.float64)).astype(np.float32)
        else:
            m = b1 * m + c1 * g
            v = b2 * v + c2 * g * g
        p = p - (lr_t * m) / (np.sqrt(v) + e)
    return p, m, v


def ulps(a, b):
    """Distance in float32 units in the last place (same sign assumed near each other)."""
    ia = np.asarray(a, dtype=np.float32).view(np.int32).astype(np.int64)
    ib = np.asarray(b, dtype=np.float32).view(np.int32).astype(np.int64)
    ia = np.where(ia < 0, np.int64(-(2 ** 31)) - ia, ia)
    ib = np.where(ib < 0, np.int64(-(2 ** 31)) - ib, ib)
    return np.abs(ia - ib)


def check_adam(report):
    ok = True
    lr = 1e-3
    # Gradients from 0 and 1e-9 (below epsilon) to 1e3, both signs; three steps.
    g1 = np.array([0.0, 1e-9, -1e-8, 1e-7, -1e-6, 3e-5, -1e-3, 0.25, -1.0, 7.0, -1e3], dtype=np.float32)
    grads = [g1, np.float32(-0.5) * g1 + np.float32(1e-4), np.float32(2.0) * g1[::-1].copy()]
    p0 = np.linspace(-2e-3, 2e-3, g1.size).astype(np.float32)

    p = torch.from_numpy(p0.copy())
    opt = LatentAdam([p], lr)
    for g in grads:
        opt.step([torch.from_numpy(g.copy())])
    pt, mt, vt = p.numpy(), opt.m[0].numpy(), opt.v[0].numpy()

    # 1. Against the rule derived in double: the difference is float32 rounding of ~3 steps.
    pd, md, vd = adam_reference_double(p0, grads, lr)
    update = np.abs(pd - p0.astype(np.float64))
    p_err = float(np.max(np.abs(pt - pd) / (update + 1e-30)))
    m_err = float(np.max(np.abs(mt - md) / (np.abs(md) + 1e-30)))
    v_err = float(np.max(np.abs(vt - vd) / (np.abs(vd) + 1e-30)))
    report["adam_vs_double_formula"] = {"max_rel_err_update": p_err, "max_rel_err_m": m_err, "max_rel_err_v": v_err}
    ok &= p_err < 1e-5 and m_err < 1e-5 and v_err < 1e-5

    # 2. Against the kernel's float32 arithmetic: bit for bit with its FMAs split into a multiply and an
    # add (as LatentAdam does them); with exact FMAs the moments may differ by an ulp, and p by the
    # few ulps of p that those carry into three updates.
    for fused, name, limit in ((False, "adam_vs_kernel_float32_unfused", 0), (True, "adam_vs_kernel_float32", 4)):
        pk, mk, vk = adam_kernel_float32(p0, grads, lr, fused=fused)
        kernel = {"max_ulps_p": int(ulps(pt, pk).max()), "max_ulps_m": int(ulps(mt, mk).max()),
                  "max_ulps_v": int(ulps(vt, vk).max())}
        report[name] = kernel
        ok &= max(kernel.values()) <= limit and kernel["max_ulps_m"] <= 1 and kernel["max_ulps_v"] <= 1

    # 3. adam.hpp's worked example: a first step with |g| >> eps/sqrt(1 - beta2) moves p by lr*sign(g).
    big = np.array([0.25, -1.0, 7.0, -1e3], dtype=np.float32)
    q = torch.zeros(big.size)
    LatentAdam([q], lr).step([torch.from_numpy(big)])
    first = float(np.max(np.abs(q.numpy() + lr * np.sign(big)) / lr))
    report["adam_first_step_is_lr_sign_g"] = first
    ok &= first < 1e-4

    # 4. Why not torch.optim.Adam: on a first step with g = 1e-6 it moves 0.91 lr, latent 0.24 lr.
    r = torch.zeros(1, requires_grad=True)
    r.grad = torch.tensor([1e-6])
    torch.optim.Adam([r], lr=lr, betas=(0.9, 0.999), eps=1e-7).step()
    s = torch.zeros(1)
    LatentAdam([s], lr).step([torch.tensor([1e-6])])
    report["first_step_g_1e-6_over_lr"] = {"torch.optim.Adam": -r.item() / lr, "latent": -s.item() / lr}
    return ok


def check_model(report, threads):
    ok = True
    dim, latents, k, batch, steps, lr = 16, 64, 4, 32, 5, 1e-2
    weights = initial_weights(dim, latents, seed=3)
    data = torch.randn(3 * batch + batch // 2, dim).numpy()  # not a whole number of batches: step 3 wraps
    args = argparse.Namespace(dim=dim, latents=latents, k=k, batch=batch, steps=steps - 1, warmup=1, threads=threads,
                              blas_threads=threads, lr=lr, init=None, data=None, seed=3, decoder="dense")
    rows = {}
    for decoder in DECODERS:
        args.decoder = decoder
        rows[decoder] = run(args, weights, data, None)
    a, b = np.array(rows["dense"]["losses"]), np.array(rows["embedding_bag"]["losses"])
    rel = float(np.max(np.abs(a - b) / np.abs(a)))
    report["losses_dense"] = a.tolist()
    report["losses_embedding_bag"] = b.tolist()
    report["decoders_max_rel_diff"] = rel
    ok &= rel <= 1e-5 and bool(np.all(np.isfinite(a))) and a[-1] < a[0]

    # Unit-norm rows after every step, the projected gradient orthogonal to its row, both decoders
    # giving the same gradients at the first step.
    worst_norm, worst_dot, grads = 0.0, 0.0, {}
    for decoder in DECODERS:
        params = make_params(weights)
        opt = LatentAdam(params, lr)
        for s in range(steps):
            xb = batch_rows(data, s, batch)
            for p in params:
                p.grad = None
            forward_loss(params, xb, k, decoder).backward()
            if s == 0:
                grads[decoder] = [p.grad.clone() for p in params]
            project_decoder_grad(params[2])
            g, w = params[2].grad, params[2].detach()
            worst_dot = max(worst_dot, float(((g * w).sum(1).abs() / (g.norm(dim=1) + 1e-30)).max()))
            opt.step([p.grad for p in params])
            normalise_rows(params[2])
            worst_norm = max(worst_norm, float((params[2].detach().norm(dim=1) - 1).abs().max()))
    grad_rel = max(float((x - y).abs().max() / (x.abs().max() + 1e-30))
                   for x, y in zip(grads["dense"], grads["embedding_bag"]))
    report["decoder_rows_max_norm_error"] = worst_norm
    report["projected_grad_max_cos_with_row"] = worst_dot
    report["decoders_first_grads_max_rel_diff"] = grad_rel
    ok &= worst_norm <= 1e-5 and worst_dot <= 1e-5 and grad_rel <= 1e-5

    # The same run through --init / --data files.
    with tempfile.TemporaryDirectory() as tmp:
        init_path, data_path = os.path.join(tmp, "init.npz"), os.path.join(tmp, "data.npy")
        np.savez(init_path, **{n: weights[n].numpy() for n in PARAM_NAMES})
        np.save(data_path, data)

        def fail(msg):
            raise RuntimeError(msg)
        loaded = load_init(init_path, dim, latents, fail)
        mapped = load_data(data_path, dim, fail)
        args.decoder = "embedding_bag"
        same = run(args, loaded, mapped, None)["losses"] == rows["embedding_bag"]["losses"]
        del mapped
    report["files_reproduce_losses"] = same
    ok &= same
    return ok


def self_check(threads):
    report = {"check": "sae_pytorch", "threads": threads}
    ok = check_adam(report)
    ok = check_model(report, threads) and ok
    report["passed"] = bool(ok)
    print(json.dumps(report), flush=True)
    return 0 if ok else 1


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--dim", type=int, default=768, help="D, the inputs")
    ap.add_argument("--latents", type=int, default=16384, help="M, the dictionary's size")
    ap.add_argument("--k", type=int, default=32, help="active latents per row (TopK)")
    ap.add_argument("--batch", type=int, default=4096)
    ap.add_argument("--steps", type=int, default=10, help="timed steps")
    ap.add_argument("--warmup", type=int, default=2, help="untimed steps before them (their losses are reported)")
    ap.add_argument("--threads", type=int, default=1, help="ATen's threads (torch.set_num_threads)")
    ap.add_argument("--blas-threads", type=int, default=None, help="OpenBLAS's pool (default: --threads)")
    ap.add_argument("--decoder", choices=DECODERS, default="embedding_bag")
    ap.add_argument("--lr", type=float, default=2e-4, help="Adam's learning rate (beta1 0.9, beta2 0.999, eps 1e-7)")
    ap.add_argument("--seed", type=int, default=1, help="weights and data when no --init / --data")
    ap.add_argument("--rows", type=int, default=0,
                    help="rows of generated data (default: batch x (warmup + steps)); not with --data")
    ap.add_argument("--init", metavar="FILE.npz", help="initial W_enc, b_enc, W_dec, b_dec (float32)")
    ap.add_argument("--data", metavar="FILE.npy", help="N x D float32 training rows, taken in order, cycling")
    ap.add_argument("--losses-out", metavar="FILE.json", help="also write the run's JSON object there")
    ap.add_argument("--check", action="store_true", help="the fast self-check (ignores the sizes)")
    args = ap.parse_args()

    if args.threads < 1:
        ap.error(f"--threads must be at least 1, found {args.threads}")
    if args.blas_threads is None:
        args.blas_threads = args.threads
    if args.blas_threads < 1:
        ap.error(f"--blas-threads must be at least 1, found {args.blas_threads}")
    torch.set_num_threads(args.threads)
    torch.zeros(2, 2) @ torch.zeros(2, 2)  # make sure the BLAS is loaded before sizing its pool
    blas = pc.set_blas_threads(args.blas_threads)
    if args.check:
        sys.exit(self_check(args.threads))

    for name in ("dim", "latents", "k", "batch", "steps"):
        if getattr(args, name) < 1:
            ap.error(f"--{name} must be at least 1, found {getattr(args, name)}")
    if args.warmup < 0:
        ap.error(f"--warmup must be at least 0, found {args.warmup}")
    if args.k > args.latents:
        ap.error(f"--k {args.k} exceeds --latents {args.latents}")
    if not (args.lr > 0 and math.isfinite(args.lr)):
        ap.error(f"--lr must be a finite number > 0, found {args.lr}")
    if args.rows < 0:
        ap.error(f"--rows must be at least 0, found {args.rows}")
    if args.rows and args.data:
        ap.error("--rows sizes generated data; it cannot be used with --data")
    for flag, path in (("--init", args.init), ("--data", args.data)):
        if path is not None and not os.path.isfile(path):
            ap.error(f"{flag} {path}: no such file")
    if args.losses_out:
        out_dir = os.path.dirname(os.path.abspath(args.losses_out))
        if not os.path.isdir(out_dir):
            ap.error(f"--losses-out {args.losses_out}: no directory {out_dir}")

    weights = initial_weights(args.dim, args.latents, args.seed)  # also seeds the generated data
    if args.init:
        weights = load_init(args.init, args.dim, args.latents, ap.error)
    if args.data:
        data = load_data(args.data, args.dim, ap.error)
    else:
        data = torch.randn(args.rows or args.batch * (args.warmup + args.steps), args.dim).numpy()

    row = run(args, weights, data, blas)
    print(json.dumps(row), flush=True)
    if args.losses_out:
        with open(args.losses_out, "w") as f:
            json.dump(row, f)
            f.write("\n")


if __name__ == "__main__":
    main()
