// Rule (b): the decoder's input size must equal the encoder's output (code) size. The encoder gives 5
// codes; with LATENT_SHOULD_FAIL the decoder expects 6. Valid as written.
#include "latent/activations/relu.hpp"
#include "latent/activations/sigmoid.hpp"
#include "latent/layers/dense.hpp"
#include "latent/layers/seq.hpp"
#include "latent/models/autoencoder.hpp"

#include <cstddef>  // std::size_t

namespace cf::decoder_input {

#ifdef LATENT_SHOULD_FAIL
inline constexpr std::size_t decoder_in = 6;
#else
inline constexpr std::size_t decoder_in = 5;
#endif

struct Encoder : latent::Seq<latent::Dense<100, 20, latent::Relu>, latent::Dense<20, 5, latent::Sigmoid>> {};
struct Decoder : latent::Seq<latent::Dense<decoder_in, 20, latent::Relu>, latent::Dense<20, 100, latent::Sigmoid>> {};
using Model = latent::Autoencoder<Encoder, Decoder>;

inline int case_decoder_input() { return Model::code_size == 5 ? 0 : 1; }

}  // namespace cf::decoder_input

#ifndef LATENT_COMPILE_FAIL_DRIVER
int main() { return cf::decoder_input::case_decoder_input(); }
#endif
