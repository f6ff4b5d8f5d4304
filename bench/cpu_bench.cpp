// cpu_bench — the CPU backend against PyTorch on the CPU at n = 2^24 float, on one thread and on
// all of them: relu, leaky_relu, PReLU, sigmoid and tanh, forward and backward; speed (best of
// --reps runs after a warm-up) and accuracy (ulp against the reference over the first 2^20
// elements). Run by bench/cpu_compare.sh, which feeds it PyTorch's times and outputs:
//
//   cpu_bench --dump DIR        writes the inputs (x.bin, dy.bin, alpha.bin) for cpu_torch.py
//   cpu_bench --dir DIR [--reps N] [--json FILE]
//                               times actlayer, reads DIR/torch.json and DIR/<row>.bin when
//                               present, prints the table (and the JSON)
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <functional>
#include <limits>
#include <random>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "actlayer/cpu.hpp"
#include "actlayer/reference.hpp"

namespace {

using actlayer::Activation;
using actlayer::PReluShape;

constexpr std::size_t kN = std::size_t{1} << 24;
constexpr std::size_t kCheck = std::size_t{1} << 20;  // elements checked against the reference
const PReluShape kShape{16, 64, kN / (16 * 64)};      // NCHW, 128x128 maps

struct Inputs {
  std::vector<float> x, dy, alpha;
};

Inputs make_inputs() {
  Inputs in;
  std::mt19937_64 rng(2024);
  std::normal_distribution<float> normal(0.0f, 3.0f);
  in.x.resize(kN);
  in.dy.resize(kN);
  for (float& v : in.x) v = normal(rng);
  for (float& v : in.dy) v = normal(rng);
  in.alpha.resize(kShape.channels);
  for (std::size_t c = 0; c < kShape.channels; ++c) in.alpha[c] = 0.05f + 0.01f * (c % 20);
  return in;
}

bool write(const std::string& path, const std::vector<float>& v) {
  std::ofstream f(path, std::ios::binary);
  f.write(reinterpret_cast<const char*>(v.data()), static_cast<std::streamsize>(v.size() * 4));
  return static_cast<bool>(f);
}

std::vector<float> read(const std::string& path) {
  std::ifstream f(path, std::ios::binary | std::ios::ate);
  if (!f) return {};
  std::vector<float> v(static_cast<std::size_t>(f.tellg()) / 4);
  f.seekg(0);
  f.read(reinterpret_cast<char*>(v.data()), static_cast<std::streamsize>(v.size() * 4));
  return v;
}

std::int64_t ordered(float v) {
  std::int32_t b;
  std::memcpy(&b, &v, 4);
  return b < 0 ? -static_cast<std::int64_t>(b & 0x7fffffff) : b;
}

/// The largest ulp distance of got from want over the first `m` elements, and how many are
/// not the correctly rounded value.
struct Accuracy {
  std::int64_t max_ulp = -1;  // -1: not measured
  std::size_t wrong = 0;
};
Accuracy accuracy(const float* got, const float* want, std::size_t m) {
  Accuracy a{0, 0};
  for (std::size_t i = 0; i < m; ++i) {
    if (std::isnan(got[i]) && std::isnan(want[i])) continue;
    const std::int64_t d = std::llabs(ordered(got[i]) - ordered(want[i]));
    a.max_ulp = std::max(a.max_ulp, d);
    a.wrong += d != 0;
  }
  return a;
}

/// Exits with last_error() when a call fails (a benchmark of a failed call means nothing).
void must(actlayer::Status s) {
  if (s == actlayer::Status::success) return;
  std::fprintf(stderr, "cpu_bench: %s\n", actlayer::last_error());
  std::exit(1);
}

double best_ms(int reps, const std::function<void()>& run) {
  run();  // warm-up: pages touched, threads started
  double best = std::numeric_limits<double>::infinity();
  for (int r = 0; r < reps; ++r) {
    const auto t0 = std::chrono::steady_clock::now();
    run();
    const auto t1 = std::chrono::steady_clock::now();
    best = std::min(best, std::chrono::duration<double, std::milli>(t1 - t0).count());
  }
  return best;
}

/// One row: actlayer's call on all kN elements (writes `out`), the reference's on the first
/// kCheck (writes `want`).
struct Row {
  std::string name;
  std::function<void(std::vector<float>& out)> run;
  std::function<void(std::vector<float>& want)> reference;
};

/// The number following `key` in a flat JSON object of objects: {"row": {"t1": 1.0, ...}}.
double json_number(const std::string& text, const std::string& row, const std::string& key) {
  const std::size_t r = text.find("\"" + row + "\"");
  if (r == std::string::npos) return NAN;
  const std::size_t end = text.find('}', r);
  const std::size_t k = text.find("\"" + key + "\"", r);
  if (k == std::string::npos || k > end) return NAN;
  return std::strtod(text.c_str() + text.find(':', k) + 1, nullptr);
}

}  // namespace

int main(int argc, char** argv) {
  std::string dump, dir, json;
  int reps = 5;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--dump" && i + 1 < argc)
      dump = argv[++i];
    else if (a == "--dir" && i + 1 < argc)
      dir = argv[++i];
    else if (a == "--json" && i + 1 < argc)
      json = argv[++i];
    else if (a == "--reps" && i + 1 < argc)
      reps = std::atoi(argv[++i]);
    else {
      std::fprintf(stderr, "usage: cpu_bench --dump DIR | --dir DIR [--reps N] [--json FILE]\n");
      return 2;
    }
  }
  const Inputs in = make_inputs();
  if (!dump.empty()) {
    const bool ok = write(dump + "/x.bin", in.x) && write(dump + "/dy.bin", in.dy) &&
                    write(dump + "/alpha.bin", in.alpha);
    return ok ? 0 : 1;
  }

  const float* x = in.x.data();
  const float* dy = in.dy.data();
  const float* alpha = in.alpha.data();
  const Activation relu = Activation::relu(), leaky = Activation::leaky_relu(0.01f),
                   sig = Activation::sigmoid(), tanh = Activation::tanh();
  std::vector<float> y_sig(kN), y_tanh(kN), dalpha(kShape.channels);
  must(actlayer::cpu::forward(sig, x, y_sig.data(), kN));
  must(actlayer::cpu::forward(tanh, x, y_tanh.data(), kN));
  namespace cpu = actlayer::cpu;
  namespace ref = actlayer::reference;
  const auto fwd = [&](Activation a) {
    return Row{"", [=](std::vector<float>& o) { must(cpu::forward(a, x, o.data(), kN)); },
               [=](std::vector<float>& w) { must(ref::forward(a, x, w.data(), kCheck)); }};
  };
  const auto bwd = [&](Activation a) {
    return Row{"", [=](std::vector<float>& o) { must(cpu::backward(a, x, dy, o.data(), kN)); },
               [=](std::vector<float>& w) { must(ref::backward(a, x, dy, w.data(), kCheck)); }};
  };
  const auto from_y = [&](Activation a, const float* y) {
    return Row{
        "", [=](std::vector<float>& o) { must(cpu::backward_from_output(a, y, dy, o.data(), kN)); },
        [=](std::vector<float>& w) { must(ref::backward(a, x, dy, w.data(), kCheck)); }};
  };
  // The first kCheck elements of x as a PReLU tensor: the first kCheck / inner channel rows.
  const PReluShape check_shape{1, kCheck / kShape.inner, kShape.inner};
  std::vector<Row> rows = {
      fwd(relu),
      bwd(relu),
      fwd(leaky),
      bwd(leaky),
      Row{"", [&](std::vector<float>& o) { must(cpu::prelu_forward(x, alpha, o.data(), kShape)); },
          [&](std::vector<float>& w) {
            must(ref::prelu_forward(x, alpha, w.data(), check_shape));
          }},
      Row{"",
          [&](std::vector<float>& o) {
            must(cpu::prelu_backward(x, alpha, dy, o.data(), dalpha.data(), kShape));
          },
          [&](std::vector<float>& w) {
            std::vector<float> da(check_shape.channels);
            must(ref::prelu_backward(x, alpha, dy, w.data(), da.data(), check_shape));
          }},
      fwd(sig),
      bwd(sig),
      from_y(sig, y_sig.data()),
      fwd(tanh),
      bwd(tanh),
      from_y(tanh, y_tanh.data())};
  const char* names[] = {"relu_forward",        "relu_backward",    "leaky_relu_forward",
                         "leaky_relu_backward", "prelu_forward",    "prelu_backward",
                         "sigmoid_forward",     "sigmoid_backward", "sigmoid_backward_from_y",
                         "tanh_forward",        "tanh_backward",    "tanh_backward_from_y"};
  std::string torch_json;
  {
    std::ifstream f(dir + "/torch.json");
    std::stringstream s;
    s << f.rdbuf();
    torch_json = s.str();
  }
  const unsigned all = std::max(1u, std::thread::hardware_concurrency());
  std::printf(
      "n = 2^24 float, best of %d; threads: 1 and %u; ulp against the reference over "
      "the first 2^20 elements (backward: against the exact gradient at x)\n",
      reps, all);
  if (torch_json.empty())
    std::printf("NOTICE: no %s/torch.json: no PyTorch columns\n", dir.c_str());
  std::printf(
      "| row | actlayer 1T ms | torch 1T ms | x torch | actlayer %uT ms | torch %uT ms | "
      "actlayer max ulp (not CR) | torch max ulp (not CR) |\n|---|---|---|---|---|---|---|---|\n",
      all, all);
  std::string out_json = "{\n";
  std::vector<float> out(kN), want(kCheck);
  for (std::size_t k = 0; k < rows.size(); ++k) {
    const std::string name = names[k];
    cpu::set_threads(1);
    const double t1 = best_ms(reps, [&] { rows[k].run(out); });
    cpu::set_threads(all);
    const double tn = best_ms(reps, [&] { rows[k].run(out); });
    cpu::set_threads(0);
    rows[k].reference(want);
    const Accuracy ours = accuracy(out.data(), want.data(), kCheck);
    Accuracy theirs;
    const std::vector<float> torch_out = read(dir + "/" + name + ".bin");
    if (torch_out.size() >= kCheck) theirs = accuracy(torch_out.data(), want.data(), kCheck);
    const double p1 = json_number(torch_json, name, "t1"), pn = json_number(torch_json, name, "tn");
    const auto cell = [](double v) {
      char b[32];
      std::snprintf(b, sizeof b, std::isnan(v) ? "-" : "%.1f", v);
      return std::string(b);
    };
    const auto ulp = [](const Accuracy& a) {
      if (a.max_ulp < 0) return std::string("-");
      return std::to_string(a.max_ulp) + " (" + std::to_string(a.wrong) + ")";
    };
    std::printf("| %s | %s | %s | %s | %s | %s | %s | %s |\n", name.c_str(), cell(t1).c_str(),
                cell(p1).c_str(), std::isnan(p1) ? "-" : (cell(p1 / t1) + "x").c_str(),
                cell(tn).c_str(), cell(pn).c_str(), ulp(ours).c_str(), ulp(theirs).c_str());
    char line[512];
    std::snprintf(line, sizeof line,
                  "  \"%s\": {\"actlayer_t1_ms\": %.3f, \"actlayer_tn_ms\": %.3f, \"torch_t1_ms\": "
                  "%s, \"torch_tn_ms\": %s, \"actlayer_max_ulp\": %lld, \"actlayer_not_cr\": %zu, "
                  "\"torch_max_ulp\": %lld, \"torch_not_cr\": %zu}%s\n",
                  name.c_str(), t1, tn, std::isnan(p1) ? "null" : cell(p1).c_str(),
                  std::isnan(pn) ? "null" : cell(pn).c_str(), static_cast<long long>(ours.max_ulp),
                  ours.wrong, static_cast<long long>(theirs.max_ulp), theirs.wrong,
                  k + 1 < rows.size() ? "," : "");
    out_json += line;
  }
  out_json += "}\n";
  if (!json.empty()) std::ofstream(json) << out_json;
  return 0;
}
