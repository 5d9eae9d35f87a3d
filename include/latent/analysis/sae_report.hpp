#pragma once
/// \file
/// `latent::evaluate_sae(sae, x)` and `evaluate_sae(sae, source)`: what a sparse dictionary's codes
/// say without a ground truth — sparsity (L0), how much of the data they explain (FVU), dead latents,
/// direction and scale of the reconstructions — over rows in memory or streamed, in bounded memory.

#include "latent/core/checks.hpp"
#include "latent/core/error.hpp"
#include "latent/data/row_source.hpp"

#include <xtensor/xtensor.hpp>  // xt::xtensor

#include <algorithm>  // std::copy_n, std::max
#include <cmath>      // std::sqrt
#include <cstddef>    // std::size_t
#include <cstdint>    // std::uint32_t
#include <string>       // std::string, std::to_string
#include <type_traits>  // std::is_same_v: a float dictionary reads the stream in place
#include <vector>     // std::vector: per-latent counts, a chunk of rows

namespace latent {

/// A sparse dictionary's figures on a set of rows (definitions and sources in docs/sae-metrics.md):
struct SaeReport {
  std::size_t rows = 0;
  double l0 = 0;                  ///< mean number of latents that fire (value > 0) per row
  double mse = 0;                 ///< mean Σ_i (x̂_i − x_i)² per row (the training loss's reconstruction term)
  double fvu = 0;                 ///< Σ‖x − x̂‖² / Σ‖x − x̄‖², x̄ the rows' mean (fraction of variance unexplained)
  double explained_variance = 0;  ///< 1 − fvu
  double mean_cosine = 0;         ///< mean cos(x, x̂) over the rows with ‖x‖ > 1e-6 (0 where x̂ = 0)
  double shrinkage = 0;           ///< mean ‖x̂‖ / ‖x‖ over the same rows (below 1: the codes shrink)
  std::size_t rows_used = 0;      ///< the rows with ‖x‖ > 1e-6 (SAELens's min_input_norm)
  std::size_t dead_in_sample = 0;  ///< latents that fired on none of the rows
  double dead_fraction = 0;        ///< dead_in_sample / latents
  std::size_t dead_by_counter = 0;  ///< latents the model's counters call dead (`dead_latents()`)
  std::vector<double> firing_rate;  ///< per latent: the fraction of rows it fired on
};

namespace detail {

// The sums behind a SaeReport, a chunk of rows at a time.
template <class Sae>
class sae_report_sums {
  using T = typename Sae::scalar_type;
  static constexpr std::size_t In = Sae::input_size, M = Sae::latents;

 public:
  explicit sae_report_sums(const Sae& sae) : sae_(sae), fired_(M, 0), sum_(In, 0.0), xhat_(In) {}

  void add(const T* x, std::size_t n) {
    sae_.for_each_code(x, n, [&](std::size_t r, const std::uint32_t* idx, const T* val, std::size_t count) {
      const T* xr = x + r * In;
      sae_.decode_code(idx, val, count, xhat_.data());
      double err = 0, xx = 0, hh = 0, xh = 0;
      for (std::size_t i = 0; i < In; ++i) {
        const double a = static_cast<double>(xr[i]), b = static_cast<double>(xhat_[i]);
        err += (b - a) * (b - a);
        xx += a * a;
        hh += b * b;
        xh += a * b;
        sum_[i] += a;
      }
      err_ += err;
      squares_ += xx;
      // Rows with ‖x‖ > 1e-6 only (SAELens's min_input_norm: for a zero input both are undefined).
      const double nx = std::sqrt(xx), nh = std::sqrt(hh);
      if (nx > 1e-6) {
        shrink_ += nh / nx;
        cosine_ += nh > 0 ? xh / (nx * nh) : 0.0;
        ++nonzero_;
      }
      for (std::size_t q = 0; q < count; ++q)
        if (val[q] > T(0)) ++fired_[idx[q]], ++active_;
      ++rows_;
    });
  }

  SaeReport report() const {
    if (rows_ == 0) throw data_error("evaluate_sae: expected at least 1 row, found 0");
    SaeReport r;
    r.rows = rows_;
    const double n = static_cast<double>(rows_);
    r.l0 = static_cast<double>(active_) / n;
    r.mse = err_ / n;
    double mean_sq = 0;
    for (const double s : sum_) mean_sq += (s / n) * (s / n);
    const double total = squares_ - n * mean_sq;  // Σ‖x − x̄‖²
    if (!(total > 0))
      throw data_error("evaluate_sae: the rows do not vary (all " + std::to_string(rows_) +
                       " are equal), so the fraction of variance unexplained is undefined");
    r.fvu = err_ / total;
    r.explained_variance = 1 - r.fvu;
    r.rows_used = nonzero_;
    r.mean_cosine = nonzero_ > 0 ? cosine_ / static_cast<double>(nonzero_) : 0;
    r.shrinkage = nonzero_ > 0 ? shrink_ / static_cast<double>(nonzero_) : 0;
    r.firing_rate.resize(M);
    for (std::size_t j = 0; j < M; ++j) {
      r.firing_rate[j] = static_cast<double>(fired_[j]) / n;
      if (fired_[j] == 0) ++r.dead_in_sample;
    }
    r.dead_fraction = static_cast<double>(r.dead_in_sample) / static_cast<double>(M);
    r.dead_by_counter = sae_.dead_latents();
    return r;
  }

 private:
  const Sae& sae_;
  std::vector<std::size_t> fired_;
  std::vector<double> sum_;
  std::vector<T> xhat_;
  double err_ = 0, squares_ = 0, cosine_ = 0, shrink_ = 0;
  std::size_t rows_ = 0, active_ = 0, nonzero_ = 0;
};

}  // namespace detail

/// The figures of `sae` (a `SparseDictionary`) on the rows of `x` (n × input_size), in eval mode.
/// `shape_error` for another width, `data_error` for no rows or rows that do not vary.
template <class Sae>
SaeReport evaluate_sae(const Sae& sae, const xt::xtensor<typename Sae::scalar_type, 2>& x) {
  detail::check_samples(x, Sae::input_size, "evaluate_sae");
  detail::sae_report_sums<Sae> sums(sae);
  sums.add(x.data(), x.shape()[0]);
  return sums.report();
}

/// The same over one epoch of a streamed source (`start_epoch(epoch)`, then every row), read
/// `chunk_rows` rows at a time: memory stays bounded whatever the data size.
template <class Sae>
SaeReport evaluate_sae(const Sae& sae, RowSource& source, std::uint64_t epoch = 0, std::size_t chunk_rows = 4096) {
  using T = typename Sae::scalar_type;
  if (source.width() != Sae::input_size)
    throw shape_error("evaluate_sae: expected streamed rows of " + std::to_string(Sae::input_size) + " values, found " +
                      std::to_string(source.width()));
  if (chunk_rows == 0) throw option_error("evaluate_sae: expected chunk_rows >= 1, found 0");
  detail::sae_report_sums<Sae> sums(sae);
  std::vector<float> chunk(chunk_rows * Sae::input_size);
  std::vector<T> rows(std::is_same_v<T, float> ? 0 : chunk.size());
  source.start_epoch(epoch);
  while (const std::size_t n = source.next(chunk.data(), chunk_rows)) {
    if constexpr (std::is_same_v<T, float>) {
      sums.add(chunk.data(), n);
    } else {
      std::copy_n(chunk.data(), n * Sae::input_size, rows.data());
      sums.add(rows.data(), n);
    }
  }
  return sums.report();
}

}  // namespace latent
