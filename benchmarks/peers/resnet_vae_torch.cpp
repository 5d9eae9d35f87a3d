// libtorch peer for the ResNet VAE workload; see resnet_vae_torch.hpp.
#include "resnet_vae_torch.hpp"

#include "blas_threads.hpp"
#include "common.hpp"

#include <torch/torch.h>

#include <cstdint>    // std::int64_t
#include <memory>     // std::make_shared, std::make_unique
#include <stdexcept>  // std::runtime_error, std::out_of_range
#include <string>     // std::to_string
#include <tuple>      // std::tuple
#include <utility>    // std::move

namespace latent::bench {
namespace {

namespace nn = torch::nn;

constexpr std::int64_t side = 28, code = static_cast<std::int64_t>(resnet_vae_code), flat = 64 * 7 * 7;

// Each module is created in its own statement: the order of creation is the order of the draws from the
// global generator, and C++ leaves the order of a call's arguments unspecified.
nn::BatchNorm2d batch_norm(std::int64_t c) {
  return nn::BatchNorm2d(nn::BatchNorm2dOptions(c).eps(1e-5).momentum(0.1));
}
nn::GroupNorm group_norm(std::int64_t c) { return nn::GroupNorm(nn::GroupNormOptions(8, c).eps(1e-5)); }

/// y = x + branch(x), branch = GroupNorm(8) SiLU Conv3x3 GroupNorm(8) SiLU Conv3x3 (latent diffusion's
/// pre-activation block; the Python twin's `Residual`, whose state_dict names are "<i>.branch.<j>.*").
struct ResidualImpl : nn::Module {
  nn::Sequential branch{nullptr};
  explicit ResidualImpl(std::int64_t c) {
    nn::Sequential b;
    b->push_back(group_norm(c));
    b->push_back(nn::SiLU());
    b->push_back(nn::Conv2d(nn::Conv2dOptions(c, c, 3).padding(1)));
    b->push_back(group_norm(c));
    b->push_back(nn::SiLU());
    b->push_back(nn::Conv2d(nn::Conv2dOptions(c, c, 3).padding(1)));
    branch = register_module("branch", b);
  }
  torch::Tensor forward(const torch::Tensor& x) { return x + branch->forward(x); }
};
TORCH_MODULE(Residual);

struct resnet_vae_module : nn::Module {
  nn::Sequential encoder{nullptr}, decoder{nullptr};

  // Created (and so initialised from the global generator) in the order of resnet_vae_pytorch.py, with
  // its numbering: encoder.0 ... encoder.9, decoder.0 ... decoder.6.
  resnet_vae_module() {
    nn::Sequential e;
    e->push_back(nn::Unflatten(nn::UnflattenOptions(1, {1, side, side})));
    e->push_back(nn::Conv2d(nn::Conv2dOptions(1, 32, 3).stride(2).padding(1)));
    e->push_back(batch_norm(32));
    e->push_back(nn::ReLU());
    e->push_back(nn::Conv2d(nn::Conv2dOptions(32, 64, 3).stride(2).padding(1)));
    e->push_back(batch_norm(64));
    e->push_back(nn::ReLU());
    e->push_back(Residual(64));
    e->push_back(nn::Flatten());
    e->push_back(nn::Linear(flat, 2 * code));
    encoder = register_module("encoder", e);
    nn::Sequential d;
    d->push_back(nn::Linear(code, flat));
    d->push_back(nn::Unflatten(nn::UnflattenOptions(1, {64, 7, 7})));
    d->push_back(Residual(64));
    d->push_back(nn::ConvTranspose2d(nn::ConvTranspose2dOptions(64, 32, 3).stride(2).padding(1).output_padding(1)));
    d->push_back(batch_norm(32));
    d->push_back(nn::ReLU());
    d->push_back(nn::ConvTranspose2d(nn::ConvTranspose2dOptions(32, 1, 3).stride(2).padding(1).output_padding(1)));
    decoder = register_module("decoder", d);
  }

  /// x: [B, 784]. Returns (logits [B, 784], mu, logvar); the sigmoid is folded into the loss.
  std::tuple<torch::Tensor, torch::Tensor, torch::Tensor> forward(const torch::Tensor& x) {
    const torch::Tensor h = encoder->forward(x);
    torch::Tensor m = h.narrow(1, 0, code), lv = h.narrow(1, code, code);
    const torch::Tensor z = m + torch::exp(0.5 * lv) * torch::randn_like(m);
    return {decoder->forward(z).flatten(1), std::move(m), std::move(lv)};
  }
};

/// torch::manual_seed(1), then the modules' default init from the global generator.
std::shared_ptr<resnet_vae_module> seeded_model() {
  torch::manual_seed(1);
  return std::make_shared<resnet_vae_module>();
}

}  // namespace

struct resnet_vae_torch::impl {
  torch::Tensor x;
  std::shared_ptr<resnet_vae_module> model;
  torch::optim::Adam opt;

  impl(const float* data, std::size_t n)
      : x{torch::from_blob(const_cast<float*>(data),  // only read (narrow): a view, not a copy
                           {static_cast<std::int64_t>(n), side * side})},
        model{seeded_model()},
        opt{model->parameters(), torch::optim::AdamOptions{1e-3}.betas({0.9, 0.999}).eps(1e-8)} {
    model->train();
  }
};

resnet_vae_torch::resnet_vae_torch(const float* data, std::size_t n, int threads) {
  torch::set_num_threads(threads);
  // OpenBLAS on one thread, as the conv VAE's peer (see blas_threads.hpp and conv_vae_torch.cpp).
  set_blas_threads(1);
  impl_ = std::make_unique<impl>(data, n);
  if (parameter_count() != resnet_vae_parameters)
    throw std::runtime_error("ResNet VAE: " + std::to_string(parameter_count()) + " parameters, expected " +
                             std::to_string(resnet_vae_parameters));
}

resnet_vae_torch::~resnet_vae_torch() = default;

double resnet_vae_torch::step(std::size_t first, std::size_t rows) {
  const auto n = static_cast<std::size_t>(impl_->x.size(0));
  if (rows == 0 || first > n || rows > n - first) throw std::out_of_range("ResNet VAE: batch outside the data");
  const torch::Tensor xb = impl_->x.narrow(0, static_cast<std::int64_t>(first), static_cast<std::int64_t>(rows));
  impl_->opt.zero_grad();
  auto [logits, mu, logvar] = impl_->model->forward(xb);
  const torch::Tensor bce = torch::binary_cross_entropy_with_logits(logits, xb, {}, {}, torch::Reduction::Sum);
  const torch::Tensor kld = -0.5 * torch::sum(1 + logvar - mu.pow(2) - logvar.exp());
  torch::Tensor loss = (bce + kld) / static_cast<double>(rows);
  loss.backward();
  impl_->opt.step();
  return static_cast<double>(loss.item<float>());
}

std::size_t resnet_vae_torch::parameter_count() const {
  std::size_t count = 0;
  for (const auto& p : impl_->model->parameters()) count += static_cast<std::size_t>(p.numel());
  return count;
}

}  // namespace latent::bench
