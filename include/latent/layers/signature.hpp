#pragma once
/// \file
/// `latent::signature<L>()`: a layer's architecture as text ("Seq<Dense<100,20,Relu>,...>"), derived
/// from its type. Saved files carry it, so that loading into another architecture is refused by name.

#include "latent/layers/layer_traits.hpp"

#include <concepts>     // std::convertible_to
#include <cstddef>      // std::size_t
#include <string>       // std::string, std::to_string
#include <string_view>  // std::string_view

namespace latent {

namespace detail {
template <class... Rs>
std::string join_signatures(type_list<Rs...>);
}  // namespace detail

namespace detail {
/// The name of type `L` as the compiler spells it (from the signature of a function template), e.g.
/// "user::Affine<4>": for layers that do not name themselves.
template <class L>
std::string type_name() {
  const std::string_view f = __PRETTY_FUNCTION__;  // "... type_name() [with L = X; ...]" or "[L = X]"
  const std::size_t eq = f.find("L = ");
  if (eq == std::string_view::npos) return std::string(f);
  std::size_t end = f.find_first_of(";]", eq);
  if (end == std::string_view::npos) end = f.size();
  return std::string(f.substr(eq + 4, end - eq - 4));
}
}  // namespace detail

/// The architecture of layer `L`: kinds and sizes of its leaf layers, nesting kept. A layer gives its
/// own text with `static std::string signature()` (Dense, Gaussian), or its `name` (then
/// "Name<in,out,params>"); a layer with neither is recorded by its type's name as the compiler spells
/// it, so two different layers never share a signature (name your layers for files that move between
/// compilers). Strong names of chains (`struct Encoder : Seq<...> {}`) do not appear: two chains with
/// the same layers have the same signature.
template <class L>
std::string signature() {
  std::string s;
  if constexpr (detail::chain<L>) {
    s = "Seq<";
    s.append(detail::join_signatures(typename L::layers{}));
    s.push_back('>');
  } else if constexpr (requires {
                         { L::signature() } -> std::convertible_to<std::string>;
                       }) {
    s = L::signature();
  } else {
    if constexpr (detail::named<L>)
      s = std::string(std::string_view(L::name));
    else
      s = detail::type_name<L>();
    s.append("<").append(std::to_string(L::in_size)).append(",").append(std::to_string(L::out_size));
    s.append(",").append(std::to_string(L::param_count)).append(">");
  }
  return s;
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
