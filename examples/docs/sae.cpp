// docs/sparse-dictionaries.md, compiled and run: a sparse dictionary on synthetic activations written to
// .npy shards in a scratch directory, streamed by fit, judged, and written in SAELens's format (about a
// second). tests/docs/check_docs.py checks that the page's blocks are excerpts of this file.
#include <latent/latent.hpp>
#include <latent/sae.hpp>  // SparseDictionary, NpyShards, SyntheticActivations, evaluate_sae, save_saelens, ...

#include <cstdio>      // std::printf
#include <filesystem>  // a scratch directory for the files the example writes
#include <random>      // std::random_device: a unique scratch directory
#include <string>      // std::string

#include <xtensor/xadapt.hpp>  // xt::adapt: the atoms, viewed in the parameters
#include <xtensor/xview.hpp>   // xt::view

#include <array>  // std::array: the atoms' shape

using namespace latent;

// The program at its full size (768 inputs, 16 384 latents, batches of 4 096): compiled, not run
// (a step takes about half a second on one core; the shards are not on this machine).
void full_size() {
  // clang-format off
  using Sae = SparseDictionary<768, 16384, TopK<32>>;         // inputs, latents, activation
  Sae sae(/*seed=*/1);                                         // 25 M parameters, allocated once
  NpyShards acts("acts/*.npy", {.shuffle_buffer_rows = 1 << 18});   // N × 768 float32, streamed from disk
  Adam opt(2e-4);
  fit(sae, acts, opt, {.epochs = 1, .batch_size = 4096});
  NpyShards held_out("acts_test/*.npy");
  SaeReport r = evaluate_sae(sae, held_out);                  // L0, explained variance, dead latents, ...
  save_saelens(sae, "out/");                                   // cfg.json + sae_weights.safetensors
  // clang-format on
  std::printf("L0 %.1f\n", r.l0);
}

int main() {
  const std::filesystem::path dir = std::filesystem::temp_directory_path() / ("latent-docs-sae-" + std::to_string(std::random_device{}()));
  std::filesystem::create_directories(dir);
  const std::string out = dir.string();

  // clang-format off
  SyntheticActivations gen({.dims = 32, .features = 64, .max_probability = 0.1, .magnitude_std = 0.2, .seed = 3});
  for (int shard = 0; shard < 4; ++shard)                      // 4 files of 5 000 rows
    save_npy(out + "/acts" + std::to_string(shard) + ".npy", gen.sample(5000, shard).x);
  SyntheticSample test = gen.sample(2000, 99);                 // rows, and which true features fire in each

  SparseDictionary<32, 64, TopK<4>> sae(/*seed=*/1, {.dead_after_tokens = 5000});
  NpyShards acts(out + "/acts*.npy", {.shuffle_buffer_rows = 8192, .seed = 1});
  Adam opt(3e-3);
  History h = fit(sae, acts, opt, {.epochs = 10, .batch_size = 256, .progress = Progress::quiet}, test.x);
  // clang-format on

  // clang-format off
  SaeReport r = evaluate_sae(sae, test.x);                     // without the truth
  xt::xtensor<float, 2> atoms = xt::view(xt::adapt(sae.parameters().data() + sae.decoder_weights_at,
                                                    std::array<std::size_t, 2>{64, 32}), xt::all(), xt::all());
  DictionaryMatch m = match_dictionary(atoms, gen.features());   // against the truth: MCC, MMCS, recovered
  LatentClassification c = classify_latents(m, sae.encode(test.x), test.activations);   // per-latent F1
  std::printf("L0 %.2f, explained variance %.3f, dead %zu; MCC %.3f, MMCS %.3f, F1 %.3f\n", r.l0,
              r.explained_variance, r.dead_in_sample, m.mcc, m.mmcs_abs, c.mean_f1);
  // clang-format on

  // clang-format off
  save_saelens(sae, out + "/sae");                             // SAELens's folder: cfg.json, sae_weights.safetensors
  SparseDictionary<32, 64, TopK<4>> back;
  load_saelens(back, out + "/sae");                            // all or nothing; the counters restart at 0
  // clang-format on

  std::filesystem::remove_all(dir);
  if (!(m.mcc > 0.7) || h.loss.empty() || !(r.explained_variance > 0.8)) {
    std::printf("expected a dictionary that recovers the features\n");
    return 1;
  }
  (void)full_size;
  return 0;
}
