// libFuzzer target: the IDX reader must accept or reject any bytes with a latent:: exception; never
// crash, leak or hang.
#include <latent/core/error.hpp>
#include <latent/data/idx.hpp>

#include <cstddef>
#include <cstdint>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  try {
    (void)latent::read_idx_images_from_memory(data, size);
  } catch (const latent::error&) {
  }
  try {
    (void)latent::read_idx_labels_from_memory(data, size);
  } catch (const latent::error&) {
  }
  return 0;
}
