// Gaussian<Z> may only be the last layer of a VAE's encoder. With LATENT_SHOULD_FAIL the decoder ends
// in one. Valid as written.
#include "latent/activations/relu.hpp"
#include "latent/layers/dense.hpp"
#include "latent/layers/gaussian.hpp"
#include "latent/layers/seq.hpp"
#include "latent/models/vae.hpp"

namespace cf::vae_gaussian_in_decoder {

#ifdef LATENT_SHOULD_FAIL
using Output = latent::Gaussian<100>;
#else
using Output = latent::Dense<20, 100>;
#endif

struct Encoder : latent::Seq<latent::Dense<100, 20, latent::Relu>, latent::Gaussian<5>> {};
struct Decoder : latent::Seq<latent::Dense<5, 20, latent::Relu>, Output> {};
using Model = latent::VAE<Encoder, Decoder>;

inline int case_vae_gaussian_in_decoder() { return sizeof(Model) > 0 ? 0 : 1; }

}  // namespace cf::vae_gaussian_in_decoder

#ifndef LATENT_COMPILE_FAIL_DRIVER
int main() { return cf::vae_gaussian_in_decoder::case_vae_gaussian_in_decoder(); }
#endif
