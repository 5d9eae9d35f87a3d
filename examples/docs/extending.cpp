// docs/extending.md, compiled and run: an optimiser of one's own (the Optimizer concept, then the range
// protocol) trained on the seed model, and the latent::testing checks on a library layer. The page's
// user layer, activation, loss and regulariser are those of examples/custom_layer.cpp.
// tests/docs/check_docs.py checks that the page's blocks are excerpts of this file or of that one.
#include <latent/latent.hpp>
#include <latent/testing.hpp>  // latent::testing: not part of latent.hpp

#include <cstddef>  // std::size_t
#include <cstdio>   // std::printf
#include <span>     // std::span

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
  return same && failures == 0 ? 0 : 1;
}
