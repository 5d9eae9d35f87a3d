// Rule (e): a Dense layer needs at least one input and one output. With LATENT_SHOULD_FAIL the last
// layer of a Seq has 0 outputs (the rule must fire first, even though the Seq probes its elements
// through a concept). Valid as written.
#include "latent/activations/relu.hpp"
#include "latent/activations/sigmoid.hpp"
#include "latent/layers/dense.hpp"
#include "latent/layers/seq.hpp"

#include <cstddef>  // std::size_t

namespace cf::dense_zero {

#ifdef LATENT_SHOULD_FAIL
inline constexpr std::size_t code = 0;
#else
inline constexpr std::size_t code = 5;
#endif

using Chain = latent::Seq<latent::Dense<100, 20, latent::Relu>, latent::Dense<20, code, latent::Sigmoid>>;

inline int case_dense_zero() { return Chain::out_size == 5 ? 0 : 1; }

}  // namespace cf::dense_zero

#ifndef LATENT_COMPILE_FAIL_DRIVER
int main() { return cf::dense_zero::case_dense_zero(); }
#endif
