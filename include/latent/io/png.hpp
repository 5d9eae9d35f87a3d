#pragma once
/// \file
/// PNG output (grayscale and RGB) through libpng, written atomically, and a grayscale reader for
/// round-trip tests.

#include <cmath>         // std::lround
#include <cstddef>       // std::size_t
#include <filesystem>    // std::filesystem::is_regular_file (a clear message for a missing file)
#include <string>        // std::string, std::to_string
#include <system_error>  // std::error_code
#include <vector>        // std::vector (8-bit pixel buffer)

#include <png.h>  // png_image_write_to_memory, png_image_begin_read_from_file
#include <xtensor/xtensor.hpp>

#include "latent/core/error.hpp"
#include "latent/io/atomic_file.hpp"

namespace latent {

namespace detail {

/// [0, 1] → 0..255 with clamping; NaN becomes 0.
inline unsigned char unit_to_byte(float v) {
  if (!(v > 0.0f)) return 0;
  if (v >= 1.0f) return 255;
  return static_cast<unsigned char>(std::lround(v * 255.0f));
}

/// Writes `pixels` (height × width × channels bytes, channels 1 or 3) to `path` atomically: the PNG
/// is encoded in memory and written by `write_file_atomically` (a temporary unique to this writer,
/// synced, renamed over `path`), so a reader never sees half a picture and a failed write leaves the
/// old picture as it was.
inline void write_png_bytes(const std::string& path, const std::vector<unsigned char>& pixels, std::size_t width,
                            std::size_t height, int channels) {
  const std::string context = "write_png: " + path;
  if (width == 0 || height == 0) {
    throw shape_error(context + ": expected a non-empty image, found " + std::to_string(height) + " x " +
                      std::to_string(width));
  }
  if (width > 0x7fffffffu / static_cast<std::size_t>(channels) || height > 0x7fffffffu) {  // stride is a png_int_32
    throw shape_error(context + ": image of " + std::to_string(height) + " x " + std::to_string(width) +
                      " is larger than PNG allows");
  }
  png_image image{};
  image.version = PNG_IMAGE_VERSION;
  image.width = static_cast<png_uint_32>(width);
  image.height = static_cast<png_uint_32>(height);
  image.format = channels == 3 ? PNG_FORMAT_RGB : PNG_FORMAT_GRAY;
  const png_int_32 stride = static_cast<png_int_32>(width * static_cast<std::size_t>(channels));
  // An upper bound of the encoded size first (libpng's own), then the real size.
  png_alloc_size_t size = PNG_IMAGE_PNG_SIZE_MAX(image);
  std::string encoded(static_cast<std::size_t>(size), '\0');
  const int ok = png_image_write_to_memory(&image, encoded.data(), &size, 0, pixels.data(), stride, nullptr);
  const std::string png_message = image.message;
  png_image_free(&image);
  if (!ok) throw io_error(context + ": cannot encode the picture: libpng: " + png_message);
  encoded.resize(static_cast<std::size_t>(size));
  write_file_atomically(path, encoded, "write_png");
}

}  // namespace detail

/// Writes an H × W grayscale image (values in [0, 1], clamped; NaN as 0) to `path` as an 8-bit PNG.
/// The write is atomic (temporary file in the same directory, then rename). Throws `io_error` when
/// the directory does not exist or the file cannot be written, `shape_error` for an empty image.
inline void write_png(const std::string& path, const xt::xtensor<float, 2>& gray) {
  const std::size_t h = gray.shape(0);
  const std::size_t w = gray.shape(1);
  std::vector<unsigned char> bytes(h * w);
  const float* src = gray.data();
  for (std::size_t i = 0; i < bytes.size(); ++i) bytes[i] = detail::unit_to_byte(src[i]);
  detail::write_png_bytes(path, bytes, w, h, 1);
}

/// Writes an H × W × 3 RGB image (values in [0, 1], clamped; NaN as 0) to `path` as an 8-bit PNG,
/// atomically. Throws `shape_error` unless the last dimension is 3, otherwise as the grayscale form.
inline void write_png(const std::string& path, const xt::xtensor<float, 3>& rgb) {
  if (rgb.shape(2) != 3) {
    throw shape_error("write_png: " + path + ": expected H x W x 3 (RGB), found H x W x " +
                      std::to_string(rgb.shape(2)));
  }
  const std::size_t h = rgb.shape(0);
  const std::size_t w = rgb.shape(1);
  std::vector<unsigned char> bytes(h * w * 3);
  const float* src = rgb.data();
  for (std::size_t i = 0; i < bytes.size(); ++i) bytes[i] = detail::unit_to_byte(src[i]);
  detail::write_png_bytes(path, bytes, w, h, 3);
}

/// Reads a PNG (any colour type; colour is converted to gray by libpng) into an H × W matrix of
/// values in [0, 1]. Throws `io_error` when the file cannot be opened and `format_error` when it is
/// not a readable PNG.
inline xt::xtensor<float, 2> read_png_gray(const std::string& path) {
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec)) {
    throw io_error("read_png_gray: " + path + ": expected a PNG file, found no such file");
  }
  png_image image{};
  image.version = PNG_IMAGE_VERSION;
  if (!png_image_begin_read_from_file(&image, path.c_str())) {
    const std::string msg = image.message;
    png_image_free(&image);
    throw format_error("read_png_gray: " + path + ": expected a PNG file, found unreadable data (libpng: " + msg + ")");
  }
  image.format = PNG_FORMAT_GRAY;
  const std::size_t h = image.height;
  const std::size_t w = image.width;
  if (h * w > (std::size_t{1} << 28)) {
    png_image_free(&image);
    throw format_error("read_png_gray: " + path + ": expected at most 2^28 pixels, found " + std::to_string(h) + " x " +
                       std::to_string(w));
  }
  std::vector<unsigned char> bytes(PNG_IMAGE_SIZE(image));
  if (!png_image_finish_read(&image, nullptr, bytes.data(), 0, nullptr)) {
    const std::string msg = image.message;
    png_image_free(&image);
    throw format_error("read_png_gray: " + path + ": corrupt PNG data (libpng: " + msg + ")");
  }
  auto out = xt::xtensor<float, 2>::from_shape({h, w});
  for (std::size_t i = 0; i < h * w; ++i) out.data()[i] = static_cast<float>(bytes[i]) / 255.0f;
  return out;
}

}  // namespace latent
