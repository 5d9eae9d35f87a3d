#pragma once
/// \file
/// `latent::ProgressReporter`: the progress bar and per-epoch lines `fit` writes to stderr.

#include "latent/training/fit_options.hpp"

#include <unistd.h>  // isatty: a bar only on a terminal

#include <chrono>   // std::chrono::steady_clock
#include <cmath>    // std::isnan
#include <cstddef>  // std::size_t
#include <cstdio>   // std::fprintf, stderr
#include <string>   // std::string
#include <utility>  // std::pair: a model's named values
#include <vector>   // std::vector

namespace latent {

/// Writes training progress to stderr: a bar redrawn in place on a terminal (`Progress::bar`), one line
/// per epoch (`Progress::lines`), or nothing (`Progress::quiet`). `Progress::automatic` picks the bar
/// when stderr is a terminal.
class ProgressReporter {
 public:
  ProgressReporter(Progress mode, std::size_t epochs, std::size_t steps_per_epoch)
      : epochs_(epochs), steps_(steps_per_epoch) {
    if (mode == Progress::automatic) mode = isatty(fileno(stderr)) ? Progress::bar : Progress::lines;
    mode_ = mode;
  }

  /// After each step of an epoch (1-based epoch and step), with the running mean loss.
  void step(std::size_t epoch, std::size_t step, double running_loss) {
    if (mode_ != Progress::bar) return;
    const auto now = std::chrono::steady_clock::now();
    if (step != steps_ && now - last_draw_ < std::chrono::milliseconds(100)) return;
    last_draw_ = now;
    constexpr int width = 30;
    const int filled = static_cast<int>(width * step / steps_);
    std::fprintf(stderr, "\repoch %zu/%zu [", epoch, epochs_);
    for (int i = 0; i < width; ++i) std::fputc(i < filled ? '=' : (i == filled ? '>' : ' '), stderr);
    std::fprintf(stderr, "] %zu/%zu loss %.6g ", step, steps_, running_loss);
    std::fflush(stderr);
  }

  /// At the end of an epoch; `val_loss` is NaN when there is no validation data; `values` are the
  /// model's own (`History::model_series`), printed after the losses.
  void epoch(std::size_t epoch, double loss, double val_loss, double seconds,
             const std::vector<std::pair<std::string, double>>& values = {}) {
    if (mode_ == Progress::quiet) return;
    if (mode_ == Progress::bar) std::fputc('\r', stderr);
    std::fprintf(stderr, "epoch %zu/%zu: loss %.6g", epoch, epochs_, loss);
    if (!std::isnan(val_loss)) std::fprintf(stderr, "  val_loss %.6g", val_loss);
    for (const auto& [name, v] : values) std::fprintf(stderr, "  %s %.4g", name.c_str(), v);
    std::fprintf(stderr, "  (%.3g s)%s\n", seconds, mode_ == Progress::bar ? "                              " : "");
    std::fflush(stderr);
  }

  /// A line of its own (how training ended early), unless quiet.
  void note(const std::string& text) {
    if (mode_ == Progress::quiet) return;
    std::fprintf(stderr, "%s\n", text.c_str());
    std::fflush(stderr);
  }

 private:
  Progress mode_ = Progress::lines;
  std::size_t epochs_, steps_;
  std::chrono::steady_clock::time_point last_draw_{};
};

}  // namespace latent
