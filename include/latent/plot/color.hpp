#pragma once
/// \file
/// `latent::Color`: an RGB colour for the pictures of latent/plot/.

namespace latent {

/// An RGB colour, each channel in [0, 1].
struct Color {
  /// Red.
  float r = 0.0f;
  /// Green.
  float g = 0.0f;
  /// Blue.
  float b = 0.0f;
};

}  // namespace latent
