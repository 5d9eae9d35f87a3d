#pragma once
/// \file
/// `latent::save` and `latent::load`: models and optimiser states in latent's binary format.

#include "latent/core/error.hpp"
#include "latent/core/random.hpp"
#include "latent/io/binary_file.hpp"
#include "latent/optim/adam.hpp"
#include "latent/optim/sgd.hpp"

#include <algorithm>    // std::any_of, std::copy
#include <cmath>        // std::isfinite
#include <cstddef>      // std::size_t
#include <cstdint>      // std::uint8_t, std::uint32_t, std::uint64_t
#include <span>         // std::span
#include <string>       // std::string, std::to_string
#include <type_traits>  // std::decay_t, std::is_same_v
#include <utility>      // std::move
#include <variant>      // std::visit
#include <vector>       // std::vector

namespace latent {

namespace detail {
/// The values of a model's layers' state (0 for a model without stateful layers, or a user's model
/// type that does not say).
template <class Model>
constexpr std::size_t model_state_size() {
  if constexpr (requires { Model::state_size; })
    return Model::state_size;
  else
    return 0;
}

template <class Model>
std::string model_bytes(const Model& model) {
  using T = typename Model::scalar_type;
  byte_writer w;
  w.put_string(Model::architecture());
  w.put(static_cast<std::uint32_t>(sizeof(T)));
  w.put_array(model.parameters().data(), model.parameters().size());
  w.put(model.noise_state());  // field by field: the same model always gives the same bytes
  w.put(static_cast<std::uint64_t>(model.training_steps()));
  // The layers' state (BatchNorm's running statistics) after the rest, only for a model that has
  // some: files of models without stateful layers keep their layout.
  if constexpr (model_state_size<Model>() > 0) w.put_array(model.state().data(), model.state().size());
  return w.bytes();
}

// Refuses NaN and Inf among `values` (a parameter or a moment that no finite training produces).
template <class T>
void check_finite(const std::vector<T>& values, const std::string& what, const char* name) {
  for (std::size_t i = 0; i < values.size(); ++i)
    if (!std::isfinite(values[i]))
      throw format_error(what + ": expected finite " + name + ", found " + std::to_string(values[i]) + " at index " +
                         std::to_string(i));
}

// Parses and checks a model section completely, then (only then) changes the model.
template <class Model>
void restore_model(Model& model, const std::string& bytes, const std::string& path) {
  using T = typename Model::scalar_type;
  const std::string what = "load: " + path;
  byte_reader r(bytes, what);
  const std::string arch = r.get_string();
  if (arch != Model::architecture())
    throw format_error(what + " holds the architecture " + escape_bytes(arch, 4096) + ", but the model is " +
                       Model::architecture());
  const auto size = r.get<std::uint32_t>();
  if (size != sizeof(T))
    throw format_error(what + ": expected " + std::to_string(sizeof(T)) + "-byte scalars, found " +
                       std::to_string(size) + "-byte");
  const std::vector<T> params = r.get_array<T>(Model::param_count);
  check_finite(params, what, "parameters");
  const auto noise = r.get<Rng::State>();
  const auto steps = r.get<std::uint64_t>();
  std::vector<T> state;
  if constexpr (model_state_size<Model>() > 0) {
    state = r.get_array<T>(model_state_size<Model>());
    check_finite(state, what, "state values");
  }
  r.expect_end();
  std::copy(params.begin(), params.end(), model.parameters().begin());
  if constexpr (model_state_size<Model>() > 0) std::copy(state.begin(), state.end(), model.state().begin());
  model.set_noise_state(noise);
  model.set_training_steps(static_cast<std::size_t>(steps));
}

template <class T>
void put_optional_array(byte_writer& w, std::span<const T> a) {
  w.put_array(a.data(), a.size());
}

// The optimiser section begins with the optimiser's name and, from layout 2 on, "/<layout>": layout 1
// ("Adam", "SGD") lacked the clip norm and Nesterov's flag; it still loads, with clipping off and
// Nesterov off (what such a file's optimiser could not have recorded). Layout 3 adds, after the
// fields of layout 2, the weight decay, whether biases decay, and the learning-rate schedule with its
// state; layouts 1 and 2 load with neither (what their optimisers had).
inline constexpr std::uint32_t optimizer_layout = 3;

// The weight decay and the schedule (layout 3): λ, the bias flag, the schedule's index, its fields
// as doubles, and the plateau's state.
inline void put_decay_and_schedule(byte_writer& w, const detail::optimizer_common& opt) {
  w.put(opt.weight_decay());
  w.put(static_cast<std::uint8_t>(opt.decays_biases() ? 1 : 0));
  const Schedule& s = opt.schedule();
  w.put(static_cast<std::uint32_t>(s.kind().index()));
  std::visit(
      [&](const auto& k) {
        using K = std::decay_t<decltype(k)>;
        if constexpr (std::is_same_v<K, StepDecay>) {
          w.put(static_cast<std::uint64_t>(k.every));
          w.put(k.factor);
        } else if constexpr (std::is_same_v<K, ExponentialDecay>) {
          w.put(static_cast<std::uint64_t>(k.steps));
          w.put(k.rate);
          w.put(static_cast<std::uint8_t>(k.staircase ? 1 : 0));
        } else if constexpr (std::is_same_v<K, CosineDecay>) {
          w.put(static_cast<std::uint64_t>(k.steps));
          w.put(static_cast<std::uint64_t>(k.warmup));
          w.put(k.min_lr);
        } else if constexpr (std::is_same_v<K, ReduceLROnPlateau>) {
          w.put(k.factor);
          w.put(static_cast<std::uint64_t>(k.patience));
          w.put(k.min_delta);
          w.put(static_cast<std::uint64_t>(k.cooldown));
          w.put(k.min_lr);
        }
      },
      s.kind());
  const Schedule::State st = s.state();
  w.put(st.scale);
  w.put(st.best);
  w.put(static_cast<std::uint64_t>(st.wait));
  w.put(static_cast<std::uint64_t>(st.cooldown_left));
}

struct decay_and_schedule {
  double weight_decay = 0;
  bool decay_biases = true;
  Schedule schedule{};
};

// Reads what `put_decay_and_schedule` wrote; a schedule the constructors refuse is a corrupt file.
inline decay_and_schedule get_decay_and_schedule(byte_reader& r) {
  decay_and_schedule d;
  d.weight_decay = r.get<double>();
  d.decay_biases = r.get_flag("the bias-decay flag");
  const auto kind = r.get<std::uint32_t>();
  const auto count = [&] { return static_cast<std::size_t>(r.get<std::uint64_t>()); };
  try {
    switch (kind) {
      case 0: break;
      case 1: {
        StepDecay k;
        k.every = count();
        k.factor = r.get<double>();
        d.schedule = k;
        break;
      }
      case 2: {
        ExponentialDecay k;
        k.steps = count();
        k.rate = r.get<double>();
        k.staircase = r.get_flag("the staircase flag");
        d.schedule = k;
        break;
      }
      case 3: {
        CosineDecay k;
        k.steps = count();
        k.warmup = count();
        k.min_lr = r.get<double>();
        d.schedule = k;
        break;
      }
      case 4: {
        ReduceLROnPlateau k;
        k.factor = r.get<double>();
        k.patience = count();
        k.min_delta = r.get<double>();
        k.cooldown = count();
        k.min_lr = r.get<double>();
        d.schedule = k;
        break;
      }
      default:
        throw format_error(r.what() + ": expected a learning-rate schedule of kind 0 to 4, found " +
                           std::to_string(kind));
    }
  } catch (const option_error& e) {
    std::string why = e.what();
    if (why.rfind("latent: ", 0) == 0) why.erase(0, 8);
    throw format_error(r.what() + ": " + why);
  }
  Schedule::State st;
  st.scale = r.get<double>();
  st.best = r.get<double>();
  st.wait = count();
  st.cooldown_left = count();
  if (!(st.scale > 0 && st.scale <= 1) || std::isnan(st.best))
    throw format_error(r.what() + ": expected a schedule scale in (0, 1] and a best loss that is a number, found " +
                       std::to_string(st.scale) + " and " + std::to_string(st.best));
  d.schedule.set_state(st);
  return d;
}

// Gives a restored optimiser the weight decay and schedule read from its section.
template <class Opt>
void set_decay_and_schedule(Opt& opt, const decay_and_schedule& d, const byte_reader& r) {
  if (!(d.weight_decay >= 0) || !std::isfinite(d.weight_decay))
    throw format_error(r.what() + ": expected a finite weight decay >= 0, found " + std::to_string(d.weight_decay));
  opt.set_weight_decay(d.weight_decay, d.decay_biases);
  opt.set_schedule(d.schedule);
}

inline std::string optimizer_bytes(const Adam& opt) {
  byte_writer w;
  w.put_string("Adam/" + std::to_string(optimizer_layout));
  w.put(opt.learning_rate());
  w.put(opt.beta1());
  w.put(opt.beta2());
  w.put(opt.epsilon());
  w.put(opt.clip_norm());
  w.put(static_cast<std::uint64_t>(opt.iterations()));
  put_optional_array(w, opt.state<float>(0));
  put_optional_array(w, opt.state<float>(1));
  put_optional_array(w, opt.state<double>(0));
  put_optional_array(w, opt.state<double>(1));
  put_decay_and_schedule(w, opt);
  return w.bytes();
}

inline std::string optimizer_bytes(const SGD& opt) {
  byte_writer w;
  w.put_string("SGD/" + std::to_string(optimizer_layout));
  w.put(opt.learning_rate());
  w.put(opt.momentum());
  w.put(opt.clip_norm());
  w.put(static_cast<std::uint8_t>(opt.nesterov() ? 1 : 0));
  w.put(static_cast<std::uint64_t>(opt.iterations()));
  put_optional_array(w, opt.velocity_state<float>());
  put_optional_array(w, opt.velocity_state<double>());
  put_decay_and_schedule(w, opt);
  return w.bytes();
}

/// An array of any length the section holds (its length is checked before anything is allocated).
template <class T>
std::vector<T> get_any_array(byte_reader& r) {
  return r.get_any_array<T>();
}

// Reads the optimiser's name and layout; refuses another optimiser or an unknown layout.
inline std::uint32_t optimizer_layout_of(byte_reader& r, const std::string& name) {
  const std::string kind = r.get_string(256);
  const auto slash = kind.find('/');
  const std::string found = kind.substr(0, slash);
  if (found != name) throw format_error(r.what() + " holds the state of " + escape_bytes(found) + ", not of " + name);
  if (slash == std::string::npos) return 1;
  const std::string layout = kind.substr(slash + 1);
  for (std::uint32_t known = 2; known <= optimizer_layout; ++known)
    if (layout == std::to_string(known)) return known;
  throw format_error(r.what() + ": expected " + name + "'s state in layout 1 to " + std::to_string(optimizer_layout) +
                     ", found layout " + escape_bytes(layout) + " (written by a newer latent?)");
}

// Builds an optimiser from saved hyperparameters: what its constructor refuses is a corrupt file here.
template <class F>
auto build_optimizer(const byte_reader& r, F make) {
  try {
    return make();
  } catch (const option_error& e) {
    std::string why = e.what();
    if (why.rfind("latent: ", 0) == 0) why.erase(0, 8);
    throw format_error(r.what() + ": " + why);
  }
}

inline void restore_optimizer(Adam& opt, const std::string& bytes, const std::string& path) {
  byte_reader r(bytes, "load: " + path);
  const std::uint32_t layout = optimizer_layout_of(r, "Adam");
  const auto lr = r.get<double>(), b1 = r.get<double>(), b2 = r.get<double>(), eps = r.get<double>();
  const double clip = layout >= 2 ? r.get<double>() : 0.0;
  const auto t = r.get<std::uint64_t>();
  auto mf = get_any_array<float>(r), vf = get_any_array<float>(r);
  auto md = get_any_array<double>(r), vd = get_any_array<double>(r);
  const decay_and_schedule extra = layout >= 3 ? get_decay_and_schedule(r) : decay_and_schedule{};
  r.expect_end();
  if (mf.size() != vf.size() || md.size() != vd.size())
    throw format_error(r.what() + ": expected Adam's two moment estimates of one size, found " +
                       std::to_string(mf.size() + md.size()) + " and " + std::to_string(vf.size() + vd.size()) +
                       " values");
  check_finite(mf, r.what(), "first moments");
  check_finite(md, r.what(), "first moments");
  check_finite(vf, r.what(), "second moments");
  check_finite(vd, r.what(), "second moments");
  auto negative = [](const auto& v) { return std::any_of(v.begin(), v.end(), [](auto x) { return x < 0; }); };
  if (negative(vf) || negative(vd))
    throw format_error(r.what() + ": expected second moments >= 0 (means of squares), found a negative one");
  Adam restored = build_optimizer(r, [&] {
    Adam a(lr, b1, b2, eps);
    a.set_clip_norm(clip);
    set_decay_and_schedule(a, extra, r);
    return a;
  });
  restored.restore(static_cast<std::size_t>(t), std::span<const float>(mf), std::span<const float>(vf),
                   std::span<const double>(md), std::span<const double>(vd));
  opt = std::move(restored);
}

inline void restore_optimizer(SGD& opt, const std::string& bytes, const std::string& path) {
  byte_reader r(bytes, "load: " + path);
  const std::uint32_t layout = optimizer_layout_of(r, "SGD");
  const auto lr = r.get<double>(), momentum = r.get<double>();
  const double clip = layout >= 2 ? r.get<double>() : 0.0;
  const bool nesterov = layout >= 2 ? r.get_flag("Nesterov's flag") : false;
  const auto t = r.get<std::uint64_t>();
  auto uf = get_any_array<float>(r);
  auto ud = get_any_array<double>(r);
  const decay_and_schedule extra = layout >= 3 ? get_decay_and_schedule(r) : decay_and_schedule{};
  r.expect_end();
  check_finite(uf, r.what(), "velocities");
  check_finite(ud, r.what(), "velocities");
  SGD restored = build_optimizer(r, [&] {
    SGD s(lr, momentum, nesterov);
    s.set_clip_norm(clip);
    set_decay_and_schedule(s, extra, r);
    return s;
  });
  restored.restore(static_cast<std::size_t>(t), std::span<const float>(uf), std::span<const double>(ud));
  opt = std::move(restored);
}

template <class X>
concept saved_optimizer = requires(const X& o) { optimizer_bytes(o); };
}  // namespace detail

/// Saves a model's architecture (derived from its type), scalar type, parameters, training-noise
/// state and step count to `path`, atomically (see `detail::write_file_atomically`: a temporary file
/// unique to this writer, synced, then renamed; through a symbolic link to its target): a crash, a
/// full disk or a concurrent writer never leaves a half-written file, and a failed save leaves the
/// old file as it was. The same model always gives the same bytes. Throws `io_error` with the
/// system's reason (a missing directory, a full disk, ...). Format: see io/binary_file.hpp.
/// Example: examples/compare.cpp.
template <class Model>
  requires requires { Model::architecture(); }
void save(const Model& model, const std::string& path) {
  detail::write_sections(path, {{detail::model_section, detail::model_bytes(model)}});
}

/// Loads parameters saved by `save` (or the model part of a checkpoint) into `model`. Throws
/// `io_error` if the file cannot be opened or read or is a directory; `format_error` if it is not a
/// latent file, is truncated or corrupted (checksum), holds another architecture (the message names
/// both) or scalar type, or any field is invalid (a NaN or Inf parameter, a generator flag other than
/// 0 or 1, bytes left over in a section, a repeated or unknown section). Lengths are checked against
/// the file's size before anything is allocated. On any failure the model is unchanged.
template <class Model>
  requires requires { Model::architecture(); }
void load(Model& model, const std::string& path) {
  const auto sections = detail::read_sections(path);
  const auto it = sections.find(detail::model_section);
  if (it == sections.end()) throw format_error("load: " + path + " holds no model");
  detail::restore_model(model, it->second, path);
}

/// Saves everything an optimiser's behaviour depends on, atomically (as the model's `save`): Adam's
/// learning rate, β1, β2, ε, clip norm, step count and moments; SGD's learning rate, momentum,
/// Nesterov flag, clip norm, step count and velocity.
template <class Opt>
  requires detail::saved_optimizer<Opt>
void save(const Opt& opt, const std::string& path) {
  detail::write_sections(path, {{detail::optimizer_section, detail::optimizer_bytes(opt)}});
}

/// Loads an optimiser state saved by `save` (or from a checkpoint), replacing all of `opt`'s
/// settings; a file of the first layout (before the clip norm and Nesterov's flag were saved) loads
/// with clipping and Nesterov off. Errors as the model's `load` (a hyperparameter the constructor
/// would refuse, NaN moments or a negative second moment are `format_error`); on failure `opt` is
/// unchanged.
template <class Opt>
  requires detail::saved_optimizer<Opt>
void load(Opt& opt, const std::string& path) {
  const auto sections = detail::read_sections(path);
  const auto it = sections.find(detail::optimizer_section);
  if (it == sections.end()) throw format_error("load: " + path + " holds no optimiser state");
  detail::restore_optimizer(opt, it->second, path);
}

/// What a latent file holds, read without a model (`inspect`): enough for a tool to decide which type
/// to instantiate before it calls `load`.
struct FileInfo {
  bool has_model = false;      ///< a model section (written by `save(model)` or a checkpoint)
  std::string architecture;    ///< the model's type, e.g. "VAE<Seq<Dense<784,400,Relu>,Gaussian<20>>,...,float>"
  std::string scalar_type;     ///< "float" or "double"
  std::size_t parameters = 0;  ///< the model's parameter count
  std::size_t training_steps = 0;
  std::size_t state_values = 0;  ///< values of the layers' state (BatchNorm's running statistics), 0 without
  std::string optimizer;  ///< "Adam", "SGD", or empty without an optimiser section
  std::size_t optimizer_steps = 0;
  bool is_checkpoint = false;   ///< written by `fit` with `FitOptions::checkpoint`
  std::size_t epochs_done = 0;  ///< a checkpoint's epoch
};

/// Reads `path`'s architecture, scalar type and sizes (the whole file is read and its checksum
/// checked, as by `load`, but nothing is restored). Throws as `load` does: `io_error` if it cannot be
/// read, `format_error` if it is not a well-formed latent file.
inline FileInfo inspect(const std::string& path) {
  const auto sections = detail::read_sections(path);
  FileInfo info;
  if (const auto m = sections.find(detail::model_section); m != sections.end()) {
    detail::byte_reader r(m->second, "inspect: " + path);
    info.has_model = true;
    info.architecture = r.get_string();
    const auto size = r.get<std::uint32_t>();
    if (size != 4 && size != 8)
      throw format_error("inspect: " + path + ": expected 4- or 8-byte scalars, found " + std::to_string(size) +
                         "-byte");
    info.scalar_type = size == 4 ? "float" : "double";
    info.parameters = size == 4 ? r.get_any_array<float>().size() : r.get_any_array<double>().size();
    (void)r.get<Rng::State>();
    info.training_steps = static_cast<std::size_t>(r.get<std::uint64_t>());
    if (!r.at_end())
      info.state_values = size == 4 ? r.get_any_array<float>().size() : r.get_any_array<double>().size();
    r.expect_end();
  }
  if (const auto o = sections.find(detail::optimizer_section); o != sections.end()) {
    detail::byte_reader r(o->second, "inspect: " + path);
    const std::string kind = r.get_string(256);
    info.optimizer = kind.substr(0, kind.find('/'));
    if (info.optimizer != "Adam" && info.optimizer != "SGD")
      throw format_error("inspect: " + path + " holds the state of an unknown optimiser " + detail::escape_bytes(kind));
    const std::size_t skip = info.optimizer == "Adam" ? 4 : 2;  // the hyperparameters before the count
    const bool layout1 = kind.find('/') == std::string::npos;
    for (std::size_t i = 0; i < skip + (layout1 ? 0 : 1); ++i) (void)r.get<double>();
    if (!layout1 && info.optimizer == "SGD") (void)r.get<std::uint8_t>();
    info.optimizer_steps = static_cast<std::size_t>(r.get<std::uint64_t>());
  }
  if (const auto f = sections.find(detail::fit_section); f != sections.end()) {
    detail::byte_reader r(f->second, "inspect: " + path);
    info.is_checkpoint = true;
    info.epochs_done = static_cast<std::size_t>(r.get<std::uint64_t>());
  }
  return info;
}

}  // namespace latent
