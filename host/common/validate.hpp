// host/common/validate.hpp — argument checking shared by the CUDA calls and the CPU reference,
// and the last_error() record. Internal.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>

#include "actlayer/activation.hpp"

namespace actlayer::detail {

/// Records `message` as this thread's last_error() and returns `status`.
Status fail(Status status, std::string message);

/// The shortest decimal that reads back as v ("0.3", not "0.300000012").
std::string shortest(float v);

/// printf-style formatting into a std::string.
std::string format(const char* fmt, ...) __attribute__((format(printf, 1, 2)));

/// outer * channels * inner into *n; false on overflow (channels == 0 gives n == 0 and true).
bool channel_size(const ChannelShape& shape, std::size_t* n) noexcept;

/// Checks the arguments of one call, in the order given, and remembers the first problem (an
/// invalid_argument found later still wins over a not_supported found earlier). Each check is
/// a no-op once a problem is known; status() is success when there was none.
///
///   Status s = ArgCheck("actlayer::forward").activation(act, Pass::forward).blend(blend)
///                  .input("x", x, n).output("y", y, n).status();
class ArgCheck {
 public:
  explicit ArgCheck(const char* function) : function_(function) {}

  /// act.op is an Op, its parameters are valid, and it has the pass (else not_supported).
  ArgCheck& activation(const Activation& act, Pass pass);
  /// The Activation fields of ops::Params bits `params` are valid.
  ArgCheck& parameters(const Activation& act, unsigned params);
  ArgCheck& blend(const Blend& blend);
  /// For the CPU reference: no device pointers in the activation (philox.device_offset).
  ArgCheck& host_memory(const Activation& act);
  /// act's backward needs only the sign of x (its functor's kSignOnly; rrelu in eval mode),
  /// else not_supported.
  ArgCheck& mask_op(const Activation& act);
  /// act is rrelu with training set (the calls that exist for training mode only).
  ArgCheck& rrelu_training(const Activation& act);
  /// channels >= 1 and no overflow; *n = outer * channels * inner (0 when the check failed).
  ArgCheck& channel_shape(const ChannelShape& shape, std::size_t* n);
  /// A gated activation: its gate op (parameters; not rrelu in training), layout, limit > 0 (or
  /// inf) and a finite linear_offset.
  ArgCheck& gated(const Gated& gated);
  /// rows * 2 * hidden fits size_t; *n = rows * hidden, the output count (0 when it failed).
  ArgCheck& gated_shape(const GatedShape& shape, std::size_t* n);

  /// n elements read from p: p non-null when n > 0, aligned to T, no address overflow.
  template <class T>
  ArgCheck& input(const char* name, const T* p, std::size_t n) {
    return array(name, p, n, sizeof(T), alignof(T), Access::input);
  }
  /// n elements written to p: as input(), and either equal to or disjoint from every input
  /// and output given before or after.
  template <class T>
  ArgCheck& output(const char* name, T* p, std::size_t n) {
    return array(name, p, n, sizeof(T), alignof(T), Access::output);
  }
  /// n elements written to p that are not the call's result (a mask, noise, dalpha, a
  /// workspace): disjoint from every other array, whatever its length.
  template <class T>
  ArgCheck& side_output(const char* name, T* p, std::size_t n) {
    return array(name, p, n, sizeof(T), alignof(T), Access::side_output);
  }
  enum class Access { input, output, side_output };
  /// An array of n elements of `size` bytes (alignment `align`).
  ArgCheck& array(const char* name, const void* p, std::size_t n, std::size_t size,
                  std::size_t align, Access access);
  /// A device workspace of `bytes` bytes, of which the call needs `needed` (what `sizer`(shape)
  /// returns): enough of it, and disjoint from every other array.
  ArgCheck& workspace(const char* sizer, void* p, std::size_t bytes, std::size_t needed);
  /// A check of the caller's own: `message` is reported (after the function name) when !ok.
  ArgCheck& require(bool ok, Status status, const std::string& message);

  Status status() const { return status_; }

 private:
  struct Region {
    const char* name;
    std::uintptr_t begin;
    std::uintptr_t end;
    Access access;
  };

  bool done() const { return status_ == Status::invalid_argument; }

  const char* function_;
  Status status_ = Status::success;
  std::array<Region, 8> regions_{};
  std::size_t region_count_ = 0;
};

}  // namespace actlayer::detail
