// With a projection on the skip (y = Projection(x) + Branch(x)), the projection must give the branch's
// shape. With LATENT_SHOULD_FAIL the projection keeps stride 1 (32 x 8 x 8) while the branch halves the
// size (32 x 4 x 4). Valid as written (a strided 1 x 1 projection).
#include "latent/core/shape.hpp"
#include "latent/layers/conv.hpp"
#include "latent/layers/residual.hpp"
#include "latent/layers/seq.hpp"
#include "latent/layers/shape_layers.hpp"

namespace cf::residual_projection {

#ifdef LATENT_SHOULD_FAIL
using Projection = latent::Conv2D<32, 1>;
#else
using Projection = latent::Conv2D<32, 1, 2>;
#endif

using Chain = latent::Seq<latent::Input<16, 8, 8>,
                          latent::Residual<latent::Seq<latent::Conv2D<32, 3, 2, latent::Same>>, Projection>>;

inline int case_residual_projection() { return Chain::out_size == 32 * 4 * 4 ? 0 : 1; }

}  // namespace cf::residual_projection

#ifndef LATENT_COMPILE_FAIL_DRIVER
int main() { return cf::residual_projection::case_residual_projection(); }
#endif
