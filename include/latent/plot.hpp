#pragma once
/// \file
/// Pictures as PNG files: `Canvas`, `Color`, `image_grid`, `line_plot`, `scatter_plot`, and the PNG
/// codec (`write_png`, `read_png_gray`). Not in the lean <latent/latent.hpp>.

#include "latent/io/png.hpp"
#include "latent/plot/canvas.hpp"
#include "latent/plot/color.hpp"
#include "latent/plot/image_grid.hpp"
#include "latent/plot/line_plot.hpp"
#include "latent/plot/scatter_plot.hpp"
