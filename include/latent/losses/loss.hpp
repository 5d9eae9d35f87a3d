#pragma once
/// \file
/// The `Loss` concept: the reconstruction loss of the plain autoencoders, spelled as the library calls it.
///
///     struct L1 {
///       static constexpr const char* name = "L1";
///       // Σ over the n samples (rows of d values) of each sample's loss
///       template <class T> static double value(const T* prediction, const T* target, std::size_t n, std::size_t d);
///       // the same, and gradient = scale · ∂value/∂prediction (n × d, overwritten)
///       template <class T> static double value_and_gradient(const T* prediction, const T* target, T* gradient,
///                                                         std::size_t n, std::size_t d, T scale);
///       // the decoder's output, in place, to the reconstruction (empty unless the loss takes logits)
///       template <class T> static void to_mean(T* output, std::size_t count);
///       static constexpr bool takes_logits = false;   // optional: true asks for an Identity last layer
///     };
///
/// Example: examples/custom_layer.cpp.

#include <concepts>     // std::convertible_to
#include <cstddef>      // std::size_t
#include <string_view>  // std::string_view

namespace latent {

namespace detail {
template <class L, class T>
concept loss_value = requires(const T* p, std::size_t n) {
  { L::value(p, p, n, n) } -> std::convertible_to<double>;
};
template <class L, class T>
concept loss_value_and_gradient = requires(const T* p, T* g, std::size_t n, T scale) {
  { L::value_and_gradient(p, p, g, n, n, scale) } -> std::convertible_to<double>;
};
template <class L, class T>
concept loss_to_mean = requires(T* p, std::size_t n) { L::to_mean(p, n); };
template <class L>
concept loss_named = requires {
  { L::name } -> std::convertible_to<std::string_view>;
};
}  // namespace detail

/// A reconstruction loss for scalars `T` (float by default): every member the autoencoders call.
template <class L, class T = float>
concept Loss = detail::loss_named<L> && detail::loss_value<L, T> && detail::loss_value_and_gradient<L, T> &&
               detail::loss_to_mean<L, T>;

/// True when the loss works on logits (`takes_logits`; false when it does not say).
template <class L>
inline constexpr bool takes_logits_v = requires { requires static_cast<bool>(L::takes_logits); };

namespace diag {
/// A reconstruction loss (plain autoencoders) needs each of these members.
template <class Loss, class Scalar, bool Has>
struct loss_has_no_value {
  static_assert(Has, "latent: a loss needs `template <class T> static double value(const T* prediction, const T* "
                     "target, std::size_t n, std::size_t d)` (the sum over n samples of their losses)");
  static constexpr bool value = true;
};
template <class Loss, class Scalar, bool Has>
struct loss_has_no_value_and_gradient {
  static_assert(Has, "latent: a loss needs `template <class T> static double value_and_gradient(const T* "
                     "prediction, const T* target, T* gradient, std::size_t n, std::size_t d, T scale)`");
  static constexpr bool value = true;
};
template <class Loss, class Scalar, bool Has>
struct loss_has_no_to_mean {
  static_assert(Has, "latent: a loss needs `template <class T> static void to_mean(T* output, std::size_t count)` "
                     "(the decoder's output to the reconstruction; empty for most losses)");
  static constexpr bool value = true;
};
template <class Loss, bool Has>
struct loss_has_no_name {
  static_assert(Has, "latent: a loss needs `static constexpr const char* name = \"...\";`");
  static constexpr bool value = true;
};
}  // namespace diag

namespace detail {
/// Every member of the `Loss` contract for `T`, one carrier each.
template <class L, class T>
constexpr bool check_loss() {
  static_assert(diag::loss_has_no_name<L, loss_named<L>>::value);
  static_assert(diag::loss_has_no_value<L, T, loss_value<L, T>>::value);
  static_assert(diag::loss_has_no_value_and_gradient<L, T, loss_value_and_gradient<L, T>>::value);
  static_assert(diag::loss_has_no_to_mean<L, T, loss_to_mean<L, T>>::value);
  return Loss<L, T>;
}
}  // namespace detail

}  // namespace latent
