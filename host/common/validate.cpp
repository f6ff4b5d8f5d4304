#include "validate.hpp"

#include "actlayer/detail/calls.hpp"
#include "actlayer/ops.cuh"

#include <cmath>
#include <cstdarg>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <limits>
#include <utility>

namespace actlayer {

namespace {
thread_local std::string g_last_error;
}  // namespace

const char* to_string(Status status) noexcept {
  switch (status) {
    case Status::success:
      return "success";
    case Status::invalid_argument:
      return "invalid_argument";
    case Status::not_supported:
      return "not_supported";
    case Status::cuda_error:
      return "cuda_error";
  }
  return "unknown Status";
}

const char* last_error() noexcept { return g_last_error.c_str(); }

namespace detail {

Status fail(Status status, std::string message) {
  g_last_error = std::move(message);
  return status;
}

std::string shortest(float v) {
  char buf[32];
  for (int digits = 1; digits <= 9; ++digits) {  // 9 significant digits always round-trip
    std::snprintf(buf, sizeof buf, "%.*g", digits, static_cast<double>(v));
    if (std::strtof(buf, nullptr) == v || v != v) break;
  }
  return buf;
}

std::string format(const char* fmt, ...) {
  va_list args;
  va_start(args, fmt);
  va_list copy;
  va_copy(copy, args);
  const int size = std::vsnprintf(nullptr, 0, fmt, copy);
  va_end(copy);
  std::string out(size > 0 ? static_cast<std::size_t>(size) : 0, '\0');
  if (size > 0) std::vsnprintf(out.data(), out.size() + 1, fmt, args);
  va_end(args);
  return out;
}

ArgCheck& ArgCheck::require(bool ok, Status status, const std::string& message) {
  if (ok || done()) return *this;
  if (status_ == Status::success || status == Status::invalid_argument) {
    status_ = fail(status, format("%s: %s", function_, message.c_str()));
  }
  return *this;
}

ArgCheck& ArgCheck::parameters(const Activation& act, unsigned params) {
  if (params & ops::kSlopeOrDivisor) {
    if (act.divisor != 0.0f) {
      require(std::isfinite(act.divisor) && act.divisor > 1.0f, Status::invalid_argument,
              format("activation.divisor (the a of y = z/a) must be finite and > 1 (got %s)",
                     shortest(act.divisor).c_str()));
    } else {
      require(
          std::isfinite(act.slope) && act.slope >= 0.0f, Status::invalid_argument,
          format("activation.slope must be finite and >= 0 (got %s)", shortest(act.slope).c_str()));
    }
  }
  const auto finite = [&](const char* op, const char* field, float v) {
    require(std::isfinite(v), Status::invalid_argument,
            format("%s.%s must be finite (got %s)", op, field, shortest(v).c_str()));
  };
  if (params & ops::kAlpha) finite("elu", "alpha", act.alpha);
  if (params & ops::kAlphaNonZero) {
    require(std::isfinite(act.alpha) && act.alpha != 0.0f, Status::invalid_argument,
            format("celu.alpha must be finite and != 0 (got %s)", shortest(act.alpha).c_str()));
  }
  if (params & ops::kBeta) finite("swish", "beta", act.beta);
  if (params & ops::kSoftplus) {
    require(std::isfinite(act.beta) && act.beta > 0.0f, Status::invalid_argument,
            format("softplus.beta must be finite and > 0 (got %s)", shortest(act.beta).c_str()));
    finite("softplus", "threshold", act.threshold);
  }
  if (params & ops::kLoHi) {
    finite("hardtanh", "lo", act.lo);
    finite("hardtanh", "hi", act.hi);
    require(!(act.lo >= act.hi), Status::invalid_argument,
            format("hardtanh: lo must be < hi (got lo = %s, hi = %s)", shortest(act.lo).c_str(),
                   shortest(act.hi).c_str()));
  }
  if (params & ops::kLambda) {
    require(std::isfinite(act.lambda) && act.lambda >= 0.0f, Status::invalid_argument,
            format("shrink lambda must be finite and >= 0 (got %s)", shortest(act.lambda).c_str()));
  }
  if (params & ops::kHardSigmoid) {
    finite("hardsigmoid", "hard_slope", act.hard_slope);
    finite("hardsigmoid", "hard_offset", act.hard_offset);
  }
  if (params & ops::kThresholdValue) {
    finite("threshold", "threshold", act.threshold);
    finite("threshold", "value", act.value);
  }
  if (params & ops::kLowerUpper) {
    require(std::isfinite(act.lower) && std::isfinite(act.upper), Status::invalid_argument,
            format("activation.lower and activation.upper must be finite (got %s, %s)",
                   shortest(act.lower).c_str(), shortest(act.upper).c_str()));
    require(act.lower >= 0.0f, Status::invalid_argument,
            format("activation.lower must be >= 0 (got %s)", shortest(act.lower).c_str()));
    require(act.lower <= act.upper, Status::invalid_argument,
            format("activation.lower must be <= activation.upper (got %s > %s)",
                   shortest(act.lower).c_str(), shortest(act.upper).c_str()));
  }
  return *this;
}

ArgCheck& ArgCheck::activation(const Activation& act, Pass pass) {
  const bool known = ops::visit(act, [&](auto row, auto op) {
    parameters(act, decltype(row)::kParams);
    if (pass != Pass::backward_from_output) return;
    const bool rrelu = act.op == Op::rrelu;
    const char* why = rrelu && act.training ? "the slope is random" : ops::no_output_form(op);
    const char* which = !rrelu         ? ""
                        : act.training ? " in training mode"
                                       : " with lower = upper = 0";
    require(why == nullptr, Status::not_supported,
            format("%s%s has no backward from the output (%s): use backward from x%s",
                   to_string(act.op), which, why,
                   rrelu && act.training ? ", which draws it again" : ""));
  });
  return require(known, Status::invalid_argument,
                 format("activation.op = %d is not an actlayer::Op", static_cast<int>(act.op)));
}

ArgCheck& ArgCheck::host_memory(const Activation& act) {
  return require(!(act.op == Op::rrelu && act.training && act.philox.device_offset != nullptr),
                 Status::invalid_argument,
                 "activation.philox.device_offset is a device counter, which the CPU reference "
                 "cannot read: give the offset in activation.philox.offset");
}

ArgCheck& ArgCheck::mask_op(const Activation& act) {
  bool sign_only = false;
  ops::visit(act, [&](auto row, auto) { sign_only = decltype(row)::kSignOnly; });
  sign_only = sign_only && !(act.op == Op::rrelu && act.training);
  std::string ops_list;
  for (Op o : kOps) {
    ops::visit(Activation{o}, [&](auto row, auto) {
      if (decltype(row)::kSignOnly && o != Op::rrelu) {
        ops_list += std::string(ops_list.empty() ? "" : ", ") + to_string(o);
      }
    });
  }
  return require(
      sign_only, Status::not_supported,
      format("the mask calls need an op whose derivative depends on the sign of x "
             "alone (%s; rrelu in eval mode), not %s%s",
             ops_list.c_str(), to_string(act.op), act.op == Op::rrelu ? " in training mode" : ""));
}

ArgCheck& ArgCheck::rrelu_training(const Activation& act) {
  return require(act.op == Op::rrelu && act.training, Status::invalid_argument,
                 "activation must be rrelu in training mode (Activation::rrelu_training)");
}

ArgCheck& ArgCheck::blend(const Blend& blend) {
  return require(std::isfinite(blend.alpha) && std::isfinite(blend.beta), Status::invalid_argument,
                 format("blend.alpha and blend.beta must be finite (got %s, %s)",
                        shortest(blend.alpha).c_str(), shortest(blend.beta).c_str()));
}

bool channel_size(const ChannelShape& shape, std::size_t* n) noexcept {
  constexpr std::size_t max = std::numeric_limits<std::size_t>::max();
  *n = 0;
  if (shape.channels != 0 && shape.outer > max / shape.channels) return false;
  const std::size_t rows = shape.outer * shape.channels;
  if (rows != 0 && shape.inner > max / rows) return false;
  *n = rows * shape.inner;
  return true;
}

ArgCheck& ArgCheck::channel_shape(const ChannelShape& shape, std::size_t* n) {
  const bool fits = channel_size(shape, n);
  require(shape.channels >= 1, Status::invalid_argument, "shape.channels must be >= 1 (got 0)");
  require(fits, Status::invalid_argument,
          format("shape {outer %zu, channels %zu, inner %zu}: the element count overflows size_t",
                 shape.outer, shape.channels, shape.inner));
  if (done()) *n = 0;
  return *this;
}

ArgCheck& ArgCheck::gated(const Gated& g) {
  const bool rrelu_training = g.gate.op == Op::rrelu && g.gate.training;
  require(!rrelu_training, Status::invalid_argument,
          "gated.gate is rrelu in training mode, which cannot be a gate (its slopes are drawn per "
          "call): use rrelu in eval mode");
  activation(g.gate, Pass::forward);
  require(g.layout == GatedLayout::gate_first || g.layout == GatedLayout::gate_second,
          Status::invalid_argument,
          format("gated.layout = %d is not a GatedLayout", static_cast<int>(g.layout)));
  require(
      g.limit > 0.0f, Status::invalid_argument,
      format("gated.limit must be > 0, or inf for no clamp (got %s)", shortest(g.limit).c_str()));
  return require(
      std::isfinite(g.linear_offset), Status::invalid_argument,
      format("gated.linear_offset must be finite (got %s)", shortest(g.linear_offset).c_str()));
}

ArgCheck& ArgCheck::gated_shape(const GatedShape& shape, std::size_t* n) {
  constexpr std::size_t max = std::numeric_limits<std::size_t>::max();
  const bool fits =
      shape.hidden <= max / 2 && (shape.hidden == 0 || shape.rows <= max / 2 / shape.hidden);
  require(fits, Status::invalid_argument,
          format("shape {rows %zu, hidden %zu}: the input's rows*2*hidden elements overflow "
                 "size_t",
                 shape.rows, shape.hidden));
  *n = done() ? 0 : shape.rows * shape.hidden;
  return *this;
}

ArgCheck& ArgCheck::array(const char* name, const void* p, std::size_t n, std::size_t size,
                          std::size_t align, Access access) {
  if (done() || n == 0) return *this;
  const auto begin = reinterpret_cast<std::uintptr_t>(p);
  // In the user's units: elements for tensors, bytes for a workspace, nothing for a scalar.
  const std::string amount = name == std::string("workspace") ? format(" (%zu bytes)", n * size)
                             : n == 1                         ? std::string()
                                                              : format(" (n = %zu)", n);
  require(p != nullptr, Status::invalid_argument, format("%s is null%s", name, amount.c_str()));
  require(n <= std::numeric_limits<std::size_t>::max() / size, Status::invalid_argument,
          format("n = %zu elements of %zu bytes overflows size_t", n, size));
  require(begin % align == 0, Status::invalid_argument,
          format("%s = %p is not aligned to its %zu-byte element type", name, p, align));
  if (done()) return *this;
  const std::uintptr_t end = begin + n * size;
  require(
      end > begin, Status::invalid_argument,
      format("%s = %p plus n = %zu elements runs past the end of the address space", name, p, n));
  for (std::size_t r = 0; r < region_count_ && !done(); ++r) {
    const Region& other = regions_[r];
    const bool disjoint = end <= other.begin || other.end <= begin;
    if (disjoint || (access == Access::input && other.access == Access::input)) continue;
    if (access == Access::side_output || other.access == Access::side_output) {
      const char* side = access == Access::side_output ? name : other.name;
      require(
          false, Status::invalid_argument,
          format("%s overlaps %s (%s must not overlap any other array)", name, other.name, side));
    } else if (access == Access::output && other.access == Access::output) {
      require(false, Status::invalid_argument,
              format("outputs %s and %s overlap", name, other.name));
    } else {
      const bool same = other.begin == begin && other.end == end;
      require(same, Status::invalid_argument,
              format("%s partially overlaps %s (an output must be the same array as an input, "
                     "or disjoint from it)",
                     name, other.name));
    }
  }
  if (!done() && region_count_ < regions_.size()) {
    regions_[region_count_++] = Region{name, begin, end, access};
  }
  return *this;
}

ArgCheck& ArgCheck::workspace(const char* sizer, void* p, std::size_t bytes, std::size_t needed) {
  require(bytes >= needed, Status::invalid_argument,
          format("workspace_bytes = %zu is less than %s(shape) = %zu", bytes, sizer, needed));
  return side_output("workspace", static_cast<double*>(p), needed / sizeof(double));
}

Status check_elementwise_call(const char* function, const void* const* inputs,
                              const char* const* input_names, int count, const void* output,
                              const char* output_name, std::size_t n, std::size_t element_size,
                              Blend blend) {
  ArgCheck check(function);
  check.blend(blend);
  for (int k = 0; k < count; ++k) {
    check.array(input_names[k], inputs[k], n, element_size, element_size, ArgCheck::Access::input);
  }
  return check.array(output_name, output, n, element_size, element_size, ArgCheck::Access::output)
      .status();
}

}  // namespace detail
}  // namespace actlayer
