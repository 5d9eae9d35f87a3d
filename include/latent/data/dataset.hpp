#pragma once
/// \file
/// `latent::Dataset`, the in-memory table every loader returns, and the row operations on it
/// (`take`, `split`, `one_hot`).

#include <algorithm>  // std::copy_n, std::fill
#include <cstddef>    // std::size_t, std::ptrdiff_t
#include <cstdint>    // std::int32_t, std::uint64_t
#include <numeric>    // std::iota
#include <string>     // std::string, std::to_string
#include <utility>    // std::pair, std::swap
#include <vector>     // std::vector (class names, permutations)

#include <xtensor/xtensor.hpp>

#include "latent/core/error.hpp"

namespace latent {

/// A data set held in memory: one example per row of `x` (N × width), an integer class label per
/// row (`labels`, N entries, or empty for unlabelled data), and optional metadata.
///
/// Images are stored flattened row-major: pixel (r, c) of example i is `x(i, r * image_width + c)`.
/// `image_height` and `image_width` are 0 when the rows are not images (for example a CSV table).
struct Dataset {
  /// Features, N × width, one example per row.
  xt::xtensor<float, 2> x = xt::xtensor<float, 2>::from_shape({0, 0});
  /// Class label of each row, in [0, num_classes); empty when the data set is unlabelled.
  xt::xtensor<std::int32_t, 1> labels = xt::xtensor<std::int32_t, 1>::from_shape({0});
  /// Number of classes (0 when unlabelled).
  std::size_t num_classes = 0;
  /// Human-readable name of each class (size `num_classes`, or empty when unknown).
  std::vector<std::string> class_names;
  /// Image height in pixels, or 0 when the rows are not images.
  std::size_t image_height = 0;
  /// Image width in pixels, or 0 when the rows are not images.
  std::size_t image_width = 0;

  /// Number of examples (rows of `x`).
  std::size_t size() const { return x.shape(0); }
  /// Number of features per example (columns of `x`).
  std::size_t width() const { return x.shape(1); }
};

namespace detail {

/// splitmix64 (Steele, Lea & Flood 2014): a tiny, well-mixed generator whose output is fully
/// specified, unlike the std distributions, so shuffles and generated data are identical on every
/// standard library.
struct data_rng {
  std::uint64_t state;

  explicit data_rng(std::uint64_t seed) : state(seed) {}

  std::uint64_t next() {
    std::uint64_t z = (state += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
  }
  /// Uniform in [0, 1) with 53 random bits.
  double uniform() { return static_cast<double>(next() >> 11) * 0x1.0p-53; }
  /// Uniform in [lo, hi).
  double uniform(double lo, double hi) { return lo + (hi - lo) * uniform(); }
  /// Uniform integer in [0, n), n > 0 (modulo bias below 2^-40 for any n used here).
  std::uint64_t below(std::uint64_t n) { return next() % n; }
};

/// Fisher–Yates shuffle of `v`, driven by `rng`.
template <class T>
void data_shuffle(std::vector<T>& v, data_rng& rng) {
  for (std::size_t i = v.size(); i > 1; --i) {
    std::swap(v[i - 1], v[static_cast<std::size_t>(rng.below(i))]);
  }
}

/// The rows `index[0..]` of `d`, with its metadata.
inline Dataset dataset_rows(const Dataset& d, const std::vector<std::size_t>& index) {
  Dataset out;
  const std::size_t w = d.width();
  out.x = xt::xtensor<float, 2>::from_shape({index.size(), w});
  const bool labelled = d.labels.size() == d.size() && d.labels.size() > 0;
  out.labels = xt::xtensor<std::int32_t, 1>::from_shape({labelled ? index.size() : 0});
  const float* src = d.x.data();
  float* dst = out.x.data();
  for (std::size_t i = 0; i < index.size(); ++i) {
    std::copy_n(src + index[i] * w, w, dst + i * w);
    if (labelled) out.labels(i) = d.labels(index[i]);
  }
  out.num_classes = d.num_classes;
  out.class_names = d.class_names;
  out.image_height = d.image_height;
  out.image_width = d.image_width;
  return out;
}

}  // namespace detail

/// The `count` rows of `d` starting at row `begin` (labels and metadata follow).
/// Throws `option_error` when `begin + count` exceeds `d.size()`.
inline Dataset take(const Dataset& d, std::size_t begin, std::size_t count) {
  if (begin > d.size() || count > d.size() - begin) {
    throw option_error("take: expected rows [begin, begin + count) within the " +
                       std::to_string(d.size()) + " rows of the data set, found begin = " +
                       std::to_string(begin) + ", count = " + std::to_string(count));
  }
  std::vector<std::size_t> index(count);
  std::iota(index.begin(), index.end(), begin);
  return detail::dataset_rows(d, index);
}

/// Shuffles the rows of `d` with `seed` and splits them into (train, test), where train holds
/// `round(train_fraction * d.size())` rows. Deterministic: the same seed gives the same split on
/// every platform. Throws `option_error` unless 0 <= train_fraction <= 1.
inline std::pair<Dataset, Dataset> split(const Dataset& d, double train_fraction, std::uint64_t seed) {
  if (!(train_fraction >= 0.0 && train_fraction <= 1.0)) {
    throw option_error("split: expected train_fraction in [0, 1], found " + std::to_string(train_fraction));
  }
  std::vector<std::size_t> index(d.size());
  std::iota(index.begin(), index.end(), std::size_t{0});
  detail::data_rng rng(seed);
  detail::data_shuffle(index, rng);
  auto n_train = static_cast<std::size_t>(train_fraction * static_cast<double>(d.size()) + 0.5);
  if (n_train > d.size()) n_train = d.size();
  std::vector<std::size_t> train(index.begin(), index.begin() + static_cast<std::ptrdiff_t>(n_train));
  std::vector<std::size_t> test(index.begin() + static_cast<std::ptrdiff_t>(n_train), index.end());
  return {detail::dataset_rows(d, train), detail::dataset_rows(d, test)};
}

/// One-hot encoding: an N × num_classes matrix with a 1 in column `labels(i)` of row i.
/// Throws `data_error` naming the row when a label is negative or >= num_classes.
inline xt::xtensor<float, 2> one_hot(const xt::xtensor<std::int32_t, 1>& labels, std::size_t num_classes) {
  auto out = xt::xtensor<float, 2>::from_shape({labels.size(), num_classes});
  std::fill(out.begin(), out.end(), 0.0f);
  for (std::size_t i = 0; i < labels.size(); ++i) {
    const std::int32_t l = labels(i);
    if (l < 0 || static_cast<std::size_t>(l) >= num_classes) {
      throw data_error("one_hot: expected labels in [0, " + std::to_string(num_classes) + "), found " +
                       std::to_string(l) + " in row " + std::to_string(i));
    }
    out(i, static_cast<std::size_t>(l)) = 1.0f;
  }
  return out;
}

}  // namespace latent
