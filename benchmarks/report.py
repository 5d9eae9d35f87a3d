#!/usr/bin/python3
"""Turns benchmark outputs into one Markdown table of medians, ratios and fractions of peak.

Inputs (any number, any order):
  * Google Benchmark JSON (`--benchmark_out_format=json`) from bench_peers / bench_latent; benchmark
    names are "<workload>/<peer>" (decorations such as /iterations:1, /repeats:5, /real_time and
    numeric arguments are dropped); median aggregates are used, or the median of the plain runs.
    Counters read: us_per_step, GFLOPs, final_loss, threads.
    Normalisation rows ("norm-*", bench_latent_resnet.cpp) also read bytes_per_second, min_bytes,
    forward_us, backward_us, forward_bytes and backward_bytes, and get a table of their own.
  * JSON lines from seed_pytorch.py / vae_pytorch.py / conv_vae_pytorch.py / resnet_vae_pytorch.py --bench-steps:
    {"peer", "workload", "seconds", "steps", ...}.
  * JSON lines from sae_pytorch.py (workload "sae-topk", one line per run): rows "sae/pytorch-<decoder>-<N>t"
    (ATen N threads, OpenBLAS N) or "...-<N>t-blas<M>" (OpenBLAS M); their time is the median of the timed
    steps (all runs pooled) times the steps of a run, their FLOPs those of the sae/latent rows
    (SparseDictionary::flops_per_row = 2·D·M + 8·k·D a sample), and their per-step losses are compared
    with the sae/latent rows' loss_stepN counters when both started from the same files.

Reference row per workload: "latent" (or the first "latent*" peer) when present, else "handwritten",
else "libtorch-1t". Ratio = peer time / reference time, so > 1 means the reference is faster.
Peaks come from the "peak/fma" (AVX2, latent's ISA) and "peak/fma-avx512" rows (best repetition when
the individual runs are in the file, else the median); fractions of peak are per used core
(peak x threads)."""

import argparse
import json
import re
import statistics
import sys

UNIT_SECONDS = {"ns": 1e-9, "us": 1e-6, "ms": 1e-3, "s": 1.0}
# Counters kept beside the time: the normalisation rows' bytes (bench_latent_resnet.cpp).
EXTRA_COUNTERS = ("bytes_per_second", "min_bytes", "forward_us", "backward_us", "forward_bytes", "backward_bytes")
DECORATION = re.compile(r"^(\d+|real_time|manual_time|process_time|(iterations|repeats|threads|min_time)(:.*)?)$")


def clean_name(name):
    parts = [p for p in name.split("/") if not DECORATION.match(p)]
    return parts[0], "/".join(parts[1:]) or "default"


def threads_of(peer, counters):
    if "threads" in counters:
        return int(counters["threads"])
    m = re.search(r"-(\d+)t$", peer)
    return int(m.group(1)) if m else 1


def read_google_benchmark(doc, rows):
    by_name = {}
    for b in doc.get("benchmarks", []):
        if b.get("error_occurred"):
            continue
        name = b.get("run_name", b["name"])
        entry = by_name.setdefault(name, {"median": None, "runs": []})
        if b.get("run_type") == "aggregate":
            if b.get("aggregate_name") == "median":
                entry["median"] = b
        else:
            entry["runs"].append(b)
    for name, entry in by_name.items():
        workload, peer = clean_name(name)
        if workload == "peak" and entry["runs"]:
            # A peak is a capability: the best repetition, not the median, of a noisy machine.
            best = max(entry["runs"], key=lambda r: r.get("GFLOPs", 0.0))
            rows.append({"workload": workload, "peer": peer, "reps": len(entry["runs"]),
                         "seconds": best["real_time"] * UNIT_SECONDS[best.get("time_unit", "ns")], "cpu": None,
                         "us_per_step": None, "gflops": best.get("GFLOPs"), "final_loss": None, "threads": 1})
            continue
        if entry["median"] is not None:
            b = entry["median"]
            seconds = b["real_time"] * UNIT_SECONDS[b.get("time_unit", "ns")]
            cpu = b["cpu_time"] * UNIT_SECONDS[b.get("time_unit", "ns")]
            counters = b
            reps = b.get("repetitions", "?")
        elif entry["runs"]:
            runs = entry["runs"]
            seconds = statistics.median(r["real_time"] * UNIT_SECONDS[r.get("time_unit", "ns")] for r in runs)
            cpu = statistics.median(r["cpu_time"] * UNIT_SECONDS[r.get("time_unit", "ns")] for r in runs)
            counters = {k: statistics.median(r[k] for r in runs)
                        for k in ("us_per_step", "GFLOPs", "final_loss", "threads", *EXTRA_COUNTERS,
                                  *(k for k in runs[0] if k.startswith("loss_step"))) if k in runs[0]}
            reps = len(runs)
        else:
            continue
        rows.append({"workload": workload, "peer": peer, "seconds": seconds, "cpu": cpu, "reps": reps,
                     "us_per_step": counters.get("us_per_step"), "gflops": counters.get("GFLOPs"),
                     "final_loss": counters.get("final_loss"), "threads": threads_of(peer, counters),
                     "extra": {k: counters[k] for k in EXTRA_COUNTERS if k in counters},
                     "losses": step_losses(counters)})


def step_losses(counters):
    """The loss of each step, from the counters loss_step0, loss_step1, ... (the sae/latent rows), or None."""
    losses = []
    while f"loss_step{len(losses)}" in counters:
        losses.append(counters[f"loss_step{len(losses)}"])
    return losses or None


def sae_flops_per_step(r):
    """SparseDictionary::flops_per_row times the batch: 2·D·M (the encoder product) + 8·k·D (decoder,
    decoder's weight gradient, code's gradient, encoder's weight gradient over the k active latents)."""
    return (2.0 * r["dim"] * r["latents"] + 8.0 * r["k"] * r["dim"]) * r["batch"]


def read_sae_runs(runs, rows):
    """sae_pytorch.py's runs of one configuration (decoder, ATen threads, OpenBLAS threads) → one row."""
    r0 = runs[0]
    peer = f"pytorch-{r0['decoder']}-{r0['threads']}t"
    if r0["blas_threads"] != r0["threads"]:
        peer += f"-blas{r0['blas_threads']}"
    step = statistics.median(t for r in runs for t in r["step_seconds"])
    steps = r0["steps"]
    cpu = statistics.median(r["cpu_seconds"] for r in runs)
    # The losses of a run started from files (latent's weights and data), for the comparison.
    from_files = all(not str(r["init"]).startswith("seed") and not str(r["data"]).startswith("seed") for r in runs)
    rows.append({"workload": "sae", "peer": peer, "seconds": step * steps, "cpu": cpu, "reps": len(runs),
                 "us_per_step": step * 1e6, "gflops": sae_flops_per_step(r0) * 1e-9 / step,
                 "final_loss": statistics.fmean(r0["losses"][r0["warmup_steps"]:]), "threads": r0["threads"],
                 "losses": r0["losses"] if from_files else None, "batch": r0["batch"],
                 "blas_threads": r0["blas_threads"], "decoder": r0["decoder"]})


def read_json_lines(lines, rows):
    groups = {}
    for line in lines:
        line = line.strip()
        if not line.startswith("{"):
            continue
        r = json.loads(line)
        if "aggregate" in r or "workload" not in r:
            continue
        if r["workload"] == "sae-topk":
            groups.setdefault(("sae-topk", r["decoder"], r["threads"], r["blas_threads"]), []).append(r)
            continue
        groups.setdefault((r["workload"], r["peer"]), []).append(r)
    for key, runs in groups.items():
        if key[0] == "sae-topk":
            read_sae_runs(runs, rows)
            continue
        workload, peer = key
        seconds = statistics.median(r["seconds"] for r in runs)
        steps = runs[0].get("steps")
        gflops = statistics.median(r["gflops"] for r in runs) if "gflops" in runs[0] else None
        cpu = statistics.median(r["cpu_seconds"] for r in runs) if "cpu_seconds" in runs[0] else None
        rows.append({"workload": workload, "peer": peer, "seconds": seconds, "cpu": cpu, "reps": len(runs),
                     "us_per_step": seconds * 1e6 / steps if steps else None, "gflops": gflops,
                     "final_loss": runs[-1].get("final_loss"), "threads": threads_of(peer, runs[0])})


def reference(rows):
    peers = {r["peer"]: r for r in rows}
    for want in ("latent", "latent-1t"):
        if want in peers:
            return peers[want]
    for r in rows:
        if r["peer"].startswith("latent"):
            return r
    for want in ("handwritten", "libtorch-1t"):
        if want in peers:
            return peers[want]
    return min(rows, key=lambda r: r["seconds"])


def fmt_time(s):
    if s < 1e-3:
        return f"{s * 1e6:.3g} µs"
    return f"{s * 1e3:.1f} ms" if s < 10 else f"{s:.2f} s"


def fmt(x, spec):
    return "–" if x is None else format(x, spec)


def norm_table(rows):
    """The normalisation layers (issue #23): forward + backward in train mode at batch 128, the bytes each
    pass must move at least over its median time, as a fraction of a same-size memcpy's bandwidth in the
    same binary ("memcpy-<build>" beside "<build>")."""
    by_name = {(r["workload"], r["peer"]): r for r in rows}
    workloads = sorted({r["workload"] for r in rows if r["workload"].startswith("norm-")})
    out = []
    for build in ("latent", "latent-avx2"):
        lines = []
        for w in workloads:
            layer, copy = by_name.get((w, build)), by_name.get((w, "memcpy-" + build))
            if not layer or not copy:
                continue
            ex, cx = layer.get("extra", {}), copy.get("extra", {})
            if "min_bytes" not in ex or "min_bytes" not in cx:
                continue
            gbs = ex["min_bytes"] / layer["seconds"] * 1e-9
            copy_gbs = cx["min_bytes"] / copy["seconds"] * 1e-9

            def part(us, nbytes):
                if not us or not nbytes:
                    return "–", "–"
                bw = nbytes / (us * 1e-6) * 1e-9
                return f"{us:.1f}", f"{100 * bw / copy_gbs:.0f} %"

            fwd_us, fwd_pct = part(ex.get("forward_us"), ex.get("forward_bytes"))
            bwd_us, bwd_pct = part(ex.get("backward_us"), ex.get("backward_bytes"))
            # The same fraction from the CPU times (the thread's): steadier when the host is shared.
            by_cpu = "–"
            if layer.get("cpu") and copy.get("cpu"):
                by_cpu = f"{100 * (ex['min_bytes'] / layer['cpu']) / (cx['min_bytes'] / copy['cpu']):.0f} %"
            name = w[len("norm-"):].rsplit("-b", 1)[0]
            lines.append(f"| {name} | {fmt_time(layer['seconds'])} | {ex['min_bytes'] / 1e6:.2f} | {gbs:.1f} "
                         f"| {copy_gbs:.1f} | **{100 * gbs / copy_gbs:.0f} %** | {by_cpu} | {fwd_us} | {fwd_pct} "
                         f"| {bwd_us} | {bwd_pct} |")
        if lines:
            out.append(f"Normalisation layers ({build}), forward + backward in train mode at batch 128: the bytes "
                       "each pass must move at least (forward: read x, write y; backward: read dy and x, write dx) "
                       "over its median time, against a memcpy of one tensor of the same size in the same binary "
                       "(issue #23's target: ≥ 50 % of the copy's bandwidth). Forward and backward are timed "
                       "apart inside the same iterations (their µs are means, not medians).")
            out.append("")
            out.append("| layer | fwd+bwd | MB moved | GB/s | memcpy GB/s | % of copy | % of copy, CPU times "
                       "| forward µs | forward % | backward µs | backward % |")
            out.append("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
            out.extend(lines)
            out.append("")
    return out


def sae_summary(rows, avx2, avx512):
    """Issue #24's figures: the SAE step per thread count against the faster PyTorch reference (targets
    4× at 1 thread, 5× at 2), the encoder product's fraction of the FMA peak (target ≥ 70 %), the rest of
    the step, and the agreement of the first steps' losses."""
    by_name = {(r["workload"], r["peer"]): r for r in rows}
    torch_rows = [r for r in rows if r["workload"] == "sae" and r["peer"].startswith("pytorch-")]
    out = []
    for build in ("latent", "latent-avx2"):
        mine = {t: by_name.get(("sae", f"{build}-{t}t")) for t in (1, 2)}
        if not any(mine.values()):
            continue
        lines = []
        for t, target in ((1, 4.0), (2, 5.0)):
            me = mine[t]
            if not me:
                continue
            batch = 4096
            peers = sorted((r for r in torch_rows if r["threads"] == t), key=lambda r: r["seconds"])
            fast = peers[0] if peers else None
            others = ", ".join(f"{r['peer']} {r['seconds'] / me['seconds']:.2f}×" for r in peers)
            step = me["seconds"] / 5 if me["us_per_step"] is None else me["us_per_step"] * 1e-6
            # CPU time over wall time: about 2 when two threads had both cores, about 1 when the host's
            # other tenant held one of them (then the 2-thread figures are not two cores' figures).
            busy = lambda r: f"{r['cpu'] / r['seconds']:.2f}" if r and r.get("cpu") else "–"
            if fast:
                ratio = fast["seconds"] / me["seconds"]
                met = "met" if ratio >= target else "not met"
                lines.append(f"| {t} | {step * 1e3:.0f} ms | {batch / step:.0f} | {busy(me)} | {fast['peer']} | "
                             f"{fast['us_per_step'] * 1e-3:.0f} ms | {batch / (fast['us_per_step'] * 1e-6):.0f} | "
                             f"{busy(fast)} | **{ratio:.2f}×** | {target:.0f}× ({met}) | {others} |")
            else:
                lines.append(f"| {t} | {step * 1e3:.0f} ms | {batch / step:.0f} | {busy(me)} | – | – | – | – | – "
                             f"| {target:.0f}× | – |")
        if lines:
            out.append(f"Sparse dictionary 768 → 16 384, TopK 32, batch 4 096 ({build}), a training step: median "
                       "step times, samples per second, and PyTorch / latent against the faster PyTorch "
                       "reference at the same thread count (issue #24's targets: ≥ 4× at 1 thread, ≥ 5× at 2). "
                       "CPU/wall: the process's CPU time over wall time, near 2 when two threads had both cores.")
            out.append("")
            out.append("| threads | latent step | latent samples/s | CPU/wall | faster PyTorch | its step "
                       "| its samples/s | CPU/wall | PyTorch / latent | target | every PyTorch row / latent |")
            out.append("|---:|---:|---:|---:|---|---:|---:|---:|---:|---|---|")
            out.extend(lines)
            out.append("")
        enc = by_name.get(("sae-encoder", build))
        peak = avx2 if build == "latent-avx2" else avx512
        if enc and enc["gflops"]:
            pct = 100 * enc["gflops"] / peak if peak else None
            line = (f"Encoder product ({build}, gemm<16384> over 1 024 rows × 768, one thread): "
                    f"{enc['seconds'] * 1e3:.1f} ms, {enc['gflops']:.1f} GFLOP/s")
            if pct is not None:
                line += (f", **{pct:.1f} %** of the {'AVX2' if build == 'latent-avx2' else 'AVX-512'} FMA peak "
                         f"({peak:.1f} GFLOP/s; target ≥ 70 %: {'met' if pct >= 70 else 'not met'})")
            one = mine[1]
            if one:
                step = one["us_per_step"] * 1e-6
                encoder = enc["seconds"] * 4096 / 1024
                line += (f". At one thread a step is {step * 1e3:.0f} ms: the encoder product {encoder * 1e3:.0f} ms "
                         f"({100 * encoder / step:.0f} %), the rest {(step - encoder) * 1e3:.0f} ms "
                         f"({100 * (step - encoder) / step:.0f} %: x − b_dec, the top-k selections, the sparse "
                         "decoder and gradients, the atoms' projection and renormalisation, Adam)")
                topk = by_name.get(("sae-topk", build))
                if topk:
                    line += f", of which the top-k selections {topk['seconds'] * 4096 / 1024 * 1e3:.0f} ms"
            out.append(line + ".")
            out.append("")
    # The losses of the first steps: every PyTorch run started from latent's files against latent's rows.
    refs = sorted((r for r in rows if r["workload"] == "sae" and r["peer"].startswith("latent") and r.get("losses")),
                  key=lambda r: (r["peer"] != "latent-1t", r["peer"]))
    peers = [r for r in torch_rows if r.get("losses")]
    if refs and peers:
        ref = refs[0]
        steps = min(5, len(ref["losses"]), *(len(r["losses"]) for r in peers))
        out.append(f"Losses of the first {steps} steps (the same initial weights and data, before each step's "
                   f"update), against {ref['peer']}: largest relative difference per row (agreement to rounding: "
                   "≤ 1e-4).")
        out.append("")
        out.append("| step | " + " | ".join(r["peer"] for r in refs + peers) + " |")
        out.append("|---:|" + "---:|" * len(refs + peers))
        for i in range(steps):
            out.append(f"| {i} | " + " | ".join(f"{r['losses'][i]:.8g}" for r in refs + peers) + " |")
        worst = []
        for r in refs[1:] + peers:
            d = max(abs(r["losses"][i] - ref["losses"][i]) / abs(ref["losses"][i]) for i in range(steps))
            worst.append(d)
        out.append("| max rel. diff | – | " + " | ".join(f"{d:.1e}" for d in worst) + " |")
        out.append("")
        out.append(f"Loss agreement: {'yes' if max(worst) <= 1e-4 else 'NO'} (largest relative difference "
                   f"{max(worst):.1e}).")
        out.append("")
    elif refs or peers:
        out.append("Losses not compared: the PyTorch SAE runs did not start from the sae/latent rows' files "
                   "(sae_init.npz, sae_data.npy), or no sae/latent row ran.")
        out.append("")
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("files", nargs="+")
    args = ap.parse_args()

    rows = []
    for path in args.files:
        with open(path) as f:
            text = f.read()
        try:
            doc = json.loads(text)
        except json.JSONDecodeError:
            doc = None
        if isinstance(doc, dict) and "benchmarks" in doc:
            read_google_benchmark(doc, rows)
        else:
            read_json_lines(text.splitlines(), rows)

    peaks = {r["peer"]: r["gflops"] for r in rows if r["workload"] == "peak" and r["gflops"]}
    avx2 = peaks.get("fma")
    avx512 = peaks.get("fma-avx512")
    out = []
    if avx2 or avx512:
        out.append("Single-core fp32 FMA peak (best of the repetitions): "
                   + ", ".join(f"{k}: {v:.1f} GFLOP/s" for k, v in (("AVX2 (-mavx2 -mfma: latent-avx2)", avx2),
                                                                   ("AVX-512 (latent, OpenBLAS)", avx512)) if v))
        out.append("")
    out.append("| workload | peer | median time | CPU time | µs/step | GFLOP/s | % AVX2 peak | % AVX-512 peak "
               "| ratio vs reference | final loss | reps |")
    out.append("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    workloads = []
    for r in rows:
        # The normalisation rows (bytes, not FLOPs) have a table of their own, below.
        if r["workload"] != "peak" and not r["workload"].startswith("norm-") and r["workload"] not in workloads:
            workloads.append(r["workload"])
    # A fixed order (the binaries interleave their repetitions, so the files' order varies): the seed
    # workload, the Dense shapes of the VAE then of the seed, inference, the VAE epoch, the conv VAE's
    # steps; others after.
    canonical = ["seed", "dense-784x400-b128", "dense-400x40-b128", "dense-20x400-b128", "dense-400x784-b128",
                 "dense-100x20-b32", "dense-20x5-b32", "dense-5x20-b32", "dense-20x100-b32",
                 *[f"infer-{net}-b{b}" for net in ("seed-encoder", "seed-autoencoder", "vae-encoder")
                   for b in (1, 8, 256)],
                 "vae", "convvae", "conv-1x28x28-conv32-b128", "conv-32x14x14-conv64-b128",
                 "conv-64x7x7-convT64-b128", "conv-64x14x14-convT32-b128", "conv-32x28x28-convT1-b128",
                 "resnetvae", *[f"infer-resnetvae-encoder-b{b}" for b in (1, 8, 256)],
                 "sae", "sae-encoder", "sae-topk"]
    workloads.sort(key=lambda w: (canonical.index(w) if w in canonical else len(canonical), w))
    for w in workloads:
        group = sorted((r for r in rows if r["workload"] == w), key=lambda r: r["seconds"])
        ref = reference(group)
        for r in group:
            pct2 = 100 * r["gflops"] / (avx2 * r["threads"]) if (r["gflops"] and avx2) else None
            pct5 = 100 * r["gflops"] / (avx512 * r["threads"]) if (r["gflops"] and avx512) else None
            ratio = r["seconds"] / ref["seconds"]
            ratio_s = f"{ratio:.2f}× (ref)" if r is ref else f"{ratio:.2f}×"
            out.append(f"| {w} | {r['peer']} | {fmt_time(r['seconds'])} | {fmt_time(r['cpu']) if r['cpu'] else '–'} | {fmt(r['us_per_step'], '.1f')} | "
                       f"{fmt(r['gflops'], '.2f')} | {fmt(pct2, '.1f')} | {fmt(pct5, '.1f')} | {ratio_s} | "
                       f"{fmt(r['final_loss'], '.6g')} | {r['reps']} |")
    out.append("")
    # The two-core figure of issue #4: one thread's median epoch over two threads', per build, beside
    # the ceiling of two independent halves trained at once.
    by_name = {(r["workload"], r["peer"]): r for r in rows}
    for build in ("latent", "latent-avx2"):
        one, two = by_name.get(("convvae", build + "-1t")), by_name.get(("convvae", build + "-2t"))
        if one and two:
            out.append(f"Two-core speed-up of the conv VAE's steps ({build}): {one['seconds'] / two['seconds']:.2f}×.")
            out.append("")
        one, two = by_name.get(("resnetvae", build + "-1t")), by_name.get(("resnetvae", build + "-2t"))
        if one and two:
            line = (f"ResNet VAE's steps ({build}): two-core speed-up {one['seconds'] / two['seconds']:.2f}× "
                    "(issue #23's target: ≥ 1.7×)")
            torch1 = by_name.get(("resnetvae", "libtorch-1t"))
            torch2 = by_name.get(("resnetvae", "libtorch-2t"))
            if torch1:
                line += f"; libtorch / latent at 1 thread {torch1['seconds'] / one['seconds']:.2f}× (target: ≥ 2×)"
            if torch2:
                line += f", at 2 threads {torch2['seconds'] / two['seconds']:.2f}×"
            out.append(line + ".")
            out.append("")
        one, two = by_name.get(("vae", build + "-1t")), by_name.get(("vae", build + "-2t"))
        if one and two:
            line = f"Two-core speed-up of the VAE epoch ({build}): {one['seconds'] / two['seconds']:.2f}×"
            halves = by_name.get(("vae", build + "-2x1t-independent-halves"))
            if halves:
                line += f" (ceiling, two independent halves at once: {one['seconds'] / halves['seconds']:.2f}×)"
            out.append(line + ".")
            out.append("")
    # Inference per sample (issue #12): the Predictor beside the model's own call and the hand-written
    # pre-packed loop, per build, at each batch.
    infer = re.compile(r"^infer-(.+)-b(\d+)$")
    nets = []
    for r in rows:
        m = infer.match(r["workload"])
        if m and m.group(1) not in nets:
            nets.append(m.group(1))
    for build in ("latent", "latent-avx2"):
        lines = []
        for net in nets:
            for b in (1, 8, 256):
                w = f"infer-{net}-b{b}"
                fast = by_name.get((w, build))
                call = by_name.get((w, build + "-model-call"))
                hand = by_name.get((w, "handwritten-prepacked-" + build))
                if not fast:
                    continue
                per = lambda r: "–" if r is None else f"{r['seconds'] * 1e6 / b:.3g}"
                ratio = f"{hand['seconds'] / fast['seconds']:.2f}×" if hand else "–"
                speedup = f"{call['seconds'] / fast['seconds']:.2f}×" if call else "–"
                lines.append(f"| {net} | {b} | {per(fast)} | {per(call)} | {per(hand)} | {ratio} | {speedup} |")
        if lines:
            out.append(f"Inference, µs per sample ({build}): the `Predictor`, the model's own call, and a "
                       "hand-written pre-packed loop (benchmarks/hand_inference.hpp), same weights, same binary.")
            out.append("")
            out.append("| net | batch | Predictor | model call | hand-written pre-packed | hand / Predictor "
                       "| model call / Predictor |")
            out.append("|---|---:|---:|---:|---:|---:|---:|")
            out.extend(lines)
            out.append("")
    out.extend(norm_table(rows))
    out.extend(sae_summary(rows, avx2, avx512))
    out.append("Ratio = peer median time / reference median time (reference: latent when present, else the "
               "hand-written loop, else libtorch at 1 thread); > 1 means the reference is faster. "
               "% peak is per used core (peak × threads). FLOPs count the matrix products only. "
               "CPU time: the process's, all threads (wall time is what the ratios use).")
    print("\n".join(out))


if __name__ == "__main__":
    sys.exit(main())
