// docs/deployment.md, docs/weights.md and docs/onnx.md, compiled and run: saving and loading, the
// Predictor, weights in and out (safetensors, .npz) and ONNX export, on small models in a scratch
// directory (a fraction of a second). tests/docs/check_docs.py checks that those pages' blocks are
// excerpts of this file.
#include <latent/inference.hpp>    // Predictor
#include <latent/interchange.hpp>  // load_weights, save_weights, read_tensors, export_onnx
#include <latent/latent.hpp>

#include <cstdint>     // std::uintmax_t
#include <cstdio>      // std::printf
#include <filesystem>  // a scratch directory for the files the examples write
#include <random>      // std::random_device: a unique scratch directory
#include <span>        // std::span
#include <string>      // std::string
#include <vector>      // std::vector

using namespace latent;

struct Encoder : Seq<Dense<100, 20, Relu>, Dense<20, 5, Sigmoid>> {};
struct Decoder : Seq<Dense<5, 20, Relu>, Dense<20, 100, Sigmoid>> {};
using Model = Autoencoder<Encoder, Decoder, MSE>;

void saving() {
  Model model(/*seed=*/42);
  Adam opt;
  const xt::xtensor<float, 2> x = xt::zeros<float>({64, 100}) + 0.5f;
  model.train_batch(x.data(), 64, opt);
  // clang-format off
  save(model, "model.latent");   // architecture, scalar type, parameters, noise state, checksum; written atomically
  load(model, "model.latent");   // throws format_error naming both architectures if they differ
  save(opt, "adam.latent");      // everything the optimiser's behaviour depends on
  load(opt, "adam.latent");
  FileInfo info = inspect("model.latent");   // without a model: architecture, scalar type, sizes
  // clang-format on
  std::printf("saving: %s, %s, %zu parameters, %zu steps\n", info.architecture.c_str(), info.scalar_type.c_str(),
              info.parameters, info.training_steps);
  try {
    Autoencoder<Encoder, Decoder, BCE> other(1);
    load(other, "model.latent");
  } catch (const format_error& e) {
    std::printf("saving: %s\n", e.what());
  }
}

void predictor() {
  Model model(/*seed=*/42);
  const std::size_t n = 8;
  std::vector<float> rows(n * Model::input_size, 0.25f), codes(n * Model::code_size), out(n * Model::input_size);
  const float* x = rows.data();
  float *z = codes.data(), *y = out.data();
  // clang-format off
  Predictor<Model> fast(model);              // packs every Dense layer's weights; buffers for 256 rows
  fast.encode(x, n, z);                      // const float* x: n × input_size → float* z: n × code_size
  fast.decode(z, n, y);                      // the likelihood's mean (probabilities for Bernoulli)
  fast.reconstruct(x, n, y);
  fast.encode(std::span<const float>(x, n * Model::input_size), std::span<float>(z, n * Model::code_size));
  // clang-format on
  // clang-format off
  Predictor<Model> wide(model, /*max_rows=*/1024);   // more rows per chunk
  xt::xtensor<float, 2> codes_of_batch = wide.encode(xt::xtensor<float, 2>(xt::zeros<float>({3, 100})));
  model.parameters()[0] += 0.5f;             // the next call sees the new version and re-packs
  wide.refresh();                            // needed only after writing through an old parameters() span
  // clang-format on
  std::printf("predictor: first code %.4f, %zu codes from the batch, %zu rows per chunk\n", z[0],
              codes_of_batch.shape()[0], wide.max_rows());
}

void weights() {
  // Files as PyTorch and Keras would write them, made here from a latent model of the same shapes.
  {
    VAE<Seq<Dense<784, 400, Relu>, Gaussian<20>>, Seq<Dense<20, 400, Relu>, Dense<400, 784>>, Bernoulli> trained(7);
    save_weights(trained, "vae.safetensors");
    save_weights(trained, "vae.npz");
    save_weights(trained, "vae_keras.npz", {.layout = weight_layout::keras});
    save_weights(trained, "sorted.safetensors",
                 {.names = {"fc1.weight", "fc1.bias", "fc21.weight", "fc21.bias", "fc22.weight", "fc22.bias",
                            "fc3.weight", "fc3.bias", "fc4.weight", "fc4.bias"}});
  }
  // clang-format off
  struct Encoder : Seq<Dense<784, 400, Relu>, Gaussian<20>> {};
  struct Decoder : Seq<Dense<20, 400, Relu>, Dense<400, 784>> {};
  VAE<Encoder, Decoder, Bernoulli> model;                       // PyTorch's examples/vae

  load_weights(model, "vae.safetensors");                       // a PyTorch state_dict
  load_weights(model, "vae_keras.npz", {.layout = weight_layout::keras});   // Keras's get_weights()
  save_weights(model, "trained.safetensors");                   // opens in PyTorch
  std::vector<NamedTensor> t = read_tensors("vae.npz");         // names, shapes, values, dtype
  // clang-format on
  // clang-format off
  load_weights(model, "sorted.safetensors",                     // tensors taken by name, in the model's order
               {.names = {"fc1.weight", "fc1.bias", "fc21.weight", "fc21.bias", "fc22.weight", "fc22.bias",
                          "fc3.weight", "fc3.bias", "fc4.weight", "fc4.bias"}});
  std::vector<WeightSlot> slots = weight_slots<decltype(model)>(weight_layout::pytorch);   // what it expects
  std::vector<NamedTensor> tensors = weight_tensors(model);     // the same without a file
  assign_weights(model, tensors);
  // clang-format on
  std::printf("weights: %zu tensors in vae.npz, the first '%s'; the model expects %zu, the first %s\n", t.size(),
              t[0].name.c_str(), slots.size(), slots[0].layer.c_str());
  // clang-format off
  export_onnx(model, "vae.onnx");                          // x → mu, log_var, mean
  export_onnx(model, "encoder.onnx", onnx_part::encoder);  // x → mu, log_var
  export_onnx(model, "decoder.onnx", onnx_part::decoder);  // z → mean
  // clang-format on
  std::printf("onnx: vae.onnx %ju bytes\n", static_cast<std::uintmax_t>(std::filesystem::file_size("vae.onnx")));
}

void layers() {
  // clang-format off
  for_each_layer<Model>([](auto slot) {    // every leaf layer, the encoder's first, in the order of parameters()
    using L = typename decltype(slot)::layer;
    std::printf("%s layer %zu: %zu parameters from %zu\n", slot.part == model_part::encoder ? "encoder" : "decoder",
                slot.index_in_part, L::param_count, slot.offset);
  });
  // clang-format on
}

int main() {
  const std::filesystem::path dir =
      std::filesystem::temp_directory_path() / ("latent-docs-deployment-" + std::to_string(std::random_device{}()));
  std::filesystem::create_directories(dir);
  const std::filesystem::path home = std::filesystem::current_path();
  std::filesystem::current_path(dir);
  saving();
  predictor();
  weights();
  layers();
  std::filesystem::current_path(home);
  std::filesystem::remove_all(dir);
  return 0;
}
