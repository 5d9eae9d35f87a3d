// The autoencoder family: a finite-difference gradient check in double for each variant's full loss
// (its noise held fixed by reseeding), and the behaviour each variant promises.
#include <doctest/doctest.h>

#include <latent/latent.hpp>
#include <latent/models/wae.hpp>

#include <xtensor/xrandom.hpp>
#include <xtensor/xview.hpp>

#include <cmath>
#include <cstring>     // std::memcmp
#include <string>
#include <utility>  // std::as_const
#include <vector>

#include "support/residual_parts.hpp"  // latent_test::residual: parts, learns, round_trips
#include "support/test_data.hpp"  // latent_test::same_bits

// The file's own names live in namespace test_family: the test programs compile several test files as one
// translation unit (tests/CMakeLists.txt), and each file's helpers stay its own.
namespace test_family {

using namespace latent;

namespace {
// Five-point central differences (error O(h⁴), so a larger step keeps rounding small) on `count` parameters spread over
// the whole packed vector (all of them for small models), each compared with the analytic gradient; noise is reseeded
// before every evaluation.
template <class Model, class Loss>
void check_gradient(Model& model, Loss&& loss_at, std::size_t count = 0) {
  auto params = model.parameters();
  model.set_noise_seed(99);
  const double base = loss_at();
  CHECK(std::isfinite(base));
  std::vector<double> analytic(model.gradients().begin(), model.gradients().end());
  const std::size_t total = params.size();
  const std::size_t step = count == 0 || count >= total ? 1 : total / count;
  double worst = 0;
  std::size_t checked = 0;
  for (std::size_t i = 0; i < total; i += step) {
    const double keep = params[i];
    const double h = 1e-4 * std::max(1.0, std::abs(keep));
    auto at = [&](double offset) {
      params[i] = keep + offset;
      model.set_noise_seed(99);
      return loss_at();
    };
    const double numeric = (-at(2 * h) + 8 * at(h) - 8 * at(-h) + at(-2 * h)) / (12 * h);
    params[i] = keep;
    const double err = std::abs(numeric - analytic[i]) / std::max(std::abs(numeric) + std::abs(analytic[i]), 1e-4);
    if (err > worst) worst = err;
    INFO("parameter " << i << ": numeric " << numeric << ", analytic " << analytic[i]);
    CHECK(err < 1e-6);
    ++checked;
  }
  MESSAGE("checked " << checked << " of " << total << " parameters; worst relative error " << worst);
}

xt::xtensor<double, 2> probabilities(std::size_t n, std::size_t d, std::uint64_t seed) {
  Rng rng(seed);
  xt::xtensor<double, 2> x = xt::xtensor<double, 2>::from_shape({n, d});
  for (auto& v : x) v = 0.05 + 0.9 * rng.uniform();
  return x;
}

struct VEnc : Seq<Dense<9, 7, Tanh>, Gaussian<3>> {};
struct VDec : Seq<Dense<3, 7, Tanh>, Dense<7, 9, Identity>> {};
struct GDec : Seq<Dense<3, 7, Tanh>, Dense<7, 9, Sigmoid>> {};
struct CEnc : Seq<Dense<12, 7, Tanh>, Gaussian<3>> {};  // 9 + 3 classes
struct CDec : Seq<Dense<6, 7, Tanh>, Dense<7, 9, Identity>> {};
struct AEnc : Seq<Dense<9, 6, Tanh>, Dense<6, 4, Sigmoid>> {};
struct ADec : Seq<Dense<4, 6, Softplus>, Dense<6, 9, Identity>> {};
struct OneEnc : Seq<Dense<9, 4, Sigmoid>> {};
struct OneDec : Seq<Dense<4, 9, Identity>> {};
}  // namespace

TEST_CASE("gradient check: VAE with each likelihood (noise fixed)") {
  const auto x = probabilities(5, 9, 1);
  SUBCASE("Bernoulli") {
    VAE<VEnc, VDec, Bernoulli, double> m(3);
    m.set_beta(0.7);
    check_gradient(m, [&] { return m.gradient(x.data(), 5); });
  }
  SUBCASE("UnitGaussian") {
    VAE<VEnc, GDec, UnitGaussian, double> m(3);
    check_gradient(m, [&] { return m.gradient(x.data(), 5); });
  }
  SUBCASE("LearnedGaussian") {
    VAE<VEnc, GDec, LearnedGaussian, double> m(3);
    for (std::size_t j = 0; j < 9; ++j) m.parameters()[m.param_count - 9 + j] = 0.1 * static_cast<double>(j) - 0.4;
    check_gradient(m, [&] { return m.gradient(x.data(), 5); });
  }
}

TEST_CASE("gradient check: IWAE, conditional VAE") {
  const auto x = probabilities(4, 9, 2);
  IWAE<VEnc, VDec, 3, Bernoulli, double> iw(4);
  check_gradient(iw, [&] { return iw.gradient(x.data(), 4); });
  ConditionalVAE<CEnc, CDec, 3, Bernoulli, double> cv(5);
  xt::xtensor<double, 2> c = {{1, 0, 0}, {0, 0, 1}, {0, 1, 0}, {0, 0, 1}};
  check_gradient(cv, [&] { return cv.gradient(x.data(), c.data(), 4); });
}

TEST_CASE("gradient check on two threads: weight gradients deferred to the end of the step") {
  // On two threads each slice leaves its Dense layers' weight gradients for later and the model forms
  // them over the whole batch (Context::deferred); the nested Seq checks that a deferred dz survives
  // the layers before it. The check needs the pool's two threads.
  REQUIRE(detail::thread_pool::instance().size() >= 2);
  struct DeepEnc : Seq<Dense<9, 8, Tanh>, Seq<Dense<8, 6, Softplus>, Dense<6, 5, Elu>>, Gaussian<3>> {};
  struct DeepDec : Seq<Dense<3, 7, Tanh>, Seq<Dense<7, 8, LeakyRelu>>, Dense<8, 9, Identity>> {};
  const auto x = probabilities(7, 9, 5);
  SUBCASE("VAE") {
    VAE<DeepEnc, DeepDec, Bernoulli, double> m(6);
    m.set_threads(2);
    REQUIRE(m.threads_for(7, 1.0) == 2);
    check_gradient(m, [&] { return m.gradient(x.data(), 7); });
  }
  SUBCASE("IWAE") {
    IWAE<DeepEnc, DeepDec, 2, Bernoulli, double> m(7);
    m.set_threads(2);
    check_gradient(m, [&] { return m.gradient(x.data(), 7); });
  }
  SUBCASE("conditional VAE") {
    ConditionalVAE<CEnc, CDec, 3, Bernoulli, double> m(8);
    m.set_threads(2);
    xt::xtensor<double, 2> c = xt::zeros<double>({7, 3});
    for (std::size_t r = 0; r < 7; ++r) c(r, r % 3) = 1;
    check_gradient(m, [&] { return m.gradient(x.data(), c.data(), 7); });
  }
}

TEST_CASE("gradient check on two threads: the autoencoders (deferred weight gradients, or summed)") {
  // Plain, denoising and sparse models defer their Dense weight gradients on two threads; the
  // contractive one adds its penalty to the encoder's weight gradients itself, so it sums them.
  REQUIRE(detail::thread_pool::instance().size() >= 2);
  struct NestedEnc : Seq<Dense<9, 6, Tanh>, Seq<Dense<6, 5, Softplus>, Dense<5, 4, Sigmoid>>> {};
  const auto x = probabilities(7, 9, 6);
  SUBCASE("plain, nested Seq") {
    Autoencoder<NestedEnc, ADec, BCEWithLogits, double> m(3);
    m.set_threads(2);
    REQUIRE(m.threads_for(7, 1.0) == 2);
    check_gradient(m, [&] { return m.gradient(x.data(), 7); });
  }
  SUBCASE("denoising") {
    DenoisingAutoencoder<AEnc, ADec, MSE, double> m(4, {.gaussian_stddev = 0.3, .mask_fraction = 0.2});
    m.set_threads(2);
    check_gradient(m, [&] { return m.gradient(x.data(), 7); });
  }
  SUBCASE("sparse, L1") {
    SparseAutoencoder<AEnc, ADec, MSE, double> m(5, {.l1 = 0.05});
    m.set_threads(2);
    check_gradient(m, [&] { return m.gradient(x.data(), 7); });
  }
  SUBCASE("contractive") {
    ContractiveAutoencoder<AEnc, ADec, MSE, double> m(6, {.weight = 0.5});
    m.set_threads(2);
    check_gradient(m, [&] { return m.gradient(x.data(), 7); });
  }
}

TEST_CASE("gradient check: denoising, sparse and contractive autoencoders") {
  const auto x = probabilities(6, 9, 3);
  SUBCASE("denoising: Gaussian and masking noise") {
    DenoisingAutoencoder<AEnc, ADec, BCEWithLogits, double> m(1, {.gaussian_stddev = 0.3, .mask_fraction = 0.2});
    check_gradient(m, [&] { return m.gradient(x.data(), 6); });
  }
  SUBCASE("sparse: L1 and KL(rho || rho-hat)") {
    SparseAutoencoder<AEnc, ADec, MSE, double> m(1, {.l1 = 0.05, .target = 0.1, .kl_weight = 0.3});
    check_gradient(m, [&] { return m.gradient(x.data(), 6); });
  }
  SUBCASE("contractive, one Dense+Sigmoid layer (closed form)") {
    ContractiveAutoencoder<OneEnc, OneDec, MSE, double> m(1, {.weight = 0.5});
    check_gradient(m, [&] { return m.gradient(x.data(), 6); });
  }
  SUBCASE("contractive, two layers (chain rule, Gram trick)") {
    ContractiveAutoencoder<AEnc, ADec, MSE, double> m(1, {.weight = 0.5});
    check_gradient(m, [&] { return m.gradient(x.data(), 6); });
  }
  SUBCASE("contractive, three layers with a nested Seq") {
    struct Enc3 : Seq<Dense<9, 6, Tanh>, Seq<Dense<6, 5, Softplus>, Dense<5, 3, Sigmoid>>> {};
    struct Dec3 : Seq<Dense<3, 9, Identity>> {};
    ContractiveAutoencoder<Enc3, Dec3, MSE, double> m(2, {.weight = 0.7});
    check_gradient(m, [&] { return m.gradient(x.data(), 6); });
  }
}

TEST_CASE("contractive penalty equals the squared Frobenius norm of a finite-difference Jacobian") {
  const auto x = probabilities(1, 9, 4);
  ContractiveAutoencoder<AEnc, ADec, MSE, double> with(2, {.weight = 1.0});
  Autoencoder<AEnc, ADec, MSE, double> without(2);
  const double penalty = with.gradient(x.data(), 1) - without.gradient(x.data(), 1);
  double fro = 0;
  for (std::size_t k = 0; k < 9; ++k) {
    xt::xtensor<double, 2> up = x, down = x;
    up(0, k) += 1e-6;
    down(0, k) -= 1e-6;
    const auto a = with.encode(up), b = with.encode(down);
    for (std::size_t j = 0; j < 4; ++j) {
      const double dj = (a(0, j) - b(0, j)) / 2e-6;
      fro += dj * dj;
    }
  }
  CHECK(penalty == doctest::Approx(fro).epsilon(1e-6));
}

TEST_CASE("VAE: encode returns mu, generate and elbo behave, log-likelihood bound is tighter") {
  struct Enc : Seq<Dense<16, 12, Relu>, Gaussian<2>> {};
  struct Dec : Seq<Dense<2, 12, Relu>, Dense<12, 16, Identity>> {};
  // two prototype patterns with noise: structure for the VAE to find
  Rng rng(1);
  xt::xtensor<float, 2> x = xt::zeros<float>({400, 16});
  for (std::size_t i = 0; i < 400; ++i)
    for (std::size_t j = 0; j < 16; ++j) {
      const bool on = (i % 2 == 0) ? j < 8 : j >= 8;
      x(i, j) = static_cast<float>(std::clamp((on ? 0.9 : 0.1) + 0.05 * rng.normal(), 0.0, 1.0));
    }
  VAE<Enc, Dec> vae(3);
  const double before = vae.elbo(x);
  Adam opt(1e-2);
  History h = fit(vae, x, opt, {.epochs = 30, .batch_size = 32, .progress = Progress::quiet});
  const double after = vae.elbo(x);
  CHECK(after > before + 1.0);
  CHECK(h.loss.back() < h.loss.front());
  // encode is deterministic (μ); encode_sample draws around it
  CHECK(xt::allclose(vae.encode(x), vae.encode(x)));
  const auto s1 = vae.encode_sample(x, 1), s2 = vae.encode_sample(x, 2);
  CHECK(!xt::allclose(s1, s2));
  CHECK(xt::allclose(vae.encode_sample(x, 1), s1));
  // decode gives probabilities; generate is seeded
  const auto g = vae.generate(10, 5);
  CHECK(g.shape()[0] == 10);
  CHECK(g.shape()[1] == 16);
  CHECK(xt::amin(g)() > 0.0f);
  CHECK(xt::amax(g)() < 1.0f);
  CHECK(xt::allclose(vae.generate(10, 5), g));
  // log p(x) ≥ ELBO: the importance-sampled estimate with many samples lies above the bound
  const double ll = vae.log_likelihood(x, 50);
  const double elbo = vae.elbo(x);
  CHECK(ll > elbo);
  CHECK(ll < elbo + 10);
  // per-unit KL sums to the ELBO's KL term; active units within [0, Z]
  const auto kl = vae.kl_per_unit(x);
  const auto [rec, kl_total] = vae.elbo_terms(x);
  CHECK(kl(0) + kl(1) == doctest::Approx(kl_total).epsilon(1e-4));
  CHECK(rec > 0);
  CHECK(vae.active_units(x) >= 1);
  CHECK(vae.active_units(x) <= 2);
}

TEST_CASE("beta and KL warm-up change the KL weight as documented") {
  VAE<VEnc, VDec> vae(1);
  CHECK(vae.current_kl_weight() == 1.0);
  vae.set_beta(4);
  vae.set_kl_warmup(10);
  CHECK(vae.current_kl_weight() == doctest::Approx(0.4));
  xt::xtensor<float, 2> x = xt::random::rand<float>({8, 9});
  Adam opt;
  for (int i = 0; i < 4; ++i) vae.train_batch(x.data(), 8, opt);
  CHECK(vae.current_kl_weight() == doctest::Approx(2.0));
  for (int i = 0; i < 10; ++i) vae.train_batch(x.data(), 8, opt);
  CHECK(vae.current_kl_weight() == 4.0);
  CHECK_THROWS_AS(vae.set_beta(-1), option_error);
}

TEST_CASE("conditional VAE: labels are checked and generate follows the label") {
  ConditionalVAE<CEnc, CDec, 3> cv(1);
  xt::xtensor<float, 2> x = xt::random::rand<float>({6, 9});
  xt::xtensor<std::int32_t, 1> good = {0, 1, 2, 0, 1, 2}, bad = {0, 1, 3, 0, 1, 2}, short_ = {0, 1};
  Adam opt;
  CHECK(fit(cv, x, good, opt, {.epochs = 2, .batch_size = 4, .progress = Progress::quiet}).epochs() == 2);
  CHECK_THROWS_WITH_AS(fit(cv, x, bad, opt, {.progress = Progress::quiet}), doctest::Contains("found 3 in row 2"),
                       data_error);
  CHECK_THROWS_AS(fit(cv, x, short_, opt, {.progress = Progress::quiet}), shape_error);
  const auto a = cv.generate(3, 0, 7), b = cv.generate(3, 2, 7);
  CHECK(!xt::allclose(a, b));  // same noise, different label
  CHECK_THROWS_AS(cv.generate(3, 5, 7), data_error);
}

TEST_CASE("denoising and sparse settings are validated") {
  CHECK_THROWS_AS((DenoisingAutoencoder<AEnc, ADec>(1, {.gaussian_stddev = -1})), option_error);
  CHECK_THROWS_AS((DenoisingAutoencoder<AEnc, ADec>(1, {.mask_fraction = 1.0})), option_error);
  CHECK_THROWS_AS((SparseAutoencoder<AEnc, ADec>(1, {.target = 0})), option_error);
  // KL sparsity needs a sigmoid code: ADec's encoder counterpart VEnc-like Tanh code is rejected
  struct TanhEnc : Seq<Dense<9, 4, Tanh>> {};
  CHECK_THROWS_AS((SparseAutoencoder<TanhEnc, OneDec>(1, {.kl_weight = 0.1})), option_error);
  CHECK_NOTHROW((SparseAutoencoder<TanhEnc, OneDec>(1, {.l1 = 0.1})));
}

TEST_CASE("exp/log paths stay finite for extreme inputs") {
  for (float z : {-1e30f, -1e4f, -100.0f, -88.0f, 0.0f, 88.0f, 100.0f, 1e4f, 1e30f}) {
    INFO("z = " << z);
    const float s = Sigmoid::apply(z);
    CHECK(std::isfinite(s));
    CHECK(s >= 0.0f);
    CHECK(s <= 1.0f);
    CHECK(std::isfinite(Sigmoid::derivative(s)));
    const float sp = Softplus::apply(z);
    CHECK(std::isfinite(sp));
    CHECK(sp >= 0.0f);
    CHECK(std::isfinite(Softplus::derivative(sp)));
    CHECK(std::isfinite(Tanh::apply(z)));
    CHECK(std::isfinite(Elu::apply(z)));
    for (float t : {0.0f, 0.5f, 1.0f}) {
      float g = 0;
      const double bce = BCEWithLogits::value_and_gradient(&z, &t, &g, 1, 1, 1.0f);
      CHECK(std::isfinite(bce));
      CHECK(std::isfinite(g));
      float p = Sigmoid::apply(z), gp = 0;
      CHECK(std::isfinite(BCE::value_and_gradient(&p, &t, &gp, 1, 1, 1.0f)));
      CHECK(std::isfinite(gp));
    }
  }
  // the vectorised paths too (a full register of extreme logits)
  std::vector<float> a = {-1e4f, -200, -90, -1, 1, 90, 200, 1e4f, -1e30f, 1e30f}, t(a.size(), 1.0f), g(a.size());
  CHECK(std::isfinite(BCEWithLogits::value_and_gradient(a.data(), t.data(), g.data(), 1, a.size(), 1.0f)));
  for (float v : g) CHECK(std::isfinite(v));
}

TEST_CASE("a VAE with extreme log-variances and inputs stays finite; log-mean-exp is stable") {
  struct Enc : Seq<Dense<9, 7, Identity>, Gaussian<3>> {};
  struct Dec : Seq<Dense<3, 7, Tanh>, Dense<7, 9, Identity>> {};
  VAE<Enc, Dec> vae(1);
  // push the head's log-variance outputs far beyond float's exp range
  auto p = vae.parameters();
  for (std::size_t i = 0; i < p.size(); ++i) p[i] = 50.0f * ((i % 3 == 0) ? 1.0f : -1.0f);
  xt::xtensor<float, 2> x = xt::ones<float>({4, 9});
  const double loss = vae.gradient(x.data(), 4);
  CHECK(std::isfinite(loss));
  for (float g : vae.gradients()) CHECK(std::isfinite(g));
  CHECK(std::isfinite(vae.elbo(x)));
  // importance weights spread over hundreds of nats: the log-mean-exp must not overflow or underflow
  CHECK(std::isfinite(vae.log_likelihood(x, 64)));
  for (double kl : vae.kl_per_unit(x)) CHECK(std::isfinite(kl));
}

TEST_CASE("every bad input gives a latent:: exception that says what was expected and what was found") {
  // (the model API's own cases are in test_models.cpp: width, empty, NaN/Inf, batch size 0, divergence)
  VAE<VEnc, VDec> vae(1);
  xt::xtensor<float, 2> x = xt::random::rand<float>({4, 9});
  CHECK_THROWS_WITH_AS(vae.log_likelihood(x, 0), doctest::Contains("at least 1 importance sample"), option_error);
  CHECK_THROWS_WITH_AS(vae.generate(0, 1), doctest::Contains("at least 1 sample"), option_error);
  xt::xtensor<float, 2> codes = xt::zeros<float>({2, 4});
  CHECK_THROWS_WITH_AS(vae.decode(codes), doctest::Contains("expected 3 columns"), shape_error);
  CHECK_THROWS_AS(vae.set_beta(std::nan("")), option_error);
  CHECK_THROWS_AS((ContractiveAutoencoder<AEnc, ADec>(1, {.weight = -1})), option_error);
  CHECK_THROWS_AS(Adam(1e-3, 1.0), option_error);
  CHECK_THROWS_AS(Adam(1e-3, 0.9, 0.999, 0.0), option_error);
  Adam opt;
  std::vector<float> p(3), g(4);
  CHECK_THROWS_WITH_AS(opt.step(std::span<float>(p), std::span<const float>(g)), doctest::Contains("found 4"),
                       shape_error);
  CHECK_THROWS_AS(opt.set_clip_norm(-1), option_error);
  CHECK_THROWS_AS(load_fashion_mnist("validation"), option_error);
  CHECK_THROWS_AS(parse_csv("1,2\n3\n"), format_error);
  xt::xtensor<std::int32_t, 1> labels = {0, 1, 12};
  CHECK_THROWS_WITH_AS(one_hot(labels, 10), doctest::Contains("row 2"), data_error);
}

TEST_CASE("conditional VAE: evaluations take labels") {
  ConditionalVAE<CEnc, CDec, 3, Bernoulli, double> cv(3);
  const auto x = probabilities(6, 9, 8);
  xt::xtensor<std::int32_t, 1> labels = {0, 1, 2, 0, 1, 2};
  const double elbo = cv.elbo(x, labels);
  const auto [rec, kl] = cv.elbo_terms(x, labels);
  CHECK(-(rec + kl) == doctest::Approx(elbo));
  const auto per_unit = cv.kl_per_unit(x, labels);
  CHECK(per_unit(0) + per_unit(1) + per_unit(2) == doctest::Approx(kl).epsilon(1e-9));
  CHECK(cv.log_likelihood(x, labels, 30) > elbo - 1e-9);
  CHECK(cv.active_units(x, labels) <= 3);
}

TEST_CASE("WAE: the MMD penalty as pythae defines it, its gradient (draws held fixed), IMQ and RBF") {
  // The penalty on three codes of two values against the step's three draws, written out.
  const MmdPenalty p{.weight = 0.7};
  const double q[6] = {0.3, -0.2, 1.1, 0.4, -0.5, 0.9};
  double dq[6] = {};
  Rng rng(5), same(5);
  const double got = p.code_penalty(q, dq, 3, 2, 1.0 / 3, rng);
  double draws[6];
  for (double& v : draws) v = same.normal();
  const auto k = [&](const double* a, const double* b) {
    const double d2 = (a[0] - b[0]) * (a[0] - b[0]) + (a[1] - b[1]) * (a[1] - b[1]), c = 2.0 * 2;
    double s = 0;
    for (const double sc : {0.1, 0.2, 0.5, 1.0, 2.0, 5.0, 10.0}) s += sc * c / (sc * c + d2);
    return s;
  };
  double qq = 0, pp = 0, qp = 0;
  for (int i = 0; i < 3; ++i)
    for (int j = 0; j < 3; ++j) {
      if (i != j) qq += k(q + 2 * i, q + 2 * j), pp += k(draws + 2 * i, draws + 2 * j);
      qp += k(q + 2 * i, draws + 2 * j);
    }
  CHECK(got == doctest::Approx(3 * 0.7 * (qq / 6 + pp / 6 - 2 * qp / 9)).epsilon(1e-12));
  // The whole WAE's gradient (reconstruction + MMD, its draws fixed by the reseeded generator).
  for (const MmdKernel kernel : {MmdKernel::imq, MmdKernel::rbf}) {
    WAE<AEnc, ADec, MSE, double> wae(3, {.weight = 0.5, .kernel = kernel});
    const auto x = probabilities(6, 9, 2);
    INFO("kernel " << (kernel == MmdKernel::imq ? "imq" : "rbf"));
    check_gradient(wae, [&] { return wae.gradient(x.data(), 6); });
  }
  using SmallWae = WAE<AEnc, ADec>;
  CHECK(SmallWae::architecture().rfind("WAE<", 0) == 0);
  CHECK_THROWS_AS(SmallWae(1, {.weight = -1}), option_error);
  CHECK_THROWS_AS(SmallWae(1, {.bandwidth = 0}), option_error);
  CHECK_THROWS_AS(SmallWae(1, {.scales = {}}), option_error);
}

TEST_CASE("WAE: trained, its codes are nearer the prior than a plain autoencoder's, and it still reconstructs") {
  struct Enc : Seq<Dense<9, 16, Tanh>, Dense<16, 2>> {};
  struct Dec : Seq<Dense<2, 16, Tanh>, Dense<16, 9>> {};
  const auto xd = probabilities(600, 9, 7);
  xt::xtensor<float, 2> x = xt::xtensor<float, 2>::from_shape({600, 9});
  for (std::size_t r = 0; r < 600; ++r)  // rows on a curve: structure the codes can follow
    for (std::size_t j = 0; j < 9; ++j) x(r, j) = static_cast<float>(std::sin(xd(r, 0) * 3.0 * static_cast<double>(j + 1) / 9.0));
  WAE<Enc, Dec> wae(1, {.weight = 1.0});
  Autoencoder<Enc, Dec> plain(1);
  Adam a(3e-3), b(3e-3);
  const double before = wae.loss(x);
  fit(wae, x, a, {.epochs = 40, .batch_size = 64, .progress = Progress::quiet});
  fit(plain, x, b, {.epochs = 40, .batch_size = 64, .progress = Progress::quiet});
  CHECK(wae.loss(x) < 0.5 * before);
  // MMD² of 300 codes against 300 fixed draws from N(0, I).
  const auto mmd_of = [](const xt::xtensor<float, 2>& codes) {
    const MmdPenalty m{.weight = 1.0};
    std::vector<float> dq(codes.size());
    Rng rng(11);
    return m.code_penalty(codes.data(), dq.data(), 300, 2, 0.0f, rng) / 300;
  };
  const xt::xtensor<float, 2> cw = xt::view(wae.encode(x), xt::range(0, 300), xt::all());
  const xt::xtensor<float, 2> cp = xt::view(plain.encode(x), xt::range(0, 300), xt::all());
  INFO("MMD² to the prior: WAE " << mmd_of(cw) << ", plain " << mmd_of(cp));
  CHECK(mmd_of(cw) < 0.5 * mmd_of(cp));
}

namespace {
using latent_test::same_bits;
namespace res = latent_test::residual;
// Residual parts (issue 25: every new model on Dense, convolutional and residual parts; the parts are
// tests/support/residual_parts.hpp): BatchNorm after the strided convolution, a linear code of 3.
struct ResEnc : res::FlatEncoder<BatchNorm, Dense<64, 3>> {};
using ResDec = res::Decoder<3>;
}  // namespace

TEST_CASE("WAE on residual parts with BatchNorm and GroupNorm: learns, two threads give one thread's bits, save/load") {
  using M = WAE<ResEnc, ResDec, BCEWithLogits>;
  const MmdPenalty mmd{.weight = 1.0};
  const auto x = res::images();
  // Two threads against one (the MMD couples the batch: the step runs unsplit): parameters and state.
  M one(9, mmd), two(9, mmd);
  res::two_threads_agree(one, two, x);
  // Learning (the reconstruction loss falls), then save and load: parameters, BatchNorm's statistics and
  // the outputs, bit for bit.
  M m(1, mmd), back(77, mmd);
  res::learns(m, x, "WAE");
  res::round_trips(m, back, x, "wae");
  CHECK(same_bits(back.encode(x), m.encode(x)));
}
}  // namespace test_family
