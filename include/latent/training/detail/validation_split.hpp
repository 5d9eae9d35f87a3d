#pragma once
/// \file
/// The rows `fit` holds out for validation (`FitOptions::validation_split`).

#include "latent/core/error.hpp"
#include "latent/core/random.hpp"
#include "latent/training/fit_options.hpp"

#include <xtensor/xtensor.hpp>  // xt::xtensor

#include <algorithm>  // std::min, std::sort, std::copy, std::swap
#include <cmath>      // std::floor
#include <cstddef>    // std::size_t, std::ptrdiff_t
#include <numeric>    // std::iota
#include <string>     // std::to_string
#include <vector>     // std::vector

namespace latent::detail {

/// The rows held out by `validation_split`: which rows (sorted), from the option and the data's size.
inline std::vector<std::size_t> held_out_rows(const FitOptions& o, std::size_t n, bool explicit_validation) {
  if (o.validation_split == 0) return {};
  if (!(o.validation_split > 0 && o.validation_split < 1))
    throw option_error("fit: expected a validation_split in [0, 1), found " + std::to_string(o.validation_split));
  if (explicit_validation)
    throw option_error("fit: expected validation data or a validation_split, found both (validation_split " +
                       std::to_string(o.validation_split) + ")");
  const auto train = static_cast<std::size_t>(std::floor(static_cast<double>(n) * (1 - o.validation_split)));
  const std::size_t held = n - std::min(train, n);
  if (held == 0 || held == n)
    throw option_error("fit: a validation_split of " + std::to_string(o.validation_split) + " of " + std::to_string(n) +
                       " rows leaves " + std::to_string(n - held) + " rows to train on and " + std::to_string(held) +
                       " to validate on; expected at least one of each");
  std::vector<std::size_t> rows(n);
  std::iota(rows.begin(), rows.end(), std::size_t{0});
  if (o.random_split) {  // the first `held` of a seeded shuffle
    Rng rng(o.seed ^ 0x5b17ULL);
    for (std::size_t i = 0; i < held; ++i) std::swap(rows[i], rows[i + rng.below(n - i)]);
    rows.resize(held);
    std::sort(rows.begin(), rows.end());
  } else {
    rows.erase(rows.begin(), rows.begin() + static_cast<std::ptrdiff_t>(n - held));
  }
  return rows;
}

/// The listed rows of `x`, copied into a new matrix.
template <class T>
xt::xtensor<T, 2> gather_rows(const xt::xtensor<T, 2>& x, const std::vector<std::size_t>& rows) {
  const std::size_t w = x.shape()[1];
  xt::xtensor<T, 2> out = xt::xtensor<T, 2>::from_shape({rows.size(), w});
  for (std::size_t i = 0; i < rows.size(); ++i)
    std::copy(x.data() + rows[i] * w, x.data() + (rows[i] + 1) * w, out.data() + i * w);
  return out;
}

}  // namespace latent::detail
