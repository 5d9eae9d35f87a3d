// libtorch peer for the VAE workload; see vae_torch.hpp.
#include "vae_torch.hpp"

#include "blas_threads.hpp"
#include "common.hpp"

#include <torch/torch.h>

#include <algorithm>  // std::min
#include <cstdint>    // std::int64_t
#include <memory>     // std::make_shared
#include <tuple>      // std::tuple
#include <utility>    // std::move

namespace latent::bench {
namespace {

struct vae_impl : torch::nn::Module {
  torch::nn::Linear fc1{nullptr}, fc21{nullptr}, fc22{nullptr}, fc3{nullptr}, fc4{nullptr};

  vae_impl() {
    constexpr auto in = static_cast<std::int64_t>(vae_in), hidden = static_cast<std::int64_t>(vae_hidden),
                   latent = static_cast<std::int64_t>(vae_latent);
    fc1 = register_module("fc1", torch::nn::Linear(in, hidden));
    fc21 = register_module("fc21", torch::nn::Linear(hidden, latent));
    fc22 = register_module("fc22", torch::nn::Linear(hidden, latent));
    fc3 = register_module("fc3", torch::nn::Linear(latent, hidden));
    fc4 = register_module("fc4", torch::nn::Linear(hidden, in));
  }

  /// Returns (decoder logits, mu, logvar); the sigmoid is folded into the loss.
  std::tuple<torch::Tensor, torch::Tensor, torch::Tensor> forward(const torch::Tensor& x) {
    const torch::Tensor h = torch::relu(fc1(x));
    torch::Tensor mu = fc21(h), logvar = fc22(h);
    const torch::Tensor z = mu + torch::exp(0.5 * logvar) * torch::randn_like(mu);
    return {fc4(torch::relu(fc3(z))), std::move(mu), std::move(logvar)};
  }
};

}  // namespace

double run_vae_epoch_torch(const float* data, std::size_t n, int batch, int threads) {
  torch::set_num_threads(threads);
  // OpenBLAS stays on one thread (see blas_threads.hpp): with ATen's OpenMP pool and OpenBLAS's pool
  // both sized to the cores, four busy threads share two cores and the 2-thread epoch takes 6.2 s
  // instead of 2.3 s here (ATen 1 + BLAS 2 is also slower than ATen 2 + BLAS 1). This is libtorch's
  // fastest configuration on this machine.
  set_blas_threads(1);
  torch::manual_seed(1);
  const auto rows_total = static_cast<std::int64_t>(n);
  // A non-owning view (only read, by index_select): copying 188 MB here would time a memcpy and 46 000
  // page faults that the Python peer does outside its timer.
  const torch::Tensor x = torch::from_blob(const_cast<float*>(data), {rows_total, static_cast<std::int64_t>(vae_in)});
  auto model = std::make_shared<vae_impl>();
  torch::optim::Adam opt{model->parameters(), torch::optim::AdamOptions{1e-3}};

  const torch::Tensor xp = x.index_select(0, torch::randperm(rows_total, torch::kInt64));
  double total = 0.0;
  for (std::int64_t start = 0; start < rows_total; start += batch) {
    const std::int64_t rows = std::min<std::int64_t>(batch, rows_total - start);
    const torch::Tensor xb = xp.narrow(0, start, rows);
    opt.zero_grad();
    auto [logits, mu, logvar] = model->forward(xb);
    const torch::Tensor bce = torch::binary_cross_entropy_with_logits(logits, xb, {}, {}, torch::Reduction::Sum);
    const torch::Tensor kld = -0.5 * torch::sum(1 + logvar - mu.pow(2) - logvar.exp());
    torch::Tensor loss = (bce + kld) / static_cast<double>(rows);
    loss.backward();
    opt.step();
    total += static_cast<double>(loss.item<float>()) * static_cast<double>(rows);
  }
  return total / static_cast<double>(n);
}

}  // namespace latent::bench
