// Core: the vectorised kernels against scalar references, the optimisers against hand-computed
// updates, the random generator's statistics, and aligned storage.
//
// Kernel laws are instantiated for every (scalar, architecture) pair: float and double, on SSE2 (2 or
// 4 lanes) and on the default architecture of the translation unit (fma3<avx2> under -mavx2 -mfma: 4 or
// 8 lanes), on sizes that are not multiples of any vector width.
//
// Tolerances are error bounds, not fitted numbers (ε = numeric_limits<T>::epsilon(), twice the unit
// round-off u):
//  - a sum or dot product of n terms, in any order, with or without fused multiply-adds, is within
//    γ_n·Σ|terms| of the exact value (γ_n = n·u/(1 − n·u), Higham, "Accuracy and Stability of Numerical
//    Algorithms", §3.1); a kernel and the reference therefore differ by at most 2·γ_n·Σ|terms| ≤
//    (n + 1)·ε·Σ|terms|, the bound used for gemm, column sums and loss sums;
//  - element-wise functions (exp, log1p, tanh, expm1 in xsimd's vector forms and the C library's) are
//    accurate to a few ulps each, and our formulas chain at most four of them: 16·ε relative to the
//    magnitude of the operands.
#include <doctest/doctest.h>

#include "latent/activations/elu.hpp"
#include "latent/activations/identity.hpp"
#include "latent/activations/leaky_relu.hpp"
#include "latent/activations/relu.hpp"
#include "latent/activations/sigmoid.hpp"
#include "latent/activations/softplus.hpp"
#include "latent/activations/tanh.hpp"
#include "latent/core/aligned_buffer.hpp"
#include "latent/core/error.hpp"
#include "latent/core/random.hpp"
#include "latent/detail/thread_pool.hpp"
#include "latent/kernels/elementwise.hpp"
#include "latent/kernels/gemm.hpp"
#include "latent/kernels/loss.hpp"
#include "latent/kernels/simd.hpp"
#include "latent/kernels/update.hpp"
#include "latent/losses/bce.hpp"
#include "latent/losses/bce_with_logits.hpp"
#include "latent/losses/mse.hpp"
#include "latent/optim/adam.hpp"
#include "latent/optim/sgd.hpp"
#include "support/reference_kernels.hpp"  // the scalar specification of the kernels

#include <algorithm>    // std::max, std::min, std::copy, std::equal
#include <cmath>        // std::abs, std::exp, std::log1p, std::tanh, std::expm1, std::sqrt, std::nan
#include <cstddef>      // std::size_t, std::ptrdiff_t
#include <cstdint>      // std::uintptr_t, std::uint64_t
#include <limits>       // std::numeric_limits
#include <span>         // std::span
#include <type_traits>  // std::is_same_v
#include <utility>      // std::index_sequence
#include <vector>       // std::vector

#if defined(__linux__)
#include <sys/mman.h>  // mmap, mprotect, munmap (an inaccessible page beside partial loads)
#include <unistd.h>    // sysconf
#endif

// The file's own names live in namespace test_core: the test programs compile several test files as one
// translation unit (tests/CMakeLists.txt), and each file's helpers stay its own.
namespace test_core {

namespace {

using namespace latent;

template <class T, class Arch>
struct config {
  using scalar = T;
  using arch = Arch;
  static constexpr T eps = std::numeric_limits<T>::epsilon();
};
using Sse2Float = config<float, xsimd::sse2>;
using Sse2Double = config<double, xsimd::sse2>;
using DefaultFloat = config<float, kernels::default_arch>;
using DefaultDouble = config<double, kernels::default_arch>;

#if defined(__AVX512BW__) && defined(__AVX512DQ__)
static_assert(std::is_same_v<kernels::default_arch, xsimd::avx512bw>,
              "under the AVX-512 flags the kernels' default architecture is avx512bw");
// AVX-512 builds still test the AVX2 kernels (what a consumer compiled with -mavx2 -mfma gets).
using Avx2Float = config<float, xsimd::fma3<xsimd::avx2>>;
using Avx2Double = config<double, xsimd::fma3<xsimd::avx2>>;
#define LATENT_TEST_ARCHS Sse2Float, Sse2Double, DefaultFloat, DefaultDouble, Avx2Float, Avx2Double
#elif defined(__AVX2__) && defined(__FMA__)
static_assert(std::is_same_v<kernels::default_arch, xsimd::fma3<xsimd::avx2>>,
              "under -mavx2 -mfma the kernels' default architecture is fma3<avx2>");
#define LATENT_TEST_ARCHS Sse2Float, Sse2Double, DefaultFloat, DefaultDouble
#else
#define LATENT_TEST_ARCHS Sse2Float, Sse2Double, DefaultFloat, DefaultDouble
#endif

// arch_for<T, N>: the layers' choice of registers per width. Multiples of the widest register keep it
// everywhere; only a build for half-rate AVX-512 (LATENT_AVX512_HALF_RATE) narrows the widths that
// 16-float registers would pad more, and never the others.
static_assert(std::is_same_v<kernels::arch_for<float, 400>, kernels::default_arch>);
static_assert(std::is_same_v<kernels::arch_for<double, 784>, kernels::default_arch>);
#if defined(LATENT_AVX512_HALF_RATE) && defined(__AVX512BW__) && defined(__AVX512DQ__)
static_assert(std::is_same_v<kernels::arch_for<float, 20>, xsimd::fma3<xsimd::avx2>>);
static_assert(std::is_same_v<kernels::arch_for<float, 5>, xsimd::fma3<xsimd::avx2>>);
static_assert(std::is_same_v<kernels::arch_for<float, 40>, xsimd::fma3<xsimd::avx2>>);   // 40 lanes, not 48
static_assert(std::is_same_v<kernels::arch_for<float, 100>, xsimd::fma3<xsimd::avx2>>);  // 104 lanes, not 112
static_assert(std::is_same_v<kernels::arch_for<float, 16>, kernels::default_arch>);
static_assert(std::is_same_v<kernels::arch_for<float, 9>, kernels::default_arch>);  // 16 lanes either way
#else
static_assert(std::is_same_v<kernels::arch_for<float, 20>, kernels::default_arch>);
static_assert(std::is_same_v<kernels::arch_for<float, 5>, kernels::default_arch>);
#endif

// The sizes of the brief: widths that are not multiples of 2, 4 or 8 lanes, and some that are.
constexpr std::size_t widths[] = {1, 3, 5, 7, 8, 9, 17, 20, 100};
constexpr std::size_t row_counts[] = {1, 2, 3, 5, 33};
using width_list = std::index_sequence<1, 3, 5, 7, 8, 9, 17, 20, 100>;

template <class T>
std::vector<T> random_values(Rng& rng, std::size_t count, double lo = -1, double hi = 1) {
  std::vector<T> v(count);
  for (auto& e : v) e = static_cast<T>(rng.uniform(lo, hi));
  return v;
}

// A buffer with guard values after its `size` elements, which no kernel may touch.
template <class T>
struct guarded {
  static constexpr std::size_t guard = 11;
  static constexpr T sentinel = T(-777.25);
  std::vector<T> storage;
  std::size_t size;
  explicit guarded(std::size_t n) : storage(n + guard, sentinel), size(n) {}
  T* data() { return storage.data(); }
  T& operator[](std::size_t i) { return storage[i]; }
  bool guards_intact() const {
    for (std::size_t i = size; i < storage.size(); ++i)
      if (storage[i] != sentinel) return false;
    return true;
  }
};

// ======================================================================================================
// gemm: C[M×N] = init + A·B for every N (compile time) × K × M, in the forms the layers use:
//   forward       A row-major (a_rs = K, a_cs = 1), B row-major, bias_init, store_to   (X·W + b)
//   weight grad.  A read transposed (a_rs = 1, a_cs = M), zero_init, store_to          (Xᵀ·dZ)
//   strided B     gemm<N> with B given as Bᵀ (b_rs = 1, b_cs = K), zero_init, store_to (dZ·Wᵀ)
//   accumulate    A row-major, zero_init, add_to onto random C                          (C += A·B)
// The last only for N in {1, 9, 100} (a tail alone, a register and a tail, several panels and a
// tail): every (N, init, epilogue) triple is a separate instantiation of the packed product, and all
// 27 of them per architecture and scalar would double this file's compile time; the epilogue's full
// and partial paths are the same code for every N.
template <class Cfg, std::size_t N>
void check_gemm_width() {
  using T = typename Cfg::scalar;
  using Arch = typename Cfg::arch;
  Rng rng(N);
  for (std::size_t K : widths)
    for (std::size_t M : row_counts) {
      CAPTURE(N);
      CAPTURE(K);
      CAPTURE(M);
      const auto A = random_values<T>(rng, M * K);   // M×K row-major, or K×M read transposed
      const auto B = random_values<T>(rng, K * N);   // K×N row-major
      const auto Bt = random_values<T>(rng, N * K);  // N×K: B(k, c) = Bt[c·K + k]
      const auto bias = random_values<T>(rng, N);
      const auto C0 = random_values<T>(rng, M * N);

      // Bound: (K + 2)·ε·(Σ_k |a·b| + |bias| + |c0|) per element.
      const auto bound = [&](std::size_t a_rs, std::size_t a_cs, const T* Bp, std::size_t b_rs, std::size_t b_cs,
                             const T* bias_p, const T* c0, std::size_t r, std::size_t c) {
        T s = bias_p ? std::abs(bias_p[c]) : T(0);
        if (c0) s += std::abs(c0[r * N + c]);
        for (std::size_t k = 0; k < K; ++k) s += std::abs(A[r * a_rs + k * a_cs] * Bp[k * b_rs + c * b_cs]);
        return static_cast<T>(K + 2) * Cfg::eps * s;
      };
      const auto compare = [&](const char* form, guarded<T>& got, const std::vector<T>& want, std::size_t a_rs,
                               std::size_t a_cs, const T* Bp, std::size_t b_rs, std::size_t b_cs, const T* bias_p,
                               const T* c0) {
        CAPTURE(form);
        std::size_t bad = 0;
        for (std::size_t r = 0; r < M; ++r)
          for (std::size_t c = 0; c < N; ++c)
            if (!(std::abs(got[r * N + c] - want[r * N + c]) <= bound(a_rs, a_cs, Bp, b_rs, b_cs, bias_p, c0, r, c)))
              ++bad;
        CHECK(bad == 0);
        CHECK(got.guards_intact());
      };

      {  // forward
        guarded<T> C(M * N);
        std::vector<T> ref(M * N);
        kernels::gemm_nn<N, T, Arch>(M, K, A.data(), K, 1, B.data(), kernels::bias_init<T>{bias.data()},
                                     kernels::store_to<T>{C.data()});
        kernels::reference::gemm_nn<T>(M, N, K, A.data(), K, 1, B.data(), bias.data(), ref.data());
        compare("forward", C, ref, K, 1, B.data(), N, 1, bias.data(), nullptr);
      }
      {  // weight gradient: A is stored K×M and read transposed
        guarded<T> C(M * N);
        std::vector<T> ref(M * N);
        kernels::gemm_nn<N, T, Arch>(M, K, A.data(), 1, M, B.data(), kernels::zero_init{},
                                     kernels::store_to<T>{C.data()});
        kernels::reference::gemm_nn<T>(M, N, K, A.data(), 1, M, B.data(), nullptr, ref.data());
        compare("strided A", C, ref, 1, M, B.data(), N, 1, nullptr, nullptr);
      }
      if constexpr (N == 1 || N == 9 || N == 100) {  // accumulate
        guarded<T> C(M * N);
        std::copy(C0.begin(), C0.end(), C.data());
        std::vector<T> ref(M * N);
        kernels::gemm_nn<N, T, Arch>(M, K, A.data(), K, 1, B.data(), kernels::zero_init{},
                                     kernels::add_to<T>{C.data()});
        kernels::reference::gemm_nn<T>(M, N, K, A.data(), K, 1, B.data(), nullptr, ref.data());
        for (std::size_t i = 0; i < M * N; ++i) ref[i] += C0[i];
        compare("add_to", C, ref, K, 1, B.data(), N, 1, nullptr, C0.data());
      }
      {  // strided B (transposed)
        guarded<T> C(M * N);
        std::vector<T> ref(M * N);
        kernels::gemm<N, T, Arch>(M, K, A.data(), K, 1, Bt.data(), 1, K, kernels::zero_init{},
                                  kernels::store_to<T>{C.data()});
        kernels::reference::gemm<T>(M, N, K, A.data(), K, 1, Bt.data(), 1, K, nullptr, ref.data());
        compare("strided B", C, ref, K, 1, Bt.data(), 1, K, nullptr, nullptr);
      }
    }
}

// gemm_nt<K>: C[M×N] = A[M×K]·B[N×K]ᵀ, with C's row stride ldc = N (packed) and N + 3 (the columns
// between must stay untouched).
template <class Cfg, std::size_t K>
void check_gemm_nt_depth() {
  using T = typename Cfg::scalar;
  using Arch = typename Cfg::arch;
  Rng rng(100 + K);
  for (std::size_t N : widths)
    for (std::size_t M : row_counts)
      for (std::size_t pad : {std::size_t{0}, std::size_t{3}}) {
        CAPTURE(K);
        CAPTURE(N);
        CAPTURE(M);
        CAPTURE(pad);
        const std::size_t ldc = N + pad;
        const auto A = random_values<T>(rng, M * K);
        const auto B = random_values<T>(rng, N * K);
        guarded<T> C(M * ldc);
        std::vector<T> ref(M * ldc, guarded<T>::sentinel);
        kernels::gemm_nt<K, T, Arch>(M, N, A.data(), B.data(), C.data(), ldc);
        kernels::reference::gemm_nt<T>(M, N, K, A.data(), B.data(), ref.data(), ldc);
        std::size_t bad = 0;
        for (std::size_t r = 0; r < M; ++r)
          for (std::size_t c = 0; c < ldc; ++c) {
            if (c >= N) {
              if (C[r * ldc + c] != guarded<T>::sentinel) ++bad;  // padding columns untouched
              continue;
            }
            T s = 0;
            for (std::size_t k = 0; k < K; ++k) s += std::abs(A[r * K + k] * B[c * K + k]);
            if (!(std::abs(C[r * ldc + c] - ref[r * ldc + c]) <= static_cast<T>(K + 1) * Cfg::eps * s)) ++bad;
          }
        CHECK(bad == 0);
        CHECK(C.guards_intact());
      }
}

// column_sums<N>: out[j] = Σ_r X[r·N + j].
template <class Cfg, std::size_t N>
void check_column_sums_width() {
  using T = typename Cfg::scalar;
  using Arch = typename Cfg::arch;
  Rng rng(200 + N);
  for (std::size_t M : {1, 2, 3, 5, 33, 100}) {
    CAPTURE(N);
    CAPTURE(M);
    const auto X = random_values<T>(rng, M * N);
    guarded<T> out(N);
    std::vector<T> ref(N);
    kernels::column_sums<N, T, Arch>(M, X.data(), out.data());
    kernels::reference::column_sums<T>(M, N, X.data(), ref.data());
    std::size_t bad = 0;
    for (std::size_t j = 0; j < N; ++j) {
      T s = 0;
      for (std::size_t r = 0; r < M; ++r) s += std::abs(X[r * N + j]);
      if (!(std::abs(out[j] - ref[j]) <= static_cast<T>(M + 1) * Cfg::eps * s)) ++bad;
    }
    CHECK(bad == 0);
    CHECK(out.guards_intact());
  }
}

template <class Cfg, std::size_t... N>
void check_all_gemm(std::index_sequence<N...>) {
  (check_gemm_width<Cfg, N>(), ...);
  (check_gemm_nt_depth<Cfg, N>(), ...);
  (check_column_sums_width<Cfg, N>(), ...);
}

}  // namespace

}  // namespace test_core
TYPE_TO_STRING_AS("Sse2Float", test_core::Sse2Float);
TYPE_TO_STRING_AS("Sse2Double", test_core::Sse2Double);
TYPE_TO_STRING_AS("DefaultFloat", test_core::DefaultFloat);
TYPE_TO_STRING_AS("DefaultDouble", test_core::DefaultDouble);
#if defined(__AVX512BW__) && defined(__AVX512DQ__)
TYPE_TO_STRING_AS("Avx2Float", test_core::Avx2Float);
TYPE_TO_STRING_AS("Avx2Double", test_core::Avx2Double);
#endif
namespace test_core {

TEST_CASE_TEMPLATE("kernels: gemm_nn, gemm (strided B), gemm_nt and column_sums match the reference", Cfg,
                   LATENT_TEST_ARCHS) {
  check_all_gemm<Cfg>(width_list{});
}

namespace {

// Entries of an M×N product C = bias + c0 + A·B (A(r, k) = A[r·a_rs + k·a_cs], B(k, c) = B[k·b_rs + c·b_cs],
// bias and c0 optional) where `got` and `want` differ by more than (K + slack)·ε·(Σ_k |A(r, k)·B(k, c)| +
// |bias[c]| + |c0[r·N + c]|). With K = 0 the bound is |bias| + |c0| times (slack·ε): an init or epilogue
// must then give bias + c0 to within a rounding of the one addition.
template <class T>
std::size_t product_errors(std::size_t M, std::size_t N, std::size_t K, const T* A, std::size_t a_rs, std::size_t a_cs,
                           const T* B, std::size_t b_rs, std::size_t b_cs, const T* bias, const T* c0, const T* got,
                           const T* want, std::size_t slack) {
  std::size_t bad = 0;
  for (std::size_t r = 0; r < M; ++r)
    for (std::size_t c = 0; c < N; ++c) {
      T s = bias ? std::abs(bias[c]) : T(0);
      if (c0) s += std::abs(c0[r * N + c]);
      for (std::size_t k = 0; k < K; ++k) s += std::abs(A[r * a_rs + k * a_cs] * B[k * b_rs + c * b_cs]);
      const T tol = static_cast<T>(K + slack) * std::numeric_limits<T>::epsilon() * s;
      if (!(std::abs(got[r * N + c] - want[r * N + c]) <= tol)) ++bad;
    }
  return bad;
}

// gemm<N> called directly, in the layouts gemm_nn never passes: B row-major with a leading dimension
// larger than N (b_rs = N + 3), and B transposed with one larger than K (b_rs = 1, b_cs = K + 3, the
// element-by-element and, for float on AVX, the 8 × 8 register-transpose packing with a K tail), each
// with bias_init, zero_init and (for N in {9, 100}) add_to; K = 0 (C = init, or C unchanged under
// add_to); M = 0 (C untouched). Every (N, init, epilogue) triple here is one check_gemm_width already
// instantiates (the strides are run-time values), and the kernels come in as pointers so that the checks
// are compiled once per scalar: this costs next to no compile time.
template <class T, class Init, class Epi>
using gemm_kernel = void (*)(std::size_t, std::size_t, const T*, std::size_t, std::size_t, const T*, std::size_t,
                             std::size_t, const Init&, const Epi&) noexcept;

template <class T>
void check_gemm_layouts(std::size_t N, gemm_kernel<T, kernels::bias_init<T>, kernels::store_to<T>> with_bias,
                        gemm_kernel<T, kernels::zero_init, kernels::store_to<T>> with_zero,
                        gemm_kernel<T, kernels::zero_init, kernels::add_to<T>> accumulating) {
  Rng rng(150 + N);
  for (std::size_t K : {0, 3, 13, 21})
    for (std::size_t M : {0, 1, 5, 33}) {
      CAPTURE(N);
      CAPTURE(K);
      CAPTURE(M);
      // At least one element each, so that no kernel offsets a null pointer when K or M is 0.
      const auto A = random_values<T>(rng, std::max<std::size_t>(M * K, 1));  // M×K row-major
      const std::size_t ldb = N + 3, ldbt = K + 3;
      const auto B = random_values<T>(rng, std::max<std::size_t>(K * ldb, 1));    // B(k, c) = B[k·(N + 3) + c]
      const auto Bt = random_values<T>(rng, std::max<std::size_t>(N * ldbt, 1));  // B(k, c) = Bt[c·(K + 3) + k]
      const auto bias = random_values<T>(rng, N);
      const auto C0 = random_values<T>(rng, std::max<std::size_t>(M * N, 1));

      enum class form { bias, zero, add };
      const auto run = [&](const char* name, const T* Bp, std::size_t b_rs, std::size_t b_cs, form f) {
        CAPTURE(name);
        guarded<T> C(M * N);
        if (f == form::add) std::copy(C0.begin(), C0.begin() + static_cast<std::ptrdiff_t>(M * N), C.data());
        std::vector<T> ref(std::max<std::size_t>(M * N, 1));
        const T* bias_p = f == form::bias ? bias.data() : nullptr;
        const T* c0_p = f == form::add ? C0.data() : nullptr;
        if (f == form::bias)
          with_bias(M, K, A.data(), K, 1, Bp, b_rs, b_cs, kernels::bias_init<T>{bias.data()},
                    kernels::store_to<T>{C.data()});
        else if (f == form::zero)
          with_zero(M, K, A.data(), K, 1, Bp, b_rs, b_cs, kernels::zero_init{}, kernels::store_to<T>{C.data()});
        else
          accumulating(M, K, A.data(), K, 1, Bp, b_rs, b_cs, kernels::zero_init{}, kernels::add_to<T>{C.data()});
        kernels::reference::gemm<T>(M, N, K, A.data(), K, 1, Bp, b_rs, b_cs, bias_p, ref.data());
        if (c0_p)
          for (std::size_t i = 0; i < M * N; ++i) ref[i] += C0[i];
        CHECK(product_errors<T>(M, N, K, A.data(), K, 1, Bp, b_rs, b_cs, bias_p, c0_p, C.data(), ref.data(), 2) == 0);
        if (K == 0) {  // nothing to multiply: exactly the init, or C unchanged
          std::size_t changed = 0;
          for (std::size_t r = 0; r < M; ++r)
            for (std::size_t c = 0; c < N; ++c)
              if (C[r * N + c] != (c0_p ? C0[r * N + c] : bias_p ? bias[c] : T(0))) ++changed;
          CHECK(changed == 0);
        }
        CHECK(C.guards_intact());
      };
      run("row-major B, ldb = N + 3, bias_init", B.data(), ldb, 1, form::bias);
      run("row-major B, ldb = N + 3, zero_init", B.data(), ldb, 1, form::zero);
      run("transposed B, ldb = K + 3, bias_init", Bt.data(), 1, ldbt, form::bias);
      run("transposed B, ldb = K + 3, zero_init", Bt.data(), 1, ldbt, form::zero);
      if (accumulating) {
        run("row-major B, ldb = N + 3, add_to", B.data(), ldb, 1, form::add);
        run("transposed B, ldb = K + 3, add_to", Bt.data(), 1, ldbt, form::add);
      }
    }
}

template <class Cfg, std::size_t N>
void check_gemm_layouts_width() {
  using T = typename Cfg::scalar;
  using Arch = typename Cfg::arch;
  using bias = kernels::bias_init<T>;
  using store = kernels::store_to<T>;
  using add = kernels::add_to<T>;
  gemm_kernel<T, kernels::zero_init, add> accumulating = nullptr;
  if constexpr (N == 9 || N == 100) accumulating = &kernels::gemm<N, T, Arch, kernels::zero_init, add>;
  check_gemm_layouts<T>(N, &kernels::gemm<N, T, Arch, bias, store>,
                        &kernels::gemm<N, T, Arch, kernels::zero_init, store>, accumulating);
}

}  // namespace

TEST_CASE_TEMPLATE("kernels: gemm with padded and transposed B, K = 0 and M = 0 matches the reference", Cfg,
                   LATENT_TEST_ARCHS) {
  check_gemm_layouts_width<Cfg, 8>();
  check_gemm_layouts_width<Cfg, 9>();
  check_gemm_layouts_width<Cfg, 100>();
}

namespace {

// ======================================================================================================
// Element-wise kernels against long-double references written from the documented formulas.
using R = long double;

R reference_apply(Identity, R z) { return z; }
R reference_apply(Relu, R z) { return z > 0 ? z : 0; }
R reference_apply(LeakyRelu, R z) { return z > 0 ? z : R(0.3) * z; }
R reference_apply(Sigmoid, R z) { return 1 / (1 + std::exp(-z)); }
R reference_apply(Tanh, R z) { return std::tanh(z); }
R reference_apply(Softplus, R z) { return z > 0 ? z + std::log1p(std::exp(-z)) : std::log1p(std::exp(z)); }
R reference_apply(Elu, R z) { return z > 0 ? z : std::expm1(z); }

// The derivative as a function of the output y.
R reference_derivative(Identity, R) { return 1; }
R reference_derivative(Relu, R y) { return y > 0 ? 1 : 0; }
R reference_derivative(LeakyRelu, R y) { return y > 0 ? 1 : R(0.3); }
R reference_derivative(Sigmoid, R y) { return y * (1 - y); }
R reference_derivative(Tanh, R y) { return 1 - y * y; }
R reference_derivative(Softplus, R y) { return -std::expm1(-y); }  // σ(z) = 1 − e^−softplus(z)
R reference_derivative(Elu, R y) { return y > 0 ? 1 : y + 1; }

template <class Act, class Cfg>
void check_activation_kernels() {
  using T = typename Cfg::scalar;
  using Arch = typename Cfg::arch;
  Rng rng(300);
  for (std::size_t count : widths) {
    CAPTURE(count);
    // Inputs in [−8, 8] with exact zeros and both signs; outputs of the activation as the y of the
    // derivative (as in a backward pass).
    auto z = random_values<T>(rng, count, -8, 8);
    if (count > 2) z[count / 2] = T(0);
    guarded<T> y(count);
    kernels::apply_activation<Act, T, Arch>(z.data(), y.data(), count);
    std::size_t bad_apply = 0;
    for (std::size_t i = 0; i < count; ++i) {
      const R want = reference_apply(Act{}, static_cast<R>(z[i]));
      // Bound: 16 ulps of the output (none of the formulas cancels: softplus adds two non-negative
      // terms, Elu uses expm1), plus the smallest normal for outputs that underflow.
      const R tol = 16 * static_cast<R>(Cfg::eps) * std::abs(want) + static_cast<R>(std::numeric_limits<T>::min());
      if (!(std::abs(static_cast<R>(y[i]) - want) <= tol)) ++bad_apply;
    }
    CHECK(bad_apply == 0);
    CHECK(y.guards_intact());

    auto dy = random_values<T>(rng, count, -2, 2);
    guarded<T> grad(count);
    std::copy(dy.begin(), dy.end(), grad.data());
    kernels::multiply_by_derivative<Act, T, Arch>(grad.data(), y.data(), count);
    std::size_t bad_derivative = 0;
    for (std::size_t i = 0; i < count; ++i) {
      const R want = static_cast<R>(dy[i]) * reference_derivative(Act{}, static_cast<R>(y[i]));
      // 16 ulps relative, plus 4 ulps of |dy| for the cancellation in 1 − y², y(1 − y), y + 1.
      const R tol = 16 * static_cast<R>(Cfg::eps) * std::abs(want) +
                    4 * static_cast<R>(Cfg::eps) * std::abs(static_cast<R>(dy[i]));
      if (!(std::abs(static_cast<R>(grad[i]) - want) <= tol)) ++bad_derivative;
    }
    CHECK(bad_derivative == 0);
    CHECK(grad.guards_intact());
  }
}

template <class Cfg>
void check_all_activation_kernels() {
  check_activation_kernels<Identity, Cfg>();
  check_activation_kernels<Relu, Cfg>();
  check_activation_kernels<LeakyRelu, Cfg>();
  check_activation_kernels<Sigmoid, Cfg>();
  check_activation_kernels<Tanh, Cfg>();
  check_activation_kernels<Softplus, Cfg>();
  check_activation_kernels<Elu, Cfg>();
}

}  // namespace

TEST_CASE_TEMPLATE("kernels: apply_activation and multiply_by_derivative match the formulas", Cfg, LATENT_TEST_ARCHS) {
  check_all_activation_kernels<Cfg>();
}

namespace {

// ======================================================================================================
// weight_gradient<N, Act>: dz = dy ⊙ Act'(y) written back over dy, dW[M×N] = xᵀ·dz, db = Σ_k dz[k, ·],
// for x K×M and dy, y K×N (K samples, M inputs, N outputs), against reference::weight_gradient.
//  - dz: void and Relu multiply by exactly 1 or 0, so dz must equal dy·Act'(y) exactly (void: dy is left
//    as it was); Sigmoid's dy·(y·(1 − y)) is three roundings, within γ_3 < 2ε of the exact value.
//  - dW and db: the kernel sums its dz, the reference its own; the sums differ by at most (K + 1)·ε·Σ|terms|
//    and the two dz's by at most 2·γ_3 < 3ε each, so (K + 4)·ε·Σ_k |x·dz| and (K + 4)·ε·Σ_k |dz|.
//  - K = 0 (no samples): dW = 0 and db = 0 exactly (the outputs start filled with guard values).
// Widths N: 1, 5, 13, 17, 20, 37 (a tail alone, or whole registers and a tail, in one panel or several, on
// 2, 4 and 8 lanes), 8 and 24 (whole registers only: one register, one full three-register panel on 8
// lanes) and 100 (several full panels, then a tail). Rows M: 1, 5 and 17 give partial tiles alone and
// whole tiles plus a remainder for 4, 6 and 8 rows a tile. Samples K: 0, 1, 7, 33.
template <class Act>
R derivative_at(R y) {
  if constexpr (std::is_void_v<Act>)
    return 1;
  else
    return reference_derivative(Act{}, y);
}

// The kernel comes in as a pointer, so that the checks below are compiled once per (T, Act), not once
// per width and architecture as well.
template <class T>
using weight_gradient_kernel = void (*)(std::size_t, std::size_t, const T*, T*, const T*, T*, T*) noexcept;

template <class T, class Act>
void check_weight_gradient(std::size_t N, weight_gradient_kernel<T> kernel) {
  constexpr T eps = std::numeric_limits<T>::epsilon();
  constexpr bool exact_dz = std::is_void_v<Act> || std::is_same_v<Act, Relu>;
  Rng rng(700 + N);
  for (std::size_t K : {0, 1, 7, 33})
    for (std::size_t M : {1, 5, 17}) {
      CAPTURE(N);
      CAPTURE(K);
      CAPTURE(M);
      // At least one element each, so that no kernel offsets a null pointer when K is 0.
      const auto x = random_values<T>(rng, std::max<std::size_t>(K * M, 1));
      const auto dy0 = random_values<T>(rng, std::max<std::size_t>(K * N, 1));
      // y as the activation's output (Relu: exact zeros and positives; Sigmoid: in (0, 1)); for void
      // the kernel must not read it, so NaN would poison any result that did.
      std::vector<T> y(std::max<std::size_t>(K * N, 1));
      for (auto& v : y) {
        if constexpr (std::is_void_v<Act>)
          v = std::numeric_limits<T>::quiet_NaN();
        else if constexpr (std::is_same_v<Act, Relu>)
          v = std::max(static_cast<T>(rng.uniform(-1, 1)), T(0));
        else
          v = static_cast<T>(1 / (1 + std::exp(-rng.uniform(-8, 8))));
      }

      guarded<T> dy(K * N), dW(M * N), db(N);
      std::copy(dy0.begin(), dy0.begin() + static_cast<std::ptrdiff_t>(K * N), dy.data());
      kernel(M, K, x.data(), dy.data(), y.data(), dW.data(), db.data());

      std::vector<T> ref_dz = dy0, ref_dW(M * N), ref_db(N);
      kernels::reference::weight_gradient<Act, T>(M, N, K, x.data(), ref_dz.data(), y.data(), ref_dW.data(),
                                                  ref_db.data());

      std::size_t bad_dz = 0;
      for (std::size_t i = 0; i < K * N; ++i) {
        const R want = static_cast<R>(dy0[i]) * derivative_at<Act>(static_cast<R>(y[i]));
        const R tol = exact_dz ? R(0) : 2 * static_cast<R>(eps) * std::abs(want);
        if (!(std::abs(static_cast<R>(dy[i]) - want) <= tol)) ++bad_dz;
      }
      CHECK(bad_dz == 0);
      CHECK(dy.guards_intact());

      // dW against the reference: A = x read transposed (x(r, k) = x[k·M + r]), B = dz.
      CHECK(product_errors<T>(M, N, K, x.data(), 1, M, ref_dz.data(), N, 1, nullptr, nullptr, dW.data(), ref_dW.data(),
                              4) == 0);
      CHECK(dW.guards_intact());

      std::size_t bad_db = 0;
      for (std::size_t c = 0; c < N; ++c) {
        T s = 0;
        for (std::size_t k = 0; k < K; ++k) s += std::abs(ref_dz[k * N + c]);
        if (!(std::abs(db[c] - ref_db[c]) <= static_cast<T>(K + 4) * eps * s)) ++bad_db;
      }
      CHECK(bad_db == 0);
      CHECK(db.guards_intact());

      if (K == 0) {  // no samples: both gradients exactly zero (the bounds above are then 0 as well)
        std::size_t nonzero = 0;
        for (std::size_t i = 0; i < M * N; ++i) nonzero += dW[i] != T(0);
        for (std::size_t c = 0; c < N; ++c) nonzero += db[c] != T(0);
        CHECK(nonzero == 0);
      }
    }
}

template <class Cfg, class Act, std::size_t... N>
void check_weight_gradient_widths(std::index_sequence<N...>) {
  using T = typename Cfg::scalar;
  (check_weight_gradient<T, Act>(N, &kernels::weight_gradient<N, Act, T, typename Cfg::arch>), ...);
}
using weight_gradient_widths = std::index_sequence<1, 5, 8, 13, 17, 20, 24, 37, 100>;

// weight_gradient_rows<N> and add_column_sums<N>: what a multi-threaded step does with a deferred weight
// gradient. The K samples come in two slices (K1 and K − K1 rows, as two threads' halves of a batch);
// the rows of dW in blocks [0, a), [a, b), [b, M) (as owners split them), each block first stored from
// slice 1 then added from slice 2; db as column_sums of slice 1 then add_column_sums of slice 2. Against
// the reference product over all K samples, with the product bound's slack raised by one rounding for
// the final addition. Rows outside a block must stay untouched (guards and a block left out once).
template <class T>
using rows_kernel = void (*)(std::size_t, std::size_t, const T*, const T*, T*, std::size_t, std::size_t, bool) noexcept;
template <class T>
using sums_kernel = void (*)(std::size_t, const T*, T*) noexcept;

template <class T>
void check_weight_gradient_rows(std::size_t N, rows_kernel<T> rows, sums_kernel<T> sums, sums_kernel<T> add_sums) {
  constexpr T eps = std::numeric_limits<T>::epsilon();
  Rng rng(900 + N);
  for (std::size_t K : {2, 9, 40})
    for (std::size_t M : {1, 6, 17}) {
      CAPTURE(N);
      CAPTURE(K);
      CAPTURE(M);
      const std::size_t K1 = K / 2;
      const auto x = random_values<T>(rng, K * M);
      const auto dz = random_values<T>(rng, K * N);
      guarded<T> dW(M * N), db(N);
      const std::size_t cuts[] = {0, M / 3, (2 * M) / 3 + (M > 1 ? 1 : 0), M};
      for (std::size_t c = 0; c < 3; ++c) {
        rows(M, K1, x.data(), dz.data(), dW.data(), cuts[c], cuts[c + 1], false);
        rows(M, K - K1, x.data() + K1 * M, dz.data() + K1 * N, dW.data(), cuts[c], cuts[c + 1], true);
      }
      sums(K1, dz.data(), db.data());
      add_sums(K - K1, dz.data() + K1 * N, db.data());
      std::vector<T> ref_dz = dz, ref_dW(M * N), ref_db(N);
      kernels::reference::weight_gradient<void, T>(M, N, K, x.data(), ref_dz.data(), nullptr, ref_dW.data(),
                                                   ref_db.data());
      CHECK(product_errors<T>(M, N, K, x.data(), 1, M, dz.data(), N, 1, nullptr, nullptr, dW.data(), ref_dW.data(),
                              5) == 0);
      CHECK(dW.guards_intact());
      std::size_t bad_db = 0;
      for (std::size_t c = 0; c < N; ++c) {
        T a = 0;
        for (std::size_t k = 0; k < K; ++k) a += std::abs(dz[k * N + c]);
        if (!(std::abs(db[c] - ref_db[c]) <= static_cast<T>(K + 5) * eps * a)) ++bad_db;
      }
      CHECK(bad_db == 0);
      CHECK(db.guards_intact());
      // An empty block (r0 = r1) and one past the end write nothing.
      guarded<T> untouched(M * N);
      rows(M, K, x.data(), dz.data(), untouched.data(), M / 2, M / 2, false);
      rows(M, K, x.data(), dz.data(), untouched.data(), M, M + 3, true);
      std::size_t written = 0;
      for (std::size_t i = 0; i < M * N; ++i) written += untouched[i] != guarded<T>::sentinel;
      CHECK(written == 0);
      CHECK(untouched.guards_intact());
    }
}

template <class Cfg, std::size_t... N>
void check_weight_gradient_rows_widths(std::index_sequence<N...>) {
  using T = typename Cfg::scalar;
  using A = typename Cfg::arch;
  (check_weight_gradient_rows<T>(N, &kernels::weight_gradient_rows<N, T, A>, &kernels::column_sums<N, T, A>,
                                 &kernels::add_column_sums<N, T, A>),
   ...);
}

}  // namespace

TEST_CASE_TEMPLATE("kernels: weight_gradient_rows and add_column_sums, by row blocks and slices, match the reference",
                   Cfg, LATENT_TEST_ARCHS) {
  check_weight_gradient_rows_widths<Cfg>(std::index_sequence<1, 5, 13, 20, 37, 100>{});
}

TEST_CASE_TEMPLATE("kernels: weight_gradient matches the reference, void, Relu and Sigmoid", Cfg, LATENT_TEST_ARCHS) {
  SUBCASE("void") { check_weight_gradient_widths<Cfg, void>(weight_gradient_widths{}); }
  SUBCASE("Relu") { check_weight_gradient_widths<Cfg, Relu>(weight_gradient_widths{}); }
  SUBCASE("Sigmoid") { check_weight_gradient_widths<Cfg, Sigmoid>(weight_gradient_widths{}); }
}

// ======================================================================================================
// load_partial and store_partial for every count below the register width (0 included: the contract is
// count < lanes). The loaded values come from an allocation of exactly `count` elements (`new T[count]`),
// so AddressSanitizer reports any read past them on the copying path. GCC's AddressSanitizer does not
// instrument AVX masked loads, so on Linux the values are also placed against an inaccessible page, on
// either side: a read of any lane outside the first `count` faults there with or without sanitizers.
namespace {

template <class T, class Arch>
std::size_t partial_load_errors(const T* p, std::size_t count) {
  constexpr std::size_t W = kernels::lanes<T, Arch>;
  alignas(64) T out[W];
  kernels::load_partial<T, Arch>(p, count).store_aligned(out);
  std::size_t bad = 0;
  for (std::size_t i = 0; i < W; ++i)
    if (!(out[i] == (i < count ? p[i] : T(0)))) ++bad;  // the other lanes zero
  return bad;
}

#if defined(__linux__)
// Three pages, the first and last inaccessible; the middle one's first and last bytes border them.
struct fenced_page {
  std::size_t page = static_cast<std::size_t>(sysconf(_SC_PAGESIZE));
  char* base = static_cast<char*>(mmap(nullptr, 3 * page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
  fenced_page() {
    REQUIRE(base != MAP_FAILED);
    REQUIRE(mprotect(base, page, PROT_NONE) == 0);
    REQUIRE(mprotect(base + 2 * page, page, PROT_NONE) == 0);
  }
  ~fenced_page() { munmap(base, 3 * page); }
  fenced_page(const fenced_page&) = delete;
  fenced_page& operator=(const fenced_page&) = delete;
  template <class T>
  T* first() const {
    return reinterpret_cast<T*>(base + page);
  }
  template <class T>
  T* last(std::size_t count) const {
    return reinterpret_cast<T*>(base + 2 * page) - count;
  }
};
#endif

}  // namespace

TEST_CASE_TEMPLATE("kernels: load_partial and store_partial touch only the first count elements", Cfg,
                   LATENT_TEST_ARCHS) {
  using T = typename Cfg::scalar;
  using Arch = typename Cfg::arch;
  using V = kernels::simd<T, Arch>;
  constexpr std::size_t W = kernels::lanes<T, Arch>;
  alignas(64) T values[W];
  for (std::size_t i = 0; i < W; ++i) values[i] = static_cast<T>(i) + T(0.5);  // non-zero, distinct
  const V full = V::load_aligned(values);
#if defined(__linux__)
  const fenced_page fence;
#endif
  for (std::size_t count = 0; count < W; ++count) {
    CAPTURE(count);
    T* p = new T[count];  // exactly count elements
    std::copy(values, values + count, p);
    CHECK(partial_load_errors<T, Arch>(p, count) == 0);
    delete[] p;
#if defined(__linux__)
    std::copy(values, values + count, fence.last<T>(count));
    CHECK(partial_load_errors<T, Arch>(fence.last<T>(count), count) == 0);
    std::copy(values, values + count, fence.first<T>());
    CHECK(partial_load_errors<T, Arch>(fence.first<T>(), count) == 0);
#endif

    T* q = new T[count];  // exactly count elements: AddressSanitizer reports a write past them
    kernels::store_partial(q, full, count);
    CHECK(std::equal(q, q + count, values));
    delete[] q;
    guarded<T> g(count);
    kernels::store_partial(g.data(), full, count);
    CHECK(std::equal(g.data(), g.data() + count, values));
    CHECK(g.guards_intact());
#if defined(__linux__)
    kernels::store_partial(fence.last<T>(count), full, count);
    CHECK(std::equal(fence.last<T>(count), fence.last<T>(count) + count, values));
#endif
  }
}

namespace {

// loss_sum<E>: Σ term(p, t) and grad = scale·slope(p, t), against long-double references of the three
// losses' documented per-element formulas. `magnitude` is the size of the operands a rounding is relative
// to (for the bound).
struct mse_reference {
  using element = detail::mse_element;
  static R term(R p, R t) { return (p - t) * (p - t); }
  static R slope(R p, R t) { return 2 * (p - t); }
  static R magnitude(R p, R t) { return (std::abs(p) + std::abs(t)) * (std::abs(p) + std::abs(t)); }
  static R slope_magnitude(R p, R t) { return 2 * (std::abs(p) + std::abs(t)); }
  static void draw(Rng& rng, double& p, double& t) {
    p = rng.uniform(-2, 2);
    t = rng.uniform(-2, 2);
  }
};
struct bce_reference {
  using element = detail::bce_element;
  static constexpr R e = R(1e-7);
  static R term(R p, R t) {
    const R q = std::min(std::max(p, e), 1 - e);
    return -(t * std::log(q + e) + (1 - t) * std::log(1 - q + e));
  }
  static R slope(R p, R t) { return (p >= e && p <= 1 - e) ? (1 - t) / (1 - p + e) - t / (p + e) : 0; }
  static R magnitude(R p, R t) { return std::abs(term(p, t)) + 1; }
  static R slope_magnitude(R p, R t) { return (1 - t) / (1 - p + e) + t / (p + e); }
  static void draw(Rng& rng, double& p, double& t) {
    p = rng.uniform(0.001, 0.999);
    t = rng.uniform(0, 1);
  }
};
struct bce_with_logits_reference {
  using element = detail::bce_with_logits_element;
  static R term(R a, R t) { return std::max(a, R(0)) - a * t + std::log1p(std::exp(-std::abs(a))); }
  static R slope(R a, R t) { return 1 / (1 + std::exp(-a)) - t; }
  static R magnitude(R a, R t) { return std::abs(a) * (1 + std::abs(t)) + 1; }
  static R slope_magnitude(R, R t) { return 1 + std::abs(t); }
  static void draw(Rng& rng, double& a, double& t) {
    a = rng.uniform(-30, 30);
    t = rng.uniform(0, 1);
  }
};

template <class Ref, class Cfg>
void check_loss_kernel() {
  using T = typename Cfg::scalar;
  using Arch = typename Cfg::arch;
  Rng rng(400);
  // Counts beyond 64 registers exercise the flush of the register accumulator into double.
  for (std::size_t count : {1, 3, 5, 7, 8, 9, 17, 20, 100, 1001}) {
    CAPTURE(count);
    std::vector<T> p(count), t(count);
    for (std::size_t i = 0; i < count; ++i) {
      double pi, ti;
      Ref::draw(rng, pi, ti);
      p[i] = static_cast<T>(pi);
      t[i] = static_cast<T>(ti);
    }
    const T scale = T(0.37);
    guarded<T> grad(count);
    const double with_grad =
        kernels::loss_sum<typename Ref::element, T, Arch>(count, p.data(), t.data(), grad.data(), scale);
    const double without =
        kernels::loss_sum<typename Ref::element, T, Arch>(count, p.data(), t.data(), static_cast<T*>(nullptr), scale);
    CHECK(with_grad == without);
    R want = 0, magnitude = 0;
    std::size_t bad_grad = 0;
    for (std::size_t i = 0; i < count; ++i) {
      const R pi = p[i], ti = t[i];
      want += Ref::term(pi, ti);
      magnitude += Ref::magnitude(pi, ti);
      const R g = static_cast<R>(scale) * Ref::slope(pi, ti);
      const R tol = 16 * static_cast<R>(Cfg::eps) * static_cast<R>(scale) * Ref::slope_magnitude(pi, ti);
      if (!(std::abs(static_cast<R>(grad[i]) - g) <= tol)) ++bad_grad;
    }
    CHECK(bad_grad == 0);
    CHECK(grad.guards_intact());
    // Each term within 16 ulps of its operands' magnitude, the sum within (64·W + 1)·ε (at most 64
    // registers are summed in T before going to double).
    const R tol = (16 + 64 * kernels::lanes<T, Arch> + 1) * static_cast<R>(Cfg::eps) * magnitude;
    CHECK(std::abs(static_cast<R>(with_grad) - want) <= tol);
  }
}

template <class Cfg>
void check_all_loss_kernels() {
  check_loss_kernel<mse_reference, Cfg>();
  check_loss_kernel<bce_reference, Cfg>();
  check_loss_kernel<bce_with_logits_reference, Cfg>();
}

}  // namespace

TEST_CASE_TEMPLATE("kernels: loss_sum matches the losses' formulas", Cfg, LATENT_TEST_ARCHS) {
  check_all_loss_kernels<Cfg>();
}

// axpy, scale, sum_of_squares: the remaining element-wise kernels.
TEST_CASE_TEMPLATE("kernels: axpy, scale and sum_of_squares match scalar loops", Cfg, LATENT_TEST_ARCHS) {
  using T = typename Cfg::scalar;
  using Arch = typename Cfg::arch;
  Rng rng(500);
  for (std::size_t count : widths) {
    CAPTURE(count);
    const auto x = random_values<T>(rng, count);
    const auto y0 = random_values<T>(rng, count);
    const T a = T(-0.75);
    guarded<T> y(count);
    std::copy(y0.begin(), y0.end(), y.data());
    kernels::axpy<T, Arch>(count, a, x.data(), y.data());
    for (std::size_t i = 0; i < count; ++i)
      CHECK(std::abs(y[i] - (y0[i] + a * x[i])) <= 2 * Cfg::eps * (std::abs(y0[i]) + std::abs(a * x[i])));
    CHECK(y.guards_intact());

    guarded<T> s(count);
    std::copy(x.begin(), x.end(), s.data());
    kernels::scale<T, Arch>(count, a, s.data());
    for (std::size_t i = 0; i < count; ++i) CHECK(s[i] == a * x[i]);  // one rounding: exact agreement
    CHECK(s.guards_intact());

    R want = 0;
    for (T v : x) want += static_cast<R>(v) * static_cast<R>(v);
    const T got = kernels::sum_of_squares<T, Arch>(count, x.data());
    CHECK(std::abs(static_cast<R>(got) - want) <= static_cast<R>(count + 1) * static_cast<R>(Cfg::eps) * want);
  }
}

// adam_update and sgd_update on counts around the vector width, against long-double loops of the
// documented formulas (a handful of operations per element: 8 ulps of the operands).
TEST_CASE_TEMPLATE("kernels: adam_update and sgd_update match their formulas", Cfg, LATENT_TEST_ARCHS) {
  using T = typename Cfg::scalar;
  using Arch = typename Cfg::arch;
  Rng rng(600);
  const R e = static_cast<R>(Cfg::eps);
  for (std::size_t count : widths) {
    CAPTURE(count);
    const auto p0 = random_values<T>(rng, count), g = random_values<T>(rng, count);
    const auto m0 = random_values<T>(rng, count, -0.1, 0.1), v0 = random_values<T>(rng, count, 0, 0.1);
    std::vector<T> p = p0, m = m0, v = v0;
    const T lr_t = T(0.01), b1 = T(0.9), b2 = T(0.999), eps = T(1e-7);
    kernels::adam_update<T, Arch>(count, p.data(), g.data(), m.data(), v.data(), lr_t, b1, b2, eps);
    for (std::size_t i = 0; i < count; ++i) {
      const R mi = R(b1) * m0[i] + (1 - R(b1)) * g[i];
      const R vi = R(b2) * v0[i] + (1 - R(b2)) * R(g[i]) * g[i];
      const R step = R(lr_t) * mi / (std::sqrt(vi) + R(eps));
      CHECK(std::abs(m[i] - mi) <= 8 * e * (std::abs(R(m0[i])) + std::abs(R(g[i]))));
      CHECK(std::abs(v[i] - vi) <= 8 * e * (std::abs(R(v0[i])) + R(g[i]) * g[i]));
      CHECK(std::abs(p[i] - (p0[i] - step)) <= 8 * e * (std::abs(R(p0[i])) + std::abs(step)));
    }
    for (bool nesterov : {false, true}) {
      std::vector<T> ps = p0, u = m0;
      const T lr = T(0.05), mu = T(0.8);
      kernels::sgd_update<T, Arch>(count, ps.data(), g.data(), u.data(), lr, mu, nesterov);
      for (std::size_t i = 0; i < count; ++i) {
        const R ui = R(mu) * m0[i] - R(lr) * g[i];
        const R step = nesterov ? R(mu) * ui - R(lr) * g[i] : ui;
        CHECK(std::abs(u[i] - ui) <= 8 * e * (std::abs(R(mu) * m0[i]) + std::abs(R(lr) * g[i])));
        CHECK(std::abs(ps[i] - (p0[i] + step)) <=
              8 * e * (std::abs(R(p0[i])) + std::abs(R(mu) * m0[i]) + std::abs(R(lr) * g[i])));
      }
    }
  }
}

// ======================================================================================================
// Optimisers against hand-computed values. The problem: three parameters p⁰ = (1, −2, 0.5), gradients
// g¹ = (0.5, −0.25, 2) at the first step and g² = (−0.5, 0.25, 1) at the second. Each optimiser is also
// run on 17 parameters repeating the pattern (p[i] follows parameter i mod 3), so that full registers
// and tails of every width meet the same numbers.
namespace {

constexpr double p_start[3] = {1.0, -2.0, 0.5};
constexpr double g_first[3] = {0.5, -0.25, 2.0};
constexpr double g_second[3] = {-0.5, 0.25, 1.0};

template <class T, class Opt>
void check_two_steps(Opt& opt, std::size_t count, const double (&after1)[3], const double (&after2)[3], double rel) {
  std::vector<T> p(count), g(count);
  for (std::size_t i = 0; i < count; ++i) {
    p[i] = static_cast<T>(p_start[i % 3]);
    g[i] = static_cast<T>(g_first[i % 3]);
  }
  opt.step(std::span<T>(p), std::span<const T>(g));
  for (std::size_t i = 0; i < count; ++i) {
    CAPTURE(i);
    CHECK(static_cast<double>(p[i]) == doctest::Approx(after1[i % 3]).epsilon(rel));
  }
  for (std::size_t i = 0; i < count; ++i) g[i] = static_cast<T>(g_second[i % 3]);
  opt.step(std::span<T>(p), std::span<const T>(g));
  for (std::size_t i = 0; i < count; ++i) {
    CAPTURE(i);
    CHECK(static_cast<double>(p[i]) == doctest::Approx(after2[i % 3]).epsilon(rel));
  }
}

template <class T>
constexpr double hand_tolerance = std::is_same_v<T, float> ? 1e-6 : 1e-13;

}  // namespace

TEST_CASE_TEMPLATE("Adam: two steps by hand (Keras form)", T, float, double) {
  // Adam(lr = 0.1, β1 = 0.9, β2 = 0.999, ε = 1e-7). Keras form: m ← β1·m + (1−β1)·g,
  // v ← β2·v + (1−β2)·g², p ← p − lr_t·m/(√v + ε) with lr_t = lr·√(1−β2ᵗ)/(1−β1ᵗ).
  //
  // Step 1: lr_1 = 0.1·√0.001/0.1 = √0.001 = 0.0316227766016838.
  //   m = 0.1·g = (0.05, −0.025, 0.2); v = 0.001·g² = (0.00025, 0.0000625, 0.004);
  //   √v = 0.0316227766·|g| = (0.0158113883, 0.0079056942, 0.0632455532).
  //   Δ = lr_1·m/(√v + ε) = 0.1·sign(g)/(1 + ε/√v):
  //     g = 0.5:   ε/√v = 6.32456e-6  → Δ = 0.0999993675484679
  //     g = −0.25: ε/√v = 1.26491e-5  → Δ = −0.0999987351049357
  //     g = 2:     ε/√v = 1.58114e-6  → Δ = 0.0999998418863670
  //   p¹ = p⁰ − Δ = (0.900000632451532, −1.90000126489506, 0.400000158113633).
  // Step 2: lr_2 = 0.1·√(1 − 0.999²)/(1 − 0.9²) = 0.1·√0.001999/0.19 = 0.0235316725327454.
  //   m = 0.9·m + 0.1·g² = (0.045 − 0.05, −0.0225 + 0.025, 0.18 + 0.1) = (−0.005, 0.0025, 0.28);
  //   v = 0.999·v + 0.001·g² = (0.00024975 + 0.00025, 0.0000624375 + 0.0000625, 0.003996 + 0.001)
  //     = (0.00049975, 0.0001249375, 0.004996); √v = (0.0223550889, 0.0111775445, 0.0706823882).
  //   Δ = lr_2·m/(√v + ε) = (−0.00526313435139790, 0.00526311080826959, 0.0932178319984550).
  //   p² = p¹ − Δ = (0.905263766802930, −1.90526437570333, 0.306782326115178).
  const double after1[3] = {0.900000632451532059, -1.90000126489506427, 0.400000158113633009};
  const double after2[3] = {0.905263766802929962, -1.90526437570333386, 0.306782326115178002};
  for (std::size_t count : {3, 17}) {
    CAPTURE(count);
    Adam opt(0.1, 0.9, 0.999, 1e-7);
    check_two_steps<T>(opt, count, after1, after2, hand_tolerance<T>);
    CHECK(opt.iterations() == 2);
    // The moments after step 2 (m and v of parameter 0, 1, 2 repeat).
    const auto m = opt.state<T>(0), v = opt.state<T>(1);
    REQUIRE(m.size() == count);
    CHECK(static_cast<double>(m[0]) == doctest::Approx(-0.005).epsilon(hand_tolerance<T> * 10));
    CHECK(static_cast<double>(m[2]) == doctest::Approx(0.28).epsilon(hand_tolerance<T> * 10));
    CHECK(static_cast<double>(v[1]) == doctest::Approx(0.0001249375).epsilon(hand_tolerance<T> * 10));
  }
}

TEST_CASE_TEMPLATE("SGD: two steps by hand, plain, momentum and Nesterov", T, float, double) {
  // lr = 0.1. Plain: p ← p − 0.1·g.
  //   p¹ = (1 − 0.05, −2 + 0.025, 0.5 − 0.2) = (0.95, −1.975, 0.3)
  //   p² = (0.95 + 0.05, −1.975 − 0.025, 0.3 − 0.1) = (1.0, −2.0, 0.2)
  {
    const double after1[3] = {0.95, -1.975, 0.3}, after2[3] = {1.0, -2.0, 0.2};
    for (std::size_t count : {3, 17}) {
      SGD opt(0.1);
      check_two_steps<T>(opt, count, after1, after2, hand_tolerance<T>);
    }
  }
  // Momentum μ = 0.9 (Keras): u ← μ·u − lr·g, p ← p + u.
  //   u¹ = −0.1·g¹ = (−0.05, 0.025, −0.2);          p¹ = (0.95, −1.975, 0.3)
  //   u² = 0.9·u¹ − 0.1·g² = (−0.045 + 0.05, 0.0225 − 0.025, −0.18 − 0.1) = (0.005, −0.0025, −0.28)
  //   p² = p¹ + u² = (0.955, −1.9775, 0.02)
  {
    const double after1[3] = {0.95, -1.975, 0.3}, after2[3] = {0.955, -1.9775, 0.02};
    for (std::size_t count : {3, 17}) {
      SGD opt(0.1, 0.9);
      check_two_steps<T>(opt, count, after1, after2, hand_tolerance<T> * 10);
    }
  }
  // Nesterov (Keras): u ← μ·u − lr·g, p ← p + μ·u − lr·g.
  //   u¹ = (−0.05, 0.025, −0.2); p¹ = p⁰ + 0.9·u¹ − 0.1·g¹ = p⁰ + (−0.095, 0.0475, −0.38)
  //      = (0.905, −1.9525, 0.12)
  //   u² = (0.005, −0.0025, −0.28); p² = p¹ + 0.9·u² − 0.1·g² = p¹ + (0.0545, −0.02725, −0.352)
  //      = (0.9595, −1.97975, −0.232)
  {
    const double after1[3] = {0.905, -1.9525, 0.12}, after2[3] = {0.9595, -1.97975, -0.232};
    for (std::size_t count : {3, 17}) {
      SGD opt(0.1, 0.9, true);
      check_two_steps<T>(opt, count, after1, after2, hand_tolerance<T> * 10);
    }
  }
}

TEST_CASE("split_range: the parts tile 0 to count in order, on multiples of the alignment") {
  for (std::size_t count : {0, 1, 63, 64, 65, 1000, 16384, 100003})
    for (std::size_t parts : {1, 2, 3, 7}) {
      CAPTURE(count);
      CAPTURE(parts);
      std::size_t expected_first = 0;
      for (std::size_t i = 0; i < parts; ++i) {
        const auto [first, last] = detail::split_range(count, parts, i, 64);
        CHECK(first == expected_first);
        CHECK(first <= last);
        CHECK(last <= count);
        if (last < count) CHECK(last % 64 == 0);
        expected_first = last;
      }
      CHECK(expected_first == count);
    }
}

TEST_CASE_TEMPLATE("optimisers: an update split over threads is bit-identical to one thread's", T, float, double) {
  // Above the 16 384-parameter threshold and not a multiple of the vector width or of 64.
  constexpr std::size_t count = 40'037;
  std::vector<T> p1(count), p2(count), g(count);
  Rng rng(17);
  for (std::size_t i = 0; i < count; ++i) {
    p1[i] = p2[i] = static_cast<T>(rng.normal());
    g[i] = static_cast<T>(rng.normal());
  }
  Adam a1(1e-2), a2(1e-2);
  SGD s1(1e-2, 0.9, true), s2(1e-2, 0.9, true);
  for (int step = 0; step < 3; ++step) {
    a1.step(std::span<T>(p1), std::span<const T>(g), 1);
    a2.step(std::span<T>(p2), std::span<const T>(g), 2);
    s1.step(std::span<T>(p1), std::span<const T>(g));
    s2.step(std::span<T>(p2), std::span<const T>(g), 2);
  }
  CHECK(std::equal(p1.begin(), p1.end(), p2.begin()));
  CHECK(std::equal(a1.state<T>(1).begin(), a1.state<T>(1).end(), a2.state<T>(1).begin()));
  CHECK(p1 != std::vector<T>(count, T(0)));
}

TEST_CASE_TEMPLATE("optimisers: the range protocol, split anywhere, is bit-identical to step", T, float, double) {
  // Ranges that end anywhere (not on vector widths): the update's tail runs through the same vector
  // operations as a full lane, so a parameter's new value does not depend on where a range ends.
  constexpr std::size_t count = 40'037;
  std::vector<T> p1(count), p2(count), p3(count), p4(count), g(count);
  Rng rng(23);
  for (std::size_t i = 0; i < count; ++i) {
    p1[i] = p2[i] = p3[i] = p4[i] = static_cast<T>(rng.normal());
    g[i] = static_cast<T>(rng.normal());
  }
  const std::size_t cuts[] = {0, 1, 3, 20, 333, 334, 9'999, 20'001, 40'000, count};
  Adam a1(1e-2), a2(1e-2);
  SGD s1(1e-2, 0.9, true), s2(1e-2, 0.9, true);
  for (int step = 0; step < 3; ++step) {
    a1.step(std::span<T>(p1), std::span<const T>(g));
    s1.step(std::span<T>(p3), std::span<const T>(g));
    REQUIRE(a2.begin_ranges<T>(count));
    REQUIRE(s2.begin_ranges<T>(count));
    // In reverse order, as two threads might take them.
    for (std::size_t c = std::size(cuts) - 1; c > 0; --c) {
      a2.update_range(std::span<T>(p2), std::span<const T>(g), cuts[c - 1], cuts[c]);
      s2.update_range(std::span<T>(p4), std::span<const T>(g), cuts[c - 1], cuts[c]);
    }
  }
  CHECK(std::equal(p1.begin(), p1.end(), p2.begin()));
  CHECK(std::equal(a1.state<T>(0).begin(), a1.state<T>(0).end(), a2.state<T>(0).begin()));
  CHECK(std::equal(a1.state<T>(1).begin(), a1.state<T>(1).end(), a2.state<T>(1).begin()));
  CHECK(std::equal(p3.begin(), p3.end(), p4.begin()));
  CHECK(a2.iterations() == 3);
  CHECK(s2.iterations() == 3);
  CHECK(p1 != std::vector<T>(count, T(0)));

  // Clipping needs the whole gradient's norm first: begin_ranges declines and counts no step.
  Adam clipped;
  clipped.set_clip_norm(1.0);
  CHECK_FALSE(clipped.begin_ranges<T>(count));
  CHECK(clipped.iterations() == 0);
  SGD sclipped;
  sclipped.set_clip_norm(1.0);
  CHECK_FALSE(sclipped.begin_ranges<T>(count));
  // A size that differs from the state's after the first step is an error, as for step.
  CHECK_THROWS_AS(a2.begin_ranges<T>(count + 1), shape_error);
}

TEST_CASE("optimisers: invalid options throw option_error") {
  CHECK_THROWS_AS(Adam(0.0), option_error);
  CHECK_THROWS_AS(Adam(-1e-3), option_error);
  CHECK_THROWS_AS((Adam(std::numeric_limits<double>::quiet_NaN())), option_error);  // (): not a declaration
  CHECK_THROWS_AS((Adam(std::numeric_limits<double>::infinity())), option_error);
  CHECK_THROWS_AS(Adam(1e-3, 1.0), option_error);
  CHECK_THROWS_AS(Adam(1e-3, 0.9, -0.1), option_error);
  CHECK_THROWS_AS(Adam(1e-3, 0.9, 0.999, 0.0), option_error);
  CHECK_THROWS_AS(SGD(0.0), option_error);
  CHECK_THROWS_AS(SGD(-0.1), option_error);
  CHECK_THROWS_AS(SGD(0.1, 1.0), option_error);
  CHECK_THROWS_AS(SGD(0.1, -0.5), option_error);
  Adam adam;
  CHECK_THROWS_AS(adam.set_learning_rate(0.0), option_error);
  SGD sgd;
  CHECK_THROWS_AS(sgd.set_learning_rate(-1.0), option_error);
  CHECK_NOTHROW(Adam(1e-3, 0.0));  // β1 = 0 is allowed (RMSProp-like)
}

TEST_CASE_TEMPLATE("optimisers: mismatched sizes throw shape_error and change nothing", T, float, double) {
  std::vector<T> p = {T(1), T(2), T(3)}, g3 = {T(1), T(1), T(1)}, g2 = {T(1), T(1)};
  const std::vector<T> before = p;
  Adam adam;
  SGD sgd;
  CHECK_THROWS_AS(adam.step(std::span<T>(p), std::span<const T>(g2)), shape_error);
  CHECK_THROWS_AS(sgd.step(std::span<T>(p), std::span<const T>(g2)), shape_error);
  CHECK(p == before);
  CHECK(adam.iterations() == 0);
  // State is sized on the first step; another size afterwards is an error until reset().
  adam.step(std::span<T>(p), std::span<const T>(g3));
  sgd.step(std::span<T>(p), std::span<const T>(g3));
  std::vector<T> q = {T(1), T(2)};
  CHECK_THROWS_AS(adam.step(std::span<T>(q), std::span<const T>(g2)), shape_error);
  CHECK_THROWS_AS(sgd.step(std::span<T>(q), std::span<const T>(g2)), shape_error);
  adam.reset();
  sgd.reset();
  CHECK_NOTHROW(adam.step(std::span<T>(q), std::span<const T>(g2)));
  CHECK_NOTHROW(sgd.step(std::span<T>(q), std::span<const T>(g2)));
  CHECK(adam.iterations() == 1);
}

// ======================================================================================================
// Rng.
TEST_CASE("Rng: the same seed gives the same sequence, different seeds differ") {
  Rng a(42), b(42), c(43);
  bool all_equal = true, any_equal_to_c = false;
  for (int i = 0; i < 1000; ++i) {
    const auto x = a.next(), y = b.next(), z = c.next();
    all_equal = all_equal && x == y;
    any_equal_to_c = any_equal_to_c || x == z;
  }
  CHECK(all_equal);
  CHECK_FALSE(any_equal_to_c);  // two 64-bit streams agree by chance with probability ~1000²/2⁶⁴
  // reseed restarts the sequence, including the cached normal.
  Rng d(7);
  const double n1 = d.normal();
  (void)d.normal();
  d.reseed(7);
  CHECK(d.normal() == n1);
  Rng e(7), f(7);
  (void)e.normal();  // caches a spare
  e.reseed(7);
  CHECK(e.uniform() == f.uniform());
}

TEST_CASE("Rng: uniform in 0..1 with mean 1/2 and variance 1/12") {
  constexpr int n = 100000;
  Rng rng(1);
  double sum = 0, sum_sq = 0, lo = 1, hi = 0;
  for (int i = 0; i < n; ++i) {
    const double u = rng.uniform();
    lo = std::min(lo, u);
    hi = std::max(hi, u);
    sum += u;
    sum_sq += u * u;
  }
  CHECK(lo >= 0.0);
  CHECK(hi < 1.0);
  const double mean = sum / n, var = sum_sq / n - mean * mean;
  // Standard errors: of the mean √(1/12/n) = 9.1e-4; of the variance √((1/80 − 1/144)/n) = 2.4e-4
  // (the fourth central moment of U(0,1) is 1/80). Five standard errors: a false alarm once in ~10⁶ runs.
  CHECK(std::abs(mean - 0.5) < 5 * std::sqrt(1.0 / 12 / n));
  CHECK(std::abs(var - 1.0 / 12) < 5 * std::sqrt((1.0 / 80 - 1.0 / 144) / n));
  // uniform(lo, hi) stays in [lo, hi).
  for (int i = 0; i < 1000; ++i) {
    const double v = rng.uniform(-3, 5);
    CHECK((v >= -3 && v < 5));
  }
}

TEST_CASE("Rng: normal has mean 0 and variance 1") {
  constexpr int n = 100000;
  Rng rng(2);
  double sum = 0, sum_sq = 0;
  for (int i = 0; i < n; ++i) {
    const double z = rng.normal();
    sum += z;
    sum_sq += z * z;
  }
  const double mean = sum / n, var = sum_sq / n - mean * mean;
  // Standard errors: of the mean 1/√n = 3.2e-3; of the variance √(2/n) = 4.5e-3 (a normal's fourth
  // moment is 3). Five standard errors each.
  CHECK(std::abs(mean) < 5 / std::sqrt(double(n)));
  CHECK(std::abs(var - 1) < 5 * std::sqrt(2.0 / n));
}

TEST_CASE("Rng: below(n) stays below n and reaches every value") {
  Rng rng(3);
  for (std::size_t n : {std::size_t{1}, std::size_t{2}, std::size_t{3}, std::size_t{7}, std::size_t{10}}) {
    CAPTURE(n);
    std::vector<int> seen(n, 0);
    bool in_range = true;
    for (int i = 0; i < 2000; ++i) {
      const std::size_t v = rng.below(n);
      in_range = in_range && v < n;
      if (v < n) ++seen[v];
    }
    CHECK(in_range);
    for (std::size_t v = 0; v < n; ++v) CHECK(seen[v] > 0);
  }
  // Large bounds, including one above 2⁶³ (where the rejection threshold matters most).
  for (std::size_t n : {std::size_t{1000003}, (std::size_t{1} << 63) + 12345}) {
    bool in_range = true;
    for (int i = 0; i < 1000; ++i) in_range = in_range && rng.below(n) < n;
    CHECK(in_range);
  }
  // Counts of below(3) over 30000 draws: each is Binomial(30000, 1/3), σ = 81.6; five σ.
  std::size_t counts[3] = {0, 0, 0};
  for (int i = 0; i < 30000; ++i) ++counts[rng.below(3)];
  for (std::size_t c : counts) CHECK(std::abs(static_cast<double>(c) - 10000.0) < 5 * 81.65);
}

// ======================================================================================================
// aligned_buffer.
TEST_CASE_TEMPLATE("aligned_buffer: 64-byte alignment, zero initialisation, copy and move", T, float, double) {
  for (std::size_t n : {1, 3, 7, 8, 17, 100, 1000}) {
    CAPTURE(n);
    aligned_buffer<T> b(n);
    CHECK(b.size() == n);
    CHECK(reinterpret_cast<std::uintptr_t>(b.data()) % 64 == 0);
    bool zero = true;
    for (T v : b) zero = zero && v == T(0);
    CHECK(zero);
    for (std::size_t i = 0; i < n; ++i) b[i] = static_cast<T>(i) + T(0.5);

    // Copy construction is deep and keeps the alignment.
    aligned_buffer<T> c(b);
    CHECK(c.size() == n);
    CHECK(c.data() != b.data());
    CHECK(reinterpret_cast<std::uintptr_t>(c.data()) % 64 == 0);
    c[0] = T(-1);
    CHECK(b[0] == T(0.5));
    bool same = true;
    for (std::size_t i = 1; i < n; ++i) same = same && c[i] == b[i];
    CHECK(same);

    // Copy assignment to a buffer of another size resizes; to the same size copies in place.
    aligned_buffer<T> d(n + 5);
    d = b;
    CHECK(d.size() == n);
    CHECK(reinterpret_cast<std::uintptr_t>(d.data()) % 64 == 0);
    CHECK(d[n - 1] == b[n - 1]);
    aligned_buffer<T> e(n);
    T* e_data = e.data();
    e = b;
    CHECK(e.data() == e_data);
    CHECK(e[n - 1] == b[n - 1]);
    // Self-assignment keeps the contents.
    const aligned_buffer<T>& alias = e;
    e = alias;
    CHECK(e[n - 1] == b[n - 1]);

    // Move leaves the source empty and takes the storage.
    T* b_data = b.data();
    aligned_buffer<T> f(std::move(b));
    CHECK(f.data() == b_data);
    CHECK(f.size() == n);
    CHECK(b.size() == 0);  // NOLINT(bugprone-use-after-move): documented moved-from state
    aligned_buffer<T> g;
    g = std::move(f);
    CHECK(g.data() == b_data);
    CHECK(f.size() == 0);  // NOLINT(bugprone-use-after-move)

    // span views the same storage.
    CHECK(g.span().data() == g.data());
    CHECK(g.span().size() == n);
  }
  // An empty buffer has no storage; copying it is fine; reserve grows and never shrinks.
  aligned_buffer<T> empty;
  CHECK(empty.size() == 0);
  CHECK(empty.data() == nullptr);
  aligned_buffer<T> copy(empty);
  CHECK(copy.size() == 0);
  copy.reserve(10);
  CHECK(copy.size() == 10);
  CHECK(reinterpret_cast<std::uintptr_t>(copy.data()) % 64 == 0);
  copy.reserve(5);
  CHECK(copy.size() == 10);
}
}  // namespace test_core
