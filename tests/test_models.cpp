// Model-level behaviour: the program, determinism, learning on structured data, the linear
// autoencoder against PCA, no allocation in a training step, and errors at the public API.
#include <doctest/doctest.h>

#include <latent/inference.hpp>
#include <latent/latent.hpp>

#include "support/allocation_counter.hpp"  // operator new replaced: allocations counted

#include <xtensor/xrandom.hpp>
#include <xtensor/xview.hpp>

#include <unistd.h>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <limits>
#include <numeric>
#include <vector>

// The file's own names live in namespace test_models: the test programs compile several test files as one
// translation unit (tests/CMakeLists.txt), and each file's helpers stay its own.
namespace test_models {

using namespace latent;

namespace {
struct SeedEncoder : Seq<Dense<100, 20, Relu>, Dense<20, 5, Sigmoid>> {};
struct SeedDecoder : Seq<Dense<5, 20, Relu>, Dense<20, 100, Sigmoid>> {};
using SeedModel = Autoencoder<SeedEncoder, SeedDecoder, MSE>;

// Points on a 2-D manifold (a curved sheet) embedded in 100 dimensions, plus a little noise.
xt::xtensor<float, 2> manifold(std::size_t n, std::uint64_t seed) {
  Rng rng(seed);
  xt::xtensor<float, 2> x = xt::zeros<float>({n, std::size_t{100}});
  std::vector<double> a(100 * 4);
  for (auto& v : a) v = rng.normal() / 2;
  for (std::size_t i = 0; i < n; ++i) {
    const double u = rng.uniform(-1.5, 1.5), v = rng.uniform(-1.5, 1.5);
    const double f[4] = {u, v, std::sin(2 * u) * 0.7, u * v * 0.5};
    for (std::size_t j = 0; j < 100; ++j) {
      double s = 0;
      for (int k = 0; k < 4; ++k) s += a[j * 4 + k] * f[k];
      x(i, j) = static_cast<float>(s + 0.01 * rng.normal());
    }
  }
  return x;
}

double mean_variance(const xt::xtensor<float, 2>& x) {
  const std::size_t n = x.shape()[0], d = x.shape()[1];
  double total = 0;
  for (std::size_t j = 0; j < d; ++j) {
    double m = 0, s = 0;
    for (std::size_t i = 0; i < n; ++i) m += x(i, j);
    m /= static_cast<double>(n);
    for (std::size_t i = 0; i < n; ++i) s += (x(i, j) - m) * (x(i, j) - m);
    total += s / static_cast<double>(n);
  }
  return total / static_cast<double>(d);  // mean per-element variance: the MSE of predicting the mean
}

// Eigenvalues of a symmetric matrix by cyclic Jacobi rotations (small matrices only).
std::vector<double> symmetric_eigenvalues(std::vector<double> a, std::size_t d) {
  for (int sweep = 0; sweep < 100; ++sweep) {
    double off = 0;
    for (std::size_t p = 0; p < d; ++p)
      for (std::size_t q = p + 1; q < d; ++q) off += a[p * d + q] * a[p * d + q];
    if (off < 1e-22) break;
    for (std::size_t p = 0; p < d; ++p)
      for (std::size_t q = p + 1; q < d; ++q) {
        if (std::abs(a[p * d + q]) < 1e-300) continue;
        const double theta = (a[q * d + q] - a[p * d + p]) / (2 * a[p * d + q]);
        const double t = (theta >= 0 ? 1 : -1) / (std::abs(theta) + std::sqrt(theta * theta + 1));
        const double c = 1 / std::sqrt(t * t + 1), s = t * c;
        for (std::size_t k = 0; k < d; ++k) {  // columns p, q
          const double akp = a[k * d + p], akq = a[k * d + q];
          a[k * d + p] = c * akp - s * akq;
          a[k * d + q] = s * akp + c * akq;
        }
        for (std::size_t k = 0; k < d; ++k) {  // rows p, q
          const double apk = a[p * d + k], aqk = a[q * d + k];
          a[p * d + k] = c * apk - s * aqk;
          a[q * d + k] = s * apk + c * aqk;
        }
      }
  }
  std::vector<double> e(d);
  for (std::size_t i = 0; i < d; ++i) e[i] = a[i * d + i];
  std::sort(e.begin(), e.end());
  return e;
}
}  // namespace

TEST_CASE("the issue's seed program runs and gives the documented shapes") {
  xt::random::seed(0);
  xt::xtensor<float, 2> data = xt::random::randn<float>({1000, 100});
  SeedModel model(/*seed=*/42);
  Adam opt(1e-3f);
  History h = fit(model, data, opt, {.epochs = 3, .batch_size = 32, .progress = Progress::quiet});
  CHECK(h.epochs() == 3);
  CHECK(h.seconds.size() == 3);
  CHECK(h.val_loss.empty());
  CHECK(h.loss[2] < h.loss[0]);
  xt::xtensor<float, 2> fresh = xt::random::randn<float>({100, 100});
  xt::xtensor<float, 2> z = model.encode(fresh);
  xt::xtensor<float, 2> back = model.decode(z);
  CHECK(z.shape()[0] == 100);
  CHECK(z.shape()[1] == 5);
  CHECK(back.shape()[0] == 100);
  CHECK(back.shape()[1] == 100);
  // codes come from a sigmoid layer
  CHECK(xt::amin(z)() >= 0.0f);
  CHECK(xt::amax(z)() <= 1.0f);
  // one sample gives the same as its row in a batch; reconstruct = decode(encode)
  xt::xtensor<float, 1> one = xt::view(fresh, 7, xt::all());
  xt::xtensor<float, 1> z7 = model.encode(one);
  for (std::size_t j = 0; j < 5; ++j) CHECK(z7(j) == doctest::Approx(z(7, j)).epsilon(1e-6));
  xt::xtensor<float, 2> r = model.reconstruct(fresh);
  for (std::size_t j = 0; j < 100; j += 9) CHECK(r(3, j) == doctest::Approx(back(3, j)).epsilon(1e-6));
  CHECK(evaluate(model, data) == doctest::Approx(model.loss(data)));
}

TEST_CASE("the same seed gives the same weights; Glorot-uniform limits and zero biases") {
  SeedModel a(7), b(7), c(8);
  CHECK(std::equal(a.parameters().begin(), a.parameters().end(), b.parameters().begin()));
  CHECK(!std::equal(a.parameters().begin(), a.parameters().end(), c.parameters().begin()));
  CHECK(SeedModel::param_count == 100 * 20 + 20 + 20 * 5 + 5 + 5 * 20 + 20 + 20 * 100 + 100);
  const float limit = std::sqrt(6.0f / 120.0f);
  auto p = a.parameters();
  float lo = 0, hi = 0;
  for (std::size_t i = 0; i < 2000; ++i) lo = std::min(lo, p[i]), hi = std::max(hi, p[i]);
  CHECK(lo >= -limit);
  CHECK(hi <= limit);
  CHECK(lo < -0.9f * limit);  // the whole range is used
  CHECK(hi > 0.9f * limit);
  for (std::size_t i = 2000; i < 2020; ++i) CHECK(p[i] == 0.0f);
}

TEST_CASE("training is deterministic for a seed") {
  xt::xtensor<float, 2> data = manifold(300, 1);
  SeedModel a(3), b(3);
  Adam oa, ob;
  fit(a, data, oa, {.epochs = 2, .batch_size = 16, .seed = 9, .progress = Progress::quiet});
  fit(b, data, ob, {.epochs = 2, .batch_size = 16, .seed = 9, .progress = Progress::quiet});
  CHECK(std::equal(a.parameters().begin(), a.parameters().end(), b.parameters().begin()));
}

TEST_CASE("an autoencoder learns data on a low-dimensional manifold: MSE 10x below the variance") {
  struct Enc : Seq<Dense<100, 32, Tanh>, Dense<32, 4, Identity>> {};
  struct Dec : Seq<Dense<4, 32, Tanh>, Dense<32, 100, Identity>> {};
  Autoencoder<Enc, Dec, MSE> model(1);
  xt::xtensor<float, 2> train = manifold(2000, 2), test = manifold(500, 2);  // same embedding, new points
  Adam opt(3e-3);
  History h = fit(model, train, opt, {.epochs = 60, .batch_size = 32, .progress = Progress::quiet}, test);
  const double var = mean_variance(test);
  const double mse = model.loss(test);
  INFO("variance " << var << ", test MSE " << mse << ", first epoch " << h.loss.front());
  CHECK(h.val_loss.size() == 60);
  CHECK(h.val_loss.back() == doctest::Approx(mse));
  CHECK(mse < var / 10);
}

TEST_CASE("a linear autoencoder reaches PCA's optimal reconstruction error (within 5%)") {
  // 12-D data with a decaying spectrum; code size 3. PCA's optimum: the mean of the 9 smallest
  // eigenvalues of the (centred) covariance, per element = Σ_{i>3} λ_i / 12.
  constexpr std::size_t d = 12, n = 2000;
  Rng rng(5);
  xt::xtensor<double, 2> x = xt::zeros<double>({n, d});
  std::vector<double> mix(d * d);
  for (auto& v : mix) v = rng.normal();
  for (std::size_t i = 0; i < n; ++i)
    for (std::size_t k = 0; k < d; ++k) {
      const double g = rng.normal() * std::pow(0.6, static_cast<double>(k));
      for (std::size_t j = 0; j < d; ++j) x(i, j) += mix[k * d + j] * g;
    }
  // centre (a linear AE with biases can learn the mean; PCA is on centred data)
  std::vector<double> cov(d * d, 0.0);
  std::vector<double> mean(d, 0.0);
  for (std::size_t i = 0; i < n; ++i)
    for (std::size_t j = 0; j < d; ++j) mean[j] += x(i, j) / n;
  for (std::size_t i = 0; i < n; ++i)
    for (std::size_t a = 0; a < d; ++a)
      for (std::size_t b = 0; b < d; ++b) cov[a * d + b] += (x(i, a) - mean[a]) * (x(i, b) - mean[b]) / n;
  const std::vector<double> eig = symmetric_eigenvalues(cov, d);
  double optimum = 0;
  for (std::size_t i = 0; i + 3 < d; ++i) optimum += eig[i];
  optimum /= d;

  struct Enc : Seq<Dense<d, 3, Identity>> {};
  struct Dec : Seq<Dense<3, d, Identity>> {};
  Autoencoder<Enc, Dec, MSE, double> model(11);
  Adam opt(1e-2);
  fit(model, x, opt, {.epochs = 150, .batch_size = 64, .progress = Progress::quiet});
  Adam fine(1e-3);
  fit(model, x, fine, {.epochs = 100, .batch_size = 256, .progress = Progress::quiet});
  const double mse = model.loss(x);
  INFO("PCA optimum " << optimum << ", linear AE " << mse);
  CHECK(mse >= optimum * (1 - 1e-9));  // nothing beats PCA: a check that the optimum is right
  CHECK(mse <= optimum * 1.05);
}

TEST_CASE("a training step allocates nothing once the workspace has grown") {
  xt::xtensor<float, 2> data = manifold(64, 3);
  SeedModel model(1);
  Adam opt;
  model.train_batch(data.data(), 32, opt);  // first step: the workspace and Adam's moments are sized
  test_support::allocation_counter counted;
  for (int i = 0; i < 100; ++i) model.train_batch(data.data() + (i % 2) * 32 * 100, 32, opt);
  counted.stop();
  CHECK(counted.count() == 0);
}

TEST_CASE("a convolutional VAE's training step allocates nothing once the workspaces have grown, on 1 and 2 threads") {
  struct E : Seq<Input<1, 12, 12>, Conv2D<4, 3, 2, Same, Relu>, Flatten, Dense<144, 8, Relu>, Gaussian<2>> {};
  struct D : Seq<Dense<2, 144, Relu>, Reshape<4, 6, 6>, ConvTranspose2D<1, 3, 2, Same>> {};
  Rng rng(4);
  xt::xtensor<float, 2> data = xt::xtensor<float, 2>::from_shape({64, 144});
  for (auto& v : data) v = rng.uniform(0, 1) < 0.3 ? 1.0f : 0.0f;
  for (std::size_t threads : {1, 2}) {
    VAE<E, D, Bernoulli> model(1);
    model.set_threads(threads);
    Adam opt;
    model.train_batch(data.data(), 32, opt);  // first step: workspaces, packing buffers and moments are sized
    model.train_batch(data.data() + 32 * 144, 32, opt);
    test_support::allocation_counter counted;
    for (int i = 0; i < 50; ++i) model.train_batch(data.data() + (i % 2) * 32 * 144, 32, opt);
    counted.stop();
    INFO("threads " << threads);
    CHECK(counted.count() == 0);
  }
}

TEST_CASE("a schedule and weight decay sparing the biases add no allocation to a step, on 1 and 2 threads") {
  xt::xtensor<float, 2> data = manifold(256, 5);
  struct VEnc : Seq<Dense<100, 96, Relu>, Gaussian<8>> {};
  struct VDec : Seq<Dense<8, 96, Relu>, Dense<96, 100, Identity>> {};
  for (std::size_t threads : {1, 2}) {
    VAE<VEnc, VDec, UnitGaussian> vae(2);
    vae.set_threads(threads);
    AdamW opt(1e-3, 0.01, /*decay_biases=*/false);
    opt.set_schedule(CosineDecay{.steps = 100, .warmup = 10});
    SGD sgd(1e-3, 0.9);
    sgd.set_weight_decay(1e-4, false);
    sgd.set_schedule(StepDecay{.every = 10, .factor = 0.5});
    vae.train_batch(data.data(), 128, opt);
    VAE<VEnc, VDec, UnitGaussian> vae2(3);
    vae2.set_threads(threads);
    vae2.train_batch(data.data(), 128, sgd);
    test_support::allocation_counter counted;
    for (int i = 0; i < 30; ++i) {
      vae.train_batch(data.data() + (i % 2) * 128 * 100, 128, opt);
      vae2.train_batch(data.data() + (i % 2) * 128 * 100, 128, sgd);
    }
    counted.stop();
    INFO("threads " << threads);
    CHECK(counted.count() == 0);
    CHECK(opt.last_learning_rate() < opt.learning_rate());  // the schedule was read
  }
}

TEST_CASE("bad input gives latent:: exceptions that say what was expected and what was found") {
  SeedModel model(1);
  Adam opt;
  xt::xtensor<float, 2> narrow = xt::zeros<float>({4, 99});
  CHECK_THROWS_WITH_AS(model.encode(narrow), doctest::Contains("expected 100 columns"), shape_error);
  CHECK_THROWS_WITH_AS(model.encode(narrow), doctest::Contains("found 99"), shape_error);
  CHECK_THROWS_AS(fit(model, narrow, opt, {.progress = Progress::quiet}), shape_error);
  xt::xtensor<float, 2> codes = xt::zeros<float>({2, 6});
  CHECK_THROWS_WITH_AS(model.decode(codes), doctest::Contains("expected 5 columns"), shape_error);
  xt::xtensor<float, 1> sample = xt::zeros<float>({101});
  CHECK_THROWS_WITH_AS(model.encode(sample), doctest::Contains("found 101"), shape_error);

  xt::xtensor<float, 2> empty = xt::zeros<float>({0, 100});
  CHECK_THROWS_WITH_AS(model.encode(empty), doctest::Contains("found no rows"), data_error);
  CHECK_THROWS_AS(fit(model, empty, opt, {.progress = Progress::quiet}), data_error);

  xt::xtensor<float, 2> bad = xt::zeros<float>({5, 100});
  bad(3, 17) = std::nanf("");
  CHECK_THROWS_WITH_AS(model.encode(bad), doctest::Contains("NaN in row 3, column 17"), data_error);
  bad(3, 17) = INFINITY;
  CHECK_THROWS_WITH_AS(fit(model, bad, opt, {.progress = Progress::quiet}), doctest::Contains("+Inf in row 3"),
                       data_error);

  xt::xtensor<float, 2> ok = xt::zeros<float>({5, 100});
  CHECK_THROWS_WITH_AS(fit(model, ok, opt, {.batch_size = 0, .progress = Progress::quiet}),
                       doctest::Contains("batch size"), option_error);
  // a batch larger than the data is one batch, not an error
  History h = fit(model, ok, opt, {.epochs = 1, .batch_size = 64, .progress = Progress::quiet});
  CHECK(h.epochs() == 1);
  CHECK_THROWS_AS(Adam(-1.0), option_error);
  CHECK_THROWS_AS(SGD(0.1, 1.5), option_error);
}

TEST_CASE("a diverging loss stops training naming the epoch and batch, keeping the last good weights") {
  struct Enc : Seq<Dense<4, 2, Identity>> {};
  struct Dec : Seq<Dense<2, 4, Identity>> {};
  Autoencoder<Enc, Dec, MSE> model(1);
  xt::xtensor<float, 2> x = {{1e3f, -2e3f, 3e3f, 1e3f}, {2e3f, 1e3f, -1e3f, 3e3f}};
  SGD opt(1e3);
  try {
    fit(model, x, opt, {.epochs = 50, .batch_size = 1, .shuffle = false, .progress = Progress::quiet});
    FAIL("training should have diverged");
  } catch (const numerical_error& e) {
    CHECK(std::string(e.what()).find("epoch ") != std::string::npos);
    CHECK(std::string(e.what()).find("batch ") != std::string::npos);
  }
  for (float p : model.parameters()) CHECK(std::isfinite(p));
}

TEST_CASE("BCEWithLogits: decode and reconstruct give probabilities") {
  struct Enc : Seq<Dense<10, 3, Relu>> {};
  struct Dec : Seq<Dense<3, 10, Identity>> {};
  Autoencoder<Enc, Dec, BCEWithLogits> model(2);
  xt::xtensor<float, 2> x = xt::random::rand<float>({20, 10});
  auto r = model.reconstruct(x);
  CHECK(xt::amin(r)() > 0.0f);
  CHECK(xt::amax(r)() < 1.0f);
  Adam opt(1e-2);
  History h = fit(model, x, opt, {.epochs = 30, .batch_size = 5, .progress = Progress::quiet});
  CHECK(h.loss.back() < h.loss.front());
}

TEST_CASE("data-parallel steps: same seed and thread count give bit-identical weights; 1 and 2 threads agree") {
  struct Enc : Seq<Dense<100, 64, Relu>, Dense<64, 8, Identity>> {};
  struct Dec : Seq<Dense<8, 64, Relu>, Dense<64, 100, Identity>> {};
  using M = Autoencoder<Enc, Dec, MSE>;
  xt::xtensor<float, 2> data = manifold(512, 4);
  M a(5), b(5), one(5);
  Adam oa, ob, o1;
  const FitOptions two{.epochs = 2, .batch_size = 128, .seed = 3, .progress = Progress::quiet, .threads = 2};
  fit(a, data, oa, two);
  fit(b, data, ob, two);
  CHECK(std::equal(a.parameters().begin(), a.parameters().end(), b.parameters().begin()));
  CHECK(a.threads() == 0);  // fit restores the model's setting
  FitOptions single = two;
  single.threads = 1;
  fit(one, data, o1, single);
  // the same maths summed in another order: equal to float rounding, not bit for bit
  double worst = 0;
  for (std::size_t i = 0; i < M::param_count; ++i)
    worst = std::max(worst, std::abs(static_cast<double>(a.parameters()[i]) - one.parameters()[i]));
  CHECK(worst < 1e-4);
  // the gradient of one batch with two slices equals the single-slice gradient
  M g(9);
  g.set_threads(1);
  g.gradient(data.data(), 128);
  std::vector<float> g1(g.gradients().begin(), g.gradients().end());
  g.set_threads(2);
  g.gradient(data.data(), 128);
  for (std::size_t i = 0; i < M::param_count; i += 37) CHECK(g.gradients()[i] == doctest::Approx(g1[i]).epsilon(1e-4));
}

TEST_CASE("train_rows: a shuffled batch gathered by the step's threads equals train_batch on a gathered copy") {
  // Over 16 384 parameters, so that Adam's update is split over the threads too.
  struct Enc : Seq<Dense<100, 96, Relu>, Gaussian<8>> {};
  struct Dec : Seq<Dense<8, 96, Relu>, Dense<96, 100, Identity>> {};
  using M = VAE<Enc, Dec, UnitGaussian>;
  static_assert(M::param_count > 16384);
  xt::xtensor<float, 2> data = manifold(300, 6);
  std::vector<std::size_t> rows(128);
  for (std::size_t i = 0; i < rows.size(); ++i) rows[i] = (i * 97 + 13) % 300;
  std::vector<float> gathered(rows.size() * 100);
  for (std::size_t i = 0; i < rows.size(); ++i)
    std::copy(data.data() + rows[i] * 100, data.data() + (rows[i] + 1) * 100, gathered.data() + i * 100);
  for (std::size_t threads : {1, 2}) {
    CAPTURE(threads);
    M a(4), b(4);
    a.set_threads(threads);
    b.set_threads(threads);
    Adam oa, ob;
    for (int step = 0; step < 3; ++step) {
      const double la = a.train_rows(data.data(), rows.data(), rows.size(), oa);
      const double lb = b.train_batch(gathered.data(), rows.size(), ob);
      CHECK(la == lb);
    }
    CHECK(std::equal(a.parameters().begin(), a.parameters().end(), b.parameters().begin()));
  }
  // The plain autoencoder's train_rows too.
  struct AEnc : Seq<Dense<100, 8, Identity>> {};
  struct ADec : Seq<Dense<8, 100, Identity>> {};
  Autoencoder<AEnc, ADec, MSE> c(2), d(2);
  c.set_threads(2);
  d.set_threads(2);
  Adam oc, od;
  CHECK(c.train_rows(data.data(), rows.data(), rows.size(), oc) == d.train_batch(gathered.data(), rows.size(), od));
  CHECK(std::equal(c.parameters().begin(), c.parameters().end(), d.parameters().begin()));
}

TEST_CASE("data-parallel steps on a model large enough to split Adam: same seed and threads, same weights") {
  struct Enc : Seq<Dense<100, 96, Relu>, Gaussian<8>> {};
  struct Dec : Seq<Dense<8, 96, Relu>, Dense<96, 100, Identity>> {};
  using M = VAE<Enc, Dec, UnitGaussian>;
  xt::xtensor<float, 2> data = manifold(512, 4);
  M a(5), b(5);
  Adam oa, ob;
  const FitOptions two{.epochs = 2, .batch_size = 128, .seed = 3, .progress = Progress::quiet, .threads = 2};
  const History ha = fit(a, data, oa, two);
  const History hb = fit(b, data, ob, two);
  CHECK(std::equal(a.parameters().begin(), a.parameters().end(), b.parameters().begin()));
  CHECK(ha.loss == hb.loss);
  CHECK(ha.loss.back() < ha.loss.front());
}

TEST_CASE("a two-thread VAE step that updates as it forms the gradient equals gradient, then step") {
  // On two threads the VAE's Dense weight gradients are formed after the slices, by the threads that
  // own their rows, and Adam and SGD (range protocol) update each block as soon as it is formed.
  // That must give exactly what forming the whole gradient and then stepping gives; with gradient
  // clipping on, the model falls back to the latter.
  struct Enc : Seq<Dense<100, 96, Relu>, Gaussian<8>> {};
  struct Dec : Seq<Dense<8, 96, Relu>, Dense<96, 100, Identity>> {};
  using M = VAE<Enc, Dec, UnitGaussian>;
  xt::xtensor<float, 2> data = manifold(256, 4);
  auto run = [&](auto make_opt, bool clip) {
    M a(5), b(5);
    a.set_threads(2);
    b.set_threads(2);
    auto oa = make_opt(), ob = make_opt();
    if (clip) {
      oa.set_clip_norm(0.5);
      ob.set_clip_norm(0.5);
    }
    for (int i = 0; i < 4; ++i) {
      const float* batch = data.data() + (i % 2) * 128 * 100;
      const double la = a.train_batch(batch, 128, oa);
      const double lb = b.gradient(batch, 128);
      ob.step(b.parameters(), b.gradients(), 2);
      CHECK(la == lb);
    }
    CHECK(std::equal(a.gradients().begin(), a.gradients().end(), b.gradients().begin()));
    CHECK(std::equal(a.parameters().begin(), a.parameters().end(), b.parameters().begin()));
    CHECK(oa.iterations() == 4);
  };
  SUBCASE("Adam") {
    run([] { return Adam(); }, false);
  }
  SUBCASE("SGD with Nesterov momentum") {
    run([] { return SGD(0.01, 0.9, true); }, false);
  }
  SUBCASE("Adam with clipping (whole gradient first)") {
    run([] { return Adam(); }, true);
  }
}

namespace {
// A user-written optimiser with only the two-argument step: plain gradient descent.
struct PlainDescent {
  double lr = 0.5;
  std::size_t calls = 0;
  template <class T>
  void step(std::span<T> p, std::span<const T> g) {
    ++calls;
    for (std::size_t i = 0; i < p.size(); ++i) p[i] -= static_cast<T>(lr) * g[i];
  }
};
static_assert(Optimizer<PlainDescent, float>);
}  // namespace

TEST_CASE("a user-written optimiser without a threads overload trains a two-thread model") {
  struct Enc : Seq<Dense<100, 16, Relu>, Dense<16, 4, Identity>> {};
  struct Dec : Seq<Dense<4, 16, Relu>, Dense<16, 100, Identity>> {};
  Autoencoder<Enc, Dec, MSE> model(3);
  xt::xtensor<float, 2> data = manifold(256, 8);
  PlainDescent opt;
  const History h = fit(model, data, opt, {.epochs = 20, .batch_size = 64, .progress = Progress::quiet, .threads = 2});
  CHECK(opt.calls == 20 * 4);
  CHECK(h.loss.back() < 0.8 * h.loss.front());
}

TEST_CASE("a two-thread training step allocates nothing after the first") {
  xt::xtensor<float, 2> data = manifold(256, 5);
  struct Enc : Seq<Dense<100, 64, Relu>, Dense<64, 8, Identity>> {};
  struct Dec : Seq<Dense<8, 64, Relu>, Dense<64, 100, Identity>> {};
  Autoencoder<Enc, Dec, MSE> model(1);
  model.set_threads(2);
  Adam opt;
  model.train_batch(data.data(), 128, opt);
  // A VAE on two threads defers its weight gradients and updates as it forms them: nothing either.
  struct VEnc : Seq<Dense<100, 96, Relu>, Gaussian<8>> {};
  struct VDec : Seq<Dense<8, 96, Relu>, Dense<96, 100, Identity>> {};
  VAE<VEnc, VDec, UnitGaussian> vae(2);
  vae.set_threads(2);
  Adam vopt;
  vae.train_batch(data.data(), 128, vopt);
  test_support::allocation_counter counted;
  for (int i = 0; i < 50; ++i) vae.train_batch(data.data() + (i % 2) * 128 * 100, 128, vopt);
  counted.stop();
  CHECK(counted.count() == 0);
  counted.reset();
  for (int i = 0; i < 50; ++i) model.train_batch(data.data() + (i % 2) * 128 * 100, 128, opt);
  counted.stop();
  CHECK(counted.count() == 0);
  // The same for shuffled batches gathered by the threads (what fit does).
  std::vector<std::size_t> rows(128);
  for (std::size_t i = 0; i < rows.size(); ++i) rows[i] = (i * 7) % 256;
  model.train_rows(data.data(), rows.data(), rows.size(), opt);
  counted.reset();
  for (int i = 0; i < 50; ++i) model.train_rows(data.data(), rows.data(), rows.size(), opt);
  counted.stop();
  CHECK(counted.count() == 0);
}

namespace {
std::string temp_path(const std::string& name) {
  return (std::filesystem::temp_directory_path() / ("latent-test-" + std::to_string(::getpid()) + "-" + name)).string();
}
std::string read_all(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}
void write_all(const std::string& path, const std::string& bytes) {
  std::ofstream(path, std::ios::binary).write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}
}  // namespace

TEST_CASE("save and load: round trip, architecture check, truncation and corruption leave the model as it was") {
  const std::string path = temp_path("model.bin");
  SeedModel a(1), b(2);
  save(a, path);
  CHECK(!std::filesystem::exists(path + ".tmp-latent"));  // the temporary was renamed
  load(b, path);
  CHECK(std::equal(a.parameters().begin(), a.parameters().end(), b.parameters().begin()));

  struct OtherEnc : Seq<Dense<100, 21, Relu>, Dense<21, 5, Sigmoid>> {};
  struct OtherDec : Seq<Dense<5, 21, Relu>, Dense<21, 100, Sigmoid>> {};
  Autoencoder<OtherEnc, OtherDec, MSE> other(3);
  const std::vector<float> before(other.parameters().begin(), other.parameters().end());
  CHECK_THROWS_WITH_AS(load(other, path), doctest::Contains("Dense<100,20,Relu>"), format_error);
  CHECK_THROWS_WITH_AS(load(other, path), doctest::Contains("Dense<100,21,Relu>"), format_error);
  Autoencoder<SeedEncoder, SeedDecoder, MSE, double> wrong_scalar(1);
  CHECK_THROWS_AS(load(wrong_scalar, path), format_error);

  const std::string bytes = read_all(path);
  SeedModel c(4);
  const std::vector<float> kept(c.parameters().begin(), c.parameters().end());
  write_all(path, bytes.substr(0, bytes.size() / 2));
  CHECK_THROWS_AS(load(c, path), format_error);
  std::string flipped = bytes;
  flipped[bytes.size() / 2] ^= 0x40;
  write_all(path, flipped);
  CHECK_THROWS_WITH_AS(load(c, path), doctest::Contains("checksum"), format_error);
  write_all(path, "not a model at all");
  CHECK_THROWS_WITH_AS(load(c, path), doctest::Contains("not a latent file"), format_error);
  CHECK(std::equal(kept.begin(), kept.end(), c.parameters().begin()));
  CHECK(std::equal(before.begin(), before.end(), other.parameters().begin()));
  CHECK_THROWS_AS(load(c, temp_path("does-not-exist.bin")), io_error);
  CHECK_THROWS_AS(save(c, "/nonexistent-directory/model.bin"), io_error);
  std::filesystem::remove(path);
}

TEST_CASE("optimiser state round-trips through save and load") {
  const std::string path = temp_path("adam.bin");
  xt::xtensor<float, 2> data = manifold(64, 6);
  SeedModel m(1);
  Adam opt(2e-3, 0.8, 0.99, 1e-6);
  for (int i = 0; i < 3; ++i) m.train_batch(data.data(), 32, opt);
  save(opt, path);
  Adam restored;
  load(restored, path);
  CHECK(restored.iterations() == 3);
  CHECK(restored.learning_rate() == 2e-3);
  CHECK(restored.beta1() == 0.8);
  CHECK(std::equal(opt.state<float>(1).begin(), opt.state<float>(1).end(), restored.state<float>(1).begin()));
  SGD sgd;
  CHECK_THROWS_WITH_AS(load(sgd, path), doctest::Contains("not of SGD"), format_error);
  std::filesystem::remove(path);
}

TEST_CASE("a run stopped and resumed from its checkpoint ends bit-identical to an uninterrupted run") {
  struct Enc : Seq<Dense<100, 16, Relu>, Gaussian<4>> {};
  struct Dec : Seq<Dense<4, 16, Relu>, Dense<16, 100, Identity>> {};
  using M = VAE<Enc, Dec, UnitGaussian>;
  const std::string path = temp_path("checkpoint.bin");
  std::filesystem::remove(path);
  xt::xtensor<float, 2> data = manifold(200, 7);
  FitOptions options{.epochs = 4, .batch_size = 32, .seed = 5, .progress = Progress::quiet};

  M straight(1);
  Adam o1;
  const History full = fit(straight, data, o1, options);

  M first(1);
  Adam o2;
  FitOptions part = options;
  part.epochs = 2;
  part.checkpoint = path;
  fit(first, data, o2, part);  // "stopped" after 2 epochs
  M resumed(77);               // a fresh process: other weights, fresh optimiser
  Adam o3;
  FitOptions rest = options;
  rest.checkpoint = path;
  rest.resume = true;
  const History h = fit(resumed, data, o3, rest);
  CHECK(h.epochs() == 4);
  CHECK(h.loss == full.loss);
  CHECK(std::equal(straight.parameters().begin(), straight.parameters().end(), resumed.parameters().begin()));
  std::filesystem::remove(path);
}

TEST_CASE("gradient-norm clipping bounds the step") {
  struct Enc : Seq<Dense<4, 2, Identity>> {};
  struct Dec : Seq<Dense<2, 4, Identity>> {};
  Autoencoder<Enc, Dec, MSE, double> m(1);
  xt::xtensor<double, 2> x = {{10, -20, 30, 10}};
  m.gradient(x.data(), 1);
  double norm = 0;
  for (double g : m.gradients()) norm += g * g;
  norm = std::sqrt(norm);
  REQUIRE(norm > 1.0);
  const std::vector<double> before(m.parameters().begin(), m.parameters().end());
  SGD sgd(0.1);
  sgd.set_clip_norm(1.0);
  m.train_batch(x.data(), 1, sgd);
  double step = 0;
  for (std::size_t i = 0; i < before.size(); ++i) step += std::pow(m.parameters()[i] - before[i], 2);
  CHECK(std::sqrt(step) == doctest::Approx(0.1).epsilon(1e-9));  // lr × clipped norm 1
  CHECK_THROWS_AS(sgd.set_clip_norm(-1), option_error);
}

TEST_CASE("a learning rate too large for float: the diverging update is undone, the weights give a finite loss") {
  struct Enc : Seq<Dense<4, 3, Relu>> {};
  struct Dec : Seq<Dense<3, 4, Identity>> {};
  Autoencoder<Enc, Dec, MSE> model(3);
  const std::vector<float> before(model.parameters().begin(), model.parameters().end());
  xt::xtensor<float, 2> x = {{1, 2, 3, 4}, {2, 1, 0, 3}, {0.5f, 1, 2, 1}};
  SUBCASE("Adam at 1e39 (finite in double, infinite in float)") {
    Adam opt(1e39);
    CHECK_THROWS_AS(fit(model, x, opt, {.epochs = 3, .batch_size = 1, .progress = Progress::quiet}), numerical_error);
  }
  SUBCASE("SGD at 1e39 through train_batch") {
    SGD opt(1e39);
    try {
      model.train_batch(x.data(), 3, opt);
      FAIL("the update should have been refused");
    } catch (const numerical_error& e) {
      CHECK(std::string(e.what()).find("non-finite") != std::string::npos);
    }
  }
  // The first update already diverged: the model is exactly as it was, and its loss is finite.
  CHECK(std::equal(before.begin(), before.end(), model.parameters().begin()));
  CHECK(std::isfinite(model.loss(x)));
}

TEST_CASE("a non-finite loss after finite updates restores the weights before the last update") {
  struct Enc : Seq<Dense<4, 2, Identity>> {};
  struct Dec : Seq<Dense<2, 4, Identity>> {};
  Autoencoder<Enc, Dec, MSE> model(1);
  xt::xtensor<float, 2> x = {{1e3f, -2e3f, 3e3f, 1e3f}, {2e3f, 1e3f, -1e3f, 3e3f}};
  SGD opt(1e3);
  std::vector<float> before_last(model.parameters().begin(), model.parameters().end());
  std::vector<float> current = before_last;
  bool diverged = false;
  std::size_t good_row = 0;  // the row on which the restored weights last had a finite loss
  for (std::size_t step = 0; step < 60 && !diverged; ++step) {
    try {
      model.train_batch(x.data() + (step % 2) * 4, 1, opt);
      before_last = current;
      current.assign(model.parameters().begin(), model.parameters().end());
      good_row = step % 2;
    } catch (const numerical_error& e) {
      diverged = true;
      const std::string what = e.what();
      // Either the loss of the current weights was not finite (back to the weights before the last
      // update, whose loss on the last good step's row was finite), or this step's update was
      // (undone: the current weights stay, and their loss on this step's row was finite).
      const bool undone = what.find("undone") != std::string::npos;
      if (undone) good_row = step % 2;
      const std::vector<float>& expected = undone ? current : before_last;
      CHECK(std::equal(expected.begin(), expected.end(), model.parameters().begin()));
    }
  }
  REQUIRE(diverged);
  for (float p : model.parameters()) CHECK(std::isfinite(p));
  const xt::xtensor<float, 2> row = xt::view(x, xt::range(good_row, good_row + 1), xt::all());
  CHECK(std::isfinite(model.loss(row)));
}

TEST_CASE("an empty batch and checkpoint_every = 0 are option errors, not NaN or silence") {
  struct Enc : Seq<Dense<4, 2, Relu>> {};
  struct Dec : Seq<Dense<2, 4>> {};
  Autoencoder<Enc, Dec> model(2);
  const std::vector<float> before(model.parameters().begin(), model.parameters().end());
  xt::xtensor<float, 2> x = {{1, 2, 3, 4}};
  Adam opt;
  CHECK_THROWS_AS(model.train_batch(x.data(), 0, opt), option_error);
  CHECK_THROWS_AS(model.gradient(x.data(), 0), option_error);
  CHECK_THROWS_AS(model.train_rows(x.data(), nullptr, 0, opt), option_error);
  CHECK(std::equal(before.begin(), before.end(), model.parameters().begin()));
  CHECK(opt.iterations() == 0);
  const std::string path = (std::filesystem::temp_directory_path() / "latent_every0.latent").string();
  std::filesystem::remove(path);
  try {
    fit(model, x, opt, {.epochs = 2, .progress = Progress::quiet, .checkpoint = path, .checkpoint_every = 0});
    FAIL("fit should refuse checkpoint_every = 0");
  } catch (const option_error& e) {
    CHECK(std::string(e.what()).find("checkpoint_every") != std::string::npos);
  }
  CHECK(!std::filesystem::exists(path));
  // The conditional VAE's entry points too.
  struct CEnc : Seq<Dense<6, 4, Relu>, Gaussian<2>> {};
  struct CDec : Seq<Dense<4, 4>> {};
  ConditionalVAE<CEnc, CDec, 2> cvae(1);
  const float c[2] = {1, 0};
  CHECK_THROWS_AS(cvae.train_batch(x.data(), c, 0, opt), option_error);
  CHECK_THROWS_AS(cvae.gradient(x.data(), c, 0), option_error);
}

TEST_CASE("the conditional VAE has the one-sample forms of encode, decode and reconstruct") {
  struct CEnc : Seq<Dense<7, 6, Relu>, Gaussian<3>> {};
  struct CDec : Seq<Dense<5, 6, Relu>, Dense<6, 5>> {};
  ConditionalVAE<CEnc, CDec, 2> model(4);
  xt::xtensor<float, 2> x = {{0.1f, 0.2f, 0.3f, 0.4f, 0.5f}, {0.9f, 0.1f, 0.5f, 0.3f, 0.7f}};
  xt::xtensor<std::int32_t, 1> labels = {0, 1};
  const xt::xtensor<float, 2> z = model.encode(x, labels);
  const xt::xtensor<float, 2> y = model.decode(z, labels);
  const xt::xtensor<float, 2> r = model.reconstruct(x, labels);
  for (std::size_t i = 0; i < 2; ++i) {
    const xt::xtensor<float, 1> xi = xt::view(x, i, xt::all());
    const xt::xtensor<float, 1> zi = model.encode(xi, labels(i));
    const xt::xtensor<float, 1> yi = model.decode(zi, labels(i));
    const xt::xtensor<float, 1> ri = model.reconstruct(xi, labels(i));
    REQUIRE(zi.size() == 3);
    REQUIRE(yi.size() == 5);
    for (std::size_t j = 0; j < 3; ++j) CHECK(zi(j) == z(i, j));
    for (std::size_t j = 0; j < 5; ++j) {
      CHECK(yi(j) == y(i, j));
      CHECK(ri(j) == r(i, j));
    }
  }
  CHECK_THROWS_AS(model.encode(xt::xtensor<float, 1>{0.1f, 0.2f}, 0), shape_error);
  CHECK_THROWS_AS(model.decode(xt::xtensor<float, 1>{0.1f, 0.2f, 0.3f}, 2), data_error);
}

TEST_CASE("the keeping updates equal the plain ones bit for bit, keep the old values and report non-finite ones") {
  // The model's training step keeps its last good weights in the optimiser's own pass
  // (update_range_keeping); the new values must be exactly those of update_range, wherever a range
  // starts (aligned for streaming stores or not).
  const std::size_t n = 1000;
  auto run = [&](auto make_opt) {
    for (std::size_t first : {std::size_t{0}, std::size_t{3}, std::size_t{16}}) {
      auto a = make_opt(), b = make_opt();
      std::vector<float> p(n), g(n), old(n, -1.0f);
      Rng rng(7);
      for (std::size_t i = 0; i < n; ++i) {
        p[i] = static_cast<float>(rng.normal());
        g[i] = static_cast<float>(rng.normal());
      }
      std::vector<float> q = p;
      for (int step = 0; step < 3; ++step) {
        REQUIRE(a.template begin_ranges<float>(n));
        REQUIRE(b.template begin_ranges<float>(n));
        const std::vector<float> before = q;
        a.update_range(std::span<float>(p), std::span<const float>(g), 0, n);
        b.update_range(std::span<float>(q), std::span<const float>(g), 0, first);
        CHECK(b.update_range_keeping(std::span<float>(q), std::span<const float>(g), first, n, old.data()));
        CHECK(std::equal(p.begin(), p.end(), q.begin()));
        CHECK(std::equal(before.begin() + static_cast<std::ptrdiff_t>(first), before.end(),
                         old.begin() + static_cast<std::ptrdiff_t>(first)));
      }
      g[first + 5] = std::numeric_limits<float>::infinity();
      REQUIRE(b.template begin_ranges<float>(n));
      CHECK_FALSE(b.update_range_keeping(std::span<float>(q), std::span<const float>(g), first, n, old.data()));
    }
  };
  SUBCASE("Adam") {
    run([] { return Adam(1e-2); });
  }
  SUBCASE("SGD with Nesterov momentum") {
    run([] { return SGD(0.1, 0.9, true); });
  }
}

TEST_CASE("an optimiser of one's own that makes the weights non-finite is undone too (copy and scan path)") {
  // PlainDescent has neither the range protocol nor update_range_keeping: the model copies the
  // parameters before its step and scans them after.
  struct Enc : Seq<Dense<4, 3, Relu>> {};
  struct Dec : Seq<Dense<3, 4, Identity>> {};
  Autoencoder<Enc, Dec, MSE> model(3);
  const std::vector<float> before(model.parameters().begin(), model.parameters().end());
  xt::xtensor<float, 2> x = {{1, 2, 3, 4}, {2, 1, 0, 3}};
  PlainDescent opt{.lr = 1e39};
  CHECK_THROWS_AS(model.train_batch(x.data(), 2, opt), numerical_error);
  CHECK(opt.calls == 1);
  CHECK(std::equal(before.begin(), before.end(), model.parameters().begin()));
  CHECK(std::isfinite(model.loss(x)));
}

// ---- Predictor: the fast inference path ----------------------------------------------------------------
namespace {
// max |a − b| / max(1, |b|) over two equal-sized arrays.
double worst_relative(const float* a, const float* b, std::size_t n) {
  double w = 0;
  for (std::size_t i = 0; i < n; ++i)
    w = std::max(w, std::abs(static_cast<double>(a[i]) - b[i]) / std::max(1.0, std::abs(static_cast<double>(b[i]))));
  return w;
}
template <class T>
double worst_relative(const T* a, const T* b, std::size_t n) {
  double w = 0;
  for (std::size_t i = 0; i < n; ++i)
    w = std::max(w, std::abs(static_cast<double>(a[i]) - static_cast<double>(b[i])) /
                        std::max(1.0, std::abs(static_cast<double>(b[i]))));
  return w;
}

// The Predictor's encode, decode and reconstruct of n rows against the model's own, with chunks of
// `chunk` rows; the weights moved off their initial values (biases included) first.
template <class Model>
void check_predictor(Model& model, std::size_t chunk, double tolerance) {
  using T = typename Model::scalar_type;
  constexpr std::size_t D = Model::input_size, Z = Model::code_size;
  Rng rng(11);
  for (auto& p : model.parameters()) p += static_cast<T>(rng.uniform(-0.05, 0.05));
  Predictor<Model> fast(model, chunk);
  CHECK(fast.max_rows() == chunk);
  for (std::size_t n : {std::size_t{1}, std::size_t{3}, 2 * chunk + 1}) {
    xt::xtensor<T, 2> x = xt::xtensor<T, 2>::from_shape({n, D});
    for (auto& v : x) v = static_cast<T>(rng.uniform());
    xt::xtensor<T, 2> z = xt::xtensor<T, 2>::from_shape({n, Z});
    for (auto& v : z) v = static_cast<T>(rng.normal());
    xt::xtensor<T, 2> code = xt::zeros<T>({n, Z}), out = xt::zeros<T>({n, D}), rec = xt::zeros<T>({n, D});
    fast.encode(x.data(), n, code.data());
    fast.decode(z.data(), n, out.data());
    fast.reconstruct(x.data(), n, rec.data());
    const xt::xtensor<T, 2> code_ref = model.encode(x), out_ref = model.decode(z), rec_ref = model.reconstruct(x);
    INFO(Model::architecture() << ", " << n << " rows");
    CHECK(worst_relative(code.data(), code_ref.data(), code.size()) <= tolerance);
    CHECK(worst_relative(out.data(), out_ref.data(), out.size()) <= tolerance);
    CHECK(worst_relative(rec.data(), rec_ref.data(), rec.size()) <= tolerance);
    // The tensor forms give the same as the pointer forms.
    CHECK(fast.encode(x) == code);
    CHECK(fast.reconstruct(x) == rec);
  }
}
}  // namespace

TEST_CASE("a Predictor gives the model's own encode, decode and reconstruct, across chunks, for the family") {
  SUBCASE("the seed autoencoder (MSE)") {
    SeedModel m(1);
    check_predictor(m, 4, 1e-5);
  }
  SUBCASE("the reference VAE (Bernoulli: decode gives probabilities)") {
    struct E : Seq<Dense<784, 400, Relu>, Gaussian<20>> {};
    struct D : Seq<Dense<20, 400, Relu>, Dense<400, 784>> {};
    VAE<E, D, Bernoulli> m(2);
    check_predictor(m, 8, 1e-5);
  }
  SUBCASE("an autoencoder on logits, a LearnedGaussian VAE, an IWAE, a denoising autoencoder") {
    struct E : Seq<Dense<30, 16, Tanh>, Dense<16, 4, LeakyRelu>> {};
    struct D : Seq<Dense<4, 16, Elu>, Dense<16, 30>> {};
    Autoencoder<E, D, BCEWithLogits> a(3);
    check_predictor(a, 2, 1e-5);
    struct VE : Seq<Dense<30, 16, Softplus>, Gaussian<4>> {};
    VAE<VE, D, LearnedGaussian> v(4);
    check_predictor(v, 5, 1e-5);
    IWAE<VE, D, 3, Bernoulli> w(5);
    check_predictor(w, 5, 1e-5);
    DenoisingAutoencoder<E, D, BCEWithLogits> dn(6);
    check_predictor(dn, 3, 1e-5);
  }
  SUBCASE("a convolutional VAE (convolutions run their own forward)") {
    struct E : Seq<Input<1, 12, 12>, Conv2D<4, 3, 2, Same, Relu>, Flatten, Dense<144, 8, Relu>, Gaussian<2>> {};
    struct D : Seq<Dense<2, 144, Relu>, Reshape<4, 6, 6>, ConvTranspose2D<1, 3, 2, Same>> {};
    VAE<E, D, Bernoulli> m(7);
    check_predictor(m, 4, 1e-5);
  }
  SUBCASE("a double model") {
    Autoencoder<SeedEncoder, SeedDecoder, MSE, double> m(8);
    check_predictor(m, 4, 1e-12);
  }
}

TEST_CASE("a Predictor re-packs when the model changes: a training step, a load, a write through parameters()") {
  xt::xtensor<float, 2> data = manifold(64, 5);
  SeedModel model(1);
  Predictor<SeedModel> fast(model);
  xt::xtensor<float, 2> z = xt::zeros<float>({std::size_t{64}, std::size_t{5}});
  const auto agrees = [&] {
    fast.encode(data.data(), 64, z.data());
    const xt::xtensor<float, 2> ref = model.encode(data);
    return worst_relative(z.data(), ref.data(), z.size()) <= 1e-5;
  };
  CHECK(agrees());
  const xt::xtensor<float, 2> before = z;
  Adam opt(1e-2f);
  model.train_batch(data.data(), 64, opt);
  CHECK(agrees());
  CHECK(z != before);  // the step changed the codes, and the Predictor saw it

  const auto path = std::filesystem::temp_directory_path() / ("latent_predictor_" + std::to_string(::getpid()));
  save(model, path.string());
  const xt::xtensor<float, 2> saved = z;
  for (int i = 0; i < 5; ++i) model.train_batch(data.data(), 64, opt);
  CHECK(agrees());
  CHECK(z != saved);
  load(model, path.string());
  CHECK(agrees());
  CHECK(z == saved);
  std::filesystem::remove(path);

  model.parameters()[0] += 1.0f;  // the first input's weight into the first hidden unit
  CHECK(agrees());
  CHECK(z != saved);

  // A model assigned from another has a new version too.
  SeedModel other(9);
  model = other;
  CHECK(agrees());
}

TEST_CASE("a Predictor allocates nothing per call, at batch 1 and 256, Dense and convolutional") {
  struct E : Seq<Dense<784, 400, Relu>, Gaussian<20>> {};
  struct D : Seq<Dense<20, 400, Relu>, Dense<400, 784>> {};
  VAE<E, D, Bernoulli> vae(1);
  struct CE : Seq<Input<1, 12, 12>, Conv2D<4, 3, 2, Same, Relu>, Flatten, Dense<144, 8, Relu>, Gaussian<2>> {};
  struct CD : Seq<Dense<2, 144, Relu>, Reshape<4, 6, 6>, ConvTranspose2D<1, 3, 2, Same>> {};
  VAE<CE, CD, Bernoulli> conv(2);
  const auto run = [](auto& model) {
    using M = std::decay_t<decltype(model)>;
    constexpr std::size_t D = M::input_size, Z = M::code_size;
    std::vector<float> x(300 * D, 0.25f), z(300 * Z), y(300 * D);
    Predictor<M> fast(model);
    for (std::size_t n : {std::size_t{1}, std::size_t{256}, std::size_t{300}}) {
      fast.reconstruct(x.data(), n, y.data());  // a first call on this thread sizes the layers' workspaces
      test_support::allocation_counter counted;
      for (int i = 0; i < 3; ++i) {
        fast.encode(x.data(), n, z.data());
        fast.decode(z.data(), n, y.data());
        fast.reconstruct(x.data(), n, y.data());
        fast.encode(std::span<const float>(x.data(), n * D), std::span<float>(z.data(), n * Z));
      }
      counted.stop();
      INFO(M::architecture() << ", " << n << " rows");
      CHECK(counted.count() == 0);
    }
  };
  run(vae);
  run(conv);
}

TEST_CASE("a Predictor's span calls refuse partial rows and outputs of the wrong size") {
  SeedModel model(1);
  Predictor<SeedModel> fast(model);
  std::vector<float> x(250), z(10);
  CHECK_THROWS_WITH_AS(fast.encode(std::span<const float>(x), std::span<float>(z)),
                       "latent: Predictor::encode: expected whole rows of 100 values, found 250 values", shape_error);
  x.resize(200);
  CHECK_THROWS_WITH_AS(fast.encode(std::span<const float>(x), std::span<float>(z.data(), 5)),
                       "latent: Predictor::encode: expected an output of 2 x 5 = 10 values for 2 rows, found 5",
                       shape_error);
  fast.encode(std::span<const float>(x), std::span<float>(z));  // the right sizes pass
  xt::xtensor<float, 2> wide = xt::zeros<float>({std::size_t{2}, std::size_t{101}});
  CHECK_THROWS_WITH_AS(fast.encode(wide), "latent: Predictor::encode: expected rows of 100 values, found 101",
                       shape_error);
  // One sample as a vector: the model's own result, and a wrong length refused.
  xt::xtensor<float, 1> one = xt::zeros<float>({std::size_t{100}});
  one(3) = 1.0f;
  CHECK(xt::allclose(fast.encode(one), model.encode(one), 1e-5, 1e-6));
  CHECK(xt::allclose(fast.reconstruct(one), model.reconstruct(one), 1e-5, 1e-6));
  xt::xtensor<float, 1> code = xt::zeros<float>({std::size_t{5}});
  CHECK(fast.decode(code).size() == 100);
  CHECK_THROWS_WITH_AS(fast.decode(one), "latent: Predictor::decode: expected a sample of 5 values, found 100",
                       shape_error);
  CHECK_THROWS_WITH_AS(Predictor<SeedModel>(model, 0), "latent: Predictor: max_rows must be at least 1, found 0",
                       option_error);
}
}  // namespace test_models
