// latent's side of the benchmarks, named "<workload>/latent..." so that report.py puts each row beside
// its peers from bench_peers: the seed workload (100 epochs) through the public API and as one
// hand-wired function calling the same layer primitives (the cost of composition), one VAE epoch on
// Fashion-MNIST at 1 and 2 threads, forward+backward of every Dense shape of both workloads (fraction
// of peak), and inference (the Predictor beside the model's call and a hand-written pre-packed loop) at
// batches of 1, 8 and 256. The ResNet VAE's rows (issue #23: training steps, normalisation layers,
// inference) are in bench_latent_resnet.cpp, linked into the same binary.

#include "bench_latent.hpp"
#include "bench_common.hpp"
#include "hand_inference.hpp"

#include <latent/inference.hpp>
#include <latent/latent.hpp>

#include <xtensor/xview.hpp>  // xt::view: one sample of the inference inputs

#include <benchmark/benchmark.h>

#include <algorithm>   // std::copy, std::min
#include <cstddef>     // std::size_t
#include <filesystem>  // std::filesystem::exists
#include <memory>      // std::unique_ptr: the conv VAE
#include <numeric>     // std::iota
#include <string>      // std::string
#include <thread>      // std::thread (the independent halves)
#include <vector>      // std::vector

// The name of latent's rows: "latent" (the project's flags: AVX-512 when the machine has it) or
// "latent-avx2" (bench_latent_avx2, the same source compiled without AVX-512).
#ifndef LATENT_BENCH_NAME
#define LATENT_BENCH_NAME "latent"
#endif

const xt::xtensor<float, 2>& latent::bench::fashion_train() {
  static const xt::xtensor<float, 2> x = load_fashion_mnist("train", fashion_mnist_dir()).x;
  return x;
}

namespace {

namespace lb = latent::bench;
using namespace latent;

struct SeedEncoder : Seq<Dense<100, 20, Relu>, Dense<20, 5, Sigmoid>> {};
struct SeedDecoder : Seq<Dense<5, 20, Relu>, Dense<20, 100, Sigmoid>> {};
using SeedModel = Autoencoder<SeedEncoder, SeedDecoder, MSE>;

struct VaeEncoder : Seq<Dense<784, 400, Relu>, Gaussian<20>> {};
struct VaeDecoder : Seq<Dense<20, 400, Relu>, Dense<400, 784, Identity>> {};
using VaeModel = VAE<VaeEncoder, VaeDecoder, Bernoulli>;

const xt::xtensor<float, 2>& seed_matrix() {
  static const xt::xtensor<float, 2> x = [] {
    xt::xtensor<float, 2> m = xt::xtensor<float, 2>::from_shape({lb::seed_rows, lb::seed_sizes[0]});
    std::copy(lb::seed_data().begin(), lb::seed_data().end(), m.begin());
    return m;
  }();
  return x;
}

// ---- the seed workload through the public API ------------------------------------------------------
void bm_seed_latent(benchmark::State& state) {
  double loss = 0;
  for (auto _ : state) {
    SeedModel model(lb::seed_init);
    Adam opt;
    const History h = fit(model, seed_matrix(), opt,
                          {.epochs = lb::seed_epochs,
                           .batch_size = lb::seed_batch,
                           .seed = 7,
                           .progress = Progress::quiet,
                           .threads = 1});
    loss = h.loss.back();
  }
  lb::seed_counters(state, loss);
}
BENCHMARK(bm_seed_latent)
    ->Name("seed/" LATENT_BENCH_NAME)
    ->Iterations(1)
    ->Repetitions(7)
    ->MeasureProcessCPUTime()
    ->ReportAggregatesOnly(true)
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();

// ---- the same maths as one hand-wired function: the layers' primitives called directly --------------
// No Seq, no model class, no fit: a fixed buffer per activation, the four layers' forward and backward
// written out, the loss and Adam called by hand. The difference from seed/latent is the cost of
// composition (plus fit's per-epoch bookkeeping).
double run_seed_hand_wired(const float* data, std::size_t n, int epochs, std::uint64_t seed) {
  using L1 = Dense<100, 20, Relu>;
  using L2 = Dense<20, 5, Sigmoid>;
  using L3 = Dense<5, 20, Relu>;
  using L4 = Dense<20, 100, Sigmoid>;
  constexpr std::size_t o1 = 0, o2 = o1 + L1::param_count, o3 = o2 + L2::param_count, o4 = o3 + L3::param_count,
                        total = o4 + L4::param_count, B = 32;
  aligned_buffer<float> p(total), g(total), x(B * 100), h1(B * 20), h2(B * 5), h3(B * 20), out(B * 100), d_out(B * 100),
      d3(B * 20), d2(B * 5), d1(B * 20);
  Rng rng(seed);
  L1::init(p.data() + o1, rng);
  L2::init(p.data() + o2, rng);
  L3::init(p.data() + o3, rng);
  L4::init(p.data() + o4, rng);
  Adam opt;
  Rng shuffle(7);
  std::vector<std::size_t> order(n);
  Context<float> ctx;
  float* none = nullptr;
  double epoch_loss = 0;
  for (int e = 0; e < epochs; ++e) {
    std::iota(order.begin(), order.end(), std::size_t{0});
    for (std::size_t i = n - 1; i > 0; --i) std::swap(order[i], order[shuffle.below(i + 1)]);
    epoch_loss = 0;
    for (std::size_t first = 0; first < n; first += B) {
      const std::size_t m = std::min(B, n - first);
      for (std::size_t r = 0; r < m; ++r) std::copy_n(data + order[first + r] * 100, 100, x.data() + r * 100);
      L1::forward(p.data() + o1, x.data(), h1.data(), none, m, ctx);
      L2::forward(p.data() + o2, h1.data(), h2.data(), none, m, ctx);
      L3::forward(p.data() + o3, h2.data(), h3.data(), none, m, ctx);
      L4::forward(p.data() + o4, h3.data(), out.data(), none, m, ctx);
      epoch_loss += MSE::value_and_gradient(out.data(), x.data(), d_out.data(), m, 100, 1.0f / static_cast<float>(m));
      L4::backward(p.data() + o4, h3.data(), out.data(), none, d_out.data(), d3.data(), g.data() + o4, none, m, ctx);
      L3::backward(p.data() + o3, h2.data(), h3.data(), none, d3.data(), d2.data(), g.data() + o3, none, m, ctx);
      L2::backward(p.data() + o2, h1.data(), h2.data(), none, d2.data(), d1.data(), g.data() + o2, none, m, ctx);
      L1::backward(p.data() + o1, x.data(), h1.data(), none, d1.data(), none, g.data() + o1, none, m, ctx);
      opt.step(p.span(), std::span<const float>(g.data(), total));
    }
  }
  return epoch_loss / static_cast<double>(n);
}

void bm_seed_hand_wired(benchmark::State& state) {
  double loss = 0;
  for (auto _ : state)
    loss = run_seed_hand_wired(lb::seed_data().data(), lb::seed_rows, lb::seed_epochs, lb::seed_init);
  lb::seed_counters(state, loss);
}
BENCHMARK(bm_seed_hand_wired)
    ->Name("seed/hand-wired-" LATENT_BENCH_NAME)
    ->Iterations(1)
    ->Repetitions(7)
    ->MeasureProcessCPUTime()
    ->ReportAggregatesOnly(true)
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();

// ---- one VAE epoch on Fashion-MNIST -----------------------------------------------------------------
using lb::fashion_train;

void bm_vae_latent(benchmark::State& state) {
  const auto threads = static_cast<std::size_t>(state.range(0));
  const auto& x = fashion_train();
  double loss = 0;
  for (auto _ : state) {
    VaeModel model(1);
    Adam opt;
    loss =
        fit(model, x, opt, {.epochs = 1, .batch_size = lb::vae_batch, .progress = Progress::quiet, .threads = threads})
            .loss.back();
  }
  const std::size_t n = x.shape()[0];
  lb::set_training_counters(state, static_cast<double>(lb::steps_per_epoch(n, lb::vae_batch)),
                            static_cast<double>(n) * lb::vae_flops_per_sample, loss);
  state.counters["threads"] = static_cast<double>(threads);
}

// The ceiling of data parallelism on this machine: the same epoch's work as two independent halves
// (30 000 images each, own model and optimiser, one thread each) trained at the same time, one per
// core, with nothing shared. A data-parallel step cannot scale better than this.
void bm_vae_independent_halves(benchmark::State& state) {
  const auto& x = fashion_train();
  const std::size_t n = x.shape()[0], half = n / 2;
  std::vector<xt::xtensor<float, 2>> halves;
  for (std::size_t h = 0; h < 2; ++h) {
    xt::xtensor<float, 2> part = xt::xtensor<float, 2>::from_shape({half, VaeModel::input_size});
    std::copy(x.data() + h * half * VaeModel::input_size, x.data() + (h + 1) * half * VaeModel::input_size,
              part.data());
    halves.push_back(std::move(part));
  }
  // One epoch of its own model on half h, one thread; returns the final loss.
  auto train_half = [&](std::size_t h) {
    VaeModel model(h + 1);
    Adam opt;
    return fit(model, halves[h], opt,
               {.epochs = 1, .batch_size = lb::vae_batch, .progress = Progress::quiet, .threads = 1})
        .loss.back();
  };
  double loss = 0;
  for (auto _ : state) {
    double other_loss = 0;
    std::thread other([&] { other_loss = train_half(1); });
    const double own_loss = train_half(0);
    other.join();
    loss = 0.5 * (own_loss + other_loss);
  }
  lb::set_training_counters(state, static_cast<double>(lb::steps_per_epoch(half, lb::vae_batch)),
                            static_cast<double>(2 * half) * lb::vae_flops_per_sample, loss);
  state.counters["threads"] = 2;
}

// ---- forward + backward of one Dense layer ------------------------------------------------------------
template <std::size_t In, std::size_t Out, class Act, std::size_t Batch>
void bm_dense(benchmark::State& state) {
  using L = Dense<In, Out, Act>;
  aligned_buffer<float> p(L::param_count), g(L::param_count), x(Batch * In), y(Batch * Out), dy(Batch * Out),
      dx(Batch * In);
  Rng rng(1);
  L::init(p.data(), rng);
  for (auto& v : x) v = static_cast<float>(rng.uniform());
  Context<float> ctx;
  float* none = nullptr;
  for (auto _ : state) {
    L::forward(p.data(), x.data(), y.data(), none, Batch, ctx);
    for (std::size_t i = 0; i < Batch * Out; ++i) dy[i] = y[i] - 0.5f;
    L::backward(p.data(), x.data(), y.data(), none, dy.data(), dx.data(), g.data(), none, Batch, ctx);
    benchmark::DoNotOptimize(g.data());
    benchmark::ClobberMemory();
  }
  // forward 2·B·In·Out, weight gradient 2·B·In·Out, input gradient 2·B·In·Out
  state.counters["GFLOPs"] =
      benchmark::Counter(6.0 * Batch * In * Out * 1e-9, benchmark::Counter::kIsIterationInvariantRate);
}
#define LATENT_DENSE(IN, OUT, ACT, B)                                                                                  \
  BENCHMARK(bm_dense<IN, OUT, ACT, B>)                                                                                 \
      ->Name("dense-" #IN "x" #OUT "-b" #B "/" LATENT_BENCH_NAME)                                                      \
      ->Repetitions(5)                                                                                                 \
      ->DisplayAggregatesOnly(true)                                                                                    \
      ->Unit(benchmark::kMicrosecond)                                                                                  \
      ->UseRealTime()
LATENT_DENSE(784, 400, Relu, 128);
LATENT_DENSE(400, 40, Identity, 128);
LATENT_DENSE(20, 400, Relu, 128);
LATENT_DENSE(400, 784, Identity, 128);
LATENT_DENSE(100, 20, Relu, 32);
LATENT_DENSE(20, 5, Sigmoid, 32);
LATENT_DENSE(5, 20, Relu, 32);
LATENT_DENSE(20, 100, Sigmoid, 32);

// ---- the conv VAE of #11 (Keras's, code 16): training steps, and each conv layer -----------------------
struct ConvEncoder : Seq<Input<1, 28, 28>, Conv2D<32, 3, 2, Same, Relu>, Conv2D<64, 3, 2, Same, Relu>, Flatten,
                         Dense<3136, 16, Relu>, Gaussian<16>> {};
struct ConvDecoder : Seq<Dense<16, 3136, Relu>, Reshape<64, 7, 7>, ConvTranspose2D<64, 3, 2, Same, Relu>,
                         ConvTranspose2D<32, 3, 2, Same, Relu>, ConvTranspose2D<1, 3, 1, Same>> {};
using ConvVaeModel = VAE<ConvEncoder, ConvDecoder, Bernoulli>;
static_assert(ConvVaeModel::param_count == lb::conv_vae_parameters);

// As the libtorch rows (bench_peers): a fresh model per repetition, conv_vae_warmup_steps untimed steps
// on the first batches, then conv_vae_bench_steps timed steps of batch 128 on the first rows, in order;
// final_loss is the mean loss of the timed steps.
void bm_conv_vae_latent(benchmark::State& state) {
  const auto threads = static_cast<std::size_t>(state.range(0));
  const auto& x = fashion_train();
  constexpr auto steps = static_cast<std::size_t>(lb::conv_vae_bench_steps);
  constexpr std::size_t batch = lb::vae_batch;
  double loss = 0;
  for (auto _ : state) {
    state.PauseTiming();
    auto model = std::make_unique<ConvVaeModel>(1);
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
                            static_cast<double>(steps * batch) * lb::conv_vae_flops_per_sample(), loss);
  state.counters["threads"] = static_cast<double>(threads);
}

// Forward + backward (weight and input gradients) of one bound conv layer at batch 128: 3 × its
// forward FLOPs (the first layer of the model needs no input gradient, but is timed with one here).
template <class L>
void bm_conv_layer(benchmark::State& state) {
  constexpr std::size_t batch = 128;
  aligned_buffer<float> p(L::param_count), g(L::param_count), x(batch * L::in_size), y(batch * L::out_size),
      dy(batch * L::out_size), dx(batch * L::in_size);
  Rng rng(1);
  L::init(p.data(), rng);
  for (auto& v : x) v = static_cast<float>(rng.uniform());
  Context<float> ctx;
  float* none = nullptr;
  for (auto _ : state) {
    L::forward(p.data(), x.data(), y.data(), none, batch, ctx);
    for (std::size_t i = 0; i < batch * L::out_size; ++i) dy[i] = y[i] - 0.5f;
    L::backward(p.data(), x.data(), y.data(), none, dy.data(), dx.data(), g.data(), none, batch, ctx);
    benchmark::DoNotOptimize(g.data());
    benchmark::ClobberMemory();
  }
  state.counters["GFLOPs"] =
      benchmark::Counter(3.0 * L::forward_flops * batch * 1e-9, benchmark::Counter::kIsIterationInvariantRate);
}
#define LATENT_CONV(NAME, ...)                                                                                         \
  BENCHMARK(bm_conv_layer<__VA_ARGS__>)                                                                                \
      ->Name("conv-" NAME "-b128/" LATENT_BENCH_NAME)                                                                  \
      ->Repetitions(5)                                                                                                 \
      ->DisplayAggregatesOnly(true)                                                                                    \
      ->Unit(benchmark::kMicrosecond)                                                                                  \
      ->UseRealTime()
LATENT_CONV("1x28x28-conv32", detail::conv2d_layer<shape<1, 28, 28>, 32, 3, 2, Same, Relu>);
LATENT_CONV("32x14x14-conv64", detail::conv2d_layer<shape<32, 14, 14>, 64, 3, 2, Same, Relu>);
LATENT_CONV("64x7x7-convT64", detail::conv_transpose2d_layer<shape<64, 7, 7>, 64, 3, 2, Same, Relu>);
LATENT_CONV("64x14x14-convT32", detail::conv_transpose2d_layer<shape<64, 14, 14>, 32, 3, 2, Same, Relu>);
LATENT_CONV("32x28x28-convT1", detail::conv_transpose2d_layer<shape<32, 28, 28>, 1, 3, 1, Same, Identity>);

// ---- inference: the Predictor, the model's own call, a hand-written pre-packed loop ------------------
// Three nets (the seed encoder, the seed autoencoder, the VAE encoder), batches of 1, 8 and 256, all
// with the same weights in one binary; report.py prints them per sample. "latent" is the documented
// fast path (`Predictor`, caller-owned memory); "latent-model-call" the model's `encode` /
// `reconstruct` returning a new tensor (one sample as a vector); "handwritten-prepacked" the loop of
// benchmarks/hand_inference.hpp. Before timing, each checks its outputs against the model's own.
template <class Model, bool Whole>
struct infer_net {
  static constexpr std::size_t in = Model::input_size;
  static constexpr std::size_t out = Whole ? Model::input_size : Model::code_size;
  static Model& model() {
    static Model m = [] {
      Model mm(1);
      Rng rng(5);  // biases away from zero, so that a wrong bias shows
      for (auto& p : mm.parameters()) p += static_cast<float>(rng.uniform(-0.01, 0.01));
      return mm;
    }();
    return m;
  }
  static xt::xtensor<float, 2> input(std::size_t rows) {
    Rng rng(2);
    xt::xtensor<float, 2> x = xt::xtensor<float, 2>::from_shape({rows, in});
    for (auto& v : x) v = static_cast<float>(rng.uniform());
    return x;
  }
  static xt::xtensor<float, 2> reference(const xt::xtensor<float, 2>& x) {
    if constexpr (Whole)
      return model().reconstruct(x);
    else
      return model().encode(x);
  }
};

template <class Net>
bool close_to_model(benchmark::State& state, const xt::xtensor<float, 2>& x, const float* y) {
  const xt::xtensor<float, 2> ref = Net::reference(x);
  double worst = 0;
  for (std::size_t i = 0; i < ref.size(); ++i)
    worst = std::max(worst, std::abs(static_cast<double>(ref.data()[i]) - y[i]) /
                                std::max(1.0, std::abs(static_cast<double>(ref.data()[i]))));
  if (worst > 1e-5) state.SkipWithError(("outputs differ from the model's by " + std::to_string(worst)).c_str());
  return worst <= 1e-5;
}

template <class Net, std::size_t Batch>
void bm_infer_predictor(benchmark::State& state) {
  const xt::xtensor<float, 2> x = Net::input(Batch);
  xt::xtensor<float, 2> y = xt::xtensor<float, 2>::from_shape({Batch, Net::out});
  Predictor fast(Net::model());
  const auto call = [&] {
    if constexpr (Net::out == Net::in)
      fast.reconstruct(x.data(), Batch, y.data());
    else
      fast.encode(x.data(), Batch, y.data());
  };
  call();
  if (!close_to_model<Net>(state, x, y.data())) return;
  for (auto _ : state) {
    call();
    benchmark::DoNotOptimize(y.data());
    benchmark::ClobberMemory();
  }
  state.counters["samples_per_s"] = benchmark::Counter(Batch, benchmark::Counter::kIsIterationInvariantRate);
}

template <class Net, std::size_t Batch>
void bm_infer_model_call(benchmark::State& state) {
  const xt::xtensor<float, 2> x = Net::input(Batch);
  auto& m = Net::model();
  if constexpr (Batch == 1) {
    const xt::xtensor<float, 1> one = xt::view(x, 0, xt::all());
    for (auto _ : state) {
      if constexpr (Net::out == Net::in)
        benchmark::DoNotOptimize(m.reconstruct(one));
      else
        benchmark::DoNotOptimize(m.encode(one));
    }
  } else {
    for (auto _ : state) {
      if constexpr (Net::out == Net::in)
        benchmark::DoNotOptimize(m.reconstruct(x));
      else
        benchmark::DoNotOptimize(m.encode(x));
    }
  }
  state.counters["samples_per_s"] = benchmark::Counter(Batch, benchmark::Counter::kIsIterationInvariantRate);
}

template <class Net, std::size_t Batch>
void bm_infer_hand(benchmark::State& state) {
  const xt::xtensor<float, 2> x = Net::input(Batch);
  xt::xtensor<float, 2> y = xt::xtensor<float, 2>::from_shape({Batch, Net::out});
  using hand = lb::hand_net<typename Net::model_type, Net::out == Net::in>;
  auto net = std::make_unique<hand>(Net::model());  // packs once
  net->run(x.data(), Batch, y.data());
  if (!close_to_model<Net>(state, x, y.data())) return;
  for (auto _ : state) {
    net->run(x.data(), Batch, y.data());
    benchmark::DoNotOptimize(y.data());
    benchmark::ClobberMemory();
  }
  state.counters["samples_per_s"] = benchmark::Counter(Batch, benchmark::Counter::kIsIterationInvariantRate);
}

template <class Model, bool Whole>
struct infer_net_t : infer_net<Model, Whole> {
  using model_type = Model;
};
using SeedEncoderNet = infer_net_t<SeedModel, false>;
using SeedAutoencoderNet = infer_net_t<SeedModel, true>;
using VaeEncoderNet = infer_net_t<VaeModel, false>;

#define LATENT_INFER(NET, NAME, B)                                                                                     \
  BENCHMARK(bm_infer_predictor<NET, B>)                                                                                \
      ->Name("infer-" NAME "-b" #B "/" LATENT_BENCH_NAME)                                                              \
      ->Repetitions(5)                                                                                                 \
      ->MinTime(0.2)                                                                                                   \
      ->DisplayAggregatesOnly(true)                                                                                    \
      ->Unit(benchmark::kMicrosecond)                                                                                  \
      ->UseRealTime();                                                                                                 \
  BENCHMARK(bm_infer_model_call<NET, B>)                                                                               \
      ->Name("infer-" NAME "-b" #B "/" LATENT_BENCH_NAME "-model-call")                                                \
      ->Repetitions(5)                                                                                                 \
      ->MinTime(0.2)                                                                                                   \
      ->DisplayAggregatesOnly(true)                                                                                    \
      ->Unit(benchmark::kMicrosecond)                                                                                  \
      ->UseRealTime();                                                                                                 \
  BENCHMARK(bm_infer_hand<NET, B>)                                                                                     \
      ->Name("infer-" NAME "-b" #B "/handwritten-prepacked-" LATENT_BENCH_NAME)                                        \
      ->Repetitions(5)                                                                                                 \
      ->MinTime(0.2)                                                                                                   \
      ->DisplayAggregatesOnly(true)                                                                                    \
      ->Unit(benchmark::kMicrosecond)                                                                                  \
      ->UseRealTime()

LATENT_INFER(SeedEncoderNet, "seed-encoder", 1);
LATENT_INFER(SeedEncoderNet, "seed-encoder", 8);
LATENT_INFER(SeedEncoderNet, "seed-encoder", 256);
LATENT_INFER(SeedAutoencoderNet, "seed-autoencoder", 1);
LATENT_INFER(SeedAutoencoderNet, "seed-autoencoder", 8);
LATENT_INFER(SeedAutoencoderNet, "seed-autoencoder", 256);
LATENT_INFER(VaeEncoderNet, "vae-encoder", 1);
LATENT_INFER(VaeEncoderNet, "vae-encoder", 8);
LATENT_INFER(VaeEncoderNet, "vae-encoder", 256);

}  // namespace

int main(int argc, char** argv) {
  // Registered at run time: only when the data set is present, so the binary still runs without it.
  if (std::filesystem::exists(lb::fashion_mnist_path())) {
    for (int threads : {1, 2})
      benchmark::RegisterBenchmark(("vae/" LATENT_BENCH_NAME "-" + std::to_string(threads) + "t").c_str(),
                                   bm_vae_latent)
          ->Arg(threads)
          ->Iterations(1)
          ->Repetitions(5)
          ->MeasureProcessCPUTime()
          ->ReportAggregatesOnly(true)
          ->Unit(benchmark::kMillisecond)
          ->UseRealTime();
    for (int threads : {1, 2})
      benchmark::RegisterBenchmark(("convvae/" LATENT_BENCH_NAME "-" + std::to_string(threads) + "t").c_str(),
                                   bm_conv_vae_latent)
          ->Arg(threads)
          ->Iterations(1)
          ->Repetitions(5)
          ->MeasureProcessCPUTime()
          ->ReportAggregatesOnly(true)
          ->Unit(benchmark::kMillisecond)
          ->UseRealTime();
    lb::register_resnet_vae_training();
    lb::register_vq_training();
    benchmark::RegisterBenchmark("vae/" LATENT_BENCH_NAME "-2x1t-independent-halves", bm_vae_independent_halves)
        ->Iterations(1)
        ->Repetitions(5)
        ->MeasureProcessCPUTime()
        ->ReportAggregatesOnly(true)
        ->Unit(benchmark::kMillisecond)
        ->UseRealTime();
  }
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
