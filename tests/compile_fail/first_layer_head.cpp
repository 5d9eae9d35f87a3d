// The first layer of a Seq must know its input size: a head such as Gaussian<Z> learns it from the
// layer before it, so it cannot come first. With LATENT_SHOULD_FAIL the Seq starts with Gaussian<5>.
// Valid as written (a VAE encoder: Dense then the head).
#include "latent/activations/relu.hpp"
#include "latent/layers/dense.hpp"
#include "latent/layers/gaussian.hpp"
#include "latent/layers/seq.hpp"

namespace cf::first_layer_head {

#ifdef LATENT_SHOULD_FAIL
using First = latent::Gaussian<5>;
#else
using First = latent::Dense<100, 20, latent::Relu>;
#endif

using Chain = latent::Seq<First, latent::Gaussian<5>>;

inline int case_first_layer_head() { return Chain::out_size == 5 ? 0 : 1; }

}  // namespace cf::first_layer_head

#ifndef LATENT_COMPILE_FAIL_DRIVER
int main() { return cf::first_layer_head::case_first_layer_head(); }
#endif
