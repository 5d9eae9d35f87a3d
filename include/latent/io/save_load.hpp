#pragma once
/// \file
/// `latent::save` and `latent::load`: models and optimiser states in latent's binary format.

#include "latent/core/error.hpp"
#include "latent/core/random.hpp"
#include "latent/io/binary_file.hpp"
#include "latent/optim/adam.hpp"
#include "latent/optim/sgd.hpp"

#include <cstdint>  // std::uint32_t, std::uint64_t
#include <cstring>  // std::memcpy
#include <span>     // std::span
#include <utility>  // std::move
#include <map>      // std::map
#include <string>   // std::string
#include <vector>   // std::vector

namespace latent {

namespace detail {
template <class Model>
std::string model_bytes(const Model& model) {
  using T = typename Model::scalar_type;
  byte_writer w;
  w.put_string(Model::architecture());
  w.put(static_cast<std::uint32_t>(sizeof(T)));
  w.put_array(model.parameters().data(), model.parameters().size());
  const Rng::State noise = model.noise_state();
  w.put(noise);
  w.put(static_cast<std::uint64_t>(model.training_steps()));
  return w.bytes();
}

// Parses and checks a model section completely, then (only then) changes the model.
template <class Model>
void restore_model(Model& model, const std::string& bytes, const std::string& path) {
  using T = typename Model::scalar_type;
  byte_reader r(bytes, "load: " + path);
  const std::string arch = r.get_string();
  if (arch != Model::architecture())
    throw format_error("load: " + path + " holds the architecture " + arch + ", but the model is " +
                       Model::architecture());
  const auto size = r.get<std::uint32_t>();
  if (size != sizeof(T))
    throw format_error("load: " + path + ": expected " + std::to_string(sizeof(T)) + "-byte scalars, found " +
                       std::to_string(size) + "-byte");
  const std::vector<T> params = r.get_array<T>(Model::param_count);
  const auto noise = r.get<Rng::State>();
  const auto steps = r.get<std::uint64_t>();
  std::copy(params.begin(), params.end(), model.parameters().begin());
  model.set_noise_state(noise);
  model.set_training_steps(static_cast<std::size_t>(steps));
}

template <class T>
void put_optional_array(byte_writer& w, std::span<const T> a) {
  w.put_array(a.data(), a.size());
}

inline std::string optimizer_bytes(const Adam& opt) {
  byte_writer w;
  w.put_string("Adam");
  w.put(opt.learning_rate());
  w.put(opt.beta1());
  w.put(opt.beta2());
  w.put(opt.epsilon());
  w.put(static_cast<std::uint64_t>(opt.iterations()));
  put_optional_array(w, opt.state<float>(0));
  put_optional_array(w, opt.state<float>(1));
  put_optional_array(w, opt.state<double>(0));
  put_optional_array(w, opt.state<double>(1));
  return w.bytes();
}

inline std::string optimizer_bytes(const SGD& opt) {
  byte_writer w;
  w.put_string("SGD");
  w.put(opt.learning_rate());
  w.put(opt.momentum());
  w.put(static_cast<std::uint64_t>(opt.iterations()));
  put_optional_array(w, opt.velocity_state<float>());
  put_optional_array(w, opt.velocity_state<double>());
  return w.bytes();
}

template <class T>
std::vector<T> get_any_array(byte_reader& r) {
  const auto n = r.get<std::uint64_t>();
  if (n > (std::uint64_t{1} << 34)) throw format_error("load: an optimiser state of " + std::to_string(n) + " values is implausible");
  std::vector<T> v;
  // Read through the checked reader one block at a time: a lying count cannot allocate beyond the file.
  const std::string bytes = r.get_bytes(n * sizeof(T));
  v.resize(n);
  if (n != 0) std::memcpy(v.data(), bytes.data(), bytes.size());
  return v;
}

inline void restore_optimizer(Adam& opt, const std::string& bytes, const std::string& path) {
  byte_reader r(bytes, "load: " + path);
  const std::string kind = r.get_string();
  if (kind != "Adam") throw format_error("load: " + path + " holds the state of " + kind + ", not of Adam");
  const auto lr = r.get<double>(), b1 = r.get<double>(), b2 = r.get<double>(), eps = r.get<double>();
  const auto t = r.get<std::uint64_t>();
  auto mf = get_any_array<float>(r), vf = get_any_array<float>(r);
  auto md = get_any_array<double>(r), vd = get_any_array<double>(r);
  if (mf.size() != vf.size() || md.size() != vd.size())
    throw format_error("load: " + path + ": Adam's two moment estimates differ in size");
  Adam restored(lr, b1, b2, eps);
  restored.restore(static_cast<std::size_t>(t), std::span<const float>(mf), std::span<const float>(vf),
                   std::span<const double>(md), std::span<const double>(vd));
  opt = std::move(restored);
}

inline void restore_optimizer(SGD& opt, const std::string& bytes, const std::string& path) {
  byte_reader r(bytes, "load: " + path);
  const std::string kind = r.get_string();
  if (kind != "SGD") throw format_error("load: " + path + " holds the state of " + kind + ", not of SGD");
  const auto lr = r.get<double>(), momentum = r.get<double>();
  const auto t = r.get<std::uint64_t>();
  auto uf = get_any_array<float>(r);
  auto ud = get_any_array<double>(r);
  SGD restored(lr, momentum, opt.nesterov());
  restored.restore(static_cast<std::size_t>(t), std::span<const float>(uf), std::span<const double>(ud));
  opt = std::move(restored);
}

template <class X>
concept saved_optimizer = requires(const X& o) { optimizer_bytes(o); };
}  // namespace detail

/// Saves a model's architecture (derived from its type), scalar type, parameters and training-noise
/// state to `path`, atomically (a temporary file, synced, then renamed): a crash never leaves a
/// half-written file. Format: see io/binary_file.hpp. Example: examples/compare.cpp.
template <class Model>
  requires requires { Model::architecture(); }
void save(const Model& model, const std::string& path) {
  detail::write_sections(path, {{detail::model_section, detail::model_bytes(model)}});
}

/// Loads parameters saved by `save` (or the model part of a checkpoint) into `model`. Throws
/// `io_error` if the file cannot be read, `format_error` if it is not a latent file, is truncated or
/// corrupted (checksum), or holds another architecture (the message names both). On any failure the
/// model keeps its parameters.
template <class Model>
  requires requires { Model::architecture(); }
void load(Model& model, const std::string& path) {
  const auto sections = detail::read_sections(path);
  const auto it = sections.find(detail::model_section);
  if (it == sections.end()) throw format_error("load: " + path + " holds no model");
  detail::restore_model(model, it->second, path);
}

/// Saves an optimiser's hyperparameters, step count and moment/velocity state, atomically.
template <class Opt>
  requires detail::saved_optimizer<Opt>
void save(const Opt& opt, const std::string& path) {
  detail::write_sections(path, {{detail::optimizer_section, detail::optimizer_bytes(opt)}});
}

/// Loads an optimiser state saved by `save` (or from a checkpoint); on failure `opt` is unchanged.
template <class Opt>
  requires detail::saved_optimizer<Opt>
void load(Opt& opt, const std::string& path) {
  const auto sections = detail::read_sections(path);
  const auto it = sections.find(detail::optimizer_section);
  if (it == sections.end()) throw format_error("load: " + path + " holds no optimiser state");
  detail::restore_optimizer(opt, it->second, path);
}

}  // namespace latent
