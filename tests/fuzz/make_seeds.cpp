// Writes the seed corpus (run once by hand: the files are committed): a small IDX image file, a label
// file, a CSV table, a saved model, Adam and SGD states (layout 2; load/adam is a layout-1 file written
// by an earlier latent and kept), and a model file whose generator flag is 2 with a valid checksum.
//   g++ -std=c++20 -mavx2 -mfma -Iinclude tests/fuzz/make_seeds.cpp -lz -lpng -o make_seeds && ./make_seeds
//   tests/fuzz/corpus
#include <latent/latent.hpp>

#include <zlib.h>

#include <fstream>
#include <string>

namespace {
struct Enc : latent::Seq<latent::Dense<4, 3, latent::Relu>, latent::Gaussian<2>> {};
struct Dec : latent::Seq<latent::Dense<2, 3, latent::Relu>, latent::Dense<3, 4, latent::Identity>> {};
void write(const std::string& path, const std::string& bytes) { std::ofstream(path, std::ios::binary) << bytes; }
std::string read(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}
std::string be32(std::uint32_t v) { return {char(v >> 24), char(v >> 16), char(v >> 8), char(v)}; }
}  // namespace

int main(int, char** argv) {
  const std::string dir = argv[1];
  std::string images = be32(0x00000803) + be32(2) + be32(3) + be32(2);
  for (int i = 0; i < 12; ++i) images += char(i * 20);
  write(dir + "/idx/images", images);
  write(dir + "/idx/labels", be32(0x00000801) + be32(3) + std::string{1, 7, 0});
  write(dir + "/csv/table", "a,b,c\n1,2.5,-3\n4,5e2,6\n");
  write(dir + "/csv/labels", "0;1.5;2\n1;0.25;3\n");
  latent::VAE<Enc, Dec, latent::Bernoulli> model(1);
  latent::save(model, dir + "/load/model");
  latent::Adam opt;
  opt.set_clip_norm(1.0);
  xt::xtensor<float, 2> x = {{0.1f, 0.9f, 0.5f, 0.2f}};
  model.train_batch(x.data(), 1, opt);
  latent::save(opt, dir + "/load/adam2");
  latent::SGD sgd(0.01, 0.9, true);
  model.train_batch(x.data(), 1, sgd);
  latent::save(sgd, dir + "/load/sgd2");
  // The generator's flag (the byte after the 32 words and the spare normal) set to 2, checksum redone.
  std::string bad = read(dir + "/load/model");
  bad[bad.size() - 4 - 8 - 7 - 1] = 2;
  const auto crc = static_cast<std::uint32_t>(
      crc32(0L, reinterpret_cast<const Bytef*>(bad.data()), static_cast<uInt>(bad.size() - 4)));
  for (int i = 0; i < 4; ++i) bad[bad.size() - 4 + i] = static_cast<char>(crc >> (8 * i));
  write(dir + "/load/model-bad-flag", bad);
}
