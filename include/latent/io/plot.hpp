#pragma once
/// \file
/// Moved: pictures are not persistence, and live in latent/plot/, one header each — `Color`
/// (plot/color.hpp), `Canvas` (plot/canvas.hpp), `scatter_plot` (plot/scatter_plot.hpp) and
/// `line_plot` (plot/line_plot.hpp). This header forwards to all four so that old includes keep
/// compiling; include the new paths in new code.

#include "latent/plot/canvas.hpp"
#include "latent/plot/color.hpp"
#include "latent/plot/line_plot.hpp"
#include "latent/plot/scatter_plot.hpp"
