// A convolution needs a shaped input. With LATENT_SHOULD_FAIL it follows a flat Dense layer without a
// Reshape. Valid as written.
#include "latent/activations/relu.hpp"
#include "latent/core/shape.hpp"
#include "latent/layers/conv.hpp"
#include "latent/layers/dense.hpp"
#include "latent/layers/seq.hpp"
#include "latent/layers/shape_layers.hpp"

#include <cstddef>  // std::size_t

namespace cf::conv_no_shape {

#ifdef LATENT_SHOULD_FAIL
#define CF_RESHAPE
#else
#define CF_RESHAPE latent::Reshape<1, 28, 28>,
#endif

using Chain = latent::Seq<latent::Dense<10, 784, latent::Relu>, CF_RESHAPE latent::Conv2D<8, 3, 1, latent::Same>>;

inline int case_conv_no_shape() { return Chain::out_size == 8 * 28 * 28 ? 0 : 1; }

}  // namespace cf::conv_no_shape

#ifndef LATENT_COMPILE_FAIL_DRIVER
int main() { return cf::conv_no_shape::case_conv_no_shape(); }
#endif
