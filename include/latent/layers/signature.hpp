#pragma once
/// \file
/// `latent::signature<L>()`: a layer's architecture as text ("Seq<Dense<100,20,Relu>,...>"), derived
/// from its type. Saved files carry it, so that loading into another architecture is refused by name.

#include "latent/layers/layer_traits.hpp"

#include <cstddef>  // std::size_t
#include <string>   // std::string, std::to_string

namespace latent {

namespace detail {
template <class... Rs>
std::string join_signatures(type_list<Rs...>);
}  // namespace detail

/// The architecture of layer `L`: kinds and sizes of its leaf layers, nesting kept. Strong names
/// (`struct Encoder : Seq<...> {}`) do not appear: two types with the same layers have the same
/// signature.
template <class L>
std::string signature() {
  if constexpr (detail::chain<L>) {
    std::string s = "Seq<";
    s.append(detail::join_signatures(typename L::layers{}));
    s.push_back('>');
    return s;
  } else if constexpr (detail::is_gaussian_head_v<L>) {
    return "Gaussian<" + std::to_string(L::in_size) + "," + std::to_string(L::out_size) + ">";
  } else if constexpr (detail::is_dense_v<L>) {
    return "Dense<" + std::to_string(L::in_size) + "," + std::to_string(L::out_size) + "," + L::activation::name +
           ">";
  } else {
    return "Layer<" + std::to_string(L::in_size) + "," + std::to_string(L::out_size) + "," +
           std::to_string(L::param_count) + ">";
  }
}

namespace detail {
// Appends rather than concatenating a literal to a temporary: g++ 12 reports a false -Wrestrict
// inside std::string's operator+(const char*, string&&) when this is inlined (GCC bug 105651).
template <class... Rs>
std::string join_signatures(type_list<Rs...>) {
  std::string s;
  const auto add = [&s](const std::string& part) {
    if (!s.empty()) s.push_back(',');
    s.append(part);
  };
  (add(signature<Rs>()), ...);
  return s;
}
}  // namespace detail

}  // namespace latent
