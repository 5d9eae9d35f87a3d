#pragma once
/// \file
/// latent's version.

#define LATENT_VERSION_MAJOR 0
#define LATENT_VERSION_MINOR 1
#define LATENT_VERSION_PATCH 0

namespace latent {
/// The library's version as "major.minor.patch".
inline constexpr const char* version = "0.1.0";
}  // namespace latent
