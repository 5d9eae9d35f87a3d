// Tests of training/metrics.hpp: kNN accuracy, PCA projection and the per-sample reconstruction errors,
// each against answers known in closed form or computed by hand; of data/one_hot.hpp; of the
// ground-truth factors of data/shapes.hpp and the disentanglement scores of analysis/ on constructed
// codes whose answers are known; and of the sparse-dictionary ground truth
// (data/synthetic_activations.hpp) and metrics (analysis/dictionary_metrics.hpp): the Hungarian
// solver against brute force, MCC on copies and on random dictionaries, the generator's statistics,
// and the metrics without truth on hand-computed cases.
#include <doctest/doctest.h>

#include <algorithm>  // std::next_permutation, std::min_element, std::count
#include <cmath>      // std::log, std::log1p, std::sqrt, std::abs, std::pow, NAN
#include <cstddef>    // std::size_t
#include <cstdint>    // std::int32_t, std::uint64_t
#include <limits>     // std::numeric_limits
#include <numeric>    // std::iota
#include <vector>     // std::vector

#include <xtensor/xbuilder.hpp>    // xt::concatenate
#include <xtensor/xoperation.hpp>  // xt::cast
#include <xtensor/xview.hpp>       // xt::view

#include "latent/analysis/beta_vae_score.hpp"
#include "latent/analysis/dictionary_metrics.hpp"
#include "latent/analysis/disentanglement_report.hpp"
#include "latent/analysis/factor_vae_score.hpp"
#include "latent/analysis/factor_votes.hpp"
#include "latent/analysis/gaussian_mixture.hpp"
#include "latent/analysis/heat_map.hpp"
#include "latent/analysis/interpolation.hpp"
#include "latent/analysis/mig.hpp"
#include "latent/analysis/mutual_information.hpp"
#include "latent/analysis/traversal.hpp"
#include "latent/core/aligned_buffer.hpp"
#include "latent/core/error.hpp"
#include "latent/core/random.hpp"
#include "latent/data/one_hot.hpp"
#include "latent/data/shapes.hpp"
#include "latent/data/synthetic_activations.hpp"
#include "latent/training/metrics.hpp"

// The file's own names live in namespace test_metrics: the test programs compile several test files as one
// translation unit (tests/CMakeLists.txt), and each file's helpers stay its own.
namespace test_metrics {

namespace {

template <class T>
xt::xtensor<T, 2> matrix(std::size_t n, std::size_t d) {
  return xt::xtensor<T, 2>::from_shape({n, d});
}

xt::xtensor<std::int32_t, 1> labels_of(std::size_t n) { return xt::xtensor<std::int32_t, 1>::from_shape({n}); }

// n points per class around 10 well-separated centres in d dimensions.
struct clusters {
  xt::xtensor<float, 2> x;
  xt::xtensor<std::int32_t, 1> y;
};
clusters make_clusters(std::size_t per_class, std::size_t d, std::uint64_t seed) {
  latent::Rng rng(seed);
  clusters c{matrix<float>(10 * per_class, d), labels_of(10 * per_class)};
  for (std::size_t i = 0; i < 10 * per_class; ++i) {
    const auto label = static_cast<std::int32_t>(i % 10);
    c.y(i) = label;
    for (std::size_t j = 0; j < d; ++j)
      c.x(i, j) = static_cast<float>(
          (j == static_cast<std::size_t>(label) % d ? 20.0 * (1 + label / static_cast<int>(d)) : 0.0) + rng.normal());
  }
  return c;
}

}  // namespace

TEST_CASE("knn_accuracy: separable clusters are classified perfectly") {
  const clusters ref = make_clusters(50, 4, 1), query = make_clusters(20, 4, 2);
  CHECK(latent::knn_accuracy(ref.x, ref.y, query.x, query.y, 5) == doctest::Approx(1.0));
  CHECK(latent::knn_accuracy(ref.x, ref.y, query.x, query.y, 1) == doctest::Approx(1.0));
}

TEST_CASE("knn_accuracy: shuffled labels give about chance") {
  const clusters ref = make_clusters(300, 4, 3), query = make_clusters(100, 4, 4);
  xt::xtensor<std::int32_t, 1> shuffled = ref.y;
  latent::Rng rng(5);
  for (std::size_t i = shuffled.size() - 1; i > 0; --i) std::swap(shuffled(i), shuffled(rng.below(i + 1)));
  const double acc = latent::knn_accuracy(ref.x, shuffled, query.x, query.y, 5);
  CHECK(acc > 0.05);
  CHECK(acc < 0.17);  // chance is 0.1; 1000 queries give a standard deviation of about 0.01
}

TEST_CASE("knn_accuracy: majority vote, ties broken by the nearest neighbour") {
  // One query at 0; references on a line at distances 1..5.
  auto ref = matrix<double>(5, 1);
  for (std::size_t i = 0; i < 5; ++i) ref(i, 0) = static_cast<double>(i + 1);
  auto query = matrix<double>(1, 1);
  query(0, 0) = 0;
  auto q_label = labels_of(1);
  auto ref_labels = labels_of(5);
  // Labels by distance 1..5: 7 8 8 7 9 → 7 and 8 tie at two votes each; 7 is nearest.
  const std::int32_t tie[5] = {7, 8, 8, 7, 9};
  for (std::size_t i = 0; i < 5; ++i) ref_labels(i) = tie[i];
  q_label(0) = 7;
  CHECK(latent::knn_accuracy(ref, ref_labels, query, q_label, 5) == 1.0);
  q_label(0) = 8;
  CHECK(latent::knn_accuracy(ref, ref_labels, query, q_label, 5) == 0.0);
  // Labels 9 8 8 7 7: 8 has the majority although 9 is nearest.
  const std::int32_t major[5] = {9, 8, 8, 7, 7};
  for (std::size_t i = 0; i < 5; ++i) ref_labels(i) = major[i];
  q_label(0) = 8;
  CHECK(latent::knn_accuracy(ref, ref_labels, query, q_label, 5) == 1.0);
  q_label(0) = 9;
  CHECK(latent::knn_accuracy(ref, ref_labels, query, q_label, 1) == 1.0);  // k = 1: the nearest alone
  // k = 3 looks at 9 8 8 only.
  q_label(0) = 8;
  CHECK(latent::knn_accuracy(ref, ref_labels, query, q_label, 3) == 1.0);
}

TEST_CASE("knn_accuracy: errors name what was expected and found") {
  const clusters ref = make_clusters(5, 3, 1);
  auto narrow = matrix<float>(4, 2);
  narrow.fill(0.0f);
  CHECK_THROWS_WITH_AS(latent::knn_accuracy(ref.x, ref.y, narrow, labels_of(4), 5),
                       doctest::Contains("as wide as the reference codes (3), found 2"), latent::shape_error);
  CHECK_THROWS_WITH_AS(latent::knn_accuracy(ref.x, labels_of(49), ref.x, ref.y, 5),
                       doctest::Contains("one reference label per reference row (50), found 49"), latent::shape_error);
  CHECK_THROWS_AS(latent::knn_accuracy(ref.x, ref.y, ref.x, labels_of(3), 5), latent::shape_error);
  CHECK_THROWS_WITH_AS(latent::knn_accuracy(ref.x, ref.y, ref.x, ref.y, 0), doctest::Contains("k >= 1"),
                       latent::option_error);
  CHECK_THROWS_WITH_AS(latent::knn_accuracy(ref.x, ref.y, ref.x, ref.y, 51), doctest::Contains("(50), found 51"),
                       latent::option_error);
  CHECK_THROWS_AS(latent::knn_accuracy(ref.x, ref.y, matrix<float>(0, 3), labels_of(0), 5), latent::data_error);
  auto bad = ref.x;
  bad(7, 1) = NAN;
  CHECK_THROWS_WITH_AS(latent::knn_accuracy(ref.x, ref.y, bad, ref.y, 5), doctest::Contains("row 7 of the query"),
                       latent::data_error);
}

TEST_CASE_TEMPLATE("pca_project: data on a line is recovered as the first component", T, float, double) {
  // x = c + t·u with u = (2, -1, 2)/3, t = -5..5; plus a tiny second direction so the second component exists.
  const double u[3] = {2.0 / 3, -1.0 / 3, 2.0 / 3};
  const double w[3] = {1.0 / std::sqrt(2.0), 0.0, -1.0 / std::sqrt(2.0)};  // orthogonal to u
  auto x = matrix<T>(11, 3);
  for (std::size_t i = 0; i < 11; ++i) {
    const double t = static_cast<double>(i) - 5, s = (i % 2 ? 0.01 : -0.01);
    for (std::size_t j = 0; j < 3; ++j) x(i, j) = static_cast<T>(1.0 + static_cast<double>(j) + t * u[j] + s * w[j]);
  }
  const xt::xtensor<T, 2> p = latent::pca_project(x, 2);
  REQUIRE(p.shape()[0] == 11);
  REQUIRE(p.shape()[1] == 2);
  // The largest entry of u (in magnitude, first on a tie) is +2/3: the sign convention keeps u, so the
  // first component is t itself.
  for (std::size_t i = 0; i < 11; ++i) {
    CHECK(static_cast<double>(p(i, 0)) == doctest::Approx(static_cast<double>(i) - 5).epsilon(1e-4));
    CHECK(std::abs(static_cast<double>(p(i, 1))) == doctest::Approx(0.01).epsilon(1e-2));
  }
  const xt::xtensor<T, 2> one = latent::pca_project(x, 1);
  CHECK(one.shape()[1] == 1);
}

TEST_CASE("pca_project: components come out by decreasing variance, and projections of axes are exact") {
  // Independent columns with variances 1, 9, 4: components are the axes ordered 2nd, 3rd, 1st.
  latent::Rng rng(11);
  auto x = matrix<double>(4000, 3);
  for (std::size_t i = 0; i < 4000; ++i) {
    x(i, 0) = 1.0 * rng.normal();
    x(i, 1) = 3.0 * rng.normal();
    x(i, 2) = 2.0 * rng.normal();
  }
  const auto p = latent::pca_project(x, 3);
  double var[3] = {0, 0, 0};
  for (std::size_t i = 0; i < 4000; ++i)
    for (std::size_t c = 0; c < 3; ++c) var[c] += p(i, c) * p(i, c) / 4000;
  CHECK(var[0] > var[1]);
  CHECK(var[1] > var[2]);
  CHECK(var[0] == doctest::Approx(9).epsilon(0.1));
  CHECK(var[2] == doctest::Approx(1).epsilon(0.1));
  // Total variance is preserved by a full rotation.
  double total_in = 0, total_out = var[0] + var[1] + var[2];
  for (std::size_t j = 0; j < 3; ++j) {
    double m = 0, v = 0;
    for (std::size_t i = 0; i < 4000; ++i) m += x(i, j) / 4000;
    for (std::size_t i = 0; i < 4000; ++i) v += (x(i, j) - m) * (x(i, j) - m) / 4000;
    total_in += v;
  }
  CHECK(total_out == doctest::Approx(total_in).epsilon(1e-9));
}

TEST_CASE("pca_project: a symmetric matrix with known eigenvectors (Jacobi)") {
  // Points ±a·e1' ± b·e2' in the plane rotated by 30°: the first component is the rotated x axis.
  const double c = std::sqrt(3.0) / 2, s = 0.5;
  auto x = matrix<double>(4, 2);
  const double pts[4][2] = {{3, 0}, {-3, 0}, {0, 1}, {0, -1}};
  for (std::size_t i = 0; i < 4; ++i) {
    x(i, 0) = c * pts[i][0] - s * pts[i][1];
    x(i, 1) = s * pts[i][0] + c * pts[i][1];
  }
  const auto p = latent::pca_project(x, 2);
  CHECK(p(0, 0) == doctest::Approx(3));
  CHECK(p(1, 0) == doctest::Approx(-3));
  CHECK(p(2, 0) == doctest::Approx(0).epsilon(1e-12));
  CHECK(std::abs(p(2, 1)) == doctest::Approx(1));
  CHECK(p(2, 1) == doctest::Approx(-p(3, 1)));
}

TEST_CASE("pca_project: errors") {
  auto x = matrix<float>(5, 3);
  x.fill(1.0f);
  CHECK_THROWS_WITH_AS(latent::pca_project(x, 4), doctest::Contains("1 <= components <= 3"), latent::option_error);
  CHECK_THROWS_AS(latent::pca_project(x, 0), latent::option_error);
  CHECK_THROWS_AS(latent::pca_project(matrix<float>(0, 3), 2), latent::data_error);
  x(2, 1) = NAN;
  CHECK_THROWS_WITH_AS(latent::pca_project(x, 2), doctest::Contains("row 2, column 1"), latent::data_error);
  // Constant data has no direction of variance: the projection is zero, not NaN.
  auto flat = matrix<float>(5, 3);
  flat.fill(2.0f);
  const auto p = latent::pca_project(flat, 2);
  for (float v : p) CHECK(v == 0.0f);
}

TEST_CASE("mse_per_sample and bce_per_sample: one hand-computed value per sample, and their means") {
  auto r = matrix<double>(2, 2), x = matrix<double>(2, 2);
  // Row 0: errors 1 and 2 → 5; row 1: errors 0 and 3 → 9; mean 7.
  r(0, 0) = 1, r(0, 1) = 2, r(1, 0) = 5, r(1, 1) = -1;
  x(0, 0) = 0, x(0, 1) = 0, x(1, 0) = 5, x(1, 1) = 2;
  const xt::xtensor<double, 1> mse = latent::mse_per_sample(r, x);
  REQUIRE(mse.size() == 2);
  CHECK(mse(0) == 5.0);  // small integers: exact in double
  CHECK(mse(1) == 9.0);
  CHECK(latent::mean_mse_per_sample(r, x) == 7.0);
  // float data, three samples of width 1: (0.5 − 0)², (1 − 1)², (0.25 − 1)² = 0.25, 0, 0.5625.
  auto rf = matrix<float>(3, 1), xf = matrix<float>(3, 1);
  rf(0, 0) = 0.5f, rf(1, 0) = 1.0f, rf(2, 0) = 0.25f;
  xf(0, 0) = 0.0f, xf(1, 0) = 1.0f, xf(2, 0) = 1.0f;
  const auto msef = latent::mse_per_sample(rf, xf);
  REQUIRE(msef.size() == 3);
  CHECK(msef(0) == 0.25);
  CHECK(msef(1) == 0.0);
  CHECK(msef(2) == 0.5625);
  CHECK(latent::mean_mse_per_sample(rf, xf) == doctest::Approx(0.8125 / 3));

  auto p = matrix<float>(2, 2), t = matrix<float>(2, 2);
  // Row 0: targets 1, 0 with p = 0.5, 0.25 → −log 0.5 − log 0.75; row 1: target 0.5 with p = 0.5 twice
  // → 2·log 2; a clamped certain miss: p = 0 for target 1 costs −log 1e-7.
  p(0, 0) = 0.5f, p(0, 1) = 0.25f, p(1, 0) = 0.5f, p(1, 1) = 0.5f;
  t(0, 0) = 1.0f, t(0, 1) = 0.0f, t(1, 0) = 0.5f, t(1, 1) = 0.5f;
  const double row0 = -std::log(0.5) - std::log(0.75), row1 = 2 * std::log(2.0);
  auto bce = latent::bce_per_sample(p, t);
  REQUIRE(bce.size() == 2);
  CHECK(bce(0) == doctest::Approx(row0).epsilon(1e-12));  // ≈ 0.980829
  CHECK(bce(1) == doctest::Approx(row1).epsilon(1e-12));  // ≈ 1.386294
  CHECK(latent::mean_bce_per_sample(p, t) == doctest::Approx((row0 + row1) / 2).epsilon(1e-12));
  p(0, 0) = 0.0f;
  const double clamped = -std::log(1e-7) - std::log(0.75);  // ≈ 16.405
  bce = latent::bce_per_sample(p, t);
  CHECK(bce(0) == doctest::Approx(clamped).epsilon(1e-9));
  CHECK(bce(1) == doctest::Approx(row1).epsilon(1e-12));  // the other sample is untouched
  CHECK(latent::mean_bce_per_sample(p, t) == doctest::Approx((clamped + row1) / 2).epsilon(1e-9));
  p(0, 0) = 1.0f;  // a correct certainty costs −log(1 − 1e-7) ≈ 1e-7, not 0 and not NaN
  bce = latent::bce_per_sample(p, t);
  CHECK(bce(0) == doctest::Approx(-std::log1p(-1e-7) - std::log(0.75)).epsilon(1e-12));
  CHECK(bce(0) > -std::log(0.75));
  CHECK(latent::mean_bce_per_sample(p, t) == doctest::Approx((-std::log(0.75) + row1) / 2).epsilon(1e-6));
}

TEST_CASE("mse_per_sample and bce_per_sample: mismatched or empty data") {
  CHECK_THROWS_WITH_AS(latent::mse_per_sample(matrix<float>(2, 3), matrix<float>(2, 4)),
                       doctest::Contains("same shape, found 2 x 3 and 2 x 4"), latent::shape_error);
  CHECK_THROWS_WITH_AS(latent::bce_per_sample(matrix<float>(3, 4), matrix<float>(2, 4)),
                       doctest::Contains("found 3 x 4 and 2 x 4"), latent::shape_error);
  CHECK_THROWS_AS(latent::mse_per_sample(matrix<float>(0, 4), matrix<float>(0, 4)), latent::data_error);
  CHECK_THROWS_AS(latent::bce_per_sample(matrix<double>(0, 4), matrix<double>(0, 4)), latent::data_error);
  CHECK_THROWS_WITH_AS(latent::mean_mse_per_sample(matrix<float>(2, 3), matrix<float>(3, 3)),
                       doctest::Contains("mse_per_sample: expected reconstructions and data of the same shape"),
                       latent::shape_error);
  CHECK_THROWS_AS(latent::mean_bce_per_sample(matrix<double>(4, 0), matrix<double>(4, 0)), latent::data_error);
}

// data/one_hot.hpp (model-free like the metrics, so its tests live here): the public encoding and the
// rows a conditional model's label input is built from, with the same checks.
TEST_CASE("one_hot and detail::one_hot_buffer: hand-checked rows and errors naming the row") {
  xt::xtensor<std::int32_t, 1> labels = {2, 0, 1, 2};
  const xt::xtensor<float, 2> y = latent::one_hot(labels, 3);
  REQUIRE(y.shape()[0] == 4);
  REQUIRE(y.shape()[1] == 3);
  const float expected[4][3] = {{0, 0, 1}, {1, 0, 0}, {0, 1, 0}, {0, 0, 1}};
  for (std::size_t r = 0; r < 4; ++r)
    for (std::size_t c = 0; c < 3; ++c) CHECK(y(r, c) == expected[r][c]);

  const latent::aligned_buffer<double> rows = latent::detail::one_hot_buffer<double>(labels, 4, 3, "fit");
  REQUIRE(rows.size() == 12);
  for (std::size_t r = 0; r < 4; ++r)
    for (std::size_t c = 0; c < 3; ++c) CHECK(rows[r * 3 + c] == static_cast<double>(expected[r][c]));
  CHECK(latent::detail::one_hot_buffer<float>(xt::xtensor<std::int32_t, 1>::from_shape({0}), 0, 3, "fit").size() == 0);

  CHECK_THROWS_WITH_AS(latent::detail::one_hot_buffer<float>(labels, 5, 3, "fit"),
                       doctest::Contains("fit: expected one label per row (5), found 4"), latent::shape_error);
  xt::xtensor<std::int32_t, 1> high = {0, 1, 3};
  CHECK_THROWS_WITH_AS(latent::detail::one_hot_buffer<float>(high, 3, 3, "decode"),
                       doctest::Contains("decode: expected labels in [0, 3), found 3 in row 2"), latent::data_error);
  CHECK_THROWS_WITH_AS(latent::one_hot(high, 3),
                       doctest::Contains("one_hot: expected labels in [0, 3), found 3 in row 2"), latent::data_error);
  xt::xtensor<std::int32_t, 1> negative = {-1};
  CHECK_THROWS_WITH_AS(latent::detail::one_hot_buffer<float>(negative, 1, 3, "fit (validation labels)"),
                       doctest::Contains("fit (validation labels): expected labels in [0, 3), found -1 in row 0"),
                       latent::data_error);
  CHECK_THROWS_WITH_AS(latent::one_hot(negative, 3), doctest::Contains("found -1 in row 0"), latent::data_error);
}

// ---- ground-truth factors and disentanglement scores --------------------------------------------

namespace {

// n rows of K independent factors, each uniform on [0, 1).
xt::xtensor<double, 2> uniform_factors(std::size_t n, std::size_t k, std::uint64_t seed) {
  latent::Rng rng(seed);
  auto f = matrix<double>(n, k);
  for (auto& v : f) v = rng.uniform();
  return f;
}

// The synthetic sampler of the classifier scores: `n` rows of 4 uniform factors sharing one random
// value of factor `k`.
constexpr std::size_t kFactors = 4;
xt::xtensor<double, 2> sample_sharing(std::size_t k, std::size_t n, std::uint64_t seed) {
  xt::xtensor<double, 2> f = uniform_factors(n, kFactors, seed * 7919 + 1);
  latent::Rng rng(seed ^ 0x9e3779b97f4a7c15ULL);
  const double v = rng.uniform();
  for (std::size_t r = 0; r < n; ++r) f(r, k) = v;
  return f;
}

// Codes: a perfect code scaled per unit (z_j = (2 + j)·v_j − 1) and a constant, collapsed fifth unit.
xt::xtensor<double, 2> perfect_code(const xt::xtensor<double, 2>& f) {
  auto z = matrix<double>(f.shape()[0], f.shape()[1] + 1);
  for (std::size_t r = 0; r < f.shape()[0]; ++r) {
    for (std::size_t j = 0; j < f.shape()[1]; ++j) z(r, j) = (2.0 + static_cast<double>(j)) * f(r, j) - 1;
    z(r, f.shape()[1]) = 0.25;
  }
  return z;
}

// A code that ignores the factors: fresh normal noise per call.
struct noise_code {
  latent::Rng rng{77};
  xt::xtensor<double, 2> operator()(const xt::xtensor<double, 2>& f) {
    auto z = matrix<double>(f.shape()[0], 5);
    for (auto& v : z) v = rng.normal();
    return z;
  }
};

// The perfect code with its first two units turned by 45°: each carries half of factors 0 and 1.
xt::xtensor<double, 2> rotated_code(const xt::xtensor<double, 2>& f) {
  xt::xtensor<double, 2> z = f;
  for (std::size_t r = 0; r < f.shape()[0]; ++r) {
    z(r, 0) = (f(r, 0) + f(r, 1)) / std::sqrt(2.0);
    z(r, 1) = (f(r, 0) - f(r, 1)) / std::sqrt(2.0);
  }
  return z;
}

// A model whose code is its input (code_size 3) and whose decoder doubles it: enough to check the
// traversal's and the interpolation's bookkeeping, and the report's use of kl_per_unit.
struct identity_model {
  static constexpr std::size_t code_size = 3;
  xt::xtensor<double, 2> encode(const xt::xtensor<double, 2>& x) const { return x; }
  xt::xtensor<double, 2> decode(const xt::xtensor<double, 2>& z) const { return 2.0 * z; }
};
struct identity_vae : identity_model {
  // KL increasing with the unit's index, so the report orders the units 2, 1, 0.
  xt::xtensor<double, 1> kl_per_unit(const xt::xtensor<double, 2>&) const { return {0.1, 0.5, 2.0}; }
};

}  // namespace

TEST_CASE("shapes factors: the images are make_shapes' bit for bit, the factors in their ranges") {
  const latent::FactorDataset f = latent::make_shapes_with_factors(500, 11);
  const latent::Dataset d = latent::make_shapes(500, 11);
  REQUIRE(f.factors.shape()[0] == 500);
  REQUIRE(f.factors.shape()[1] == latent::shapes_factor::count);
  REQUIRE(f.info.size() == latent::shapes_factor::count);
  CHECK(f.data.x == d.x);
  CHECK(f.data.labels == d.labels);
  for (std::size_t r = 0; r < 500; ++r) {
    CHECK(f.factors(r, latent::shapes_factor::shape) == static_cast<double>(d.labels(r)));
    for (std::size_t k = 0; k < latent::shapes_factor::count; ++k) {
      CHECK(f.factors(r, k) >= f.info[k].low);
      CHECK(f.factors(r, k) <= f.info[k].high);
    }
  }
  const auto [train, test] = latent::make_shapes_split_with_factors(200, 100, 3);
  const auto [train0, test0] = latent::make_shapes_split(200, 100, 3);
  CHECK(train.data.x == train0.x);
  CHECK(test.data.x == test0.x);
  CHECK(f.info[latent::shapes_factor::rotation].name == "rotation");
  // Nothing held: the images of make_shapes; one factor held: that column is constant, the others vary.
  CHECK(latent::make_shapes_fixed(50, std::vector<std::optional<double>>(latent::shapes_factor::count), 11).data.x ==
        latent::make_shapes(50, 11).x);
  std::vector<std::optional<double>> fixed(latent::shapes_factor::count);
  fixed[latent::shapes_factor::size] = 7.25;
  fixed[latent::shapes_factor::shape] = 4;
  const latent::FactorDataset held = latent::make_shapes_fixed(100, fixed, 5);
  double lo_x = 1e9, hi_x = -1e9;
  for (std::size_t r = 0; r < 100; ++r) {
    CHECK(held.factors(r, latent::shapes_factor::size) == 7.25);
    CHECK(held.data.labels(r) == 4);
    lo_x = std::min(lo_x, held.factors(r, latent::shapes_factor::x));
    hi_x = std::max(hi_x, held.factors(r, latent::shapes_factor::x));
  }
  CHECK(hi_x - lo_x > 5.0);  // 100 uniform draws on a range of 7 px leave gaps of ~0.07 px at the ends
  // Held position: the shape's bright pixels are centred where the factor says (±0.5 px).
  fixed.assign(latent::shapes_factor::count, std::nullopt);
  fixed[latent::shapes_factor::shape] = 0;  // a disk
  fixed[latent::shapes_factor::x] = 3.0;
  fixed[latent::shapes_factor::y] = -2.0;
  const latent::FactorDataset disk = latent::make_shapes_fixed(1, fixed, 9);
  double sx = 0, sy = 0, sw = 0;
  for (std::size_t p = 0; p < 784; ++p) {
    const double w = disk.data.x(0, p) > 0.5 ? 1.0 : 0.0;
    sx += w * (static_cast<double>(p % 28) + 0.5), sy += w * (static_cast<double>(p / 28) + 0.5), sw += w;
  }
  CHECK(sx / sw == doctest::Approx(17.0).epsilon(0.03));
  CHECK(sy / sw == doctest::Approx(12.0).epsilon(0.04));
  const latent::FactorDataset shared = latent::make_shapes_sharing(latent::shapes_factor::rotation, 40, 2);
  for (std::size_t r = 1; r < 40; ++r)
    CHECK(shared.factors(r, latent::shapes_factor::rotation) == shared.factors(0, latent::shapes_factor::rotation));
}

TEST_CASE("shapes factors: bad held factors are refused with what was expected") {
  using latent::shapes_factor::count;
  CHECK_THROWS_WITH_AS(latent::make_shapes_fixed(3, std::vector<std::optional<double>>(3)),
                       "latent: make_shapes_fixed: expected one entry per shapes factor (7), found 3",
                       latent::shape_error);
  std::vector<std::optional<double>> fixed(count);
  fixed[latent::shapes_factor::size] = 20.0;
  CHECK_THROWS_WITH_AS(latent::make_shapes_fixed(3, fixed),
                       "latent: make_shapes_fixed: expected factor size in [6.500000, 10.500000], found 20.000000",
                       latent::option_error);
  fixed.assign(count, std::nullopt);
  fixed[latent::shapes_factor::shape] = 2.5;
  CHECK_THROWS_AS(latent::make_shapes_fixed(3, fixed), latent::option_error);
  CHECK_THROWS_WITH_AS(latent::make_shapes_sharing(7, 3),
                       "latent: make_shapes_sharing: expected a factor index below 7, found 7", latent::option_error);
}

TEST_CASE("mutual_information: hand-computed cases and the entropy of a uniform factor") {
  // Two units against two factors over 4 rows: unit 0 copies factor 0 (I = log 2), is independent of
  // factor 1 (I = 0); unit 1 is constant (I = 0 with both).
  xt::xtensor<double, 2> z = {{0, 5}, {0, 5}, {1, 5}, {1, 5}};
  xt::xtensor<double, 2> v = {{0, 0}, {0, 1}, {1, 0}, {1, 1}};
  const latent::MutualInformation m = latent::mutual_information(z, v, 2);
  CHECK(m.mi(0, 0) == doctest::Approx(std::log(2.0)));
  CHECK(m.mi(0, 1) == doctest::Approx(0.0));
  CHECK(m.mi(1, 0) == doctest::Approx(0.0));
  CHECK(m.factor_entropy(0) == doctest::Approx(std::log(2.0)));
  CHECK(m.normalised()(0, 0) == doctest::Approx(1.0));
  // 10 000 uniform draws in 20 bins: H = log 20 less a plug-in bias of about 19/(2·10 000) nats.
  const xt::xtensor<double, 2> f = uniform_factors(10000, 1, 3);
  CHECK(latent::mutual_information(f, f).factor_entropy(0) == doctest::Approx(std::log(20.0)).epsilon(0.002));
}

TEST_CASE("mutual_information_gap: a copied factor per unit scores about 1, noise about 0, a rotation less") {
  const xt::xtensor<double, 2> f = uniform_factors(10000, 3, 4);
  // Each unit an affine function of one factor falls in the same bins: gap = (H − bias) / H. The
  // other units are independent of it, their MI only the plug-in bias, (20 − 1)² / (2·10 000) = 0.018
  // nats against H = log 20 = 3.0: a gap of 0.994.
  xt::xtensor<double, 2> z = f;
  for (std::size_t r = 0; r < 10000; ++r) z(r, 1) = 3 * f(r, 1) + 2, z(r, 2) = 0.5 - 4 * f(r, 2);
  const latent::Mig perfect = latent::mutual_information_gap(z, f);
  CHECK(perfect.score > 0.98);
  CHECK(perfect.score <= 1.0);
  REQUIRE(perfect.per_factor.size() == 3);
  // A code of noise: every MI is bias, and the gap between two biases is below 0.01 of H.
  const xt::xtensor<double, 2> noise = uniform_factors(10000, 4, 5);
  CHECK(latent::mutual_information_gap(noise, f).score < 0.01);
  // Factors 0 and 1 turned by 45° into units 0 and 1: each of those factors is shared equally by two
  // units (gap ≈ 0), factor 2 keeps its own (≈ 1): MIG ≈ 1/3.
  const latent::Mig rotated = latent::mutual_information_gap(rotated_code(f), f);
  CHECK(rotated.score < perfect.score - 0.5);
  CHECK(rotated.score == doctest::Approx(1.0 / 3).epsilon(0.1));
  CHECK(rotated.per_factor[0] < 0.1);
  CHECK(rotated.per_factor[2] > 0.98);
}

TEST_CASE("mutual_information_gap: bad input is refused with what was expected") {
  const xt::xtensor<double, 2> f = uniform_factors(10, 2, 1);
  CHECK_THROWS_WITH_AS(latent::mutual_information(matrix<double>(9, 3), f),
                       "latent: mutual_information: expected one row of factors per row of codes (9), found 10",
                       latent::shape_error);
  CHECK_THROWS_WITH_AS(latent::mutual_information(f, f, 0),
                       "latent: mutual_information: expected at least 1 bin, found 0", latent::option_error);
  CHECK_THROWS_AS(latent::mutual_information(matrix<double>(0, 3), matrix<double>(0, 2)), latent::data_error);
  xt::xtensor<double, 2> nan = f;
  nan(3, 1) = NAN;
  CHECK_THROWS_AS(latent::mutual_information(nan, f), latent::data_error);
  xt::xtensor<double, 2> constant = f;
  for (std::size_t r = 0; r < 10; ++r) constant(r, 1) = 1;
  CHECK_THROWS_WITH_AS(
      latent::mutual_information_gap(f, constant),
      "latent: mutual_information_gap: expected every factor to vary, found factor 1 constant (entropy 0)",
      latent::data_error);
}

TEST_CASE("factor_vae_score and beta_vae_score: a perfect code scores 1, noise chance (1/K)") {
  const latent::FactorVotes votes =
      latent::sample_factor_votes(sample_sharing, kFactors, {.batch_size = 32, .train_votes = 400, .eval_votes = 400});
  REQUIRE(votes.train.size() == 400);
  REQUIRE(votes.eval.size() == 400);
  CHECK(votes.train[5].factor == 1);  // vote b holds factor b mod K
  const xt::xtensor<double, 2> reference = perfect_code(uniform_factors(2000, kFactors, 8));
  // The held factor's unit has variance exactly 0 in its batch: the argmin is always right. (The
  // constant fifth unit is pruned: it would divide by a zero variance.)
  CHECK(latent::factor_vae_score(votes, perfect_code, reference) == 1.0);
  // The held unit's mean |difference| is 0, the others' about 1/3 of their scale: separable.
  CHECK(latent::beta_vae_score(votes, perfect_code) >= 0.99);
  // Noise: each vote's index is independent of its factor, so any classifier is right 1/4 of the time;
  // 400 evaluation votes give a standard deviation of 0.022, and the tolerance is 4 of them.
  noise_code noise;
  const xt::xtensor<double, 2> noise_reference = noise(matrix<double>(2000, kFactors));
  CHECK(latent::factor_vae_score(votes, noise, noise_reference) == doctest::Approx(0.25).epsilon(0.36));
  CHECK(latent::beta_vae_score(votes, noise) == doctest::Approx(0.25).epsilon(0.36));
  // The reference codes set the scale of each unit (and which are collapsed), not the answer.
  CHECK(latent::factor_vae_score(votes, perfect_code, xt::xtensor<double, 2>(3.0 * reference)) == 1.0);
  // Every unit collapsed: nothing to vote with.
  xt::xtensor<double, 2> flat = matrix<double>(10, 5);
  flat.fill(1.0);
  CHECK(latent::factor_vae_score(votes, perfect_code, flat) == 0.0);
}

TEST_CASE("factor votes and the classifier scores: bad input is refused with what was expected") {
  CHECK_THROWS_WITH_AS(latent::sample_factor_votes(sample_sharing, kFactors, {.batch_size = 33}),
                       "latent: sample_factor_votes: expected an even batch size of at least 2, found 33",
                       latent::option_error);
  CHECK_THROWS_AS(latent::sample_factor_votes(sample_sharing, 0), latent::option_error);
  const latent::FactorVotes votes =
      latent::sample_factor_votes(sample_sharing, kFactors, {.batch_size = 8, .train_votes = 8, .eval_votes = 4});
  const xt::xtensor<double, 2> wide = uniform_factors(20, 6, 2);  // six varying units; the code has five
  CHECK_THROWS_WITH_AS(latent::factor_vae_score(votes, perfect_code, wide),
                       "latent: factor_vae_score: expected codes of 6 units (the reference codes' width), found 5",
                       latent::shape_error);
  latent::FactorVotes<xt::xtensor<double, 2>> empty{kFactors, {}, {}};
  CHECK_THROWS_WITH_AS(latent::beta_vae_score(empty, perfect_code),
                       "latent: beta_vae_score: expected at least one training and one evaluation vote, found 0 and 0",
                       latent::option_error);
  CHECK_THROWS_AS(latent::beta_vae_score(votes, perfect_code, {.steps = 0}), latent::option_error);
}

TEST_CASE("latent_traversal, latent_interpolation and disentanglement_report on an identity model") {
  const identity_model m;
  const xt::xtensor<double, 2> seeds = {{1, 2, 3}, {4, 5, 6}};
  const xt::xtensor<double, 2> grid = latent::latent_traversal(m, seeds, {2, 0}, {-1.0, 0.5});
  REQUIRE(grid.shape()[0] == 2 * 2 * 2);
  // Row (s·U + u)·V + v: seed 1, unit 0 (the second listed), value 0.5 → 2·(0.5, 5, 6).
  CHECK(grid(7, 0) == 1.0);
  CHECK(grid(7, 1) == 10.0);
  CHECK(grid(0, 2) == -2.0);  // seed 0, unit 2, value −1
  CHECK(grid(0, 0) == 2.0);
  CHECK_THROWS_WITH_AS(latent::latent_traversal(m, seeds, {3}, {0.0}),
                       "latent: latent_traversal: expected unit indices below the code size 3, found 3",
                       latent::option_error);
  const xt::xtensor<double, 2> line = latent::latent_interpolation(m, seeds, xt::xtensor<double, 2>(seeds + 3.0), 4);
  REQUIRE(line.shape()[0] == 8);
  CHECK(line(0, 0) == doctest::Approx(2.0));   // t = 0: the start
  CHECK(line(1, 0) == doctest::Approx(4.0));   // t = 1/3: 2·(1 + 1)
  CHECK(line(7, 2) == doctest::Approx(18.0));  // t = 1: 2·(6 + 3)
  CHECK_THROWS_AS(latent::latent_interpolation(m, seeds, seeds, 1), latent::option_error);

  // The report: the identity code of 3 factors is perfect; the VAE's units are ordered by their KL.
  const xt::xtensor<double, 2> f = uniform_factors(3000, 3, 21);
  auto sample3 = [](std::size_t k, std::size_t n, std::uint64_t seed) {
    xt::xtensor<double, 2> s = uniform_factors(n, 3, seed + 100);
    for (std::size_t r = 0; r < n; ++r) s(r, k) = s(0, k);
    return s;
  };
  const auto votes = latent::sample_factor_votes(sample3, 3, {.batch_size = 16, .train_votes = 60, .eval_votes = 60});
  const latent::DisentanglementReport r = latent::disentanglement_report(identity_vae{}, f, f, votes);
  CHECK(r.mig.score > 0.97);
  CHECK(r.factor_vae == 1.0);
  CHECK(r.beta_vae >= 0.95);
  CHECK(r.active_units == 3);  // variance 1/12 > 0.01
  CHECK(r.unit_order == std::vector<std::size_t>{2, 1, 0});
  CHECK(r.kl_per_unit.size() == 3);
  const latent::DisentanglementReport plain = latent::disentanglement_report(m, f, f, votes);
  CHECK(plain.kl_per_unit.size() == 0);
  CHECK(plain.variance[0] == doctest::Approx(1.0 / 12).epsilon(0.05));
}

TEST_CASE("draw_heat_map: cells shaded by value, one label per row and column") {
  latent::Canvas cv(200, 100);
  const xt::xtensor<double, 2> v = {{0.0, 1.0}};
  const auto [w, h] = latent::draw_heat_map(cv, 0, 0, v, {"z0"}, {"a", "b"}, 30);
  CHECK(w == latent::Canvas::text_width("z0") + 6 + 60);
  CHECK(h == 14 + 30);
  const std::size_t left = w - 60;
  // A corner of each cell (away from the printed value): white for 0, dark blue for 1.
  CHECK(cv.pixels()(15, left + 1, 0) == doctest::Approx(1.0f));
  CHECK(cv.pixels()(15, left + 31, 2) == doctest::Approx(0.42f));
  CHECK_THROWS_AS(latent::draw_heat_map(cv, 0, 0, v, {"z0", "z1"}, {"a", "b"}), latent::shape_error);
}

// ---- Sparse dictionaries: the synthetic ground truth (data/synthetic_activations.hpp) and the
// dictionary metrics (analysis/dictionary_metrics.hpp). ----

namespace {

// Uniform entries in [lo, hi), or small integers 0..3 (many ties) when `ties`.
xt::xtensor<double, 2> random_costs(std::size_t n, std::size_t m, latent::Rng& rng, bool ties) {
  auto c = matrix<double>(n, m);
  for (auto& v : c) v = ties ? static_cast<double>(rng.below(4)) : rng.uniform(-1.0, 1.0);
  return c;
}

// The least total cost of min(n, m) pairs with distinct rows and columns, over every permutation.
double brute_force_assignment(const xt::xtensor<double, 2>& c) {
  const std::size_t n = c.shape()[0], m = c.shape()[1], k = std::min(n, m);
  std::vector<std::size_t> perm(std::max(n, m));
  std::iota(perm.begin(), perm.end(), std::size_t{0});
  double best = std::numeric_limits<double>::infinity();
  do {
    double s = 0;
    for (std::size_t i = 0; i < k; ++i) s += n <= m ? c(i, perm[i]) : c(perm[i], i);
    best = std::min(best, s);
  } while (std::next_permutation(perm.begin(), perm.end()));
  return best;
}

// Gaussian rows (not normalised), n × d.
xt::xtensor<float, 2> gaussian_rows(std::size_t n, std::size_t d, std::uint64_t seed) {
  latent::Rng rng(seed);
  auto w = matrix<float>(n, d);
  for (auto& v : w) v = static_cast<float>(rng.normal());
  return w;
}

double row_dot(const xt::xtensor<float, 2>& a, std::size_t i, const xt::xtensor<float, 2>& b, std::size_t j) {
  double s = 0;
  for (std::size_t k = 0; k < a.shape()[1]; ++k) s += static_cast<double>(a(i, k)) * b(j, k);
  return s;
}

double row_cosine(const xt::xtensor<float, 2>& a, std::size_t i, const xt::xtensor<float, 2>& b, std::size_t j) {
  return row_dot(a, i, b, j) / std::sqrt(row_dot(a, i, a, i) * row_dot(b, j, b, j));
}

// How often each feature fires in a sample.
std::vector<std::size_t> firing_counts(const latent::SparseActivations& a) {
  std::vector<std::size_t> count(a.features, 0);
  for (const std::uint32_t f : a.feature) ++count[f];
  return count;
}

// |k/n − p| within `sigmas` binomial standard deviations (plus one count, for tiny p).
bool within_binomial(std::size_t k, std::size_t n, double p, double sigmas) {
  const double nn = static_cast<double>(n);
  return std::abs(static_cast<double>(k) / nn - p) <= sigmas * std::sqrt(p * (1 - p) / nn) + 1 / nn;
}

}  // namespace

TEST_CASE("linear_sum_assignment: the optimum of brute force on square and rectangular matrices, ties too") {
  latent::Rng rng(11);
  const std::size_t sizes[][2] = {{1, 1}, {1, 4}, {4, 1}, {3, 3}, {4, 6}, {6, 4}, {5, 5}, {6, 6}, {2, 7}, {7, 3}};
  for (const auto& s : sizes)
    for (int trial = 0; trial < 6; ++trial) {
      const std::size_t n = s[0], m = s[1];
      const xt::xtensor<double, 2> c = random_costs(n, m, rng, trial % 2 == 1);
      CAPTURE(n);
      CAPTURE(m);
      CAPTURE(trial);
      const std::vector<std::size_t> a = latent::linear_sum_assignment(c);
      REQUIRE(a.size() == n);
      // A valid assignment: min(n, m) rows paired with distinct columns, the rest unmatched.
      std::vector<int> used(m, 0);
      std::size_t paired = 0;
      double total = 0;
      for (std::size_t i = 0; i < n; ++i) {
        if (a[i] == latent::unmatched) continue;
        REQUIRE(a[i] < m);
        CHECK(used[a[i]]++ == 0);
        ++paired;
        total += c(i, a[i]);
      }
      CHECK(paired == std::min(n, m));
      CHECK(total == doctest::Approx(brute_force_assignment(c)).epsilon(1e-12));
      // Maximising is minimising the negated costs; float costs give the same optimum.
      const xt::xtensor<float, 2> cf = xt::cast<float>(c);
      double total_f = 0;
      const std::vector<std::size_t> af = latent::linear_sum_assignment(cf);
      for (std::size_t i = 0; i < n; ++i)
        if (af[i] != latent::unmatched) total_f += c(i, af[i]);
      CHECK(total_f == doctest::Approx(total).epsilon(1e-6));
    }
  // A known answer: the anti-diagonal is the only zero-cost matching.
  const xt::xtensor<double, 2> anti = {{1, 1, 0}, {1, 0, 1}, {0, 1, 1}};
  CHECK(latent::linear_sum_assignment(anti) == std::vector<std::size_t>{2, 1, 0});
  // Empty sides: nothing to pair.
  CHECK(latent::linear_sum_assignment(matrix<double>(0, 3)).empty());
  CHECK(latent::linear_sum_assignment(matrix<double>(2, 0)) ==
        std::vector<std::size_t>{latent::unmatched, latent::unmatched});
  xt::xtensor<double, 2> nan = anti;
  nan(1, 2) = NAN;
  CHECK_THROWS_WITH_AS(latent::linear_sum_assignment(nan),
                       "latent: linear_sum_assignment: expected finite values in the cost matrix, found nan at row 1, "
                       "column 2",
                       latent::data_error);
}

TEST_CASE("match_dictionary: a permuted, sign-flipped, rescaled copy of the truth has MCC 1") {
  const latent::SyntheticActivations gen({.dims = 16, .features = 24, .seed = 3});
  const xt::xtensor<float, 2>& truth = gen.features();
  const std::size_t F = 24, D = 16;
  std::vector<std::size_t> perm(F);
  std::iota(perm.begin(), perm.end(), std::size_t{0});
  latent::Rng rng(6);
  for (std::size_t i = F - 1; i > 0; --i) std::swap(perm[i], perm[rng.below(i + 1)]);  // Fisher–Yates
  auto decoder = matrix<float>(F, D);
  std::vector<float> sign(F);
  for (std::size_t m = 0; m < F; ++m) {
    sign[m] = m % 3 == 0 ? -1.0f : 1.0f;
    const auto scale = static_cast<float>(rng.uniform(0.5, 2.0));
    for (std::size_t j = 0; j < D; ++j) decoder(m, j) = sign[m] * scale * truth(perm[m], j);
  }
  const latent::DictionaryMatch r = latent::match_dictionary(decoder, truth);
  CHECK(r.mcc == doctest::Approx(1.0).epsilon(1e-6));
  CHECK(r.mmcs_abs == doctest::Approx(1.0).epsilon(1e-6));
  CHECK(r.recovered == 1.0);
  CHECK(r.uniqueness == 1.0);
  CHECK(r.features == F);
  CHECK(r.matched_feature == perm);
  CHECK(r.latent_feature == perm);
  for (double c : r.matched_cosine) CHECK(c == doctest::Approx(1.0).epsilon(1e-6));
  // The signed MMCS: a flipped copy does not recover its feature, so feature f scores the best signed
  // cosine of the other latents (here computed directly), 1 for the features with an unflipped copy.
  double mmcs = 0;
  for (std::size_t f = 0; f < F; ++f) {
    double best = -1;
    for (std::size_t m = 0; m < F; ++m) best = std::max(best, row_cosine(decoder, m, truth, f));
    mmcs += best;
  }
  CHECK(r.mmcs == doctest::Approx(mmcs / F).epsilon(1e-6));
  CHECK(r.mmcs < r.mmcs_abs - 0.1);

  // More latents than features: the 8 extra random ones are left out of the matching, and uniqueness
  // counts the F distinct features among M best matches.
  const xt::xtensor<float, 2> extra = gaussian_rows(8, D, 7);
  const xt::xtensor<float, 2> wide = xt::concatenate(xt::xtuple(decoder, extra), 0);
  const latent::DictionaryMatch w = latent::match_dictionary(wide, truth);
  CHECK(w.mcc == doctest::Approx(1.0).epsilon(1e-6));
  CHECK(std::count(w.matched_feature.begin(), w.matched_feature.end(), latent::unmatched) == 8);
  CHECK(w.uniqueness == doctest::Approx(24.0 / 32));
  // Fewer latents than features: MCC averages the 10 pairs, 10 of 24 features are recovered.
  const xt::xtensor<float, 2> narrow = xt::view(decoder, xt::range(0, 10), xt::all());
  const latent::DictionaryMatch q = latent::match_dictionary(narrow, truth, 0.99);
  CHECK(q.mcc == doctest::Approx(1.0).epsilon(1e-6));
  CHECK(q.recovered == doctest::Approx(10.0 / 24));
  CHECK(q.threshold == 0.99);
  CHECK(q.mmcs_abs < 0.75);
}

TEST_CASE("match_dictionary: a random dictionary scores near chance") {
  // F = 48 true features and M = 64 random directions in D = 64 dimensions. For a random direction
  // and a fixed unit vector, P(|cos| > t) <= 2 exp(-D t² / 2) (concentration on the sphere); over M
  // latents the best exceeds t = sqrt(2 ln(2M / 0.01) / D) = 0.54 with probability below 1 %. So the
  // mean of the best |cos| (MMCS), and MCC below it, sit under t; and MCC is at least the mean |cos|
  // of all pairs (the average over all matchings), about sqrt(2 / (π D)) = 0.10.
  const std::size_t F = 48, M = 64, D = 64;
  const latent::SyntheticActivations gen({.dims = D, .features = F, .seed = 21});
  const xt::xtensor<float, 2> decoder = gaussian_rows(M, D, 22);
  const latent::DictionaryMatch r = latent::match_dictionary(decoder, gen.features());
  const double t = std::sqrt(2 * std::log(2.0 * M / 0.01) / D);
  double mean_abs = 0, identity = 0;
  for (std::size_t m = 0; m < M; ++m)
    for (std::size_t f = 0; f < F; ++f) {
      const double c = std::abs(row_cosine(decoder, m, gen.features(), f));
      mean_abs += c;
      if (m == f) identity += c;
    }
  mean_abs /= static_cast<double>(M * F);
  CHECK(mean_abs == doctest::Approx(std::sqrt(2 / (3.14159265358979 * D))).epsilon(0.15));
  CHECK(r.mcc >= mean_abs);
  CHECK(r.mcc >= identity / F);  // the optimum beats the matching latent f ↔ feature f
  CHECK(r.mcc <= r.mmcs_abs + 1e-12);
  CHECK(r.mmcs_abs < t);
  CHECK(r.mmcs <= r.mmcs_abs);
  CHECK(r.recovered == 0.0);
  double matched = 0;
  for (double c : r.matched_cosine) matched += c;
  CHECK(matched / F == doctest::Approx(r.mcc));
}

TEST_CASE("match_dictionary: bad input is refused, naming both shapes") {
  CHECK_THROWS_WITH_AS(latent::match_dictionary(matrix<float>(3, 4), matrix<float>(5, 3)),
                       "latent: match_dictionary: expected the decoder (M x D) and the truth (F x D) to have the "
                       "same width D, found decoder 3 x 4 and truth 5 x 3",
                       latent::shape_error);
  CHECK_THROWS_AS(latent::match_dictionary(matrix<float>(0, 4), gaussian_rows(5, 4, 1)), latent::data_error);
  CHECK_THROWS_WITH_AS(latent::match_dictionary(gaussian_rows(3, 4, 1), gaussian_rows(5, 4, 2), 1.5),
                       "latent: match_dictionary: expected a threshold in [0, 1], found 1.500000", latent::option_error);
  xt::xtensor<float, 2> nan = gaussian_rows(3, 4, 1);
  nan(2, 0) = NAN;
  CHECK_THROWS_AS(latent::match_dictionary(nan, gaussian_rows(5, 4, 2)), latent::data_error);
}

TEST_CASE("SyntheticActivations: unit-norm features, x from its true code, the same seed the same bits") {
  const latent::SyntheticActivations a({.dims = 32, .features = 80, .magnitude_std = 0.5, .seed = 7});
  const latent::SyntheticActivations b({.dims = 32, .features = 80, .magnitude_std = 0.5, .seed = 7});
  const latent::SyntheticActivations c({.dims = 32, .features = 80, .magnitude_std = 0.5, .seed = 8});
  const xt::xtensor<float, 2>& w = a.features();
  REQUIRE(w.shape()[0] == 80);
  REQUIRE(w.shape()[1] == 32);
  for (std::size_t f = 0; f < 80; ++f) CHECK(std::sqrt(row_dot(w, f, w, f)) == doctest::Approx(1.0).epsilon(1e-6));
  CHECK(w == b.features());
  CHECK(w != c.features());
  // The copula draws from its own stream: correlation leaves the features as they were.
  CHECK(latent::SyntheticActivations({.dims = 32, .features = 80, .correlation_rank = 3, .seed = 7}).features() == w);

  const latent::SyntheticSample s = a.sample(300, 5), t = b.sample(300, 5), u = a.sample(300, 6);
  CHECK(s.x == t.x);
  CHECK(s.activations.feature == t.activations.feature);
  CHECK(s.activations.value == t.activations.value);
  CHECK(s.x != u.x);
  latent::Rng rng(5);
  CHECK(a.sample(300, rng).x == s.x);  // sample(n, seed) is sample(n, Rng(seed))
  // Without noise, x = (true code) · (features), row by row; the code is sparse, ascending, positive.
  const xt::xtensor<float, 2> dense = s.activations.dense();
  REQUIRE(dense.shape()[0] == 300);
  REQUIRE(dense.shape()[1] == 80);
  for (std::size_t i = 0; i < 300; ++i) {
    for (std::size_t k = s.activations.row_start[i]; k + 1 < s.activations.row_start[i + 1]; ++k)
      CHECK(s.activations.feature[k] < s.activations.feature[k + 1]);
    for (std::size_t j = 0; j < 32; ++j) {
      double v = 0;
      for (std::size_t f = 0; f < 80; ++f) v += static_cast<double>(dense(i, f)) * w(f, j);
      CHECK(s.x(i, j) == doctest::Approx(v).epsilon(1e-5).scale(1));
    }
  }
  for (float v : s.activations.value) CHECK(v > 0);
  CHECK(s.activations.mean_l0() == doctest::Approx(a.expected_l0()).epsilon(0.1));

  // Orthonormal features when asked (F <= D).
  const latent::SyntheticActivations o({.dims = 24, .features = 24, .orthogonal = true, .seed = 4});
  for (std::size_t f = 0; f < 24; ++f)
    for (std::size_t g = 0; g < 24; ++g)
      CHECK(row_dot(o.features(), f, o.features(), g) == doctest::Approx(f == g ? 1.0 : 0.0).scale(1).epsilon(1e-6));
  // Noise: x minus its noiseless part has the standard deviation asked for.
  const latent::SyntheticActivations noisy({.dims = 32, .features = 80, .noise_std = 0.25, .seed = 7});
  const latent::SyntheticSample ns = noisy.sample(400, 9);
  const xt::xtensor<float, 2> nd = ns.activations.dense();
  double sq = 0;
  for (std::size_t i = 0; i < 400; ++i)
    for (std::size_t j = 0; j < 32; ++j) {
      double v = ns.x(i, j);
      for (std::size_t f = 0; f < 80; ++f) v -= static_cast<double>(nd(i, f)) * w(f, j);
      sq += v * v;
    }
  CHECK(std::sqrt(sq / (400 * 32)) == doctest::Approx(0.25).epsilon(0.03));  // 12 800 draws: 0.6 % sd
}

TEST_CASE("SyntheticActivations: firing frequencies match the Zipf probabilities, correlated or not") {
  constexpr std::size_t n = 20000, F = 64;
  const latent::SyntheticActivations gen(
      {.dims = 16, .features = F, .zipf_exponent = 0.8, .max_probability = 0.5, .magnitude_std = 0.3, .seed = 1});
  const std::vector<double>& p = gen.firing_probabilities();
  REQUIRE(p.size() == F);
  for (std::size_t f = 0; f < F; ++f) CHECK(p[f] == doctest::Approx(0.5 * std::pow(f + 1.0, -0.8)).epsilon(1e-12));
  const latent::SyntheticSample s = gen.sample(n, 2);
  const std::vector<std::size_t> count = firing_counts(s.activations);
  // 4.5 standard deviations each: a false alarm among 64 features has probability about 4e-4.
  for (std::size_t f = 0; f < F; ++f) {
    CAPTURE(f);
    CHECK(within_binomial(count[f], n, p[f], 4.5));
  }
  // Magnitudes: N(1, 0.3²) truncated at 0 (which removes 4e-4 of the mass): mean 1 within 4 sd.
  double sum = 0;
  for (float v : s.activations.value) sum += v;
  const double nv = static_cast<double>(s.activations.nonzeros());
  CHECK(std::abs(sum / nv - 1.0) < 4 * 0.3 / std::sqrt(nv));

  // SAELens's affine form with a minimum probability: the ends are the two bounds.
  const latent::SyntheticActivations affine({.features = 10, .zipf_exponent = 1.0, .min_probability = 0.01});
  CHECK(affine.firing_probabilities().front() == doctest::Approx(0.4));
  CHECK(affine.firing_probabilities().back() == doctest::Approx(0.01));
  CHECK(affine.firing_probabilities()[1] == doctest::Approx(0.01 + 0.39 * (0.5 - 0.1) / 0.9));

  // The copula keeps each marginal and correlates the pair whose factor rows agree most.
  const latent::SyntheticActivations corr({.dims = 16,
                                           .features = F,
                                           .zipf_exponent = 0.8,
                                           .max_probability = 0.5,
                                           .correlation_rank = 2,
                                           .correlation_scale = 0.6,
                                           .seed = 1});
  const latent::SyntheticSample cs = corr.sample(n, 3);
  const std::vector<std::size_t> ccount = firing_counts(cs.activations);
  for (std::size_t f = 0; f < F; ++f) {
    CAPTURE(f);
    CHECK(within_binomial(ccount[f], n, p[f], 4.5));
  }
  const xt::xtensor<double, 2>& L = corr.correlation_factor();
  REQUIRE(L.shape()[1] == 2);
  std::size_t bi = 0, bj = 1;
  double best = -1;
  for (std::size_t i = 0; i < 8; ++i)  // among frequent features, for a clear signal
    for (std::size_t j = i + 1; j < 8; ++j) {
      const double agree = L(i, 0) * L(j, 0) + L(i, 1) * L(j, 1);
      if (agree > best) {
        best = agree;
        bi = i;
        bj = j;
      }
    }
  CHECK(best > 0.2);  // a Gaussian correlation of 0.2 or more between the two
  std::size_t both = 0;
  const xt::xtensor<float, 2> dense = cs.activations.dense();
  for (std::size_t i = 0; i < n; ++i) both += dense(i, bi) > 0 && dense(i, bj) > 0;
  CHECK(!within_binomial(both, n, p[bi] * p[bj], 6));
  CHECK(static_cast<double>(both) / n > p[bi] * p[bj]);
}

TEST_CASE("SyntheticActivations: a child fires only with its parent, at most one child per parent") {
  constexpr std::size_t n = 20000, F = 60, P = 4, C = 3;
  for (const double exponent : {1.5, 0.5})
    for (const std::size_t rank : {std::size_t{0}, std::size_t{2}}) {
      CAPTURE(exponent);
      CAPTURE(rank);
      const latent::SyntheticActivations gen({.dims = 16,
                                              .features = F,
                                              .zipf_exponent = exponent,
                                              .max_probability = 0.5,
                                              .correlation_rank = rank,
                                              .hierarchy_parents = P,
                                              .hierarchy_children = C,
                                              .seed = 2});
      for (std::size_t f = 0; f < F; ++f) {
        const bool child = f >= P && f < P * (1 + C);
        REQUIRE(gen.parent_of(f).has_value() == child);
        if (child) CHECK(*gen.parent_of(f) == (f - P) / C);
      }
      CHECK(!gen.parent_of(F).has_value());
      const std::vector<double>& p = gen.firing_probabilities();
      for (std::size_t k = 0; k < P; ++k) {
        double children = 0, zipf = 0;
        for (std::size_t c = P + k * C; c < P + (k + 1) * C; ++c) {
          children += p[c];
          zipf += 0.5 * std::pow(c + 1.0, -exponent);
        }
        // Children keep their Zipf law when it fits under the parent; else they share it exactly.
        CHECK(children == doctest::Approx(std::min(zipf, p[k])).epsilon(1e-12));
      }
      for (std::size_t f = 0; f < F; ++f) {
        if (!gen.parent_of(f)) CHECK(p[f] == doctest::Approx(0.5 * std::pow(f + 1.0, -exponent)).epsilon(1e-12));
      }

      const latent::SyntheticSample s = gen.sample(n, 4);
      const auto& a = s.activations;
      for (std::size_t i = 0; i < n; ++i) {
        std::vector<int> fires(F, 0), picks(P, 0);
        for (std::size_t k = a.row_start[i]; k < a.row_start[i + 1]; ++k) fires[a.feature[k]] = 1;
        for (std::size_t f = P; f < P * (1 + C); ++f)
          if (fires[f]) {
            REQUIRE(fires[(f - P) / C] == 1);  // exact: never a child without its parent
            ++picks[(f - P) / C];
          }
        for (int c : picks) REQUIRE(c <= 1);  // exact: at most one child of a parent
      }
      const std::vector<std::size_t> count = firing_counts(a);
      for (std::size_t f = 0; f < F; ++f) {
        CAPTURE(f);
        CHECK(within_binomial(count[f], n, p[f], 4.5));
      }
    }
}

TEST_CASE("SyntheticActivations: bad options are refused with what was expected and what was found") {
  using O = latent::SyntheticActivationsOptions;
  CHECK_THROWS_WITH_AS(latent::SyntheticActivations(O{.dims = 0}),
                       "latent: SyntheticActivationsOptions: expected dims >= 1, found 0.000000", latent::option_error);
  CHECK_THROWS_AS(latent::SyntheticActivations(O{.features = 0}), latent::option_error);
  CHECK_THROWS_WITH_AS(latent::SyntheticActivations(O{.max_probability = 1.5}),
                       "latent: SyntheticActivationsOptions: expected max_probability in (0, 1], found 1.500000",
                       latent::option_error);
  CHECK_THROWS_AS(latent::SyntheticActivations(O{.max_probability = 0}), latent::option_error);
  CHECK_THROWS_AS(latent::SyntheticActivations(O{.max_probability = NAN}), latent::option_error);
  CHECK_THROWS_AS(latent::SyntheticActivations(O{.min_probability = 0.4}), latent::option_error);
  CHECK_THROWS_AS(latent::SyntheticActivations(O{.zipf_exponent = -1}), latent::option_error);
  CHECK_THROWS_AS(latent::SyntheticActivations(O{.magnitude_mean = 0}), latent::option_error);
  CHECK_THROWS_WITH_AS(latent::SyntheticActivations(O{.magnitude_std = -0.5}),
                       "latent: SyntheticActivationsOptions: expected magnitude_std >= 0, found -0.500000",
                       latent::option_error);
  CHECK_THROWS_AS(latent::SyntheticActivations(O{.correlation_scale = -1}), latent::option_error);
  CHECK_THROWS_AS(latent::SyntheticActivations(O{.noise_std = -1}), latent::option_error);
  CHECK_THROWS_WITH_AS(latent::SyntheticActivations(O{.dims = 8, .features = 9, .orthogonal = true}),
                       "latent: SyntheticActivationsOptions: expected features <= dims for orthogonal features, "
                       "found 9 features in 8 dims",
                       latent::option_error);
  CHECK_THROWS_WITH_AS(latent::SyntheticActivations(O{.features = 19, .hierarchy_parents = 4, .hierarchy_children = 4}),
                       "latent: SyntheticActivationsOptions: expected hierarchy_parents x (1 + hierarchy_children) "
                       "<= features (19), found 4 parents with 4 children each",
                       latent::option_error);
  CHECK_THROWS_AS(latent::SyntheticActivations(O{.hierarchy_parents = 4}), latent::option_error);
  CHECK_THROWS_AS(latent::SyntheticActivations(O{.hierarchy_children = 2}), latent::option_error);
  // The largest hierarchy that fits is accepted: 4 · (1 + 4) = 20.
  CHECK_NOTHROW(latent::SyntheticActivations(O{.features = 20, .hierarchy_parents = 4, .hierarchy_children = 4}));
}

TEST_CASE("reconstruction_metrics: hand-computed L0, FVU, dead latents, cosine and shrinkage") {
  // x̄ = (1, 1), so Σ ‖x − x̄‖² = 4 · 2 = 8; the residuals are (1, 0), 0, (0, 1), 0: Σ = 2.
  const xt::xtensor<float, 2> x = {{2, 0}, {0, 2}, {2, 2}, {0, 0}};
  const xt::xtensor<float, 2> x_hat = {{1, 0}, {0, 2}, {2, 1}, {0, 0}};
  // Four nonzero codes in four rows (a negative code counts); latent 2 never fires.
  const xt::xtensor<float, 2> codes = {{1, 0, 0}, {0, -2, 0}, {1, 0.5f, 0}, {0, 0, 0}};
  const latent::ReconstructionMetrics r = latent::reconstruction_metrics(x, x_hat, codes);
  CHECK(r.fvu == doctest::Approx(0.25));
  CHECK(r.explained_variance == doctest::Approx(0.75));
  CHECK(r.l0 == doctest::Approx(1.0));
  CHECK(r.dead_latents == 1);
  CHECK(r.dead_fraction == doctest::Approx(1.0 / 3));
  // The zero row is left out of cosine and shrinkage; row 2: cos = 6 / (√8 · √5), ‖x̂‖/‖x‖ = √5 / √8.
  CHECK(r.rows_used == 3);
  CHECK(r.mean_cosine == doctest::Approx((1 + 1 + 6 / std::sqrt(40.0)) / 3));
  CHECK(r.shrinkage == doctest::Approx((0.5 + 1 + std::sqrt(5.0 / 8)) / 3));
  // A perfect reconstruction.
  const latent::ReconstructionMetrics p = latent::reconstruction_metrics(x, x, codes);
  CHECK(p.fvu == 0.0);
  CHECK(p.explained_variance == 1.0);
  CHECK(p.mean_cosine == doctest::Approx(1.0));
  CHECK(p.shrinkage == doctest::Approx(1.0));
  // Predicting the mean explains nothing: FVU 1.
  const xt::xtensor<float, 2> mean = {{1, 1}, {1, 1}, {1, 1}, {1, 1}};
  CHECK(latent::reconstruction_metrics(x, mean, codes).fvu == doctest::Approx(1.0));
}

TEST_CASE("reconstruction_metrics: bad input is refused, naming both shapes") {
  const xt::xtensor<float, 2> x = {{2, 0}, {0, 2}, {2, 2}};
  CHECK_THROWS_WITH_AS(latent::reconstruction_metrics(x, matrix<float>(3, 3), matrix<float>(3, 4)),
                       "latent: reconstruction_metrics: expected x and x_hat of the same shape, found 3 x 2 and 3 x 3",
                       latent::shape_error);
  CHECK_THROWS_WITH_AS(latent::reconstruction_metrics(x, x, matrix<float>(4, 5)),
                       "latent: reconstruction_metrics: expected codes with one row per row of x, found x 3 x 2 and "
                       "codes 4 x 5",
                       latent::shape_error);
  CHECK_THROWS_AS(latent::reconstruction_metrics(matrix<float>(0, 2), matrix<float>(0, 2), matrix<float>(0, 3)),
                  latent::data_error);
  CHECK_THROWS_AS(latent::reconstruction_metrics(x, x, matrix<float>(3, 0)), latent::data_error);
  const xt::xtensor<float, 2> same = {{1, 2}, {1, 2}};
  CHECK_THROWS_WITH_AS(latent::reconstruction_metrics(same, same, xt::xtensor<float, 2>{{1}, {1}}),
                       "latent: reconstruction_metrics: expected rows of x that differ (FVU divides by their spread), "
                       "found 2 equal rows",
                       latent::data_error);
  xt::xtensor<float, 2> nan = x;
  nan(0, 1) = NAN;
  CHECK_THROWS_AS(latent::reconstruction_metrics(x, nan, xt::xtensor<float, 2>{{1}, {1}, {1}}), latent::data_error);
}

TEST_CASE("classify_latents: hand-computed precision, recall and F1, and the truth itself scores 1") {
  // Two true features (the axes) and four latents: 0 → feature 0, 1 (flipped) and 2 → feature 1, 3 dead.
  const xt::xtensor<float, 2> truth = {{1, 0}, {0, 1}};
  const xt::xtensor<float, 2> decoder = {{1, 0.1f}, {0, -1}, {0.2f, 1}, {0.7f, 0.6f}};
  const latent::DictionaryMatch match = latent::match_dictionary(decoder, truth);
  REQUIRE(match.latent_feature == std::vector<std::size_t>{0, 1, 1, 0});
  const xt::xtensor<float, 2> acts = {{1, 0}, {1, 1}, {0, 1}, {0, 0}, {1, 0}};
  const xt::xtensor<float, 2> codes = {{1, 0, 0, 0}, {0, 1, 1, 0}, {0, 1, 0, 0}, {1, 0, 1, 0}, {1, 0, 0, 0}};
  // Latent 0 fires in rows 0, 3, 4 and feature 0 in 0, 1, 4: TP 2, FP 1, FN 1, TN 1.
  // Latent 1 fires exactly with feature 1 (rows 1, 2). Latent 2 fires in 1, 3: TP 1, FP 1, FN 1, TN 2.
  // Latent 3 never fires: precision 0 (undefined), recall 0 (feature 0 fires 3 times), F1 0.
  const latent::LatentClassification c = latent::classify_latents(match, codes, acts);
  CHECK(c.precision[0] == doctest::Approx(2.0 / 3));
  CHECK(c.recall[0] == doctest::Approx(2.0 / 3));
  CHECK(c.f1[0] == doctest::Approx(2.0 / 3));
  CHECK(c.accuracy[0] == doctest::Approx(3.0 / 5));
  CHECK(c.precision[1] == 1.0);
  CHECK(c.recall[1] == 1.0);
  CHECK(c.f1[1] == 1.0);
  CHECK(c.accuracy[1] == 1.0);
  CHECK(c.precision[2] == doctest::Approx(0.5));
  CHECK(c.recall[2] == doctest::Approx(0.5));
  CHECK(c.f1[2] == doctest::Approx(0.5));
  CHECK(c.accuracy[2] == doctest::Approx(3.0 / 5));
  CHECK(c.precision[3] == 0.0);
  CHECK(c.recall[3] == 0.0);
  CHECK(c.f1[3] == 0.0);
  CHECK(c.accuracy[3] == doctest::Approx(2.0 / 5));
  CHECK(c.mean_precision == doctest::Approx((2.0 / 3 + 1 + 0.5 + 0) / 4));
  CHECK(c.mean_recall == doctest::Approx((2.0 / 3 + 1 + 0.5 + 0) / 4));
  CHECK(c.mean_f1 == doctest::Approx((2.0 / 3 + 1 + 0.5 + 0) / 4));
  CHECK(c.mean_accuracy == doctest::Approx((0.6 + 1 + 0.6 + 0.4) / 4));
  // The sparse truth gives the same answer.
  latent::SparseActivations sparse;
  sparse.rows = 5;
  sparse.features = 2;
  sparse.row_start = {0, 1, 3, 4, 4, 5};
  sparse.feature = {0, 0, 1, 1, 0};
  sparse.value = {1, 1, 1, 1, 1};
  REQUIRE(sparse.dense() == acts);
  const latent::LatentClassification cs = latent::classify_latents(match, codes, sparse);
  CHECK(cs.f1 == c.f1);
  CHECK(cs.accuracy == c.accuracy);

  // A decoder equal to the truth, permuted, with the true code as its code: every latent is perfect.
  const latent::SyntheticActivations gen({.dims = 16, .features = 32, .seed = 9});
  const latent::SyntheticSample s = gen.sample(3000, 10);
  const std::vector<std::size_t> count = firing_counts(s.activations);
  REQUIRE(*std::min_element(count.begin(), count.end()) > 0);  // p >= 0.07: every feature fires
  const xt::xtensor<float, 2> dense = s.activations.dense();
  auto perm_decoder = matrix<float>(32, 16);
  auto perm_codes = matrix<float>(3000, 32);
  for (std::size_t m = 0; m < 32; ++m) {
    const std::size_t f = (m * 7 + 3) % 32;  // a permutation of 0..31
    for (std::size_t j = 0; j < 16; ++j) perm_decoder(m, j) = gen.features()(f, j);
    for (std::size_t i = 0; i < 3000; ++i) perm_codes(i, m) = dense(i, f);
  }
  const latent::DictionaryMatch pm = latent::match_dictionary(perm_decoder, gen.features());
  const latent::LatentClassification perfect = latent::classify_latents(pm, perm_codes, s.activations);
  CHECK(perfect.mean_precision == 1.0);
  CHECK(perfect.mean_recall == 1.0);
  CHECK(perfect.mean_f1 == 1.0);
  CHECK(perfect.mean_accuracy == 1.0);
  // And the no-truth metrics of that dictionary: exact reconstruction, L0 the true one, none dead.
  auto x_hat = matrix<float>(3000, 16);
  for (std::size_t i = 0; i < 3000; ++i)
    for (std::size_t j = 0; j < 16; ++j) {
      double v = 0;
      for (std::size_t m = 0; m < 32; ++m) v += static_cast<double>(perm_codes(i, m)) * perm_decoder(m, j);
      x_hat(i, j) = static_cast<float>(v);
    }
  const latent::ReconstructionMetrics rm = latent::reconstruction_metrics(s.x, x_hat, perm_codes);
  CHECK(rm.fvu < 1e-10);
  CHECK(rm.l0 == doctest::Approx(s.activations.mean_l0()));
  CHECK(rm.dead_latents == 0);

  CHECK_THROWS_WITH_AS(latent::classify_latents(match, matrix<float>(5, 3), acts),
                       "latent: classify_latents: expected codes with one column per latent of the match (4), found "
                       "codes 5 x 3",
                       latent::shape_error);
  CHECK_THROWS_WITH_AS(latent::classify_latents(match, matrix<float>(6, 4), acts),
                       "latent: classify_latents: expected true activations of n x F = 6 x 2 (the codes' rows, the "
                       "match's features), found 5 x 2",
                       latent::shape_error);
  CHECK_THROWS_AS(latent::classify_latents(match, matrix<float>(0, 4), matrix<float>(0, 2)), latent::data_error);
}

TEST_CASE("GaussianMixture: EM recovers three known Gaussians; the likelihood never falls; samples follow the fit") {
  // Three components in 2-D: weights 0.5, 0.3, 0.2, means far apart, correlated covariances.
  const double mu[3][2] = {{-4, 0}, {3, 3}, {2, -4}}, w[3] = {0.5, 0.3, 0.2};
  const double a[3][2][2] = {{{1.0, 0.0}, {0.5, 0.6}}, {{0.4, 0.0}, {-0.3, 0.9}}, {{0.7, 0.0}, {0.0, 0.3}}};  // L
  latent::Rng rng(8);
  xt::xtensor<float, 2> x = xt::xtensor<float, 2>::from_shape({3000, 2});
  for (std::size_t r = 0; r < 3000; ++r) {
    const double u = rng.uniform();
    const int c = u < w[0] ? 0 : (u < w[0] + w[1] ? 1 : 2);
    const double e0 = rng.normal(), e1 = rng.normal();
    x(r, 0) = static_cast<float>(mu[c][0] + a[c][0][0] * e0);
    x(r, 1) = static_cast<float>(mu[c][1] + a[c][1][0] * e0 + a[c][1][1] * e1);
  }
  const auto g = latent::GaussianMixture::fit(x, {.components = 3, .seed = 1});
  CHECK(g.converged());
  const auto& h = g.log_likelihood_history();
  REQUIRE(h.size() >= 2);
  for (std::size_t i = 1; i < h.size(); ++i) CHECK(h[i] >= h[i - 1] - 1e-9);
  for (int c = 0; c < 3; ++c) {
    // The fitted component nearest the true mean: its mean, weight and covariance.
    std::size_t best = 0;
    double bd = 1e300;
    for (std::size_t q = 0; q < 3; ++q) {
      const double d = std::hypot(g.means()[q * 2] - mu[c][0], g.means()[q * 2 + 1] - mu[c][1]);
      if (d < bd) bd = d, best = q;
    }
    INFO("component " << c);
    CHECK(bd < 0.1);
    CHECK(g.weights()[best] == doctest::Approx(w[c]).epsilon(0.1));
    const double c00 = a[c][0][0] * a[c][0][0], c10 = a[c][1][0] * a[c][0][0], c11 = a[c][1][0] * a[c][1][0] + a[c][1][1] * a[c][1][1];
    CHECK(g.covariances()[best * 4 + 0] == doctest::Approx(c00).epsilon(0.15));
    CHECK(g.covariances()[best * 4 + 2] == doctest::Approx(c10).epsilon(0.15).scale(0.05));
    CHECK(g.covariances()[best * 4 + 3] == doctest::Approx(c11).epsilon(0.15));
  }
  // Samples: their mean is the mixture's, and they are as likely under it as the data.
  const auto s = g.sample(20000, std::uint64_t{3});
  double m0 = 0, m1 = 0;
  for (std::size_t r = 0; r < 20000; ++r) m0 += s(r, 0) / 20000.0, m1 += s(r, 1) / 20000.0;
  CHECK(m0 == doctest::Approx(w[0] * mu[0][0] + w[1] * mu[1][0] + w[2] * mu[2][0]).epsilon(0.05).scale(1));
  CHECK(m1 == doctest::Approx(w[0] * mu[0][1] + w[1] * mu[1][1] + w[2] * mu[2][1]).epsilon(0.05).scale(1));
  CHECK(g.log_likelihood(s) == doctest::Approx(g.log_likelihood(x)).epsilon(0.02));
  // The same seed gives the same fit.
  const auto again = latent::GaussianMixture::fit(x, {.components = 3, .seed = 1});
  CHECK(again.means() == g.means());
  // Errors.
  CHECK_THROWS_AS(latent::GaussianMixture::fit(xt::xtensor<float, 2>::from_shape({2, 2}), {.components = 3}),
                  latent::data_error);
  CHECK_THROWS_AS(latent::GaussianMixture::fit(x, {.components = 0}), latent::option_error);
  xt::xtensor<float, 2> bad = x;
  bad(5, 1) = NAN;
  CHECK_THROWS_AS(latent::GaussianMixture::fit(bad, {.components = 3}), latent::data_error);
  CHECK_THROWS_AS(g.log_likelihood(xt::xtensor<float, 2>::from_shape({4, 3})), latent::shape_error);
}
}  // namespace test_metrics
