// The regularised deterministic autoencoders (issue 25, scope 3) and the post-hoc sampler (scope 4):
// both RAEs' penalties written out and differentiated numerically in double (RAE-GP's estimate with its
// directions held fixed), the estimate's mean against the decoder's Jacobian computed directly, one
// thread against two, save/load and resume, learning on the shapes data, and generation from a mixture
// fitted to the codes.
#include <doctest/doctest.h>
#include <latent/analysis/posthoc_sampler.hpp>
#include <latent/latent.hpp>
#include <latent/models/rae.hpp>
#include <latent/testing.hpp>

#include <xtensor/xtensor.hpp>  // xt::xtensor
#include <xtensor/xview.hpp>    // xt::view: the first rows

#include <algorithm>   // std::min
#include <cmath>       // std::sqrt, std::tanh, std::abs
#include <filesystem>  // std::filesystem: the save/load and checkpoint files
#include <limits>      // std::numeric_limits
#include <string>      // std::string
#include <utility>     // std::as_const
#include <vector>      // std::vector

#include "support/test_data.hpp"  // latent_test::same_bits

// The file's own names live in namespace test_rae: the test programs compile several test files as one
// translation unit (tests/CMakeLists.txt), and each file's helpers stay its own.
namespace test_rae {

namespace {

using namespace latent;

using latent_test::same_bits;

template <class T>
xt::xtensor<T, 2> random_rows(std::size_t n, std::size_t d, std::uint64_t seed) {
  Rng rng(seed);
  xt::xtensor<T, 2> x = xt::xtensor<T, 2>::from_shape({n, d});
  for (auto& v : x) v = static_cast<T>(rng.uniform(0.05, 0.95));
  return x;
}

// A small smooth model: the decoder's Jacobian at a code is W1ᵀ·diag(1 − a²)·W2, written out below.
struct SmallEncoder : Seq<Dense<5, 4, Tanh>, Dense<4, 3>> {};
struct SmallDecoder : Seq<Dense<3, 6, Tanh>, Dense<6, 5>> {};

// ‖J‖²_F and tr((JᵀJ)²) of SmallDecoder at code z (decoder parameters p: W1 3×6, b1, W2 6×5, b2).
std::pair<double, double> jacobian_norms(const double* p, const double* z) {
  const double* W1 = p;
  const double* b1 = p + 18;
  const double* W2 = p + 24;
  double a[6], J[5][3] = {};
  for (int h = 0; h < 6; ++h) {
    double s = b1[h];
    for (int j = 0; j < 3; ++j) s += z[j] * W1[j * 6 + h];
    a[h] = std::tanh(s);
  }
  for (int i = 0; i < 5; ++i)
    for (int j = 0; j < 3; ++j)
      for (int h = 0; h < 6; ++h) J[i][j] += W2[h * 5 + i] * (1 - a[h] * a[h]) * W1[j * 6 + h];
  double fro = 0, jtj[3][3] = {};
  for (int i = 0; i < 5; ++i)
    for (int j = 0; j < 3; ++j) {
      fro += J[i][j] * J[i][j];
      for (int k = 0; k < 3; ++k) jtj[j][k] += J[i][j] * J[i][k];
    }
  double tr = 0;
  for (int j = 0; j < 3; ++j)
    for (int k = 0; k < 3; ++k) tr += jtj[j][k] * jtj[j][k];
  return {fro, tr};
}

// ---- the penalties and their gradients --------------------------------------------------------------

TEST_CASE("RAE_L2: β·½‖z‖² + λ‖θ_dec‖² as written, and its gradient (double)") {
  // The hooks on their own.
  const RaeL2Penalty p{.embedding_weight = 0.3, .reg_weight = 0.05};
  const double z[4] = {0.5, -1.0, 2.0, 0.25};
  double dz[4] = {};
  CHECK(p.code_penalty(z, dz, 2, 2, 0.5) == doctest::Approx(0.3 * 0.5 * (0.25 + 1 + 4 + 0.0625)).epsilon(1e-14));
  CHECK(dz[2] == doctest::Approx(0.5 * 0.3 * 2.0).epsilon(1e-14));
  const double theta[3] = {1.0, -2.0, 0.5};
  double g[3] = {1, 1, 1};
  CHECK(p.decoder_penalty(theta, g, 3, 0.25) == doctest::Approx(0.05 * 5.25).epsilon(1e-14));
  CHECK(g[1] == doctest::Approx(1 + 0.25 * 2 * 0.05 * -2.0).epsilon(1e-14));

  // The model: training loss = reconstruction + the mean embedding penalty + λ‖θ_dec‖².
  using M = RAE_L2<SmallEncoder, SmallDecoder, MSE, double>;
  M m(3, p);
  const auto x = random_rows<double>(6, 5, 2);
  const double total = m.gradient(x.data(), 6);
  const auto codes = m.encode(x);
  double emb = 0, dec = 0;
  for (const double c : codes) emb += 0.5 * 0.3 * c * c / 6;
  for (std::size_t i = SmallEncoder::param_count; i < M::param_count; ++i) dec += m.parameters()[i] * m.parameters()[i];
  CHECK(total == doctest::Approx(m.loss(x) + emb + 0.05 * dec).epsilon(1e-12));
  const auto r = testing::gradient_check(m, [&] { return m.gradient(x.data(), 6); });
  INFO(r.message());
  CHECK(r);
  CHECK(M::architecture().rfind("RAE_L2<", 0) == 0);
}

// The decoder hook alone makes a regulariser (a user's trains through RegularisedAutoencoder).
struct DecoderDecay {
  static constexpr const char* name = "DecoderDecay";
  template <class T>
  double decoder_penalty(const T*, T*, std::size_t, T) const {
    return 0;
  }
};
static_assert(Regulariser<DecoderDecay, float> && Regulariser<RaeL2Penalty, double> && Regulariser<RaeGpPenalty, float>);

TEST_CASE("RAE_GP: the gradient of the estimate, its directions held fixed, on Dense and convolutional decoders") {
  const auto x = random_rows<double>(5, 5, 4);
  for (const JacobianEstimate e : {JacobianEstimate::hutchinson, JacobianEstimate::coordinates}) {
    INFO("estimate " << (e == JacobianEstimate::hutchinson ? "hutchinson" : "coordinates"));
    RAE_GP<SmallEncoder, SmallDecoder, MSE, double> m(
        5, {.embedding_weight = 0.2, .reg_weight = 0.5, .estimate = e, .directions = 3, .step = 0.05});
    const auto r = testing::gradient_check(m, [&] { return m.gradient(x.data(), 5); });
    INFO(r.message());
    CHECK(r);
    // The penalty is there: the gradient without it differs.
    const std::vector<double> with(m.gradients().begin(), m.gradients().end());
    m.set_penalty({.embedding_weight = 0.2, .reg_weight = 0});
    m.gradient(x.data(), 5);
    double diff = 0;
    for (std::size_t i = 0; i < with.size(); ++i) diff = std::max(diff, std::abs(with[i] - m.gradients()[i]));
    CHECK(diff > 1e-3);
  }
  // A convolutional decoder (the extra passes are the decoder's own, whatever its layers).
  struct ConvDecoder : Seq<Dense<3, 16, Tanh>, Reshape<1, 4, 4>, Conv2D<2, 3, 1, Same, Tanh>, Conv2D<1, 3, 1, Same>, Flatten> {};
  struct FlatEncoder : Seq<Dense<16, 3, Tanh>> {};
  RAE_GP<FlatEncoder, ConvDecoder, MSE, double> c(2, {.reg_weight = 0.5, .directions = 2});
  const auto xc = random_rows<double>(5, 16, 8);
  const auto r = testing::gradient_check(c, [&] { return c.gradient(xc.data(), 5); }, {.max_values = 60});
  INFO(r.message());
  CHECK(r);
}

TEST_CASE("RAE_GP: the estimate's mean is the decoder's ‖J‖²_F, computed directly") {
  using M = RAE_GP<SmallEncoder, SmallDecoder, MSE, double>;
  constexpr std::size_t n = 4, K = 4000;
  const auto x = random_rows<double>(n, 5, 9);
  M m(7, {.embedding_weight = 0, .reg_weight = 1, .directions = K, .step = 1e-4});
  const auto codes = m.encode(x);
  const double* dec = m.parameters().data() + SmallEncoder::param_count;
  double exact = 0, variance = 0;
  for (std::size_t r = 0; r < n; ++r) {
    const auto [fro, tr] = jacobian_norms(dec, &codes(r, 0));
    exact += fro / n;
    variance += 2 * tr / K / (n * n);  // Var ‖Jv‖² = 2 tr((JᵀJ)²) per Gaussian direction
  }
  // The penalty's part of the training loss (the embedding weight is 0): the mean over rows of λ·estimate.
  const double hutchinson = m.gradient(x.data(), n) - m.loss(x);
  const double sd = std::sqrt(variance);
  INFO("‖J‖²_F " << exact << ", Hutchinson with " << K << " directions " << hutchinson << ", sd " << sd);
  MESSAGE("‖J‖²_F " << exact << ", Hutchinson with " << K << " directions " << hutchinson << " (sd " << sd << ")");
  CHECK(5 * sd < 0.1 * exact);  // the check has power
  CHECK(std::abs(hutchinson - exact) < 5 * sd + 1e-6 * exact);
  m.set_penalty({.embedding_weight = 0, .reg_weight = 1, .estimate = JacobianEstimate::coordinates, .step = 1e-4});
  const double axes = m.gradient(x.data(), n) - m.loss(x);
  CHECK(axes == doctest::Approx(exact).epsilon(1e-7));  // O(h²) truncation: ~1e-9 here
}

TEST_CASE("RAE: bad settings are option_errors naming the field") {
  using L2 = RAE_L2<SmallEncoder, SmallDecoder>;
  using GP = RAE_GP<SmallEncoder, SmallDecoder>;
  CHECK_THROWS_WITH_AS(L2(1, {.embedding_weight = -1}),
                       "latent: RaeL2Penalty: expected embedding_weight >= 0, found -1.000000", option_error);
  CHECK_THROWS_AS(L2(1, {.reg_weight = std::numeric_limits<double>::quiet_NaN()}), option_error);
  CHECK_THROWS_AS(GP(1, {.reg_weight = -1e-3}), option_error);
  CHECK_THROWS_WITH_AS(GP(1, {.step = 0}), "latent: RaeGpPenalty: expected step > 0, found 0.000000", option_error);
  CHECK_THROWS_AS(GP(1, {.directions = 0}), option_error);
  CHECK_NOTHROW(GP(1, {.estimate = JacobianEstimate::coordinates, .directions = 0}));
  GP ok(1);
  CHECK_THROWS_AS(ok.set_penalty({.step = -1}), option_error);
  CHECK(ok.penalty().step == 1e-2);
}

// ---- threads, save/load, resume ---------------------------------------------------------------------

struct MidEncoder : Seq<Dense<16, 32, Tanh>, Dense<32, 4>> {};
struct MidDecoder : Seq<Dense<4, 32, Tanh>, Dense<32, 16>> {};

// Both penalties add to the decoder's weight gradients, so their steps run unsplit (models/rae.hpp):
// two threads give one thread's bits, step after step.
template <class M>
void check_threads(const typename M::regulariser_type& penalty, std::size_t n) {
  const auto x = random_rows<float>(n, 16, 5);
  M one(9, penalty), two(9, penalty);
  one.set_threads(1);
  two.set_threads(2);
  // The same parts without the penalty split this batch over two threads: the test is not vacuous.
  Autoencoder<MidEncoder, MidDecoder> plain(9);
  plain.set_threads(2);
  REQUIRE_MESSAGE(plain.threads_for(n, 1.0) == 2, "this machine gives the step only one thread");
  CHECK(one.gradient(x.data(), n) == two.gradient(x.data(), n));
  CHECK(same_bits(one.gradients(), two.gradients()));
  Adam a(1e-2), b(1e-2);
  for (int step = 0; step < 4; ++step) {
    const double la = one.train_batch(x.data(), n, a), lb = two.train_batch(x.data(), n, b);
    CHECK(la == lb);
  }
  CHECK(same_bits(std::as_const(one).parameters(), std::as_const(two).parameters()));
  CHECK(one.training_steps() == 4);
}

TEST_CASE("RAE_L2 and RAE_GP: two threads give one thread's bits") {
  SUBCASE("RAE_L2") {
    check_threads<RAE_L2<MidEncoder, MidDecoder>>({.embedding_weight = 1e-2, .reg_weight = 1e-2}, 96);
  }
  // The gradient penalty dominates the loss.
  SUBCASE("RAE_GP, Hutchinson") {
    check_threads<RAE_GP<MidEncoder, MidDecoder>>({.embedding_weight = 1e-2, .reg_weight = 1.0, .directions = 2},
                                                  96);
  }
  SUBCASE("RAE_GP, coordinates") {
    check_threads<RAE_GP<MidEncoder, MidDecoder>>(
        {.embedding_weight = 1e-2, .reg_weight = 1.0, .estimate = JacobianEstimate::coordinates}, 96);
  }
}

TEST_CASE("RAE_GP: the directions follow the seed and the step, and a fit on two threads is a fit on one") {
  const auto x = random_rows<float>(48, 16, 5);
  const RaeGpPenalty gp{.embedding_weight = 1e-2, .reg_weight = 1.0, .directions = 2};
  RAE_GP<MidEncoder, MidDecoder> one(9, gp);
  const double l1 = one.gradient(x.data(), 48);
  CHECK(one.gradient(x.data(), 48) == l1);  // gradient takes no step: the same directions
  RaeGpPenalty other = gp;
  other.seed = 1;
  one.set_penalty(other);
  CHECK(std::abs(one.gradient(x.data(), 48) - l1) > 1e-3 * std::abs(l1));  // other directions: another value
  one.set_penalty(gp);
  // fit with threads = 2 against threads = 1 (shuffled mini-batches, new directions each step).
  RAE_GP<MidEncoder, MidDecoder> a(9, gp), b(9, gp);
  Adam oa(1e-2), ob(1e-2);
  const FitOptions two{.epochs = 2, .batch_size = 24, .seed = 3, .progress = Progress::quiet, .threads = 2};
  FitOptions single = two;
  single.threads = 1;
  (void)fit(a, x, oa, two);
  (void)fit(b, x, ob, single);
  CHECK(a.training_steps() == 4);
  CHECK(same_bits(std::as_const(a).parameters(), std::as_const(b).parameters()));
}

TEST_CASE("RAE_GP: save and load, and a resumed run ends with the uninterrupted run's weights") {
  using M = RAE_GP<MidEncoder, MidDecoder>;
  const auto x = random_rows<float>(64, 16, 21);
  const RaeGpPenalty gp{.embedding_weight = 1e-2, .reg_weight = 0.1};
  M m(4, gp);
  Adam opt(1e-2);
  for (int s = 0; s < 3; ++s) m.train_batch(x.data(), 64, opt);
  const auto path = (std::filesystem::temp_directory_path() / "latent_test_rae.latent").string();
  save(m, path);
  M back(77, gp);
  load(back, path);
  std::filesystem::remove(path);
  CHECK(same_bits(std::as_const(back).parameters(), std::as_const(m).parameters()));
  CHECK(back.training_steps() == 3);
  CHECK(back.reconstruct(x) == m.reconstruct(x));

  const auto ckpt = (std::filesystem::temp_directory_path() / "latent_test_rae.ckpt").string();
  std::filesystem::remove(ckpt);
  M straight(8, gp), first(8, gp), resumed(99, gp);
  for (M* p : {&straight, &first, &resumed}) p->set_threads(1);
  Adam a(1e-2), b(1e-2), c(1e-2);
  const FitOptions all{.epochs = 4, .batch_size = 16, .seed = 3, .progress = Progress::quiet};
  (void)fit(straight, x, a, all);
  FitOptions half = all;
  half.epochs = 2;
  half.checkpoint = ckpt;
  (void)fit(first, x, b, half);
  FitOptions rest = all;
  rest.checkpoint = ckpt;
  rest.resume = true;
  (void)fit(resumed, x, c, rest);
  std::filesystem::remove(ckpt);
  CHECK(same_bits(std::as_const(resumed).parameters(), std::as_const(straight).parameters()));
}

// ---- learning on the shapes data, and generating ----------------------------------------------------

struct ShapeEncoder : Seq<Dense<784, 64, Relu>, Dense<64, 8>> {};
struct ShapeDecoder : Seq<Dense<8, 64, Tanh>, Dense<64, 784, Sigmoid>> {};

const xt::xtensor<float, 2>& shapes_train() {
  static const xt::xtensor<float, 2> x = make_shapes(600, 1).x;
  return x;
}

template <class M>
double train(M& m, double lr = 2e-3) {
  m.set_threads(1);
  Adam opt(lr);
  const double before = m.loss(shapes_train());
  fit(m, shapes_train(), opt, {.epochs = 8, .batch_size = 32, .seed = 2, .progress = Progress::quiet});
  return before;
}

double decoder_norm(const auto& m) {
  double s = 0;
  for (std::size_t i = ShapeEncoder::param_count; i < m.parameters().size(); ++i)
    s += static_cast<double>(m.parameters()[i]) * m.parameters()[i];
  return s;
}

// Mean over the rows of `g` of the squared distance to the nearest row of `train`, per pixel.
double nearest_distance(const xt::xtensor<float, 2>& g, const xt::xtensor<float, 2>& train) {
  double total = 0;
  const std::size_t d = g.shape()[1];
  for (std::size_t i = 0; i < g.shape()[0]; ++i) {
    double best = std::numeric_limits<double>::infinity();
    for (std::size_t r = 0; r < train.shape()[0]; ++r) {
      double s = 0;
      for (std::size_t j = 0; j < d; ++j) s += (g(i, j) - train(r, j)) * (g(i, j) - train(r, j));
      best = std::min(best, s);
    }
    total += best / static_cast<double>(d);
  }
  return total / static_cast<double>(g.shape()[0]);
}

TEST_CASE("RAE_L2 and RAE_GP learn the shapes, each penalty does its job, the post-hoc sampler generates") {
  // RAE-L2: it reconstructs, and its decoder's parameters are smaller than without λ.
  RAE_L2<ShapeEncoder, ShapeDecoder> l2(1, {.embedding_weight = 1e-3, .reg_weight = 1e-4});
  RAE_L2<ShapeEncoder, ShapeDecoder> l2_off(1, {.embedding_weight = 1e-3, .reg_weight = 0});
  const double before = train(l2);
  train(l2_off);
  INFO("RAE-L2 loss " << before << " -> " << l2.loss(shapes_train()) << "; ‖θ_dec‖² " << decoder_norm(l2)
                      << " (without λ " << decoder_norm(l2_off) << ")");
  MESSAGE("RAE-L2 loss " << before << " -> " << l2.loss(shapes_train()) << "; ‖θ_dec‖² " << decoder_norm(l2)
                         << " (without λ " << decoder_norm(l2_off) << ")");
  CHECK(l2.loss(shapes_train()) < 0.5 * before);
  CHECK(decoder_norm(l2) < 0.9 * decoder_norm(l2_off));

  // RAE-GP: it reconstructs, and its decoder's ‖J‖²_F at the codes (over the axes) is smaller than without λ.
  const RaeGpPenalty gp{.embedding_weight = 1e-3, .reg_weight = 0.1};
  RAE_GP<ShapeEncoder, ShapeDecoder> g(1, gp), g_off(1, {.embedding_weight = 1e-3, .reg_weight = 0});
  const double gbefore = train(g);
  train(g_off);
  const auto jacobian = [](auto& m) {
    const RaeGpPenalty keep = m.penalty();
    m.set_penalty({.embedding_weight = 0, .reg_weight = 1, .estimate = JacobianEstimate::coordinates});
    const auto& x = shapes_train();
    const double j = m.gradient(x.data(), 200) - m.loss(xt::xtensor<float, 2>(xt::view(x, xt::range(0, 200), xt::all())));
    m.set_penalty(keep);
    return j;
  };
  const double jg = jacobian(g), joff = jacobian(g_off);
  INFO("RAE-GP loss " << gbefore << " -> " << g.loss(shapes_train()) << "; ‖J‖²_F " << jg << " (without λ " << joff << ")");
  MESSAGE("RAE-GP loss " << gbefore << " -> " << g.loss(shapes_train()) << "; ‖J‖²_F " << jg << " (without λ " << joff
                         << ")");
  CHECK(g.loss(shapes_train()) < 0.5 * gbefore);
  CHECK(jg < 0.8 * joff);

  // The sampler: a mixture of 10 Gaussians on the RAE-L2's codes; its samples lie nearer the training
  // images than the decodes of N(0, I) draws (which the RAE's codes were never fitted to).
  const GaussianMixture mixture = fit_code_mixture(l2, shapes_train(), {.components = 10, .seed = 3});
  const auto samples = generate_from(l2, mixture, 100, 5);
  REQUIRE(samples.shape()[0] == 100);
  REQUIRE(samples.shape()[1] == 784);
  Rng rng(5);
  xt::xtensor<float, 2> normal = xt::xtensor<float, 2>::from_shape({100, 8});
  for (auto& v : normal) v = static_cast<float>(rng.normal());
  const double d_mix = nearest_distance(samples, shapes_train()), d_normal = nearest_distance(l2.decode(normal), shapes_train());
  INFO("nearest training image, per pixel: mixture " << d_mix << ", N(0, I) " << d_normal);
  MESSAGE("nearest training image, per pixel: mixture " << d_mix << ", N(0, I) " << d_normal);
  CHECK(d_mix < d_normal);
  // Reproducible: the same seeds give the same mixture and the same samples.
  const GaussianMixture again = fit_code_mixture(l2, shapes_train(), {.components = 10, .seed = 3});
  CHECK(again.means() == mixture.means());
  CHECK(again.covariances() == mixture.covariances());
  CHECK(same_bits(generate_from(l2, again, 100, 5), samples));
  CHECK_FALSE(same_bits(generate_from(l2, again, 100, 6), samples));
}

// ---- the sampler on every kind of model -------------------------------------------------------------

struct VEncoder : Seq<Dense<6, 5, Tanh>, Gaussian<2>> {};
struct VDecoder : Seq<Dense<2, 6>> {};  // logits for the Bernoulli likelihood
struct AEncoder : Seq<Dense<6, 2>> {};
struct ADecoder : Seq<Dense<2, 6, Sigmoid>> {};
struct QEncoder : Seq<Dense<6, 4>, VectorQuantizer<5, 4>> {};
struct QDecoder : Seq<Dense<4, 6, Sigmoid>> {};

template <class M>
void generates(const M& m, const xt::xtensor<float, 2>& x) {
  const GaussianMixture mix = fit_code_mixture(m, x, {.components = 2});
  CHECK(mix.dimensions() == M::code_size);
  const auto s = generate_from(m, mix, 4, 1);
  CHECK(s.shape()[0] == 4);
  CHECK(s.shape()[1] == 6);
}

TEST_CASE("post-hoc sampler: any model with codes, a mixture of other codes and n = 0 are refused") {
  const auto x = random_rows<float>(40, 6, 3);
  generates(Autoencoder<AEncoder, ADecoder>(1), x);
  generates(VAE<VEncoder, VDecoder>(1), x);
  generates(WAE<AEncoder, ADecoder>(1), x);
  generates(RAE_GP<AEncoder, ADecoder>(1), x);
  generates(RAE_L2<AEncoder, ADecoder, MSE, double>(1), x);  // a double model takes float rows too
  // A VQ-VAE's codes are its quantised vectors: decode takes any vector of code_size (docs/rae.md).
  VQVAE<QEncoder, QDecoder> q(1);
  const GaussianMixture qm = fit_code_mixture(q, x, {.components = 1, .regularisation = 1e-3});
  CHECK(generate_from(q, qm, 3, 1).shape()[0] == 3);
  const Autoencoder<AEncoder, ADecoder> ae(1);
  const GaussianMixture three = GaussianMixture::fit(random_rows<float>(20, 3, 1), {.components = 2});
  CHECK_THROWS_WITH_AS(generate_from(ae, three, 4, 1),
                       "latent: generate_from: expected a mixture over the model's codes (2 dimensions), found one "
                       "over 3",
                       shape_error);
  const GaussianMixture two = fit_code_mixture(ae, x, {.components = 2});
  CHECK_THROWS_AS(generate_from(ae, two, 0, 1), option_error);
  CHECK_THROWS_AS(fit_code_mixture(ae, random_rows<float>(1, 6, 1)), data_error);  // fewer rows than components
}

}  // namespace
}  // namespace test_rae
