// latent's rows for the sparse dictionary of issue #24 ("Speed targets"), linked into bench_latent beside
// bench_latent.cpp:
//  - "sae/<latent>-1t", "-2t": training steps of SparseDictionary<768, 16384, TopK<32>> at batch 4 096,
//    Adam(2e-4) with latent's defaults otherwise, from the dictionary's seed-1 initialisation, on rows of
//    a SynthSAEBench-16k-sized synthetic generator (data made once, outside the timing): per repetition a
//    fresh model, sae_warmup_steps untimed steps, then sae_timed_steps timed steps; step i trains on rows
//    i·4096 .. (i+1)·4096 − 1. The losses of all the steps are counters loss_step0 .. loss_step5, so that
//    report.py can compare them with benchmarks/sae_pytorch.py's on the same data and initial weights;
//  - "sae-encoder/<latent>": the encoder product alone, as a step computes it a block at a time:
//    kernels::gemm<16384> over 1024 rows × 768 inputs with the bias as initial value, on one thread
//    (its GFLOP/s against the FMA peak of bench_peers' peak rows);
//  - "sae-topk/<latent>": the selection alone, kernels::top_k<32> over the 1024 rows × 16 384
//    pre-activations of that product (part of what a step does besides the product).
//
// With the environment variable LATENT_SAE_BENCH_DIR set (run.sh sets it to its results folder), the
// first sae/ row also writes the inputs there for the PyTorch references: sae_init.npz (W_enc, b_enc,
// W_dec, b_dec as float32, W_enc and W_dec [16384, 768], i.e. latent's packed layout) and sae_data.npy
// (the 6 × 4096 × 768 training rows, float32), which sae_pytorch.py reads with --init and --data.
//
// FLOPs: every sae row (and report.py for the PyTorch rows) counts SparseDictionary::flops_per_row per
// sample, 2·D·M + 8·k·D = 25.36 MFLOP: the dense encoder product and the four products over the k
// active latents (decoder, decoder's weight gradient, code's gradient, encoder's weight gradient),
// i.e. the work a sparse step must do, 103.9 GFLOP a step — not what each implementation does (PyTorch
// with the dense decoder multiplies 6 · 2·B·D·M = 619 GFLOP a step; with embedding_bag, 3 · 2·B·D·M).

#include "bench_common.hpp"

#include <latent/data/npy_shards.hpp>             // save_npy
#include <latent/data/synthetic_activations.hpp>  // SyntheticActivations
#include <latent/io/npz.hpp>                      // write_npz
#include <latent/kernels/gemm.hpp>
#include <latent/kernels/sparse.hpp>  // kernels::top_k
#include <latent/models/sparse_dictionary.hpp>
#include <latent/optim/adam.hpp>

#include <benchmark/benchmark.h>

#include <cstddef>  // std::size_t
#include <cstdint>  // std::uint32_t
#include <cstdlib>  // std::getenv
#include <memory>   // std::unique_ptr
#include <string>   // std::string, std::to_string
#include <vector>   // std::vector

#ifndef LATENT_BENCH_NAME
#define LATENT_BENCH_NAME "latent"
#endif

namespace {

using namespace latent;

constexpr std::size_t sae_in = 768, sae_latents = 16384, sae_k = 32, sae_batch = 4096;
constexpr std::size_t sae_warmup_steps = 1, sae_timed_steps = 5, sae_steps = sae_warmup_steps + sae_timed_steps;
constexpr std::size_t sae_block_rows = 1024;  // DictionaryOptions::block_rows, the encoder product's rows
constexpr std::uint64_t sae_seed = 1, sae_data_seed = 2;
constexpr double sae_lr = 2e-4;  // run.sh passes the same to sae_pytorch.py (its default)
using Sae = SparseDictionary<sae_in, sae_latents, TopK<sae_k>>;
static_assert(sae_block_rows == DictionaryOptions{}.block_rows);

// The training rows: SynthSAEBench-16k's sizes and firing law (16 384 unit-norm true features in 768
// dimensions, Zipf exponent 0.5 from p = 0.4 down to 5e-4: about 60 features a row), positive
// magnitudes N(1, 0.25²), a little noise; no correlation or hierarchy (they change the rows, not the
// cost of a step). Made once per process, outside every timing.
const xt::xtensor<float, 2>& sae_data() {
  static const xt::xtensor<float, 2> x = [] {
    const SyntheticActivations gen({.dims = sae_in,
                                    .features = sae_latents,
                                    .zipf_exponent = 0.5,
                                    .max_probability = 0.4,
                                    .min_probability = 5e-4,
                                    .magnitude_mean = 1.0,
                                    .magnitude_std = 0.25,
                                    .noise_std = 0.01,
                                    .seed = sae_data_seed});
    return gen.sample(sae_steps * sae_batch, sae_data_seed + 1).x;
  }();
  return x;
}

// sae_init.npz and sae_data.npy into $LATENT_SAE_BENCH_DIR, once per process (nothing when it is unset).
void write_inputs_once(const Sae& model) {
  static bool done = false;
  if (done) return;
  done = true;
  const char* dir = std::getenv("LATENT_SAE_BENCH_DIR");
  if (dir == nullptr || *dir == '\0') return;
  const auto p = model.parameters();
  const auto tensor = [&](const char* name, std::size_t at, std::vector<std::size_t> shape) {
    std::size_t count = 1;
    for (const std::size_t s : shape) count *= s;
    NamedTensor t{name, std::move(shape), std::vector<double>(count), "<f4"};
    for (std::size_t i = 0; i < count; ++i) t.values[i] = static_cast<double>(p[at + i]);
    return t;
  };
  write_npz(std::string(dir) + "/sae_init.npz",
            {tensor("W_enc", Sae::encoder_weights_at, {sae_latents, sae_in}),
             tensor("b_enc", Sae::encoder_bias_at, {sae_latents}),
             tensor("W_dec", Sae::decoder_weights_at, {sae_latents, sae_in}),
             tensor("b_dec", Sae::decoder_bias_at, {sae_in})});
  save_npy(std::string(dir) + "/sae_data.npy", sae_data());
}

void bm_sae_latent(benchmark::State& state) {
  const auto threads = static_cast<std::size_t>(state.range(0));
  const auto& x = sae_data();
  auto model = std::make_unique<Sae>(sae_seed);  // 2 × 50 MB of weights: on the heap
  write_inputs_once(*model);
  model->set_threads(threads);
  double losses[sae_steps] = {};
  const auto step = [&](std::size_t s, Adam& opt) {
    losses[s] = model->train_batch(x.data() + s * sae_batch * sae_in, sae_batch, opt);
  };
  for (auto _ : state) {
    state.PauseTiming();
    model->initialize(sae_seed);
    Adam opt(sae_lr);
    for (std::size_t s = 0; s < sae_warmup_steps; ++s) step(s, opt);
    state.ResumeTiming();
    for (std::size_t s = sae_warmup_steps; s < sae_steps; ++s) step(s, opt);
  }
  double timed = 0;
  for (std::size_t s = sae_warmup_steps; s < sae_steps; ++s) timed += losses[s];
  latent::bench::set_training_counters(state, static_cast<double>(sae_timed_steps),
                                       static_cast<double>(sae_timed_steps * sae_batch) * Sae::flops_per_row,
                                       timed / static_cast<double>(sae_timed_steps));
  state.counters["threads"] = static_cast<double>(threads);
  state.counters["samples_per_s"] =
      benchmark::Counter(static_cast<double>(sae_timed_steps * sae_batch), benchmark::Counter::kIsIterationInvariantRate);
  for (std::size_t s = 0; s < sae_steps; ++s) state.counters["loss_step" + std::to_string(s)] = losses[s];
}

// The encoder's inputs: the first block of training rows minus b_dec (0 at initialisation), and the
// initial weights (W_enc = W_dec, unit rows; b_enc = 0).
struct EncoderInputs {
  std::vector<float> xb, pre;
  std::unique_ptr<Sae> model = std::make_unique<Sae>(sae_seed);
  EncoderInputs() : xb(sae_data().data(), sae_data().data() + sae_block_rows * sae_in), pre(sae_block_rows * sae_latents) {}
  void encode() {
    const float* p = model->parameters().data();
    kernels::gemm<sae_latents, float>(sae_block_rows, sae_in, xb.data(), sae_in, 1, p + Sae::encoder_weights_at, 1,
                                      sae_in, kernels::bias_init<float>{p + Sae::encoder_bias_at},
                                      kernels::store_to<float>{pre.data()});
  }
};

void bm_sae_encoder_latent(benchmark::State& state) {
  EncoderInputs in;
  in.encode();
  for (auto _ : state) {
    in.encode();
    benchmark::DoNotOptimize(in.pre.data());
    benchmark::ClobberMemory();
  }
  state.counters["GFLOPs"] = benchmark::Counter(2.0 * sae_block_rows * sae_in * sae_latents * 1e-9,
                                                benchmark::Counter::kIsIterationInvariantRate);
  state.counters["threads"] = 1;
}

void bm_sae_topk_latent(benchmark::State& state) {
  EncoderInputs in;
  in.encode();
  std::vector<std::uint32_t> idx(sae_block_rows * sae_k);
  std::vector<float> val(sae_block_rows * sae_k);
  for (auto _ : state) {
    for (std::size_t r = 0; r < sae_block_rows; ++r)
      kernels::top_k<sae_k, float>(in.pre.data() + r * sae_latents, sae_latents, idx.data() + r * sae_k,
                                   val.data() + r * sae_k);
    benchmark::DoNotOptimize(val.data());
    benchmark::ClobberMemory();
  }
  state.counters["threads"] = 1;
}

BENCHMARK(bm_sae_latent)
    ->Name("sae/" LATENT_BENCH_NAME "-1t")
    ->Arg(1)
    ->Iterations(1)
    ->Repetitions(5)
    ->MeasureProcessCPUTime()
    ->ReportAggregatesOnly(true)
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();
BENCHMARK(bm_sae_latent)
    ->Name("sae/" LATENT_BENCH_NAME "-2t")
    ->Arg(2)
    ->Iterations(1)
    ->Repetitions(5)
    ->MeasureProcessCPUTime()
    ->ReportAggregatesOnly(true)
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();
BENCHMARK(bm_sae_encoder_latent)
    ->Name("sae-encoder/" LATENT_BENCH_NAME)
    ->Repetitions(5)
    ->MinTime(0.5)
    ->ReportAggregatesOnly(true)
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();
BENCHMARK(bm_sae_topk_latent)
    ->Name("sae-topk/" LATENT_BENCH_NAME)
    ->Repetitions(5)
    ->MinTime(0.2)
    ->ReportAggregatesOnly(true)
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();

}  // namespace
