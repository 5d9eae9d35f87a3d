// A conditional VAE with a shaped encoder takes the image's channels plus one constant plane per class.
// With LATENT_SHOULD_FAIL the encoder's Input forgets the class planes (1 channel instead of 1 + 3).
// Valid as written.
#include "latent/activations/relu.hpp"
#include "latent/core/shape.hpp"
#include "latent/layers/conv.hpp"
#include "latent/layers/dense.hpp"
#include "latent/layers/gaussian.hpp"
#include "latent/layers/seq.hpp"
#include "latent/layers/shape_layers.hpp"
#include "latent/models/conditional_vae.hpp"

#include <cstddef>  // std::size_t

namespace cf::cvae_conv_planes {

#ifdef LATENT_SHOULD_FAIL
inline constexpr std::size_t channels = 1;
#else
inline constexpr std::size_t channels = 1 + 3;
#endif

struct Encoder : latent::Seq<latent::Input<channels, 8, 8>, latent::Conv2D<4, 3, 2, latent::Same, latent::Relu>,
                             latent::Flatten, latent::Gaussian<2>> {};
struct Decoder : latent::Seq<latent::Dense<5, 64, latent::Relu>, latent::Reshape<4, 4, 4>,
                             latent::ConvTranspose2D<1, 3, 2, latent::Same>> {};
using Model = latent::ConditionalVAE<Encoder, Decoder, 3>;

inline int case_cvae_conv_planes() { return Model::input_size == 64 ? 0 : 1; }

}  // namespace cf::cvae_conv_planes

#ifndef LATENT_COMPILE_FAIL_DRIVER
int main() { return cf::cvae_conv_planes::case_cvae_conv_planes(); }
#endif
