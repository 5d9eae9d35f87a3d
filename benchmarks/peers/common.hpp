#pragma once
// Shared, dependency-free pieces of the benchmark peers: one deterministic random stream (so every
// peer, C++ or Python, trains on the same data from the same initial weights in the same order),
// the Fashion-MNIST reader and the FLOP counts the reports divide by.

#include <zlib.h>  // gzopen/gzread: the idx file ships gzip-compressed

#include <algorithm>  // std::min
#include <array>      // std::array (layer sizes)
#include <cmath>      // std::sqrt, std::log, std::cos
#include <cstddef>    // std::size_t
#include <cstdint>    // std::uint64_t, std::uint32_t
#include <stdexcept>  // std::runtime_error
#include <string>     // std::string (file names in errors)
#include <utility>    // std::swap
#include <vector>     // std::vector (data sets)

namespace latent::bench {

/// splitmix64: tiny, fast and trivially reimplemented in Python (benchmarks/peers_common.py), which is
/// what matters here: the C++ and Python peers must see bit-identical data, weights and batch order.
class splitmix64 {
 public:
  explicit splitmix64(std::uint64_t seed) noexcept : state_{seed} {}

  std::uint64_t next() noexcept {
    std::uint64_t z = (state_ += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
  }
  /// Uniform in [0, 1) with 53 random bits (the same formula as Python's `(x >> 11) * 2**-53`).
  double uniform() noexcept { return static_cast<double>(next() >> 11) * 0x1.0p-53; }
  /// Standard normal by Box-Muller in double (log/cos/sqrt of the same libm as CPython's math module).
  double normal() noexcept {
    const double u1 = 1.0 - uniform();  // (0, 1]: log is finite
    const double u2 = uniform();
    return std::sqrt(-2.0 * std::log(u1)) * std::cos(6.283185307179586 * u2);
  }
  /// Uniform integer in [0, bound) by multiply-shift on the top 32 bits (bound < 2^32).
  std::size_t below(std::size_t bound) noexcept {
    return static_cast<std::size_t>(((next() >> 32) * static_cast<std::uint64_t>(bound)) >> 32);
  }

 private:
  std::uint64_t state_;
};

/// The seed workload's data: rows x cols standard-normal floats, row-major.
inline std::vector<float> make_seed_data(std::size_t rows, std::size_t cols, std::uint64_t seed) {
  splitmix64 rng{seed};
  std::vector<float> data(rows * cols);
  for (auto& x : data) x = static_cast<float>(rng.normal());
  return data;
}

/// Glorot-uniform weights for a dense layer, row-major [out][in] (PyTorch's Linear layout), drawn
/// from `rng` in storage order; limit = sqrt(6 / (in + out)).
inline void glorot_uniform(splitmix64& rng, float* w, std::size_t in, std::size_t out) {
  const double limit = std::sqrt(6.0 / static_cast<double>(in + out));
  for (std::size_t i = 0; i < in * out; ++i) w[i] = static_cast<float>((2.0 * rng.uniform() - 1.0) * limit);
}

/// Fisher-Yates, from the back, drawing from `rng`; `order` is permuted in place.
inline void shuffle(splitmix64& rng, std::vector<std::size_t>& order) {
  for (std::size_t i = order.size(); i > 1; --i) std::swap(order[i - 1], order[rng.below(i)]);
}

/// Seed-workload layer sizes (Dense 100-20-5-20-100) and the seeds that derive data, weights, order.
inline constexpr std::array<std::size_t, 5> seed_sizes{100, 20, 5, 20, 100};
inline constexpr std::size_t seed_rows = 1000;
inline constexpr std::size_t seed_batch = 32;
inline constexpr std::uint64_t seed_data_seed = 42;
/// The weight stream is seeded with `seed`, the shuffle stream with `seed ^ shuffle_salt`.
inline constexpr std::uint64_t shuffle_salt = 0x5EED5EED5EED5EEDULL;

/// Steps per epoch with the last partial batch kept (1000 rows, batch 32: 31 full + 1 of 8 = 32).
constexpr std::size_t steps_per_epoch(std::size_t n, std::size_t batch) noexcept { return (n + batch - 1) / batch; }

/// Multiply-accumulates of one forward pass of a dense chain, per sample.
template <std::size_t N>
constexpr double dense_macs(const std::array<std::size_t, N>& sizes) noexcept {
  double macs = 0;
  for (std::size_t i = 0; i + 1 < N; ++i) macs += static_cast<double>(sizes[i] * sizes[i + 1]);
  return macs;
}

/// Training FLOPs per sample for a dense chain: forward (2 per MAC), weight gradient (2 per MAC) and
/// input gradient (2 per MAC) for every layer but the first, whose input needs no gradient.
/// Element-wise work (activations, loss, Adam) is not counted: it is O(outputs), not O(weights).
template <std::size_t N>
constexpr double dense_train_flops_per_sample(const std::array<std::size_t, N>& sizes) noexcept {
  return 2.0 * (3.0 * dense_macs(sizes) - static_cast<double>(sizes[0] * sizes[1]));
}

/// Seed workload: 21 200 FLOP per sample, 678 400 per full step of 32, 2.12 GFLOP for 100 epochs.
inline constexpr double seed_flops_per_sample = dense_train_flops_per_sample(seed_sizes);

/// VAE workload (PyTorch examples/vae): 784-400-(20,20) encoder, 20-400-784 decoder.
inline constexpr std::size_t vae_in = 784, vae_hidden = 400, vae_latent = 20;
/// MACs per sample: fc1 784*400, fc21 + fc22 2*400*20, fc3 20*400, fc4 400*784 = 651 200; training
/// FLOPs = 2*(3*651 200 - 784*400) = 3 280 000 per sample, 196.8 GFLOP per epoch of 60 000.
inline constexpr double vae_flops_per_sample =
    2.0 * (3.0 * (vae_in * vae_hidden + 2.0 * vae_hidden * vae_latent + vae_latent * vae_hidden + vae_hidden * vae_in) -
           vae_in * vae_hidden);

/// Convolutional VAE workload (issue #11: Keras's conv VAE on Fashion-MNIST): 28x28 grey images, a
/// 16-dim code; the layers are listed in peers/conv_vae_torch.hpp. Its benchmark rows time
/// `conv_vae_bench_steps` steps of batch 128 on the first rows, after `conv_vae_warmup_steps` untimed ones.
inline constexpr std::size_t conv_vae_side = 28, conv_vae_latent = 16, conv_vae_dense = 16;
inline constexpr std::size_t conv_vae_parameters = 178'545;
inline constexpr int conv_vae_bench_steps = 20, conv_vae_warmup_steps = 3;

/// One layer of the conv VAE (or of the ResNet VAE below) for the FLOP count: `positions` x c_in x c_out x
/// k^2 multiply-accumulates.
struct conv_vae_layer {
  double positions, c_in, c_out, kernel;
  [[nodiscard]] constexpr double macs() const noexcept { return positions * c_in * c_out * kernel * kernel; }
};
/// A convolution counts per output position; a transposed convolution per input position (it is one
/// GEMM [c_out k^2 x c_in] x [c_in x positions] followed by col2im, which is how the libraries run it,
/// taps that fall into the padding included); a dense layer is one position of a 1x1 "kernel".
inline constexpr std::array<conv_vae_layer, 9> conv_vae_layers{{
    {14 * 14, 1, 32, 3},   // Conv2d(1,32,3,s2,p1): 28x28 -> 14x14                  56 448 MACs
    {7 * 7, 32, 64, 3},    // Conv2d(32,64,3,s2,p1): 14x14 -> 7x7                  903 168
    {1, 3136, 16, 1},      // Linear(3136,16)                                        50 176
    {1, 16, 16, 1},        // Linear(16,16) mu                                          256
    {1, 16, 16, 1},        // Linear(16,16) logvar                                      256
    {1, 16, 3136, 1},      // Linear(16,3136)                                        50 176
    {7 * 7, 64, 64, 3},    // ConvTranspose2d(64,64,3,s2,p1,op1): 7x7 -> 14x14    1 806 336
    {14 * 14, 64, 32, 3},  // ConvTranspose2d(64,32,3,s2,p1,op1): 14x14 -> 28x28  3 612 672
    {28 * 28, 32, 1, 3},   // ConvTranspose2d(32,1,3,s1,p1): 28x28 -> 28x28        225 792
}};

/// Training FLOPs per image of the conv VAE, the convention of dense_train_flops_per_sample: 2 FLOPs per
/// multiply-accumulate for the forward pass, the weight gradient and the input gradient of every layer
/// but the first (whose input, the image, needs no gradient):
///   2 * (3 * 6 705 280 - 56 448) = 40 118 784 FLOP per image (≈ 3 x the forward's 13.4 MFLOP),
///   5.14 GFLOP per step of 128, 2.407 TFLOP per 60 000-image epoch.
/// Element-wise work (bias, ReLU, loss, Adam) is not counted.
constexpr double conv_vae_flops_per_sample() noexcept {
  double macs = 0;
  for (const auto& layer : conv_vae_layers) macs += layer.macs();
  return 2.0 * (3.0 * macs - conv_vae_layers[0].macs());
}
static_assert(conv_vae_flops_per_sample() == 40'118'784.0);

/// ResNet VAE workload (issue #23: examples/resnet_vae_fashion_mnist.cpp; the layers are listed in
/// peers/resnet_vae_torch.hpp): a 16-dim code, 339 745 parameters and 259 values of state (the three
/// BatchNorms' running statistics). Its rows time the conv VAE's `conv_vae_bench_steps` steps of batch
/// 128 after `conv_vae_warmup_steps` untimed ones.
inline constexpr std::size_t resnet_vae_code = 16;
inline constexpr std::size_t resnet_vae_parameters = 339'745, resnet_vae_state = 259;

/// Its products, counted as the conv VAE's (`conv_vae_layer`): the normalisations, activations and the
/// residual additions are element-wise and not counted.
inline constexpr std::array<conv_vae_layer, 10> resnet_vae_layers{{
    {14 * 14, 1, 32, 3},  // Conv2d(1,32,3,s2,p1): 28x28 -> 14x14                   56 448 MACs
    {7 * 7, 32, 64, 3},   // Conv2d(32,64,3,s2,p1): 14x14 -> 7x7                   903 168
    {7 * 7, 64, 64, 3},   // the encoder's residual block: Conv2d(64,64,3,p1)      1 806 336
    {7 * 7, 64, 64, 3},   //                               Conv2d(64,64,3,p1)      1 806 336
    {1, 3136, 32, 1},     // Linear(3136,32): [mu | logvar]                          100 352
    {1, 16, 3136, 1},     // Linear(16,3136)                                          50 176
    {7 * 7, 64, 64, 3},   // the decoder's residual block: Conv2d(64,64,3,p1)      1 806 336
    {7 * 7, 64, 64, 3},   //                               Conv2d(64,64,3,p1)      1 806 336
    {7 * 7, 64, 32, 3},   // ConvTranspose2d(64,32,3,s2,p1,op1): 7x7 -> 14x14        903 168
    {14 * 14, 32, 1, 3},  // ConvTranspose2d(32,1,3,s2,p1,op1): 14x14 -> 28x28        56 448
}};

/// Training FLOPs per image of the ResNet VAE, the conv VAE's convention:
///   2 * (3 * 9 295 104 - 56 448) = 55 657 728 FLOP per image, 7.12 GFLOP per step of 128,
///   3.34 TFLOP per 60 000-image epoch.
constexpr double resnet_vae_flops_per_sample() noexcept {
  double macs = 0;
  for (const auto& layer : resnet_vae_layers) macs += layer.macs();
  return 2.0 * (3.0 * macs - resnet_vae_layers[0].macs());
}
static_assert(resnet_vae_flops_per_sample() == 55'657'728.0);

/// Reads an idx3-ubyte.gz image file (Fashion-MNIST) into floats in [0, 1] (pixel / 255), row-major
/// [images][rows*cols]; `cols_out` receives rows*cols.
inline std::vector<float> load_idx_images(const std::string& path, std::size_t& cols_out) {
  gzFile f = gzopen(path.c_str(), "rb");
  if (f == nullptr) throw std::runtime_error("cannot open " + path);
  auto read_u32 = [&] {
    unsigned char b[4];
    if (gzread(f, b, 4) != 4) throw std::runtime_error("truncated idx header in " + path);
    return (std::uint32_t{b[0]} << 24) | (std::uint32_t{b[1]} << 16) | (std::uint32_t{b[2]} << 8) | std::uint32_t{b[3]};
  };
  try {
    if (read_u32() != 0x00000803u) throw std::runtime_error("not an idx3-ubyte image file: " + path);
    const std::size_t n = read_u32(), rows = read_u32(), cols = read_u32();
    std::vector<unsigned char> bytes(n * rows * cols);
    std::size_t got = 0;
    while (got < bytes.size()) {  // gzread takes an unsigned length: read in bounded chunks
      const auto chunk = static_cast<unsigned>(std::min<std::size_t>(bytes.size() - got, 1u << 24));
      const int r = gzread(f, bytes.data() + got, chunk);
      if (r <= 0) throw std::runtime_error("truncated idx data in " + path);
      got += static_cast<std::size_t>(r);
    }
    gzclose(f);
    std::vector<float> out(bytes.size());
    for (std::size_t i = 0; i < bytes.size(); ++i) out[i] = static_cast<float>(bytes[i]) / 255.0f;
    cols_out = rows * cols;
    return out;
  } catch (...) {
    gzclose(f);
    throw;
  }
}

}  // namespace latent::bench
