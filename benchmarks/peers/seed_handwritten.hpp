#pragma once
// The "hand-written loop" peer: the seed workload (Dense 100-20 ReLU, 20-5 Sigmoid, 5-20 ReLU,
// 20-100 Sigmoid; MSE; Adam) as plain scalar C++ over fixed-size arrays, the way one would write it
// without a library. Same maths, same data, same initial weights and same batch order as the libtorch
// and PyTorch peers (see common.hpp), so its final loss must match theirs to float rounding.

#include "common.hpp"

#include <array>    // std::array: fixed-size parameters, gradients, optimiser state, activations
#include <cmath>    // std::exp, std::sqrt, std::pow
#include <cstddef>  // std::size_t
#include <cstdint>  // std::uint64_t
#include <numeric>  // std::iota
#include <vector>   // std::vector (batch order)

namespace latent::bench {
namespace detail {

enum class act { relu, sigmoid };

/// One dense layer's offsets into the flat parameter vector: W is [Out][In] row-major, then b[Out].
template <std::size_t In, std::size_t Out, act A, std::size_t Offset>
struct hw_dense {
  static constexpr std::size_t in = In, out = Out, w = Offset, b = Offset + In * Out, end = b + Out;
  static constexpr act activation = A;
};

using hw_l1 = hw_dense<100, 20, act::relu, 0>;
using hw_l2 = hw_dense<20, 5, act::sigmoid, hw_l1::end>;
using hw_l3 = hw_dense<5, 20, act::relu, hw_l2::end>;
using hw_l4 = hw_dense<20, 100, act::sigmoid, hw_l3::end>;
inline constexpr std::size_t hw_params = hw_l4::end;  // 4345
inline constexpr std::size_t hw_batch = seed_batch;

/// y[s][o] = act(b[o] + sum_i W[o][i] x[s][i]) for the first `rows` samples.
template <class L>
inline void hw_forward(const float* p, const float* x, float* y, std::size_t rows) {
  for (std::size_t s = 0; s < rows; ++s)
    for (std::size_t o = 0; o < L::out; ++o) {
      float acc = p[L::b + o];
      for (std::size_t i = 0; i < L::in; ++i) acc += p[L::w + o * L::in + i] * x[s * L::in + i];
      if constexpr (L::activation == act::relu)
        y[s * L::out + o] = acc > 0.0f ? acc : 0.0f;
      else
        y[s * L::out + o] = 1.0f / (1.0f + std::exp(-acc));
    }
}

/// Given dL/dy in `d` (overwritten with dL/dz through the activation, computed from the stored output
/// y), accumulates dW = dz^T x and db = sum dz into `g` and, unless `dx` is null, writes dx = dz W.
template <class L>
inline void hw_backward(const float* p, float* g, const float* x, const float* y, float* d, float* dx,
                        std::size_t rows) {
  for (std::size_t k = 0; k < rows * L::out; ++k) {
    if constexpr (L::activation == act::relu)
      d[k] = y[k] > 0.0f ? d[k] : 0.0f;
    else
      d[k] *= y[k] * (1.0f - y[k]);
  }
  for (std::size_t s = 0; s < rows; ++s)
    for (std::size_t o = 0; o < L::out; ++o) {
      const float dz = d[s * L::out + o];
      g[L::b + o] += dz;
      for (std::size_t i = 0; i < L::in; ++i) g[L::w + o * L::in + i] += dz * x[s * L::in + i];
    }
  if (dx == nullptr) return;
  for (std::size_t s = 0; s < rows; ++s)
    for (std::size_t i = 0; i < L::in; ++i) {
      float acc = 0.0f;
      for (std::size_t o = 0; o < L::out; ++o) acc += d[s * L::out + o] * p[L::w + o * L::in + i];
      dx[s * L::in + i] = acc;
    }
}

}  // namespace detail

/// Trains the seed autoencoder on `data` (n rows of 100 floats) for `epochs` epochs, batch 32 with the
/// last partial batch kept, reshuffling every epoch; Adam(lr 1e-3, betas 0.9/0.999, eps 1e-7) in
/// PyTorch's formulation (eps added to sqrt(v)/sqrt(1-beta2^t)). Weights are Glorot-uniform from
/// splitmix64(`seed`), biases zero. Returns the last epoch's mean loss (per-sample MSE averaged over
/// the epoch's samples, i.e. batch losses weighted by batch size).
inline double run_seed_handwritten(const float* data, std::size_t n, int epochs, std::uint64_t seed) {
  using namespace detail;
  constexpr std::size_t B = hw_batch, D = hw_l1::in;
  std::array<float, hw_params> p{}, g{}, m{}, v{};
  splitmix64 init{seed};
  glorot_uniform(init, p.data() + hw_l1::w, hw_l1::in, hw_l1::out);
  glorot_uniform(init, p.data() + hw_l2::w, hw_l2::in, hw_l2::out);
  glorot_uniform(init, p.data() + hw_l3::w, hw_l3::in, hw_l3::out);
  glorot_uniform(init, p.data() + hw_l4::w, hw_l4::in, hw_l4::out);

  // Activations of the batch (a0 is the gathered input) and the gradients flowing back.
  std::array<float, B * hw_l1::in> a0{};
  std::array<float, B * hw_l1::out> a1{}, d1{};
  std::array<float, B * hw_l2::out> a2{}, d2{};
  std::array<float, B * hw_l3::out> a3{}, d3{};
  std::array<float, B * hw_l4::out> a4{}, d4{};

  constexpr float lr = 1e-3f, beta1 = 0.9f, beta2 = 0.999f, eps = 1e-7f;
  std::vector<std::size_t> order(n);
  std::iota(order.begin(), order.end(), std::size_t{0});
  splitmix64 shuffler{seed ^ shuffle_salt};
  double epoch_loss = 0.0;
  std::size_t t = 0;
  for (int e = 0; e < epochs; ++e) {
    shuffle(shuffler, order);
    epoch_loss = 0.0;
    for (std::size_t start = 0; start < n; start += B) {
      const std::size_t rows = start + B <= n ? B : n - start;
      for (std::size_t s = 0; s < rows; ++s)
        for (std::size_t i = 0; i < D; ++i) a0[s * D + i] = data[order[start + s] * D + i];

      hw_forward<hw_l1>(p.data(), a0.data(), a1.data(), rows);
      hw_forward<hw_l2>(p.data(), a1.data(), a2.data(), rows);
      hw_forward<hw_l3>(p.data(), a2.data(), a3.data(), rows);
      hw_forward<hw_l4>(p.data(), a3.data(), a4.data(), rows);

      // MSE over all rows*D elements (Keras' mean); dL/dy = 2 (y - x) / (rows*D).
      const float scale = 2.0f / static_cast<float>(rows * D);
      float loss = 0.0f;
      for (std::size_t k = 0; k < rows * D; ++k) {
        const float diff = a4[k] - a0[k];
        loss += diff * diff;
        d4[k] = scale * diff;
      }
      epoch_loss += static_cast<double>(loss) / D;  // sum over samples of the per-sample mean

      g.fill(0.0f);
      hw_backward<hw_l4>(p.data(), g.data(), a3.data(), a4.data(), d4.data(), d3.data(), rows);
      hw_backward<hw_l3>(p.data(), g.data(), a2.data(), a3.data(), d3.data(), d2.data(), rows);
      hw_backward<hw_l2>(p.data(), g.data(), a1.data(), a2.data(), d2.data(), d1.data(), rows);
      hw_backward<hw_l1>(p.data(), g.data(), a0.data(), a1.data(), d1.data(), nullptr, rows);

      ++t;
      const double bc1 = 1.0 - std::pow(double{beta1}, static_cast<double>(t));
      const double bc2 = 1.0 - std::pow(double{beta2}, static_cast<double>(t));
      const auto step = static_cast<float>(lr / bc1);
      const auto inv_sqrt_bc2 = static_cast<float>(1.0 / std::sqrt(bc2));
      for (std::size_t k = 0; k < hw_params; ++k) {
        m[k] = beta1 * m[k] + (1.0f - beta1) * g[k];
        v[k] = beta2 * v[k] + (1.0f - beta2) * g[k] * g[k];
        p[k] -= step * m[k] / (std::sqrt(v[k]) * inv_sqrt_bc2 + eps);
      }
    }
  }
  return epoch_loss / static_cast<double>(n);
}

}  // namespace latent::bench
