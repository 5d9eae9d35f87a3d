#pragma once
/// \file
/// The `Regulariser` concept: what an autoencoder adds to its training step (input corruption, a
/// penalty on the code or on the decoder's parameters), spelled as the library calls it. The built-in ones are `Noise`
/// (DenoisingAutoencoder), `Sparsity` (SparseAutoencoder) and `Contraction` (ContractiveAutoencoder);
/// a user's own trains through `RegularisedAutoencoder<Enc, Dec, Reg>`:
///
///     struct MMD {
///       static constexpr const char* name = "MMD";   // recorded in architecture() and saved files
///       double weight = 1;
///       // adds grad_scale · ∂penalty/∂code to dcode (n × z) and returns the penalty summed so that
///       // dividing by the batch size gives its part of the batch's mean loss; `rng` is the step's
///       // generator (seeded from the model: reproducible for a given seed and thread count)
///       template <class T> double code_penalty(const T* code, T* dcode, std::size_t n, std::size_t z,
///                                              T grad_scale, latent::Rng& rng) const;
///       // optional, instead or as well: out = a corrupted copy of the count values at x (training only)
///       template <class T> void corrupt(const T* x, T* out, std::size_t count, latent::Rng& rng) const;
///       // optional: a penalty on the decoder's parameters (RAE-L2's λ‖θ_dec‖²), a term of the batch's
///       // mean loss: adds grad_scale · ∂penalty/∂θ to dec_grads (count values, the decoder's part of the
///       // gradient) and returns the penalty. A step's slice calls it with grad_scale = its share of the
///       // batch (rows / batch) and counts the value once per row, so the slices' shares sum to the term.
///       // A model with this hook forms its layers' weight gradients slice by slice (no deferral).
///       template <class T> double decoder_penalty(const T* dec_params, T* dec_grads, std::size_t count,
///                                                 T grad_scale) const;
///       // optional: may a step be split over threads by rows? (default false: a penalty over the
///       // whole batch, such as MMD, must see all of it)
///       static constexpr bool splittable = false;
///     };
///
/// Example: examples/custom_layer.cpp.

#include "latent/core/random.hpp"

#include <concepts>     // std::convertible_to
#include <cstddef>      // std::size_t
#include <string_view>  // std::string_view

namespace latent {

namespace detail {
template <class R, class T>
concept regulariser_corrupts =
    requires(const R& r, const T* x, T* out, std::size_t n, Rng& rng) { r.corrupt(x, out, n, rng); };
template <class R, class T>
concept regulariser_penalises_code_with_rng = requires(const R& r, const T* z, T* dz, std::size_t n, T s, Rng& rng) {
  { r.code_penalty(z, dz, n, n, s, rng) } -> std::convertible_to<double>;
};
template <class R, class T>
concept regulariser_penalises_code_without_rng = requires(const R& r, const T* z, T* dz, std::size_t n, T s) {
  { r.code_penalty(z, dz, n, n, s) } -> std::convertible_to<double>;
};
template <class R, class T>
concept regulariser_penalises_code =
    regulariser_penalises_code_with_rng<R, T> || regulariser_penalises_code_without_rng<R, T>;
template <class R, class T>
concept regulariser_penalises_decoder = requires(const R& r, const T* p, T* g, std::size_t n, T s) {
  { r.decoder_penalty(p, g, n, s) } -> std::convertible_to<double>;
};
// The built-in contractive penalty writes the encoder's weight gradients itself (not a user hook).
template <class R>
concept regulariser_penalises_encoder = requires { requires static_cast<bool>(R::penalises_encoder); };
// The built-in gradient penalty of RAE_GP runs the decoder itself (not a user hook: models/rae.hpp).
template <class R>
concept regulariser_penalises_decoder_jacobian =
    requires { requires static_cast<bool>(R::penalises_decoder_jacobian); };
template <class R>
concept regulariser_named = requires {
  { R::name } -> std::convertible_to<std::string_view>;
};

/// May a step with regulariser `r` be split over threads by rows? Its `splittable()` or `splittable`
/// says; a regulariser that does not say is not split.
template <class R>
constexpr bool splittable_with(const R& r) {
  if constexpr (requires {
                  { r.splittable() } -> std::convertible_to<bool>;
                })
    return r.splittable();
  else if constexpr (requires {
                       { R::splittable } -> std::convertible_to<bool>;
                     })
    return R::splittable;
  else
    return false;
}
}  // namespace detail

/// An autoencoder regulariser for scalars `T`: a name and at least one hook (`corrupt`, `code_penalty`,
/// `decoder_penalty`).
template <class R, class T = float>
concept Regulariser =
    detail::regulariser_named<R> && (detail::regulariser_corrupts<R, T> || detail::regulariser_penalises_code<R, T> ||
                                     detail::regulariser_penalises_decoder<R, T> ||
                                     detail::regulariser_penalises_encoder<R> ||
                                     detail::regulariser_penalises_decoder_jacobian<R>);

namespace diag {
/// An autoencoder regulariser needs a name and at least one hook.
template <class Regulariser, bool Has>
struct regulariser_has_no_name {
  static_assert(Has, "latent: a regulariser needs `static constexpr const char* name = \"...\";`");
  static constexpr bool value = true;
};
template <class Regulariser, class Scalar, bool Has>
struct regulariser_has_no_hook {
  static_assert(Has, "latent: a regulariser needs at least one of `double code_penalty(const T* code, T* dcode, "
                     "std::size_t n, std::size_t z, T grad_scale, latent::Rng& rng) const`, `void corrupt(const "
                     "T* x, T* out, std::size_t count, latent::Rng& rng) const` and `double decoder_penalty(const "
                     "T* dec_params, T* dec_grads, std::size_t count, T grad_scale) const`");
  static constexpr bool value = true;
};
}  // namespace diag

namespace detail {
/// The `Regulariser` contract for `T`, one carrier per member.
template <class R, class T>
constexpr bool check_regulariser() {
  static_assert(diag::regulariser_has_no_name<R, regulariser_named<R>>::value);
  static_assert(diag::regulariser_has_no_hook<R, T,
                                              regulariser_corrupts<R, T> || regulariser_penalises_code<R, T> ||
                                                  regulariser_penalises_decoder<R, T> ||
                                                  regulariser_penalises_encoder<R> ||
                                                  regulariser_penalises_decoder_jacobian<R>>::value);
  return Regulariser<R, T>;
}
}  // namespace detail

}  // namespace latent
