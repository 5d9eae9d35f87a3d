#pragma once
/// \file
/// `latent::SpatialAttention<Groups, Epsilon>`: self-attention over the positions of a shaped input, with
/// its skip — the middle block of latent diffusion's autoencoder (diffusers' `AttnBlock`).

#include "latent/core/concepts.hpp"
#include "latent/core/context.hpp"
#include "latent/core/diagnostics.hpp"
#include "latent/core/random.hpp"
#include "latent/core/shape.hpp"
#include "latent/layers/group_norm.hpp"
#include "latent/layers/norm_rules.hpp"
#include "latent/layers/shape_layers.hpp"

#include <algorithm>  // std::fill_n, std::copy_n, std::max
#include <cmath>      // std::sqrt, std::exp
#include <cstddef>    // std::size_t
#include <ratio>      // std::ratio: GroupNorm's ε
#include <string>     // std::string: the signature

namespace latent {

namespace diag {
/// Attention runs over the positions of a shaped input (channels × height × width).
template <class At, class Layer, class Receives, bool Shaped>
struct spatial_attention_needs_a_shaped_input {
  static_assert(Shaped,
                "latent: SpatialAttention attends over the positions of an image (channels x height x width); "
                "put it after a convolution or a Reshape<C, H, W>, not after a flat layer");
  static constexpr bool value = true;
};
}  // namespace diag

namespace detail {

/// SpatialAttention bound to `shape<C, H, W>`: h = GroupNorm(x); q, k, v = 1×1 convolutions of h (C → C);
/// a = softmax over positions j of q_i·k_j/√C; o_i = Σ_j a_ij v_j; y = x + 1×1 convolution of o.
/// Parameters: GroupNorm's γ, β (2C), then W_q, b_q, W_k, b_k, W_v, b_v, W_out, b_out (each W as
/// PyTorch's 1×1 Conv2d weight [out][in], then its C biases).
template <class In, std::size_t G, class Epsilon>
struct attention_layer {
  static constexpr std::size_t C = In::channels, N = In::height * In::width, CN = C * N;
  using norm = group_norm_layer<In, G, Epsilon>;
  using in_shape = In;
  using out_shape = In;
  static constexpr const char* name = "SpatialAttention";
  static constexpr std::size_t in_size = CN, out_size = CN;
  static constexpr std::size_t projection = C * C + C;  // one 1×1 convolution's weights and bias
  static constexpr std::size_t param_count = norm::param_count + 4 * projection;
  static constexpr std::size_t q_at = norm::param_count, k_at = q_at + projection, v_at = k_at + projection,
                               out_at = v_at + projection;
  // Per sample: the norm's cache, h, q, k, v, the attention (N × N) and o.
  static constexpr std::size_t h_at = norm::cache_size, qc = h_at + CN, kc = qc + CN, vc = kc + CN, ac = vc + CN,
                               oc = ac + N * N;
  static constexpr std::size_t cache_size = oc + CN;
  // In backward (one sample at a time): d o, d a (then d s), d q, d k, d v, d h, the norm's input gradient.
  static constexpr std::size_t scratch_size = 7 * CN + N * N;
  static constexpr double forward_flops = 2.0 * 4 * C * C * N + 2.0 * 2 * C * N * N + norm::forward_flops;

  static std::string signature() {
    return "SpatialAttention<" + std::to_string(G) + ",in " + std::to_string(C) + "x" + std::to_string(In::height) +
           "x" + std::to_string(In::width) + ",eps " + std::to_string(Epsilon::num) + "/" +
           std::to_string(Epsilon::den) + ">";
  }

  /// GroupNorm as its own init; each projection as PyTorch's Conv2d: U(−1/√C, 1/√C) for weights and
  /// biases (a zero output projection would make the block start as the identity and hide bugs).
  template <class T>
  static void init(T* params, Rng& rng) {
    norm::init(params, rng);
    const double bound = 1.0 / std::sqrt(static_cast<double>(C));
    for (std::size_t i = norm::param_count; i < param_count; ++i) params[i] = static_cast<T>(rng.uniform(-bound, bound));
  }

  template <class T>
  static void forward(const T* params, const T* x, T* y, T* cache, std::size_t n, Context<T>& ctx) {
    for (std::size_t r = 0; r < n; ++r) {
      T* c = cache + r * cache_size;
      const T* xr = x + r * CN;
      norm::forward(params, xr, c + h_at, c, 1, ctx);
      project(params + q_at, c + h_at, c + qc);
      project(params + k_at, c + h_at, c + kc);
      project(params + v_at, c + h_at, c + vc);
      T* a = c + ac;
      std::fill_n(a, N * N, T(0));
      const T scale = static_cast<T>(1.0 / std::sqrt(static_cast<double>(C)));
      for (std::size_t ch = 0; ch < C; ++ch)
        for (std::size_t i = 0; i < N; ++i) {
          const T qi = c[qc + ch * N + i] * scale;
          for (std::size_t j = 0; j < N; ++j) a[i * N + j] += qi * c[kc + ch * N + j];
        }
      for (std::size_t i = 0; i < N; ++i) softmax_row(a + i * N);
      T* o = c + oc;
      std::fill_n(o, CN, T(0));
      for (std::size_t ch = 0; ch < C; ++ch)
        for (std::size_t i = 0; i < N; ++i) {
          T s = T(0);
          for (std::size_t j = 0; j < N; ++j) s += a[i * N + j] * c[vc + ch * N + j];
          o[ch * N + i] = s;
        }
      T* yr = y + r * CN;
      project(params + out_at, o, yr);
      for (std::size_t i = 0; i < CN; ++i) yr[i] += xr[i];
    }
  }

  template <class T>
  static void backward(const T* params, const T* x, const T*, const T* cache, T* dy, T* dx, T* dparams, T* scratch,
                       std::size_t n, Context<T>& ctx) {
    std::fill_n(dparams, param_count, T(0));
    for (std::size_t r = 0; r < n; ++r) {
      const T* c = cache + r * cache_size;
      const T* dyr = dy + r * CN;
      T* s = scratch;
      T* d_o = s;
      T* da = d_o + CN;
      T* dq = da + N * N;
      T* dk = dq + CN;
      T* dv = dk + CN;
      T* dh = dv + CN;
      T* dxn = dh + CN;
      // y = x + W_out·o + b_out.
      project_backward(params + out_at, c + oc, dyr, dparams + out_at, d_o);
      // o_i = Σ_j a_ij v_j: d a_ij = d o_i · v_j; d v_j = Σ_i a_ij d o_i.
      const T* a = c + ac;
      std::fill_n(da, N * N, T(0));
      std::fill_n(dv, CN, T(0));
      for (std::size_t ch = 0; ch < C; ++ch)
        for (std::size_t i = 0; i < N; ++i) {
          const T g = d_o[ch * N + i];
          for (std::size_t j = 0; j < N; ++j) {
            da[i * N + j] += g * c[vc + ch * N + j];
            dv[ch * N + j] += a[i * N + j] * g;
          }
        }
      // Softmax over j: d s_ij = a_ij (d a_ij − Σ_j' a_ij' d a_ij').
      for (std::size_t i = 0; i < N; ++i) {
        T dot = T(0);
        for (std::size_t j = 0; j < N; ++j) dot += a[i * N + j] * da[i * N + j];
        for (std::size_t j = 0; j < N; ++j) da[i * N + j] = a[i * N + j] * (da[i * N + j] - dot);
      }
      // s_ij = q_i·k_j / √C.
      const T scale = static_cast<T>(1.0 / std::sqrt(static_cast<double>(C)));
      std::fill_n(dq, CN, T(0));
      std::fill_n(dk, CN, T(0));
      for (std::size_t ch = 0; ch < C; ++ch)
        for (std::size_t i = 0; i < N; ++i) {
          const T qi = c[qc + ch * N + i] * scale;
          T acc = T(0);
          for (std::size_t j = 0; j < N; ++j) {
            acc += da[i * N + j] * c[kc + ch * N + j];
            dk[ch * N + j] += da[i * N + j] * qi;
          }
          dq[ch * N + i] = acc * scale;
        }
      // The three projections of h, their gradients added into d h.
      std::fill_n(dh, CN, T(0));
      project_backward(params + q_at, c + h_at, dq, dparams + q_at, dh, true);
      project_backward(params + k_at, c + h_at, dk, dparams + k_at, dh, true);
      project_backward(params + v_at, c + h_at, dv, dparams + v_at, dh, true);
      // GroupNorm, one sample; its parameter gradient added up over the samples.
      T norm_grads[norm::param_count];
      norm::backward(params, x + r * CN, c + h_at, c, dh, dx != nullptr ? dxn : static_cast<T*>(nullptr), norm_grads,
                     static_cast<T*>(nullptr), std::size_t{1}, ctx);
      for (std::size_t i = 0; i < norm::param_count; ++i) dparams[i] += norm_grads[i];
      if (dx != nullptr)
        for (std::size_t i = 0; i < CN; ++i) dx[r * CN + i] = dyr[i] + dxn[i];
    }
  }

 private:
  // out = W·in + b (a 1×1 convolution over the N positions of one sample).
  template <class T>
  static void project(const T* w, const T* in, T* out) noexcept {
    for (std::size_t o = 0; o < C; ++o) {
      T* row = out + o * N;
      std::fill_n(row, N, w[C * C + o]);
      for (std::size_t i = 0; i < C; ++i) {
        const T wi = w[o * C + i];
        const T* src = in + i * N;
        for (std::size_t p = 0; p < N; ++p) row[p] += wi * src[p];
      }
    }
  }
  // The gradients of out = W·in + b for one sample: dW and db added to `dw`, d in written (or added) to
  // `din`.
  template <class T>
  static void project_backward(const T* w, const T* in, const T* dout, T* dw, T* din, bool add = false) noexcept {
    if (!add) std::fill_n(din, CN, T(0));
    for (std::size_t o = 0; o < C; ++o) {
      const T* g = dout + o * N;
      T db = T(0);
      for (std::size_t p = 0; p < N; ++p) db += g[p];
      dw[C * C + o] += db;
      for (std::size_t i = 0; i < C; ++i) {
        const T* src = in + i * N;
        T acc = T(0);
        for (std::size_t p = 0; p < N; ++p) acc += g[p] * src[p];
        dw[o * C + i] += acc;
        const T wi = w[o * C + i];
        T* dst = din + i * N;
        for (std::size_t p = 0; p < N; ++p) dst[p] += wi * g[p];
      }
    }
  }
  template <class T>
  static void softmax_row(T* row) noexcept {
    T m = row[0];
    for (std::size_t j = 1; j < N; ++j) m = std::max(m, row[j]);
    T sum = T(0);
    for (std::size_t j = 0; j < N; ++j) {
      row[j] = std::exp(row[j] - m);
      sum += row[j];
    }
    const T inv = T(1) / sum;
    for (std::size_t j = 0; j < N; ++j) row[j] *= inv;
  }
};

template <class At, class Layer, std::size_t G, class In>
constexpr bool check_attention() {
  if constexpr (!check_normalisation<At, Layer, In>()) {
    return false;
  } else if constexpr (!is_shape_v<In>) {
    static_assert(
        diag::spatial_attention_needs_a_shaped_input<At, Layer, typename what_it_receives<In>::type, false>::value);
    return false;
  } else {
    return check_group_norm<At, Layer, G, In>();
  }
}

}  // namespace detail

/// Self-attention over the positions of a shaped input, with its skip, as latent diffusion's middle
/// block (one head): h = GroupNorm<Groups, Epsilon>(x); q, k, v = 1×1 convolutions of h; each position
/// attends to all (softmax of q·k/√C over positions); the result, through a last 1×1 convolution, is
/// added to x. Parameters: GroupNorm's γ and β, then q, k, v and the output projection (each a C × C
/// weight in PyTorch's Conv2d order, then C biases). `Epsilon` 1e-6 by default (latent diffusion's).
/// Shape rules: a shaped input (`spatial_attention_needs_a_shaped_input`), `Groups` dividing its
/// channels. Example: examples/kl_autoencoder_fashion_mnist.cpp.
template <std::size_t Groups = 8, class Epsilon = std::ratio<1, 1000000>>
struct SpatialAttention {
  static constexpr const char* name = "SpatialAttention";
  template <class In>
  using bind_shape = detail::attention_layer<In, Groups, Epsilon>;
  template <class At, class In>
  static constexpr bool check() {
    return detail::check_attention<At, SpatialAttention, Groups, In>();
  }
};

}  // namespace latent
