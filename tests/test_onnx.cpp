// ONNX export (#12, "Models out"): the protobuf writer's bytes against hand-computed ones, the errors,
// and the export of a set of models whose inputs and latent's own outputs are written beside each file
// as .npy, for tests/onnx/check_onnx.py to check with onnx's checker and shape inference and to
// evaluate with its own NumPy interpreter of the ops. The files go to $LATENT_ONNX_OUT (the ctest test
// onnx.write sets it), else to a temporary folder that is removed afterwards.
#include <doctest/doctest.h>
#include <latent/interchange.hpp>
#include <latent/latent.hpp>

#include <xtensor/xnpy.hpp>     // xt::dump_npy: inputs and latent's outputs for the NumPy check
#include <xtensor/xrandom.hpp>  // xt::random: seeded inputs
#include <xtensor/xtensor.hpp>  // xt::xtensor

#include <cstddef>     // std::size_t
#include <cstdint>     // std::int32_t, std::uint64_t
#include <cstdlib>     // std::getenv
#include <filesystem>  // std::filesystem: the output folder
#include <fstream>     // std::ifstream, std::ofstream
#include <iterator>    // std::istreambuf_iterator
#include <ratio>       // std::ratio: GroupNorm's ε
#include <string>      // std::string
#include <vector>      // std::vector

#include <unistd.h>  // getpid: a private temporary folder

// The file's own names live in namespace test_onnx: the test programs compile several test files as one
// translation unit (tests/CMakeLists.txt), and each file's helpers stay its own.
namespace test_onnx {

using namespace latent;
namespace fs = std::filesystem;
namespace ox = latent::detail::onnx;

namespace {

std::string hex(const std::string& bytes) {
  static const char* digits = "0123456789abcdef";
  std::string s;
  for (const char c : bytes) {
    const auto b = static_cast<unsigned char>(c);
    if (!s.empty()) s += ' ';
    s += digits[b >> 4];
    s += digits[b & 15];
  }
  return s;
}

std::string read_all(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

// ---- the models ---------------------------------------------------------------------------------------
// The origin article's seed autoencoder.
struct SeedEncoder : Seq<Dense<100, 20, Relu>, Dense<20, 5, Sigmoid>> {};
struct SeedDecoder : Seq<Dense<5, 20, Relu>, Dense<20, 100, Sigmoid>> {};
using SeedModel = Autoencoder<SeedEncoder, SeedDecoder, MSE>;

// The reference VAE (PyTorch's example).
struct RefEncoder : Seq<Dense<784, 400, Relu>, Gaussian<20>> {};
struct RefDecoder : Seq<Dense<20, 400, Relu>, Dense<400, 784>> {};
using RefVae = VAE<RefEncoder, RefDecoder, Bernoulli>;

// The README's convolutional VAE (Keras's).
struct ConvEncoder : Seq<Input<1, 28, 28>, Conv2D<32, 3, 2, Same, Relu>, Conv2D<64, 3, 2, Same, Relu>, Flatten,
                         Dense<3136, 16, Relu>, Gaussian<16>> {};
struct ConvDecoder : Seq<Dense<16, 3136, Relu>, Reshape<64, 7, 7>, ConvTranspose2D<64, 3, 2, Same, Relu>,
                         ConvTranspose2D<32, 3, 2, Same, Relu>, ConvTranspose2D<1, 3, 1, Same>> {};
using ConvVae = VAE<ConvEncoder, ConvDecoder, Bernoulli>;

// Every activation, on logits (BCEWithLogits: the reconstruction is their sigmoid), in float and double.
struct ActEncoder : Seq<Dense<6, 8, Tanh>, Dense<8, 7, LeakyRelu>, Dense<7, 6, Elu>, Dense<6, 4, Softplus>> {};
struct ActDecoder : Seq<Dense<4, 6, Relu>, Dense<6, 8, LeakyReluWith<1, 100>>, Dense<8, 6, Sigmoid>, Dense<6, 6>> {};
using ActModel = Autoencoder<ActEncoder, ActDecoder, BCEWithLogits>;
using ActModelDouble = Autoencoder<ActEncoder, ActDecoder, MSE, double>;

// The convolution paddings: Keras's Same asymmetric (8, K 3, S 2: 0 before, 1 after), PyTorch's Pad<1>
// (stride 2 not dividing the padded extent), Valid; transposed Pad<1, 1>, Same with K < S (output
// padding), Same with K > S (an odd crop: 0 before, 1 after) and with an even crop (K 4, S 2).
struct PadEncoder : Seq<Input<2, 8, 8>, Conv2D<3, 3, 2, Same, Relu>, Conv2D<4, 3, 1, Pad<1>, Tanh>,
                        Conv2D<2, 2, 1, Valid>, Flatten, Dense<18, 5>> {};
struct PadDecoder : Seq<Dense<5, 8, Relu>, Reshape<2, 2, 2>, ConvTranspose2D<3, 3, 2, Pad<1, 1>, Relu>,
                        ConvTranspose2D<3, 3, 2, Same, Elu>, ConvTranspose2D<2, 1, 1, Valid>, AvgPool2D<2>,
                        ConvTranspose2D<2, 1, 2, Same>> {};
using PadModel = Autoencoder<PadEncoder, PadDecoder, MSE>;

// Pooling and upsampling, Pad<1> with stride 2, a transposed Same with K 4, S 2.
struct PoolEncoder : Seq<Input<1, 8, 8>, Conv2D<3, 3, 2, Pad<1>, LeakyRelu>, AvgPool2D<2>, Flatten, Dense<12, 3>> {};
struct PoolDecoder : Seq<Dense<3, 8, Relu>, Reshape<2, 2, 2>, Upsample2D<2>, ConvTranspose2D<2, 4, 2, Same, Tanh>,
                         AvgPool2D<3, 1>, ConvTranspose2D<1, 3, 1, Valid>> {};
using PoolModel = Autoencoder<PoolEncoder, PoolDecoder, BCEWithLogits>;
using PoolModelDouble = Autoencoder<PoolEncoder, PoolDecoder, MSE, double>;

// A Gaussian likelihood, with log σ² biases beyond ±30 so that the clamp shows.
struct ClampEncoder : Seq<Dense<10, 8, Tanh>, Gaussian<4>> {};
struct ClampDecoder : Seq<Dense<4, 8, Softplus>, Dense<8, 10>> {};
using ClampVae = VAE<ClampEncoder, ClampDecoder, UnitGaussian>;
using LearnedVae = VAE<ClampEncoder, ClampDecoder, LearnedGaussian, double>;

// Conditional VAEs: a flat encoder (labels after the data) and a shaped one (labels as planes).
struct CondEncoder : Seq<Dense<12 + 3, 8, Relu>, Gaussian<2>> {};
struct CondDecoder : Seq<Dense<2 + 3, 8, Relu>, Dense<8, 12>> {};
using CondVae = ConditionalVAE<CondEncoder, CondDecoder, 3, Bernoulli>;
struct CondConvEncoder
    : Seq<Input<1 + 2, 6, 6>, Conv2D<2, 3, 2, Same, Relu>, Flatten, Dense<18, 8, Relu>, Gaussian<2>> {};
struct CondConvDecoder : Seq<Dense<2 + 2, 18, Relu>, Reshape<2, 3, 3>, ConvTranspose2D<1, 3, 2, Same>> {};
using CondConvVae = ConditionalVAE<CondConvEncoder, CondConvDecoder, 2, Bernoulli>;

// The rest of the family: their inference is the plain autoencoder's or the VAE's.
// (with a nested Seq: for_each_layer flattens it)
struct SmallHidden : Seq<Dense<9, 7, Tanh>, Dense<7, 6, Elu>> {};
struct SmallEncoder : Seq<SmallHidden, Dense<6, 3, Sigmoid>> {};
struct SmallDecoder : Seq<Dense<3, 6, Tanh>, Dense<6, 9>> {};
struct SmallVaeEncoder : Seq<Dense<9, 6, Tanh>, Gaussian<3>> {};
using Denoising = DenoisingAutoencoder<SmallEncoder, SmallDecoder, MSE>;
using Sparse = SparseAutoencoder<SmallEncoder, SmallDecoder, BCEWithLogits>;
using Contractive = ContractiveAutoencoder<SmallEncoder, SmallDecoder, MSE>;
using Importance = IWAE<SmallVaeEncoder, SmallDecoder, 3, Bernoulli>;

// Beyond chains (#23): the ResNet VAE (BatchNorm after convolutions, pre-activation residual
// blocks of GroupNorm, Silu and convolutions, ConvTranspose2D), as written there.
template <std::size_t C>
using ResBlock = Residual<Seq<GroupNorm<8>, Silu, Conv2D<C, 3, 1, Same>, GroupNorm<8>, Silu, Conv2D<C, 3, 1, Same>>>;
struct ResEncoder : Seq<Input<1, 28, 28>, Conv2D<32, 3, 2, Pad<1>>, BatchNorm, Relu, Conv2D<64, 3, 2, Pad<1>>,
                        BatchNorm, Relu, ResBlock<64>, Flatten, Gaussian<16>> {};
struct ResDecoder : Seq<Dense<16, 3136>, Reshape<64, 7, 7>, ResBlock<64>, ConvTranspose2D<32, 3, 2, Pad<1, 1>>,
                        BatchNorm, Relu, ConvTranspose2D<1, 3, 2, Pad<1, 1>>> {};
using ResVae = VAE<ResEncoder, ResDecoder, Bernoulli>;

// A small KL autoencoder of latent diffusion's kind: GroupNorm with ε 1e-6, attention in the middle, a
// residual block with a 1×1 projection, MaxPool2D, Gelu standing alone, a spatial Gaussian code.
using Eps6 = std::ratio<1, 1000000>;
struct KlEncoder
    : Seq<Input<2, 8, 8>, Conv2D<8, 3, 1, Same>,
          Residual<Seq<GroupNorm<4, Eps6>, Silu, Conv2D<8, 3, 1, Same>, GroupNorm<4, Eps6>, Silu, Conv2D<8, 3, 1, Same>>>,
          MaxPool2D<2>, SpatialAttention<4>, Residual<Seq<GroupNorm<2, Eps6>, Gelu, Conv2D<4, 3, 1, Same>>, Conv2D<4, 1, 1, Valid>>,
          GroupNorm<2, Eps6>, Silu, SpatialGaussian<2>> {};
struct KlDecoder : Seq<Input<2, 4, 4>, Conv2D<8, 3, 1, Same>, SpatialAttention<2>, Upsample2D<2>,
                       Conv2D<4, 3, 1, Same>, BatchNorm, Tanh, Conv2D<2, 3, 1, Same>> {};
using KlVae = VAE<KlEncoder, KlDecoder, Bernoulli>;
using KlVaeDouble = VAE<KlEncoder, KlDecoder, UnitGaussian, double>;

// Flat: BatchNorm and LayerNorm per feature, Gelu and Relu standing alone, Dropout (the identity in
// eval mode), a residual block on rows, in double.
struct FlatEncoder : Seq<Dense<10, 12>, BatchNorm, Gelu, Dropout<20>, Residual<Seq<Dense<12, 12>, LayerNorm, Relu>>,
                         Dense<12, 4>> {};
struct FlatDecoder : Seq<Dense<4, 12>, LayerNorm, Silu, Residual<Seq<Dense<12, 6, Tanh>, Dense<6, 12>>, Dense<12, 12>>,
                         BatchNorm, Dense<12, 10>> {};
using FlatModel = Autoencoder<FlatEncoder, FlatDecoder, MSE, double>;
// VQ-VAEs (#25): one code per row from a codebook trained by gradient (its parameters), in double; and a
// convolution's 3 × 3 grid quantised at every position from an EMA codebook (its state).
struct VqFlatEncoder : Seq<Dense<10, 4, Tanh>, VectorQuantizer<6, 4>> {};
struct VqFlatDecoder : Seq<Dense<4, 8, Relu>, Dense<8, 10>> {};
using VqFlat = VQVAE<VqFlatEncoder, VqFlatDecoder, MSE, double>;
struct VqGridEncoder : Seq<Input<1, 6, 6>, Conv2D<3, 3, 2, Same, Tanh>, VectorQuantizerEMA<8, 3>> {};
struct VqGridDecoder : Seq<Dense<27, 36, Sigmoid>> {};
using VqGrid = VQVAE<VqGridEncoder, VqGridDecoder, BCE>;

// ---- writing a case -----------------------------------------------------------------------------------
constexpr std::size_t batch = 8;  // enough rows that few ReLU units are dead for all of them

template <class Model>
constexpr bool variational_v = requires { typename Model::likelihood_type; };

/// Random, seeded weights: the model's own initialisation, then every bias moved away from 0.
template <class Model>
void perturb_biases(Model& m, std::uint64_t seed) {
  Rng rng(seed);
  auto p = m.parameters();
  for_each_layer<Model>([&]<class L>(const layer_slot<L>& slot) {
    if constexpr (requires { L::bias_count; })
      for (std::size_t j = 0; j < L::bias_count; ++j)
        p[slot.offset + L::param_count - L::bias_count + j] =
            static_cast<typename Model::scalar_type>(rng.uniform(-0.5, 0.5));
  });
}

/// Running statistics away from their initial 0 and 1 (variances in [0.5, 2]), so that the graph must
/// carry the model's state to agree with it.
template <class Model>
void perturb_state(Model& m, std::uint64_t seed) {
  Rng rng(seed);
  auto s = m.state();
  for_each_layer<Model>([&]<class L>(const layer_slot<L>& slot) {
    const auto walk = [&]<class M>(const layer_slot<M>& at, auto& self) -> void {
      if constexpr (requires { M::momentum; })
        for (std::size_t c = 0; c < M::C; ++c) {
          s[at.state_offset + c] = static_cast<typename Model::scalar_type>(rng.uniform(-0.5, 0.5));
          s[at.state_offset + M::C + c] = static_cast<typename Model::scalar_type>(rng.uniform(0.5, 2.0));
        }
      for_each_branch<M>([&](auto branch) {
        using Chain = typename decltype(branch)::chain;
        for_each_layer_of<Chain>([&]<class N>(const layer_slot<N>& inner) { self(inner, self); }, at.part,
                                 at.offset + branch.offset, at.state_offset + branch.state_offset);
      });
    };
    walk(slot, walk);
  });
}

/// The folder the cases go to, and the list of the cases written (manifest.txt, for the checker).
struct output_folder {
  fs::path dir;
  bool temporary = false;
  std::vector<std::string> cases;

  /// `for_checker`: the folder check_onnx.py reads ($LATENT_ONNX_OUT) when it is set; else (and for
  /// the other cases) a private temporary one, removed afterwards.
  explicit output_folder(bool for_checker = false) {
    const char* env = for_checker ? std::getenv("LATENT_ONNX_OUT") : nullptr;
    if (env != nullptr && *env != '\0') {
      dir = env;
    } else {
      static int count = 0;
      dir = fs::temp_directory_path() / ("latent-onnx-" + std::to_string(getpid()) + "-" + std::to_string(count++));
      temporary = true;
    }
    fs::remove_all(dir);
    fs::create_directories(dir);
  }
  ~output_folder() {
    if (temporary) {
      std::error_code ec;
      fs::remove_all(dir, ec);
    }
  }
  template <class E>
  void npy(const std::string& name, const std::string& what, const E& e) const {
    xt::dump_npy((dir / (name + "." + what + ".npy")).string(), e);
  }
};

/// latent's log σ² of x: the encoder's own forward pass, asked for the head's statistics.
template <class Model>
xt::xtensor<typename Model::scalar_type, 2> log_variances(const Model& m,
                                                          const xt::xtensor<typename Model::scalar_type, 2>& in) {
  using T = typename Model::scalar_type;
  using Enc = typename Model::encoder_type;
  constexpr std::size_t Z = Model::code_size;
  const std::size_t n = in.shape()[0];
  std::vector<T> stats(n * 2 * Z), code(n * Z), cache(n * (Enc::cache_size + 1));
  Context<T> ctx{.gaussian_stats = stats.data()};
  ctx.state = m.state().data();  // eval mode: BatchNorm's running statistics
  Enc::forward(m.parameters().data(), in.data(), code.data(), cache.data(), n, ctx);
  xt::xtensor<T, 2> lv = xt::xtensor<T, 2>::from_shape({n, Z});
  for (std::size_t r = 0; r < n; ++r)
    for (std::size_t j = 0; j < Z; ++j) lv(r, j) = stats[r * 2 * Z + Z + j];
  return lv;
}

/// A conditional model's encoder input: the labels joined as the model joins them (README: after a
/// flat encoder's data, or as constant planes after a shaped one's image channels).
template <class Model>
xt::xtensor<typename Model::scalar_type, 2> joined(const xt::xtensor<typename Model::scalar_type, 2>& x,
                                                   const xt::xtensor<typename Model::scalar_type, 2>& c) {
  using Enc = typename Model::encoder_type;
  constexpr std::size_t plane = detail::condition_plane<Enc>(), C = Model::condition_size, D = Model::input_size;
  xt::xtensor<typename Model::scalar_type, 2> j =
      xt::xtensor<typename Model::scalar_type, 2>::from_shape({x.shape()[0], D + C * plane});
  for (std::size_t r = 0; r < x.shape()[0]; ++r) {
    for (std::size_t i = 0; i < D; ++i) j(r, i) = x(r, i);
    for (std::size_t k = 0; k < C; ++k)
      for (std::size_t q = 0; q < plane; ++q) j(r, D + k * plane + q) = c(r, k);
  }
  return j;
}

/// Exports `part` of `m` as <name>.onnx and writes its inputs and latent's outputs beside it.
template <class Model>
void write_case(output_folder& out, const std::string& name, const Model& m, onnx_part part, std::uint64_t seed) {
  using T = typename Model::scalar_type;
  constexpr std::size_t C = Model::condition_size;
  export_onnx(m, (out.dir / (name + ".onnx")).string(), part);
  xt::random::seed(seed);
  const xt::xtensor<T, 2> x = xt::random::rand<T>({batch, Model::input_size});
  const xt::xtensor<T, 2> z = xt::random::randn<T>({batch, Model::code_size});
  const bool encoder = part != onnx_part::decoder, decoder = part != onnx_part::encoder;
  if (encoder) out.npy(name, "x", x);
  if (!encoder) out.npy(name, "z", z);
  if constexpr (C > 0) {
    xt::xtensor<std::int32_t, 1> labels = xt::xtensor<std::int32_t, 1>::from_shape({batch});
    for (std::size_t r = 0; r < batch; ++r) labels(r) = static_cast<std::int32_t>((r + seed) % C);
    xt::xtensor<T, 2> c = xt::zeros<T>({batch, C});
    for (std::size_t r = 0; r < batch; ++r) c(r, static_cast<std::size_t>(labels(r))) = T(1);
    out.npy(name, "c", c);
    if (encoder) {
      out.npy(name, "mu", m.encode(x, labels));
      out.npy(name, "log_var", log_variances(m, joined<Model>(x, c)));
    }
    if (decoder) out.npy(name, "mean", encoder ? m.reconstruct(x, labels) : m.decode(z, labels));
  } else if constexpr (variational_v<Model>) {
    if (encoder) {
      out.npy(name, "mu", m.encode(x));
      out.npy(name, "log_var", log_variances(m, x));
    }
    if (decoder) out.npy(name, "mean", encoder ? m.reconstruct(x) : m.decode(z));
  } else {
    if (encoder) out.npy(name, "code", m.encode(x));
    if constexpr (requires { m.encode_indices(x); }) {
      if (encoder) {
        const auto codes = m.encode_indices(x);
        xt::xtensor<std::int64_t, 2> wide = xt::xtensor<std::int64_t, 2>::from_shape(codes.shape());
        for (std::size_t i = 0; i < codes.size(); ++i) wide.data()[i] = codes.data()[i];
        out.npy(name, "indices", wide);
      }
    }
    if (decoder) out.npy(name, "reconstruction", encoder ? m.reconstruct(x) : m.decode(z));
  }
  out.cases.push_back(name);
}

template <class Model>
Model make(std::uint64_t seed) {
  Model m(seed);
  perturb_biases(m, seed + 1);
  perturb_state(m, seed + 2);
  return m;
}

/// A quantiser's codebook spread over (−0.9, 0.9), where its tanh encoder's outputs lie (the initial
/// one, within ±1/K, would give most rows the same code).
template <class Model>
Model spread_codebook(Model m, std::uint64_t seed) {
  Rng rng(seed);
  for_each_layer<Model>([&]<class L>(const layer_slot<L>& slot) {
    if constexpr (detail::vector_quantizer_layer_type<L>) {
      auto book = L::ema ? m.state().subspan(slot.state_offset, L::codes * L::code_dim)
                         : m.parameters().subspan(slot.offset, L::codes * L::code_dim);
      for (auto& v : book) v = static_cast<typename Model::scalar_type>(rng.uniform(-0.9, 0.9));
    }
  });
  return m;
}

}  // namespace

// ---- the protobuf writer -------------------------------------------------------------------------------
TEST_CASE("onnx: the protobuf writer's bytes are the wire format's") {
  // Examples of protobuf's encoding guide (protobuf.dev/programming-guides/encoding), by hand.
  ox::message a;
  a.integer(1, 150);
  CHECK(hex(a.str()) == "08 96 01");
  ox::message b;
  b.bytes(2, "testing");
  CHECK(hex(b.str()) == "12 07 74 65 73 74 69 6e 67");
  ox::message c;
  c.packed(4, {3, 270, 86942});
  CHECK(hex(c.str()) == "22 06 03 8e 02 9e a7 05");
  ox::message d;  // an embedded message is length-delimited: field 3 holding a's 3 bytes
  d.sub(3, a);
  CHECK(hex(d.str()) == "1a 03 08 96 01");
  ox::message e;  // a negative int64 is its two's complement: ten bytes
  e.integer(3, -1);
  CHECK(hex(e.str()) == "18 ff ff ff ff ff ff ff ff ff 01");
  ox::message f;  // a float is fixed 32-bit little-endian: 1.0f = 0x3f800000
  f.real(2, 1.0f);
  CHECK(hex(f.str()) == "15 00 00 80 3f");
  ox::message g;  // 300 = 0b10_0101100: 0xac 0x02; 0 is one byte; 2^63 needs ten
  g.varint(300);
  g.varint(0);
  g.varint(1ull << 63);
  CHECK(hex(g.str()) == "ac 02 00 80 80 80 80 80 80 80 80 80 01");
  // An attribute as onnx writes it: name (1), i (3), type INT (20 = 0xa0 0x01).
  CHECK(hex(ox::attribute_int("axis", 1).str()) == "0a 04 61 78 69 73 18 01 a0 01 02");
}

TEST_CASE("onnx: a file starts with the IR version, and the same model gives the same bytes") {
  output_folder out;
  const SeedModel m = make<SeedModel>(7);
  export_onnx(m, (out.dir / "a.onnx").string());
  export_onnx(m, (out.dir / "b.onnx").string());
  const std::string a = read_all(out.dir / "a.onnx");
  CHECK(a == read_all(out.dir / "b.onnx"));
  REQUIRE(a.size() > 2);
  CHECK(hex(a.substr(0, 2)) == "08 08");  // ModelProto.ir_version = 8
  CHECK(a.find("Gemm") != std::string::npos);
  CHECK(a.size() > SeedModel::param_count * sizeof(float));  // every weight is in it
}

TEST_CASE("onnx: an unwritable path is an io_error and leaves nothing behind") {
  output_folder out;
  const SeedModel m = make<SeedModel>(7);
  CHECK_THROWS_AS(export_onnx(m, (out.dir / "missing" / "m.onnx").string()), io_error);
  fs::create_directory(out.dir / "folder");
  CHECK_THROWS_AS(export_onnx(m, (out.dir / "folder").string()), io_error);
  try {
    export_onnx(m, (out.dir / "missing" / "m.onnx").string());
  } catch (const io_error& e) {
    CHECK(std::string(e.what()).find("export_onnx") != std::string::npos);
  }
  std::size_t entries = 0;
  for (const auto& entry : fs::directory_iterator(out.dir)) {
    ++entries;
    CHECK(entry.path().filename() == "folder");
  }
  CHECK(entries == 1);
  CHECK(fs::is_empty(out.dir / "folder"));
}

// The predicates behind the compile-time refusals.
struct MyLayer {
  static constexpr std::size_t in_size = 2, out_size = 2, param_count = 0;
};
static_assert(ox::layer_rule<Dense<3, 2, Relu>>::known && ox::layer_rule<Flatten::bound<shape<1, 2, 2>>>::known);
static_assert(!ox::layer_rule<MyLayer>::known);
static_assert(ox::known_activation_v<LeakyReluWith<1, 100>> && ox::known_activation_v<LeakyRelu>);
static_assert(!ox::known_activation_v<MyLayer>);
static_assert(ox::sigmoid_mean_v<Bernoulli> && ox::identity_mean_v<LearnedGaussian> && !ox::identity_mean_v<MyLayer>);
// ConvTranspose's pads and output_padding give latent's output sizes.
static_assert(ox::transpose_pads(detail::conv_transpose_axis<Pad<1, 1>>(7, 3, 2)).before == 1 &&
              ox::transpose_pads(detail::conv_transpose_axis<Pad<1, 1>>(7, 3, 2)).after == 0 &&
              ox::transpose_pads(detail::conv_transpose_axis<Pad<1, 1>>(7, 3, 2)).extra == 0);
static_assert(ox::transpose_pads(detail::conv_transpose_axis<Same>(7, 3, 2)).after == 1);
static_assert(ox::transpose_pads(detail::conv_transpose_axis<Same>(4, 1, 2)).extra == 1);
static_assert(ox::transpose_pads(detail::conv_transpose_axis<Pad<0, 1>>(4, 3, 2)).extra == 1);

// ---- the models, for check_onnx.py ---------------------------------------------------------------------
// Run by ctest as onnx.write (tests/onnx/CMakeLists.txt, with --no-skip), which writes for check_onnx.py.
TEST_CASE("onnx: export the models, their inputs and latent's outputs" * doctest::skip()) {
  output_folder out(/*for_checker=*/true);
  {
    const SeedModel m = make<SeedModel>(1);
    write_case(out, "seed_autoencoder", m, onnx_part::model, 11);
    write_case(out, "seed_autoencoder_encoder", m, onnx_part::encoder, 12);
    write_case(out, "seed_autoencoder_decoder", m, onnx_part::decoder, 13);
  }
  write_case(out, "reference_vae", make<RefVae>(2), onnx_part::model, 21);
  {
    const ConvVae m = make<ConvVae>(3);
    write_case(out, "conv_vae", m, onnx_part::model, 31);
    write_case(out, "conv_vae_encoder", m, onnx_part::encoder, 32);
    write_case(out, "conv_vae_decoder", m, onnx_part::decoder, 33);
  }
  write_case(out, "activations", make<ActModel>(4), onnx_part::model, 41);
  write_case(out, "activations_double", make<ActModelDouble>(5), onnx_part::model, 51);
  write_case(out, "paddings", make<PadModel>(6), onnx_part::model, 61);
  write_case(out, "pool_upsample", make<PoolModel>(7), onnx_part::model, 71);
  write_case(out, "pool_upsample_double", make<PoolModelDouble>(8), onnx_part::model, 81);
  {
    ClampVae m = make<ClampVae>(9);
    // log σ² biases of +40 and −40 on two units: the clamp to ±30 must be in the graph.
    for_each_layer<ClampVae>([&]<class L>(const layer_slot<L>& slot) {
      if constexpr (detail::is_gaussian_head_v<L>) {
        m.parameters()[slot.offset + L::weight_count + L::code_size + 0] = 40.0f;
        m.parameters()[slot.offset + L::weight_count + L::code_size + 1] = -40.0f;
      }
    });
    const xt::xtensor<float, 2> x = xt::zeros<float>({1, 10});
    const auto lv = log_variances(m, x);
    CHECK(lv(0, 0) == 30.0f);
    CHECK(lv(0, 1) == -30.0f);
    write_case(out, "unit_gaussian_clamp", m, onnx_part::model, 91);
  }
  write_case(out, "learned_gaussian_double", make<LearnedVae>(10), onnx_part::model, 101);
  write_case(out, "denoising", make<Denoising>(13), onnx_part::model, 131);
  write_case(out, "sparse", make<Sparse>(14), onnx_part::model, 141);
  write_case(out, "contractive", make<Contractive>(15), onnx_part::model, 151);
  write_case(out, "iwae", make<Importance>(16), onnx_part::model, 161);
  {
    const CondVae m = make<CondVae>(11);
    write_case(out, "conditional_vae", m, onnx_part::model, 111);
    write_case(out, "conditional_vae_decoder", m, onnx_part::decoder, 112);
  }
  {
    const CondConvVae m = make<CondConvVae>(12);
    write_case(out, "conditional_conv_vae", m, onnx_part::model, 121);
    write_case(out, "conditional_conv_vae_encoder", m, onnx_part::encoder, 122);
  }
  {
    const ResVae m = make<ResVae>(17);
    write_case(out, "resnet_vae", m, onnx_part::model, 171);
    write_case(out, "resnet_vae_encoder", m, onnx_part::encoder, 172);
    write_case(out, "resnet_vae_decoder", m, onnx_part::decoder, 173);
  }
  {
    const KlVae m = make<KlVae>(18);
    write_case(out, "kl_autoencoder", m, onnx_part::model, 181);
    write_case(out, "kl_autoencoder_decoder", m, onnx_part::decoder, 182);
  }
  write_case(out, "kl_autoencoder_double", make<KlVaeDouble>(19), onnx_part::model, 191);
  write_case(out, "flat_norms_double", make<FlatModel>(20), onnx_part::model, 201);
  {
    const VqFlat m = spread_codebook(make<VqFlat>(21), 22);
    write_case(out, "vq_vae_flat_double", m, onnx_part::model, 211);
    write_case(out, "vq_vae_flat_double_encoder", m, onnx_part::encoder, 212);
  }
  {
    const VqGrid m = spread_codebook(make<VqGrid>(23), 24);
    const xt::xtensor<float, 2> probe = xt::random::rand<float>({std::size_t(64), std::size_t(36)});
    MESSAGE("vq_vae_grid: " << codebook_usage(m.encode_indices(probe), 8) * 8 << " of 8 codes in use");
    write_case(out, "vq_vae_grid", m, onnx_part::model, 231);
    write_case(out, "vq_vae_grid_encoder", m, onnx_part::encoder, 232);
    write_case(out, "vq_vae_grid_decoder", m, onnx_part::decoder, 233);
  }
  std::ofstream manifest(out.dir / "manifest.txt");
  for (const std::string& c : out.cases) manifest << c << '\n';
  manifest.close();
  CHECK(manifest.good());
  for (const std::string& c : out.cases) CHECK(fs::file_size(out.dir / (c + ".onnx")) > 100);
}
}  // namespace test_onnx
