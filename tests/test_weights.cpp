// Weights in and out (#12): the safetensors and .npz readers and writers against hand-built, forged,
// truncated and lying files; the model-level mapping (layouts, the Gaussian head's two Linear layers,
// Keras's channel-last flattening), its all-or-nothing errors with their exact messages; and, when
// ctest runs them with LATENT_WEIGHTS_DIR (tests/weights/CMakeLists.txt), the PyTorch cases: every
// layer's output of three PyTorch networks against latent's with their weights loaded (≤ 1e-5), and
// the export that scripts/torch_weights.py loads back into PyTorch. SAELens's folder of a sparse
// autoencoder (#24: interchange/saelens_files.hpp) and latent's JSON reader (io/json.hpp): round trips,
// SAELens's cfg.json layouts, every error's text; with LATENT_SAELENS_DIR, the folders
// tests/weights/saelens_layout.py writes as SAELens does, and latent's folders for it to check.
#include <doctest/doctest.h>
#include <latent/interchange.hpp>
#include <latent/interchange/saelens_files.hpp>
#include <latent/io/json.hpp>
#include <latent/latent.hpp>

#include "support/affine_layer.hpp"
#include "support/test_data.hpp"  // latent_test::same_bits

#include <zlib.h>  // deflate: .npz members as numpy.savez_compressed writes them

#include <algorithm>   // std::max, std::reverse
#include <cmath>       // std::abs, std::nan
#include <cstdint>     // std::int64_t, std::uint32_t
#include <limits>      // std::numeric_limits
#include <cstdlib>     // std::getenv
#include <cstring>     // std::memcpy
#include <filesystem>  // std::filesystem::temp_directory_path
#include <fstream>     // std::ofstream: hand-built files
#include <memory>      // std::make_unique: the large models live on the heap
#include <string>      // std::string
#include <vector>      // std::vector

// The file's own names live in namespace test_weights: the test programs compile several test files as one
// translation unit (tests/CMakeLists.txt), and each file's helpers stay its own.
namespace test_weights {

using namespace latent;

namespace {

// ---- the models of the PyTorch tests (scripts/torch_weights.py builds the same networks) --------------
struct SeedEncoder : Seq<Dense<100, 20, Relu>, Dense<20, 5, Sigmoid>> {};
struct SeedDecoder : Seq<Dense<5, 20, Relu>, Dense<20, 100, Sigmoid>> {};
using SeedModel = Autoencoder<SeedEncoder, SeedDecoder, MSE>;

struct VaeEncoder : Seq<Dense<784, 400, Relu>, Gaussian<20>> {};
struct VaeDecoder : Seq<Dense<20, 400, Relu>, Dense<400, 784>> {};
using VaeModel = VAE<VaeEncoder, VaeDecoder, Bernoulli>;

struct ConvEncoder : Seq<Input<1, 28, 28>, Conv2D<32, 3, 2, Pad<1>, Relu>, Conv2D<64, 3, 2, Pad<1>, Relu>, Flatten,
                         Dense<3136, 16, Relu>, Gaussian<16>> {};
struct ConvDecoder : Seq<Dense<16, 3136, Relu>, Reshape<64, 7, 7>, ConvTranspose2D<64, 3, 2, Pad<1, 1>, Relu>,
                         ConvTranspose2D<32, 3, 2, Pad<1, 1>, Relu>, ConvTranspose2D<1, 3, 1, Pad<1>>> {};
using ConvModel = VAE<ConvEncoder, ConvDecoder, Bernoulli>;

// ---- small models of the C++ cases --------------------------------------------------------------------
struct TinyEncoder : Seq<Dense<3, 2, Relu>> {};
struct TinyDecoder : Seq<Dense<2, 3>> {};
using Tiny = Autoencoder<TinyEncoder, TinyDecoder, MSE>;

// A 2×2×2 image through a convolution, flattened into a Dense; a Dense reshaped into a transposed one.
struct SmallConvEncoder : Seq<Input<1, 3, 3>, Conv2D<2, 2, 1, Valid, Relu>, Flatten, Dense<8, 3, Relu>, Gaussian<2>> {};
struct SmallConvDecoder : Seq<Dense<2, 8, Relu>, Reshape<2, 2, 2>, ConvTranspose2D<1, 2, 1, Valid>> {};
using SmallConv = VAE<SmallConvEncoder, SmallConvDecoder, Bernoulli>;

// A user's layer (y = x ⊙ s + b, tests/support/affine_layer.hpp): parameters latent knows no outside layout for.
using WithUserLayer = Autoencoder<Seq<test_support::Affine<3>, Dense<3, 2>>, Seq<Dense<2, 3>>, MSE>;

using Learned = VAE<Seq<Dense<4, 3, Relu>, Gaussian<2>>, Seq<Dense<2, 4>>, LearnedGaussian>;

// ---- the blocks of issue #23 (scripts/torch_weights.py builds the same networks, its modules named as
// latent's default names: activations stand alone so that every leaf is one PyTorch module) ------------
// Flat: BatchNorm1d, GELU, Dropout, LayerNorm, residual blocks without and with a projection, SiLU.
struct FlatBlocksEncoder : Seq<Dense<12, 16>, BatchNorm, Gelu, Dropout<20>,
                               Residual<Seq<LayerNorm, Dense<16, 16>, Tanh, Dense<16, 16>>>,
                               Residual<Seq<Dense<16, 8>, Relu, Dense<8, 8>>, Dense<16, 8>>, Silu, Dense<8, 4>> {};
struct FlatBlocksDecoder : Seq<Dense<4, 16>, BatchNorm, Relu, Dense<16, 12>> {};
using FlatBlocks = Autoencoder<FlatBlocksEncoder, FlatBlocksDecoder, MSE>;

// Images: BatchNorm2d, GroupNorm, a pre-activation residual block (latent diffusion's), max pooling, a
// residual block with a 1×1 projection (and a BatchNorm inside), attention in both parts, upsampling.
struct BlocksEncoder
    : Seq<Input<1, 8, 8>, Conv2D<8, 3, 1, Pad<1>>, BatchNorm, Relu,
          Residual<Seq<GroupNorm<4>, Silu, Conv2D<8, 3, 1, Pad<1>>, GroupNorm<4>, Silu, Conv2D<8, 3, 1, Pad<1>>>>,
          MaxPool2D<2>, Residual<Seq<Conv2D<16, 3, 1, Pad<1>>, BatchNorm, Relu, Conv2D<16, 3, 1, Pad<1>>>, Conv2D<16, 1>>,
          SpatialAttention<4>, Flatten, Dense<256, 6>> {};
struct BlocksDecoder : Seq<Dense<6, 256>, Reshape<16, 4, 4>, SpatialAttention<4>, Upsample2D<2>,
                           Conv2D<8, 3, 1, Pad<1>>, GroupNorm<2>, Gelu, Dropout<10>, Conv2D<1, 3, 1, Pad<1>>> {};
using Blocks = Autoencoder<BlocksEncoder, BlocksDecoder, MSE>;

// Keras's channel-last order through a flat BatchNorm between a Flatten and a Dense.
using KerasFlatNorm = Autoencoder<Seq<Input<2, 2, 1>, Conv2D<2, 1>, Flatten, BatchNorm, Dense<4, 3>>, Seq<Dense<3, 4>>, MSE>;

std::string scratch(const std::string& name) {
  const auto dir = std::filesystem::temp_directory_path() / "latent_test_weights";
  std::filesystem::create_directories(dir);
  return (dir / name).string();
}

// The message of the latent::error `f` throws ("" if it throws none).
template <class F>
std::string message_of(F&& f) {
  try {
    f();
  } catch (const latent::error& e) {
    return e.what();
  }
  return "";
}

bool contains(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }

std::string le64(std::uint64_t v) {
  std::string s;
  for (int i = 0; i < 8; ++i) s += static_cast<char>((v >> (8 * i)) & 0xff);
  return s;
}

// A safetensors file of the header `json` and `data` bytes.
std::string safetensors_file(const std::string& json, const std::string& data) {
  return le64(json.size()) + json + data;
}

std::string floats(std::vector<float> v) {
  return std::string(reinterpret_cast<const char*>(v.data()), v.size() * sizeof(float));
}

NamedTensor tensor(std::string name, std::vector<std::size_t> shape, std::vector<double> values) {
  return NamedTensor{std::move(name), std::move(shape), std::move(values), ""};
}

template <class Model>
std::vector<float> params_of(const Model& m) {
  return {m.parameters().begin(), m.parameters().end()};
}
template <class Model>
std::vector<float> state_of(const Model& m) {
  return {m.state().begin(), m.state().end()};
}

/// Moves every parameter a little (BatchNorm's and GroupNorm's γ = 1, β = 0 would hide a swap) and
/// gives the state values a trained model could have: means in [−1, 1], variances in [0.5, 2],
/// counters 3, 4, ...
template <class Model>
void randomise(Model& m, std::uint64_t seed) {
  Rng rng(seed);
  for (auto& p : m.parameters()) p += static_cast<typename Model::scalar_type>(rng.uniform(-0.3, 0.3));
  std::int64_t count = 3;
  for (const WeightSlot& s : weight_slots<Model>(weight_layout::pytorch)) {
    if (s.target != weight_target::state) continue;
    for (std::size_t e = 0; e < s.count; ++e)
      m.state()[s.index(e)] = static_cast<typename Model::scalar_type>(
          s.kind == weight_kind::counter ? static_cast<double>(count++)
                                         : (s.kind == weight_kind::variance ? rng.uniform(0.5, 2) : rng.uniform(-1, 1)));
  }
}

std::vector<std::string> names_of(const std::vector<WeightSlot>& slots) {
  std::vector<std::string> n;
  for (const auto& s : slots) n.push_back(s.name);
  return n;
}

// A zip archive of one member (`method` 0 or 8, `stored` the bytes as written), for forged archives.
std::string zip_of(const std::string& member, const std::string& content, const std::string& stored, int method,
                   std::uint32_t crc) {
  std::string out, dir;
  auto put = [](std::string& s, std::uint64_t v, int n) {
    for (int i = 0; i < n; ++i) s += static_cast<char>((v >> (8 * i)) & 0xff);
  };
  put(out, 0x04034b50, 4), put(out, 20, 2), put(out, 0, 2), put(out, static_cast<std::uint64_t>(method), 2);
  put(out, 0, 4), put(out, crc, 4), put(out, stored.size(), 4), put(out, content.size(), 4);
  put(out, member.size(), 2), put(out, 0, 2);
  out += member + stored;
  put(dir, 0x02014b50, 4), put(dir, 20, 2), put(dir, 20, 2), put(dir, 0, 2),
      put(dir, static_cast<std::uint64_t>(method), 2);
  put(dir, 0, 4), put(dir, crc, 4), put(dir, stored.size(), 4), put(dir, content.size(), 4);
  put(dir, member.size(), 2), put(dir, 0, 2), put(dir, 0, 2), put(dir, 0, 2), put(dir, 0, 2), put(dir, 0, 4);
  put(dir, 0, 4);
  dir += member;
  const std::size_t at = out.size();
  out += dir;
  put(out, 0x06054b50, 4), put(out, 0, 2), put(out, 0, 2), put(out, 1, 2), put(out, 1, 2);
  put(out, dir.size(), 4), put(out, at, 4), put(out, 0, 2);
  return out;
}

std::uint32_t crc_of(const std::string& s) {
  return static_cast<std::uint32_t>(crc32_z(0, reinterpret_cast<const Bytef*>(s.data()), s.size()));
}

std::string raw_deflate(const std::string& s) {
  z_stream z{};
  REQUIRE(deflateInit2(&z, 6, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY) == Z_OK);
  std::string out(deflateBound(&z, s.size()), '\0');
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(s.data()));
  z.avail_in = static_cast<uInt>(s.size());
  z.next_out = reinterpret_cast<Bytef*>(out.data());
  z.avail_out = static_cast<uInt>(out.size());
  REQUIRE(deflate(&z, Z_FINISH) == Z_STREAM_END);
  out.resize(out.size() - z.avail_out);
  deflateEnd(&z);
  return out;
}

std::string npy_header(const std::string& dict) {
  std::string h = dict;
  while ((10 + h.size() + 1) % 64 != 0) h += ' ';
  h += '\n';
  std::string out("\x93NUMPY\x01\x00", 8);
  out += static_cast<char>(h.size() & 0xff);
  out += static_cast<char>(h.size() >> 8);
  return out + h;
}

}  // namespace

// ---- safetensors ----------------------------------------------------------------------------------------
TEST_CASE("weights: safetensors written tensors read back in their order, with their shapes, values and metadata") {
  const std::vector<NamedTensor> in = {tensor("z.weight", {2, 3}, {1, 2, 3, 4, 5, 6.5}),
                                       tensor("a.bias", {2}, {-1, 0.25}), tensor("scalar", {}, {7})};
  for (const std::string dtype : {"F32", "F64"}) {
    const std::string path = scratch("roundtrip.safetensors");
    write_safetensors(path, in, dtype, {{"format", "pt"}});
    std::vector<std::pair<std::string, std::string>> metadata;
    const auto out = parse_safetensors(detail::read_whole_file(path, "test"), "test", &metadata);
    REQUIRE(out.size() == 3);
    for (std::size_t i = 0; i < 3; ++i) {
      CHECK(out[i].name == in[i].name);
      CHECK(out[i].shape == in[i].shape);
      CHECK(out[i].values == in[i].values);
      CHECK(out[i].dtype == dtype);
    }
    REQUIRE(metadata.size() == 1);
    CHECK(metadata[0].second == "pt");
  }
}

TEST_CASE("weights: safetensors F16 and BF16 convert exactly, I64 exactly, other integer types are refused by name") {
  // F16 1.0 = 0x3C00, -2.5 = 0xC100, 2^-24 = 0x0001; BF16 1.0 = 0x3F80, -0.5 = 0xBF00.
  const std::string half("\x00\x3c\x00\xc1\x01\x00", 6), bf("\x80\x3f\x00\xbf", 4);
  const auto t = parse_safetensors(
      safetensors_file(
          R"({"h":{"dtype":"F16","shape":[3],"data_offsets":[0,6]},"b":{"dtype":"BF16","shape":[2],"data_offsets":[6,10]}})",
          half + bf),
      "t");
  REQUIRE(t.size() == 2);
  CHECK(t[0].values == std::vector<double>{1.0, -2.5, std::ldexp(1.0, -24)});
  CHECK(t[1].values == std::vector<double>{1.0, -0.5});
  CHECK(message_of([] {
          parse_safetensors(safetensors_file(R"({"i":{"dtype":"I32","shape":[2],"data_offsets":[0,8]}})", le64(1)),
                            "t");
        }) == "latent: t: tensor 'i': expected dtype F32, F64, F16, BF16 or I64, found 'I32'");
  // I64 (PyTorch's num_batches_tracked): exact in `integers`, beyond 2^53 too; negative values.
  const std::int64_t big = (std::int64_t(1) << 53) + 1;
  const auto i = parse_safetensors(
      safetensors_file(R"({"n":{"dtype":"I64","shape":[],"data_offsets":[0,8]},"m":{"dtype":"I64","shape":[2],"data_offsets":[8,24]}})",
                       le64(7) + le64(static_cast<std::uint64_t>(big)) + le64(static_cast<std::uint64_t>(-3))),
      "t");
  REQUIRE(i.size() == 2);
  CHECK(i[0].dtype == "I64");
  CHECK(i[0].shape.empty());
  CHECK(i[0].integers == std::vector<std::int64_t>{7});
  CHECK(i[0].values == std::vector<double>{7});
  CHECK(i[1].integers == std::vector<std::int64_t>{big, -3});
}

TEST_CASE("weights: safetensors forged, truncated and lying files are refused before anything is allocated") {
  const std::string good_header = R"({"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}})";
  const std::string data = floats({1, 2});
  auto msg = [](const std::string& bytes) { return message_of([&] { parse_safetensors(bytes, "f"); }); };
  CHECK(msg(safetensors_file(good_header, data)).empty());
  CHECK(msg("abc") ==
        "latent: f: expected a safetensors file (8 bytes of header length, then the header), found 3 bytes");
  // A header length of 2^60: refused by comparison with the file, nothing allocated.
  CHECK(contains(msg(le64(std::uint64_t(1) << 60) + good_header), "expected a header length of at most"));
  CHECK(contains(msg(safetensors_file(good_header, data).substr(0, 30)), "expected a header length of at most"));
  CHECK(contains(msg(safetensors_file("[1,2]", "")), "expected a safetensors header starting with '{'"));
  CHECK(contains(msg(safetensors_file(good_header + "x", data)), "expected the end of the header"));
  CHECK(contains(msg(safetensors_file(R"({"w":1,"w":2})", "")), "'w' repeats"));
  CHECK(contains(msg(safetensors_file(R"({"a":[[[[[[[[[[1]]]]]]]]]]})", "")), "levels of nesting"));
  CHECK(contains(msg(safetensors_file(R"({"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]})", data)),
                 "expected '}'"));
  CHECK(contains(msg(safetensors_file("{\"w\x01\":1}", "")), "no control byte"));
  // Truncated data: the offsets lie past the end.
  CHECK(msg(safetensors_file(good_header, data.substr(0, 4))) ==
        "latent: f: tensor 'w': expected a shape whose bytes fit in the file's 4 data bytes, found [2] of F32");
  CHECK(msg(safetensors_file(R"({"w":{"dtype":"F32","shape":[1],"data_offsets":[4,12]}})", data)) ==
        "latent: f: tensor 'w': expected data_offsets within the 8 data bytes, found [4, 12]");
  // A shape whose product overflows, and one whose bytes disagree with its offsets.
  CHECK(contains(
      msg(safetensors_file(R"({"w":{"dtype":"F32","shape":[4294967296,4294967296,16],"data_offsets":[0,8]}})", data)),
      "expected a shape whose bytes fit"));
  CHECK(msg(safetensors_file(R"({"w":{"dtype":"F32","shape":[1],"data_offsets":[0,8]}})", data)) ==
        "latent: f: tensor 'w': expected 4 bytes for [1] of F32, found data_offsets [0, 8] (8 bytes)");
  // Overlapping tensors, and a hole.
  CHECK(
      msg(safetensors_file(
          R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}})",
          data)) ==
      "latent: f: tensor 'b': expected data_offsets that overlap no other tensor's, found [4, 8] overlapping 'a'");
  CHECK(msg(safetensors_file(R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}})", data)) ==
        "latent: f: expected the tensors to cover the data without holes, found bytes [0, 4) that no tensor uses");
  CHECK(contains(msg(safetensors_file(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8],"x":1}})", data)),
                 "expected only dtype, shape and data_offsets, found 'x'"));
  CHECK(contains(msg(safetensors_file(R"({"a":{"dtype":"F32","shape":[-2],"data_offsets":[0,8]}})", data)),
                 "expected shape entries to be integers"));
  CHECK(contains(msg(safetensors_file(R"({"__metadata__":{"k":1}})", "")), "expected __metadata__ 'k' to be a string"));
  // Escaped names decode; a quoted name is escaped in messages.
  const auto t = parse_safetensors(
      safetensors_file(R"({"\u00e9\n":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}})", data), "f");
  CHECK(t[0].name == "\xc3\xa9\n");
}

// ---- .npz -------------------------------------------------------------------------------------------------
TEST_CASE("weights: npz written arrays read back in order, deflated members and Fortran order are read") {
  const std::vector<NamedTensor> in = {tensor("fc1.weight", {2, 3}, {1, 2, 3, 4, 5, 6}),
                                       tensor("fc1.bias", {2}, {-1, 2}), tensor("s", {}, {3})};
  for (const std::string dtype : {"<f4", "<f8"}) {
    const std::string path = scratch("roundtrip.npz");
    write_npz(path, in, dtype);
    const auto out = read_npz(path);
    REQUIRE(out.size() == 3);
    for (std::size_t i = 0; i < 3; ++i) {
      CHECK(out[i].name == in[i].name);
      CHECK(out[i].shape == in[i].shape);
      CHECK(out[i].values == in[i].values);
    }
  }
  // A deflated member, as numpy.savez_compressed writes it, in Fortran order: [[1, 2, 3], [4, 5, 6]]
  // is stored column by column.
  const std::string npy =
      npy_header("{'descr': '<f4', 'fortran_order': True, 'shape': (2, 3), }") + floats({1, 4, 2, 5, 3, 6});
  const auto t = parse_npz(zip_of("w.npy", npy, raw_deflate(npy), 8, crc_of(npy)), "z");
  REQUIRE(t.size() == 1);
  CHECK(t[0].name == "w");
  CHECK(t[0].shape == std::vector<std::size_t>{2, 3});
  CHECK(t[0].values == std::vector<double>{1, 2, 3, 4, 5, 6});
}

TEST_CASE("weights: npz with a bad CRC, a lying size, other types and broken archives are refused") {
  const std::string npy = npy_header("{'descr': '<f4', 'fortran_order': False, 'shape': (2,), }") + floats({1, 2});
  auto msg = [](const std::string& bytes) { return message_of([&] { parse_npz(bytes, "z"); }); };
  CHECK(msg(zip_of("w.npy", npy, npy, 0, crc_of(npy))).empty());
  CHECK(contains(msg(zip_of("w.npy", npy, npy, 0, crc_of(npy) ^ 1)), "member 'w.npy': expected CRC-32"));
  std::string corrupt = npy;
  corrupt[corrupt.size() - 1] ^= 0x40;
  CHECK(contains(msg(zip_of("w.npy", npy, corrupt, 0, crc_of(npy))), "(the member is corrupted)"));
  CHECK(contains(msg(zip_of("w.npy", npy, raw_deflate(npy), 8, crc_of(npy)).substr(0, 40)),
                 "found no end-of-central-directory record"));
  CHECK(contains(msg(zip_of("w.npy", npy, npy, 12, crc_of(npy))), "found compression method 12"));
  // A deflated member that claims 100 MB: refused before allocating.
  {
    const std::string deflated = raw_deflate(npy);
    std::string z = zip_of("w.npy", npy, deflated, 8, crc_of(npy));
    const std::size_t cd = z.size() - 22 - (46 + 5);
    const std::uint32_t claim = 100'000'000;
    std::memcpy(&z[cd + 24], &claim, 4);
    CHECK(contains(msg(z), "expected an uncompressed size of at most 1032 times"));
  }
  const std::string be = npy_header("{'descr': '>f4', 'fortran_order': False, 'shape': (2,), }") + floats({1, 2});
  CHECK(contains(msg(zip_of("w.npy", be, be, 0, crc_of(be))), "expected descr '<f4', '<f8', '<f2' or '<i8', found '>f4'"));
  const std::string i4 = npy_header("{'descr': '<i4', 'fortran_order': False, 'shape': (2,), }") + le64(1);
  CHECK(contains(msg(zip_of("w.npy", i4, i4, 0, crc_of(i4))), "expected descr '<f4', '<f8', '<f2' or '<i8', found '<i4'"));
  const std::string u8 = npy_header("{'descr': '<u8', 'fortran_order': False, 'shape': (1,), }") + le64(1);
  CHECK(contains(msg(zip_of("w.npy", u8, u8, 0, crc_of(u8))), "found '<u8'"));
  const std::string shortdata =
      npy_header("{'descr': '<f4', 'fortran_order': False, 'shape': (3,), }") + floats({1, 2});
  CHECK(contains(msg(zip_of("w.npy", shortdata, shortdata, 0, crc_of(shortdata))),
                 "expected [3] of <f4 to fill the 8 data bytes exactly"));
  CHECK(contains(msg(zip_of("w.txt", npy, npy, 0, crc_of(npy))), "expected a .npy member"));
  CHECK(contains(msg("PK\x05\x06"), "expected a zip archive"));
}

// ---- the model-level mapping -----------------------------------------------------------------------------
TEST_CASE("weights: PyTorch layout of a Dense is out x in, Keras's in x out, save and load round-trip") {
  Tiny m(1);
  const auto slots = weight_slots<Tiny>(weight_layout::pytorch);
  REQUIRE(slots.size() == 4);
  CHECK(slots[0].name == "encoder.0.weight");
  CHECK(slots[0].shape == std::vector<std::size_t>{2, 3});
  CHECK(slots[0].layer == "layer 0 (Dense<3,2,Relu>) weight");
  CHECK(weight_slots<Tiny>(weight_layout::keras)[0].shape == std::vector<std::size_t>{3, 2});
  // PyTorch's weight[o][i] is latent's W[i][o] (In x Out row-major): element (o=1, i=2) of the file is
  // parameter 2*2 + 1.
  const auto t = weight_tensors(m, {});
  CHECK(t[0].values[1 * 3 + 2] == m.parameters()[2 * 2 + 1]);
  for (const std::string ext : {".safetensors", ".npz"})
    for (weight_layout layout : {weight_layout::pytorch, weight_layout::keras}) {
      const std::string path = scratch("tiny" + ext);
      save_weights(m, path, {.layout = layout});
      Tiny other(2);
      CHECK(params_of(other) != params_of(m));
      load_weights(other, path, {.layout = layout});
      CHECK(params_of(other) == params_of(m));
    }
  Learned lg(3);
  lg.parameters()[Learned::param_count - 1] = 0.5f;
  const auto ls = weight_slots<Learned>(weight_layout::pytorch);
  CHECK(ls.back().shape == std::vector<std::size_t>{4});
  save_weights(lg, scratch("learned.safetensors"));
  Learned lg2(4);
  load_weights(lg2, scratch("learned.safetensors"));
  CHECK(params_of(lg2) == params_of(lg));
}

TEST_CASE("weights: missing, unused and mis-shaped tensors are errors naming them and both shapes, nothing loads") {
  Tiny m(1);
  const std::vector<float> before = params_of(m);
  auto good = weight_tensors(Tiny(5), {});
  auto msg = [&](const std::vector<NamedTensor>& t, WeightOptions o = {}) {
    return message_of([&] { assign_weights(m, t, o, "load_weights: f.safetensors"); });
  };
  auto transposed = good;
  transposed[0].shape = {3, 2};
  CHECK(msg(transposed) ==
        "latent: load_weights: f.safetensors: tensor 'encoder.0.weight' for layer 0 (Dense<3,2,Relu>) weight: expected "
        "[2, 3], found [3, 2] (nothing was loaded)");
  auto missing = good;
  missing.pop_back();
  CHECK(msg(missing) ==
        "latent: load_weights: f.safetensors: missing tensor #3 for layer 1 (Dense<2,3,Identity>) bias: expected [3], "
        "found none (nothing was loaded)");
  auto extra = good;
  extra.push_back(tensor("head.bias", {7}, std::vector<double>(7, 0)));
  CHECK(msg(extra) == "latent: load_weights: f.safetensors: unused tensor 'head.bias' [7]: expected no more tensors "
                      "(the model takes 4), "
                      "found 5 in the file (nothing was loaded)");
  // Several problems are all listed.
  CHECK(
      contains(msg(std::vector<NamedTensor>{good[1], good[0]}),
               "tensor 'encoder.0.bias' for layer 0 (Dense<3,2,Relu>) weight: expected [2, 3], found [2]; tensor "
               "'encoder.0.weight' for layer 0 (Dense<3,2,Relu>) bias: expected [2], found [2, 3]; missing tensor #2"));
  auto nan = good;
  nan[2].values[1] = std::nan("");
  CHECK(contains(msg(nan), "tensor 'decoder.0.weight' for layer 1 (Dense<2,3,Identity>) weight: expected finite "
                           "values, found nan at element 1"));
  auto huge = good;
  huge[0].values[0] = 1e300;  // finite in the file, infinite as float
  CHECK(contains(msg(huge), "expected finite values"));
  // With explicit names: by name, whatever the file's order; a name the file lacks is missing.
  const std::vector<std::string> names = {"fc1.weight", "fc1.bias", "fc2.weight", "fc2.bias"};
  auto named = good;
  for (std::size_t i = 0; i < 4; ++i) named[i].name = names[i];
  std::reverse(named.begin(), named.end());
  CHECK(contains(msg(named, {.names = {"fc1.weight", "fc1.bias", "fc2.weight", "fc9.bias"}}),
                 "missing tensor 'fc9.bias' for layer 1 (Dense<2,3,Identity>) bias: expected [3], found none; unused "
                 "tensor 'fc2.bias' [3]"));
  CHECK(contains(msg(named, {.names = {"a"}}), "expected 4 names in WeightOptions::names"));
  CHECK(contains(msg(named, {.names = {"fc1.weight", "fc1.weight", "fc2.weight", "fc2.bias"}}),
                 "expected distinct names in WeightOptions::names"));
  CHECK(params_of(m) == before);
  assign_weights(m, named, {.names = names});
  CHECK(params_of(m) == params_of(Tiny(5)));
  // A file: unchanged model after a failed load; extensions decide the format.
  Tiny n(1);
  write_safetensors(scratch("transposed.safetensors"), transposed);
  CHECK(contains(message_of([&] { load_weights(n, scratch("transposed.safetensors")); }),
                 "expected [2, 3], found [3, 2]"));
  CHECK(params_of(n) == before);
  WithUserLayer user(1);
  CHECK(message_of([&] { save_weights(user, scratch("user.npz")); }) ==
        "latent: weights: layer 0 (Affine) has 6 parameters of no known layout (Dense, Gaussian, Conv2D, "
        "ConvTranspose2D, BatchNorm, GroupNorm, SpatialAttention and VectorQuantizer have one)");
  CHECK(contains(message_of([&] { load_weights(user, scratch("transposed.safetensors")); }), "layer 0 (Affine)"));
  CHECK(contains(message_of([&] { load_weights(n, scratch("x.bin")); }),
                 "expected a name ending in .safetensors or .npz"));
  CHECK(contains(message_of([&] { load_weights(n, scratch("absent.npz")); }), "No such file or directory"));
  CHECK(contains(message_of([&] { load_weights(n, std::filesystem::temp_directory_path().string() + "/.npz"); }),
                 "cannot open"));
}

TEST_CASE("weights: conv kernels and Keras's channel-last flattening map element by element") {
  SmallConv m(7);
  const auto pt = weight_slots<SmallConv>(weight_layout::pytorch);
  const auto ks = weight_slots<SmallConv>(weight_layout::keras);
  // conv [F=2][C=1][2][2]; Dense 8→3; Gaussian μ, log σ²; Dense 2→8; ConvTranspose [C=2][F=1][2][2].
  REQUIRE(pt.size() == 12);
  CHECK(pt[0].shape == std::vector<std::size_t>{2, 1, 2, 2});
  CHECK(ks[0].shape == std::vector<std::size_t>{2, 2, 1, 2});
  CHECK(pt[4].name == "encoder.4.mu.weight");
  CHECK(pt[4].shape == std::vector<std::size_t>{2, 3});
  CHECK(pt[6].name == "encoder.4.log_var.weight");
  CHECK(pt[10].shape == std::vector<std::size_t>{2, 1, 2, 2});
  CHECK(ks[10].shape == std::vector<std::size_t>{2, 2, 1, 2});
  // Conv2D: Keras kernel[ki][kj][c][f] is latent's W[f][c][ki][kj]: (ki=1, kj=0, c=0, f=1).
  const std::size_t conv = 0;
  CHECK(ks[0].index(((1 * 2 + 0) * 1 + 0) * 2 + 1) == conv + ((1 * 1 + 0) * 2 + 1) * 2 + 0);
  // ConvTranspose2D: Keras kernel[ki][kj][f][c] is latent's W[c][f][ki][kj]: (ki=0, kj=1, f=0, c=1).
  CHECK(ks[10].index(((0 * 2 + 1) * 1 + 0) * 2 + 1) == ks[10].index(0) + ((1 * 1 + 0) * 2 + 0) * 2 + 1);
  // The Dense after Flatten of 2×2×2: Keras row (h, w, c) = (0, 1, 1) is (h·2 + w)·2 + c = 3; latent
  // row c·4 + h·2 + w = 5. Column 2 of 3.
  const std::size_t dense = pt[2].index(0);
  CHECK(ks[2].index(3 * 3 + 2) == dense + 5 * 3 + 2);
  CHECK(pt[2].index(2 * 8 + 5) == dense + 5 * 3 + 2);
  // The Dense before Reshape<2, 2, 2>: Keras column 3 is latent column 5, and so is the bias.
  const std::size_t dec = pt[8].index(0);
  CHECK(ks[8].index(1 * 8 + 3) == dec + 1 * 8 + 5);
  CHECK(ks[9].index(3) == pt[9].index(5));
  // Every parameter is in exactly one tensor, in both layouts.
  for (const auto* slots : {&pt, &ks}) {
    std::vector<int> hits(SmallConv::param_count, 0);
    for (const auto& s : *slots)
      for (std::size_t e = 0; e < s.count; ++e) ++hits[s.index(e)];
    CHECK(std::all_of(hits.begin(), hits.end(), [](int h) { return h == 1; }));
  }
  for (weight_layout layout : {weight_layout::pytorch, weight_layout::keras}) {
    save_weights(m, scratch("small_conv.npz"), {.layout = layout});
    SmallConv other(8);
    load_weights(other, scratch("small_conv.npz"), {.layout = layout});
    CHECK(params_of(other) == params_of(m));
  }
}

TEST_CASE("weights: int64 tensors round-trip through both formats exactly; the writers refuse other values for them") {
  const std::int64_t big = (std::int64_t(1) << 53) + 1;  // a double would round it
  const std::vector<NamedTensor> in = {
      NamedTensor{"bn.num_batches_tracked", {}, {}, "I64", {big}},
      NamedTensor{"counts", {2, 2}, {}, "<i8", {-1, 0, 5, std::numeric_limits<std::int64_t>::max()}},
      NamedTensor{"from_values", {2}, {3, 4}, "I64"}, tensor("w", {2}, {0.5, -1})};
  for (const std::string ext : {".safetensors", ".npz"}) {
    const std::string path = scratch("int64" + ext);
    if (ext == ".npz")
      write_npz(path, in);
    else
      write_safetensors(path, in);
    const auto out = read_tensors(path);
    REQUIRE(out.size() == 4);
    const std::string i64 = ext == ".npz" ? "<i8" : "I64";
    CHECK(out[0].dtype == i64);
    CHECK(out[0].shape.empty());
    CHECK(out[0].integers == std::vector<std::int64_t>{big});
    CHECK(out[1].dtype == i64);
    CHECK(out[1].integers == in[1].integers);
    CHECK(out[2].integers == std::vector<std::int64_t>{3, 4});
    CHECK(out[3].dtype == (ext == ".npz" ? "<f4" : "F32"));
    CHECK(out[3].integers.empty());
    CHECK(out[3].values == in[3].values);
  }
  CHECK(message_of([] { safetensors_bytes({NamedTensor{"n", {1}, {0.5}, "I64"}}); }) ==
        "latent: write_safetensors: tensor 'n': expected whole numbers in int64's range for I64, found 0.500000 at "
        "element 0");
  CHECK(contains(message_of([] { npz_bytes({NamedTensor{"n", {1}, {1e19}, "<i8"}}); }),
                 "write_npz: tensor 'n': expected whole numbers in int64's range for <i8"));
  CHECK(contains(message_of([] { npz_bytes({NamedTensor{"n", {3}, {}, "<i8", {1, 2}}}); }),
                 "expected 3 values for [3], found 2"));
  // .npy int64 in Fortran order.
  std::string ints = npy_header("{'descr': '<i8', 'fortran_order': True, 'shape': (2, 2), }");
  for (std::int64_t v : {1, 3, 2, -4}) ints += le64(static_cast<std::uint64_t>(v));
  const NamedTensor f = parse_npy(ints, "f", "t");
  CHECK(f.integers == std::vector<std::int64_t>{1, 2, 3, -4});
  CHECK(f.values == std::vector<double>{1, 2, 3, -4});
}

TEST_CASE("weights: BatchNorm, GroupNorm, residual blocks and attention: names, layouts, state, round trips") {
  const auto pt = weight_slots<Blocks>(weight_layout::pytorch);
  const auto ks = weight_slots<Blocks>(weight_layout::keras);
  // PyTorch's state_dict of scripts/torch_weights.py's "blocks" network, key by key.
  std::vector<std::string> want = {"encoder.1.weight", "encoder.1.bias", "encoder.2.weight", "encoder.2.bias",
                                   "encoder.2.running_mean", "encoder.2.running_var", "encoder.2.num_batches_tracked"};
  for (const char* j : {"0", "2", "3", "5"})
    for (const char* r : {".weight", ".bias"}) want.push_back(std::string("encoder.4.branch.") + j + r);
  for (const char* r : {"0.weight", "0.bias", "1.weight", "1.bias", "1.running_mean", "1.running_var",
                        "1.num_batches_tracked", "3.weight", "3.bias"})
    want.push_back(std::string("encoder.6.branch.") + r);
  want.insert(want.end(), {"encoder.6.projection.0.weight", "encoder.6.projection.0.bias"});
  const auto attention = [&](const std::string& at) {
    for (const char* r : {"norm.weight", "norm.bias", "q.weight", "q.bias", "k.weight", "k.bias", "v.weight", "v.bias",
                          "proj_out.weight", "proj_out.bias"})
      want.push_back(at + r);
  };
  attention("encoder.7.");
  want.insert(want.end(), {"encoder.9.weight", "encoder.9.bias", "decoder.0.weight", "decoder.0.bias"});
  attention("decoder.2.");
  want.insert(want.end(), {"decoder.4.weight", "decoder.4.bias", "decoder.5.weight", "decoder.5.bias",
                           "decoder.8.weight", "decoder.8.bias"});
  CHECK(names_of(pt) == want);
  REQUIRE(pt.size() == want.size());
  // Shapes, targets and kinds; the layer's text names the residual and the branch's leaf.
  CHECK(pt[4].shape == std::vector<std::size_t>{8});
  CHECK(pt[4].target == weight_target::state);
  CHECK(pt[5].kind == weight_kind::variance);
  CHECK(pt[6].shape.empty());
  CHECK(pt[6].kind == weight_kind::counter);
  CHECK(pt[2].target == weight_target::parameters);
  CHECK(pt[7].layer == "layer 4 (Residual) branch layer 0 (GroupNorm<4,in 8x64,eps 1/100000>) weight");
  CHECK(pt[24].layer == "layer 6 (Residual) projection layer 0 (Conv2D<in 8x4x4,16,1,1,Valid,Identity>) weight");
  CHECK(pt[24].shape == std::vector<std::size_t>{16, 8, 1, 1});
  CHECK(pt[28].name == "encoder.7.q.weight");
  CHECK(pt[28].shape == std::vector<std::size_t>{16, 16, 1, 1});
  // Keras: gamma, beta, moving_mean, moving_variance and no counter; 1×1 kernels [1, 1, in, out].
  CHECK(ks.size() == pt.size() - 2);
  CHECK(ks[2].name == "encoder.2.gamma");
  CHECK(ks[5].name == "encoder.2.moving_variance");
  CHECK(ks[6].name == "encoder.4.branch.0.gamma");
  CHECK(ks[26].name == "encoder.7.q.kernel");
  CHECK(ks[26].shape == std::vector<std::size_t>{1, 1, 16, 16});
  // W_q[out=2][in=5] is element (0, 0, in=5, out=2) of the Keras kernel, element 2·16 + 5 of PyTorch's.
  CHECK(ks[26].index(5 * 16 + 2) == pt[28].index(2 * 16 + 5));
  // Every parameter and every state value is in exactly one tensor (Keras: all but the counters).
  for (const auto* slots : {&pt, &ks}) {
    std::vector<int> hits(Blocks::param_count, 0), state_hits(Blocks::state_size, 0);
    for (const auto& s : *slots)
      for (std::size_t e = 0; e < s.count; ++e) ++(s.target == weight_target::state ? state_hits : hits)[s.index(e)];
    CHECK(std::all_of(hits.begin(), hits.end(), [](int h) { return h == 1; }));
    CHECK(std::count(state_hits.begin(), state_hits.end(), 1) ==
          static_cast<std::ptrdiff_t>(Blocks::state_size - (slots == &ks ? 2 : 0)));
  }
  const auto flat = weight_slots<FlatBlocks>(weight_layout::pytorch);
  CHECK(names_of(flat) == std::vector<std::string>{
                              "encoder.0.weight", "encoder.0.bias", "encoder.1.weight", "encoder.1.bias",
                              "encoder.1.running_mean", "encoder.1.running_var", "encoder.1.num_batches_tracked",
                              "encoder.4.branch.0.weight", "encoder.4.branch.0.bias", "encoder.4.branch.1.weight",
                              "encoder.4.branch.1.bias", "encoder.4.branch.3.weight", "encoder.4.branch.3.bias",
                              "encoder.5.branch.0.weight", "encoder.5.branch.0.bias", "encoder.5.branch.2.weight",
                              "encoder.5.branch.2.bias", "encoder.5.projection.0.weight", "encoder.5.projection.0.bias",
                              "encoder.7.weight", "encoder.7.bias", "decoder.0.weight", "decoder.0.bias",
                              "decoder.1.weight", "decoder.1.bias", "decoder.1.running_mean", "decoder.1.running_var",
                              "decoder.1.num_batches_tracked", "decoder.3.weight", "decoder.3.bias"});
  // Save → load, both formats and layouts: parameters and state exactly (Keras: the counters stay).
  auto m = std::make_unique<Blocks>(1);
  randomise(*m, 2);
  for (const std::string ext : {".safetensors", ".npz"})
    for (weight_layout layout : {weight_layout::pytorch, weight_layout::keras}) {
      const std::string path = scratch("blocks" + ext);
      save_weights(*m, path, {.layout = layout});
      auto other = std::make_unique<Blocks>(3);
      randomise(*other, 4);
      const std::vector<float> counters = {other->state()[pt[6].index(0)], other->state()[pt[21].index(0)]};
      CHECK(params_of(*other) != params_of(*m));
      load_weights(*other, path, {.layout = layout});
      CHECK(params_of(*other) == params_of(*m));
      std::vector<float> want_state = state_of(*m);
      if (layout == weight_layout::keras)
        want_state[pt[6].index(0)] = counters[0], want_state[pt[21].index(0)] = counters[1];
      CHECK(state_of(*other) == want_state);
      // and the model computes what the saved one does (eval mode: the running statistics).
      const xt::xtensor<float, 2> x = xt::ones<float>({2, 64}) * 0.3f;
      CHECK(other->reconstruct(x) == m->reconstruct(x));
    }
  // The counters are int64 in both formats.
  save_weights(*m, scratch("blocks.npz"));
  CHECK(read_tensors(scratch("blocks.npz"))[6].dtype == "<i8");
  CHECK(read_tensors(scratch("blocks.npz"))[6].integers == std::vector<std::int64_t>{3});
  FlatBlocks f(5), g(6);
  randomise(f, 7);
  save_weights(f, scratch("flat_blocks.safetensors"));
  load_weights(g, scratch("flat_blocks.safetensors"));
  CHECK(params_of(g) == params_of(f));
  CHECK(state_of(g) == state_of(f));
}

TEST_CASE("weights: Keras's channel-last order runs through a flat BatchNorm between a Flatten and a Dense") {
  const auto pt = weight_slots<KerasFlatNorm>(weight_layout::pytorch);
  const auto ks = weight_slots<KerasFlatNorm>(weight_layout::keras);
  // conv weight, bias; BatchNorm γ, β, mean, var (+ counter); Dense kernel, bias; Dense kernel, bias.
  REQUIRE(ks.size() == 10);
  CHECK(ks[2].name == "encoder.3.gamma");
  // The flattened 2×2×1 image: Keras feature (h, w, c) = (0, 0, 1) is 1; latent's c·2 + h = 2.
  CHECK(ks[2].index(1) == pt[2].index(2));
  CHECK(ks[4].index(1) == pt[4].index(2));  // moving_mean, in the state
  CHECK(ks[4].target == weight_target::state);
  // The Dense after it: Keras row 1 is latent's row 2 (column 0).
  CHECK(ks[6].index(1 * 3 + 0) == pt[7].index(0 * 4 + 2));
}

TEST_CASE("weights: bad BatchNorm statistics and counters are format_errors naming the tensor, and nothing loads") {
  auto m = std::make_unique<Blocks>(1);
  randomise(*m, 2);
  const std::vector<float> before = params_of(*m), state_before = state_of(*m);
  auto donor = std::make_unique<Blocks>(5);
  randomise(*donor, 6);
  const std::vector<NamedTensor> good = weight_tensors(*donor);
  const std::vector<std::string> names = names_of(weight_slots<Blocks>(weight_layout::pytorch));
  auto at = [&](std::vector<NamedTensor>& t, const std::string& name) -> NamedTensor& {
    for (auto& x : t)
      if (x.name == name) return x;
    FAIL("no tensor " << name);
    throw 0;
  };
  auto msg = [&](const std::vector<NamedTensor>& t, bool by_name = false) {
    const std::string s = message_of([&] {
      assign_weights(*m, t, by_name ? WeightOptions{.names = names} : WeightOptions{}, "load_weights: b.safetensors");
    });
    CHECK(params_of(*m) == before);  // all or nothing
    CHECK(state_of(*m) == state_before);
    return s;
  };
  const std::string bn = "layer 2 (BatchNorm<8x64,momentum 1/10,eps 1/100000>)";
  {  // a missing running_var (the tensors taken by name)
    auto t = good;
    t.erase(t.begin() + 5);
    CHECK(msg(t, true) == "latent: load_weights: b.safetensors: missing tensor 'encoder.2.running_var' for " + bn +
                              " running_var: expected [8], found none (nothing was loaded)");
    CHECK(contains(msg(t), "tensor 'encoder.2.num_batches_tracked' for " + bn + " running_var: expected [8], found []"));
  }
  {  // a running_mean of the wrong shape
    auto t = good;
    at(t, "encoder.2.running_mean").shape = {8, 1};
    CHECK(msg(t) == "latent: load_weights: b.safetensors: tensor 'encoder.2.running_mean' for " + bn +
                        " running_mean: expected [8], found [8, 1] (nothing was loaded)");
  }
  {  // a real counter: PyTorch writes int64, so a float there is refused (also from a file)
    auto t = good;
    NamedTensor& n = at(t, "encoder.2.num_batches_tracked");
    n.dtype = "F32", n.integers.clear();
    CHECK(msg(t) == "latent: load_weights: b.safetensors: tensor 'encoder.2.num_batches_tracked' for " + bn +
                        " num_batches_tracked: expected an int64 count (I64 or <i8, as PyTorch saves "
                        "num_batches_tracked), found F32 (nothing was loaded)");
    n.dtype = "";
    write_safetensors(scratch("float_counter.safetensors"), t);  // written as F32
    CHECK(contains(message_of([&] { load_weights(*m, scratch("float_counter.safetensors")); }),
                   "num_batches_tracked: expected an int64 count (I64 or <i8, as PyTorch saves num_batches_tracked), "
                   "found F32"));
    CHECK(params_of(*m) == before);
    // and an int64 where a real number belongs
    auto u = good;
    at(u, "encoder.2.weight").dtype = "I64";
    CHECK(contains(msg(u), "tensor 'encoder.2.weight' for " + bn + " weight: expected real numbers, found the integer "
                                                                   "type I64"));
  }
  {  // NaN in running_var, and a negative variance
    auto t = good;
    at(t, "encoder.2.running_var").values[3] = std::nan("");
    CHECK(msg(t) == "latent: load_weights: b.safetensors: tensor 'encoder.2.running_var' for " + bn +
                        " running_var: expected finite values of at least 0 (a variance), found nan at element 3 "
                        "(nothing was loaded)");
    auto u = good;
    at(u, "encoder.6.branch.1.running_var").values[1] = -0.25;
    CHECK(msg(u) == "latent: load_weights: b.safetensors: tensor 'encoder.6.branch.1.running_var' for layer 6 "
                    "(Residual) branch layer 1 (BatchNorm<16x16,momentum 1/10,eps 1/100000>) running_var: expected "
                    "finite values of at least 0 (a variance), found -0.250000 at element 1 (nothing was loaded)");
    auto z = good;
    at(z, "encoder.2.running_var").values[0] = 0;  // zero is a variance (ε keeps the division finite)
    assign_weights(*m, z);
    CHECK(m->state()[weight_slots<Blocks>(weight_layout::pytorch)[5].index(0)] == 0.0f);
    assign_weights(*m, weight_tensors(Blocks(1)));  // back to a known state, then to `before`
    randomise(*m, 2);
    CHECK(params_of(*m) == before);
  }
  {  // counters: negative, and beyond what a float holds exactly
    auto t = good;
    at(t, "encoder.2.num_batches_tracked").integers = {-1};
    CHECK(msg(t) == "latent: load_weights: b.safetensors: tensor 'encoder.2.num_batches_tracked' for " + bn +
                        " num_batches_tracked: expected a count of at least 0, found -1 (nothing was loaded)");
    at(t, "encoder.2.num_batches_tracked").integers = {(1 << 24) + 1};
    CHECK(msg(t) == "latent: load_weights: b.safetensors: tensor 'encoder.2.num_batches_tracked' for " + bn +
                        " num_batches_tracked: expected a count that the model's float holds exactly (every whole "
                        "number up to 2^24), found 16777217 (nothing was loaded)");
    at(t, "encoder.2.num_batches_tracked").integers = {1 << 25};  // a power of two: exact
    assign_weights(*m, t);
    CHECK(m->state()[weight_slots<Blocks>(weight_layout::pytorch)[6].index(0)] == 33554432.0f);
  }
}

// ---- PyTorch (run by ctest with LATENT_WEIGHTS_DIR; see tests/weights/CMakeLists.txt) -------------------
namespace {

std::string torch_dir() {
  const char* dir = std::getenv("LATENT_WEIGHTS_DIR");
  REQUIRE_MESSAGE(dir != nullptr, "set LATENT_WEIGHTS_DIR to the folder scripts/torch_weights.py wrote");
  return dir;
}

const NamedTensor& find(const std::vector<NamedTensor>& ts, const std::string& name) {
  for (const auto& t : ts)
    if (t.name == name) return t;
  FAIL("no array " << name);
  throw 0;
}

// The output of every leaf layer of `m` on the rows `x` (n × input_size), in for_each_layer order, the
// decoder fed with the encoder's μ; a Gaussian head's output is [μ | log σ²].
template <class Model>
std::vector<std::vector<float>> leaf_outputs(const Model& m, std::vector<float> x, std::size_t n) {
  std::vector<std::vector<float>> outs;
  for_each_layer<Model>([&](auto slot) {
    using L = typename decltype(slot)::layer;
    const float* p = m.parameters().data() + slot.offset;
    std::vector<float> y(n * L::out_size), cache(n * L::cache_size + 1);
    Context<float> ctx;
    L::forward(p, x.data(), y.data(), cache.data(), n, ctx);
    if constexpr (detail::is_gaussian_head_layer<L>::value) {
      std::vector<float> stats(n * 2 * L::code_size);
      L::statistics(p, x.data(), stats.data(), n);
      outs.push_back(stats);
    } else {
      outs.push_back(y);
    }
    x = std::move(y);
  });
  return outs;
}

template <class Model>
double compare_with_torch(const std::string& net, const std::string& file, weight_layout layout) {
  const std::string dir = torch_dir();
  const auto io = read_npz(dir + "/" + net + "_io.npz");
  const NamedTensor& x = find(io, "x");
  auto m = std::make_unique<Model>(99);
  load_weights(*m, dir + "/" + file, {.layout = layout});
  const std::size_t n = x.shape[0];
  const auto outs = leaf_outputs(*m, std::vector<float>(x.values.begin(), x.values.end()), n);
  double worst = 0;
  for (std::size_t i = 0; i < outs.size(); ++i) {
    const NamedTensor& want = find(io, "out_" + std::to_string(i));
    REQUIRE(want.values.size() == outs[i].size());
    double layer = 0;
    for (std::size_t k = 0; k < outs[i].size(); ++k) layer = std::max(layer, std::abs(outs[i][k] - want.values[k]));
    CHECK_MESSAGE(layer <= 1e-5, net << " from " << file << ": layer " << i << " differs by " << layer);
    worst = std::max(worst, layer);
  }
  MESSAGE(net << " from " << file << ": max |latent - PyTorch| over " << outs.size() << " layers = " << worst);
  return worst;
}

template <class Model>
void export_for_torch(const std::string& net, std::uint64_t seed) {
  const std::string dir = torch_dir();
  const auto io = read_npz(dir + "/" + net + "_io.npz");
  const NamedTensor& x = find(io, "x");
  auto m = std::make_unique<Model>(seed);
  save_weights(*m, dir + "/" + net + "_latent.safetensors");
  save_weights(*m, dir + "/" + net + "_latent.npz");
  save_weights(*m, dir + "/" + net + "_latent_keras.npz", {.layout = weight_layout::keras});
  std::vector<NamedTensor> out = {x};
  const auto outs = leaf_outputs(*m, std::vector<float>(x.values.begin(), x.values.end()), x.shape[0]);
  for (std::size_t i = 0; i < outs.size(); ++i)
    out.push_back(tensor("out_" + std::to_string(i), {x.shape[0], outs[i].size() / x.shape[0]},
                         std::vector<double>(outs[i].begin(), outs[i].end())));
  write_npz(dir + "/" + net + "_latent_io.npz", out);
}

// The blocks networks (issue #23): latent's eval-mode code and reconstruction against PyTorch's
// (out_0, out_1 of NET_io.npz), max |Δ| relative to max(1, max |PyTorch's|); the file's names must be
// latent's default names, and its counters must arrive in the model's state.
template <class Model>
double compare_model_with_torch(const std::string& net, const std::string& file, weight_layout layout) {
  const std::string dir = torch_dir();
  const auto io = read_npz(dir + "/" + net + "_io.npz");
  const NamedTensor& x = find(io, "x");
  auto m = std::make_unique<Model>(99);
  load_weights(*m, dir + "/" + file, {.layout = layout});
  const std::vector<NamedTensor> file_tensors = read_tensors(dir + "/" + file);
  const std::vector<WeightSlot> slots = weight_slots<Model>(layout);
  std::vector<std::string> file_names;
  for (const auto& t : file_tensors) file_names.push_back(t.name);
  CHECK(file_names == names_of(slots));  // PyTorch's module names are latent's default names
  for (std::size_t i = 0; i < slots.size(); ++i)
    if (slots[i].kind == weight_kind::counter) {
      CHECK(file_tensors[i].integers.size() == 1);
      CHECK(m->state()[slots[i].index(0)] == static_cast<float>(file_tensors[i].integers.at(0)));
    }
  const std::size_t n = x.shape[0];
  xt::xtensor<float, 2> rows = xt::xtensor<float, 2>::from_shape({n, Model::input_size});
  std::copy(x.values.begin(), x.values.end(), rows.begin());
  const xt::xtensor<float, 2> outs[2] = {m->encode(rows), m->reconstruct(rows)};
  double worst = 0;
  for (std::size_t i = 0; i < 2; ++i) {
    const NamedTensor& want = find(io, "out_" + std::to_string(i));
    REQUIRE(want.values.size() == outs[i].size());
    double delta = 0, scale = 1;
    for (std::size_t k = 0; k < outs[i].size(); ++k) {
      delta = std::max(delta, std::abs(outs[i].data()[k] - want.values[k]));
      scale = std::max(scale, std::abs(want.values[k]));
    }
    CHECK_MESSAGE(delta <= 1e-5 * scale, net << " from " << file << ": output " << i << " differs by " << delta);
    worst = std::max(worst, delta / scale);
  }
  MESSAGE(net << " from " << file << ": max |latent - PyTorch| / max(1, |PyTorch|) over the code and the "
                 "reconstruction = "
              << worst);
  return worst;
}

template <class Model>
void export_model_for_torch(const std::string& net, std::uint64_t seed) {
  const std::string dir = torch_dir();
  const auto io = read_npz(dir + "/" + net + "_io.npz");
  const NamedTensor& x = find(io, "x");
  auto m = std::make_unique<Model>(seed);
  randomise(*m, seed + 1);  // the running statistics and counters too
  save_weights(*m, dir + "/" + net + "_latent.safetensors");
  save_weights(*m, dir + "/" + net + "_latent.npz");
  save_weights(*m, dir + "/" + net + "_latent_keras.npz", {.layout = weight_layout::keras});
  xt::xtensor<float, 2> rows = xt::xtensor<float, 2>::from_shape({x.shape[0], Model::input_size});
  std::copy(x.values.begin(), x.values.end(), rows.begin());
  const xt::xtensor<float, 2> code = m->encode(rows), rec = m->reconstruct(rows);
  write_npz(dir + "/" + net + "_latent_io.npz",
            {x, tensor("out_0", {x.shape[0], Model::code_size}, std::vector<double>(code.begin(), code.end())),
             tensor("out_1", {x.shape[0], Model::input_size}, std::vector<double>(rec.begin(), rec.end()))});
}

}  // namespace

TEST_CASE("torch: every layer of three PyTorch networks, and the blocks networks' outputs, match latent with their weights loaded" * doctest::skip()) {
  for (const std::string suffix : {".safetensors", ".npz", "_deflated.npz"}) {
    compare_with_torch<SeedModel>("seed", "seed" + suffix, weight_layout::pytorch);
    compare_with_torch<VaeModel>("vae", "vae" + suffix, weight_layout::pytorch);
    compare_with_torch<ConvModel>("conv_vae", "conv_vae" + suffix, weight_layout::pytorch);
  }
  compare_with_torch<SeedModel>("seed", "seed_keras.npz", weight_layout::keras);
  compare_with_torch<VaeModel>("vae", "vae_keras.npz", weight_layout::keras);
  compare_with_torch<ConvModel>("conv_vae", "conv_vae_keras.npz", weight_layout::keras);
  // The blocks of issue #23, in eval mode: BatchNorm with PyTorch's running statistics.
  for (const std::string suffix : {".safetensors", ".npz", "_deflated.npz"}) {
    compare_model_with_torch<FlatBlocks>("flat_blocks", "flat_blocks" + suffix, weight_layout::pytorch);
    compare_model_with_torch<Blocks>("blocks", "blocks" + suffix, weight_layout::pytorch);
  }
  compare_model_with_torch<FlatBlocks>("flat_blocks", "flat_blocks_keras.npz", weight_layout::keras);
  compare_model_with_torch<Blocks>("blocks", "blocks_keras.npz", weight_layout::keras);
  // The Keras file read with the PyTorch layout is refused, naming the first transposed tensor.
  VaeModel m(1);
  CHECK(
      contains(message_of([&] { load_weights(m, torch_dir() + "/vae_keras.npz"); }),
               "tensor 'fc1.kernel' for layer 0 (Dense<784,400,Relu>) weight: expected [400, 784], found [784, 400]"));
}

TEST_CASE("torch: export of latent models for scripts/torch_weights.py check" * doctest::skip()) {
  export_for_torch<SeedModel>("seed", 11);
  export_for_torch<VaeModel>("vae", 12);
  export_for_torch<ConvModel>("conv_vae", 13);
  export_model_for_torch<FlatBlocks>("flat_blocks", 14);
  export_model_for_torch<Blocks>("blocks", 15);
}

// ---- SAELens's folder of a sparse autoencoder (#24; interchange/saelens_files.hpp) ----------------------
namespace {

// Deterministic values of an SAE of `a`'s architecture, d_in × d_sae; W_enc starts with the floats a
// text round trip would spoil (−0, a subnormal, the largest float, the smallest normal one).
SaeLensTensors sae_tensors(sae_architecture a, std::size_t d_in, std::size_t d_sae, double seed) {
  SaeLensTensors t;
  t.d_in = d_in;
  t.d_sae = d_sae;
  const auto wave = [&](std::size_t n, double phase, double scale) {
    std::vector<float> v(n);
    for (std::size_t i = 0; i < n; ++i) v[i] = static_cast<float>(scale * std::sin(seed + phase + 0.61 * i));
    return v;
  };
  t.W_enc = wave(d_in * d_sae, 0.1, 0.5);
  t.W_dec = wave(d_sae * d_in, 1.3, 0.4);
  t.b_enc = wave(d_sae, 2.9, 0.1);
  t.b_dec = wave(d_in, 4.7, 0.2);
  if (t.W_enc.size() >= 4) {
    t.W_enc[0] = -0.0f;
    t.W_enc[1] = std::numeric_limits<float>::denorm_min();
    t.W_enc[2] = std::numeric_limits<float>::max();
    t.W_enc[3] = std::numeric_limits<float>::min();
  }
  if (a == sae_architecture::jumprelu) {
    t.threshold = wave(d_sae, 6.1, 0.05);
    for (float& x : t.threshold) x = std::abs(x);
  }
  if (a == sae_architecture::batchtopk) t.topk_threshold = 0.1 + seed * 1e-3;
  return t;
}

SaeLensConfig sae_config(sae_architecture a, std::size_t d_in, std::size_t d_sae) {
  SaeLensConfig c;
  c.d_in = d_in;
  c.d_sae = d_sae;
  c.architecture = a;
  if (a == sae_architecture::topk || a == sae_architecture::batchtopk) c.k = 2;
  return c;
}

using latent_test::same_bits;

std::string saelens_dir(const std::string& name) {
  const std::string dir = scratch("saelens_" + name);
  std::filesystem::remove_all(dir);
  return dir;
}

// A folder of a valid 3 × 5 jumprelu SAE, then its cfg.json and (if given) its weights replaced.
std::string broken_folder(const std::string& name, const std::string& cfg_json,
                          const std::vector<NamedTensor>& weights = {}) {
  const std::string dir = saelens_dir(name);
  write_saelens_folder(dir, sae_config(sae_architecture::jumprelu, 3, 5),
                       sae_tensors(sae_architecture::jumprelu, 3, 5, 1));
  if (!cfg_json.empty()) std::ofstream(dir + "/cfg.json", std::ios::binary) << cfg_json;
  if (!weights.empty()) write_safetensors(dir + "/sae_weights.safetensors", weights);
  return dir;
}

// The tensors of a valid 3 × 5 SAE of `a`'s architecture as NamedTensors, to break one by one.
std::vector<NamedTensor> sae_named(sae_architecture a) {
  const SaeLensTensors t = sae_tensors(a, 3, 5, 1);
  const auto d = [](const std::vector<float>& v) { return std::vector<double>(v.begin(), v.end()); };
  std::vector<NamedTensor> out = {tensor("W_enc", {3, 5}, d(t.W_enc)), tensor("W_dec", {5, 3}, d(t.W_dec)),
                                  tensor("b_enc", {5}, d(t.b_enc)), tensor("b_dec", {3}, d(t.b_dec))};
  if (a == sae_architecture::jumprelu) out.push_back(tensor("threshold", {5}, d(t.threshold)));
  return out;
}

// One row through the SAE as SAELens computes it (sae_lens/saes/*_sae.py); batchtopk at inference,
// relu(h)·[h > topk_threshold] on the rescaled h.
std::vector<double> sae_forward(const SaeLensConfig& c, const SaeLensTensors& t, const std::vector<double>& x) {
  std::vector<double> h(c.d_sae), norm(c.d_sae, 1.0), acts(c.d_sae, 0.0), out(c.d_in);
  for (std::size_t j = 0; j < c.d_sae; ++j) {
    double s = t.b_enc[j];
    for (std::size_t i = 0; i < c.d_in; ++i)
      s += (x[i] - (c.apply_b_dec_to_input ? t.b_dec[i] : 0.0)) * t.W_enc[i * c.d_sae + j];
    if (c.rescale_acts_by_decoder_norm) {
      double n = 0;
      for (std::size_t i = 0; i < c.d_in; ++i) n += double(t.W_dec[j * c.d_in + i]) * t.W_dec[j * c.d_in + i];
      norm[j] = std::sqrt(n);
    }
    h[j] = s * norm[j];
  }
  if (c.architecture == sae_architecture::topk) {
    std::vector<double> sorted = h;
    std::sort(sorted.rbegin(), sorted.rend());
    for (std::size_t j = 0; j < c.d_sae; ++j) acts[j] = h[j] >= sorted[c.k - 1] ? std::max(h[j], 0.0) : 0.0;
  } else {
    for (std::size_t j = 0; j < c.d_sae; ++j) {
      const double cut = c.architecture == sae_architecture::jumprelu    ? t.threshold[j]
                         : c.architecture == sae_architecture::batchtopk ? t.topk_threshold
                                                                         : -1e300;
      acts[j] = h[j] > cut ? std::max(h[j], 0.0) : 0.0;
    }
  }
  for (std::size_t i = 0; i < c.d_in; ++i) {
    double s = t.b_dec[i];
    for (std::size_t j = 0; j < c.d_sae; ++j) s += acts[j] / norm[j] * t.W_dec[j * c.d_in + i];
    out[i] = s;
  }
  return out;
}

double max_difference(const std::vector<double>& a, const std::vector<double>& b) {
  double m = 0;
  for (std::size_t i = 0; i < a.size(); ++i) m = std::max(m, std::abs(a[i] - b[i]));
  return m;
}

}  // namespace

TEST_CASE("saelens: a folder written and read back is bit-exact for the four architectures, unknown keys kept") {
  for (const auto a :
       {sae_architecture::standard, sae_architecture::topk, sae_architecture::batchtopk, sae_architecture::jumprelu}) {
    CAPTURE(saelens_name(a));
    SaeLensConfig c = sae_config(a, 4, 6);
    c.apply_b_dec_to_input = a != sae_architecture::jumprelu;
    c.rescale_acts_by_decoder_norm = a == sae_architecture::batchtopk;
    c.normalize_activations = "constant_norm_rescale";
    c.dtype = "bfloat16";
    c.hook_name = "blocks.3.hook_resid_post";
    c.metadata = {{"model_name", "\"gpt2\""},
                  {"context_size", "128"},
                  {"seqpos_slice", "[null]"},
                  {"sae_lens_training_version", "\"6.18.0\""}};
    c.extra = {{"l1_coefficient", "5e-3"},
               {"decoder_init_norm", "0.10"},
               {"nested", R"({"a":[1,2.50,{"b":null}],"s":"é\n\"q\"","t":true})"}};
    const SaeLensTensors t = sae_tensors(a, 4, 6, 3);
    const std::string dir = saelens_dir(std::string(saelens_name(a)) + "/inner");  // parents created
    write_saelens_folder(dir, c, t);
    const auto [rc, rt] = read_saelens_folder(dir);
    CHECK(rc.d_in == 4);
    CHECK(rc.d_sae == 6);
    CHECK(rc.architecture == a);
    CHECK(rc.k == c.k);
    CHECK(rc.rescale_acts_by_decoder_norm == c.rescale_acts_by_decoder_norm);
    CHECK(rc.apply_b_dec_to_input == c.apply_b_dec_to_input);
    CHECK(rc.normalize_activations == "constant_norm_rescale");
    CHECK(rc.reshape_activations == "none");
    CHECK(rc.dtype == "bfloat16");
    CHECK(rc.device == "cpu");
    CHECK(rc.hook_name == "blocks.3.hook_resid_post");
    auto metadata = c.metadata;
    metadata["sae_lens_version"] = "\"6.0.0\"";  // the layout written, since the config named none
    CHECK(rc.metadata == metadata);
    CHECK(rc.extra == c.extra);  // numbers as written (0.10, 5e-3), strings unescaped and escaped again
    CHECK(same_bits(rt.W_enc, t.W_enc));
    CHECK(same_bits(rt.W_dec, t.W_dec));
    CHECK(same_bits(rt.b_enc, t.b_enc));
    CHECK(same_bits(rt.b_dec, t.b_dec));
    CHECK(same_bits(rt.threshold, t.threshold));
    CHECK(rt.topk_threshold == t.topk_threshold);
    // Written again from what was read: the same bytes.
    const std::string again = saelens_dir(std::string(saelens_name(a)) + "_again");
    write_saelens_folder(again, rc, rt);
    for (const std::string f : {"/cfg.json", "/sae_weights.safetensors"})
      CHECK(detail::read_whole_file(again + f, "t") == detail::read_whole_file(dir + f, "t"));
  }
  // cfg.json is indented, in SAELens's order of keys, with the metadata SAELens reads the layout by.
  SaeLensConfig c = sae_config(sae_architecture::topk, 4, 6);
  c.hook_name = "blocks.0.hook_mlp_out";
  c.extra = {{"b", "1"}, {"a", "[]"}};
  CHECK(saelens_config_json(c) == R"({
  "d_in": 4,
  "d_sae": 6,
  "dtype": "float32",
  "device": "cpu",
  "apply_b_dec_to_input": true,
  "normalize_activations": "none",
  "reshape_activations": "none",
  "metadata": {
    "sae_lens_version": "6.0.0",
    "hook_name": "blocks.0.hook_mlp_out"
  },
  "k": 2,
  "rescale_acts_by_decoder_norm": false,
  "architecture": "topk",
  "a": [],
  "b": 1
}
)");
  // A version of 6 or later in metadata is kept; an older one is replaced by the layout's.
  c.metadata["sae_lens_version"] = "\"6.18.0\"";
  CHECK(contains(saelens_config_json(c), "\"sae_lens_version\": \"6.18.0\""));
  c.metadata["sae_lens_version"] = "\"5.10.7\"";
  CHECK(contains(saelens_config_json(c), "\"sae_lens_version\": \"6.0.0\""));
}

TEST_CASE("saelens: cfg.json as SAELens 6 writes it, and its pre-6.0 flat layouts, are read as SAELens reads them") {
  // SAE.save_model of a TopKSAE trained by SAELens 6.18 (json.dump: one line, ", " and ": ").
  const SaeLensConfig v6 = parse_saelens_config(
      R"({"d_in": 768, "d_sae": 16384, "dtype": "float32", "device": "cuda", "apply_b_dec_to_input": false, )"
      R"("normalize_activations": "none", "reshape_activations": "none", "metadata": {"sae_lens_version": "6.18.0", )"
      R"("sae_lens_training_version": "6.18.0", "model_name": "gpt2", "hook_name": "blocks.8.hook_resid_pre", )"
      R"("hook_head_index": null, "context_size": 1024, "prepend_bos": true, "seqpos_slice": [null], )"
      R"("model_from_pretrained_kwargs": {}}, "k": 32, "rescale_acts_by_decoder_norm": true, "architecture": "topk"})",
      "cfg");
  CHECK(v6.d_in == 768);
  CHECK(v6.d_sae == 16384);
  CHECK(v6.architecture == sae_architecture::topk);
  CHECK(v6.k == 32);
  CHECK(v6.rescale_acts_by_decoder_norm);
  CHECK_FALSE(v6.apply_b_dec_to_input);
  CHECK(v6.device == "cuda");
  CHECK(v6.hook_name == "blocks.8.hook_resid_pre");
  CHECK(v6.metadata.at("model_name") == "\"gpt2\"");
  CHECK(v6.metadata.at("seqpos_slice") == "[null]");
  CHECK(v6.metadata.at("model_from_pretrained_kwargs") == "{}");
  CHECK(v6.extra.empty());

  // A BatchTopK training checkpoint (TrainingSAE.save_model): k may be a float, the training keys are extra.
  const SaeLensConfig batch = parse_saelens_config(
      R"({"d_in": 4, "d_sae": 6, "dtype": "float32", "metadata": {"sae_lens_version": "6.18.0"}, "k": 3.0, )"
      R"("decoder_init_norm": 0.1, "topk_threshold_lr": 0.01, "architecture": "batchtopk"})",
      "cfg");
  CHECK(batch.architecture == sae_architecture::batchtopk);
  CHECK(batch.k == 3);
  CHECK(batch.rescale_acts_by_decoder_norm);  // BatchTopKTrainingSAEConfig's default
  CHECK(batch.extra == std::map<std::string, std::string>{{"decoder_init_norm", "0.1"}, {"topk_threshold_lr", "0.01"}});

  // SAELens 5.x (SAEConfig.to_dict): flat, hook_point renamed, the model keys moved to metadata.
  const SaeLensConfig v5 = parse_saelens_config(
      R"({"architecture": "standard", "d_in": 512, "d_sae": 2048, "dtype": "torch.float32", "device": "cpu", )"
      R"("model_name": "pythia-70m", "hook_point": "blocks.4.attn.hook_z", "hook_layer": 4, "hook_head_index": null, )"
      R"("activation_fn_str": "relu", "activation_fn_kwargs": {}, "apply_b_dec_to_input": true, )"
      R"("finetuning_scaling_factor": false, "sae_lens_training_version": "5.10.7", "prepend_bos": true, )"
      R"("context_size": 128, "normalize_activations": false, "neuronpedia_id": null})",
      "cfg");
  CHECK(v5.architecture == sae_architecture::standard);
  CHECK(v5.dtype == "torch.float32");
  CHECK(v5.hook_name == "blocks.4.attn.hook_z");
  CHECK(v5.reshape_activations == "hook_z");  // SAELens's default for a hook_z hook
  CHECK(v5.normalize_activations == "none");  // false, in the old boolean form
  CHECK(v5.metadata == std::map<std::string, std::string>{{"context_size", "128"},
                                                          {"hook_head_index", "null"},
                                                          {"model_name", "\"pythia-70m\""},
                                                          {"neuronpedia_id", "null"},
                                                          {"prepend_bos", "true"},
                                                          {"sae_lens_training_version", "\"5.10.7\""}});
  CHECK(v5.extra == std::map<std::string, std::string>{{"finetuning_scaling_factor", "false"}, {"hook_layer", "4"}});

  // A pre-6.0 TopK: activation_fn "topk" with activation_fn_kwargs.k makes the architecture topk.
  const SaeLensConfig old_topk = parse_saelens_config(
      R"({"d_in": 8, "d_sae": 16, "dtype": "float32", "activation_fn": "topk", "activation_fn_kwargs": {"k": 4}, )"
      R"("normalize_activations": true})",
      "cfg");
  CHECK(old_topk.architecture == sae_architecture::topk);
  CHECK(old_topk.k == 4);
  CHECK_FALSE(old_topk.rescale_acts_by_decoder_norm);
  CHECK(old_topk.normalize_activations == "expected_average_only_in");
  CHECK(old_topk.apply_b_dec_to_input);

  // A top-level sae_lens_version of 6 chooses the 6.x layout, and is kept in metadata.
  const SaeLensConfig top = parse_saelens_config(
      R"({"sae_lens_version": "6.1.0", "d_in": 2, "d_sae": 2, "dtype": "float64", "architecture": "jumprelu", "hook_name": "x"})",
      "cfg");
  CHECK(top.metadata.at("sae_lens_version") == "\"6.1.0\"");
  CHECK(top.hook_name.empty());  // SAELens 6 reads hook_name from metadata only
  CHECK(top.extra.at("hook_name") == "\"x\"");
}

TEST_CASE("saelens: every problem of cfg.json is a format_error naming the file, the key and what was expected") {
  const auto read = [](const std::string& name, const std::string& cfg) {
    return message_of([&] { read_saelens_folder(broken_folder(name, cfg)); });
  };
  const std::string where = "latent: read_saelens_folder: " + scratch("saelens_cfg") + "/cfg.json: ";
  const std::string v6 = R"("metadata": {"sae_lens_version": "6.18.0"}, )";
  CHECK(read("cfg", "{" + v6 + R"("d_sae": 5, "dtype": "float32", "architecture": "jumprelu"})") ==
        where + "expected the key 'd_in' (the SAE's input width), found none");
  CHECK(read("cfg", "{" + v6 + R"("d_in": "3", "d_sae": 5, "dtype": "float32", "architecture": "jumprelu"})") ==
        where + "key 'd_in': expected a positive integer, found a string \"3\"");
  CHECK(read("cfg", "{" + v6 + R"("d_in": 3.0, "d_sae": 5, "dtype": "float32", "architecture": "jumprelu"})") ==
        where + "key 'd_in': expected a positive integer, found a number 3.0");
  CHECK(read("cfg", "{" + v6 + R"("d_in": 3, "d_sae": 5, "architecture": "jumprelu"})") ==
        where + "expected the key 'dtype' (SAELens converts the weights to it), found none");
  CHECK(read("cfg", "{" + v6 + R"("d_in": 3, "d_sae": 5, "dtype": "int8", "architecture": "jumprelu"})") ==
        where + "expected dtype float32, float64, float16 or bfloat16 (SAELens's DTYPE_MAP), found \"int8\"");
  CHECK(read("cfg", "{" + v6 + R"("d_in": 3, "d_sae": 5, "dtype": "float32"})") ==
        where + "expected the key 'architecture' (\"standard\", \"topk\", \"batchtopk\" or \"jumprelu\"), found none");
  CHECK(read("cfg", "{" + v6 + R"("d_in": 3, "d_sae": 5, "dtype": "float32", "architecture": "gated"})") ==
        where + "key 'architecture': expected \"standard\", \"topk\", \"batchtopk\" or \"jumprelu\", found \"gated\" "
                "(latent reads these four of SAELens's architectures)");
  CHECK(read("cfg", "{" + v6 + R"("d_in": 3, "d_sae": 5, "dtype": "float32", "architecture": "topk"})") ==
        where + "expected the key 'k' (active latents per row) for a topk SAE, found none (SAELens would take its "
                "default, 100)");
  CHECK(read("cfg", "{" + v6 + R"("d_in": 3, "d_sae": 5, "dtype": "float32", "architecture": "topk", "k": 6})") ==
        where + "key 'k': expected an integer from 1 to d_sae (5), found a number 6");
  CHECK(
      read("cfg", "{" + v6 + R"("d_in": 3, "d_sae": 5, "dtype": "float32", "architecture": "batchtopk", "k": 2.5})") ==
      where + "key 'k': expected a whole number from 1 to d_sae (5), found a number 2.5");
  CHECK(
      read(
          "cfg",
          "{" + v6 +
              R"("d_in": 3, "d_sae": 5, "dtype": "float32", "architecture": "jumprelu", "apply_b_dec_to_input": 1})") ==
      where + "key 'apply_b_dec_to_input': expected true or false, found a number 1");
  CHECK(
      read(
          "cfg",
          "{" + v6 +
              R"("d_in": 3, "d_sae": 5, "dtype": "float32", "architecture": "jumprelu", "normalize_activations": null})") ==
      where + "key 'normalize_activations': expected a string, found null");
  CHECK(
      read(
          "cfg",
          "{" + v6 +
              R"("d_in": 3, "d_sae": 5, "dtype": "float32", "architecture": "jumprelu", "normalize_activations": "l2"})") ==
      where + "expected normalize_activations \"none\", \"expected_average_only_in\", \"constant_norm_rescale\" or "
              "\"layer_norm\", found \"l2\"");
  CHECK(read("cfg", R"({"metadata": {"sae_lens_version": "six"}, "d_in": 3})") ==
        where + "key 'sae_lens_version': expected a version such as \"6.18.0\", found a string \"six\"");
  CHECK(read("cfg", R"({"d_in": 3, "d_sae": 5, "dtype": "float32", "activation_fn_str": "tanh-relu"})") ==
        where + "key 'activation_fn_str': expected \"relu\" or \"topk\", found a string \"tanh-relu\"");
  CHECK(read("cfg", R"({"d_in": 3, "d_sae": 5, "dtype": "float32", "hook_point": "a", "hook_name": "b"})") ==
        where + "keys 'hook_point' and 'hook_name' both give hook_name");
  CHECK(read("cfg", "[1, 2]") == where + "expected a JSON object of SAE settings, found an array");
  // Not JSON: the byte, its line and column, what was expected.
  CHECK(read("cfg", "{\n  \"d_in\": 3,\n  \"d_sae\": NaN\n}") ==
        where + "invalid JSON at byte 26 (line 3, column 12): expected a JSON value (NaN and Infinity, which "
                "Python's json module writes, are not JSON), found 'NaN\\x0a}'");
  CHECK(read("cfg", R"({"d_in": 3, "d_in": 4})") ==
        where + "invalid JSON at byte 12 (line 1, column 13): expected distinct member names in an object, 'd_in' "
                "repeats, found '\"d_in\": 4}'");
  // A folder that is not there, or a cfg.json that is not there: io_errors.
  CHECK(message_of([] { read_saelens_folder(scratch("saelens_nowhere")); }) ==
        "latent: read_saelens_folder: " + scratch("saelens_nowhere") +
            ": expected a folder holding cfg.json and sae_weights.safetensors, found nothing");
  const std::string dir = broken_folder("cfg", "");
  std::filesystem::remove(dir + "/cfg.json");
  CHECK(message_of([&] { read_saelens_folder(dir); }) ==
        "latent: read_saelens_folder: " + dir + "/cfg.json: cannot open: No such file or directory");
  CHECK_THROWS_AS(read_saelens_folder(dir), io_error);
}

TEST_CASE("saelens: every problem of the weights is listed in one format_error naming the tensors and both shapes") {
  const std::string cfg =
      R"({"metadata": {"sae_lens_version": "6.18.0"}, "d_in": 3, "d_sae": 5, "dtype": "float32", "architecture": "jumprelu"})";
  const std::string where = "latent: read_saelens_folder: " + scratch("saelens_weights") + "/sae_weights.safetensors: ";
  const auto read = [&](std::vector<NamedTensor> tensors, const std::string& c = "") {
    return message_of([&] { read_saelens_folder(broken_folder("weights", c.empty() ? cfg : c, tensors)); });
  };
  auto w = sae_named(sae_architecture::jumprelu);
  // W_enc transposed, b_dec missing, one tensor too many.
  auto bad = w;
  bad[0].shape = {5, 3};
  bad.erase(bad.begin() + 3);
  bad.push_back(tensor("W_skip", {3, 3}, std::vector<double>(9, 0.0)));
  CHECK(read(bad) ==
        where + "unexpected tensor 'W_skip'; missing tensor 'b_dec' [3]; tensor 'W_enc': expected [3, 5] (d_in "
                "and d_sae from cfg.json), found [5, 3]");
  // A threshold where the architecture has none.
  const std::string topk =
      R"({"metadata": {"sae_lens_version": "6.18.0"}, "d_in": 3, "d_sae": 5, "dtype": "float32", "architecture": "topk", "k": 2})";
  CHECK(read(w, topk) == where + "unexpected tensor 'threshold' in a topk SAE (threshold is jumprelu's, topk_threshold "
                                 "batchtopk's)");
  // None where it has one.
  CHECK(read(sae_named(sae_architecture::standard)) == where + "missing tensor 'threshold' [5]");
  // Both threshold and log_threshold.
  bad = w;
  bad.push_back(tensor("log_threshold", {5}, std::vector<double>(5, -1.0)));
  CHECK(read(bad) == where + "expected threshold or log_threshold, found both");
  // Not finite; beyond float's range (F64).
  bad = w;
  bad[1].values[7] = std::nan("");
  CHECK(read(bad) == where + "tensor 'W_dec': expected finite values, found nan at [2, 1]");
  bad = w;
  bad[2].values[4] = 1e300;
  {
    const std::string dir = broken_folder("weights", cfg);
    write_safetensors(dir + "/sae_weights.safetensors", bad, "F64");
    CHECK(message_of([&] { read_saelens_folder(dir); }) ==
          where + "tensor 'b_enc': expected finite values within float's range, found 1e+300 at [4]");
  }
  // An integer tensor.
  bad = w;
  bad[3].dtype = "I64";
  bad[3].values = {1, 2, 3};
  CHECK(read(bad) == where + "tensor 'b_dec': expected a floating-point tensor (F32, F16, BF16 or F64), found I64");
  // A scaling_factor other than ones (all ones is dropped, as SAELens drops it).
  bad = w;
  bad.push_back(tensor("scaling_factor", {5}, std::vector<double>(5, 1.0)));
  CHECK(read(bad).empty());
  bad.back().values[2] = 0.5;
  CHECK(read(bad) == where + "tensor 'scaling_factor': expected all ones (then it is dropped, as SAELens drops it), "
                             "found other values: latent does not apply a fine-tuning scaling factor");
  // A file that is not safetensors: the codec's message, with the file.
  {
    const std::string dir = broken_folder("weights", cfg);
    std::ofstream(dir + "/sae_weights.safetensors", std::ios::binary) << "short";
    CHECK(message_of([&] { read_saelens_folder(dir); }) ==
          where + "expected a safetensors file (8 bytes of header length, then the header), found 5 bytes");
  }
}

TEST_CASE("saelens: F16, BF16 and F64 weights read as float exactly; log_threshold (SAELens 4.1.0-4.3.2) as its exp") {
  const std::string dir = broken_folder(
      "dtypes",
      R"({"metadata": {"sae_lens_version": "6.18.0"}, "d_in": 1, "d_sae": 2, "dtype": "float16", "architecture": "jumprelu"})");
  // F16 W_enc [1, 2] = {1, -2.5}; BF16 W_dec [2, 1] = {1, -0.5}; F64 b_enc, F32 b_dec, F64 log_threshold.
  const double third = 1.0 / 3.0;
  std::string f64;
  for (const double v : {third, -0.25, std::log(0.5), 0.0}) f64.append(reinterpret_cast<const char*>(&v), 8);
  const std::string json = R"({"W_enc":{"dtype":"F16","shape":[1,2],"data_offsets":[0,4]},)"
                           R"("W_dec":{"dtype":"BF16","shape":[2,1],"data_offsets":[4,8]},)"
                           R"("b_enc":{"dtype":"F64","shape":[2],"data_offsets":[8,24]},)"
                           R"("log_threshold":{"dtype":"F64","shape":[2],"data_offsets":[24,40]},)"
                           R"("b_dec":{"dtype":"F32","shape":[1],"data_offsets":[40,44]}})";
  std::ofstream(dir + "/sae_weights.safetensors", std::ios::binary) << safetensors_file(
      json, std::string("\x00\x3c\x00\xc1", 4) + std::string("\x80\x3f\x00\xbf", 4) + f64 + floats({7}));
  const auto [c, t] = read_saelens_folder(dir);
  CHECK(c.dtype == "float16");
  CHECK(t.W_enc == std::vector<float>{1.0f, -2.5f});
  CHECK(t.W_dec == std::vector<float>{1.0f, -0.5f});
  CHECK(t.b_enc == std::vector<float>{static_cast<float>(third), -0.25f});
  CHECK(t.b_dec == std::vector<float>{7.0f});
  CHECK(t.threshold == std::vector<float>{0.5f, 1.0f});
}

TEST_CASE("saelens: the writer refuses a bad config or bad tensors before it writes anything") {
  const std::string dir = saelens_dir("refused");
  const auto write = [&](const SaeLensConfig& c, const SaeLensTensors& t) {
    return message_of([&] { write_saelens_folder(dir, c, t); });
  };
  const SaeLensConfig c = sae_config(sae_architecture::jumprelu, 3, 5);
  const SaeLensTensors t = sae_tensors(sae_architecture::jumprelu, 3, 5, 1);
  SaeLensConfig bc = c;
  bc.dtype = "float8";
  CHECK(write(bc, t) == "latent: write_saelens_folder: expected dtype float32, float64, float16 or bfloat16 "
                        "(SAELens's DTYPE_MAP), found \"float8\"");
  CHECK_THROWS_AS(write_saelens_folder(dir, bc, t), option_error);
  bc = sae_config(sae_architecture::topk, 3, 5);
  bc.k = 0;
  CHECK(write(bc, sae_tensors(sae_architecture::topk, 3, 5, 1)) ==
        "latent: write_saelens_folder: expected k from 1 to d_sae (5) for a topk SAE, found 0");
  bc = c;
  bc.extra["d_in"] = "4";
  CHECK(write(bc, t) == "latent: write_saelens_folder: extra 'd_in': expected a key latent does not write itself (it "
                        "comes from SaeLensConfig's field)");
  bc = c;
  bc.extra["broken"] = "[1,";
  CHECK(write(bc, t) == "latent: write_saelens_folder: extra 'broken': invalid JSON at byte 3 (line 1, column 4): "
                        "expected a JSON value, found the end of the text");
  bc = c;
  bc.metadata["hook_name"] = "\"x\"";
  CHECK(write(bc, t) ==
        "latent: write_saelens_folder: metadata 'hook_name': expected it in SaeLensConfig::hook_name, not in metadata");
  SaeLensTensors bt = t;
  bt.W_dec.pop_back();
  CHECK(write(c, bt) ==
        "latent: write_saelens_folder: " + dir + ": tensor 'W_dec': expected 15 values for [5, 3], found 14");
  CHECK_THROWS_AS(write_saelens_folder(dir, c, bt), shape_error);
  bt = t;
  bt.d_sae = 4;
  CHECK(write(c, bt) == "latent: write_saelens_folder: " + dir +
                            ": expected tensors of d_in 3 and d_sae 5 (the config's), found d_in 3 and d_sae 4");
  bt = t;
  bt.b_dec[1] = std::numeric_limits<float>::infinity();
  CHECK(write(c, bt) ==
        "latent: write_saelens_folder: " + dir + ": tensor 'b_dec': expected finite values, found inf at [1]");
  CHECK_THROWS_AS(write_saelens_folder(dir, c, bt), data_error);
  CHECK(write(sae_config(sae_architecture::standard, 3, 5), t) ==
        "latent: write_saelens_folder: " + dir +
            ": expected no threshold for a standard SAE (only jumprelu has one), found 5 values");
  CHECK_FALSE(std::filesystem::exists(dir));  // nothing was written
  // A folder where a file is: an io_error.
  std::ofstream(scratch("saelens_a_file")) << "x";
  CHECK_THROWS_AS(write_saelens_folder(scratch("saelens_a_file"), c, t), io_error);
}

TEST_CASE("saelens: Gemma Scope's params.npz reads as a jumprelu SAE without b_dec subtracted from the input") {
  const auto named = sae_named(sae_architecture::jumprelu);
  std::vector<NamedTensor> npz = named;
  npz[0].name = "w_enc";  // the lower-case spelling SAELens's gemma_2 loader accepts too
  const std::string path = scratch("params.npz");
  write_npz(path, npz);
  const auto [c, t] = read_gemma_scope_npz(path);
  CHECK(c.architecture == sae_architecture::jumprelu);
  CHECK(c.d_in == 3);
  CHECK(c.d_sae == 5);
  CHECK_FALSE(c.apply_b_dec_to_input);
  const SaeLensTensors want = sae_tensors(sae_architecture::jumprelu, 3, 5, 1);
  CHECK(same_bits(t.W_enc, want.W_enc));
  CHECK(same_bits(t.threshold, want.threshold));
  // It writes as a SAELens folder and reads back.
  const std::string dir = saelens_dir("gemma");
  write_saelens_folder(dir, c, t);
  CHECK_FALSE(read_saelens_folder(dir).first.apply_b_dec_to_input);
  // Errors name the file; both spellings at once are one tensor twice.
  npz.push_back(named[0]);
  write_npz(path, npz);
  CHECK(message_of([&] { read_gemma_scope_npz(path); }) ==
        "latent: read_gemma_scope_npz: " + path + ": tensor 'W_enc' appears twice");
  npz.pop_back();
  npz.erase(npz.begin() + 4);
  write_npz(path, npz);
  CHECK(message_of([&] { read_gemma_scope_npz(path); }) ==
        "latent: read_gemma_scope_npz: " + path + ": missing tensor 'threshold' [5]");
  write_npz(path, {named[1]});
  CHECK(message_of([&] { read_gemma_scope_npz(path); }) ==
        "latent: read_gemma_scope_npz: " + path + ": expected an array 'W_enc' [d_in, d_sae], found none");
}

TEST_CASE("saelens: folding decoder norms and batchtopk as jumprelu keep the SAE's function, as SAELens's exports") {
  const std::vector<double> x = {0.3, -0.7, 0.2, 0.9};
  for (const auto a : {sae_architecture::standard, sae_architecture::topk, sae_architecture::jumprelu}) {
    CAPTURE(saelens_name(a));
    SaeLensConfig c = sae_config(a, 4, 7);
    c.rescale_acts_by_decoder_norm = a == sae_architecture::topk;
    SaeLensTensors t = sae_tensors(a, 4, 7, 2);
    t.W_enc[2] = 0.25f;  // not the largest float: a finite function
    const auto before = sae_forward(c, t, x);
    fold_decoder_norms(c, t);
    CHECK_FALSE(c.rescale_acts_by_decoder_norm);
    for (std::size_t j = 0; j < 7; ++j) {
      double n = 0;
      for (std::size_t i = 0; i < 4; ++i) n += double(t.W_dec[j * 4 + i]) * t.W_dec[j * 4 + i];
      CHECK(std::sqrt(n) == doctest::Approx(1.0).epsilon(1e-6));
    }
    CHECK(max_difference(before, sae_forward(c, t, x)) < 1e-5);
  }
  // A topk SAE without rescaling is refused: folding would change which latents win.
  SaeLensConfig c = sae_config(sae_architecture::topk, 4, 7);
  SaeLensTensors t = sae_tensors(sae_architecture::topk, 4, 7, 2);
  CHECK(message_of([&] { fold_decoder_norms(c, t); }) ==
        "latent: fold_decoder_norms: expected a standard or jumprelu SAE, or a topk one with "
        "rescale_acts_by_decoder_norm; folding this one would change which latents are selected");
  // BatchTopK: the jumprelu SAE SAELens exports for inference computes what the checkpoint does at inference.
  for (const bool rescale : {false, true}) {
    c = sae_config(sae_architecture::batchtopk, 4, 7);
    c.rescale_acts_by_decoder_norm = rescale;
    t = sae_tensors(sae_architecture::batchtopk, 4, 7, 2);
    t.W_enc[2] = 0.25f;
    t.topk_threshold = 0.05;
    const auto before = sae_forward(c, t, x);
    const auto [jc, jt] = saelens_jumprelu_from_batchtopk(c, t);
    CHECK(jc.architecture == sae_architecture::jumprelu);
    CHECK(jt.threshold == std::vector<float>(7, 0.05f));
    CHECK(max_difference(before, sae_forward(jc, jt, x)) < 1e-5);
  }
}

TEST_CASE("json: the strict reader keeps numbers as written, decodes escapes and refuses what is not JSON") {
  const json::value v = json::parse(
      R"( {"a": [1, -0.5e+3, 12345678901234567890, true, false, null], "s": "\"\\\/\b\f\n\r\t\u00e9\ud83d\ude00é", "o": {}} )",
      "t");
  REQUIRE(v.type == json::kind::object);
  REQUIRE(v.find("a") != nullptr);
  const json::value& a = *v.find("a");
  CHECK(a.items[0].integer() == 1);
  CHECK(a.items[1].text == "-0.5e+3");
  CHECK(a.items[1].number() == -500.0);
  CHECK_FALSE(a.items[1].is_integer());
  CHECK(a.items[2].text == "12345678901234567890");
  CHECK_FALSE(a.items[2].integer().has_value());  // beyond int64: kept as text, not wrapped
  CHECK(json::value{json::kind::number, false, "1e999"}.number() == std::numeric_limits<double>::infinity());
  CHECK(v.find("s")->text == "\"\\/\b\f\n\r\t\xc3\xa9\xf0\x9f\x98\x80\xc3\xa9");
  CHECK(json::dump(v) == R"({"a":[1,-0.5e+3,12345678901234567890,true,false,null],"s":"\"\\/\b\f\n\r\té😀é","o":{}})");
  CHECK(json::dump(json::parse(json::dump(v, 2), "t")) == json::dump(v));
  const auto error = [](const std::string& text) { return message_of([&] { json::parse(text, "f"); }); };
  CHECK(error("[1,]") == "latent: f: invalid JSON at byte 3 (line 1, column 4): expected a JSON value (an object, "
                         "array, string, number, true, false or null), found ']'");
  CHECK(error("{\"a\" 1}") == "latent: f: invalid JSON at byte 5 (line 1, column 6): expected ':' after a member name, "
                              "found '1}'");
  CHECK(error("[01]") ==
        "latent: f: invalid JSON at byte 2 (line 1, column 3): expected no leading zero in a number, found '1]'");
  CHECK(error("[1.]") ==
        "latent: f: invalid JSON at byte 3 (line 1, column 4): expected a digit after the decimal point, found ']'");
  CHECK(error("[-Infinity]") == "latent: f: invalid JSON at byte 2 (line 1, column 3): expected a JSON value (NaN and "
                                "Infinity, which Python's json module writes, are not JSON), found 'Infinity]'");
  CHECK(error("\"\\x\"") == "latent: f: invalid JSON at byte 2 (line 1, column 3): expected one of the escapes \\\" "
                            "\\\\ \\/ \\b \\f \\n \\r \\t \\uXXXX, found 'x\"'");
  CHECK(error("\"\\udc00\"") ==
        "latent: f: invalid JSON at byte 3 (line 1, column 4): expected a high surrogate before a low surrogate, found "
        "'dc00\"'");
  CHECK(error("\"\\ud800x\"") == "latent: f: invalid JSON at byte 7 (line 1, column 8): expected a low surrogate "
                                 "(\\uDC00 to \\uDFFF) after a high surrogate, found 'x\"'");
  CHECK(error("\"a\tb\"") == "latent: f: invalid JSON at byte 2 (line 1, column 3): expected no control byte inside a "
                             "string (write it as an escape), found '\\x09b\"'");
  CHECK(error("\"\xc3(\"") == "latent: f: invalid JSON at byte 1 (line 1, column 2): expected UTF-8 text in a string, "
                              "found '\\xc3(\"'");
  CHECK(error("\xEF\xBB\xBF{}") == "latent: f: invalid JSON at byte 0 (line 1, column 1): expected JSON text without a "
                                   "byte order mark, found '\\xef\\xbb\\xbf{}'");
  CHECK(error("{} x") ==
        "latent: f: invalid JSON at byte 3 (line 1, column 4): expected the end of the text after the JSON value, "
        "found 'x'");
  CHECK(error("") == "latent: f: invalid JSON at byte 0 (line 1, column 1): expected a JSON value, found the end of "
                     "the text");
  CHECK(error(std::string(65, '[') + std::string(65, ']')) ==
        "latent: f: invalid JSON at byte 64 (line 1, column 65): expected at most 64 levels of nesting, found "
        "'[]]]]]]]]]]]]]]]'");
  CHECK(json::parse(std::string(64, '[') + std::string(64, ']'), "f").type == json::kind::array);
}

// ---- SAELens through PyTorch (run by ctest with LATENT_SAELENS_DIR; see tests/weights/CMakeLists.txt) ---
namespace {

std::string saelens_python_dir() {
  const char* dir = std::getenv("LATENT_SAELENS_DIR");
  REQUIRE_MESSAGE(dir != nullptr, "set LATENT_SAELENS_DIR to the folder tests/weights/saelens_layout.py wrote");
  return dir;
}

std::vector<float> as_floats(const NamedTensor& t) { return std::vector<float>(t.values.begin(), t.values.end()); }

}  // namespace

TEST_CASE("saelens python: read the folders saelens_layout.py wrote as SAELens 4.1 to 6.18 and Gemma Scope write them" *
          doctest::skip()) {
  const std::string dir = saelens_python_dir();
  const json::value cases = json::parse(detail::read_whole_file(dir + "/cases.json", "t"), dir + "/cases.json");
  REQUIRE(cases.type == json::kind::object);
  REQUIRE(cases.keys.size() >= 7);
  for (std::size_t n = 0; n < cases.keys.size(); ++n) {
    const std::string name = cases.keys[n];
    const json::value& want = cases.items[n];
    CAPTURE(name);
    const bool gemma = want.find("gemma_npz") != nullptr;
    const auto [c, t] =
        gemma ? read_gemma_scope_npz(dir + "/" + name + "/params.npz") : read_saelens_folder(dir + "/" + name);
    CHECK(saelens_name(c.architecture) == want.find("architecture")->text);
    CHECK(c.d_in == static_cast<std::size_t>(*want.find("d_in")->integer()));
    CHECK(c.d_sae == static_cast<std::size_t>(*want.find("d_sae")->integer()));
    CHECK(c.k == static_cast<std::size_t>(*want.find("k")->integer()));
    CHECK(c.rescale_acts_by_decoder_norm == want.find("rescale_acts_by_decoder_norm")->boolean);
    CHECK(c.apply_b_dec_to_input == want.find("apply_b_dec_to_input")->boolean);
    CHECK(c.dtype == want.find("dtype")->text);
    CHECK(c.hook_name == want.find("hook_name")->text);
    CHECK(c.normalize_activations == want.find("normalize_activations")->text);
    for (std::size_t m = 0; m < want.find("metadata")->keys.size(); ++m)
      CHECK(c.metadata.at(want.find("metadata")->keys[m]) == json::dump(want.find("metadata")->items[m]));
    for (std::size_t m = 0; m < want.find("extra")->keys.size(); ++m)
      CHECK(c.extra.at(want.find("extra")->keys[m]) == json::dump(want.find("extra")->items[m]));
    // The values, as float32 (what the file's dtype converts to exactly), from the script's .npz.
    const auto expected = read_npz(dir + "/" + name + "_expected.npz");
    const bool exact = want.find("exact")->boolean;
    for (const NamedTensor& e : expected) {
      CAPTURE(e.name);
      if (e.name == "topk_threshold") {
        CHECK(t.topk_threshold == e.values[0]);
        continue;
      }
      const std::vector<float>& got = e.name == "W_enc"   ? t.W_enc
                                      : e.name == "W_dec" ? t.W_dec
                                      : e.name == "b_enc" ? t.b_enc
                                      : e.name == "b_dec" ? t.b_dec
                                                          : t.threshold;
      const std::vector<float> w = as_floats(e);
      if (exact || e.name != "threshold") {
        CHECK(same_bits(got, w));
      } else {  // exp of log_threshold: std::exp and NumPy's may differ in the last bit of a double
        REQUIRE(got.size() == w.size());
        for (std::size_t i = 0; i < w.size(); ++i) CHECK(got[i] == doctest::Approx(w[i]).epsilon(1e-7));
      }
    }
  }
}

TEST_CASE("saelens python: export of latent's folders for saelens_layout.py check" * doctest::skip()) {
  const std::string dir = saelens_python_dir();
  for (const auto a :
       {sae_architecture::standard, sae_architecture::topk, sae_architecture::batchtopk, sae_architecture::jumprelu}) {
    const std::string name = "latent_" + std::string(saelens_name(a));
    SaeLensConfig c = sae_config(a, 16, 40);
    c.k = 5;
    c.rescale_acts_by_decoder_norm = a == sae_architecture::batchtopk;
    c.apply_b_dec_to_input = a != sae_architecture::jumprelu;
    c.hook_name = "blocks.3.hook_resid_post";
    c.metadata = {{"model_name", "\"gpt2\""}, {"context_size", "128"}};
    c.extra = {{"l1_coefficient", "5.0"}, {"latent_note", "{\"seed\":[1,2]}"}};
    const SaeLensTensors t = sae_tensors(a, 16, 40, 5);
    write_saelens_folder(dir + "/" + name, c, t);
    const auto d = [](const std::vector<float>& v) { return std::vector<double>(v.begin(), v.end()); };
    std::vector<NamedTensor> expected = {tensor("W_enc", {16, 40}, d(t.W_enc)), tensor("W_dec", {40, 16}, d(t.W_dec)),
                                         tensor("b_enc", {40}, d(t.b_enc)), tensor("b_dec", {16}, d(t.b_dec))};
    if (a == sae_architecture::jumprelu) expected.push_back(tensor("threshold", {40}, d(t.threshold)));
    write_npz(dir + "/" + name + "_expected.npz", expected);
    if (a == sae_architecture::batchtopk)
      write_npz(dir + "/" + name + "_topk_threshold.npz", {tensor("topk_threshold", {}, {t.topk_threshold})}, "<f8");
  }
}
}  // namespace test_weights
