// custom_activation — bring your own activation: two functors written here, softplus and swish
// with a parameter, run through actlayer's own elementwise loop (on the GPU, instantiated in
// this file; on the CPU, the same loop's host twin), and their derivatives checked against
// central differences of their own forward.
//
//   custom_activation [--device auto|cuda|cpu] [--beta B] [--json]
#include <cmath>
#include <cstdio>
#include <string>
#include <vector>

#include "actlayer/actlayer.hpp"
#include "actlayer/custom.cuh"
#include "common/sample.hpp"

namespace {

/// softplus(z) = log(1 + e^z), written to stay accurate: max(z, 0) + log1p(e^-|z|).
struct Softplus {
  template <class F>
  ACTLAYER_HD F value(F z) const {
    const F a = z < F(0) ? -z : z;
    return (z > F(0) ? z : F(0)) + ::log1p(actlayer::ops::math::exp(-a));
  }
  /// softplus' = sigmoid: the library's accurate one.
  template <class F>
  ACTLAYER_HD F derivative(F z) const {
    return actlayer::ops::Sigmoid{}.value(z);
  }
};

/// swish_beta(z) = z sigmoid(beta z) (SiLU at beta = 1, close to GELU at 1.702).
struct Swish {
  float beta = 1.0f;
  template <class F>
  ACTLAYER_HD F value(F z) const {
    return z * actlayer::ops::Sigmoid{}.value(F(beta) * z);
  }
  template <class F>
  ACTLAYER_HD F derivative(F z) const {
    const F s = actlayer::ops::Sigmoid{}.value(F(beta) * z);
    return s + F(beta) * z * s * (F(1) - s);
  }
};

struct Check {
  std::string name;
  double max_fd_error = 0;  // max |f'(z) - central difference of f|, relative to 1 + |f'|
  double f_at_1 = 0, df_at_1 = 0;
};

/// f on a grid at z and z +- h, and f' at z, through actlayer on the chosen device; then f'
/// against (f(z + h) - f(z - h)) / 2h in double.
template <class Fn>
Check check(const std::string& name, const Fn& fn, actlayer::Device device) {
  const double h = 1e-5;
  std::vector<double> z, zp, zm;
  for (int i = 0; i <= 2000; ++i) {
    z.push_back(-10.0 + 20.0 * i / 2000);
    zp.push_back(z.back() + h);
    zm.push_back(z.back() - h);
  }
  const std::size_t n = z.size();
  std::vector<double> f(n), fp(n), fm(n), df(n), ones(n, 1.0);
  if (device == actlayer::Device::cuda) {
    using actlayer::Buffer;
    Buffer<double> bz = Buffer<double>::from_host(z), bp = Buffer<double>::from_host(zp),
                   bm = Buffer<double>::from_host(zm), b1 = Buffer<double>::from_host(ones);
    Buffer<double> out(n);
    const auto run = [&](const Buffer<double>& in, std::vector<double>& dst) {
      actlayer::throw_if_failed(actlayer::custom_forward(fn, in.data(), out.data(), n));
      dst = out.to_host();
    };
    run(bz, f);
    run(bp, fp);
    run(bm, fm);
    actlayer::throw_if_failed(actlayer::custom_backward(fn, bz.data(), b1.data(), out.data(), n));
    df = out.to_host();
  } else {
    namespace ref = actlayer::reference;
    actlayer::throw_if_failed(ref::custom_forward(fn, z.data(), f.data(), n));
    actlayer::throw_if_failed(ref::custom_forward(fn, zp.data(), fp.data(), n));
    actlayer::throw_if_failed(ref::custom_forward(fn, zm.data(), fm.data(), n));
    actlayer::throw_if_failed(ref::custom_backward(fn, z.data(), ones.data(), df.data(), n));
  }
  Check c{name};
  for (std::size_t i = 0; i < n; ++i) {
    const double fd = (fp[i] - fm[i]) / (2 * h);
    c.max_fd_error = std::max(c.max_fd_error, std::fabs(df[i] - fd) / (1 + std::fabs(df[i])));
    if (z[i] == 1.0) c.f_at_1 = f[i], c.df_at_1 = df[i];
  }
  return c;
}

}  // namespace

int main(int argc, char** argv) {
  sample::Args args(
      "custom_activation",
      "softplus and swish as user-defined activations, checked by finite differences");
  args.number_option("beta", 1.702, 0, 100, "swish's parameter");
  args.parse(argc, argv);
  const sample::Backend backend = sample::choose_backend(args);
  const float beta = static_cast<float>(args.number("beta"));
  std::vector<Check> checks;
  try {
    checks.push_back(check("softplus", Softplus{}, backend.device));
    checks.push_back(check("swish(beta=" + std::to_string(beta).substr(0, 5) + ")", Swish{beta},
                           backend.device));
  } catch (const actlayer::Error& e) {
    std::fprintf(stderr, "custom_activation: %s\n", e.what());
    return 1;
  }
  std::printf("user-defined activations through actlayer's elementwise loop, in double, on %s\n\n",
              backend.name.c_str());
  std::printf("%-18s %12s %12s %28s\n", "activation", "f(1)", "f'(1)",
              "max |f' - finite difference|");
  for (const Check& c : checks) {
    std::printf("%-18s %12.9f %12.9f %28.3g\n", c.name.c_str(), c.f_at_1, c.df_at_1,
                c.max_fd_error);
  }
  std::printf("(z on [-10, 10] every 0.01, h = 1e-5; the error is relative to 1 + |f'|)\n");
  if (args.json()) {
    std::vector<std::string> rows;
    for (const Check& c : checks) {
      sample::Json j;
      sample::Json config;
      config.field("device", sample::Json::str(backend.id()))
          .field("grid", sample::Json::numbers({-10, 10, 2001}))
          .field("h", 1e-5)
          .field("dtype", sample::Json::str("double"));
      if (c.name != "softplus") config.field("beta", args.number("beta"));
      j.field("activation", sample::Json::str(c.name.substr(0, c.name.find('('))))
          .field("config", config.object())
          .field("f_at_1", c.f_at_1)
          .field("df_at_1", c.df_at_1)
          .field("max_fd_error", c.max_fd_error);
      rows.push_back(j.object());
    }
    sample::Json top;
    top.backend(backend).field("results", sample::Json::array(rows));
    std::printf("%s\n", top.object().c_str());
  }
  return 0;
}
