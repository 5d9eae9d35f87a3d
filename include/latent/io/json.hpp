#pragma once
/// \file
/// `latent::json`: a small strict JSON (RFC 8259) reader and writer, for the configuration files of
/// other tools (SAELens's `cfg.json`, see interchange/saelens_files.hpp).
///
/// Why not nlohmann/json (Debian's nlohmann-json3-dev): latent is header-only and asks its users for
/// xtensor, xsimd and Boost only; one more dependency for a file of a few dozen keys costs every user an
/// install and every consumer test a `find_package`. And what latent needs from JSON is narrow: read
/// every value exactly as written (numbers are kept as their text, so 1e-3 or a 20-digit integer
/// round-trips unchanged), refuse anything that is not JSON with the byte where it goes wrong, and
/// write it back indented. That fits in this header.
///
/// The reader accepts exactly RFC 8259: objects, arrays, strings (escapes, \uXXXX with surrogate pairs
/// joined, UTF-8 checked), numbers in JSON's grammar, `true`, `false`, `null`; white space between
/// tokens. It refuses, naming the byte offset (with line and column) and what it expected: a byte
/// order mark, Python's `NaN` and `Infinity` (which `json.dump` writes and JSON does not allow), a
/// member name that repeats in one object (Python keeps the last silently), nesting deeper than 64,
/// control bytes and invalid UTF-8 in strings, and anything after the document.

#include "latent/core/error.hpp"

#include <charconv>      // std::from_chars: numbers without the C locale
#include <cstddef>       // std::size_t
#include <cstdint>       // std::int64_t, std::uint32_t
#include <limits>        // std::numeric_limits: a literal beyond double's range is infinite
#include <optional>      // std::optional: a number that does not fit
#include <set>           // std::set: repeated member names
#include <string>        // std::string
#include <string_view>   // std::string_view
#include <system_error>  // std::errc
#include <utility>       // std::move
#include <vector>        // std::vector

namespace latent::json {

/// What a JSON value is.
enum class kind { null, boolean, number, string, array, object };

/// One JSON value, as read: an object keeps its members in the file's order (`keys[i]` names
/// `items[i]`), an array its elements in `items`; a number keeps its text exactly as written.
struct value {
  json::kind type = json::kind::null;
  bool boolean = false;                ///< a boolean's value
  std::string text;                    ///< a string's value (unescaped, UTF-8), or a number's literal
  std::vector<std::string> keys = {};  ///< an object's member names
  std::vector<value> items = {};       ///< an object's member values, or an array's elements
  std::size_t offset = 0;              ///< where the value starts in the text read (for messages)

  /// The member `key` of an object, or nullptr (also when this is not an object).
  const value* find(std::string_view key) const noexcept {
    if (type != json::kind::object) return nullptr;
    for (std::size_t i = 0; i < keys.size(); ++i)
      if (keys[i] == key) return &items[i];
    return nullptr;
  }
  /// True for a number written without a fraction or an exponent ("12", "-3"; not "12.0").
  bool is_integer() const noexcept {
    return type == json::kind::number && text.find_first_of(".eE") == std::string::npos;
  }
  /// An integer's value, or nullopt if this is not an integer or it does not fit in int64.
  std::optional<std::int64_t> integer() const noexcept {
    if (!is_integer()) return std::nullopt;
    std::int64_t v = 0;
    const auto r = std::from_chars(text.data(), text.data() + text.size(), v);
    if (r.ec != std::errc() || r.ptr != text.data() + text.size()) return std::nullopt;
    return v;
  }
  /// A number's value as the nearest double (±inf for a literal beyond double's range, as
  /// Python's float() gives), or nullopt if this is not a number.
  std::optional<double> number() const noexcept {
    if (type != json::kind::number) return std::nullopt;
    double v = 0;
    const auto r = std::from_chars(text.data(), text.data() + text.size(), v);
    if (r.ec == std::errc::result_out_of_range) {
      // from_chars leaves v unchanged on overflow and underflow: tell them apart by the exponent's sign.
      const std::size_t e = text.find_first_of("eE");
      const bool tiny = e != std::string::npos && e + 1 < text.size() && text[e + 1] == '-';
      const bool negative = !text.empty() && text[0] == '-';
      v = tiny ? 0.0 : std::numeric_limits<double>::infinity();
      return negative ? -v : v;
    }
    if (r.ec != std::errc() || r.ptr != text.data() + text.size()) return std::nullopt;
    return v;
  }
};

/// "an object", "a string", ...: a kind as the error messages name it.
inline const char* kind_name(json::kind k) noexcept {
  switch (k) {
    case json::kind::null: return "null";
    case json::kind::boolean: return "a boolean";
    case json::kind::number: return "a number";
    case json::kind::string: return "a string";
    case json::kind::array: return "an array";
    case json::kind::object: return "an object";
  }
  return "a value";
}

namespace detail {

/// The strict reader behind `json::parse`; every error is a `format_error` that starts with the
/// context and gives the byte offset, line and column, what was expected and what was found.
class reader {
 public:
  reader(std::string_view text, const std::string& context) : s_(text), context_(context) {}

  value document() {
    if (s_.substr(0, 3) == "\xEF\xBB\xBF") fail("expected JSON text without a byte order mark");
    value v = parse_value(0);
    skip_space();
    if (at_ != s_.size()) fail("expected the end of the text after the JSON value");
    return v;
  }

 private:
  static constexpr int max_depth = 64;

  [[noreturn]] void fail(const std::string& what) const { fail_at(at_, what); }
  [[noreturn]] void fail_at(std::size_t at, const std::string& what) const {
    std::size_t line = 1, column = 1;
    for (std::size_t i = 0; i < at && i < s_.size(); ++i) {
      if (s_[i] == '\n') {
        ++line;
        column = 1;
      } else {
        ++column;
      }
    }
    const std::string found =
        at < s_.size() ? "'" + latent::detail::escape_bytes(s_.substr(at, 16), 16) + "'" : "the end of the text";
    throw format_error(context_ + ": invalid JSON at byte " + std::to_string(at) + " (line " + std::to_string(line) +
                       ", column " + std::to_string(column) + "): " + what + ", found " + found);
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
  bool is_digit(std::size_t i) const noexcept { return i < s_.size() && s_[i] >= '0' && s_[i] <= '9'; }

  value parse_value(int depth) {
    skip_space();
    if (at_ >= s_.size()) fail("expected a JSON value");
    value v;
    v.offset = at_;
    const char c = s_[at_];
    if (c == '{' || c == '[') {
      if (depth >= max_depth) fail("expected at most " + std::to_string(max_depth) + " levels of nesting");
      ++at_;
      const bool object = c == '{';
      v.type = object ? json::kind::object : json::kind::array;
      std::set<std::string> seen;
      if (take(object ? '}' : ']')) return v;
      do {
        if (object) {
          skip_space();
          if (at_ >= s_.size() || s_[at_] != '"') fail("expected a member name in double quotes");
          const std::size_t name_at = at_;
          std::string key = parse_string();
          if (!seen.insert(key).second)
            fail_at(name_at,
                    "expected distinct member names in an object, '" + latent::detail::escape_bytes(key) + "' repeats");
          if (!take(':')) fail("expected ':' after a member name");
          v.keys.push_back(std::move(key));
        }
        v.items.push_back(parse_value(depth + 1));
      } while (take(','));
      if (!take(object ? '}' : ']'))
        fail(object ? "expected ',' or '}' in an object" : "expected ',' or ']' in an array");
    } else if (c == '"') {
      v.type = json::kind::string;
      v.text = parse_string();
    } else if (c == '-' || (c >= '0' && c <= '9')) {
      v.type = json::kind::number;
      v.text = parse_number();
    } else if (s_.substr(at_, 4) == "true" || s_.substr(at_, 5) == "false") {
      v.type = json::kind::boolean;
      v.boolean = c == 't';
      at_ += v.boolean ? 4 : 5;
    } else if (s_.substr(at_, 4) == "null") {
      at_ += 4;
    } else if (s_.substr(at_, 3) == "NaN" || s_.substr(at_, 8) == "Infinity") {
      fail("expected a JSON value (NaN and Infinity, which Python's json module writes, are not JSON)");
    } else {
      fail("expected a JSON value (an object, array, string, number, true, false or null)");
    }
    return v;
  }

  // A number in RFC 8259's grammar: -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)?
  std::string parse_number() {
    const std::size_t begin = at_;
    if (s_[at_] == '-') ++at_;
    if (s_.substr(at_, 8) == "Infinity")
      fail("expected a JSON value (NaN and Infinity, which Python's json module writes, are not JSON)");
    if (!is_digit(at_)) fail("expected a digit");
    if (s_[at_] == '0' && is_digit(at_ + 1)) fail_at(at_ + 1, "expected no leading zero in a number");
    while (is_digit(at_)) ++at_;
    if (at_ < s_.size() && s_[at_] == '.') {
      ++at_;
      if (!is_digit(at_)) fail("expected a digit after the decimal point");
      while (is_digit(at_)) ++at_;
    }
    if (at_ < s_.size() && (s_[at_] == 'e' || s_[at_] == 'E')) {
      ++at_;
      if (at_ < s_.size() && (s_[at_] == '+' || s_[at_] == '-')) ++at_;
      if (!is_digit(at_)) fail("expected a digit in the exponent");
      while (is_digit(at_)) ++at_;
    }
    return std::string(s_.substr(begin, at_ - begin));
  }

  // A string from its opening quote: escapes decoded (\uXXXX as UTF-8, surrogate pairs joined), raw
  // bytes checked to be UTF-8 (no overlong forms, no surrogates, nothing above U+10FFFF).
  std::string parse_string() {
    ++at_;
    std::string out;
    for (;;) {
      if (at_ >= s_.size()) fail("expected a closing double quote");
      const auto c = static_cast<unsigned char>(s_[at_]);
      if (c == '"') {
        ++at_;
        return out;
      }
      if (c < 0x20) fail("expected no control byte inside a string (write it as an escape)");
      if (c == '\\') {
        escape(out);
        continue;
      }
      if (c < 0x80) {
        out += static_cast<char>(c);
        ++at_;
        continue;
      }
      const std::size_t n = utf8_length(at_);
      if (n == 0) fail("expected UTF-8 text in a string");
      out.append(s_.substr(at_, n));
      at_ += n;
    }
  }
  // The length of the valid UTF-8 sequence at `i`, or 0.
  std::size_t utf8_length(std::size_t i) const noexcept {
    const auto b = [&](std::size_t k) { return i + k < s_.size() ? static_cast<unsigned char>(s_[i + k]) : 0u; };
    const unsigned c = b(0);
    const auto cont = [&](std::size_t k) { return (b(k) & 0xC0u) == 0x80u; };
    if (c >= 0xC2 && c <= 0xDF) return cont(1) ? 2 : 0;
    if (c >= 0xE0 && c <= 0xEF) {
      if (!cont(1) || !cont(2)) return 0;
      if (c == 0xE0 && b(1) < 0xA0) return 0;   // overlong
      if (c == 0xED && b(1) >= 0xA0) return 0;  // a surrogate
      return 3;
    }
    if (c >= 0xF0 && c <= 0xF4) {
      if (!cont(1) || !cont(2) || !cont(3)) return 0;
      if (c == 0xF0 && b(1) < 0x90) return 0;   // overlong
      if (c == 0xF4 && b(1) >= 0x90) return 0;  // above U+10FFFF
      return 4;
    }
    return 0;
  }
  void escape(std::string& out) {
    ++at_;  // the backslash
    if (at_ >= s_.size()) fail("expected an escape after '\\'");
    const char e = s_[at_++];
    switch (e) {
      case '"': out += '"'; return;
      case '\\': out += '\\'; return;
      case '/': out += '/'; return;
      case 'b': out += '\b'; return;
      case 'f': out += '\f'; return;
      case 'n': out += '\n'; return;
      case 'r': out += '\r'; return;
      case 't': out += '\t'; return;
      case 'u': break;
      default: --at_; fail("expected one of the escapes \\\" \\\\ \\/ \\b \\f \\n \\r \\t \\uXXXX");
    }
    std::uint32_t cp = hex4();
    if (cp >= 0xD800 && cp < 0xDC00) {
      if (s_.substr(at_, 2) != "\\u") fail("expected a low surrogate (\\uDC00 to \\uDFFF) after a high surrogate");
      at_ += 2;
      const std::size_t low_at = at_;
      const std::uint32_t low = hex4();
      if (low < 0xDC00 || low >= 0xE000)
        fail_at(low_at, "expected a low surrogate (\\uDC00 to \\uDFFF) after a high surrogate");
      cp = 0x10000 + ((cp - 0xD800) << 10) + (low - 0xDC00);
    } else if (cp >= 0xDC00 && cp < 0xE000) {
      fail_at(at_ - 4, "expected a high surrogate before a low surrogate");
    }
    append_utf8(out, cp);
  }
  std::uint32_t hex4() {
    std::uint32_t v = 0;
    for (int i = 0; i < 4; ++i, ++at_) {
      const char h = at_ < s_.size() ? s_[at_] : '\0';
      v <<= 4;
      if (h >= '0' && h <= '9')
        v |= static_cast<std::uint32_t>(h - '0');
      else if (h >= 'a' && h <= 'f')
        v |= static_cast<std::uint32_t>(h - 'a' + 10);
      else if (h >= 'A' && h <= 'F')
        v |= static_cast<std::uint32_t>(h - 'A' + 10);
      else
        fail("expected four hexadecimal digits after \\u");
    }
    return v;
  }
  static void append_utf8(std::string& out, std::uint32_t cp) {
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
  }

  std::string_view s_;
  const std::string& context_;
  std::size_t at_ = 0;
};

inline void dump_to(std::string& out, const value& v, int indent, int level);

}  // namespace detail

/// The JSON value of `text`; anything else is a `format_error` starting with `context` (say, the
/// file's path) that gives the byte offset, line and column, and what was expected there.
inline value parse(std::string_view text, const std::string& context) {
  return detail::reader(text, context).document();
}

/// `s` as a JSON string literal: quoted, with `"`, `\` and control bytes escaped; other bytes
/// (UTF-8) as they are.
inline std::string quote(std::string_view s) {
  constexpr char hex[] = "0123456789abcdef";
  std::string out = "\"";
  for (const char ch : s) {
    const auto c = static_cast<unsigned char>(ch);
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\b': out += "\\b"; break;
      case '\f': out += "\\f"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        if (c < 0x20) {
          out += "\\u00";
          out += hex[c >> 4];
          out += hex[c & 15];
        } else {
          out += ch;
        }
    }
  }
  return out + "\"";
}

/// `v` as JSON text: on one line with no spaces when `indent` is negative (the default), else one
/// member or element a line, indented by `indent` spaces a level, as Python's `json.dump(indent=N)`.
/// Numbers are written as they were read.
inline std::string dump(const value& v, int indent = -1) {
  std::string out;
  detail::dump_to(out, v, indent, 0);
  return out;
}

namespace detail {
inline void dump_to(std::string& out, const value& v, int indent, int level) {
  switch (v.type) {
    case json::kind::null: out += "null"; return;
    case json::kind::boolean: out += v.boolean ? "true" : "false"; return;
    case json::kind::number: out += v.text; return;
    case json::kind::string: out += quote(v.text); return;
    case json::kind::array:
    case json::kind::object: break;
  }
  const bool object = v.type == json::kind::object;
  if (v.items.empty()) {
    out += object ? "{}" : "[]";
    return;
  }
  const auto newline = [&](int l) {
    if (indent < 0) return;
    out += '\n';
    out.append(static_cast<std::size_t>(indent * l), ' ');
  };
  out += object ? '{' : '[';
  for (std::size_t i = 0; i < v.items.size(); ++i) {
    if (i != 0) out += ',';
    newline(level + 1);
    if (object) {
      out += quote(v.keys[i]);
      out += indent < 0 ? ":" : ": ";
    }
    dump_to(out, v.items[i], indent, level + 1);
  }
  newline(level);
  out += object ? '}' : ']';
}
}  // namespace detail

}  // namespace latent::json
