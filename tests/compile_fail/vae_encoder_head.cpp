// A VAE's encoder must end in a Gaussian<Z> head. With LATENT_SHOULD_FAIL it ends in a plain Dense
// layer (an autoencoder's encoder given to VAE). Valid as written.
#include "latent/activations/relu.hpp"
#include "latent/layers/dense.hpp"
#include "latent/layers/gaussian.hpp"
#include "latent/layers/seq.hpp"
#include "latent/models/vae.hpp"

namespace cf::vae_encoder_head {

#ifdef LATENT_SHOULD_FAIL
using Head = latent::Dense<20, 5>;
#else
using Head = latent::Gaussian<5>;
#endif

struct Encoder : latent::Seq<latent::Dense<100, 20, latent::Relu>, Head> {};
struct Decoder : latent::Seq<latent::Dense<5, 20, latent::Relu>, latent::Dense<20, 100>> {};
using Model = latent::VAE<Encoder, Decoder>;

inline int case_vae_encoder_head() { return sizeof(Model) > 0 ? 0 : 1; }

}  // namespace cf::vae_encoder_head

#ifndef LATENT_COMPILE_FAIL_DRIVER
int main() { return cf::vae_encoder_head::case_vae_encoder_head(); }
#endif
