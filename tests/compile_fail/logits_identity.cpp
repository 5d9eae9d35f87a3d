// A loss on logits (BCEWithLogits) needs a decoder whose last layer is linear. With LATENT_SHOULD_FAIL
// the decoder ends in Sigmoid (probabilities fed to a loss that expects logits). Valid as written.
#include "latent/activations/identity.hpp"
#include "latent/activations/relu.hpp"
#include "latent/activations/sigmoid.hpp"
#include "latent/layers/dense.hpp"
#include "latent/layers/seq.hpp"
#include "latent/losses/bce_with_logits.hpp"
#include "latent/models/autoencoder.hpp"

namespace cf::logits_identity {

#ifdef LATENT_SHOULD_FAIL
using Output = latent::Sigmoid;
#else
using Output = latent::Identity;
#endif

struct Encoder : latent::Seq<latent::Dense<100, 20, latent::Relu>, latent::Dense<20, 5, latent::Sigmoid>> {};
struct Decoder : latent::Seq<latent::Dense<5, 20, latent::Relu>, latent::Dense<20, 100, Output>> {};
using Model = latent::Autoencoder<Encoder, Decoder, latent::BCEWithLogits>;

inline int case_logits_identity() { return Model::param_count > 0 ? 0 : 1; }

}  // namespace cf::logits_identity

#ifndef LATENT_COMPILE_FAIL_DRIVER
int main() { return cf::logits_identity::case_logits_identity(); }
#endif
