// Rule (d): every element of a Seq must be a layer. With LATENT_SHOULD_FAIL element 1 is the loss MSE
// (a loss belongs to the model, not to a chain; an activation such as Relu may stand alone). Valid as
// written.
#include "latent/activations/relu.hpp"
#include "latent/activations/sigmoid.hpp"
#include "latent/layers/dense.hpp"
#include "latent/layers/seq.hpp"
#include "latent/losses/mse.hpp"

namespace cf::not_a_layer {

#ifdef LATENT_SHOULD_FAIL
using Second = latent::MSE;
#else
using Second = latent::Dense<20, 20, latent::Relu>;
#endif

using Chain = latent::Seq<latent::Dense<100, 20, latent::Relu>, Second, latent::Dense<20, 5, latent::Sigmoid>>;

inline int case_not_a_layer() { return Chain::out_size == 5 ? 0 : 1; }

}  // namespace cf::not_a_layer

#ifndef LATENT_COMPILE_FAIL_DRIVER
int main() { return cf::not_a_layer::case_not_a_layer(); }
#endif
