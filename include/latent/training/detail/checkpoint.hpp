#pragma once
/// \file
/// `fit`'s checkpoints: the model's and the optimiser's sections (from the `fit_target`) and fit's own
/// section — the epoch, the shuffle generator, the history, and the run's seed and batch size.

#include "latent/core/error.hpp"
#include "latent/core/random.hpp"
#include "latent/io/binary_file.hpp"
#include "latent/training/detail/fit_target.hpp"
#include "latent/training/history.hpp"

#include <cstddef>   // std::size_t
#include <cstdint>   // std::uint64_t
#include <map>       // std::map
#include <optional>  // std::optional: settings of checkpoints written before they were recorded
#include <string>    // std::string, std::to_string
#include <utility>   // std::move
#include <vector>    // std::vector

namespace latent::detail {

/// What decides a run's batches besides the data: a resumed run must have the same, or it would not
/// continue the run that wrote the checkpoint.
struct run_settings {
  std::uint64_t seed = 0;
  std::size_t batch_size = 0;
};

/// Fit's own section of a checkpoint, parsed.
struct fit_progress {
  std::size_t epoch = 0;  ///< the checkpoint was written after this epoch
  Rng::State shuffle{};
  History history;
  std::optional<run_settings> settings;  ///< absent in checkpoints written before it was recorded
};

// The fit section: the epoch, the shuffle generator's state, the history's losses, times and rates, how
// the run ended, the run's seed and batch size, then the model's series (their count, then each one's
// name and values). Checkpoints of older versions end earlier (before the rates, the settings or the
// series) and still load.
inline std::string fit_section_bytes(const Rng& shuffle, const History& history, std::size_t epoch,
                                     const run_settings& settings) {
  byte_writer w;
  w.put(static_cast<std::uint64_t>(epoch));
  w.put(shuffle.state());
  w.put_array(history.loss.data(), history.loss.size());
  w.put_array(history.val_loss.data(), history.val_loss.size());
  w.put_array(history.seconds.data(), history.seconds.size());
  w.put_array(history.learning_rate.data(), history.learning_rate.size());
  w.put_string(history.stop_reason);
  w.put(static_cast<std::uint64_t>(history.stopped_epoch));
  w.put(static_cast<std::uint64_t>(history.best_epoch));
  w.put(settings.seed);
  w.put(static_cast<std::uint64_t>(settings.batch_size));
  w.put(static_cast<std::uint64_t>(history.model_series.size()));
  for (const auto& [name, values] : history.model_series) {
    w.put_string(name);
    w.put_array(values.data(), values.size());
  }
  return w.bytes();
}

inline fit_progress parse_fit_section(const std::string& bytes, const std::string& path) {
  byte_reader r(bytes, "fit: " + path);
  fit_progress p;
  const auto epoch = r.get<std::uint64_t>();
  p.shuffle = r.get<Rng::State>();
  History& h = p.history;
  h.loss = r.get_any_array<double>();
  h.val_loss = r.get_any_array<double>();
  h.seconds = r.get_any_array<double>();
  if (!r.at_end()) {
    h.learning_rate = r.get_any_array<double>();
    h.stop_reason = r.get_string(4096);
    h.stopped_epoch = static_cast<std::size_t>(r.get<std::uint64_t>());
    h.best_epoch = static_cast<std::size_t>(r.get<std::uint64_t>());
  }
  if (!r.at_end()) {
    run_settings s;
    s.seed = r.get<std::uint64_t>();
    s.batch_size = static_cast<std::size_t>(r.get<std::uint64_t>());
    p.settings = s;
  }
  if (!r.at_end()) {
    const auto count = r.get<std::uint64_t>();
    for (std::uint64_t i = 0; i < count; ++i) {
      std::string name = r.get_string(4096);
      std::vector<double> values = r.get_any_array<double>();
      if (values.size() != epoch)
        throw format_error("fit: " + path + ": a checkpoint after epoch " + std::to_string(epoch) + " holds " +
                           std::to_string(values.size()) + " values of the model's series '" + name + "'");
      h.model_series.emplace(std::move(name), std::move(values));
    }
  }
  r.expect_end();
  // The history holds one entry per finished epoch (validation losses and rates only when there were).
  const auto fits = [&](const std::vector<double>& v) { return v.empty() || v.size() == epoch; };
  if (h.loss.size() != epoch || h.seconds.size() != epoch || !fits(h.val_loss) || !fits(h.learning_rate) ||
      h.stopped_epoch > epoch || h.best_epoch > epoch)
    throw format_error("fit: " + path + ": a checkpoint after epoch " + std::to_string(epoch) + " holds " +
                       std::to_string(h.loss.size()) + " losses, " + std::to_string(h.val_loss.size()) +
                       " validation losses, " + std::to_string(h.learning_rate.size()) + " rates and " +
                       std::to_string(h.seconds.size()) + " times, stopped after epoch " +
                       std::to_string(h.stopped_epoch) + ", best epoch " + std::to_string(h.best_epoch));
  p.epoch = static_cast<std::size_t>(epoch);
  return p;
}

/// Writes a checkpoint of the run after `epoch`, atomically.
template <class T>
void save_checkpoint(const std::string& path, const fit_target<T>& target, const Rng& shuffle, const History& history,
                     std::size_t epoch, const run_settings& settings) {
  std::map<std::uint32_t, std::string> sections = target.checkpoint_sections();
  sections[fit_section] = fit_section_bytes(shuffle, history, epoch, settings);
  write_sections(path, sections);
}

/// Restores everything from a checkpoint (all parsed and checked before anything changes); returns the
/// epoch it was taken after. A checkpoint written with another seed or batch size is refused
/// (`option_error` naming both): this run would not continue that one.
template <class T>
std::size_t resume_from(const std::string& path, fit_target<T>& target, Rng& shuffle, History& history,
                        const run_settings& settings) {
  const auto sections = read_sections(path);
  for (auto tag : {model_section, fit_section})
    if (!sections.contains(tag)) throw format_error("fit: " + path + " is not a checkpoint (a section is missing)");
  fit_progress p = parse_fit_section(sections.at(fit_section), path);
  if (p.settings && (p.settings->seed != settings.seed || p.settings->batch_size != settings.batch_size))
    throw option_error("fit: the checkpoint " + path + " continues a run with seed " +
                       std::to_string(p.settings->seed) + " and batch_size " +
                       std::to_string(p.settings->batch_size) + ", but this run has seed " +
                       std::to_string(settings.seed) + " and batch_size " + std::to_string(settings.batch_size) +
                       "; resume with the checkpoint's settings, or start afresh (resume = false, or another "
                       "checkpoint path)");
  target.restore(sections, path);
  shuffle.set_state(p.shuffle);
  history = std::move(p.history);
  return p.epoch;
}

}  // namespace latent::detail
