// A residual branch must give the shape it receives (y = x + Branch(x)). With LATENT_SHOULD_FAIL the
// branch is a stride-2 transposed convolution to 32 channels: 64 x 7 x 7 in, 32 x 14 x 14 out. Valid as
// written (a branch of 3 x 3 convolutions that keep 64 x 7 x 7).
#include "latent/activations/relu.hpp"
#include "latent/core/shape.hpp"
#include "latent/layers/conv.hpp"
#include "latent/layers/residual.hpp"
#include "latent/layers/seq.hpp"
#include "latent/layers/shape_layers.hpp"

namespace cf::residual_shape {

#ifdef LATENT_SHOULD_FAIL
using Branch = latent::Seq<latent::ConvTranspose2D<32, 3, 2, latent::Pad<1, 1>>, latent::Relu>;
#else
using Branch = latent::Seq<latent::Conv2D<64, 3, 1, latent::Same>, latent::Relu>;
#endif

using Chain = latent::Seq<latent::Input<64, 7, 7>, latent::Residual<Branch>>;

inline int case_residual_shape() { return Chain::out_size == 64 * 7 * 7 ? 0 : 1; }

}  // namespace cf::residual_shape

#ifndef LATENT_COMPILE_FAIL_DRIVER
int main() { return cf::residual_shape::case_residual_shape(); }
#endif
