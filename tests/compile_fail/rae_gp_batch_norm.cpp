// RAE-GP differentiates each code's decoder Jacobian through extra decoder passes, row by row;
// BatchNorm's batch statistics have no per-row Jacobian. With LATENT_SHOULD_FAIL the decoder has a
// BatchNorm. Valid as written.
#include "latent/activations/relu.hpp"
#include "latent/layers/batch_norm.hpp"
#include "latent/layers/dense.hpp"
#include "latent/layers/seq.hpp"
#include "latent/losses/mse.hpp"
#include "latent/models/rae.hpp"

namespace cf::rae_gp_batch_norm {

struct Encoder : latent::Seq<latent::Dense<8, 6, latent::Relu>, latent::Dense<6, 2>> {};
#ifdef LATENT_SHOULD_FAIL
struct Decoder : latent::Seq<latent::Dense<2, 6>, latent::BatchNorm, latent::Relu, latent::Dense<6, 8>> {};
#else
struct Decoder : latent::Seq<latent::Dense<2, 6, latent::Relu>, latent::Dense<6, 8>> {};
#endif

inline int case_rae_gp_batch_norm() {
  latent::RAE_GP<Encoder, Decoder, latent::MSE> model(1);
  return model.param_count > 0 ? 0 : 1;
}

}  // namespace cf::rae_gp_batch_norm

#ifndef LATENT_COMPILE_FAIL_DRIVER
int main() { return cf::rae_gp_batch_norm::case_rae_gp_batch_norm(); }
#endif
