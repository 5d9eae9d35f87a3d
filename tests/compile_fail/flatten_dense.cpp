// After Flatten, a layer takes the flattened size. With LATENT_SHOULD_FAIL the Dense after 64 x 7 x 7
// expects 3000 inputs instead of 3136. Valid as written.
#include "latent/activations/relu.hpp"
#include "latent/core/shape.hpp"
#include "latent/layers/conv.hpp"
#include "latent/layers/dense.hpp"
#include "latent/layers/seq.hpp"
#include "latent/layers/shape_layers.hpp"

#include <cstddef>  // std::size_t

namespace cf::flatten_dense {

#ifdef LATENT_SHOULD_FAIL
inline constexpr std::size_t flat = 3000;
#else
inline constexpr std::size_t flat = 3136;
#endif

using Chain =
    latent::Seq<latent::Input<1, 28, 28>, latent::Conv2D<32, 3, 2, latent::Same, latent::Relu>,
                latent::Conv2D<64, 3, 2, latent::Same, latent::Relu>, latent::Flatten, latent::Dense<flat, 16>>;

inline int case_flatten_dense() { return Chain::out_size == 16 ? 0 : 1; }

}  // namespace cf::flatten_dense

#ifndef LATENT_COMPILE_FAIL_DRIVER
int main() { return cf::flatten_dense::case_flatten_dense(); }
#endif
