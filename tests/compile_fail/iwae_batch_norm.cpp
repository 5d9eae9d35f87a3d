// An IWAE repeats every row K times in one training pass: BatchNorm would count each K times. With
// LATENT_SHOULD_FAIL the encoder has a BatchNorm. Valid as written (GroupNorm<1>, per sample).
#include "latent/activations/relu.hpp"
#include "latent/layers/batch_norm.hpp"
#include "latent/layers/dense.hpp"
#include "latent/layers/gaussian.hpp"
#include "latent/layers/group_norm.hpp"
#include "latent/layers/seq.hpp"
#include "latent/losses/bernoulli.hpp"
#include "latent/models/vae.hpp"

namespace cf::iwae_batch_norm {

#ifdef LATENT_SHOULD_FAIL
using Norm = latent::BatchNorm;
#else
using Norm = latent::GroupNorm<1>;
#endif
struct Encoder : latent::Seq<latent::Dense<8, 6>, Norm, latent::Relu, latent::Gaussian<2>> {};
struct Decoder : latent::Seq<latent::Dense<2, 8>> {};

inline int case_iwae_batch_norm() {
  latent::IWAE<Encoder, Decoder, 5, latent::Bernoulli> model(1);
  return model.param_count > 0 ? 0 : 1;
}

}  // namespace cf::iwae_batch_norm

#ifndef LATENT_COMPILE_FAIL_DRIVER
int main() { return cf::iwae_batch_norm::case_iwae_batch_norm(); }
#endif
