// The VAE with the VampPrior (issue 25, scope 4): the whole gradient — the pseudo-inputs' parameters and
// the encoder's weights reached through the pseudo-inputs' pass included — against finite differences in
// double, the prior's log-density against its definition written out, the training loss against the
// evaluation's, one thread against two (bits), save/load, a convolutional encoder, and learning on data
// with structure.
#include <doctest/doctest.h>
#include <latent/latent.hpp>
#include <latent/models/vamp_vae.hpp>
#include <latent/testing.hpp>

#include "support/check_macros.hpp"
#include "support/residual_parts.hpp"  // latent_test::residual: parts, learns, round_trips
#include "support/test_data.hpp"  // latent_test::same_bits

#include <xtensor/xtensor.hpp>  // xt::xtensor

#include <algorithm>   // std::min
#include <cmath>       // std::exp, std::log, std::sqrt, std::isfinite
#include <cstring>     // std::memcmp
#include <filesystem>  // std::filesystem: the save/load round trip's file
#include <numbers>     // std::numbers::pi
#include <string>      // std::string
#include <utility>     // std::as_const
#include <vector>      // std::vector

// The file's own names live in namespace test_vamp: the test programs compile several test files as one
// translation unit (tests/CMakeLists.txt), and each file's helpers stay its own.
namespace test_vamp {

namespace {

using namespace latent;

using latent_test::same_bits;

template <class T>
xt::xtensor<T, 2> pixels(std::size_t n, std::size_t d, std::uint64_t seed) {
  Rng rng(seed);
  xt::xtensor<T, 2> x = xt::xtensor<T, 2>::from_shape({n, d});
  for (auto& v : x) v = static_cast<T>(rng.uniform());
  return x;
}

struct Encoder : Seq<Dense<16, 12, Tanh>, Gaussian<2>> {};
struct Decoder : Seq<Dense<2, 12, Tanh>, Dense<12, 16>> {};  // logits for Bernoulli
using Model = VampVAE<Encoder, Decoder, 5>;                   // 5 pseudo-inputs (pythae's default: 50)

TEST_CASE("VampVAE: its facts, and the pseudo-inputs' parameters after the likelihood's") {
  static_assert(Model::components == 5);
  static_assert(Model::param_count == Encoder::param_count + Decoder::param_count + 5 * 16 + 16);
  static_assert(Model::prior_offset == Encoder::param_count + Decoder::param_count);
  static_assert(VampVAE<Encoder, Decoder>::components == 50);
  static_assert(AnchoredCodePrior<Model::prior_type, float> && CodePrior<Model::prior_type, double>);
  CHECK(Model::architecture().rfind("VampVAE<5><", 0) == 0);
  const Model m(3);
  // W ~ N(0.05, 0.01²), b = 0: every pseudo-input starts inside (0, 1).
  const auto u = m.pseudo_inputs();
  REQUIRE(u.shape()[0] == 5);
  REQUIRE(u.shape()[1] == 16);
  for (float v : u) CHECK((v > 0.0f && v < 0.2f));
  // The same weights as a VAE of the same parts and seed: the prior draws after them.
  const VAE<Encoder, Decoder> plain(3);
  CHECK(same_bits(plain.parameters(), m.parameters().subspan(0, Model::prior_offset)));
}

TEST_CASE("VampVAE: log p(z) is the mixture of the posteriors at the pseudo-inputs, written out") {
  VampVAE<Encoder, Decoder, 5, Bernoulli, double> m(4);
  Adam opt(1e-2);
  const auto x = pixels<double>(32, 16, 5);
  for (int s = 0; s < 5; ++s) m.train_batch(x.data(), 32, opt);  // components apart from their start

  const auto st = m.prior_statistics();
  REQUIRE(st.shape()[0] == 5);
  REQUIRE(st.shape()[1] == 4);
  // The components' means are the encoder's means at the pseudo-inputs.
  const auto mu = m.encode(m.pseudo_inputs());
  for (std::size_t k = 0; k < 5; ++k)
    for (std::size_t j = 0; j < 2; ++j) CHECK(st(k, j) == doctest::Approx(mu(k, j)).epsilon(1e-12));

  // p(z) = (1/K) Σ_k Π_j N(z_j; μ_kj, σ²_kj), as a plain product of densities.
  const xt::xtensor<double, 2> z{{0.0, 0.0}, {0.3, -0.7}, {1.5, 2.0}, {-2.5, 0.1}};
  const auto lp = m.prior_log_density(z);
  for (std::size_t r = 0; r < 4; ++r) {
    double p = 0;
    for (std::size_t k = 0; k < 5; ++k) {
      double q = 1;
      for (std::size_t j = 0; j < 2; ++j) {
        const double var = std::exp(st(k, 2 + j)), d = z(r, j) - st(k, j);
        q *= std::exp(-d * d / (2 * var)) / std::sqrt(2 * std::numbers::pi * var);
      }
      p += q / 5;
    }
    CHECK(lp(r) == doctest::Approx(std::log(p)).epsilon(1e-12));
  }
  CHECK_THROWS_AS(m.prior_log_density(xt::xtensor<double, 2>::from_shape({2, 3})), shape_error);
}

TEST_CASE("VampVAE: the gradient in double, the pseudo-inputs and the encoder through them included") {
  using M = VampVAE<Encoder, Decoder, 5, Bernoulli, double>;
  M m(6);
  const auto x = pixels<double>(7, 16, 7);
  // Away from the start: the pseudo-inputs differ, and some of their values are clamped by hardtanh (at
  // 0 or 1, where they get no gradient).
  Rng rng(8);
  auto p = m.parameters();
  std::size_t clamped = 0;
  for (std::size_t i = M::prior_offset; i < M::param_count; ++i) {
    p[i] += rng.uniform(-0.7, 0.7);
    if (i < M::prior_offset + 5 * 16) clamped += (p[i] < 0 || p[i] > 1);
  }
  REQUIRE(clamped > 10);
  const auto r = testing::gradient_check(m, [&] { return m.gradient(x.data(), 7); });
  LATENT_CHECK_RESULT(r);
  // The pseudo-inputs' parameters get a gradient (the check above compares it, and the encoder's, which
  // their pass adds to).
  m.set_noise_seed(1);
  m.gradient(x.data(), 7);
  const std::vector<double> with(m.gradients().begin(), m.gradients().end());
  double prior_norm = 0;
  for (std::size_t i = M::prior_offset; i < M::param_count; ++i) prior_norm += with[i] * with[i];
  CHECK(prior_norm > 0);
  // The training loss is −ELBO with the VampPrior: the evaluation's, at the same draws (the step's noise
  // generator reseeded by set_noise_seed(s) is Rng(s ^ 0x5eed)).
  m.set_noise_seed(9);
  const double loss = m.gradient(x.data(), 7);
  xt::xtensor<double, 2> xs = x;
  CHECK(loss == doctest::Approx(-m.elbo(xs, 9 ^ 0x5eedULL)).epsilon(1e-12));
  // With β the weight of the KL's estimate, warm-up included.
  m.set_beta(0.5);
  m.set_noise_seed(9);
  const double half = m.gradient(x.data(), 7);
  const auto [rec, kl] = m.elbo_terms(xs, 9 ^ 0x5eedULL);
  CHECK(half == doctest::Approx(rec + 0.5 * kl).epsilon(1e-12));
  m.set_beta(1);
  // log_likelihood with one draw is the ELBO at that draw: both use log p(z) of the mixture.
  CHECK(m.log_likelihood(xs, 1, 3) == doctest::Approx(m.elbo(xs, 3)).epsilon(1e-12));
  CHECK(m.log_likelihood(xs, 200, 3) > m.elbo(xs, 3));
}

TEST_CASE("VampVAE: two threads give one thread's bits (the batch and the pseudo-inputs couple)") {
  const auto x = pixels<float>(64, 16, 8);
  Model one(2), two(2);
  one.set_threads(1);
  two.set_threads(2);
  Adam a(1e-2), b(1e-2);
  for (int s = 0; s < 4; ++s) {
    const double l1 = one.train_batch(x.data(), 64, a);
    const double l2 = two.train_batch(x.data(), 64, b);
    CHECK(l1 == l2);
  }
  CHECK(same_bits(std::as_const(one).parameters(), std::as_const(two).parameters()));
  CHECK(same_bits(one.generate(6, 1), two.generate(6, 1)));
}

TEST_CASE("VampVAE: save and load carry the pseudo-inputs") {
  Model m(5);
  Adam opt(1e-2);
  const auto x = pixels<float>(32, 16, 9);
  for (int s = 0; s < 4; ++s) m.train_batch(x.data(), 32, opt);
  const auto path = (std::filesystem::temp_directory_path() / "latent_test_vamp.latent").string();
  save(m, path);
  Model back(77);
  CHECK_FALSE(same_bits(back.pseudo_inputs(), m.pseudo_inputs()));
  load(back, path);
  std::filesystem::remove(path);
  CHECK(same_bits(std::as_const(back).parameters(), std::as_const(m).parameters()));
  CHECK(same_bits(back.pseudo_inputs(), m.pseudo_inputs()));
  CHECK(same_bits(back.generate(8, 3), m.generate(8, 3)));
  CHECK(back.log_likelihood(x, 20, 1) == m.log_likelihood(x, 20, 1));
  // A file of another number of components is refused by its architecture.
  save(m, path);
  VampVAE<Encoder, Decoder, 6> other(1);
  CHECK_THROWS(load(other, path));
  std::filesystem::remove(path);
}

TEST_CASE("VampVAE: a run stopped and resumed from its checkpoint ends with the uninterrupted run's bits") {
  const auto x = pixels<float>(96, 16, 12);
  const auto path = (std::filesystem::temp_directory_path() / "latent_test_vamp.ckpt").string();
  std::filesystem::remove(path);
  const FitOptions options{.epochs = 4, .batch_size = 32, .progress = Progress::quiet};
  Model straight(1);
  straight.set_kl_warmup(10);  // the warm-up spans the stop
  Adam o1(1e-2);
  fit(straight, x, o1, options);

  Model first(1);
  first.set_kl_warmup(10);
  Adam o2(1e-2);
  FitOptions part = options;
  part.epochs = 2;
  part.checkpoint = path;
  fit(first, x, o2, part);
  Model resumed(77);
  resumed.set_kl_warmup(10);
  Adam o3(1e-2);
  FitOptions rest = options;
  rest.checkpoint = path;
  rest.resume = true;
  fit(resumed, x, o3, rest);
  std::filesystem::remove(path);
  CHECK(same_bits(std::as_const(resumed).parameters(), std::as_const(straight).parameters()));
  CHECK(same_bits(resumed.pseudo_inputs(), straight.pseudo_inputs()));
}

// A convolutional encoder: the pseudo-inputs are 1 × 8 × 8 images through the convolution.
struct ConvEncoder : Seq<Input<1, 8, 8>, Conv2D<4, 3, 2, Pad<1>, Relu>, Flatten, Gaussian<2>> {};
struct ConvDecoder : Seq<Dense<2, 32, Relu>, Dense<32, 64>> {};

TEST_CASE("VampVAE: a convolutional encoder, its gradient in double and a step in float") {
  VampVAE<ConvEncoder, ConvDecoder, 4, Bernoulli, double> d(3);
  const auto xd = pixels<double>(5, 64, 10);
  testing::gradient_check_options o;
  o.max_values = 300;
  LATENT_CHECK_RESULT(testing::gradient_check(d, [&] { return d.gradient(xd.data(), 5); }, o));

  VampVAE<ConvEncoder, ConvDecoder, 4> m(1);
  const auto x = pixels<float>(16, 64, 11);
  Adam opt(1e-3);
  const double loss = m.train_batch(x.data(), 16, opt);
  CHECK(std::isfinite(loss));
  CHECK(m.generate(3).shape()[1] == 64);
}

// 4 binary prototypes of 16 pixels; each row one of them with 5 % of its pixels flipped.
xt::xtensor<float, 2> prototypes(std::vector<float>& proto, std::size_t n, std::uint64_t seed) {
  Rng rng(seed);
  proto.resize(4 * 16);
  for (std::size_t c = 0; c < 4; ++c)
    for (std::size_t j = 0; j < 16; ++j) proto[c * 16 + j] = ((j / 4 == c) || (j % 4 == c)) ? 1.0f : 0.0f;
  xt::xtensor<float, 2> x = xt::xtensor<float, 2>::from_shape({n, 16});
  for (std::size_t r = 0; r < n; ++r) {
    const std::size_t c = static_cast<std::size_t>(rng.uniform() * 4) % 4;
    for (std::size_t j = 0; j < 16; ++j) {
      const float v = proto[c * 16 + j];
      x(r, j) = rng.uniform() < 0.05 ? 1.0f - v : v;
    }
  }
  return x;
}

// Mean over the rows of the squared distance to the nearest prototype.
double distance_to_prototypes(const xt::xtensor<float, 2>& y, const std::vector<float>& proto) {
  double total = 0;
  for (std::size_t r = 0; r < y.shape()[0]; ++r) {
    double best = 1e300;
    for (std::size_t c = 0; c < 4; ++c) {
      double d = 0;
      for (std::size_t j = 0; j < 16; ++j) d += (y(r, j) - proto[c * 16 + j]) * (y(r, j) - proto[c * 16 + j]);
      best = std::min(best, d);
    }
    total += best;
  }
  return total / static_cast<double>(y.shape()[0]);
}

TEST_CASE("VampVAE learns data with structure: the bound improves, and samples from the prior look like the data") {
  std::vector<float> proto;
  const auto x = prototypes(proto, 512, 21);
  const auto test = prototypes(proto, 256, 22);
  struct Enc : Seq<Dense<16, 32, Tanh>, Gaussian<2>> {};
  struct Dec : Seq<Dense<2, 32, Tanh>, Dense<32, 16>> {};
  VampVAE<Enc, Dec, 8> m(1);
  const double nll_before = -m.log_likelihood(test, 50, 1);
  const double far_before = distance_to_prototypes(m.generate(256, 2), proto);
  Adam opt(1e-2);
  const History h = fit(m, x, opt, {.epochs = 30, .batch_size = 64, .progress = Progress::quiet});
  const double nll = -m.log_likelihood(test, 50, 1);
  const double far = distance_to_prototypes(m.generate(256, 2), proto);
  // For comparison, not asserted: a VAE of the same parts with the N(0, I) prior, trained alike.
  VAE<Enc, Dec> plain(1);
  Adam opt_plain(1e-2);
  fit(plain, x, opt_plain, {.epochs = 30, .batch_size = 64, .progress = Progress::quiet});
  MESSAGE("VAE with N(0, I): test NLL " << -plain.log_likelihood(test, 50, 1) << " nats, samples' distance "
                                        << distance_to_prototypes(plain.generate(256, 2), proto));
  MESSAGE("test NLL " << nll_before << " -> " << nll << " nats; samples' squared distance to the nearest prototype "
                      << far_before << " -> " << far << "; loss " << h.loss.front() << " -> " << h.loss.back());
  // The data's own entropy, a floor for the NLL: 4 equiprobable prototypes (log 4), then 16 pixels each
  // flipped with probability 0.05 (16·H(0.05)): about 4.6 nats.
  const double entropy = std::log(4.0) - 16 * (0.05 * std::log(0.05) + 0.95 * std::log(0.95));
  CHECK(nll < 0.5 * nll_before);
  CHECK(nll < entropy + 1.0);
  CHECK(far < 0.5 * far_before);
  CHECK(far < 2.0);  // of 16 pixels, on average
}

namespace res = latent_test::residual;

// Residual parts (issue 25: every new model on Dense, convolutional and residual parts; the parts are
// tests/support/residual_parts.hpp). GroupNorm where the other models' residual tests have BatchNorm
// after the strided convolution: the pseudo-inputs run through the encoder beside the batch
// (code_prior_with_anchors_needs_an_encoder_without_state).
struct ResEnc : res::FlatEncoder<GroupNorm<2>, Gaussian<3>> {};
using ResDec = res::Decoder<3>;

TEST_CASE("VampVAE on residual parts with GroupNorm: learns, two threads give one thread's bits, save/load") {
  using Res = VampVAE<ResEnc, ResDec, 6>;  // 6 pseudo-inputs of 1 × 8 × 8
  const auto x = res::images();
  Res one(2), two(2);
  res::two_threads_agree(one, two, x);
  // Learning (the −ELBO falls), then save and load: the parameters (the pseudo-inputs among them) and
  // the outputs, bit for bit.
  Res m(1), back(77);
  res::learns(m, x, "VampVAE");
  res::round_trips(m, back, x, "vamp");
  CHECK(same_bits(back.generate(8, 3), m.generate(8, 3)));
}

}  // namespace
}  // namespace test_vamp
