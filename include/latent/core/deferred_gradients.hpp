#pragma once
/// \file
/// `latent::detail::deferred_gradients`: weight gradients a layer leaves to be formed after every
/// slice of a multi-threaded training step has run its backward pass.

#include <cstddef>  // std::size_t

namespace latent::detail {

/// One weight gradient left for later: dW[M×N] = xᵀ·dz over the slice's `rows` samples (x is rows×M,
/// dz rows×N, both row-major and alive until the step ends) and db[N] = Σ dz. `weights` writes rows
/// [r0, r1) of dW (or adds to them when `accumulate`); `bias` writes db (or adds to it). Both are plain
/// function pointers to kernels instantiated for the layer's N, called once per layer and slice.
template <class T>
struct deferred_product {
  using weight_kernel = void (*)(std::size_t M, std::size_t rows, const T* x, const T* dz, T* dW, std::size_t r0,
                                 std::size_t r1, bool accumulate) noexcept;
  using bias_kernel = void (*)(std::size_t rows, const T* dz, T* db, bool accumulate) noexcept;
  weight_kernel weights = nullptr;
  bias_kernel bias = nullptr;
  const T* x = nullptr;
  const T* dz = nullptr;
  std::size_t M = 0, N = 0, rows = 0;
  T* dW = nullptr;  // in the slice's gradient buffer; the model maps it to its own by offset
  T* db = nullptr;
};

/// The products one slice deferred during a step, in the order its layers ran. Fixed capacity, so a
/// step allocates nothing; a layer that finds it full computes its gradient at once, as it would
/// single-threaded.
template <class T>
class deferred_gradients {
 public:
  static constexpr std::size_t capacity = 32;
  bool push(const deferred_product<T>& p) noexcept {
    if (count_ == capacity) return false;
    items_[count_++] = p;
    return true;
  }
  void clear() noexcept { count_ = 0; }
  std::size_t size() const noexcept { return count_; }
  const deferred_product<T>& operator[](std::size_t i) const noexcept { return items_[i]; }

 private:
  deferred_product<T> items_[capacity];
  std::size_t count_ = 0;
};

}  // namespace latent::detail
