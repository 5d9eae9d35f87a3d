// Reshape keeps the element count. With LATENT_SHOULD_FAIL the Dense before Reshape<64, 7, 7> gives
// 3000 values instead of 3136. Valid as written.
#include "latent/activations/relu.hpp"
#include "latent/layers/dense.hpp"
#include "latent/layers/seq.hpp"
#include "latent/layers/shape_layers.hpp"

#include <cstddef>  // std::size_t

namespace cf::reshape_count {

#ifdef LATENT_SHOULD_FAIL
inline constexpr std::size_t width = 3000;
#else
inline constexpr std::size_t width = 3136;
#endif

using Chain = latent::Seq<latent::Dense<16, width, latent::Relu>, latent::Reshape<64, 7, 7>>;

inline int case_reshape_count() { return Chain::out_size == 3136 ? 0 : 1; }

}  // namespace cf::reshape_count

#ifndef LATENT_COMPILE_FAIL_DRIVER
int main() { return cf::reshape_count::case_reshape_count(); }
#endif
