// A convolution cannot start a chain: nothing gives it a shape. With LATENT_SHOULD_FAIL the Input is
// missing. Valid as written.
#include "latent/core/shape.hpp"
#include "latent/layers/conv.hpp"
#include "latent/layers/seq.hpp"
#include "latent/layers/shape_layers.hpp"

#include <cstddef>  // std::size_t

namespace cf::conv_first {

#ifdef LATENT_SHOULD_FAIL
#define CF_INPUT
#else
#define CF_INPUT latent::Input<1, 28, 28>,
#endif

using Chain = latent::Seq<CF_INPUT latent::Conv2D<8, 3, 1, latent::Same>>;

inline int case_conv_first() { return Chain::out_size == 8 * 28 * 28 ? 0 : 1; }

}  // namespace cf::conv_first

#ifndef LATENT_COMPILE_FAIL_DRIVER
int main() { return cf::conv_first::case_conv_first(); }
#endif
