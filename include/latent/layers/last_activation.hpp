#pragma once
/// \file
/// `latent::last_activation_t<L>`: the activation of the last layer of a layer or chain (void if it has
/// none), used by rules such as "a loss on logits needs an Identity output".

#include "latent/layers/seq.hpp"

#include <boost/hana/at.hpp>     // hana::at_c
#include <boost/hana/tuple.hpp>  // hana::tuple_t

#include <type_traits>  // std::void_t

namespace latent {

namespace detail {
template <class L, class = void>
struct last_activation {
  using type = void;
};
template <class L>
struct last_activation<L, std::void_t<typename L::activation>> {
  using type = typename L::activation;
};
template <class L>
  requires requires { typename L::layers; }
struct last_activation<L, void> {
  template <class... Rs>
  static auto last(type_list<Rs...>) -> typename decltype(+boost::hana::at_c<sizeof...(Rs) - 1>(boost::hana::tuple_t<Rs...>))::type;
  using type = typename last_activation<decltype(last(typename L::layers{}))>::type;
};
}  // namespace detail

/// The activation of `L`'s last layer (through nested `Seq`s), or void.
template <class L>
using last_activation_t = typename detail::last_activation<L>::type;

}  // namespace latent
