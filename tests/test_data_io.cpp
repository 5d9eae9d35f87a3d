// Tests of the data and picture parts: Dataset operations, IDX and CSV readers, Fashion-MNIST,
// the built-in shapes data set, PNG output, image grids and plots; and of persistence: the atomic
// writer, save/load of models and optimisers, checkpoints, and files forged to lie; the streamed .npy
// shards (NpyShards).
#include <doctest/doctest.h>

#include <algorithm>   // std::count, std::clamp, std::fill, std::equal
#include <atomic>      // std::atomic: concurrent writers and readers
#include <cerrno>      // EFBIG, ENOSPC
#include <cmath>       // std::sqrt, std::abs, NAN
#include <csignal>     // std::signal, SIGXFSZ: a write beyond RLIMIT_FSIZE fails instead of killing
#include <cstdint>     // std::uint8_t, std::uint32_t
#include <cstdio>      // std::FILE, std::fopen
#include <cstring>     // std::memcpy, std::strerror
#include <filesystem>  // temporary directories
#include <fstream>     // writing fixture files
#include <iterator>    // std::istreambuf_iterator
#include <limits>      // std::numeric_limits
#include <string>      // std::string
#include <thread>      // std::thread: concurrent writers
#include <vector>      // std::vector

#include <sys/resource.h>  // setrlimit(RLIMIT_FSIZE): a write that fails half-way
#include <sys/stat.h>      // mkfifo: a source whose size is unknown
#include <sys/wait.h>      // waitpid: a second writing process
#include <unistd.h>        // getpid (unique temporary directory), fork, truncate
#include <zlib.h>

#include <latent/interchange.hpp>
#include <latent/latent.hpp>
#include <latent/plot.hpp>

#include "latent/data/csv.hpp"
#include "latent/data/dataset.hpp"
#include "latent/data/fashion_mnist.hpp"
#include "latent/data/idx.hpp"
#include "latent/data/npy_shards.hpp"
#include "latent/data/shapes.hpp"
#include "latent/io/image_grid.hpp"
#include "latent/io/npz.hpp"  // write_npz, read_npz: large files for the killed writers
#include "latent/io/plot.hpp"
#include "latent/io/png.hpp"

#include "support/allocation_counter.hpp"  // operator new replaced: the largest allocation seen

// The file's own names live in namespace test_data_io: the test programs compile several test files as one
// translation unit (tests/CMakeLists.txt), and each file's helpers stay its own.
namespace test_data_io {

namespace fs = std::filesystem;

namespace {

/// A fresh temporary directory, removed with its contents at the end of the test.
struct temp_dir {
  fs::path path;
  temp_dir() {
    static int counter = 0;
    path = fs::temp_directory_path() /
           ("latent_test_data_io_" + std::to_string(getpid()) + "_" + std::to_string(counter++));
    fs::remove_all(path);
    fs::create_directories(path);
  }
  ~temp_dir() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
  std::string file(const std::string& name) const { return (path / name).string(); }
};

void put_u32(std::vector<unsigned char>& b, std::uint32_t v) {
  b.push_back(static_cast<unsigned char>(v >> 24));
  b.push_back(static_cast<unsigned char>(v >> 16));
  b.push_back(static_cast<unsigned char>(v >> 8));
  b.push_back(static_cast<unsigned char>(v));
}

/// An IDX image file: n images of rows × cols with pixel (i, k) = (i * 7 + k) % 256.
std::vector<unsigned char> idx_images_bytes(std::uint32_t n, std::uint32_t rows, std::uint32_t cols) {
  std::vector<unsigned char> b;
  put_u32(b, 0x00000803);
  put_u32(b, n);
  put_u32(b, rows);
  put_u32(b, cols);
  for (std::uint32_t i = 0; i < n * rows * cols; ++i) b.push_back(static_cast<unsigned char>((i * 7) % 256));
  return b;
}

std::vector<unsigned char> idx_labels_bytes(const std::vector<unsigned char>& labels) {
  std::vector<unsigned char> b;
  put_u32(b, 0x00000801);
  put_u32(b, static_cast<std::uint32_t>(labels.size()));
  b.insert(b.end(), labels.begin(), labels.end());
  return b;
}

void write_bytes(const std::string& path, const std::vector<unsigned char>& b) {
  std::ofstream f(path, std::ios::binary);
  f.write(reinterpret_cast<const char*>(b.data()), static_cast<std::streamsize>(b.size()));
}

void write_gzip(const std::string& path, const std::vector<unsigned char>& b) {
  gzFile f = gzopen(path.c_str(), "wb");
  REQUIRE(f != nullptr);
  REQUIRE(gzwrite(f, b.data(), static_cast<unsigned>(b.size())) == static_cast<int>(b.size()));
  gzclose(f);
}

std::vector<unsigned char> read_bytes(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>()};
}

latent::Dataset small_dataset(std::size_t n) {
  latent::Dataset d;
  d.x = xt::xtensor<float, 2>::from_shape({n, 3});
  d.labels = xt::xtensor<std::int32_t, 1>::from_shape({n});
  for (std::size_t i = 0; i < n; ++i) {
    for (std::size_t j = 0; j < 3; ++j) d.x(i, j) = static_cast<float>(10 * i + j);
    d.labels(i) = static_cast<std::int32_t>(i % 4);
  }
  d.num_classes = 4;
  d.class_names = {"a", "b", "c", "d"};
  return d;
}

double squared_distance(const float* a, const float* b, std::size_t n) {
  double s = 0.0;
  for (std::size_t k = 0; k < n; ++k) s += (double(a[k]) - b[k]) * (double(a[k]) - b[k]);
  return s;
}

}  // namespace

// ---------------------------------------------------------------------------------------------
TEST_SUITE("dataset") {
  TEST_CASE("take slices rows with their labels and metadata") {
    const auto d = small_dataset(10);
    const auto t = latent::take(d, 3, 4);
    REQUIRE(t.size() == 4);
    CHECK(t.width() == 3);
    CHECK(t.x(0, 0) == 30.0f);
    CHECK(t.x(3, 2) == 62.0f);
    CHECK(t.labels(0) == 3);
    CHECK(t.num_classes == 4);
    CHECK(t.class_names == d.class_names);
    CHECK(latent::take(d, 10, 0).size() == 0);
    CHECK_THROWS_WITH_AS(latent::take(d, 8, 3), doctest::Contains("within the 10 rows"), latent::option_error);
    CHECK_THROWS_AS(latent::take(d, 11, 0), latent::option_error);
    CHECK_THROWS_AS(latent::take(d, 1, std::numeric_limits<std::size_t>::max()), latent::option_error);
  }

  TEST_CASE("split is a deterministic, seeded partition") {
    const auto d = small_dataset(100);
    const auto [train, test] = latent::split(d, 0.8, 42);
    CHECK(train.size() == 80);
    CHECK(test.size() == 20);
    const auto [train2, test2] = latent::split(d, 0.8, 42);
    CHECK(train.x == train2.x);
    CHECK(test.labels == test2.labels);
    const auto [train3, test3] = latent::split(d, 0.8, 43);
    CHECK(train.x != train3.x);
    // Every row appears exactly once across the two parts, with its own label.
    std::vector<int> seen(100, 0);
    for (const auto* part : {&train, &test}) {
      for (std::size_t i = 0; i < part->size(); ++i) {
        const auto row = static_cast<std::size_t>(part->x(i, 0) / 10.0f);
        ++seen[row];
        CHECK(part->labels(i) == static_cast<std::int32_t>(row % 4));
      }
    }
    CHECK(std::count(seen.begin(), seen.end(), 1) == 100);
    CHECK(train.x != latent::take(d, 0, 80).x);  // it shuffled
    CHECK_THROWS_WITH_AS(latent::split(d, 1.5, 0), doctest::Contains("train_fraction in [0, 1]"), latent::option_error);
    CHECK_THROWS_AS(latent::split(d, std::nan(""), 0), latent::option_error);
    CHECK(latent::split(d, 0.0, 1).first.size() == 0);
    CHECK(latent::split(d, 1.0, 1).second.size() == 0);
  }

  TEST_CASE("one_hot encodes labels and names the row of a bad one") {
    xt::xtensor<std::int32_t, 1> labels = {2, 0, 1};
    const auto y = latent::one_hot(labels, 3);
    CHECK(y == xt::xtensor<float, 2>{{0, 0, 1}, {1, 0, 0}, {0, 1, 0}});
    xt::xtensor<std::int32_t, 1> high = {0, 1, 3};
    CHECK_THROWS_WITH_AS(latent::one_hot(high, 3), doctest::Contains("found 3 in row 2"), latent::data_error);
    xt::xtensor<std::int32_t, 1> negative = {-1};
    CHECK_THROWS_WITH_AS(latent::one_hot(negative, 3), doctest::Contains("found -1 in row 0"), latent::data_error);
  }
}

// ---------------------------------------------------------------------------------------------
TEST_SUITE("idx") {
  TEST_CASE("images and labels round trip, plain and gzip") {
    temp_dir dir;
    const auto images = idx_images_bytes(3, 2, 4);
    const auto labels = idx_labels_bytes({7, 0, 255});
    write_bytes(dir.file("img"), images);
    write_gzip(dir.file("img.gz"), images);
    write_bytes(dir.file("lab"), labels);
    write_gzip(dir.file("lab.gz"), labels);
    for (const char* name : {"img", "img.gz"}) {
      CAPTURE(name);
      const auto r = latent::read_idx_images_with_shape(dir.file(name));
      CHECK(r.rows == 2);
      CHECK(r.cols == 4);
      REQUIRE(r.x.shape(0) == 3);
      REQUIRE(r.x.shape(1) == 8);
      for (std::size_t i = 0; i < 3; ++i) {
        for (std::size_t k = 0; k < 8; ++k) CHECK(r.x(i, k) == doctest::Approx(((i * 8 + k) * 7 % 256) / 255.0));
      }
      CHECK(latent::read_idx_images(dir.file(name)) == r.x);
    }
    for (const char* name : {"lab", "lab.gz"}) {
      CAPTURE(name);
      CHECK(latent::read_idx_labels(dir.file(name)) == xt::xtensor<std::int32_t, 1>{7, 0, 255});
    }
    const auto m = latent::read_idx_images_from_memory(images.data(), images.size());
    CHECK(m.x == latent::read_idx_images(dir.file("img")));
    CHECK(latent::read_idx_labels_from_memory(labels.data(), labels.size()).size() == 3);
    // An empty set of images is well formed.
    const auto none = idx_images_bytes(0, 28, 28);
    CHECK(latent::read_idx_images_from_memory(none.data(), none.size()).x.shape(1) == 784);
  }

  TEST_CASE("a missing file is an io_error naming it") {
    CHECK_THROWS_WITH_AS(latent::read_idx_images("/nonexistent/x.gz"),
                         doctest::Contains("read_idx_images: /nonexistent/x.gz: cannot open"), latent::io_error);
    CHECK_THROWS_WITH_AS(latent::read_idx_labels("/nonexistent/y"), doctest::Contains("/nonexistent/y"),
                         latent::io_error);
    temp_dir dir;
    CHECK_THROWS_AS(latent::read_idx_labels(dir.path.string()), latent::io_error);  // a directory
  }

  TEST_CASE("format errors say what was expected and what was found") {
    temp_dir dir;
    write_gzip(dir.file("lab.gz"), idx_labels_bytes({1, 2}));
    CHECK_THROWS_WITH_AS(latent::read_idx_images(dir.file("lab.gz")),
                         doctest::Contains("lab.gz: expected magic number 0x00000803 (unsigned byte, 3 dimensions), "
                                           "found 0x00000801 (unsigned byte, 1 dimension)"),
                         latent::format_error);
    auto images = idx_images_bytes(2, 2, 2);
    write_bytes(dir.file("img"), images);
    CHECK_THROWS_WITH_AS(
        latent::read_idx_labels(dir.file("img")),
        doctest::Contains("expected magic number 0x00000801 (unsigned byte, 1 dimension), found 0x00000803"),
        latent::format_error);

    auto floats = images;
    floats[2] = 0x0D;
    CHECK_THROWS_WITH_AS(latent::read_idx_images_from_memory(floats.data(), floats.size()),
                         doctest::Contains("found 0x00000D03 (float, 3 dimensions)"), latent::format_error);
    const std::string text = "P5 not an idx file";
    CHECK_THROWS_WITH_AS(
        latent::read_idx_images_from_memory(reinterpret_cast<const unsigned char*>(text.data()), text.size()),
        doctest::Contains("(not an IDX file)"), latent::format_error);
    CHECK_THROWS_WITH_AS(latent::read_idx_images_from_memory(images.data(), 3),
                         doctest::Contains("found a file of only 3 bytes"), latent::format_error);
    CHECK_THROWS_WITH_AS(latent::read_idx_images_from_memory(nullptr, 0),
                         doctest::Contains("found a file of only 0 bytes"), latent::format_error);
    CHECK_THROWS_WITH_AS(latent::read_idx_images_from_memory(images.data(), 10),
                         doctest::Contains("truncated header: expected 12 bytes of dimension sizes, found 6"),
                         latent::format_error);

    // Truncated pixel data, plain and gzip (a stream cut short).
    write_bytes(dir.file("short"), std::vector<unsigned char>(images.begin(), images.end() - 3));
    CHECK_THROWS_WITH_AS(latent::read_idx_images(dir.file("short")),
                         doctest::Contains("truncated data: expected 8 bytes after the header, found 5"),
                         latent::format_error);
    const auto big = idx_images_bytes(100, 28, 28);
    write_gzip(dir.file("big.gz"), big);
    auto gz = read_bytes(dir.file("big.gz"));
    gz.resize(gz.size() / 2);
    write_bytes(dir.file("cut.gz"), gz);
    CHECK_THROWS_WITH_AS(latent::read_idx_images(dir.file("cut.gz")),
                         doctest::Contains("expected 78400 bytes after the header"), latent::format_error);

    auto extra = images;
    extra.push_back(0);
    CHECK_THROWS_WITH_AS(latent::read_idx_images_from_memory(extra.data(), extra.size()),
                         doctest::Contains("found trailing data"), latent::format_error);
    auto zero = idx_images_bytes(0, 0, 5);
    CHECK_THROWS_WITH_AS(latent::read_idx_images_from_memory(zero.data(), zero.size()),
                         doctest::Contains("found size 0 in dimension 1"), latent::format_error);
  }

  TEST_CASE("a header claiming absurd sizes is rejected before any allocation") {
    std::vector<unsigned char> b;
    put_u32(b, 0x00000803);
    put_u32(b, 0xFFFFFFFFu);
    put_u32(b, 0xFFFFFFFFu);
    put_u32(b, 0xFFFFFFFFu);
    CHECK_THROWS_WITH_AS(latent::read_idx_images_from_memory(b.data(), b.size()),
                         doctest::Contains("header claims 4294967295 x 4294967295 x 4294967295 bytes of data, above "
                                           "the limit of 2147483648 bytes"),
                         latent::format_error);
    // Within the limit but far beyond the data: reported as truncated, without allocating 2 GB.
    std::vector<unsigned char> c;
    put_u32(c, 0x00000803);
    put_u32(c, 1u << 21);
    put_u32(c, 32);
    put_u32(c, 32);
    c.resize(c.size() + 100, 0);
    CHECK_THROWS_WITH_AS(latent::read_idx_images_from_memory(c.data(), c.size()),
                         doctest::Contains("expected 2147483648 bytes after the header, found 100"),
                         latent::format_error);
  }

  TEST_CASE("random mutations either parse or throw format_error") {
    const auto images = idx_images_bytes(4, 3, 3);
    const auto labels = idx_labels_bytes({1, 2, 3, 4, 5});
    latent::Rng rng(7);
    int parsed = 0;
    for (int trial = 0; trial < 3000; ++trial) {
      auto b = (trial % 2) ? images : labels;
      const auto edits = 1 + rng.below(4);
      for (std::uint64_t e = 0; e < edits; ++e) {
        const auto op = rng.below(3);
        if (op == 0 && !b.empty()) b[rng.below(b.size())] = static_cast<unsigned char>(rng.below(256));
        if (op == 1) b.resize(rng.below(b.size() + 1));
        if (op == 2) b.push_back(static_cast<unsigned char>(rng.below(256)));
      }
      try {
        if (trial % 2) {
          const auto r = latent::read_idx_images_from_memory(b.data(), b.size());
          CHECK(r.x.shape(1) == r.rows * r.cols);
        } else {
          latent::read_idx_labels_from_memory(b.data(), b.size());
        }
        ++parsed;
      } catch (const latent::format_error&) {
      }
    }
    MESSAGE(parsed << " of 3000 mutated inputs still parsed");
  }
}

// ---------------------------------------------------------------------------------------------
TEST_SUITE("fashion_mnist") {
  TEST_CASE("the real test split, when installed") {
    const std::string dir = latent::fashion_mnist_dir();
    if (!fs::exists(fs::path(dir) / "t10k-images-idx3-ubyte.gz") &&
        !fs::exists(fs::path(dir) / "t10k-images-idx3-ubyte")) {
      MESSAGE("Fashion-MNIST not found in " << dir << " (Debian package dataset-fashion-mnist); skipped");
      return;
    }
    const auto d = latent::load_fashion_mnist("test", dir);
    CHECK(d.size() == 10000);
    CHECK(d.width() == 784);
    CHECK(d.image_height == 28);
    CHECK(d.image_width == 28);
    CHECK(d.num_classes == 10);
    REQUIRE(d.class_names.size() == 10);
    CHECK(d.class_names[9] == "Ankle boot");
    CHECK(xt::amin(d.x)() >= 0.0f);
    CHECK(xt::amax(d.x)() <= 1.0f);
    CHECK(xt::amax(d.x)() > 0.9f);
    std::vector<int> counts(10, 0);
    for (std::size_t i = 0; i < d.size(); ++i) {
      REQUIRE(d.labels(i) >= 0);
      REQUIRE(d.labels(i) <= 9);
      ++counts[static_cast<std::size_t>(d.labels(i))];
    }
    for (int c : counts) CHECK(c == 1000);  // the test split is balanced
  }

  TEST_CASE("errors: split name, missing files, count mismatch") {
    CHECK_THROWS_WITH_AS(latent::load_fashion_mnist("validation"),
                         doctest::Contains("expected split \"train\" or \"test\", found \"validation\""),
                         latent::option_error);
    temp_dir dir;
    CHECK_THROWS_WITH_AS(latent::load_fashion_mnist("test", dir.path.string()),
                         doctest::Contains("dataset-fashion-mnist"), latent::io_error);
    write_gzip(dir.file("t10k-images-idx3-ubyte.gz"), idx_images_bytes(3, 28, 28));
    write_bytes(dir.file("t10k-labels-idx1-ubyte"), idx_labels_bytes({1, 2}));  // plain also accepted
    CHECK_THROWS_WITH_AS(latent::load_fashion_mnist("test", dir.path.string()),
                         doctest::Contains("expected as many labels as images, found 3 images"), latent::data_error);
    write_bytes(dir.file("t10k-labels-idx1-ubyte"), idx_labels_bytes({1, 2, 3}));
    const auto d = latent::load_fashion_mnist("test", dir.path.string());
    CHECK(d.size() == 3);
    write_bytes(dir.file("t10k-labels-idx1-ubyte"), idx_labels_bytes({1, 12, 3}));
    CHECK_THROWS_WITH_AS(latent::load_fashion_mnist("test", dir.path.string()),
                         doctest::Contains("expected labels in 0..9, found 12 at index 1"), latent::data_error);
  }
}

// ---------------------------------------------------------------------------------------------
TEST_SUITE("csv") {
  TEST_CASE("parses numbers, labels, header, CRLF and trailing blank lines") {
    const auto d = latent::parse_csv("1,2.5,-3e2\n4, +5 ,6\n");
    REQUIRE(d.size() == 2);
    REQUIRE(d.width() == 3);
    CHECK(d.x(0, 1) == 2.5f);
    CHECK(d.x(0, 2) == -300.0f);
    CHECK(d.x(1, 1) == 5.0f);
    CHECK(d.labels.size() == 0);
    CHECK(d.num_classes == 0);

    latent::CsvOptions opt;
    opt.header = true;
    opt.label_column = 0;
    opt.delimiter = ';';
    const auto l = latent::parse_csv("label;a;b\r\n2;0.5;1\r\n0;1.5;2\r\n\r\n\n", opt);
    REQUIRE(l.size() == 2);
    CHECK(l.width() == 2);
    CHECK(l.x(1, 0) == 1.5f);
    CHECK(l.labels == xt::xtensor<std::int32_t, 1>{2, 0});
    CHECK(l.num_classes == 3);
    CHECK(l.class_names.size() == 3);
    CHECK(latent::parse_csv("7").x(0, 0) == 7.0f);  // no trailing newline
  }

  TEST_CASE("errors name the line, the column and the text") {
    CHECK_THROWS_WITH_AS(latent::parse_csv("1,2\n3,abc\n"),
                         doctest::Contains("line 2, column 2: expected a number, found 'abc'"), latent::format_error);
    CHECK_THROWS_WITH_AS(latent::parse_csv("1,2\n3,4,5\n"),
                         doctest::Contains("line 2: expected 2 fields (as on line 1), found 3"), latent::format_error);
    CHECK_THROWS_WITH_AS(latent::parse_csv("1,2\n3\n"), doctest::Contains("line 2: expected 2 fields"),
                         latent::format_error);
    CHECK_THROWS_WITH_AS(latent::parse_csv("1,,2\n"),
                         doctest::Contains("line 1, column 2: expected a number, found an empty field"),
                         latent::format_error);
    CHECK_THROWS_WITH_AS(latent::parse_csv(""), doctest::Contains("found an empty file"), latent::data_error);
    CHECK_THROWS_WITH_AS(latent::parse_csv("\n\n"), doctest::Contains("expected at least one row"), latent::data_error);
    latent::CsvOptions header;
    header.header = true;
    CHECK_THROWS_AS(latent::parse_csv("a,b\n", header), latent::data_error);
    CHECK_THROWS_WITH_AS(latent::parse_csv("1,2\n3,nan\n"),
                         doctest::Contains("line 2, column 2: expected a finite number, found 'nan'"),
                         latent::data_error);
    CHECK_THROWS_WITH_AS(latent::parse_csv("inf,2\n"), doctest::Contains("line 1"), latent::data_error);
    CHECK_THROWS_WITH_AS(latent::parse_csv("1e999,2\n"), doctest::Contains("line 1, column 1"), latent::data_error);
    CHECK_THROWS_WITH_AS(latent::parse_csv("1,2\n\n3,4\n"),
                         doctest::Contains("line 2: expected a row of data, found an empty line"),
                         latent::format_error);
    CHECK_THROWS_WITH_AS(latent::parse_csv("1,2\n1.5.5,2\n"), doctest::Contains("found '1.5.5'"), latent::format_error);

    latent::CsvOptions label;
    label.label_column = 1;
    CHECK_THROWS_WITH_AS(latent::parse_csv("1,2.5\n", label),
                         doctest::Contains("column 2: expected an integer class label, found '2.5'"),
                         latent::format_error);
    CHECK_THROWS_WITH_AS(latent::parse_csv("1,-1\n", label),
                         doctest::Contains("expected a class label in [0, 65536), found -1"), latent::data_error);
    label.label_column = 5;
    CHECK_THROWS_WITH_AS(latent::parse_csv("1,2\n", label), doctest::Contains("expected label_column < 2"),
                         latent::option_error);
  }

  TEST_CASE("read_csv reads a file and names it in errors") {
    temp_dir dir;
    {
      std::ofstream f(dir.file("t.csv"));
      f << "x,y,label\n0.25,1,1\n0.5,2,0\n";
    }
    latent::CsvOptions opt;
    opt.header = true;
    opt.label_column = 2;
    const auto d = latent::read_csv(dir.file("t.csv"), opt);
    CHECK(d.size() == 2);
    CHECK(d.x(0, 0) == 0.25f);
    CHECK(d.labels(0) == 1);
    CHECK_THROWS_WITH_AS(latent::read_csv(dir.file("missing.csv")), doctest::Contains("missing.csv: cannot open"),
                         latent::io_error);
    CHECK_THROWS_AS(latent::read_csv(dir.path.string()), latent::io_error);
    CHECK_THROWS_WITH_AS(latent::read_csv(dir.file("t.csv")),
                         doctest::Contains("t.csv: line 1, column 1: expected a number, found 'x'"),
                         latent::format_error);
  }
}

// ---------------------------------------------------------------------------------------------
TEST_SUITE("shapes") {
  TEST_CASE("deterministic for a seed, different across seeds") {
    const auto a = latent::make_shapes(50, 1);
    const auto b = latent::make_shapes(50, 1);
    const auto c = latent::make_shapes(50, 2);
    CHECK(a.x == b.x);
    CHECK(a.labels == b.labels);
    CHECK(a.x != c.x);
    CHECK(a.size() == 50);
    CHECK(a.width() == 784);
    CHECK(a.image_height == 28);
    CHECK(a.image_width == 28);
    CHECK(a.num_classes == 10);
    CHECK(a.class_names.size() == 10);
    CHECK(xt::amin(a.x)() >= 0.0f);
    CHECK(xt::amax(a.x)() <= 1.0f);
    CHECK(latent::make_shapes(0).size() == 0);
  }

  TEST_CASE("classes are balanced and train/test samples differ") {
    const auto d = latent::make_shapes(1005, 3);
    std::vector<int> counts(10, 0);
    for (std::size_t i = 0; i < d.size(); ++i) ++counts[static_cast<std::size_t>(d.labels(i))];
    for (int n : counts) CHECK((n == 100 || n == 101));
    const auto [train, test] = latent::make_shapes_split(200, 100, 3);
    CHECK(train.size() == 200);
    CHECK(test.size() == 100);
    for (std::size_t i = 0; i < test.size(); ++i) {
      for (std::size_t j = 0; j < train.size(); ++j) {
        REQUIRE(squared_distance(&test.x(i, 0), &train.x(j, 0), 784) > 0.0);
      }
    }
  }

  TEST_CASE("classes have structure: nearest class mean beats chance by far") {
    // Class means from one sample, classification of another: shapes of one class must resemble
    // each other more than those of other classes, well beyond pixel noise.
    const auto [train, test] = latent::make_shapes_split(2000, 1000, 5);
    std::vector<double> means(10 * 784, 0.0);
    std::vector<int> counts(10, 0);
    for (std::size_t i = 0; i < train.size(); ++i) {
      const auto c = static_cast<std::size_t>(train.labels(i));
      ++counts[c];
      for (std::size_t k = 0; k < 784; ++k) means[c * 784 + k] += train.x(i, k);
    }
    std::vector<float> mean_f(means.size());
    for (std::size_t c = 0; c < 10; ++c) {
      for (std::size_t k = 0; k < 784; ++k) mean_f[c * 784 + k] = static_cast<float>(means[c * 784 + k] / counts[c]);
    }
    int correct = 0;
    for (std::size_t i = 0; i < test.size(); ++i) {
      std::size_t best = 0;
      double best_d = 1e300;
      for (std::size_t c = 0; c < 10; ++c) {
        const double dist = squared_distance(&test.x(i, 0), &mean_f[c * 784], 784);
        if (dist < best_d) best_d = dist, best = c;
      }
      correct += best == static_cast<std::size_t>(test.labels(i));
    }
    const double accuracy = correct / 1000.0;
    MESSAGE("nearest-class-mean accuracy on shapes: " << accuracy);
    CHECK(accuracy > 0.3);   // chance is 0.1
    CHECK(accuracy < 0.95);  // but not trivially separable by template matching
    // Class means are distinct pictures: every pair differs by more than the pixel noise alone would.
    for (std::size_t a = 0; a < 10; ++a) {
      for (std::size_t b = a + 1; b < 10; ++b) {
        CHECK(std::sqrt(squared_distance(&mean_f[a * 784], &mean_f[b * 784], 784) / 784.0) > 0.02);
      }
    }
  }
}

// ---------------------------------------------------------------------------------------------
TEST_SUITE("png") {
  TEST_CASE("grayscale round trip, clamping, atomic write") {
    temp_dir dir;
    auto img = xt::xtensor<float, 2>::from_shape({5, 7});
    for (std::size_t r = 0; r < 5; ++r) {
      for (std::size_t c = 0; c < 7; ++c) img(r, c) = static_cast<float>(r * 7 + c) / 34.0f;
    }
    img(0, 0) = -1.0f;
    img(4, 6) = 2.0f;
    img(1, 1) = std::numeric_limits<float>::quiet_NaN();
    const std::string path = dir.file("g.png");
    latent::write_png(path, img);
    const auto back = latent::read_png_gray(path);
    REQUIRE(back.shape(0) == 5);
    REQUIRE(back.shape(1) == 7);
    CHECK(back(0, 0) == 0.0f);
    CHECK(back(4, 6) == 1.0f);
    CHECK(back(1, 1) == 0.0f);
    for (std::size_t r = 2; r < 5; ++r) {
      for (std::size_t c = 0; c < 7; ++c)
        CHECK(std::abs(back(r, c) - std::clamp(img(r, c), 0.0f, 1.0f)) <= 0.5f / 255.0f + 1e-6f);
    }
    // Only the PNG is left in the directory: no temporary file.
    std::size_t files = 0;
    for (const auto& e : fs::directory_iterator(dir.path)) {
      ++files;
      CHECK(e.path().filename() == "g.png");
    }
    CHECK(files == 1);
    // Overwriting an existing file works and stays atomic.
    xt::xtensor<float, 2> white = xt::xtensor<float, 2>::from_shape({2, 3});
    std::fill(white.begin(), white.end(), 1.0f);
    latent::write_png(path, white);
    CHECK(latent::read_png_gray(path).shape(1) == 3);
  }

  TEST_CASE("RGB writes, and failures are io_error") {
    temp_dir dir;
    auto rgb = xt::xtensor<float, 3>::from_shape({4, 6, 3});
    std::fill(rgb.begin(), rgb.end(), 0.5f);
    latent::write_png(dir.file("c.png"), rgb);
    const auto g = latent::read_png_gray(dir.file("c.png"));
    CHECK(g.shape(0) == 4);
    CHECK(g.shape(1) == 6);
    CHECK_THROWS_WITH_AS(latent::write_png(dir.file("no/such/dir/x.png"), rgb),
                         doctest::Contains("expected an existing directory"), latent::io_error);
    CHECK_FALSE(fs::exists(dir.file("no")));
    CHECK_THROWS_AS(latent::write_png(dir.file("e.png"), xt::xtensor<float, 2>::from_shape({0, 3})),
                    latent::shape_error);
    CHECK_THROWS_AS(latent::write_png(dir.file("w.png"), xt::xtensor<float, 3>::from_shape({2, 2, 4})),
                    latent::shape_error);
    CHECK_THROWS_AS(latent::read_png_gray(dir.file("missing.png")), latent::io_error);
    write_bytes(dir.file("bad.png"), {1, 2, 3, 4, 5});
    CHECK_THROWS_AS(latent::read_png_gray(dir.file("bad.png")), latent::format_error);
  }
}

// ---------------------------------------------------------------------------------------------
TEST_SUITE("image_grid") {
  TEST_CASE("tiles images row by row with padding") {
    // 5 images of 2 × 3, image i filled with (i + 1) / 10.
    auto images = xt::xtensor<float, 2>::from_shape({5, 6});
    for (std::size_t i = 0; i < 5; ++i) {
      for (std::size_t k = 0; k < 6; ++k) images(i, k) = static_cast<float>(i + 1) / 10.0f;
    }
    images(1, 5) = 0.99f;  // bottom-right pixel of image 1
    const auto g = latent::image_grid(images, 2, 3, 2, 1);
    REQUIRE(g.shape(0) == 3 * 3 + 1);  // 3 rows of (2 + 1) plus the last pad
    REQUIRE(g.shape(1) == 2 * 4 + 1);
    CHECK(g(0, 0) == 1.0f);                                         // padding
    CHECK(g(1, 1) == doctest::Approx(0.1));                         // image 0, top-left
    CHECK(g(1, 5) == doctest::Approx(0.2));                         // image 1 to its right
    CHECK(g(2, 7) == doctest::Approx(0.99));                        // image 1, bottom-right pixel
    CHECK(g(4, 1) == doctest::Approx(0.3));                         // image 2 starts the second row
    CHECK(g(7, 1) == doctest::Approx(0.5));                         // image 4 on the third row
    CHECK(g(7, 5) == 1.0f);                                         // empty cell
    CHECK(latent::image_grid(images, 2, 3, 10, 0).shape(1) == 15);  // cols capped at N
    CHECK_THROWS_WITH_AS(latent::image_grid(images, 2, 2, 2), doctest::Contains("2 * 2 = 4 columns, found 6"),
                         latent::shape_error);
    CHECK_THROWS_AS(latent::image_grid(images, 2, 3, 0), latent::option_error);
    CHECK_THROWS_AS(latent::image_grid(xt::xtensor<float, 2>::from_shape({0, 6}), 2, 3, 2), latent::data_error);
  }
}

// ---------------------------------------------------------------------------------------------
TEST_SUITE("plot") {
  TEST_CASE("canvas draws text, lines and blits") {
    latent::Canvas cv(60, 40);
    CHECK(cv.pixels()(0, 0, 0) == 1.0f);
    cv.text(2, 2, "Hi", {0, 0, 0});
    CHECK(cv.pixels()(2, 2, 0) == 0.0f);  // 'H' has its top-left pixel set
    CHECK(cv.pixels()(2, 3, 0) == 1.0f);
    CHECK(latent::Canvas::text_width("Hi") == 11);
    cv.line(0, 20.5, 60, 20.5, {1, 0, 0}, 1.0);
    CHECK(cv.pixels()(20, 30, 0) == 1.0f);
    CHECK(cv.pixels()(20, 30, 1) == doctest::Approx(0.0));
    xt::xtensor<float, 2> g = {{0.0f, 0.5f}};
    cv.blit(g, 40, 30, 3);
    CHECK(cv.pixels()(32, 42, 1) == 0.0f);
    CHECK(cv.pixels()(32, 43, 1) == doctest::Approx(0.5));
    cv.point(-100, -100, {0, 0, 0});  // clipped, no crash
    cv.text(55, 38, "clipped text", {0, 0, 0}, 3);
    CHECK_THROWS_AS(latent::Canvas(0, 10), latent::option_error);
  }

  TEST_CASE("nice ticks") {
    const auto t = latent::detail::nice_ticks(0.013, 0.87);
    CHECK(t.step == doctest::Approx(0.1));
    CHECK(t.lo == doctest::Approx(0.0));
    CHECK(t.hi == doctest::Approx(0.9));
    CHECK(t.values.size() == 10);
    CHECK(latent::detail::nice_ticks(-3.2, 47.0).step == doctest::Approx(10.0));
    CHECK(latent::detail::tick_label(0.4, 0.2) == "0.4");
    CHECK(latent::detail::tick_label(200, 50) == "200");
    const auto flat = latent::detail::nice_ticks(3.0, 3.0);
    CHECK(flat.lo < 3.0);
    CHECK(flat.hi > 3.0);
  }

  TEST_CASE("scatter_plot and line_plot write PNGs of the requested size") {
    temp_dir dir;
    const auto d = latent::make_shapes(300, 9);
    auto pts = xt::xtensor<float, 2>::from_shape({300, 2});
    for (std::size_t i = 0; i < 300; ++i) {
      pts(i, 0) = d.x(i, 14 * 28 + 14);
      pts(i, 1) = static_cast<float>(d.labels(i)) + d.x(i, 100);
    }
    pts(5, 0) = std::numeric_limits<float>::quiet_NaN();  // skipped
    latent::scatter_plot(dir.file("s.png"), pts, d.labels, d.class_names, "codes", 640, 480);
    const auto s = latent::read_png_gray(dir.file("s.png"));
    CHECK(s.shape(0) == 480);
    CHECK(s.shape(1) == 640);
    CHECK(xt::amin(s)() < 0.5f);  // something was drawn

    std::vector<std::pair<std::string, std::vector<double>>> series = {{"train", {1.0, 0.5, 0.3, 0.25}},
                                                                       {"test", {1.1, 0.6, std::nan(""), 0.35}}};
    latent::line_plot(dir.file("l.png"), series, "loss", "epoch", "MSE");
    const auto l = latent::read_png_gray(dir.file("l.png"));
    CHECK(l.shape(0) == 600);
    CHECK(l.shape(1) == 800);

    CHECK_THROWS_AS(
        latent::scatter_plot(dir.file("x.png"), xt::xtensor<float, 2>::from_shape({3, 3}), d.labels, {}, "t"),
        latent::shape_error);
    CHECK_THROWS_WITH_AS(latent::scatter_plot(dir.file("x.png"), pts, latent::take(d, 0, 10).labels, {}, "t"),
                         doctest::Contains("expected 300 labels"), latent::shape_error);
    CHECK_THROWS_AS(latent::line_plot(dir.file("x.png"), {{"a", {std::nan("")}}}, "t", "x", "y"), latent::data_error);
    CHECK_THROWS_AS(latent::line_plot(dir.file("no/dir/x.png"), series, "t", "x", "y"), latent::io_error);
    CHECK_THROWS_AS(latent::line_plot(dir.file("tiny.png"), series, "t", "x", "y", 40, 30), latent::option_error);
  }
}

// ---------------------------------------------------------------------------------------------
// Persistence: save/load, optimiser state, checkpoints, the atomic writer and forged files.
namespace {
struct PEnc : latent::Seq<latent::Dense<6, 4, latent::Relu>, latent::Dense<4, 2, latent::Identity>> {};
struct PDec : latent::Seq<latent::Dense<2, 4, latent::Relu>, latent::Dense<4, 6, latent::Identity>> {};
using PModel = latent::Autoencoder<PEnc, PDec, latent::MSE>;

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}
void write_file(const std::string& path, const std::string& bytes) {
  std::ofstream(path, std::ios::binary).write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

// Little-endian values, as the format stores them (the test machines are little-endian).
template <class T>
void le(std::string& b, T v) {
  b.append(reinterpret_cast<const char*>(&v), sizeof v);
}
void le_string(std::string& b, const std::string& s) {
  le(b, static_cast<std::uint32_t>(s.size()));
  b += s;
}
template <class T>
void le_array(std::string& b, const std::vector<T>& v) {
  le(b, static_cast<std::uint64_t>(v.size()));
  for (T x : v) le(b, x);
}

/// A latent file holding `sections` in this order (repeated and unknown tags allowed) with a correct
/// CRC-32: what a forger who knows the format writes. Written independently of the library's writer.
std::string forged_file(const std::vector<std::pair<std::uint32_t, std::string>>& sections) {
  std::string b("\x89"
                "LATENT\n",
                8);
  le(b, std::uint32_t{1});
  le(b, std::uint32_t{0x01020304});
  for (const auto& [tag, bytes] : sections) {
    le(b, tag);
    le(b, static_cast<std::uint64_t>(bytes.size()));
    b += bytes;
  }
  le(b, static_cast<std::uint32_t>(crc32(0L, reinterpret_cast<const Bytef*>(b.data()), static_cast<uInt>(b.size()))));
  return b;
}

/// The fields of a model section, each of which a test may forge.
struct model_fields {
  std::string arch = PModel::architecture();
  std::uint32_t scalar = 4;
  std::vector<float> params;
  std::uint64_t words[4] = {1, 2, 3, 4};
  double spare = 0.5;
  std::uint8_t flag = 1;
  std::string reserved = std::string(7, '\0');
  std::uint64_t steps = 9;
  std::string trailing;
  model_fields() {
    for (std::size_t i = 0; i < PModel::param_count; ++i) params.push_back(0.01f * static_cast<float>(i));
  }
};
std::string model_section(const model_fields& f) {
  std::string b;
  le_string(b, f.arch);
  le(b, f.scalar);
  le_array(b, f.params);
  for (auto w : f.words) le(b, w);
  le(b, f.spare);
  le(b, f.flag);
  b += f.reserved;
  le(b, f.steps);
  return b + f.trailing;
}

std::vector<float> params_of(const PModel& m) { return {m.parameters().begin(), m.parameters().end()}; }
bool same_params(const PModel& a, const PModel& b) {
  return std::equal(a.parameters().begin(), a.parameters().end(), b.parameters().begin());
}

xt::xtensor<float, 2> persistence_data(std::size_t n) {
  latent::Rng rng(11);
  auto x = xt::xtensor<float, 2>::from_shape({n, std::size_t{6}});
  for (auto& v : x) v = static_cast<float>(rng.normal());
  return x;
}

/// Files in `dir` (to see that no temporary is left behind).
std::size_t files_in(const fs::path& dir) {
  std::size_t n = 0;
  for ([[maybe_unused]] const auto& e : fs::directory_iterator(dir)) ++n;
  return n;
}

/// Limits the size of files this process may write while it lives (writes beyond fail with EFBIG
/// instead of raising SIGXFSZ): a write that fails half-way, even as root.
struct file_size_limit {
  rlimit old{};
  void (*old_handler)(int);
  explicit file_size_limit(rlim_t bytes) {
    getrlimit(RLIMIT_FSIZE, &old);
    old_handler = std::signal(SIGXFSZ, SIG_IGN);
    rlimit now = old;
    now.rlim_cur = bytes;
    setrlimit(RLIMIT_FSIZE, &now);
  }
  ~file_size_limit() {
    setrlimit(RLIMIT_FSIZE, &old);
    std::signal(SIGXFSZ, old_handler);
  }
};

/// Fits 4 epochs straight through, and 2 epochs then a resume to 4 from the checkpoint with a fresh
/// model and a default-constructed optimiser (a new process): both must end bit-identical.
template <class Opt, class Make>
void check_resume_is_bit_identical(Make make) {
  temp_dir dir;
  const auto data = persistence_data(48);
  latent::FitOptions options{.epochs = 4, .batch_size = 8, .seed = 3, .progress = latent::Progress::quiet};
  options.checkpoint = dir.file("straight.ckpt");
  PModel straight(1);
  Opt o1 = make();
  const latent::History full = latent::fit(straight, data, o1, options);

  PModel first(1);
  Opt o2 = make();
  latent::FitOptions part = options;
  part.epochs = 2;
  part.checkpoint = dir.file("part.ckpt");
  latent::fit(first, data, o2, part);

  PModel resumed(77);
  Opt o3;
  latent::FitOptions rest = options;
  rest.checkpoint = part.checkpoint;
  rest.resume = true;
  const latent::History h = latent::fit(resumed, data, o3, rest);
  CHECK(h.loss == full.loss);
  CHECK(same_params(straight, resumed));
  CHECK(o3.clip_norm() == o1.clip_norm());
  CHECK(o3.iterations() == o1.iterations());
}
}  // namespace

TEST_SUITE("optimiser state") {
  TEST_CASE("save and load keep everything an optimiser's behaviour depends on") {
    temp_dir dir;
    const auto data = persistence_data(16);
    PModel m(1);
    latent::Adam adam(2e-3, 0.8, 0.99, 1e-6);
    adam.set_clip_norm(0.5);
    for (int i = 0; i < 3; ++i) m.train_batch(data.data(), 16, adam);
    latent::save(adam, dir.file("adam.bin"));
    latent::Adam a;
    latent::load(a, dir.file("adam.bin"));
    CHECK(a.learning_rate() == 2e-3);
    CHECK(a.beta1() == 0.8);
    CHECK(a.beta2() == 0.99);
    CHECK(a.epsilon() == 1e-6);
    CHECK(a.clip_norm() == 0.5);
    CHECK(a.iterations() == 3);
    for (int which : {0, 1})
      CHECK(std::equal(adam.state<float>(which).begin(), adam.state<float>(which).end(), a.state<float>(which).begin(),
                       a.state<float>(which).end()));

    latent::SGD sgd(0.05, 0.9, /*nesterov=*/true);
    sgd.set_clip_norm(0.25);
    for (int i = 0; i < 2; ++i) m.train_batch(data.data(), 16, sgd);
    latent::save(sgd, dir.file("sgd.bin"));
    latent::SGD s;  // nesterov false, clip 0: the file must override both
    latent::load(s, dir.file("sgd.bin"));
    CHECK(s.nesterov());
    CHECK(s.clip_norm() == 0.25);
    CHECK(s.learning_rate() == 0.05);
    CHECK(s.momentum() == 0.9);
    CHECK(s.iterations() == 2);
    CHECK(std::equal(sgd.velocity_state<float>().begin(), sgd.velocity_state<float>().end(),
                     s.velocity_state<float>().begin(), s.velocity_state<float>().end()));
    // The restored optimisers continue exactly as the saved ones.
    PModel m2 = m;
    m.train_batch(data.data(), 16, sgd);
    m2.train_batch(data.data(), 16, s);
    CHECK(same_params(m, m2));
  }

  TEST_CASE("a run with Adam's gradient clipping resumed from its checkpoint is bit-identical") {
    check_resume_is_bit_identical<latent::Adam>([] {
      latent::Adam a(1e-2);
      a.set_clip_norm(1e-4);
      return a;
    });
  }

  TEST_CASE("a run with Nesterov SGD resumed from its checkpoint is bit-identical") {
    check_resume_is_bit_identical<latent::SGD>([] { return latent::SGD(0.05, 0.9, /*nesterov=*/true); });
    check_resume_is_bit_identical<latent::SGD>([] {
      latent::SGD s(0.05, 0.5, /*nesterov=*/true);
      s.set_clip_norm(1e-3);
      return s;
    });
  }

  TEST_CASE("optimiser files of the first layout still load, with clipping and Nesterov off") {
    temp_dir dir;
    std::string adam;
    le_string(adam, "Adam");
    for (double v : {2e-3, 0.8, 0.99, 1e-6}) le(adam, v);
    le(adam, std::uint64_t{3});
    le_array(adam, std::vector<float>{0.1f, -0.2f});
    le_array(adam, std::vector<float>{0.01f, 0.04f});
    le_array(adam, std::vector<double>{});
    le_array(adam, std::vector<double>{});
    write_file(dir.file("adam1.bin"), forged_file({{2, adam}}));
    latent::Adam a;
    a.set_clip_norm(0.7);
    latent::load(a, dir.file("adam1.bin"));
    CHECK(a.clip_norm() == 0);
    CHECK(a.learning_rate() == 2e-3);
    CHECK(a.iterations() == 3);
    REQUIRE(a.state<float>(1).size() == 2);
    CHECK(a.state<float>(1)[1] == 0.04f);

    std::string sgd;
    le_string(sgd, "SGD");
    for (double v : {0.05, 0.9}) le(sgd, v);
    le(sgd, std::uint64_t{2});
    le_array(sgd, std::vector<float>{0.5f});
    le_array(sgd, std::vector<double>{});
    write_file(dir.file("sgd1.bin"), forged_file({{2, sgd}}));
    latent::SGD s(0.01, 0.5, /*nesterov=*/true);
    latent::load(s, dir.file("sgd1.bin"));
    CHECK_FALSE(s.nesterov());
    CHECK(s.momentum() == 0.9);
    CHECK(s.iterations() == 2);

    // A file written by the previous version of latent (the fuzzer's seed).
    latent::Adam old;
    latent::load(old, (fs::path(LATENT_TEST_DATA_DIR).parent_path() / "fuzz/corpus/load/adam").string());
    CHECK(old.iterations() == 1);
    CHECK(old.clip_norm() == 0);
  }

  TEST_CASE("set_learning_rate and set_clip_norm refuse what the constructors refuse") {
    const double inf = std::numeric_limits<double>::infinity();
    const double nan = std::numeric_limits<double>::quiet_NaN();
    latent::Adam a(1e-3);
    latent::SGD s(1e-2);
    a.set_clip_norm(1.0);
    s.set_clip_norm(1.0);
    for (double bad : {inf, -inf, nan, -1.0, 0.0}) {
      CAPTURE(bad);
      CHECK_THROWS_WITH_AS(a.set_learning_rate(bad), doctest::Contains("expected a finite learning rate > 0"),
                           latent::option_error);
      CHECK_THROWS_WITH_AS(s.set_learning_rate(bad), doctest::Contains("expected a finite learning rate > 0"),
                           latent::option_error);
      CHECK_THROWS_AS(latent::Adam{bad}, latent::option_error);
      CHECK_THROWS_AS(latent::SGD{bad}, latent::option_error);
    }
    for (double bad : {inf, nan, -1.0}) {
      CAPTURE(bad);
      CHECK_THROWS_AS(a.set_clip_norm(bad), latent::option_error);
      CHECK_THROWS_AS(s.set_clip_norm(bad), latent::option_error);
    }
    CHECK_THROWS_AS(latent::Adam(1e-3, 0.9, 0.999, inf), latent::option_error);
    CHECK(a.learning_rate() == 1e-3);
    CHECK(s.learning_rate() == 1e-2);
    CHECK(a.clip_norm() == 1.0);
    CHECK(s.clip_norm() == 1.0);
    a.set_learning_rate(5e-4);
    CHECK(a.learning_rate() == 5e-4);
  }
}

TEST_SUITE("atomic writer") {
  TEST_CASE("threads saving different models to one path leave one of them, whole") {
    temp_dir dir;
    const std::string path = dir.file("m.bin");
    std::vector<PModel> models;
    for (std::uint64_t i = 0; i < 4; ++i) models.emplace_back(100 + i);
    latent::save(models[0], path);
    std::atomic<bool> done{false};
    std::atomic<int> failed_loads{0}, failed_saves{0};
    std::thread reader([&] {
      PModel r(0);
      while (!done) {
        try {
          latent::load(r, path);
        } catch (const latent::error&) {
          ++failed_loads;
        }
      }
    });
    std::vector<std::thread> writers;
    for (std::size_t t = 0; t < models.size(); ++t)
      writers.emplace_back([&, t] {
        for (int k = 0; k < 25; ++k) {
          try {
            latent::save(models[t], path);
          } catch (const latent::error&) {
            ++failed_saves;
          }
        }
      });
    for (auto& w : writers) w.join();
    done = true;
    reader.join();
    CHECK(failed_saves == 0);
    CHECK(failed_loads == 0);  // a reader always sees a whole file, the old one or the new one
    PModel back(0);
    latent::load(back, path);
    CHECK(std::any_of(models.begin(), models.end(), [&](const PModel& m) { return same_params(m, back); }));
    CHECK(files_in(dir.path) == 1);  // no temporary left
  }

  TEST_CASE("two processes saving to one path leave one of the two models, whole") {
    temp_dir dir;
    const std::string path = dir.file("m.bin");
    const PModel a(1), b(2);
    const pid_t child = fork();
    REQUIRE(child >= 0);
    if (child == 0) {
      int status = 0;
      for (int k = 0; k < 30; ++k) {
        try {
          latent::save(b, path);
        } catch (...) {
          status = 1;
        }
      }
      _exit(status);
    }
    for (int k = 0; k < 30; ++k) latent::save(a, path);
    int status = -1;
    REQUIRE(waitpid(child, &status, 0) == child);
    CHECK(WIFEXITED(status));
    CHECK(WEXITSTATUS(status) == 0);
    PModel back(0);
    latent::load(back, path);
    CHECK((same_params(back, a) || same_params(back, b)));
    CHECK(files_in(dir.path) == 1);
  }

  TEST_CASE("writers killed during saves leave no temporary once the next save is done") {
    // 2 writers save a 2 MB .npz in a loop and are SIGKILLed at random moments, 20 times; each save
    // first removes the temporaries of dead writers (io/atomic_file.hpp), so litter stays at about one
    // per killed round, and the parent's save leaves the target alone. (Before, 48 of 60 kills left a
    // 4 MB temporary each, and no later save removed any.)
    temp_dir dir;
    const std::string path = dir.file("ckpt.npz");
    const auto tensor = [](double k) {
      latent::NamedTensor t{"w", {512, 1024}, std::vector<double>(512 * 1024), "<f4"};
      for (std::size_t i = 0; i < t.values.size(); ++i) t.values[i] = k * 1000 + static_cast<double>(i % 997);
      return std::vector<latent::NamedTensor>{t};
    };
    const std::vector<latent::NamedTensor> mine = tensor(0);
    // Encoded once (encoding takes longer than writing): the children only write, as write_npz does.
    const std::string theirs[2] = {latent::npz_bytes(tensor(1)), latent::npz_bytes(tensor(2))};
    const auto written_by = [&](double k) {
      const auto back = latent::read_npz(path);  // the CRC-32 is checked: a whole file
      return back.size() == 1 && back[0].values.size() == mine[0].values.size() &&
             std::equal(back[0].values.begin(), back[0].values.end(), tensor(k)[0].values.begin());
    };
    latent::Rng rng(5);
    std::size_t most_left = 0;
    for (int round = 0; round < 20; ++round) {
      pid_t writers[2];
      for (int w = 0; w < 2; ++w) {
        writers[w] = fork();
        REQUIRE(writers[w] >= 0);
        if (writers[w] == 0) {
          try {
            for (;;) latent::detail::write_file_atomically(path, theirs[w], "write_npz");
          } catch (...) {
            _exit(1);
          }
        }
      }
      std::this_thread::sleep_for(std::chrono::microseconds(static_cast<long>(rng.uniform(1000, 40000))));
      for (const pid_t w : writers) REQUIRE(kill(w, SIGKILL) == 0);
      for (const pid_t w : writers) {
        int status = 0;
        REQUIRE(waitpid(w, &status, 0) == w);
        CHECK((WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL));  // killed, not failed
      }
      const std::size_t left = files_in(dir.path) - (fs::exists(path) ? 1 : 0);
      most_left = std::max(most_left, left);
    }
    INFO("most temporaries seen after a round: " << most_left);
    CHECK(most_left >= 1);  // the kills did land during saves
    CHECK(most_left <= 6);  // each round's writers removed the earlier rounds' temporaries
    if (fs::exists(path)) CHECK((written_by(1) || written_by(2)));
    latent::write_npz(path, mine);
    CHECK(files_in(dir.path) == 1);  // no temporary of a dead writer is left
    CHECK(written_by(0));
  }

  TEST_CASE("a save removes only dead writers' temporaries of its target: never a live one's, nor other files") {
    temp_dir dir;
    const std::string path = dir.file("m.bin");
    const auto host = latent::detail::this_writer_host();
    REQUIRE(host.known);  // a host name and /proc/self/ns/pid
    // A live writer: a process that has created its temporary (by the writer's own naming) and waits.
    int ready[2];
    REQUIRE(pipe(ready) == 0);
    const pid_t live = fork();
    REQUIRE(live >= 0);
    if (live == 0) {
      const auto tmp = latent::detail::temporary_name(path, host);
      std::ofstream(tmp) << "half a model";
      const std::string name = tmp.filename().string() + "\n";
      (void)!write(ready[1], name.data(), name.size());
      for (;;) pause();
    }
    close(ready[1]);
    std::string live_name;
    for (char c; read(ready[0], &c, 1) == 1 && c != '\n';) live_name += c;
    close(ready[0]);
    REQUIRE(fs::exists(dir.path / live_name));
    // A process id that names no process now: a child that has exited and been reaped.
    const pid_t gone = fork();
    REQUIRE(gone >= 0);
    if (gone == 0) _exit(0);
    REQUIRE(waitpid(gone, nullptr, 0) == gone);
    const std::string prefix = latent::detail::temporary_prefix(path, host), dead_id = std::to_string(gone);
    const std::string dead = prefix + dead_id + "-0-0123456789abcdef";
    const std::string kept[] = {
        ".m.bin.tmp-latent-otherhost-1-" + dead_id + "-0-0123456789abcdef",  // another host: cannot judge
        latent::detail::temporary_prefix(dir.file("n.bin"), host) + dead_id + "-0-0123456789abcdef",  // another target
        ".m.bin.tmp-latent-" + dead_id + "-0-0123456789abcdef",  // an older latent's name, without the host
        dead + ".bak",                                           // not a temporary's name
        prefix + "0-0-0123456789abcdef",                         // pid 0: never judged
        "notes.txt"};
    for (const auto& name : kept) std::ofstream(dir.path / name) << "x";
    std::ofstream(dir.path / dead) << "x";
    const PModel a(1);
    latent::save(a, path);
    CHECK(!fs::exists(dir.path / dead));
    CHECK(fs::exists(dir.path / live_name));
    for (const auto& name : kept) {
      CAPTURE(name);
      CHECK(fs::exists(dir.path / name));
    }
    // Once its writer is gone, the next save removes the live writer's temporary too.
    REQUIRE(kill(live, SIGKILL) == 0);
    REQUIRE(waitpid(live, nullptr, 0) == live);
    latent::save(a, path);
    CHECK(!fs::exists(dir.path / live_name));
    CHECK(files_in(dir.path) == 1 + std::size(kept));
    PModel back(0);
    latent::load(back, path);
    CHECK(same_params(back, a));
  }

  TEST_CASE("saving through a symbolic link writes the link's target; the link stays a link") {
    temp_dir dir;
    const PModel a(1), b(2);
    latent::save(a, dir.file("real.bin"));
    fs::create_symlink("real.bin", dir.file("link.bin"));
    latent::save(b, dir.file("link.bin"));
    CHECK(fs::is_symlink(dir.file("link.bin")));
    CHECK(fs::read_symlink(dir.file("link.bin")) == "real.bin");
    PModel back(0);
    latent::load(back, dir.file("real.bin"));
    CHECK(same_params(back, b));
    // A chain of links, the last one dangling (its target is created), into another directory.
    fs::create_directories(dir.path / "sub");
    fs::create_symlink("sub/new.bin", dir.file("dangling.bin"));
    fs::create_symlink(dir.file("dangling.bin"), dir.file("chain.bin"));
    latent::save(a, dir.file("chain.bin"));
    CHECK(fs::is_symlink(dir.file("chain.bin")));
    CHECK(fs::is_symlink(dir.file("dangling.bin")));
    CHECK(fs::is_regular_file(fs::symlink_status(dir.path / "sub" / "new.bin")));
    latent::load(back, dir.file("chain.bin"));
    CHECK(same_params(back, a));
    CHECK(files_in(dir.path / "sub") == 1);
    // Pictures go through the same writer.
    fs::create_symlink("pic.png", dir.file("pic-link.png"));
    latent::write_png(dir.file("pic-link.png"), xt::xtensor<float, 2>::from_shape({2, 3}));
    CHECK(fs::is_symlink(dir.file("pic-link.png")));
    CHECK(latent::read_png_gray(dir.file("pic.png")).shape(1) == 3);
  }

  TEST_CASE("a save that fails half-way keeps the old file, removes its temporary and says why") {
    temp_dir dir;
    const std::string path = dir.file("m.bin");
    const PModel a(1), b(2);
    latent::save(a, path);
    const std::string before = read_file(path);
    REQUIRE(before.size() > 200);
    auto img = xt::xtensor<float, 2>::from_shape({128, 128});  // noise: its PNG is far above the limit
    latent::Rng rng(3);
    for (auto& v : img) v = static_cast<float>(rng.uniform());
    latent::write_png(dir.file("p.png"), xt::xtensor<float, 2>::from_shape({2, 2}));
    const std::string png_before = read_file(dir.file("p.png"));
    {
      file_size_limit limit(100);
      CHECK_THROWS_WITH_AS(latent::save(b, path), doctest::Contains(std::strerror(EFBIG)), latent::io_error);
      CHECK_THROWS_WITH_AS(latent::write_png(dir.file("p.png"), img), doctest::Contains(std::strerror(EFBIG)),
                           latent::io_error);
    }
    CHECK(read_file(path) == before);
    CHECK(read_file(dir.file("p.png")) == png_before);
    CHECK(files_in(dir.path) == 2);  // m.bin and p.png, no temporary
    PModel back(0);
    latent::load(back, path);
    CHECK(same_params(back, a));
  }

  TEST_CASE("write errors give the system's reason: missing directory, a directory, a full device") {
    temp_dir dir;
    PModel m(1);
    CHECK_THROWS_WITH_AS(latent::save(m, dir.file("no/such/m.bin")), doctest::Contains(std::strerror(ENOENT)),
                         latent::io_error);
    CHECK_THROWS_WITH_AS(latent::save(m, dir.file("no/such/m.bin")),
                         doctest::Contains("expected an existing directory"), latent::io_error);
    CHECK_THROWS_WITH_AS(latent::save(m, dir.path.string()), doctest::Contains("expected a file, found a directory"),
                         latent::io_error);
    CHECK_THROWS_WITH_AS(latent::load(m, dir.path.string()), doctest::Contains("expected a file, found a directory"),
                         latent::io_error);
    latent::Adam opt;
    CHECK_THROWS_AS(latent::load(opt, dir.path.string()), latent::io_error);
    CHECK(!fs::exists(dir.file("no")));
    std::error_code ec;
    if (fs::is_character_file("/dev/full", ec)) {
      CHECK_THROWS_WITH_AS(latent::save(m, "/dev/full"), doctest::Contains(std::strerror(ENOSPC)), latent::io_error);
      CHECK_THROWS_WITH_AS(latent::write_png("/dev/full", xt::xtensor<float, 2>::from_shape({2, 2})),
                           doctest::Contains(std::strerror(ENOSPC)), latent::io_error);
      CHECK(fs::is_character_file("/dev/full", ec));  // written to, never replaced
    }
  }
}

TEST_SUITE("save_load") {
  TEST_CASE("inspect reads a file's architecture, scalar type and sizes without a model") {
    temp_dir dir;
    PModel m(5);
    const auto data = persistence_data(16);
    latent::Adam opt;
    for (int i = 0; i < 3; ++i) m.train_batch(data.data(), 16, opt);
    latent::save(m, dir.file("m.bin"));
    const latent::FileInfo a = latent::inspect(dir.file("m.bin"));
    CHECK(a.has_model);
    CHECK(a.architecture == PModel::architecture());
    CHECK(a.scalar_type == "float");
    CHECK(a.parameters == PModel::param_count);
    CHECK(a.training_steps == 3);
    CHECK(a.optimizer.empty());
    CHECK(!a.is_checkpoint);
    latent::Autoencoder<PEnc, PDec, latent::MSE, double> md(1);
    latent::save(md, dir.file("d.bin"));
    CHECK(latent::inspect(dir.file("d.bin")).scalar_type == "double");
    latent::save(opt, dir.file("o.bin"));
    const latent::FileInfo o = latent::inspect(dir.file("o.bin"));
    CHECK(!o.has_model);
    CHECK(o.optimizer == "Adam");
    CHECK(o.optimizer_steps == 3);
    latent::SGD sgd(0.1, 0.5, true);
    // A checkpoint: model, optimiser and the epoch.
    PModel c(2);
    const auto x = persistence_data(40);
    latent::fit(c, x, sgd,
                {.epochs = 2, .batch_size = 20, .progress = latent::Progress::quiet, .checkpoint = dir.file("c.ckpt")});
    const latent::FileInfo k = latent::inspect(dir.file("c.ckpt"));
    CHECK(k.is_checkpoint);
    CHECK(k.epochs_done == 2);
    CHECK(k.optimizer == "SGD");
    CHECK(k.optimizer_steps == 4);
    CHECK(k.training_steps == 4);
    // What load refuses, inspect refuses too.
    CHECK_THROWS_AS(latent::inspect(dir.file("missing.bin")), latent::io_error);
    std::string bytes = read_file(dir.file("m.bin"));
    bytes[40] = static_cast<char>(bytes[40] ^ 0x5a);
    write_file(dir.file("bad.bin"), bytes);
    CHECK_THROWS_WITH_AS(latent::inspect(dir.file("bad.bin")), doctest::Contains("checksum"), latent::format_error);
  }

  TEST_CASE("the same model saved twice gives the same bytes, with no undefined padding") {
    temp_dir dir;
    PModel m(5);
    const auto data = persistence_data(16);
    latent::Adam opt;
    m.train_batch(data.data(), 16, opt);
    latent::save(m, dir.file("a.bin"));
    latent::save(m, dir.file("b.bin"));
    const std::string a = read_file(dir.file("a.bin"));
    CHECK(a == read_file(dir.file("b.bin")));
    // The generator's 7 reserved bytes follow its flag: header 16, frame 12, architecture, scalar
    // size 4, count 8, parameters, words 32, spare 8, flag 1.
    const std::size_t at = 16 + 12 + 4 + PModel::architecture().size() + 4 + 8 + 4 * PModel::param_count + 32 + 8 + 1;
    REQUIRE(a.size() >= at + 7 + 8 + 4);
    CHECK(a.substr(at, 7) == std::string(7, '\0'));
    CHECK(a.size() == at + 7 + 8 + 4);  // then the step count and the checksum
    latent::save(opt, dir.file("o1.bin"));
    latent::save(opt, dir.file("o2.bin"));
    CHECK(read_file(dir.file("o1.bin")) == read_file(dir.file("o2.bin")));
  }

  TEST_CASE("a forged file with a valid checksum loads when every field is valid") {
    temp_dir dir;
    model_fields f;
    f.reserved = "\x01\x02\x03\x04\x05\x06\x07";  // files written before the padding was zeroed
    write_file(dir.file("ok.bin"), forged_file({{1, model_section(f)}}));
    PModel m(3);
    latent::load(m, dir.file("ok.bin"));
    CHECK(params_of(m) == f.params);
    const auto st = m.noise_state();
    CHECK(st.words[0] == 1);
    CHECK(st.words[3] == 4);
    CHECK(st.spare == 0.5);
    CHECK(st.has_spare);
    CHECK(m.training_steps() == 9);
  }

  TEST_CASE("forged files with a valid checksum are refused field by field; the model is unchanged") {
    temp_dir dir;
    const std::string path = dir.file("forged.bin");
    PModel m(3);
    const auto before = params_of(m);
    const auto noise_before = m.noise_state();
    auto refused = [&](const std::string& bytes, const char* message) {
      write_file(path, bytes);
      CHECK_THROWS_WITH_AS(latent::load(m, path), doctest::Contains(message), latent::format_error);
      CHECK(params_of(m) == before);
      CHECK(m.noise_state().words[0] == noise_before.words[0]);
      CHECK(m.noise_state().has_spare == noise_before.has_spare);
    };
    const float nan = std::numeric_limits<float>::quiet_NaN(), inf = std::numeric_limits<float>::infinity();
    model_fields f;
    f.flag = 2;
    refused(forged_file({{1, model_section(f)}}), "expected a generator flag of 0 or 1, found 2");
    f = {};
    f.params[3] = nan;
    refused(forged_file({{1, model_section(f)}}), "expected finite parameters, found nan at index 3");
    f = {};
    f.params[0] = -inf;
    refused(forged_file({{1, model_section(f)}}), "expected finite parameters");
    f = {};
    f.spare = std::numeric_limits<double>::infinity();
    refused(forged_file({{1, model_section(f)}}), "expected a finite cached normal");
    f = {};
    for (auto& w : f.words) w = 0;
    refused(forged_file({{1, model_section(f)}}), "found all zeros");
    f = {};
    f.trailing = "x";
    refused(forged_file({{1, model_section(f)}}), "found 1 more");
    f = {};
    f.scalar = 8;
    refused(forged_file({{1, model_section(f)}}), "expected 4-byte scalars, found 8-byte");
    f = {};
    refused(forged_file({{1, model_section(f)}, {1, model_section(f)}}), "found section 1 twice");
    refused(forged_file({{1, model_section(f)}, {7, "hidden"}}), "found an unknown section 7");
    refused(forged_file({{2, "x"}}), "holds no model");
    // Bytes from the file are escaped in the message.
    f.arch = "Autoencoder<\x1b[2J\nforged line>";
    write_file(path, forged_file({{1, model_section(f)}}));
    try {
      latent::load(m, path);
      FAIL("a forged architecture loaded");
    } catch (const latent::format_error& e) {
      const std::string what = e.what();
      CHECK(what.find("Autoencoder<\\x1b[2J\\x0aforged line>") != std::string::npos);
      CHECK(what.find('\x1b') == std::string::npos);
      CHECK(what.find('\n') == std::string::npos);
    }
    CHECK(params_of(m) == before);
  }

  TEST_CASE("forged optimiser states are refused with format_error; the optimiser is unchanged") {
    temp_dir dir;
    const std::string path = dir.file("opt.bin");
    auto adam = [](const std::string& kind, double lr, std::vector<float> v, const std::string& trailing) {
      std::string b;
      le_string(b, kind);
      for (double x : {lr, 0.9, 0.999, 1e-7, 0.0}) le(b, x);
      le(b, std::uint64_t{1});
      le_array(b, std::vector<float>(v.size(), 0.1f));
      le_array(b, v);
      le_array(b, std::vector<double>{});
      le_array(b, std::vector<double>{});
      return forged_file({{2, b + trailing}});
    };
    latent::Adam a(3e-3);
    auto refused = [&](const std::string& bytes, const char* message) {
      write_file(path, bytes);
      CHECK_THROWS_WITH_AS(latent::load(a, path), doctest::Contains(message), latent::format_error);
      CHECK(a.learning_rate() == 3e-3);
      CHECK(a.iterations() == 0);
    };
    write_file(path, adam("Adam/2", 1e-2, {0.5f}, ""));
    latent::Adam ok;
    latent::load(ok, path);  // the forger is right
    CHECK(ok.learning_rate() == 1e-2);
    refused(adam("Adam/4", 1e-2, {0.5f}, ""), "found layout 4");
    // Layout 3: weight decay, the bias flag, the schedule (kind, fields) and the plateau's state.
    auto extra = [](double wd, std::uint32_t kind, const std::string& fields, double scale) {
      std::string t;
      le(t, wd);
      le(t, std::uint8_t{1});
      le(t, kind);
      t += fields;
      le(t, scale);
      le(t, std::numeric_limits<double>::infinity());
      le(t, std::uint64_t{0});
      le(t, std::uint64_t{0});
      return t;
    };
    std::string step_fields;
    le(step_fields, std::uint64_t{10});
    le(step_fields, 0.5);
    write_file(path, adam("Adam/3", 1e-2, {0.5f}, extra(0.01, 1, step_fields, 0.5)));
    latent::Adam ok3;
    latent::load(ok3, path);
    CHECK(ok3.weight_decay() == 0.01);
    CHECK(std::string(ok3.schedule().name()) == "StepDecay");
    CHECK(ok3.schedule().state().scale == 0.5);
    refused(adam("Adam/3", 1e-2, {0.5f}, extra(-1, 0, "", 1)), "expected a finite weight decay >= 0, found -1");
    refused(adam("Adam/3", 1e-2, {0.5f}, extra(0, 7, "", 1)),
            "expected a learning-rate schedule of kind 0 to 4, found 7");
    std::string zero_every;
    le(zero_every, std::uint64_t{0});
    le(zero_every, 0.5);
    refused(adam("Adam/3", 1e-2, {0.5f}, extra(0, 1, zero_every, 1)), "StepDecay: expected every >= 1 step, found 0");
    refused(adam("Adam/3", 1e-2, {0.5f}, extra(0, 0, "", 0)), "expected a schedule scale in (0, 1]");
    refused(adam("Adam/3", 1e-2, {0.5f}, extra(0, 1, step_fields, 1).substr(0, 20)), "truncated");
    refused(adam("Adam/2", std::numeric_limits<double>::quiet_NaN(), {0.5f}, ""), "expected a finite learning rate");
    refused(adam("Adam/2", 1e-2, {-0.5f}, ""), "expected second moments >= 0");
    refused(adam("Adam/2", 1e-2, {std::numeric_limits<float>::infinity()}, ""), "expected finite second moments");
    refused(adam("Adam/2", 1e-2, {0.5f}, "zz"), "found 2 more");
    refused(adam("SGD/2", 1e-2, {0.5f}, ""), "not of Adam");

    std::string sgd;
    le_string(sgd, "SGD/2");
    for (double x : {0.01, 0.9, 0.0}) le(sgd, x);
    le(sgd, std::uint8_t{2});
    le(sgd, std::uint64_t{0});
    le_array(sgd, std::vector<float>{});
    le_array(sgd, std::vector<double>{});
    write_file(path, forged_file({{2, sgd}}));
    latent::SGD s(0.5);
    CHECK_THROWS_WITH_AS(latent::load(s, path), doctest::Contains("expected Nesterov's flag to be 0 or 1, found 2"),
                         latent::format_error);
    CHECK(s.learning_rate() == 0.5);
  }

  TEST_CASE("lengths are checked against the file before anything is allocated") {
    temp_dir dir;
    PModel m(1);
    const auto before = params_of(m);
    // A 3 GiB file that is not latent's (sparse: it costs no disk): refused after its magic number.
    const std::string big = dir.file("big.bin");
    write_file(big, "\x89PNG\r\n\x1a\nrest");
    if (::truncate(big.c_str(), off_t{3} << 30) == 0) {
      test_support::allocation_counter t;
      CHECK_THROWS_WITH_AS(latent::load(m, big), doctest::Contains("not a latent file"), latent::format_error);
      CHECK(t.largest() < (std::size_t{1} << 20));
    }
    fs::remove(big);
    // A latent header whose section claims 1 TiB.
    std::string lie("\x89"
                    "LATENT\n",
                    8);
    le(lie, std::uint32_t{1});
    le(lie, std::uint32_t{0x01020304});
    le(lie, std::uint32_t{1});
    le(lie, std::uint64_t{1} << 40);
    lie += std::string(100, 'x');
    write_file(dir.file("lie.bin"), lie);
    {
      test_support::allocation_counter t;
      CHECK_THROWS_WITH_AS(latent::load(m, dir.file("lie.bin")), doctest::Contains("claims 1099511627776 bytes"),
                           latent::format_error);
      CHECK(t.largest() < (std::size_t{1} << 20));
    }
    // The same through a pipe, whose size is unknown: memory grows only with the bytes that arrive.
    const std::string fifo = dir.file("pipe");
    REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
    std::thread writer([&] { write_file(fifo, lie); });
    {
      test_support::allocation_counter t;
      CHECK_THROWS_WITH_AS(latent::load(m, fifo), doctest::Contains("truncated"), latent::format_error);
      CHECK(t.largest() < (std::size_t{1} << 20));
    }
    writer.join();
    CHECK(params_of(m) == before);
  }
}

TEST_SUITE("bounded reads") {
  TEST_CASE("an IDX header claiming 2^31 bytes allocates only what the file holds") {
    temp_dir dir;
    std::vector<unsigned char> b;
    put_u32(b, 0x00000803);
    put_u32(b, 2);
    put_u32(b, 32768);
    put_u32(b, 32768);  // 2 x 32768 x 32768 = 2^31 bytes claimed
    b.resize(b.size() + 10, 7);
    write_bytes(dir.file("plain"), b);
    write_gzip(dir.file("packed.gz"), b);
    {
      test_support::allocation_counter t;
      CHECK_THROWS_WITH_AS(latent::read_idx_images(dir.file("plain")),
                           doctest::Contains("expected 2147483648 bytes after the header, found 10"),
                           latent::format_error);
      CHECK(t.largest() < (std::size_t{1} << 16));
    }
    {
      test_support::allocation_counter t;
      CHECK_THROWS_WITH_AS(latent::read_idx_images(dir.file("packed.gz")),
                           doctest::Contains("expected 2147483648 bytes after the header, found 10"),
                           latent::format_error);
      CHECK(t.largest() < (std::size_t{1} << 20));
    }
    {
      test_support::allocation_counter t;
      CHECK_THROWS_AS(latent::read_idx_images_from_memory(b.data(), b.size()), latent::format_error);
      CHECK(t.largest() < (std::size_t{1} << 16));
    }
    // A real gzip file larger than the first buffer still reads whole.
    const auto images = idx_images_bytes(300, 28, 28);
    write_gzip(dir.file("real.gz"), images);
    const auto x = latent::read_idx_images(dir.file("real.gz"));
    CHECK(x.shape(0) == 300);
    CHECK(x(299, 783) == static_cast<float>(((299 * 784 + 783) * 7) % 256) / 255.0f);
    CHECK_THROWS_WITH_AS(latent::read_idx_images(dir.path.string()), doctest::Contains("found a directory"),
                         latent::io_error);
  }
}

TEST_SUITE("error texts") {
  TEST_CASE("escape_bytes keeps printable ASCII and escapes every other byte") {
    CHECK(latent::detail::escape_bytes("plain text <1,2>") == "plain text <1,2>");
    CHECK(latent::detail::escape_bytes(std::string("a\\b\x01\x7f\xc3\xa9\n\0z", 10)) ==
          "a\\\\b\\x01\\x7f\\xc3\\xa9\\x0a\\x00z");
    CHECK(latent::detail::escape_bytes(std::string(100, 'a'), 10) == "aaaaaaaaaa...");
  }

  TEST_CASE("CSV accepts numbers that round to a denormal or to zero, refuses ones too large") {
    const auto d =
        latent::parse_csv("1e-50,-1e-50,1e-40,1e-400,-1e-400,0.00000000000000000000000000000000000000000000001\n");
    CHECK(d.x(0, 0) == 0.0f);
    CHECK_FALSE(std::signbit(d.x(0, 0)));
    CHECK(d.x(0, 1) == 0.0f);
    CHECK(std::signbit(d.x(0, 1)));
    CHECK(d.x(0, 2) == static_cast<float>(1e-40));
    CHECK(d.x(0, 2) > 0.0f);
    CHECK(d.x(0, 3) == 0.0f);
    CHECK(std::signbit(d.x(0, 4)));
    CHECK(d.x(0, 5) == 0.0f);
    CHECK_THROWS_WITH_AS(latent::parse_csv("1e39\n"), doctest::Contains("out of the range of float"),
                         latent::data_error);
    CHECK_THROWS_WITH_AS(latent::parse_csv("-1e400\n"), doctest::Contains("out of the range of float"),
                         latent::data_error);
    CHECK_THROWS_AS(latent::parse_csv("1e-50x\n"), latent::format_error);
  }

  TEST_CASE("CSV cells quoted in messages have their control bytes escaped") {
    try {
      (void)latent::parse_csv("1,2\n3,\x01"
                              "ab\x1b[0m\n");
      FAIL("parsed");
    } catch (const latent::format_error& e) {
      const std::string what = e.what();
      CHECK(what.find("found '\\x01ab\\x1b[0m'") != std::string::npos);
      CHECK(what.find('\x01') == std::string::npos);
      CHECK(what.find('\x1b') == std::string::npos);
    }
    latent::CsvOptions label;
    label.label_column = 0;
    CHECK_THROWS_WITH_AS(latent::parse_csv("\x7f"
                                           "1,2\n",
                                           label),
                         doctest::Contains("found '\\x7f1'"), latent::format_error);
  }
}

// ---------------------------------------------------------------------------------------------
// NpyShards: rows streamed from .npy files through a shuffle buffer.
namespace {

/// "<stem><i>.npy" (appended: g++ 12 warns falsely on "a" + std::string&&, bug 105651).
std::string shard_name(const char* stem, std::size_t i) {
  std::string name = stem;
  name += std::to_string(i);
  name += ".npy";
  return name;
}

/// doctest's matcher for a message that contains `text` (a std::string).
doctest::Contains contains(const std::string& text) { return doctest::Contains(text.c_str()); }

/// A .npy file with the header dict `dict`, version `major`.0 and the data bytes `data`, written as is
/// (so that tests can forge every field).
void write_npy_raw(const std::string& path, std::string dict, const std::string& data, int major = 1,
                   const std::string& magic = std::string("\x93NUMPY", 6)) {
  const std::size_t prefix = major == 1 ? 10 : 12;
  while ((prefix + dict.size() + 1) % 64 != 0) dict += ' ';
  dict += '\n';
  std::string b = magic;
  b += static_cast<char>(major);
  b += '\0';
  for (std::size_t i = 0; i < prefix - 8; ++i) b += static_cast<char>((dict.size() >> (8 * i)) & 0xff);
  b += dict + data;
  std::ofstream f(path, std::ios::binary);
  f.write(b.data(), static_cast<std::streamsize>(b.size()));
}

std::string npy_dict(const std::string& descr, const std::string& shape, bool fortran = false) {
  return "{'descr': '" + descr + "', 'fortran_order': " + (fortran ? "True" : "False") + ", 'shape': " + shape + ", }";
}

template <class T>
std::string raw_bytes(const std::vector<T>& v) {
  return std::string(reinterpret_cast<const char*>(v.data()), v.size() * sizeof(T));
}

/// A shard of `rows` rows of width `width` whose row r holds id = first + r as id · 8 + k in column k.
void write_shard(const std::string& path, std::size_t first, std::size_t rows, std::size_t width = 3) {
  auto x = xt::xtensor<float, 2>::from_shape({rows, width});
  for (std::size_t r = 0; r < rows; ++r)
    for (std::size_t k = 0; k < width; ++k) x(r, k) = static_cast<float>((first + r) * 8 + k);
  latent::save_npy(path, x);
}

/// The ids of one epoch's rows, read `chunk` rows per `next`; every row checked to be whole.
std::vector<std::size_t> read_epoch(latent::NpyShards& s, std::uint64_t epoch, std::size_t chunk) {
  std::vector<std::size_t> ids;
  std::vector<float> out(chunk * s.width());
  s.start_epoch(epoch);
  while (const std::size_t n = s.next(out.data(), chunk)) {
    REQUIRE(n <= chunk);
    for (std::size_t r = 0; r < n; ++r) {
      const float* row = out.data() + r * s.width();
      const auto id = static_cast<std::size_t>(row[0]) / 8;
      for (std::size_t k = 0; k < s.width(); ++k) REQUIRE(row[k] == static_cast<float>(id * 8 + k));
      ids.push_back(id);
    }
    if (n < chunk) CHECK(s.next(out.data(), chunk) == 0);  // short only at the end
  }
  CHECK(s.next(out.data(), chunk) == 0);  // and it stays over
  return ids;
}

/// True when `ids` holds 0 .. n-1, each once.
bool each_once(std::vector<std::size_t> ids, std::size_t n) {
  std::sort(ids.begin(), ids.end());
  if (ids.size() != n) return false;
  for (std::size_t i = 0; i < n; ++i)
    if (ids[i] != i) return false;
  return true;
}

/// Five shards of 7, 0, 100, 1 and 33 rows (141 in all, ids in name order), and files the pattern
/// "*.npy" must not match.
void write_five_shards(const temp_dir& dir) {
  write_shard(dir.file("s0.npy"), 0, 7);
  write_shard(dir.file("s1.npy"), 7, 0);
  write_shard(dir.file("s2.npy"), 7, 100);
  write_shard(dir.file("s3.npy"), 107, 1);
  write_shard(dir.file("s4.npy"), 108, 33);
  write_shard(dir.file(".hidden.npy"), 1000, 5);  // '*' skips dot files (e.g. the atomic writer's temporaries)
  std::ofstream(dir.file("notes.txt")) << "not a shard";
}

}  // namespace

TEST_SUITE("npy_shards") {
  TEST_CASE("the documented loop: epochs of batches from a folder of shards") {
    temp_dir dir;
    for (std::size_t f = 0; f < 3; ++f) write_shard(dir.file(shard_name("acts_", f)), 100 * f, 100, 16);
    using namespace latent;
    const std::string folder = dir.path.string();
    NpyShards acts(folder + "/acts_*.npy", {.shuffle_buffer_rows = 1 << 16, .block_rows = 4096, .seed = 1});
    std::vector<float> batch(64 * acts.width());
    std::size_t seen = 0;
    for (std::uint64_t epoch = 0; epoch < 2; ++epoch) {
      acts.start_epoch(epoch);
      while (std::size_t n = acts.next(batch.data(), 64)) {
        seen += n;  // n rows of acts.width() floats: one training step
      }
    }
    CHECK(acts.width() == 16);
    CHECK(acts.rows() == 300);
    CHECK(seen == 2 * acts.rows());
  }

  TEST_CASE("without shuffling, every row once, in the files' name order and row order") {
    temp_dir dir;
    write_five_shards(dir);
    latent::NpyShards s(dir.file("*.npy"), {.shuffle_buffer_rows = 0, .block_rows = 4});
    CHECK(s.width() == 3);
    CHECK(s.rows() == 141);
    CHECK(s.total_rows() == 141);
    REQUIRE(s.files().size() == 5);
    for (std::size_t i = 0; i < 5; ++i) CHECK(s.files()[i] == dir.file(shard_name("s", i)));
    CHECK(s.buffer_rows() == 0);
    CHECK(s.block_rows() == 4);
    for (const std::size_t chunk : {1, 5, 64, 1000}) {
      const std::vector<std::size_t> ids = read_epoch(s, 3, chunk);
      REQUIRE(ids.size() == 141);
      for (std::size_t i = 0; i < 141; ++i) CHECK(ids[i] == i);
    }
    // A list keeps its order; a braced one too.
    latent::NpyShards listed({dir.file("s4.npy"), dir.file("s0.npy")}, {.shuffle_buffer_rows = 0});
    const std::vector<std::size_t> ids = read_epoch(listed, 0, 16);
    REQUIRE(ids.size() == 40);
    CHECK(ids.front() == 108);
    CHECK(ids[33] == 0);
  }

  TEST_CASE("with a shuffle buffer, every row once; the seed and the epoch fix the order") {
    temp_dir dir;
    write_five_shards(dir);
    for (const std::size_t buffer : {1, 8, 140, 141, 100000}) {
      for (const std::size_t block : {1, 5, 4096}) {
        CAPTURE(buffer);
        CAPTURE(block);
        latent::NpyShards s(dir.file("*.npy"), {.shuffle_buffer_rows = buffer, .block_rows = block, .seed = 7});
        CHECK(s.buffer_rows() == std::min<std::size_t>(buffer, 141));  // never more rows than the data
        CHECK(s.block_rows() == std::min<std::size_t>(block, 100));    // nor than the largest file
        const std::vector<std::size_t> e0 = read_epoch(s, 0, 16);
        CHECK(each_once(e0, 141));
        // The same seed and epoch: the same order, however the rows are asked for, in a new source too.
        CHECK(read_epoch(s, 0, 1) == e0);
        latent::NpyShards again(dir.file("*.npy"), {.shuffle_buffer_rows = buffer, .block_rows = block, .seed = 7});
        CHECK(read_epoch(again, 0, 1000) == e0);
        // Another epoch or another seed: another order (the file order changes even with a buffer of 1).
        const std::vector<std::size_t> e1 = read_epoch(s, 1, 16);
        CHECK(each_once(e1, 141));
        CHECK(e1 != e0);
        latent::NpyShards other(dir.file("*.npy"), {.shuffle_buffer_rows = buffer, .block_rows = block, .seed = 8});
        CHECK(read_epoch(other, 0, 16) != e0);
      }
    }
  }

  TEST_CASE("the buffer is not a full shuffle: the p-th row comes from the first buffer + p rows read") {
    temp_dir dir;
    write_shard(dir.file("one.npy"), 0, 1000);
    latent::NpyShards s(dir.file("one.npy"), {.shuffle_buffer_rows = 8, .block_rows = 64, .seed = 3});
    const std::vector<std::size_t> ids = read_epoch(s, 0, 100);
    REQUIRE(each_once(ids, 1000));
    std::size_t moved = 0;
    for (std::size_t p = 0; p < ids.size(); ++p) {
      CHECK(ids[p] < 8 + p);
      moved += ids[p] != p;
    }
    CHECK(moved > 500);  // but it does move rows
    // A buffer as large as the data is a uniform permutation: the first row may come from anywhere.
    latent::NpyShards whole(dir.file("one.npy"), {.shuffle_buffer_rows = 1000, .seed = 3});
    const std::vector<std::size_t> all = read_epoch(whole, 0, 100);
    CHECK(each_once(all, 1000));
    CHECK(*std::max_element(all.begin(), all.begin() + 10) >= 100);
  }

  TEST_CASE("memory is the buffer and one block, whatever the data's size") {
    temp_dir dir;
    for (std::size_t f = 0; f < 4; ++f) write_shard(dir.file(shard_name("m", f)), 500 * f, 500, 8);
    std::vector<float> out(32 * 8);
    {
      test_support::allocation_counter t;
      latent::NpyShards s(dir.file("m*.npy"), {.shuffle_buffer_rows = 64, .block_rows = 16, .seed = 1});
      CHECK(s.rows() == 2000);  // 64 000 bytes of floats
      CHECK(s.buffer_rows() == 64);
      CHECK(s.block_rows() == 16);
      CHECK(s.memory_bytes() == 64 * 8 * 4 + 16 * 8 * 4);
      std::size_t seen = 0;
      for (std::uint64_t epoch = 0; epoch < 2; ++epoch) {
        s.start_epoch(epoch);
        while (const std::size_t n = s.next(out.data(), 32)) seen += n;
      }
      t.stop();
      CHECK(seen == 4000);
      CHECK(t.largest() <= 64 * 8 * 4);  // the buffer is the largest allocation, nothing grows with the data
    }
    // A buffer asked far larger than the data holds only the data.
    latent::NpyShards big(dir.file("m*.npy"), {.shuffle_buffer_rows = std::size_t{1} << 40, .block_rows = 1 << 30});
    CHECK(big.buffer_rows() == 2000);
    CHECK(big.block_rows() == 500);
    CHECK(big.memory_bytes() == 2000 * 8 * 4 + 500 * 8 * 4);
  }

  TEST_CASE("'<f2' and '<f8' become floats, exactly where a float holds the value; versions 2.0 and 3.0") {
    temp_dir dir;
    // Halves: 1, -2, 0.5, 65504 (the largest), 2^-24 (the smallest subnormal), 2^-14, -0, infinity.
    const std::vector<std::uint16_t> halves = {0x3C00, 0xC000, 0x3800, 0x7BFF, 0x0001, 0x0400, 0x8000, 0x7C00};
    const std::vector<float> half_values = {1.0f,     -2.0f,    0.5f,  65504.0f,
                                            0x1p-24f, 0x1p-14f, -0.0f, std::numeric_limits<float>::infinity()};
    const std::vector<double> doubles = {0.5, -3.25, 0x1p-126, 16777216.0, 0x1.fffffep127, -0.0, 1e-3, 0.1};
    const std::vector<float> singles = {1.5f, -7.0f, 3.0e38f, 0x1p-149f, 2.0f, 4.0f, 8.0f, 16.0f};
    write_npy_raw(dir.file("a_half.npy"), npy_dict("<f2", "(2, 4)"), raw_bytes(halves));
    write_npy_raw(dir.file("b_double.npy"), npy_dict("<f8", "(2, 4)"), raw_bytes(doubles), 2);
    write_npy_raw(dir.file("c_single.npy"), npy_dict("<f4", "(2, 4)"), raw_bytes(singles), 3);
    for (const std::size_t buffer : {0, 6}) {
      CAPTURE(buffer);
      latent::NpyShards s(dir.file("*.npy"), {.shuffle_buffer_rows = buffer, .block_rows = 1});
      CHECK(s.memory_bytes() == std::min<std::size_t>(buffer, 6) * 4 * 4 + 4 * 8);  // a block of the widest
      std::vector<float> out(6 * 4);
      s.start_epoch(0);
      REQUIRE(s.next(out.data(), 6) == 6);
      CHECK(s.next(out.data(), 6) == 0);
      // Each expected row found once (the buffer may reorder rows, never the values within one).
      std::vector<float> want = half_values;
      for (const double d : doubles) want.push_back(static_cast<float>(d));
      want.insert(want.end(), singles.begin(), singles.end());
      std::vector<int> found(6, 0);
      for (std::size_t r = 0; r < 6; ++r)
        for (std::size_t w = 0; w < 6; ++w)
          if (std::memcmp(out.data() + 4 * r, want.data() + 4 * w, 16) == 0) ++found[w];  // bits: -0 is not +0
      for (std::size_t w = 0; w < 6; ++w) CHECK(found[w] == 1);
    }
    // The representable doubles are exact; 0.1 and 1e-3 round to the nearest float.
    CHECK(static_cast<float>(doubles[2]) == 0x1p-126f);
    CHECK(static_cast<float>(doubles[4]) == 0x1.fffffep127f);
    // A half's NaN stays a NaN.
    write_npy_raw(dir.file("nan.npy"), npy_dict("<f2", "(1, 1)"), raw_bytes(std::vector<std::uint16_t>{0x7E00}));
    latent::NpyShards nan(dir.file("nan.npy"), {.shuffle_buffer_rows = 0});
    float v = 0;
    nan.start_epoch(0);
    REQUIRE(nan.next(&v, 1) == 1);
    CHECK(std::isnan(v));
  }

  TEST_CASE("files that cannot be used are format_errors naming the file and the numbers") {
    temp_dir dir;
    write_shard(dir.file("good.npy"), 0, 4);
    const std::string data = raw_bytes(std::vector<float>(12, 1.0f));
    const auto refused = [&](const std::string& name, const std::string& text) {
      CAPTURE(name);
      CHECK_THROWS_WITH_AS(latent::NpyShards({dir.file("good.npy"), dir.file(name)}),
                           contains("NpyShards: " + dir.file(name) + ": " + text), latent::format_error);
    };
    write_npy_raw(dir.file("magic.npy"), npy_dict("<f4", "(4, 3)"), data, 1, "\x93NUMPZ");
    refused("magic.npy", "expected a .npy file (magic \\x93NUMPY), found '\\x93NUMPZ\\x01\\x00'");
    write_npy_raw(dir.file("version.npy"), npy_dict("<f4", "(4, 3)"), data, 4);
    refused("version.npy", "expected .npy version 1.0, 2.0 or 3.0, found 4.0");
    write_npy_raw(dir.file("int.npy"), npy_dict("<i4", "(4, 3)"), data);
    refused("int.npy", "expected dtype '<f4', '<f2' or '<f8', found '<i4'");
    write_npy_raw(dir.file("big_endian.npy"), npy_dict(">f4", "(4, 3)"), data);
    refused("big_endian.npy", "expected dtype '<f4', '<f2' or '<f8', found '>f4'");
    write_npy_raw(dir.file("fortran.npy"), npy_dict("<f4", "(4, 3)", true), data);
    refused("fortran.npy", "expected C order (fortran_order False), found fortran_order True");
    write_npy_raw(dir.file("cube.npy"), npy_dict("<f4", "(2, 2, 3)"), data);
    refused("cube.npy", "expected a 2-D shape (rows, width), found (2, 2, 3) (3-D)");
    write_npy_raw(dir.file("flat.npy"), npy_dict("<f4", "(12,)"), data);
    refused("flat.npy", "expected a 2-D shape (rows, width), found (12,) (1-D)");
    write_npy_raw(dir.file("text.npy"), npy_dict("<f4", "(4, x)"), data);
    refused("text.npy", "expected a shape of integers, found '(4, x)'");
    write_npy_raw(dir.file("wide.npy"), npy_dict("<f4", "(2, 6)"), data);
    refused("wide.npy", "expected width 3 (as " + dir.file("good.npy") + "), found 6");
    // Truncated, and too long: the expected size from the header, the size found.
    write_npy_raw(dir.file("short.npy"), npy_dict("<f4", "(4, 3)"), data.substr(0, 47));
    refused("short.npy",
            "expected 176 bytes (a 128-byte header and 4 x 3 values of '<f4'), found 175 (the file is truncated)");
    write_npy_raw(dir.file("long.npy"), npy_dict("<f4", "(4, 3)"), data + "x");
    refused("long.npy",
            "expected 176 bytes (a 128-byte header and 4 x 3 values of '<f4'), found 177 (bytes after the data)");
    write_npy_raw(dir.file("lying.npy"), npy_dict("<f4", "(4000000000000, 3)"), data);
    refused("lying.npy", "expected 48000000000128 bytes");
    write_bytes(dir.file("tiny.npy"), {0x93, 'N', 'U'});
    refused("tiny.npy", "expected a .npy file (magic \\x93NUMPY), found '\\x93NU' (3 bytes)");
    write_npy_raw(dir.file("header.npy"), "{'descr': '<f4', 'shape': (4, 3), }", data);
    refused("header.npy", "expected 'fortran_order' in the .npy header");
    // Not files, and options out of range.
    CHECK_THROWS_WITH_AS(latent::NpyShards(dir.file("*.npz")),
                         contains("expected files matching the pattern '" + dir.file("*.npz") + "', found none"),
                         latent::io_error);
    CHECK_THROWS_WITH_AS(latent::NpyShards(dir.file("no_folder/*.npy")),
                         contains("cannot read a directory on the path of the pattern '" + dir.file("no_folder/*.npy") +
                                  "': No such file or directory"),
                         latent::io_error);
    CHECK_THROWS_WITH_AS(latent::NpyShards({dir.file("missing.npy")}),
                         contains(dir.file("missing.npy") + ": cannot open"), latent::io_error);
    CHECK_THROWS_WITH_AS(latent::NpyShards(std::vector<std::string>{}), contains("at least one file"),
                         latent::option_error);
    CHECK_THROWS_AS(latent::NpyShards(dir.file("good.npy"), {.block_rows = 0}), latent::option_error);
    CHECK_THROWS_AS(latent::NpyShards(dir.file("good.npy"), {.rank = 1, .ranks = 1}), latent::option_error);
    CHECK_THROWS_WITH_AS(latent::NpyShards(dir.file("good.npy"), {.rank = 1, .ranks = 2}),
                         contains("found 1 files for 2 ranks"), latent::option_error);
    latent::NpyShards good(dir.file("good.npy"));
    float row[3];
    CHECK_THROWS_WITH_AS(good.next(row, 1), contains("call start_epoch first"), latent::option_error);
    good.start_epoch(0);
    CHECK_THROWS_AS(good.next(row, 0), latent::option_error);
    CHECK(good.next(row, 1) == 1);
  }

  TEST_CASE("a file changed after construction is an error on read; start_epoch again recovers") {
    temp_dir dir;
    for (std::size_t f = 0; f < 3; ++f) write_shard(dir.file(shard_name("c", f)), 20 * f, 20);
    const std::string victim = dir.file("c1.npy");
    for (const std::size_t buffer : {0, 8}) {
      CAPTURE(buffer);
      latent::NpyShards s(dir.file("c*.npy"), {.shuffle_buffer_rows = buffer, .block_rows = 4, .seed = 2});
      std::vector<float> out(16 * 3);
      // Shrunk: the size the header promised, the size found.
      REQUIRE(::truncate(victim.c_str(), 128 + 20 * 12 - 12) == 0);
      s.start_epoch(0);
      CHECK_THROWS_WITH_AS(
          while (s.next(out.data(), 16) != 0){},
          contains(victim + ": expected 368 bytes (a 128-byte header and 20 x 3 values of '<f4'), found 356"),
          latent::format_error);
      CHECK_THROWS_WITH_AS(s.next(out.data(), 16), contains("call start_epoch first"), latent::option_error);
      // Removed: io_error naming it.
      fs::remove(victim);
      s.start_epoch(0);
      CHECK_THROWS_WITH_AS(while (s.next(out.data(), 16) != 0){}, contains(victim + ": cannot open"), latent::io_error);
      // Replaced by another array of the same size: the header differs.
      write_npy_raw(victim, npy_dict("<f4", "(30, 2)"), raw_bytes(std::vector<float>(60, 0.0f)));
      REQUIRE(fs::file_size(victim) == 368);
      s.start_epoch(0);
      CHECK_THROWS_WITH_AS(while (s.next(out.data(), 16) != 0){},
                           contains(victim + ": expected the (20, 3) array of '<f4' it held when the "
                                             "source was built, found (30, 2) of '<f4'"),
                           latent::format_error);
      // Put back: the next epoch is whole.
      write_shard(victim, 20, 20);
      CHECK(each_once(read_epoch(s, 0, 16), 60));
    }
    // Shrunk while it is read (after its header was checked): the read comes up short.
    write_shard(dir.file("long.npy"), 0, 2000, 8);
    latent::NpyShards s(dir.file("long.npy"), {.shuffle_buffer_rows = 0, .block_rows = 10});
    std::vector<float> out(10 * 8);
    s.start_epoch(0);
    REQUIRE(s.next(out.data(), 10) == 10);
    REQUIRE(::truncate(dir.file("long.npy").c_str(), 128 + 500 * 32) == 0);
    CHECK_THROWS_WITH_AS(while (s.next(out.data(), 10) != 0){},
                         contains(dir.file("long.npy") + ": expected 1500 more rows, found the end of the file"),
                         latent::format_error);
    CHECK_THROWS_AS(s.next(out.data(), 10), latent::option_error);
  }

  TEST_CASE("each rank reads the files i with i % ranks == rank; together they read every row once") {
    temp_dir dir;
    write_five_shards(dir);
    std::vector<std::size_t> all;
    std::size_t rows = 0;
    for (std::size_t rank = 0; rank < 2; ++rank) {
      latent::NpyShards s(dir.file("*.npy"), {.shuffle_buffer_rows = 16, .seed = 5, .rank = rank, .ranks = 2});
      CHECK(s.total_rows() == 141);
      CHECK(s.files().size() == (rank == 0 ? 3u : 2u));
      CHECK(s.files()[0] == dir.file(rank == 0 ? "s0.npy" : "s1.npy"));
      rows += s.rows();
      const std::vector<std::size_t> ids = read_epoch(s, 4, 32);
      CHECK(ids.size() == s.rows());
      all.insert(all.end(), ids.begin(), ids.end());
    }
    CHECK(rows == 141);
    CHECK(each_once(all, 141));
  }
}
}  // namespace test_data_io
