// docs/extending.md, compiled and run: an optimiser of one's own (the Optimizer concept, then the range
// protocol) trained on the seed model, and the latent::testing checks on a library layer. The page's
// user layer, activation, loss and regulariser are those of examples/custom_layer.cpp.
// tests/docs/check_docs.py checks that the page's blocks are excerpts of this file or of that one.
#include <latent/latent.hpp>
#include <latent/testing.hpp>  // latent::testing: not part of latent.hpp

#include <algorithm>  // std::copy_n
#include <cstddef>    // std::size_t
#include <cstdio>     // std::printf
#include <span>       // std::span

using namespace latent;

// clang-format off
struct Descent {                                              // p ← p − lr·g: an Optimizer<Descent, T>
  double lr = 0.01;
  template <class T>
  void step(std::span<T> params, std::span<const T> grads) {
    for (std::size_t i = 0; i < params.size(); ++i) params[i] -= static_cast<T>(lr) * grads[i];
  }
};

struct RangedDescent : Descent {                              // the same update, part by part
  template <class T>
  bool begin_ranges(std::size_t) { return true; }             // false: "give me the whole gradient first"
  template <class T>
  void update_range(std::span<T> params, std::span<const T> grads, std::size_t first, std::size_t last) {
    for (std::size_t i = first; i < last; ++i) params[i] -= static_cast<T>(lr) * grads[i];
  }
};
// clang-format on
static_assert(Optimizer<Descent, float> && Optimizer<RangedDescent, double>);

// A layer with state: passes its input through and keeps, per feature, an exponential moving average of
// the values it has seen in training steps (a tracker of a code's activity, say). Its statistics are
// summed over the step's slices and processes; update_state runs once per step.
// clang-format off
template <std::size_t N>
struct ActivityTracker {
  static constexpr const char* name = "ActivityTracker";
  static constexpr std::size_t in_size = N, out_size = N, param_count = 0, cache_size = 0, scratch_size = 0;
  static constexpr std::size_t state_size = N;               // the moving averages: saved, never trained
  static constexpr std::size_t step_stats_size = N + 1;      // a step's sums per feature, and its rows
  template <class T> static void init(T*, Rng&) {}
  template <class T> static void init_state(T* state) { for (std::size_t j = 0; j < N; ++j) state[j] = T(0); }
  template <class T> static void update_state(T* state, const T* stats) {     // once per training step
    for (std::size_t j = 0; j < N; ++j) state[j] = T(0.9) * state[j] + T(0.1) * stats[j] / stats[N];
  }
  template <class T>
  static void forward(const T*, const T* x, T* y, T*, std::size_t n, Context<T>& ctx) {
    if (ctx.mode == Mode::train && ctx.stats != nullptr) {   // add this slice's share
      for (std::size_t r = 0; r < n; ++r)
        for (std::size_t j = 0; j < N; ++j) ctx.stats[j] += x[r * N + j];
      ctx.stats[N] += static_cast<T>(n);
    }
    std::copy_n(x, n * N, y);
  }
  template <class T>
  static void backward(const T*, const T*, const T*, const T*, T* dy, T* dx, T*, T*, std::size_t n, Context<T>&) {
    if (dx != nullptr) std::copy_n(dy, n * N, dx);
  }
};
// clang-format on
struct TrackedEncoder : Seq<Dense<100, 20, Relu>, Dense<20, 5, Sigmoid>, ActivityTracker<5>> {};
struct Encoder : Seq<Dense<100, 20, Relu>, Dense<20, 5, Sigmoid>> {};
struct Decoder : Seq<Dense<5, 20, Relu>, Dense<20, 100, Sigmoid>> {};
using Model = Autoencoder<Encoder, Decoder, MSE>;

int main() {
  const Dataset data = make_shapes(64, /*seed=*/1);
  const xt::xtensor<float, 2> x = [&] {  // the first pixels as 64 rows of 100
    xt::xtensor<float, 2> rows = xt::xtensor<float, 2>::from_shape({64, 100});
    for (std::size_t i = 0; i < rows.size(); ++i) rows.data()[i] = data.x.data()[i];
    return rows;
  }();
  Model a(/*seed=*/1), b(/*seed=*/1);
  Descent plain{.lr = 0.05};
  RangedDescent ranged;
  ranged.lr = 0.05;
  a.set_threads(2);
  b.set_threads(2);
  fit(a, x, plain, {.epochs = 3, .batch_size = 64, .progress = Progress::quiet});
  fit(b, x, ranged, {.epochs = 3, .batch_size = 64, .progress = Progress::quiet});
  bool same = true;
  for (std::size_t i = 0; i < Model::param_count; ++i) same = same && a.parameters()[i] == b.parameters()[i];
  std::printf("optimisers: step and the range protocol give %s parameters\n", same ? "the same" : "DIFFERENT");

  int failures = 0;
  // clang-format off
  namespace lt = latent::testing;
  lt::check_result r = lt::gradient_check<Dense<7, 5, Softplus>>();   // backward against central differences, in double
  std::printf("%s\n", r.message().c_str());                           // what was expected, what was found
  failures += !r;
  failures += !lt::shape_check<Dense<7, 5, Tanh>>();                 // writes exactly its buffers
  failures += !lt::thread_check<Dense<7, 5, Elu>>();                 // two threads give the one-thread gradient
  failures += !lt::gradient_check<Sigmoid>();                         // activations and losses too
  failures += !lt::gradient_check<BCEWithLogits>();
  failures += !lt::save_load_check<Autoencoder<Encoder, Decoder, BCE>>(a, x);   // round trip; the other type refuses
  // clang-format on
  std::printf("testing: %d check(s) failed\n", failures);

  Autoencoder<TrackedEncoder, Decoder, MSE> tracked(/*seed=*/1);
  Adam adam;
  fit(tracked, x, adam, {.epochs = 2, .batch_size = 16, .progress = Progress::quiet});
  std::printf("state: the code's moving averages %.3f %.3f ... (%zu values)\n", tracked.state()[0], tracked.state()[1],
              tracked.state().size());
  failures += tracked.state()[0] > 0 ? 0 : 1;
  return same && failures == 0 ? 0 : 1;
}
