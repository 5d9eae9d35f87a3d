#pragma once
// torch::set_num_threads sizes ATen's OpenMP pool but not OpenBLAS's own pthread pool: Debian's
// libtorch calls the generic BLAS interface, and libopenblas0-pthread then runs every GEMM on all
// cores. Without this, a "1-thread" libtorch run quietly uses both cores for its matrix products.

#include <dlfcn.h>  // dlsym, RTLD_DEFAULT: OpenBLAS may not be the BLAS behind libblas.so.3

namespace latent::bench {

/// Calls OpenBLAS's openblas_set_num_threads(threads) when OpenBLAS is loaded in the process; returns
/// whether it was. Any other BLAS is left alone.
inline bool set_blas_threads(int threads) noexcept {
  using setter = void (*)(int);
  void* sym = dlsym(RTLD_DEFAULT, "openblas_set_num_threads");
  if (sym == nullptr) return false;
  reinterpret_cast<setter>(sym)(threads);
  return true;
}

}  // namespace latent::bench
