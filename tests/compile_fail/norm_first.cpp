// A normalisation layer takes its size from the layer before it: at the start of a chain it has none.
// With LATENT_SHOULD_FAIL the Seq starts with BatchNorm. Valid as written (after Input).
#include "latent/core/shape.hpp"
#include "latent/layers/batch_norm.hpp"
#include "latent/layers/seq.hpp"
#include "latent/layers/shape_layers.hpp"

namespace cf::norm_first {

#ifdef LATENT_SHOULD_FAIL
using Chain = latent::Seq<latent::BatchNorm, latent::Input<3, 4, 4>>;
#else
using Chain = latent::Seq<latent::Input<3, 4, 4>, latent::BatchNorm>;
#endif

inline int case_norm_first() { return Chain::out_size == 48 ? 0 : 1; }

}  // namespace cf::norm_first

#ifndef LATENT_COMPILE_FAIL_DRIVER
int main() { return cf::norm_first::case_norm_first(); }
#endif
