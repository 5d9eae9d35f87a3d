// A VAE likelihood needs every member the VAE calls. With LATENT_SHOULD_FAIL the likelihood has no nll
// (only nll_and_gradient); the first lines name the likelihood and the member. Valid as written.
#include "latent/activations/tanh.hpp"
#include "latent/layers/dense.hpp"
#include "latent/layers/gaussian.hpp"
#include "latent/layers/seq.hpp"
#include "latent/models/vae.hpp"

#include <cstddef>  // std::size_t

namespace cf::likelihood_no_nll {

// A unit-variance Gaussian p(x|z) = N(out, I), up to its constant.
struct Unit {
  static constexpr const char* name = "Unit";
  static constexpr bool takes_logits = false;
  template <std::size_t D>
  static constexpr std::size_t params_for = 0;
  template <class T>
  static void init(T*, std::size_t) {}
#ifndef LATENT_SHOULD_FAIL
  template <class T>
  static double nll(const T* out, const T* x, const T*, std::size_t n, std::size_t d) {
    double s = 0;
    for (std::size_t i = 0; i < n * d; ++i) s += 0.5 * (out[i] - x[i]) * (out[i] - x[i]);
    return s;
  }
#endif
  template <class T>
  static double nll_and_gradient(const T* out, const T* x, const T*, T* d_out, T*, std::size_t n, std::size_t d,
                                 T scale) {
    double s = 0;
    for (std::size_t i = 0; i < n * d; ++i) {
      s += 0.5 * (out[i] - x[i]) * (out[i] - x[i]);
      d_out[i] = scale * (out[i] - x[i]);
    }
    return s;
  }
  template <class T>
  static void to_mean(T*, const T*, std::size_t, std::size_t) {}
};

struct Encoder : latent::Seq<latent::Dense<10, 8, latent::Tanh>, latent::Gaussian<2>> {};
struct Decoder : latent::Seq<latent::Dense<2, 8, latent::Tanh>, latent::Dense<8, 10>> {};
using Model = latent::VAE<Encoder, Decoder, Unit>;

inline int case_likelihood_no_nll() { return sizeof(Model) > 0 ? 0 : 1; }

}  // namespace cf::likelihood_no_nll

#ifndef LATENT_COMPILE_FAIL_DRIVER
int main() { return cf::likelihood_no_nll::case_likelihood_no_nll(); }
#endif
