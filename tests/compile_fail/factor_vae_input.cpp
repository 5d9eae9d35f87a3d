// A FactorVAE's discriminator reads the code: its input size must be the encoder's code size Z. With
// LATENT_SHOULD_FAIL the discriminator takes 5 values after a code of 4. Valid as written.
#include "latent/activations/relu.hpp"
#include "latent/layers/dense.hpp"
#include "latent/layers/gaussian.hpp"
#include "latent/layers/seq.hpp"
#include "latent/models/factor_vae.hpp"

namespace cf::factor_vae_input {

using Enc = latent::Seq<latent::Dense<12, 8, latent::Relu>, latent::Gaussian<4>>;
using Dec = latent::Seq<latent::Dense<4, 12, latent::Identity>>;
#ifdef LATENT_SHOULD_FAIL
using Disc = latent::Seq<latent::Dense<5, 16, latent::Relu>, latent::Dense<16, 2, latent::Identity>>;
#else
using Disc = latent::Seq<latent::Dense<4, 16, latent::Relu>, latent::Dense<16, 2, latent::Identity>>;
#endif
using Model = latent::FactorVAE<Enc, Dec, Disc>;

// The valid twin: a code of 4 read by the discriminator.
inline int case_factor_vae_input() { return Model::code_size == 4 ? 0 : 1; }

}  // namespace cf::factor_vae_input

#ifndef LATENT_COMPILE_FAIL_DRIVER
int main() { return cf::factor_vae_input::case_factor_vae_input(); }
#endif
