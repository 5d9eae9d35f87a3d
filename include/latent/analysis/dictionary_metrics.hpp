#pragma once
/// \file
/// How good a learned sparse dictionary (a sparse autoencoder) is: against the true features of
/// synthetic data (`match_dictionary`: MCC, MMCS, features recovered, uniqueness; `classify_latents`:
/// per-latent precision, recall and F1), and without them (`reconstruction_metrics`: L0, FVU and
/// explained variance, dead latents, cosine(x, x̂), shrinkage). Also the assignment solver MCC needs
/// (`linear_sum_assignment`, the Hungarian algorithm). Definitions and sources: docs/sae-metrics.md.
///
/// Layouts: a dictionary is a matrix with one direction per row: the decoder M × D (M latents; SAELens's
/// `W_dec` [d_sae, d_in]; a decoder stored D × M must be transposed first), the truth F × D
/// (`SyntheticActivations::features()`); data x and x̂ are n × D and codes n × M, one row per sample.
/// Sums run in double whatever the inputs.

#include <xtensor/xtensor.hpp>  // xt::xtensor: data at the public API

#include <algorithm>  // std::fill, std::max, std::min
#include <cmath>      // std::abs, std::sqrt, std::isfinite
#include <cstddef>    // std::size_t
#include <cstdint>    // std::uint64_t (counts)
#include <limits>     // std::numeric_limits
#include <string>     // std::string, std::to_string
#include <vector>     // std::vector (per-latent and per-feature results)

#include "latent/core/error.hpp"
#include "latent/data/synthetic_activations.hpp"  // SparseActivations: the truth's codes
#include "latent/training/metrics.hpp"            // detail::shape_text

namespace latent {

/// The column of a row that `linear_sum_assignment` leaves unassigned (more rows than columns), and
/// the partner of a latent that `match_dictionary` leaves unmatched (more latents than features).
inline constexpr std::size_t unmatched = std::numeric_limits<std::size_t>::max();

namespace detail {

// The Hungarian algorithm with potentials (Kuhn 1955, Munkres 1957; the O(n²m) shortest-augmenting-path
// form of Jonker & Volgenant 1987, as in e-maxx's "Hungarian algorithm"): rows ≤ cols, `cost(i, j)` a
// finite double; returns the column of each row in an assignment of least total cost. Each row is
// added by one Dijkstra-like search over the columns with reduced costs cost − u − v ≥ 0.
template <class Cost>
std::vector<std::size_t> hungarian(std::size_t rows, std::size_t cols, const Cost& cost) {
  constexpr double inf = std::numeric_limits<double>::infinity();
  // 1-based: column 0 is a virtual column holding the row being inserted.
  std::vector<double> u(rows + 1, 0.0), v(cols + 1, 0.0), minv(cols + 1);
  std::vector<std::size_t> row_of(cols + 1, 0), way(cols + 1, 0);
  std::vector<char> used(cols + 1);
  for (std::size_t i = 1; i <= rows; ++i) {
    row_of[0] = i;
    std::size_t j0 = 0;
    std::fill(minv.begin(), minv.end(), inf);
    std::fill(used.begin(), used.end(), char{0});
    do {
      used[j0] = 1;
      const std::size_t i0 = row_of[j0];
      double delta = inf;
      std::size_t j1 = 0;
      for (std::size_t j = 1; j <= cols; ++j) {
        if (used[j]) continue;
        const double reduced = cost(i0 - 1, j - 1) - u[i0] - v[j];
        if (reduced < minv[j]) {
          minv[j] = reduced;
          way[j] = j0;
        }
        if (minv[j] < delta) {
          delta = minv[j];
          j1 = j;
        }
      }
      for (std::size_t j = 0; j <= cols; ++j) {
        if (used[j]) {
          u[row_of[j]] += delta;
          v[j] -= delta;
        } else {
          minv[j] -= delta;
        }
      }
      j0 = j1;
    } while (row_of[j0] != 0);
    do {  // flip the augmenting path back to the virtual column
      const std::size_t j1 = way[j0];
      row_of[j0] = row_of[j1];
      j0 = j1;
    } while (j0 != 0);
  }
  std::vector<std::size_t> col_of(rows, unmatched);
  for (std::size_t j = 1; j <= cols; ++j)
    if (row_of[j] != 0) col_of[row_of[j] - 1] = j - 1;
  return col_of;
}

// Throws data_error unless every entry of `m` is finite.
template <class T>
void check_finite(const xt::xtensor<T, 2>& m, const char* where, const char* name) {
  for (std::size_t k = 0; k < m.size(); ++k)
    if (!std::isfinite(m.data()[k]))
      throw data_error(std::string(where) + ": expected finite values in " + name + ", found " +
                       std::to_string(static_cast<double>(m.data()[k])) + " at row " +
                       std::to_string(k / m.shape()[1]) + ", column " + std::to_string(k % m.shape()[1]));
}

// Dot product of two float rows with four double accumulators (independent chains: faster, same bits
// on every run).
inline double dot_double(const float* a, const float* b, std::size_t n) {
  double s0 = 0, s1 = 0, s2 = 0, s3 = 0;
  std::size_t j = 0;
  for (; j + 4 <= n; j += 4) {
    s0 += static_cast<double>(a[j]) * b[j];
    s1 += static_cast<double>(a[j + 1]) * b[j + 1];
    s2 += static_cast<double>(a[j + 2]) * b[j + 2];
    s3 += static_cast<double>(a[j + 3]) * b[j + 3];
  }
  for (; j < n; ++j) s0 += static_cast<double>(a[j]) * b[j];
  return (s0 + s1) + (s2 + s3);
}

}  // namespace detail

/// The rectangular linear assignment problem (SciPy's `linear_sum_assignment`): for an n × m `cost`
/// matrix (T float or double, finite), pairs min(n, m) rows with distinct columns so that the sum of
/// their costs is least. Returns the column of each of the n rows, `unmatched` for the n − m rows left
/// over when n > m. The Hungarian algorithm (Kuhn–Munkres with Jonker–Volgenant's shortest augmenting
/// paths), O(min(n, m)² · max(n, m)) time, O(n + m) memory beside the matrix. Ties are broken
/// deterministically. To maximise, pass −cost. Throws `data_error` for a NaN or infinite cost.
template <class T>
std::vector<std::size_t> linear_sum_assignment(const xt::xtensor<T, 2>& cost) {
  const std::size_t n = cost.shape()[0], m = cost.shape()[1];
  detail::check_finite(cost, "linear_sum_assignment", "the cost matrix");
  if (n <= m)
    return detail::hungarian(n, m, [&](std::size_t i, std::size_t j) { return static_cast<double>(cost(i, j)); });
  // More rows than columns: assign the columns to rows, then invert.
  const std::vector<std::size_t> row_of_col =
      detail::hungarian(m, n, [&](std::size_t j, std::size_t i) { return static_cast<double>(cost(i, j)); });
  std::vector<std::size_t> col_of(n, unmatched);
  for (std::size_t j = 0; j < m; ++j) col_of[row_of_col[j]] = j;
  return col_of;
}

/// A learned dictionary (M latents) compared with the true features (F), as `match_dictionary`
/// returns it. Cosines are of the directions (the rows), so a row's scale does not matter; a zero row
/// has cosine 0 with everything (SAELens clamps norms at 1e-8 alike).
struct DictionaryMatch {
  /// MCC, the mean correlation coefficient (SAELens `mean_correlation_coefficient`, which cites
  /// "Compute Optimal Inference and Provable Amortisation Gap in Sparse Autoencoders", arXiv:2411.13117,
  /// and "Position: Mechanistic Interpretability Should Prioritize Feature Consistency in SAEs",
  /// arXiv:2505.20254): the one-to-one matching of latents to features that maximises
  /// Σ |cos|, found by the Hungarian algorithm, and the mean |cos| of its min(F, M) pairs. In [0, 1];
  /// 1 when every feature (or every latent, if M < F) has an exact copy, sign aside.
  double mcc = 0;
  /// MMCS, the mean max cosine similarity of Sharkey, Braun & Millidge ("Taking features out of
  /// superposition with sparse autoencoders", 2022): (1/F) Σ_f max_m cos(d_m, t_f), signed, as their
  /// code computes it: a latent pointing against a feature does not recover it (an SAE's codes are
  /// non-negative, so −t_f cannot make t_f). In [−1, 1].
  double mmcs = 0;
  /// The same with |cos|, (1/F) Σ_f max_m |cos(d_m, t_f)|: the sign convention of SAELens's MCC and
  /// SynthSAEBench's matching. In [0, 1]; ≥ mcc when F ≤ M.
  double mmcs_abs = 0;
  /// The fraction of true features f with max_m |cos(d_m, t_f)| > `threshold` (recovered features).
  double recovered = 0;
  /// The threshold `recovered` used.
  double threshold = 0.9;
  /// SynthSAEBench's feature uniqueness (SAELens `feature_uniqueness`): the number of distinct
  /// features among the latents' best matches (`latent_feature`), over M. 1 when no two latents track
  /// the same feature.
  double uniqueness = 0;
  /// F, the number of true features.
  std::size_t features = 0;
  /// M entries: the true feature with the largest |cos| with latent m (the first on a tie):
  /// SynthSAEBench's best match, which `classify_latents` scores each latent against.
  std::vector<std::size_t> latent_feature;
  /// M entries: latent m's partner in the MCC matching, or `unmatched` (M > F leaves M − F latents out).
  std::vector<std::size_t> matched_feature;
  /// M entries: |cos| of latent m with its partner, 0 when unmatched.
  std::vector<double> matched_cosine;
  /// F entries: max_m |cos(d_m, t_f)|, how well feature f is recovered (its histogram is the usual
  /// picture of a dictionary's recovery).
  std::vector<double> feature_best_cosine;
};

/// Compares a learned dictionary `decoder` (M × D, one direction per row) with the true features
/// `truth` (F × D, one per row) by the cosines of their rows (`DictionaryMatch` gives each definition
/// and its source). `threshold` (in [0, 1]) sets `recovered`. Holds the M × F cosines as floats
/// (4·M·F bytes: 256 MiB at SynthSAEBench-16k's 16 384 features and 4 096 latents); the Hungarian
/// matching costs O(min(F, M)² · max(F, M)) at worst. Throws `shape_error` naming both shapes when
/// the widths differ, `data_error` for an empty matrix or a non-finite value, `option_error` for a
/// threshold outside [0, 1].
inline DictionaryMatch match_dictionary(const xt::xtensor<float, 2>& decoder, const xt::xtensor<float, 2>& truth,
                                        double threshold = 0.9) {
  const char* where = "match_dictionary";
  const std::size_t M = decoder.shape()[0], F = truth.shape()[0], D = decoder.shape()[1];
  if (truth.shape()[1] != D)
    throw shape_error(std::string(where) + ": expected the decoder (M x D) and the truth (F x D) to have the same " +
                      "width D, found decoder " + detail::shape_text(decoder) + " and truth " +
                      detail::shape_text(truth));
  if (M == 0 || F == 0 || D == 0)
    throw data_error(std::string(where) + ": expected at least one latent, one feature and one dimension, found " +
                     "decoder " + detail::shape_text(decoder) + " and truth " + detail::shape_text(truth));
  if (!(threshold >= 0 && threshold <= 1))
    throw option_error(std::string(where) + ": expected a threshold in [0, 1], found " + std::to_string(threshold));
  detail::check_finite(decoder, where, "the decoder");
  detail::check_finite(truth, where, "the truth");

  auto inverse_norms = [D](const xt::xtensor<float, 2>& w) {
    std::vector<double> out(w.shape()[0]);
    for (std::size_t r = 0; r < out.size(); ++r)
      out[r] = 1 / std::max(std::sqrt(detail::dot_double(w.data() + r * D, w.data() + r * D, D)), 1e-8);
    return out;
  };
  const std::vector<double> inv_d = inverse_norms(decoder), inv_t = inverse_norms(truth);
  xt::xtensor<float, 2> cosine = xt::xtensor<float, 2>::from_shape({M, F});  // signed, latent × feature
  for (std::size_t m = 0; m < M; ++m)
    for (std::size_t f = 0; f < F; ++f)
      cosine(m, f) = static_cast<float>(detail::dot_double(decoder.data() + m * D, truth.data() + f * D, D) *
                                        inv_d[m] * inv_t[f]);

  DictionaryMatch out;
  out.threshold = threshold;
  out.features = F;
  out.latent_feature.assign(M, 0);
  out.feature_best_cosine.assign(F, 0.0);
  std::vector<double> best_signed(F, -std::numeric_limits<double>::infinity());
  for (std::size_t m = 0; m < M; ++m) {
    double best = -1;
    for (std::size_t f = 0; f < F; ++f) {
      const double c = cosine(m, f), a = std::abs(c);
      if (a > best) {
        best = a;
        out.latent_feature[m] = f;
      }
      out.feature_best_cosine[f] = std::max(out.feature_best_cosine[f], a);
      best_signed[f] = std::max(best_signed[f], c);
    }
  }
  std::size_t recovered = 0;
  for (std::size_t f = 0; f < F; ++f) {
    out.mmcs += best_signed[f];
    out.mmcs_abs += out.feature_best_cosine[f];
    if (out.feature_best_cosine[f] > threshold) ++recovered;
  }
  out.mmcs /= static_cast<double>(F);
  out.mmcs_abs /= static_cast<double>(F);
  out.recovered = static_cast<double>(recovered) / static_cast<double>(F);
  std::vector<char> seen(F, 0);
  std::size_t distinct = 0;
  for (const std::size_t f : out.latent_feature)
    if (!seen[f]) {
      seen[f] = 1;
      ++distinct;
    }
  out.uniqueness = static_cast<double>(distinct) / static_cast<double>(M);

  // The matching maximises Σ |cos|: least Σ −|cos|, on the smaller side as rows.
  out.matched_feature.assign(M, unmatched);
  out.matched_cosine.assign(M, 0.0);
  if (M <= F) {
    out.matched_feature = detail::hungarian(
        M, F, [&](std::size_t m, std::size_t f) { return -std::abs(static_cast<double>(cosine(m, f))); });
  } else {
    const std::vector<std::size_t> latent_of = detail::hungarian(
        F, M, [&](std::size_t f, std::size_t m) { return -std::abs(static_cast<double>(cosine(m, f))); });
    for (std::size_t f = 0; f < F; ++f) out.matched_feature[latent_of[f]] = f;
  }
  for (std::size_t m = 0; m < M; ++m)
    if (out.matched_feature[m] != unmatched) {
      out.matched_cosine[m] = std::abs(static_cast<double>(cosine(m, out.matched_feature[m])));
      out.mcc += out.matched_cosine[m];
    }
  out.mcc /= static_cast<double>(std::min(F, M));
  return out;
}

/// Each latent as a detector of its best-matching true feature, as SynthSAEBench scores it (SAELens
/// `sae_lens/synthetic/evals.py`, `ClassificationMetricsCalculator`): on a sample, latent m "predicts"
/// that feature f = `DictionaryMatch::latent_feature[m]` fires. Per latent, over the n rows: TP = rows
/// where both fire, FP = the latent fires and f does not, FN = f fires and the latent does not, TN the
/// rest. A latent fires when its code is nonzero and a feature when its true magnitude is (SAELens
/// tests > 0: the same for the non-negative codes of ReLU, TopK and JumpReLU SAEs).
struct LatentClassification {
  /// M entries: TP / (TP + FP), 0 when the latent never fires.
  std::vector<double> precision;
  /// M entries: TP / (TP + FN), 0 when the feature never fires.
  std::vector<double> recall;
  /// M entries: 2·P·R / (P + R), 0 when both are 0.
  std::vector<double> f1;
  /// M entries: (TP + TN) / n.
  std::vector<double> accuracy;
  /// Means over all M latents (dead ones included, with their zeros), as SynthSAEBench reports them.
  double mean_precision = 0, mean_recall = 0, mean_f1 = 0, mean_accuracy = 0;
};

namespace detail {

// classify_latents on any truth: `mark(i, flags, v)` sets flags[f] = v for the features f that fire in
// row i (called with 1, then with 0 to clear them again).
template <class Mark>
LatentClassification classify_latents_impl(const DictionaryMatch& match, const xt::xtensor<float, 2>& codes,
                                           std::size_t truth_rows, std::size_t truth_features, const Mark& mark) {
  const char* where = "classify_latents";
  const std::size_t n = codes.shape()[0], M = codes.shape()[1];
  if (M != match.latent_feature.size())
    throw shape_error(std::string(where) + ": expected codes with one column per latent of the match (" +
                      std::to_string(match.latent_feature.size()) + "), found codes " + shape_text(codes));
  if (truth_rows != n || truth_features != match.features)
    throw shape_error(std::string(where) + ": expected true activations of n x F = " + std::to_string(n) + " x " +
                      std::to_string(match.features) + " (the codes' rows, the match's features), found " +
                      std::to_string(truth_rows) + " x " + std::to_string(truth_features));
  if (n == 0 || M == 0)
    throw data_error(std::string(where) + ": expected at least one row and one latent, found codes " +
                     shape_text(codes));
  std::vector<std::uint64_t> tp(M, 0), fp(M, 0), fn(M, 0);
  std::vector<char> flags(truth_features, 0);
  for (std::size_t i = 0; i < n; ++i) {
    mark(i, flags, char{1});
    const float* c = codes.data() + i * M;
    for (std::size_t m = 0; m < M; ++m) {
      const bool latent = c[m] != 0, feature = flags[match.latent_feature[m]] != 0;
      tp[m] += latent && feature;
      fp[m] += latent && !feature;
      fn[m] += !latent && feature;
    }
    mark(i, flags, char{0});
  }
  LatentClassification out;
  out.precision.resize(M);
  out.recall.resize(M);
  out.f1.resize(M);
  out.accuracy.resize(M);
  for (std::size_t m = 0; m < M; ++m) {
    const auto t = static_cast<double>(tp[m]), p = static_cast<double>(fp[m]), q = static_cast<double>(fn[m]);
    out.precision[m] = tp[m] + fp[m] > 0 ? t / (t + p) : 0.0;
    out.recall[m] = tp[m] + fn[m] > 0 ? t / (t + q) : 0.0;
    const double pr = out.precision[m] + out.recall[m];
    out.f1[m] = pr > 0 ? 2 * out.precision[m] * out.recall[m] / pr : 0.0;
    out.accuracy[m] = (static_cast<double>(n) - p - q) / static_cast<double>(n);
    out.mean_precision += out.precision[m];
    out.mean_recall += out.recall[m];
    out.mean_f1 += out.f1[m];
    out.mean_accuracy += out.accuracy[m];
  }
  const auto dm = static_cast<double>(M);
  out.mean_precision /= dm;
  out.mean_recall /= dm;
  out.mean_f1 /= dm;
  out.mean_accuracy /= dm;
  return out;
}

}  // namespace detail

/// `LatentClassification` of the latents of `match` from their `codes` (n × M) on n rows whose true
/// code is `truth` (sparse, n × F: `SyntheticSample::activations`). Throws `shape_error` naming both
/// shapes when codes and truth disagree with each other or with the match, `data_error` when empty.
inline LatentClassification classify_latents(const DictionaryMatch& match, const xt::xtensor<float, 2>& codes,
                                             const SparseActivations& truth) {
  return detail::classify_latents_impl(
      match, codes, truth.rows, truth.features, [&](std::size_t i, std::vector<char>& flags, char v) {
        for (std::size_t k = truth.row_start[i]; k < truth.row_start[i + 1]; ++k) flags[truth.feature[k]] = v;
      });
}

/// The same with the truth as a dense n × F matrix (entry (i, f) nonzero when feature f fires in row i).
inline LatentClassification classify_latents(const DictionaryMatch& match, const xt::xtensor<float, 2>& codes,
                                             const xt::xtensor<float, 2>& truth) {
  const std::size_t F = truth.shape()[1];
  return detail::classify_latents_impl(match, codes, truth.shape()[0], F,
                                       [&](std::size_t i, std::vector<char>& flags, char v) {
                                         for (std::size_t f = 0; f < F; ++f)
                                           if (truth(i, f) != 0) flags[f] = v;
                                       });
}

/// The metrics of a sparse dictionary that need no truth, from the inputs x, the reconstructions x̂ and
/// the codes, as `reconstruction_metrics` returns them (defined as SAELens's `sae_lens/synthetic/evals.py`
/// computes them).
struct ReconstructionMetrics {
  /// L0: the mean over rows of the number of nonzero codes.
  double l0 = 0;
  /// Fraction of variance unexplained: FVU = Σ_i ‖x_i − x̂_i‖² / Σ_i ‖x_i − x̄‖², x̄ the mean row of x
  /// (SAELens's `ExplainedVarianceCalculator` computes 1 − FVU).
  double fvu = 0;
  /// Explained variance (R²), 1 − FVU.
  double explained_variance = 0;
  /// The number of latents whose code is 0 in every row of the sample (dead on this sample).
  std::size_t dead_latents = 0;
  /// dead_latents / M.
  double dead_fraction = 0;
  /// The mean over rows of cos(x_i, x̂_i) (0 for a row with x̂_i = 0).
  double mean_cosine = 0;
  /// Shrinkage, the mean over rows of ‖x̂_i‖ / ‖x_i‖ (SAELens `ShrinkageCalculator`): below 1 when the
  /// dictionary shrinks its reconstructions, as an L1 penalty does.
  double shrinkage = 0;
  /// The rows that `mean_cosine` and `shrinkage` average over: those with ‖x_i‖ > 1e-6 (SAELens's
  /// `min_input_norm`: for a zero input both are undefined).
  std::size_t rows_used = 0;
};

/// `ReconstructionMetrics` of `x` (n × D), its reconstruction `x_hat` (n × D) and the `codes` (n × M)
/// that made it. Throws `shape_error` naming both shapes when x and x̂ differ or the codes have another
/// number of rows, `data_error` for empty input, a non-finite value, or x whose rows are all equal
/// (FVU divides by the spread of x).
inline ReconstructionMetrics reconstruction_metrics(const xt::xtensor<float, 2>& x, const xt::xtensor<float, 2>& x_hat,
                                                    const xt::xtensor<float, 2>& codes) {
  const char* where = "reconstruction_metrics";
  detail::check_same_shape(x, x_hat, where, "x", "x_hat");
  const std::size_t n = x.shape()[0], D = x.shape()[1], M = codes.shape()[1];
  if (codes.shape()[0] != n)
    throw shape_error(std::string(where) + ": expected codes with one row per row of x, found x " +
                      detail::shape_text(x) + " and codes " + detail::shape_text(codes));
  if (M == 0)
    throw data_error(std::string(where) + ": expected at least one latent, found codes " + detail::shape_text(codes));
  detail::check_finite(x, where, "x");
  detail::check_finite(x_hat, where, "x_hat");
  detail::check_finite(codes, where, "the codes");

  ReconstructionMetrics out;
  std::vector<double> mean(D, 0.0);
  for (std::size_t i = 0; i < n; ++i)
    for (std::size_t j = 0; j < D; ++j) mean[j] += x(i, j);
  for (double& v : mean) v /= static_cast<double>(n);
  double residual = 0, spread = 0, cosine = 0, shrink = 0;
  for (std::size_t i = 0; i < n; ++i) {
    double xx = 0, hh = 0, xh = 0;
    for (std::size_t j = 0; j < D; ++j) {
      const double a = x(i, j), b = x_hat(i, j);
      residual += (a - b) * (a - b);
      spread += (a - mean[j]) * (a - mean[j]);
      xx += a * a;
      hh += b * b;
      xh += a * b;
    }
    const double nx = std::sqrt(xx), nh = std::sqrt(hh);
    if (nx > 1e-6) {
      ++out.rows_used;
      shrink += nh / nx;
      cosine += nh > 0 ? xh / (nx * nh) : 0.0;
    }
  }
  if (!(spread > 0))
    throw data_error(std::string(where) + ": expected rows of x that differ (FVU divides by their spread), found " +
                     std::to_string(n) + " equal rows");
  out.fvu = residual / spread;
  out.explained_variance = 1 - out.fvu;
  out.mean_cosine = out.rows_used > 0 ? cosine / static_cast<double>(out.rows_used) : 0.0;
  out.shrinkage = out.rows_used > 0 ? shrink / static_cast<double>(out.rows_used) : 0.0;

  std::vector<char> alive(M, 0);
  std::uint64_t nonzero = 0;
  for (std::size_t i = 0; i < n; ++i) {
    const float* c = codes.data() + i * M;
    for (std::size_t m = 0; m < M; ++m)
      if (c[m] != 0) {
        ++nonzero;
        alive[m] = 1;
      }
  }
  out.l0 = static_cast<double>(nonzero) / static_cast<double>(n);
  for (const char a : alive) out.dead_latents += a == 0;
  out.dead_fraction = static_cast<double>(out.dead_latents) / static_cast<double>(M);
  return out;
}

}  // namespace latent
