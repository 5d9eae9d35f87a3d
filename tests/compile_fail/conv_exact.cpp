// Exact<Padding>: the stride divides (padded input - kernel). With LATENT_SHOULD_FAIL a 3 x 3 kernel
// with stride 2 on 28 x 28 would drop the last column and row. Valid as written.
#include "latent/core/shape.hpp"
#include "latent/layers/conv.hpp"
#include "latent/layers/seq.hpp"
#include "latent/layers/shape_layers.hpp"

#include <cstddef>  // std::size_t

namespace cf::conv_exact {

#ifdef LATENT_SHOULD_FAIL
inline constexpr std::size_t side = 28;
#else
inline constexpr std::size_t side = 29;
#endif

using Chain = latent::Seq<latent::Input<1, side, side>, latent::Conv2D<8, 3, 2, latent::Exact<latent::Valid>>>;

inline int case_conv_exact() { return Chain::out_size == 8 * 14 * 14 ? 0 : 1; }

}  // namespace cf::conv_exact

#ifndef LATENT_COMPILE_FAIL_DRIVER
int main() { return cf::conv_exact::case_conv_exact(); }
#endif
