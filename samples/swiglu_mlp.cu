// swiglu_mlp — a gated MLP block trained from scratch on train_mlp's two spirals: 2 -> [a | b]
// (2H) -> g(a)*b (H) -> [a | b] (2H) -> g(a)*b (H) -> 2, once per gate (SwiGLU, GeGLU, ReGLU,
// GLU). The gate and up projections are one fused Linear whose output rows are [a | b]
// (GLU: [b | a], PyTorch's F.glu order), and actlayer's GatedActivationLayer runs the packed
// forward and the backward that writes da and db in one pass.
//
//   swiglu_mlp [--device auto|cuda|cpu] [--epochs N] [--points N] [--hidden N] [--lr X]
//              [--gates a,b,...] [--seed N] [--json]
#include <chrono>
#include <cmath>
#include <cstdio>
#include <random>
#include <string>
#include <vector>

#include "actlayer/actlayer.hpp"
#include "common/nn.cuh"
#include "common/sample.hpp"
#include "common/spirals.hpp"

using actlayer::Buffer;
using actlayer::Device;
using actlayer::Gated;
using actlayer::GatedShape;

namespace {

Gated gate_named(const std::string& name) {
  if (name == "geglu") return Gated::geglu();
  if (name == "reglu") return Gated::reglu();
  if (name == "glu") return Gated::glu();
  return Gated::swiglu();
}

/// Two gated blocks and a classifier, with one batch's buffers.
class GatedMlp {
 public:
  GatedMlp(const sample::Context& ctx, Gated gated, std::size_t hidden, std::size_t n,
           unsigned seed)
      : hidden_(hidden),
        n_(n),
        rng_(seed),
        up1_(ctx, 2, 2 * hidden, 1.0f, rng_),
        up2_(ctx, hidden, 2 * hidden, 1.0f, rng_),
        out_(ctx, hidden, 2, 1.0f, rng_),
        gate_(gated, ctx.device()) {
    const Device d = ctx.device();
    for (Buffer<float>* b : {&u1_, &du1_, &u2_, &du2_}) *b = Buffer<float>(n * 2 * hidden, d);
    for (Buffer<float>* b : {&g1_, &dg1_, &g2_, &dg2_}) *b = Buffer<float>(n * hidden, d);
    z_ = Buffer<float>(n * 2, d);
    dz_ = Buffer<float>(n * 2, d);
  }

  sample::LossResult forward(const Buffer<float>& x, const Buffer<int>& label, bool with_grad) {
    const GatedShape shape{n_, hidden_};
    up1_.forward(x, u1_, n_);
    gate_.forward(u1_, g1_, shape);
    up2_.forward(g1_, u2_, n_);
    gate_.forward(u2_, g2_, shape);
    out_.forward(g2_, z_, n_);
    return sample::softmax_xent(z_, label, n_, 2, with_grad ? &dz_ : nullptr);
  }

  void backward_and_step(const Buffer<float>& x, float lr, int step) {
    const GatedShape shape{n_, hidden_};
    out_.backward(g2_, dz_, &dg2_, n_);
    gate_.backward(u2_, dg2_, du2_, shape);  // da and db of the second block, one pass
    up2_.backward(g1_, du2_, &dg1_, n_);
    gate_.backward(u1_, dg1_, du1_, shape);
    up1_.backward(x, du1_, nullptr, n_);
    for (sample::Linear* l : {&up1_, &up2_, &out_}) l->adam(lr, step);
  }

 private:
  std::size_t hidden_, n_;
  std::mt19937 rng_;
  sample::Linear up1_, up2_, out_;
  actlayer::GatedActivationLayer<float> gate_;
  Buffer<float> u1_, du1_, g1_, dg1_, u2_, du2_, g2_, dg2_, z_, dz_;
};

struct Result {
  std::string gate;
  double train_acc = 0, test_acc = 0, final_loss = 0, seconds = 0;
};

}  // namespace

int main(int argc, char** argv) {
  sample::Args args("swiglu_mlp", "trains a two-block gated MLP on two spirals once per gate");
  args.int_option("epochs", 1000, 1, 1000000, "training epochs (full batch, Adam)")
      .int_option("points", 1000, 2, 1000000, "points in each of the train and test sets")
      .int_option("hidden", 32, 1, 4096, "H: the gated layers' output width (their input is 2H)")
      .number_option("lr", 0.01, 0, 1, "Adam's learning rate", /*min_exclusive=*/true)
      .list_option("gates", "swiglu,geglu,reglu,glu", {"swiglu", "geglu", "reglu", "glu"},
                   "which gates to train, in this order")
      .int_option("seed", 2026, 0, 4294967295LL, "seed of the initial weights");
  args.parse(argc, argv);
  const sample::Backend backend = sample::choose_backend(args);
  const int epochs = static_cast<int>(args.integer("epochs"));
  const std::size_t points = static_cast<std::size_t>(args.integer("points"));
  const std::size_t hidden = static_cast<std::size_t>(args.integer("hidden"));
  const double lr = args.number("lr");
  const unsigned seed = static_cast<unsigned>(args.integer("seed"));
  const sample::Dataset train = sample::spirals(points, 1), test = sample::spirals(points, 2);
  std::printf(
      "two spirals, %zu train / %zu test points, 2-(2x%zu)-%zu-(2x%zu)-%zu-2 gated MLP, "
      "%d epochs of Adam (lr %g), on %s\n\n",
      points, points, hidden, hidden, hidden, hidden, epochs, lr, backend.name.c_str());
  std::printf("%-7s %9s %9s %10s %8s\n", "gate", "train acc", "test acc", "final loss", "seconds");
  std::vector<Result> results;
  try {
    sample::Context ctx(backend.device);
    const Device d = backend.device;
    const Buffer<float> xtr = Buffer<float>::from_host(train.x, d);
    const Buffer<float> xte = Buffer<float>::from_host(test.x, d);
    const Buffer<int> ltr = Buffer<int>::from_host(train.label, d);
    const Buffer<int> lte = Buffer<int>::from_host(test.label, d);
    for (const std::string& name : args.list("gates")) {
      const auto start = std::chrono::steady_clock::now();
      GatedMlp tr(ctx, gate_named(name), hidden, points, seed);
      Result r;
      r.gate = name;
      for (int epoch = 1; epoch <= epochs; ++epoch) {
        r.final_loss = tr.forward(xtr, ltr, true).loss;
        tr.backward_and_step(xtr, static_cast<float>(lr), epoch);
      }
      r.train_acc = tr.forward(xtr, ltr, false).accuracy;
      r.test_acc = tr.forward(xte, lte, false).accuracy;  // same size: the buffers fit
      if (d == Device::cuda) SAMPLE_CUDA(cudaDeviceSynchronize());
      r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
      std::printf("%-7s %9.3f %9.3f %10.4f %8.2f\n", name.c_str(), r.train_acc, r.test_acc,
                  r.final_loss, r.seconds);
      std::fflush(stdout);
      results.push_back(r);
    }
  } catch (const actlayer::Error& e) {
    std::fprintf(stderr, "swiglu_mlp: %s\n", e.what());
    return 1;
  }
  if (args.json()) {
    std::vector<std::string> rows;
    for (const Result& r : results) {
      sample::Json config;
      config.field("epochs", epochs)
          .field("points", static_cast<double>(points))
          .field("hidden", static_cast<double>(hidden))
          .field("lr", lr)
          .field("seed", seed);
      sample::Json j;
      j.field("gate", sample::Json::str(r.gate))
          .field("config", config.object())
          .field("train_acc", r.train_acc)
          .field("test_acc", r.test_acc)
          .field("final_loss", r.final_loss)
          .field("seconds", r.seconds);
      rows.push_back(j.object());
    }
    sample::Json top;
    top.backend(backend).field("results", sample::Json::array(rows));
    std::printf("%s\n", top.object().c_str());
  }
  return 0;
}
