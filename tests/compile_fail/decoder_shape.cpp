// When both are shaped, the decoder's output shape must equal the encoder's input shape. With
// LATENT_SHOULD_FAIL the last transposed convolution lacks PyTorch's output_padding and the decoder
// comes out 27 x 27 for a 28 x 28 input (the classic mistake). Valid as written.
#include "latent/activations/relu.hpp"
#include "latent/activations/sigmoid.hpp"
#include "latent/core/shape.hpp"
#include "latent/layers/conv.hpp"
#include "latent/layers/dense.hpp"
#include "latent/layers/seq.hpp"
#include "latent/layers/shape_layers.hpp"
#include "latent/models/autoencoder.hpp"

#include <cstddef>  // std::size_t

namespace cf::decoder_shape {

#ifdef LATENT_SHOULD_FAIL
inline constexpr std::size_t op = 0;
#else
inline constexpr std::size_t op = 1;
#endif

struct Encoder : latent::Seq<latent::Input<1, 28, 28>, latent::Conv2D<8, 3, 2, latent::Pad<1>, latent::Relu>,
                             latent::Flatten, latent::Dense<1568, 4>> {};
struct Decoder : latent::Seq<latent::Dense<4, 1568, latent::Relu>, latent::Reshape<32, 7, 7>,
                             latent::ConvTranspose2D<8, 3, 2, latent::Pad<1, 1>, latent::Relu>,
                             latent::ConvTranspose2D<1, 3, 2, latent::Pad<1, op>, latent::Sigmoid>> {};
using Model = latent::Autoencoder<Encoder, Decoder>;

inline int case_decoder_shape() { return Model::input_size == 784 ? 0 : 1; }

}  // namespace cf::decoder_shape

#ifndef LATENT_COMPILE_FAIL_DRIVER
int main() { return cf::decoder_shape::case_decoder_shape(); }
#endif
