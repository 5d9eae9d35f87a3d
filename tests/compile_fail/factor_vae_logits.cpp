// A FactorVAE's discriminator gives two logits per code (the codes as they are, and permuted). With
// LATENT_SHOULD_FAIL it ends in one output. Valid as written.
#include "latent/activations/relu.hpp"
#include "latent/layers/dense.hpp"
#include "latent/layers/gaussian.hpp"
#include "latent/layers/seq.hpp"
#include "latent/models/factor_vae.hpp"

namespace cf::factor_vae_logits {

using Enc = latent::Seq<latent::Dense<12, 8, latent::Relu>, latent::Gaussian<4>>;
using Dec = latent::Seq<latent::Dense<4, 12, latent::Identity>>;
#ifdef LATENT_SHOULD_FAIL
using Disc = latent::Seq<latent::Dense<4, 16, latent::Relu>, latent::Dense<16, 1, latent::Identity>>;
#else
using Disc = latent::Seq<latent::Dense<4, 16, latent::Relu>, latent::Dense<16, 2, latent::Identity>>;
#endif
using Model = latent::FactorVAE<Enc, Dec, Disc>;

// The valid twin: two logits.
inline int case_factor_vae_logits() { return Model::discriminator_param_count == 4 * 16 + 16 + 16 * 2 + 2 ? 0 : 1; }

}  // namespace cf::factor_vae_logits

#ifndef LATENT_COMPILE_FAIL_DRIVER
int main() { return cf::factor_vae_logits::case_factor_vae_logits(); }
#endif
