#pragma once
/// \file
/// `latent::as_scalar`: data of one floating-point type converted to another, the one conversion a
/// model's calls make when they receive the other scalar type (float rows for a double model).

#include <xtensor/xtensor.hpp>  // xt::xtensor

#include <concepts>     // std::floating_point, std::same_as
#include <cstddef>      // std::size_t
#include <type_traits>  // std::is_same_v

namespace latent {

namespace detail {
/// `U` is a floating-point type other than the model's `T`.
template <class U, class T>
concept other_scalar = std::floating_point<U> && std::floating_point<T> && !std::same_as<U, T>;
}  // namespace detail

/// A copy of `x` with every value converted to `T` (`static_cast`): exact from float to double;
/// from double to float each value is rounded to the nearest float, and one beyond float's range
/// becomes ±Inf, which the model's checks then refuse as non-finite data, naming the row.
template <class T, class U, std::size_t N>
  requires std::floating_point<T> && std::floating_point<U>
xt::xtensor<T, N> as_scalar(const xt::xtensor<U, N>& x) {
  xt::xtensor<T, N> out = xt::xtensor<T, N>::from_shape(x.shape());
  const U* src = x.data();
  T* dst = out.data();
  for (std::size_t i = 0; i < x.size(); ++i) dst[i] = static_cast<T>(src[i]);
  return out;
}

namespace detail {
/// `x` itself when it already holds `T`, else its conversion, kept in `storage`.
template <class T, class U, std::size_t N>
const xt::xtensor<T, N>& scalar_ref(const xt::xtensor<U, N>& x, xt::xtensor<T, N>& storage) {
  if constexpr (std::is_same_v<T, U>) {
    return x;
  } else {
    storage = as_scalar<T>(x);
    return storage;
  }
}
}  // namespace detail

}  // namespace latent
