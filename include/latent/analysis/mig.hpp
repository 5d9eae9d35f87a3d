#pragma once
/// \file
/// `mutual_information_gap`: the MIG score of Chen et al. 2018, how much more each ground-truth
/// factor is carried by its most informative code unit than by the runner-up.
/// See docs/disentanglement.md; example: examples/compare.cpp.

#include <xtensor/xtensor.hpp>  // xt::xtensor: data at the public API

#include <cstddef>  // std::size_t
#include <string>   // std::to_string
#include <vector>   // std::vector (per-factor gaps)

#include "latent/analysis/mutual_information.hpp"
#include "latent/core/error.hpp"

namespace latent {

/// The mutual information gap, overall and per factor, as `mutual_information_gap` returns it for K
/// factors.
struct Mig {
  /// The MIG score: the mean of `per_factor` over the K factors, in [0, 1].
  double score = 0;
  /// K values, entry k for factor k (column k of the factors, and of `MutualInformation::mi`):
  /// (I(z_(1); v_k) − I(z_(2); v_k)) / H(v_k), where z_(1) and z_(2) are the units with the largest
  /// and the second largest mutual information with v_k — the share of the factor's entropy that its
  /// most informative unit carries beyond the runner-up, in [0, 1] (0 on a tie). Which unit is z_(1)
  /// is not recorded: it is the arg max of column k of `MutualInformation::mi`.
  std::vector<double> per_factor;
};

/// MIG (Chen et al., "Isolating Sources of Disentanglement in VAEs", NeurIPS 2018) from a mutual
/// information matrix:
///   MIG = (1/K) Σ_k (I(z_(1); v_k) − I(z_(2); v_k)) / H(v_k),
/// where z_(1) and z_(2) are the units with the largest and second largest mutual information with
/// factor v_k. About 1 when each factor is copied by one unit and by no other, about 0 when no unit
/// knows a factor or when two units share it equally (a rotated code). With one code unit, the gap
/// is I(z_1; v_k) / H(v_k). Throws `data_error` when a factor is constant (H(v_k) = 0: nothing to
/// carry).
inline Mig mutual_information_gap(const MutualInformation& m) {
  const std::size_t nz = m.mi.shape()[0], nv = m.mi.shape()[1];
  if (nz == 0 || nv == 0)
    throw data_error("mutual_information_gap: expected at least one unit and one factor, found 0");
  Mig out;
  for (std::size_t k = 0; k < nv; ++k) {
    if (!(m.factor_entropy(k) > 0))
      throw data_error("mutual_information_gap: expected every factor to vary, found factor " + std::to_string(k) +
                       " constant (entropy 0)");
    double first = 0, second = 0;
    for (std::size_t j = 0; j < nz; ++j) {
      const double v = m.mi(j, k);
      if (v > first) {
        second = first;
        first = v;
      } else if (v > second) {
        second = v;
      }
    }
    out.per_factor.push_back((first - second) / m.factor_entropy(k));
  }
  for (double g : out.per_factor) out.score += g;
  out.score /= static_cast<double>(nv);
  return out;
}

/// MIG of `codes` (n × J, an `xt::xtensor<T, 2>` with T float or double) against `factors` (n × K, an
/// `xt::xtensor<double, 2>` of any finite values, one column per factor; float and integer tensors
/// convert implicitly), each column cut into `bins` equal-width bins (`mutual_information`; 20 as
/// Chen et al. and disentanglement_lib). Same errors as `mutual_information` and the overload above.
template <class T>
Mig mutual_information_gap(const xt::xtensor<T, 2>& codes, const xt::xtensor<double, 2>& factors,
                           std::size_t bins = 20) {
  return mutual_information_gap(mutual_information(codes, factors, bins));
}

}  // namespace latent
