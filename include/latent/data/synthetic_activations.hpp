#pragma once
/// \file
/// `SyntheticActivations`: activations with known features, the ground truth a sparse dictionary
/// (a sparse autoencoder) is judged against, in the spirit of SAELens's synthetic data and
/// SynthSAEBench (Chanin & Garriga-Alonso 2026, arXiv:2602.14687; SAELens `sae_lens/synthetic/`).
///
/// Each row is x = Σ_f a_f · d_f + ε: F unit-norm true features d_f in D dimensions, a sparse code a
/// (feature f fires with probability p_f, Zipfian in f, with a positive random magnitude when it
/// does), optional correlation between firings (a low-rank Gaussian copula), an optional hierarchy
/// (a child fires only with its parent, at most one child per parent) and optional Gaussian noise ε.
/// Everything follows from the options' seed and the sampler's `Rng`. docs/sae-metrics.md describes
/// the generator and the metrics of latent/analysis/dictionary_metrics.hpp that use it.

#include <xtensor/xbuilder.hpp>  // xt::zeros
#include <xtensor/xtensor.hpp>   // xt::xtensor: features, x and dense activations at the public API

#include <algorithm>  // std::fill, std::max
#include <cmath>      // std::pow, std::sqrt, std::log, std::log1p, std::floor, std::erfc, std::exp, std::isfinite
#include <cstddef>    // std::size_t
#include <cstdint>    // std::uint32_t, std::uint64_t
#include <limits>     // std::numeric_limits (the threshold of a feature that always fires)
#include <optional>   // std::optional (a feature's parent)
#include <string>     // std::string, std::to_string (messages)
#include <vector>     // std::vector (probabilities, sparse rows)

#include "latent/core/error.hpp"
#include "latent/core/random.hpp"

namespace latent {

/// What `SyntheticActivations` draws. Designated-initialiser friendly; every field has a usable
/// default (64 dimensions, 256 features, Zipf exponent 0.5 from 0.4: about 12 features a row):
/// `SyntheticActivations gen({.dims = 64, .features = 256, .hierarchy_parents = 8, .hierarchy_children = 4});`
struct SyntheticActivationsOptions {
  /// D, the width of x. At least 1.
  std::size_t dims = 64;
  /// F, the number of true features. At least 1. F > D is superposition.
  std::size_t features = 256;
  /// s in p_f = max_probability · (f + 1)^(−s): how fast firing probabilities fall with the rank f.
  /// At least 0 (0: every feature fires with max_probability).
  double zipf_exponent = 0.5;
  /// The probability of feature 0, the most frequent one; in (0, 1].
  double max_probability = 0.4;
  /// 0 (the default): the pure power law above. Otherwise, in (0, max_probability): SAELens's
  /// `zipfian_firing_probabilities`, the power law mapped affinely onto [min_probability,
  /// max_probability] (feature F − 1 fires with min_probability).
  double min_probability = 0;
  /// Mean of a firing feature's magnitude, > 0.
  double magnitude_mean = 1.0;
  /// Standard deviation of a firing feature's magnitude before truncation, ≥ 0: a magnitude is
  /// N(magnitude_mean, magnitude_std²) conditioned on being positive (redrawn until it is), so a feature
  /// that fires is never 0. (SAELens applies a ReLU instead, which turns some firings into zeros.)
  double magnitude_std = 0.0;
  /// Orthonormal features (Gram–Schmidt on the Gaussian draws); needs features ≤ dims. Otherwise the
  /// features are independent Gaussian directions, normalised (nearly orthogonal when D is large).
  bool orthogonal = false;
  /// r, the rank of the Gaussian copula that correlates firings; 0 (the default): independent.
  std::size_t correlation_rank = 0;
  /// Scale of the copula's factor entries (SAELens's `correlation_scale`), ≥ 0. Typical: 0.1.
  double correlation_scale = 0.1;
  /// P parent features (features 0 .. P − 1, the most frequent); 0: no hierarchy.
  std::size_t hierarchy_parents = 0;
  /// C children per parent: the children of parent k are features P + k·C .. P + k·C + C − 1.
  /// Needs P · (1 + C) ≤ F, and C ≥ 1 exactly when P ≥ 1.
  std::size_t hierarchy_children = 0;
  /// Standard deviation of the Gaussian noise added to every entry of x, ≥ 0.
  double noise_std = 0.0;
  /// Seed of the features and of the copula's factor (samples have their own `Rng`).
  std::uint64_t seed = 0;
};

/// The true code of `rows` samples over `features` features, stored sparsely (compressed rows): row i
/// has the features `feature[row_start[i] .. row_start[i + 1])`, ascending, with magnitudes
/// `value[...]`, all > 0. Memory grows with the number of firings (n · L0), not with n · F; `dense()`
/// makes the n × F matrix for small cases.
struct SparseActivations {
  std::size_t rows = 0;
  std::size_t features = 0;
  /// rows + 1 offsets into `feature` and `value`.
  std::vector<std::size_t> row_start{0};
  /// The firing features of each row, ascending within a row.
  std::vector<std::uint32_t> feature;
  /// The magnitude of each firing, > 0.
  std::vector<float> value;

  /// Number of firings over all rows.
  std::size_t nonzeros() const { return feature.size(); }
  /// The mean number of features that fire in a row (the true L0); 0 for no rows.
  double mean_l0() const { return rows == 0 ? 0.0 : static_cast<double>(feature.size()) / static_cast<double>(rows); }
  /// The n × F matrix: entry (i, f) the magnitude of feature f in row i, 0 when it does not fire.
  xt::xtensor<float, 2> dense() const {
    xt::xtensor<float, 2> out = xt::zeros<float>({rows, features});
    for (std::size_t i = 0; i < rows; ++i)
      for (std::size_t k = row_start[i]; k < row_start[i + 1]; ++k) out(i, feature[k]) = value[k];
    return out;
  }
};

/// A sample of `SyntheticActivations`: the data and the truth that made it.
struct SyntheticSample {
  /// n × D, row i = Σ_f activations(i, f) · features(f) + noise.
  xt::xtensor<float, 2> x;
  /// The true code of each row (n × F, sparse).
  SparseActivations activations;
};

namespace detail {

// Φ⁻¹(p), the standard normal quantile, for p in (0, 1): Acklam's rational approximation (relative
// error 1.15e-9), then one Halley step on Φ(x) − p with erfc, which brings it to double precision.
inline double normal_quantile(double p) {
  static constexpr double a[] = {-3.969683028665376e+01, 2.209460984245205e+02, -2.759285104469687e+02,
                                 1.383577518672690e+02,  -3.066479806614716e+01, 2.506628277459239e+00};
  static constexpr double b[] = {-5.447609879822406e+01, 1.615858368580409e+02, -1.556989798598866e+02,
                                 6.680131188771972e+01,  -1.328068155288572e+01};
  static constexpr double c[] = {-7.784894002430293e-03, -3.223964580411365e-01, -2.400758277161838e+00,
                                 -2.549732539343734e+00, 4.374664141464968e+00,  2.938163982698783e+00};
  static constexpr double d[] = {7.784695709041462e-03, 3.224671290700398e-01, 2.445134137142996e+00,
                                 3.754408661907416e+00};
  constexpr double low = 0.02425;
  double x;
  if (p < low) {
    const double q = std::sqrt(-2 * std::log(p));
    x = (((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]) /
        ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1);
  } else if (p <= 1 - low) {
    const double q = p - 0.5, r = q * q;
    x = (((((a[0] * r + a[1]) * r + a[2]) * r + a[3]) * r + a[4]) * r + a[5]) * q /
        (((((b[0] * r + b[1]) * r + b[2]) * r + b[3]) * r + b[4]) * r + 1);
  } else {
    const double q = std::sqrt(-2 * std::log1p(-p));
    x = -(((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]) /
        ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1);
  }
  constexpr double sqrt2 = 1.4142135623730950488, sqrt2pi = 2.5066282746310005024;
  const double e = 0.5 * std::erfc(-x / sqrt2) - p;
  const double u = e * sqrt2pi * std::exp(x * x / 2);
  return x - u / (1 + x * u / 2);
}

// "name: expected what, found value" for an option out of its range.
inline void check_synthetic_option(bool ok, const char* what, double found) {
  if (!ok)
    throw option_error(std::string("SyntheticActivationsOptions: expected ") + what + ", found " +
                       std::to_string(found));
}

}  // namespace detail

/// A generator of synthetic activations with known features (see the file comment and
/// docs/sae-metrics.md). Construction draws the features (and the copula's factor) from
/// `options.seed`; `sample` draws rows from the `Rng` it is given, so the same options and the same
/// sampler seed give the same bits on every platform.
///
/// Features are indexed by rank: feature 0 fires most often. Firing, per row:
/// - every feature that is not a child fires with probability p_f, independently (or, with
///   `correlation_rank` r > 0, when g_f = L_f·z + √(1 − ‖L_f‖²)·e_f exceeds Φ⁻¹(1 − p_f), with z ~ N(0, I_r)
///   shared by the row and e_f ~ N(0, 1) its own: each g_f is N(0, 1), so the marginal is still p_f,
///   and the firings are correlated through the F × r factor L; SAELens's low-rank copula);
/// - a parent that fires picks at most one child: child c with probability q_c, none with 1 − Σ q_c,
///   where q_c = p_c / p_parent (so the child's marginal is its Zipf p_c) unless those sum to more than
///   1 for a parent, in which case they are scaled to sum to 1 (that parent always fires with one
///   child, and its children fire less often than Zipf's law says). `firing_probabilities()` gives
///   the true marginals either way;
/// - a firing feature's magnitude is N(magnitude_mean, magnitude_std²) conditioned on being positive.
///
/// Without correlation a row costs O(L0 + log(p_max / p_min)) random draws (the independent
/// firings are drawn by geometric skips over blocks of similar probability, then thinned), so wide
/// dictionaries (F = 16 384 as SynthSAEBench-16k) are cheap; with correlation it costs O(F · r).
/// Throws `option_error` naming the option, what was expected and what was found.
class SyntheticActivations {
 public:
  explicit SyntheticActivations(const SyntheticActivationsOptions& options = {}) : options_(options) {
    check_options();
    const std::size_t F = options_.features, D = options_.dims;
    draw_features(F, D);
    zipf_probabilities(F);
    build_hierarchy(F);
    build_blocks();
    draw_correlation(F);
  }

  /// The options this generator was built from.
  const SyntheticActivationsOptions& options() const { return options_; }

  /// The true features, F × D, one unit-norm direction per row (the dictionary a perfect SAE's
  /// decoder would learn, in the same layout as the metrics' decoder: rows are directions).
  const xt::xtensor<float, 2>& features() const { return features_; }

  /// The probability that feature f fires in a row, f = 0 .. F − 1: the Zipf law for every feature
  /// but the children of a parent whose children had to be scaled down (see the class comment).
  const std::vector<double>& firing_probabilities() const { return probability_; }

  /// The expected number of features that fire in a row, Σ_f p_f.
  double expected_l0() const {
    double s = 0;
    for (double p : probability_) s += p;
    return s;
  }

  /// The parent of feature f, or nothing for a feature that is not a child (f < F).
  std::optional<std::size_t> parent_of(std::size_t f) const {
    if (f < probability_.size() && parent_[f] != none) return parent_[f];
    return std::nullopt;
  }

  /// The copula's factor L, F × r (r = correlation_rank; F × 0 without correlation). Rows of child
  /// features are 0: a child is drawn given its parent, not by the copula.
  const xt::xtensor<double, 2>& correlation_factor() const { return factor_; }

  /// `n` rows drawn with `rng` (advanced by the draws): x (n × D) and the true code (sparse, n × F).
  SyntheticSample sample(std::size_t n, Rng& rng) const {
    const std::size_t F = options_.features, D = options_.dims;
    SyntheticSample s;
    s.x = xt::xtensor<float, 2>::from_shape({n, D});
    SparseActivations& a = s.activations;
    a.rows = n;
    a.features = F;
    a.row_start.assign(1, 0);
    a.row_start.reserve(n + 1);
    const auto expected = static_cast<std::size_t>(expected_l0() * static_cast<double>(n) * 1.1) + 16;
    a.feature.reserve(expected);
    a.value.reserve(expected);

    std::vector<std::uint32_t> fired, children;
    std::vector<double> z(options_.correlation_rank), row(D);
    for (std::size_t i = 0; i < n; ++i) {
      draw_firings(rng, fired, children, z);
      std::fill(row.begin(), row.end(), 0.0);
      for (const std::uint32_t f : fired) {
        const double m = draw_magnitude(rng);
        a.feature.push_back(f);
        a.value.push_back(static_cast<float>(m));
        const float* d = features_.data() + static_cast<std::size_t>(f) * D;
        for (std::size_t j = 0; j < D; ++j) row[j] += m * static_cast<double>(d[j]);
      }
      a.row_start.push_back(a.feature.size());
      float* out = s.x.data() + i * D;
      for (std::size_t j = 0; j < D; ++j)
        out[j] = static_cast<float>(options_.noise_std > 0 ? row[j] + options_.noise_std * rng.normal() : row[j]);
    }
    return s;
  }

  /// `n` rows drawn with `Rng(seed)`.
  SyntheticSample sample(std::size_t n, std::uint64_t seed) const {
    Rng rng(seed);
    return sample(n, rng);
  }

 private:
  static constexpr std::size_t none = static_cast<std::size_t>(-1);

  // A run of base features (positions [begin, end) of base_) whose probabilities are within a factor
  // of 2 of the first, `q`: candidates are drawn at rate q and kept with probability p_f / q.
  struct block {
    std::size_t begin, end;
    double q;
  };

  void check_options() const {
    const auto& o = options_;
    detail::check_synthetic_option(o.dims >= 1, "dims >= 1", static_cast<double>(o.dims));
    detail::check_synthetic_option(o.features >= 1, "features >= 1", static_cast<double>(o.features));
    detail::check_synthetic_option(o.features <= std::numeric_limits<std::uint32_t>::max(), "features < 2^32",
                                   static_cast<double>(o.features));
    detail::check_synthetic_option(std::isfinite(o.zipf_exponent) && o.zipf_exponent >= 0, "zipf_exponent >= 0",
                                   o.zipf_exponent);
    detail::check_synthetic_option(o.max_probability > 0 && o.max_probability <= 1, "max_probability in (0, 1]",
                                   o.max_probability);
    detail::check_synthetic_option(o.min_probability >= 0 && o.min_probability < o.max_probability,
                                   "min_probability in [0, max_probability) (0 for the pure power law)",
                                   o.min_probability);
    detail::check_synthetic_option(std::isfinite(o.magnitude_mean) && o.magnitude_mean > 0, "magnitude_mean > 0",
                                   o.magnitude_mean);
    detail::check_synthetic_option(std::isfinite(o.magnitude_std) && o.magnitude_std >= 0, "magnitude_std >= 0",
                                   o.magnitude_std);
    detail::check_synthetic_option(std::isfinite(o.correlation_scale) && o.correlation_scale >= 0,
                                   "correlation_scale >= 0", o.correlation_scale);
    detail::check_synthetic_option(std::isfinite(o.noise_std) && o.noise_std >= 0, "noise_std >= 0", o.noise_std);
    if (o.orthogonal && o.features > o.dims)
      throw option_error("SyntheticActivationsOptions: expected features <= dims for orthogonal features, found " +
                         std::to_string(o.features) + " features in " + std::to_string(o.dims) + " dims");
    if ((o.hierarchy_parents == 0) != (o.hierarchy_children == 0))
      throw option_error(
          "SyntheticActivationsOptions: expected hierarchy_parents and hierarchy_children both 0 or both >= 1, "
          "found " +
          std::to_string(o.hierarchy_parents) + " parents with " + std::to_string(o.hierarchy_children) +
          " children each");
    // P · (1 + C) ≤ F, without overflow.
    if (o.hierarchy_parents > 0 &&
        (o.hierarchy_children >= o.features || o.hierarchy_parents > o.features / (1 + o.hierarchy_children)))
      throw option_error("SyntheticActivationsOptions: expected hierarchy_parents x (1 + hierarchy_children) <= "
                         "features (" +
                         std::to_string(o.features) + "), found " + std::to_string(o.hierarchy_parents) +
                         " parents with " + std::to_string(o.hierarchy_children) + " children each");
  }

  // F Gaussian directions, normalised (in double), or made orthonormal by modified Gram–Schmidt
  // applied twice (once leaves errors of order ε·κ; twice is orthogonal to rounding).
  void draw_features(std::size_t F, std::size_t D) {
    Rng rng(options_.seed);
    std::vector<double> v(F * D);
    for (double& e : v) e = rng.normal();
    for (std::size_t f = 0; f < F; ++f) {
      double* vf = v.data() + f * D;
      for (int pass = 0; pass < (options_.orthogonal ? 2 : 0); ++pass)
        for (std::size_t g = 0; g < f; ++g) {
          const double* vg = v.data() + g * D;
          double dot = 0;
          for (std::size_t j = 0; j < D; ++j) dot += vf[j] * vg[j];
          for (std::size_t j = 0; j < D; ++j) vf[j] -= dot * vg[j];
        }
      double norm = 0;
      for (std::size_t j = 0; j < D; ++j) norm += vf[j] * vf[j];
      norm = std::sqrt(norm);
      // A Gaussian vector (or its remainder after projection, f < D) is 0 with probability 0.
      for (std::size_t j = 0; j < D; ++j) vf[j] /= norm;
    }
    features_ = xt::xtensor<float, 2>::from_shape({F, D});
    for (std::size_t k = 0; k < F * D; ++k) features_.data()[k] = static_cast<float>(v[k]);
  }

  void zipf_probabilities(std::size_t F) {
    probability_.resize(F);
    const double s = options_.zipf_exponent, pmax = options_.max_probability, pmin = options_.min_probability;
    for (std::size_t f = 0; f < F; ++f) probability_[f] = std::pow(static_cast<double>(f + 1), -s);
    if (pmin > 0 && F > 1 && s > 0) {
      // SAELens: the power law's range [(F)^(−s), 1] mapped affinely onto [pmin, pmax].
      const double lo = probability_[F - 1];
      for (double& p : probability_) p = pmin + (pmax - pmin) * (p - lo) / (1 - lo);
    } else {
      for (double& p : probability_) p *= pmax;
    }
  }

  void build_hierarchy(std::size_t F) {
    parent_.assign(F, none);
    conditional_.assign(F, 0.0);
    const std::size_t P = options_.hierarchy_parents, C = options_.hierarchy_children;
    for (std::size_t k = 0; k < P; ++k) {
      const std::size_t first = P + k * C;
      double sum = 0;
      for (std::size_t c = first; c < first + C; ++c) {
        parent_[c] = k;
        conditional_[c] = probability_[c] / probability_[k];
        sum += conditional_[c];
      }
      for (std::size_t c = first; c < first + C; ++c) {
        if (sum > 1) conditional_[c] /= sum;
        probability_[c] = probability_[k] * conditional_[c];
      }
    }
    base_.clear();
    for (std::size_t f = 0; f < F; ++f)
      if (parent_[f] == none) base_.push_back(static_cast<std::uint32_t>(f));
  }

  // Base probabilities do not increase along base_ (Zipf order), so a block starts at its largest.
  void build_blocks() {
    blocks_.clear();
    for (std::size_t a = 0; a < base_.size();) {
      const double q = probability_[base_[a]];
      std::size_t b = a + 1;
      while (b < base_.size() && probability_[base_[b]] * 2 >= q) ++b;
      blocks_.push_back({a, b, q});
      a = b;
    }
  }

  // SAELens's generate_random_low_rank_correlation_matrix: L = scale · N(0, 1) entries, the diagonal
  // 1 − ‖L_f‖²; when a row's norm reaches 1, L is scaled so the largest squared norm is 0.99.
  void draw_correlation(std::size_t F) {
    const std::size_t r = options_.correlation_rank;
    factor_ = xt::zeros<double>({F, r});
    spread_.assign(F, 1.0);
    threshold_.assign(F, 0.0);
    for (std::size_t f = 0; f < F; ++f)
      threshold_[f] = probability_[f] >= 1 ? -std::numeric_limits<double>::infinity()
                                           : -detail::normal_quantile(probability_[f]);
    if (r == 0) return;
    Rng rng(options_.seed ^ 0x510e527fade682d1ULL);  // apart from the features' stream
    double largest = 0;
    std::vector<double> norm2(F, 0.0);
    for (std::size_t f = 0; f < F; ++f)
      for (std::size_t k = 0; k < r; ++k) {
        const double e = options_.correlation_scale * rng.normal();
        if (parent_[f] != none) continue;  // drawn all the same: the stream does not depend on the hierarchy
        factor_(f, k) = e;
        norm2[f] += e * e;
        largest = std::max(largest, norm2[f]);
      }
    if (largest >= 1) {
      const double scale = std::sqrt(0.99 / largest);
      factor_ *= scale;
      for (double& n2 : norm2) n2 *= scale * scale;
    }
    for (std::size_t f = 0; f < F; ++f) spread_[f] = std::sqrt(1 - norm2[f]);
  }

  // The features that fire in one row, ascending: the base features, then each firing parent's child.
  void draw_firings(Rng& rng, std::vector<std::uint32_t>& fired, std::vector<std::uint32_t>& children,
                    std::vector<double>& z) const {
    fired.clear();
    if (options_.correlation_rank == 0) {
      for (const block& b : blocks_) {
        // Candidates at rate q: the gap to the next is geometric, floor(log u / log(1 − q)).
        const double log1mq = std::log1p(-b.q);
        std::size_t j = b.begin;
        for (;;) {
          double u = rng.uniform();
          while (u <= 0) u = rng.uniform();
          const double gap = b.q >= 1 ? 0.0 : std::floor(std::log(u) / log1mq);
          if (gap >= static_cast<double>(b.end - j)) break;
          j += static_cast<std::size_t>(gap);
          const std::uint32_t f = base_[j];
          if (probability_[f] >= b.q || rng.uniform() * b.q < probability_[f]) fired.push_back(f);
          ++j;
        }
      }
    } else {
      const std::size_t r = options_.correlation_rank;
      for (double& e : z) e = rng.normal();
      for (const std::uint32_t f : base_) {
        double g = spread_[f] * rng.normal();
        for (std::size_t k = 0; k < r; ++k) g += factor_(f, k) * z[k];
        if (g > threshold_[f]) fired.push_back(f);
      }
    }
    const std::size_t P = options_.hierarchy_parents, C = options_.hierarchy_children;
    if (P == 0) return;
    children.clear();
    std::size_t split = 0;  // parents are features 0 .. P − 1, a prefix of `fired`
    for (; split < fired.size() && fired[split] < P; ++split) {
      const std::size_t first = P + fired[split] * C;
      const double u = rng.uniform();
      double cumulative = 0;
      for (std::size_t c = first; c < first + C; ++c) {
        cumulative += conditional_[c];
        if (u < cumulative) {
          children.push_back(static_cast<std::uint32_t>(c));
          break;
        }
      }
    }
    // Children (P .. P(1 + C) − 1) lie between the parents and the other base features.
    fired.insert(fired.begin() + static_cast<std::ptrdiff_t>(split), children.begin(), children.end());
  }

  double draw_magnitude(Rng& rng) const {
    if (options_.magnitude_std == 0) return options_.magnitude_mean;
    // Accepted with probability Φ(mean / std) ≥ 1/2: a couple of draws on average.
    double m = 0;
    while (!(m > 0)) m = options_.magnitude_mean + options_.magnitude_std * rng.normal();
    return m;
  }

  SyntheticActivationsOptions options_;
  xt::xtensor<float, 2> features_;
  std::vector<double> probability_;     // marginal firing probability of each feature
  std::vector<std::size_t> parent_;     // parent of each feature, or none
  std::vector<double> conditional_;     // a child's probability of being its firing parent's pick
  std::vector<std::uint32_t> base_;     // the features that are not children, ascending
  std::vector<block> blocks_;           // runs of base_ for the independent draws
  xt::xtensor<double, 2> factor_;       // the copula's L, F × r
  std::vector<double> spread_;          // √(1 − ‖L_f‖²)
  std::vector<double> threshold_;       // Φ⁻¹(1 − p_f)
};

}  // namespace latent
