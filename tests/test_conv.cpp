// Shapes and convolutions: the arithmetic (Keras's Same, PyTorch's padding and output_padding), the
// forward passes against the definitions written as plain loops, the laws every layer obeys (central
// differences in double for every padding mode and stride, two threads, save and load), and the model
// family on shaped encoders and decoders learning from images.
#include <doctest/doctest.h>
#include <latent/latent.hpp>
#include <latent/testing/testing.hpp>

#include "support/check_macros.hpp"

#include <xtensor/xtensor.hpp>  // xt::xtensor: the models' data
#include <xtensor/xview.hpp>    // xt::row

#include <cmath>    // std::abs, std::isfinite
#include <cstddef>  // std::size_t
#include <string>   // std::string
#include <vector>   // std::vector

// The file's own names live in namespace test_conv: the test programs compile several test files as one
// translation unit (tests/CMakeLists.txt), and each file's helpers stay its own.
namespace test_conv {

using namespace latent;
namespace lt = latent::testing;

// ---- the arithmetic -----------------------------------------------------------------------------------
// Keras's Same: out = ⌈n/s⌉, total = max((out − 1)s + k − n, 0), ⌊total/2⌋ before.
static_assert(detail::conv_axis<Same>(28, 3, 2).out == 14);
static_assert(detail::conv_axis<Same>(28, 3, 2).before == 0 && detail::conv_axis<Same>(28, 3, 2).after == 1);
static_assert(detail::conv_axis<Same>(27, 3, 2).before == 1 && detail::conv_axis<Same>(27, 3, 2).after == 1);
static_assert(detail::conv_axis<Same>(14, 3, 2).out == 7);
static_assert(detail::conv_axis<Same>(5, 4, 1).before == 1 && detail::conv_axis<Same>(5, 4, 1).after == 2);
// Valid and PyTorch's padding: ⌊(n + 2p − k)/s⌋ + 1.
static_assert(detail::conv_axis<Valid>(28, 5, 1).out == 24 && detail::conv_axis<Valid>(28, 3, 2).out == 13);
static_assert(detail::conv_axis<Pad<1>>(28, 3, 2).out == 14 && detail::conv_axis<Pad<1>>(28, 3, 2).before == 1);
static_assert(!detail::conv_axis<Valid>(2, 3, 1).fits && detail::conv_axis<Pad<1>>(2, 3, 1).fits);
static_assert(!detail::conv_axis<Exact<Valid>>(28, 3, 2).divides && detail::conv_axis<Exact<Valid>>(29, 3, 2).divides);
// Transposed: Same gives n·s; Pad<p, op> gives (n − 1)s − 2p + k + op; Valid (n − 1)s + k.
static_assert(detail::conv_transpose_axis<Same>(7, 3, 2).out == 14 &&
              detail::conv_transpose_axis<Same>(7, 3, 2).before == 0);
static_assert(detail::conv_transpose_axis<Same>(28, 3, 1).out == 28 &&
              detail::conv_transpose_axis<Same>(28, 3, 1).before == 1);
static_assert(detail::conv_transpose_axis<Pad<1, 1>>(7, 3, 2).out == 14 &&
              detail::conv_transpose_axis<Pad<1, 1>>(7, 3, 2).before == 1);
static_assert(detail::conv_transpose_axis<Valid>(7, 3, 2).out == 15);

// The model, as written: its shapes and PyTorch's parameter count.
namespace keras {
struct Encoder : Seq<Input<1, 28, 28>, Conv2D<32, 3, 2, Same, Relu>, Conv2D<64, 3, 2, Same, Relu>, Flatten,
                     Dense<3136, 16, Relu>, Gaussian<16>> {};
struct Decoder : Seq<Dense<16, 3136, Relu>, Reshape<64, 7, 7>, ConvTranspose2D<64, 3, 2, Same, Relu>,
                     ConvTranspose2D<32, 3, 2, Same, Relu>, ConvTranspose2D<1, 3, 1, Same>> {};
using Model = VAE<Encoder, Decoder, Bernoulli>;
static_assert(std::is_same_v<Encoder::in_shape, shape<1, 28, 28>> &&
              std::is_same_v<Decoder::out_shape, shape<1, 28, 28>>);
static_assert(Encoder::param_count + Decoder::param_count == 178545);
static_assert(Model::input_size == 784 && Model::code_size == 16);
}  // namespace keras

// ---- the forward passes against their definitions ---------------------------------------------------------
namespace {

// y[f, o, q] = b[f] + Σ_c,i,j W[f, c, i, j] · x[c, o·s + i − pt, q·s + j − pl] (zero outside).
template <class L>
std::vector<double> conv_reference(const std::vector<double>& p, const double* x) {
  using In = typename L::in_shape;
  using Out = typename L::out_shape;
  constexpr std::size_t C = In::channels, H = In::height, W = In::width, K = L::geometry::row / C;
  constexpr std::size_t K1 = K == 1 ? 1 : K == 4 ? 2 : K == 9 ? 3 : K == 16 ? 4 : 5;  // √(K·K)
  std::vector<double> y(Out::size);
  for (std::size_t f = 0; f < Out::channels; ++f)
    for (std::size_t o = 0; o < Out::height; ++o)
      for (std::size_t q = 0; q < Out::width; ++q) {
        double s = p[L::weight_count + f];
        for (std::size_t c = 0; c < C; ++c)
          for (std::size_t i = 0; i < K1; ++i)
            for (std::size_t j = 0; j < K1; ++j) {
              const long r = static_cast<long>(o * L::rows.stride + i) - static_cast<long>(L::rows.before);
              const long t = static_cast<long>(q * L::cols.stride + j) - static_cast<long>(L::cols.before);
              if (r < 0 || t < 0 || r >= static_cast<long>(H) || t >= static_cast<long>(W)) continue;
              s += p[((f * C + c) * K1 + i) * K1 + j] *
                   x[(c * H + static_cast<std::size_t>(r)) * W + static_cast<std::size_t>(t)];
            }
        y[(f * Out::height + o) * Out::width + q] = s;
      }
  return y;
}

// y[f, i·s + a − pt, j·s + b − pl] += W[c, f, a, b] · x[c, i, j], plus b[f] (outputs outside dropped).
template <class L, std::size_t K>
std::vector<double> conv_transpose_reference(const std::vector<double>& p, const double* x) {
  using In = typename L::in_shape;
  using Out = typename L::out_shape;
  constexpr std::size_t C = In::channels, H = In::height, W = In::width, F = Out::channels;
  std::vector<double> y(Out::size);
  for (std::size_t f = 0; f < F; ++f)
    for (std::size_t k = 0; k < Out::height * Out::width; ++k)
      y[f * Out::height * Out::width + k] = p[L::weight_count + f];
  for (std::size_t c = 0; c < C; ++c)
    for (std::size_t i = 0; i < H; ++i)
      for (std::size_t j = 0; j < W; ++j)
        for (std::size_t f = 0; f < F; ++f)
          for (std::size_t a = 0; a < K; ++a)
            for (std::size_t b = 0; b < K; ++b) {
              const long r = static_cast<long>(i * L::rows.stride + a) - static_cast<long>(L::rows.before);
              const long t = static_cast<long>(j * L::cols.stride + b) - static_cast<long>(L::cols.before);
              if (r < 0 || t < 0 || r >= static_cast<long>(Out::height) || t >= static_cast<long>(Out::width)) continue;
              y[(f * Out::height + static_cast<std::size_t>(r)) * Out::width + static_cast<std::size_t>(t)] +=
                  p[((c * F + f) * K + a) * K + b] * x[(c * H + i) * W + j];
            }
  return y;
}

// Runs the bound layer `L` (Identity activation) on 3 random samples and compares with `reference`.
template <class L, class Reference>
void check_forward(Reference&& reference) {
  Rng rng(7);
  constexpr std::size_t n = 3;
  std::vector<double> p(L::param_count), x(n * L::in_size), y(n * L::out_size);
  for (double& v : p) v = rng.uniform(-1, 1);
  for (double& v : x) v = rng.uniform(-1, 1);
  Context<double> ctx{};
  L::forward(p.data(), x.data(), y.data(), static_cast<double*>(nullptr), n, ctx);
  double worst = 0;
  for (std::size_t s = 0; s < n; ++s) {
    const std::vector<double> want = reference(p, x.data() + s * L::in_size);
    for (std::size_t k = 0; k < L::out_size; ++k) worst = std::max(worst, std::abs(want[k] - y[s * L::out_size + k]));
  }
  INFO(L::signature() << ": worst |latent - definition| " << worst);
  CHECK(worst < 1e-12);
}

template <class In, class Spec>
using bound = typename Spec::template bind_shape<In>;

}  // namespace

TEST_CASE("Conv2D's forward pass is the convolution's definition, for every padding mode and stride") {
  auto conv = [](auto layer) {
    using L = decltype(layer);
    check_forward<L>([](const std::vector<double>& p, const double* x) { return conv_reference<L>(p, x); });
  };
  conv(bound<shape<2, 6, 6>, Conv2D<3, 3, 2, Same>>{});    // Same, total 1: nothing before, one after
  conv(bound<shape<2, 5, 5>, Conv2D<3, 3, 2, Same>>{});    // Same, total 2: one each side
  conv(bound<shape<1, 5, 6>, Conv2D<2, 4, 1, Same>>{});    // Same, even kernel: one before, two after
  conv(bound<shape<2, 6, 5>, Conv2D<4, 3, 1, Valid>>{});   // Valid, stride 1
  conv(bound<shape<1, 7, 7>, Conv2D<2, 2, 3, Pad<1>>>{});  // PyTorch padding, stride above the kernel
  conv(bound<shape<3, 5, 5>, Conv2D<2, 3, 2, Exact<Valid>>>{});
  conv(bound<shape<3, 9, 9>, Conv2D<17, 3, 1, Same>>{});  // more filters than a register holds
  // The products with the positions as columns: few filters; one input channel (C·K·K = 9).
  conv(bound<shape<2, 8, 8>, Conv2D<3, 3, 1, Same>>{});
  conv(bound<shape<1, 9, 9>, Conv2D<16, 3, 2, Same>>{});
  // One input channel and at least 16 filters: direct kernels (kernels/conv_direct.hpp), with rows
  // wider than a register, an odd filter count, stride 3 and PyTorch's padding, even kernels.
  conv(bound<shape<1, 7, 20>, Conv2D<17, 3, 1, Same>>{});
  conv(bound<shape<1, 5, 6>, Conv2D<16, 2, 1, Same>>{});
  conv(bound<shape<1, 8, 8>, Conv2D<16, 3, 3, Pad<2>>>{});
  conv(bound<shape<1, 6, 7>, Conv2D<16, 2, 2, Valid>>{});
}

TEST_CASE("ConvTranspose2D's forward pass is the transposed convolution's definition") {
  auto convt = [](auto layer, auto k) {
    using L = decltype(layer);
    constexpr std::size_t K = decltype(k)::value;
    check_forward<L>(
        [](const std::vector<double>& p, const double* x) { return conv_transpose_reference<L, K>(p, x); });
  };
  convt(bound<shape<3, 4, 4>, ConvTranspose2D<2, 3, 2, Same>>{}, std::integral_constant<std::size_t, 3>{});
  convt(bound<shape<3, 3, 4>, ConvTranspose2D<2, 3, 2, Pad<1, 1>>>{}, std::integral_constant<std::size_t, 3>{});
  convt(bound<shape<2, 3, 3>, ConvTranspose2D<2, 2, 1, Valid>>{}, std::integral_constant<std::size_t, 2>{});
  convt(bound<shape<2, 3, 3>, ConvTranspose2D<1, 3, 1, Same>>{}, std::integral_constant<std::size_t, 3>{});
  convt(bound<shape<1, 4, 4>, ConvTranspose2D<2, 1, 3, Same>>{}, std::integral_constant<std::size_t, 1>{});
  convt(bound<shape<2, 4, 4>, ConvTranspose2D<3, 4, 2, Pad<1>>>{}, std::integral_constant<std::size_t, 4>{});
  // One output channel (F·K·K = 9): the positions as columns.
  convt(bound<shape<3, 5, 5>, ConvTranspose2D<1, 3, 1, Same>>{}, std::integral_constant<std::size_t, 3>{});
  convt(bound<shape<2, 4, 4>, ConvTranspose2D<1, 3, 2, Pad<1, 1>>>{}, std::integral_constant<std::size_t, 3>{});
  // One output channel at stride 1: direct kernels (kernels/conv_direct.hpp), with an even kernel, a
  // row wider than a register, Valid, and a padding that crops more than the kernel's overhang.
  convt(bound<shape<2, 5, 6>, ConvTranspose2D<1, 4, 1, Same>>{}, std::integral_constant<std::size_t, 4>{});
  convt(bound<shape<2, 3, 19>, ConvTranspose2D<1, 3, 1, Pad<1>>>{}, std::integral_constant<std::size_t, 3>{});
  convt(bound<shape<3, 4, 4>, ConvTranspose2D<1, 2, 1, Valid>>{}, std::integral_constant<std::size_t, 2>{});
  convt(bound<shape<2, 7, 8>, ConvTranspose2D<1, 3, 1, Pad<3>>>{}, std::integral_constant<std::size_t, 3>{});
  convt(bound<shape<2, 40, 37>, ConvTranspose2D<1, 3, 1, Same>>{}, std::integral_constant<std::size_t, 3>{});
}

TEST_CASE("AvgPool2D averages its windows and Upsample2D repeats each value, by their definitions") {
  using P = bound<shape<1, 4, 4>, AvgPool2D<2>>;
  using U = bound<shape<1, 2, 2>, Upsample2D<2>>;
  const std::vector<double> x = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};
  std::vector<double> y(4), z(16);
  Context<double> ctx{};
  P::forward(static_cast<const double*>(nullptr), x.data(), y.data(), static_cast<double*>(nullptr), 1, ctx);
  CHECK(y == std::vector<double>{3.5, 5.5, 11.5, 13.5});
  const std::vector<double> small = {1, 2, 3, 4};
  U::forward(static_cast<const double*>(nullptr), small.data(), z.data(), static_cast<double*>(nullptr), 1, ctx);
  CHECK(z == std::vector<double>{1, 1, 2, 2, 1, 1, 2, 2, 3, 3, 4, 4, 3, 3, 4, 4});
}

// ---- the laws -----------------------------------------------------------------------------------------
namespace {
using ConvSame2 = Seq<Input<2, 6, 6>, Conv2D<3, 3, 2, Same, Tanh>>;
using ConvSame2Odd = Seq<Input<2, 5, 5>, Conv2D<3, 3, 2, Same, Sigmoid>>;
using ConvValid1 = Seq<Input<2, 6, 5>, Conv2D<4, 3, 1, Valid, Softplus>>;
using ConvPad = Seq<Input<1, 7, 7>, Conv2D<2, 2, 3, Pad<1>, Tanh>>;
using ConvExact = Seq<Input<3, 5, 5>, Conv2D<2, 3, 2, Exact<Valid>, Elu>>;
using ConvRelu = Seq<Input<2, 6, 6>, Conv2D<3, 3, 1, Same, Relu>>;
using TSame2 = Seq<Input<3, 4, 4>, ConvTranspose2D<2, 3, 2, Same, Tanh>>;
using TPad = Seq<Input<3, 3, 4>, ConvTranspose2D<2, 3, 2, Pad<1, 1>, Sigmoid>>;
using TValid = Seq<Input<2, 3, 3>, ConvTranspose2D<2, 2, 1, Valid, Tanh>>;
using TSame1 = Seq<Input<2, 3, 3>, ConvTranspose2D<1, 3, 1, Same>>;
using TWide = Seq<Input<1, 4, 4>, ConvTranspose2D<2, 1, 3, Same, Tanh>>;
// The products with the positions as columns (see layers/conv.hpp): few filters, one input channel,
// one output channel of a transposed convolution, at stride 1 and 2.
using ConvFewFilters = Seq<Input<2, 8, 8>, Conv2D<3, 3, 1, Same, Tanh>>;
using ConvOneChannel = Seq<Input<1, 9, 9>, Conv2D<16, 3, 2, Same, Sigmoid>>;
using TOneChannel = Seq<Input<3, 5, 5>, ConvTranspose2D<1, 3, 1, Same, Tanh>>;
using TOneChannel2 = Seq<Input<2, 4, 4>, ConvTranspose2D<1, 3, 2, Pad<1, 1>>>;
static_assert(ConvFewFilters::ops::layer<1>::by_positions && ConvOneChannel::ops::layer<1>::narrow_patch &&
              TOneChannel::ops::layer<1>::by_positions && TOneChannel2::ops::layer<1>::by_positions);
static_assert(!ConvSame2::ops::layer<1>::by_positions && !TSame2::ops::layer<1>::by_positions);
// One input channel: the forward pass and weight gradient by direct kernels (kernels/conv_direct.hpp).
using ConvDirectWide = Seq<Input<1, 5, 20>, Conv2D<17, 3, 1, Same, Tanh>>;
using ConvDirectStride3 = Seq<Input<1, 8, 8>, Conv2D<16, 3, 3, Pad<2>, Elu>>;
static_assert(ConvOneChannel::ops::layer<1>::direct && ConvDirectWide::ops::layer<1>::direct &&
              ConvDirectStride3::ops::layer<1>::direct && !ConvFewFilters::ops::layer<1>::direct);
// One output channel at stride 1: the forward pass and weight gradient by direct kernels (the input
// gradient lowered), for an even kernel (Same pads 1 before, 2 after), a row wider than a register
// (19 > 16 floats, 8 doubles), Valid, and a padding that crops more than K − 1 (Pad<3>, K = 3).
using TDirectEven = Seq<Input<2, 5, 6>, ConvTranspose2D<1, 4, 1, Same, Sigmoid>>;
using TDirectWide = Seq<Input<2, 3, 19>, ConvTranspose2D<1, 3, 1, Pad<1>, Elu>>;
using TDirectValid = Seq<Input<3, 4, 4>, ConvTranspose2D<1, 2, 1, Valid, Tanh>>;
using TDirectCrop = Seq<Input<2, 7, 8>, ConvTranspose2D<1, 3, 1, Pad<3>>>;
static_assert(TOneChannel::ops::layer<1>::direct && TSame1::ops::layer<1>::direct &&
              TDirectEven::ops::layer<1>::direct && TDirectWide::ops::layer<1>::direct &&
              TDirectValid::ops::layer<1>::direct && TDirectCrop::ops::layer<1>::direct &&
              !TOneChannel2::ops::layer<1>::direct);
static_assert(std::is_same_v<TDirectEven::out_shape, shape<1, 5, 6>> &&
              std::is_same_v<TDirectWide::out_shape, shape<1, 3, 19>> &&
              std::is_same_v<TDirectValid::out_shape, shape<1, 5, 5>> &&
              std::is_same_v<TDirectCrop::out_shape, shape<1, 3, 4>>);
// Average pooling and nearest-neighbour upsampling (layers/resample.hpp).
using Pool = Seq<Input<2, 6, 7>, AvgPool2D<2>>;
using PoolStride = Seq<Input<2, 7, 7>, AvgPool2D<3, 2>>;
using Up = Seq<Input<2, 3, 4>, Upsample2D<2>>;
using UpConv = Seq<Input<1, 3, 3>, Upsample2D<3>, Conv2D<2, 3, 1, Same, Tanh>, AvgPool2D<3>>;
static_assert(std::is_same_v<Pool::out_shape, shape<2, 3, 3>> && std::is_same_v<PoolStride::out_shape, shape<2, 3, 3>>);
static_assert(std::is_same_v<Up::out_shape, shape<2, 6, 8>> && std::is_same_v<UpConv::out_shape, shape<2, 3, 3>>);
// Shapes through a whole stack: Dense → Reshape → ConvTranspose2D → Conv2D → Flatten → Dense.
using Stack = Seq<Dense<3, 18, Tanh>, Reshape<2, 3, 3>, ConvTranspose2D<2, 3, 2, Same, Tanh>, Conv2D<2, 3, 2, Same>,
                  Flatten, Dense<18, 2>>;
}  // namespace
}  // namespace test_conv
TYPE_TO_STRING_AS("ConvSame2", test_conv::ConvSame2);
TYPE_TO_STRING_AS("ConvSame2Odd", test_conv::ConvSame2Odd);
TYPE_TO_STRING_AS("ConvValid1", test_conv::ConvValid1);
TYPE_TO_STRING_AS("ConvPad", test_conv::ConvPad);
TYPE_TO_STRING_AS("ConvExact", test_conv::ConvExact);
TYPE_TO_STRING_AS("ConvRelu", test_conv::ConvRelu);
TYPE_TO_STRING_AS("TSame2", test_conv::TSame2);
TYPE_TO_STRING_AS("TPad", test_conv::TPad);
TYPE_TO_STRING_AS("TValid", test_conv::TValid);
TYPE_TO_STRING_AS("TSame1", test_conv::TSame1);
TYPE_TO_STRING_AS("TWide", test_conv::TWide);
TYPE_TO_STRING_AS("Stack", test_conv::Stack);
TYPE_TO_STRING_AS("ConvFewFilters", test_conv::ConvFewFilters);
TYPE_TO_STRING_AS("ConvOneChannel", test_conv::ConvOneChannel);
TYPE_TO_STRING_AS("TOneChannel", test_conv::TOneChannel);
TYPE_TO_STRING_AS("TOneChannel2", test_conv::TOneChannel2);
TYPE_TO_STRING_AS("ConvDirectWide", test_conv::ConvDirectWide);
TYPE_TO_STRING_AS("ConvDirectStride3", test_conv::ConvDirectStride3);
TYPE_TO_STRING_AS("TDirectEven", test_conv::TDirectEven);
TYPE_TO_STRING_AS("TDirectWide", test_conv::TDirectWide);
TYPE_TO_STRING_AS("TDirectValid", test_conv::TDirectValid);
TYPE_TO_STRING_AS("TDirectCrop", test_conv::TDirectCrop);
TYPE_TO_STRING_AS("Pool", test_conv::Pool);
TYPE_TO_STRING_AS("PoolStride", test_conv::PoolStride);
TYPE_TO_STRING_AS("Up", test_conv::Up);
TYPE_TO_STRING_AS("UpConv", test_conv::UpConv);
namespace test_conv {

TEST_CASE_TEMPLATE("law: a convolution's gradient equals central differences in double", L, ConvSame2, ConvSame2Odd,
                   ConvValid1, ConvPad, ConvExact, ConvRelu, TSame2, TPad, TValid, TSame1, TWide, Stack, ConvFewFilters,
                   ConvOneChannel, TOneChannel, TOneChannel2, ConvDirectWide, ConvDirectStride3, TDirectEven,
                   TDirectWide, TDirectValid, TDirectCrop, Pool, PoolStride, Up, UpConv) {
  LATENT_CHECK_RESULT(lt::gradient_check<L>());
}

TEST_CASE_TEMPLATE("law: a convolution's two-thread gradient equals its one-thread gradient", L, ConvSame2, ConvPad,
                   TSame2, TPad, Stack, ConvFewFilters, ConvOneChannel, TOneChannel, TOneChannel2, TDirectWide,
                   ConvDirectWide, UpConv) {
  REQUIRE(detail::thread_pool::instance().size() >= 2);
  LATENT_CHECK_RESULT(lt::thread_check<L>());
}

// ---- models on images -----------------------------------------------------------------------------------
namespace {
// A small convolutional autoencoder for 28 × 28 grey images: 8×14×14 → 16×7×7 → a code of 8.
struct ConvEnc
    : Seq<Input<1, 28, 28>, Conv2D<8, 3, 2, Same, Relu>, Conv2D<16, 3, 2, Same, Relu>, Flatten, Dense<784, 8>> {};
struct ConvDec : Seq<Dense<8, 784, Relu>, Reshape<16, 7, 7>, ConvTranspose2D<8, 3, 2, Same, Relu>,
                     ConvTranspose2D<1, 3, 2, Same>> {};
struct ConvVEnc : Seq<Input<1, 28, 28>, Conv2D<8, 3, 2, Same, Relu>, Conv2D<16, 3, 2, Pad<1>, Relu>, Flatten,
                      Dense<784, 32, Relu>, Gaussian<4>> {};
struct ConvVDec : Seq<Dense<4, 784, Relu>, Reshape<16, 7, 7>, ConvTranspose2D<8, 3, 2, Pad<1, 1>, Relu>,
                      ConvTranspose2D<1, 3, 2, Same>> {};

xt::xtensor<float, 2> shapes_rows(std::size_t n, std::uint64_t seed) { return make_shapes(n, seed).x; }
}  // namespace

TEST_CASE("a convolutional autoencoder learns the shapes images, saves and loads; another padding refuses the file") {
  const xt::xtensor<float, 2> x = shapes_rows(256, 1);
  using Model = Autoencoder<ConvEnc, ConvDec, BCEWithLogits>;
  Model model(2);
  CHECK(Model::architecture().find("Conv2D<in 1x28x28,8,3,2,Same,Relu>") != std::string::npos);
  const double before = model.loss(x);
  Adam opt(3e-3f);
  const History h = fit(model, x, opt, {.epochs = 6, .batch_size = 32, .progress = Progress::quiet});
  INFO("loss " << before << " -> " << h.loss.back());
  CHECK(h.loss.back() < 0.6 * before);
  CHECK(model.loss(x) < 0.6 * before);
  struct OtherDec : Seq<Dense<8, 784, Relu>, Reshape<16, 7, 7>, ConvTranspose2D<8, 3, 2, Pad<1, 1>, Relu>,
                        ConvTranspose2D<1, 3, 2, Same>> {};
  using Other = Autoencoder<ConvEnc, OtherDec, BCEWithLogits>;
  static_assert(Model::param_count == Other::param_count);
  LATENT_CHECK_RESULT(lt::save_load_check<Other>(model, x));
}

TEST_CASE("the family on convolutional parts: VAE, beta-VAE, IWAE, denoising and sparse models train on images") {
  const xt::xtensor<float, 2> x = shapes_rows(128, 3);
  auto learns = [&](auto model, const std::string& what) {
    const double before = model.loss(x);
    Adam opt(3e-3f);
    fit(model, x, opt, {.epochs = 10, .batch_size = 16, .progress = Progress::quiet});
    const double after = model.loss(x);
    INFO(what << ": loss " << before << " -> " << after);
    CHECK(after < 0.85 * before);
  };
  learns(VAE<ConvVEnc, ConvVDec, Bernoulli>(1), "VAE");
  VAE<ConvVEnc, ConvVDec, Bernoulli> beta(1);
  beta.set_beta(4);
  learns(beta, "beta-VAE");
  learns(IWAE<ConvVEnc, ConvVDec, 3, Bernoulli>(1), "IWAE");
  learns(DenoisingAutoencoder<ConvEnc, ConvDec, BCEWithLogits>(1), "denoising");
  learns(SparseAutoencoder<ConvEnc, ConvDec, BCEWithLogits>(1), "sparse");
}

TEST_CASE("a convolutional VAE's two-thread step is a correct gradient (central differences, double)") {
  struct E : Seq<Input<1, 6, 6>, Conv2D<2, 3, 2, Same, Tanh>, Flatten, Dense<18, 6, Tanh>, Gaussian<2>> {};
  struct D : Seq<Dense<2, 18, Tanh>, Reshape<2, 3, 3>, ConvTranspose2D<1, 3, 2, Same>> {};
  VAE<E, D, Bernoulli, double> model(5);
  xt::xtensor<double, 2> x = xt::xtensor<double, 2>::from_shape({64, 36});
  Rng rng(9);
  for (double& v : x) v = rng.uniform(0, 1) < 0.4 ? 1.0 : 0.0;
  model.set_threads(2);
  LATENT_CHECK_RESULT(lt::gradient_check(model, [&] { return model.gradient(x.data(), 64); }, {.max_values = 120}));
}

TEST_CASE("a conditional VAE with a convolutional encoder takes its labels as constant planes after the image") {
  // Input<1 + 10, 28, 28>: the image's channel, then one plane per class (1 for the row's label, else 0).
  struct CEnc : Seq<Input<11, 28, 28>, Conv2D<8, 3, 2, Same, Relu>, Conv2D<16, 3, 2, Same, Relu>, Flatten,
                    Dense<784, 32, Relu>, Gaussian<4>> {};
  struct CDec : Seq<Dense<14, 784, Relu>, Reshape<16, 7, 7>, ConvTranspose2D<8, 3, 2, Same, Relu>,
                    ConvTranspose2D<1, 3, 2, Same>> {};  // code 4 + 10 classes
  using Model = ConditionalVAE<CEnc, CDec, 10, Bernoulli>;
  static_assert(Model::input_size == 784 && Model::condition_size == 10);
  const Dataset d = make_shapes(128, 4);
  Model model(1);
  const double before = model.loss(d.x, d.labels);
  Adam opt(3e-3f);
  fit(model, d.x, d.labels, opt, {.epochs = 10, .batch_size = 16, .progress = Progress::quiet});
  const double after = model.loss(d.x, d.labels);
  INFO("loss " << before << " -> " << after);
  CHECK(after < 0.85 * before);
  // The label changes what the decoder draws: two labels give two different images from one code.
  const xt::xtensor<float, 2> z = xt::zeros<float>({std::size_t{2}, std::size_t{4}});
  xt::xtensor<std::int32_t, 1> labels = {0, 1};
  const xt::xtensor<float, 2> images = model.decode(z, labels);
  double difference = 0;
  for (std::size_t k = 0; k < 784; ++k) difference += std::abs(images(0, k) - images(1, k));
  CHECK(difference > 1.0);
}

TEST_CASE("a convolutional VAE's public calls take and give rows as the Dense models do") {
  using Model = VAE<ConvVEnc, ConvVDec, Bernoulli>;
  const xt::xtensor<float, 2> x = shapes_rows(16, 6);
  Model model(2);
  const xt::xtensor<float, 2> z = model.encode(x);
  CHECK(z.shape()[0] == 16);
  CHECK(z.shape()[1] == 4);
  const xt::xtensor<float, 2> back = model.decode(z);
  CHECK(back.shape()[1] == 784);
  CHECK(xt::all(back >= 0.0f && back <= 1.0f));  // Bernoulli means
  const xt::xtensor<float, 2> drawn = model.generate(5, 3);
  CHECK(drawn.shape()[0] == 5);
  CHECK(drawn.shape()[1] == 784);
  const xt::xtensor<float, 1> one = model.encode(xt::xtensor<float, 1>(xt::row(x, 0)));
  CHECK(one.size() == 4);
  CHECK(std::abs(one(0) - z(0, 0)) < 1e-5f);
  const double elbo = model.elbo(x, 1);
  const double ll = model.log_likelihood(x, 20, 1);
  CHECK(std::isfinite(elbo));
  CHECK(std::isfinite(ll));
  CHECK(elbo < 0);  // log-probabilities of binary-ish images under a Bernoulli likelihood
  CHECK(ll < 0);
  xt::xtensor<float, 2> narrow = xt::zeros<float>({2, 783});
  CHECK_THROWS_AS(model.encode(narrow), shape_error);
}
}  // namespace test_conv
