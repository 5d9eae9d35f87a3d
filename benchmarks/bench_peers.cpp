// The peers latent is measured against, in one Google Benchmark binary: the FMA peak of one core, the
// seed workload as a hand-written scalar loop and in libtorch, one VAE epoch in libtorch at one and two
// threads, and 20 training steps of the convolutional VAE (issue #11) and of the ResNet VAE (issue #23)
// in libtorch at one and two threads. Benchmark names are "<workload>/<peer>"; benchmarks/report.py
// turns the JSON output (with bench_latent's "<workload>/latent" rows) into ratios and fractions of peak.

#include "peak_flops.hpp"
#ifdef LATENT_HAVE_AVX512_PEAK
#include "peak_avx512.hpp"
#endif
#include "bench_common.hpp"
#include "peers/common.hpp"
#include "peers/seed_handwritten.hpp"
#ifdef LATENT_HAVE_TORCH
#include "peers/conv_vae_torch.hpp"
#include "peers/resnet_vae_torch.hpp"
#include "peers/seed_torch.hpp"
#include "peers/vae_torch.hpp"
#endif

#include <benchmark/benchmark.h>

#include <cstddef>     // std::size_t
#include <filesystem>  // std::filesystem::exists
#include <optional>    // std::optional (the conv VAE's model, rebuilt outside the timer)
#include <string>      // std::string
#include <vector>      // std::vector

namespace {

namespace lb = latent::bench;
using lb::fashion_mnist_path;
using lb::seed_data;
using lb::seed_epochs;
using lb::seed_init;
using lb::set_training_counters;
using lb::vae_batch;

void bm_peak_fma(benchmark::State& state) {
  const auto iters = static_cast<std::size_t>(state.range(0));
  // Always the AVX2 peak (8-float registers), also when this binary is compiled with AVX-512 flags.
  using avx2 = xsimd::fma3<xsimd::avx2>;
  for (auto _ : state) benchmark::DoNotOptimize(lb::peak_fma_kernel<avx2>(iters));
  state.counters["GFLOPs"] = benchmark::Counter(lb::peak_flops_per_round<avx2>() * static_cast<double>(iters) * 1e-9,
                                                benchmark::Counter::kIsIterationInvariantRate);
}
// A peak is a capability, so report.py takes the best repetition rather than the median: the file
// output keeps every repetition (DisplayAggregatesOnly), the console only the aggregates.
BENCHMARK(bm_peak_fma)
    ->Name("peak/fma")
    ->Arg(20'000'000)
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime()
    ->Repetitions(5)
    ->DisplayAggregatesOnly(true);

#ifdef LATENT_HAVE_AVX512_PEAK
// The machine's own peak when it has AVX-512 units (OpenBLAS uses them, and latent's own targets when
// LATENT_AVX512 is on).
void bm_peak_fma_avx512(benchmark::State& state) {
  const auto iters = static_cast<std::size_t>(state.range(0));
  for (auto _ : state) benchmark::DoNotOptimize(lb::peak_fma_kernel_avx512(iters));
  state.counters["GFLOPs"] = benchmark::Counter(lb::peak_flops_per_round_avx512() * static_cast<double>(iters) * 1e-9,
                                                benchmark::Counter::kIsIterationInvariantRate);
}
#endif

using lb::seed_counters;

void bm_seed_handwritten(benchmark::State& state) {
  const auto& data = seed_data();
  double loss = 0.0;
  for (auto _ : state) loss = lb::run_seed_handwritten(data.data(), lb::seed_rows, seed_epochs, seed_init);
  seed_counters(state, loss);
}
// CPU time is the whole process's (all threads: OpenBLAS, OpenMP), comparable with the Python peers'
// process_time and steadier than wall time on a shared machine; the reported time stays wall time.
// One iteration is a whole 100-epoch training (~0.3-1 s): fix it, and let repetitions give the spread.
BENCHMARK(bm_seed_handwritten)
    ->Name("seed/handwritten")
    ->Iterations(1)
    ->Repetitions(5)
    ->MeasureProcessCPUTime()
    ->ReportAggregatesOnly(true)
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();

#ifdef LATENT_HAVE_TORCH
void bm_seed_torch(benchmark::State& state) {
  const auto& data = seed_data();
  double loss = 0.0;
  for (auto _ : state) loss = lb::run_seed_torch(data.data(), lb::seed_rows, seed_epochs, seed_init);
  seed_counters(state, loss);
}
BENCHMARK(bm_seed_torch)
    ->Name("seed/libtorch")
    ->Iterations(1)
    ->Repetitions(5)
    ->MeasureProcessCPUTime()
    ->ReportAggregatesOnly(true)
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();

/// Fashion-MNIST's 60 000 training images as floats in [0, 1], loaded once; empty if the shape is not 784.
const std::vector<float>& fashion_mnist_images() {
  static const std::vector<float> images = [] {
    std::size_t cols = 0;
    auto v = lb::load_idx_images(fashion_mnist_path(), cols);
    if (cols != lb::vae_in) v.clear();
    return v;
  }();
  return images;
}

void bm_vae_torch(benchmark::State& state) {
  const auto& images = fashion_mnist_images();
  if (images.empty()) {
    state.SkipWithError("Fashion-MNIST images have an unexpected shape");
    return;
  }
  const std::size_t n = images.size() / lb::vae_in;
  const auto threads = static_cast<int>(state.range(0));
  double loss = 0.0;
  for (auto _ : state) loss = lb::run_vae_epoch_torch(images.data(), n, vae_batch, threads);
  set_training_counters(state, static_cast<double>(lb::steps_per_epoch(n, vae_batch)),
                        static_cast<double>(n) * lb::vae_flops_per_sample, loss);
  state.counters["threads"] = threads;
}

// The conv VAEs (the conv VAE of issue #11, the ResNet VAE of issue #23): an epoch is a minute or more
// in libtorch here, so each repetition times conv_vae_bench_steps (20) steps of batch 128 on the first
// 20 x 128 training rows, in order, after conv_vae_warmup_steps (3) untimed steps on the first batches;
// a fresh model per repetition, built and warmed up outside the timer. final_loss is the mean loss of
// the timed steps (the same as conv_vae_pytorch.py / resnet_vae_pytorch.py --bench-steps 20).
template <class Peer>
void bm_torch_steps(benchmark::State& state, double flops_per_sample) {
  const auto& images = fashion_mnist_images();
  constexpr auto steps = static_cast<std::size_t>(lb::conv_vae_bench_steps);
  constexpr auto batch = static_cast<std::size_t>(vae_batch);
  if (images.size() < steps * batch * lb::vae_in) {
    state.SkipWithError("Fashion-MNIST images have an unexpected shape");
    return;
  }
  const std::size_t n = images.size() / lb::vae_in;
  const auto threads = static_cast<int>(state.range(0));
  std::optional<Peer> model;
  double loss = 0.0;
  for (auto _ : state) {
    state.PauseTiming();
    model.reset();
    model.emplace(images.data(), n, threads);
    for (std::size_t w = 0; w < static_cast<std::size_t>(lb::conv_vae_warmup_steps); ++w) model->step(w * batch, batch);
    state.ResumeTiming();
    double sum = 0.0;
    for (std::size_t s = 0; s < steps; ++s) sum += model->step(s * batch, batch);
    loss = sum / static_cast<double>(steps);
  }
  set_training_counters(state, static_cast<double>(steps), static_cast<double>(steps * batch) * flops_per_sample, loss);
  state.counters["threads"] = threads;
}
void bm_conv_vae_torch(benchmark::State& state) {
  bm_torch_steps<lb::conv_vae_torch>(state, lb::conv_vae_flops_per_sample());
}
void bm_resnet_vae_torch(benchmark::State& state) {
  bm_torch_steps<lb::resnet_vae_torch>(state, lb::resnet_vae_flops_per_sample());
}
#endif

}  // namespace

int main(int argc, char** argv) {
#ifdef LATENT_HAVE_AVX512_PEAK
  if (lb::avx512_available())
    benchmark::RegisterBenchmark("peak/fma-avx512", bm_peak_fma_avx512)
        ->Arg(20'000'000)
        ->Unit(benchmark::kMillisecond)
        ->UseRealTime()
        ->Repetitions(5)
        ->DisplayAggregatesOnly(true);
#endif
#ifdef LATENT_HAVE_TORCH
  // Registered at run time: only when the data set is present, so the binary still runs without it.
  if (std::filesystem::exists(fashion_mnist_path())) {
    for (int threads : {1, 2})
      benchmark::RegisterBenchmark(("vae/libtorch-" + std::to_string(threads) + "t").c_str(), bm_vae_torch)
          ->Arg(threads)
          ->Iterations(1)
          ->Repetitions(5)
          ->MeasureProcessCPUTime()
          ->ReportAggregatesOnly(true)
          ->Unit(benchmark::kMillisecond)
          ->UseRealTime();
    for (int threads : {1, 2})
      benchmark::RegisterBenchmark(("convvae/libtorch-" + std::to_string(threads) + "t").c_str(), bm_conv_vae_torch)
          ->Arg(threads)
          ->Iterations(1)
          ->Repetitions(5)
          ->MeasureProcessCPUTime()
          ->ReportAggregatesOnly(true)
          ->Unit(benchmark::kMillisecond)
          ->UseRealTime();
    for (int threads : {1, 2})
      benchmark::RegisterBenchmark(("resnetvae/libtorch-" + std::to_string(threads) + "t").c_str(), bm_resnet_vae_torch)
          ->Arg(threads)
          ->Iterations(1)
          ->Repetitions(5)
          ->MeasureProcessCPUTime()
          ->ReportAggregatesOnly(true)
          ->Unit(benchmark::kMillisecond)
          ->UseRealTime();
  }
#endif
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
