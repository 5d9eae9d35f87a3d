#pragma once
/// \file
/// The `Likelihood` concept: the p(x|z) of a VAE, spelled as the library calls it.
///
///     struct MyLikelihood {
///       static constexpr const char* name = "MyLikelihood";
///       static constexpr bool takes_logits = false;          // true asks for an Identity last layer
///       template <std::size_t D> static constexpr std::size_t params_for = 0;  // its own parameters
///       template <class T> static void init(T* params, std::size_t d);
///       // Σ over the n samples of −log p(x|z), the decoder's output `out` (n × d) giving p's parameters
///       template <class T> static double nll(const T* out, const T* x, const T* params, std::size_t n, std::size_t d);
///       // the same, with d_out = scale · ∂nll/∂out and d_params = scale · ∂nll/∂params (overwritten)
///       template <class T> static double nll_and_gradient(const T* out, const T* x, const T* params, T* d_out,
///                                                       T* d_params, std::size_t n, std::size_t d, T scale);
///       // the decoder's output, in place, to the mean of p(x|z)
///       template <class T> static void to_mean(T* out, const T* params, std::size_t n, std::size_t d);
///     };
///
/// See losses/learned_gaussian.hpp for one with parameters of its own.

#include <concepts>     // std::convertible_to
#include <cstddef>      // std::size_t
#include <string_view>  // std::string_view

namespace latent {

namespace detail {
template <class L>
concept likelihood_named = requires {
  { L::name } -> std::convertible_to<std::string_view>;
  { L::takes_logits } -> std::convertible_to<bool>;
};
template <class L>
concept likelihood_params_for = requires {
  { L::template params_for<1> } -> std::convertible_to<std::size_t>;
};
template <class L, class T>
concept likelihood_init = requires(T* p, std::size_t d) { L::init(p, d); };
template <class L, class T>
concept likelihood_nll = requires(const T* p, std::size_t n) {
  { L::nll(p, p, p, n, n) } -> std::convertible_to<double>;
};
template <class L, class T>
concept likelihood_nll_and_gradient = requires(const T* p, T* g, std::size_t n, T scale) {
  { L::nll_and_gradient(p, p, p, g, g, n, n, scale) } -> std::convertible_to<double>;
};
template <class L, class T>
concept likelihood_to_mean = requires(T* out, const T* p, std::size_t n) { L::to_mean(out, p, n, n); };
}  // namespace detail

/// A VAE likelihood for scalars `T` (float by default): every member the VAEs call.
template <class L, class T = float>
concept Likelihood =
    detail::likelihood_named<L> && detail::likelihood_params_for<L> && detail::likelihood_init<L, T> &&
    detail::likelihood_nll<L, T> && detail::likelihood_nll_and_gradient<L, T> && detail::likelihood_to_mean<L, T>;

namespace diag {
/// A VAE likelihood p(x|z) needs each of these members.
template <class Likelihood, bool Has>
struct likelihood_has_no_name {
  static_assert(Has, "latent: a likelihood needs `static constexpr const char* name = \"...\";` and `static "
                     "constexpr bool takes_logits`");
  static constexpr bool value = true;
};
template <class Likelihood, bool Has>
struct likelihood_has_no_params_for {
  static_assert(Has, "latent: a likelihood needs `template <std::size_t D> static constexpr std::size_t "
                     "params_for` (its own parameters for D outputs, often 0)");
  static constexpr bool value = true;
};
template <class Likelihood, class Scalar, bool Has>
struct likelihood_has_no_init {
  static_assert(Has, "latent: a likelihood needs `template <class T> static void init(T* params, std::size_t d)`");
  static constexpr bool value = true;
};
template <class Likelihood, class Scalar, bool Has>
struct likelihood_has_no_nll {
  static_assert(Has, "latent: a likelihood needs `template <class T> static double nll(const T* out, const T* x, "
                     "const T* params, std::size_t n, std::size_t d)` (the sum over n samples of -log p(x|z))");
  static constexpr bool value = true;
};
template <class Likelihood, class Scalar, bool Has>
struct likelihood_has_no_nll_and_gradient {
  static_assert(Has, "latent: a likelihood needs `template <class T> static double nll_and_gradient(const T* out, "
                     "const T* x, const T* params, T* d_out, T* d_params, std::size_t n, std::size_t d, T scale)`");
  static constexpr bool value = true;
};
template <class Likelihood, class Scalar, bool Has>
struct likelihood_has_no_to_mean {
  static_assert(Has, "latent: a likelihood needs `template <class T> static void to_mean(T* out, const T* params, "
                     "std::size_t n, std::size_t d)` (the decoder's output to the mean of p(x|z))");
  static constexpr bool value = true;
};
}  // namespace diag

namespace detail {
/// Every member of the `Likelihood` contract for `T`, one carrier each.
template <class L, class T>
constexpr bool check_likelihood() {
  static_assert(diag::likelihood_has_no_name<L, likelihood_named<L>>::value);
  static_assert(diag::likelihood_has_no_params_for<L, likelihood_params_for<L>>::value);
  static_assert(diag::likelihood_has_no_init<L, T, likelihood_init<L, T>>::value);
  static_assert(diag::likelihood_has_no_nll<L, T, likelihood_nll<L, T>>::value);
  static_assert(diag::likelihood_has_no_nll_and_gradient<L, T, likelihood_nll_and_gradient<L, T>>::value);
  static_assert(diag::likelihood_has_no_to_mean<L, T, likelihood_to_mean<L, T>>::value);
  return Likelihood<L, T>;
}
/// The parameters of likelihood `L` for `D` outputs, or 0 when it does not say (its rule fires).
template <class L, std::size_t D>
constexpr std::size_t likelihood_params_or_zero() {
  if constexpr (likelihood_params_for<L>)
    return L::template params_for<D>;
  else
    return 0;
}
}  // namespace detail

}  // namespace latent
