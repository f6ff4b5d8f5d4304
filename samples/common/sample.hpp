// samples/common/sample.hpp — what every sample shares: its command line (--device, --json and
// its own options), the choice of device with the one-line CPU notice, and a small JSON writer.
// Header-only; uses actlayer's public API only.
#pragma once

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include <cuda_runtime_api.h>

#include "actlayer/buffer.hpp"

namespace sample {

// ---- Command line ----------------------------------------------------------------------------

/// --name value options with defaults, plus the flags every sample has: --device
/// cpu|cuda|auto (auto), --json, --help.
class Args {
 public:
  Args(std::string program, std::string summary)
      : program_(std::move(program)), summary_(std::move(summary)) {
    option("device", "auto", "cpu, cuda, or auto (cuda when a GPU is present)");
  }
  Args& option(const std::string& name, const std::string& fallback, const std::string& help) {
    values_[name] = fallback;
    help_.push_back({name, help + " (default " + fallback + ")"});
    return *this;
  }
  /// Parses argv; on --help or a bad option prints the usage and exits (2 on error).
  void parse(int argc, char** argv) {
    for (int i = 1; i < argc; ++i) {
      const std::string a = argv[i];
      if (a == "--json") {
        json_ = true;
      } else if (a == "--help" || a == "-h") {
        usage(stdout);
        std::exit(0);
      } else if (a.rfind("--", 0) == 0 && values_.count(a.substr(2)) && i + 1 < argc) {
        values_[a.substr(2)] = argv[++i];
      } else {
        std::fprintf(stderr, "%s: unknown or incomplete option '%s'\n", program_.c_str(),
                     a.c_str());
        usage(stderr);
        std::exit(2);
      }
    }
  }
  std::string str(const std::string& name) const { return values_.at(name); }
  long integer(const std::string& name) const {
    return std::strtol(values_.at(name).c_str(), nullptr, 10);
  }
  double number(const std::string& name) const {
    return std::strtod(values_.at(name).c_str(), nullptr);
  }
  bool json() const { return json_; }

 private:
  void usage(FILE* f) const {
    std::fprintf(
        f, "%s — %s\n\nusage: %s [options]\n  --json  print one JSON object as the last line\n",
        program_.c_str(), summary_.c_str(), program_.c_str());
    for (const auto& [name, help] : help_)
      std::fprintf(f, "  --%s  %s\n", name.c_str(), help.c_str());
  }
  std::string program_, summary_;
  std::map<std::string, std::string> values_;
  std::vector<std::pair<std::string, std::string>> help_;
  bool json_ = false;
};

// ---- Device ------------------------------------------------------------------------------------

struct Backend {
  actlayer::Device device;
  std::string name;  // "NVIDIA H100 80GB HBM3" or "CPU (actlayer reference)"
};

/// The device --device asks for. auto picks CUDA when there is a GPU, else the CPU with a
/// one-line notice; cuda without a GPU is an error (exit 1).
inline Backend choose_backend(const Args& args) {
  const std::string want = args.str("device");
  if (want != "cpu" && want != "cuda" && want != "auto") {
    std::fprintf(stderr, "--device must be cpu, cuda or auto (got '%s')\n", want.c_str());
    std::exit(2);
  }
  const bool gpu = actlayer::cuda_available();
  if (want == "cuda" && !gpu) {
    std::fprintf(stderr, "--device cuda: no CUDA device is available\n");
    std::exit(1);
  }
  if (want == "cpu" || !gpu) {
    if (want == "auto")
      std::printf("NOTICE: no CUDA device: running on the CPU (actlayer's reference backend)\n");
    return {actlayer::Device::cpu, "CPU (actlayer reference)"};
  }
  cudaDeviceProp prop{};
  int id = 0;
  cudaGetDevice(&id);
  cudaGetDeviceProperties(&prop, id);
  return {actlayer::Device::cuda, prop.name};
}

// ---- JSON
// ----------------------------------------------------------------------------------------

/// Builds one JSON value as text: objects, arrays, strings, numbers (non-finite -> null).
class Json {
 public:
  static std::string str(const std::string& s) {
    std::string out = "\"";
    for (char c : s) {
      if (c == '"' || c == '\\') out += '\\';
      if (static_cast<unsigned char>(c) < 0x20) {
        char buf[8];
        std::snprintf(buf, sizeof buf, "\\u%04x", c);
        out += buf;
        continue;
      }
      out += c;
    }
    return out + "\"";
  }
  static std::string num(double v) {
    if (!std::isfinite(v)) return "null";
    std::ostringstream o;
    o.precision(10);
    o << v;
    return o.str();
  }
  Json& field(const std::string& key, const std::string& raw_value) {
    text_ += (text_.empty() ? "" : ", ") + str(key) + ": " + raw_value;
    return *this;
  }
  Json& field(const std::string& key, double v) { return field(key, num(v)); }
  std::string object() const { return "{" + text_ + "}"; }

  static std::string array(const std::vector<std::string>& raw_values) {
    std::string out = "[";
    for (std::size_t i = 0; i < raw_values.size(); ++i) out += (i ? ", " : "") + raw_values[i];
    return out + "]";
  }
  static std::string numbers(const std::vector<double>& values) {
    std::vector<std::string> raw;
    for (double v : values) raw.push_back(num(v));
    return array(raw);
  }

 private:
  std::string text_;
};

}  // namespace sample
