#pragma once
/// \file
/// `latent::GaussianMixture`: a mixture of Gaussians with full covariances fitted by EM to a model's
/// training codes — the post-hoc sampler (pythae's `GaussianMixtureSampler`, which fits scikit-learn's
/// `GaussianMixture`) that lets any model generate, deterministic ones too: fit it on `encode(x)`, then
/// `decode(gmm.sample(n, rng))`.

#include "latent/core/error.hpp"
#include "latent/core/random.hpp"

#include <xtensor/xtensor.hpp>  // xt::xtensor: codes in, samples out

#include <algorithm>  // std::max, std::fill
#include <cmath>      // std::log, std::exp, std::sqrt, std::isfinite
#include <cstddef>    // std::size_t
#include <cstdint>    // std::uint64_t
#include <limits>     // std::numeric_limits
#include <numbers>    // std::numbers::pi
#include <string>     // std::to_string
#include <vector>     // std::vector: the components' parameters

namespace latent {

/// How `GaussianMixture::fit` runs (scikit-learn's defaults, which pythae's sampler uses, with pythae's
/// 10 components).
struct GaussianMixtureOptions {
  std::size_t components = 10;
  std::size_t max_iterations = 100;
  double tolerance = 1e-3;        ///< stop when the mean log-likelihood per row gains less than this
  double regularisation = 1e-6;   ///< added to every covariance's diagonal (scikit-learn's reg_covar)
  std::uint64_t seed = 0;         ///< the initial means: k-means++ seeding from this seed
};

/// A mixture of `components` Gaussians in D dimensions, with full covariances.
class GaussianMixture {
 public:
  /// Fits the mixture to the rows of `x` (n × D) by EM from k-means++ seeded means, unit responsibility
  /// to the nearest, until the mean log-likelihood gains less than `tolerance` or after
  /// `max_iterations`. `data_error` for fewer rows than components or non-finite values;
  /// `option_error` for 0 components or a negative regularisation.
  static GaussianMixture fit(const xt::xtensor<float, 2>& x, const GaussianMixtureOptions& o = {}) {
    const std::size_t n = x.shape()[0], d = x.shape()[1], k = o.components;
    if (k == 0) throw option_error("GaussianMixture: expected at least 1 component, found 0");
    if (!(o.regularisation >= 0)) throw option_error("GaussianMixture: expected regularisation >= 0, found " + std::to_string(o.regularisation));
    if (d == 0) throw data_error("GaussianMixture: expected rows of at least one value, found 0 columns");
    if (n < k)
      throw data_error("GaussianMixture: expected at least as many rows as components (" + std::to_string(k) +
                       "), found " + std::to_string(n));
    for (std::size_t i = 0; i < x.size(); ++i)
      if (!std::isfinite(x.data()[i]))
        throw data_error("GaussianMixture: expected finite values, found " + std::to_string(x.data()[i]) + " in row " +
                         std::to_string(i / d));
    GaussianMixture g(k, d);
    g.seed_means(x, o.seed);
    // Responsibilities from the nearest seeded mean, then M and E steps in turn.
    std::vector<double> resp(n * k, 0.0);
    for (std::size_t r = 0; r < n; ++r) {
      std::size_t best = 0;
      double bd = std::numeric_limits<double>::infinity();
      for (std::size_t c = 0; c < k; ++c) {
        double s = 0;
        for (std::size_t j = 0; j < d; ++j) s += (x(r, j) - g.means_[c * d + j]) * (x(r, j) - g.means_[c * d + j]);
        if (s < bd) bd = s, best = c;
      }
      resp[r * k + best] = 1;
    }
    double previous = -std::numeric_limits<double>::infinity();
    for (std::size_t it = 0; it < o.max_iterations; ++it) {
      g.m_step(x, resp, o.regularisation);
      const double ll = g.e_step(x, resp);
      g.history_.push_back(ll);
      g.iterations_ = it + 1;
      if (ll - previous < o.tolerance) {
        g.converged_ = true;
        break;
      }
      previous = ll;
    }
    return g;
  }

  std::size_t components() const noexcept { return k_; }
  std::size_t dimensions() const noexcept { return d_; }
  const std::vector<double>& weights() const noexcept { return weights_; }
  /// components × D, row-major.
  const std::vector<double>& means() const noexcept { return means_; }
  /// components × D × D, row-major.
  const std::vector<double>& covariances() const noexcept { return cov_; }
  std::size_t iterations() const noexcept { return iterations_; }
  bool converged() const noexcept { return converged_; }
  /// The mean log-likelihood per row after each iteration (EM never lowers it).
  const std::vector<double>& log_likelihood_history() const noexcept { return history_; }

  /// The mean log-density of the rows of `x` under the mixture. `shape_error` for another width.
  double log_likelihood(const xt::xtensor<float, 2>& x) const {
    check_width(x, "log_likelihood");
    double total = 0;
    std::vector<double> lp(k_);
    for (std::size_t r = 0; r < x.shape()[0]; ++r) total += row_log_density(&x(r, 0), lp.data());
    return x.shape()[0] > 0 ? total / static_cast<double>(x.shape()[0]) : 0.0;
  }

  /// n draws from the mixture (a component by its weight, then μ + L·ε with LLᵀ its covariance).
  xt::xtensor<float, 2> sample(std::size_t n, Rng& rng) const {
    xt::xtensor<float, 2> out = xt::xtensor<float, 2>::from_shape({n, d_});
    std::vector<double> eps(d_);
    for (std::size_t r = 0; r < n; ++r) {
      double u = rng.uniform(), acc = 0;
      std::size_t c = 0;
      for (; c + 1 < k_; ++c) {
        acc += weights_[c];
        if (u < acc) break;
      }
      for (double& e : eps) e = rng.normal();
      for (std::size_t i = 0; i < d_; ++i) {
        double v = means_[c * d_ + i];
        for (std::size_t j = 0; j <= i; ++j) v += chol_[(c * d_ + i) * d_ + j] * eps[j];
        out(r, i) = static_cast<float>(v);
      }
    }
    return out;
  }
  xt::xtensor<float, 2> sample(std::size_t n, std::uint64_t seed) const {
    Rng rng(seed);
    return sample(n, rng);
  }

 private:
  GaussianMixture(std::size_t k, std::size_t d)
      : k_(k), d_(d), weights_(k, 1.0 / static_cast<double>(k)), means_(k * d), cov_(k * d * d), chol_(k * d * d),
        log_det_(k) {}

  void check_width(const xt::xtensor<float, 2>& x, const char* where) const {
    if (x.shape()[1] != d_)
      throw shape_error(std::string("GaussianMixture::") + where + ": expected rows of " + std::to_string(d_) +
                        " values, found " + std::to_string(x.shape()[1]));
  }

  // k-means++: the first mean a uniformly drawn row, each next a row drawn with probability ∝ its squared
  // distance to the nearest mean so far.
  void seed_means(const xt::xtensor<float, 2>& x, std::uint64_t seed) {
    const std::size_t n = x.shape()[0];
    Rng rng(seed);
    std::vector<double> nearest(n, std::numeric_limits<double>::infinity());
    std::size_t pick = rng.below(n);
    for (std::size_t c = 0; c < k_; ++c) {
      for (std::size_t j = 0; j < d_; ++j) means_[c * d_ + j] = x(pick, j);
      double total = 0;
      for (std::size_t r = 0; r < n; ++r) {
        double s = 0;
        for (std::size_t j = 0; j < d_; ++j) s += (x(r, j) - means_[c * d_ + j]) * (x(r, j) - means_[c * d_ + j]);
        nearest[r] = std::min(nearest[r], s);
        total += nearest[r];
      }
      if (!(total > 0)) {
        pick = rng.below(n);
        continue;
      }
      double u = rng.uniform() * total;
      pick = n - 1;
      for (std::size_t r = 0; r < n; ++r) {
        u -= nearest[r];
        if (u <= 0) {
          pick = r;
          break;
        }
      }
    }
  }

  void m_step(const xt::xtensor<float, 2>& x, const std::vector<double>& resp, double reg) {
    const std::size_t n = x.shape()[0];
    for (std::size_t c = 0; c < k_; ++c) {
      double nk = 0;
      std::vector<double> mu(d_, 0.0);
      for (std::size_t r = 0; r < n; ++r) {
        const double w = resp[r * k_ + c];
        nk += w;
        for (std::size_t j = 0; j < d_; ++j) mu[j] += w * x(r, j);
      }
      nk = std::max(nk, 10 * std::numeric_limits<double>::epsilon());
      for (double& m : mu) m /= nk;
      double* cov = &cov_[c * d_ * d_];
      std::fill(cov, cov + d_ * d_, 0.0);
      for (std::size_t r = 0; r < n; ++r) {
        const double w = resp[r * k_ + c];
        if (w == 0) continue;
        for (std::size_t i = 0; i < d_; ++i)
          for (std::size_t j = 0; j <= i; ++j) cov[i * d_ + j] += w * (x(r, i) - mu[i]) * (x(r, j) - mu[j]);
      }
      for (std::size_t i = 0; i < d_; ++i) {
        for (std::size_t j = 0; j <= i; ++j) cov[i * d_ + j] /= nk, cov[j * d_ + i] = cov[i * d_ + j];
        cov[i * d_ + i] += reg;
      }
      for (std::size_t j = 0; j < d_; ++j) means_[c * d_ + j] = mu[j];
      weights_[c] = nk / static_cast<double>(n);
      factor(c);
    }
  }

  // The Cholesky factor of component c's covariance and its log-determinant.
  void factor(std::size_t c) {
    const double* a = &cov_[c * d_ * d_];
    double* l = &chol_[c * d_ * d_];
    std::fill(l, l + d_ * d_, 0.0);
    double log_det = 0;
    for (std::size_t i = 0; i < d_; ++i)
      for (std::size_t j = 0; j <= i; ++j) {
        double s = a[i * d_ + j];
        for (std::size_t q = 0; q < j; ++q) s -= l[i * d_ + q] * l[j * d_ + q];
        if (i == j) {
          if (!(s > 0))
            throw numerical_error("GaussianMixture: component " + std::to_string(c) +
                                  "'s covariance is not positive definite (raise the regularisation)");
          l[i * d_ + i] = std::sqrt(s);
          log_det += 2 * std::log(l[i * d_ + i]);
        } else {
          l[i * d_ + j] = s / l[j * d_ + j];
        }
      }
    log_det_[c] = log_det;
  }

  // log p(row) (log-sum-exp over the components), and each component's log weight + log density in lp.
  double row_log_density(const float* row, double* lp) const {
    std::vector<double> y(d_);
    double top = -std::numeric_limits<double>::infinity();
    for (std::size_t c = 0; c < k_; ++c) {
      const double* l = &chol_[c * d_ * d_];
      double maha = 0;
      for (std::size_t i = 0; i < d_; ++i) {  // solve L y = x − μ
        double s = row[i] - means_[c * d_ + i];
        for (std::size_t q = 0; q < i; ++q) s -= l[i * d_ + q] * y[q];
        y[i] = s / l[i * d_ + i];
        maha += y[i] * y[i];
      }
      lp[c] = std::log(std::max(weights_[c], 1e-300)) -
              0.5 * (static_cast<double>(d_) * std::log(2 * std::numbers::pi) + log_det_[c] + maha);
      top = std::max(top, lp[c]);
    }
    double s = 0;
    for (std::size_t c = 0; c < k_; ++c) s += std::exp(lp[c] - top);
    return top + std::log(s);
  }

  // Responsibilities from the current parameters; the mean log-likelihood per row.
  double e_step(const xt::xtensor<float, 2>& x, std::vector<double>& resp) const {
    const std::size_t n = x.shape()[0];
    std::vector<double> lp(k_);
    double total = 0;
    for (std::size_t r = 0; r < n; ++r) {
      const double ll = row_log_density(&x(r, 0), lp.data());
      total += ll;
      for (std::size_t c = 0; c < k_; ++c) resp[r * k_ + c] = std::exp(lp[c] - ll);
    }
    return total / static_cast<double>(n);
  }

  std::size_t k_, d_;
  std::vector<double> weights_, means_, cov_, chol_, log_det_;
  std::vector<double> history_;
  std::size_t iterations_ = 0;
  bool converged_ = false;
};

}  // namespace latent
