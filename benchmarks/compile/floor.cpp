// Build-cost floor (benchmarks/compile_time.sh): what any program that uses xtensor and xsimd pays.
// It includes xtensor's container and xsimd, and runs a small vectorised loop over a tensor, so a
// latent program's figure divided by this one is the cost latent adds.
#include <xsimd/xsimd.hpp>
#include <xtensor/xtensor.hpp>

#include <cstddef>
#include <cstdio>

int main(int argc, char**) {
  using batch = xsimd::batch<float>;
  xt::xtensor<float, 2> x = xt::xtensor<float, 2>::from_shape({64, 128});
  for (std::size_t i = 0; i < x.size(); ++i) x.data()[i] = static_cast<float>(i % 7) * static_cast<float>(argc);
  batch acc(0.0f);
  std::size_t i = 0;
  for (; i + batch::size <= x.size(); i += batch::size) {
    const batch v = batch::load_unaligned(x.data() + i);
    acc = xsimd::fma(v, v, acc);
  }
  float sum = xsimd::hadd(acc);
  for (; i < x.size(); ++i) sum += x.data()[i];
  std::printf("%g\n", static_cast<double>(sum));
}
