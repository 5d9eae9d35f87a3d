// A Seq needs at least one layer. With LATENT_SHOULD_FAIL the Seq is empty. Valid as written.
#include "latent/layers/dense.hpp"
#include "latent/layers/seq.hpp"

namespace cf::seq_empty {

#ifdef LATENT_SHOULD_FAIL
using Chain = latent::Seq<>;
#else
using Chain = latent::Seq<latent::Dense<4, 2>>;
#endif

inline int case_seq_empty() { return Chain::layer_count == 1 ? 0 : 1; }

}  // namespace cf::seq_empty

#ifndef LATENT_COMPILE_FAIL_DRIVER
int main() { return cf::seq_empty::case_seq_empty(); }
#endif
