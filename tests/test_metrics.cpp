// Tests of training/metrics.hpp: kNN accuracy, PCA projection and the per-sample reconstruction errors,
// each against answers known in closed form or computed by hand; and of data/one_hot.hpp.
#include <doctest/doctest.h>

#include <cmath>    // std::log, std::log1p, std::sqrt, std::abs, NAN
#include <cstddef>  // std::size_t
#include <cstdint>  // std::int32_t, std::uint64_t

#include "latent/core/aligned_buffer.hpp"
#include "latent/core/error.hpp"
#include "latent/core/random.hpp"
#include "latent/data/one_hot.hpp"
#include "latent/training/metrics.hpp"

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
