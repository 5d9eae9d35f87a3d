#pragma once
/// \file
/// `latent::LearnedGaussian`: a Gaussian likelihood with a learned variance per dimension.

#include <cmath>    // std::exp
#include <cstddef>  // std::size_t

namespace latent {

/// Gaussian likelihood p(x|z) = N(x; μ(z), diag σ²) with one learned log-variance s_j per dimension
/// (d extra parameters, initialised to 0, i.e. σ = 1, packed after the decoder's):
/// −log p(x|z) = Σ_j ½[(x_j − μ_j)² e^−s_j + s_j + log 2π], exact including constants.
/// Gradients: ∂/∂μ_j = (μ_j − x_j) e^−s_j; ∂/∂s_j = ½[1 − (x_j − μ_j)² e^−s_j].
struct LearnedGaussian {
  static constexpr const char* name = "LearnedGaussian";
  static constexpr bool takes_logits = false;
  static constexpr double half_log_two_pi = 0.91893853320467274178;
  template <std::size_t D>
  static constexpr std::size_t params_for = D;

  template <class T>
  static void init(T* s, std::size_t d) noexcept {
    for (std::size_t j = 0; j < d; ++j) s[j] = T(0);
  }
  template <class T>
  static double nll(const T* out, const T* x, const T* s, std::size_t n, std::size_t d) noexcept {
    double total = 0;
    for (std::size_t r = 0; r < n; ++r)
      for (std::size_t j = 0; j < d; ++j) {
        const double e = static_cast<double>(out[r * d + j]) - x[r * d + j];
        total += 0.5 * (e * e * std::exp(-static_cast<double>(s[j])) + s[j]) + half_log_two_pi;
      }
    return total;
  }
  /// As `nll`; d_out = scale · ∂nll/∂out and d_s = scale · ∂nll/∂s (overwritten).
  template <class T>
  static double nll_and_gradient(const T* out, const T* x, const T* s, T* d_out, T* d_s, std::size_t n, std::size_t d,
                                 T scale) noexcept {
    double total = 0;
    for (std::size_t j = 0; j < d; ++j) d_s[j] = T(0);
    for (std::size_t r = 0; r < n; ++r)
      for (std::size_t j = 0; j < d; ++j) {
        const T e = out[r * d + j] - x[r * d + j];
        const T inv = std::exp(-s[j]);
        total += 0.5 * (static_cast<double>(e) * e * inv + s[j]) + half_log_two_pi;
        d_out[r * d + j] = scale * e * inv;
        d_s[j] += scale * T(0.5) * (T(1) - e * e * inv);
      }
    return total;
  }
  template <class T>
  static void to_mean(T*, const T*, std::size_t, std::size_t) noexcept {}
};

}  // namespace latent
