// Rule (a) across a nested Seq: in Seq<Seq<A, B>, C>, C expects 8 inputs but the inner Seq (ending in
// B) gives 7. Valid as written; with LATENT_SHOULD_FAIL the one number below changes.
#include "latent/activations/relu.hpp"
#include "latent/activations/sigmoid.hpp"
#include "latent/layers/dense.hpp"
#include "latent/layers/seq.hpp"

#include <cstddef>  // std::size_t

namespace cf::seq_nested {

#ifdef LATENT_SHOULD_FAIL
inline constexpr std::size_t last_in = 8;
#else
inline constexpr std::size_t last_in = 7;
#endif

using Inner = latent::Seq<latent::Dense<100, 20, latent::Relu>, latent::Dense<20, 7, latent::Relu>>;
using Chain = latent::Seq<Inner, latent::Dense<last_in, 5, latent::Sigmoid>>;

inline int case_seq_nested() { return Chain::in_size == 100 && Chain::out_size == 5 ? 0 : 1; }

}  // namespace cf::seq_nested

#ifndef LATENT_COMPILE_FAIL_DRIVER
int main() { return cf::seq_nested::case_seq_nested(); }
#endif
