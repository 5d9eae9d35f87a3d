#pragma once
/// \file
/// `latent::read_safetensors` / `latent::write_safetensors`: Hugging Face's safetensors format
/// (https://huggingface.co/docs/safetensors), what PyTorch users save a `state_dict` as.
///
/// Layout: N, the header's length (u64, little-endian); N bytes of JSON, an object whose members are
/// `"name": {"dtype": "F32", "shape": [400, 784], "data_offsets": [begin, end]}` (offsets into the
/// data after the header) and an optional `"__metadata__": {"key": "value", ...}`; then the data,
/// raw little-endian row-major tensors.
///
/// The reader trusts nothing: N is checked against the file's length before the header is read; the
/// header is parsed by a small strict JSON parser (nesting at most 8 deep, no duplicate names, every
/// number a non-negative integer); every tensor's byte count must equal its shape's product times its
/// type's size, its range must lie inside the data, no two ranges may overlap and together they must
/// cover the data exactly (the format forbids holes). F32 and F64 are read as they are, F16 and BF16
/// converted exactly, I64 (PyTorch's BatchNorm counter) into `integers` exactly and `values` as
/// doubles; any other type (other integers, F8, bool) is refused with its name. The tensors come back
/// in the header's order.

#include "latent/core/error.hpp"
#include "latent/io/atomic_file.hpp"
#include "latent/io/named_tensor.hpp"

#include <algorithm>    // std::sort
#include <cstddef>      // std::size_t
#include <cstdint>      // std::int64_t, std::uint16_t, std::uint32_t, std::uint64_t
#include <cstring>      // std::memcpy
#include <set>          // std::set: duplicate names
#include <string>       // std::string
#include <string_view>  // std::string_view
#include <utility>      // std::pair
#include <vector>       // std::vector

namespace latent {

namespace detail {

/// A JSON value of the safetensors header: what the format uses (objects in their order, arrays,
/// strings, non-negative integers); `true`, `false`, `null` and other numbers are parsed and kept as
/// text so that an unknown metadata value cannot break the reader.
struct json_value {
  enum kind_t { object, array, string, integer, other } kind = other;
  // An object's member names; its values, and an array's, in `items` (a vector of pairs would need
  // json_value complete here, which libstdc++ refuses under clang).
  std::vector<std::string> keys;
  std::vector<json_value> items;
  std::string text;          // string (unescaped) or other (raw)
  std::uint64_t number = 0;  // integer
};

/// A strict parser of RFC 8259 JSON for the safetensors header. Errors are `format_error`s that give
/// the byte position and what was expected.
class json_parser {
 public:
  json_parser(std::string_view text, std::string context) : s_(text), context_(std::move(context)) {}

  json_value parse_document() {
    json_value v = value(0);
    skip_space();
    if (at_ != s_.size()) fail("expected the end of the header after its JSON object");
    return v;
  }

 private:
  static constexpr int max_depth = 8;

  [[noreturn]] void fail(const std::string& what) const {
    std::string found = at_ < s_.size() ? "'" + escape_bytes(s_.substr(at_, 16)) + "'" : "the end of the header";
    throw format_error(context_ + ": invalid JSON header at byte " + std::to_string(at_) + ": " + what + ", found " +
                       found);
  }
  void skip_space() noexcept {
    while (at_ < s_.size() && (s_[at_] == ' ' || s_[at_] == '\t' || s_[at_] == '\n' || s_[at_] == '\r')) ++at_;
  }
  bool take(char c) {
    skip_space();
    if (at_ < s_.size() && s_[at_] == c) {
      ++at_;
      return true;
    }
    return false;
  }
  void expect(char c) {
    if (!take(c)) fail(std::string("expected '") + c + "'");
  }

  json_value value(int depth) {
    if (depth > max_depth) fail("expected at most " + std::to_string(max_depth) + " levels of nesting");
    skip_space();
    if (at_ >= s_.size()) fail("expected a value");
    json_value v;
    const char c = s_[at_];
    if (c == '{') {
      ++at_;
      v.kind = json_value::object;
      std::set<std::string> seen;
      if (take('}')) return v;
      do {
        skip_space();
        if (at_ >= s_.size() || s_[at_] != '"') fail("expected a member name in quotes");
        std::string key = string();
        if (!seen.insert(key).second) fail("expected distinct member names, '" + escape_bytes(key) + "' repeats");
        expect(':');
        v.keys.push_back(std::move(key));
        v.items.push_back(value(depth + 1));
      } while (take(','));
      expect('}');
    } else if (c == '[') {
      ++at_;
      v.kind = json_value::array;
      if (take(']')) return v;
      do v.items.push_back(value(depth + 1));
      while (take(','));
      expect(']');
    } else if (c == '"') {
      v.kind = json_value::string;
      v.text = string();
    } else if (c >= '0' && c <= '9') {
      v.kind = json_value::integer;
      if (c == '0' && at_ + 1 < s_.size() && s_[at_ + 1] >= '0' && s_[at_ + 1] <= '9') fail("expected no leading zero");
      while (at_ < s_.size() && s_[at_] >= '0' && s_[at_] <= '9') {
        const auto d = static_cast<std::uint64_t>(s_[at_] - '0');
        if (v.number > (std::uint64_t(1) << 53) / 10) fail("expected an integer below 2^53");
        v.number = v.number * 10 + d;
        ++at_;
      }
      if (at_ < s_.size() && (s_[at_] == '.' || s_[at_] == 'e' || s_[at_] == 'E')) {
        v.kind = json_value::other;  // a fraction or exponent: kept as text (metadata only)
        while (at_ < s_.size() && std::string_view("0123456789.eE+-").find(s_[at_]) != std::string_view::npos) ++at_;
      }
    } else if (c == '-') {
      v.kind = json_value::other;
      ++at_;
      if (at_ >= s_.size() || s_[at_] < '0' || s_[at_] > '9') fail("expected a digit after '-'");
      while (at_ < s_.size() && std::string_view("0123456789.eE+-").find(s_[at_]) != std::string_view::npos) ++at_;
    } else {
      for (std::string_view word : {"true", "false", "null"})
        if (s_.substr(at_, word.size()) == word) {
          at_ += word.size();
          v.text = word;
          return v;
        }
      fail("expected a value");
    }
    return v;
  }

  // A string from its opening quote; escapes decoded (\uXXXX as UTF-8, surrogate pairs joined).
  std::string string() {
    ++at_;
    std::string out;
    for (;;) {
      if (at_ >= s_.size()) fail("expected a closing quote");
      const auto c = static_cast<unsigned char>(s_[at_++]);
      if (c == '"') return out;
      if (c < 0x20) {
        --at_;
        fail("expected no control byte inside a string");
      }
      if (c != '\\') {
        out += static_cast<char>(c);
        continue;
      }
      if (at_ >= s_.size()) fail("expected an escape");
      const char e = s_[at_++];
      switch (e) {
        case '"': out += '"'; break;
        case '\\': out += '\\'; break;
        case '/': out += '/'; break;
        case 'b': out += '\b'; break;
        case 'f': out += '\f'; break;
        case 'n': out += '\n'; break;
        case 'r': out += '\r'; break;
        case 't': out += '\t'; break;
        case 'u': {
          std::uint32_t cp = hex4();
          if (cp >= 0xD800 && cp < 0xDC00) {
            if (s_.substr(at_, 2) != "\\u") fail("expected a low surrogate");
            at_ += 2;
            const std::uint32_t low = hex4();
            if (low < 0xDC00 || low >= 0xE000) fail("expected a low surrogate");
            cp = 0x10000 + ((cp - 0xD800) << 10) + (low - 0xDC00);
          } else if (cp >= 0xDC00 && cp < 0xE000) {
            fail("expected no lone low surrogate");
          }
          if (cp < 0x80) {
            out += static_cast<char>(cp);
          } else if (cp < 0x800) {
            out += static_cast<char>(0xC0 | (cp >> 6));
            out += static_cast<char>(0x80 | (cp & 63));
          } else if (cp < 0x10000) {
            out += static_cast<char>(0xE0 | (cp >> 12));
            out += static_cast<char>(0x80 | ((cp >> 6) & 63));
            out += static_cast<char>(0x80 | (cp & 63));
          } else {
            out += static_cast<char>(0xF0 | (cp >> 18));
            out += static_cast<char>(0x80 | ((cp >> 12) & 63));
            out += static_cast<char>(0x80 | ((cp >> 6) & 63));
            out += static_cast<char>(0x80 | (cp & 63));
          }
          break;
        }
        default: --at_; fail("expected a valid escape");
      }
    }
  }
  std::uint32_t hex4() {
    if (at_ + 4 > s_.size()) fail("expected four hexadecimal digits");
    std::uint32_t v = 0;
    for (int i = 0; i < 4; ++i) {
      const char h = s_[at_];
      v <<= 4;
      if (h >= '0' && h <= '9')
        v |= static_cast<std::uint32_t>(h - '0');
      else if (h >= 'a' && h <= 'f')
        v |= static_cast<std::uint32_t>(h - 'a' + 10);
      else if (h >= 'A' && h <= 'F')
        v |= static_cast<std::uint32_t>(h - 'A' + 10);
      else
        fail("expected a hexadecimal digit");
      ++at_;
    }
    return v;
  }

  std::string_view s_;
  std::string context_;
  std::size_t at_ = 0;
};

/// A name as JSON text, quoted, with quotes, backslashes and control bytes escaped.
inline std::string json_quote(std::string_view s) {
  constexpr char hex[] = "0123456789abcdef";
  std::string out = "\"";
  for (char ch : s) {
    const auto c = static_cast<unsigned char>(ch);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += ch;
    } else if (c < 0x20) {
      out += "\\u00";
      out += hex[c >> 4];
      out += hex[c & 15];
    } else {
      out += ch;
    }
  }
  return out + "\"";
}

// The safetensors header is at most 100 MB (the reference implementation's limit).
inline constexpr std::uint64_t safetensors_header_limit = 100'000'000;

inline std::size_t safetensors_dtype_size(std::string_view dtype) noexcept {
  if (dtype == "F64" || dtype == "I64") return 8;
  if (dtype == "F32") return 4;
  if (dtype == "F16" || dtype == "BF16") return 2;
  return 0;
}

}  // namespace detail

/// The tensors of the safetensors bytes `bytes` (`context` starts the messages, e.g. the path), in the
/// header's order; with the header's `__metadata__` (string values) in `metadata` if it is given.
/// Anything that is not a valid safetensors file of F64/F32/F16/BF16/I64 tensors is a `format_error`.
inline std::vector<NamedTensor> parse_safetensors(
    std::string_view bytes, const std::string& context,
    std::vector<std::pair<std::string, std::string>>* metadata = nullptr) {
  if (bytes.size() < 8)
    throw format_error(context + ": expected a safetensors file (8 bytes of header length, then the header), found " +
                       std::to_string(bytes.size()) + " bytes");
  std::uint64_t n = 0;
  for (int i = 7; i >= 0; --i) n = n << 8 | static_cast<unsigned char>(bytes[static_cast<std::size_t>(i)]);
  if (n > detail::safetensors_header_limit || n > bytes.size() - 8)
    throw format_error(context + ": expected a header length of at most " +
                       std::to_string(std::min<std::uint64_t>(detail::safetensors_header_limit, bytes.size() - 8)) +
                       " bytes (the file's size after the length), found " + std::to_string(n));
  if (n < 2 || bytes[8] != '{')
    throw format_error(context + ": expected a safetensors header starting with '{', found '" +
                       detail::escape_bytes(bytes.substr(8, 8)) + "'");
  const std::string_view header = bytes.substr(8, static_cast<std::size_t>(n));
  const std::string_view data = bytes.substr(8 + static_cast<std::size_t>(n));
  const detail::json_value root = detail::json_parser(header, context).parse_document();
  if (root.kind != detail::json_value::object)
    throw format_error(context + ": expected the safetensors header to be a JSON object");

  std::vector<NamedTensor> tensors;
  std::vector<std::pair<std::uint64_t, std::uint64_t>> ranges;  // data_offsets, for the overlap check
  for (std::size_t m = 0; m < root.keys.size(); ++m) {
    const std::string& name = root.keys[m];
    const detail::json_value& v = root.items[m];
    const std::string where = context + ": tensor '" + detail::escape_bytes(name) + "'";
    if (name == "__metadata__") {
      if (v.kind != detail::json_value::object)
        throw format_error(context + ": expected __metadata__ to be an object of strings");
      for (std::size_t k = 0; k < v.keys.size(); ++k) {
        const std::string& key = v.keys[k];
        const detail::json_value& value = v.items[k];
        if (value.kind != detail::json_value::string)
          throw format_error(context + ": expected __metadata__ '" + detail::escape_bytes(key) + "' to be a string");
        if (metadata != nullptr) metadata->emplace_back(key, value.text);
      }
      continue;
    }
    if (v.kind != detail::json_value::object)
      throw format_error(where + ": expected an object with dtype, shape and data_offsets");
    const detail::json_value *dtype = nullptr, *shape = nullptr, *offsets = nullptr;
    for (std::size_t k = 0; k < v.keys.size(); ++k) {
      const std::string& key = v.keys[k];
      const detail::json_value& field = v.items[k];
      if (key == "dtype")
        dtype = &field;
      else if (key == "shape")
        shape = &field;
      else if (key == "data_offsets")
        offsets = &field;
      else
        throw format_error(where + ": expected only dtype, shape and data_offsets, found '" +
                           detail::escape_bytes(key) + "'");
    }
    if (dtype == nullptr || dtype->kind != detail::json_value::string)
      throw format_error(where + ": expected a dtype string");
    if (shape == nullptr || shape->kind != detail::json_value::array)
      throw format_error(where + ": expected a shape array");
    if (offsets == nullptr || offsets->kind != detail::json_value::array || offsets->items.size() != 2 ||
        offsets->items[0].kind != detail::json_value::integer || offsets->items[1].kind != detail::json_value::integer)
      throw format_error(where + ": expected data_offsets as two integers [begin, end]");
    const std::size_t size = detail::safetensors_dtype_size(dtype->text);
    if (size == 0)
      throw format_error(where + ": expected dtype F32, F64, F16, BF16 or I64, found '" +
                         detail::escape_bytes(dtype->text) + "'");
    NamedTensor t;
    t.name = name;
    t.dtype = dtype->text;
    for (const auto& d : shape->items) {
      if (d.kind != detail::json_value::integer) throw format_error(where + ": expected shape entries to be integers");
      t.shape.push_back(static_cast<std::size_t>(d.number));
    }
    std::size_t count = 0;
    if (!detail::element_count(t.shape, count) || count > data.size() / size)
      throw format_error(where + ": expected a shape whose bytes fit in the file's " + std::to_string(data.size()) +
                         " data bytes, found " + detail::shape_string(t.shape) + " of " + t.dtype);
    const std::uint64_t begin = offsets->items[0].number, end = offsets->items[1].number;
    if (begin > end || end > data.size())
      throw format_error(where + ": expected data_offsets within the " + std::to_string(data.size()) +
                         " data bytes, found [" + std::to_string(begin) + ", " + std::to_string(end) + "]");
    if (end - begin != count * size)
      throw format_error(where + ": expected " + std::to_string(count * size) + " bytes for " +
                         detail::shape_string(t.shape) + " of " + t.dtype + ", found data_offsets [" +
                         std::to_string(begin) + ", " + std::to_string(end) + "] (" + std::to_string(end - begin) +
                         " bytes)");
    ranges.emplace_back(begin, end);
    tensors.push_back(std::move(t));
  }
  // No two tensors may share bytes, and together they cover the data without holes.
  std::vector<std::size_t> order(ranges.size());
  for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) { return ranges[a] < ranges[b]; });
  std::uint64_t covered = 0;
  for (std::size_t k = 0; k < order.size(); ++k) {
    const auto [begin, end] = ranges[order[k]];
    if (begin < covered)
      throw format_error(context + ": tensor '" + detail::escape_bytes(tensors[order[k]].name) +
                         "': expected data_offsets that overlap no other tensor's, found [" + std::to_string(begin) +
                         ", " + std::to_string(end) + "] overlapping '" +
                         detail::escape_bytes(tensors[order[k - 1]].name) + "'");
    if (begin > covered)
      throw format_error(context + ": expected the tensors to cover the data without holes, found bytes [" +
                         std::to_string(covered) + ", " + std::to_string(begin) + ") that no tensor uses");
    covered = end;
  }
  if (covered != data.size())
    throw format_error(context + ": expected the tensors to cover the data without holes, found bytes [" +
                       std::to_string(covered) + ", " + std::to_string(data.size()) + ") that no tensor uses");

  for (std::size_t i = 0; i < tensors.size(); ++i) {
    NamedTensor& t = tensors[i];
    const std::size_t size = detail::safetensors_dtype_size(t.dtype);
    const std::size_t count = static_cast<std::size_t>(ranges[i].second - ranges[i].first) / size;
    const char* p = data.data() + ranges[i].first;
    t.values.resize(count);
    if (t.dtype == "I64") t.integers.resize(count);
    for (std::size_t j = 0; j < count; ++j, p += size) {
      if (t.dtype == "I64") {
        std::uint64_t bits = 0;
        for (std::size_t b = 8; b-- > 0;) bits = bits << 8 | static_cast<unsigned char>(p[b]);
        t.integers[j] = static_cast<std::int64_t>(bits);  // two's complement (C++20)
        t.values[j] = static_cast<double>(t.integers[j]);
      } else if (t.dtype == "F64") {
        double v;
        std::memcpy(&v, p, 8);
        t.values[j] = v;
      } else if (t.dtype == "F32") {
        float v;
        std::memcpy(&v, p, 4);
        t.values[j] = v;
      } else {
        std::uint16_t h;
        std::memcpy(&h, p, 2);
        if (t.dtype == "F16") {
          t.values[j] = detail::half_to_double(h);
        } else {  // BF16: the upper half of an f32
          const std::uint32_t bits = static_cast<std::uint32_t>(h) << 16;
          float v;
          std::memcpy(&v, &bits, 4);
          t.values[j] = v;
        }
      }
    }
  }
  return tensors;
}

/// The tensors of the safetensors file `path`, in its header's order (see `parse_safetensors`).
inline std::vector<NamedTensor> read_safetensors(const std::string& path) {
  return parse_safetensors(detail::read_whole_file(path, "read_safetensors"), "read_safetensors: " + path);
}

/// The bytes of a safetensors file holding `tensors` in their order, as F32 (`dtype` "F32") or F64
/// ("F64") — except a tensor whose own dtype is "I64" or "<i8", written as I64 (its `integers`, or its
/// values if they are whole numbers) — with string `metadata` (`__metadata__`, written first when not
/// empty). Names must be distinct and not "__metadata__" (`format_error` otherwise); each tensor's
/// values must match its shape.
inline std::string safetensors_bytes(const std::vector<NamedTensor>& tensors, const std::string& dtype = "F32",
                                     const std::vector<std::pair<std::string, std::string>>& metadata = {}) {
  if (dtype != "F32" && dtype != "F64")
    throw option_error("write_safetensors: expected dtype F32 or F64, found '" + detail::escape_bytes(dtype) + "'");
  const std::size_t size = dtype == "F64" ? 8 : 4;
  std::string header = "{";
  if (!metadata.empty()) {
    header += "\"__metadata__\":{";
    for (std::size_t i = 0; i < metadata.size(); ++i) {
      if (i != 0) header += ',';
      header += detail::json_quote(metadata[i].first);
      header += ':';
      header += detail::json_quote(metadata[i].second);
    }
    header += "}";
  }
  std::set<std::string> names;
  std::size_t offset = 0;
  std::vector<std::vector<std::int64_t>> integers(tensors.size());  // the I64 tensors' values
  for (std::size_t i = 0; i < tensors.size(); ++i) {
    const NamedTensor& t = tensors[i];
    if (t.name == "__metadata__" || !names.insert(t.name).second)
      throw format_error("write_safetensors: expected distinct tensor names other than __metadata__, found '" +
                         detail::escape_bytes(t.name) + "' twice or reserved");
    const bool whole = detail::is_int64_dtype(t.dtype);
    if (whole) integers[i] = detail::int64_values(t, "write_safetensors");
    const std::size_t given = whole ? integers[i].size() : t.values.size();
    std::size_t count = 0;
    if (!detail::element_count(t.shape, count) || count != given)
      throw format_error("write_safetensors: tensor '" + detail::escape_bytes(t.name) + "': expected " +
                         std::to_string(count) + " values for " + detail::shape_string(t.shape) + ", found " +
                         std::to_string(given));
    const std::size_t bytes = whole ? 8 : size;
    if (header.size() > 1) header += ",";
    header += detail::json_quote(t.name) + ":{\"dtype\":\"" + (whole ? std::string("I64") : dtype) + "\",\"shape\":[";
    for (std::size_t k = 0; k < t.shape.size(); ++k) {
      if (k != 0) header += ',';
      header += std::to_string(t.shape[k]);
    }
    header += "],\"data_offsets\":[" + std::to_string(offset) + "," + std::to_string(offset + count * bytes) + "]}";
    offset += count * bytes;
  }
  header += "}";
  while (header.size() % 8 != 0) header += ' ';  // the data stays 8-byte aligned, as the reference writer does
  std::string out;
  out.reserve(8 + header.size() + offset);
  const std::uint64_t n = header.size();
  for (int i = 0; i < 8; ++i) out += static_cast<char>((n >> (8 * i)) & 0xff);
  out += header;
  for (std::size_t i = 0; i < tensors.size(); ++i) {
    if (detail::is_int64_dtype(tensors[i].dtype)) {
      for (const std::int64_t v : integers[i]) detail::append_int64_le(out, v);
      continue;
    }
    for (double v : tensors[i].values) {
      if (size == 8) {
        out.append(reinterpret_cast<const char*>(&v), 8);
      } else {
        const auto f = static_cast<float>(v);
        out.append(reinterpret_cast<const char*>(&f), 4);
      }
    }
  }
  return out;
}

/// Writes `tensors` to `path` as a safetensors file (see `safetensors_bytes`), atomically.
inline void write_safetensors(const std::string& path, const std::vector<NamedTensor>& tensors,
                              const std::string& dtype = "F32",
                              const std::vector<std::pair<std::string, std::string>>& metadata = {}) {
  detail::write_file_atomically(path, safetensors_bytes(tensors, dtype, metadata), "write_safetensors");
}

}  // namespace latent
