#pragma once
/// \file
/// `latent::ContractiveAutoencoder`: an autoencoder penalised by the Jacobian of its encoder.

#include "latent/core/aligned_buffer.hpp"
#include "latent/core/error.hpp"
#include "latent/kernels/elementwise.hpp"
#include "latent/kernels/gemm.hpp"
#include "latent/layers/layer_traits.hpp"
#include "latent/losses/mse.hpp"
#include "latent/models/autoencoder.hpp"

#include <boost/hana/at.hpp>        // hana::at_c
#include <boost/hana/for_each.hpp>  // loops over the encoder's layers
#include <boost/hana/range.hpp>     // hana::make_range
#include <boost/hana/reverse.hpp>   // backward order
#include <boost/hana/tuple.hpp>     // hana::tuple_t

#include <algorithm>  // std::copy, std::fill
#include <array>      // std::array
#include <cmath>      // std::isfinite
#include <cstddef>    // std::size_t
#include <cstdint>    // std::uint64_t
#include <string>     // std::to_string
#include <utility>    // std::swap

namespace latent {

namespace detail {
template <class List>
struct dense_chain;

// Exact ‖J_f(x)‖²_F and its gradient for an encoder f = f_L ∘ … ∘ f_1 of Dense layers,
// f_i(h) = a_i(W_iᵀ h + b_i). With D_i = diag(a_i'), J = D_L W_Lᵀ ⋯ D_1 W_1ᵀ.
template <class... Ls>
struct dense_chain<type_list<Ls...>> {
  static constexpr std::size_t count = sizeof...(Ls);
  template <std::size_t I>
  using layer = typename decltype(+boost::hana::at_c<I>(boost::hana::tuple_t<Ls...>))::type;
  static constexpr std::array<std::size_t, count> ins{Ls::in_size...};
  static constexpr std::array<std::size_t, count> outs{Ls::out_size...};
  static constexpr std::array<std::size_t, count> params{Ls::param_count...};
  static constexpr std::array<std::size_t, count> offsets = [] {
    std::array<std::size_t, count> o{};
    for (std::size_t i = 1; i < count; ++i) o[i] = o[i - 1] + params[i - 1];
    return o;
  }();
  static constexpr std::size_t in = ins[0];
  static constexpr std::size_t total_out = (Ls::out_size + ...);
  static constexpr std::size_t widest = [] {
    std::size_t w = 0;
    for (auto o : outs) w = w > o ? w : o;
    return w;
  }();
  static constexpr std::array<std::size_t, count> out_offsets = [] {
    std::array<std::size_t, count> o{};
    for (std::size_t i = 1; i < count; ++i) o[i] = o[i - 1] + outs[i - 1];
    return o;
  }();

  static constexpr std::size_t h1 = outs[0];  // width of the first layer: the Gram trick's side

  template <class T>
  struct buffers {
    aligned_buffer<T> h, d, s, dz, grad;      // batch: outputs, a', a'', direct ∂/∂z, backprop
    aligned_buffer<T> p, m, g0, g1, tmp, ag;  // per sample: P_i, M_i (stacked), G ping-pong, dW, A·Gram
    aligned_buffer<T> gram, sum_ata;          // per step: W_1ᵀW_1 and Σ_samples AᵀA (h1 × h1)
    std::size_t rows = 0;
    void reserve(std::size_t n) {
      if (n <= rows) return;
      rows = n;
      h = aligned_buffer<T>(n * total_out);
      d = aligned_buffer<T>(n * total_out);
      s = aligned_buffer<T>(n * total_out);
      dz = aligned_buffer<T>(n * total_out);
      grad = aligned_buffer<T>(n * (widest > in ? widest : in) * 2);
      p = aligned_buffer<T>(total_out * h1);
      m = aligned_buffer<T>(total_out * h1);
      g0 = aligned_buffer<T>(widest * h1);
      g1 = aligned_buffer<T>(widest * h1);
      tmp = aligned_buffer<T>(widest * widest);
      ag = aligned_buffer<T>(widest * h1);
      gram = aligned_buffer<T>(h1 * h1);
      sum_ata = aligned_buffer<T>(h1 * h1);
    }
  };

  /// Adds weight·Σ_samples ‖J‖²_F's gradient (× grad_scale) to `grads`; returns weight·Σ ‖J‖²_F.
  template <class T>
  static double penalty(const T* params_, const T* x, std::size_t n, T* grads, T grad_scale, T weight, buffers<T>& b) {
    b.reserve(n);
    Context<T> ctx;
    // Batched forward: outputs h_i, derivatives d_i = a'(h_i), s_i = a''(h_i).
    boost::hana::for_each(boost::hana::make_range(boost::hana::size_c<0>, boost::hana::size_c<count>), [&](auto c) {
      constexpr std::size_t I = decltype(c)::value;
      using L = layer<I>;
      using A = typename L::activation;
      const T* input = I == 0 ? x : b.h.data() + n * out_offsets[I == 0 ? 0 : I - 1];
      T* h = b.h.data() + n * out_offsets[I];
      L::forward(params_ + offsets[I], input, h, static_cast<T*>(nullptr), n, ctx);
      T* d = b.d.data() + n * out_offsets[I];
      T* s = b.s.data() + n * out_offsets[I];
      for (std::size_t k = 0; k < n * L::out_size; ++k) {
        d[k] = A::derivative(h[k]);
        s[k] = A::second_derivative(h[k]);
      }
    });
    std::fill(b.dz.begin(), b.dz.end(), T(0));
    double total = 0;
    const T two_w = T(2) * weight * grad_scale;
    if constexpr (count == 1) {
      // Closed form: ‖J‖² = Σ_j a'_j² c_j with c_j = Σ_k W_kj².
      constexpr std::size_t O = outs[0];
      const T* W = params_;
      T* dW = grads;
      std::array<T, O> c{};
      for (std::size_t k = 0; k < in; ++k)
        for (std::size_t j = 0; j < O; ++j) c[j] += W[k * O + j] * W[k * O + j];
      std::array<T, O> sum_d2{};
      for (std::size_t r = 0; r < n; ++r)
        for (std::size_t j = 0; j < O; ++j) {
          const T dj = b.d[r * O + j];
          total += static_cast<double>(weight) * dj * dj * c[j];
          sum_d2[j] += dj * dj;
          b.dz[r * O + j] = two_w * dj * c[j] * b.s[r * O + j];  // ∂/∂z_j via a'' (chain rule)
        }
      for (std::size_t k = 0; k < in; ++k)
        for (std::size_t j = 0; j < O; ++j) dW[k * O + j] += two_w * sum_d2[j] * W[k * O + j];
    } else {
      // Gram trick: J = A·W_1ᵀ with A = D_L W_Lᵀ ⋯ D_2 W_2ᵀ D_1 (out_L × h1), so
      // ‖J‖²_F = tr(A G Aᵀ) with G = W_1ᵀW_1 (h1 × h1), formed once per step: the per-sample chain works
      // on h1 columns instead of the input's width.
      constexpr std::size_t O = outs[0];
      const T* W1 = params_;
      kernels::gemm_nn<h1>(h1, in, W1, 1, h1, W1, kernels::zero_init{}, kernels::store_to<T>{b.gram.data()});
      std::fill(b.sum_ata.begin(), b.sum_ata.end(), T(0));
      for (std::size_t r = 0; r < n; ++r) total += sample(params_, r, n, grads, two_w, weight, b);
      // ∂/∂W_1 through G: 2·W_1·(λ Σ AᵀA), scaled like every other gradient.
      kernels::scale(h1 * h1, two_w, b.sum_ata.data());
      kernels::gemm_nn<h1>(in, h1, W1, O, 1, b.sum_ata.data(), kernels::zero_init{}, kernels::add_to<T>{grads});
    }
    backprop(params_, x, n, grads, b);
    return total;
  }

 private:
  // One sample of the general chain (count ≥ 2): A by forward mode on h1 columns, the penalty
  // tr(A G Aᵀ), then the reverse of the chain; Σ AᵀA accumulates for the Gram matrix's gradient.
  template <class T>
  static double sample(const T* params_, std::size_t r, std::size_t n, T* grads, T two_w, T weight, buffers<T>& b) {
    // M_1 = D_1 (h1 × h1, diagonal)
    {
      const T* d = b.d.data() + r * h1;
      T* M = b.m.data();
      std::fill(M, M + h1 * h1, T(0));
      for (std::size_t j = 0; j < h1; ++j) M[j * h1 + j] = d[j];
    }
    for (std::size_t i = 1; i < count; ++i) {
      const std::size_t o = outs[i], prev = outs[i - 1];
      const T* W = params_ + offsets[i];
      T* P = b.p.data() + out_offsets[i] * h1;
      // P_i = W_iᵀ M_{i−1}: A(j, m) = W[m·o + j]
      kernels::gemm_nn<h1>(o, prev, W, 1, o, b.m.data() + out_offsets[i - 1] * h1, kernels::zero_init{},
                           kernels::store_to<T>{P});
      const T* d = b.d.data() + n * out_offsets[i] + r * o;
      T* M = b.m.data() + out_offsets[i] * h1;
      for (std::size_t j = 0; j < o; ++j)
        for (std::size_t k = 0; k < h1; ++k) M[j * h1 + k] = d[j] * P[j * h1 + k];
    }
    const std::size_t last = count - 1, oL = outs[last];
    const T* A = b.m.data() + out_offsets[last] * h1;
    T* AG = b.ag.data();
    kernels::gemm_nn<h1>(oL, h1, A, h1, 1, b.gram.data(), kernels::zero_init{}, kernels::store_to<T>{AG});
    double sq = 0;
    for (std::size_t q = 0; q < oL * h1; ++q) sq += static_cast<double>(A[q]) * AG[q];
    // Σ AᵀA (h1 × h1): A(a, k) read transposed.
    kernels::gemm_nn<h1>(h1, oL, A, 1, h1, A, kernels::zero_init{}, kernels::add_to<T>{b.sum_ata.data()});
    T* G = b.g0.data();
    T* G_prev = b.g1.data();
    for (std::size_t q = 0; q < oL * h1; ++q) G[q] = two_w * AG[q];  // ∂/∂A = 2λ·A·G
    for (std::size_t i = count - 1; i >= 1; --i) {
      const std::size_t o = outs[i], prev = outs[i - 1];
      const T* W = params_ + offsets[i];
      const T* P = b.p.data() + out_offsets[i] * h1;
      const T* d = b.d.data() + n * out_offsets[i] + r * o;
      const T* s = b.s.data() + n * out_offsets[i] + r * o;
      T* dz = b.dz.data() + n * out_offsets[i] + r * o;
      for (std::size_t j = 0; j < o; ++j) {
        T dd = 0;
        for (std::size_t k = 0; k < h1; ++k) dd += G[j * h1 + k] * P[j * h1 + k];
        dz[j] += dd * s[j];
        for (std::size_t k = 0; k < h1; ++k) G[j * h1 + k] *= d[j];  // G becomes ∂/∂P_i
      }
      // dW_i[m][j] += Σ_k M_{i−1}[m][k] · dP_i[j][k]
      kernels::gemm_nt<h1>(prev, o, b.m.data() + out_offsets[i - 1] * h1, G, b.tmp.data(), o);
      T* dW = grads + offsets[i];
      for (std::size_t q = 0; q < prev * o; ++q) dW[q] += b.tmp[q];
      // G_{i−1} = W_i dP_i
      kernels::gemm_nn<h1>(prev, o, W, o, 1, G, kernels::zero_init{}, kernels::store_to<T>{G_prev});
      std::swap(G, G_prev);
    }
    // M_1 = D_1: only the diagonal of ∂/∂M_1 reaches a'_1.
    {
      const T* s = b.s.data() + r * h1;
      T* dz = b.dz.data() + r * h1;
      for (std::size_t j = 0; j < h1; ++j) dz[j] += G[j * h1 + j] * s[j];
    }
    return static_cast<double>(weight) * sq;
  }

  // Back-propagates the direct gradients ∂penalty/∂z_i (b.dz) through the encoder into `grads`.
  template <class T>
  static void backprop(const T* params_, const T* x, std::size_t n, T* grads, buffers<T>& b) {
    T* g = b.grad.data();
    T* dh = g + n * (widest > in ? widest : in);
    // g holds the total ∂/∂z of the current layer.
    std::copy(b.dz.data() + n * out_offsets[count - 1], b.dz.data() + n * (out_offsets[count - 1] + outs[count - 1]),
              g);
    constexpr auto indices = boost::hana::make_range(boost::hana::size_c<0>, boost::hana::size_c<count>);
    boost::hana::for_each(boost::hana::reverse(boost::hana::to_tuple(indices)), [&](auto c) {
      constexpr std::size_t I = decltype(c)::value;
      using L = layer<I>;
      const T* input = I == 0 ? x : b.h.data() + n * out_offsets[I == 0 ? 0 : I - 1];
      T* dW = grads + offsets[I];
      kernels::gemm_nn<L::out_size>(L::in_size, n, input, 1, L::in_size, g, kernels::zero_init{},
                                    kernels::add_to<T>{dW});
      for (std::size_t r = 0; r < n; ++r)
        for (std::size_t j = 0; j < L::out_size; ++j) dW[L::weight_count + j] += g[r * L::out_size + j];
      if constexpr (I > 0) {
        kernels::gemm_nt<L::out_size>(n, L::in_size, g, params_ + offsets[I], dh, L::in_size);
        const T* d = b.d.data() + n * out_offsets[I - 1];
        const T* dz = b.dz.data() + n * out_offsets[I - 1];
        for (std::size_t q = 0; q < n * L::in_size; ++q) g[q] = dh[q] * d[q] + dz[q];
      }
    });
  }
};
}  // namespace detail

/// The contractive penalty of a `ContractiveAutoencoder`: λ·‖J_f(x)‖²_F per sample, J_f the Jacobian of
/// the encoder's output with respect to its input.
struct Contraction {
  double weight = 1e-2;  ///< λ

  static constexpr const char* name = "Contraction";
  static constexpr const char* model_name = "ContractiveAutoencoder";
  static constexpr bool penalises_encoder = true;  ///< writes the encoder's weight gradients itself
  static constexpr bool splittable = true;         ///< a per-sample penalty

  Contraction validated() const {
    if (!(weight >= 0) || !std::isfinite(weight))
      throw option_error("Contraction: expected weight >= 0, found " + std::to_string(weight));
    return *this;
  }

  /// Adds the penalty's gradient to `grads` (the encoder's part of the model's gradient) and returns
  /// λ·Σ_samples ‖J‖²_F.
  template <class Enc, class T>
  double encoder_penalty(const T* params, const T* x, std::size_t n, T* grads, T grad_scale) const {
    using chain = detail::dense_chain<flat_layers_t<Enc>>;
    if (weight == 0) return 0;
    return chain::penalty(params, x, n, grads, grad_scale, static_cast<T>(weight), buffers<T, chain>());
  }

 private:
  // Work buffers, grown to the largest batch and then reused (one set per scalar type and encoder).
  template <class T, class Chain>
  static typename Chain::template buffers<T>& buffers() {
    thread_local typename Chain::template buffers<T> b;
    return b;
  }
};

namespace diag {
/// The contractive penalty differentiates the encoder sample by sample; a layer whose pass couples the
/// batch (BatchNorm in train mode) or keeps state has no per-sample Jacobian to penalise.
template <class Encoder, bool NoBatchCoupling>
struct contractive_penalty_cannot_differentiate_through_batch_statistics {
  static_assert(NoBatchCoupling,
                "latent: a ContractiveAutoencoder penalises each sample's Jacobian of the encoder, which a layer "
                "with batch statistics or state (BatchNorm) does not have; its encoder is made of Dense layers, "
                "or use another model of the family");
  static constexpr bool value = true;
};
/// The contractive penalty is computed exactly for encoders made of Dense layers.
template <class Encoder, bool AllDense>
struct contractive_encoder_is_not_made_of_dense_layers {
  static_assert(AllDense,
                "latent: a ContractiveAutoencoder's encoder must be made of Dense layers (nested Seqs allowed)");
  static constexpr bool value = true;
};
}  // namespace diag

/// A contractive autoencoder (Rifai et al.): the reconstruction loss plus λ‖J_f(x)‖²_F, the squared
/// Frobenius norm of the encoder's Jacobian, computed exactly — in closed form for a single Dense layer
/// (‖J‖² = Σ_j f'(z_j)² Σ_k W_kj²), through the chain rule J = D_L W_Lᵀ ⋯ D_1 W_1ᵀ for deeper encoders —
/// with its exact gradient. For deeper encoders ‖J‖²_F = tr(A·W_1ᵀW_1·Aᵀ), A = D_L W_Lᵀ ⋯ D_2 W_2ᵀ D_1:
/// the Gram matrix is formed once per step, so a sample costs O(Z·H·H_1) rather than O(Z·H·input). `loss` reports the
/// reconstruction loss alone. Shape rule: the encoder is made of Dense layers. Example: examples/compare.cpp.
template <class Enc, class Dec, class L = MSE, class T = float>
class ContractiveAutoencoder : public detail::autoencoder_model<Enc, Dec, L, T, Contraction> {
  static_assert(diag::contractive_penalty_cannot_differentiate_through_batch_statistics<
                Enc, !detail::batch_coupled<Enc> && !detail::stateful<Enc>>::value);
  static_assert(diag::contractive_encoder_is_not_made_of_dense_layers<
                Enc, all_dense_v<Enc> || detail::batch_coupled<Enc> || detail::stateful<Enc>>::value);

 public:
  explicit ContractiveAutoencoder(std::uint64_t seed = 0, Contraction contraction = {})
      : detail::autoencoder_model<Enc, Dec, L, T, Contraction>(seed, contraction.validated()) {}
  const Contraction& contraction() const noexcept { return this->reg_; }
  void set_contraction(const Contraction& c) { this->reg_ = c.validated(); }
};

}  // namespace latent
