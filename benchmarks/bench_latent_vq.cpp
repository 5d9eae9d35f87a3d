// latent's rows for the VQ-VAE reference recipe of issue #25 ("Speed targets"), linked into bench_latent
// beside bench_latent.cpp (the model: vq_recipe.hpp; the full 10-epoch recipe: vq_recipe.cpp):
//  - "vq/<latent>-1t", "-2t": training steps of the recipe's VQ-VAE (EMA codebook with restarts) at batch
//    100, Adam(1e-3), as the conv VAE's rows: per repetition a fresh model (seed 1), vq_warmup_steps
//    untimed steps on the first batches, then vq_bench_steps timed steps on the first rows in order
//    (registered from main when Fashion-MNIST is present). An epoch is 600 such steps;
//    benchmarks/vq_pytorch.py --bench-steps gives the "vq/pytorch-python-<T>t" rows;
//  - "vq-distance/<latent>": the quantiser's nearest-code search alone as a training step's forward pass
//    runs it (`nearest_codes`: ‖e‖² − 2·z·Eᵀ by kernels::gemm with the argmin in its epilogue) over one
//    batch, 100 images × 49 positions, against 256 codes of 16 values, one thread;
//  - "vq-distance-product/<latent>": the same product stored to a 4 900 × 256 matrix (no argmin), what
//    the search would cost with a separate pass for the argmin.
// The distance rows count 2 · 4 900 · 16 · 256 FLOPs and carry the counters peak_gflops (the one-core
// FMA peak of the registers the product uses, measured in this binary at the first such row: the best of
// five runs of peak_flops.hpp's kernel) and pct_of_peak. Both are timed in the thread's CPU time, as are
// these rows (no UseRealTime), so that a machine shared with other work does not skew the fraction.
// latent first: its simd.hpp reads <immintrin.h> with g++ 12's false uninitialised-value warnings off
// (peak_flops.hpp includes xsimd, and with it the intrinsics, directly).
#include "vq_recipe.hpp"

#include <latent/kernels/gemm.hpp>

#include "bench_common.hpp"
#include "bench_latent.hpp"
#include "peak_flops.hpp"

#include <benchmark/benchmark.h>

#include <ctime>    // clock_gettime: the thread's CPU time
#include <cstddef>  // std::size_t
#include <memory>   // std::make_unique
#include <string>   // std::string, std::to_string
#include <vector>   // std::vector

#ifndef LATENT_BENCH_NAME
#define LATENT_BENCH_NAME "latent"
#endif

namespace {

using namespace latent;
namespace lb = latent::bench;

using Model = lb::VqModel<lb::VqRestarts>;
using Quantizer = Model::quantizer_type;
using Arch = kernels::arch_for<float, lb::vq_codes>;
static_assert(Model::param_count == lb::vq_parameters);

void bm_vq_latent(benchmark::State& state) {
  const auto threads = static_cast<std::size_t>(state.range(0));
  const auto& x = lb::fashion_train();
  constexpr std::size_t steps = lb::vq_bench_steps, batch = lb::vq_batch;
  double loss = 0;
  for (auto _ : state) {
    state.PauseTiming();
    auto model = std::make_unique<Model>(1);
    model->set_threads(threads);
    Adam opt(lb::vq_lr);
    for (std::size_t w = 0; w < lb::vq_warmup_steps; ++w) model->train_batch(x.data() + w * batch * 784, batch, opt);
    state.ResumeTiming();
    double sum = 0;
    for (std::size_t s = 0; s < steps; ++s) sum += model->train_batch(x.data() + s * batch * 784, batch, opt);
    loss = sum / static_cast<double>(steps);
  }
  lb::set_training_counters(state, static_cast<double>(steps),
                            static_cast<double>(steps * batch) * lb::vq_flops_per_sample(), loss);
  state.counters["threads"] = static_cast<double>(threads);
}

// The calling thread's CPU time in seconds.
double thread_seconds() {
  timespec t{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
  return static_cast<double>(t.tv_sec) + 1e-9 * static_cast<double>(t.tv_nsec);
}

// The one-core FMA peak of the product's registers, measured once in this binary (best of five).
double peak_gflops() {
  static const double peak = [] {
    constexpr std::size_t iters = 20'000'000;
    double best = 0;
    for (int t = 0; t < 5; ++t) {
      const double t0 = thread_seconds();
      volatile float sink = lb::peak_fma_kernel<Arch>(iters);
      static_cast<void>(sink);
      const double g = lb::peak_flops_per_round<Arch>() * static_cast<double>(iters) / (thread_seconds() - t0) * 1e-9;
      best = g > best ? g : best;
    }
    return best;
  }();
  return peak;
}

// One batch's encoder outputs (uniform in [−1, 1], channel-first as the encoder gives them) and a
// codebook of the EMA recipe's initial values spread to the data's scale.
struct DistanceInputs {
  static constexpr std::size_t rows = lb::vq_batch, positions = rows * lb::vq_positions;
  std::vector<float> z, book, index, distances;
  DistanceInputs()
      : z(rows * Quantizer::in_size), book(lb::vq_codes * lb::vq_dim), index(positions),
        distances(positions * lb::vq_codes) {
    Rng rng(3);
    for (auto& v : z) v = static_cast<float>(rng.uniform(-1, 1));
    for (auto& v : book) v = static_cast<float>(rng.uniform(-1, 1));
  }
};

void distance_counters(benchmark::State& state, double seconds) {
  const double flops = lb::vq_distance_flops_per_sample * static_cast<double>(DistanceInputs::rows);
  const double gflops = flops * static_cast<double>(state.iterations()) / seconds * 1e-9;
  state.counters["GFLOPs"] = benchmark::Counter(flops * 1e-9, benchmark::Counter::kIsIterationInvariantRate);
  state.counters["peak_gflops"] = peak_gflops();
  state.counters["pct_of_peak"] = 100.0 * gflops / peak_gflops();
  state.counters["threads"] = 1;
}

void bm_vq_distance_latent(benchmark::State& state) {
  DistanceInputs in;
  peak_gflops();
  Quantizer::nearest_codes(in.book.data(), in.z.data(), DistanceInputs::rows, in.index.data());
  const double t0 = thread_seconds();
  for (auto _ : state) {
    Quantizer::nearest_codes(in.book.data(), in.z.data(), DistanceInputs::rows, in.index.data());
    benchmark::DoNotOptimize(in.index.data());
    benchmark::ClobberMemory();
  }
  distance_counters(state, thread_seconds() - t0);
}

void bm_vq_distance_product_latent(benchmark::State& state) {
  DistanceInputs in;
  peak_gflops();
  // The positions' vectors as rows (what nearest_codes builds block by block), then one product.
  std::vector<float> a(DistanceInputs::positions * lb::vq_dim);
  for (std::size_t g = 0; g < DistanceInputs::positions; ++g)
    for (std::size_t c = 0; c < lb::vq_dim; ++c)
      a[g * lb::vq_dim + c] = -2.0f * in.z[(g / lb::vq_positions) * Quantizer::in_size + c * lb::vq_positions +
                                           g % lb::vq_positions];
  const auto product = [&] {
    kernels::gemm<lb::vq_codes, float, Arch>(DistanceInputs::positions, lb::vq_dim, a.data(), lb::vq_dim, 1,
                                             in.book.data(), 1, lb::vq_dim, kernels::zero_init{},
                                             kernels::store_to<float>{in.distances.data()});
  };
  product();
  const double t0 = thread_seconds();
  for (auto _ : state) {
    product();
    benchmark::DoNotOptimize(in.distances.data());
    benchmark::ClobberMemory();
  }
  distance_counters(state, thread_seconds() - t0);
}

BENCHMARK(bm_vq_distance_latent)
    ->Name("vq-distance/" LATENT_BENCH_NAME)
    ->Repetitions(5)
    ->MinTime(0.2)
    ->ReportAggregatesOnly(true)
    ->Unit(benchmark::kMicrosecond);
BENCHMARK(bm_vq_distance_product_latent)
    ->Name("vq-distance-product/" LATENT_BENCH_NAME)
    ->Repetitions(5)
    ->MinTime(0.2)
    ->ReportAggregatesOnly(true)
    ->Unit(benchmark::kMicrosecond);

}  // namespace

void latent::bench::register_vq_training() {
  for (int threads : {1, 2})
    benchmark::RegisterBenchmark(("vq/" LATENT_BENCH_NAME "-" + std::to_string(threads) + "t").c_str(), bm_vq_latent)
        ->Arg(threads)
        ->Iterations(1)
        ->Repetitions(5)
        ->MeasureProcessCPUTime()
        ->ReportAggregatesOnly(true)
        ->Unit(benchmark::kMillisecond)
        ->UseRealTime();
}
