#pragma once
/// \file
/// `latent::NamedTensor`: one tensor of a weights file (safetensors, .npz), as the readers return it
/// and the writers take it; and the small helpers both formats share (reading a whole file with its
/// size checked, shapes as text).

#include "latent/core/error.hpp"

#include <cerrno>       // errno, EINTR
#include <cmath>        // std::trunc: whole numbers for int64 tensors
#include <cstddef>      // std::size_t
#include <cstdint>      // std::int64_t, std::uint64_t
#include <cstring>      // std::strerror
#include <limits>       // std::numeric_limits: overflow checks of element counts
#include <string>       // std::string
#include <string_view>  // std::string_view
#include <vector>       // std::vector

#include <fcntl.h>     // open
#include <sys/stat.h>  // fstat: a directory is refused, the size bounds every length
#include <unistd.h>    // read, close

namespace latent {

/// A named tensor: its shape (outermost first, row-major: C order) and its values, held as `double`
/// whatever the file's type (f16, bf16 and f32 convert exactly), with the type the file stored. An
/// int64 tensor (PyTorch's BatchNorm counter `num_batches_tracked`) also keeps its exact values in
/// `integers` (a double holds integers exactly only up to 2^53).
struct NamedTensor {
  std::string name;
  std::vector<std::size_t> shape;  ///< empty for a scalar
  std::vector<double> values;      ///< product(shape) values, row-major
  /// As the file named it: "F32", "F64", "F16", "BF16", "I64" (safetensors) or "<f4", "<f8", "<f2",
  /// "<i8" (.npy). The writers write a tensor whose dtype is "I64" or "<i8" as int64, any other in
  /// the floating-point type they are asked for.
  std::string dtype;
  std::vector<std::int64_t> integers = {};  ///< an int64 tensor's values, exactly; empty for the others
};

namespace detail {

/// True for the names of a 64-bit signed integer type: safetensors' "I64", NumPy's "<i8".
inline bool is_int64_dtype(std::string_view dtype) noexcept { return dtype == "I64" || dtype == "<i8"; }

/// The int64 values a writer writes for `t`: its `integers` when they are there, else its `values`,
/// each of which must then be a whole number in int64's range (a `format_error` starting with `who`
/// otherwise).
inline std::vector<std::int64_t> int64_values(const NamedTensor& t, const std::string& who) {
  if (!t.integers.empty() || t.values.empty()) return t.integers;
  std::vector<std::int64_t> out(t.values.size());
  for (std::size_t i = 0; i < t.values.size(); ++i) {
    const double v = t.values[i];
    // [−2^63, 2^63): both bounds are exact doubles.
    if (!(v >= -9223372036854775808.0 && v < 9223372036854775808.0) || std::trunc(v) != v)
      throw format_error(who + ": tensor '" + escape_bytes(t.name) + "': expected whole numbers in int64's range for " +
                         t.dtype + ", found " + std::to_string(v) + " at element " + std::to_string(i));
    out[i] = static_cast<std::int64_t>(v);
  }
  return out;
}

/// Appends `v` as 8 bytes, little-endian, two's complement (an int64 element of either format).
inline void append_int64_le(std::string& out, std::int64_t v) {
  const auto bits = static_cast<std::uint64_t>(v);
  for (int b = 0; b < 8; ++b) out += static_cast<char>((bits >> (8 * b)) & 0xff);
}

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
