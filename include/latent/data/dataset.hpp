#pragma once
/// \file
/// `latent::Dataset`, the in-memory table every loader returns, and the row operations on it
/// (`take`, `split`; `one_hot`, from data/one_hot.hpp).

#include <algorithm>  // std::copy_n
#include <cstddef>    // std::size_t, std::ptrdiff_t
#include <cstdint>    // std::int32_t, std::uint64_t (seeds)
#include <numeric>    // std::iota
#include <string>     // std::string, std::to_string
#include <utility>    // std::pair, std::swap
#include <vector>     // std::vector (class names, permutations)

#include <xtensor/xtensor.hpp>

#include "latent/core/error.hpp"
#include "latent/core/random.hpp"
#include "latent/data/one_hot.hpp"  // one_hot, the row operation that lives in a header of its own

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

/// Fisher–Yates shuffle of `v`, driven by `rng` (unbiased: `Rng::below`).
template <class T>
void data_shuffle(std::vector<T>& v, Rng& rng) {
  for (std::size_t i = v.size(); i > 1; --i) {
    std::swap(v[i - 1], v[rng.below(i)]);
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
    throw option_error("take: expected rows [begin, begin + count) within the " + std::to_string(d.size()) +
                       " rows of the data set, found begin = " + std::to_string(begin) +
                       ", count = " + std::to_string(count));
  }
  std::vector<std::size_t> index(count);
  std::iota(index.begin(), index.end(), begin);
  return detail::dataset_rows(d, index);
}

/// The rows of `d` whose label is one of `classes`, in their order (labels and metadata follow), e.g.
/// the "normal" classes to train an anomaly detector on. Throws `option_error` for unlabelled data or
/// a class outside [0, num_classes).
inline Dataset select_classes(const Dataset& d, const std::vector<std::int32_t>& classes) {
  if (d.labels.size() != d.size() || d.size() == 0)
    throw option_error("select_classes: expected a labelled data set, found " + std::to_string(d.labels.size()) +
                       " labels for " + std::to_string(d.size()) + " rows");
  std::vector<bool> wanted(d.num_classes, false);
  for (const std::int32_t c : classes) {
    if (c < 0 || static_cast<std::size_t>(c) >= d.num_classes)
      throw option_error("select_classes: expected classes in [0, " + std::to_string(d.num_classes) + "), found " +
                         std::to_string(c));
    wanted[static_cast<std::size_t>(c)] = true;
  }
  std::vector<std::size_t> index;
  for (std::size_t i = 0; i < d.size(); ++i) {
    const std::int32_t c = d.labels(i);
    if (c >= 0 && static_cast<std::size_t>(c) < wanted.size() && wanted[static_cast<std::size_t>(c)])
      index.push_back(i);
  }
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
  Rng rng(seed);
  detail::data_shuffle(index, rng);
  auto n_train = static_cast<std::size_t>(train_fraction * static_cast<double>(d.size()) + 0.5);
  if (n_train > d.size()) n_train = d.size();
  std::vector<std::size_t> train(index.begin(), index.begin() + static_cast<std::ptrdiff_t>(n_train));
  std::vector<std::size_t> test(index.begin() + static_cast<std::ptrdiff_t>(n_train), index.end());
  return {detail::dataset_rows(d, train), detail::dataset_rows(d, test)};
}

}  // namespace latent
