// Rule (c): the decoder's output size must equal the encoder's input size (a reconstruction has the
// input's shape). The encoder takes 100 inputs; with LATENT_SHOULD_FAIL the decoder gives 99. Valid as
// written.
#include "latent/activations/relu.hpp"
#include "latent/activations/sigmoid.hpp"
#include "latent/layers/dense.hpp"
#include "latent/layers/seq.hpp"
#include "latent/models/autoencoder.hpp"

#include <cstddef>  // std::size_t

namespace cf::decoder_output {

#ifdef LATENT_SHOULD_FAIL
inline constexpr std::size_t decoder_out = 99;
#else
inline constexpr std::size_t decoder_out = 100;
#endif

struct Encoder : latent::Seq<latent::Dense<100, 20, latent::Relu>, latent::Dense<20, 5, latent::Sigmoid>> {};
struct Decoder : latent::Seq<latent::Dense<5, 20, latent::Relu>, latent::Dense<20, decoder_out, latent::Sigmoid>> {};
using Model = latent::Autoencoder<Encoder, Decoder>;

inline int case_decoder_output() { return Model::input_size == 100 ? 0 : 1; }

}  // namespace cf::decoder_output

#ifndef LATENT_COMPILE_FAIL_DRIVER
int main() { return cf::decoder_output::case_decoder_output(); }
#endif
