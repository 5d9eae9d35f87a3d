// A VectorQuantizer<Codes, Dim> quantises vectors of its input's channels: Dim must equal them. With
// LATENT_SHOULD_FAIL the quantiser takes codes of 8 values after 16 channels. Valid as written.
#include "latent/core/shape.hpp"
#include "latent/layers/seq.hpp"
#include "latent/layers/shape_layers.hpp"
#include "latent/layers/vector_quantizer.hpp"

namespace cf::vq_dim {

#ifdef LATENT_SHOULD_FAIL
using Chain = latent::Seq<latent::Input<16, 7, 7>, latent::VectorQuantizer<256, 8>>;
#else
using Chain = latent::Seq<latent::Input<16, 7, 7>, latent::VectorQuantizer<256, 16>>;
#endif

// The valid twin: 49 positions of 16 values.
inline int case_vq_dim() { return Chain::out_size == 16 * 49 ? 0 : 1; }

}  // namespace cf::vq_dim

#ifndef LATENT_COMPILE_FAIL_DRIVER
int main() { return cf::vq_dim::case_vq_dim(); }
#endif
