// docs/models.md and docs/images.md, compiled and run: the layers, the family of models and their calls,
// on small models and a few hundred images of the built-in shapes data (a fraction of a second).
// tests/docs/check_docs.py checks that those pages' blocks are excerpts of this file.
#include <latent/latent.hpp>
#include <xtensor/xview.hpp>  // xt::view: one row of a batch

#include <cstdint>      // std::int32_t
#include <ratio>        // std::ratio: BatchNorm's momentum and ε
#include <cstdio>       // std::printf
#include <span>         // std::span
#include <string>       // std::string
#include <type_traits>  // std::is_same_v
#include <utility>      // std::pair
#include <vector>       // std::vector

using namespace latent;

// clang-format off
struct Encoder : Seq<Dense<784, 64, Relu>, Dense<64, 8>> {};                 // a flat code of 8
struct Decoder : Seq<Dense<8, 64, Relu>, Dense<64, 784, Sigmoid>> {};
struct Body : Seq<Dense<784, 64, LeakyRelu>, Dense<64, 32, Elu>> {};         // a Seq inside a Seq
struct VaeEncoder : Seq<Body, Dense<32, 16, Tanh>, Gaussian<8>> {};           // μ and log σ² of 8 units
struct VaeDecoder : Seq<Dense<8, 64, Softplus>, Dense<64, 784>> {};          // logits: Identity
struct CondEncoder : Seq<Dense<784 + 10, 64, Relu>, Gaussian<8>> {};         // the image, then 10 one-hot columns
struct CondDecoder : Seq<Dense<8 + 10, 64, Relu>, Dense<64, 784>> {};        // the code, then the same columns
using Slope = LeakyReluWith<1, 100>;                                          // slope 1/100 (LeakyRelu: 0.3)
// clang-format on

void family() {
  const auto [train, test] = make_shapes_split(300, 100, /*seed=*/1);
  // clang-format off
  Autoencoder<Encoder, Decoder, MSE> plain(/*seed=*/1);
  DenoisingAutoencoder<Encoder, Decoder, MSE> denoising(1, Noise{.gaussian_stddev = 0.1, .mask_fraction = 0.2});
  SparseAutoencoder<Encoder, Decoder, MSE> sparse(1, Sparsity{.l1 = 1e-3});
  ContractiveAutoencoder<Encoder, Decoder, MSE> contractive(1, Contraction{.weight = 1e-2});
  VAE<VaeEncoder, VaeDecoder, Bernoulli> vae(1);
  IWAE<VaeEncoder, VaeDecoder, 5, Bernoulli> iwae(1);                   // K = 5 importance samples
  ConditionalVAE<CondEncoder, CondDecoder, 10, Bernoulli> cvae(1);      // 10 classes
  Autoencoder<Encoder, Decoder, MSE, double> in_double(1);             // the scalar type: last argument
  // clang-format on
  Adam opt;
  fit(plain, train.x, opt, {.epochs = 1, .progress = Progress::quiet});
  std::printf("family: %s, %zu parameters; test loss %.4f; denoising %.4f, sparse %.4f, contractive %.4f, "
              "IWAE %.1f, CVAE %.1f, double %.4f\n",
              decltype(plain)::architecture().c_str(), decltype(plain)::param_count, plain.loss(test.x),
              denoising.loss(test.x), sparse.loss(test.x), contractive.loss(test.x), iwae.loss(test.x),
              cvae.loss(test.x, test.labels), in_double.loss(test.x));
  denoising.set_noise(Noise{.gaussian_stddev = 0.2});
  sparse.set_sparsity(Sparsity{.l1 = 2e-3});
  std::printf("family: noise %.2f, sparsity l1 %.4f, contraction %.3f, vae %.1f\n", denoising.noise().gaussian_stddev,
              sparse.sparsity().l1, contractive.contraction().weight, vae.loss(test.x));
}

void common_calls() {
  const auto [train, test] = make_shapes_split(300, 100, /*seed=*/2);
  using Model = Autoencoder<Encoder, Decoder, MSE>;
  Model model(/*seed=*/1);
  Adam opt;
  const xt::xtensor<float, 2>& x = train.x;
  // clang-format off
  xt::xtensor<float, 2> z = model.encode(x);                 // rows are samples: n × 8
  xt::xtensor<float, 2> y = model.reconstruct(x);            // n × 784
  xt::xtensor<float, 1> sample = xt::view(x, 0, xt::all());
  xt::xtensor<float, 1> one = model.encode(sample);           // one sample: its 8 code values
  double mean_loss = model.loss(x);
  xt::xtensor<double, 1> each = model.loss_per_sample(x);   // one value per row
  double batch_loss = model.train_batch(x.data(), 32, opt);  // one step on the first 32 rows
  std::vector<std::size_t> rows = {5, 17, 2, 40};
  model.train_rows(x.data(), rows.data(), rows.size(), opt); // one step on rows 5, 17, 2 and 40 of x
  model.gradient(x.data(), 32);                              // the loss; model.gradients() holds its gradient
  std::span<float> params = model.parameters();              // packed, Model::param_count values
  std::string arch = Model::architecture();                  // what save and load compare
  static_assert(Model::input_size == 784 && Model::code_size == 8);
  // clang-format on
  std::printf("calls: z %zux%zu, y %zux%zu, one %zu; loss %.4f, first row %.4f, step %.4f; %zu parameters; %s\n",
              z.shape()[0], z.shape()[1], y.shape()[0], y.shape()[1], one.size(), mean_loss, each(0), batch_loss,
              params.size(), arch.c_str());
}

void vae_calls() {
  const auto [train, test] = make_shapes_split(300, 100, /*seed=*/3);
  VAE<VaeEncoder, VaeDecoder, Bernoulli> vae(/*seed=*/1);
  Adam opt;
  const xt::xtensor<float, 2>& x = test.x;
  // clang-format off
  vae.set_beta(4.0);                                            // β-VAE
  vae.set_kl_warmup(1000);                                      // the KL weight grows over 1000 steps
  fit(vae, train.x, opt, {.epochs = 2, .batch_size = 64});
  xt::xtensor<float, 2> mu = vae.encode(x);                     // μ, no noise
  xt::xtensor<float, 2> z = vae.encode_sample(x, /*seed=*/7);   // z = μ + σ·ε
  xt::xtensor<float, 2> mean = vae.decode(z);                   // the likelihood's mean (probabilities)
  xt::xtensor<float, 2> fresh = vae.generate(16, /*seed=*/7);   // 16 samples from the prior
  double elbo = vae.elbo(x, /*seed=*/7);                        // nats per sample
  auto [reconstruction, kl] = vae.elbo_terms(x);
  double log_px = vae.log_likelihood(x, /*k=*/100, /*seed=*/7); // importance-sampled log p(x)
  xt::xtensor<double, 1> kl_units = vae.kl_per_unit(x);
  std::size_t active = vae.active_units(x, 0.01);
  xt::xtensor<double, 1> per_row = vae.elbo_per_sample(x, /*seed=*/7);
  double weight = vae.current_kl_weight();                      // β times the warm-up's fraction
  // clang-format on
  std::printf("vae: mu %zu, z %zu, mean %zu, fresh %zu; ELBO %.1f (reconstruction %.1f, KL %.1f); "
              "log p(x) %.1f; %zu active of %zu; first row %.1f; KL weight %.3f\n",
              mu.shape()[1], z.shape()[1], mean.shape()[1], fresh.shape()[0], elbo, reconstruction, kl, log_px, active,
              kl_units.size(), per_row(0), weight);
}

void conditional_calls() {
  const auto [train, test] = make_shapes_split(300, 100, /*seed=*/4);
  ConditionalVAE<CondEncoder, CondDecoder, 10, Bernoulli> cvae(/*seed=*/1);
  Adam opt;
  const xt::xtensor<float, 2>& x = test.x;
  const xt::xtensor<std::int32_t, 1>& labels = test.labels;
  // clang-format off
  fit(cvae, train.x, train.labels, opt, {.epochs = 2, .batch_size = 64});   // labels in [0, 10)
  xt::xtensor<float, 2> z = cvae.encode(x, labels);
  xt::xtensor<float, 2> y = cvae.decode(z, labels);
  xt::xtensor<float, 2> sevens = cvae.generate(8, /*label=*/7, /*seed=*/1);
  xt::xtensor<float, 1> sample = xt::view(x, 0, xt::all());
  xt::xtensor<float, 1> one = cvae.reconstruct(sample, labels(0));          // one sample, one label
  double elbo = cvae.elbo(x, labels), loss = cvae.loss(x, labels);
  // clang-format on
  std::printf("cvae: z %zu, y %zu, generated %zu, one %zu; ELBO %.1f, loss %.1f, log p(x) %.1f\n", z.shape()[1],
              y.shape()[1], sevens.shape()[0], one.size(), elbo, loss, cvae.log_likelihood(x, labels, 20));
}

// clang-format off
struct KerasLike : Seq<Input<1, 28, 28>, Conv2D<32, 3, 2, Same, Relu>> {};           // Keras: padding="same"
struct TorchLike : Seq<Input<1, 28, 28>, Conv2D<32, 3, 2, Pad<1>, Relu>> {};         // PyTorch: padding=1
struct Up : Seq<Input<64, 7, 7>, ConvTranspose2D<32, 3, 2, Pad<1, 1>, Relu>> {};    // padding=1, output_padding=1
struct Pooled : Seq<Input<8, 28, 28>, AvgPool2D<2>, Upsample2D<2>> {};             // 8×14×14, then 8×28×28
struct Strict : Seq<Input<1, 28, 28>, Conv2D<8, 3, 2, Exact<Same>>> {};             // the stride must divide
static_assert(std::is_same_v<KerasLike::out_shape, shape<32, 14, 14>>);
static_assert(std::is_same_v<TorchLike::out_shape, shape<32, 14, 14>>);
static_assert(std::is_same_v<Up::out_shape, shape<32, 14, 14>>);
static_assert(std::is_same_v<Pooled::out_shape, shape<8, 28, 28>>);

// A conditional VAE on images: the label as 10 constant planes after the image's channel.
struct CondConvEncoder : Seq<Input<1 + 10, 28, 28>, Conv2D<16, 3, 2, Same, Relu>, Flatten,
                             Dense<16 * 14 * 14, 32, Relu>, Gaussian<8>> {};
struct CondConvDecoder : Seq<Dense<8 + 10, 16 * 14 * 14, Relu>, Reshape<16, 14, 14>,
                             ConvTranspose2D<1, 3, 2, Same>> {};
using ConvCvae = ConditionalVAE<CondConvEncoder, CondConvDecoder, 10, Bernoulli>;
// clang-format on

void images() {
  const Dataset test = make_shapes(64, /*seed=*/5);
  ConvCvae cvae(/*seed=*/1);
  std::printf("images: conditional conv VAE, %zu parameters, loss %.1f\n", ConvCvae::param_count,
              cvae.loss(test.x, test.labels));
}

// ---- Beyond chains: normalisation, residual blocks, attention, train and eval modes -----------------
// clang-format off
template <std::size_t C>   // a pre-activation residual block, as in latent diffusion's autoencoder
using ResBlock = Residual<Seq<GroupNorm<8>, Silu, Conv2D<C, 3, 1, Same>,
                              GroupNorm<8>, Silu, Conv2D<C, 3, 1, Same>>>;
struct ResEncoder : Seq<Input<1, 28, 28>,
                        Conv2D<32, 3, 2, Pad<1>>, BatchNorm, Relu,   // an activation may stand alone
                        Conv2D<64, 3, 2, Pad<1>>, BatchNorm, Relu,   // → 64×7×7
                        ResBlock<64>, Flatten, Gaussian<16>> {};
struct ResDecoder : Seq<Dense<16, 3136>, Reshape<64, 7, 7>, ResBlock<64>,
                        ConvTranspose2D<32, 3, 2, Pad<1, 1>>, BatchNorm, Relu,
                        ConvTranspose2D<1, 3, 2, Pad<1, 1>>> {};
using ResVae = VAE<ResEncoder, ResDecoder, Bernoulli>;

// A projection on the skip when the branch changes the shape: y = Projection(x) + Branch(x).
using Down = Residual<Seq<Conv2D<64, 3, 2, Same>, GroupNorm<8>, Silu>, Conv2D<64, 1, 2>>;
struct WithAttention : Seq<Input<32, 14, 14>, Down, SpatialAttention<8>, MaxPool2D<2>> {};  // → 64×3×3
struct FlatBlocks : Seq<Dense<784, 256>, LayerNorm, Gelu, Dropout<10>, Dense<256, 8>> {};    // per-feature norm
using Momentum = std::ratio<1, 100>;
using Epsilon = std::ratio<1, 1000>;
struct Tuned : Seq<Input<16, 8, 8>, BatchNormWith<Momentum, Epsilon>, GroupNorm<4, std::ratio<1, 1000000>>> {};
static_assert(std::is_same_v<WithAttention::out_shape, shape<64, 3, 3>>);
// clang-format on

void blocks() {
  const Dataset data = make_shapes(128, /*seed=*/7);
  ResVae model(/*seed=*/1);
  Adam opt(1e-3);
  // Training steps run in train mode: BatchNorm normalises by the batch and moves its running
  // statistics (the model's state); Dropout drops.
  fit(model, data.x, opt, {.epochs = 1, .batch_size = 64, .progress = Progress::quiet});
  std::span<const float> state = model.state();   // running means, variances, batches tracked
  // Everything else runs in eval mode: the running statistics, no dropout.
  const double neg_elbo = -model.elbo(data.x);
  const xt::xtensor<float, 2> codes = model.encode(data.x);
  std::printf("blocks: %zu parameters, %zu state values (%zu here), -ELBO %.1f, codes %zux%zu\n", ResVae::param_count,
              ResVae::state_size, state.size(), neg_elbo, codes.shape()[0], codes.shape()[1]);
}

int main() {
  family();
  common_calls();
  vae_calls();
  conditional_calls();
  images();
  blocks();
  return 0;
}
