// Configure-time check (CMakeLists.txt, LATENT_AVX512=AUTO): exits 0 when this CPU runs the AVX-512
// subsets latent's own targets are compiled for. Compiled without AVX-512 flags, so it runs anywhere.
int main() {
  __builtin_cpu_init();
  const bool ok = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512cd") &&
                  __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512bw") &&
                  __builtin_cpu_supports("avx512dq");
  return ok ? 0 : 1;
}
