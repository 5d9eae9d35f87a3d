// A transposed convolution's output_padding is smaller than its stride. With LATENT_SHOULD_FAIL it is 2
// with stride 2. Valid as written.
#include "latent/core/shape.hpp"
#include "latent/layers/conv.hpp"
#include "latent/layers/seq.hpp"
#include "latent/layers/shape_layers.hpp"

#include <cstddef>  // std::size_t

namespace cf::output_padding {

#ifdef LATENT_SHOULD_FAIL
inline constexpr std::size_t op = 2;
#else
inline constexpr std::size_t op = 1;
#endif

using Chain = latent::Seq<latent::Input<4, 7, 7>, latent::ConvTranspose2D<1, 3, 2, latent::Pad<1, op>>>;

inline int case_output_padding() { return Chain::out_size == 14 * 14 ? 0 : 1; }

}  // namespace cf::output_padding

#ifndef LATENT_COMPILE_FAIL_DRIVER
int main() { return cf::output_padding::case_output_padding(); }
#endif
