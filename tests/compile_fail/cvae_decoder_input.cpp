// A conditional VAE's decoder takes the code and the one-hot label: its input size must be Z + C.
// With LATENT_SHOULD_FAIL the decoder expects only Z = 5 inputs instead of 5 + 10. Valid as written.
#include "latent/activations/relu.hpp"
#include "latent/layers/dense.hpp"
#include "latent/layers/gaussian.hpp"
#include "latent/layers/seq.hpp"
#include "latent/models/conditional_vae.hpp"

#include <cstddef>  // std::size_t

namespace cf::cvae_decoder_input {

#ifdef LATENT_SHOULD_FAIL
inline constexpr std::size_t decoder_in = 5;
#else
inline constexpr std::size_t decoder_in = 15;
#endif

struct Encoder : latent::Seq<latent::Dense<110, 20, latent::Relu>, latent::Gaussian<5>> {};
struct Decoder : latent::Seq<latent::Dense<decoder_in, 20, latent::Relu>, latent::Dense<20, 100>> {};
using Model = latent::ConditionalVAE<Encoder, Decoder, 10>;

inline int case_cvae_decoder_input() { return sizeof(Model) > 0 ? 0 : 1; }

}  // namespace cf::cvae_decoder_input

#ifndef LATENT_COMPILE_FAIL_DRIVER
int main() { return cf::cvae_decoder_input::case_cvae_decoder_input(); }
#endif
