#pragma once
/// \file
/// Figures for comparing trained models: k-nearest-neighbour accuracy of codes (`knn_accuracy`), a
/// principal-component projection for pictures of codes (`pca_project`), and the per-image
/// reconstruction errors papers report: one value per sample (`mse_per_sample`, `bce_per_sample`) and
/// their means over the samples (`mean_mse_per_sample`, `mean_bce_per_sample`).
/// Example: examples/compare.cpp.

#include "latent/core/error.hpp"

#include <xtensor/xtensor.hpp>  // xt::xtensor: data at the public API

#include <algorithm>    // std::clamp, std::stable_sort
#include <cmath>        // std::abs, std::sqrt, std::log, std::log1p, std::isfinite
#include <cstddef>      // std::size_t
#include <cstdint>      // std::int32_t
#include <numeric>      // std::iota
#include <string>       // std::string, std::to_string
#include <type_traits>  // std::is_floating_point_v
#include <vector>       // std::vector

namespace latent {

namespace detail {

// "3 x 8": a matrix's shape for messages.
template <class M>
std::string shape_text(const M& m) {
  return std::to_string(m.shape()[0]) + " x " + std::to_string(m.shape()[1]);
}

// The same shape, at least one row and one column, else shape_error / data_error naming `where`.
template <class A, class B>
void check_same_shape(const A& a, const B& b, const char* where, const char* a_name, const char* b_name) {
  if (a.shape()[0] != b.shape()[0] || a.shape()[1] != b.shape()[1])
    throw shape_error(std::string(where) + ": expected " + a_name + " and " + b_name + " of the same shape, found " +
                      shape_text(a) + " and " + shape_text(b));
  if (a.shape()[0] == 0 || a.shape()[1] == 0)
    throw data_error(std::string(where) + ": expected at least one row and one column, found " + shape_text(a));
}

// Cyclic Jacobi eigen-decomposition of the symmetric d × d matrix `a` (row-major, destroyed): on return
// its diagonal holds the eigenvalues and the columns of `v` (row-major d × d) the unit eigenvectors.
// Each rotation zeroes one off-diagonal pair; sweeps repeat until the off-diagonal mass is negligible
// next to the diagonal (quadratic convergence: a handful of sweeps for the sizes used here).
inline void jacobi_eigen(std::vector<double>& a, std::vector<double>& v, std::size_t d) {
  v.assign(d * d, 0.0);
  for (std::size_t i = 0; i < d; ++i) v[i * d + i] = 1.0;
  for (int sweep = 0; sweep < 100; ++sweep) {
    double off = 0, diag = 0;
    for (std::size_t i = 0; i < d; ++i) {
      diag += a[i * d + i] * a[i * d + i];
      for (std::size_t j = i + 1; j < d; ++j) off += a[i * d + j] * a[i * d + j];
    }
    if (off <= 1e-30 * diag || off == 0.0) return;
    for (std::size_t p = 0; p < d; ++p)
      for (std::size_t q = p + 1; q < d; ++q) {
        const double apq = a[p * d + q];
        if (apq == 0.0) continue;
        // The rotation angle that zeroes a_pq (Golub & Van Loan, Algorithm 8.4.1), the small root for stability.
        const double theta = (a[q * d + q] - a[p * d + p]) / (2 * apq);
        const double t = (theta >= 0 ? 1.0 : -1.0) / (std::abs(theta) + std::sqrt(theta * theta + 1));
        const double c = 1 / std::sqrt(t * t + 1), s = t * c;
        for (std::size_t k = 0; k < d; ++k) {  // columns p and q: A ← A J
          const double akp = a[k * d + p], akq = a[k * d + q];
          a[k * d + p] = c * akp - s * akq;
          a[k * d + q] = s * akp + c * akq;
        }
        for (std::size_t k = 0; k < d; ++k) {  // rows p and q: A ← Jᵀ A
          const double apk = a[p * d + k], aqk = a[q * d + k];
          a[p * d + k] = c * apk - s * aqk;
          a[q * d + k] = s * apk + c * aqk;
        }
        for (std::size_t k = 0; k < d; ++k) {  // V ← V J
          const double vkp = v[k * d + p], vkq = v[k * d + q];
          v[k * d + p] = c * vkp - s * vkq;
          v[k * d + q] = s * vkp + c * vkq;
        }
      }
  }
}

}  // namespace detail

/// Accuracy of a k-nearest-neighbour classifier on codes: each row of `query_codes` gets the majority
/// label of its `k` nearest rows of `reference_codes` (Euclidean distance), and the result is the
/// fraction of queries whose vote equals their `query_labels` entry. A tie between labels goes to the
/// one whose member is nearest to the query; equal distances keep the earlier reference row.
///
/// The usual measure of how much class structure an unsupervised code keeps: encode the training set
/// as the reference and the test set as queries. Cost O(queries × references × code width), no
/// allocation per query; 2000 queries against 10000 references of width 32 take well under a second.
///
/// Throws `shape_error` when the codes' widths differ or a label vector does not have one entry per
/// row, `option_error` when k is 0 or exceeds the number of reference rows, and `data_error` when
/// there are no queries or the codes hold NaN/Inf.
template <class T>
double knn_accuracy(const xt::xtensor<T, 2>& reference_codes, const xt::xtensor<std::int32_t, 1>& reference_labels,
                    const xt::xtensor<T, 2>& query_codes, const xt::xtensor<std::int32_t, 1>& query_labels,
                    std::size_t k = 5) {
  static_assert(std::is_floating_point_v<T>, "latent: knn_accuracy needs codes of float or double");
  const std::size_t nr = reference_codes.shape()[0], nq = query_codes.shape()[0];
  const std::size_t d = reference_codes.shape()[1];
  if (query_codes.shape()[1] != d)
    throw shape_error("knn_accuracy: expected query codes as wide as the reference codes (" + std::to_string(d) +
                      "), found " + std::to_string(query_codes.shape()[1]));
  if (reference_labels.size() != nr)
    throw shape_error("knn_accuracy: expected one reference label per reference row (" + std::to_string(nr) +
                      "), found " + std::to_string(reference_labels.size()));
  if (query_labels.size() != nq)
    throw shape_error("knn_accuracy: expected one query label per query row (" + std::to_string(nq) + "), found " +
                      std::to_string(query_labels.size()));
  if (k == 0) throw option_error("knn_accuracy: expected k >= 1, found 0");
  if (k > nr)
    throw option_error("knn_accuracy: expected k <= the number of reference rows (" + std::to_string(nr) + "), found " +
                       std::to_string(k));
  if (nq == 0) throw data_error("knn_accuracy: expected at least one query row, found 0");
  for (const T* codes : {reference_codes.data(), query_codes.data()}) {
    const std::size_t count = (codes == reference_codes.data() ? nr : nq) * d;
    for (std::size_t i = 0; i < count; ++i)
      if (!std::isfinite(codes[i]))
        throw data_error(std::string("knn_accuracy: expected finite codes, found ") + std::to_string(codes[i]) +
                         " in row " + std::to_string(i / d) + " of the " +
                         (codes == reference_codes.data() ? "reference" : "query") + " codes");
  }

  // The k best so far, sorted by distance (insertion: k is small).
  std::vector<double> best_d(k);
  std::vector<std::size_t> best_i(k);
  std::vector<double> dist(nr);
  std::size_t correct = 0;
  const T* ref = reference_codes.data();
  for (std::size_t q = 0; q < nq; ++q) {
    const T* x = query_codes.data() + q * d;
    // All distances first, in a loop the compiler can vectorise over references.
    for (std::size_t r = 0; r < nr; ++r) {
      double s = 0;
      for (std::size_t j = 0; j < d; ++j) {
        const double e = static_cast<double>(ref[r * d + j]) - static_cast<double>(x[j]);
        s += e * e;
      }
      dist[r] = s;
    }
    std::size_t found = 0;
    for (std::size_t r = 0; r < nr; ++r) {
      const double s = dist[r];
      if (found == k && !(s < best_d[k - 1])) continue;  // strict: an equal distance keeps the earlier row
      std::size_t pos = found < k ? found++ : k - 1;
      while (pos > 0 && s < best_d[pos - 1]) {
        best_d[pos] = best_d[pos - 1];
        best_i[pos] = best_i[pos - 1];
        --pos;
      }
      best_d[pos] = s;
      best_i[pos] = r;
    }
    // Majority vote; scanning neighbours nearest first, a label only wins with a strictly larger count,
    // so among tied labels the one met first (the nearest) wins.
    std::int32_t vote = reference_labels(best_i[0]);
    std::size_t vote_count = 0;
    for (std::size_t a = 0; a < k; ++a) {
      const std::int32_t label = reference_labels(best_i[a]);
      std::size_t count = 0;
      for (std::size_t b = 0; b < k; ++b) count += reference_labels(best_i[b]) == label ? 1 : 0;
      if (count > vote_count) vote = label, vote_count = count;
    }
    if (vote == query_labels(q)) ++correct;
  }
  return static_cast<double>(correct) / static_cast<double>(nq);
}

/// The rows of `x` (n × d) projected on their first `components` principal components (n ×
/// components): centred on the column means, then multiplied by the unit eigenvectors of the
/// covariance matrix with the largest eigenvalues, largest first. Column j of the result therefore
/// has variance λ_j, in decreasing order.
///
/// Sign convention (eigenvectors are only defined up to sign): each component's largest-magnitude
/// entry is positive (the first such entry on a tie), so the picture is the same on every run.
/// The eigenvectors come from a cyclic Jacobi solver in double precision: accurate to rounding, cost
/// O(n·d² + d³ per sweep) — meant for codes (d up to a few hundred), not for raw wide data.
///
/// Throws `option_error` unless 1 <= components <= d, and `data_error` for an empty matrix or NaN/Inf.
template <class T>
xt::xtensor<T, 2> pca_project(const xt::xtensor<T, 2>& x, std::size_t components = 2) {
  static_assert(std::is_floating_point_v<T>, "latent: pca_project needs data of float or double");
  const std::size_t n = x.shape()[0], d = x.shape()[1];
  if (n == 0 || d == 0)
    throw data_error("pca_project: expected at least one row and one column, found " + detail::shape_text(x));
  if (components == 0 || components > d)
    throw option_error("pca_project: expected 1 <= components <= " + std::to_string(d) + " (the data's width), found " +
                       std::to_string(components));
  std::vector<double> mean(d, 0.0);
  for (std::size_t r = 0; r < n; ++r)
    for (std::size_t j = 0; j < d; ++j) {
      const double v = x(r, j);
      if (!std::isfinite(v))
        throw data_error("pca_project: expected finite values, found " + std::to_string(v) + " in row " +
                         std::to_string(r) + ", column " + std::to_string(j));
      mean[j] += v;
    }
  for (double& m : mean) m /= static_cast<double>(n);
  // Covariance (the 1/n normalisation does not change the eigenvectors), upper triangle then mirrored.
  std::vector<double> cov(d * d, 0.0), row(d);
  for (std::size_t r = 0; r < n; ++r) {
    for (std::size_t j = 0; j < d; ++j) row[j] = static_cast<double>(x(r, j)) - mean[j];
    for (std::size_t i = 0; i < d; ++i)
      for (std::size_t j = i; j < d; ++j) cov[i * d + j] += row[i] * row[j];
  }
  for (std::size_t i = 0; i < d; ++i)
    for (std::size_t j = i; j < d; ++j) cov[j * d + i] = cov[i * d + j] /= static_cast<double>(n);
  std::vector<double> vec;
  detail::jacobi_eigen(cov, vec, d);
  // Eigenvalues largest first; a stable sort keeps equal eigenvalues in column order.
  std::vector<std::size_t> order(d);
  std::iota(order.begin(), order.end(), std::size_t{0});
  std::stable_sort(order.begin(), order.end(),
                   [&](std::size_t a, std::size_t b) { return cov[a * d + a] > cov[b * d + b]; });
  std::vector<double> basis(d * components);  // d × components
  for (std::size_t c = 0; c < components; ++c) {
    const std::size_t col = order[c];
    std::size_t arg = 0;
    for (std::size_t i = 1; i < d; ++i)
      if (std::abs(vec[i * d + col]) > std::abs(vec[arg * d + col])) arg = i;
    const double sign = vec[arg * d + col] < 0 ? -1.0 : 1.0;
    for (std::size_t i = 0; i < d; ++i) basis[i * components + c] = sign * vec[i * d + col];
  }
  xt::xtensor<T, 2> out = xt::xtensor<T, 2>::from_shape({n, components});
  for (std::size_t r = 0; r < n; ++r) {
    for (std::size_t j = 0; j < d; ++j) row[j] = static_cast<double>(x(r, j)) - mean[j];
    for (std::size_t c = 0; c < components; ++c) {
      double s = 0;
      for (std::size_t j = 0; j < d; ++j) s += row[j] * basis[j * components + c];
      out(r, c) = static_cast<T>(s);
    }
  }
  return out;
}

/// Squared error of each sample: entry i is Σ_j (reconstruction_ij − x_ij)², summed over the columns
/// of row i (the "MSE per image" papers report, before averaging; divide by the width for a per-pixel
/// figure). n rows in, n values out, accumulated in double. `mean_mse_per_sample` averages them.
/// Throws `shape_error` when the shapes differ and `data_error` when there is no row or no column.
template <class T>
xt::xtensor<double, 1> mse_per_sample(const xt::xtensor<T, 2>& reconstruction, const xt::xtensor<T, 2>& x) {
  detail::check_same_shape(reconstruction, x, "mse_per_sample", "reconstructions", "data");
  const std::size_t n = x.shape()[0], d = x.shape()[1];
  auto out = xt::xtensor<double, 1>::from_shape({n});
  for (std::size_t r = 0; r < n; ++r) {
    const T* rec = reconstruction.data() + r * d;
    const T* row = x.data() + r * d;
    double total = 0;
    for (std::size_t j = 0; j < d; ++j) {
      const double e = static_cast<double>(rec[j]) - static_cast<double>(row[j]);
      total += e * e;
    }
    out(r) = total;
  }
  return out;
}

/// Binary cross-entropy of each sample: entry i is −Σ_j [x_ij log p_ij + (1 − x_ij) log(1 − p_ij)]
/// summed over the columns of row i — the Bernoulli negative log-likelihood of image i, in nats, for
/// targets in [0, 1] (grey levels are allowed, as in PyTorch's VAE example). `probabilities` are
/// clamped to [1e-7, 1 − 1e-7] so that a confident miss costs about 16 nats, not infinity. n rows in,
/// n values out; `mean_bce_per_sample` averages them.
/// Throws `shape_error` when the shapes differ and `data_error` when there is no row or no column.
template <class T>
xt::xtensor<double, 1> bce_per_sample(const xt::xtensor<T, 2>& probabilities, const xt::xtensor<T, 2>& x) {
  detail::check_same_shape(probabilities, x, "bce_per_sample", "probabilities", "data");
  constexpr double eps = 1e-7;
  const std::size_t n = x.shape()[0], d = x.shape()[1];
  auto out = xt::xtensor<double, 1>::from_shape({n});
  for (std::size_t r = 0; r < n; ++r) {
    const T* prob = probabilities.data() + r * d;
    const T* row = x.data() + r * d;
    double total = 0;
    for (std::size_t j = 0; j < d; ++j) {
      const double p = std::clamp(static_cast<double>(prob[j]), eps, 1 - eps);
      const double t = row[j];
      total -= t * std::log(p) + (1 - t) * std::log1p(-p);
    }
    out(r) = total;
  }
  return out;
}

namespace detail {
// The mean of a non-empty vector of per-sample figures.
inline double mean_of(const xt::xtensor<double, 1>& v) {
  double total = 0;
  for (double e : v) total += e;
  return total / static_cast<double>(v.size());
}
}  // namespace detail

/// The mean over the rows of `mse_per_sample`: one figure, the squared error per image averaged over
/// the images (what `mse_per_sample` returned before it returned one value per sample). Same errors.
template <class T>
double mean_mse_per_sample(const xt::xtensor<T, 2>& reconstruction, const xt::xtensor<T, 2>& x) {
  return detail::mean_of(mse_per_sample(reconstruction, x));
}

/// The mean over the rows of `bce_per_sample`: one figure, the cross-entropy per image averaged over
/// the images, in nats (what `bce_per_sample` returned before it returned one value per sample).
/// Same errors.
template <class T>
double mean_bce_per_sample(const xt::xtensor<T, 2>& probabilities, const xt::xtensor<T, 2>& x) {
  return detail::mean_of(bce_per_sample(probabilities, x));
}

/// The area under the ROC curve of `scores` for telling the rows with `positive[i]` true (e.g.
/// anomalies) from the others, higher scores meaning "more positive": the probability that a random
/// positive scores above a random negative, ties counting one half (the Mann–Whitney U statistic over
/// P·N; 1 is a perfect ranking, 0.5 chance). Throws `shape_error` when the sizes differ and
/// `data_error` for a NaN score or when either class is empty.
inline double roc_auc(const xt::xtensor<double, 1>& scores, const std::vector<bool>& positive) {
  const std::size_t n = scores.size();
  if (positive.size() != n)
    throw shape_error("roc_auc: expected one flag per score (" + std::to_string(n) + "), found " +
                      std::to_string(positive.size()));
  std::size_t p = 0;
  for (std::size_t i = 0; i < n; ++i) {
    if (std::isnan(scores(i)))
      throw data_error("roc_auc: expected scores that are numbers, found NaN at " + std::to_string(i));
    p += positive[i] ? 1 : 0;
  }
  if (p == 0 || p == n)
    throw data_error("roc_auc: expected both positive and negative rows, found " + std::to_string(p) + " positive of " +
                     std::to_string(n));
  std::vector<std::size_t> order(n);
  std::iota(order.begin(), order.end(), std::size_t{0});
  std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) { return scores(a) < scores(b); });
  double positive_ranks = 0;  // ranks from 1, tied scores sharing their mean rank
  for (std::size_t i = 0; i < n;) {
    std::size_t j = i;
    while (j < n && scores(order[j]) == scores(order[i])) ++j;
    const double rank = (static_cast<double>(i + 1) + static_cast<double>(j)) / 2;
    for (std::size_t k = i; k < j; ++k)
      if (positive[order[k]]) positive_ranks += rank;
    i = j;
  }
  const double pd = static_cast<double>(p), nd = static_cast<double>(n - p);
  return (positive_ranks - pd * (pd + 1) / 2) / (pd * nd);
}

}  // namespace latent
