#pragma once
/// \file
/// Structural facts about layers and chains, looked up through nested `Seq`s: the last layer, its
/// activation, and where `Gaussian` heads are. The VAE and logit rules are written with these.

#include "latent/layers/dense.hpp"
#include "latent/layers/seq.hpp"

#include <boost/hana/at.hpp>     // hana::at_c
#include <boost/hana/tuple.hpp>  // hana::tuple_t

#include <concepts>     // std::convertible_to
#include <cstddef>      // std::size_t
#include <type_traits>  // std::void_t, std::false_type
#include <utility>      // std::pair, std::make_index_sequence
#include <vector>       // std::vector

namespace latent {

namespace detail {
template <class L>
concept chain = requires { typename L::layers; };

/// Appends the ranges of `L`'s biases among parameters packed from `offset`: a layer that declares
/// `bias_count` has its last `bias_count` parameters as biases; a `Seq` has its layers' biases; any
/// other layer (a user's without `bias_count`) has none, and weight decay applies to all of it.
template <class L>
void append_bias_ranges(std::vector<std::pair<std::size_t, std::size_t>>& out, std::size_t offset) {
  if constexpr (requires { L::ops::param_offsets; }) {
    [&]<std::size_t... I>(std::index_sequence<I...>) {
      (append_bias_ranges<typename L::ops::template layer<I>>(out, offset + L::ops::param_offsets[I]), ...);
    }(std::make_index_sequence<L::ops::count>{});
  } else if constexpr (requires { L::bias_count; }) {
    static_assert(L::bias_count <= L::param_count, "latent: a layer's bias_count exceeds its param_count");
    if constexpr (L::bias_count > 0) out.emplace_back(offset + L::param_count - L::bias_count, offset + L::param_count);
  }
}

template <class L>
struct last_layer {
  using type = L;
};
template <chain L>
struct last_layer<L> {
  template <class... Rs>
  static auto last(type_list<Rs...>) ->
      typename decltype(+boost::hana::at_c<sizeof...(Rs) - 1>(boost::hana::tuple_t<Rs...>))::type;
  using type = typename last_layer<decltype(last(typename L::layers{}))>::type;
};

template <class L, class = void>
struct activation_of {
  using type = void;
};
template <class L>
struct activation_of<L, std::void_t<typename L::activation>> {
  using type = typename L::activation;
};

template <class L>
inline constexpr bool is_gaussian_head_v = requires { requires L::is_gaussian_head; };

template <class L>
struct gaussian_heads {
  static constexpr std::size_t count = is_gaussian_head_v<L> ? 1 : 0;
};
template <chain L>
struct gaussian_heads<L> {
  template <class... Rs>
  static constexpr std::size_t sum(type_list<Rs...>) {
    return (gaussian_heads<Rs>::count + ... + 0);
  }
  static constexpr std::size_t count = sum(typename L::layers{});
};
template <class... Lists>
struct concat;
template <>
struct concat<> {
  using type = type_list<>;
};
template <class... A>
struct concat<type_list<A...>> {
  using type = type_list<A...>;
};
template <class... A, class... B, class... Rest>
struct concat<type_list<A...>, type_list<B...>, Rest...> {
  using type = typename concat<type_list<A..., B...>, Rest...>::type;
};

template <class L>
struct flatten {
  using type = type_list<L>;
};
template <chain L>
struct flatten<L> {
  template <class... Rs>
  static auto all(type_list<Rs...>) -> typename concat<typename flatten<Rs>::type...>::type;
  using type = decltype(all(typename L::layers{}));
};

// Dense itself, by its template (a user layer with the same members is not a Dense: the contractive
// penalty relies on Dense's exact parameter layout and activation).
template <class L>
struct is_dense : std::false_type {};
template <std::size_t In, std::size_t Out, class Act>
struct is_dense<Dense<In, Out, Act>> : std::true_type {};
template <class L>
inline constexpr bool is_dense_v = is_dense<L>::value;

template <class List>
struct all_dense;
template <class... Ls>
struct all_dense<type_list<Ls...>> {
  static constexpr bool value = (is_dense_v<Ls> && ...);
};
}  // namespace detail

/// The leaf layers of `L` in order, nested `Seq`s flattened, as `detail::type_list<...>`.
template <class L>
using flat_layers_t = typename detail::flatten<L>::type;

/// True when every leaf layer of `L` is a `Dense` layer.
template <class L>
inline constexpr bool all_dense_v = detail::all_dense<flat_layers_t<L>>::value;

/// The last (innermost) layer of `L`: `L` itself unless it is a chain such as `Seq`.
template <class L>
using last_layer_t = typename detail::last_layer<L>::type;

/// The activation of `L`'s last layer, or void if it has none (e.g. a `Gaussian` head).
template <class L>
using last_activation_t = typename detail::activation_of<last_layer_t<L>>::type;

/// Number of `Gaussian` heads anywhere in `L`.
template <class L>
inline constexpr std::size_t gaussian_head_count_v = detail::gaussian_heads<L>::count;

/// True when `L` ends in a `Gaussian` head and has no other: the shape of a VAE's encoder.
template <class L>
inline constexpr bool ends_in_gaussian_v = detail::is_gaussian_head_v<last_layer_t<L>> && gaussian_head_count_v<L> == 1;

}  // namespace latent
