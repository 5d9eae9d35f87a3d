// The contractive penalty is exact for encoders of Dense layers. With LATENT_SHOULD_FAIL the encoder
// holds a user layer (whose Jacobian the penalty cannot know); the first lines name the encoder.
// Valid as written.
#include "latent/activations/sigmoid.hpp"
#include "latent/core/context.hpp"
#include "latent/core/random.hpp"
#include "latent/layers/dense.hpp"
#include "latent/layers/seq.hpp"
#include "latent/models/contractive_autoencoder.hpp"

#include <cstddef>  // std::size_t

namespace cf::contractive_user_layer {

// y = x + b, element-wise: a complete layer, just not a Dense one.
struct Shift {
  static constexpr const char* name = "Shift";
  static constexpr std::size_t in_size = 3, out_size = 3, param_count = 3, cache_size = 0, scratch_size = 0;
  template <class T>
  static void init(T* p, latent::Rng&) {
    for (std::size_t j = 0; j < 3; ++j) p[j] = T(0);
  }
  template <class T>
  static void forward(const T* p, const T* x, T* y, T*, std::size_t n, latent::Context<T>&) {
    for (std::size_t i = 0; i < n * 3; ++i) y[i] = x[i] + p[i % 3];
  }
  template <class T>
  static void backward(const T*, const T*, const T*, const T*, T* dy, T* dx, T* dp, T*, std::size_t n,
                       latent::Context<T>&) {
    for (std::size_t j = 0; j < 3; ++j) dp[j] = T(0);
    for (std::size_t i = 0; i < n * 3; ++i) {
      dp[i % 3] += dy[i];
      if (dx != nullptr) dx[i] = dy[i];
    }
  }
};

#ifdef LATENT_SHOULD_FAIL
using Last = Shift;
#else
using Last = latent::Dense<3, 3, latent::Sigmoid>;
#endif

struct Encoder : latent::Seq<latent::Dense<10, 3, latent::Sigmoid>, Last> {};
struct Decoder : latent::Seq<latent::Dense<3, 10>> {};
using Model = latent::ContractiveAutoencoder<Encoder, Decoder>;

inline int case_contractive_user_layer() { return sizeof(Model) > 0 ? 0 : 1; }

}  // namespace cf::contractive_user_layer

#ifndef LATENT_COMPILE_FAIL_DRIVER
int main() { return cf::contractive_user_layer::case_contractive_user_layer(); }
#endif
