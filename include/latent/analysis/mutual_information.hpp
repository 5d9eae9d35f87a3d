#pragma once
/// \file
/// `mutual_information`: the matrix of mutual informations I(z_j; v_k) between each code unit and
/// each ground-truth factor, estimated from histograms, with each factor's entropy H(v_k) — the
/// ingredient of the MIG score (`mutual_information_gap`) and of the heat maps (`heat_map`).
/// See docs/disentanglement.md; example: examples/compare.cpp.

#include <xtensor/xtensor.hpp>  // xt::xtensor: data at the public API

#include <cmath>        // std::log, std::floor, std::isfinite
#include <cstddef>      // std::size_t
#include <string>       // std::string, std::to_string
#include <type_traits>  // std::is_floating_point_v
#include <vector>       // std::vector (bin indices, counts)

#include "latent/core/error.hpp"

namespace latent {

/// The mutual information between every code unit and every factor, in nats (natural logarithms), as
/// `mutual_information` returns it for codes of J units and K factors; the input of
/// `mutual_information_gap` and of `heat_map`.
struct MutualInformation {
  /// J × K: row j is code unit j (column j of the codes), column k factor k (column k of the factors);
  /// entry (j, k) is I(z_j; v_k), the plug-in estimate on the discretised values: >= 0, and at most
  /// `factor_entropy(k)` (to rounding).
  xt::xtensor<double, 2> mi;
  /// K: the entropy H(v_k) of each discretised factor, in [0, log(bins)]: the most any unit can share
  /// with it; 0 for a constant factor.
  xt::xtensor<double, 1> factor_entropy;
  /// The number of equal-width bins each column of codes and factors was cut into (the `bins` asked for).
  std::size_t bins = 0;
  /// The matrix normalised by the factors' entropies, I(z_j; v_k) / H(v_k) in [0, 1] (0 for a
  /// factor of zero entropy): the share of each factor each unit carries.
  xt::xtensor<double, 2> normalised() const {
    xt::xtensor<double, 2> out = mi;
    for (std::size_t j = 0; j < out.shape()[0]; ++j)
      for (std::size_t k = 0; k < out.shape()[1]; ++k)
        out(j, k) = factor_entropy(k) > 0 ? mi(j, k) / factor_entropy(k) : 0.0;
    return out;
  }
};

namespace detail {

// Codes and factors that the scores can use: as many rows as each other, at least one row and column,
// finite, and at least one bin. `where` names the caller in the messages.
template <class T>
void check_codes_and_factors(const xt::xtensor<T, 2>& codes, const xt::xtensor<double, 2>& factors, std::size_t bins,
                             const char* where) {
  static_assert(std::is_floating_point_v<T>, "latent: the disentanglement scores need codes of float or double");
  const std::string w(where);
  if (codes.shape()[0] != factors.shape()[0])
    throw shape_error(w + ": expected one row of factors per row of codes (" + std::to_string(codes.shape()[0]) +
                      "), found " + std::to_string(factors.shape()[0]));
  if (codes.shape()[0] == 0) throw data_error(w + ": expected at least one row of codes, found 0");
  if (codes.shape()[1] == 0) throw data_error(w + ": expected at least one code unit, found 0");
  if (factors.shape()[1] == 0) throw data_error(w + ": expected at least one factor, found 0");
  if (bins == 0) throw option_error(w + ": expected at least 1 bin, found 0");
  for (std::size_t i = 0; i < codes.size(); ++i)
    if (!std::isfinite(codes.data()[i]))
      throw data_error(w + ": expected finite codes, found " + std::to_string(codes.data()[i]) + " in row " +
                       std::to_string(i / codes.shape()[1]));
  for (std::size_t i = 0; i < factors.size(); ++i)
    if (!std::isfinite(factors.data()[i]))
      throw data_error(w + ": expected finite factors, found " + std::to_string(factors.data()[i]) + " in row " +
                       std::to_string(i / factors.shape()[1]));
}

// Column `col` of `m` cut into `bins` equal-width bins between its minimum and maximum (the last
// bin closed, as numpy's histogram); a constant column falls into bin 0.
template <class T>
std::vector<std::size_t> discretise(const xt::xtensor<T, 2>& m, std::size_t col, std::size_t bins) {
  const std::size_t n = m.shape()[0];
  double lo = m(0, col), hi = m(0, col);
  for (std::size_t r = 1; r < n; ++r) {
    const double v = m(r, col);
    lo = v < lo ? v : lo;
    hi = v > hi ? v : hi;
  }
  std::vector<std::size_t> out(n, 0);
  if (!(hi > lo)) return out;
  const double scale = static_cast<double>(bins) / (hi - lo);
  for (std::size_t r = 0; r < n; ++r) {
    const double b = std::floor((static_cast<double>(m(r, col)) - lo) * scale);
    out[r] = b >= static_cast<double>(bins) ? bins - 1 : static_cast<std::size_t>(b);
  }
  return out;
}

// Plug-in entropy (nats) of a discrete sample with values below `bins`.
inline double entropy_of(const std::vector<std::size_t>& a, std::size_t bins) {
  std::vector<double> count(bins, 0.0);
  for (std::size_t v : a) count[v] += 1;
  const double n = static_cast<double>(a.size());
  double h = 0;
  for (double c : count)
    if (c > 0) h -= c / n * std::log(c / n);
  return h;
}

// Plug-in mutual information (nats) of two discrete samples of the same length, values below `bins`.
inline double mutual_information_of(const std::vector<std::size_t>& a, const std::vector<std::size_t>& b,
                                    std::size_t bins) {
  std::vector<double> joint(bins * bins, 0.0), pa(bins, 0.0), pb(bins, 0.0);
  for (std::size_t r = 0; r < a.size(); ++r) {
    joint[a[r] * bins + b[r]] += 1;
    pa[a[r]] += 1;
    pb[b[r]] += 1;
  }
  const double n = static_cast<double>(a.size());
  double mi = 0;
  for (std::size_t i = 0; i < bins; ++i)
    for (std::size_t j = 0; j < bins; ++j) {
      const double c = joint[i * bins + j];
      if (c > 0) mi += c / n * std::log(c * n / (pa[i] * pb[j]));
    }
  return mi > 0 ? mi : 0.0;  // rounding can leave -1e-17 for independent samples
}

}  // namespace detail

/// The mutual information between each unit of `codes` (n × J, one row per image) and each column
/// of `factors` (n × K, the ground truth of the same images, one column per factor). The codes are an
/// `xt::xtensor<T, 2>` with T float or double (deduced: an `xt::xarray` or a view is copied into an
/// `xt::xtensor` first); the factors an `xt::xtensor<double, 2>` of any finite values (class indices,
/// positions, scales, angles — binned as plain numbers), to which float and integer tensors convert
/// implicitly (a copy). Every column is cut into `bins`
/// equal-width bins between its minimum and maximum over the n rows (Chen et al. 2018 and
/// disentanglement_lib use 20), and
///   I(z_j; v_k) = Σ_{a,b} p(a, b) log(p(a, b) / (p(a) p(b))),   H(v_k) = −Σ_b p(b) log p(b)
/// are the plug-in estimates from the joint histogram (nats). A class factor with at most `bins`
/// evenly spaced values keeps them in separate bins. The estimate is biased upwards by about
/// (bins − 1)² / (2n) nats for independent columns (0.018 nats for 20 bins and n = 10 000).
/// Cost O(n·J·K + J·K·bins²).
///
/// Throws `shape_error` when the row counts differ, `data_error` for no rows, units or factors or a
/// NaN/Inf, and `option_error` when `bins` is 0.
template <class T>
MutualInformation mutual_information(const xt::xtensor<T, 2>& codes, const xt::xtensor<double, 2>& factors,
                                     std::size_t bins = 20) {
  detail::check_codes_and_factors(codes, factors, bins, "mutual_information");
  const std::size_t nz = codes.shape()[1], nv = factors.shape()[1];
  MutualInformation out;
  out.bins = bins;
  out.mi = xt::xtensor<double, 2>::from_shape({nz, nv});
  out.factor_entropy = xt::xtensor<double, 1>::from_shape({nv});
  std::vector<std::vector<std::size_t>> z(nz);
  for (std::size_t j = 0; j < nz; ++j) z[j] = detail::discretise(codes, j, bins);
  for (std::size_t k = 0; k < nv; ++k) {
    const std::vector<std::size_t> v = detail::discretise(factors, k, bins);
    out.factor_entropy(k) = detail::entropy_of(v, bins);
    for (std::size_t j = 0; j < nz; ++j) out.mi(j, k) = detail::mutual_information_of(z[j], v, bins);
  }
  return out;
}

}  // namespace latent
