// activation_gallery — plots every activation and its derivative over [-6, 6], as computed by
// actlayer on the chosen device, and checks the course's wanted properties (docs/course.md: simple
// nonlinear, continuous and differentiable, monotonic; plus zero-centred output, boundedness,
// the largest gradient and the dead region) on those numbers.
//
// f comes from the layer's forward and f' from its backward with dy = 1, on a grid of 1201
// points in a Buffer<float> on the device. Every property in the table is measured:
//   nonlinear       the least-squares line through f misses it by more than 1e-3 of its scale
//   continuous      no jump in f that survives refining the grid 10^9-fold (a jump between two
//                   neighbours that stands out from theirs is re-sampled, three times, on 1001
//                   points between them; a continuous f shrinks with the spacing, a break does
//                   not)
//   differentiable  the same test on f', and f continuous
//   monotonic       f non-decreasing (or non-increasing) across the grid, up to 4 ulp
//   zero-centred    the mean of f over the symmetric grid is within 1% of max |f|
//   bounded         f finite over [-1e6, 1e6], and neither extreme grows from |z| <= 1e4 on
//   dead region     where f' == 0 exactly
// and f' is compared with the difference quotients of f away from the breaks: its distance to
// their central one, or to the interval between the two one-sided ones, whichever is less
// (f' of a C^1 curve whose f'' jumps, elu and celu at 0, lies between them), and where both
// miss by more than the tolerance, to the central quotient with a step 1000 times smaller
// (softsign's f' peaks in a corner at 0, where every quotient on the grid falls short).
//
// It writes <out>/<op>.svg for each op and <out>/course.svg (the course's closing slide: step,
// logistic, tanh, ReLU).
//
//   activation_gallery [--device auto|cuda|cpu] [--out DIR] [--json]
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <exception>
#include <filesystem>
#include <functional>
#include <limits>
#include <stdexcept>
#include <string>
#include <vector>

#include "actlayer/actlayer.hpp"
#include "common/sample.hpp"
#include "common/svg.hpp"

using actlayer::Activation;
using actlayer::Buffer;
using actlayer::Device;

namespace {

// ---- Grids -----------------------------------------------------------------------------------

constexpr int kHalf = 600;           // the plot grid: z = k * kStep for k in [-kHalf, kHalf]
constexpr double kStep = 0.01;       // so [-6, 6] in 1201 points, 0 and the ends included
constexpr int kRefineLevels = 3;     // a suspected break is re-sampled this many times...
constexpr int kRefinePoints = 1001;  // ...on this many points between its two neighbours
constexpr std::size_t kDraws = 32;   // RReLU training: slopes drawn per grid point
constexpr double kDerivativeTolerance = 1e-3;  // f' against f's difference quotients

/// The plot grid, symmetric bit for bit: x[kHalf - k] == -x[kHalf + k].
std::vector<float> plot_grid() {
  std::vector<float> x;
  for (int k = -kHalf; k <= kHalf; ++k) x.push_back(static_cast<float>(k * kStep));
  return x;
}

/// The bounds sweep: 0 and +-10^(k/100) for |z| from 1e-4 to 1e6, in increasing order.
std::vector<float> wide_grid() {
  std::vector<float> x;
  for (int k = 600; k >= -400; --k) x.push_back(-static_cast<float>(std::pow(10.0, k / 100.0)));
  x.push_back(0.0f);
  for (int k = -400; k <= 600; ++k) x.push_back(static_cast<float>(std::pow(10.0, k / 100.0)));
  return x;
}

std::vector<float> linspace(double a, double b, int n) {
  std::vector<float> x(n);
  for (int i = 0; i < n; ++i) x[i] = static_cast<float>(a + (b - a) * i / (n - 1));
  return x;
}

// ---- Evaluation by the library -----------------------------------------------------------------

/// f(x) from a forward and f'(x) from a backward with dy = 1.
struct Curves {
  std::vector<float> x, f, df;
};

/// Evaluates one op on host values, through the library on the chosen device.
using Evaluator = std::function<Curves(const std::vector<float>& x)>;

/// Copies the layer's results back: `forward(x, y)` and `backward(x, dy, dx)` run the library.
template <class Forward, class Backward>
Curves evaluate(const std::vector<float>& host_x, Device device, Forward&& forward,
                Backward&& backward) {
  const Buffer<float> x = Buffer<float>::from_host(host_x, device);
  const Buffer<float> dy =
      Buffer<float>::from_host(std::vector<float>(host_x.size(), 1.0f), device);
  Buffer<float> y(host_x.size(), device), dx(host_x.size(), device);
  forward(x, y);
  backward(x, dy, dx);
  return {host_x, y.to_host(), dx.to_host()};
}

Evaluator activation_layer(Activation act, Device device) {
  return [act, device](const std::vector<float>& x) {
    const actlayer::ActivationLayer<float> layer(act, device);
    return evaluate(
        x, device, [&](const Buffer<float>& in, Buffer<float>& out) { layer.forward(in, out); },
        [&](const Buffer<float>& in, const Buffer<float>& g, Buffer<float>& out) {
          layer.backward(in, g, out);
        });
  };
}

/// PReLU with one slope shared by every element: the shape {1, 1, n}.
Evaluator prelu_layer(float alpha, Device device) {
  return [alpha, device](const std::vector<float>& x) {
    actlayer::PReluLayer<float> layer(1, alpha, device);
    const actlayer::PReluShape shared{1, 1, x.size()};
    return evaluate(
        x, device,
        [&](const Buffer<float>& in, Buffer<float>& out) { layer.forward(in, out, shared); },
        [&](const Buffer<float>& in, const Buffer<float>& g, Buffer<float>& out) {
          layer.backward(in, g, out, shared, actlayer::ParamGrad::overwrite);
        });
  };
}

/// RReLU: eval mode (slope (lower + upper)/2), or one training forward and its backward.
Evaluator rrelu_layer(std::uint64_t seed, float lower, float upper, bool training, Device device) {
  return [=](const std::vector<float>& x) {
    actlayer::RReluLayer<float> layer(seed, lower, upper, device);
    layer.train(training);
    return evaluate(
        x, device, [&](const Buffer<float>& in, Buffer<float>& out) { layer.forward(in, out); },
        [&](const Buffer<float>& in, const Buffer<float>& g, Buffer<float>& out) {
          layer.backward(in, g, out);
        });
  };
}

// ---- Breaks: jumps in f or f' --------------------------------------------------------------

using Part = std::vector<float> Curves::*;  // &Curves::f or &Curves::df

struct Break {
  std::size_t interval;  // between grid points interval and interval + 1
  double at;             // where the refinement ends up
};

/// The neighbouring pairs whose jump in `part` stands out from both sides' jumps and survives
/// refinement: re-sampled kRefineLevels times on kRefinePoints points between the pair, a
/// continuous curve's largest jump shrinks with the spacing, a break keeps at least half.
std::vector<Break> find_breaks(const Evaluator& eval, const Curves& c, Part part) {
  const std::vector<float>& v = c.*part;
  const auto jump = [&](std::size_t i) { return std::fabs(double(v[i + 1]) - double(v[i])); };
  std::vector<Break> breaks;
  for (std::size_t i = 0; i + 1 < v.size(); ++i) {
    const double left = i > 0 ? jump(i - 1) : 0.0, right = i + 2 < v.size() ? jump(i + 1) : 0.0;
    const double coarse = jump(i);
    if (!(coarse > std::max(1e-5, 3 * std::max(left, right)))) continue;
    float a = c.x[i], b = c.x[i + 1];
    double fine = coarse;
    for (int level = 0; level < kRefineLevels && std::nextafter(a, b) < b; ++level) {
      const Curves sub = eval(linspace(a, b, kRefinePoints));
      const std::vector<float>& s = sub.*part;
      std::size_t k = 0;
      for (std::size_t j = 1; j + 1 < s.size(); ++j) {
        if (std::fabs(double(s[j + 1]) - s[j]) > std::fabs(double(s[k + 1]) - s[k])) k = j;
      }
      a = sub.x[k], b = sub.x[k + 1];
      fine = std::fabs(double(s[k + 1]) - s[k]);
    }
    if (fine >= 0.5 * coarse) breaks.push_back({i, 0.5 * (double(a) + b)});
  }
  return breaks;
}

/// A location for printing: rounded to 1e-6 (the refinement is far finer), without "-0".
std::string where(double z) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%g", std::round(z * 1e6) / 1e6 + 0.0);
  return buf;
}

std::string where(const std::vector<double>& zs) {
  std::string out;
  for (double z : zs) out += (out.empty() ? "" : ", ") + where(z);
  return out;
}

// ---- The properties ----------------------------------------------------------------------------

struct Properties {
  double line_deviation = 0;  // max |f - least-squares line|
  bool nonlinear = false;
  std::vector<Break> f_breaks, df_breaks;
  std::vector<double> discontinuities;  // where f jumps
  std::vector<double> kinks;            // where f is not differentiable (f jumps, or f' does)
  std::string monotonic;                // "increasing", "non-decreasing", ..., "no"
  double mean = 0, odd_error = 0;       // mean of f; max |f(z) + f(-z)|
  bool zero_centred = false;
  bool finite = true;     // f and f' over the bounds sweep
  double lo = 0, hi = 0;  // range of f over the bounds sweep
  bool bounded_below = false, bounded_above = false;
  double max_abs_derivative = 0;
  std::string dead_region;
  double derivative_error = 0;  // max distance of f' to f's difference quotients (see top)
};

double max_line_deviation(const Curves& c) {
  const std::size_t n = c.x.size();
  double sx = 0, sf = 0, sxx = 0, sxf = 0;
  for (std::size_t i = 0; i < n; ++i) {
    sx += c.x[i], sf += c.f[i], sxx += double(c.x[i]) * c.x[i], sxf += double(c.x[i]) * c.f[i];
  }
  const double slope = (n * sxf - sx * sf) / (n * sxx - sx * sx);
  const double intercept = (sf - slope * sx) / n;
  double worst = 0;
  for (std::size_t i = 0; i < n; ++i) {
    worst = std::max(worst, std::fabs(c.f[i] - (intercept + slope * c.x[i])));
  }
  return worst;
}

/// Monotonic across the grid, forgiving a step back of up to 4 ulp: the library's accuracy
/// bound (sigmoid and tanh in float), which near |z| = 6 is as large as tanh's step up.
std::string monotonicity(const std::vector<float>& f) {
  const auto slack = [](float v) {
    return 4 * (std::nextafter(std::fabs(v), INFINITY) - std::fabs(v));
  };
  bool up = true, down = true, strict_up = true, strict_down = true;
  for (std::size_t i = 0; i + 1 < f.size(); ++i) {
    const float tolerance = slack(std::max(std::fabs(f[i]), std::fabs(f[i + 1])));
    up = up && f[i + 1] >= f[i] - tolerance, strict_up = strict_up && f[i + 1] > f[i];
    down = down && f[i + 1] <= f[i] + tolerance, strict_down = strict_down && f[i + 1] < f[i];
  }
  if (strict_up) return "increasing";
  if (up) return "non-decreasing";
  if (strict_down) return "decreasing";
  return down ? "non-increasing" : "no";
}

/// The runs of grid points where f' == 0 exactly, as "everywhere", "none" or intervals.
std::string dead_region(const Curves& c) {
  std::vector<std::string> runs;
  const std::size_t n = c.x.size();
  for (std::size_t i = 0; i < n;) {
    if (c.df[i] != 0.0f) {
      ++i;
      continue;
    }
    std::size_t j = i;
    while (j + 1 < n && c.df[j + 1] == 0.0f) ++j;
    if (i == 0 && j == n - 1) return "everywhere";
    if (i == 0) {
      runs.push_back("z <= " + where(c.x[j]));
    } else if (j == n - 1) {
      runs.push_back("z >= " + where(c.x[i]));
    } else if (i == j) {
      runs.push_back("z = " + where(c.x[i]));
    } else {
      runs.push_back(where(c.x[i]) + " <= z <= " + where(c.x[j]));
    }
    i = j + 1;
  }
  if (runs.empty()) return "none";
  std::string out;
  for (const std::string& r : runs) out += (out.empty() ? "" : ", ") + r;
  return out;
}

Properties measure(const Evaluator& eval, const Curves& c) {
  Properties p;
  const std::size_t n = c.x.size();
  double scale = 0;
  for (float v : c.f) scale = std::max(scale, double(std::fabs(v)));

  p.line_deviation = max_line_deviation(c);
  p.nonlinear = p.line_deviation > 1e-3 * std::max(1.0, scale);

  p.f_breaks = find_breaks(eval, c, &Curves::f);
  p.df_breaks = find_breaks(eval, c, &Curves::df);
  for (const Break& b : p.f_breaks) p.discontinuities.push_back(b.at);
  p.kinks = p.discontinuities;
  for (const Break& b : p.df_breaks) {
    const bool known = std::any_of(p.kinks.begin(), p.kinks.end(),
                                   [&](double z) { return std::fabs(z - b.at) < 1e-6; });
    if (!known) p.kinks.push_back(b.at);
  }
  std::sort(p.kinks.begin(), p.kinks.end());

  p.monotonic = monotonicity(c.f);

  double sum = 0;
  for (std::size_t i = 0; i < n; ++i) {
    sum += c.f[i];
    p.odd_error = std::max(p.odd_error, std::fabs(double(c.f[i]) + c.f[n - 1 - i]));
  }
  p.mean = sum / n;
  p.zero_centred = std::fabs(p.mean) <= 0.01 * scale;

  // Bounds: neither extreme may keep growing between |z| <= 1e4 and |z| <= 1e6 (softsign nears
  // +-1 like 1/z: by 1e-4 over those two decades; a linear or logarithmic f keeps growing).
  const Curves wide = eval(wide_grid());
  double lo_near = std::numeric_limits<double>::infinity(), hi_near = -lo_near;
  p.lo = lo_near, p.hi = hi_near;
  for (std::size_t i = 0; i < wide.x.size(); ++i) {
    p.finite = p.finite && std::isfinite(wide.f[i]) && std::isfinite(wide.df[i]);
    p.lo = std::min(p.lo, double(wide.f[i])), p.hi = std::max(p.hi, double(wide.f[i]));
    if (std::fabs(wide.x[i]) <= 1e4) {
      lo_near = std::min(lo_near, double(wide.f[i])),
      hi_near = std::max(hi_near, double(wide.f[i]));
    }
  }
  p.bounded_below = p.finite && p.lo >= lo_near - 1e-3 * std::max(1.0, std::fabs(lo_near));
  p.bounded_above = p.finite && p.hi <= hi_near + 1e-3 * std::max(1.0, std::fabs(hi_near));

  for (float d : c.df) p.max_abs_derivative = std::max(p.max_abs_derivative, double(std::fabs(d)));
  p.dead_region = dead_region(c);

  // f' against (f(z + h) - f(z - h)) / 2h, skipping the points next to a break.
  std::vector<bool> near_break(n, false);
  for (const auto* breaks : {&p.f_breaks, &p.df_breaks}) {
    for (const Break& b : *breaks) near_break[b.interval] = near_break[b.interval + 1] = true;
  }
  std::vector<std::size_t> finer;  // points checked again with a smaller step
  for (std::size_t i = 1; i + 1 < n; ++i) {
    if (near_break[i]) continue;
    const double central = (double(c.f[i + 1]) - c.f[i - 1]) / (double(c.x[i + 1]) - c.x[i - 1]);
    const double ahead = (double(c.f[i + 1]) - c.f[i]) / (double(c.x[i + 1]) - c.x[i]);
    const double behind = (double(c.f[i]) - c.f[i - 1]) / (double(c.x[i]) - c.x[i - 1]);
    const double d = c.df[i], lo = std::min(ahead, behind), hi = std::max(ahead, behind);
    const double outside = d < lo ? lo - d : d > hi ? d - hi : 0.0;
    const double error = std::min(std::fabs(central - d), outside);
    if (error <= kDerivativeTolerance) {
      p.derivative_error = std::max(p.derivative_error, error);
    } else {
      finer.push_back(i);
    }
  }
  // Where f' peaks in a corner (softsign at 0: f'' jumps from +2 to -2) every quotient on the
  // grid falls short by about h f''; the central quotient with a step 1000 times smaller
  // does not.
  if (!finer.empty()) {
    std::vector<float> z;
    for (std::size_t i : finer) {
      const float h = (c.x[i + 1] - c.x[i - 1]) / 2000;
      z.push_back(c.x[i] - h), z.push_back(c.x[i] + h);
    }
    const Curves fine = eval(z);
    for (std::size_t k = 0; k < finer.size(); ++k) {
      const double central =
          (double(fine.f[2 * k + 1]) - fine.f[2 * k]) / (double(fine.x[2 * k + 1]) - fine.x[2 * k]);
      p.derivative_error = std::max(p.derivative_error, std::fabs(central - c.df[finer[k]]));
    }
  }
  return p;
}

// ---- Plots -------------------------------------------------------------------------------------

/// A line through (x, y) with a gap at each break (a NaN point lifts the pen).
sample::Series line(const std::string& label, const std::vector<float>& x,
                    const std::vector<float>& y, const std::vector<Break>& breaks,
                    const std::string& color, bool dashed) {
  sample::Series s;
  s.label = label, s.color = color, s.dashed = dashed;
  std::vector<bool> gap(x.size(), false);
  for (const Break& b : breaks) gap[b.interval] = true;
  for (std::size_t i = 0; i < x.size(); ++i) {
    s.x.push_back(x[i]), s.y.push_back(y[i]);
    if (gap[i]) s.x.push_back(std::nan("")), s.y.push_back(std::nan(""));
  }
  return s;
}

/// The part of a line with lo <= x <= hi.
sample::Series clip(sample::Series s, double lo, double hi) {
  sample::Series out = s;
  out.x.clear(), out.y.clear();
  for (std::size_t i = 0; i < s.x.size(); ++i) {
    if (std::isnan(s.x[i]) || (s.x[i] >= lo && s.x[i] <= hi)) {
      out.x.push_back(s.x[i]), out.y.push_back(s.y[i]);
    }
  }
  return out;
}

const char* const kBlue = "#1f77b4";
const char* const kRed = "#d62728";

// ---- The ops -----------------------------------------------------------------------------------

struct Entry {
  std::string name;     // the op's name in the table, the JSON and the file name
  std::string formula;  // the plot's title
  Evaluator eval;
};

struct Measured {
  const Entry* entry;
  Curves curves;
  Properties props;
  std::string svg;
};

std::string yes_no(bool v) { return v ? "yes" : "no"; }

std::string range(double lo, double hi) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "[%.4g, %.4g]", lo, hi);
  return buf;
}

std::string json_op(const Measured& m, const std::string& config) {
  const Properties& p = m.props;
  const auto boolean = sample::Json::boolean;
  std::vector<double> discontinuities, kinks;
  for (double z : p.discontinuities) discontinuities.push_back(std::round(z * 1e6) / 1e6 + 0.0);
  for (double z : p.kinks) kinks.push_back(std::round(z * 1e6) / 1e6 + 0.0);
  sample::Json j;
  j.field("op", sample::Json::str(m.entry->name))
      .field("config", config)
      .field("nonlinear", boolean(p.nonlinear))
      .field("continuous", boolean(p.discontinuities.empty()))
      .field("differentiable",
             sample::Json::str(p.kinks.empty() ? "everywhere" : "except at " + where(p.kinks)))
      .field("monotonic", boolean(p.monotonic != "no"))
      .field("zero_centred", boolean(p.zero_centred))
      .field("bounded", boolean(p.bounded_below && p.bounded_above))
      .field("max_abs_derivative", p.max_abs_derivative)
      .field("dead_region", sample::Json::str(p.dead_region))
      .field("svg", sample::Json::str(m.svg))
      .field("monotonic_kind", sample::Json::str(p.monotonic))
      .field("discontinuities", sample::Json::numbers(discontinuities))
      .field("non_differentiable_at", sample::Json::numbers(kinks))
      .field("line_deviation", p.line_deviation)
      .field("mean_output", p.mean)
      .field("odd_error", p.odd_error)
      .field("range", sample::Json::numbers({p.lo, p.hi}))
      .field("bounded_below", boolean(p.bounded_below))
      .field("bounded_above", boolean(p.bounded_above))
      .field("derivative_error", p.derivative_error);
  return j.object();
}

void print_tables(const std::vector<Measured>& all) {
  std::printf(
      "\nThe course's properties, measured on the library's f and f' (z in [-6, 6]; "
      "bounded: z in [-1e6, 1e6])\n\n");
  std::printf("%-11s %-9s %-10s %-14s %-15s %-12s %-7s %-8s %s\n", "op", "nonlinear", "continuous",
              "differentiable", "monotonic", "zero-centred", "bounded", "max|f'|",
              "dead region (f' = 0)");
  for (const Measured& m : all) {
    const Properties& p = m.props;
    const std::string continuous =
        p.discontinuities.empty() ? "yes" : "no, at " + where(p.discontinuities);
    const std::string differentiable =
        p.kinks.empty() ? "everywhere" : "except at " + where(p.kinks);
    const std::string bounded = p.bounded_below && p.bounded_above ? "yes"
                                : p.bounded_below                  ? "below"
                                : p.bounded_above                  ? "above"
                                                                   : "no";
    std::printf("%-11s %-9s %-10s %-14s %-15s %-12s %-7s %-8.4g %s\n", m.entry->name.c_str(),
                yes_no(p.nonlinear).c_str(), continuous.c_str(), differentiable.c_str(),
                p.monotonic.c_str(), yes_no(p.zero_centred).c_str(), bounded.c_str(),
                p.max_abs_derivative, p.dead_region.c_str());
  }
  std::printf("\nThe measurements behind them\n\n");
  std::printf("%-11s %10s %12s %10s %22s %12s\n", "op", "line dev", "mean f", "odd err",
              "range on [-1e6, 1e6]", "f' vs diff");
  for (const Measured& m : all) {
    const Properties& p = m.props;
    std::printf("%-11s %10.4g %12.4g %10.3g %22s %12.3g\n", m.entry->name.c_str(), p.line_deviation,
                p.mean, p.odd_error, range(p.lo, p.hi).c_str(), p.derivative_error);
  }
  std::printf(
      "\nline dev: max |f - least-squares line| (nonlinear: above 1e-3 of max |f|)\n"
      "mean f: over the symmetric grid (zero-centred: within 1%% of max |f|); "
      "odd err: max |f(z) + f(-z)|\n"
      "continuous, differentiable: no jump in f, f' that survives a 10^9-fold finer grid\n"
      "bounded: f finite, and its extremes stop growing past |z| = 100\n"
      "f' vs diff: max distance of f' to the difference quotients of f (central, or between "
      "the one-sided ones), away from the breaks\n");
}

int run(const sample::Args& args, const sample::Backend& backend) {
  const Device device = backend.device;
  const float prelu_alpha = 0.25f, lower = 1.0f / 8, upper = 1.0f / 3;
  const std::uint64_t seed = 1;
  std::vector<Entry> entries = {
      {"identity", "identity: f(z) = z", activation_layer(Activation::identity(), device)},
      {"step", "step: f(z) = 1 if z >= 0, else 0", activation_layer(Activation::step(), device)},
      {"sigmoid", "logistic: f(z) = 1 / (1 + e^-z)",
       activation_layer(Activation::sigmoid(), device)},
      {"tanh", "tanh: f(z) = (e^z - e^-z) / (e^z + e^-z)",
       activation_layer(Activation::tanh(), device)},
      {"relu", "ReLU: f(z) = max(0, z)", activation_layer(Activation::relu(), device)},
      {"leaky_relu", "Leaky-ReLU: f(z) = z, or z/a for z < 0 (a = 10)",
       activation_layer(Activation::leaky_relu_divisor(10.0f), device)},
      {"prelu", "PReLU: f(z) = z, or alpha z for z < 0 (one alpha = 0.25)",
       prelu_layer(prelu_alpha, device)},
      {"rrelu", "RReLU: eval slope (l + u)/2; training slopes from [l, u] = [1/8, 1/3]",
       rrelu_layer(seed, lower, upper, false, device)},
      {"elu", "ELU: f(z) = z, or e^z - 1 for z < 0", activation_layer(Activation::elu(), device)},
      {"selu", "SELU: f(z) = lambda z, or lambda alpha (e^z - 1) for z < 0",
       activation_layer(Activation::selu(), device)},
      {"celu", "CELU: f(z) = z, or alpha (e^(z/alpha) - 1) for z < 0 (alpha = 1)",
       activation_layer(Activation::celu(), device)},
      {"silu", "SiLU: f(z) = z sigmoid(z)", activation_layer(Activation::silu(), device)},
      {"swish", "swish: f(z) = z sigmoid(beta z) (beta = 1.5)",
       activation_layer(Activation::swish(1.5f), device)},
      {"quick_gelu", "QuickGELU: f(z) = z sigmoid(1.702 z)",
       activation_layer(Activation::quick_gelu(), device)},
      {"mish", "Mish: f(z) = z tanh(softplus(z))", activation_layer(Activation::mish(), device)},
      {"softplus", "softplus: f(z) = log(1 + e^z) (z past the threshold 20)",
       activation_layer(Activation::softplus(), device)},
      {"logsigmoid", "log-sigmoid: f(z) = log(1 / (1 + e^-z))",
       activation_layer(Activation::logsigmoid(), device)},
      {"tanhshrink", "tanhshrink: f(z) = z - tanh z",
       activation_layer(Activation::tanhshrink(), device)},
  };
  // Then every other op of the list, with its default parameters.
  for (actlayer::Op op : actlayer::kOps) {
    const std::string name = actlayer::to_string(op);
    if (std::any_of(entries.begin(), entries.end(), [&](const Entry& e) { return e.name == name; }))
      continue;
    Activation act;
    act.op = op;
    entries.push_back({name, name + ": " + actlayer::formula(op), activation_layer(act, device)});
  }

  const std::filesystem::path out_dir = args.str("out");
  std::filesystem::create_directories(out_dir);
  std::printf(
      "activation_gallery: f (forward) and f' (backward, dy = 1) from actlayer on %s, "
      "%d points on [-6, 6]\n",
      backend.name.c_str(), 2 * kHalf + 1);

  const std::vector<float> grid = plot_grid();
  std::vector<Measured> all;
  for (const Entry& e : entries) {
    Measured m{&e, e.eval(grid), {}, (out_dir / (e.name + ".svg")).string()};
    m.props = measure(e.eval, m.curves);
    all.push_back(std::move(m));
  }

  // RReLU training: each grid point kDraws times in one forward, so one call draws kDraws
  // slopes per point; backward returns the slopes as f'. The range of the slopes drawn goes
  // into the JSON; the plot shows the first draw at every point.
  std::vector<float> repeated;
  for (std::size_t k = 0; k < kDraws; ++k) {
    repeated.insert(repeated.end(), grid.begin(), grid.end());
  }
  const Curves train = rrelu_layer(seed, lower, upper, true, device)(repeated);
  const std::size_t n = grid.size();
  double slope_lo = 1, slope_hi = 0, slope_sum = 0, slope_count = 0;
  for (std::size_t j = 0; j < train.x.size(); ++j) {
    if (train.x[j] < 0) {
      slope_lo = std::min(slope_lo, double(train.df[j]));
      slope_hi = std::max(slope_hi, double(train.df[j]));
      slope_sum += train.df[j], slope_count += 1;
    }
  }
  const std::vector<float> one_draw(train.f.begin(), train.f.begin() + n);
  // The bounds of what training can give: f with the slope fixed at lower, and at upper (a
  // leaky ReLU with that slope), f' broken at 0.
  struct Bound {
    std::string label, color;
    Curves curves;
    std::vector<Break> df_breaks;
  };
  std::vector<Bound> bounds;
  const struct {
    const char* label;
    float slope;
    const char* color;
  } bound_specs[] = {{"lower (1/8)", lower, "#31a354"}, {"upper (1/3)", upper, "#756bb1"}};
  for (const auto& spec : bound_specs) {
    const Evaluator eval = activation_layer(Activation::leaky_relu(spec.slope), device);
    Bound b{spec.label, spec.color, eval(grid), {}};
    b.df_breaks = find_breaks(eval, b.curves, &Curves::df);
    bounds.push_back(std::move(b));
  }

  // One plot per op: f solid, f' dashed, each broken where it jumps.
  for (const Measured& m : all) {
    sample::Plot plot;
    plot.title = m.entry->formula;
    plot.x_label = "z";
    plot.y_label = "f(z), f'(z)";
    plot.y_margin = 0.05;
    const bool rrelu = m.entry->name == "rrelu";
    const std::string eval_tag = rrelu ? " (eval, slope (l + u)/2)" : "";
    plot.series.push_back(
        line("f" + eval_tag, m.curves.x, m.curves.f, m.props.f_breaks, kBlue, false));
    plot.series.push_back(
        line("f'" + eval_tag, m.curves.x, m.curves.df, m.props.df_breaks, kRed, true));
    if (rrelu) {
      // Training's outputs lie between the two bounds; the eval lines stay visible on top.
      plot.width = 760, plot.legend_width = 250;
      for (sample::Series& s : plot.series) s.on_top = true;
      plot.series.push_back(
          line("f train, one draw per point", grid, one_draw, {}, "#bdbdbd", false));
      plot.series.back().width = 1;
      for (const Bound& b : bounds) {
        plot.series.push_back(
            line("f train, slope = " + b.label, grid, b.curves.f, {}, b.color, false));
      }
      for (const Bound& b : bounds) {
        plot.series.push_back(
            line("f' train, slope = " + b.label, grid, b.curves.df, b.df_breaks, b.color, true));
      }
    }
    if (!plot.write(m.svg)) throw std::runtime_error("cannot write " + m.svg);
  }

  // The course's closing slide: step, logistic, tanh and ReLU together (z in [-3, 3], where
  // ReLU does not flatten the others).
  sample::Plot course;
  course.title = "The course's activations: step, logistic, tanh, ReLU";
  course.x_label = "z";
  course.y_label = "f(z)";
  const char* const course_ops[] = {"step", "sigmoid", "tanh", "relu"};
  const char* const course_labels[] = {"step", "logistic", "tanh", "ReLU"};
  for (std::size_t k = 0; k < 4; ++k) {
    for (const Measured& m : all) {
      if (m.entry->name != course_ops[k]) continue;
      course.series.push_back(
          clip(line(course_labels[k], m.curves.x, m.curves.f, m.props.f_breaks, "", false), -3, 3));
    }
  }
  // step's 0 branch (z < 0) runs along ReLU's: step goes on top, dashed, so that both show.
  course.series[0].dashed = true, course.series[0].on_top = true, course.series[0].width = 3;
  const std::string course_svg = (out_dir / "course.svg").string();
  if (!course.write(course_svg)) throw std::runtime_error("cannot write " + course_svg);

  print_tables(all);

  // The course's remarks, in the measured numbers.
  bool consistent = true;
  for (const Measured& m : all) {
    if (m.entry->name == "sigmoid") {
      const double g = m.props.max_abs_derivative;
      std::printf(
          "\nvanishing gradients: max |logistic'| = %.6g, so back-propagation through k "
          "logistic layers\nscales the gradient by at most %.6g^k: %.3g for k = 5, %.3g "
          "for k = 10\n",
          g, g, std::pow(g, 5), std::pow(g, 10));
    }
    consistent = consistent && m.props.derivative_error <= kDerivativeTolerance;
  }
  std::printf(
      "rrelu training (seed %llu, %zu draws per point): slopes drawn in [%.4f, %.4f], "
      "mean %.4f;\neval uses (lower + upper)/2 = %.4f\n",
      static_cast<unsigned long long>(seed), kDraws, slope_lo, slope_hi, slope_sum / slope_count,
      Activation::rrelu(lower, upper).eval_slope());
  std::printf("plots: <op>.svg for each op, and course.svg, in %s\n", out_dir.string().c_str());
  if (!consistent) {
    std::printf(
        "FAILED: f' (backward) does not match the difference quotients of f (forward) "
        "within 1e-3 for some op\n");
  }

  if (args.json()) {
    std::vector<std::string> ops;
    for (const Measured& m : all) {
      sample::Json config;
      config.field("device", sample::Json::str(backend.id()))
          .field("grid", sample::Json::numbers({-kHalf * kStep, kHalf * kStep, 2.0 * kHalf + 1}))
          .field("dtype", sample::Json::str("float"));
      if (m.entry->name == "leaky_relu") config.field("divisor", 10.0);
      if (m.entry->name == "prelu") config.field("alpha", prelu_alpha);
      if (m.entry->name == "rrelu") {
        config.field("lower", lower)
            .field("upper", upper)
            .field("mode", sample::Json::str("eval"))
            .field("training_seed", static_cast<double>(seed))
            .field("training_draws_per_point", static_cast<double>(kDraws));
      }
      ops.push_back(json_op(m, config.object()));
    }
    sample::Json j;
    j.backend(backend)
        .field("grid", sample::Json::numbers({-kHalf * kStep, kHalf * kStep, 2.0 * kHalf + 1}))
        .field("course_svg", sample::Json::str(course_svg))
        .field("rrelu_training_slopes", sample::Json::numbers({slope_lo, slope_hi}))
        .field("ops", sample::Json::array(ops));
    std::printf("%s\n", j.object().c_str());
  }
  return consistent ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  sample::Args args("activation_gallery",
                    "plots each activation and its derivative as computed by actlayer, and "
                    "checks the course's properties on the numbers");
  args.text_option("out", "gallery", "directory for the SVG plots (created)");
  args.parse(argc, argv);
  const sample::Backend backend = sample::choose_backend(args);
  try {
    return run(args, backend);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "activation_gallery: %s\n", e.what());
    return 1;
  }
}
