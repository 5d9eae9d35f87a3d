#!/usr/bin/python3
"""The seed workload in PyTorch from Python (run with Debian's /usr/bin/python3): Dense 100-20 ReLU,
20-5 Sigmoid, 5-20 ReLU, 20-100 Sigmoid, MSE, Adam(1e-3, eps 1e-7), batch 32, last partial batch kept,
reshuffled every epoch; same data, initial weights and batch order as the C++ peers. Prints one JSON
line per repetition and one with the medians."""

import argparse
import json
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import peers_common as pc  # noqa: E402

import torch  # noqa: E402


def train(x, epochs, seed, orders):
    torch.manual_seed(0)
    sizes = pc.SEED_SIZES
    layers = [torch.nn.Linear(a, b) for a, b in zip(sizes, sizes[1:])]
    net = torch.nn.Sequential(layers[0], torch.nn.ReLU(), layers[1], torch.nn.Sigmoid(),
                              layers[2], torch.nn.ReLU(), layers[3], torch.nn.Sigmoid())
    rng = pc.SplitMix64(seed)
    with torch.no_grad():
        for lin in layers:
            w = pc.glorot_uniform(rng, lin.in_features, lin.out_features)
            lin.weight.copy_(torch.tensor(w, dtype=torch.float32).view(lin.out_features, lin.in_features))
            lin.bias.zero_()
    opt = torch.optim.Adam(net.parameters(), lr=1e-3, betas=(0.9, 0.999), eps=1e-7)
    n = x.shape[0]
    batch = pc.SEED_BATCH
    loss_fn = torch.nn.MSELoss()

    start_time = time.perf_counter()
    start_cpu = time.process_time()
    epoch_loss = 0.0
    for e in range(epochs):
        xp = x.index_select(0, orders[e])  # one gather per epoch, then contiguous slices
        last = e + 1 == epochs
        epoch_loss = 0.0
        for start in range(0, n, batch):
            xb = xp[start:start + batch]
            opt.zero_grad()
            loss = loss_fn(net(xb), xb)
            loss.backward()
            opt.step()
            if last:
                epoch_loss += loss.item() * xb.shape[0]
    seconds = time.perf_counter() - start_time
    return seconds, time.process_time() - start_cpu, epoch_loss / n


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--repetitions", type=int, default=5)
    ap.add_argument("--epochs", type=int, default=100)
    ap.add_argument("--seed", type=int, default=1, help="weight-init seed (the C++ peers use 1)")
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    torch.zeros(2, 2) @ torch.zeros(2, 2)  # make sure the BLAS is loaded before sizing its pool
    blas = pc.set_blas_threads(args.threads)

    n, d = pc.SEED_ROWS, pc.SEED_SIZES[0]
    x = torch.tensor(pc.make_seed_data(n, d, pc.SEED_DATA_SEED), dtype=torch.float32).view(n, d)
    # The epoch orders are drawn up front (pure-Python Fisher-Yates would otherwise add ~0.5 ms per
    # epoch to the timing; the C++ peers' in-loop shuffle costs microseconds).
    shuffler = pc.SplitMix64(args.seed ^ pc.SHUFFLE_SALT)
    order = list(range(n))
    orders = []
    for _ in range(args.epochs):
        pc.shuffle(shuffler, order)
        orders.append(torch.tensor(order, dtype=torch.int64))

    steps = args.epochs * pc.steps_per_epoch(n, pc.SEED_BATCH)
    flops = args.epochs * n * pc.SEED_FLOPS_PER_SAMPLE
    runs = []
    for r in range(args.repetitions):
        seconds, cpu_seconds, loss = train(x, args.epochs, args.seed, orders)
        row = {"peer": "pytorch-python", "workload": "seed", "repetition": r, "seconds": seconds, "cpu_seconds": cpu_seconds,
               "us_per_step": seconds * 1e6 / steps, "gflops": flops * 1e-9 / seconds, "final_loss": loss,
               "steps": steps, "threads": args.threads, "openblas": blas is not None}
        runs.append(row)
        print(json.dumps(row), flush=True)
    s = pc.median([r["seconds"] for r in runs])
    print(json.dumps({"peer": "pytorch-python", "workload": "seed", "aggregate": "median", "seconds": s,
                      "us_per_step": s * 1e6 / steps, "gflops": flops * 1e-9 / s,
                      "final_loss": runs[-1]["final_loss"], "steps": steps, "threads": args.threads, "openblas": blas is not None}), flush=True)


if __name__ == "__main__":
    main()
