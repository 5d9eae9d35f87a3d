#pragma once
/// \file
/// `latent::BatchNorm` (`BatchNormWith<Momentum, Epsilon>`): batch normalisation with PyTorch's
/// semantics, per feature after a flat layer and per channel after a shaped one — the first layer of
/// latent with state (the running statistics) and a batch-coupled training pass.

#include "latent/core/concepts.hpp"
#include "latent/core/context.hpp"
#include "latent/core/diagnostics.hpp"
#include "latent/core/random.hpp"
#include "latent/core/shape.hpp"
#include "latent/kernels/norm.hpp"
#include "latent/layers/keeps_shape.hpp"
#include "latent/layers/norm_rules.hpp"

#include <array>        // std::array: per-channel statistics
#include <cmath>        // std::sqrt
#include <cstddef>      // std::size_t
#include <cstdint>      // std::intmax_t
#include <ratio>        // std::ratio: momentum and ε as exact fractions
#include <string>       // std::string: the signature
#include <type_traits>  // std::conditional_t

namespace latent {

namespace detail {

/// BatchNorm bound to its input: C channels of P positions each (a flat input of N features: N
/// channels of one position). Parameters γ (C, initially 1) then β (C, initially 0); state: the
/// running mean (C, initially 0), the running variance (C, initially 1) and the number of batches
/// tracked (1); a step's statistics: Σx and Σx² per channel and the count of values per channel.
template <class In, class Momentum, class Epsilon>
struct batch_norm_layer : same_shape<In> {
  static constexpr std::size_t C = channels_of<In>::channels, P = channels_of<In>::positions;
  static constexpr double momentum = ratio_value<Momentum>(), epsilon = ratio_value<Epsilon>();
  static constexpr const char* name = "BatchNorm";
  static constexpr std::size_t in_size = C * P, out_size = C * P;
  static constexpr std::size_t param_count = 2 * C;
  /// γ and β are both "biases" for weight decay: `decay_biases = false` spares all of BatchNorm's
  /// parameters (the usual practice for normalisation layers).
  static constexpr std::size_t bias_count = 2 * C;
  static constexpr std::size_t cache_size = C * P;  // x̂, for backward
  static constexpr std::size_t scratch_size = 0;
  static constexpr std::size_t state_size = 2 * C + 1;
  static constexpr std::size_t step_stats_size = 2 * C + 1;
  /// Per row of a training step: Σx and Σx² of each channel (forward), Σdy and Σdy·x̂ (backward).
  static constexpr std::size_t shared_per_row = 4 * C;
  static constexpr double forward_flops = 4.0 * static_cast<double>(C * P);

  static std::string signature() {
    std::string s = "BatchNorm<";
    if constexpr (P == 1)
      s.append(std::to_string(C));
    else
      s.append(std::to_string(C)).append("x").append(std::to_string(P));
    s.append(",momentum ").append(std::to_string(Momentum::num)).append("/").append(std::to_string(Momentum::den));
    s.append(",eps ").append(std::to_string(Epsilon::num)).append("/").append(std::to_string(Epsilon::den));
    return s.append(">");
  }

  template <class T>
  static void init(T* params, Rng&) noexcept {
    for (std::size_t c = 0; c < C; ++c) params[c] = T(1), params[C + c] = T(0);
  }
  template <class T>
  static void init_state(T* state) noexcept {
    for (std::size_t c = 0; c < C; ++c) state[c] = T(0), state[C + c] = T(1);
    state[2 * C] = T(0);
  }
  /// PyTorch's update from the step's batch (over every slice, and every process of a data-parallel
  /// run): mean ← (1 − m)·mean + m·μ_B, var ← (1 − m)·var + m·σ²_B·N/(N − 1) (the unbiased variance),
  /// batches tracked + 1. In double, from the sums.
  template <class T>
  static void update_state(T* state, const T* stats) noexcept {
    const double count = static_cast<double>(stats[2 * C]);
    if (!(count > 0)) return;  // no rows this step (a data-parallel rank with none)
    for (std::size_t c = 0; c < C; ++c) {
      const double mean = static_cast<double>(stats[c]) / count;
      double var = static_cast<double>(stats[C + c]) / count - mean * mean;
      if (var < 0) var = 0;
      const double unbiased = count > 1 ? var * count / (count - 1) : var;
      state[c] = static_cast<T>((1 - momentum) * static_cast<double>(state[c]) + momentum * mean);
      state[C + c] = static_cast<T>((1 - momentum) * static_cast<double>(state[C + c]) + momentum * unbiased);
    }
    state[2 * C] = static_cast<T>(static_cast<double>(state[2 * C]) + 1);
  }

  template <class T>
  static void forward(const T* params, const T* x, T* y, T* cache, std::size_t n, Context<T>& ctx) noexcept {
    const T* g = params;
    const T* b = params + C;
    std::array<T, C> mean, inv;
    if (ctx.mode == Mode::train) {
      std::array<double, C> m, v;
      batch_moments(x, n, ctx, m, v);
      for (std::size_t c = 0; c < C; ++c) {
        mean[c] = static_cast<T>(m[c]);
        inv[c] = static_cast<T>(1.0 / std::sqrt(v[c] + epsilon));
      }
    } else {
      // Eval mode: the running statistics (the initial ones when the context has no state).
      for (std::size_t c = 0; c < C; ++c) {
        mean[c] = ctx.state != nullptr ? ctx.state[c] : T(0);
        const double var = ctx.state != nullptr ? static_cast<double>(ctx.state[C + c]) : 1.0;
        inv[c] = static_cast<T>(1.0 / std::sqrt(var + epsilon));
      }
    }
    for (std::size_t r = 0; r < n; ++r) {
      const T* xr = x + r * in_size;
      T* yr = y + r * in_size;
      T* hr = cache + r * in_size;
      if constexpr (P == 1) {
        for (std::size_t c = 0; c < C; ++c) {
          hr[c] = (xr[c] - mean[c]) * inv[c];
          yr[c] = g[c] * hr[c] + b[c];
        }
      } else {
        for (std::size_t c = 0; c < C; ++c)
          kernels::normalise(xr + c * P, P, mean[c], inv[c], g[c], b[c], hr + c * P, yr + c * P);
      }
    }
  }

  template <class T>
  static void backward(const T* params, const T* x, const T*, const T* cache, T* dy, T* dx, T* dparams, T*,
                       std::size_t n, Context<T>& ctx) noexcept {
    const T* g = params;
    T* dg = dparams;
    T* db = dparams + C;
    const T* xhat = cache;
    if (ctx.mode == Mode::train && dx != nullptr) {
      // Σdy and Σdy·x̂ over the whole batch (every slice's rows, summed in row order): they are also
      // the parameters' gradient, which the slice holding row 0 gives alone.
      std::array<double, C> s1, s2, m, v;
      batch_sums_of_gradient(dy, xhat, n, ctx, s1, s2);
      batch_moments(x, n, ctx, m, v, /*add_stats=*/false);
      const double count = static_cast<double>(ctx.batch.empty() ? n : ctx.batch.count) * static_cast<double>(P);
      const bool first_slice = ctx.batch.empty() || ctx.batch.first == 0;
      for (std::size_t c = 0; c < C; ++c) {
        dg[c] = first_slice ? static_cast<T>(s2[c]) : T(0);
        db[c] = first_slice ? static_cast<T>(s1[c]) : T(0);
      }
      std::array<T, C> ta, tb, tc;
      for (std::size_t c = 0; c < C; ++c) {
        const double a = static_cast<double>(g[c]) / std::sqrt(v[c] + epsilon);
        ta[c] = static_cast<T>(a), tb[c] = static_cast<T>(a * s1[c] / count), tc[c] = static_cast<T>(a * s2[c] / count);
      }
      for (std::size_t r = 0; r < n; ++r) {
        if constexpr (P == 1) {  // a row at a time, across the features (contiguous)
          const T* dyr = dy + r * C;
          const T* hr = xhat + r * C;
          T* dxr = dx + r * C;
          for (std::size_t c = 0; c < C; ++c) dxr[c] = ta[c] * dyr[c] - tb[c] - tc[c] * hr[c];
        } else {
          for (std::size_t c = 0; c < C; ++c)
            kernels::normalise_input_gradient(dy + r * in_size + c * P, xhat + r * in_size + c * P, P, ta[c], tb[c],
                                              tc[c], dx + r * in_size + c * P);
        }
      }
      return;
    }
    // Eval mode (fixed statistics), or no input gradient: the parameters' gradient over this call's
    // rows, and in eval mode dx = dy·γ/√(running var + ε).
    for (std::size_t c = 0; c < C; ++c) dg[c] = T(0), db[c] = T(0);
    for (std::size_t r = 0; r < n; ++r)
      for (std::size_t c = 0; c < C; ++c) {
        double s1 = 0, s2 = 0;
        kernels::sum_and_dot(dy + r * in_size + c * P, xhat + r * in_size + c * P, P, s1, s2);
        db[c] += static_cast<T>(s1);
        dg[c] += static_cast<T>(s2);
      }
    if (dx == nullptr) return;
    std::array<T, C> scale;
    for (std::size_t c = 0; c < C; ++c) {
      const double var = ctx.state != nullptr ? static_cast<double>(ctx.state[C + c]) : 1.0;
      scale[c] = static_cast<T>(static_cast<double>(g[c]) / std::sqrt(var + epsilon));
    }
    for (std::size_t r = 0; r < n; ++r) {
      if constexpr (P == 1) {
        for (std::size_t c = 0; c < C; ++c) dx[r * C + c] = scale[c] * dy[r * C + c];
      } else {
        for (std::size_t c = 0; c < C; ++c)
          kernels::scale_values(dy + r * in_size + c * P, P, scale[c], dx + r * in_size + c * P);
      }
    }
  }

 private:
  // The batch's mean and (biased) variance per channel, in double: from the step's shared rows after
  // every slice has written its own (the sums run over all rows in row order, so any split gives the
  // same bits), or from this call's rows when the call is the whole batch. The slice holding row 0
  // adds the step's statistics for `update_state`.
  template <class T>
  static void batch_moments(const T* x, std::size_t n, Context<T>& ctx, std::array<double, C>& mean,
                            std::array<double, C>& var, bool add_stats = true) noexcept {
    std::array<double, C> s1{}, s2{};
    std::size_t rows = n;
    if (ctx.batch.empty()) {
      for (std::size_t r = 0; r < n; ++r) add_row_moments(x + r * in_size, s1, s2);
    } else {
      // Forward writes the slice's rows and meets the others; backward (add_stats false) reads the rows
      // forward left, which nothing has overwritten since.
      if (add_stats) {
        for (std::size_t r = 0; r < n; ++r) {
          double* row = ctx.batch.rows + (ctx.batch.first + r) * shared_per_row;
          std::array<double, C> a{}, q{};
          add_row_moments(x + r * in_size, a, q);
          for (std::size_t c = 0; c < C; ++c) row[c] = a[c], row[C + c] = q[c];
        }
        ctx.batch.sync();
      }
      rows = ctx.batch.count;
      for (std::size_t r = 0; r < rows; ++r) {
        const double* row = ctx.batch.rows + r * shared_per_row;
        for (std::size_t c = 0; c < C; ++c) s1[c] += row[c], s2[c] += row[C + c];
      }
    }
    const double count = static_cast<double>(rows) * static_cast<double>(P);
    for (std::size_t c = 0; c < C; ++c) {
      mean[c] = s1[c] / count;
      var[c] = s2[c] / count - mean[c] * mean[c];
      if (var[c] < 0) var[c] = 0;
    }
    if (add_stats && ctx.stats != nullptr && (ctx.batch.empty() || ctx.batch.first == 0)) {
      for (std::size_t c = 0; c < C; ++c) {
        ctx.stats[c] += static_cast<T>(s1[c]);
        ctx.stats[C + c] += static_cast<T>(s2[c]);
      }
      ctx.stats[2 * C] += static_cast<T>(count);
    }
  }
  template <class T>
  static void add_row_moments(const T* xr, std::array<double, C>& s1, std::array<double, C>& s2) noexcept {
    for (std::size_t c = 0; c < C; ++c) {
      double a = 0, q = 0;
      kernels::sum_and_squares(xr + c * P, P, a, q);
      s1[c] += a;
      s2[c] += q;
    }
  }
  // Σdy and Σdy·x̂ per channel over the whole batch (as `batch_moments`, in the rows' second half).
  template <class T>
  static void batch_sums_of_gradient(const T* dy, const T* xhat, std::size_t n, Context<T>& ctx,
                                     std::array<double, C>& s1, std::array<double, C>& s2) noexcept {
    s1 = {};
    s2 = {};
    const auto row_sums = [&](std::size_t r, std::array<double, C>& a, std::array<double, C>& d) {
      for (std::size_t c = 0; c < C; ++c) {
        double u = 0, w = 0;
        kernels::sum_and_dot(dy + r * in_size + c * P, xhat + r * in_size + c * P, P, u, w);
        a[c] += u;
        d[c] += w;
      }
    };
    if (ctx.batch.empty()) {
      for (std::size_t r = 0; r < n; ++r) row_sums(r, s1, s2);
      return;
    }
    for (std::size_t r = 0; r < n; ++r) {
      double* row = ctx.batch.rows + (ctx.batch.first + r) * shared_per_row + 2 * C;
      std::array<double, C> a{}, d{};
      row_sums(r, a, d);
      for (std::size_t c = 0; c < C; ++c) row[c] = a[c], row[C + c] = d[c];
    }
    ctx.batch.sync();
    for (std::size_t r = 0; r < ctx.batch.count; ++r) {
      const double* row = ctx.batch.rows + r * shared_per_row + 2 * C;
      for (std::size_t c = 0; c < C; ++c) s1[c] += row[c], s2[c] += row[C + c];
    }
  }
};

}  // namespace detail

/// Batch normalisation (PyTorch's BatchNorm1d/2d): per feature after a flat layer, per channel after
/// a shaped one, y = γ·(x − μ)/√(σ² + ε) + β.
/// - Train mode (`fit`'s steps): μ and σ² are the biased statistics of the whole step's batch — every
///   thread's slice of it, summed in row order, so one thread and two give the same bits — and the
///   running statistics move once per step, after the backward pass: mean ← (1 − m)·mean + m·μ,
///   var ← (1 − m)·var + m·σ²·N/(N − 1). Over MPI, each process normalises by its own rows (as
///   PyTorch's DDP without SyncBatchNorm) and the running statistics are updated from the global
///   batch's, summed in the step's one exchange, so every rank keeps the same.
/// - Eval mode (`encode`, `evaluate`, the `Predictor`, exports): the running statistics.
/// `Momentum` m and `Epsilon` ε are `std::ratio`s: `BatchNorm` = `BatchNormWith<std::ratio<1, 10>,
/// std::ratio<1, 100000>>` (PyTorch's 0.1 and 1e-5). Parameters γ (1) then β (0) per channel; state:
/// running mean (0), running variance (1), batches tracked (0). Shape rule: it follows a layer (a
/// normalisation of nothing is a compile error). Example: examples/resnet_vae_fashion_mnist.cpp.
template <class Momentum = std::ratio<1, 10>, class Epsilon = std::ratio<1, 100000>>
struct BatchNormWith {
  static constexpr const char* name = "BatchNorm";
  template <class In>
  using bind_shape = detail::batch_norm_layer<In, Momentum, Epsilon>;
  template <class At, class In>
  static constexpr bool check() {
    return detail::check_normalisation<At, BatchNormWith, In>();
  }
};

/// Batch normalisation with PyTorch's defaults (momentum 0.1, ε 1e-5).
using BatchNorm = BatchNormWith<>;

}  // namespace latent
