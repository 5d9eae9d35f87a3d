// A layer that declares state (state_size, step_stats_size) needs init_state and update_state. With
// LATENT_SHOULD_FAIL the user's counting layer lacks update_state. Valid as written.
#include "latent/core/context.hpp"
#include "latent/core/random.hpp"
#include "latent/layers/dense.hpp"
#include "latent/layers/seq.hpp"

#include <algorithm>  // std::copy_n
#include <cstddef>    // std::size_t

namespace cf::state_hooks {

// Counts the rows it has seen in training steps (state: the count; statistics: this step's rows).
struct Counter {
  static constexpr const char* name = "Counter";
  static constexpr std::size_t in_size = 4, out_size = 4, param_count = 0, cache_size = 0, scratch_size = 0;
  static constexpr std::size_t state_size = 1, step_stats_size = 1;
  template <class T>
  static void init(T*, latent::Rng&) {}
  template <class T>
  static void init_state(T* state) {
    state[0] = T(0);
  }
#ifndef LATENT_SHOULD_FAIL
  template <class T>
  static void update_state(T* state, const T* stats) {
    state[0] += stats[0];
  }
#endif
  template <class T>
  static void forward(const T*, const T* x, T* y, T*, std::size_t n, latent::Context<T>& ctx) {
    if (ctx.stats != nullptr) ctx.stats[0] += static_cast<T>(n);
    std::copy_n(x, n * 4, y);
  }
  template <class T>
  static void backward(const T*, const T*, const T*, const T*, T* dy, T* dx, T*, T*, std::size_t n,
                       latent::Context<T>&) {
    if (dx != nullptr) std::copy_n(dy, n * 4, dx);
  }
};

using Chain = latent::Seq<latent::Dense<8, 4>, Counter, latent::Dense<4, 2>>;

inline int case_state_hooks() { return Chain::out_size == 2 ? 0 : 1; }

}  // namespace cf::state_hooks

#ifndef LATENT_COMPILE_FAIL_DRIVER
int main() { return cf::state_hooks::case_state_hooks(); }
#endif
