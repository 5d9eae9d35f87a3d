// Beyond chains (#23): layers with state (BatchNorm), train and eval modes (Dropout), normalisation
// (GroupNorm, LayerNorm), activations standing alone (SiLU, GELU), residual branches and spatial
// attention. Gradients in double against central differences (normalisation in train mode through
// the batch statistics), two threads against one (state bit for bit), the state in files, checkpoints
// and the last-good rule, and no allocation in a step.
#include <doctest/doctest.h>

#include <latent/latent.hpp>
#include <latent/testing.hpp>
#include <xtensor/xview.hpp>

#include "support/allocation_counter.hpp"  // operator new replaced: allocations counted
#include "support/test_data.hpp"  // latent_test::random_rows

#include <unistd.h>

#include <cmath>
#include <fstream>
#include <filesystem>
#include <limits>
#include <memory>
#include <ratio>
#include <string>
#include <vector>

// The file's own names live in namespace test_blocks: the test programs compile several test files as one
// translation unit (tests/CMakeLists.txt), and each file's helpers stay its own.
namespace test_blocks {

using namespace latent;

namespace {
using Eps = std::ratio<1, 100000>;
using Momentum = std::ratio<1, 10>;

template <class L>
void check_layer_gradient(const char* what, bool training, std::uint64_t seed = 1) {
  testing::gradient_check_options o;
  o.training = training;
  o.rows = 6;
  o.seed = seed;
  const auto r = testing::gradient_check<L>(o);
  INFO(what << (training ? " (train mode)" : " (eval mode)"));
  CHECK_MESSAGE(static_cast<bool>(r), r.message());
}

using latent_test::random_rows;

std::string temp_path(const std::string& name) {
  return (std::filesystem::temp_directory_path() / ("latent-blocks-" + std::to_string(::getpid()) + "-" + name))
      .string();
}

template <class M>
std::vector<typename M::scalar_type> state_of(const M& m) {
  return {m.state().begin(), m.state().end()};
}
template <class M>
std::vector<typename M::scalar_type> params_of(const M& m) {
  return {m.parameters().begin(), m.parameters().end()};
}

// A flat model whose BatchNorm follows a Dense layer: its input is x·W + b, computed here by hand.
struct FlatEnc : Seq<Dense<12, 8>, BatchNorm, Relu, Dense<8, 3>> {};
struct FlatDec : Seq<Dense<3, 8>, BatchNormWith<std::ratio<1, 4>, std::ratio<1, 1000>>, Relu, Dense<8, 12>> {};

template <std::size_t C>
using ResBlock = Residual<Seq<GroupNorm<2>, Silu, Conv2D<C, 3, 1, Same>, GroupNorm<2>, Silu, Conv2D<C, 3, 1, Same>>>;
struct ConvEnc : Seq<Input<1, 6, 6>, Conv2D<4, 3, 2, Pad<1>>, BatchNorm, Relu, ResBlock<4>,
                     Residual<Seq<Conv2D<8, 3, 1, Same>, Gelu>, Conv2D<8, 1>>, Flatten, Dense<72, 3>> {};
struct ConvDec : Seq<Dense<3, 36>, Reshape<4, 3, 3>, ResBlock<4>, ConvTranspose2D<4, 3, 2, Pad<1, 1>>, BatchNorm, Relu,
                     ConvTranspose2D<1, 3, 1, Same>> {};
}  // namespace

TEST_CASE("normalisation, activation, dropout and residual layers: gradients in double against central differences") {
  using BNflat = detail::batch_norm_layer<flat<7>, Momentum, Eps>;
  using BNshaped = detail::batch_norm_layer<shape<3, 4, 5>, Momentum, Eps>;
  check_layer_gradient<BNflat>("BatchNorm after a flat layer", true);
  check_layer_gradient<BNflat>("BatchNorm after a flat layer", false);
  check_layer_gradient<BNshaped>("BatchNorm after a shaped layer", true);
  check_layer_gradient<BNshaped>("BatchNorm after a shaped layer", false);
  check_layer_gradient<detail::group_norm_layer<shape<6, 3, 3>, 3, Eps>>("GroupNorm<3> on 6 channels", true);
  check_layer_gradient<detail::group_norm_layer<shape<4, 2, 5>, 4, std::ratio<1, 1000000>>>("GroupNorm<4>", false);
  check_layer_gradient<detail::group_norm_layer<flat<8>, 1, Eps>>("LayerNorm after a flat layer", true);
  check_layer_gradient<detail::activation_layer<shape<2, 3, 3>, Silu>>("Silu as a layer", true);
  check_layer_gradient<detail::activation_layer<flat<9>, Gelu>>("Gelu as a layer", true);
  check_layer_gradient<detail::activation_layer<flat<9>, Tanh>>("Tanh as a layer", true);
  check_layer_gradient<detail::dropout_layer<flat<9>, 30, 100>>("Dropout<30>", true);
  check_layer_gradient<detail::dropout_layer<flat<9>, 30, 100>>("Dropout<30>", false);
  using Res = Residual<Seq<Conv2D<3, 3, 1, Same>, Silu, Conv2D<3, 3, 1, Same>>>::bind_shape<shape<3, 4, 4>>;
  check_layer_gradient<Res>("Residual<Conv, Silu, Conv>", true);
  using Projected = Residual<Seq<GroupNorm<1>, Conv2D<5, 3, 2, Same>>, Conv2D<5, 1, 2>>::bind_shape<shape<3, 4, 4>>;
  check_layer_gradient<Projected>("Residual with a strided 1x1 projection", true);
  using FlatRes = Residual<Seq<Dense<6, 6, Tanh>, LayerNorm>>::bind_shape<flat<6>>;
  check_layer_gradient<FlatRes>("Residual on a flat input", true);
  check_layer_gradient<SpatialAttention<2>::bind_shape<shape<4, 3, 3>>>("SpatialAttention<2> on 4x3x3", true);
  check_layer_gradient<MaxPool2D<2>::bind_shape<shape<2, 5, 5>>>("MaxPool2D<2> on 2x5x5", true);
  check_layer_gradient<MaxPool2D<3, 2>::bind_shape<shape<1, 7, 7>>>("MaxPool2D<3, 2> on 1x7x7", true);
  for (const auto& r : {testing::gradient_check<Silu>(), testing::gradient_check<Gelu>()})
    CHECK_MESSAGE(static_cast<bool>(r), r.message());
}

TEST_CASE("a model with BatchNorm, GroupNorm and residual blocks: the train-mode gradient through the batch statistics, on 1 and 2 threads") {
  Autoencoder<ConvEnc, ConvDec, MSE, double> m(1);
  const auto x = random_rows<double>(6, 36, 5);
  testing::gradient_check_options o;
  o.max_values = 400;
  for (std::size_t threads : {1, 2}) {
    m.set_threads(threads);
    const auto r = testing::gradient_check(m, [&] { return m.gradient(x.data(), 6); }, o);
    INFO("threads " << threads);
    CHECK_MESSAGE(static_cast<bool>(r), r.message());
  }
  // The input gradient of a whole model is checked through its loss: a VAE with the same blocks.
  VAE<Seq<Input<1, 6, 6>, Conv2D<4, 3, 2, Pad<1>>, BatchNorm, Relu, ResBlock<4>, Flatten, Gaussian<2>>,
      Seq<Dense<2, 36>, Reshape<4, 3, 3>, ResBlock<4>, ConvTranspose2D<1, 3, 2, Pad<1, 1>>>, Bernoulli, double>
      vae(2);
  Rng rng(9);
  xt::xtensor<double, 2> pixels = xt::xtensor<double, 2>::from_shape({5, 36});
  for (auto& v : pixels) v = rng.uniform();
  const auto rv = testing::gradient_check(vae, [&] { return vae.gradient(pixels.data(), 5); }, o);
  CHECK_MESSAGE(static_cast<bool>(rv), rv.message());
  // Latent diffusion's shape of model: a spatial code (SpatialGaussian: μ and log σ² per position from a
  // 1×1 convolution), attention in the middle, upsampling and a convolution up.
  VAE<Seq<Input<1, 8, 8>, Conv2D<4, 3, 2, Pad<1>>, GroupNorm<2>, Silu, SpatialAttention<2>, SpatialGaussian<2>>,
      Seq<Input<2, 4, 4>, Conv2D<4, 3, 1, Same>, Upsample2D<2>, Conv2D<4, 3, 1, Same>, GroupNorm<2>, Silu,
          Conv2D<1, 3, 1, Same>>,
      Bernoulli, double>
      kl(3);
  CHECK(kl.code_size == 2 * 4 * 4);
  xt::xtensor<double, 2> images = xt::xtensor<double, 2>::from_shape({4, 64});
  for (auto& v : images) v = rng.uniform();
  const auto rk = testing::gradient_check(kl, [&] { return kl.gradient(images.data(), 4); }, o);
  CHECK_MESSAGE(static_cast<bool>(rk), rk.message());
}

// Every new layer in one model, through the public contract a user's own layers are held to
// (latent::testing::thread_check): a step split over two threads gives one thread's gradient.
struct LawEnc : Seq<Input<2, 6, 6>, Conv2D<4, 3, 1, Same>, BatchNorm, MaxPool2D<2>, SpatialAttention<2>, Silu,
                    Flatten, LayerNorm, Dense<36, 5>> {};
struct LawDec : Seq<Dense<5, 72>, Reshape<2, 6, 6>, GroupNorm<2>, Gelu,
                    Residual<Seq<Conv2D<4, 3, 1, Same>, Relu>, Conv2D<4, 1>>, Conv2D<2, 3, 1, Same>, Flatten> {};

TEST_CASE("law: with BatchNorm, MaxPool2D, SpatialAttention, LayerNorm, GroupNorm, Silu, Gelu and a residual block, two threads give one thread's gradient") {
  auto m = std::make_unique<Autoencoder<LawEnc, LawDec, MSE>>(3);
  const auto x = random_rows<float>(64, 72, 11);
  const auto r = testing::thread_check(*m, x.data(), 64);
  CHECK_MESSAGE(static_cast<bool>(r), r.message());
}

TEST_CASE("BatchNorm's running statistics follow PyTorch's update, once per step, the same bits on one thread and two") {
  using Model = Autoencoder<FlatEnc, FlatDec, MSE, double>;
  const auto x = random_rows<double>(64, 12, 3, 2.0, 1.0);
  Model m1(1), m2(1);
  CHECK(Model::state_size == (2 * 8 + 1) * 2);
  // Before training: mean 0, variance 1, no batches tracked.
  CHECK(m1.state()[0] == 0.0);
  CHECK(m1.state()[8] == 1.0);
  CHECK(m1.state()[16] == 0.0);
  // The first BatchNorm's input, by hand: x·W + b of the first Dense layer (W row-major 12 × 8, then b).
  const auto p = m1.parameters();
  std::vector<double> mean(8, 0.0), var(8, 0.0);
  for (std::size_t r = 0; r < 64; ++r)
    for (std::size_t c = 0; c < 8; ++c) {
      double z = p[96 + c];
      for (std::size_t i = 0; i < 12; ++i) z += x(r, i) * p[i * 8 + c];
      mean[c] += z / 64;
    }
  for (std::size_t r = 0; r < 64; ++r)
    for (std::size_t c = 0; c < 8; ++c) {
      double z = p[96 + c];
      for (std::size_t i = 0; i < 12; ++i) z += x(r, i) * p[i * 8 + c];
      var[c] += (z - mean[c]) * (z - mean[c]) / 63;  // unbiased, as PyTorch's running variance
    }
  m1.set_threads(1);
  m2.set_threads(2);
  Adam o1(1e-2), o2(1e-2);
  m1.train_batch(x.data(), 64, o1);
  m2.train_batch(x.data(), 64, o2);
  for (std::size_t c = 0; c < 8; ++c) {
    CHECK(m1.state()[c] == doctest::Approx(0.1 * mean[c]).epsilon(1e-12));
    CHECK(m1.state()[8 + c] == doctest::Approx(0.9 + 0.1 * var[c]).epsilon(1e-12));
  }
  CHECK(m1.state()[16] == 1.0);
  CHECK(state_of(m1) == state_of(m2));  // bit for bit: the batch's sums run over every row in row order
  // The decoder's BatchNorm has its own momentum (1/4) and ε: its statistics move by a quarter.
  CHECK(m1.state()[17 + 16] == 1.0);
  CHECK(m1.state()[17 + 8] != 1.0);
  // Once per step: a gradient alone changes nothing.
  const auto before = state_of(m1);
  m1.gradient(x.data(), 64);
  CHECK(state_of(m1) == before);
}

TEST_CASE("train and eval modes: encode uses the running statistics, Dropout drops only in training steps") {
  using Model = Autoencoder<FlatEnc, FlatDec, MSE, double>;
  const auto x = random_rows<double>(32, 12, 7);
  Model m(1);
  Adam opt(1e-2);
  for (int i = 0; i < 5; ++i) m.train_batch(x.data(), 32, opt);
  // Eval mode, by hand for the encoder: Dense, BatchNorm with the running statistics, Relu, Dense.
  const auto p = m.parameters();
  const auto s = m.state();
  const auto z = m.encode(x);
  for (std::size_t r = 0; r < 3; ++r)
    for (std::size_t k = 0; k < 3; ++k) {
      double out = p[96 + 8 + 16 + 24 + k];  // the second Dense's bias (after W1, b1, γ, β, W2)
      for (std::size_t c = 0; c < 8; ++c) {
        double h = p[96 + c];
        for (std::size_t i = 0; i < 12; ++i) h += x(r, i) * p[i * 8 + c];
        h = p[104 + c] * (h - s[c]) / std::sqrt(s[8 + c] + 1e-5) + p[112 + c];
        out += std::max(h, 0.0) * p[120 + c * 3 + k];
      }
      CHECK(z(r, k) == doctest::Approx(out).epsilon(1e-10));
    }
  // A whole-batch evaluation and a one-row one agree (eval mode couples nothing).
  const xt::xtensor<double, 2> one = xt::view(x, xt::range(0, 1), xt::all());
  CHECK(m.encode(one)(0, 1) == doctest::Approx(z(0, 1)).epsilon(1e-12));

  // Dropout: eval-mode calls are deterministic and drop nothing; a training step's gradient depends
  // on the step's generator.
  struct DEnc : Seq<Dense<12, 16, Relu>, Dropout<50>, Dense<16, 3>> {};
  struct DDec : Seq<Dense<3, 12>> {};
  Autoencoder<DEnc, DDec, MSE, double> d(2);
  CHECK(d.encode(x) == d.encode(x));
  CHECK(d.loss(x) == d.loss(x));
  d.set_noise_seed(1);
  d.gradient(x.data(), 32);
  const std::vector<double> g1(d.gradients().begin(), d.gradients().end());
  d.set_noise_seed(2);
  d.gradient(x.data(), 32);
  const std::vector<double> g2(d.gradients().begin(), d.gradients().end());
  d.set_noise_seed(1);
  d.gradient(x.data(), 32);
  const std::vector<double> g3(d.gradients().begin(), d.gradients().end());
  CHECK(g1 != g2);
  CHECK(g1 == g3);
  // Half the hidden units are dropped: about half of the first layer's weight gradients are zero for a
  // one-row step (a dropped unit passes no gradient back).
  d.gradient(x.data(), 1);
  std::size_t zero = 0;
  for (std::size_t c = 0; c < 16; ++c) zero += d.gradients()[c] == 0.0 ? 1 : 0;  // the first input's row of W
  CHECK(zero >= 3);
  CHECK(zero <= 13);
}

TEST_CASE("the state goes through save and load, checkpoints (bit-identical resume) and the last-good rule") {
  using Model = Autoencoder<ConvEnc, ConvDec, MSE>;
  const auto x = random_rows<float>(48, 36, 11);
  const std::string path = temp_path("state.latent");
  Model m(1);
  Adam opt(1e-3);
  fit(m, x, opt, {.epochs = 2, .batch_size = 16, .progress = Progress::quiet});
  save(m, path);
  CHECK(inspect(path).state_values == Model::state_size);
  Model other(2);
  load(other, path);
  CHECK(state_of(other) == state_of(m));
  CHECK(params_of(other) == params_of(m));
  CHECK(other.encode(x) == m.encode(x));
  std::filesystem::remove(path);

  // A resumed run ends with the state and weights of an uninterrupted one.
  const std::string ckpt = temp_path("state.ckpt");
  std::filesystem::remove(ckpt);
  Model straight(3), first(3), resumed(99);
  Adam a1, a2, a3;
  fit(straight, x, a1, {.epochs = 4, .batch_size = 16, .seed = 5, .progress = Progress::quiet});
  fit(first, x, a2, {.epochs = 2, .batch_size = 16, .seed = 5, .progress = Progress::quiet, .checkpoint = ckpt});
  fit(resumed, x, a3,
      {.epochs = 4, .batch_size = 16, .seed = 5, .progress = Progress::quiet, .checkpoint = ckpt, .resume = true});
  CHECK(state_of(resumed) == state_of(straight));
  CHECK(params_of(resumed) == params_of(straight));
  std::filesystem::remove(ckpt);

  // A non-finite loss puts back the parameters and the state of the last good step.
  Model g(4);
  Adam o(1e-3);
  g.train_batch(x.data(), 16, o);
  const auto good_state = state_of(g);
  const auto good_params = params_of(g);
  g.train_batch(x.data(), 16, o);
  CHECK(state_of(g) != good_state);
  xt::xtensor<float, 2> bad = x;
  bad(0, 0) = std::numeric_limits<float>::infinity();  // the loss of this batch is not finite
  CHECK_THROWS_AS(g.train_batch(bad.data(), 16, o), numerical_error);
  CHECK(state_of(g) == good_state);
  CHECK(params_of(g) == good_params);
}

TEST_CASE("a training step with BatchNorm, GroupNorm, residual blocks and Dropout allocates nothing, on 1 and 2 threads") {
  struct Enc : Seq<Input<1, 6, 6>, Conv2D<4, 3, 2, Pad<1>>, BatchNorm, Relu, ResBlock<4>, Dropout<10>, Flatten,
                   Gaussian<3>> {};
  VAE<Enc, ConvDec, Bernoulli> m(1);
  Rng rng(2);
  xt::xtensor<float, 2> x = xt::xtensor<float, 2>::from_shape({64, 36});
  for (auto& v : x) v = static_cast<float>(rng.uniform());
  for (std::size_t threads : {1, 2}) {
    m.set_threads(threads);
    Adam opt;
    m.train_batch(x.data(), 64, opt);  // the workspaces grow
    m.train_batch(x.data(), 64, opt);
    test_support::allocation_counter counted;
    m.train_batch(x.data(), 64, opt);
    counted.stop();
    INFO("threads " << threads);
    CHECK(counted.count() == 0);
  }
}
}  // namespace test_blocks
