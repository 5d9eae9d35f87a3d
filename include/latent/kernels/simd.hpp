#pragma once
/// \file
/// The SIMD vocabulary of latent's kernels: the one header that names xsimd.
///
/// Kernels are written once against `simd<T, Arch>`; `Arch` defaults to the best instruction set the
/// translation unit is compiled for (`fma3<avx2>` with `-mavx2 -mfma`, 8 floats a register;
/// `avx512bw` with `-mavx512f -mavx512bw -mavx512dq -mavx512vl -mavx512cd`, 16 floats a register). Tests
/// instantiate the same kernels for `xsimd::sse2` and compare them with the scalar reference.
/// Element-wise maths (`exp`, `max`, `select`, ...) is overloaded for plain scalars too, so that an
/// activation is written once and used both in vector loops and in scalar tails.

// g++ 12 reports `__Y` "is (or may be) used uninitialized" inside the AVX-512 intrinsics when they are inlined
// (GCC bug 105593: _mm512_undefined_ps initialises a variable from itself on purpose; fixed in g++ 13).
// The warning's location is the intrinsic header, so silencing it while the headers are read keeps it
// on for latent's own code. (If <immintrin.h> was included before this header, the pragma comes too
// late; latent's own targets include latent first.)
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC diagnostic ignored "-Wuninitialized"
#endif
#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>  // the intrinsics xsimd is built on (read under the pragma above)
#endif
// g++ 12 without optimisation (-O0: a Debug build) defines _mm512_mask_blend_epi8 and _epi16 as macros
// that cast their arguments to its own vector types; xsimd 8.1's avx512bw `select` of integer batches
// passes batches to them (which convert to __m512i but cannot be cast to __v64qi), so it no longer
// compiles, and every float `log` (BCE, several activations) instantiates it. Here the two are the
// functions that g++ uses with optimisation. (Before xsimd's headers: the macros are expanded when
// they are read. If xsimd was included before latent, this comes too late.)
#if defined(__GNUC__) && !defined(__clang__) && !defined(__OPTIMIZE__) && defined(__AVX512BW__)
namespace latent::detail {
inline __m512i mm512_mask_blend_epi8(__mmask64 mask, __m512i a, __m512i w) noexcept {
  return reinterpret_cast<__m512i>(__builtin_ia32_blendmb_512_mask(reinterpret_cast<__v64qi>(a),
                                                                   reinterpret_cast<__v64qi>(w), mask));
}
inline __m512i mm512_mask_blend_epi16(__mmask32 mask, __m512i a, __m512i w) noexcept {
  return reinterpret_cast<__m512i>(__builtin_ia32_blendmw_512_mask(reinterpret_cast<__v32hi>(a),
                                                                   reinterpret_cast<__v32hi>(w), mask));
}
}  // namespace latent::detail
#undef _mm512_mask_blend_epi8
#undef _mm512_mask_blend_epi16
#define _mm512_mask_blend_epi8 ::latent::detail::mm512_mask_blend_epi8
#define _mm512_mask_blend_epi16 ::latent::detail::mm512_mask_blend_epi16
#endif
#include <xsimd/xsimd.hpp>  // batches, architectures, vector maths
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif

#include <cstddef>      // std::size_t
#include <cstring>      // std::memcpy (partial loads and stores)
#include <type_traits>  // std::is_floating_point_v, std::is_base_of_v, std::is_same_v

namespace latent::kernels {

/// The architecture the kernels use unless told otherwise: xsimd's best for the translation unit's
/// flags, except that AVX-512 flags without `-mavx512bw` (`-mavx512f -mavx512dq`, say) make xsimd 8.1
/// choose `avx512cd` or `avx512dq`, whose batches it does not complete; the kernels then use
/// `avx512f`'s, which those flags have.
#if XSIMD_WITH_AVX512F && !XSIMD_WITH_AVX512BW
using default_arch = xsimd::avx512f;
#else
using default_arch = xsimd::default_arch;
#endif

namespace detail {
template <class T, std::size_t N>
struct arch_for_width {
  using type = default_arch;
};
#if defined(LATENT_AVX512_HALF_RATE) && XSIMD_WITH_AVX512BW && XSIMD_WITH_FMA3_AVX2
template <class T, std::size_t N>
  requires std::is_same_v<default_arch, xsimd::avx512bw>
struct arch_for_width<T, N> {
  static constexpr std::size_t wide = xsimd::batch<T, xsimd::avx512bw>::size, narrow = wide / 2;
  static constexpr bool narrow_pads_less = (N + narrow - 1) / narrow * narrow < (N + wide - 1) / wide * wide;
  using type = std::conditional_t<narrow_pads_less, xsimd::fma3<xsimd::avx2>, default_arch>;
};
#endif
}  // namespace detail

/// The architecture of a product with N output columns (what the layers pass to the kernels):
/// `default_arch`, except where 512-bit FMAs run at the rate of two 256-bit ones
/// (`LATENT_AVX512_HALF_RATE`, which latent's own build defines on such a CPU, e.g. Zen 4): there a
/// width that 16-float registers would pad more than 8-float ones (N = 20: 32 lanes against 24) uses
/// the 8-float AVX2 kernels, which do the same work per lane with fewer wasted lanes. Widths that
/// both pad alike (multiples of 16) keep the wider registers.
template <class T, std::size_t N>
using arch_for = typename detail::arch_for_width<T, N>::type;

/// A register of `T` for architecture `Arch`.
template <class T, class Arch = default_arch>
using simd = xsimd::batch<T, Arch>;

/// Number of `T` lanes in one register of `Arch`.
template <class T, class Arch = default_arch>
inline constexpr std::size_t lanes = simd<T, Arch>::size;

/// True for the vector type, false for a plain scalar.
template <class V>
inline constexpr bool is_simd_v = !std::is_floating_point_v<V>;

/// The element type of a register type, or the type itself for a scalar.
template <class V>
struct scalar_of {
  using type = V;
};
template <class T, class Arch>
struct scalar_of<xsimd::batch<T, Arch>> {
  using type = T;
};
template <class V>
using scalar_of_t = typename scalar_of<V>::type;

namespace math {
using xsimd::abs;
using xsimd::erf;
using xsimd::erfc;
using xsimd::exp;
using xsimd::expm1;
using xsimd::log;
using xsimd::log1p;
using xsimd::max;
using xsimd::min;
using xsimd::select;
using xsimd::sqrt;
using xsimd::tanh;

/// `select` for plain scalars, so that one expression serves vectors and scalar tails.
template <class T>
  requires std::is_floating_point_v<T>
constexpr T select(bool condition, T if_true, T if_false) noexcept {
  return condition ? if_true : if_false;
}

/// Multiply-add `a * b + c` (a fused instruction where the architecture has one).
template <class V>
V fma(const V& a, const V& b, const V& c) noexcept {
  if constexpr (is_simd_v<V>)
    return xsimd::fma(a, b, c);
  else
    return a * b + c;
}
}  // namespace math

/// Loads `count` (< lanes) values and zeroes the other lanes. With AVX-512 or AVX, a masked load (no
/// memory past `count` is touched); otherwise through a zeroed stack copy (which costs a
/// store-forwarding stall).
template <class T, class Arch>
simd<T, Arch> load_partial(const T* p, std::size_t count) noexcept {
#if defined(__AVX512F__)
  // AVX-512: a lane mask of `count` ones (loads through the mask never fault on masked-off lanes).
  if constexpr (std::is_base_of_v<xsimd::avx512f, Arch> && std::is_same_v<T, float>)
    return _mm512_maskz_loadu_ps(static_cast<__mmask16>((1u << count) - 1u), p);
  else if constexpr (std::is_base_of_v<xsimd::avx512f, Arch> && std::is_same_v<T, double>)
    return _mm512_maskz_loadu_pd(static_cast<__mmask8>((1u << count) - 1u), p);
#endif
#if defined(__AVX__)
  if constexpr (std::is_base_of_v<xsimd::avx, Arch> && std::is_same_v<T, float>) {
    // A sliding window over eight ones then eight zeros is the lane mask for `count`.
    alignas(64) static constexpr int ones_then_zeros[16] = {-1, -1, -1, -1, -1, -1, -1, -1, 0, 0, 0, 0, 0, 0, 0, 0};
    const __m256i mask = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(ones_then_zeros + 8 - count));
    return _mm256_maskload_ps(p, mask);
  } else if constexpr (std::is_base_of_v<xsimd::avx, Arch> && std::is_same_v<T, double>) {
    alignas(64) static constexpr long long ones_then_zeros[8] = {-1, -1, -1, -1, 0, 0, 0, 0};
    const __m256i mask = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(ones_then_zeros + 4 - count));
    return _mm256_maskload_pd(p, mask);
  }
#endif
  alignas(64) T tmp[lanes<T, Arch>] = {};
  std::memcpy(tmp, p, count * sizeof(T));
  return simd<T, Arch>::load_aligned(tmp);
}

/// Stores the first `count` (< lanes) lanes (a masked store with AVX-512).
template <class T, class Arch>
void store_partial(T* p, const simd<T, Arch>& v, std::size_t count) noexcept {
#if defined(__AVX512F__)
  if constexpr (std::is_base_of_v<xsimd::avx512f, Arch> && std::is_same_v<T, float>) {
    _mm512_mask_storeu_ps(p, static_cast<__mmask16>((1u << count) - 1u), v);
    return;
  } else if constexpr (std::is_base_of_v<xsimd::avx512f, Arch> && std::is_same_v<T, double>) {
    _mm512_mask_storeu_pd(p, static_cast<__mmask8>((1u << count) - 1u), v);
    return;
  }
#endif
  alignas(64) T tmp[lanes<T, Arch>];
  v.store_aligned(tmp);
  std::memcpy(p, tmp, count * sizeof(T));
}

/// Sum of the lanes of a register.
template <class T, class Arch>
T reduce_add(const simd<T, Arch>& v) noexcept {
  return xsimd::hadd(v);
}

}  // namespace latent::kernels
