#pragma once
/// \file
/// `latent::VectorQuantizer<Codes, Dim>` (`VectorQuantizerWith<Codes, Dim, Settings>`): the quantiser of
/// a VQ-VAE (van den Oord et al. 2017) — every position of its input replaced by the nearest of `Codes`
/// learned vectors of `Dim` values, with the straight-through gradient, the commitment loss and either
/// a codebook trained by gradient (its parameters) or an EMA codebook (its state) with dead-code
/// restarts. The model around it is `VQVAE` (models/vq_vae.hpp); docs/vq-vae.md has the formulas.

#include "latent/core/concepts.hpp"
#include "latent/core/context.hpp"
#include "latent/core/diagnostics.hpp"
#include "latent/core/random.hpp"
#include "latent/core/shape.hpp"
#include "latent/kernels/gemm.hpp"
#include "latent/layers/keeps_shape.hpp"
#include "latent/layers/norm_rules.hpp"

#include <cstddef>  // std::size_t
#include <cstdio>   // std::snprintf: the settings in the signature
#include <cstdlib>  // std::strtod: the settings in the signature
#include <cstdint>  // std::uint64_t: the EMA codebook's fixed initial seed, the restarts' hash
#include <limits>   // std::numeric_limits: the nearest code's search
#include <string>   // std::string: the signature
#include <type_traits>  // std::is_same_v: the search's AVX-512 and AVX2 reductions
#include <vector>   // std::vector: the EMA codebook's initial values, computed once

namespace latent {

/// The settings of a vector quantiser, as a type whose `static constexpr` members the layer reads (a
/// layer is a description without an object, so its settings are part of its type, as BatchNorm's
/// momentum is; a file saved with other settings refuses to load). Derive and override what you change:
///
///     struct MyVQ : latent::VQSettings { static constexpr bool ema = true; static constexpr double restart_below = 1; };
///
/// Defaults are pythae's `VQVAEConfig` and van den Oord et al.'s (sources in docs/vq-vae.md).
struct VQSettings {
  /// β, the weight of the commitment loss ‖z_e − sg(z_q)‖² (per value of the code, as pythae's mean).
  static constexpr double commitment = 0.25;
  /// The weight of the codebook loss ‖sg(z_e) − z_q‖² (a codebook trained by gradient only).
  static constexpr double codebook_weight = 1.0;
  /// true: the codebook is state, moved once per step by exponential moving averages (no codebook loss).
  static constexpr bool ema = false;
  /// γ of the moving averages N ← γN + (1 − γ)n, m ← γm + (1 − γ)Σz_e.
  static constexpr double decay = 0.99;
  /// ε of the Laplace smoothing of the counts, Ñ_i = (N_i + ε)/(ΣN + Kε)·ΣN.
  static constexpr double epsilon = 1e-5;
  /// EMA only: a code whose count N_i (moving average of its assignments per step) falls below this is
  /// restarted at one of the step's encoder outputs; 0 turns restarts off (pythae has none).
  static constexpr double restart_below = 0;
};

/// An EMA codebook with pythae's decay 0.99 and ε 1e-5, without restarts.
struct VQEMASettings : VQSettings {
  static constexpr bool ema = true;
};

namespace diag {
template <std::size_t N>
struct code_dim {};
template <std::size_t N>
struct receives_channels {};
/// A vector quantiser's codes have Dim values: what it receives must have Dim channels (or, flat, be Dim values).
template <class At, class Layer, class Dim, class Channels, bool Equal>
struct vector_quantizer_dim_does_not_match_its_input_channels {
  static_assert(Equal, "latent: a VectorQuantizer<Codes, Dim> quantises vectors of its input's channels: Dim must "
                       "equal the channels it receives (or the width of a flat input)");
  static constexpr bool value = true;
};
/// A quantiser needs at least one code of at least one value.
template <std::size_t Codes, std::size_t Dim, bool Sized>
struct vector_quantizer_has_a_zero_size {
  static_assert(Sized, "latent: a VectorQuantizer needs Codes >= 1 codes of Dim >= 1 values");
  static constexpr bool value = true;
};
}  // namespace diag

namespace detail {

/// Workspace slots of the nearest-code search (kernels::detail::workspace; the conv layers use 1 to 8).
inline constexpr int vq_packed_slot = 20, vq_distances_slot = 21, vq_norms_slot = 22;

/// The quantiser bound to its input `In` (`shape<Dim, H, W>`: H·W positions, channel-first; `flat<Dim>`:
/// one position). Output: the input's shape, each position's vector replaced by its nearest code.
///
/// - Parameters: the codebook [Codes][Dim] when it is trained by gradient, none with EMA.
/// - State (EMA): the codebook e [Codes][Dim], the counts N [Codes], the sums m [Codes][Dim], and the
///   number of updates (modulo 2²⁴, exact in float), which varies the restarts' picks from step to step.
/// - A step's statistics (EMA): the assignments n [Codes] and the sums Σz_e [Codes][Dim], then with
///   restarts one candidate vector per code [Codes][Dim] and its count [Codes] (see `update_state`).
/// - Shared rows (train mode): per row its codes' indices [P] and its input [Dim·P], in double, so that
///   the statistics and the codebook's gradient are sums over every row of the step in row order — the
///   same bits on one thread and two — given by the slice holding row 0 alone.
/// - Cache: the index of each position's code (P values per row).
template <class In, std::size_t Codes, std::size_t Dim, class S>
struct vector_quantizer_layer : same_shape<In> {
  static constexpr std::size_t K = Codes, D = Dim, P = channels_of<In>::positions;
  static_assert(Codes < (std::size_t(1) << 24), "latent: a VectorQuantizer's indices are kept exactly in float");
  static_assert(S::commitment >= 0 && S::codebook_weight >= 0, "latent: VQ loss weights must be >= 0");
  static_assert(S::decay >= 0 && S::decay < 1, "latent: the EMA decay must be in [0, 1)");
  static_assert(S::epsilon >= 0 && S::restart_below >= 0, "latent: ε and the restart threshold must be >= 0");
  static constexpr bool is_vector_quantizer = true;
  static constexpr bool ema = S::ema;
  static constexpr bool restarts = S::ema && S::restart_below > 0;
  static constexpr const char* name = "VectorQuantizer";
  static constexpr std::size_t in_size = D * P, out_size = D * P;
  static constexpr std::size_t codes = K, code_dim = D, positions = P;
  static constexpr std::size_t param_count = ema ? 0 : K * D;
  static constexpr std::size_t cache_size = P;
  static constexpr std::size_t scratch_size = 0;
  static constexpr std::size_t state_size = ema ? K * D + K + K * D + 1 : 0;
  static constexpr std::size_t step_stats_size = ema ? K + K * D + (restarts ? K * D + K : 0) : 0;
  static constexpr std::size_t shared_per_row = P * (D + 1);
  static constexpr double forward_flops = 3.0 * static_cast<double>(K * D * P);
  /// Where the codebook lives in the state (EMA): e, then N, then m, then the update count.
  static constexpr std::size_t state_counts = K * D, state_sums = K * D + K, state_updates = 2 * K * D + K;

  // A setting as the shortest text that reads back the same double ("0.25", "1e-05").
  static std::string number(double v) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.17g", v);
    for (int digits = 1; digits < 17; ++digits) {
      char shorter[32];
      std::snprintf(shorter, sizeof shorter, "%.*g", digits, v);
      if (std::strtod(shorter, nullptr) == v) return shorter;
    }
    return buf;
  }
  static std::string signature() {
    std::string s = "VectorQuantizer<";
    s.append(std::to_string(K)).append(",").append(std::to_string(D));
    if constexpr (P > 1) s.append(",positions ").append(std::to_string(P));
    s.append(",beta ").append(number(S::commitment));
    if constexpr (ema) {
      s.append(",ema ").append(number(S::decay)).append(",eps ").append(number(S::epsilon));
      if constexpr (restarts) s.append(",restart below ").append(number(S::restart_below));
    } else {
      s.append(",codebook ").append(number(S::codebook_weight));
    }
    return s.append(">");
  }

  /// pythae's initial codebook: uniform in [−1/K, 1/K] (from the model's generator when it is trained
  /// by gradient).
  template <class T>
  static void init(T* params, Rng& rng) {
    if constexpr (!ema)
      for (std::size_t i = 0; i < K * D; ++i) params[i] = static_cast<T>(rng.uniform(-1.0 / K, 1.0 / K));
  }
  /// The EMA codebook's initial values: as `init`'s, from a fixed generator (a layer's state is set
  /// without the model's; restarts replace the unused codes from the data after the first steps).
  template <class T>
  static const T* initial_codebook() {
    static const std::vector<T> book = [] {
      Rng rng(0x5645'4d41'434f'4445ULL ^ (K * 1000003ULL + D));
      std::vector<T> b(K * D);
      for (auto& v : b) v = static_cast<T>(rng.uniform(-1.0 / K, 1.0 / K));
      return b;
    }();
    return book.data();
  }
  /// EMA state: the codebook as `initial_codebook`, every count N_i = 1 (one assignment per step) and
  /// m_i = e_i, so that e = m/N holds from the start and no unused code is divided by ε.
  template <class T>
  static void init_state(T* state) {
    const T* e0 = initial_codebook<T>();
    for (std::size_t i = 0; i < K * D; ++i) state[i] = e0[i], state[state_sums + i] = e0[i];
    for (std::size_t i = 0; i < K; ++i) state[state_counts + i] = T(1);
    state[state_updates] = T(0);
  }

  /// The codebook a pass uses: its parameters, or the EMA state (the initial codebook without a state).
  template <class T>
  static const T* codebook(const T* params, const Context<T>& ctx) {
    if constexpr (ema)
      return ctx.state != nullptr ? ctx.state : initial_codebook<T>();
    else
      return params;
  }

  /// The nearest code (squared distance, the lowest index on a tie) of the vector at x with stride
  /// `step` (channel c at x[c·step]), by the exact search: Σ_c (x_c − e_c)² in double for every code.
  /// `VQVAE::encode_indices` uses it on the quantised codes z_q = e_k, whose nearest code it finds at
  /// distance exactly 0 (the pass's own search is `nearest_codes`).
  template <class T>
  static std::size_t nearest(const T* book, const T* x, std::size_t step) noexcept {
    std::size_t best = 0;
    double best_d = std::numeric_limits<double>::infinity();
    for (std::size_t k = 0; k < K; ++k) {
      const T* e = book + k * D;
      double d = 0;
      for (std::size_t c = 0; c < D; ++c) {
        const double t = static_cast<double>(x[c * step]) - static_cast<double>(e[c]);
        d += t * t;
      }
      if (d < best_d) best_d = d, best = k;
    }
    return best;
  }

  /// Positions per product in `nearest_codes`: their distances to every code stay in L1.
  static constexpr std::size_t search_rows = 16;

  /// The nearest code of each of the n·P positions of x (n rows of the layer's input), written to
  /// `index` as T (row-major, then position): argmin_k ‖e_k‖² − 2·z·e_k, the squared distance
  /// ‖z − e_k‖² without the ‖z‖² that every code shares (it cannot change the argmin). The codebook's
  /// transpose times −2 (exact) is packed once for the product's kernel (kernels::pack_b); then the
  /// positions of each row, `search_rows` at a time and read in place (channel c of position p at
  /// x[c·P + p]), go through the packed product (kernels::gemm_packed, positions × D by D × K) with
  /// ‖e_k‖² as the accumulators' initial value, and each position's argmin is taken over its K
  /// distances (`argmin_rows`; the lowest index on a tie). A position's distances depend only on its
  /// values, the codebook and its place in the row (one chain of FMAs over the D values in order), not
  /// on the batch or its split over threads: two threads find one thread's codes. Against the exact
  /// search (`nearest`) only the rounding differs: codes whose distances agree to within the float
  /// error of ‖e‖² − 2·z·e may be ordered differently; identical codes give identical values, so ties
  /// between them still go to the lowest index. A position with a NaN value gets code 0, as in `nearest`.
  template <class T>
  static void nearest_codes(const T* book, const T* x, std::size_t n, T* index) noexcept {
    using Arch = kernels::arch_for<T, K>;
    constexpr std::size_t packed_size = kernels::packed_size<K, T, Arch>(D);
    constexpr std::size_t C = search_rows < P ? search_rows : P;
    T* norms = kernels::detail::workspace<T, vq_norms_slot>(K);
    T* packed = kernels::detail::workspace<T, vq_packed_slot>(packed_size);
    T* distances = kernels::detail::workspace<T, vq_distances_slot>(C * K);
    for (std::size_t k = 0; k < K; ++k) {
      double s = 0;
      for (std::size_t c = 0; c < D; ++c)
        s += static_cast<double>(book[k * D + c]) * static_cast<double>(book[k * D + c]);
      norms[k] = static_cast<T>(s);
    }
    kernels::pack_b<K, T, Arch>(D, book, 1, D, packed);
    for (std::size_t i = 0; i < packed_size; ++i) packed[i] *= T(-2);
    for (std::size_t r = 0; r < n; ++r)
      for (std::size_t p = 0; p < P; p += C) {
        const std::size_t m = P - p < C ? P - p : C;
        kernels::gemm_packed<K, T, Arch>(m, D, x + r * in_size + p, 1, P, packed, kernels::bias_init<T>{norms},
                                         kernels::store_to<T>{distances});
        argmin_rows<T, Arch>(distances, m, index + r * P + p);
      }
  }

  /// For each of m rows of K values (row-major at d), the index of its least value, the lowest on a
  /// tie, as T; 0 for a row with no value below +∞ (NaN compares false). Per lane of a register, a
  /// running minimum and the column base where it was met, four such pairs in flight, merged in column
  /// order; then the least of the lanes.
  template <class T, class Arch>
  static void argmin_rows(const T* d, std::size_t m, T* index) noexcept {
    using V = kernels::simd<T, Arch>;
    constexpr std::size_t W = V::size, full = K / W, A = full < 4 ? (full > 0 ? full : 1) : 4;
    constexpr T inf = std::numeric_limits<T>::infinity();
    alignas(64) T lanes[2 * W];
    for (std::size_t i = 0; i < m; ++i) {
      const T* row = d + i * K;
      V least[A], base[A];
      for (std::size_t s = 0; s < A; ++s) least[s] = V(inf), base[s] = V(T(0));
      for (std::size_t j = 0; j < full; ++j) {
        const std::size_t s = j % A;
        const V v = V::load_unaligned(row + j * W);
        const auto lower = v < least[s];
        least[s] = xsimd::select(lower, v, least[s]);
        base[s] = xsimd::select(lower, V(static_cast<T>(j * W)), base[s]);
      }
      for (std::size_t s = 1; s < A; ++s) {
        const auto take = least[s] < least[0] || (least[s] == least[0] && base[s] < base[0]);
        least[0] = xsimd::select(take, least[s], least[0]);
        base[0] = xsimd::select(take, base[s], base[0]);
      }
#if defined(__AVX512F__)
      // One register of 16 floats: the least lane and, of the lanes holding it, the lowest code, in
      // registers (a chain of shuffles each) instead of a pass over the lanes.
      if constexpr (std::is_same_v<T, float> && W == 16 && full * W == K) {
        const __m512 v = least[0];
        const float low = _mm512_reduce_min_ps(v);
        const __m512 code =
            _mm512_add_ps(base[0], _mm512_setr_ps(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15));
        index[i] = _mm512_mask_reduce_min_ps(_mm512_cmp_ps_mask(v, _mm512_set1_ps(low), _CMP_EQ_OQ), code);
        continue;
      }
#endif
#if defined(__AVX2__)
      // The same for one register of 8 floats (three shuffles and mins spread the least to every lane).
      if constexpr (std::is_same_v<T, float> && W == 8 && full * W == K) {
        const auto spread = [](__m256 a) {
          a = _mm256_min_ps(a, _mm256_permute2f128_ps(a, a, 1));
          a = _mm256_min_ps(a, _mm256_shuffle_ps(a, a, 0x4e));
          return _mm256_min_ps(a, _mm256_shuffle_ps(a, a, 0xb1));
        };
        const __m256 v = least[0];
        const __m256 code = _mm256_add_ps(base[0], _mm256_setr_ps(0, 1, 2, 3, 4, 5, 6, 7));
        const __m256 at = _mm256_cmp_ps(v, spread(v), _CMP_EQ_OQ);
        index[i] = _mm256_cvtss_f32(spread(_mm256_blendv_ps(_mm256_set1_ps(static_cast<float>(K)), code, at)));
        continue;
      }
#endif
      least[0].store_aligned(lanes);
      base[0].store_aligned(lanes + W);
      for (std::size_t c = full * W; c < K; ++c)  // the last K mod W values, lane c − full·W
        if (row[c] < lanes[c - full * W])
          lanes[c - full * W] = row[c], lanes[W + c - full * W] = static_cast<T>(full * W);
      T low = inf;
      for (std::size_t l = 0; l < W; ++l) low = lanes[l] < low ? lanes[l] : low;
      std::size_t code = K;
      for (std::size_t l = 0; l < W; ++l) {
        const std::size_t k = static_cast<std::size_t>(lanes[W + l]) + l;
        code = lanes[l] == low && k < code ? k : code;
      }
      index[i] = static_cast<T>(code < K ? code : 0);
    }
  }

  /// Quantises each position (the nearest code by `nearest_codes`); adds the batch's VQ loss
  /// (β + codebook weight)/(D·P)·Σ‖z_e − z_q‖² to `ctx.penalty` (β alone with EMA). In train mode it
  /// shares its rows and, from the slice holding row 0, adds the step's statistics (EMA).
  template <class T>
  static void forward(const T* params, const T* x, T* y, T* cache, std::size_t n, Context<T>& ctx) {
    const T* book = codebook(params, ctx);
    nearest_codes(book, x, n, cache);
    double sq = 0;
    for (std::size_t r = 0; r < n; ++r) {
      const T* xr = x + r * in_size;
      T* yr = y + r * in_size;
      for (std::size_t p = 0; p < P; ++p) {
        const auto k = static_cast<std::size_t>(cache[r * P + p]);
        for (std::size_t c = 0; c < D; ++c) {
          yr[c * P + p] = book[k * D + c];
          const double t = static_cast<double>(xr[c * P + p]) - static_cast<double>(book[k * D + c]);
          sq += t * t;
        }
      }
    }
    ctx.penalty += loss_weight * sq;
    if (ctx.mode != Mode::train) return;
    if (!ctx.batch.empty()) {
      for (std::size_t r = 0; r < n; ++r) {
        double* row = ctx.batch.rows + (ctx.batch.first + r) * shared_per_row;
        for (std::size_t p = 0; p < P; ++p) row[p] = static_cast<double>(cache[r * P + p]);
        for (std::size_t i = 0; i < in_size; ++i) row[P + i] = static_cast<double>(x[r * in_size + i]);
      }
      ctx.batch.sync();
    }
    if constexpr (ema) {
      if (ctx.stats != nullptr && (ctx.batch.empty() || ctx.batch.first == 0)) add_stats(x, cache, n, ctx);
    }
  }

  /// Straight-through: dz_e = dz_q, plus the commitment loss's 2β/(D·P)·(z_e − z_q) (scaled by
  /// `grad_scale`). The codebook's gradient (without EMA): −2w/(D·P)·Σ(z_e − e_k) over the positions
  /// assigned to code k, over the whole step's rows (from the slice holding row 0; the others give 0).
  template <class T>
  static void backward(const T* params, const T* x, const T* y, const T* cache, T* dy, T* dx, T* dparams, T*,
                       std::size_t n, Context<T>& ctx) {
    if (dx != nullptr) {
      const T g = static_cast<T>(2.0 * S::commitment / (D * P)) * ctx.grad_scale;
      for (std::size_t i = 0; i < n * in_size; ++i) dx[i] = dy[i] + g * (x[i] - y[i]);
    }
    if constexpr (!ema) {
      for (std::size_t i = 0; i < K * D; ++i) dparams[i] = T(0);
      const bool whole = ctx.mode == Mode::train && !ctx.batch.empty();
      if (whole && ctx.batch.first != 0) return;
      std::vector<double> acc(K * D, 0.0);
      const std::size_t rows = whole ? ctx.batch.count : n;
      for (std::size_t r = 0; r < rows; ++r)
        for (std::size_t p = 0; p < P; ++p) {
          std::size_t k;
          double v[D];
          row_vector(whole, x, cache, ctx, r, p, k, v);
          for (std::size_t c = 0; c < D; ++c) acc[k * D + c] += v[c] - static_cast<double>(params[k * D + c]);
        }
      const double g = -2.0 * S::codebook_weight / (D * P) * static_cast<double>(ctx.grad_scale);
      for (std::size_t i = 0; i < K * D; ++i) dparams[i] = static_cast<T>(g * acc[i]);
    }
  }

  /// The EMA update, once per step from the step's summed statistics (in double):
  /// N_i ← γN_i + (1 − γ)n_i, m_i ← γm_i + (1 − γ)Σz_e, Ñ_i = (N_i + ε)/(ΣN + Kε)·ΣN, e_i = m_i/Ñ_i;
  /// then each code with N_i below the restart threshold τ takes its candidate c_i (an encoder output
  /// of the step, see `add_stats`): e_i = c_i, N_i = τ, m_i = τ·c_i.
  template <class T>
  static void update_state(T* state, const T* stats) {
    if constexpr (ema) {
      const double gamma = S::decay, eps = S::epsilon;
      const double updates = static_cast<double>(state[state_updates]) + 1;
      state[state_updates] = static_cast<T>(updates < 16777216.0 ? updates : 0.0);
      T* e = state;
      T* N = state + state_counts;
      T* m = state + state_sums;
      double total = 0;
      for (std::size_t i = 0; i < K; ++i) {
        N[i] = static_cast<T>(gamma * static_cast<double>(N[i]) + (1 - gamma) * static_cast<double>(stats[i]));
        total += static_cast<double>(N[i]);
        for (std::size_t c = 0; c < D; ++c)
          m[i * D + c] = static_cast<T>(gamma * static_cast<double>(m[i * D + c]) +
                                        (1 - gamma) * static_cast<double>(stats[K + i * D + c]));
      }
      if (total > 0)
        for (std::size_t i = 0; i < K; ++i) {
          const double smoothed = (static_cast<double>(N[i]) + eps) / (total + K * eps) * total;
          for (std::size_t c = 0; c < D; ++c)
            e[i * D + c] = static_cast<T>(static_cast<double>(m[i * D + c]) / smoothed);
        }
      if constexpr (restarts) {
        const T* cand = stats + K + K * D;
        const T* count = cand + K * D;
        const double tau = S::restart_below;
        for (std::size_t i = 0; i < K; ++i) {
          if (!(static_cast<double>(N[i]) < tau) || !(count[i] > T(0))) continue;
          for (std::size_t c = 0; c < D; ++c) {
            const double v = static_cast<double>(cand[i * D + c]) / static_cast<double>(count[i]);
            e[i * D + c] = static_cast<T>(v);
            m[i * D + c] = static_cast<T>(tau * v);
          }
          N[i] = static_cast<T>(tau);
        }
      }
    }
  }

  /// The position among the step's G = rows·P encoder outputs (row-major, then position) of code i's
  /// restart candidate, at the state's update count t: a hash (SplitMix64) of t·K + i, modulo G — a
  /// pseudo-random row of the batch as Jukebox's restarts pick, but fixed by (t, i, G) alone, so any split
  /// of the step picks the same vectors, and unlike evenly spaced picks it cannot alias with a period in
  /// the data's order.
  static constexpr std::size_t candidate_position(std::size_t i, std::size_t G, std::uint64_t t) noexcept {
    std::uint64_t z = t * K + i + 0x9e3779b97f4a7c15ULL;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    z ^= z >> 31;
    return static_cast<std::size_t>(z % G);
  }

  static constexpr double loss_weight = (S::commitment + (ema ? 0.0 : S::codebook_weight)) / (D * P);

 private:
  // Row r's code at position p and its input vector: from the step's shared rows (`whole`) or from
  // this call's rows.
  template <class T>
  static void row_vector(bool whole, const T* x, const T* cache, const Context<T>& ctx, std::size_t r, std::size_t p,
                         std::size_t& k, double* v) {
    if (whole) {
      const double* row = ctx.batch.rows + r * shared_per_row;
      k = static_cast<std::size_t>(row[p]);
      for (std::size_t c = 0; c < D; ++c) v[c] = row[P + c * P + p];
    } else {
      k = static_cast<std::size_t>(cache[r * P + p]);
      for (std::size_t c = 0; c < D; ++c) v[c] = static_cast<double>(x[r * in_size + c * P + p]);
    }
  }
  // The step's statistics over every row in row order (in double): n_i, Σz_e per code, and with
  // restarts each code's candidate (the encoder output at `candidate_position`) with count 1. Over MPI
  // the processes' statistics are summed: the candidate is then the mean of the ranks' picks, the
  // same on every rank.
  template <class T>
  static void add_stats(const T* x, const T* cache, std::size_t n, Context<T>& ctx) {
    const bool whole = !ctx.batch.empty();
    const std::size_t rows = whole ? ctx.batch.count : n;
    std::vector<double> counts(K, 0.0), sums(K * D, 0.0);
    for (std::size_t r = 0; r < rows; ++r)
      for (std::size_t p = 0; p < P; ++p) {
        std::size_t k;
        double v[D];
        row_vector(whole, x, cache, ctx, r, p, k, v);
        counts[k] += 1;
        for (std::size_t c = 0; c < D; ++c) sums[k * D + c] += v[c];
      }
    T* st = ctx.stats;
    for (std::size_t i = 0; i < K; ++i) st[i] += static_cast<T>(counts[i]);
    for (std::size_t i = 0; i < K * D; ++i) st[K + i] += static_cast<T>(sums[i]);
    if constexpr (restarts) {
      const std::size_t G = rows * P;
      if (G == 0) return;
      T* cand = st + K + K * D;
      const auto t = static_cast<std::uint64_t>(ctx.state != nullptr ? ctx.state[state_updates] : T(0));
      for (std::size_t i = 0; i < K; ++i) {
        const std::size_t g = candidate_position(i, G, t);
        std::size_t k;
        double v[D];
        row_vector(whole, x, cache, ctx, g / P, g % P, k, v);
        for (std::size_t c = 0; c < D; ++c) cand[i * D + c] += static_cast<T>(v[c]);
        cand[K * D + i] += T(1);
      }
    }
  }
};

/// The rules of a quantiser receiving `In`: something before it, with Dim channels.
template <class At, class Layer, std::size_t Codes, std::size_t Dim, class In>
constexpr bool check_vector_quantizer() {
  static_assert(diag::vector_quantizer_has_a_zero_size<Codes, Dim, (Codes > 0 && Dim > 0)>::value);
  if constexpr (!check_normalisation<At, Layer, In>()) {
    return false;
  } else {
    constexpr std::size_t C = received_channels<In>::value;
    static_assert(diag::vector_quantizer_dim_does_not_match_its_input_channels<At, Layer, diag::code_dim<Dim>,
                                                                               diag::receives_channels<C>,
                                                                               C == Dim>::value);
    return C == Dim && Codes > 0;
  }
}

/// Is `L` a bound vector quantiser?
template <class L>
concept vector_quantizer_layer_type = requires { requires static_cast<bool>(L::is_vector_quantizer); };

}  // namespace detail

/// A vector quantiser of `Codes` codes of `Dim` values, with `Settings` (`VQSettings`, `VQEMASettings`
/// or a type derived from them). After a shaped layer of Dim channels × H × W it quantises each of the
/// H·W positions (H·W codes per sample); after a flat layer of Dim values, one code. Forward: z_q =
/// the nearest code by squared distance (lowest index on a tie); backward: straight-through, dz_e = dz_q
/// plus the commitment loss's gradient. Loss terms, per sample, added to the training loss through
/// `ctx.penalty` as the Gaussian head's KL: β/(Dim·P)·Σ‖z_e − sg(z_q)‖² and, for a codebook trained by
/// gradient, w/(Dim·P)·Σ‖sg(z_e) − z_q‖² (pythae's means over the code's values). With `ema` the
/// codebook is state, updated once per step (see `update_state`); eval mode reads it and never moves it.
/// Shape rules: it follows a layer whose channels (or flat width) are Dim; Codes, Dim ≥ 1. Write it last
/// in a `VQVAE`'s encoder. Example: tests/test_vq.cpp.
template <std::size_t Codes, std::size_t Dim, class Settings = VQSettings>
struct VectorQuantizerWith {
  static constexpr bool is_vector_quantizer_spec = true;
  static constexpr const char* name = "VectorQuantizer";
  template <class In>
  using bind_shape = detail::vector_quantizer_layer<In, Codes, Dim, Settings>;
  template <class At, class In>
  static constexpr bool check() {
    return detail::check_vector_quantizer<At, VectorQuantizerWith, Codes, Dim, In>();
  }
};

/// A quantiser whose codebook is trained by gradient (β 0.25, codebook loss 1.0).
template <std::size_t Codes, std::size_t Dim>
using VectorQuantizer = VectorQuantizerWith<Codes, Dim, VQSettings>;
/// A quantiser with an EMA codebook (β 0.25, decay 0.99, ε 1e-5, no restarts).
template <std::size_t Codes, std::size_t Dim>
using VectorQuantizerEMA = VectorQuantizerWith<Codes, Dim, VQEMASettings>;

}  // namespace latent
