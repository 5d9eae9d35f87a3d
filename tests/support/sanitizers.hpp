#pragma once
// Whether this test program is built with AddressSanitizer (the suite's sanitizer tree, LATENT_SANITIZE):
// there every checked access costs a call, and the few tests that repeat a statistical claim over
// several seeds check it over one. The code paths are the same; the other tree checks every seed.
namespace latent_test {
#if defined(__SANITIZE_ADDRESS__)
inline constexpr bool sanitized = true;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
inline constexpr bool sanitized = true;
#else
inline constexpr bool sanitized = false;
#endif
#else
inline constexpr bool sanitized = false;
#endif
}  // namespace latent_test
