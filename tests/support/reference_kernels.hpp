#pragma once
/// \file
/// Test support, not part of the installed library: scalar reference versions of the kernels, the
/// specification the vectorised kernels are tested against (on sizes that are not multiples of the
/// vector width). Tests include it as "support/reference_kernels.hpp".

#include <cstddef>      // std::size_t
#include <type_traits>  // std::is_void_v

namespace latent::kernels::reference {

/// C[M×N] = bias + A·B, A(r, k) = A[r·a_rs + k·a_cs], B row-major K×N; `bias` may be null.
template <class T>
void gemm_nn(std::size_t M, std::size_t N, std::size_t K, const T* A, std::size_t a_rs, std::size_t a_cs, const T* B,
             const T* bias, T* C) noexcept {
  for (std::size_t r = 0; r < M; ++r)
    for (std::size_t c = 0; c < N; ++c) {
      T s = bias ? bias[c] : T(0);
      for (std::size_t k = 0; k < K; ++k) s += A[r * a_rs + k * a_cs] * B[k * N + c];
      C[r * N + c] = s;
    }
}

/// C[M×N] = bias + A·B with both operands strided: A(r, k) = A[r·a_rs + k·a_cs],
/// B(k, c) = B[k·b_rs + c·b_cs]; `bias` may be null. (Reference for `kernels::gemm`.)
template <class T>
void gemm(std::size_t M, std::size_t N, std::size_t K, const T* A, std::size_t a_rs, std::size_t a_cs, const T* B,
          std::size_t b_rs, std::size_t b_cs, const T* bias, T* C) noexcept {
  for (std::size_t r = 0; r < M; ++r)
    for (std::size_t c = 0; c < N; ++c) {
      T s = bias ? bias[c] : T(0);
      for (std::size_t k = 0; k < K; ++k) s += A[r * a_rs + k * a_cs] * B[k * b_rs + c * b_cs];
      C[r * N + c] = s;
    }
}

/// dz = dy ⊙ Act'(y) over dy (skipped when Act is void), dW[M×N] = xᵀ·dz, db = Σ_k dz[k, ·];
/// x is K×M, dy and y K×N, row-major. (Reference for `kernels::weight_gradient`.)
template <class Act, class T>
void weight_gradient(std::size_t M, std::size_t N, std::size_t K, const T* x, T* dy, const T* y, T* dW,
                     T* db) noexcept {
  if constexpr (!std::is_void_v<Act>)
    for (std::size_t i = 0; i < K * N; ++i) dy[i] *= Act::derivative(y[i]);
  for (std::size_t r = 0; r < M; ++r)
    for (std::size_t c = 0; c < N; ++c) {
      T s = 0;
      for (std::size_t k = 0; k < K; ++k) s += x[k * M + r] * dy[k * N + c];
      dW[r * N + c] = s;
    }
  for (std::size_t c = 0; c < N; ++c) {
    T s = 0;
    for (std::size_t k = 0; k < K; ++k) s += dy[k * N + c];
    db[c] = s;
  }
}

/// C[M×N] = A[M×K]·B[N×K]ᵀ with row stride ldc.
template <class T>
void gemm_nt(std::size_t M, std::size_t N, std::size_t K, const T* A, const T* B, T* C, std::size_t ldc) noexcept {
  for (std::size_t m = 0; m < M; ++m)
    for (std::size_t n = 0; n < N; ++n) {
      T s = 0;
      for (std::size_t k = 0; k < K; ++k) s += A[m * K + k] * B[n * K + k];
      C[m * ldc + n] = s;
    }
}

/// out[j] = Σ_r X[r·N + j].
template <class T>
void column_sums(std::size_t M, std::size_t N, const T* X, T* out) noexcept {
  for (std::size_t j = 0; j < N; ++j) {
    T s = 0;
    for (std::size_t r = 0; r < M; ++r) s += X[r * N + j];
    out[j] = s;
  }
}

}  // namespace latent::kernels::reference
