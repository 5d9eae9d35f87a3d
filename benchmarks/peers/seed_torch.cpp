// libtorch peer for the seed workload; see seed_torch.hpp.
#include "seed_torch.hpp"

#include "blas_threads.hpp"
#include "common.hpp"

#include <torch/torch.h>

#include <algorithm>  // std::min
#include <cstdint>    // std::int64_t
#include <numeric>    // std::iota
#include <vector>     // std::vector

namespace latent::bench {

double run_seed_torch(const float* data, std::size_t n, int epochs, std::uint64_t seed) {
  torch::set_num_threads(1);
  set_blas_threads(1);  // see blas_threads.hpp
  const auto d = static_cast<std::int64_t>(seed_sizes[0]);
  // from_blob does not copy; clone so the tensor owns its rows and the caller's buffer stays const.
  const torch::Tensor x = torch::from_blob(const_cast<float*>(data), {static_cast<std::int64_t>(n), d}).clone();

  torch::nn::Linear l1{100, 20}, l2{20, 5}, l3{5, 20}, l4{20, 100};
  torch::nn::Sequential net{l1, torch::nn::ReLU{}, l2, torch::nn::Sigmoid{},
                            l3, torch::nn::ReLU{}, l4, torch::nn::Sigmoid{}};
  {
    // The same Glorot-uniform draws as the hand-written peer, in the same ([out][in]) order.
    torch::NoGradGuard no_grad;
    splitmix64 init{seed};
    for (auto* l : {&l1, &l2, &l3, &l4}) {
      auto& lin = **l;
      glorot_uniform(init, lin.weight.data_ptr<float>(), static_cast<std::size_t>(lin.weight.size(1)),
                     static_cast<std::size_t>(lin.weight.size(0)));
      lin.bias.zero_();
    }
  }
  torch::optim::Adam opt{net->parameters(), torch::optim::AdamOptions{1e-3}.betas({0.9, 0.999}).eps(1e-7)};

  std::vector<std::size_t> order(n);
  std::iota(order.begin(), order.end(), std::size_t{0});
  std::vector<std::int64_t> order64(n);
  splitmix64 shuffler{seed ^ shuffle_salt};
  const auto batch = static_cast<std::int64_t>(seed_batch);
  double epoch_loss = 0.0;
  for (int e = 0; e < epochs; ++e) {
    shuffle(shuffler, order);
    for (std::size_t i = 0; i < n; ++i) order64[i] = static_cast<std::int64_t>(order[i]);
    // One gather per epoch, then each batch is a contiguous narrow() view of the permuted rows.
    const torch::Tensor xp =
        x.index_select(0, torch::from_blob(order64.data(), {static_cast<std::int64_t>(n)}, torch::kInt64));
    const bool last = e + 1 == epochs;
    epoch_loss = 0.0;
    for (std::int64_t start = 0; start < static_cast<std::int64_t>(n); start += batch) {
      const std::int64_t rows = std::min(batch, static_cast<std::int64_t>(n) - start);
      const torch::Tensor xb = xp.narrow(0, start, rows);
      opt.zero_grad();
      torch::Tensor loss = torch::mse_loss(net->forward(xb), xb);
      loss.backward();
      opt.step();
      if (last) epoch_loss += static_cast<double>(loss.item<float>()) * static_cast<double>(rows);
    }
  }
  return epoch_loss / static_cast<double>(n);
}

}  // namespace latent::bench
