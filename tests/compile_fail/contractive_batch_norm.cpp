// The contractive penalty differentiates each sample's encoder; BatchNorm's batch statistics have no
// per-sample Jacobian. With LATENT_SHOULD_FAIL the encoder has a BatchNorm. Valid as written.
#include "latent/activations/relu.hpp"
#include "latent/layers/batch_norm.hpp"
#include "latent/layers/dense.hpp"
#include "latent/layers/seq.hpp"
#include "latent/losses/mse.hpp"
#include "latent/models/contractive_autoencoder.hpp"

namespace cf::contractive_batch_norm {

#ifdef LATENT_SHOULD_FAIL
struct Encoder : latent::Seq<latent::Dense<8, 6>, latent::BatchNorm, latent::Relu, latent::Dense<6, 2>> {};
#else
struct Encoder : latent::Seq<latent::Dense<8, 6, latent::Relu>, latent::Dense<6, 2>> {};
#endif
struct Decoder : latent::Seq<latent::Dense<2, 8>> {};

inline int case_contractive_batch_norm() {
  latent::ContractiveAutoencoder<Encoder, Decoder, latent::MSE> model(1);
  return model.param_count > 0 ? 0 : 1;
}

}  // namespace cf::contractive_batch_norm

#ifndef LATENT_COMPILE_FAIL_DRIVER
int main() { return cf::contractive_batch_norm::case_contractive_batch_norm(); }
#endif
