// SpatialAttention attends over the positions of an image: it needs a shaped input. With
// LATENT_SHOULD_FAIL it follows Flatten. Valid as written (after the convolution).
#include "latent/core/shape.hpp"
#include "latent/layers/attention.hpp"
#include "latent/layers/conv.hpp"
#include "latent/layers/dense.hpp"
#include "latent/layers/seq.hpp"
#include "latent/layers/shape_layers.hpp"

namespace cf::attention_flat {

#ifdef LATENT_SHOULD_FAIL
using Chain = latent::Seq<latent::Input<1, 4, 4>, latent::Conv2D<8, 3, 1, latent::Same>, latent::Flatten,
                          latent::SpatialAttention<2>, latent::Dense<128, 2>>;
#else
using Chain = latent::Seq<latent::Input<1, 4, 4>, latent::Conv2D<8, 3, 1, latent::Same>, latent::SpatialAttention<2>,
                          latent::Flatten, latent::Dense<128, 2>>;
#endif

inline int case_attention_flat() { return Chain::out_size == 2 ? 0 : 1; }

}  // namespace cf::attention_flat

#ifndef LATENT_COMPILE_FAIL_DRIVER
int main() { return cf::attention_flat::case_attention_flat(); }
#endif
