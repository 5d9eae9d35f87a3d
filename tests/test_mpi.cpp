// Data-parallel training on MPI (#13), run by ctest as `mpirun -np 2 test_mpi`: every rank runs every
// case, and the cases compare what the ranks hold through the communicator itself.
#define DOCTEST_CONFIG_IMPLEMENT
#include <doctest/doctest.h>

#include <latent/latent.hpp>
#include <latent/mpi.hpp>
#include <latent/sae.hpp>

#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <limits>
#include <stdexcept>
#include <string>
#include <vector>

using namespace latent;

namespace {
mpi::Session* session = nullptr;
Communicator& world() { return *session->world(); }
std::size_t rank() { return session->rank(); }

struct Enc : Seq<Dense<12, 8, Relu>, Dense<8, 2>> {};
struct Dec : Seq<Dense<2, 8, Relu>, Dense<8, 12>> {};
using AE = Autoencoder<Enc, Dec, MSE>;
struct OtherEnc : Seq<Dense<12, 6, Relu>, Dense<6, 2>> {};
using OtherAE = Autoencoder<OtherEnc, Dec, MSE>;
struct VEnc : Seq<Dense<12, 8, Relu>, Gaussian<2>> {};
struct VDec : Seq<Dense<2, 8, Relu>, Dense<8, 12>> {};
using GaussVAE = VAE<VEnc, VDec, UnitGaussian>;

xt::xtensor<float, 2> curve(std::size_t n, std::uint64_t seed) {
  Rng rng(seed);
  xt::xtensor<float, 2> x = xt::xtensor<float, 2>::from_shape({n, 12});
  for (std::size_t i = 0; i < n; ++i) {
    const double u = rng.uniform(-1, 1), v = rng.uniform(-1, 1);
    for (std::size_t j = 0; j < 12; ++j)
      x(i, j) = static_cast<float>(std::sin(u * static_cast<double>(j + 1) * 0.4) * 0.6 + v * 0.3 * std::cos(j * 0.7) +
                                   0.02 * rng.normal());
  }
  return x;
}
xt::xtensor<float, 2> rows_of(const xt::xtensor<float, 2>& x, std::size_t first, std::size_t count) {
  xt::xtensor<float, 2> out = xt::xtensor<float, 2>::from_shape({count, x.shape()[1]});
  std::copy(x.data() + first * x.shape()[1], x.data() + (first + count) * x.shape()[1], out.data());
  return out;
}
// Whether every rank holds these exact values.
template <class T>
bool same_everywhere(std::span<T> v) {
  const std::string mine(reinterpret_cast<const char*>(v.data()), v.size() * sizeof(T));
  for (const std::string& other : world().all_gather(mine))
    if (other != mine) return false;
  return true;
}
// This rank's shard of 150 rows: 90 on rank 0, 60 on rank 1 (shards of unequal size).
xt::xtensor<float, 2> shard() {
  const auto all = curve(150, 1);
  return rank() == 0 ? rows_of(all, 0, 90) : rows_of(all, 90, 60);
}
std::string shared_path(const std::string& name) {
  std::string p =
      rank() == 0 ? (std::filesystem::temp_directory_path() / ("latent-mpi-" + std::to_string(::getpid()) + "-" + name))
                        .string()
                  : std::string();
  world().broadcast(p, 0);
  return p;
}
}  // namespace

TEST_CASE("the all-reduce: the exact sum, the same bits on every rank, any length") {
  // Run with 2 ranks (MPI's all-reduce: one addition a value) and with 3 (the ring), by ctest.
  const std::size_t R = session->size();
  for (const std::size_t n : {std::size_t{1}, std::size_t{2}, std::size_t{7}, std::size_t{1000}, std::size_t{65537}}) {
    std::vector<float> ints(n), noise(n);
    Rng rng(rank() + 1);
    for (std::size_t i = 0; i < n; ++i) {
      ints[i] = static_cast<float>((i % 97) * (rank() + 1));  // small integers: every order sums exactly
      noise[i] = static_cast<float>(rng.normal());
    }
    std::vector<double> d(n, static_cast<double>(rank() + 1) / 3);
    world().all_reduce_sum(std::span<float>(ints));
    world().all_reduce_sum(std::span<float>(noise));
    world().all_reduce_sum(std::span<double>(d));
    bool exact = true;
    for (std::size_t i = 0; i < n; ++i) exact = exact && ints[i] == static_cast<float>((i % 97) * R * (R + 1) / 2);
    INFO("n = " << n << ", ranks " << R);
    CHECK(exact);
    CHECK(same_everywhere(std::span<float>(noise)));
    CHECK(same_everywhere(std::span<double>(d)));
    CHECK(d[0] == doctest::Approx(static_cast<double>(R * (R + 1) / 2) / 3));
  }
}

TEST_CASE("two ranks, shards of unequal size: the same parameters everywhere after every step, learning") {
  REQUIRE(session->size() == 2);
  const auto x = shard();
  AE model(rank() == 0 ? 1 : 99);  // rank 0's weights are broadcast at the start
  Adam opt(1e-2);
  std::size_t steps = 0;
  bool all_same = true;
  const History h = fit(model, x, opt,
                        {.epochs = 8,
                         .batch_size = 32,
                         .seed = 3,
                         .progress = Progress::quiet,
                         .on_batch =
                             [&](BatchState& b) {
                               ++steps;
                               CHECK(b.batches == 6);  // 16 rows a step from each rank: ⌈90 / 16⌉
                               all_same = all_same && same_everywhere(model.parameters());
                             },
                         .communicator = session->world()});
  CHECK(steps == 48);
  CHECK(all_same);
  CHECK(same_everywhere(std::span<const double>(h.loss)));
  CHECK(h.loss.back() < 0.3 * h.loss.front());
  // The same seed, ranks and threads: the same bits, run after run.
  AE again(1);
  Adam opt2(1e-2);
  fit(again, x, opt2,
      {.epochs = 8, .batch_size = 32, .seed = 3, .progress = Progress::quiet, .communicator = session->world()});
  CHECK(std::equal(model.parameters().begin(), model.parameters().end(), again.parameters().begin()));
}

TEST_CASE("not sharded: every rank passes all rows, and the run equals one process with the global batch") {
  const auto x = curve(128, 2);
  AE model(1), alone(1);
  Adam o1(1e-2), o2(1e-2);
  const History h = fit(model, x, o1,
                        {.epochs = 3,
                         .batch_size = 32,
                         .seed = 4,
                         .progress = Progress::quiet,
                         .communicator = session->world(),
                         .sharded = false});
  const History one = fit(alone, x, o2, {.epochs = 3, .batch_size = 32, .seed = 4, .progress = Progress::quiet});
  // Not bitwise: each rank sums its half of a batch's gradient, then the halves are added, where one
  // process sums the whole batch in one product; float rounding differs in the last bits.
  double worst = 0, scale = 0;
  for (std::size_t i = 0; i < AE::param_count; ++i) {
    worst = std::max(worst, std::abs(double(model.parameters()[i]) - double(alone.parameters()[i])));
    scale = std::max(scale, std::abs(double(alone.parameters()[i])));
  }
  CHECK(worst <= 1e-4 * scale);
  for (std::size_t e = 0; e < 3; ++e) CHECK(h.loss[e] == doctest::Approx(one.loss[e]).epsilon(1e-5));
  CHECK(same_everywhere(model.parameters()));
  // Different rows on the ranks with sharded = false is refused on both.
  const auto y = rank() == 0 ? x : rows_of(x, 0, 100);
  AE m(1);
  Adam o;
  CHECK_THROWS_WITH_AS(fit(m, y, o, {.progress = Progress::quiet, .communicator = session->world(), .sharded = false}),
                       doctest::Contains("expected every rank to pass the same rows (sharded = false)"), option_error);
}

TEST_CASE("BatchNorm over MPI: each rank normalises by its own rows, the running statistics are the global batch's, the same everywhere") {
  // One step, not sharded: the global batch of 64 rows is split 32/32. The running statistics move by
  // the statistics of all 64 rows (summed in the step's one exchange), as one process's do.
  struct BnEnc : Seq<Dense<12, 8>, BatchNorm, Relu, Dense<8, 2>> {};
  using BnAE = Autoencoder<BnEnc, Dec, MSE>;
  const auto x = curve(64, 7);
  BnAE model(1), alone(1);
  Adam o1(1e-2), o2(1e-2);
  fit(model, x, o1,
      {.epochs = 1, .batch_size = 64, .seed = 4, .progress = Progress::quiet, .communicator = session->world(),
       .sharded = false});
  fit(alone, x, o2, {.epochs = 1, .batch_size = 64, .seed = 4, .progress = Progress::quiet});
  CHECK(same_everywhere(model.state()));
  CHECK(same_everywhere(model.parameters()));
  for (std::size_t i = 0; i < BnAE::state_size; ++i)
    CHECK(double(model.state()[i]) == doctest::Approx(double(alone.state()[i])).epsilon(1e-5));
  CHECK(model.state()[16] == 1.0f);  // batches tracked: one step
  // Sharded, unequal shards, several epochs: the state stays the same on every rank.
  BnAE sharded(2);
  Adam o3(1e-2);
  fit(sharded, shard(), o3,
      {.epochs = 3, .batch_size = 32, .seed = 5, .progress = Progress::quiet, .communicator = session->world()});
  CHECK(same_everywhere(sharded.state()));
  CHECK(same_everywhere(sharded.parameters()));
}

TEST_CASE("a sparse dictionary over MPI: each rank streams its own .npy files; weights and dead-latent counters agree") {
  // Rank r writes its own shard (90 and 60 rows); each streams it (NpyShards' rank option over a
  // shared list would do the same); the exchange sums gradients and firing counts, so every rank ends
  // with the same atoms and counters; BatchTopK's θ (each rank's cut, averaged) too.
  const std::string dir = shared_path("sae");
  if (rank() == 0) std::filesystem::create_directories(dir);
  world().all_gather(std::string());  // a barrier
  const std::string mine = dir + "/acts" + std::to_string(rank()) + ".npy";
  save_npy(mine, shard());
  world().all_gather(std::string());  // a barrier
  NpyShards acts(std::vector<std::string>{mine}, {.shuffle_buffer_rows = 64, .seed = 1 + rank()});
  SparseDictionary<12, 24, TopK<3>> topk(1, {.dead_after_tokens = 40});
  SparseDictionary<12, 24, BatchTopK<3>> batch(1, {.dead_after_tokens = 40});
  Adam o1(1e-2), o2(1e-2);
  const History h = fit(topk, acts, o1, {.epochs = 4, .batch_size = 32, .progress = Progress::quiet, .communicator = session->world()});
  fit(batch, acts, o2, {.epochs = 2, .batch_size = 32, .progress = Progress::quiet, .communicator = session->world()});
  CHECK(h.loss.back() < h.loss.front());
  CHECK(same_everywhere(topk.parameters()));
  CHECK(same_everywhere(topk.state()));
  CHECK(same_everywhere(batch.parameters()));
  CHECK(same_everywhere(batch.state()));
  CHECK(batch.batch_threshold() > 0.0f);
  world().all_gather(std::string());  // a barrier
  if (rank() == 0) std::filesystem::remove_all(dir);
}

TEST_CASE("the validation loss is the mean over every rank's validation rows") {
  const auto x = shard();
  const auto v0 = curve(20, 7), v1 = curve(10, 8);
  AE model(1);
  Adam opt(1e-2);
  const History h =
      fit(model, x, opt, {.epochs = 2, .batch_size = 32, .progress = Progress::quiet, .communicator = session->world()},
          rank() == 0 ? v0 : v1);
  xt::xtensor<float, 2> both = xt::xtensor<float, 2>::from_shape({30, 12});
  std::copy(v0.begin(), v0.end(), both.begin());
  std::copy(v1.begin(), v1.end(), both.begin() + 20 * 12);
  REQUIRE(h.val_loss.size() == 2);
  CHECK(h.val_loss.back() == doctest::Approx(model.loss(both)).epsilon(1e-5));
  CHECK(same_everywhere(std::span<const double>(h.val_loss)));
}

TEST_CASE("a checkpoint written by rank 0 and resumed by all equals an uninterrupted run, bit for bit") {
  const auto x = shard();
  const std::string path = shared_path("resume.ckpt");
  FitOptions options{
      .epochs = 4, .batch_size = 32, .seed = 5, .progress = Progress::quiet, .communicator = session->world()};
  GaussVAE straight(1);
  AdamW o1(1e-2, 0.01);
  o1.set_schedule(CosineDecay{.steps = 24, .warmup = 3});
  const History full = fit(straight, x, o1, options);
  GaussVAE first(1);
  AdamW o2(1e-2, 0.01);
  o2.set_schedule(CosineDecay{.steps = 24, .warmup = 3});
  FitOptions part = options;
  part.epochs = 2;
  part.checkpoint = path;
  fit(first, x, o2, part);
  GaussVAE resumed(5);
  AdamW o3(0.1);
  FitOptions rest = options;
  rest.checkpoint = path;
  rest.resume = true;
  const History h = fit(resumed, x, o3, rest);
  CHECK(h.loss == full.loss);
  CHECK(std::equal(straight.parameters().begin(), straight.parameters().end(), resumed.parameters().begin()));
  world().all_gather("");  // both ranks are done with the file
  if (rank() == 0) std::filesystem::remove(path);
}

TEST_CASE("a rank that throws mid-epoch stops every rank with an error naming it, without a hang") {
  const auto x = shard();
  AE model(1);
  Adam opt;
  const auto boom = [&](BatchState& b) {
    if (rank() == 1 && b.epoch == 2 && b.batch == 3) throw std::runtime_error("boom on rank 1");
  };
  if (rank() == 1) {
    CHECK_THROWS_WITH_AS(
        fit(model, x, opt,
            {.epochs = 4, .progress = Progress::quiet, .on_batch = boom, .communicator = session->world()}),
        "boom on rank 1", std::runtime_error);
  } else {
    CHECK_THROWS_WITH_AS(
        fit(model, x, opt,
            {.epochs = 4, .progress = Progress::quiet, .on_batch = boom, .communicator = session->world()}),
        doctest::Contains("fit: rank 1 of 2 failed, so training stops on every rank: at epoch 2, "
                          "batch 3: boom on rank 1"),
        distributed_error);
  }
  // An epoch callback on rank 0 that throws: rank 1 learns it.
  const auto callback = [](FitState& s) {
    if (s.rank() == 0 && s.epoch() == 1) throw option_error("a callback's complaint");
  };
  AE m2(1);
  Adam o2;
  if (rank() == 0)
    CHECK_THROWS_AS(
        fit(m2, x, o2,
            {.epochs = 3, .progress = Progress::quiet, .callbacks = {callback}, .communicator = session->world()}),
        option_error);
  else
    CHECK_THROWS_WITH_AS(
        fit(m2, x, o2,
            {.epochs = 3, .progress = Progress::quiet, .callbacks = {callback}, .communicator = session->world()}),
        doctest::Contains("rank 0 of 2 failed, so training stops on every rank: in a callback "
                          "after epoch 1: latent: a callback's complaint"),
        distributed_error);
  // Training goes on afterwards: the ranks are in step again.
  AE m3(1);
  Adam o3;
  CHECK_NOTHROW(fit(m3, x, o3, {.epochs = 1, .progress = Progress::quiet, .communicator = session->world()}));
  CHECK(same_everywhere(m3.parameters()));
}

TEST_CASE("mismatched models, bad data and a diverging loss end every rank with an error") {
  const auto x = shard();
  Adam opt;
  if (rank() == 0) {
    AE a(1);
    CHECK_THROWS_WITH_AS(fit(a, x, opt, {.progress = Progress::quiet, .communicator = session->world()}),
                         doctest::Contains("(224 parameters), but rank 0 trains Autoencoder<Seq<Dense<12,8,Relu>"),
                         option_error);
  } else {
    OtherAE b(1);
    CHECK_THROWS_WITH_AS(fit(b, x, opt, {.progress = Progress::quiet, .communicator = session->world()}),
                         doctest::Contains("fit: rank 0 trains Autoencoder<Seq<Dense<12,8,Relu>"), option_error);
  }
  // A NaN in rank 1's rows: rank 1 says where, rank 0 that rank 1 failed before training.
  auto bad = x;
  if (rank() == 1) bad(7, 3) = std::numeric_limits<float>::quiet_NaN();
  AE m(1);
  if (rank() == 1)
    CHECK_THROWS_WITH_AS(fit(m, bad, opt, {.progress = Progress::quiet, .communicator = session->world()}),
                         doctest::Contains("row 7"), data_error);
  else
    CHECK_THROWS_WITH_AS(fit(m, bad, opt, {.progress = Progress::quiet, .communicator = session->world()}),
                         doctest::Contains("rank 1 of 2 failed before training, so no rank trains"), distributed_error);
  // A learning rate that diverges: the global loss is the same everywhere, so is the error.
  AE d(1);
  SGD wild(1e30);
  CHECK_THROWS_WITH_AS(fit(d, x, wild, {.epochs = 3, .progress = Progress::quiet, .communicator = session->world()}),
                       doctest::Contains("fit: training diverged at epoch"), numerical_error);
  CHECK(same_everywhere(d.parameters()));
}

TEST_CASE("a batch callback that stops on one rank stops all; early stopping agrees everywhere") {
  const auto x = shard();
  AE model(1);
  Adam opt;
  const History h = fit(model, x, opt,
                        {.epochs = 5,
                         .batch_size = 32,
                         .progress = Progress::quiet,
                         .on_batch =
                             [](BatchState& b) {
                               if (rank() == 1 && b.epoch == 2 && b.batch == 2) b.stop("rank 1 has seen enough");
                             },
                         .communicator = session->world()});
  CHECK(h.epochs() == 2);
  CHECK(h.stopped_epoch == 2);
  CHECK(h.stop_reason == "rank 1: rank 1 has seen enough");
  CHECK(same_everywhere(model.parameters()));
  AE m2(1);
  Adam o2(5e-2);
  const History e = fit(m2, x, o2,
                        {.epochs = 30,
                         .batch_size = 16,
                         .progress = Progress::quiet,
                         .callbacks = {EarlyStopping{.patience = 2, .min_delta = 1e9}},
                         .communicator = session->world()},
                        rank() == 0 ? curve(20, 7) : curve(10, 8));
  CHECK(e.epochs() == 3);
  CHECK(e.best_epoch == 1);
  CHECK(same_everywhere(m2.parameters()));
}

TEST_CASE("a VQ-VAE over MPI: the codebook's series count every rank's rows, the same history on every rank") {
  struct QEnc : Seq<Dense<12, 8, Tanh>, Dense<8, 4>, VectorQuantizerEMA<16, 4>> {};
  struct QDec : Seq<Dense<4, 8, Relu>, Dense<8, 12>> {};
  using VQ = VQVAE<QEnc, QDec>;
  const auto x = shard();
  const auto val0 = curve(20, 7), val1 = curve(10, 8);
  VQ model(1);
  Adam opt(1e-2);
  const History h = fit(model, x, opt, {.epochs = 3, .batch_size = 32, .progress = Progress::quiet,
                                        .communicator = session->world()},
                        rank() == 0 ? val0 : val1);
  REQUIRE(h.series("codebook_perplexity").size() == 3);
  for (const auto& [name, series] : h.model_series) CHECK(same_everywhere(std::span<const double>(series)));
  // The counts of both ranks' validation rows: the model is the same everywhere.
  xt::xtensor<float, 2> both = xt::xtensor<float, 2>::from_shape({30, 12});
  std::copy(val0.begin(), val0.end(), both.begin());
  std::copy(val1.begin(), val1.end(), both.begin() + 20 * 12);
  const auto codes = model.encode_indices(both);
  CHECK(h.series("codebook_perplexity").back() == doctest::Approx(codebook_perplexity(codes, 16)).epsilon(1e-12));
  CHECK(h.series("codebook_usage").back() == codebook_usage(codes, 16));
  // The exchange's sum of more values than one exchange carries (3 + 2 a round).
  detail::exchange<float> ex(world(), 3);
  std::vector<double> v(11);
  for (std::size_t i = 0; i < v.size(); ++i) v[i] = static_cast<double>(i + 1 + rank() * 100);
  ex.sum(v);
  for (std::size_t i = 0; i < v.size(); ++i) CHECK(v[i] == static_cast<double>(2 * (i + 1) + 100));
}

TEST_CASE("the conditional VAE trains on sharded rows and labels") {
  const auto x = shard();
  xt::xtensor<std::int32_t, 1> labels = xt::xtensor<std::int32_t, 1>::from_shape({x.shape()[0]});
  for (std::size_t i = 0; i < labels.size(); ++i) labels(i) = static_cast<std::int32_t>((i + rank()) % 3);
  struct CEnc : Seq<Dense<15, 8, Relu>, Gaussian<2>> {};
  struct CDec : Seq<Dense<5, 8, Relu>, Dense<8, 12>> {};
  ConditionalVAE<CEnc, CDec, 3, UnitGaussian> model(1);
  Adam opt(1e-2);
  const History h = fit(model, x, labels, opt,
                        {.epochs = 6, .batch_size = 32, .progress = Progress::quiet, .communicator = session->world()});
  CHECK(h.loss.back() < h.loss.front());
  CHECK(same_everywhere(model.parameters()));
}

int main(int argc, char** argv) {
  mpi::Session s(argc, argv);
  session = &s;
  doctest::Context context(argc, argv);
  const int failed = context.run();
  // Every rank's verdict: the job fails if any rank's tests failed.
  int any = 0;
  MPI_Allreduce(&failed, &any, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD);
  return any;
}
