#pragma once
/// \file
/// A small, strict CSV reader for numeric tables: `read_csv` (file) and `parse_csv` (text).
///
/// Numbers are parsed with `std::from_chars`, so the result does not depend on the C locale. Quoted
/// fields are not supported. Every error names the line (1-based, counting the header) and, where it
/// applies, the column (1-based) and the offending text.

#include <algorithm>     // std::copy
#include <charconv>      // std::from_chars
#include <cmath>         // std::isfinite
#include <cstddef>       // std::size_t
#include <cstdint>       // std::int32_t
#include <filesystem>    // std::filesystem::is_directory (a directory opens but reads as empty)
#include <fstream>       // std::ifstream
#include <iterator>      // std::istreambuf_iterator
#include <optional>      // std::optional
#include <string>        // std::string, std::to_string
#include <string_view>   // std::string_view
#include <system_error>  // std::errc
#include <vector>        // std::vector (rows as they are parsed)

#include <xtensor/xtensor.hpp>

#include "latent/core/error.hpp"
#include "latent/data/dataset.hpp"

namespace latent {

/// How to read a CSV table.
struct CsvOptions {
  /// Field separator.
  char delimiter = ',';
  /// Skip the first line (column names).
  bool header = false;
  /// 0-based column holding an integer class label (>= 0); it becomes `labels`, not a feature.
  std::optional<std::size_t> label_column;
};

namespace detail {
/// Class labels in a CSV file must be below this (a guard against a stray number in the label
/// column turning into millions of empty classes).
inline constexpr std::int32_t max_csv_classes = 1 << 16;

inline std::string_view csv_trim(std::string_view s, char delimiter) {
  auto blank = [delimiter](char c) { return (c == ' ' || c == '\t') && c != delimiter; };
  while (!s.empty() && blank(s.front())) s.remove_prefix(1);
  while (!s.empty() && blank(s.back())) s.remove_suffix(1);
  return s;
}

/// For a decimal number that `from_chars` found out of range: true when it is out of range because
/// it is tiny (|x| < 1: it underflows to a denormal or to zero), false when it is huge. The order of
/// magnitude comes from the position of the first non-zero digit and the exponent, without parsing.
inline bool csv_underflows(std::string_view num) {
  std::size_t i = (!num.empty() && num.front() == '-') ? 1 : 0;
  long long order = 0;  // decimal exponent of the first non-zero digit
  bool point = false, nonzero = false;
  for (; i < num.size() && (num[i] == '.' || (num[i] >= '0' && num[i] <= '9')); ++i) {
    if (num[i] == '.') {
      point = true;
    } else if (!nonzero) {
      if (num[i] != '0') nonzero = true;
      if (point) --order;  // a zero (or the first digit) after the point
    } else if (!point) {
      ++order;  // a further digit before the point
    }
  }
  long long exponent = 0;
  if (i < num.size() && (num[i] == 'e' || num[i] == 'E')) {
    ++i;
    const bool negative = i < num.size() && num[i] == '-';
    if (i < num.size() && (num[i] == '-' || num[i] == '+')) ++i;
    for (; i < num.size() && num[i] >= '0' && num[i] <= '9'; ++i)
      if (exponent < 1'000'000'000) exponent = exponent * 10 + (num[i] - '0');  // saturates: far beyond any range
    if (negative) exponent = -exponent;
  }
  return order + exponent < 0;
}

/// Parses a float as the nearest float, accepting values that round to a denormal or to ±0 (which
/// `from_chars` reports as out of range); nullopt for a number too large for a float.
inline std::optional<float> csv_float(std::string_view num, std::from_chars_result& r) {
  float v = 0.0f;
  r = std::from_chars(num.data(), num.data() + num.size(), v);
  if (r.ec != std::errc::result_out_of_range) return v;
  // Through double: it holds every float's denormals exactly, so one rounding gives the nearest float.
  double d = 0.0;
  r = std::from_chars(num.data(), num.data() + num.size(), d);
  if (r.ec == std::errc()) {
    v = static_cast<float>(d);
    if (std::isfinite(v)) return v;
    return std::nullopt;
  }
  if (r.ec == std::errc::result_out_of_range && csv_underflows(num)) {
    r.ec = std::errc();
    return num.front() == '-' ? -0.0f : 0.0f;
  }
  return std::nullopt;
}

inline bool csv_blank_line(std::string_view s) {
  for (char c : s) {
    if (c != ' ' && c != '\t' && c != '\r') return false;
  }
  return true;
}

inline Dataset parse_csv_impl(std::string_view text, const CsvOptions& options, const std::string& context) {
  if (options.delimiter == '\n' || options.delimiter == '\r') {
    throw option_error(context + ": expected a delimiter other than a line break");
  }
  // A UTF-8 byte-order mark, as some spreadsheet programs write.
  if (text.substr(0, 3) == "\xEF\xBB\xBF") text.remove_prefix(3);

  // Split into lines (LF or CRLF), keeping 1-based line numbers.
  std::vector<std::string_view> lines;
  for (std::size_t pos = 0; pos < text.size();) {
    std::size_t end = text.find('\n', pos);
    if (end == std::string_view::npos) end = text.size();
    std::string_view line = text.substr(pos, end - pos);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    lines.push_back(line);
    pos = end + 1;
  }
  std::size_t last = lines.size();  // blank lines at the end are accepted and ignored
  while (last > 0 && csv_blank_line(lines[last - 1])) --last;
  const std::size_t first = options.header ? 1 : 0;
  if (last <= first) {
    throw data_error(context + ": expected at least one row of data, found " +
                     (text.empty() ? std::string("an empty file") : std::string("none")));
  }

  std::size_t fields = 0;
  std::vector<float> values;
  std::vector<std::int32_t> labels;
  for (std::size_t li = first; li < last; ++li) {
    const std::string line_no = std::to_string(li + 1);
    const std::string_view line = lines[li];
    if (csv_blank_line(line)) {
      throw format_error(context + ": line " + line_no + ": expected a row of data, found an empty line");
    }
    std::size_t count = 0;
    std::size_t pos = 0;
    while (true) {
      std::size_t end = line.find(options.delimiter, pos);
      if (end == std::string_view::npos) end = line.size();
      const std::string_view field = csv_trim(line.substr(pos, end - pos), options.delimiter);
      const std::string where = context + ": line " + line_no + ", column " + std::to_string(count + 1);
      if (field.empty()) throw format_error(where + ": expected a number, found an empty field");
      if (options.label_column && count == *options.label_column) {
        std::int32_t label = 0;
        const auto r = std::from_chars(field.data(), field.data() + field.size(), label);
        if (r.ec != std::errc() || r.ptr != field.data() + field.size()) {
          throw format_error(where + ": expected an integer class label, found '" + escape_bytes(field) + "'");
        }
        if (label < 0 || label >= max_csv_classes) {
          throw data_error(where + ": expected a class label in [0, " + std::to_string(max_csv_classes) + "), found " +
                           std::to_string(label));
        }
        labels.push_back(label);
      } else {
        // from_chars does not accept a leading '+'; a CSV written by hand might have one.
        std::string_view num = field;
        if (num.size() > 1 && num.front() == '+' && num[1] != '-' && num[1] != '+') num.remove_prefix(1);
        std::from_chars_result r{};
        const std::optional<float> v = csv_float(num, r);
        if (r.ec != std::errc() && r.ec != std::errc::result_out_of_range) {
          throw format_error(where + ": expected a number, found '" + escape_bytes(field) + "'");
        }
        if (r.ptr != num.data() + num.size()) {
          throw format_error(where + ": expected a number, found '" + escape_bytes(field) + "'");
        }
        if (!v) {
          throw data_error(where + ": expected a finite number, found '" + escape_bytes(field) +
                           "' (out of the range of float)");
        }
        if (!std::isfinite(*v)) {
          throw data_error(where + ": expected a finite number, found '" + escape_bytes(field) + "'");
        }
        values.push_back(*v);
      }
      ++count;
      if (end == line.size()) break;
      pos = end + 1;
    }
    if (li == first) {
      fields = count;
      if (options.label_column && *options.label_column >= fields) {
        throw option_error(context + ": expected label_column < " + std::to_string(fields) +
                           " (the number of fields on line " + line_no + "), found " +
                           std::to_string(*options.label_column));
      }
    } else if (count != fields) {
      throw format_error(context + ": line " + line_no + ": expected " + std::to_string(fields) +
                         " fields (as on line " + std::to_string(first + 1) + "), found " + std::to_string(count));
    }
  }

  Dataset d;
  const std::size_t rows = last - first;
  const std::size_t width = options.label_column ? fields - 1 : fields;
  if (width == 0)
    throw data_error(context + ": expected at least one feature column besides the label column, found none");
  d.x = xt::xtensor<float, 2>::from_shape({rows, width});
  std::copy(values.begin(), values.end(), d.x.begin());
  d.labels = xt::xtensor<std::int32_t, 1>::from_shape({labels.size()});
  std::copy(labels.begin(), labels.end(), d.labels.begin());
  if (!labels.empty()) {
    std::int32_t max_label = 0;
    for (std::int32_t l : labels) max_label = l > max_label ? l : max_label;
    d.num_classes = static_cast<std::size_t>(max_label) + 1;
    for (std::size_t c = 0; c < d.num_classes; ++c) d.class_names.push_back(std::to_string(c));
  }
  return d;
}

}  // namespace detail

/// Parses CSV text into a `Dataset`: every field a number (features), except `label_column`, whose
/// integers become `labels` (`num_classes` = largest label + 1, class names "0", "1", ...).
/// Accepts LF or CRLF line ends, a trailing newline and blank lines at the end. A number too small
/// for a float (1e-50) becomes the nearest float, a denormal or ±0.
/// Throws `format_error` for a field that is not a number or a row with a different number of
/// fields than the first (naming the line, expected and found counts), `data_error` for an empty
/// table, NaN/Inf values, a number too large for a float or a negative label, and `option_error` for
/// a `label_column` out of range. A cell quoted in a message has its control bytes escaped (`\x01`).
inline Dataset parse_csv(std::string_view text, const CsvOptions& options = {}) {
  return detail::parse_csv_impl(text, options, "parse_csv");
}

/// Reads a CSV file into a `Dataset`; see `parse_csv` for the rules. Throws `io_error` when the
/// file cannot be opened or read; every other message starts with the path.
inline Dataset read_csv(const std::string& path, const CsvOptions& options = {}) {
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) {
    throw io_error("read_csv: " + path + ": expected a file, found a directory");
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) throw io_error("read_csv: " + path + ": cannot open for reading");
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (in.bad()) throw io_error("read_csv: " + path + ": read error");
  return detail::parse_csv_impl(text, options, "read_csv: " + path);
}

}  // namespace latent
