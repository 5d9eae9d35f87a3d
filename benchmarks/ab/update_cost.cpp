// The cost of keeping the previous parameters in an Adam update (653 k parameters, caches cold):
// the plain update, by blocks, with a separate copy, a streaming copy, and update_range_keeping.
// Built by benchmarks/ab/run.sh (needs AVX-512 for the streaming copy).
#include <immintrin.h>
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <latent/latent.hpp>
using namespace latent;
static void stream_copy(const float* s, float* d, std::size_t n) {  // d 64-byte aligned, n multiple of 16
  for (std::size_t i = 0; i < n; i += 16) _mm512_stream_ps(d + i, _mm512_loadu_ps(s + i));
}
int main() {
  const std::size_t P = 653104 / 16 * 16;
  aligned_buffer<float> p(P), g(P), b(P), big(64 << 20);
  Rng r(1);
  for (std::size_t i = 0; i < P; ++i) {
    p[i] = float(r.uniform());
    g[i] = float(r.uniform() - 0.5) * 1e-3f;
  }
  Adam a[5];
  auto evict = [&] {
    for (std::size_t i = 0; i < big.size(); i += 16) big[i] += 1.0f;
  };
  double t[5] = {};
  for (int rep = 0; rep < 40; ++rep)
    for (int v = 0; v < 5; ++v) {
      evict();
      auto t0 = std::chrono::steady_clock::now();
      bool ok = true;
      if (v == 0)
        a[v].step(p.span(), std::span<const float>(g.data(), P));
      else {
        a[v].begin_ranges<float>(P);
        for (std::size_t s = 0; s < P; s += 32768) {
          const std::size_t e = std::min(P, s + 32768);
          if (v == 2) std::copy(p.data() + s, p.data() + e, b.data() + s);
          if (v == 3) stream_copy(p.data() + s, b.data() + s, e - s);
          if (v == 4) {
            ok = a[v].update_range_keeping(p.span(), std::span<const float>(g.data(), P), s, e, b.data()) && ok;
            continue;
          }
          a[v].update_range(p.span(), std::span<const float>(g.data(), P), s, e);
        }
        _mm_sfence();
      }
      auto t1 = std::chrono::steady_clock::now();
      if (rep >= 8) t[v] += std::chrono::duration<double, std::micro>(t1 - t0).count();
      if (!ok) return 1;
    }
  const char* names[] = {"step", "blocks", "blocks+copy", "blocks+streamcopy", "fused keeping"};
  for (int v = 0; v < 5; ++v) std::printf("%-24s %.1f us\n", names[v], t[v] / 32);
}
