#pragma once
/// \file
/// SAELens's folder of a sparse autoencoder, at the level of files: `write_saelens_folder`,
/// `read_saelens_folder` (and `saelens_config_json` / `parse_saelens_config` for `cfg.json` alone),
/// `read_gemma_scope_npz` for Gemma Scope's `params.npz`, and two conversions SAELens itself makes
/// (`fold_decoder_norms`, `saelens_jumprelu_from_batchtopk`). No model type is involved: the SAE model's
/// `save_saelens` / `load_saelens` map its parameters onto `SaeLensTensors`. See docs/saelens.md.
///
/// A folder holds `cfg.json` and `sae_weights.safetensors` (SAELens's `SAE.save_model`,
/// sae_lens/saes/sae.py; the names from sae_lens/constants.py). The weights, row-major:
///
/// | tensor | shape | which SAEs |
/// |---|---|---|
/// | `W_enc` | [d_in, d_sae] | all (x @ W_enc: one column a latent) |
/// | `W_dec` | [d_sae, d_in] | all (one row a latent's direction) |
/// | `b_enc` | [d_sae] | all |
/// | `b_dec` | [d_in] | all |
/// | `threshold` | [d_sae] | jumprelu (SAELens 4.1.0–4.3.2 wrote `log_threshold`, read as exp) |
/// | `topk_threshold` | [] (F64) | batchtopk (a training checkpoint: SAELens's inference export is jumprelu) |
///
/// SAELens computes (sae_lens/saes/*_sae.py), for an input x:
/// h = (x − b_dec·[apply_b_dec_to_input]) @ W_enc + b_enc, then standard: relu(h); topk: the k largest
/// of h per row, relu'd, the rest 0; jumprelu: relu(h)·[h > threshold]; batchtopk: the k·B largest of
/// relu(h) over a batch of B rows in training, relu(h)·[h > topk_threshold] at inference; and
/// x̂ = acts @ W_dec + b_dec. With `rescale_acts_by_decoder_norm` (topk, batchtopk) h is multiplied by
/// each latent's ‖W_dec row‖ before the selection and the activations divided by it before decoding
/// (`fold_decoder_norms` removes that). `normalize_activations` other than "none" rescales x at run
/// time (SAELens's SAE._setup_activation_normalization).
///
/// Reading is strict and all or nothing: `cfg.json` is parsed by latent's JSON reader
/// (io/json.hpp); every key latent uses is checked (a missing one, a value of the wrong type or out of
/// range, an architecture other than these four); the tensors must be exactly those the architecture
/// has, floating-point (F32, F16, BF16, F64: converted to float; F64 beyond float's range refused),
/// finite, with the shapes d_in and d_sae give. Errors are `format_error`s (`io_error` for a file
/// that cannot be read) that name the file, the key or the tensor, and both shapes; every mismatch
/// of the weights file is listed in one message. Nothing is returned unless everything checks.

#include "latent/core/error.hpp"
#include "latent/io/atomic_file.hpp"
#include "latent/io/json.hpp"
#include "latent/io/named_tensor.hpp"
#include "latent/io/npz.hpp"
#include "latent/io/safetensors.hpp"

#include <cmath>         // std::exp, std::isfinite, std::sqrt
#include <cstddef>       // std::size_t
#include <cstdint>       // std::int64_t, std::uint64_t
#include <cstdio>        // std::snprintf: numbers in messages
#include <filesystem>    // std::filesystem::create_directories, is_directory
#include <limits>        // std::numeric_limits: float's range
#include <map>           // std::map: the keys latent does not interpret
#include <optional>      // std::optional
#include <string>        // std::string
#include <string_view>   // std::string_view
#include <system_error>  // std::error_code
#include <utility>       // std::pair, std::move
#include <vector>        // std::vector

namespace latent {

/// The SAE architectures latent reads and writes, as SAELens names them in `cfg.json`'s
/// "architecture" (sae_lens/__init__.py registers them). SAELens's "gated", "matryoshka_batchtopk"
/// and transcoders are not among them.
enum class sae_architecture { standard, topk, batchtopk, jumprelu };

/// SAELens's name of `a`: "standard", "topk", "batchtopk" or "jumprelu".
inline constexpr std::string_view saelens_name(sae_architecture a) noexcept {
  switch (a) {
    case sae_architecture::standard: return "standard";
    case sae_architecture::topk: return "topk";
    case sae_architecture::batchtopk: return "batchtopk";
    case sae_architecture::jumprelu: return "jumprelu";
  }
  return "standard";
}

/// The architecture SAELens calls `name`, or nullopt for any other name.
inline std::optional<sae_architecture> sae_architecture_from_saelens(std::string_view name) noexcept {
  for (const auto a :
       {sae_architecture::standard, sae_architecture::topk, sae_architecture::batchtopk, sae_architecture::jumprelu})
    if (saelens_name(a) == name) return a;
  return std::nullopt;
}

/// The settings of `cfg.json` (SAELens's SAEConfig and its subclasses), with SAELens's defaults.
/// The keys latent does not interpret keep their JSON text (compact, numbers as written) in
/// `metadata` (members of cfg.json's "metadata" object: model_name, sae_lens_version, ...) and
/// `extra` (other top-level keys, e.g. training settings), so that they survive a read and a write.
struct SaeLensConfig {
  std::size_t d_in = 0;   ///< input width (required)
  std::size_t d_sae = 0;  ///< number of latents (required)
  sae_architecture architecture = sae_architecture::standard;
  /// topk: active latents per row, 1 ≤ k ≤ d_sae; batchtopk: per row on average over a batch
  /// (SAELens allows a fractional k there; latent reads whole ones only). Unused otherwise.
  std::size_t k = 0;
  /// topk, batchtopk: h is scaled by each latent's decoder norm before the selection (see the file's
  /// comment). A file without the key: false for topk (SAELens's TopKSAEConfig), true for batchtopk
  /// (its BatchTopKTrainingSAEConfig, the only class that reads batchtopk).
  bool rescale_acts_by_decoder_norm = false;
  bool apply_b_dec_to_input = true;  ///< subtract b_dec from the input before encoding
  /// "none", "expected_average_only_in", "constant_norm_rescale" or "layer_norm" (run-time scalings of x)
  std::string normalize_activations = "none";
  /// "none" or "hook_z" (attention heads flattened into d_in: nothing to do on flat rows)
  std::string reshape_activations = "none";
  /// What SAELens converts the weights to: float32, float64, float16, bfloat16 (or "torch.float32", ...)
  std::string dtype = "float32";
  std::string device = "cpu";  ///< where SAELens puts them
  /// metadata.hook_name: where the activations come from; empty when absent or null
  std::string hook_name;
  std::map<std::string, std::string> metadata;  ///< other members of "metadata", as JSON text
  std::map<std::string, std::string> extra;     ///< other top-level keys, as JSON text
};

/// The weights of an SAE, row-major, as SAELens stores them.
struct SaeLensTensors {
  std::size_t d_in = 0, d_sae = 0;
  std::vector<float> W_enc;      ///< d_in × d_sae
  std::vector<float> W_dec;      ///< d_sae × d_in
  std::vector<float> b_enc;      ///< d_sae
  std::vector<float> b_dec;      ///< d_in
  std::vector<float> threshold;  ///< d_sae for jumprelu, empty otherwise
  double topk_threshold = 0;     ///< batchtopk only: the running threshold (SAELens keeps it in double)
};

namespace detail {

inline constexpr std::string_view saelens_cfg_file = "cfg.json";
inline constexpr std::string_view saelens_weights_file = "sae_weights.safetensors";
/// The format latent writes: SAELens reads cfg.json as its 6.x layout when metadata.sae_lens_version
/// (or a top-level sae_lens_version) is 6.0.0 or later, else as its pre-6.0 flat layout
/// (handle_config_defaulting, sae_lens/loading/pretrained_sae_loaders.py).
inline constexpr std::string_view saelens_format_version = "6.0.0";

// SAELens's DTYPE_MAP keys (sae_lens/constants.py), its normalize_activations values
// (SAEConfig.__post_init__) and reshape_activations values (SAEConfig).
inline bool saelens_dtype_known(std::string_view d) noexcept {
  for (std::string_view k : {"float32", "float64", "float16", "bfloat16", "torch.float32", "torch.float64",
                             "torch.float16", "torch.bfloat16"})
    if (d == k) return true;
  return false;
}
inline bool saelens_normalization_known(std::string_view n) noexcept {
  return n == "none" || n == "expected_average_only_in" || n == "constant_norm_rescale" || n == "layer_norm";
}
inline bool saelens_reshape_known(std::string_view r) noexcept { return r == "none" || r == "hook_z"; }
inline bool saelens_has_k(sae_architecture a) noexcept {
  return a == sae_architecture::topk || a == sae_architecture::batchtopk;
}

/// The major version of a version string such as "6.18.0" or "v5.10.7", or nullopt.
inline std::optional<long> saelens_major_version(std::string_view v) noexcept {
  if (!v.empty() && (v[0] == 'v' || v[0] == 'V')) v.remove_prefix(1);
  long major = 0;
  std::size_t i = 0;
  for (; i < v.size() && v[i] >= '0' && v[i] <= '9' && i < 9; ++i) major = major * 10 + (v[i] - '0');
  if (i == 0) return std::nullopt;
  return major;
}

/// A value as a message prints it: "nan", "inf", "1e+300", "0.25" (9 significant digits).
inline std::string number_text(double v) {
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, "%.9g", v);
  return buffer;
}

/// How a JSON value is named in a message: "null", "true", "a string \"768\"", "a number 7.5", ...
inline std::string json_found(const json::value& v) {
  if (v.type == json::kind::null || v.type == json::kind::boolean) return json::dump(v);
  return std::string(json::kind_name(v.type)) + " " + escape_bytes(json::dump(v), 40);
}

/// The metadata keys SAELens moves from the top level of a pre-6.0 cfg.json into "metadata"
/// (LLM_METADATA_KEYS, sae_lens/loading/pretrained_sae_loaders.py).
inline bool saelens_llm_metadata_key(std::string_view k) noexcept {
  for (std::string_view m :
       {"model_name", "hook_name", "model_class_name", "hook_head_index", "model_from_pretrained_kwargs", "prepend_bos",
        "exclude_special_tokens", "neuronpedia_id", "context_size", "seqpos_slice", "dataset_path", "sae_lens_version",
        "sae_lens_training_version", "hook_name_out", "hook_head_index_out"})
    if (k == m) return true;
  return false;
}

/// The checks both directions share: `cfg`'s values in range, or an `Error` (`format_error` for a
/// file read, `option_error` for a config to write) whose message starts with `prefix`.
template <class Error>
void check_saelens_config(const SaeLensConfig& cfg, const std::string& prefix) {
  const auto bad = [&](const std::string& m) { return Error(prefix + ": " + m); };
  if (cfg.d_in == 0 || cfg.d_sae == 0)
    throw bad("expected d_in and d_sae of at least 1, found d_in " + std::to_string(cfg.d_in) + " and d_sae " +
              std::to_string(cfg.d_sae));
  if (saelens_has_k(cfg.architecture) && (cfg.k == 0 || cfg.k > cfg.d_sae))
    throw bad("expected k from 1 to d_sae (" + std::to_string(cfg.d_sae) + ") for a " +
              std::string(saelens_name(cfg.architecture)) + " SAE, found " + std::to_string(cfg.k));
  if (!saelens_dtype_known(cfg.dtype))
    throw bad("expected dtype float32, float64, float16 or bfloat16 (SAELens's DTYPE_MAP), found \"" +
              escape_bytes(cfg.dtype) + "\"");
  if (!saelens_normalization_known(cfg.normalize_activations))
    throw bad("expected normalize_activations \"none\", \"expected_average_only_in\", \"constant_norm_rescale\" or "
              "\"layer_norm\", found \"" +
              escape_bytes(cfg.normalize_activations) + "\"");
  if (!saelens_reshape_known(cfg.reshape_activations))
    throw bad("expected reshape_activations \"none\" or \"hook_z\", found \"" + escape_bytes(cfg.reshape_activations) +
              "\"");
}

/// The expected shape of each of an architecture's tensors, in the order latent writes them.
struct saelens_slot {
  std::string_view name;
  std::vector<std::size_t> shape;
  std::vector<float> SaeLensTensors::*member;  // nullptr: topk_threshold
};
inline std::vector<saelens_slot> saelens_slots(sae_architecture a, std::size_t d_in, std::size_t d_sae) {
  std::vector<saelens_slot> s;
  if (a == sae_architecture::batchtopk) s.push_back({"topk_threshold", {}, nullptr});
  s.push_back({"W_enc", {d_in, d_sae}, &SaeLensTensors::W_enc});
  s.push_back({"W_dec", {d_sae, d_in}, &SaeLensTensors::W_dec});
  s.push_back({"b_enc", {d_sae}, &SaeLensTensors::b_enc});
  s.push_back({"b_dec", {d_in}, &SaeLensTensors::b_dec});
  if (a == sae_architecture::jumprelu) s.push_back({"threshold", {d_sae}, &SaeLensTensors::threshold});
  return s;
}

/// "[3, 17]": the position of element `i` of a tensor of `shape`.
inline std::string element_index(std::size_t i, const std::vector<std::size_t>& shape) {
  std::vector<std::size_t> at(shape.size());
  for (std::size_t d = shape.size(); d-- > 0;) {
    at[d] = shape[d] == 0 ? 0 : i % shape[d];
    i = shape[d] == 0 ? 0 : i / shape[d];
  }
  return shape_string(at);
}

/// The writer's checks of `t` against `cfg`: sizes (`shape_error`), finite values (`data_error`).
inline void check_saelens_tensors(const SaeLensConfig& cfg, const SaeLensTensors& t, const std::string& who) {
  if (t.d_in != cfg.d_in || t.d_sae != cfg.d_sae)
    throw shape_error(who + ": expected tensors of d_in " + std::to_string(cfg.d_in) + " and d_sae " +
                      std::to_string(cfg.d_sae) + " (the config's), found d_in " + std::to_string(t.d_in) +
                      " and d_sae " + std::to_string(t.d_sae));
  for (const saelens_slot& s : saelens_slots(cfg.architecture, cfg.d_in, cfg.d_sae)) {
    if (s.member == nullptr) {
      if (!std::isfinite(t.topk_threshold))
        throw data_error(who + ": expected a finite topk_threshold, found " + number_text(t.topk_threshold));
      continue;
    }
    const std::vector<float>& v = t.*s.member;
    std::size_t count = 0;
    if (!element_count(s.shape, count) || v.size() != count)
      throw shape_error(who + ": tensor '" + std::string(s.name) + "': expected " + std::to_string(count) +
                        " values for " + shape_string(s.shape) + ", found " + std::to_string(v.size()));
    for (std::size_t i = 0; i < v.size(); ++i)
      if (!std::isfinite(v[i]))
        throw data_error(who + ": tensor '" + std::string(s.name) + "': expected finite values, found " +
                         number_text(v[i]) + " at " + element_index(i, s.shape));
  }
  if (cfg.architecture != sae_architecture::jumprelu && !t.threshold.empty())
    throw shape_error(who + ": expected no threshold for a " + std::string(saelens_name(cfg.architecture)) +
                      " SAE (only jumprelu has one), found " + std::to_string(t.threshold.size()) + " values");
}

/// `tensors` (a safetensors file's or an .npz archive's) as an SAE of `cfg`'s architecture and
/// sizes, or a `format_error` starting with `context` that lists every problem: a missing or
/// unexpected tensor, an integer tensor, a shape other than d_in and d_sae give, a value that is not
/// finite or (F64) beyond float's range. `threshold` may come as `log_threshold` (exponentiated); a
/// `scaling_factor` of all ones is dropped, as SAELens drops it.
inline SaeLensTensors saelens_tensors_from(const std::vector<NamedTensor>& tensors, const SaeLensConfig& cfg,
                                           const std::string& context, std::string_view dims_from) {
  std::vector<std::string> problems;
  const auto slots = saelens_slots(cfg.architecture, cfg.d_in, cfg.d_sae);
  const bool jumprelu = cfg.architecture == sae_architecture::jumprelu;
  const NamedTensor* log_threshold = nullptr;
  std::vector<const NamedTensor*> found(slots.size(), nullptr);
  for (const NamedTensor& t : tensors) {
    const std::string name = "'" + escape_bytes(t.name) + "'";
    bool known = false;
    for (std::size_t s = 0; s < slots.size(); ++s)
      if (t.name == slots[s].name) {
        known = true;
        if (found[s] != nullptr) problems.push_back("tensor " + name + " appears twice");
        found[s] = &t;
      }
    if (known) continue;
    if (t.name == "log_threshold" && jumprelu) {
      log_threshold = &t;
    } else if (t.name == "scaling_factor") {
      // SAELens's read_sae_components_from_disk drops an all-ones scaling_factor; another needs
      // finetuning_scaling_factor, which SAELens 6 no longer applies either.
      bool ones = true;
      for (const double v : t.values) ones = ones && v == 1.0;
      if (!ones)
        problems.push_back("tensor 'scaling_factor': expected all ones (then it is dropped, as SAELens drops it), "
                           "found other values: latent does not apply a fine-tuning scaling factor");
    } else if (t.name == "threshold" || t.name == "log_threshold" || t.name == "topk_threshold") {
      problems.push_back("unexpected tensor " + name + " in a " + std::string(saelens_name(cfg.architecture)) +
                         " SAE (threshold is jumprelu's, topk_threshold batchtopk's)");
    } else {
      problems.push_back("unexpected tensor " + name);
    }
  }
  for (std::size_t s = 0; s < slots.size(); ++s) {
    if (slots[s].name == "threshold") {
      if (found[s] != nullptr && log_threshold != nullptr)
        problems.push_back("expected threshold or log_threshold, found both");
      if (found[s] == nullptr) found[s] = log_threshold;
    }
    if (found[s] == nullptr)
      problems.push_back("missing tensor '" + std::string(slots[s].name) + "' " + shape_string(slots[s].shape));
  }

  SaeLensTensors out;
  out.d_in = cfg.d_in;
  out.d_sae = cfg.d_sae;
  for (std::size_t s = 0; s < slots.size(); ++s) {
    const NamedTensor* t = found[s];
    if (t == nullptr) continue;
    const std::string name = "tensor '" + escape_bytes(t->name) + "'";
    if (!(t->dtype == "F32" || t->dtype == "F64" || t->dtype == "F16" || t->dtype == "BF16" || t->dtype == "<f4" ||
          t->dtype == "<f8" || t->dtype == "<f2")) {
      problems.push_back(name + ": expected a floating-point tensor (F32, F16, BF16 or F64), found " + t->dtype);
      continue;
    }
    if (t->shape != slots[s].shape) {
      problems.push_back(name + ": expected " + shape_string(slots[s].shape) + " (" +
                         (slots[s].member == nullptr ? std::string("a scalar") : std::string(dims_from)) + "), found " +
                         shape_string(t->shape));
      continue;
    }
    const bool exponentiate = t == log_threshold;
    std::vector<float> v(t->values.size());
    bool ok = true;
    for (std::size_t i = 0; i < v.size() && ok; ++i) {
      const double x = exponentiate ? std::exp(t->values[i]) : t->values[i];
      if (!std::isfinite(x) || std::abs(x) > std::numeric_limits<float>::max()) {
        problems.push_back(name + ": expected finite values" +
                           std::string(std::isfinite(t->values[i]) ? " within float's range" : "") + ", found " +
                           number_text(t->values[i]) + (exponentiate ? " (its exp is not)" : "") + " at " +
                           element_index(i, t->shape));
        ok = false;
      }
      v[i] = static_cast<float>(x);
    }
    if (!ok) continue;
    if (slots[s].member == nullptr)
      out.topk_threshold = t->values[0];
    else
      out.*slots[s].member = std::move(v);
  }
  if (!problems.empty()) {
    std::string message = context + ": ";
    for (std::size_t i = 0; i < problems.size(); ++i) message += (i ? "; " : "") + problems[i];
    throw format_error(message);
  }
  return out;
}

/// The bytes of `sae_weights.safetensors` for `t` (checked): F32 tensors, topk_threshold as F64.
inline std::string saelens_weight_bytes(const SaeLensConfig& cfg, const SaeLensTensors& t) {
  std::string header = "{";
  std::size_t offset = 0;
  const auto slots = saelens_slots(cfg.architecture, cfg.d_in, cfg.d_sae);
  for (const saelens_slot& s : slots) {
    const std::size_t bytes = s.member == nullptr ? 8 : (t.*s.member).size() * 4;
    if (header.size() > 1) header += ',';
    header += json::quote(s.name) + ":{\"dtype\":\"" + (s.member == nullptr ? "F64" : "F32") + "\",\"shape\":[";
    // Appended piece by piece: g++ 12 warns falsely on operator+(const char*, string&&) (bug 105651).
    for (std::size_t d = 0; d < s.shape.size(); ++d) {
      if (d != 0) header += ',';
      header += std::to_string(s.shape[d]);
    }
    header += "],\"data_offsets\":[";
    header += std::to_string(offset);
    header += ',';
    header += std::to_string(offset + bytes);
    header += "]}";
    offset += bytes;
  }
  header += '}';
  while (header.size() % 8 != 0) header += ' ';  // 8-byte aligned data, as the reference writer keeps it
  std::string out;
  out.reserve(8 + header.size() + offset);
  for (int i = 0; i < 8; ++i) out += static_cast<char>((static_cast<std::uint64_t>(header.size()) >> (8 * i)) & 0xff);
  out += header;
  for (const saelens_slot& s : slots) {
    if (s.member == nullptr) {
      out.append(reinterpret_cast<const char*>(&t.topk_threshold), 8);  // little-endian, as latent's platforms
    } else {
      const std::vector<float>& v = t.*s.member;
      out.append(reinterpret_cast<const char*>(v.data()), v.size() * sizeof(float));
    }
  }
  return out;
}

}  // namespace detail

/// The text of `cfg.json` for `cfg`, in SAELens's current (6.x) layout, indented by two spaces: the
/// keys of SAELens's SAEConfig in its order (d_in, d_sae, dtype, device, apply_b_dec_to_input,
/// normalize_activations, reshape_activations, metadata; k and rescale_acts_by_decoder_norm for topk
/// and batchtopk; architecture), then `extra` (sorted). "metadata" holds sae_lens_version — kept from
/// `cfg.metadata` when it is 6 or later, else "6.0.0", since SAELens reads the layout by it — then
/// hook_name (when not empty) and the rest of `cfg.metadata`. A value out of range, a key of `extra`
/// or `metadata` that latent writes itself, or one whose text is not JSON, is an `option_error`.
inline std::string saelens_config_json(const SaeLensConfig& cfg) {
  const std::string who = "write_saelens_folder";
  detail::check_saelens_config<option_error>(cfg, who);
  json::value root;
  root.type = json::kind::object;
  const auto add = [](json::value& object, std::string key, json::value v) {
    object.keys.push_back(std::move(key));
    object.items.push_back(std::move(v));
  };
  const auto text = [](json::kind k, std::string s) {
    json::value v;
    v.type = k;
    v.text = std::move(s);
    return v;
  };
  const auto boolean = [](bool b) {
    json::value v;
    v.type = json::kind::boolean;
    v.boolean = b;
    return v;
  };
  const auto raw = [&](const std::string& where, const std::string& key, const std::string& json_text) {
    try {
      return json::parse(json_text, who + ": " + where + " '" + detail::escape_bytes(key) + "'");
    } catch (const format_error& e) {
      // The user's text, not a file's: an option_error with the reader's message (after its "latent: ",
      // which option_error adds again).
      throw option_error(std::string(e.what()).substr(8));
    }
  };

  add(root, "d_in", text(json::kind::number, std::to_string(cfg.d_in)));
  add(root, "d_sae", text(json::kind::number, std::to_string(cfg.d_sae)));
  add(root, "dtype", text(json::kind::string, cfg.dtype));
  add(root, "device", text(json::kind::string, cfg.device));
  add(root, "apply_b_dec_to_input", boolean(cfg.apply_b_dec_to_input));
  add(root, "normalize_activations", text(json::kind::string, cfg.normalize_activations));
  add(root, "reshape_activations", text(json::kind::string, cfg.reshape_activations));

  json::value meta;
  meta.type = json::kind::object;
  std::string version(detail::saelens_format_version);
  if (const auto it = cfg.metadata.find("sae_lens_version"); it != cfg.metadata.end()) {
    const json::value v = raw("metadata", it->first, it->second);
    if (v.type == json::kind::string && detail::saelens_major_version(v.text).value_or(0) >= 6) version = v.text;
  }
  add(meta, "sae_lens_version", text(json::kind::string, version));
  if (!cfg.hook_name.empty()) add(meta, "hook_name", text(json::kind::string, cfg.hook_name));
  for (const auto& [key, value] : cfg.metadata) {
    if (key == "sae_lens_version") continue;
    if (key == "hook_name")
      throw option_error(who + ": metadata 'hook_name': expected it in SaeLensConfig::hook_name, not in metadata");
    add(meta, key, raw("metadata", key, value));
  }
  add(root, "metadata", std::move(meta));

  const bool has_k = detail::saelens_has_k(cfg.architecture);
  if (has_k) {
    add(root, "k", text(json::kind::number, std::to_string(cfg.k)));
    add(root, "rescale_acts_by_decoder_norm", boolean(cfg.rescale_acts_by_decoder_norm));
  }
  add(root, "architecture", text(json::kind::string, std::string(saelens_name(cfg.architecture))));
  for (const auto& [key, value] : cfg.extra) {
    for (const std::string& taken : root.keys)
      if (key == taken)
        throw option_error(who + ": extra '" + detail::escape_bytes(key) +
                           "': expected a key latent does not write itself (it comes from SaeLensConfig's field)");
    if (key == "sae_lens_version")
      throw option_error(who + ": extra 'sae_lens_version': expected it in metadata, where SAELens 6 writes it");
    add(root, key, raw("extra", key, value));
  }
  return json::dump(root, 2) + "\n";
}

/// The settings of the cfg.json text `text` (`context` starts the messages, e.g. the path), read as
/// SAELens reads them (sae_lens/loading/pretrained_sae_loaders.py: handle_config_defaulting):
/// - the 6.x layout when sae_lens_version (top level, else in "metadata") is 6 or later: architecture
///   is required, hook_name comes from "metadata";
/// - else the pre-6.0 flat layout: hook_point, hook_point_head_index and activation_fn_str are the old
///   names of hook_name, hook_head_index and activation_fn; architecture defaults to standard, and to
///   topk when activation_fn is "topk" with activation_fn_kwargs.k (which then gives k); a boolean
///   normalize_activations means "none" (false) or "expected_average_only_in" (true), null "none";
///   the model and data keys (model_name, hook_name, context_size, ...) move to `metadata`;
///   an activation_fn other than relu or topk is refused (SAELens 6 would silently use relu).
/// Required in both: d_in, d_sae (positive integers), dtype (a DTYPE_MAP name), and k for topk and
/// batchtopk (SAELens would take 100; latent asks for it). Other keys latent knows take SAELens's
/// defaults when absent and must have the right type when present; the rest go to `extra` and
/// `metadata` as JSON text.
inline SaeLensConfig parse_saelens_config(std::string_view text, const std::string& context) {
  const json::value root = json::parse(text, context);
  const auto bad = [&](const std::string& m) { return format_error(context + ": " + m); };
  if (root.type != json::kind::object)
    throw bad(std::string("expected a JSON object of SAE settings, found ") + json::kind_name(root.type));

  // The layout: SAELens looks at a top-level sae_lens_version first, then metadata's.
  const json::value* meta = root.find("metadata");
  if (meta != nullptr && meta->type != json::kind::object)
    throw bad("key 'metadata': expected an object, found " + detail::json_found(*meta));
  const json::value* version = root.find("sae_lens_version");
  const bool top_version = version != nullptr && !(version->type == json::kind::null ||
                                                   (version->type == json::kind::string && version->text.empty()));
  if (!top_version && meta != nullptr) version = meta->find("sae_lens_version");
  bool v6 = false;
  if (version != nullptr && version->type != json::kind::null &&
      !(version->type == json::kind::string && version->text.empty())) {
    const auto major =
        version->type == json::kind::string ? detail::saelens_major_version(version->text) : std::nullopt;
    if (!major)
      throw bad("key 'sae_lens_version': expected a version such as \"6.18.0\", found " + detail::json_found(*version));
    v6 = *major >= 6;
  }

  // The members by name, old names renamed in the pre-6.0 layout; what is not taken goes to extra.
  std::map<std::string, const json::value*> members;
  std::map<std::string, std::string> original;  // new name -> the name in the file
  for (std::size_t i = 0; i < root.keys.size(); ++i) {
    std::string key = root.keys[i];
    if (!v6) {
      if (key == "hook_point") key = "hook_name";
      if (key == "hook_point_head_index") key = "hook_head_index";
      if (key == "activation_fn_str") key = "activation_fn";
    }
    if (members.count(key) != 0) throw bad("keys '" + original[key] + "' and '" + root.keys[i] + "' both give " + key);
    members[key] = &root.items[i];
    original[key] = root.keys[i];
  }
  std::map<std::string, bool> taken;
  const auto get = [&](const std::string& key) -> const json::value* {
    const auto it = members.find(key);
    if (it == members.end()) return nullptr;
    taken[key] = true;
    return it->second;
  };
  const auto name_of = [&](const std::string& key) { return "key '" + detail::escape_bytes(original[key]) + "': "; };
  const auto size = [&](const std::string& key, const char* what) -> std::size_t {
    const json::value* v = get(key);
    if (v == nullptr) throw bad("expected the key '" + key + "' (" + what + "), found none");
    const auto n = v->integer();
    if (!n || *n < 1 || *n > (std::int64_t(1) << 40))
      throw bad(name_of(key) + "expected a positive integer, found " + detail::json_found(*v));
    return static_cast<std::size_t>(*n);
  };
  const auto string = [&](const std::string& key, std::string fallback) -> std::string {
    const json::value* v = get(key);
    if (v == nullptr) return fallback;
    if (v->type != json::kind::string) throw bad(name_of(key) + "expected a string, found " + detail::json_found(*v));
    return v->text;
  };
  const auto boolean = [&](const std::string& key, bool fallback) -> bool {
    const json::value* v = get(key);
    if (v == nullptr) return fallback;
    if (v->type != json::kind::boolean)
      throw bad(name_of(key) + "expected true or false, found " + detail::json_found(*v));
    return v->boolean;
  };

  SaeLensConfig cfg;
  cfg.d_in = size("d_in", "the SAE's input width");
  cfg.d_sae = size("d_sae", "the SAE's number of latents");
  if (members.count("dtype") == 0)
    throw bad("expected the key 'dtype' (SAELens converts the weights to it), found none");
  cfg.dtype = string("dtype", "");
  cfg.device = string("device", "cpu");
  cfg.apply_b_dec_to_input = boolean("apply_b_dec_to_input", true);

  // The pre-6.0 activation function and its k.
  const json::value* activation = v6 ? nullptr : get("activation_fn");
  const json::value* kwargs = v6 ? nullptr : get("activation_fn_kwargs");
  const json::value* old_k = kwargs != nullptr ? kwargs->find("k") : nullptr;
  if (old_k != nullptr && old_k->type == json::kind::null) old_k = nullptr;
  if (activation != nullptr &&
      !(activation->type == json::kind::string && (activation->text == "relu" || activation->text == "topk")))
    throw bad(name_of("activation_fn") + "expected \"relu\" or \"topk\", found " + detail::json_found(*activation));

  const json::value* arch = get("architecture");
  if (arch == nullptr && v6)
    throw bad("expected the key 'architecture' (\"standard\", \"topk\", \"batchtopk\" or \"jumprelu\"), found none");
  std::string arch_name = "standard";
  if (arch != nullptr) {
    if (arch->type != json::kind::string)
      throw bad(name_of("architecture") + "expected a string, found " + detail::json_found(*arch));
    arch_name = arch->text;
  }
  if (activation != nullptr && activation->text == "topk") {
    if (old_k == nullptr) throw bad("key 'activation_fn': expected activation_fn_kwargs.k with \"topk\", found none");
    arch_name = "topk";  // as SAELens's handle_pre_6_0_config decides
  }
  const auto a = sae_architecture_from_saelens(arch_name);
  if (!a)
    throw bad("key 'architecture': expected \"standard\", \"topk\", \"batchtopk\" or \"jumprelu\", found \"" +
              detail::escape_bytes(arch_name) + "\" (latent reads these four of SAELens's architectures)");
  cfg.architecture = *a;

  if (detail::saelens_has_k(cfg.architecture)) {
    const json::value* k = old_k != nullptr ? old_k : get("k");
    if (k == nullptr)
      throw bad("expected the key 'k' (active latents per row) for a " + arch_name +
                " SAE, found none (SAELens would take its default, 100)");
    const auto whole = k->number();
    const bool integral =
        k->is_integer() || (cfg.architecture == sae_architecture::batchtopk && whole && *whole == std::floor(*whole));
    if (!whole || !integral || *whole < 1 || *whole > static_cast<double>(cfg.d_sae))
      throw bad(std::string(old_k != nullptr ? "key 'activation_fn_kwargs.k': " : "key 'k': ") + "expected " +
                (cfg.architecture == sae_architecture::batchtopk ? "a whole number" : "an integer") +
                " from 1 to d_sae (" + std::to_string(cfg.d_sae) + "), found " + detail::json_found(*k));
    cfg.k = static_cast<std::size_t>(*whole);
    cfg.rescale_acts_by_decoder_norm =
        boolean("rescale_acts_by_decoder_norm", cfg.architecture == sae_architecture::batchtopk);
  }

  const json::value* norm = get("normalize_activations");
  if (norm != nullptr && !v6 && norm->type == json::kind::boolean)
    cfg.normalize_activations = norm->boolean ? "expected_average_only_in" : "none";
  else if (norm != nullptr && !v6 && norm->type == json::kind::null)
    cfg.normalize_activations = "none";
  else if (norm != nullptr && norm->type == json::kind::string)
    cfg.normalize_activations = norm->text;
  else if (norm != nullptr)
    throw bad(name_of("normalize_activations") + "expected a string, found " + detail::json_found(*norm));

  // hook_name and the other metadata: "metadata"'s members, then (pre-6.0) the top-level model keys.
  const auto take_metadata = [&](const std::string& key, const json::value& v, const std::string& where) {
    if (key == "hook_name") {
      if (v.type == json::kind::string)
        cfg.hook_name = v.text;
      else if (v.type != json::kind::null)
        throw bad(where + "expected a string or null, found " + detail::json_found(v));
    } else {
      cfg.metadata[key] = json::dump(v);
    }
  };
  if (meta != nullptr) {
    taken["metadata"] = true;
    for (std::size_t i = 0; i < meta->keys.size(); ++i)
      take_metadata(meta->keys[i], meta->items[i], "key 'metadata." + detail::escape_bytes(meta->keys[i]) + "': ");
  }
  // A top-level sae_lens_version chose the layout; it is kept in metadata (where latent writes it)
  // unless metadata has its own.
  if (v6 && members.count("sae_lens_version") != 0) {
    const json::value* top = get("sae_lens_version");
    if (cfg.metadata.count("sae_lens_version") == 0) cfg.metadata["sae_lens_version"] = json::dump(*top);
  }
  if (!v6)
    for (const auto& [key, v] : members)
      if (detail::saelens_llm_metadata_key(key) && !taken[key]) {
        taken[key] = true;
        take_metadata(key, *v, name_of(key));
      }
  cfg.reshape_activations =
      string("reshape_activations", !v6 && cfg.hook_name.find("hook_z") != std::string::npos ? "hook_z" : "none");
  detail::check_saelens_config<format_error>(cfg, context);

  for (std::size_t i = 0; i < root.keys.size(); ++i) {
    bool used = false;
    for (const auto& [key, name] : original)
      if (name == root.keys[i]) used = taken[key];
    if (!used) cfg.extra[root.keys[i]] = json::dump(root.items[i]);
  }
  return cfg;
}

/// Writes the SAE `cfg`, `tensors` as SAELens's folder `dir` (created with its parents if missing):
/// `sae_weights.safetensors` (F32 tensors, and topk_threshold as F64 for batchtopk) and then `cfg.json`
/// (`saelens_config_json`), each atomically (io/atomic_file.hpp: a reader sees the old file or the new
/// one, never part of one; the pair is not one transaction). Everything is checked before anything
/// is written: the config (`option_error`), the tensors' sizes against it (`shape_error`: W_enc
/// d_in × d_sae, W_dec d_sae × d_in, b_enc d_sae, b_dec d_in, threshold d_sae for jumprelu and empty
/// otherwise) and their values (`data_error` for NaN or Inf). A folder that cannot be made or
/// written is an `io_error`.
///
/// The folder opens with SAELens's `SAE.load_from_disk` (standard, topk, jumprelu) or
/// `TrainingSAE.load_from_disk` (batchtopk, which SAELens keeps for training only: see
/// `saelens_jumprelu_from_batchtopk` for the form its `SAE` class opens).
inline void write_saelens_folder(const std::string& dir, const SaeLensConfig& cfg, const SaeLensTensors& tensors) {
  const std::string who = "write_saelens_folder";
  const std::string config = saelens_config_json(cfg);  // checks cfg
  detail::check_saelens_tensors(cfg, tensors, who + ": " + dir);
  const std::string weights = detail::saelens_weight_bytes(cfg, tensors);
  namespace fs = std::filesystem;
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec || !fs::is_directory(dir))
    throw io_error(who + ": " + dir + ": cannot create the folder" + (ec ? ": " + ec.message() : std::string()));
  const fs::path base(dir);
  detail::write_file_atomically((base / detail::saelens_weights_file).string(), weights, who);
  detail::write_file_atomically((base / detail::saelens_cfg_file).string(), config, who);
}

/// The SAE in SAELens's folder `dir` (`cfg.json` read by `parse_saelens_config`, then
/// `sae_weights.safetensors` checked against it), all or nothing. Other files in the folder
/// (sparsity.safetensors, runner_cfg.json, ...) are not read.
inline std::pair<SaeLensConfig, SaeLensTensors> read_saelens_folder(const std::string& dir) {
  const std::string who = "read_saelens_folder";
  std::error_code ec;
  if (!std::filesystem::is_directory(dir, ec))
    throw io_error(who + ": " + dir + ": expected a folder holding cfg.json and sae_weights.safetensors, found " +
                   (std::filesystem::exists(dir, ec) ? "a file" : "nothing"));
  const std::filesystem::path base(dir);
  const std::string cfg_path = (base / detail::saelens_cfg_file).string();
  const std::string weights_path = (base / detail::saelens_weights_file).string();
  SaeLensConfig cfg = parse_saelens_config(detail::read_whole_file(cfg_path, who), who + ": " + cfg_path);
  const std::string context = who + ": " + weights_path;
  const auto tensors = parse_safetensors(detail::read_whole_file(weights_path, who), context);
  SaeLensTensors t = detail::saelens_tensors_from(tensors, cfg, context, "d_in and d_sae from cfg.json");
  return {std::move(cfg), std::move(t)};
}

/// Gemma Scope's `params.npz` (Google DeepMind's JumpReLU SAEs for Gemma 2): W_enc [d_in, d_sae],
/// W_dec [d_sae, d_in], b_enc [d_sae], b_dec [d_in], threshold [d_sae] (also named w_enc, w_dec, as
/// SAELens's gemma_2 loader accepts), all or nothing as `read_saelens_folder`; d_in and d_sae are
/// W_enc's shape. The config is what SAELens's loader gives them (get_gemma_2_config_from_hf):
/// jumprelu, apply_b_dec_to_input false (Gemma Scope does not subtract b_dec from the input), dtype
/// float32, normalize_activations "none"; `hook_name` is left empty (SAELens derives it from the
/// repository's folder names). SAELens also divides W_enc by √d_in for the embedding SAEs; that is
/// the caller's to do, since the file does not say which it is.
inline std::pair<SaeLensConfig, SaeLensTensors> read_gemma_scope_npz(const std::string& path) {
  const std::string who = "read_gemma_scope_npz";
  const std::string context = who + ": " + path;
  std::vector<NamedTensor> arrays = parse_npz(detail::read_whole_file(path, who), context);
  for (NamedTensor& a : arrays)
    if (a.name.starts_with("w_")) a.name = "W_" + a.name.substr(2);
  SaeLensConfig cfg;
  cfg.architecture = sae_architecture::jumprelu;
  cfg.apply_b_dec_to_input = false;
  const NamedTensor* w_enc = nullptr;
  for (const NamedTensor& a : arrays)
    if (a.name == "W_enc") w_enc = &a;
  if (w_enc == nullptr || w_enc->shape.size() != 2 || w_enc->shape[0] == 0 || w_enc->shape[1] == 0)
    throw format_error(context + ": expected an array 'W_enc' [d_in, d_sae], found " +
                       (w_enc == nullptr ? std::string("none") : detail::shape_string(w_enc->shape)));
  cfg.d_in = w_enc->shape[0];
  cfg.d_sae = w_enc->shape[1];
  SaeLensTensors t = detail::saelens_tensors_from(arrays, cfg, context, "d_in and d_sae from W_enc");
  return {std::move(cfg), std::move(t)};
}

/// Scales each latent's decoder row to unit norm and compensates in the encoder, as SAELens's
/// `fold_W_dec_norm` (sae_lens/saes/sae.py, topk_sae.py, jumprelu_sae.py): with n_j = ‖W_dec row j‖,
/// W_dec row j /= n_j, W_enc column j *= n_j, b_enc j *= n_j, threshold j *= n_j (jumprelu). The SAE
/// computes the same function (up to rounding): relu and the jump commute with a positive scale, and
/// for topk and batchtopk with `rescale_acts_by_decoder_norm` the selection already saw h·n, which is
/// then h itself, so the flag is cleared. A topk or batchtopk SAE without the flag is refused
/// (`option_error`: folding would change which latents win, SAELens refuses it too), and so is a
/// latent whose decoder row is zero (`data_error`).
inline void fold_decoder_norms(SaeLensConfig& cfg, SaeLensTensors& t) {
  const std::string who = "fold_decoder_norms";
  if (detail::saelens_has_k(cfg.architecture) && !cfg.rescale_acts_by_decoder_norm)
    throw option_error(who + ": expected a standard or jumprelu SAE, or a " +
                       std::string(saelens_name(cfg.architecture)) +
                       " one with rescale_acts_by_decoder_norm; folding this one would change which latents are "
                       "selected");
  detail::check_saelens_tensors(cfg, t, who);
  std::vector<double> norms(t.d_sae);
  for (std::size_t j = 0; j < t.d_sae; ++j) {
    double s = 0;
    for (std::size_t i = 0; i < t.d_in; ++i) s += double(t.W_dec[j * t.d_in + i]) * t.W_dec[j * t.d_in + i];
    norms[j] = std::sqrt(s);
    if (!(norms[j] > 0))
      throw data_error(who + ": expected non-zero decoder rows, found row " + std::to_string(j) + " zero");
  }
  for (std::size_t j = 0; j < t.d_sae; ++j) {
    for (std::size_t i = 0; i < t.d_in; ++i)
      t.W_dec[j * t.d_in + i] = static_cast<float>(t.W_dec[j * t.d_in + i] / norms[j]);
    t.b_enc[j] = static_cast<float>(t.b_enc[j] * norms[j]);
    if (cfg.architecture == sae_architecture::jumprelu) t.threshold[j] = static_cast<float>(t.threshold[j] * norms[j]);
  }
  for (std::size_t i = 0; i < t.d_in; ++i)
    for (std::size_t j = 0; j < t.d_sae; ++j)
      t.W_enc[i * t.d_sae + j] = static_cast<float>(t.W_enc[i * t.d_sae + j] * norms[j]);
  cfg.rescale_acts_by_decoder_norm = false;
}

/// A batchtopk SAE as the jumprelu SAE SAELens exports it for inference
/// (BatchTopKTrainingSAE.process_state_dict_for_saving_inference, sae_lens/saes/batchtopk_sae.py):
/// decoder norms folded when `rescale_acts_by_decoder_norm` (`fold_decoder_norms`), then every
/// latent's threshold is topk_threshold; k and the flag are dropped. This is the form SAELens's
/// `SAE.load_from_disk` opens. Anything but a batchtopk SAE is an `option_error`.
inline std::pair<SaeLensConfig, SaeLensTensors> saelens_jumprelu_from_batchtopk(SaeLensConfig cfg, SaeLensTensors t) {
  if (cfg.architecture != sae_architecture::batchtopk)
    throw option_error("saelens_jumprelu_from_batchtopk: expected a batchtopk SAE, found " +
                       std::string(saelens_name(cfg.architecture)));
  if (cfg.rescale_acts_by_decoder_norm) fold_decoder_norms(cfg, t);
  detail::check_saelens_tensors(cfg, t, "saelens_jumprelu_from_batchtopk");
  cfg.architecture = sae_architecture::jumprelu;
  cfg.k = 0;
  cfg.rescale_acts_by_decoder_norm = false;
  t.threshold.assign(t.d_sae, static_cast<float>(t.topk_threshold));
  t.topk_threshold = 0;
  return {std::move(cfg), std::move(t)};
}

}  // namespace latent
