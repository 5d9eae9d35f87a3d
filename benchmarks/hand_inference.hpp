#pragma once
// The hand-written pre-packed inference loop of the benchmarks: what a user would write by hand for
// one fixed net, in the way RTNeural's compile-time `ModelT` works. Every layer's weights are copied
// once into a zero-padded, aligned row-major block [In][Out rounded up to whole registers]; a sample's
// outputs start from the bias and take one broadcast FMA per input and register over the rows of W;
// the activation is applied to the registers at the end. Samples are processed one after the other
// (RTNeural's model is one sample per call). No latent kernel is used; latent's activation functions
// are, so that both compute the same function, and the weights are the model's own.

#include <latent/latent.hpp>

#include <xsimd/xsimd.hpp>

#include <algorithm>    // std::max
#include <cstddef>      // std::size_t
#include <memory>       // std::unique_ptr
#include <new>          // std::align_val_t
#include <tuple>        // std::tuple, std::apply
#include <type_traits>  // std::is_same_v
#include <vector>       // std::vector

namespace latent::bench {

namespace hand {
using V = xsimd::batch<float>;
constexpr std::size_t W = V::size;
constexpr std::size_t padded(std::size_t n) { return (n + W - 1) / W * W; }

struct aligned_floats {
  explicit aligned_floats(std::size_t n)
      : p(static_cast<float*>(::operator new[](n * sizeof(float), std::align_val_t{64}))) {
    std::fill_n(p, n, 0.0f);
  }
  ~aligned_floats() { ::operator delete[](p, std::align_val_t{64}); }
  aligned_floats(const aligned_floats&) = delete;
  aligned_floats& operator=(const aligned_floats&) = delete;
  float* p;
};

// One dense map y = Act(x·W + b) on one sample, W taken as columns [0, Out) of an In × ld matrix.
template <std::size_t In, std::size_t Out, class Act>
struct dense {
  static constexpr std::size_t NV = padded(Out) / W;
  aligned_floats w{In * padded(Out)}, b{padded(Out)};
  void load(const float* weights, std::size_t ld, const float* bias) {
    for (std::size_t k = 0; k < In; ++k)
      for (std::size_t j = 0; j < Out; ++j) w.p[k * padded(Out) + j] = weights[k * ld + j];
    for (std::size_t j = 0; j < Out; ++j) b.p[j] = bias[j];
  }
  void forward(const float* x, float* y) const noexcept {
    V acc[NV];
    for (std::size_t j = 0; j < NV; ++j) acc[j] = V::load_aligned(b.p + j * W);
    for (std::size_t k = 0; k < In; ++k) {
      const V xk(x[k]);
      const float* row = w.p + k * padded(Out);
      for (std::size_t j = 0; j < NV; ++j) acc[j] = xsimd::fma(xk, V::load_aligned(row + j * W), acc[j]);
    }
    for (std::size_t j = 0; j < NV; ++j) Act::apply(acc[j]).store_aligned(y + j * W);
  }
};

template <class L>
struct op;
template <std::size_t In, std::size_t Out, class Act>
struct op<Dense<In, Out, Act>> : dense<In, Out, Act> {
  static constexpr std::size_t out = Out;
  void load(const float* p) { dense<In, Out, Act>::load(p, Out, p + In * Out); }
};
template <std::size_t In, std::size_t Z>
struct op<GaussianHead<In, Z>> : dense<In, Z, Identity> {  // μ only, as inference
  static constexpr std::size_t out = Z;
  void load(const float* p) { dense<In, Z, Identity>::load(p, 2 * Z, p + In * 2 * Z); }
};

template <class List>
struct chain;
template <class... Ls>
struct chain<detail::type_list<Ls...>> {
  std::tuple<op<Ls>...> ops;
  static constexpr std::size_t widest = std::max({padded(op<Ls>::out)...});
  void load(const float* p) {
    std::size_t offset = 0;
    std::apply([&](auto&... o) { ((o.load(p + offset), offset += Ls::param_count), ...); }, ops);
  }
  // One sample; `a`, `b` hold `widest` floats each; the result is left in the returned buffer.
  const float* run(const float* x, float* a, float* b) const noexcept {
    const float* in = x;
    float* bufs[2] = {a, b};
    int which = 0;
    std::apply([&](const auto&... o) { ((o.forward(in, bufs[which]), in = bufs[which], which ^= 1), ...); }, ops);
    return in;
  }
};
}  // namespace hand

/// The encoder (or, with `Whole`, encoder then decoder) of a model of Dense layers and a Gaussian head,
/// packed by hand from the model's weights.
template <class Model, bool Whole>
class hand_net {
  using enc = hand::chain<flat_layers_t<typename Model::encoder_type>>;
  using dec = hand::chain<flat_layers_t<typename Model::decoder_type>>;
  static constexpr std::size_t in = Model::input_size;
  static constexpr std::size_t out = Whole ? Model::input_size : Model::code_size;
  static constexpr std::size_t widest = std::max(enc::widest, dec::widest);

 public:
  explicit hand_net(const Model& model) {
    if constexpr (Whole)
      static_assert(std::is_same_v<typename Model::loss_type, MSE>, "hand_net: the decoder's output is its mean");
    e_.load(model.parameters().data());
    if constexpr (Whole) d_.load(model.parameters().data() + Model::encoder_type::param_count);
  }
  void run(const float* x, std::size_t n, float* y) noexcept {
    for (std::size_t r = 0; r < n; ++r) {
      const float* h = e_.run(x + r * in, a_.p, b_.p);
      if constexpr (Whole) h = d_.run(h, h == a_.p ? b_.p : a_.p, c_.p);
      std::copy(h, h + out, y + r * out);
    }
  }

 private:
  enc e_;
  dec d_;
  hand::aligned_floats a_{widest}, b_{widest}, c_{widest};
};

}  // namespace latent::bench
