// accuracy_table — runs every activation forward, backward and backward-from-output in every
// element type, and prints the largest error against the CPU reference, in ulp.
//
// On a GPU it measures the CUDA kernels. Without one (or with --device cpu) it says so and
// evaluates the same ops.cuh math on the host instead.
//
//   accuracy_table [--device auto|cuda|cpu] [--n N] [--json]
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <string>
#include <type_traits>
#include <vector>

#include "actlayer/actlayer.hpp"
#include "actlayer/ops.cuh"
#include "common/sample.hpp"

using namespace actlayer;

namespace {

const char* pass_name(Pass p) {
  switch (p) {
    case Pass::forward:
      return "forward";
    case Pass::backward:
      return "backward";
    case Pass::backward_from_output:
      return "from_output";
  }
  return "?";
}

struct Case {
  const char* name;
  Activation act;
  bool smooth;  // sigmoid, tanh, the exponential family, the GELUs, hardswish, squared_relu
};

/// The op has a backward from the output for these parameters.
bool from_output(const Activation& act) {
  bool yes = false;
  ops::visit(act, [&](auto, auto op) { yes = ops::no_output_form(op) == nullptr; });
  return yes;
}

/// The accuracy contract (README "Accuracy"), in ulp.
template <class T>
double bound(const Case& c, Pass pass) {
  if (sizeof(T) == 2) return 1;
  if (!c.smooth) return 0;
  return pass == Pass::backward ? 8 : 4;
}

// ---- Bits and ulp --------------------------------------------------------------------------

template <class T>
std::int64_t ordered(T v) {
  using U = std::conditional_t<sizeof(T) == 2, std::uint16_t,
                               std::conditional_t<sizeof(T) == 4, std::uint32_t, std::uint64_t>>;
  U u;
  std::memcpy(&u, &v, sizeof u);
  const U sign = U{1} << (8 * sizeof(T) - 1);
  const auto magnitude = static_cast<std::int64_t>(u & ~sign);
  return (u & sign) ? -magnitude : magnitude;
}

template <class T>
double as_double(T v) {
  return static_cast<double>(ops::widen(v));
}

/// Units in the last place between a and b (NaN matches NaN only).
template <class T>
double ulps(T a, T b) {
  const bool na = as_double(a) != as_double(a), nb = as_double(b) != as_double(b);
  if (na || nb) return na && nb ? 0 : 1e300;
  const std::int64_t d = ordered(a) - ordered(b);
  return static_cast<double>(d < 0 ? -d : d);
}

template <class T>
T make(double v) {
  if constexpr (std::is_same_v<T, double>)
    return v;
  else
    return ops::narrow<T>(static_cast<float>(v));
}

/// The special values every input set starts with (so --n is at least their number).
constexpr double kSpecials[] = {0.0, -0.0, 1e-8, -1e-8, 20.0, -20.0, 89.0, -104.0, 1e300, -1e300};
constexpr std::size_t kSpecialCount = sizeof kSpecials / sizeof kSpecials[0] + 1;  // and NaN
constexpr std::uint64_t kInputSeed = 1, kGradientSeed = 2;

/// Random inputs over [-30, 30] and over every magnitude, plus the special values.
template <class T>
std::vector<T> inputs(std::size_t n, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<double> core(-30, 30), exponent(-40, 40);
  std::vector<T> v;
  for (double s : kSpecials) v.push_back(make<T>(s));
  v.push_back(make<T>(std::nan("")));
  while (v.size() < n) {
    v.push_back(make<T>(v.size() % 2 ? core(rng)
                                     : (rng() % 2 ? 1 : -1) * std::pow(10.0, exponent(rng) / 4)));
  }
  return v;
}

// ---- The two back ends ---------------------------------------------------------------------

/// The ops.cuh math on the host, element by element, as the kernel does it.
template <class T>
void on_host(const Activation& act, Pass pass, const std::vector<T>& in, const std::vector<T>& dy,
             std::vector<T>& out) {
  ops::visit(act, [&](auto, auto op) {
    for (std::size_t i = 0; i < in.size(); ++i) {
      const auto z = ops::widen(in[i]), g = ops::widen(dy[i]);
      if (pass == Pass::forward) {
        out[i] = ops::narrow<T>(op.value(z));
      } else if (pass == Pass::backward) {
        out[i] = ops::narrow<T>(ops::backward(op, z, g));
      } else if constexpr (ops::has_output_form_v<decltype(op)>) {
        out[i] = ops::narrow<T>(ops::backward_from_output(op, z, g));
      }
    }
  });
}

/// The CUDA kernels, through layers on device buffers.
template <class T>
void on_device(const Activation& act, Pass pass, const std::vector<T>& in, const std::vector<T>& dy,
               std::vector<T>& out) {
  ActivationLayer<T> layer(act);
  Buffer<T> a = Buffer<T>::from_host(in), g = Buffer<T>::from_host(dy), r(in.size());
  if (pass == Pass::forward)
    layer.forward(a, r);
  else if (pass == Pass::backward)
    layer.backward(a, g, r);
  else
    layer.backward_from_output(a, g, r);
  out = r.to_host();
}

template <class T>
double max_error(const Case& c, Pass pass, bool gpu, std::size_t n) {
  std::vector<T> in = inputs<T>(n, kInputSeed), dy = inputs<T>(n, kGradientSeed), got(n), want(n);
  if (pass == Pass::backward_from_output) {  // the output form takes y = f(x)
    throw_if_failed(reference::forward(c.act, in.data(), want.data(), n));
    in = want;
  }
  throw_if_failed(
      pass == Pass::forward ? reference::forward(c.act, in.data(), want.data(), n)
      : pass == Pass::backward
          ? reference::backward(c.act, in.data(), dy.data(), want.data(), n)
          : reference::backward_from_output(c.act, in.data(), dy.data(), want.data(), n));
  if (gpu)
    on_device(c.act, pass, in, dy, got);
  else
    on_host(c.act, pass, in, dy, got);
  double worst = 0;
  for (std::size_t i = 0; i < n; ++i) worst = std::max(worst, ulps(got[i], want[i]));
  return worst;
}

}  // namespace

int main(int argc, char** argv) {
  sample::Args args("accuracy_table",
                    "every activation's largest error against the CPU reference, in ulp, per "
                    "pass and element type");
  args.int_option("n", 100000, static_cast<long long>(kSpecialCount), 10000000,
                  "inputs per element type, the special values (0, -0, +-1e-8, ..., NaN) "
                  "included");
  args.parse(argc, argv);
  const std::string device = args.str("device");
  const std::size_t n = static_cast<std::size_t>(args.integer("n"));
  bool gpu = device != "cpu" && cuda_available();
  if (device == "cuda" && !gpu) {
    std::fprintf(stderr, "accuracy_table: --device cuda, but no CUDA device is available\n");
    return 1;
  }
  // What ran, for the JSON: the device, and in words.
  sample::Backend backend{Device::cpu, "ops.cuh math on the host (the CUDA kernels did not run)"};
  if (gpu) {
    cudaDeviceProp prop{};
    int id = 0;
    cudaGetDevice(&id);
    cudaGetDeviceProperties(&prop, id);
    backend = {Device::cuda, std::string("the CUDA kernels on ") + prop.name};
    std::printf("actlayer accuracy: the CUDA kernels on %s, %zu inputs per dtype\n", prop.name, n);
  } else {
    std::printf(
        "NOTICE: no CUDA device in use: evaluating the ops.cuh math on the host instead "
        "(the CUDA kernels did not run)\n");
    std::printf("actlayer accuracy: ops.cuh on the CPU, %zu inputs per dtype\n", n);
  }
  std::printf(
      "max error against the CPU reference (long double, __float128 for double, rounded once), "
      "in ulp\n\n");
  std::printf("%-24s %-12s %8s %8s %8s %8s\n", "op", "pass", "float", "double", "half", "bfloat16");

  const Case cases[] = {
      {"identity", Activation::identity(), false},
      {"step", Activation::step(), false},
      {"sigmoid", Activation::sigmoid(), true},
      {"tanh", Activation::tanh(), true},
      {"relu", Activation::relu(), false},
      {"leaky_relu(0.01)", Activation::leaky_relu(0.01f), false},
      {"leaky_relu_divisor(10)", Activation::leaky_relu_divisor(10.0f), false},
      {"rrelu(eval)", Activation::rrelu(), false},
      {"elu", Activation::elu(), true},
      {"selu", Activation::selu(), true},
      {"celu", Activation::celu(), true},
      {"silu", Activation::silu(), true},
      {"swish(1.5)", Activation::swish(1.5f), true},
      {"quick_gelu", Activation::quick_gelu(), true},
      {"mish", Activation::mish(), true},
      {"softplus", Activation::softplus(), true},
      {"logsigmoid", Activation::logsigmoid(), true},
      {"softsign", Activation::softsign(), true},
      {"tanhshrink", Activation::tanhshrink(), true},
      {"gelu", Activation::gelu(), true},
      {"gelu_tanh", Activation::gelu_tanh(), true},
      {"hardsigmoid", Activation::hardsigmoid(), false},
      {"hardswish", Activation::hardswish(), true},
      {"hardtanh", Activation::hardtanh(), false},
      {"relu6", Activation::relu6(), false},
      {"softshrink", Activation::softshrink(), false},
      {"hardshrink", Activation::hardshrink(), false},
      {"thresholded(1)", Activation::thresholded(1.0f), false},
      {"squared_relu", Activation::squared_relu(), true},
  };
  const char* const dtypes[] = {"float", "double", "half", "bfloat16"};
  sample::Json config;
  config.field("device", sample::Json::str(backend.id()))
      .field("n", static_cast<double>(n))
      .field("input_seeds", sample::Json::numbers({kInputSeed, kGradientSeed}))
      .field("reference", sample::Json::str("long double (__float128 for double), rounded once"));
  std::vector<std::string> rows;
  int outside = 0;
  try {
    for (const Case& c : cases) {
      bool output_form = false;  // gelu, gelu_tanh and hardswish have none
      ops::visit(c.act, [&](auto, auto op) { output_form = ops::no_output_form(op) == nullptr; });
      for (Pass pass : {Pass::forward, Pass::backward, Pass::backward_from_output}) {
        if (pass == Pass::backward_from_output && !from_output(c.act)) continue;
        if (pass == Pass::backward_from_output && !output_form) continue;
        std::printf("%-24s %-12s", c.name, pass_name(pass));
        const double errors[] = {
            max_error<float>(c, pass, gpu, n), max_error<double>(c, pass, gpu, n),
            max_error<__half>(c, pass, gpu, n), max_error<__nv_bfloat16>(c, pass, gpu, n)};
        const double bounds[] = {bound<float>(c, pass), bound<double>(c, pass),
                                 bound<__half>(c, pass), bound<__nv_bfloat16>(c, pass)};
        sample::Json max_ulp, bound_ulp;
        bool within = true;
        for (int k = 0; k < 4; ++k) {
          std::printf(" %7.0f%s", errors[k], errors[k] > bounds[k] ? "!" : " ");
          outside += errors[k] > bounds[k];
          within = within && errors[k] <= bounds[k];
          max_ulp.field(dtypes[k], errors[k]);
          bound_ulp.field(dtypes[k], bounds[k]);
        }
        std::printf("\n");
        std::fflush(stdout);
        sample::Json row;
        row.field("op", sample::Json::str(c.name))
            .field("pass", sample::Json::str(pass_name(pass)))
            .field("config", config.object())
            .field("max_ulp", max_ulp.object())
            .field("bound_ulp", bound_ulp.object())
            .field("within_bounds", sample::Json::boolean(within));
        rows.push_back(row.object());
      }
    }
  } catch (const Error& e) {
    std::fprintf(stderr, "accuracy_table: %s\n", e.what());
    return 1;
  }
  std::printf(
      "\nbounds: piecewise-linear ops (hardsigmoid included) 0 ulp (float, double) and 1 (half, "
      "bfloat16); sigmoid, tanh, the exponential family, gelu, gelu_tanh, hardswish and "
      "squared_relu 4 (backward 8) in float and double, 1 in half and bfloat16\n");
  if (outside > 0) {
    std::printf("%d results outside the bounds (marked !)\n", outside);
  } else {
    std::printf("every result within the bounds\n");
  }
  if (args.json()) {
    sample::Json top;
    top.backend(backend)
        .field("outside", outside)
        .field("within_bounds", sample::Json::boolean(outside == 0))
        .field("results", sample::Json::array(rows));
    std::printf("%s\n", top.object().c_str());
  }
  return outside > 0 ? 1 : 0;
}
