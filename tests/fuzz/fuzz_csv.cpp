// libFuzzer target: the CSV parser, with and without a header and a label column.
#include <latent/core/error.hpp>
#include <latent/data/csv.hpp>

#include <cstddef>
#include <cstdint>
#include <string_view>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  try {
    (void)latent::parse_csv(text);
  } catch (const latent::error&) {
  }
  try {
    (void)latent::parse_csv(text, {.delimiter = ';', .header = true, .label_column = 0});
  } catch (const latent::error&) {
  }
  return 0;
}
