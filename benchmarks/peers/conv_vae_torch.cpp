// libtorch peer for the convolutional VAE workload; see conv_vae_torch.hpp.
#include "conv_vae_torch.hpp"

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

constexpr auto side = static_cast<std::int64_t>(conv_vae_side);
constexpr std::int64_t flat = 64 * 7 * 7;

struct conv_vae_module : nn::Module {
  nn::Conv2d enc1{nullptr}, enc2{nullptr};
  nn::Linear enc_fc{nullptr}, mu{nullptr}, logvar{nullptr}, dec_fc{nullptr};
  nn::ConvTranspose2d dec1{nullptr}, dec2{nullptr}, dec3{nullptr};

  // Created (and so initialised from the global generator) in the order of conv_vae_pytorch.py.
  conv_vae_module() {
    constexpr auto dense = static_cast<std::int64_t>(conv_vae_dense), code = static_cast<std::int64_t>(conv_vae_latent);
    enc1 = register_module("enc1", nn::Conv2d(nn::Conv2dOptions(1, 32, 3).stride(2).padding(1)));
    enc2 = register_module("enc2", nn::Conv2d(nn::Conv2dOptions(32, 64, 3).stride(2).padding(1)));
    enc_fc = register_module("enc_fc", nn::Linear(flat, dense));
    mu = register_module("mu", nn::Linear(dense, code));
    logvar = register_module("logvar", nn::Linear(dense, code));
    dec_fc = register_module("dec_fc", nn::Linear(code, flat));
    dec1 = register_module(
        "dec1", nn::ConvTranspose2d(nn::ConvTranspose2dOptions(64, 64, 3).stride(2).padding(1).output_padding(1)));
    dec2 = register_module(
        "dec2", nn::ConvTranspose2d(nn::ConvTranspose2dOptions(64, 32, 3).stride(2).padding(1).output_padding(1)));
    dec3 = register_module("dec3", nn::ConvTranspose2d(nn::ConvTranspose2dOptions(32, 1, 3).stride(1).padding(1)));
  }

  /// x: [B, 784]. Returns (logits [B, 784], mu, logvar); the sigmoid is folded into the loss.
  std::tuple<torch::Tensor, torch::Tensor, torch::Tensor> forward(const torch::Tensor& x) {
    torch::Tensor h = torch::relu(enc1(x.view({-1, 1, side, side})));
    h = torch::relu(enc2(h));
    h = torch::relu(enc_fc(h.flatten(1)));
    torch::Tensor m = mu(h), lv = logvar(h);
    const torch::Tensor z = m + torch::exp(0.5 * lv) * torch::randn_like(m);
    torch::Tensor d = torch::relu(dec_fc(z)).view({-1, 64, 7, 7});
    d = torch::relu(dec1(d));
    d = torch::relu(dec2(d));
    return {dec3(d).view({-1, side * side}), std::move(m), std::move(lv)};
  }
};

/// torch::manual_seed(1), then the modules' default init from the global generator.
std::shared_ptr<conv_vae_module> seeded_model() {
  torch::manual_seed(1);
  return std::make_shared<conv_vae_module>();
}

}  // namespace

struct conv_vae_torch::impl {
  torch::Tensor x;
  std::shared_ptr<conv_vae_module> model;
  torch::optim::Adam opt;

  impl(const float* data, std::size_t n)
      : x{torch::from_blob(const_cast<float*>(data),  // only read (narrow): a view, not a copy
                           {static_cast<std::int64_t>(n), side * side})},
        model{seeded_model()},
        opt{model->parameters(), torch::optim::AdamOptions{1e-3}} {}
};

conv_vae_torch::conv_vae_torch(const float* data, std::size_t n, int threads) {
  torch::set_num_threads(threads);
  // OpenBLAS on one thread (see blas_threads.hpp and vae_torch.cpp): only the Linear layers and the
  // transposed convolutions' per-image GEMMs reach it, and ATen 2 + OpenBLAS 1 is the fastest pair at
  // two threads here (PyTorch from Python, 10 steps: 149 ms/step, against 291 ms for 2 + 2 and 223 ms
  // for 1 + 2).
  set_blas_threads(1);
  impl_ = std::make_unique<impl>(data, n);
  if (parameter_count() != conv_vae_parameters)
    throw std::runtime_error("conv VAE: " + std::to_string(parameter_count()) + " parameters, expected " +
                             std::to_string(conv_vae_parameters));
}

conv_vae_torch::~conv_vae_torch() = default;

double conv_vae_torch::step(std::size_t first, std::size_t rows) {
  const auto n = static_cast<std::size_t>(impl_->x.size(0));
  if (rows == 0 || first > n || rows > n - first) throw std::out_of_range("conv VAE: batch outside the data");
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

std::size_t conv_vae_torch::parameter_count() const {
  std::size_t count = 0;
  for (const auto& p : impl_->model->parameters()) count += static_cast<std::size_t>(p.numel());
  return count;
}

}  // namespace latent::bench
