#pragma once
/// \file
/// `latent::NamedTensor`: one tensor of a weights file (safetensors, .npz), as the readers return it
/// and the writers take it; and the small helpers both formats share (reading a whole file with its
/// size checked, shapes as text).

#include "latent/core/error.hpp"

#include <cerrno>   // errno, EINTR
#include <cstddef>  // std::size_t
#include <cstdint>  // std::uint64_t
#include <cstring>  // std::strerror
#include <limits>   // std::numeric_limits: overflow checks of element counts
#include <string>   // std::string
#include <vector>   // std::vector

#include <fcntl.h>     // open
#include <sys/stat.h>  // fstat: a directory is refused, the size bounds every length
#include <unistd.h>    // read, close

namespace latent {

/// A named tensor: its shape (outermost first, row-major: C order) and its values, held as `double`
/// whatever the file's type (f16, bf16 and f32 convert exactly), with the type the file stored.
struct NamedTensor {
  std::string name;
  std::vector<std::size_t> shape;  ///< empty for a scalar
  std::vector<double> values;      ///< product(shape) values, row-major
  std::string dtype;  ///< as the file named it: "F32", "F64", "F16", "BF16" (safetensors) or "<f4", "<f8", "<f2" (.npy)
};

namespace detail {

/// "[400, 784]": a shape as the error messages print it ("[]" for a scalar).
inline std::string shape_string(const std::vector<std::size_t>& shape) {
  std::string s = "[";
  for (std::size_t i = 0; i < shape.size(); ++i) {
    if (i != 0) s += ", ";
    s += std::to_string(shape[i]);
  }
  return s + "]";
}

/// The element count of `shape`, or false when it overflows `std::size_t`.
inline bool element_count(const std::vector<std::size_t>& shape, std::size_t& count) noexcept {
  count = 1;
  for (std::size_t d : shape) {
    if (d != 0 && count > std::numeric_limits<std::size_t>::max() / d) return false;
    count *= d;
  }
  return true;
}

/// All the bytes of the regular file `path` (its size is taken from `fstat` before anything is
/// allocated). A path that cannot be opened or read, or a directory, is an `io_error` that starts with
/// `who` and ends with the system's reason.
inline std::string read_whole_file(const std::string& path, const std::string& who) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) throw io_error(who + ": " + path + ": cannot open: " + std::strerror(errno));
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    const int err = errno;
    ::close(fd);
    throw io_error(who + ": " + path + ": cannot read: " + std::strerror(err));
  }
  if (S_ISDIR(st.st_mode)) {
    ::close(fd);
    throw io_error(who + ": " + path + ": expected a file, found a directory");
  }
  std::string bytes;
  if (S_ISREG(st.st_mode)) bytes.reserve(static_cast<std::size_t>(st.st_size));
  char buffer[1 << 16];
  for (;;) {
    const ssize_t n = ::read(fd, buffer, sizeof buffer);
    if (n < 0) {
      if (errno == EINTR) continue;
      const int err = errno;
      ::close(fd);
      throw io_error(who + ": " + path + ": cannot read: " + std::strerror(err));
    }
    if (n == 0) break;
    bytes.append(buffer, static_cast<std::size_t>(n));
  }
  ::close(fd);
  return bytes;
}

/// An IEEE half (f16) as a double, exactly.
inline double half_to_double(std::uint16_t h) noexcept {
  const int sign = (h >> 15) & 1, exponent = (h >> 10) & 31, mantissa = h & 1023;
  double v;
  if (exponent == 0)
    v = mantissa * (1.0 / (1 << 24));  // subnormal: mantissa · 2^−24
  else if (exponent == 31)
    v = mantissa == 0 ? std::numeric_limits<double>::infinity() : std::numeric_limits<double>::quiet_NaN();
  else {
    v = 1.0 + mantissa / 1024.0;
    for (int e = exponent - 15; e > 0; --e) v *= 2;
    for (int e = exponent - 15; e < 0; ++e) v /= 2;
  }
  return sign ? -v : v;
}

}  // namespace detail
}  // namespace latent
