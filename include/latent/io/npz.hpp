#pragma once
/// \file
/// `latent::read_npz` / `latent::write_npz` (and `read_npy` / `npy_bytes`): NumPy's `.npz`, as
/// `numpy.savez` and `numpy.savez_compressed` write it: a zip archive of `.npy` members, stored or
/// deflated, each named after its array ("fc1.weight.npy" holds the array "fc1.weight").
///
/// The zip reader starts from the end-of-central-directory record and walks the central directory,
/// checking every offset and size against the file before reading or allocating; it takes the sizes
/// from the central directory (numpy writes each member with zip64 sizes in its local header, which
/// `force_zip64` makes 0xFFFFFFFF there) and reads zip64 extra fields; it checks each member's local
/// header and its CRC-32, inflates deflated members with zlib (an uncompressed size above the
/// deflate format's 1032:1 bound is refused before allocating), and refuses encrypted members, other
/// compression methods, multi-disk archives and zip64 archives over 4 GiB (a zip64 end record).
/// `.npy` versions 1, 2 and 3 are read; types '<f4', '<f8', '<f2' and '<i8' (and the '=' byte order of
/// them on this little-endian platform; '<i8' is PyTorch's BatchNorm counter, read into `integers`
/// exactly and `values` as doubles), in C order or Fortran order (converted to C order); any other
/// type, a big-endian one, or a structured one is refused with its descr.
/// The arrays come back in the central directory's order, which is the order `numpy.savez` wrote them.
/// The writer produces stored (uncompressed) members with `.npy` version 1 headers, which
/// `numpy.load` reads; int64 tensors (dtype "I64" or "<i8") as '<i8'.

#include "latent/core/error.hpp"
#include "latent/io/atomic_file.hpp"
#include "latent/io/named_tensor.hpp"

#include <zlib.h>  // crc32_z, inflate: members' checksums and deflated members

#include <cstddef>      // std::size_t
#include <cstdint>      // std::int64_t, std::uint16_t, std::uint32_t, std::uint64_t
#include <cstring>      // std::memcpy
#include <set>          // std::set: duplicate names
#include <string>       // std::string
#include <string_view>  // std::string_view
#include <vector>       // std::vector

namespace latent {

namespace detail {

inline std::uint64_t little_endian(std::string_view b, std::size_t at, int bytes) noexcept {
  std::uint64_t v = 0;
  for (int i = bytes - 1; i >= 0; --i) v = v << 8 | static_cast<unsigned char>(b[at + static_cast<std::size_t>(i)]);
  return v;
}
inline void put_le(std::string& out, std::uint64_t v, int bytes) {
  for (int i = 0; i < bytes; ++i) out += static_cast<char>((v >> (8 * i)) & 0xff);
}

/// The value of `key` in a .npy header (a Python dict literal: {'descr': '<f4', 'fortran_order':
/// False, 'shape': (400, 784), }), as its raw text; empty if absent.
inline std::string npy_field(std::string_view header, std::string_view key, const std::string& context) {
  const std::string quoted = "'" + std::string(key) + "'";
  const std::size_t k = header.find(quoted);
  if (k == std::string_view::npos)
    throw format_error(context + ": expected '" + std::string(key) + "' in the .npy header");
  std::size_t at = header.find(':', k + quoted.size());
  if (at == std::string_view::npos) throw format_error(context + ": expected ':' after '" + std::string(key) + "'");
  ++at;
  while (at < header.size() && header[at] == ' ') ++at;
  std::size_t end = at;
  if (at < header.size() && (header[at] == '\'' || header[at] == '"')) {
    end = header.find(header[at], at + 1);
    if (end == std::string_view::npos) throw format_error(context + ": expected a closing quote in the .npy header");
    ++end;
  } else if (at < header.size() && header[at] == '(') {
    end = header.find(')', at);
    if (end == std::string_view::npos) throw format_error(context + ": expected ')' in the .npy header");
    ++end;
  } else {
    while (end < header.size() && header[end] != ',' && header[end] != '}') ++end;
  }
  std::string v(header.substr(at, end - at));
  while (!v.empty() && v.back() == ' ') v.pop_back();
  return v;
}

}  // namespace detail

/// The array of the `.npy` bytes `bytes`, named `name` (`context` starts the messages).
inline NamedTensor parse_npy(std::string_view bytes, std::string name, const std::string& context) {
  if (bytes.size() < 10 || bytes.substr(0, 6) != std::string_view("\x93NUMPY", 6))
    throw format_error(context + ": expected a .npy array (magic \\x93NUMPY), found '" +
                       detail::escape_bytes(bytes.substr(0, 8)) + "'");
  const int major = static_cast<unsigned char>(bytes[6]);
  if (major < 1 || major > 3)
    throw format_error(context + ": expected .npy version 1, 2 or 3, found " + std::to_string(major));
  const std::size_t length_bytes = major == 1 ? 2 : 4;
  if (bytes.size() < 8 + length_bytes) throw format_error(context + ": expected a .npy header length, found the end");
  const std::uint64_t header_length = detail::little_endian(bytes, 8, static_cast<int>(length_bytes));
  const std::size_t start = 8 + length_bytes;
  if (header_length > bytes.size() - start)
    throw format_error(context + ": expected a .npy header of at most " + std::to_string(bytes.size() - start) +
                       " bytes, found a length of " + std::to_string(header_length));
  const std::string_view header = bytes.substr(start, static_cast<std::size_t>(header_length));
  const std::string_view data = bytes.substr(start + static_cast<std::size_t>(header_length));
  if (header.empty() || header.front() != '{')
    throw format_error(context + ": expected a .npy header dict, found '" + detail::escape_bytes(header.substr(0, 16)) +
                       "'");
  std::string descr = detail::npy_field(header, "descr", context);
  const std::string fortran = detail::npy_field(header, "fortran_order", context);
  const std::string shape_text = detail::npy_field(header, "shape", context);
  if (descr.size() >= 2 && (descr.front() == '\'' || descr.front() == '"')) descr = descr.substr(1, descr.size() - 2);
  std::size_t size = 0;
  bool whole = false;  // int64
  if (descr == "<f4" || descr == "=f4")
    size = 4;
  else if (descr == "<f8" || descr == "=f8")
    size = 8;
  else if (descr == "<f2" || descr == "=f2")
    size = 2;
  else if (descr == "<i8" || descr == "=i8")
    size = 8, whole = true;
  else
    throw format_error(context + ": expected descr '<f4', '<f8', '<f2' or '<i8', found '" +
                       detail::escape_bytes(descr) + "'");
  if (fortran != "False" && fortran != "True")
    throw format_error(context + ": expected fortran_order True or False, found '" + detail::escape_bytes(fortran) +
                       "'");
  if (shape_text.size() < 2 || shape_text.front() != '(' || shape_text.back() != ')')
    throw format_error(context + ": expected a shape tuple, found '" + detail::escape_bytes(shape_text) + "'");
  NamedTensor t;
  t.name = std::move(name);
  t.dtype = whole ? "<i8" : "<f" + std::to_string(size);
  {
    std::size_t at = 1;
    const std::size_t end = shape_text.size() - 1;
    while (at < end) {
      while (at < end && (shape_text[at] == ' ' || shape_text[at] == ',')) ++at;
      if (at >= end) break;
      std::uint64_t d = 0;
      const std::size_t first = at;
      while (at < end && shape_text[at] >= '0' && shape_text[at] <= '9') {
        if (d > (std::uint64_t(1) << 53) / 10)
          throw format_error(context + ": expected shape entries below 2^53, found '" +
                             detail::escape_bytes(shape_text) + "'");
        d = d * 10 + static_cast<std::uint64_t>(shape_text[at++] - '0');
      }
      if (at == first || (at < end && shape_text[at] != ',' && shape_text[at] != ' '))
        throw format_error(context + ": expected a shape of integers, found '" + detail::escape_bytes(shape_text) +
                           "'");
      t.shape.push_back(static_cast<std::size_t>(d));
    }
  }
  std::size_t count = 0;
  if (!detail::element_count(t.shape, count) || count > data.size() / size || count * size != data.size())
    throw format_error(context + ": expected " + detail::shape_string(t.shape) + " of " + t.dtype + " to fill the " +
                       std::to_string(data.size()) + " data bytes exactly");
  t.values.resize(count);
  if (whole) t.integers.resize(count);
  for (std::size_t j = 0; j < count; ++j) {
    const char* p = data.data() + j * size;
    if (whole) {
      t.integers[j] = static_cast<std::int64_t>(detail::little_endian(data, j * size, 8));  // two's complement
      t.values[j] = static_cast<double>(t.integers[j]);
    } else if (size == 8) {
      double v;
      std::memcpy(&v, p, 8);
      t.values[j] = v;
    } else if (size == 4) {
      float v;
      std::memcpy(&v, p, 4);
      t.values[j] = v;
    } else {
      std::uint16_t h;
      std::memcpy(&h, p, 2);
      t.values[j] = detail::half_to_double(h);
    }
  }
  if (fortran == "True" && t.shape.size() > 1) {
    // Fortran order: the first index varies fastest. Reorder into C order.
    std::vector<double> c(count);
    std::vector<std::int64_t> ci64(t.integers.size());
    const std::size_t rank = t.shape.size();
    std::vector<std::size_t> index(rank, 0);
    for (std::size_t f = 0; f < count; ++f) {
      std::size_t ci = 0;
      for (std::size_t k = 0; k < rank; ++k) ci = ci * t.shape[k] + index[k];
      c[ci] = t.values[f];
      if (whole) ci64[ci] = t.integers[f];
      for (std::size_t k = 0; k < rank; ++k) {
        if (++index[k] < t.shape[k]) break;
        index[k] = 0;
      }
    }
    t.values = std::move(c);
    t.integers = std::move(ci64);
  }
  return t;
}

/// The arrays of the `.npz` bytes `bytes` in the archive's order (see the file's comment).
inline std::vector<NamedTensor> parse_npz(std::string_view bytes, const std::string& context) {
  using detail::little_endian;
  // The end-of-central-directory record: 22 bytes, then a comment of at most 65535 bytes.
  if (bytes.size() < 22)
    throw format_error(context + ": expected a zip archive (.npz), found " + std::to_string(bytes.size()) + " bytes");
  std::size_t eocd = std::string_view::npos;
  const std::size_t lowest = bytes.size() >= 22 + 65535 ? bytes.size() - 22 - 65535 : 0;
  for (std::size_t at = bytes.size() - 22 + 1; at-- > lowest;)
    if (little_endian(bytes, at, 4) == 0x06054b50 && at + 22 + little_endian(bytes, at + 20, 2) == bytes.size()) {
      eocd = at;
      break;
    }
  if (eocd == std::string_view::npos)
    throw format_error(context + ": expected a zip archive (.npz): found no end-of-central-directory record");
  const std::uint64_t disk = little_endian(bytes, eocd + 4, 2), cd_disk = little_endian(bytes, eocd + 6, 2);
  const std::uint64_t entries = little_endian(bytes, eocd + 10, 2);
  const std::uint64_t cd_size = little_endian(bytes, eocd + 12, 4), cd_offset = little_endian(bytes, eocd + 16, 4);
  if (entries == 0xffff || cd_size == 0xffffffff || cd_offset == 0xffffffff)
    throw format_error(context +
                       ": expected a zip archive under 4 GiB: zip64 archives (a zip64 end record) are not supported");
  if (disk != 0 || cd_disk != 0 || little_endian(bytes, eocd + 8, 2) != entries)
    throw format_error(context + ": expected a single-disk zip archive, found a multi-disk one");
  if (cd_offset > eocd || cd_size > eocd - cd_offset)
    throw format_error(context + ": expected the central directory inside the archive, found offset " +
                       std::to_string(cd_offset) + " and size " + std::to_string(cd_size) + " past byte " +
                       std::to_string(eocd));

  std::vector<NamedTensor> tensors;
  std::set<std::string> names;
  std::size_t at = static_cast<std::size_t>(cd_offset);
  const std::size_t cd_end = static_cast<std::size_t>(cd_offset + cd_size);
  for (std::uint64_t e = 0; e < entries; ++e) {
    if (cd_end - at < 46 || little_endian(bytes, at, 4) != 0x02014b50)
      throw format_error(context + ": expected central directory entry " + std::to_string(e) + " at byte " +
                         std::to_string(at) + ", found none");
    const std::uint64_t flags = little_endian(bytes, at + 8, 2), method = little_endian(bytes, at + 10, 2);
    const std::uint32_t crc = static_cast<std::uint32_t>(little_endian(bytes, at + 16, 4));
    std::uint64_t packed = little_endian(bytes, at + 20, 4), unpacked = little_endian(bytes, at + 24, 4);
    const std::size_t name_length = static_cast<std::size_t>(little_endian(bytes, at + 28, 2));
    const std::size_t extra_length = static_cast<std::size_t>(little_endian(bytes, at + 30, 2));
    const std::size_t comment_length = static_cast<std::size_t>(little_endian(bytes, at + 32, 2));
    std::uint64_t local = little_endian(bytes, at + 42, 4);
    if (cd_end - at - 46 < name_length + extra_length + comment_length)
      throw format_error(context + ": expected central directory entry " + std::to_string(e) +
                         " to fit in the directory, found lengths past its end");
    const std::string member(bytes.substr(at + 46, name_length));
    const std::string where = context + ": member '" + detail::escape_bytes(member) + "'";
    // zip64 extra field (id 1): the 8-byte values of those fields that are 0xFFFFFFFF, in this order.
    for (std::size_t x = at + 46 + name_length, xend = x + extra_length; x + 4 <= xend;) {
      const std::uint64_t id = little_endian(bytes, x, 2), size = little_endian(bytes, x + 2, 2);
      if (size > xend - x - 4) throw format_error(where + ": expected its extra fields to fit, found one past the end");
      if (id == 1) {
        std::size_t y = x + 4;
        const std::size_t yend = y + static_cast<std::size_t>(size);
        for (std::uint64_t* field : {&unpacked, &packed, &local})
          if (*field == 0xffffffff) {
            if (yend - y < 8) throw format_error(where + ": expected a complete zip64 extra field");
            *field = little_endian(bytes, y, 8);
            y += 8;
          }
      }
      x += 4 + static_cast<std::size_t>(size);
    }
    at += 46 + name_length + extra_length + comment_length;
    if (flags & 1) throw format_error(where + ": expected an unencrypted member, found an encrypted one");
    if (method != 0 && method != 8)
      throw format_error(where + ": expected a stored (0) or deflated (8) member, found compression method " +
                         std::to_string(method));
    if (local > cd_offset || 30 > cd_offset - local)
      throw format_error(where + ": expected its local header before the central directory, found offset " +
                         std::to_string(local));
    const std::size_t lh = static_cast<std::size_t>(local);
    if (little_endian(bytes, lh, 4) != 0x04034b50)
      throw format_error(where + ": expected a local header at byte " + std::to_string(lh) + ", found none");
    const std::size_t local_name = static_cast<std::size_t>(little_endian(bytes, lh + 26, 2));
    const std::size_t local_extra = static_cast<std::size_t>(little_endian(bytes, lh + 28, 2));
    const std::size_t data_at = lh + 30 + local_name + local_extra;
    if (data_at > cd_offset || packed > cd_offset - data_at)
      throw format_error(where + ": expected its " + std::to_string(packed) +
                         " bytes before the central directory, found them past it");
    if (bytes.substr(lh + 30, local_name) != member)
      throw format_error(where + ": expected the local header to name it, found '" +
                         detail::escape_bytes(bytes.substr(lh + 30, local_name)) + "'");
    const std::string_view raw = bytes.substr(data_at, static_cast<std::size_t>(packed));
    std::string inflated;
    std::string_view content = raw;
    if (method == 0) {
      if (packed != unpacked)
        throw format_error(where + ": expected a stored member's sizes to agree, found " + std::to_string(packed) +
                           " and " + std::to_string(unpacked));
    } else {
      // Deflate expands at most 1032:1; a larger claim is a lie, refused before allocating.
      if (unpacked > packed * 1032 + 1032 || unpacked >= 0xffffffffu)
        throw format_error(where + ": expected an uncompressed size of at most 1032 times its " +
                           std::to_string(packed) + " compressed bytes, found " + std::to_string(unpacked));
      inflated.resize(static_cast<std::size_t>(unpacked));
      z_stream z{};
      if (inflateInit2(&z, -15) != Z_OK) throw format_error(where + ": cannot start zlib's inflate");
      z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(raw.data()));
      z.avail_in = static_cast<uInt>(raw.size());
      z.next_out = reinterpret_cast<Bytef*>(inflated.data());
      z.avail_out = static_cast<uInt>(inflated.size());
      const int rc = inflate(&z, Z_FINISH);
      const std::size_t produced = inflated.size() - z.avail_out;
      inflateEnd(&z);
      if (rc != Z_STREAM_END || produced != inflated.size())
        throw format_error(where + ": expected " + std::to_string(unpacked) +
                           " bytes of valid deflated data, found corrupt or short data (zlib: " +
                           (rc == Z_STREAM_END ? std::string("ended after ") + std::to_string(produced) + " bytes"
                                               : std::string(z.msg != nullptr ? z.msg : "incomplete")) +
                           ")");
      content = inflated;
    }
    const auto actual = static_cast<std::uint32_t>(
        crc32_z(0, reinterpret_cast<const Bytef*>(content.data()), static_cast<z_size_t>(content.size())));
    if (actual != crc)
      throw format_error(where + ": expected CRC-32 " + std::to_string(crc) + ", found " + std::to_string(actual) +
                         " (the member is corrupted)");
    if (member.size() < 4 || member.compare(member.size() - 4, 4, ".npy") != 0)
      throw format_error(where + ": expected a .npy member, found another file");
    std::string name = member.substr(0, member.size() - 4);
    if (!names.insert(name).second) throw format_error(where + ": expected distinct member names, found it twice");
    tensors.push_back(parse_npy(content, std::move(name), where));
  }
  return tensors;
}

/// The arrays of the `.npz` file `path`, in the archive's order.
inline std::vector<NamedTensor> read_npz(const std::string& path) {
  return parse_npz(detail::read_whole_file(path, "read_npz"), "read_npz: " + path);
}

/// The `.npy` (version 1) bytes of `t`'s values as '<f4' (`dtype` "<f4") or '<f8' ("<f8"), C order —
/// as '<i8' when `t`'s own dtype is "I64" or "<i8" (its `integers`, or its values if they are whole
/// numbers); the header padded so that the data starts at a multiple of 64 bytes, as NumPy writes it.
inline std::string npy_bytes(const NamedTensor& t, const std::string& dtype = "<f4") {
  if (dtype != "<f4" && dtype != "<f8")
    throw option_error("write_npz: expected dtype '<f4' or '<f8', found '" + detail::escape_bytes(dtype) + "'");
  const bool whole = detail::is_int64_dtype(t.dtype);
  const std::vector<std::int64_t> integers = whole ? detail::int64_values(t, "write_npz") : std::vector<std::int64_t>{};
  const std::size_t given = whole ? integers.size() : t.values.size();
  std::size_t count = 0;
  if (!detail::element_count(t.shape, count) || count != given)
    throw format_error("write_npz: array '" + detail::escape_bytes(t.name) + "': expected " + std::to_string(count) +
                       " values for " + detail::shape_string(t.shape) + ", found " + std::to_string(given));
  std::string shape = "(";
  for (std::size_t k = 0; k < t.shape.size(); ++k)
    shape += std::to_string(t.shape[k]) + (k + 1 < t.shape.size() ? ", " : "");
  if (t.shape.size() == 1) shape += ",";
  shape += ")";
  std::string header =
      "{'descr': '" + (whole ? std::string("<i8") : dtype) + "', 'fortran_order': False, 'shape': " + shape + ", }";
  while ((10 + header.size() + 1) % 64 != 0) header += ' ';
  header += '\n';
  std::string out("\x93NUMPY\x01\x00", 8);
  detail::put_le(out, header.size(), 2);
  out += header;
  for (const std::int64_t v : integers) detail::append_int64_le(out, v);
  if (whole) return out;
  for (double v : t.values) {
    if (dtype == "<f8") {
      out.append(reinterpret_cast<const char*>(&v), 8);
    } else {
      const auto f = static_cast<float>(v);
      out.append(reinterpret_cast<const char*>(&f), 4);
    }
  }
  return out;
}

/// The bytes of a `.npz` archive of `tensors` ("name.npy" members, stored, in this order, with a fixed
/// time stamp so that the same tensors always give the same bytes). Names must be distinct.
inline std::string npz_bytes(const std::vector<NamedTensor>& tensors, const std::string& dtype = "<f4") {
  std::string out, directory;
  std::set<std::string> names;
  for (const NamedTensor& t : tensors) {
    if (!names.insert(t.name).second)
      throw format_error("write_npz: expected distinct array names, found '" + detail::escape_bytes(t.name) +
                         "' twice");
    const std::string member = t.name + ".npy";
    const std::string content = npy_bytes(t, dtype);
    if (content.size() >= 0xffffffffu || out.size() >= 0xffffffffu || member.size() > 0xffff)
      throw format_error("write_npz: array '" + detail::escape_bytes(t.name) +
                         "': expected an archive under 4 GiB (latent writes no zip64)");
    const auto crc = static_cast<std::uint32_t>(
        crc32_z(0, reinterpret_cast<const Bytef*>(content.data()), static_cast<z_size_t>(content.size())));
    const std::size_t local = out.size();
    // Local header: signature, version 2.0, flags 0, stored, time 0, date 1980-01-01, crc, sizes, name.
    detail::put_le(out, 0x04034b50, 4);
    detail::put_le(out, 20, 2);
    detail::put_le(out, 0, 2);
    detail::put_le(out, 0, 2);
    detail::put_le(out, 0, 2);
    detail::put_le(out, 33, 2);
    detail::put_le(out, crc, 4);
    detail::put_le(out, content.size(), 4);
    detail::put_le(out, content.size(), 4);
    detail::put_le(out, member.size(), 2);
    detail::put_le(out, 0, 2);
    out += member;
    out += content;
    detail::put_le(directory, 0x02014b50, 4);
    detail::put_le(directory, 20, 2);  // made by: version 2.0
    detail::put_le(directory, 20, 2);
    detail::put_le(directory, 0, 2);
    detail::put_le(directory, 0, 2);
    detail::put_le(directory, 0, 2);
    detail::put_le(directory, 33, 2);
    detail::put_le(directory, crc, 4);
    detail::put_le(directory, content.size(), 4);
    detail::put_le(directory, content.size(), 4);
    detail::put_le(directory, member.size(), 2);
    detail::put_le(directory, 0, 2);  // extra
    detail::put_le(directory, 0, 2);  // comment
    detail::put_le(directory, 0, 2);  // disk
    detail::put_le(directory, 0, 2);  // internal attributes
    detail::put_le(directory, 0, 4);  // external attributes
    detail::put_le(directory, local, 4);
    directory += member;
  }
  if (tensors.size() >= 0xffff || out.size() + directory.size() >= 0xffffffffu)
    throw format_error("write_npz: expected fewer than 65535 arrays and under 4 GiB (latent writes no zip64)");
  const std::size_t cd_offset = out.size();
  out += directory;
  detail::put_le(out, 0x06054b50, 4);
  detail::put_le(out, 0, 2);
  detail::put_le(out, 0, 2);
  detail::put_le(out, tensors.size(), 2);
  detail::put_le(out, tensors.size(), 2);
  detail::put_le(out, directory.size(), 4);
  detail::put_le(out, cd_offset, 4);
  detail::put_le(out, 0, 2);
  return out;
}

/// Writes `tensors` to `path` as a `.npz` archive (see `npz_bytes`), atomically.
inline void write_npz(const std::string& path, const std::vector<NamedTensor>& tensors,
                      const std::string& dtype = "<f4") {
  detail::write_file_atomically(path, npz_bytes(tensors, dtype), "write_npz");
}

}  // namespace latent
