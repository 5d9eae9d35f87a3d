// A user layer must have every pass the library calls. With LATENT_SHOULD_FAIL the layer in the Seq
// has sizes, init and forward but no backward; the first lines name the member, the layer and its
// position. Valid as written.
#include "latent/activations/tanh.hpp"
#include "latent/core/context.hpp"
#include "latent/core/random.hpp"
#include "latent/layers/dense.hpp"
#include "latent/layers/seq.hpp"

#include <cstddef>  // std::size_t

namespace cf::layer_no_backward {

// y = x + b, element-wise.
struct Shift {
  static constexpr const char* name = "Shift";
  static constexpr std::size_t in_size = 4, out_size = 4, param_count = 4, cache_size = 0, scratch_size = 0;
  template <class T>
  static void init(T* p, latent::Rng&) {
    for (std::size_t j = 0; j < 4; ++j) p[j] = T(0);
  }
  template <class T>
  static void forward(const T* p, const T* x, T* y, T*, std::size_t n, latent::Context<T>&) {
    for (std::size_t i = 0; i < n * 4; ++i) y[i] = x[i] + p[i % 4];
  }
#ifndef LATENT_SHOULD_FAIL
  template <class T>
  static void backward(const T*, const T*, const T*, const T*, T* dy, T* dx, T* dp, T*, std::size_t n,
                       latent::Context<T>&) {
    for (std::size_t j = 0; j < 4; ++j) dp[j] = T(0);
    for (std::size_t i = 0; i < n * 4; ++i) {
      dp[i % 4] += dy[i];
      if (dx != nullptr) dx[i] = dy[i];
    }
  }
#endif
};

using Net = latent::Seq<latent::Dense<6, 4, latent::Tanh>, Shift>;

inline int case_layer_no_backward() { return Net::param_count == 6 * 4 + 4 + 4 ? 0 : 1; }

}  // namespace cf::layer_no_backward

#ifndef LATENT_COMPILE_FAIL_DRIVER
int main() { return cf::layer_no_backward::case_layer_no_backward(); }
#endif
