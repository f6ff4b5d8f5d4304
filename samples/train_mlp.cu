// train_mlp — the course's lessons with real numbers: a 2-H-H-2 MLP trained from scratch on two
// interleaved spirals, once per activation. Identity cannot beat a linear classifier however
// deep (the linear-collapse slide); step cannot learn by gradient (its derivative is 0); the
// others fit.
//
// Matrix products: cuBLAS on the GPU, loops on actlayer's CPU threads. Activations and their
// gradients: actlayer. Parameter updates: Adam, with Thrust on the GPU. With --bias-fused the
// hidden layers' bias is added by the activation's own call (bias_act: y = f(x W^T + b), and dx
// and db from one backward) instead of a separate kernel and a separate sum, for every
// activation but prelu and rrelu (their own layers): the same table, to within rounding.
//
// Each activation's row is printed as soon as it is trained; meanwhile the epoch, loss and
// elapsed time go to stderr (a live line on a terminal, else a line every --progress-every
// seconds; --quiet: none), so that --json's last line on stdout stays clean.
//
//   train_mlp [--device auto|cuda|cpu] [--epochs N] [--points N] [--hidden N] [--lr X]
//             [--activations a,b,...] [--seed N] [--bias-fused] [--progress-every S] [--quiet]
//             [--json]
#include <chrono>
#include <cmath>
#include <cstdio>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "actlayer/actlayer.hpp"
#include "common/nn.cuh"
#include "common/sample.hpp"
#include "common/spirals.hpp"

using actlayer::Activation;
using actlayer::Buffer;
using actlayer::Device;
using sample::Dataset;
using sample::spirals;

namespace {

// ---- The model ---------------------------------------------------------------------------------

/// The default --activations: the course's, in its order (any op of the list may be named).
const std::vector<std::string> kCourse = {"identity", "step",       "sigmoid", "tanh",
                                          "relu",     "leaky_relu", "prelu",   "rrelu"};

/// 2 -> H -> H -> 2 with an activation after each hidden layer, and its activations' buffers
/// for one batch size.
class Mlp {
 public:
  /// bias_fused: the hidden layers' bias goes into the activation's call where it can.
  Mlp(const sample::Context& ctx, const std::string& act, std::size_t hidden, float scale,
      unsigned seed, bool bias_fused)
      : ctx_(ctx),
        hidden_(hidden),
        fused_(bias_fused && fusable(act)),
        rng_(seed),
        l1_(ctx, 2, hidden, scale, rng_, !fused_),
        l2_(ctx, hidden, hidden, scale, rng_, !fused_),
        l3_(ctx, hidden, 2, 1.0f, rng_),
        a1_(sample::make_activation(act, ctx.device(), seed + 1, fused_ ? hidden : 0)),
        a2_(sample::make_activation(act, ctx.device(), seed + 2, fused_ ? hidden : 0)) {}

  static bool fusable(const std::string& act) {
    actlayer::Activation a;
    return sample::elementwise_activation(act, &a);
  }

  struct Batch {
    std::size_t n;
    Buffer<float> x, h1, a1, h2, a2, z, dz, da2, dh2, da1, dh1;
    Buffer<int> label;
  };
  Batch batch(const Dataset& d) const {
    const Device dev = ctx_.device();
    const std::size_t n = d.n, h = hidden_;
    return Batch{n,
                 Buffer<float>::from_host(d.x, dev),
                 Buffer<float>(n * h, dev),
                 Buffer<float>(n * h, dev),
                 Buffer<float>(n * h, dev),
                 Buffer<float>(n * h, dev),
                 Buffer<float>(n * 2, dev),
                 Buffer<float>(n * 2, dev),
                 Buffer<float>(n * h, dev),
                 Buffer<float>(n * h, dev),
                 Buffer<float>(n * h, dev),
                 Buffer<float>(n * h, dev),
                 Buffer<int>::from_host(d.label, dev)};
  }

  sample::LossResult forward(Batch& b, bool with_grad) {
    l1_.forward(b.x, b.h1, b.n);
    a1_->forward(b.h1, b.a1);
    l2_.forward(b.a1, b.h2, b.n);
    a2_->forward(b.h2, b.a2);
    l3_.forward(b.a2, b.z, b.n);
    return sample::softmax_xent(b.z, b.label, b.n, 2, with_grad ? &b.dz : nullptr);
  }

  void backward_and_step(Batch& b, float lr, int step) {
    l3_.backward(b.a2, b.dz, &b.da2, b.n);
    a2_->backward(b.h2, b.a2, b.da2, b.dh2);
    l2_.backward(b.a1, b.dh2, &b.da1, b.n);
    a1_->backward(b.h1, b.a1, b.da1, b.dh1);
    l1_.backward(b.x, b.dh1, nullptr, b.n);
    first_layer_grad_ = sample::l2_norm(l1_.weight_grad());
    for (sample::Linear* l : {&l1_, &l2_, &l3_}) l->adam(lr, step);
    a1_->update(lr, step);
    a2_->update(lr, step);
  }

  void train(bool on) {
    a1_->train(on);
    a2_->train(on);
  }
  std::vector<float> slopes() const {
    std::vector<float> p = a1_->parameters(), q = a2_->parameters();
    p.insert(p.end(), q.begin(), q.end());
    return p;
  }
  double first_layer_grad() const { return first_layer_grad_; }

 private:
  const sample::Context& ctx_;
  std::size_t hidden_;
  bool fused_;
  std::mt19937 rng_;
  sample::Linear l1_, l2_, l3_;
  std::unique_ptr<sample::Hidden> a1_, a2_;
  double first_layer_grad_ = 0;
};

// ---- One run -----------------------------------------------------------------------------------

/// What a run was asked for: every result carries it in its JSON.
struct Config {
  std::string device;  // "cpu" or "cuda"
  int epochs = 0;
  std::size_t points = 0, hidden = 0;
  double lr = 0;
  unsigned seed = 0;  // initial weights; RReLU's noise uses seed + 1 and seed + 2
  bool bias_fused = false;
};
constexpr unsigned kTrainSeed = 1, kTestSeed = 2;  // the two data sets

bool relu_family(const std::string& act) {
  return act == "relu" || act == "leaky_relu" || act == "prelu" || act == "rrelu";
}

struct Result {
  std::string activation;
  double train_acc = 0, test_acc = 0, final_loss = 0, seconds = 0;
  int epochs_to_90 = -1;
  double first_layer_grad = 0;
  std::vector<float> slopes;             // prelu
  double train_mode_acc = std::nan("");  // rrelu: test accuracy with random slopes
};

Result run(const sample::Context& ctx, const std::string& act, const Dataset& train,
           const Dataset& test, const Config& cfg, sample::Progress& progress) {
  Mlp mlp(ctx, act, cfg.hidden, relu_family(act) ? std::sqrt(2.0f) : 1.0f, cfg.seed,
          cfg.bias_fused);
  Mlp::Batch tr = mlp.batch(train), te = mlp.batch(test);
  Result r;
  r.activation = act;
  const auto start = std::chrono::steady_clock::now();
  progress.start(act, "epoch", cfg.epochs);
  for (int epoch = 1; epoch <= cfg.epochs; ++epoch) {
    mlp.train(true);
    r.final_loss = mlp.forward(tr, true).loss;
    mlp.backward_and_step(tr, static_cast<float>(cfg.lr), epoch);
    if (r.epochs_to_90 < 0 && (epoch % 10 == 0 || epoch == cfg.epochs)) {
      mlp.train(false);
      if (mlp.forward(te, false).accuracy >= 0.9) r.epochs_to_90 = epoch;
    }
    progress.update(epoch, r.final_loss);
  }
  mlp.train(true);
  r.train_mode_acc = act == "rrelu" ? mlp.forward(te, false).accuracy : std::nan("");
  mlp.train(false);
  r.train_acc = mlp.forward(tr, false).accuracy;
  r.test_acc = mlp.forward(te, false).accuracy;
  if (ctx.device() == Device::cuda) SAMPLE_CUDA(cudaDeviceSynchronize());
  r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  r.first_layer_grad = mlp.first_layer_grad();
  r.slopes = mlp.slopes();
  progress.finish();
  return r;
}

/// The table's row for one result.
void print_row(const Result& r) {
  std::string notes;
  if (r.activation == "identity") notes = "a linear classifier: no depth helps";
  if (r.activation == "step") {
    char buf[96];
    std::snprintf(buf, sizeof buf, "first-layer gradient norm %g: only the output layer learns",
                  r.first_layer_grad);
    notes = buf;
  }
  if (r.activation == "leaky_relu") notes = "the course's form y = z/10";
  if (r.activation == "prelu") {
    char buf[96];
    std::snprintf(buf, sizeof buf, "learned slopes %.3f, %.3f (from 0.25)", r.slopes.at(0),
                  r.slopes.at(1));
    notes = buf;
  }
  if (r.activation == "rrelu") {
    char buf[96];
    std::snprintf(buf, sizeof buf,
                  "test acc %.3f with random slopes (train mode), %.3f with the mean slope (eval)",
                  r.train_mode_acc, r.test_acc);
    notes = buf;
  }
  const std::string e90 = r.epochs_to_90 < 0 ? "never" : std::to_string(r.epochs_to_90);
  std::printf("%-11s %9.3f %9.3f %10.4f %12s %8.2f  %s\n", r.activation.c_str(), r.train_acc,
              r.test_acc, r.final_loss, e90.c_str(), r.seconds, notes.c_str());
  std::fflush(stdout);  // each row as soon as it is known, also into a pipe
}

/// One result as JSON, with the configuration that produced it.
std::string json_row(const Result& r, const Config& cfg) {
  const double hidden = static_cast<double>(cfg.hidden);
  sample::Json config;
  config.field("device", sample::Json::str(cfg.device))
      .field("epochs", cfg.epochs)
      .field("lr", cfg.lr)
      .field("points", static_cast<double>(cfg.points))
      .field("hidden", sample::Json::numbers({hidden, hidden}))
      .field("seed", cfg.seed)
      .field("bias_fused", sample::Json::boolean(cfg.bias_fused && Mlp::fusable(r.activation)))
      .field("data_seeds", sample::Json::numbers({kTrainSeed, kTestSeed}))
      .field("init", sample::Json::str(relu_family(r.activation) ? "he" : "lecun"))
      .field("optimizer", sample::Json::str("adam, full batch"));
  sample::Json j;
  j.field("activation", sample::Json::str(r.activation))
      .field("config", config.object())
      .field("train_acc", r.train_acc)
      .field("test_acc", r.test_acc)
      .field("final_loss", r.final_loss)
      .field("epochs_to_90", r.epochs_to_90 < 0 ? std::nan("") : r.epochs_to_90)
      .field("seconds", r.seconds)
      .field("first_layer_grad_norm", r.first_layer_grad);
  if (r.activation == "prelu") {
    j.field("alphas", sample::Json::numbers(std::vector<double>(r.slopes.begin(), r.slopes.end())));
  }
  if (r.activation == "rrelu")
    j.field("train_mode_acc", r.train_mode_acc).field("eval_mode_acc", r.test_acc);
  return j.object();
}

}  // namespace

int main(int argc, char** argv) {
  std::string all;
  for (const std::string& a : kCourse) all += (all.empty() ? "" : ",") + a;
  sample::Args args("train_mlp", "trains a 2-H-H-2 MLP on two spirals once per activation");
  args.int_option("epochs", 1500, 1, 1000000, "training epochs (full batch, Adam)")
      .int_option("points", 1000, 2, 1000000, "points in each of the train and test sets")
      .int_option("hidden", 64, 1, 4096, "width of the two hidden layers")
      .number_option("lr", 0.01, 0, 1, "Adam's learning rate", /*min_exclusive=*/true)
      .list_option("activations", all, sample::activation_names(),
                   "which to train, in this order (any op of actlayer's list, or prelu)")
      .int_option("seed", 2026, 0, 4294967295LL - 2,
                  "seed of the initial weights (RReLU's noise: seed + 1, seed + 2)")
      .flag_option("bias-fused",
                   "add the hidden layers' bias in the activation's call (bias_act), but for "
                   "prelu and rrelu")
      .number_option("progress-every", 5, 0, 3600,
                     "seconds between progress lines on stderr when it is not a terminal")
      .flag_option("quiet", "no progress on stderr");
  args.parse(argc, argv);
  const sample::Backend backend = sample::choose_backend(args);
  Config cfg;
  cfg.device = backend.id();
  cfg.epochs = static_cast<int>(args.integer("epochs"));
  cfg.points = static_cast<std::size_t>(args.integer("points"));
  cfg.hidden = static_cast<std::size_t>(args.integer("hidden"));
  cfg.lr = args.number("lr");
  cfg.seed = static_cast<unsigned>(args.integer("seed"));
  cfg.bias_fused = args.flag("bias-fused");
  const Dataset train = spirals(cfg.points, kTrainSeed), test = spirals(cfg.points, kTestSeed);
  sample::Progress progress("train_mlp", args.flag("quiet"), args.number("progress-every"));

  std::printf(
      "two spirals, %zu train / %zu test points, 2-%zu-%zu-2 MLP, %d epochs of Adam (lr %g), on "
      "%s%s\n\n",
      cfg.points, cfg.points, cfg.hidden, cfg.hidden, cfg.epochs, cfg.lr, backend.name.c_str(),
      cfg.bias_fused ? ", hidden biases fused into the activations (bias_act)" : "");
  std::printf("%-11s %9s %9s %10s %12s %8s  %s\n", "activation", "train acc", "test acc",
              "final loss", "epochs to 90%", "seconds", "notes");
  std::fflush(stdout);

  std::vector<Result> results;
  try {
    sample::Context ctx(backend.device);
    for (const std::string& act : args.list("activations")) {
      results.push_back(run(ctx, act, train, test, cfg, progress));
      print_row(results.back());
    }
  } catch (const actlayer::Error& e) {
    std::fprintf(stderr, "train_mlp: %s\n", e.what());
    return 1;
  }

  if (args.json()) {
    std::vector<std::string> rows;
    for (const Result& r : results) rows.push_back(json_row(r, cfg));
    sample::Json top;
    top.backend(backend).field("results", sample::Json::array(rows));
    std::printf("%s\n", top.object().c_str());
  }
  return 0;
}
