// The pieces of the 64 → 32 transposed convolution of the conv VAE (14 → 28, stride 2, batch 128), timed
// one by one: where a conv layer's time goes besides the products (README, design notes). Not built by
// CMake; run it with the flags latent's own targets use on an AVX-512 half-rate machine (Zen 4):
//   g++ -std=c++20 -O3 -DNDEBUG -mavx2 -mfma -mavx512f -mavx512cd -mavx512vl -mavx512bw -mavx512dq
//       -DLATENT_AVX512_HALF_RATE -Iinclude benchmarks/ab/conv_pieces.cpp -o /tmp/conv_pieces -lpng -lz -lpthread
//   (one command)
//   /tmp/conv_pieces
// Prints the best of 5 timings of 10 repetitions, in ms for the whole batch. (On a machine shared
// with builds, compare instruction counts too: see `only` below.)
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <latent/latent.hpp>
#include <vector>
using namespace latent;
using L = detail::conv_transpose2d_layer<shape<64, 14, 14>, 32, 3, 2, Same, Relu>;
// `conv_pieces N` runs only the N-th piece (from 0), once, and times nothing: for callgrind's
// instruction counts (valgrind --tool=callgrind /tmp/conv_pieces N, less the count of `conv_pieces -1`).
int only = -2, piece = -1;
template <class F>
double tm(F&& f) {
  ++piece;
  if (only != -2) {
    if (piece == only) f();
    return 0;
  }
  f();
  double best = 1e9;
  for (int k = 0; k < 5; ++k) {
    auto t0 = std::chrono::steady_clock::now();
    for (int r = 0; r < 10; ++r) f();
    best = std::min(best, std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count() / 10);
  }
  return best * 1e3;
}
int main(int argc, char** argv) {
  if (argc > 1) only = std::atoi(argv[1]);
  constexpr std::size_t n = 128, C = L::C, P = L::P, NK = L::NK, F = 32, Q = L::Q;
  std::vector<float> p(L::param_count, 0.01f), x(n * L::in_size, 0.5f), y(n * L::out_size), dy(n * L::out_size, 0.1f),
      dx(n * L::in_size);
  std::vector<float> contr(P * NK);
  struct aligned_rows {  // as the layers' workspaces: 64-byte aligned
    float* p = kernels::detail::workspace<float, 9>(P * C);
    float* data() const { return p; }
  } xr;
  std::printf("to_rows     %.2f ms\n", tm([&] {
                for (std::size_t s = 0; s < n; ++s) kernels::to_rows<C, P>(1, x.data() + s * C * P, xr.data());
              }));
  std::printf("gemm fwd    %.2f ms\n", tm([&] {
                for (std::size_t s = 0; s < n; ++s)
                  kernels::gemm<NK, float, kernels::arch_for<float, NK>>(P, C, xr.data(), C, 1, p.data(), NK, 1,
                                                                         kernels::zero_init{},
                                                                         kernels::store_to<float>{contr.data()});
              }));
  std::printf("scatter     %.2f ms\n", tm([&] {
                for (std::size_t s = 0; s < n; ++s) L::geometry::scatter_add(contr.data(), y.data() + s * L::out_size);
              }));
  std::printf("fill+act    %.2f ms\n", tm([&] {
                kernels::fill_planes<F, Q>(n, p.data(), y.data());
                kernels::apply_activation<Relu>(y.data(), y.data(), n * L::out_size);
              }));
  std::vector<float> wl(L::weight_count);
  std::printf("perm+gemm   %.2f ms\n", tm([&] {
                kernels::filters_last<C, F, 9>(p.data(), wl.data());
                for (std::size_t s = 0; s < n; ++s)
                  kernels::gemm<NK, float, kernels::arch_for<float, NK>>(P, C, xr.data(), C, 1, wl.data(), NK, 1,
                                                                         kernels::zero_init{},
                                                                         kernels::store_to<float>{contr.data()});
              }));
  std::printf("sum+bias+act %.2f ms  (replaces scatter, fill+act)\n", tm([&] {
                for (std::size_t s = 0; s < n; ++s)
                  L::geometry::sum_channels_last<Relu, float>(contr.data(), p.data() + L::weight_count,
                                                              y.data() + s * L::out_size);
              }));
  std::printf("deriv+sums  %.2f ms\n", tm([&] {
                kernels::multiply_by_derivative<Relu>(dy.data(), y.data(), n * L::out_size);
                kernels::channel_sums<F, Q>(n, dy.data(), p.data(), false);
              }));
  std::printf("gather      %.2f ms\n", tm([&] {
                for (std::size_t s = 0; s < n; ++s) L::geometry::gather(dy.data() + s * L::out_size, contr.data());
              }));
  struct aligned_dy {
    float* p = kernels::detail::workspace<float, 10>(Q * F);
    float* data() const { return p; }
  } dyr;
  std::printf("rows+gather %.2f ms  (replaces gather)\n", tm([&] {
                for (std::size_t s = 0; s < n; ++s) {
                  kernels::to_rows<F, Q>(1, dy.data() + s * L::out_size, dyr.data());
                  L::geometry::gather_channels_last(dyr.data(), contr.data());
                }
              }));
  std::vector<float> dw(C * NK);
  std::printf("gemm dW     %.2f ms\n", tm([&] {
                for (std::size_t s = 0; s < n; ++s)
                  kernels::gemm<NK, float, kernels::arch_for<float, NK>>(C, P, xr.data(), 1, C, contr.data(), NK, 1,
                                                                         kernels::zero_init{},
                                                                         kernels::add_to<float>{dw.data()});
              }));
  std::printf("gemm dx     %.2f ms\n", tm([&] {
                for (std::size_t s = 0; s < n; ++s)
                  kernels::gemm<C, float, kernels::arch_for<float, C>>(
                      P, NK, contr.data(), NK, 1, p.data(), 1, NK, kernels::zero_init{},
                      kernels::channel_first_store<void, float, C, P>{dx.data() + s * L::in_size});
              }));
  std::printf("gemm dx st  %.2f ms\n", tm([&] {
                for (std::size_t s = 0; s < n; ++s)
                  kernels::gemm<C, float, kernels::arch_for<float, C>>(
                      P, NK, contr.data(), NK, 1, p.data(), 1, NK, kernels::zero_init{},
                      kernels::store_to<float>{dx.data() + s * L::in_size});
              }));
  // The 32 → 64 convolution (14 → 7): its input gradient's scatter, against the sum over channels.
  using D = detail::conv2d_layer<shape<32, 14, 14>, 64, 3, 2, Same, Relu>;
  std::vector<float> dpat(D::P * D::KK, 0.1f), dxd(n * D::in_size);
  std::printf("c2d fill+scatter %.2f ms\n", tm([&] {
                std::fill_n(dxd.data(), dxd.size(), 0.f);
                for (std::size_t s = 0; s < n; ++s) D::geometry::scatter_add(dpat.data(), dxd.data() + s * D::in_size);
              }));
  std::printf("c2d sum          %.2f ms\n", tm([&] {
                for (std::size_t s = 0; s < n; ++s)
                  D::geometry::sum_channels_last<void, float>(dpat.data(), nullptr, dxd.data() + s * D::in_size);
              }));
  std::printf("c2d gather       %.2f ms\n", tm([&] {
                for (std::size_t s = 0; s < n; ++s) D::geometry::gather(dxd.data() + s * D::in_size, dpat.data());
              }));
  struct aligned_image {
    float* p = kernels::detail::workspace<float, 11>(D::in_size);
    float* data() const { return p; }
  } xd;
  std::printf("c2d rows+gather  %.2f ms  (replaces c2d gather)\n", tm([&] {
                for (std::size_t s = 0; s < n; ++s) {
                  kernels::to_rows<D::C, D::H * D::W>(1, dxd.data() + s * D::in_size, xd.data());
                  D::geometry::gather_channels_last(xd.data(), dpat.data());
                }
              }));
}
