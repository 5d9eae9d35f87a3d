// The vector quantiser and the VQ-VAE (issue 25, scope 1): the straight-through rule and the VQ losses'
// gradients against their definitions (finite differences in double), the EMA update and dead-code
// restarts against hand-computed steps, one thread against two (bits), integer codes out and in,
// save/load with the codebook's state, and learning on clustered data.
#include <doctest/doctest.h>
#include <latent/interchange/weights.hpp>
#include <latent/latent.hpp>
#include <latent/layers/vector_quantizer.hpp>
#include <latent/models/vq_vae.hpp>

#include <xtensor/xbuilder.hpp>  // xt::zeros
#include <xtensor/xnpy.hpp>      // xt::dump_npy: the files for tests/weights/vq_pythae.py
#include <xtensor/xtensor.hpp>   // xt::xtensor

#include <algorithm>   // std::ranges::copy
#include <cmath>       // std::abs
#include <cstdint>     // std::int32_t
#include <cstdlib>     // std::getenv: the folder for tests/weights/vq_pythae.py
#include <cstring>     // std::memcmp
#include <filesystem>  // std::filesystem: the save/load round trip's file
#include <limits>      // std::numeric_limits: a NaN input
#include <string>      // std::string
#include <utility>     // std::as_const, std::pair
#include <vector>      // std::vector

#include "support/residual_parts.hpp"  // latent_test::residual: parts, learns, round_trips
#include "support/test_data.hpp"  // latent_test::same_bits

// The file's own names live in namespace test_vq: the test programs compile several test files as one
// translation unit (tests/CMakeLists.txt), and each file's helpers stay its own.
namespace test_vq {

namespace {

using namespace latent;

using latent_test::same_bits;

// ---- the layer on its own -------------------------------------------------------------------------

// 5 codes of 3 values on a 3 × 2 × 2 input: 4 positions per sample.
using Q = detail::vector_quantizer_layer<shape<3, 2, 2>, 5, 3, VQSettings>;

TEST_CASE("VectorQuantizer: nearest codes, its loss, and the straight-through rule against its definition") {
  constexpr std::size_t n = 3, D = Q::code_dim, P = Q::positions, K = Q::codes, In = Q::in_size;
  static_assert(P == 4 && Q::param_count == K * D && Q::state_size == 0);
  Rng rng(11);
  std::vector<double> e(K * D), x(n * In), w(n * In);
  for (auto& v : e) v = rng.uniform(-1, 1);
  for (auto& v : x) v = rng.uniform(-1, 1);
  for (auto& v : w) v = rng.uniform(-1, 1);
  const double s = 1.0 / n;  // grad_scale
  const double beta = VQSettings::commitment, wc = VQSettings::codebook_weight;

  std::vector<double> y(n * In), cache(n * P);
  Context<double> ctx;
  ctx.grad_scale = s;
  Q::forward(e.data(), x.data(), y.data(), cache.data(), n, ctx);

  // The nearest code by brute force, and the loss (β + w)/(D·P)·Σ‖z_e − z_q‖².
  std::vector<std::size_t> k(n * P);
  double sq = 0;
  for (std::size_t r = 0; r < n; ++r)
    for (std::size_t p = 0; p < P; ++p) {
      double best = 1e300;
      for (std::size_t j = 0; j < K; ++j) {
        double d = 0;
        for (std::size_t c = 0; c < D; ++c) d += (x[r * In + c * P + p] - e[j * D + c]) * (x[r * In + c * P + p] - e[j * D + c]);
        if (d < best) best = d, k[r * P + p] = j;
      }
      sq += best;
      CHECK(cache[r * P + p] == static_cast<double>(k[r * P + p]));
      for (std::size_t c = 0; c < D; ++c) CHECK(y[r * In + c * P + p] == e[k[r * P + p] * D + c]);
    }
  CHECK(ctx.penalty == doctest::Approx((beta + wc) / (D * P) * sq).epsilon(1e-14));

  std::vector<double> dy = w, dx(n * In), de(K * D);
  Q::backward(e.data(), x.data(), y.data(), cache.data(), dy.data(), dx.data(), de.data(), static_cast<double*>(nullptr), n, ctx);

  // The definition the rule is the gradient of: with the assignment k and every stop-gradient held at
  // the point (x0, e0) of the pass,
  //   z_q(x', e') = x' + sg(e0_k − x0)                      (straight-through: the code moves with z_e)
  //   F(x', e') = Σ w·z_q + s·β/(D·P)·Σ‖x' − sg(e0_k)‖² + s·w_c/(D·P)·Σ‖sg(x0) − e'_k‖²
  // so ∂F/∂x' is the layer's dx and ∂F/∂e' its codebook gradient.
  const auto F = [&](const std::vector<double>& xp, const std::vector<double>& ep) {
    double f = 0;
    for (std::size_t r = 0; r < n; ++r)
      for (std::size_t p = 0; p < P; ++p) {
        const std::size_t j = k[r * P + p];
        for (std::size_t c = 0; c < D; ++c) {
          const std::size_t i = r * In + c * P + p;
          const double zq = xp[i] + (e[j * D + c] - x[i]);
          f += w[i] * zq;
          f += s * beta / (D * P) * (xp[i] - e[j * D + c]) * (xp[i] - e[j * D + c]);
          f += s * wc / (D * P) * (x[i] - ep[j * D + c]) * (x[i] - ep[j * D + c]);
        }
      }
    return f;
  };
  const double h = 1e-5;
  for (std::size_t i = 0; i < n * In; ++i) {
    auto xp = x, xm = x;
    xp[i] += h, xm[i] -= h;
    CHECK(dx[i] == doctest::Approx((F(xp, e) - F(xm, e)) / (2 * h)).epsilon(1e-7));
  }
  for (std::size_t i = 0; i < K * D; ++i) {
    auto ep = e, em = e;
    ep[i] += h, em[i] -= h;
    CHECK(de[i] == doctest::Approx((F(x, ep) - F(x, em)) / (2 * h)).epsilon(1e-7).scale(1e-6));
  }

  // The losses' own gradients, apart: the layer's penalty as a function of z_e (assignment unchanged
  // for small steps) has gradient (β + w)·2/(D·P)·(z_e − z_q), of which the commitment's β share is dx − w.
  for (std::size_t i = 0; i < n * In; i += 5) {
    auto xp = x, xm = x;
    xp[i] += h, xm[i] -= h;
    std::vector<double> yy(n * In), cc(n * P);
    Context<double> cp, cm;
    Q::forward(e.data(), xp.data(), yy.data(), cc.data(), n, cp);
    Q::forward(e.data(), xm.data(), yy.data(), cc.data(), n, cm);
    const double d_penalty = (cp.penalty - cm.penalty) / (2 * h);
    CHECK((dx[i] - w[i]) / s == doctest::Approx(d_penalty * beta / (beta + wc)).epsilon(1e-6));
  }
}

// An EMA quantiser with round numbers for the hand-computed step: γ = 1/2, ε = 1/10.
struct HandEMA : VQSettings {
  static constexpr bool ema = true;
  static constexpr double decay = 0.5, epsilon = 0.1;
};
struct HandRestart : HandEMA {
  static constexpr double restart_below = 0.8;
};

TEST_CASE("VectorQuantizer with EMA: one step against a hand-computed one, eval mode reads and never writes") {
  using E = detail::vector_quantizer_layer<flat<2>, 2, 2, HandEMA>;
  static_assert(E::param_count == 0 && E::state_size == 2 * 2 + 2 + 2 * 2 + 1 && E::step_stats_size == 2 + 4);
  const double* none = nullptr;  // no parameters
  // e_0 = (0, 0), e_1 = (10, 10), N = (1, 1), m = e, no updates yet.
  std::vector<double> state{0, 0, 10, 10, 1, 1, 0, 0, 10, 10, 0};
  const std::vector<double> x{1, 0, 0, 1, 9, 11};  // codes 0, 0, 1
  std::vector<double> y(6), cache(3), stats(E::step_stats_size, 0.0);

  Context<double> eval;
  eval.state = state.data();
  E::forward(none, x.data(), y.data(), cache.data(), 3, eval);
  CHECK(cache == std::vector<double>{0, 0, 1});
  CHECK(eval.penalty == doctest::Approx(0.25 / 2 * (1 + 1 + 1 + 1)));  // β/(D·P)·Σ‖z_e − z_q‖²

  Context<double> train;
  train.mode = Mode::train;
  train.state = state.data();
  train.stats = stats.data();
  E::forward(none, x.data(), y.data(), cache.data(), 3, train);
  CHECK(stats == std::vector<double>{2, 1, 1, 1, 9, 11});  // n_i, then Σz_e per code
  E::update_state(state.data(), stats.data());
  // N = ½·1 + ½·(2, 1) = (1.5, 1); m_0 = ½·0 + ½·(1, 1), m_1 = ½·(10, 10) + ½·(9, 11);
  // Ñ_i = (N_i + ε)/(ΣN + Kε)·ΣN; e_i = m_i/Ñ_i.
  const double n0 = (1.5 + 0.1) / (2.5 + 0.2) * 2.5, n1 = (1.0 + 0.1) / (2.5 + 0.2) * 2.5;
  const std::vector<double> want{0.5 / n0, 0.5 / n0, 9.5 / n1, 10.5 / n1, 1.5, 1.0, 0.5, 0.5, 9.5, 10.5, 1};
  for (std::size_t i = 0; i < want.size(); ++i) CHECK(state[i] == doctest::Approx(want[i]).epsilon(1e-15));
}

TEST_CASE("VectorQuantizer: dead codes restart at the step's encoder outputs, deterministically") {
  using R = detail::vector_quantizer_layer<flat<2>, 4, 2, HandRestart>;
  static_assert(R::restarts && R::step_stats_size == 4 + 8 + 8 + 4);
  const auto run = [] {
    const double* none = nullptr;  // no parameters
    // Codes 2 and 3 are far from the data and get no rows: their counts fall to ½ < 0.8.
    std::vector<double> state{0, 0, 1, 1, 50, 50, 60, 60, 1, 1, 1, 1, 0, 0, 1, 1, 50, 50, 60, 60, 0};
    std::vector<double> x;
    for (int r = 0; r < 4; ++r) x.insert(x.end(), {0.1 * r, 0.0});
    for (int r = 4; r < 8; ++r) x.insert(x.end(), {1.0, 1.0 + 0.1 * (r - 4)});
    std::vector<double> y(16), cache(8), stats(R::step_stats_size, 0.0);
    Context<double> ctx;
    ctx.mode = Mode::train;
    ctx.state = state.data();
    ctx.stats = stats.data();
    R::forward(none, x.data(), y.data(), cache.data(), 8, ctx);
    R::update_state(state.data(), stats.data());
    return std::pair{state, x};
  };
  const auto [state, x] = run();
  // G = 8 outputs (one per row): code i's candidate is row hash(t·K + i) mod 8 at update count t = 0.
  constexpr std::size_t g2 = R::candidate_position(2, 8, 0), g3 = R::candidate_position(3, 8, 0);
  static_assert(g2 < 8 && g3 < 8 && g2 != g3);
  CHECK(state[4] == x[2 * g2]);
  CHECK(state[5] == x[2 * g2 + 1]);
  CHECK(state[6] == x[2 * g3]);
  CHECK(state[7] == x[2 * g3 + 1]);
  CHECK(state[20] == 1);  // one update
  // The picks move with the update count.
  CHECK((R::candidate_position(2, 8, 1) != g2 || R::candidate_position(3, 8, 1) != g3));
  CHECK(state[8 + 2] == 0.8);  // N_i = τ
  CHECK(state[8 + 3] == 0.8);
  CHECK(state[12 + 4] == doctest::Approx(0.8 * x[2 * g2]));  // m_i = τ·c_i
  CHECK(state[8 + 0] == doctest::Approx(2.5));           // the used codes keep their EMA update
  CHECK(state[0] != 0.0);
  CHECK(state[2] != 1.0);
  CHECK(same_bits(run().first, state));  // the same step gives the same bits
}

// ---- the model ------------------------------------------------------------------------------------

// 16 inputs → 16 values reshaped to 4 channels × 2 × 2 → 4 codes per sample from 8 codes of 4 values.
struct Restart : VQEMASettings {
  static constexpr double restart_below = 1.0;
};
template <class S>
struct ShapedEncoder : Seq<Dense<16, 16, Identity>, Reshape<4, 2, 2>, VectorQuantizerWith<8, 4, S>> {};
struct ShapedDecoder : Seq<Dense<16, 32, Relu>, Dense<32, 16, Identity>> {};
template <class S, class T = float>
using Shaped = VQVAE<ShapedEncoder<S>, ShapedDecoder, MSE, T>;

xt::xtensor<float, 2> random_rows(std::size_t n, std::size_t d, std::uint64_t seed) {
  Rng rng(seed);
  xt::xtensor<float, 2> x = xt::xtensor<float, 2>::from_shape({n, d});
  for (auto& v : x) v = static_cast<float>(rng.uniform(-1, 1));
  return x;
}

TEST_CASE("VQVAE: the model's facts and its codebook") {
  using M = Shaped<Restart>;
  static_assert(M::codes == 8 && M::code_dim == 4 && M::positions == 4 && M::code_size == 16);
  static_assert(M::state_size == 8 * 4 * 2 + 8 + 1 && M::param_count == 16 * 16 + 16 + 16 * 32 + 32 + 32 * 16 + 16);
  static_assert(ends_in_vector_quantizer_v<ShapedEncoder<Restart>> && !ends_in_vector_quantizer_v<ShapedDecoder>);
  using G = Shaped<VQSettings>;
  static_assert(G::state_size == 0 && G::param_count == M::param_count + 8 * 4);
  const M m(3);
  CHECK(m.codebook().shape()[0] == 8);
  CHECK(M::architecture().find("VectorQuantizer") != std::string::npos);
}

// Dense's weight gradients are summed per slice (their last bits depend on the split, as in every
// model); the quantiser's own contributions — the codebook's gradient and the EMA state — do not.
// Each step starts both models from the same weights.
template <class S>
void check_threads() {
  using M = Shaped<S>;
  using Qz = typename M::quantizer_type;
  const auto x = random_rows(48, 16, 5);
  M one(9), two(9);
  one.set_threads(1);
  two.set_threads(2);
  REQUIRE_MESSAGE(two.threads_for(48, 1.0) == 2, "this machine gives the step only one thread");
  constexpr std::size_t book_first = ShapedEncoder<S>::param_count - Qz::param_count;
  SGD a(0.05), b(0.05);
  for (int step = 0; step < 3; ++step) {
    // (The mean loss is summed per slice: equal, not necessarily in every bit.)
    CHECK(one.gradient(x.data(), 48) == doctest::Approx(two.gradient(x.data(), 48)).epsilon(1e-6));
    const auto g1 = one.gradients().subspan(book_first, Qz::param_count);
    const auto g2 = two.gradients().subspan(book_first, Qz::param_count);
    CHECK(same_bits(g1, g2));
    one.train_batch(x.data(), 48, a);
    two.train_batch(x.data(), 48, b);
    CHECK(same_bits(std::as_const(one).state(), std::as_const(two).state()));
    std::ranges::copy(std::as_const(one).parameters(), two.parameters().begin());
    std::ranges::copy(std::as_const(one).state(), two.state().begin());
  }
  if constexpr (Qz::ema) CHECK(std::as_const(one).state()[Qz::state_updates] == 3);
}

TEST_CASE("VQVAE: two threads give one thread's codebook gradient and EMA codebook, bit for bit") {
  SUBCASE("codebook trained by gradient") { check_threads<VQSettings>(); }
  SUBCASE("EMA codebook with restarts") { check_threads<Restart>(); }
}

TEST_CASE("VQVAE: integer codes out and in") {
  using M = Shaped<Restart>;
  M m(4);
  SGD opt(0.05);
  const auto x = random_rows(20, 16, 6);
  for (int s = 0; s < 3; ++s) m.train_batch(x.data(), 20, opt);
  const auto codes = m.encode_indices(x);
  REQUIRE(codes.shape()[0] == 20);
  REQUIRE(codes.shape()[1] == 4);
  for (std::int32_t k : codes) CHECK((k >= 0 && k < 8));
  CHECK(same_bits(m.decode_indices(codes), m.reconstruct(x)));
  CHECK(same_bits(m.codes_to_values(codes), m.encode(x)));
  // Each position's value is its code's row of the codebook (channel-first).
  const auto book = m.codebook();
  const auto z = m.encode(x);
  for (std::size_t c = 0; c < 4; ++c) CHECK(z(3, c * 4 + 2) == book(static_cast<std::size_t>(codes(3, 2)), c));

  auto bad = codes;
  bad(1, 2) = 8;
  CHECK_THROWS_WITH_AS(m.decode_indices(bad), "latent: decode_indices: expected codes in [0, 8), found 8 in row 1, position 2",
                       data_error);
  bad(1, 2) = -1;
  CHECK_THROWS_AS(m.decode_indices(bad), data_error);
  const xt::xtensor<std::int32_t, 2> narrow = xt::zeros<std::int32_t>({std::size_t(2), std::size_t(3)});
  CHECK_THROWS_WITH_AS(m.decode_indices(narrow), "latent: decode_indices: expected 4 columns (the quantiser's positions), found 3",
                       shape_error);
  CHECK_THROWS_AS(m.encode_indices(random_rows(2, 15, 1)), shape_error);

  CHECK(codebook_usage(codes, 8) > 0);
  CHECK(codebook_usage(codes, 8) <= 1);
  const xt::xtensor<std::int32_t, 2> all{{0, 1, 2, 3}, {4, 5, 6, 7}};
  CHECK(codebook_usage(all, 8) == 1.0);
  CHECK(codebook_perplexity(all, 8) == doctest::Approx(8.0));
  const xt::xtensor<std::int32_t, 2> one_code{{3, 3}, {3, 3}};
  CHECK(codebook_usage(one_code, 8) == 1.0 / 8);
  CHECK(codebook_perplexity(one_code, 8) == doctest::Approx(1.0));
  CHECK_THROWS_AS(codebook_usage(one_code, 3), data_error);
}

TEST_CASE("VQVAE: eval mode uses the codebook without moving it; save and load carry it") {
  using M = Shaped<Restart>;
  M m(4);
  Adam opt(1e-2);
  const auto x = random_rows(32, 16, 8);
  for (int s = 0; s < 4; ++s) m.train_batch(x.data(), 32, opt);
  const std::vector<float> before(m.state().begin(), m.state().end());
  (void)m.encode_indices(x);
  (void)m.loss(x);
  (void)m.reconstruct(x);
  CHECK(same_bits(std::as_const(m).state(), before));
  const auto path = (std::filesystem::temp_directory_path() / "latent_test_vq.latent").string();
  save(m, path);
  M back(77);
  CHECK_FALSE(same_bits(std::as_const(back).state(), before));
  load(back, path);
  std::filesystem::remove(path);
  CHECK(same_bits(std::as_const(back).state(), before));
  CHECK(same_bits(back.parameters(), m.parameters()));
  CHECK(back.encode_indices(x) == m.encode_indices(x));
  CHECK(same_bits(back.codebook(), m.codebook()));
}

// A convolutional encoder's grid: 4 channels at 4 × 4, one code per position (16 per image), trained by
// `fit` on two threads; eval mode leaves the EMA codebook where the last step put it.
struct ConvEncoder : Seq<Input<1, 8, 8>, Conv2D<4, 3, 2, Same, Identity>, VectorQuantizerWith<16, 4, Restart>> {};
struct ConvDecoder : Seq<Dense<64, 64, Sigmoid>> {};

TEST_CASE("VQVAE: a convolutional encoder's grid, trained by fit") {
  using M = VQVAE<ConvEncoder, ConvDecoder, BCE>;
  static_assert(M::positions == 16 && M::code_dim == 4 && M::code_size == 64);
  xt::xtensor<float, 2> x = random_rows(96, 64, 12);
  for (auto& v : x) v = v > 0 ? 1.0f : 0.0f;
  M m(5);
  m.set_threads(2);
  Adam opt(1e-2);
  const double before = m.loss(x);
  const History h = fit(m, x, opt, {.epochs = 3, .batch_size = 32, .progress = Progress::quiet});
  CHECK(h.loss.size() == 3);
  CHECK(m.loss(x) < before);
  const auto codes = m.encode_indices(x);
  CHECK(codes.shape()[1] == 16);
  CHECK(same_bits(m.decode_indices(codes), m.reconstruct(x)));
  CHECK(std::as_const(m).state()[M::quantizer_type::state_updates] == 9);  // 3 epochs of 3 steps
  MESSAGE("conv grid: usage " << codebook_usage(codes, 16) << ", perplexity " << codebook_perplexity(codes, 16));
}

// ---- the codebook's usage in fit's History ---------------------------------------------------------

TEST_CASE("VQVAE: fit records the codebook's usage, perplexity and dead codes every epoch") {
  using M = Shaped<Restart>;
  const auto x = random_rows(96, 16, 31), val = random_rows(40, 16, 32);
  // tests/test_vq.cpp: the codebook's series in the History
  M m(6);
  Adam opt(1e-2);
  const History h = fit(m, x, opt, {.epochs = 3, .batch_size = 32, .progress = Progress::quiet}, val);
  const std::vector<double>& perplexity = h.series("codebook_perplexity");  // one value per epoch
  const std::vector<double>& usage = h.series("codebook_usage");            // fraction of codes in use
  const std::vector<double>& dead = h.series("dead_codes");                 // codes no row uses
  // measured on the validation rows after each epoch (else on up to 4096 training rows)
  const auto codes = m.encode_indices(val);
  CHECK(perplexity.back() == codebook_perplexity(codes, M::codes));
  // end of example
  REQUIRE(perplexity.size() == 3);
  REQUIRE(usage.size() == 3);
  REQUIRE(dead.size() == 3);
  CHECK(h.model_series.size() == 3);
  CHECK(usage.back() == codebook_usage(codes, M::codes));
  for (std::size_t e = 0; e < 3; ++e) {
    CHECK(dead[e] == doctest::Approx(M::codes * (1 - usage[e])));
    CHECK(perplexity[e] >= 1);
    CHECK(perplexity[e] <= M::codes);
  }
  CHECK_THROWS_WITH_AS((void)m.epoch_metrics(std::vector<double>(5, 1.0)),
                       "latent: VQVAE::epoch_metrics: expected 8 counts (one per code), found 5", shape_error);
  CHECK(m.epoch_statistics(xt::xtensor<float, 2>::from_shape({0, 16})) == std::vector<double>(8, 0.0));
  CHECK_THROWS_WITH_AS((void)h.series("perplexity"),
                       "latent: History::series: expected the name of a series the model reports (codebook_perplexity, "
                       "codebook_usage, dead_codes), found 'perplexity'",
                       option_error);

  // Without validation rows: the rows trained on (all of them here: fewer than 4096).
  M n(6);
  Adam opt2(1e-2);
  const History h2 = fit(n, x, opt2, {.epochs = 2, .batch_size = 32, .progress = Progress::quiet});
  REQUIRE(h2.series("codebook_usage").size() == 2);
  CHECK(h2.series("codebook_perplexity").back() == codebook_perplexity(n.encode_indices(x), M::codes));
  CHECK(h2.series("codebook_usage").back() == codebook_usage(n.encode_indices(x), M::codes));

  // The HistoryLogger writes them as columns; a model without the hook records none and writes as before.
  const std::string csv = HistoryLogger::text(h2, false);
  CHECK(csv.starts_with("epoch,loss,val_loss,learning_rate,seconds,codebook_perplexity,codebook_usage,dead_codes\n"));
  CHECK(HistoryLogger::text(h2, true).find("\"dead_codes\": [") != std::string::npos);
  Autoencoder<Seq<Dense<16, 4, Identity>>, Seq<Dense<4, 16, Identity>>> plain(1);
  Adam opt3(1e-2);
  const History h3 = fit(plain, x, opt3, {.epochs = 1, .progress = Progress::quiet}, val);
  CHECK(h3.model_series.empty());
  CHECK(HistoryLogger::text(h3, false).starts_with("epoch,loss,val_loss,learning_rate,seconds\n"));
  CHECK_THROWS_WITH_AS((void)h3.series("dead_codes"),
                       "latent: History::series: expected the name of a series the model reports (it reports none), "
                       "found 'dead_codes'",
                       option_error);
}

TEST_CASE("VQVAE: the codebook's series survive a checkpoint: a resumed run's History is an uninterrupted one's") {
  using M = Shaped<Restart>;
  const auto x = random_rows(64, 16, 33), val = random_rows(24, 16, 34);
  const auto ckpt = (std::filesystem::temp_directory_path() / "latent_test_vq_series.ckpt").string();
  std::filesystem::remove(ckpt);
  M straight(8), first(8), resumed(99);
  Adam a(1e-2), b(1e-2), c(1e-2);
  const FitOptions all{.epochs = 4, .batch_size = 16, .seed = 3, .progress = Progress::quiet};
  const History h = fit(straight, x, a, all, val);
  FitOptions half = all;
  half.epochs = 2;
  half.checkpoint = ckpt;
  (void)fit(first, x, b, half, val);
  FitOptions rest = all;
  rest.checkpoint = ckpt;
  rest.resume = true;
  const History back = fit(resumed, x, c, rest, val);
  std::filesystem::remove(ckpt);
  REQUIRE(back.series("codebook_perplexity").size() == 4);
  CHECK(back.model_series == h.model_series);
  CHECK(same_bits(std::as_const(resumed).state(), std::as_const(straight).state()));
}

// ---- weights in and out with pythae's names ---------------------------------------------------------

TEST_CASE("VQVAE: the codebook's weights with pythae's names, through safetensors and npz") {
  const auto dir = std::filesystem::temp_directory_path();
  const auto x = random_rows(24, 16, 41);
  SUBCASE("a codebook trained by gradient: Quantizer.embeddings (nn.Embedding) [K, D]") {
    using M = Shaped<VQSettings>;
    const auto slots = weight_slots<M>(weight_layout::pytorch);
    REQUIRE(slots.size() == 2 + 1 + 4);  // Dense, the codebook, two Dense
    CHECK(slots[2].name == "encoder.2.embeddings.weight");
    CHECK(slots[2].shape == std::vector<std::size_t>{8, 4});
    CHECK(weight_slots<M>(weight_layout::keras)[2].name == "encoder.2.embeddings");
    CHECK(weight_slots<M>(weight_layout::keras)[2].shape == std::vector<std::size_t>{4, 8});
    M m(5);
    SGD opt(0.05);
    for (int s = 0; s < 3; ++s) m.train_batch(x.data(), 24, opt);
    for (const char* name : {"latent_test_vq_w.safetensors", "latent_test_vq_w.npz"})
      for (const weight_layout layout : {weight_layout::pytorch, weight_layout::keras}) {
        const auto path = (dir / name).string();
        save_weights(m, path, {.layout = layout});
        // The file's codebook: row k is code k (PyTorch), column k (Keras).
        const auto tensors = read_tensors(path);
        REQUIRE(tensors.size() == 7);
        const auto book = m.codebook();
        for (std::size_t k = 0; k < 8; ++k)
          for (std::size_t c = 0; c < 4; ++c)
            CHECK(tensors[2].values[layout == weight_layout::keras ? c * 8 + k : k * 4 + c] == book(k, c));
        M back(77);
        load_weights(back, path, {.layout = layout});
        std::filesystem::remove(path);
        CHECK(same_bits(back.parameters(), m.parameters()));
        CHECK(back.encode_indices(x) == m.encode_indices(x));
      }
  }
  SUBCASE("an EMA codebook: QuantizerEMA's buffers cluster_size, ema_embed, embeddings") {
    using M = Shaped<Restart>;
    using Qz = M::quantizer_type;
    const auto slots = weight_slots<M>(weight_layout::pytorch);
    REQUIRE(slots.size() == 2 + 3 + 4);
    CHECK(slots[2].name == "encoder.2.cluster_size");
    CHECK(slots[3].name == "encoder.2.ema_embed");
    CHECK(slots[4].name == "encoder.2.embeddings");
    CHECK(slots[2].shape == std::vector<std::size_t>{8});
    CHECK(slots[4].shape == std::vector<std::size_t>{8, 4});
    CHECK(slots[2].target == weight_target::state);
    CHECK(slots[2].kind == weight_kind::count);
    M m(5);
    Adam opt(1e-2);
    for (int s = 0; s < 4; ++s) m.train_batch(x.data(), 24, opt);
    const auto state = std::as_const(m).state();
    const std::size_t q = state.size() - Qz::state_size;  // where the quantiser's state starts
    for (const char* name : {"latent_test_vq_w.safetensors", "latent_test_vq_w.npz"})
      for (const weight_layout layout : {weight_layout::pytorch, weight_layout::keras}) {
        const auto path = (dir / name).string();
        save_weights(m, path, {.layout = layout});
        const auto tensors = read_tensors(path);
        REQUIRE(tensors.size() == 9);
        for (std::size_t k = 0; k < 8; ++k) {
          CHECK(tensors[2].values[k] == state[q + Qz::state_counts + k]);
          for (std::size_t c = 0; c < 4; ++c) {
            const std::size_t at = layout == weight_layout::keras ? c * 8 + k : k * 4 + c;
            CHECK(tensors[3].values[at] == state[q + Qz::state_sums + k * 4 + c]);
            CHECK(tensors[4].values[at] == state[q + k * 4 + c]);
          }
        }
        M back(77);
        load_weights(back, path, {.layout = layout});
        std::filesystem::remove(path);
        CHECK(same_bits(back.parameters(), m.parameters()));
        // Everything but the update count, which is latent's own (in no file): the loaded model keeps its.
        const auto got = std::as_const(back).state();
        CHECK(same_bits(got.first(q + Qz::state_updates), state.first(q + Qz::state_updates)));
        CHECK(got[q + Qz::state_updates] == 0);
        CHECK(back.encode_indices(x) == m.encode_indices(x));
      }
    // A negative count is refused, naming the tensor.
    const auto path = (dir / "latent_test_vq_bad.safetensors").string();
    save_weights(m, path);
    auto tensors = read_tensors(path);
    std::filesystem::remove(path);
    tensors[2].values[5] = -1;
    M back(77);
    CHECK_THROWS_WITH_AS(assign_weights(back, tensors),
                         doctest::Contains("tensor 'encoder.2.cluster_size' for layer 2 (VectorQuantizer<8,4,positions "
                                           "4,beta 0.25,ema 0.99,eps 1e-05,restart below 1>) cluster_size: expected "
                                           "finite values of at least 0 (counts), found -1"),
                         format_error);
  }
}

// The files tests/weights/vq_pythae.py loads into modules registered as pythae's quantisers (ctest
// weights.vq_pythae_*, with Debian's torch): each codebook's weights, rows x of 4 channels at 3 × 3 (the
// quantiser's input itself), latent's codes and code values. Run by ctest only (it needs the folder).
struct PlainGridEncoder : Seq<Input<4, 3, 3>, VectorQuantizer<8, 4>> {};
struct EmaGridEncoder : Seq<Input<4, 3, 3>, VectorQuantizerWith<8, 4, Restart>> {};
struct GridDecoder : Seq<Dense<36, 36, Identity>> {};

template <class M>
void export_for_pythae(const std::filesystem::path& dir, const std::string& name) {
  const auto x = random_rows(64, 36, 51);
  M m(7);
  Adam opt(5e-2);
  for (int s = 0; s < 5; ++s) m.train_batch(x.data(), 64, opt);  // codebooks (and EMA counts) away from their start
  save_weights(m, (dir / (name + ".safetensors")).string());
  const auto codes = m.encode_indices(x);
  xt::xtensor<std::int64_t, 2> wide = xt::xtensor<std::int64_t, 2>::from_shape(codes.shape());
  for (std::size_t i = 0; i < codes.size(); ++i) wide.data()[i] = codes.data()[i];
  xt::dump_npy((dir / (name + ".x.npy")).string(), x);
  xt::dump_npy((dir / (name + ".indices.npy")).string(), wide);
  xt::dump_npy((dir / (name + ".code.npy")).string(), m.encode(x));
  MESSAGE(name << ": " << codebook_usage(codes, 8) * 8 << " of 8 codes in use");
}

TEST_CASE("VQVAE: export for tests/weights/vq_pythae.py" * doctest::skip()) {
  const char* env = std::getenv("LATENT_VQ_PYTHAE_DIR");
  REQUIRE_MESSAGE(env != nullptr, "set LATENT_VQ_PYTHAE_DIR to the folder (ctest does)");
  const std::filesystem::path dir = env;
  std::filesystem::create_directories(dir);
  export_for_pythae<VQVAE<PlainGridEncoder, GridDecoder>>(dir, "quantizer");
  export_for_pythae<VQVAE<EmaGridEncoder, GridDecoder>>(dir, "quantizer_ema");
}

// ---- learning -------------------------------------------------------------------------------------

// 8 well-separated prototypes of 16 values, each row one of them (drawn at random) plus a little
// noise; one code per row from 16 codes of 4 values, with restarts (τ = 1) and without.
template <class S>
struct FlatEncoder : Seq<Dense<16, 32, Relu>, Dense<32, 4, Identity>, VectorQuantizerWith<16, 4, S>> {};
struct FlatDecoder : Seq<Dense<4, 32, Relu>, Dense<32, 16, Identity>> {};

template <class S>
std::pair<double, double> train_clusters(const xt::xtensor<float, 2>& x, double& usage, double& perplexity) {
  using M = VQVAE<FlatEncoder<S>, FlatDecoder>;
  M m(2);
  const double before = m.loss(x);
  Adam opt(3e-3);
  for (int epoch = 0; epoch < 40; ++epoch)
    for (std::size_t b = 0; b < x.shape()[0]; b += 64) m.train_batch(x.data() + b * 16, 64, opt);
  const auto codes = m.encode_indices(x);
  usage = codebook_usage(codes, M::codes);
  perplexity = codebook_perplexity(codes, M::codes);
  return {before, m.loss(x)};
}

TEST_CASE("VQVAE learns clustered data: reconstruction improves and restarts keep the codebook in use") {
  constexpr std::size_t n = 512, protos = 8;
  Rng rng(21);
  std::vector<float> proto(protos * 16);
  for (auto& v : proto) v = rng.uniform() < 0.5 ? -1.0f : 1.0f;
  xt::xtensor<float, 2> x = xt::xtensor<float, 2>::from_shape({n, 16});
  for (std::size_t r = 0; r < n; ++r) {
    const std::size_t c = static_cast<std::size_t>(rng.uniform() * protos) % protos;
    for (std::size_t j = 0; j < 16; ++j) x(r, j) = proto[c * 16 + j] + static_cast<float>(0.05 * rng.normal());
  }
  double usage = 0, perplexity = 0, usage_plain = 0, perplexity_plain = 0;
  const auto [before, after] = train_clusters<Restart>(x, usage, perplexity);
  const auto [before_plain, after_plain] = train_clusters<VQEMASettings>(x, usage_plain, perplexity_plain);
  MESSAGE("restarts: loss " << before << " -> " << after << ", usage " << usage << ", perplexity " << perplexity);
  MESSAGE("no restarts: loss " << before_plain << " -> " << after_plain << ", usage " << usage_plain
                               << ", perplexity " << perplexity_plain);
  CHECK(after < 0.01 * before);  // the noise alone leaves 0.0025
  CHECK(usage >= 0.5);
  CHECK(perplexity > 8.0);       // every cluster has a code of its own, and some two
  CHECK(usage > usage_plain);    // pythae's EMA recipe leaves codes unused
}


// The search of the pass (`nearest_codes`: ‖e‖² − 2·z·e by the packed product, argmin per position)
// against the exact search, on the recipe's sizes (256 codes of 16 values, 49 positions: several panels
// of the product and several blocks of positions): the same codes; a duplicated code's ties go to the
// lowest index; a position equal to a code finds it; a NaN gets code 0; rows searched one at a time or
// together give the same codes.
TEST_CASE("VectorQuantizer: the packed distance search finds the exact search's codes") {
  using S = detail::vector_quantizer_layer<shape<16, 7, 7>, 256, 16, VQEMASettings>;
  constexpr std::size_t n = 6, P = S::positions, D = S::code_dim, K = S::codes, In = S::in_size;
  Rng rng(31);
  std::vector<float> book(K * D), x(n * In);
  for (auto& v : book) v = static_cast<float>(rng.uniform(-1, 1));
  for (auto& v : x) v = static_cast<float>(rng.uniform(-1, 1));
  for (std::size_t c = 0; c < D; ++c) {
    book[200 * D + c] = book[37 * D + c] = book[10 * D + c];  // code 10 three times
    x[c * P + 5] = book[10 * D + c];                          // row 0, position 5: exactly code 10
    x[In + c * P + 7] = book[123 * D + c];                    // row 1, position 7: exactly code 123
  }
  x[2 * In + 3 * P + 11] = std::numeric_limits<float>::quiet_NaN();  // row 2, position 11
  std::vector<float> index(n * P), one(n * P);
  S::nearest_codes(book.data(), x.data(), n, index.data());
  for (std::size_t r = 0; r < n; ++r) S::nearest_codes(book.data(), x.data() + r * In, 1, one.data() + r * P);
  CHECK(same_bits(index, one));
  CHECK(index[5] == 10.0f);
  CHECK(index[P + 7] == 123.0f);
  CHECK(index[2 * P + 11] == 0.0f);
  std::size_t differ = 0;
  for (std::size_t g = 0; g < n * P; ++g) {
    const std::size_t exact = S::nearest(book.data(), x.data() + (g / P) * In + g % P, P);
    differ += static_cast<std::size_t>(index[g]) != exact;
  }
  CHECK(differ == 0);
}

// ---- residual parts ---------------------------------------------------------------------------------

namespace res = latent_test::residual;

// Residual parts (issue 25: every new model on Dense, convolutional and residual parts; the parts are
// tests/support/residual_parts.hpp): BatchNorm after the strided convolution, the quantiser on the 4 × 4
// grid of 4 channels; the decoder back from the grid.
struct ResEncoder : res::Encoder<BatchNorm, VectorQuantizerWith<16, 4, Restart>> {};
using ResDecoder = res::GridDecoder;

TEST_CASE(
    "VQVAE on residual parts with BatchNorm and GroupNorm: learns, two threads give one thread's state bits, save/load") {
  using M = VQVAE<ResEncoder, ResDecoder, BCEWithLogits>;
  static_assert(M::positions == 16 && M::code_dim == 4);
  const auto x = res::images();
  // Two threads against one, as check_threads above: the step is split, so the convolutions' and Dense's
  // weight gradients are summed per slice (last bits); from the same weights, each step's state
  // (BatchNorm's running statistics, the EMA codebook) is the same in every bit, the loss up to rounding.
  M one(9), two(9);
  one.set_threads(1);
  two.set_threads(2);
  REQUIRE_MESSAGE(two.threads_for(64, 1.0) == 2, "this machine gives the step only one thread");
  Adam a(1e-2), b(1e-2);
  for (int step = 0; step < 3; ++step) {
    CHECK(one.train_batch(x.data(), 64, a) == doctest::Approx(two.train_batch(x.data(), 64, b)).epsilon(1e-6));
    CHECK(same_bits(std::as_const(one).state(), std::as_const(two).state()));
    std::ranges::copy(std::as_const(one).parameters(), two.parameters().begin());
    std::ranges::copy(std::as_const(one).state(), two.state().begin());
  }
  // Learning (the reconstruction loss falls), then save and load: the parameters, the state and the
  // codes, bit for bit.
  M m(5), back(77);
  res::learns(m, x, "VQVAE");
  const auto codes = m.encode_indices(x);
  MESSAGE("residual parts: codebook usage " << codebook_usage(codes, 16));
  res::round_trips(m, back, x, "vqvae");
  CHECK(back.encode_indices(x) == codes);
}

}  // namespace
}  // namespace test_vq
