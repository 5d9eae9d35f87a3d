#pragma once
/// \file
/// Readers for the IDX format of MNIST and Fashion-MNIST (gzip-compressed or plain): images as an
/// N × (rows·cols) float matrix scaled to [0, 1], labels as int32.
///
/// The parser is hardened against corrupted or hostile input (it is fuzzed through the
/// `*_from_memory` entry points, which share all parsing with the file readers): it validates the
/// header before trusting it, refuses payloads above 2^31 bytes, checks the payload a header claims
/// against the bytes a plain file or a memory block holds before allocating it, and reads a gzip
/// stream into a buffer that grows with the bytes that arrive, so a header that lies about its size
/// never makes it allocate much beyond the bytes actually present.

#include <algorithm>  // std::min, std::max
#include <cerrno>     // errno
#include <cstddef>    // std::size_t
#include <cstdint>    // std::uint8_t, std::uint32_t, std::uint64_t, std::int32_t
#include <cstdio>     // std::snprintf
#include <cstring>    // std::memcpy, std::strerror
#include <optional>   // std::optional: the bytes a source holds, when it knows them
#include <string>     // std::string, std::to_string
#include <utility>    // std::move
#include <vector>     // std::vector (incrementally grown payload buffer)

#include <fcntl.h>     // open: the file is opened once, for fstat and for zlib
#include <sys/stat.h>  // fstat: a directory is refused, a plain file's size bounds the payload
#include <unistd.h>    // close
#include <zlib.h>      // gzdopen, gzread: gzip or plain
#include <xtensor/xtensor.hpp>

#include "latent/core/error.hpp"

namespace latent {

/// Images read from an IDX file together with their geometry: `x` is N × (rows·cols).
struct IdxImages {
  /// Pixels scaled to [0, 1] (byte / 255), one flattened row-major image per row.
  xt::xtensor<float, 2> x;
  /// Image height in pixels.
  std::size_t rows = 0;
  /// Image width in pixels.
  std::size_t cols = 0;
};

namespace detail {

/// Largest payload the IDX reader accepts (2^31 bytes); a larger header is treated as corrupt.
inline constexpr std::uint64_t idx_max_payload = std::uint64_t{1} << 31;

/// A source of bytes: a memory block or a (possibly gzip-compressed) file.
class idx_source {
 public:
  idx_source(const unsigned char* data, std::size_t size) : mem_(data), mem_size_(size) {}
  /// A file read through zlib; `plain_size` is the file's size when zlib reads it as plain bytes
  /// (a regular file that is not gzip), unknown otherwise.
  idx_source(gzFile file, std::string context, std::optional<std::uint64_t> plain_size = std::nullopt)
      : gz_(file), plain_size_(plain_size), context_(std::move(context)) {}

  /// The bytes left, when the source knows them (memory, a plain file); a gzip stream's decompressed
  /// size is known only once it has been read.
  std::optional<std::uint64_t> remaining() const noexcept {
    if (!gz_) return mem_size_ - mem_pos_;
    if (!plain_size_) return std::nullopt;
    return *plain_size_ > consumed_ ? *plain_size_ - consumed_ : 0;
  }

  /// Reads up to `n` bytes into `dst`; returns how many were read (fewer only at end of data).
  std::size_t read(unsigned char* dst, std::size_t n) {
    if (!gz_) {
      const std::size_t k = std::min(n, mem_size_ - mem_pos_);
      if (k > 0) std::memcpy(dst, mem_ + mem_pos_, k);
      mem_pos_ += k;
      return k;
    }
    std::size_t total = 0;
    while (total < n && !gz_end_) {
      // gzread takes an unsigned int count; read in bounded chunks.
      const unsigned chunk = static_cast<unsigned>(std::min<std::size_t>(n - total, 1u << 20));
      const int got = gzread(gz_, dst + total, chunk);
      if (got < 0) {
        int errnum = 0;
        const char* msg = gzerror(gz_, &errnum);
        if (errnum == Z_ERRNO) {
          throw io_error(context_ + ": cannot read: " + std::strerror(errno));
        }
        throw format_error(context_ + ": corrupt gzip stream (" + std::string(msg ? msg : "?") + ")");
      }
      if (got == 0) {
        // A gzip stream cut short reads as end of data; remember it for the "truncated" message.
        int errnum = 0;
        gzerror(gz_, &errnum);
        gz_truncated_ = errnum == Z_BUF_ERROR;
        gz_end_ = true;
      }
      total += static_cast<std::size_t>(got);
    }
    consumed_ += total;
    return total;
  }

  /// True when a gzip stream ended before its end marker.
  bool gzip_truncated() const { return gz_truncated_; }

 private:
  const unsigned char* mem_ = nullptr;
  std::size_t mem_size_ = 0;
  std::size_t mem_pos_ = 0;
  gzFile gz_ = nullptr;
  std::optional<std::uint64_t> plain_size_;
  std::uint64_t consumed_ = 0;
  bool gz_end_ = false;
  bool gz_truncated_ = false;
  std::string context_;
};

inline std::string idx_hex(std::uint32_t v) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "0x%08X", static_cast<unsigned>(v));
  return buf;
}

inline const char* idx_type_name(unsigned code) {
  switch (code) {
    case 0x08: return "unsigned byte";
    case 0x09: return "signed byte";
    case 0x0B: return "short";
    case 0x0C: return "int";
    case 0x0D: return "float";
    case 0x0E: return "double";
    default: return "unknown type";
  }
}

/// A parsed IDX file of unsigned bytes: its dimensions and its payload.
struct idx_raw {
  std::vector<std::uint32_t> dims;
  std::vector<unsigned char> payload;
};

/// Parses an unsigned-byte IDX stream with `ndims` dimensions; `context` starts every message.
inline idx_raw parse_idx(idx_source& src, unsigned ndims, const std::string& context) {
  const std::uint32_t want_magic = 0x00000800u | ndims;
  const std::string want = "expected magic number " + idx_hex(want_magic) + " (unsigned byte, " +
                           std::to_string(ndims) + (ndims == 1 ? " dimension)" : " dimensions)");
  unsigned char head[4];
  const std::size_t got_head = src.read(head, 4);
  if (got_head < 4) {
    throw format_error(context + ": " + want + ", found a file of only " + std::to_string(got_head) + " bytes" +
                       (src.gzip_truncated() ? " (the gzip stream is truncated)" : ""));
  }
  const std::uint32_t magic = (std::uint32_t{head[0]} << 24) | (std::uint32_t{head[1]} << 16) |
                              (std::uint32_t{head[2]} << 8) | std::uint32_t{head[3]};
  if (head[0] != 0 || head[1] != 0) {
    throw format_error(context + ": " + want + ", found " + idx_hex(magic) + " (not an IDX file)");
  }
  if (head[2] != 0x08) {
    throw format_error(context + ": " + want + ", found " + idx_hex(magic) + " (" + idx_type_name(head[2]) + ", " +
                       std::to_string(head[3]) + " dimensions)");
  }
  if (head[3] != ndims) {
    throw format_error(context + ": " + want + ", found " + idx_hex(magic) + " (unsigned byte, " +
                       std::to_string(head[3]) + (head[3] == 1 ? " dimension)" : " dimensions)"));
  }

  idx_raw out;
  out.dims.resize(ndims);
  unsigned char dim_bytes[4 * 255];
  const std::size_t want_dims = 4 * std::size_t{ndims};
  const std::size_t got_dims = src.read(dim_bytes, want_dims);
  if (got_dims < want_dims) {
    throw format_error(context + ": truncated header: expected " + std::to_string(want_dims) +
                       " bytes of dimension sizes, found " + std::to_string(got_dims));
  }
  std::uint64_t total = 1;
  bool too_big = false;
  for (unsigned d = 0; d < ndims; ++d) {
    const unsigned char* b = dim_bytes + 4 * d;
    out.dims[d] =
        (std::uint32_t{b[0]} << 24) | (std::uint32_t{b[1]} << 16) | (std::uint32_t{b[2]} << 8) | std::uint32_t{b[3]};
    // Each factor is < 2^32 and the running product is kept <= 2^31, so this never overflows.
    total *= out.dims[d];
    if (total > idx_max_payload) too_big = true;
    if (too_big) total = idx_max_payload + 1;
  }
  if (too_big) {
    std::string shape;
    for (unsigned d = 0; d < ndims; ++d) shape += (d ? " x " : "") + std::to_string(out.dims[d]);
    throw format_error(context + ": header claims " + shape + " bytes of data, above the limit of " +
                       std::to_string(idx_max_payload) + " bytes (corrupted header?)");
  }
  for (unsigned d = 1; d < ndims; ++d) {
    if (out.dims[d] == 0) {
      throw format_error(context + ": expected non-zero image dimensions, found size 0 in dimension " +
                         std::to_string(d));
    }
  }

  // A source that knows its size refuses a header that claims more before allocating anything; a
  // gzip stream is read into a buffer that grows (doubling) with the bytes that actually arrive.
  const std::size_t expected = static_cast<std::size_t>(total);
  const auto truncated = [&](std::uint64_t have) {
    return format_error(context + ": truncated data: expected " + std::to_string(expected) +
                        " bytes after the header, found " + std::to_string(have) +
                        (src.gzip_truncated() ? " (the gzip stream is truncated)" : ""));
  };
  if (const auto left = src.remaining(); left && expected > *left) throw truncated(*left);
  std::size_t have = 0;
  while (have < expected) {
    const std::size_t target =
        src.remaining() ? expected : std::min(expected, std::max<std::size_t>(have * 2, std::size_t{1} << 16));
    out.payload.resize(target);
    const std::size_t got = src.read(out.payload.data() + have, target - have);
    have += got;
    if (have < target) break;
  }
  if (have < expected) throw truncated(have);
  unsigned char extra;
  if (src.read(&extra, 1) != 0) {
    throw format_error(context + ": expected " + std::to_string(expected) +
                       " bytes after the header, found trailing data beyond them");
  }
  return out;
}

inline IdxImages idx_images(idx_source& src, const std::string& context) {
  idx_raw raw = parse_idx(src, 3, context);
  IdxImages out;
  out.rows = raw.dims[1];
  out.cols = raw.dims[2];
  out.x = xt::xtensor<float, 2>::from_shape({std::size_t{raw.dims[0]}, out.rows * out.cols});
  float* dst = out.x.data();
  for (std::size_t i = 0; i < raw.payload.size(); ++i) dst[i] = static_cast<float>(raw.payload[i]) / 255.0f;
  return out;
}

inline xt::xtensor<std::int32_t, 1> idx_labels(idx_source& src, const std::string& context) {
  idx_raw raw = parse_idx(src, 1, context);
  auto out = xt::xtensor<std::int32_t, 1>::from_shape({raw.payload.size()});
  for (std::size_t i = 0; i < raw.payload.size(); ++i) out(i) = raw.payload[i];
  return out;
}

/// Opens `path` with zlib (gzip or plain bytes), runs `parse` on it, and always closes it.
template <class Parse>
auto with_idx_file(const std::string& path, const char* function, Parse parse) {
  const std::string context = std::string(function) + ": " + path;
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) throw io_error(context + ": cannot open: " + std::strerror(errno));
  struct stat st {};
  if (::fstat(fd, &st) != 0 || S_ISDIR(st.st_mode)) {
    const std::string why = S_ISDIR(st.st_mode) ? std::string("expected a file, found a directory")
                                                : std::string("cannot read: ") + std::strerror(errno);
    ::close(fd);
    throw io_error(context + ": " + why);
  }
  gzFile f = gzdopen(fd, "rb");  // owns fd from here on
  if (!f) {
    ::close(fd);
    throw io_error(context + ": cannot open: out of memory");
  }
  gzbuffer(f, 1u << 17);
  struct closer {
    gzFile f;
    ~closer() { gzclose(f); }
  } guard{f};
  // zlib reads a file without a gzip header as plain bytes: then its size bounds the payload.
  std::optional<std::uint64_t> plain_size;
  if (S_ISREG(st.st_mode) && gzdirect(f) == 1) plain_size = static_cast<std::uint64_t>(st.st_size);
  idx_source src(f, context, plain_size);
  return parse(src, context);
}

}  // namespace detail

/// Reads an IDX image file (magic 0x00000803, gzip or plain) with its geometry.
/// Throws `io_error` when the file cannot be read and `format_error` when its contents are not a
/// well-formed unsigned-byte IDX file of three dimensions.
inline IdxImages read_idx_images_with_shape(const std::string& path) {
  return detail::with_idx_file(path, "read_idx_images",
                               [](detail::idx_source& s, const std::string& c) { return detail::idx_images(s, c); });
}

/// Reads an IDX image file into an N × (rows·cols) matrix of pixels in [0, 1]; see
/// `read_idx_images_with_shape` for the geometry and the errors.
inline xt::xtensor<float, 2> read_idx_images(const std::string& path) {
  return std::move(read_idx_images_with_shape(path).x);
}

/// Reads an IDX label file (magic 0x00000801, gzip or plain) into int32 labels (values 0..255).
/// Throws `io_error` when the file cannot be read and `format_error` for malformed contents.
inline xt::xtensor<std::int32_t, 1> read_idx_labels(const std::string& path) {
  return detail::with_idx_file(path, "read_idx_labels",
                               [](detail::idx_source& s, const std::string& c) { return detail::idx_labels(s, c); });
}

/// Parses an uncompressed IDX image file held in memory (the fuzzing entry point of the parser).
/// Throws `format_error` for any malformed input; never reads outside `[data, data + size)`.
inline IdxImages read_idx_images_from_memory(const unsigned char* data, std::size_t size) {
  detail::idx_source src(data, size);
  return detail::idx_images(src, "read_idx_images_from_memory");
}

/// Parses an uncompressed IDX label file held in memory; throws `format_error` for malformed input.
inline xt::xtensor<std::int32_t, 1> read_idx_labels_from_memory(const unsigned char* data, std::size_t size) {
  detail::idx_source src(data, size);
  return detail::idx_labels(src, "read_idx_labels_from_memory");
}

}  // namespace latent
