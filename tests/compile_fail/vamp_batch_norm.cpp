// A VampPrior runs the encoder on its pseudo-inputs beside the batch; an encoder with BatchNorm would
// mix them into its batch statistics. With LATENT_SHOULD_FAIL the encoder has a BatchNorm. Valid as
// written.
#include "latent/activations/relu.hpp"
#include "latent/layers/batch_norm.hpp"
#include "latent/layers/dense.hpp"
#include "latent/layers/gaussian.hpp"
#include "latent/layers/seq.hpp"
#include "latent/models/vamp_vae.hpp"

namespace cf::vamp_batch_norm {

#ifdef LATENT_SHOULD_FAIL
struct Encoder : latent::Seq<latent::Dense<8, 6>, latent::BatchNorm, latent::Relu, latent::Gaussian<2>> {};
#else
struct Encoder : latent::Seq<latent::Dense<8, 6, latent::Relu>, latent::Gaussian<2>> {};
#endif
struct Decoder : latent::Seq<latent::Dense<2, 8>> {};

inline int case_vamp_batch_norm() {
  using Model = latent::VampVAE<Encoder, Decoder, 4>;
  return Model::components == 4 ? 0 : 1;
}

}  // namespace cf::vamp_batch_norm

#ifndef LATENT_COMPILE_FAIL_DRIVER
int main() { return cf::vamp_batch_norm::case_vamp_batch_norm(); }
#endif
