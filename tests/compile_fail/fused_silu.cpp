// SiLU's derivative needs its input, which a layer that fuses its activation does not keep: it stands
// as a layer of its own. With LATENT_SHOULD_FAIL it is Dense's activation argument. Valid as written.
#include "latent/activations/silu.hpp"
#include "latent/layers/dense.hpp"
#include "latent/layers/seq.hpp"

namespace cf::fused_silu {

#ifdef LATENT_SHOULD_FAIL
using Chain = latent::Seq<latent::Dense<8, 6, latent::Silu>, latent::Dense<6, 2>>;
#else
using Chain = latent::Seq<latent::Dense<8, 6>, latent::Silu, latent::Dense<6, 2>>;
#endif

inline int case_fused_silu() { return Chain::out_size == 2 ? 0 : 1; }

}  // namespace cf::fused_silu

#ifndef LATENT_COMPILE_FAIL_DRIVER
int main() { return cf::fused_silu::case_fused_silu(); }
#endif
