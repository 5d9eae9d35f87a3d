// A pooling window must fit its input. With LATENT_SHOULD_FAIL a 4 x 4 window meets the 3 x 3 output
// of the convolution before it. Valid as written.
#include "latent/activations/relu.hpp"
#include "latent/core/shape.hpp"
#include "latent/layers/conv.hpp"
#include "latent/layers/resample.hpp"
#include "latent/layers/seq.hpp"
#include "latent/layers/shape_layers.hpp"

#include <cstddef>  // std::size_t

namespace cf::pool_too_large {

#ifdef LATENT_SHOULD_FAIL
inline constexpr std::size_t window = 4;
#else
inline constexpr std::size_t window = 3;
#endif

using Chain =
    latent::Seq<latent::Input<1, 6, 6>, latent::Conv2D<2, 3, 2, latent::Same, latent::Relu>, latent::AvgPool2D<window>>;

inline int case_pool_too_large() { return Chain::out_size == 2 ? 0 : 1; }

}  // namespace cf::pool_too_large

#ifndef LATENT_COMPILE_FAIL_DRIVER
int main() { return cf::pool_too_large::case_pool_too_large(); }
#endif
