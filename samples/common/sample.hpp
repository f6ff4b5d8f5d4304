// samples/common/sample.hpp — what every sample shares: its command line (--device, --json and
// its own options, each validated), the choice of device with the one-line CPU notice, progress
// on stderr for long runs, and a small JSON writer. Header-only; uses actlayer's public API only.
#pragma once

#include <cctype>
#include <cerrno>
#include <chrono>
#include <climits>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include <unistd.h>

#include <cuda_runtime_api.h>

#include "actlayer/buffer.hpp"

namespace sample {

// ---- Command line ----------------------------------------------------------------------------

/// The sample's options, each with a type, a default and a range, plus the flags every sample
/// has: --device cpu|cuda|auto (auto), --json, --help. Accepts `--name value` and `--name=value`.
/// A bad command line (an unknown option, a missing value, a value that is not fully a number
/// of the option's type or is outside its range or list) prints one line naming the option and
/// the value, then the usage line, and exits with 2.
class Args {
 public:
  Args(std::string program, std::string summary)
      : program_(std::move(program)), summary_(std::move(summary)) {
    choice_option("device", "auto", {"cpu", "cuda", "auto"},
                  "where to run; auto: cuda when a GPU is present, else cpu");
  }

  /// An integer in [min, max].
  Args& int_option(const std::string& name, long long fallback, long long min, long long max,
                   const std::string& help) {
    Option o = make(name, Kind::integer, std::to_string(fallback), help);
    o.imin = min, o.imax = max;
    return add(std::move(o));
  }
  /// A finite number in [min, max] (or (min, max] when min_exclusive).
  Args& number_option(const std::string& name, double fallback, double min, double max,
                      const std::string& help, bool min_exclusive = false) {
    Option o = make(name, Kind::number, format(fallback), help);
    o.dmin = min, o.dmax = max, o.min_exclusive = min_exclusive;
    return add(std::move(o));
  }
  /// One of `allowed`.
  Args& choice_option(const std::string& name, const std::string& fallback,
                      std::vector<std::string> allowed, const std::string& help) {
    Option o = make(name, Kind::choice, fallback, help);
    o.allowed = std::move(allowed);
    return add(std::move(o));
  }
  /// A comma-separated list of one or more of `allowed`.
  Args& list_option(const std::string& name, const std::string& fallback,
                    std::vector<std::string> allowed, const std::string& help) {
    Option o = make(name, Kind::list, fallback, help);
    o.allowed = std::move(allowed);
    return add(std::move(o));
  }
  /// Any non-empty text (a path).
  Args& text_option(const std::string& name, const std::string& fallback, const std::string& help) {
    return add(make(name, Kind::text, fallback, help));
  }
  /// A flag without a value (off unless given).
  Args& flag_option(const std::string& name, const std::string& help) {
    return add(make(name, Kind::flag, "", help));
  }

  /// Parses argv; on --help prints the usage and exits 0, on a bad command line exits 2.
  void parse(int argc, char** argv) {
    for (int i = 1; i < argc; ++i) {
      const std::string a = argv[i];
      if (a == "--help" || a == "-h") {
        help(stdout);
        std::exit(0);
      }
      if (a.rfind("--", 0) != 0 || a.size() == 2) fail("unexpected argument '" + a + "'");
      const std::size_t eq = a.find('=');
      const std::string name = a.substr(2, eq == std::string::npos ? std::string::npos : eq - 2);
      if (name == "json") {
        if (eq != std::string::npos) fail("--json takes no value (got '" + a + "')");
        json_ = true;
        continue;
      }
      const auto it = index_.find(name);
      if (it == index_.end()) fail("unknown option '--" + name + "'");
      Option& o = options_[it->second];
      if (o.kind == Kind::flag) {
        if (eq != std::string::npos) fail("--" + name + " takes no value (got '" + a + "')");
        o.value = "1";
        continue;
      }
      std::string value;
      if (eq != std::string::npos) {
        value = a.substr(eq + 1);
      } else if (i + 1 < argc) {
        value = argv[++i];
      } else {
        fail("--" + name + " needs a value (" + want(o) + ")");
      }
      check(o, value);
      o.value = value;
    }
  }

  std::string str(const std::string& name) const { return get(name).value; }
  long long integer(const std::string& name) const {
    return std::strtoll(get(name).value.c_str(), nullptr, 10);
  }
  double number(const std::string& name) const {
    return std::strtod(get(name).value.c_str(), nullptr);
  }
  std::vector<std::string> list(const std::string& name) const { return split(get(name).value); }
  bool flag(const std::string& name) const { return !get(name).value.empty(); }
  bool json() const { return json_; }
  const std::string& program() const { return program_; }

 private:
  enum class Kind { integer, number, choice, list, text, flag };
  struct Option {
    std::string name, value, fallback, help;
    Kind kind;
    long long imin = 0, imax = 0;
    double dmin = 0, dmax = 0;
    bool min_exclusive = false;
    std::vector<std::string> allowed;
  };

  static Option make(const std::string& name, Kind kind, const std::string& fallback,
                     const std::string& help) {
    Option o;
    o.name = name, o.kind = kind, o.value = o.fallback = fallback, o.help = help;
    return o;
  }
  Args& add(Option o) {
    index_[o.name] = options_.size();
    options_.push_back(std::move(o));
    return *this;
  }
  const Option& get(const std::string& name) const { return options_.at(index_.at(name)); }

  static std::string format(double v) {
    std::ostringstream s;
    s << v;
    return s.str();
  }
  static std::vector<std::string> split(const std::string& s) {
    std::vector<std::string> out;
    std::size_t start = 0;
    for (;;) {
      const std::size_t comma = s.find(',', start);
      out.push_back(
          s.substr(start, comma == std::string::npos ? std::string::npos : comma - start));
      if (comma == std::string::npos) return out;
      start = comma + 1;
    }
  }
  static std::string joined(const std::vector<std::string>& v, const char* sep) {
    std::string out;
    for (const std::string& s : v) out += (out.empty() ? "" : sep) + s;
    return out;
  }

  /// What the option accepts, in words: "an integer >= 1", "one of cpu, cuda, auto", ...
  static std::string want(const Option& o) {
    switch (o.kind) {
      case Kind::integer:
        if (o.imax == LLONG_MAX) return "an integer >= " + std::to_string(o.imin);
        return "an integer from " + std::to_string(o.imin) + " to " + std::to_string(o.imax);
      case Kind::number:
        return "a number " + std::string(o.min_exclusive ? "> " : ">= ") + format(o.dmin) +
               " and <= " + format(o.dmax);
      case Kind::choice:
        return "one of " + joined(o.allowed, ", ");
      case Kind::list:
        return "a comma-separated list of " + joined(o.allowed, ", ");
      case Kind::text:
        return "a non-empty value";
      case Kind::flag:
        return "no value";
    }
    return "?";
  }
  /// The option's placeholder in the usage line.
  static std::string metavar(const Option& o) {
    switch (o.kind) {
      case Kind::integer:
        return "N";
      case Kind::number:
        return "X";
      case Kind::choice:
        return joined(o.allowed, "|");
      case Kind::list:
        return "a,b,...";
      case Kind::text:
        return o.name == "out" ? "PATH" : "TEXT";
      case Kind::flag:
        return "";
    }
    return "?";
  }

  /// Exits with 2 unless `value` is wholly a valid value of `o`.
  void check(const Option& o, const std::string& value) const {
    bool ok = !value.empty();
    if (ok && o.kind == Kind::integer) {
      // strtoll skips leading space and stops at the first non-digit: want all of it.
      const char first = value[0];
      char* end = nullptr;
      errno = 0;
      const long long v = std::strtoll(value.c_str(), &end, 10);
      ok = (first == '-' || first == '+' || (first >= '0' && first <= '9')) && *end == '\0' &&
           errno == 0 && v >= o.imin && v <= o.imax;
    } else if (ok && o.kind == Kind::number) {
      char* end = nullptr;
      const double v = std::strtod(value.c_str(), &end);
      ok = !std::isspace(static_cast<unsigned char>(value[0])) && *end == '\0' &&
           std::isfinite(v) && v <= o.dmax && (o.min_exclusive ? v > o.dmin : v >= o.dmin);
    } else if (ok && o.kind == Kind::choice) {
      ok = contains(o.allowed, value);
    } else if (ok && o.kind == Kind::list) {
      for (const std::string& item : split(value)) ok = ok && contains(o.allowed, item);
    }
    if (!ok) fail("bad value '" + value + "' for --" + o.name + ": want " + want(o));
  }
  static bool contains(const std::vector<std::string>& v, const std::string& s) {
    for (const std::string& x : v) {
      if (x == s) return true;
    }
    return false;
  }

  [[noreturn]] void fail(const std::string& message) const {
    std::fprintf(stderr, "%s: %s\n", program_.c_str(), message.c_str());
    std::fprintf(stderr, "%s\n", usage_line().c_str());
    std::exit(2);
  }
  std::string usage_line() const {
    std::string u = "usage: " + program_;
    for (const Option& o : options_) {
      u += " [--" + o.name + (o.kind == Kind::flag ? "" : " " + metavar(o)) + "]";
    }
    return u + " [--json] [--help]";
  }
  void help(FILE* f) const {
    std::fprintf(f, "%s — %s\n\n%s\n\n", program_.c_str(), summary_.c_str(), usage_line().c_str());
    for (const Option& o : options_) {
      std::string text = o.help;
      if (o.kind != Kind::flag) text += "; " + want(o) + " (default " + o.fallback + ")";
      std::fprintf(f, "  --%s%s\n%s", o.name.c_str(),
                   o.kind == Kind::flag ? "" : (" " + metavar(o)).c_str(), wrap(text).c_str());
    }
    std::fprintf(f,
                 "  --json\n      print one JSON object as the last line of stdout\n"
                 "  --help, -h\n      print this and exit\n"
                 "Options take their value as --name value or --name=value.\n");
  }

  /// `text` in lines of at most 100 columns, each indented by 6.
  static std::string wrap(const std::string& text) {
    std::string out, line;
    std::istringstream words(text);
    for (std::string w; words >> w;) {
      if (!line.empty() && line.size() + 1 + w.size() > 94)
        out += "      " + line + "\n", line.clear();
      line += (line.empty() ? "" : " ") + w;
    }
    return out + "      " + line + "\n";
  }

  std::string program_, summary_;
  std::vector<Option> options_;
  std::map<std::string, std::size_t> index_;
  bool json_ = false;
};

// ---- Device ------------------------------------------------------------------------------------

struct Backend {
  actlayer::Device device;
  std::string name;  // "NVIDIA H100 80GB HBM3" or "CPU (actlayer CPU backend)"
  /// The JSON's "device": "cpu" or "cuda" (the descriptive name goes in "backend").
  std::string id() const { return device == actlayer::Device::cuda ? "cuda" : "cpu"; }
};

/// The device --device asks for. auto picks CUDA when there is a GPU, else the CPU with a
/// one-line notice; cuda without a GPU is an error (exit 1).
inline Backend choose_backend(const Args& args) {
  const std::string want = args.str("device");  // cpu, cuda or auto: Args checked it
  const bool gpu = actlayer::cuda_available();
  if (want == "cuda" && !gpu) {
    std::fprintf(stderr, "%s: --device cuda: no CUDA device is available\n",
                 args.program().c_str());
    std::exit(1);
  }
  if (want == "cpu" || !gpu) {
    if (want == "auto")
      std::printf("NOTICE: no CUDA device: running on the CPU (actlayer's CPU backend)\n");
    return {actlayer::Device::cpu, "CPU (actlayer CPU backend)"};
  }
  cudaDeviceProp prop{};
  int id = 0;
  cudaGetDevice(&id);
  cudaGetDeviceProperties(&prop, id);
  return {actlayer::Device::cuda, prop.name};
}

// ---- Progress ----------------------------------------------------------------------------------

/// Progress of long work, on stderr so that stdout (and --json's last line) stays clean: one
/// live line redrawn in place (\r) when stderr is a terminal, else a plain line every
/// `every_s` seconds (0: at every update). Quiet: nothing.
class Progress {
 public:
  Progress(std::string program, bool quiet, double every_s)
      : program_(std::move(program)),
        quiet_(quiet),
        tty_(isatty(fileno(stderr)) == 1),
        every_s_(every_s) {}

  /// A new task (one activation's training): `total` steps called `unit`; its clock starts.
  void start(const std::string& task, const std::string& unit, long long total) {
    task_ = task, unit_ = unit, total_ = total, shown_ = false;
    start_ = last_ = Clock::now();
  }

  /// Step `done` of the task is over, with this loss; shown when due.
  void update(long long done, double loss) {
    if (quiet_) return;
    const Clock::time_point now = Clock::now();
    const double since = std::chrono::duration<double>(now - last_).count();
    if (tty_ ? shown_ && since < 0.1 && done != total_ : since < every_s_) return;
    last_ = now;
    char line[256];
    std::snprintf(line, sizeof line, "%s: %s: %s %lld/%lld, loss %.4f, %.1f s", program_.c_str(),
                  task_.c_str(), unit_.c_str(), done, total_, loss,
                  std::chrono::duration<double>(now - start_).count());
    std::fprintf(stderr, tty_ ? "\r%s\033[K" : "%s\n", line);
    std::fflush(stderr);
    shown_ = true;
  }

  /// The task is over: clears the live line, so that its result can be printed in its place.
  void finish() {
    if (quiet_ || !tty_ || !shown_) return;
    std::fprintf(stderr, "\r\033[K");
    std::fflush(stderr);
  }

 private:
  using Clock = std::chrono::steady_clock;
  std::string program_;
  bool quiet_, tty_;
  double every_s_;
  std::string task_, unit_;
  long long total_ = 0;
  bool shown_ = false;
  Clock::time_point start_, last_;
};

// ---- JSON
// ----------------------------------------------------------------------------------------

/// Builds one JSON value as text: objects, arrays, strings, numbers (non-finite -> null),
/// booleans.
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
  static std::string boolean(bool v) { return v ? "true" : "false"; }
  Json& field(const std::string& key, const std::string& raw_value) {
    text_ += (text_.empty() ? "" : ", ") + str(key) + ": " + raw_value;
    return *this;
  }
  Json& field(const std::string& key, double v) { return field(key, num(v)); }
  /// "device": "cpu" or "cuda", and "backend": what exactly ran.
  Json& backend(const Backend& b) {
    return field("device", str(b.id())).field("backend", str(b.name));
  }
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
