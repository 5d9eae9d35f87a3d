#pragma once
/// \file
/// `latent::one_hot`: class labels as one-hot rows, the one implementation the library has (the
/// conditional models' label inputs are built by `detail::one_hot_buffer`, with the same checks).

#include <algorithm>  // std::fill
#include <cstddef>    // std::size_t
#include <cstdint>    // std::int32_t
#include <string>     // std::string, std::to_string

#include <xtensor/xtensor.hpp>  // xt::xtensor: labels in, the encoding out

#include "latent/core/aligned_buffer.hpp"
#include "latent/core/error.hpp"

namespace latent {

namespace detail {

// data_error naming `where` and the row unless `label` (of row `row`) is in [0, classes).
inline void check_one_hot_label(std::int32_t label, std::size_t row, std::size_t classes, const char* where) {
  if (label < 0 || static_cast<std::size_t>(label) >= classes)
    throw data_error(std::string(where) + ": expected labels in [0, " + std::to_string(classes) + "), found " +
                     std::to_string(label) + " in row " + std::to_string(row));
}

/// One-hot rows for a model's condition input: an n × classes row-major buffer of `T`, zero except a 1
/// in column `labels(r)` of row r. Throws `shape_error` naming `where` unless `labels` has n entries,
/// and `data_error` naming `where` and the row for a label outside [0, classes).
template <class T>
aligned_buffer<T> one_hot_buffer(const xt::xtensor<std::int32_t, 1>& labels, std::size_t n, std::size_t classes,
                                 const char* where) {
  if (labels.size() != n)
    throw shape_error(std::string(where) + ": expected one label per row (" + std::to_string(n) + "), found " +
                      std::to_string(labels.size()));
  aligned_buffer<T> c(n * classes);  // zero-initialised
  for (std::size_t r = 0; r < n; ++r) {
    check_one_hot_label(labels(r), r, classes, where);
    c[r * classes + static_cast<std::size_t>(labels(r))] = T(1);
  }
  return c;
}

}  // namespace detail

/// One-hot encoding: an N × num_classes matrix with a 1 in column `labels(i)` of row i, 0 elsewhere.
/// Throws `data_error` naming the row when a label is negative or >= num_classes.
inline xt::xtensor<float, 2> one_hot(const xt::xtensor<std::int32_t, 1>& labels, std::size_t num_classes) {
  auto out = xt::xtensor<float, 2>::from_shape({labels.size(), num_classes});
  std::fill(out.begin(), out.end(), 0.0f);
  for (std::size_t i = 0; i < labels.size(); ++i) {
    detail::check_one_hot_label(labels(i), i, num_classes, "one_hot");
    out(i, static_cast<std::size_t>(labels(i))) = 1.0f;
  }
  return out;
}

}  // namespace latent
