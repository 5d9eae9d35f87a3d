// Sparse dictionaries (#24): the top-k kernel against sorting, the TopK SAE's gradient in double
// (reconstruction and AuxK, against central differences), two threads against one (gradient and the
// dead-latent state), the update rule (unit-norm atoms, gradients orthogonal to them), learning on
// synthetic activations with known features (recovered by MCC), AuxK reviving dead latents, save/load
// with state, and the errors.
#include <doctest/doctest.h>
#include <latent/analysis/dictionary_metrics.hpp>
#include <latent/data/npy_shards.hpp>
#include <latent/data/synthetic_activations.hpp>
#include <latent/latent.hpp>
#include <latent/models/sparse_dictionary.hpp>
#include <latent/sae.hpp>
#include <latent/testing.hpp>

#include <xtensor/xtensor.hpp>  // xt::xtensor

#include <algorithm>   // std::sort, std::equal
#include <cmath>       // std::sqrt, std::abs, NAN
#include <cstddef>     // std::size_t
#include <cstdint>     // std::uint32_t
#include <filesystem>  // std::filesystem: a temporary file for save/load
#include <numeric>     // std::iota
#include <string>      // std::string
#include <vector>      // std::vector

#include <unistd.h>  // getpid: a private temporary file

#include "support/test_data.hpp"  // latent_test::random_rows

// The file's own names live in namespace test_sae: the test programs compile several test files as one
// translation unit (tests/CMakeLists.txt), and each file's helpers stay its own.
namespace test_sae {

using namespace latent;

namespace {

using latent_test::random_rows;

template <class Model>
xt::xtensor<typename Model::scalar_type, 2> decoder_of(const Model& m) {
  using T = typename Model::scalar_type;
  xt::xtensor<T, 2> d = xt::xtensor<T, 2>::from_shape({Model::latents, Model::input_size});
  std::copy_n(m.parameters().data() + Model::decoder_weights_at, Model::latents * Model::input_size, d.data());
  return d;
}

}  // namespace

TEST_CASE("top_k: the k largest of a row, as sorting finds them, ties to the lower index") {
  Rng rng(3);
  for (std::size_t count : {5, 16, 17, 100, 1000}) {
    for (std::size_t k : {1, 3, 5}) {
      std::vector<float> row(count);
      for (auto& v : row) v = static_cast<float>(std::round(rng.normal() * 4));  // many ties
      std::vector<std::uint32_t> order(count);
      std::iota(order.begin(), order.end(), 0u);
      std::stable_sort(order.begin(), order.end(), [&](std::uint32_t a, std::uint32_t b) { return row[a] > row[b]; });
      std::vector<std::uint32_t> want(order.begin(), order.begin() + static_cast<std::ptrdiff_t>(k));
      std::sort(want.begin(), want.end());
      std::vector<std::uint32_t> got(k);
      std::vector<float> val(k);
      std::vector<kernels::ranked<float>> heap(k);
      kernels::top_k<float>(row.data(), count, k, got.data(), val.data(), heap.data());
      INFO("count " << count << " k " << k);
      CHECK(got == want);
      for (std::size_t q = 0; q < k; ++q) CHECK(val[q] == row[got[q]]);
    }
  }
  std::vector<double> a(37), b(37);
  for (std::size_t i = 0; i < 37; ++i) a[i] = static_cast<double>(i) - 10, b[i] = 0.5 * static_cast<double>(i);
  double want = 0;
  for (std::size_t i = 0; i < 37; ++i) want += a[i] * b[i];
  CHECK(kernels::dot(37, a.data(), b.data()) == doctest::Approx(want).epsilon(1e-14));
}

TEST_CASE("SparseDictionary: the training loss's gradient in double, with and without AuxK, on 1 and 2 threads") {
  using Sae = SparseDictionary<8, 24, TopK<3>, double>;
  const auto x = random_rows<double>(12, 8, 5);
  testing::gradient_check_options o;
  o.max_values = 0;  // all 8·24·2 + 24 + 8 parameters
  Sae m(2, {.dead_after_tokens = 100});
  // Biases away from 0, so that b_dec's and b_enc's paths are exercised.
  Rng rng(7);
  for (std::size_t j = 0; j < 24; ++j) m.parameters()[Sae::encoder_bias_at + j] = rng.uniform(-0.2, 0.2);
  for (std::size_t i = 0; i < 8; ++i) m.parameters()[Sae::decoder_bias_at + i] = rng.uniform(-0.3, 0.3);
  SUBCASE("reconstruction only (no latent dead)") {
    CHECK(m.dead_latents() == 0);
    for (std::size_t threads : {1, 2}) {
      m.set_threads(threads);
      const auto r = testing::gradient_check(m, [&] { return m.gradient(x.data(), 12); }, o);
      INFO("threads " << threads);
      CHECK_MESSAGE(static_cast<bool>(r), r.message());
    }
  }
  SUBCASE("with AuxK: half of the latents dead, against its definition (the residual held fixed)") {
    for (std::size_t j = 0; j < 24; j += 2) m.state()[j] = 1000;
    CHECK(m.dead_latents() == 12);
    m.set_options({.aux_weight = 0.5, .aux_k = 4, .dead_after_tokens = 100});
    // AuxK's definition, written out here: the dead latents' top 4 pre-activations through a ReLU
    // reconstruct the residual e = x − x̂, which is held at its value at the checked parameters (its
    // gradient does not flow: OpenAI's `.detach()`), without b_dec; weight 0.5 · min(1, 12 / 4).
    const xt::xtensor<double, 2> resid0 = m.reconstruct(x) - x;  // x̂ − x = −e
    const auto aux_definition = [&] {
      const auto p = m.parameters();
      double total = 0;
      for (std::size_t r = 0; r < 12; ++r) {
        std::vector<std::pair<double, std::size_t>> dead;
        for (std::size_t j = 0; j < 24; j += 2) {
          double pre = p[Sae::encoder_bias_at + j];
          for (std::size_t i = 0; i < 8; ++i) pre += p[j * 8 + i] * (x(r, i) - p[Sae::decoder_bias_at + i]);
          dead.emplace_back(pre, j);
        }
        std::stable_sort(dead.begin(), dead.end(), [](const auto& a, const auto& b) { return a.first > b.first; });
        for (std::size_t i = 0; i < 8; ++i) {
          double err = resid0(r, i);
          for (std::size_t q = 0; q < 4; ++q)
            err += std::max(dead[q].first, 0.0) * p[Sae::decoder_weights_at + dead[q].second * 8 + i];
          total += 0.5 * err * err;
        }
      }
      return total / 12;
    };
    for (std::size_t threads : {1, 2}) {
      m.set_threads(threads);
      const double with_aux = m.gradient(x.data(), 12);
      CHECK(with_aux == doctest::Approx(m.loss(x) + aux_definition()).epsilon(1e-12));
      const auto r = testing::gradient_check(
          m,
          [&] {
            m.gradient(x.data(), 12);
            return m.loss(x) + aux_definition();
          },
          o);
      INFO("threads " << threads);
      CHECK_MESSAGE(static_cast<bool>(r), r.message());
    }
  }
}

TEST_CASE("SparseDictionary: two threads give one thread's gradient and the same dead-latent counters") {
  SparseDictionary<16, 64, TopK<4>> m(3, {.dead_after_tokens = 50});
  const auto x = random_rows<float>(32, 16, 9);
  for (std::size_t j = 0; j < 64; j += 3) m.state()[j] = 60;  // some dead: AuxK on
  const auto r = testing::thread_check(m, x.data(), 32);
  CHECK_MESSAGE(static_cast<bool>(r), r.message());
  // One training step each way from the same weights: the counters (whole numbers) agree exactly.
  auto one = m, two = m;
  one.set_threads(1);
  two.set_threads(2);
  Adam a1(1e-3), a2(1e-3);
  one.train_batch(x.data(), 32, a1);
  two.train_batch(x.data(), 32, a2);
  CHECK(std::equal(one.state().begin(), one.state().end(), two.state().begin()));
  std::size_t fired = 0;
  for (const float v : one.state()) fired += v == 0 ? 1 : 0;
  CHECK(fired > 0);
  CHECK(fired < 64);  // the others counted the step's 32 rows
  for (const float v : one.state()) CHECK((v == 0 || v == 32 || v == 92));
}

TEST_CASE("SparseDictionary: after every step the atoms have unit norm, and the step moved them") {
  SparseDictionary<16, 48, TopK<4>> m(4);
  const auto x = random_rows<float>(64, 16, 11);
  const auto before = decoder_of(m);
  Adam opt(1e-2);
  for (int s = 0; s < 5; ++s) m.train_batch(x.data(), 64, opt);
  const auto after = decoder_of(m);
  double moved = 0;
  for (std::size_t j = 0; j < 48; ++j) {
    double norm = 0;
    for (std::size_t i = 0; i < 16; ++i) norm += double(after(j, i)) * after(j, i), moved += std::abs(after(j, i) - before(j, i));
    CHECK(std::sqrt(norm) == doctest::Approx(1.0).epsilon(1e-5));
  }
  CHECK(moved > 0.1);
}

TEST_CASE("SparseDictionary: trained on synthetic activations, it recovers the true features") {
  constexpr std::size_t D = 32, F = 64;
  SyntheticActivations gen({.dims = D, .features = F, .zipf_exponent = 0.5, .max_probability = 0.1,
                            .magnitude_mean = 1.0, .magnitude_std = 0.2, .seed = 3});
  const auto train = gen.sample(20000, 1);
  const auto test = gen.sample(2000, 2);
  SparseDictionary<D, F, TopK<4>> sae(1, {.dead_after_tokens = 5000});
  const auto random_match = match_dictionary(decoder_of(sae), gen.features());
  const double loss_before = sae.loss(test.x);
  Adam opt(3e-3);
  const History h = fit(sae, train.x, opt, {.epochs = 10, .batch_size = 256, .progress = Progress::quiet});
  REQUIRE(h.loss.size() == 10);
  CHECK(h.loss.back() < 0.5 * h.loss.front());
  const auto m = match_dictionary(decoder_of(sae), gen.features());
  INFO("MCC " << m.mcc << " (random " << random_match.mcc << "), MMCS " << m.mmcs_abs << ", recovered " << m.recovered);
  CHECK(m.mcc > 0.8);
  CHECK(m.mcc > random_match.mcc + 0.4);
  CHECK(m.recovered > 0.5);
  const auto rm = reconstruction_metrics(test.x, sae.reconstruct(test.x), sae.encode(test.x));
  CHECK(rm.l0 <= 4.0);
  CHECK(rm.fvu < 0.15);
  CHECK(sae.loss(test.x) < 0.25 * loss_before);
}

TEST_CASE("SparseDictionary: AuxK revives latents that never fire") {
  // Latents 0..11 start with an encoder bias of −1: TopK rarely picks them, so they die after 500 rows;
  // with AuxK, those whose pre-activation is positive learn the residual and return.
  constexpr std::size_t D = 16, M = 32;
  SyntheticActivations gen({.dims = D, .features = 24, .max_probability = 0.2, .seed = 5});
  const auto x = gen.sample(6000, 1).x;
  std::size_t dead[2];
  for (int with_aux : {0, 1}) {
    SparseDictionary<D, M, TopK<3>> m(6, {.aux_weight = with_aux ? 1.0 / 32 : 0.0, .aux_k = 8, .dead_after_tokens = 500});
    for (std::size_t j = 0; j < 12; ++j) m.parameters()[m.encoder_bias_at + j] = -1;
    Adam opt(3e-3);
    fit(m, x, opt, {.epochs = 6, .batch_size = 100, .progress = Progress::quiet});
    dead[with_aux] = m.dead_latents();
  }
  INFO("dead without AuxK " << dead[0] << ", with " << dead[1]);
  CHECK(dead[0] >= 8);
  CHECK(dead[1] + 4 <= dead[0]);
}

TEST_CASE("SparseDictionary: save and load carry the parameters and the dead-latent counters") {
  SparseDictionary<8, 16, TopK<2>> m(7, {.dead_after_tokens = 10});
  const auto x = random_rows<float>(40, 8, 3);
  Adam opt(1e-2);
  for (int s = 0; s < 3; ++s) m.train_batch(x.data(), 40, opt);
  const std::string path = (std::filesystem::temp_directory_path() / ("latent-sae-" + std::to_string(getpid()))).string();
  save(m, path);
  SparseDictionary<8, 16, TopK<2>> back(99);
  load(back, path);
  CHECK(std::equal(m.parameters().begin(), m.parameters().end(), back.parameters().begin()));
  CHECK(std::equal(m.state().begin(), m.state().end(), back.state().begin()));
  SparseDictionary<8, 16, TopK<3>> other(1);
  CHECK_THROWS_AS(load(other, path), format_error);
  std::filesystem::remove(path);
  CHECK(SparseDictionary<8, 16, TopK<2>, double>::architecture() == "SparseDictionary<8,16,TopK<2>,double>");
}

TEST_CASE("SparseDictionary: bad input and a non-finite step leave the model as it was") {
  SparseDictionary<8, 16, TopK<2>> m(8);
  Adam opt(1e-2);
  CHECK_THROWS_AS(m.encode(random_rows<float>(3, 7, 1)), shape_error);
  CHECK_THROWS_AS(m.loss(xt::xtensor<float, 2>::from_shape({0, 8})), data_error);
  CHECK_THROWS_AS(m.train_batch(nullptr, 0, opt), option_error);
  CHECK_THROWS_AS(m.set_options({.aux_weight = -1}), option_error);
  CHECK_THROWS_AS(m.set_options({.dead_after_tokens = 0}), option_error);
  CHECK_THROWS_AS(m.initialize_decoder_bias(xt::xtensor<float, 2>::from_shape({0, 8})), data_error);
  auto x = random_rows<float>(10, 8, 2);
  m.train_batch(x.data(), 10, opt);
  // The weights (and counters) whose loss was last finite: those before the last update.
  const std::vector<float> params(m.parameters().begin(), m.parameters().end());
  const std::vector<float> state(m.state().begin(), m.state().end());
  m.train_batch(x.data(), 10, opt);
  x(3, 2) = NAN;
  CHECK_THROWS_AS(m.train_batch(x.data(), 10, opt), numerical_error);
  CHECK(std::equal(params.begin(), params.end(), m.parameters().begin()));
  CHECK(std::equal(state.begin(), state.end(), m.state().begin()));
  // fit refuses such data before any step, naming the row.
  CHECK_THROWS_AS(fit(m, x, opt, {.epochs = 1, .batch_size = 4, .progress = Progress::quiet}), data_error);
}

TEST_CASE("SparseDictionary: the decoder bias from the geometric median") {
  SparseDictionary<2, 4, TopK<1>, double> m(1);
  xt::xtensor<double, 2> x = {{0, 0}, {1, 0}, {0, 1}, {100, 100}};  // the median ignores the outlier's pull
  m.initialize_decoder_bias(x);
  const double bx = m.parameters()[m.decoder_bias_at], by = m.parameters()[m.decoder_bias_at + 1];
  CHECK(bx < 1.0);
  CHECK(by < 1.0);
  CHECK(bx == doctest::Approx(by).epsilon(1e-6));
}

TEST_CASE("fit on a streamed source: NpyShards files train as the rows in memory do, checkpoints resume, errors") {
  namespace fs = std::filesystem;
  const fs::path dir = fs::temp_directory_path() / ("latent-sae-shards-" + std::to_string(getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir);
  constexpr std::size_t D = 16, M = 32;
  SyntheticActivations gen({.dims = D, .features = 24, .max_probability = 0.2, .seed = 9});
  for (int f = 0; f < 3; ++f) save_npy((dir / ("acts" + std::to_string(f) + ".npy")).string(), gen.sample(1000 + 500 * f, f + 1).x);
  const auto test = gen.sample(1000, 7).x;
  NpyShards shards((dir / "acts*.npy").string(), {.shuffle_buffer_rows = 2000, .seed = 3});
  CHECK(shards.rows() == 4500);

  SparseDictionary<D, M, TopK<3>> sae(1);
  const double before = sae.loss(test);
  Adam opt(3e-3);
  const History h = fit(sae, shards, opt, {.epochs = 4, .batch_size = 128, .progress = Progress::quiet}, test);
  REQUIRE(h.loss.size() == 4);
  REQUIRE(h.val_loss.size() == 4);
  CHECK(h.loss.back() < h.loss.front());
  CHECK(sae.loss(test) < 0.5 * before);

  // Two epochs, a checkpoint, two more resumed: the same weights as four epochs in one run.
  const std::string ck = (dir / "run.ck").string();
  SparseDictionary<D, M, TopK<3>> whole(2), part(2);
  Adam o1(3e-3), o2(3e-3);
  fit(whole, shards, o1, {.epochs = 4, .batch_size = 128, .progress = Progress::quiet});
  fit(part, shards, o2, {.epochs = 2, .batch_size = 128, .progress = Progress::quiet, .checkpoint = ck});
  SparseDictionary<D, M, TopK<3>> resumed(5);
  Adam o3(3e-3);
  fit(resumed, shards, o3, {.epochs = 4, .batch_size = 128, .progress = Progress::quiet, .checkpoint = ck, .resume = true});
  CHECK(std::equal(whole.parameters().begin(), whole.parameters().end(), resumed.parameters().begin()));
  CHECK(std::equal(whole.state().begin(), whole.state().end(), resumed.state().begin()));

  SparseDictionary<D + 1, M, TopK<3>> wide(1);
  CHECK_THROWS_AS(fit(wide, shards, opt, {.progress = Progress::quiet}), shape_error);
  CHECK_THROWS_AS(fit(sae, shards, opt, {.progress = Progress::quiet, .validation_split = 0.1}), option_error);
  fs::remove_all(dir);
}

TEST_CASE("evaluate_sae: in memory and streamed give the same report, and it agrees with the metrics by definition") {
  namespace fs = std::filesystem;
  constexpr std::size_t D = 16, M = 32;
  SyntheticActivations gen({.dims = D, .features = 24, .max_probability = 0.2, .seed = 4});
  const auto x = gen.sample(3000, 1).x;
  SparseDictionary<D, M, TopK<3>> sae(2);
  Adam opt(3e-3);
  fit(sae, x, opt, {.epochs = 2, .batch_size = 100, .progress = Progress::quiet});
  const SaeReport r = evaluate_sae(sae, x);
  const auto by_definition = reconstruction_metrics(x, sae.reconstruct(x), sae.encode(x));
  CHECK(r.rows == 3000);
  CHECK(r.l0 == doctest::Approx(by_definition.l0).epsilon(1e-12));
  CHECK(r.fvu == doctest::Approx(by_definition.fvu).epsilon(1e-6));
  CHECK(r.explained_variance == doctest::Approx(1 - r.fvu));
  CHECK(r.mean_cosine == doctest::Approx(by_definition.mean_cosine).epsilon(1e-6));
  CHECK(r.shrinkage == doctest::Approx(by_definition.shrinkage).epsilon(1e-6));
  CHECK(r.dead_in_sample == by_definition.dead_latents);
  CHECK(r.mse == doctest::Approx(sae.loss(x)).epsilon(1e-6));
  CHECK(r.l0 <= 3.0);
  const fs::path file = fs::temp_directory_path() / ("latent-sae-eval-" + std::to_string(getpid()) + ".npy");
  save_npy(file.string(), x);
  NpyShards src(std::vector<std::string>{file.string()}, {.shuffle_buffer_rows = 500, .block_rows = 64, .seed = 1});
  const SaeReport s = evaluate_sae(sae, src, 0, 128);
  CHECK(s.rows == 3000);
  CHECK(s.l0 == doctest::Approx(r.l0).epsilon(1e-12));
  CHECK(s.fvu == doctest::Approx(r.fvu).epsilon(1e-6));
  CHECK(s.dead_in_sample == r.dead_in_sample);
  fs::remove(file);
  CHECK_THROWS_AS(evaluate_sae(sae, random_rows<float>(4, 15, 1)), shape_error);
  CHECK_THROWS_AS(evaluate_sae(sae, xt::xtensor<float, 2>(xt::zeros<float>({5, 16}))), data_error);
}

TEST_CASE("save_saelens and load_saelens: the same function back, folds applied, all or nothing") {
  namespace fs = std::filesystem;
  const fs::path dir = fs::temp_directory_path() / ("latent-saelens-" + std::to_string(getpid()));
  fs::remove_all(dir);
  using Sae = SparseDictionary<8, 16, TopK<2>>;
  Sae sae(3);
  const auto x = random_rows<float>(20, 8, 2);
  Adam opt(1e-2);
  for (int s = 0; s < 3; ++s) sae.train_batch(x.data(), 20, opt);
  SaeLensConfig base;
  base.hook_name = "blocks.6.hook_resid_post";
  save_saelens(sae, (dir / "a").string(), base);
  const auto [cfg, t] = read_saelens_folder((dir / "a").string());
  CHECK(cfg.architecture == sae_architecture::topk);
  CHECK(cfg.k == 2);
  CHECK(cfg.hook_name == "blocks.6.hook_resid_post");
  // SAELens's W_enc is [d_in, d_sae]: latent's row j is its column j.
  CHECK(t.W_enc[3 * 16 + 5] == sae.parameters()[Sae::encoder_weights_at + 5 * 8 + 3]);
  Sae back(99);
  CHECK(load_saelens(back, (dir / "a").string()).hook_name == "blocks.6.hook_resid_post");
  CHECK(std::equal(sae.parameters().begin(), sae.parameters().end(), back.parameters().begin()));
  const auto codes = sae.encode(x);
  CHECK(xt::allclose(back.encode(x), codes));

  // A folder without b_dec applied to the input (as Gemma Scope's): folded into b_enc, the same codes.
  SaeLensConfig c2 = cfg;
  SaeLensTensors t2 = t;
  c2.apply_b_dec_to_input = false;
  for (std::size_t j = 0; j < 16; ++j)
    for (std::size_t i = 0; i < 8; ++i) t2.b_enc[j] -= t2.W_enc[i * 16 + j] * t2.b_dec[i];
  write_saelens_folder((dir / "b").string(), c2, t2);
  Sae folded(98);
  load_saelens(folded, (dir / "b").string());
  CHECK(xt::allclose(folded.encode(x), codes, 1e-4, 1e-5));

  // Refused, the model untouched: another k, another architecture, normalised activations.
  const std::vector<float> kept(folded.parameters().begin(), folded.parameters().end());
  SparseDictionary<8, 16, TopK<3>> other_k(1);
  CHECK_THROWS_AS(load_saelens(other_k, (dir / "a").string()), format_error);
  SaeLensConfig c3 = cfg;
  c3.normalize_activations = "expected_average_only_in";
  write_saelens_folder((dir / "c").string(), c3, t);
  CHECK_THROWS_AS(load_saelens(folded, (dir / "c").string()), format_error);
  SaeLensConfig c4 = cfg;
  c4.architecture = sae_architecture::standard;
  write_saelens_folder((dir / "d").string(), c4, t);
  CHECK_THROWS_AS(load_saelens(folded, (dir / "d").string()), format_error);
  CHECK_THROWS_AS(load_saelens(folded, (dir / "missing").string()), std::exception);
  CHECK(std::equal(kept.begin(), kept.end(), folded.parameters().begin()));
  fs::remove_all(dir);
}

TEST_CASE("ReluL1: the gradient of reconstruction + λ·Σ z_j‖W_dec,j‖ in double; the atoms' norms stay free") {
  using Sae = SparseDictionary<6, 10, ReluL1, double>;
  Sae m(3, {.l1_coefficient = 0.7});
  Rng rng(4);
  for (auto& v : m.parameters()) v += rng.uniform(-0.2, 0.2);  // atoms of several norms, biases off 0
  const auto x = random_rows<double>(9, 6, 8);
  testing::gradient_check_options o;
  o.max_values = 0;
  for (std::size_t threads : {1, 2}) {
    m.set_threads(threads);
    const auto r = testing::gradient_check(m, [&] { return m.gradient(x.data(), 9); }, o);
    INFO("threads " << threads);
    CHECK_MESSAGE(static_cast<bool>(r), r.message());
  }
  // The penalty is in the training loss: loss(x) is the reconstruction alone.
  const auto z = m.encode(x);
  double penalty = 0;
  for (std::size_t r = 0; r < 9; ++r)
    for (std::size_t j = 0; j < 10; ++j) {
      double norm = 0;
      for (std::size_t i = 0; i < 6; ++i) norm += m.parameters()[Sae::decoder_weights_at + j * 6 + i] * m.parameters()[Sae::decoder_weights_at + j * 6 + i];
      penalty += z(r, j) * std::sqrt(norm);
    }
  CHECK(m.gradient(x.data(), 9) == doctest::Approx(m.loss(x) + 0.7 * penalty / 9).epsilon(1e-12));
  // No renormalisation: an atom's norm moves with training.
  Sae f(5, {.l1_coefficient = 0.7});
  Adam opt(5e-2);
  for (int s = 0; s < 10; ++s) f.train_batch(x.data(), 9, opt);
  double norm0 = 0;
  for (std::size_t i = 0; i < 6; ++i) norm0 += f.parameters()[Sae::decoder_weights_at + i] * f.parameters()[Sae::decoder_weights_at + i];
  CHECK(std::abs(std::sqrt(norm0) - 1.0) > 1e-3);
}

TEST_CASE("JumpRelu: the weights' gradient against central differences, the thresholds' against the pseudo-derivatives") {
  using Sae = SparseDictionary<6, 10, JumpRelu, double>;
  const double eps = 0.4, lambda = 0.3;
  Sae m(7, {.l0_coefficient = lambda, .jump_bandwidth = eps, .initial_threshold = 0.3});
  Rng rng(5);
  for (std::size_t j = 0; j < 10; ++j) m.parameters()[Sae::log_threshold_at + j] += rng.uniform(-0.5, 0.5);
  for (std::size_t j = 0; j < 10; ++j) m.parameters()[Sae::encoder_bias_at + j] = rng.uniform(-0.2, 0.2);
  const auto x = random_rows<double>(12, 6, 9);
  const double loss = m.gradient(x.data(), 12);
  const std::vector<double> analytic(m.gradients().begin(), m.gradients().end());
  // The definition, written out: pre = W_enc(x − b_dec) + b_enc; active where pre > θ; loss = mean of
  // Σ(x̂ − x)² + λ·#active.
  auto params = m.parameters();
  const auto pre_of = [&](std::size_t r, std::size_t j) {
    double v = params[Sae::encoder_bias_at + j];
    for (std::size_t i = 0; i < 6; ++i) v += params[j * 6 + i] * (x(r, i) - params[Sae::decoder_bias_at + i]);
    return v;
  };
  const auto definition = [&] {
    double total = 0;
    for (std::size_t r = 0; r < 12; ++r) {
      std::vector<double> xh(6);
      for (std::size_t i = 0; i < 6; ++i) xh[i] = params[Sae::decoder_bias_at + i];
      for (std::size_t j = 0; j < 10; ++j) {
        const double p = pre_of(r, j), theta = std::exp(params[Sae::log_threshold_at + j]);
        if (p > theta && p > 0) {
          total += lambda;
          for (std::size_t i = 0; i < 6; ++i) xh[i] += p * params[Sae::decoder_weights_at + j * 6 + i];
        }
      }
      for (std::size_t i = 0; i < 6; ++i) total += (xh[i] - x(r, i)) * (xh[i] - x(r, i));
    }
    return total / 12;
  };
  CHECK(loss == doctest::Approx(definition()).epsilon(1e-12));
  std::size_t checked = 0;
  for (std::size_t at = 0; at < Sae::log_threshold_at; ++at) {  // every weight and bias
    const double kept = params[at], h = 1e-6;
    params[at] = kept + h;
    const double up = definition();
    params[at] = kept - h;
    const double down = definition();
    params[at] = kept;
    const double fd = (up - down) / (2 * h);
    INFO("parameter " << at);
    CHECK(analytic[at] == doctest::Approx(fd).epsilon(1e-6).scale(1e-6));
    ++checked;
  }
  CHECK(checked == Sae::log_threshold_at);
  // log θ_j: θ_j·Σ_rows 1[|pre − θ_j| < ε/2]·(−(θ_j/ε)·∂L/∂z_j − λ/ε) / n, ∂L/∂z_j = 2(x̂ − x)·w_j.
  std::size_t in_window = 0;
  for (std::size_t j = 0; j < 10; ++j) {
    const double theta = std::exp(params[Sae::log_threshold_at + j]);
    double want = 0;
    for (std::size_t r = 0; r < 12; ++r) {
      const double p = pre_of(r, j);
      if (std::abs(p - theta) >= eps / 2) continue;
      ++in_window;
      std::vector<double> xh(6);
      for (std::size_t i = 0; i < 6; ++i) xh[i] = params[Sae::decoder_bias_at + i];
      for (std::size_t q = 0; q < 10; ++q) {
        const double pq = pre_of(r, q), tq = std::exp(params[Sae::log_threshold_at + q]);
        if (pq > tq && pq > 0)
          for (std::size_t i = 0; i < 6; ++i) xh[i] += pq * params[Sae::decoder_weights_at + q * 6 + i];
      }
      double dz = 0;
      for (std::size_t i = 0; i < 6; ++i) dz += 2 * (xh[i] - x(r, i)) * params[Sae::decoder_weights_at + j * 6 + i];
      want += -(theta / eps) * dz - lambda / eps;
    }
    want *= theta / 12;
    INFO("log threshold " << j);
    CHECK(analytic[Sae::log_threshold_at + j] == doctest::Approx(want).epsilon(1e-9).scale(1e-9));
  }
  CHECK(in_window > 3);  // the pseudo-derivatives were exercised
  // Two threads: the same gradient.
  m.set_threads(2);
  m.gradient(x.data(), 12);
  for (std::size_t i = 0; i < analytic.size(); ++i) CHECK(m.gradients()[i] == doctest::Approx(analytic[i]).epsilon(1e-12).scale(1e-12));
}

TEST_CASE("ReluL1 and JumpRelu learn the synthetic features, with the sparsity their coefficients set") {
  constexpr std::size_t D = 32, F = 64;
  SyntheticActivations gen({.dims = D, .features = F, .zipf_exponent = 0.5, .max_probability = 0.1,
                            .magnitude_mean = 1.0, .magnitude_std = 0.2, .seed = 3});
  const auto train = gen.sample(20000, 1);
  const auto test = gen.sample(2000, 2);
  SparseDictionary<D, F, ReluL1> relu(1, {.l1_coefficient = 0.3});
  SparseDictionary<D, F, JumpRelu> jump(1, {.l0_coefficient = 0.1, .jump_bandwidth = 0.05, .initial_threshold = 0.1});
  Adam o1(3e-3), o2(3e-3);
  fit(relu, train.x, o1, {.epochs = 10, .batch_size = 256, .progress = Progress::quiet});
  fit(jump, train.x, o2, {.epochs = 10, .batch_size = 256, .progress = Progress::quiet});
  const auto mr = match_dictionary(decoder_of(relu), gen.features());
  const auto mj = match_dictionary(decoder_of(jump), gen.features());
  const auto rr = evaluate_sae(relu, test.x), rj = evaluate_sae(jump, test.x);
  INFO("ReluL1 MCC " << mr.mcc << " L0 " << rr.l0 << " FVU " << rr.fvu << "; JumpRelu MCC " << mj.mcc << " L0 " << rj.l0
                     << " FVU " << rj.fvu);
  CHECK(mr.mcc > 0.8);
  CHECK(mj.mcc > 0.8);
  CHECK(rr.l0 < 6);
  CHECK(rj.l0 < 4);
  CHECK(rr.fvu < 0.2);
  CHECK(rj.fvu < 0.2);
}

TEST_CASE("save_saelens: JumpRelu as jumprelu with its thresholds, ReluL1 as standard; both come back") {
  namespace fs = std::filesystem;
  const fs::path dir = fs::temp_directory_path() / ("latent-saelens-j-" + std::to_string(getpid()));
  fs::remove_all(dir);
  const auto x = random_rows<float>(20, 8, 2);
  SparseDictionary<8, 16, JumpRelu> j(3, {.initial_threshold = 0.05});
  Adam opt(1e-2);
  for (int s = 0; s < 3; ++s) j.train_batch(x.data(), 20, opt);
  save_saelens(j, (dir / "j").string());
  const auto [cfg, t] = read_saelens_folder((dir / "j").string());
  CHECK(cfg.architecture == sae_architecture::jumprelu);
  REQUIRE(t.threshold.size() == 16);
  CHECK(t.threshold[4] == doctest::Approx(j.thresholds()[4]));
  SparseDictionary<8, 16, JumpRelu> jb(9);
  load_saelens(jb, (dir / "j").string());
  CHECK(xt::allclose(jb.encode(x), j.encode(x), 1e-5, 1e-6));
  SparseDictionary<8, 16, ReluL1> r(4);
  save_saelens(r, (dir / "r").string());
  CHECK(read_saelens_folder((dir / "r").string()).first.architecture == sae_architecture::standard);
  SparseDictionary<8, 16, ReluL1> rb(8);
  load_saelens(rb, (dir / "r").string());
  CHECK(xt::allclose(rb.encode(x), r.encode(x)));
  CHECK_THROWS_AS(load_saelens(rb, (dir / "j").string()), format_error);  // a jumprelu folder into a ReLU model
  fs::remove_all(dir);
}

TEST_CASE("BatchTopK: K·B codes over the step's whole batch, the same on two threads, θ as state, gradient in double") {
  using Sae = SparseDictionary<8, 24, BatchTopK<3>, double>;
  Sae m(2, {.dead_after_tokens = 100});
  Rng rng(7);
  for (std::size_t j = 0; j < 24; ++j) m.parameters()[Sae::encoder_bias_at + j] = rng.uniform(-0.2, 0.2);
  const auto x = random_rows<double>(16, 8, 5);
  testing::gradient_check_options o;
  o.max_values = 0;
  for (std::size_t threads : {1, 2}) {
    m.set_threads(threads);
    const auto r = testing::gradient_check(m, [&] { return m.gradient(x.data(), 16); }, o);
    INFO("threads " << threads);
    CHECK_MESSAGE(static_cast<bool>(r), r.message());
  }
  // One step each way: 3 · 16 = 48 codes over the batch (rows differ), the same firing counts, the
  // same θ (the 48th largest value), bit for bit.
  using SaeF = SparseDictionary<16, 64, BatchTopK<4>>;
  SaeF a(3);
  const auto xf = random_rows<float>(40, 16, 9);
  auto b = a;
  a.set_threads(1);
  b.set_threads(2);
  CHECK(a.batch_threshold() == 0.0f);
  Adam oa(1e-3), ob(1e-3);
  a.train_batch(xf.data(), 40, oa);
  b.train_batch(xf.data(), 40, ob);
  CHECK(std::equal(a.state().begin(), a.state().end(), b.state().begin()));
  CHECK(a.batch_threshold() > 0.0f);
  // θ is the 160th largest pre-activation of that step: count the values above it by hand.
  SaeF before(3);
  std::vector<float> pre;
  const auto p = before.parameters();
  for (std::size_t r = 0; r < 40; ++r)
    for (std::size_t j = 0; j < 64; ++j) {
      double v = p[SaeF::encoder_bias_at + j];
      for (std::size_t i = 0; i < 16; ++i) v += p[j * 16 + i] * (xf(r, i) - p[SaeF::decoder_bias_at + i]);
      pre.push_back(static_cast<float>(v));
    }
  std::sort(pre.begin(), pre.end(), std::greater<>());
  CHECK(a.batch_threshold() == doctest::Approx(pre[159]).epsilon(1e-5));
  // Inference is a JumpReLU at θ: every code above it.
  const auto z = a.encode(xf);
  for (const float v : z) CHECK((v == 0 || v > a.batch_threshold()));
  std::size_t fired_rows = 0;
  for (std::size_t j = 0; j < 64; ++j) fired_rows += a.state()[j] == 0 ? 1 : 0;
  CHECK(fired_rows > 4);
}

TEST_CASE("BatchTopK learns the synthetic features at L0 near K") {
  constexpr std::size_t D = 32, F = 64;
  SyntheticActivations gen({.dims = D, .features = F, .zipf_exponent = 0.5, .max_probability = 0.1,
                            .magnitude_mean = 1.0, .magnitude_std = 0.2, .seed = 3});
  const auto train = gen.sample(20000, 1);
  const auto test = gen.sample(2000, 2);
  SparseDictionary<D, F, BatchTopK<2>> sae(1, {.dead_after_tokens = 5000});
  Adam opt(3e-3);
  fit(sae, train.x, opt, {.epochs = 10, .batch_size = 256, .progress = Progress::quiet});
  const auto m = match_dictionary(decoder_of(sae), gen.features());
  const auto r = evaluate_sae(sae, test.x);
  INFO("MCC " << m.mcc << " L0 " << r.l0 << " FVU " << r.fvu << " θ " << sae.batch_threshold());
  CHECK(m.mcc > 0.8);
  CHECK(r.l0 > 1.0);
  CHECK(r.l0 < 3.5);
}

TEST_CASE("save_saelens: BatchTopK as batchtopk with its θ, back with the same inference") {
  namespace fs = std::filesystem;
  const fs::path dir = fs::temp_directory_path() / ("latent-saelens-b-" + std::to_string(getpid()));
  fs::remove_all(dir);
  const auto x = random_rows<float>(30, 8, 2);
  SparseDictionary<8, 16, BatchTopK<2>> b(3);
  Adam opt(1e-2);
  for (int s = 0; s < 3; ++s) b.train_batch(x.data(), 30, opt);
  save_saelens(b, dir.string());
  const auto [cfg, t] = read_saelens_folder(dir.string());
  CHECK(cfg.architecture == sae_architecture::batchtopk);
  CHECK(cfg.k == 2);
  CHECK(t.topk_threshold == doctest::Approx(b.batch_threshold()));
  SparseDictionary<8, 16, BatchTopK<2>> back(9);
  load_saelens(back, dir.string());
  CHECK(back.batch_threshold() == doctest::Approx(b.batch_threshold()));
  CHECK(xt::allclose(back.encode(x), b.encode(x)));
  fs::remove_all(dir);
}

TEST_CASE("fit on shards: a file that goes bad mid-run is an error naming it; the checkpoint keeps the last epoch") {
  namespace fs = std::filesystem;
  const fs::path dir = fs::temp_directory_path() / ("latent-sae-bad-" + std::to_string(getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir);
  SyntheticActivations gen({.dims = 8, .features = 12, .max_probability = 0.3, .seed = 2});
  save_npy((dir / "a.npy").string(), gen.sample(300, 1).x);
  save_npy((dir / "b.npy").string(), gen.sample(300, 2).x);
  NpyShards shards((dir / "*.npy").string(), {.shuffle_buffer_rows = 0});
  SparseDictionary<8, 16, TopK<2>> sae(1);
  Adam opt(1e-2);
  const std::string ck = (dir / "run.ck").string();
  fit(sae, shards, opt, {.epochs = 1, .batch_size = 50, .progress = Progress::quiet, .checkpoint = ck});
  SparseDictionary<8, 16, TopK<2>> after_one(9);
  load(after_one, ck);
  CHECK(std::equal(sae.parameters().begin(), sae.parameters().end(), after_one.parameters().begin()));
  fs::resize_file(dir / "b.npy", 1000);  // truncated after the source was built
  try {
    fit(sae, shards, opt, {.epochs = 3, .batch_size = 50, .progress = Progress::quiet, .checkpoint = ck, .resume = true});
    FAIL("expected an error for the truncated file");
  } catch (const std::exception& e) {
    CHECK(std::string(e.what()).find("b.npy") != std::string::npos);
  }
  for (const float v : sae.parameters()) CHECK(std::isfinite(v));
  SparseDictionary<8, 16, TopK<2>> still(9);
  load(still, ck);  // the checkpoint is the first epoch's, intact
  CHECK(std::equal(still.parameters().begin(), still.parameters().end(), after_one.parameters().begin()));
  fs::remove_all(dir);
}
}  // namespace test_sae
