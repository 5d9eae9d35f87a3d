// latent's rows for the ResNet VAE of issue #23 (examples/resnet_vae_fashion_mnist.cpp), linked into
// bench_latent (and bench_latent_avx2) beside bench_latent.cpp:
//  - "resnetvae/<latent>-1t", "-2t": 20 training steps of batch 128 after 3 warm-up steps, as the
//    libtorch rows of bench_peers and resnet_vae_pytorch.py --bench-steps 20 (registered from main when
//    Fashion-MNIST is present);
//  - "norm-<layer>-<shape>-b128/<latent>": forward + backward in train mode of BatchNorm (after a conv:
//    32x14x14 and 64x7x7; flat 400) and GroupNorm<8> (64x7x7), with the bytes each pass must move at
//    least, beside "norm-...-b128/memcpy-<latent>", a memcpy of one tensor of the same size in the same
//    binary: report.py prints each layer's bandwidth as a fraction of the copy's;
//  - "infer-resnetvae-encoder-b{1,8,256}/<latent>" (the Predictor, which folds a BatchNorm after a
//    convolution) and "/<latent>-model-call" (the model's own encode), in eval mode.

#include "bench_common.hpp"
#include "bench_latent.hpp"

#include <latent/inference.hpp>
#include <latent/latent.hpp>

#include <xtensor/xview.hpp>  // xt::view: one sample of the inference inputs

#include <benchmark/benchmark.h>

#include <algorithm>  // std::fill, std::max
#include <chrono>     // std::chrono::steady_clock: forward and backward apart
#include <cmath>      // std::abs
#include <cstddef>    // std::size_t
#include <cstdint>    // std::int64_t: bytes processed
#include <cstring>    // std::memcpy
#include <memory>     // std::unique_ptr
#include <string>     // std::string, std::to_string

#ifndef LATENT_BENCH_NAME
#define LATENT_BENCH_NAME "latent"
#endif

namespace {

namespace lb = latent::bench;
using namespace latent;

// ---- the model: examples/resnet_vae_fashion_mnist.cpp's ------------------------------------------------
template <std::size_t C>  // a pre-activation residual block, as in latent diffusion's autoencoder
using ResBlock = Residual<Seq<GroupNorm<8>, Silu, Conv2D<C, 3, 1, Same>, GroupNorm<8>, Silu, Conv2D<C, 3, 1, Same>>>;
struct ResNetEncoder : Seq<Input<1, 28, 28>, Conv2D<32, 3, 2, Pad<1>>, BatchNorm, Relu, Conv2D<64, 3, 2, Pad<1>>,
                           BatchNorm, Relu, ResBlock<64>, Flatten, Gaussian<16>> {};
struct ResNetDecoder : Seq<Dense<16, 3136>, Reshape<64, 7, 7>, ResBlock<64>, ConvTranspose2D<32, 3, 2, Pad<1, 1>>,
                           BatchNorm, Relu, ConvTranspose2D<1, 3, 2, Pad<1, 1>>> {};
using ResNetVaeModel = VAE<ResNetEncoder, ResNetDecoder, Bernoulli>;
static_assert(ResNetVaeModel::param_count == lb::resnet_vae_parameters);
static_assert(ResNetVaeModel::state_size == lb::resnet_vae_state);

// As the libtorch rows: a fresh model per repetition, conv_vae_warmup_steps untimed steps on the first
// batches, then conv_vae_bench_steps timed steps of batch 128 on the first rows, in order (train mode);
// final_loss is the mean loss of the timed steps.
void bm_resnet_vae_latent(benchmark::State& state) {
  const auto threads = static_cast<std::size_t>(state.range(0));
  const auto& x = lb::fashion_train();
  constexpr auto steps = static_cast<std::size_t>(lb::conv_vae_bench_steps);
  constexpr std::size_t batch = lb::vae_batch;
  double loss = 0;
  for (auto _ : state) {
    state.PauseTiming();
    auto model = std::make_unique<ResNetVaeModel>(1);
    model->set_threads(threads);
    Adam opt(1e-3, 0.9, 0.999, 1e-8);
    for (std::size_t w = 0; w < static_cast<std::size_t>(lb::conv_vae_warmup_steps); ++w)
      model->train_batch(x.data() + w * batch * 784, batch, opt);
    state.ResumeTiming();
    double sum = 0;
    for (std::size_t s = 0; s < steps; ++s) sum += model->train_batch(x.data() + s * batch * 784, batch, opt);
    loss = sum / static_cast<double>(steps);
  }
  lb::set_training_counters(state, static_cast<double>(steps),
                            static_cast<double>(steps * batch) * lb::resnet_vae_flops_per_sample(), loss);
  state.counters["threads"] = static_cast<double>(threads);
}

// ---- the normalisation layers' passes against a memcpy -------------------------------------------------
// Train mode at batch 128, called as a Seq calls a bound layer outside a training step (the call's rows
// are the whole batch; BatchNorm adds its statistics to ctx.stats, zeroed per iteration as a step does).
// The bytes each pass must move at least, with S the bytes of one batch tensor (128 x the layer's
// values x 4): forward reads x and writes y (2S); backward reads dy and x (or x̂) and writes dx (3S).
// latent's forward also writes x̂ for the backward (one more S) and both passes read their input twice
// (statistics, then the normalisation), which the figure does not credit: it is the traffic any
// implementation needs, over the time this one takes. The parameters and per-channel sums are
// negligible (a few KB).
constexpr std::size_t norm_batch = 128;

template <class L>
void bm_norm_layer(benchmark::State& state) {
  constexpr std::size_t values = norm_batch * L::in_size;
  constexpr double tensor_bytes = static_cast<double>(values * sizeof(float));
  aligned_buffer<float> p(L::param_count), g(L::param_count), x(values), y(values), dy(values), dx(values),
      cache(norm_batch * L::cache_size), stats(std::max<std::size_t>(detail::step_stats_size_of<L>(), 1));
  Rng rng(1);
  L::init(p.data(), rng);
  for (std::size_t c = 0; c < L::param_count; ++c) p[c] += static_cast<float>(rng.uniform(-0.1, 0.1));
  for (auto& v : x) v = static_cast<float>(rng.uniform(-1.0, 2.0));
  for (auto& v : dy) v = static_cast<float>(rng.uniform(-1.0, 1.0));
  Context<float> ctx;
  ctx.mode = Mode::train;
  if constexpr (detail::step_stats_size_of<L>() > 0) ctx.stats = stats.data();
  float* no_scratch = nullptr;  // scratch_size is 0 for both layers
  using clock = std::chrono::steady_clock;
  clock::duration forward{}, backward{};
  for (auto _ : state) {
    std::fill(stats.begin(), stats.end(), 0.0f);
    const auto t0 = clock::now();
    L::forward(p.data(), x.data(), y.data(), cache.data(), norm_batch, ctx);
    benchmark::ClobberMemory();
    const auto t1 = clock::now();
    L::backward(p.data(), x.data(), y.data(), cache.data(), dy.data(), dx.data(), g.data(), no_scratch, norm_batch,
                ctx);
    benchmark::DoNotOptimize(dx.data());
    benchmark::ClobberMemory();
    const auto t2 = clock::now();
    forward += t1 - t0;
    backward += t2 - t1;
  }
  const auto iterations = static_cast<double>(state.iterations());
  state.SetBytesProcessed(static_cast<std::int64_t>(5.0 * tensor_bytes * iterations));
  state.counters["min_bytes"] = 5.0 * tensor_bytes;
  state.counters["forward_us"] = std::chrono::duration<double, std::micro>(forward).count() / iterations;
  state.counters["backward_us"] = std::chrono::duration<double, std::micro>(backward).count() / iterations;
  state.counters["forward_bytes"] = 2.0 * tensor_bytes;
  state.counters["backward_bytes"] = 3.0 * tensor_bytes;
}

// One tensor of the layer's size copied (read S, write S: 2S bytes), from and to buffers of its own.
template <class L>
void bm_norm_copy(benchmark::State& state) {
  constexpr std::size_t values = norm_batch * L::in_size;
  aligned_buffer<float> src(values), dst(values);
  Rng rng(1);
  for (auto& v : src) v = static_cast<float>(rng.uniform());
  for (auto _ : state) {
    std::memcpy(dst.data(), src.data(), values * sizeof(float));
    benchmark::DoNotOptimize(dst.data());
    benchmark::ClobberMemory();
  }
  state.SetBytesProcessed(
      static_cast<std::int64_t>(2.0 * values * sizeof(float) * static_cast<double>(state.iterations())));
  state.counters["min_bytes"] = 2.0 * values * sizeof(float);
}

#define LATENT_NORM(NAME, ...)                                                                                         \
  BENCHMARK(bm_norm_layer<__VA_ARGS__>)                                                                                \
      ->Name("norm-" NAME "-b128/" LATENT_BENCH_NAME)                                                                  \
      ->Repetitions(5)                                                                                                 \
      ->DisplayAggregatesOnly(true)                                                                                    \
      ->Unit(benchmark::kMicrosecond)                                                                                  \
      ->UseRealTime();                                                                                                 \
  BENCHMARK(bm_norm_copy<__VA_ARGS__>)                                                                                 \
      ->Name("norm-" NAME "-b128/memcpy-" LATENT_BENCH_NAME)                                                           \
      ->Repetitions(5)                                                                                                 \
      ->DisplayAggregatesOnly(true)                                                                                    \
      ->Unit(benchmark::kMicrosecond)                                                                                  \
      ->UseRealTime()
LATENT_NORM("batchnorm-32x14x14", BatchNorm::bind_shape<shape<32, 14, 14>>);
LATENT_NORM("batchnorm-64x7x7", BatchNorm::bind_shape<shape<64, 7, 7>>);
LATENT_NORM("batchnorm-400", BatchNorm::bind_shape<flat<400>>);
LATENT_NORM("groupnorm8-64x7x7", GroupNorm<8>::bind_shape<shape<64, 7, 7>>);

// ---- inference of the encoder: the Predictor beside the model's own encode --------------------------------
// The model after 3 training steps on uniform noise (so that the running statistics the Predictor
// folds into the convolutions are not the initial ones); eval mode. Before timing, the Predictor's
// outputs are checked against the model's encode.
ResNetVaeModel& infer_model() {
  static const std::unique_ptr<ResNetVaeModel> m = [] {
    auto mm = std::make_unique<ResNetVaeModel>(1);
    Rng rng(3);
    xt::xtensor<float, 2> noise = xt::xtensor<float, 2>::from_shape({norm_batch, ResNetVaeModel::input_size});
    for (auto& v : noise) v = static_cast<float>(rng.uniform());
    Adam opt(1e-3, 0.9, 0.999, 1e-8);
    for (int s = 0; s < 3; ++s) mm->train_batch(noise.data(), norm_batch, opt);
    return mm;
  }();
  return *m;
}

xt::xtensor<float, 2> infer_input(std::size_t rows) {
  Rng rng(2);
  xt::xtensor<float, 2> x = xt::xtensor<float, 2>::from_shape({rows, ResNetVaeModel::input_size});
  for (auto& v : x) v = static_cast<float>(rng.uniform());
  return x;
}

template <std::size_t Batch>
void bm_infer_resnet_predictor(benchmark::State& state) {
  const xt::xtensor<float, 2> x = infer_input(Batch);
  xt::xtensor<float, 2> z = xt::xtensor<float, 2>::from_shape({Batch, ResNetVaeModel::code_size});
  Predictor fast(infer_model());
  fast.encode(x.data(), Batch, z.data());
  // The folded BatchNorm changes the rounding: agreement to 1e-4 of max(1, |μ|).
  const xt::xtensor<float, 2> ref = infer_model().encode(x);
  double worst = 0;
  for (std::size_t i = 0; i < ref.size(); ++i)
    worst = std::max(worst, std::abs(static_cast<double>(ref.data()[i]) - z.data()[i]) /
                                std::max(1.0, std::abs(static_cast<double>(ref.data()[i]))));
  state.counters["max_rel_diff"] = worst;
  if (worst > 1e-4) {
    state.SkipWithError(("outputs differ from the model's by " + std::to_string(worst)).c_str());
    return;
  }
  for (auto _ : state) {
    fast.encode(x.data(), Batch, z.data());
    benchmark::DoNotOptimize(z.data());
    benchmark::ClobberMemory();
  }
  state.counters["samples_per_s"] = benchmark::Counter(Batch, benchmark::Counter::kIsIterationInvariantRate);
}

template <std::size_t Batch>
void bm_infer_resnet_model_call(benchmark::State& state) {
  const xt::xtensor<float, 2> x = infer_input(Batch);
  const auto& m = infer_model();
  if constexpr (Batch == 1) {
    const xt::xtensor<float, 1> one = xt::view(x, 0, xt::all());
    for (auto _ : state) benchmark::DoNotOptimize(m.encode(one));
  } else {
    for (auto _ : state) benchmark::DoNotOptimize(m.encode(x));
  }
  state.counters["samples_per_s"] = benchmark::Counter(Batch, benchmark::Counter::kIsIterationInvariantRate);
}

#define LATENT_INFER_RESNET(B)                                                                                         \
  BENCHMARK(bm_infer_resnet_predictor<B>)                                                                              \
      ->Name("infer-resnetvae-encoder-b" #B "/" LATENT_BENCH_NAME)                                                     \
      ->Repetitions(5)                                                                                                 \
      ->MinTime(0.2)                                                                                                   \
      ->DisplayAggregatesOnly(true)                                                                                    \
      ->Unit(benchmark::kMicrosecond)                                                                                  \
      ->UseRealTime();                                                                                                 \
  BENCHMARK(bm_infer_resnet_model_call<B>)                                                                             \
      ->Name("infer-resnetvae-encoder-b" #B "/" LATENT_BENCH_NAME "-model-call")                                       \
      ->Repetitions(5)                                                                                                 \
      ->MinTime(0.2)                                                                                                   \
      ->DisplayAggregatesOnly(true)                                                                                    \
      ->Unit(benchmark::kMicrosecond)                                                                                  \
      ->UseRealTime()
LATENT_INFER_RESNET(1);
LATENT_INFER_RESNET(8);
LATENT_INFER_RESNET(256);

}  // namespace

void latent::bench::register_resnet_vae_training() {
  for (int threads : {1, 2})
    benchmark::RegisterBenchmark(("resnetvae/" LATENT_BENCH_NAME "-" + std::to_string(threads) + "t").c_str(),
                                 bm_resnet_vae_latent)
        ->Arg(threads)
        ->Iterations(1)
        ->Repetitions(5)
        ->MeasureProcessCPUTime()
        ->ReportAggregatesOnly(true)
        ->Unit(benchmark::kMillisecond)
        ->UseRealTime();
}
