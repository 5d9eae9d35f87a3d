// A convolution needs at least one filter, kernel and stride. With LATENT_SHOULD_FAIL it has 0 filters. Valid as
// written.
#include "latent/activations/relu.hpp"
#include "latent/core/shape.hpp"
#include "latent/layers/conv.hpp"
#include "latent/layers/seq.hpp"
#include "latent/layers/shape_layers.hpp"

#include <cstddef>  // std::size_t

namespace cf::conv_zero {

#ifdef LATENT_SHOULD_FAIL
inline constexpr std::size_t filters = 0;
#else
inline constexpr std::size_t filters = 8;
#endif

using Chain = latent::Seq<latent::Input<1, 28, 28>, latent::Conv2D<filters, 3, 2, latent::Same, latent::Relu>>;

inline int case_conv_zero() { return Chain::out_size == 8 * 14 * 14 ? 0 : 1; }

}  // namespace cf::conv_zero

#ifndef LATENT_COMPILE_FAIL_DRIVER
int main() { return cf::conv_zero::case_conv_zero(); }
#endif
