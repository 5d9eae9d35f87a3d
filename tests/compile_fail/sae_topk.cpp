// A SparseDictionary's TopK<K> keeps K of its latents: K larger than the dictionary is refused, the first
// lines naming the rule, the activation and the number of latents. Valid as written.
#include "latent/models/sparse_dictionary.hpp"

namespace cf::sae_topk {

#ifdef LATENT_SHOULD_FAIL
using Sae = latent::SparseDictionary<8, 32, latent::TopK<40>>;
#else
using Sae = latent::SparseDictionary<8, 32, latent::TopK<4>>;
#endif

// The valid twin makes one and reads its size.
inline int case_sae_topk() {
  const Sae sae(1);
  return sae.parameters().size() == Sae::param_count ? 0 : 1;
}

}  // namespace cf::sae_topk

#ifndef LATENT_COMPILE_FAIL_DRIVER
int main() { return cf::sae_topk::case_sae_topk(); }
#endif
