// A SparseDictionary needs inputs and latents: In = 0 is refused, the first lines naming the rule and
// both sizes. Valid as written.
#include "latent/models/sparse_dictionary.hpp"

namespace cf::sae_zero {

#ifdef LATENT_SHOULD_FAIL
using Sae = latent::SparseDictionary<0, 32, latent::TopK<4>>;
#else
using Sae = latent::SparseDictionary<8, 32, latent::TopK<4>>;
#endif

// The valid twin makes one and reads its size.
inline int case_sae_zero() {
  const Sae sae(1);
  return sae.parameters().size() == Sae::param_count ? 0 : 1;
}

}  // namespace cf::sae_zero

#ifndef LATENT_COMPILE_FAIL_DRIVER
int main() { return cf::sae_zero::case_sae_zero(); }
#endif
