// The sparse-dictionary comparison (issue #24): four SAE activations — TopK, BatchTopK, JumpReLU and
// ReLU + L1 — trained on synthetic activations whose true features are known (superposition: more
// features than dimensions, Zipfian firing), at a matched L0, then judged against the truth (MCC,
// MMCS, features recovered, per-latent F1) and without it (L0, explained variance, dead latents), with
// pictures: each activation's recovery histogram, the TopK dictionary's cosine map to the truth, and
// the L0/FVU frontier of TopK over k with the other three beside it.
//
//   bash scripts/compare.sh --data superposition            (or build/examples/sae_superposition)
//   options: --rows N (100000) --epochs N (5) --batch N (1024) --lr X (0.002) --seed N (1)
//   (JumpReLU's and ReLU + L1's coefficients are found by bisection to give TopK's L0, K = 8)
//            --threads N (0: automatic) --out DIR (sae-out) --quick (a small run, for the tests)
//            --no-frontier (skip the k sweep) --quiet
#include <latent/latent.hpp>
#include <latent/plot.hpp>
#include <latent/sae.hpp>

#include <xtensor/xview.hpp>  // xt::view: the first rows of a sample

#include <algorithm>   // std::max, std::sort
#include <chrono>      // std::chrono::steady_clock
#include <cmath>       // std::log, std::exp, std::abs
#include <cstdio>      // std::printf, std::fprintf
#include <cstdlib>     // std::strtod, std::strtoull, std::exit
#include <exception>   // std::exception
#include <filesystem>  // std::filesystem::create_directories
#include <memory>      // std::unique_ptr: the TopK dictionary kept for its cosine map
#include <fstream>     // std::ofstream: results.md, results.json
#include <string>      // std::string
#include <utility>     // std::pair
#include <vector>      // std::vector

using namespace latent;

namespace {

// The default size: 1024 true features in 256 dimensions, 1024 latents, K = 8 (the true L0 is about 6).
constexpr std::size_t D = 256, F = 1024, M = 1024, K = 8;

struct options {
  std::size_t rows = 100000, epochs = 5, batch = 1024, threads = 0, test_rows = 10000;
  double lr = 2e-3;
  std::uint64_t seed = 1;
  std::string out = "sae-out";
  bool frontier = true, quiet = false, quick = false;
};

struct row {
  std::string name, setting;
  double mcc = 0, mmcs = 0, recovered = 0, f1 = 0, l0 = 0, ev = 0, dead = 0, seconds = 0;
  std::vector<double> best_cosine;  // per true feature
};

options parse(int argc, char** argv) {
  options o;
  const auto number = [&](int& i) -> std::string {
    if (i + 1 >= argc) throw option_error(std::string(argv[i]) + " expects a value");
    return argv[++i];
  };
  const auto count = [&](int& i) {
    const std::string v = number(i);
    char* end = nullptr;
    const unsigned long long n = std::strtoull(v.c_str(), &end, 10);
    if (end == v.c_str() || *end != '\0' || n == 0)
      throw option_error(std::string(argv[i - 1]) + ": expected a whole number >= 1, found '" + v + "'");
    return static_cast<std::size_t>(n);
  };
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--rows") o.rows = count(i);
    else if (a == "--epochs") o.epochs = count(i);
    else if (a == "--batch") o.batch = count(i);
    else if (a == "--threads") o.threads = count(i);
    else if (a == "--seed") o.seed = count(i);
    else if (a == "--out") o.out = number(i);
    else if (a == "--lr") {
      const std::string v = number(i);
      char* end = nullptr;
      o.lr = std::strtod(v.c_str(), &end);
      if (end == v.c_str() || *end != '\0' || !(o.lr > 0)) throw option_error("--lr: expected a number > 0, found '" + v + "'");
    } else if (a == "--quick") o.rows = 6000, o.epochs = 2, o.test_rows = 2000, o.frontier = false, o.quick = true;
    else if (a == "--no-frontier") o.frontier = false;
    else if (a == "--quiet") o.quiet = true;
    else if (a == "--data" || a == "--arch" || a == "--latent") number(i);  // scripts/compare.sh's own
    else if (a == "--help" || a == "-h") {
      std::printf(
          "sae_superposition (bash scripts/compare.sh --data superposition): TopK, BatchTopK, JumpReLU and ReLU + L1\n"
          "sparse dictionaries at a matched L0 on synthetic activations with known features (1024 features in 256\n"
          "dimensions, 1024 latents, K = 8); the table to stdout, results.md, results.json and pictures to --out.\n"
          "  --rows N (100000)  --epochs N (5)  --batch N (1024)  --lr X (0.002)  --seed N (1)  --threads N (0: automatic)\n"
          "  --out DIR (sae-out)  --quick (a small run)  --no-frontier (skip the TopK k sweep)  --quiet\n");
      std::exit(0);
    }
    else throw option_error("unknown option '" + a + "' (see --help)");
  }
  return o;
}

template <class Sae>
xt::xtensor<float, 2> decoder_of(const Sae& s) {
  xt::xtensor<float, 2> d = xt::xtensor<float, 2>::from_shape({Sae::latents, Sae::input_size});
  std::copy_n(s.parameters().data() + Sae::decoder_weights_at, Sae::latents * Sae::input_size, d.data());
  return d;
}

// Trains one dictionary and judges it.
template <class Sae>
row train_and_judge(const std::string& name, const std::string& setting, const DictionaryOptions& dopt,
                    const options& o, const SyntheticActivations& gen, const SyntheticSample& train,
                    const SyntheticSample& test, std::size_t epochs, Sae** keep = nullptr) {
  auto sae = std::make_unique<Sae>(o.seed, dopt);
  if (o.threads) sae->set_threads(o.threads);
  sae->initialize_decoder_bias(xt::view(train.x, xt::range(0, std::min<std::size_t>(train.x.shape()[0], 2048)), xt::all()));
  Adam opt(o.lr);
  const auto t0 = std::chrono::steady_clock::now();
  fit(*sae, train.x, opt, {.epochs = epochs, .batch_size = o.batch, .progress = Progress::quiet});
  row r;
  r.name = name;
  r.setting = setting;
  r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  const DictionaryMatch m = match_dictionary(decoder_of(*sae), gen.features());
  const SaeReport rep = evaluate_sae(*sae, test.x);
  const LatentClassification c = classify_latents(m, sae->encode(test.x), test.activations);
  r.mcc = m.mcc, r.mmcs = m.mmcs_abs, r.recovered = m.recovered, r.f1 = c.mean_f1;
  r.l0 = rep.l0, r.ev = rep.explained_variance, r.dead = rep.dead_fraction;
  r.best_cosine = m.feature_best_cosine;
  if (keep != nullptr) *keep = sae.release();
  return r;
}

// The coefficient that gives an activation the target L0: bisection on log λ (L0 falls as λ grows)
// over runs of the same schedule as the final one (early in training an L1 penalty shrinks every code,
// so a shorter run would find another λ); the final run is the best of these.
template <class Sae>
row calibrate(const char* name, double lo, double hi, DictionaryOptions base, double DictionaryOptions::*field,
              const options& o, const SyntheticActivations& gen, const SyntheticSample& train,
              const SyntheticSample& test, std::size_t iterations) {
  row best;
  double best_gap = 1e300;
  for (std::size_t it = 0; it < iterations; ++it) {
    const double mid = std::sqrt(lo * hi);
    base.*field = mid;
    char setting[64];
    std::snprintf(setting, sizeof setting, "λ = %.3g", mid);
    row r = train_and_judge<Sae>(name, setting, base, o, gen, train, test, o.epochs);
    if (!o.quiet) std::fprintf(stderr, "  %s: λ %.4g gives L0 %.2f (target %zu)\n", name, mid, r.l0, K);
    const double gap = std::abs(std::log(std::max(r.l0, 1e-3) / static_cast<double>(K)));
    if (gap < best_gap) best_gap = gap, best = r;
    if (r.l0 > static_cast<double>(K))
      lo = mid;
    else
      hi = mid;
  }
  return best;
}

template <std::size_t k>
std::pair<double, double> frontier_point(const options& o, const SyntheticSample& train, const SyntheticSample& test) {
  auto sae = std::make_unique<SparseDictionary<D, M, TopK<k>>>(o.seed);
  if (o.threads) sae->set_threads(o.threads);
  Adam opt(o.lr);
  fit(*sae, train.x, opt, {.epochs = o.epochs, .batch_size = o.batch, .progress = Progress::quiet});
  const SaeReport r = evaluate_sae(*sae, test.x);
  return {r.l0, 1 - r.explained_variance};
}

}  // namespace

int main(int argc, char** argv) try {
  const options o = parse(argc, argv);
  std::filesystem::create_directories(o.out);
  const auto start = std::chrono::steady_clock::now();
  SyntheticActivations gen({.dims = D, .features = F, .zipf_exponent = 0.5, .max_probability = 0.1,
                            .magnitude_mean = 1.0, .magnitude_std = 0.25, .noise_std = 0.01, .seed = o.seed});
  const SyntheticSample train = gen.sample(o.rows, o.seed + 1), test = gen.sample(o.test_rows, o.seed + 2);
  if (!o.quiet)
    std::fprintf(stderr, "synthetic activations: %zu true features in %zu dimensions, true L0 %.2f; %zu training rows, %zu test rows\n",
                 F, D, gen.expected_l0(), o.rows, o.test_rows);

  // JumpReLU's θ starts at 0.3 (the data's codes are about 1; DeepMind's 0.001 suits inputs scaled to
  // ‖x‖² ≈ D and far longer runs), its bandwidth 0.05.
  const DictionaryOptions jump{.jump_bandwidth = 0.05, .initial_threshold = 0.3};
  const std::size_t iterations = o.quick ? 2 : 5;
  std::vector<row> rows;
  SparseDictionary<D, M, TopK<K>>* topk = nullptr;
  rows.push_back(train_and_judge<SparseDictionary<D, M, TopK<K>>>("TopK", "k = " + std::to_string(K), {}, o, gen, train,
                                                                 test, o.epochs, &topk));
  std::unique_ptr<SparseDictionary<D, M, TopK<K>>> topk_owner(topk);
  rows.push_back(train_and_judge<SparseDictionary<D, M, BatchTopK<K>>>("BatchTopK", "k = " + std::to_string(K), {}, o,
                                                                      gen, train, test, o.epochs));
  rows.push_back(calibrate<SparseDictionary<D, M, JumpRelu>>("JumpReLU", 1e-3, 0.3, jump, &DictionaryOptions::l0_coefficient,
                                                             o, gen, train, test, iterations));
  rows.push_back(calibrate<SparseDictionary<D, M, ReluL1>>("ReLU + L1", 0.05, 2.0, {}, &DictionaryOptions::l1_coefficient,
                                                           o, gen, train, test, iterations));

  // The table.
  std::string md = "| activation | setting | MCC | MMCS | recovered (cos > 0.9) | mean F1 | L0 | explained variance | dead % | seconds |\n"
                   "|---|---|---|---|---|---|---|---|---|---|\n";
  for (const row& r : rows) {
    char line[512];
    std::snprintf(line, sizeof line, "| %s | %s | %.3f | %.3f | %.3f | %.3f | %.2f | %.3f | %.1f | %.1f |\n", r.name.c_str(),
                  r.setting.c_str(), r.mcc, r.mmcs, r.recovered, r.f1, r.l0, r.ev, 100 * r.dead, r.seconds);
    md += line;
  }
  std::printf("%s", md.c_str());

  // Pictures: recovery histograms, the TopK cosine map, the frontier.
  std::vector<std::pair<std::string, std::vector<double>>> hist;
  for (const row& r : rows) {
    std::vector<double> h(20, 0.0);
    for (const double c : r.best_cosine) h[std::min<std::size_t>(19, static_cast<std::size_t>(c * 20))] += 1;
    hist.emplace_back(r.name, h);
  }
  line_plot(o.out + "/recovery.png", hist, "true features by their best |cos| with a latent", "bin (0.05 wide: 20 = cos 0.95..1)",
            "true features");
  {
    // |cos| of each true feature (columns, by firing rank) with the TopK latent matched to it (rows in the same order).
    const DictionaryMatch m = match_dictionary(decoder_of(*topk_owner), gen.features());
    const std::size_t show = std::min<std::size_t>(256, F);
    xt::xtensor<float, 2> img = xt::zeros<float>({show, show});
    std::vector<std::size_t> latent_of(F, M);
    for (std::size_t j = 0; j < M; ++j)
      if (m.matched_feature[j] < F) latent_of[m.matched_feature[j]] = j;
    const auto dec = decoder_of(*topk_owner);
    const auto& truth = gen.features();
    for (std::size_t a = 0; a < show; ++a) {
      if (latent_of[a] >= M) continue;
      for (std::size_t b = 0; b < show; ++b) {
        double dot = 0, na = 0, nb = 0;
        for (std::size_t i = 0; i < D; ++i)
          dot += dec(latent_of[a], i) * truth(b, i), na += dec(latent_of[a], i) * dec(latent_of[a], i),
              nb += truth(b, i) * truth(b, i);
        img(a, b) = static_cast<float>(std::abs(dot) / std::sqrt(na * nb));
      }
    }
    write_png(o.out + "/topk-cosines.png", img);
  }
  if (o.frontier) {
    xt::xtensor<float, 2> pts = xt::xtensor<float, 2>::from_shape({8, 2});
    xt::xtensor<std::int32_t, 1> labels = xt::xtensor<std::int32_t, 1>::from_shape({8});
    const std::pair<double, double> sweep[4] = {frontier_point<2>(o, train, test), frontier_point<4>(o, train, test),
                                                frontier_point<16>(o, train, test), frontier_point<32>(o, train, test)};
    for (std::size_t i = 0; i < 4; ++i) pts(i, 0) = static_cast<float>(sweep[i].first), pts(i, 1) = static_cast<float>(sweep[i].second), labels(i) = 0;
    for (std::size_t i = 0; i < 4; ++i)
      pts(4 + i, 0) = static_cast<float>(rows[i].l0), pts(4 + i, 1) = static_cast<float>(1 - rows[i].ev),
                 labels(4 + i) = static_cast<std::int32_t>(i == 0 ? 0 : i);
    scatter_plot(o.out + "/frontier.png", pts, labels, {"TopK (k = 2, 4, 8, 16, 32)", "BatchTopK", "JumpReLU", "ReLU + L1"},
                 "fraction of variance unexplained (y) against L0 (x)");
  }
  std::ofstream(o.out + "/results.md") << md;
  {
    std::ofstream js(o.out + "/results.json");
    js << "[";
    for (std::size_t i = 0; i < rows.size(); ++i)
      js << (i ? "," : "") << "{\"activation\":\"" << rows[i].name << "\",\"mcc\":" << rows[i].mcc << ",\"mmcs\":" << rows[i].mmcs
         << ",\"recovered\":" << rows[i].recovered << ",\"f1\":" << rows[i].f1 << ",\"l0\":" << rows[i].l0
         << ",\"explained_variance\":" << rows[i].ev << ",\"dead_fraction\":" << rows[i].dead << ",\"seconds\":" << rows[i].seconds
         << "}";
    js << "]\n";
  }
  if (!o.quiet)
    std::fprintf(stderr, "wrote %s/results.md, results.json, recovery.png, topk-cosines.png%s (%.0f s in all)\n", o.out.c_str(),
                 o.frontier ? ", frontier.png" : "",
                 std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
  return 0;
} catch (const option_error& e) {
  std::fprintf(stderr, "sae_superposition: %s\n", e.what());
  return 2;
} catch (const std::exception& e) {
  std::fprintf(stderr, "sae_superposition: %s\n", e.what());
  return 1;
}
