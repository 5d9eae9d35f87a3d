// Training as users expect it (#15): callbacks and early stopping, learning-rate schedules, weight
// decay, validation split, Dataset forms of fit, data of the other scalar type, per-sample losses and
// ROC AUC. (No allocation in a step with a schedule and weight decay: test_models.cpp, which counts.)
#include <doctest/doctest.h>

#include <latent/latent.hpp>

#include <xtensor/xview.hpp>

#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <limits>
#include <numbers>
#include <string>
#include <vector>

// The file's own names live in namespace test_training: the test programs compile several test files as one
// translation unit (tests/CMakeLists.txt), and each file's helpers stay its own.
namespace test_training {

using namespace latent;

namespace {
struct Enc : Seq<Dense<12, 8, Relu>, Dense<8, 2>> {};
struct Dec : Seq<Dense<2, 8, Relu>, Dense<8, 12>> {};
using AE = Autoencoder<Enc, Dec, MSE>;
struct VEnc : Seq<Dense<12, 8, Relu>, Gaussian<2>> {};
struct VDec : Seq<Dense<2, 8, Relu>, Dense<8, 12>> {};
using GaussVAE = VAE<VEnc, VDec, UnitGaussian>;

// Rows on a 2-D curve in 12 dimensions with a little noise: data with structure to learn.
xt::xtensor<float, 2> curve(std::size_t n, std::uint64_t seed, double noise = 0.02) {
  Rng rng(seed);
  xt::xtensor<float, 2> x = xt::xtensor<float, 2>::from_shape({n, 12});
  for (std::size_t i = 0; i < n; ++i) {
    const double u = rng.uniform(-1, 1), v = rng.uniform(-1, 1);
    for (std::size_t j = 0; j < 12; ++j)
      x(i, j) = static_cast<float>(std::sin(u * static_cast<double>(j + 1) * 0.4) * 0.6 + v * 0.3 * std::cos(j * 0.7) +
                                   noise * rng.normal());
  }
  return x;
}
std::string temp_path(const std::string& name) {
  return (std::filesystem::temp_directory_path() / ("latent-training-" + std::to_string(::getpid()) + "-" + name))
      .string();
}
std::string read_all(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}
template <class M>
std::vector<float> params_of(const M& m) {
  return {m.parameters().begin(), m.parameters().end()};
}
}  // namespace

TEST_CASE("schedules: each value against the hand-computed one") {
  const Schedule step = StepDecay{.every = 3, .factor = 0.5};
  const double step_expected[] = {1, 1, 1, 0.5, 0.5, 0.5, 0.25, 0.25};
  for (std::size_t k = 0; k < 8; ++k) CHECK(step.rate(1.0, k) == doctest::Approx(step_expected[k]).epsilon(1e-15));

  const Schedule ex = ExponentialDecay{.steps = 10, .rate = 0.5};
  CHECK(ex.rate(2.0, 0) == doctest::Approx(2.0));
  CHECK(ex.rate(2.0, 5) == doctest::Approx(2.0 * std::sqrt(0.5)).epsilon(1e-14));
  CHECK(ex.rate(2.0, 20) == doctest::Approx(0.5).epsilon(1e-14));
  const Schedule stair = ExponentialDecay{.steps = 10, .rate = 0.5, .staircase = true};
  CHECK(stair.rate(2.0, 9) == 2.0);
  CHECK(stair.rate(2.0, 15) == 1.0);

  const Schedule cos = CosineDecay{.steps = 10, .warmup = 2, .min_lr = 0.1};
  CHECK(cos.rate(1.0, 0) == doctest::Approx(0.5));  // warm-up: lr·(k+1)/warmup
  CHECK(cos.rate(1.0, 1) == doctest::Approx(1.0));
  CHECK(cos.rate(1.0, 2) == doctest::Approx(1.0));   // p = 0
  CHECK(cos.rate(1.0, 6) == doctest::Approx(0.55));  // p = 1/2: 0.1 + 0.9·(1 + cos(π/2))/2
  CHECK(cos.rate(1.0, 4) == doctest::Approx(0.1 + 0.9 * (1 + std::cos(std::numbers::pi / 4)) / 2).epsilon(1e-14));
  CHECK(cos.rate(1.0, 10) == doctest::Approx(0.1));
  CHECK(cos.rate(1.0, 1000) == doctest::Approx(0.1));

  // ReduceLROnPlateau, patience 2, factor 0.5, cooldown 1, min_lr 0.2 (Keras's rules):
  Schedule plateau = ReduceLROnPlateau{.factor = 0.5, .patience = 2, .min_delta = 0.01, .cooldown = 1, .min_lr = 0.2};
  const double losses[] = {1.0, 0.9, 0.895, 0.9, 0.8, 0.85, 0.86, 0.87, 0.88, 0.89, 0.9};
  // epoch:               1    2    3      4    5    6     7     8     9     10    11
  // 3: not better by 0.01 (wait 1); 4: wait 2 → ×0.5, cooldown 1; 5: the cooldown epoch (wait reset),
  // better (best 0.8); 6: wait 1; 7: wait 2 → 0.25, cooldown 1; 8: cooldown ends (wait 0, then 1);
  // 9: wait 2 → 0.125, raised to min_lr 0.2; 10, 11: at min_lr, no further reduction.
  const double expected[] = {1, 1, 1, 0.5, 0.5, 0.5, 0.25, 0.25, 0.2, 0.2, 0.2};
  for (std::size_t e = 0; e < 11; ++e) {
    plateau.end_epoch(losses[e], 1.0);
    INFO("epoch " << e + 1);
    CHECK(plateau.rate(1.0, 0) == doctest::Approx(expected[e]));
  }

  CHECK_THROWS_WITH_AS(Schedule(StepDecay{.every = 0}), doctest::Contains("StepDecay: expected every >= 1"),
                       option_error);
  CHECK_THROWS_WITH_AS(Schedule(CosineDecay{.steps = 5, .warmup = 6}), doctest::Contains("warmup <= steps"),
                       option_error);
  CHECK_THROWS_WITH_AS(Schedule(ExponentialDecay{.steps = 5, .rate = 1.5}), doctest::Contains("0 < rate <= 1"),
                       option_error);
  CHECK_THROWS_WITH_AS(Schedule(ReduceLROnPlateau{.factor = 1.0}), doctest::Contains("0 < factor < 1"), option_error);
}

TEST_CASE("CosineDecay at its ends: the last of its steps, every step after, and warm-up as long as steps") {
  // schedule.hpp: p = min(1, (k − warmup)/(steps − warmup)); min_lr from k = steps on, for good.
  const Schedule cos = CosineDecay{.steps = 10, .warmup = 2, .min_lr = 0.1};
  CHECK(cos.rate(1.0, 9) == doctest::Approx(0.1 + 0.9 * (1 - std::cos(std::numbers::pi / 8)) / 2).epsilon(1e-14));
  CHECK(cos.rate(1.0, 9) > 0.1);
  for (std::size_t k : {10, 11, 1000, 1000000}) CHECK(cos.rate(1.0, k) == 0.1);
  const Schedule all_warmup = CosineDecay{.steps = 4, .warmup = 4, .min_lr = 0.2};
  CHECK(all_warmup.rate(1.0, 3) == 1.0);
  CHECK(all_warmup.rate(1.0, 4) == 0.2);
  // min_lr 0: after `steps` Adam's parameters stay put (decay included); SGD's momentum coasts on.
  Adam adam(0.1);
  adam.set_schedule(CosineDecay{.steps = 3});
  adam.set_weight_decay(0.5);
  SGD sgd(0.1, 0.5);
  sgd.set_schedule(CosineDecay{.steps = 3});
  std::vector<double> p{1.0}, q{1.0}, g{0.5};
  for (int k = 0; k < 3; ++k) {
    adam.step(std::span<double>(p), std::span<const double>(g));
    sgd.step(std::span<double>(q), std::span<const double>(g));
  }
  const double p3 = p[0], q3 = q[0];
  adam.step(std::span<double>(p), std::span<const double>(g));
  sgd.step(std::span<double>(q), std::span<const double>(g));
  CHECK(adam.last_learning_rate() == 0.0);
  CHECK(p[0] == p3);
  CHECK(q[0] < q3);  // u ← 0.5·u, still negative
}

TEST_CASE("an optimiser reads its schedule at every step; fit records the rates and feeds the plateau") {
  Adam opt(0.1);
  opt.set_schedule(StepDecay{.every = 2, .factor = 0.1});
  std::vector<float> p{1.0f}, g{0.5f};
  const double expected[] = {0.1, 0.1, 0.01, 0.01, 0.001};
  for (double e : expected) {
    CHECK(opt.current_learning_rate() == doctest::Approx(e));
    opt.step(std::span<float>(p), std::span<const float>(g));
    CHECK(opt.last_learning_rate() == doctest::Approx(e));
  }
  CHECK(opt.learning_rate() == 0.1);  // the base rate is unchanged

  // 4 steps an epoch (128 rows, batch 32): the rate of each epoch's last step.
  const auto x = curve(128, 1);
  AE model(1);
  SGD sgd(0.05);
  sgd.set_schedule(StepDecay{.every = 6, .factor = 0.5});
  const History h = fit(model, x, sgd, {.epochs = 4, .batch_size = 32, .progress = Progress::quiet});
  REQUIRE(h.learning_rate.size() == 4);
  // last steps are k = 3, 7, 11, 15: ⌊k/6⌋ = 0, 1, 1, 2
  CHECK(h.learning_rate[0] == doctest::Approx(0.05));
  CHECK(h.learning_rate[1] == doctest::Approx(0.025));
  CHECK(h.learning_rate[2] == doctest::Approx(0.025));
  CHECK(h.learning_rate[3] == doctest::Approx(0.0125));

  // A plateau that cannot improve (min_delta huge): the rate halves after every `patience` epochs.
  AE m2(1);
  Adam a2(0.01);
  a2.set_schedule(ReduceLROnPlateau{.factor = 0.5, .patience = 2, .min_delta = 1e9});
  const History h2 = fit(m2, x, a2, {.epochs = 5, .batch_size = 64, .progress = Progress::quiet});
  // epoch 1 improves on +inf; epochs 2, 3 do not → reduced after 3; 4, 5 → after 5.
  CHECK(h2.learning_rate[2] == doctest::Approx(0.01));
  CHECK(h2.learning_rate[3] == doctest::Approx(0.005));
  CHECK(a2.current_learning_rate() == doctest::Approx(0.0025));
}

TEST_CASE("AdamW and SGD's L2 decay against hand-computed steps") {
  // AdamW, two steps: p ← p·(1 − lr·λ) − lr·√(1−β2ᵗ)/(1−β1ᵗ)·m/(√v + ε).
  const double lr = 0.1, wd = 0.2, b1 = 0.9, b2 = 0.999, eps = 1e-7;
  AdamW opt(lr, wd, true, b1, b2, eps);
  std::vector<double> p{1.0, -2.0, 0.5}, g1{0.3, -0.1, 0.0}, g2{-0.2, 0.4, 1.0};
  std::vector<long double> ref(p.begin(), p.end()), m(3, 0), v(3, 0);
  int t = 0;
  for (const auto* g : {&g1, &g2}) {
    ++t;
    opt.step(std::span<double>(p), std::span<const double>(*g));
    const long double lr_t = lr * std::sqrt(1 - std::pow(b2, t)) / (1 - std::pow(b1, t));
    for (std::size_t i = 0; i < 3; ++i) {
      m[i] = b1 * m[i] + (1 - b1) * (*g)[i];
      v[i] = b2 * v[i] + (1 - b2) * (*g)[i] * (*g)[i];
      ref[i] = ref[i] * (1 - lr * wd) - lr_t * m[i] / (std::sqrt(v[i]) + eps);
    }
  }
  for (std::size_t i = 0; i < 3; ++i) CHECK(p[i] == doctest::Approx(static_cast<double>(ref[i])).epsilon(1e-13));
  CHECK(p[2] != doctest::Approx(0.5));  // a zero gradient still decays (decoupled)

  // SGD with momentum and L2: g ← g + λp; u ← μu − lr·g; p ← p + u.
  SGD sgd(0.1, 0.5);
  sgd.set_weight_decay(0.3);
  std::vector<double> q{1.0, -1.0}, h1{0.2, 0.0}, h2{0.0, 0.5};
  std::vector<double> qr = q, u(2, 0);
  for (const auto* g : {&h1, &h2}) {
    sgd.step(std::span<double>(q), std::span<const double>(*g));
    for (std::size_t i = 0; i < 2; ++i) {
      const double gi = (*g)[i] + 0.3 * qr[i];
      u[i] = 0.5 * u[i] - 0.1 * gi;
      qr[i] += u[i];
    }
  }
  for (std::size_t i = 0; i < 2; ++i) CHECK(q[i] == doctest::Approx(qr[i]).epsilon(1e-14));

  CHECK_THROWS_WITH_AS(sgd.set_weight_decay(-1), doctest::Contains("SGD: expected a finite weight decay >= 0"),
                       option_error);
  CHECK_THROWS_WITH_AS(AdamW(1e-3, std::numeric_limits<double>::infinity()),
                       doctest::Contains("Adam: expected a finite weight decay >= 0, found inf"), option_error);
}

TEST_CASE_TEMPLATE("Adam's steps are the documented formula with the constants the kernel applies", T, float, double) {
  // adam.hpp: m ← β1·m + (1 − β1)·g, v ← β2·v + (1 − β2)·g², p ← p − lr·√(1 − β2ᵗ)/(1 − β1ᵗ)·m/(√v + ε),
  // with β1, β2, ε rounded to T. Computed here in long double from those rounded constants: in float the
  // bias correction once used the exact 0.999 while the moments decayed by 0.99900001287, and every
  // step was 1.0000067 times this (0.999917 times at β2 = 0.9999), far outside the tolerance.
  const double tolerance = std::is_same_v<T, float> ? 1e-6 : 1e-13;
  const double lr = 1e-3, eps = 1e-7;
  constexpr std::size_t n = 19;  // whole vectors and a tail, at every register width
  for (const auto& betas : {std::pair{0.9, 0.999}, std::pair{0.9, 0.9999}, std::pair{0.5, 0.99}}) {
    const double b1 = betas.first, b2 = betas.second;  // not a structured binding: clang 14 cannot CAPTURE one
    CAPTURE(b2);
    Adam opt(lr, b1, b2, eps), ranged(lr, b1, b2, eps);
    const long double B1 = static_cast<T>(b1), B2 = static_cast<T>(b2), E = static_cast<T>(eps);
    const long double C1 = static_cast<T>(T(1) - static_cast<T>(b1)), C2 = static_cast<T>(T(1) - static_cast<T>(b2));
    std::vector<T> p(n, T(0)), q(n, T(0)), g(n);
    std::vector<long double> m(n, 0), v(n, 0), ref(n, 0);
    double worst = 0;
    for (int t = 1; t <= 6; ++t) {
      // Gradients of a fixed sign per parameter and varying size, so that no moment cancels.
      for (std::size_t i = 0; i < n; ++i)
        g[i] = static_cast<T>((i % 2 ? -1 : 1) * (0.2 + 0.05 * static_cast<double>((7 * i + 3 * t) % 11)));
      opt.step(std::span<T>(p), std::span<const T>(g));
      REQUIRE(ranged.template begin_ranges<T>(n));
      ranged.update_range(std::span<T>(q), std::span<const T>(g), 0, 8);
      ranged.update_range(std::span<T>(q), std::span<const T>(g), 8, n);
      const long double lr_t = lr * std::sqrt(1 - std::pow(B2, static_cast<long double>(t))) /
                               (1 - std::pow(B1, static_cast<long double>(t)));
      for (std::size_t i = 0; i < n; ++i) {
        m[i] = B1 * m[i] + C1 * g[i];
        v[i] = B2 * v[i] + C2 * g[i] * g[i];
        ref[i] -= lr_t * m[i] / (std::sqrt(v[i]) + E);
        worst = std::max(worst, static_cast<double>(std::abs((p[i] - ref[i]) / ref[i])));
      }
      CHECK(p == q);  // the range protocol applies the same corrected rate
    }
    INFO("largest relative difference from the formula: " << worst);
    CHECK(worst < tolerance);
  }
  if constexpr (std::is_same_v<T, float>) {
    // 1 − 1e-8 is 1 in float: that moment would never move, and the correction would divide by 0.
    Adam frozen(1e-3, 0.9, 1 - 1e-8);
    std::vector<float> p{1.0f}, g{0.5f};
    CHECK_THROWS_WITH_AS(frozen.step(std::span<float>(p), std::span<const float>(g)), doctest::Contains("rounds to 1"),
                         option_error);
    std::vector<double> pd{1.0}, gd{0.5};
    CHECK_NOTHROW(Adam(1e-3, 0.9, 1 - 1e-8).step(std::span<double>(pd), std::span<const double>(gd)));
  }
}

TEST_CASE("weight decay spares a model's biases when asked: the layout and the step") {
  // Dense<12,8>: 96 weights then 8 biases; Dense<8,2>: 16 + 2; decoder Dense<2,8>: 16 + 8; Dense<8,12>: 96 + 12.
  const auto r = AE::bias_ranges();
  REQUIRE(r.size() == 4);
  CHECK(r[0] == std::pair<std::size_t, std::size_t>{96, 104});
  CHECK(r[1] == std::pair<std::size_t, std::size_t>{120, 122});
  CHECK(r[2] == std::pair<std::size_t, std::size_t>{138, 146});
  CHECK(r[3] == std::pair<std::size_t, std::size_t>{242, 254});
  CHECK(AE::param_count == 254);
  // A Gaussian head's 2Z biases, and a likelihood's own parameters after the decoder's.
  struct LEnc : Seq<Dense<12, 8, Relu>, Gaussian<2>> {};
  using Learned = VAE<LEnc, VDec, LearnedGaussian>;
  const auto lr = Learned::bias_ranges();
  CHECK(lr[1] == std::pair<std::size_t, std::size_t>{136, 140});
  CHECK(lr.back().second == Learned::param_count);

  // One SGD step with L2 decay, biases spared: weights p − lr(g + λp), biases p − lr·g.
  const auto x = curve(32, 2);
  AE model(3);
  model.gradient(x.data(), 32);
  const std::vector<float> g(model.gradients().begin(), model.gradients().end());
  const std::vector<float> before = params_of(model);
  SGD sgd(0.1);
  sgd.set_weight_decay(0.5, /*decay_biases=*/false);
  model.train_batch(x.data(), 32, sgd);
  std::size_t biases = 0;
  for (std::size_t i = 0; i < AE::param_count; ++i) {
    const bool bias = std::any_of(r.begin(), r.end(), [&](auto b) { return i >= b.first && i < b.second; });
    biases += bias ? 1 : 0;
    const double expected = before[i] - 0.1 * (g[i] + (bias ? 0.0 : 0.5 * before[i]));
    INFO("parameter " << i);
    CHECK(model.parameters()[i] == doctest::Approx(expected).epsilon(1e-5));
  }
  CHECK(biases == 30);
}

TEST_CASE("early stopping restores exactly the best epoch's weights and says why it stopped") {
  const auto x = curve(200, 3, 0.3);
  SUBCASE("no epoch after the first improves by min_delta: stops after patience epochs, weights of epoch 1") {
    AE model(1);
    Adam opt(1e-2);
    std::vector<std::vector<float>> seen;
    const History h = fit(model, x, opt,
                          {.epochs = 20,
                           .batch_size = 32,
                           .progress = Progress::quiet,
                           .validation_split = 0.25,
                           .callbacks = {[&](FitState& s) { seen.push_back(params_of(s.model<AE>())); },
                                         EarlyStopping{.patience = 3, .min_delta = 1e9}}});
    CHECK(h.epochs() == 4);
    CHECK(h.stopped_early());
    CHECK(h.stopped_epoch == 4);
    CHECK(h.best_epoch == 1);
    CHECK(h.stop_reason.find("early stopping: val_loss did not improve") != std::string::npos);
    CHECK(h.stop_reason.find("for 3 epochs (best: epoch 1") != std::string::npos);
    REQUIRE(seen.size() == 4);
    CHECK(params_of(model) == seen[0]);
    CHECK(seen[3] != seen[0]);
  }
  SUBCASE("a real run: the restored weights are the snapshot of the epoch of lowest validation loss") {
    AE model(2);
    Adam opt(3e-2);
    std::vector<std::vector<float>> seen;
    const History h = fit(
        model, x, opt,
        {.epochs = 40,
         .batch_size = 16,
         .progress = Progress::quiet,
         .validation_split = 0.3,
         .callbacks = {[&](FitState& s) { seen.push_back(params_of(s.model<AE>())); }, EarlyStopping{.patience = 4}}});
    const auto best =
        static_cast<std::size_t>(std::min_element(h.val_loss.begin(), h.val_loss.end()) - h.val_loss.begin()) + 1;
    CHECK(h.best_epoch == best);
    CHECK(params_of(model) == seen[best - 1]);
    if (h.stopped_early()) CHECK(h.epochs() == best + 4);
    CHECK(h.val_loss.back() >= h.val_loss[best - 1]);
  }
  SUBCASE("restore_best_weights off: the last epoch's weights") {
    AE model(1);
    Adam opt(1e-2);
    std::vector<float> last;
    const History h =
        fit(model, x, opt,
            {.epochs = 20,
             .batch_size = 32,
             .progress = Progress::quiet,
             .validation_split = 0.25,
             .callbacks = {[&](FitState& s) { last = params_of(s.model<AE>()); },
                           EarlyStopping{.patience = 2, .min_delta = 1e9, .restore_best_weights = false}}});
    CHECK(h.epochs() == 3);
    CHECK(h.best_epoch == 0);
    CHECK(params_of(model) == last);
  }
  SUBCASE("errors: monitoring val_loss without validation, patience 0, a wrong model type, an empty callback") {
    AE model(1);
    Adam opt;
    CHECK_THROWS_WITH_AS(
        fit(model, x, opt, {.progress = Progress::quiet, .callbacks = {EarlyStopping{.monitor = Monitor::val_loss}}}),
        doctest::Contains("EarlyStopping: expected validation data to monitor val_loss, found none"), option_error);
    CHECK_THROWS_WITH_AS(fit(model, x, opt, {.progress = Progress::quiet, .callbacks = {EarlyStopping{.patience = 0}}}),
                         doctest::Contains("expected patience >= 1 epoch, found 0"), option_error);
    CHECK_THROWS_WITH_AS(
        fit(model, x, opt,
            {.progress = Progress::quiet, .callbacks = {[](FitState& s) { (void)s.model<GaussVAE>(); }}}),
        doctest::Contains("FitState::model: the model being trained is a"), option_error);
    CHECK_THROWS_WITH_AS(fit(model, x, opt, {.progress = Progress::quiet, .callbacks = {Callback{}}}),
                         doctest::Contains("found an empty one at index 0"), option_error);
  }
}

TEST_CASE("callbacks and batch callbacks stop training; SaveBestModel and HistoryLogger write their files") {
  const auto x = curve(128, 4);
  SUBCASE("an epoch callback") {
    AE model(1);
    Adam opt;
    const History h =
        fit(model, x, opt, {.epochs = 10, .progress = Progress::quiet, .callbacks = {[](FitState& s) {
                                                                         CHECK(s.epochs() == 10);
                                                                         CHECK(s.history().epochs() == s.epoch());
                                                                         if (s.epoch() == 3) s.stop("enough");
                                                                       }}});
    CHECK(h.epochs() == 3);
    CHECK(h.stop_reason == "enough");
    CHECK(h.stopped_epoch == 3);
  }
  SUBCASE("a batch callback: the epoch is recorded over the steps it took") {
    AE model(1);
    AE twin(1);
    Adam opt, opt2;
    std::size_t calls = 0;
    const History h = fit(
        model, x, opt,
        {.epochs = 5, .batch_size = 32, .shuffle = false, .progress = Progress::quiet, .on_batch = [&](BatchState& b) {
           ++calls;
           CHECK(b.batches == 4);
           if (b.epoch == 2 && b.batch == 2) b.stop("two batches of epoch 2");
         }});
    CHECK(calls == 6);
    CHECK(h.epochs() == 2);
    CHECK(h.stopped_epoch == 2);
    CHECK(h.stop_reason == "two batches of epoch 2");
    // The same six steps by hand.
    double second = 0;
    for (int e = 0; e < 2; ++e)
      for (std::size_t b = 0; b < (e == 0 ? 4u : 2u); ++b) {
        const double l = twin.train_batch(x.data() + b * 32 * 12, 32, opt2);
        if (e == 1) second += l / 2;
      }
    CHECK(params_of(model) == params_of(twin));
    CHECK(h.loss[1] == doctest::Approx(second).epsilon(1e-12));
  }
  SUBCASE("SaveBestModel saves the best epoch's model; HistoryLogger writes CSV and JSON") {
    const std::string best = temp_path("best.latent"), csv = temp_path("h.csv"), json = temp_path("h.json");
    AE model(1);
    Adam opt(3e-2);
    std::vector<std::vector<float>> seen;
    const History h = fit(model, x, opt,
                          {.epochs = 12,
                           .batch_size = 16,
                           .progress = Progress::quiet,
                           .validation_split = 0.25,
                           .callbacks = {[&](FitState& s) { seen.push_back(params_of(s.model<AE>())); },
                                         SaveBestModel{best}, HistoryLogger{csv}, HistoryLogger{json}}});
    const auto at =
        static_cast<std::size_t>(std::min_element(h.val_loss.begin(), h.val_loss.end()) - h.val_loss.begin());
    AE loaded(9);
    load(loaded, best);
    CHECK(params_of(loaded) == seen[at]);
    const std::string c = read_all(csv);
    CHECK(c.rfind("epoch,loss,val_loss,learning_rate,seconds\n1,", 0) == 0);
    CHECK(std::count(c.begin(), c.end(), '\n') == 13);
    const std::string j = read_all(json);
    CHECK(j.find("\"val_loss\": [") != std::string::npos);
    CHECK(j.find("\"learning_rate\": [0.03, 0.03") != std::string::npos);
    CHECK(std::count(j.begin(), j.end(), ',') >= 4 * 11);
    for (const auto& p : {best, csv, json}) std::filesystem::remove(p);
    CHECK_THROWS_WITH_AS(fit(model, x, opt, {.progress = Progress::quiet, .callbacks = {SaveBestModel{}}}),
                         doctest::Contains("SaveBestModel: expected a path"), option_error);
  }
}

TEST_CASE("validation_split: the last rows or a seeded random set, and its errors") {
  const auto x = curve(100, 5);
  AE model(1);
  Adam opt;
  const History h = fit(model, x, opt, {.epochs = 2, .progress = Progress::quiet, .validation_split = 0.2});
  REQUIRE(h.val_loss.size() == 2);
  const xt::xtensor<float, 2> last = xt::view(x, xt::range(80, 100), xt::all());
  CHECK(h.val_loss.back() == model.loss(last));
  // The same as training on the first 80 rows with the last 20 as validation data.
  AE twin(1);
  Adam opt2;
  const xt::xtensor<float, 2> first = xt::view(x, xt::range(0, 80), xt::all());
  const History h2 = fit(twin, first, opt2, {.epochs = 2, .progress = Progress::quiet}, last);
  CHECK(h2.loss == h.loss);
  CHECK(params_of(twin) == params_of(model));

  // A random split: the same seed, the same split; another seed, another.
  const auto run = [&](std::uint64_t seed) {
    AE m(1);
    Adam o;
    return fit(m, x, o,
               {.epochs = 1, .seed = seed, .progress = Progress::quiet, .validation_split = 0.2, .random_split = true})
        .val_loss[0];
  };
  CHECK(run(3) == run(3));
  CHECK(run(3) != run(4));

  CHECK_THROWS_WITH_AS(fit(model, x, opt, {.validation_split = 1.0}),
                       doctest::Contains("expected a validation_split in [0, 1), found 1"), option_error);
  CHECK_THROWS_WITH_AS(fit(model, x, opt, {.validation_split = 1e-17}),
                       doctest::Contains("leaves 100 rows to train on and 0 to validate on"), option_error);
  const xt::xtensor<float, 2> single = xt::view(x, xt::range(0, 1), xt::all());
  CHECK_THROWS_WITH_AS(fit(model, single, opt, {.validation_split = 0.5}),
                       doctest::Contains("leaves 0 rows to train on and 1 to validate on"), option_error);
  CHECK_THROWS_WITH_AS(fit(model, x, opt, {.validation_split = 0.1}, x),
                       doctest::Contains("expected validation data or a validation_split, found both"), option_error);
}

TEST_CASE("a resumed run with a schedule and weight decay is bit-identical to an uninterrupted one") {
  const auto x = curve(160, 6);
  const std::string path = temp_path("resume.ckpt");
  for (int kind = 0; kind < 2; ++kind) {
    std::filesystem::remove(path);
    const auto make = [&] {
      AdamW opt(1e-2, 0.05, /*decay_biases=*/false);
      if (kind == 0)
        opt.set_schedule(CosineDecay{.steps = 30, .warmup = 5, .min_lr = 1e-4});
      else
        opt.set_schedule(ReduceLROnPlateau{.factor = 0.5, .patience = 1, .min_delta = 1e-3});
      return opt;
    };
    FitOptions options{.epochs = 6, .batch_size = 32, .seed = 3, .progress = Progress::quiet, .validation_split = 0.2};
    GaussVAE straight(1);
    AdamW o1 = make();
    const History full = fit(straight, x, o1, options);

    GaussVAE first(1);
    AdamW o2 = make();
    FitOptions part = options;
    part.epochs = 3;
    part.checkpoint = path;
    fit(first, x, o2, part);
    GaussVAE resumed(77);
    AdamW o3(0.5);  // other settings: the checkpoint's optimiser replaces them
    FitOptions rest = options;
    rest.checkpoint = path;
    rest.resume = true;
    const History h = fit(resumed, x, o3, rest);
    INFO("schedule " << (kind == 0 ? "CosineDecay" : "ReduceLROnPlateau"));
    CHECK(h.loss == full.loss);
    CHECK(h.learning_rate == full.learning_rate);
    CHECK(params_of(resumed) == params_of(straight));
    CHECK(o3.weight_decay() == 0.05);
    CHECK(!o3.decays_biases());
    CHECK(std::string(o3.schedule().name()) == (kind == 0 ? "CosineDecay" : "ReduceLROnPlateau"));
    CHECK(o3.current_learning_rate() == o1.current_learning_rate());
  }
  // A run that stopped early and is resumed returns its history without training further.
  std::filesystem::remove(path);
  AE model(1);
  Adam opt;
  FitOptions stop{
      .epochs = 10, .progress = Progress::quiet, .checkpoint = path, .resume = true, .callbacks = {[](FitState& s) {
                                                                                       if (s.epoch() == 2)
                                                                                         s.stop("two");
                                                                                     }}};
  fit(model, x, opt, stop);
  const std::vector<float> after = params_of(model);
  const History again = fit(model, x, opt, stop);
  CHECK(again.epochs() == 2);
  CHECK(again.stop_reason == "two");
  CHECK(params_of(model) == after);
  std::filesystem::remove(path);
}

TEST_CASE("a resume with another seed or batch size is refused; a callback that throws leaves its epoch's checkpoint") {
  const auto x = curve(96, 9);
  const std::string path = temp_path("settings.ckpt");
  std::filesystem::remove(path);
  AE model(1);
  Adam opt;
  const FitOptions first{
      .epochs = 2, .batch_size = 16, .seed = 4, .progress = Progress::quiet, .checkpoint = path, .resume = true};
  fit(model, x, opt, first);
  const std::vector<float> saved = params_of(model);
  FitOptions other_seed = first;
  other_seed.epochs = 4;
  other_seed.seed = 5;
  CHECK_THROWS_WITH_AS(fit(model, x, opt, other_seed),
                       doctest::Contains("continues a run with seed 4 and batch_size 16, but this run has seed 5 and "
                                         "batch_size 16"),
                       option_error);
  FitOptions other_batch = first;
  other_batch.epochs = 4;
  other_batch.batch_size = 32;
  CHECK_THROWS_WITH_AS(fit(model, x, opt, other_batch),
                       doctest::Contains("seed 4 and batch_size 16, but this run has seed 4 and batch_size 32"),
                       option_error);
  CHECK(params_of(model) == saved);  // refused before anything changed
  FitOptions same = first;
  same.epochs = 3;
  CHECK(fit(model, x, opt, same).epochs() == 3);

  // The epoch's checkpoint is written before the callbacks run: one that throws after epoch 2 leaves
  // a checkpoint of epoch 2, and a resumed run continues from it.
  std::filesystem::remove(path);
  AE broken(1);
  Adam o1;
  FitOptions throwing{.epochs = 4, .batch_size = 16, .progress = Progress::quiet, .checkpoint = path, .resume = true};
  throwing.callbacks = {[](FitState& s) {
    if (s.epoch() == 2) throw io_error("the callback's disk is full");
  }};
  CHECK_THROWS_WITH_AS(fit(broken, x, o1, throwing), doctest::Contains("disk is full"), io_error);
  CHECK(inspect(path).epochs_done == 2);
  throwing.callbacks.clear();
  const History rest = fit(broken, x, o1, throwing);
  CHECK(rest.epochs() == 4);
  AE straight(1);
  Adam o2;
  fit(straight, x, o2, {.epochs = 4, .batch_size = 16, .progress = Progress::quiet});
  CHECK(params_of(broken) == params_of(straight));
  std::filesystem::remove(path);
}

TEST_CASE("a double model takes the float data the readers return, and the other way round") {
  const auto xf = curve(64, 7);
  const xt::xtensor<double, 2> xd = as_scalar<double>(xf);
  CHECK(xd(3, 4) == static_cast<double>(xf(3, 4)));
  Autoencoder<Enc, Dec, MSE, double> md(1);
  CHECK(md.encode(xf) == md.encode(xd));
  CHECK(md.reconstruct(xf) == md.reconstruct(xd));
  CHECK(md.loss(xf) == md.loss(xd));
  CHECK(evaluate(md, xf) == md.loss(xd));
  const xt::xtensor<float, 1> one = xt::view(xf, 0, xt::all());
  CHECK(md.encode(one).shape()[0] == 2);
  Autoencoder<Enc, Dec, MSE, double> md2(1);
  Adam o1, o2;
  fit(md, xf, o1, {.epochs = 2, .progress = Progress::quiet});
  fit(md2, xd, o2, {.epochs = 2, .progress = Progress::quiet});
  CHECK(std::equal(md.parameters().begin(), md.parameters().end(), md2.parameters().begin()));
  GaussVAE mf(1);
  CHECK(mf.encode(xd) == mf.encode(xf));
  CHECK(mf.elbo(xd, 3) == mf.elbo(xf, 3));
  // A double value beyond float's range becomes +Inf and is refused as data, naming the row.
  xt::xtensor<double, 2> big = xd;
  big(5, 0) = 1e300;
  CHECK_THROWS_WITH_AS((void)mf.encode(big), doctest::Contains("row 5"), data_error);
}

TEST_CASE("fit on Datasets; the conditional VAE's validation as one Dataset") {
  Dataset train;
  train.x = curve(96, 8);
  train.labels = xt::xtensor<std::int32_t, 1>::from_shape({96});
  for (std::size_t i = 0; i < 96; ++i) train.labels(i) = static_cast<std::int32_t>(i % 3);
  train.num_classes = 3;
  const Dataset val = take(train, 64, 32), head = take(train, 0, 64);
  struct CEnc : Seq<Dense<15, 8, Relu>, Gaussian<2>> {};
  struct CDec : Seq<Dense<5, 8, Relu>, Dense<8, 12>> {};
  using CVAE = ConditionalVAE<CEnc, CDec, 3, UnitGaussian>;
  CVAE a(1), b(1);
  Adam oa, ob;
  const History ha = fit(a, head, oa, {.epochs = 2, .progress = Progress::quiet}, val);
  const History hb = fit(b, head.x, head.labels, ob, {.epochs = 2, .progress = Progress::quiet}, val.x, val.labels);
  CHECK(ha.val_loss == hb.val_loss);
  CHECK(ha.val_loss.back() == a.loss(val.x, val.labels));
  CVAE c(1);
  Adam oc;
  const History hc = fit(c, head.x, head.labels, oc, {.epochs = 2, .progress = Progress::quiet}, val);
  CHECK(hc.val_loss == ha.val_loss);
  // validation_split takes the labels of the held-out rows with them.
  CVAE d(1);
  Adam od;
  const History hd = fit(d, train, od, {.epochs = 2, .progress = Progress::quiet, .validation_split = 1.0 / 3});
  CHECK(hd.loss == ha.loss);
  CHECK(hd.val_loss == ha.val_loss);
  AE plain(1);
  Adam op;
  CHECK(fit(plain, train, op, {.epochs = 1, .progress = Progress::quiet}).epochs() == 1);
}

TEST_CASE("per-sample losses rank anomalies; roc_auc against hand-computed values") {
  CHECK(roc_auc(xt::xtensor<double, 1>{0.1, 0.3, 0.35, 0.8}, {false, true, false, true}) == doctest::Approx(0.75));
  CHECK(roc_auc(xt::xtensor<double, 1>{1, 2, 3}, {false, false, true}) == 1.0);
  CHECK(roc_auc(xt::xtensor<double, 1>{3, 2, 1}, {false, false, true}) == 0.0);
  CHECK(roc_auc(xt::xtensor<double, 1>{1, 1, 1, 1}, {false, true, false, true}) == 0.5);  // ties count 1/2
  CHECK_THROWS_WITH_AS(roc_auc(xt::xtensor<double, 1>{1, 2}, {true, true}),
                       doctest::Contains("expected both positive and negative rows, found 2 positive of 2"),
                       data_error);
  CHECK_THROWS_AS(roc_auc(xt::xtensor<double, 1>{1, 2}, {true}), shape_error);
  CHECK_THROWS_AS(roc_auc(xt::xtensor<double, 1>{1, std::nan("")}, {true, false}), data_error);

  const auto x = curve(400, 9);
  AE ae(1);
  Adam opt(1e-2);
  fit(ae, x, opt, {.epochs = 30, .batch_size = 32, .progress = Progress::quiet});
  const auto per = ae.loss_per_sample(x);
  REQUIRE(per.size() == 400);
  double mean = 0;
  for (double v : per) mean += v / 400;
  CHECK(mean == doctest::Approx(ae.loss(x)).epsilon(1e-6));  // no sampling: the mean is the loss
  const xt::xtensor<float, 2> row3 = xt::view(x, xt::range(3, 4), xt::all());
  CHECK(per(3) == doctest::Approx(ae.loss(row3)).epsilon(1e-12));

  // Normal rows from the curve against rows off it (the same scale, no structure): the trained
  // models score the off-curve rows as worse.
  const auto normal = curve(100, 10);
  Rng rng(11);
  xt::xtensor<float, 2> test = xt::xtensor<float, 2>::from_shape({200, 12});
  std::vector<bool> anomaly(200);
  for (std::size_t i = 0; i < 200; ++i) {
    anomaly[i] = i >= 100;
    for (std::size_t j = 0; j < 12; ++j)
      test(i, j) = anomaly[i] ? static_cast<float>(rng.uniform(-0.8, 0.8)) : normal(i, j);
  }
  CHECK(roc_auc(ae.loss_per_sample(test), anomaly) > 0.95);
  // A VAE that learns its noise level (with σ fixed at 1 the small errors on the curve are drowned).
  VAE<VEnc, VDec, LearnedGaussian> vae(1);
  Adam vopt(1e-2);
  fit(vae, x, vopt, {.epochs = 30, .batch_size = 32, .progress = Progress::quiet});
  const xt::xtensor<double, 1> elbo = vae.elbo_per_sample(test, 1);
  CHECK(roc_auc(-elbo, anomaly) > 0.95);
  const xt::xtensor<float, 2> row7 = xt::view(test, xt::range(7, 8), xt::all());
  CHECK(elbo(7) == vae.elbo(row7, 1));
  CHECK_THROWS_AS((void)vae.elbo_per_sample(xt::xtensor<float, 2>::from_shape({3, 5})), shape_error);
}
}  // namespace test_training
