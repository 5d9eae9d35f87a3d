// Configure-time probe (CMakeLists.txt, LATENT_AVX512=AUTO, run only where AVX-512 runs): exits 0 when
// this CPU's 512-bit FMAs give at least 1.5 times the flops of its 256-bit FMAs (full-width units, as
// on Zen 5), 2 when they do not (two 256-bit halves per instruction, as on Zen 4). On the latter latent
// uses 8-float registers for the widths that 16-float ones would pad more (LATENT_AVX512_HALF_RATE).
// Compiled without architecture flags: the two loops carry their own target attributes.
#include <immintrin.h>

#include <chrono>
#include <cstdio>

namespace {
constexpr int chains = 12;
constexpr long iterations = 4'000'000;
volatile float sink;

__attribute__((target("avx2,fma"))) double seconds_256() {
  __m256 acc[chains];
  for (int c = 0; c < chains; ++c) acc[c] = _mm256_set1_ps(static_cast<float>(c));
  const __m256 a = _mm256_set1_ps(0.999f), b = _mm256_set1_ps(0.001f);
  const auto start = std::chrono::steady_clock::now();
  for (long i = 0; i < iterations; ++i)
    for (int c = 0; c < chains; ++c) acc[c] = _mm256_fmadd_ps(acc[c], a, b);
  const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  __m256 total = acc[0];
  for (int c = 1; c < chains; ++c) total = _mm256_add_ps(total, acc[c]);
  sink = _mm256_cvtss_f32(total);
  return s;
}

__attribute__((target("avx512f"))) double seconds_512() {
  __m512 acc[chains];
  for (int c = 0; c < chains; ++c) acc[c] = _mm512_set1_ps(static_cast<float>(c));
  const __m512 a = _mm512_set1_ps(0.999f), b = _mm512_set1_ps(0.001f);
  const auto start = std::chrono::steady_clock::now();
  for (long i = 0; i < iterations; ++i)
    for (int c = 0; c < chains; ++c) acc[c] = _mm512_fmadd_ps(acc[c], a, b);
  const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  sink = _mm512_reduce_add_ps(acc[0]) + _mm512_reduce_add_ps(acc[chains - 1]);
  return s;
}
}  // namespace

int main() {
  double t256 = 1e9, t512 = 1e9;
  for (int round = 0; round < 3; ++round) {  // best of three: the machine may be shared
    const double a = seconds_256(), b = seconds_512();
    t256 = a < t256 ? a : t256;
    t512 = b < t512 ? b : t512;
  }
  const double ratio = 2 * t256 / t512;  // 512-bit flops per second over 256-bit ones
  std::printf("512-bit/256-bit FMA throughput: %.2f\n", ratio);
  return ratio >= 1.5 ? 0 : 2;
}
