// A convolution's kernel must fit inside its padded input. With LATENT_SHOULD_FAIL a 3 x 3 Valid
// kernel meets a 2 x 2 input. Valid as written.
#include "latent/core/shape.hpp"
#include "latent/layers/conv.hpp"
#include "latent/layers/seq.hpp"
#include "latent/layers/shape_layers.hpp"

#include <cstddef>  // std::size_t

namespace cf::conv_kernel_too_large {

#ifdef LATENT_SHOULD_FAIL
inline constexpr std::size_t side = 2;
#else
inline constexpr std::size_t side = 4;
#endif

using Chain = latent::Seq<latent::Input<1, side, side>, latent::Conv2D<4, 3, 1, latent::Valid>>;

inline int case_conv_kernel_too_large() { return Chain::out_size == 16 ? 0 : 1; }

}  // namespace cf::conv_kernel_too_large

#ifndef LATENT_COMPILE_FAIL_DRIVER
int main() { return cf::conv_kernel_too_large::case_conv_kernel_too_large(); }
#endif
