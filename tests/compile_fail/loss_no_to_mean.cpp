// A reconstruction loss needs every member the autoencoders call. With LATENT_SHOULD_FAIL the loss has
// no to_mean; the first lines name the loss and the member. Valid as written.
#include "latent/activations/tanh.hpp"
#include "latent/layers/dense.hpp"
#include "latent/layers/seq.hpp"
#include "latent/models/autoencoder.hpp"

#include <cmath>    // std::abs
#include <cstddef>  // std::size_t

namespace cf::loss_no_to_mean {

struct L1 {
  static constexpr const char* name = "L1";
  template <class T>
  static double value(const T* p, const T* t, std::size_t n, std::size_t d) {
    double s = 0;
    for (std::size_t i = 0; i < n * d; ++i) s += std::abs(static_cast<double>(p[i]) - t[i]);
    return s / static_cast<double>(d);
  }
  template <class T>
  static double value_and_gradient(const T* p, const T* t, T* g, std::size_t n, std::size_t d, T scale) {
    for (std::size_t i = 0; i < n * d; ++i) g[i] = p[i] > t[i] ? scale / T(d) : -scale / T(d);
    return value(p, t, n, d);
  }
#ifndef LATENT_SHOULD_FAIL
  template <class T>
  static void to_mean(T*, std::size_t) {}
#endif
};

struct Encoder : latent::Seq<latent::Dense<10, 3, latent::Tanh>> {};
struct Decoder : latent::Seq<latent::Dense<3, 10>> {};
using Model = latent::Autoencoder<Encoder, Decoder, L1>;

inline int case_loss_no_to_mean() { return sizeof(Model) > 0 ? 0 : 1; }

}  // namespace cf::loss_no_to_mean

#ifndef LATENT_COMPILE_FAIL_DRIVER
int main() { return cf::loss_no_to_mean::case_loss_no_to_mean(); }
#endif
