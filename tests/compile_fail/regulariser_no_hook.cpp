// A regulariser needs a hook (code_penalty and/or corrupt). With LATENT_SHOULD_FAIL the penalty takes
// the code as a std::vector, which the model never calls; the first lines name the regulariser and the
// scalar type. Valid as written.
#include "latent/activations/tanh.hpp"
#include "latent/core/random.hpp"
#include "latent/layers/dense.hpp"
#include "latent/layers/seq.hpp"
#include "latent/models/autoencoder.hpp"

#include <cstddef>  // std::size_t
#include <vector>   // std::vector: the hook spelled wrongly

namespace cf::regulariser_no_hook {

// λ · ½|code|² per sample.
struct Shrink {
  static constexpr const char* name = "Shrink";
  static constexpr bool splittable = true;
  double weight = 0.1;
#ifdef LATENT_SHOULD_FAIL
  double code_penalty(const std::vector<float>& code) const { return weight * static_cast<double>(code.size()); }
#else
  template <class T>
  double code_penalty(const T* code, T* dcode, std::size_t n, std::size_t z, T grad_scale, latent::Rng&) const {
    double s = 0;
    for (std::size_t i = 0; i < n * z; ++i) {
      s += 0.5 * weight * code[i] * code[i];
      dcode[i] += grad_scale * static_cast<T>(weight) * code[i];
    }
    return s;
  }
#endif
};

struct Encoder : latent::Seq<latent::Dense<10, 3, latent::Tanh>> {};
struct Decoder : latent::Seq<latent::Dense<3, 10>> {};
using Model = latent::RegularisedAutoencoder<Encoder, Decoder, Shrink>;

inline int case_regulariser_no_hook() { return sizeof(Model) > 0 ? 0 : 1; }

}  // namespace cf::regulariser_no_hook

#ifndef LATENT_COMPILE_FAIL_DRIVER
int main() { return cf::regulariser_no_hook::case_regulariser_no_hook(); }
#endif
