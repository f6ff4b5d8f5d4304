// vanishing_gradient — the course's vanishing-gradient slide, measured: one forward and one
// backward pass through a deep plain network (default 20 layers of width 256, fixed random
// data, standard initialisations), and the norm of each layer's weight gradient from the output
// back to the input. sigmoid's derivative is at most 0.25, so every layer scales the gradient
// down and the first layer's gradient ends orders of magnitude below the last's; relu's is 1
// where the unit is on, and with He initialisation the gradient keeps its size.
//
//   vanishing_gradient [--device auto|cuda|cpu] [--depth N] [--width N] [--batch N] [--out FILE]
//                      [--json]
#include <cmath>
#include <cstdio>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "actlayer/actlayer.hpp"
#include "common/nn.cuh"
#include "common/sample.hpp"
#include "common/svg.hpp"

using actlayer::Activation;
using actlayer::Buffer;
using actlayer::Device;

namespace {

constexpr unsigned kSeed = 7;  // the data, g and the weights

bool relu_family(const std::string& act) { return act != "sigmoid" && act != "tanh"; }

struct Net {
  std::string activation;
  std::vector<double> norms;  // ||dL/dW_l||, l = 1 (input side) .. depth (output side)
};

/// L = sum(g * a_depth) for a fixed random g: one forward, one backward; the weight-gradient
/// norm of every layer. Inputs and g are the same for every activation (seeded).
Net measure(const sample::Context& ctx, const std::string& act, std::size_t depth,
            std::size_t width, std::size_t batch) {
  const Device d = ctx.device();
  // He (sqrt 2 / fan_in) for the ReLU family, LeCun (1 / fan_in) for sigmoid and tanh.
  const float scale = relu_family(act) ? std::sqrt(2.0f) : 1.0f;
  std::mt19937 rng(kSeed);
  std::normal_distribution<float> normal(0, 1);
  std::vector<float> x0(batch * width), g(batch * width);
  for (float& v : x0) v = normal(rng);
  for (float& v : g) v = normal(rng);

  std::vector<std::unique_ptr<sample::Linear>> linear;
  std::vector<std::unique_ptr<sample::Hidden>> hidden;
  std::vector<Buffer<float>> h, a;  // pre- and post-activation of each layer; a[0] = input
  a.push_back(Buffer<float>::from_host(x0, d));
  for (std::size_t l = 0; l < depth; ++l) {
    linear.push_back(std::make_unique<sample::Linear>(ctx, width, width, scale, rng));
    hidden.push_back(sample::make_activation(act, d, kSeed));
    h.emplace_back(batch * width, d);
    a.emplace_back(batch * width, d);
    linear[l]->forward(a[l], h[l], batch);
    hidden[l]->forward(h[l], a[l + 1]);
  }
  Buffer<float> da = Buffer<float>::from_host(g, d), dh(batch * width, d),
                da_prev(batch * width, d);
  Net net{act, std::vector<double>(depth)};
  for (std::size_t l = depth; l-- > 0;) {
    hidden[l]->backward(h[l], a[l + 1], da, dh);
    linear[l]->backward(a[l], dh, l > 0 ? &da_prev : nullptr, batch);
    net.norms[l] = sample::l2_norm(linear[l]->weight_grad());
    std::swap(da, da_prev);
  }
  return net;
}

}  // namespace

int main(int argc, char** argv) {
  sample::Args args("vanishing_gradient", "weight-gradient norms through a deep plain network");
  args.int_option("depth", 20, 2, 1000, "layers")
      .int_option("width", 256, 1, 4096, "units per layer")
      .int_option("batch", 256, 1, 65536, "rows of random data")
      .text_option("out", "vanishing_gradient.svg", "the SVG plot of log10(norm) against depth")
      .list_option("activations", "sigmoid,tanh,relu,leaky_relu,prelu", sample::activation_names(),
                   "which to measure, in this order (any op of actlayer's list, or prelu)");
  args.parse(argc, argv);
  const sample::Backend backend = sample::choose_backend(args);
  const std::size_t depth = static_cast<std::size_t>(args.integer("depth"));
  const std::size_t width = static_cast<std::size_t>(args.integer("width"));
  const std::size_t batch = static_cast<std::size_t>(args.integer("batch"));

  std::vector<Net> nets;
  try {
    sample::Context ctx(backend.device);
    for (const std::string& act : args.list("activations")) {
      nets.push_back(measure(ctx, act, depth, width, batch));
    }
  } catch (const actlayer::Error& e) {
    std::fprintf(stderr, "vanishing_gradient: %s\n", e.what());
    return 1;
  }

  std::printf(
      "%zu layers of width %zu, batch %zu of N(0,1) data, L = sum(g * output) with g ~ N(0,1), on "
      "%s\n",
      depth, width, batch, backend.name.c_str());
  std::printf(
      "init: LeCun (variance 1/fan_in) for sigmoid and tanh, He (2/fan_in) for the ReLU "
      "family\n\n");
  std::printf("%-22s", "||dL/dW|| at layer");
  for (const Net& n : nets) std::printf(" %12s", n.activation.c_str());
  std::printf("\n");
  for (std::size_t l = depth; l-- > 0;) {
    std::printf("%-22s", (std::to_string(l + 1) + (l + 1 == depth ? " (output)"
                                                   : l == 0       ? " (input)"
                                                                  : ""))
                             .c_str());
    for (const Net& n : nets) std::printf(" %12.3e", n.norms[l]);
    std::printf("\n");
  }
  std::printf("%-22s", "first / last");
  for (const Net& n : nets) std::printf(" %12.3e", n.norms.front() / n.norms.back());
  std::printf("\n");

  sample::Plot plot;
  plot.title = "Weight-gradient norm by layer (" + std::to_string(depth) + " x " +
               std::to_string(width) + ")";
  plot.x_label = "layer (1 = input side)";
  plot.y_label = "log10 ||dL/dW||";
  for (const Net& n : nets) {
    sample::Series s;
    s.label = n.activation;
    for (std::size_t l = 0; l < depth; ++l) {
      s.x.push_back(static_cast<double>(l + 1));
      s.y.push_back(std::log10(n.norms[l]));
    }
    plot.series.push_back(s);
  }
  const std::string out = args.str("out");
  if (!plot.write(out)) {
    std::fprintf(stderr, "vanishing_gradient: cannot write %s\n", out.c_str());
    return 1;
  }
  std::printf("\nplot: %s\n", out.c_str());

  if (args.json()) {
    std::vector<std::string> rows;
    for (const Net& n : nets) {
      sample::Json config;
      config.field("device", sample::Json::str(backend.id()))
          .field("depth", static_cast<double>(depth))
          .field("width", static_cast<double>(width))
          .field("batch", static_cast<double>(batch))
          .field("seed", kSeed)
          .field("init", sample::Json::str(relu_family(n.activation) ? "he" : "lecun"));
      sample::Json j;
      j.field("activation", sample::Json::str(n.activation))
          .field("config", config.object())
          .field("norms", sample::Json::numbers(n.norms))
          .field("first_over_last", n.norms.front() / n.norms.back());
      rows.push_back(j.object());
    }
    sample::Json top;
    top.backend(backend)
        .field("depth", static_cast<double>(depth))
        .field("svg", sample::Json::str(out))
        .field("results", sample::Json::array(rows));
    std::printf("%s\n", top.object().c_str());
  }
  return 0;
}
