#pragma once
/// \file
/// Run-time checks of data at the public API: empty, wrong width, NaN or Inf. Each failure says what
/// was expected and what was found, and where.

#include "latent/core/error.hpp"

#include <xtensor/xtensor.hpp>  // xt::xtensor

#include <cmath>        // std::isnan, std::isfinite
#include <cstddef>      // std::size_t
#include <string>       // std::string, std::to_string
#include <string_view>  // std::string_view

namespace latent::detail {

inline std::string describe_non_finite(double v) { return std::isnan(v) ? "NaN" : (v > 0 ? "+Inf" : "-Inf"); }

/// Checks that `x` has at least one row, exactly `width` columns and only finite values.
template <class T>
void check_samples(const xt::xtensor<T, 2>& x, std::size_t width, std::string_view where,
                   std::string_view what = "the model's input size") {
  const std::size_t rows = x.shape()[0], cols = x.shape()[1];
  if (cols != width)
    throw shape_error(std::string(where) + ": expected " + std::to_string(width) + " columns (" + std::string(what) +
                      "), found " + std::to_string(cols));
  if (rows == 0)
    throw data_error(std::string(where) + ": expected at least one row of " + std::to_string(width) +
                     " values, found no rows");
  const T* p = x.data();
  for (std::size_t i = 0; i < rows * cols; ++i)
    if (!std::isfinite(p[i]))
      throw data_error(std::string(where) + ": expected finite values, found " +
                       describe_non_finite(static_cast<double>(p[i])) + " in row " + std::to_string(i / cols) +
                       ", column " + std::to_string(i % cols));
}

/// Checks one sample (a vector of `width` finite values).
template <class T>
void check_sample(const xt::xtensor<T, 1>& x, std::size_t width, std::string_view where,
                  std::string_view what = "the model's input size") {
  if (x.size() != width)
    throw shape_error(std::string(where) + ": expected a sample of " + std::to_string(width) + " values (" +
                      std::string(what) + "), found " + std::to_string(x.size()));
  for (std::size_t i = 0; i < width; ++i)
    if (!std::isfinite(x(i)))
      throw data_error(std::string(where) + ": expected finite values, found " +
                       describe_non_finite(static_cast<double>(x(i))) + " at index " + std::to_string(i));
}

}  // namespace latent::detail
