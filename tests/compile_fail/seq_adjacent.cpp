// Rule (a), adjacent layers: inside a Seq, layer 1 expects 21 inputs but layer 0 gives 20.
// Valid as written; with LATENT_SHOULD_FAIL the one number below changes and the Seq is miswired.
#include "latent/activations/relu.hpp"
#include "latent/activations/sigmoid.hpp"
#include "latent/layers/dense.hpp"
#include "latent/layers/seq.hpp"

#include <cstddef>  // std::size_t

namespace cf::seq_adjacent {

#ifdef LATENT_SHOULD_FAIL
inline constexpr std::size_t second_in = 21;
#else
inline constexpr std::size_t second_in = 20;
#endif

using Chain = latent::Seq<latent::Dense<100, 20, latent::Relu>, latent::Dense<second_in, 5, latent::Sigmoid>>;

inline int case_seq_adjacent() { return Chain::out_size == 5 ? 0 : 1; }

}  // namespace cf::seq_adjacent

#ifndef LATENT_COMPILE_FAIL_DRIVER
int main() { return cf::seq_adjacent::case_seq_adjacent(); }
#endif
