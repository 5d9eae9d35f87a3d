#pragma once
// The family on residual, normalised parts (issue 25): small parts of 8 x 8 images, and the three checks
// every model's residual test makes: two threads give one thread's bits, it learns, and save/load gives
// it back bit for bit. What each model adds (its own state, codes, samples) stays in its own test.
#include <cstddef>
#include <filesystem>
#include <string>
#include <utility>

#include <doctest/doctest.h>
#include <latent/latent.hpp>
#include <xtensor/xtensor.hpp>

#include "test_data.hpp"  // same_bits, bar_images

namespace latent_test::residual {

// A pre-activation residual block on 4 planes: GroupNorm, SiLU, a 3 x 3 convolution, twice.
using Block = latent::Residual<latent::Seq<latent::GroupNorm<2>, latent::Silu, latent::Conv2D<4, 3, 1, latent::Same>,
                                           latent::GroupNorm<2>, latent::Silu, latent::Conv2D<4, 3, 1, latent::Same>>>;

// The encoder's trunk on 1 x 8 x 8 images: a strided convolution, a normalisation (BatchNorm; GroupNorm
// where the model's rule refuses batch statistics), ReLU and the block, to 4 x 4 x 4; then Tail (e.g.
// Flatten and a code's head, or a quantiser on the grid).
template <class Norm, class... Tail>
struct Encoder : latent::Seq<latent::Input<1, 8, 8>, latent::Conv2D<4, 3, 2, latent::Same>, Norm, latent::Relu, Block,
                             Tail...> {};
// An encoder to a code of Z numbers: Flatten and Head (Gaussian<Z>, Dense<64, Z>, ...).
template <class Norm, class Head>
struct FlatEncoder : Encoder<Norm, latent::Flatten, Head> {};

// The decoder from a code of Z numbers back to 1 x 8 x 8 logits: through the block and a transposed
// convolution.
template <std::size_t Z>
struct Decoder : latent::Seq<latent::Dense<Z, 64>, latent::Reshape<4, 4, 4>, Block,
                             latent::ConvTranspose2D<1, 4, 2, latent::Pad<1>>> {};
// The same from a 4 x 4 grid of 4 channels (a quantised code).
struct GridDecoder : latent::Seq<latent::Input<4, 4, 4>, Block, latent::ConvTranspose2D<1, 4, 2, latent::Pad<1>>> {};

// 128 images of bars (tests/support/test_data.hpp), the data of every residual test.
inline xt::xtensor<float, 2> images() { return bar_images(128, 3); }

// For a model whose step runs unsplit (its batch term couples the rows: WAE's MMD, VampPrior's mixture,
// FactorVAE's permutation): three Adam steps on the first 64 rows of x, one model on one thread and one
// (built alike) on two give the same losses, parameters and state (running statistics, a
// discriminator), bit for bit. A split step's weight gradients are summed per slice: see test_vq.cpp.
template <class M>
void two_threads_agree(M& one, M& two, const xt::xtensor<float, 2>& x) {
  one.set_threads(1);
  two.set_threads(2);
  latent::Adam a(1e-2), b(1e-2);
  for (int step = 0; step < 3; ++step) CHECK(one.train_batch(x.data(), 64, a) == two.train_batch(x.data(), 64, b));
  CHECK(same_bits(std::as_const(one).parameters(), std::as_const(two).parameters()));
  CHECK(same_bits(std::as_const(one).state(), std::as_const(two).state()));
}

// m's loss on x (eval mode: BatchNorm's running statistics) falls below 0.8 of its start in four epochs
// of fit (Adam 1e-2, batches of 32). Returns the loss before and after.
template <class M>
std::pair<double, double> learns(M& m, const xt::xtensor<float, 2>& x, const char* what) {
  latent::Adam opt(1e-2);
  const double before = m.loss(x);
  latent::fit(m, x, opt, {.epochs = 4, .batch_size = 32, .progress = latent::Progress::quiet});
  const double after = m.loss(x);
  MESSAGE(std::string(what) << ", residual parts: loss " << before << " -> " << after);
  CHECK(after < 0.8 * before);
  return {before, after};
}

// save(m) then load into back (a model built with another seed): the parameters, the state and the
// reconstruction of x come back bit for bit. The file is the test's own (name) and is removed.
template <class M>
void round_trips(const M& m, M& back, const xt::xtensor<float, 2>& x, const std::string& name) {
  const auto path = (std::filesystem::temp_directory_path() / ("latent_test_residual_" + name + ".latent")).string();
  latent::save(m, path);
  latent::load(back, path);
  std::filesystem::remove(path);
  CHECK(same_bits(std::as_const(back).parameters(), m.parameters()));
  CHECK(same_bits(std::as_const(back).state(), m.state()));
  CHECK(same_bits(back.reconstruct(x), m.reconstruct(x)));
}

}  // namespace latent_test::residual
