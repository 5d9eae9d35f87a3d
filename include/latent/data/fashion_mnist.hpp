#pragma once
/// \file
/// Loader for Fashion-MNIST (Xiao, Rasul & Vollgraf 2017): 28 × 28 grayscale images of 10 kinds of
/// clothing, 60,000 for training and 10,000 for testing, as shipped by Debian's
/// `dataset-fashion-mnist` package.

#include <cstdlib>       // std::getenv
#include <filesystem>    // std::filesystem::exists (to give a helpful message before reading)
#include <string>        // std::string, std::to_string
#include <string_view>   // std::string_view
#include <system_error>  // std::error_code
#include <utility>       // std::move

#include "latent/core/error.hpp"
#include "latent/data/dataset.hpp"
#include "latent/data/idx.hpp"

namespace latent {

/// Directory holding the four Fashion-MNIST files: the environment variable `LATENT_FASHION_MNIST`
/// when set and non-empty, else `/usr/share/datasets/fashion-mnist` (Debian's location).
inline std::string fashion_mnist_dir() {
  const char* env = std::getenv("LATENT_FASHION_MNIST");
  return (env && *env) ? std::string(env) : std::string("/usr/share/datasets/fashion-mnist");
}

namespace detail {

/// `dir/stem.gz` when it exists, else `dir/stem` when that exists; throws `io_error` otherwise.
inline std::string fashion_mnist_file(const std::string& dir, const std::string& stem) {
  const std::filesystem::path base = std::filesystem::path(dir) / stem;
  std::error_code ec;
  const std::filesystem::path gz = base.string() + ".gz";
  if (std::filesystem::exists(gz, ec)) return gz.string();
  if (std::filesystem::exists(base, ec)) return base.string();
  throw io_error("load_fashion_mnist: expected " + gz.string() +
                 " (or its uncompressed form), found no such file; install the Debian package "
                 "dataset-fashion-mnist, or set LATENT_FASHION_MNIST to the directory holding the files");
}

}  // namespace detail

/// Loads the "train" (60,000 images) or "test" (10,000 images) split of Fashion-MNIST from `dir`:
/// `x` is N × 784 with pixels in [0, 1], labels in 0..9, 10 class names, 28 × 28 images.
/// Throws `option_error` for another split name, `io_error` when the files are missing (naming the
/// Debian package), `format_error` for malformed files, and `data_error` when the image and label
/// counts differ or a label is above 9.
inline Dataset load_fashion_mnist(std::string_view split, const std::string& dir = fashion_mnist_dir()) {
  std::string prefix;
  if (split == "train") {
    prefix = "train";
  } else if (split == "test") {
    prefix = "t10k";
  } else {
    throw option_error("load_fashion_mnist: expected split \"train\" or \"test\", found \"" + std::string(split) +
                       "\"");
  }
  const std::string images_path = detail::fashion_mnist_file(dir, prefix + "-images-idx3-ubyte");
  const std::string labels_path = detail::fashion_mnist_file(dir, prefix + "-labels-idx1-ubyte");
  IdxImages images = read_idx_images_with_shape(images_path);
  Dataset d;
  d.labels = read_idx_labels(labels_path);
  if (images.x.shape(0) != d.labels.size()) {
    throw data_error("load_fashion_mnist: expected as many labels as images, found " +
                     std::to_string(images.x.shape(0)) + " images in " + images_path + " and " +
                     std::to_string(d.labels.size()) + " labels in " + labels_path);
  }
  for (std::size_t i = 0; i < d.labels.size(); ++i) {
    if (d.labels(i) > 9) {
      throw data_error("load_fashion_mnist: expected labels in 0..9, found " + std::to_string(d.labels(i)) +
                       " at index " + std::to_string(i) + " of " + labels_path);
    }
  }
  d.x = std::move(images.x);
  d.image_height = images.rows;
  d.image_width = images.cols;
  d.num_classes = 10;
  d.class_names = {"T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                   "Sandal",      "Shirt",   "Sneaker",  "Bag",   "Ankle boot"};
  return d;
}

}  // namespace latent
