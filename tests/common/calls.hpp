// tests/common/calls.hpp — every public call that takes arrays, described once: its arrays
// (name, kind, length, read or written) and how to call it on a set of pointers. The argument
// tests walk this table for aliasing and for outputs poisoned with NaN where beta = 0, on the
// reference, the CPU backend and the CUDA entry points (whose checks run before any CUDA call,
// so a CPU machine tests them too); the GPU suite walks it again with device memory.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "actlayer/cpu.hpp"
#include "actlayer/cuda.hpp"
#include "actlayer/reference.hpp"
#include "common/numeric.hpp"

namespace actlayer::testing {

enum class Role {
  input,
  output,       // the call's result: may be the same array as an input, else disjoint
  side_output,  // a mask, noise, dalpha or workspace: disjoint from every other array
};
enum class Kind { data, param, noise, mask, counter, workspace };

struct ArraySpec {
  const char* name;
  Kind kind;
  std::size_t element;  // bytes
  std::size_t count;
  Role role;
  std::size_t bytes() const { return element * count; }
};

struct CallSpec {
  std::string name;  // as last_error() names it
  bool cuda;
  bool blends;  // takes a Blend, applied to the outputs whose role is `blended`
  std::vector<ArraySpec> arrays;
  std::vector<const char*> blended;  // the outputs the Blend applies to
  std::function<Status(void* const* p, Blend blend)> run;
};

// 70 elements: not a multiple of 32 (the last mask word is partial), 5 channels.
constexpr std::size_t kCallN = 70;
inline constexpr PReluShape kCallShape{2, 5, 7};
inline constexpr GatedShape kCallGatedShape{7, 10};  // rows * hidden = kCallN

/// The table for element type T: the CUDA entry points (cuda = true, on `stream`) or the
/// reference.
template <class T>
std::vector<CallSpec> call_specs(bool cuda, cudaStream_t stream = nullptr) {
  using P = compute_t<T>;
  constexpr std::size_t n = kCallN;
  const std::size_t words = mask_words(n);
  const std::size_t channels = kCallShape.channels;
  const ArraySpec x{"x", Kind::data, sizeof(T), n, Role::input};
  const ArraySpec y_in{"y", Kind::data, sizeof(T), n, Role::input};
  const ArraySpec dy{"dy", Kind::data, sizeof(T), n, Role::input};
  const ArraySpec y{"y", Kind::data, sizeof(T), n, Role::output};
  const ArraySpec dx{"dx", Kind::data, sizeof(T), n, Role::output};
  const ArraySpec mask_out{"mask", Kind::mask, 4, words, Role::side_output};
  const ArraySpec mask_in{"mask", Kind::mask, 4, words, Role::input};
  const ArraySpec noise_out{"noise", Kind::noise, 4, n, Role::side_output};
  const ArraySpec noise_in{"noise", Kind::noise, 4, n, Role::input};
  const ArraySpec alpha{"alpha", Kind::param, sizeof(P), channels, Role::input};
  const ArraySpec dalpha{"dalpha", Kind::param, sizeof(P), channels, Role::side_output};
  const ArraySpec bias{"bias", Kind::param, sizeof(P), channels, Role::input};
  const ArraySpec dbias{"dbias", Kind::param, sizeof(P), channels, Role::side_output};
  const ArraySpec counter{"activation.philox.device_offset", Kind::counter, 8, 1, Role::input};
  const std::size_t ws_bytes = prelu_backward_workspace_bytes(kCallShape);
  const ArraySpec workspace{"workspace", Kind::workspace, 8, ws_bytes / 8, Role::side_output};
  const ArraySpec packed{"in", Kind::data, sizeof(T), 2 * n, Role::input};
  const ArraySpec dpacked{"din", Kind::data, sizeof(T), 2 * n, Role::output};
  const ArraySpec ga{"a", Kind::data, sizeof(T), n, Role::input};
  const ArraySpec gb{"b", Kind::data, sizeof(T), n, Role::input};
  const ArraySpec da{"da", Kind::data, sizeof(T), n, Role::output};
  const ArraySpec db{"db", Kind::data, sizeof(T), n, Role::output};
  const Gated swiglu = Gated::clamped_swiglu();
  const Gated glu = Gated::glu();

  const auto d = [](void* p) { return static_cast<T*>(p); };
  const auto m = [](void* p) { return static_cast<std::uint32_t*>(p); };
  const auto f = [](void* p) { return static_cast<float*>(p); };
  const auto a = [](void* p) { return static_cast<P*>(p); };
  const Activation sig = Activation::sigmoid();
  const Activation leaky = Activation::leaky_relu(0.25f);
  const Activation train = Activation::rrelu_training({7, 3});
  const Activation gelu = Activation::gelu();
  const Activation relu = Activation::relu();
  const auto with_counter = [train](void* p) {
    Activation act = train;
    act.philox.device_offset = static_cast<const std::uint64_t*>(p);
    return act;
  };
  const std::string ns = cuda ? "actlayer::" : "actlayer::reference::";
  std::vector<CallSpec> c;
  const auto add = [&](const char* fn, bool blends, std::vector<ArraySpec> arrays,
                       std::vector<const char*> blended,
                       std::function<Status(void* const*, Blend)> run) {
    c.push_back({ns + fn, cuda, blends, std::move(arrays), std::move(blended), std::move(run)});
  };

  if (cuda) {
    add("forward", true, {x, y}, {"y"},
        [=](void* const* p, Blend b) { return forward(sig, d(p[0]), d(p[1]), n, stream, b); });
    add("backward", true, {x, dy, dx}, {"dx"}, [=](void* const* p, Blend b) {
      return backward(sig, d(p[0]), d(p[1]), d(p[2]), n, stream, b);
    });
    add("backward_from_output", true, {y_in, dy, dx}, {"dx"}, [=](void* const* p, Blend b) {
      return backward_from_output(sig, d(p[0]), d(p[1]), d(p[2]), n, stream, b);
    });
    add("forward", true, {x, y, counter}, {"y"}, [=](void* const* p, Blend b) {
      return forward(with_counter(p[2]), d(p[0]), d(p[1]), n, stream, b);
    });
    add("backward", true, {x, dy, dx, counter}, {"dx"}, [=](void* const* p, Blend b) {
      return backward(with_counter(p[3]), d(p[0]), d(p[1]), d(p[2]), n, stream, b);
    });
    add("rrelu_forward_save_noise", true, {x, y, noise_out}, {"y"}, [=](void* const* p, Blend b) {
      return rrelu_forward_save_noise(train, d(p[0]), d(p[1]), f(p[2]), n, stream, b);
    });
    add("rrelu_forward_save_noise", true, {x, y, noise_out, counter}, {"y"},
        [=](void* const* p, Blend b) {
          return rrelu_forward_save_noise(with_counter(p[3]), d(p[0]), d(p[1]), f(p[2]), n, stream,
                                          b);
        });
    add("rrelu_backward_saved_noise", true, {noise_in, dy, dx}, {"dx"},
        [=](void* const* p, Blend b) {
          return rrelu_backward_saved_noise(f(p[0]), d(p[1]), d(p[2]), n, stream, b);
        });
    add("forward_with_mask", true, {x, y, mask_out}, {"y"}, [=](void* const* p, Blend b) {
      return forward_with_mask(leaky, d(p[0]), d(p[1]), m(p[2]), n, stream, b);
    });
    add("backward_from_mask", true, {mask_in, dy, dx}, {"dx"}, [=](void* const* p, Blend b) {
      return backward_from_mask(leaky, m(p[0]), d(p[1]), d(p[2]), n, stream, b);
    });
    add("prelu_forward", false, {x, alpha, y}, {}, [=](void* const* p, Blend) {
      return prelu_forward(d(p[0]), a(p[1]), d(p[2]), kCallShape, stream);
    });
    add("prelu_backward", true, {x, alpha, dy, dx, dalpha, workspace}, {"dalpha"},
        [=](void* const* p, Blend b) {
          return prelu_backward(d(p[0]), a(p[1]), d(p[2]), d(p[3]), a(p[4]), kCallShape, p[5],
                                ws_bytes, stream, b);
        });
    add("prelu_forward_with_mask", false, {x, alpha, y, mask_out}, {}, [=](void* const* p, Blend) {
      return prelu_forward_with_mask(d(p[0]), a(p[1]), d(p[2]), m(p[3]), kCallShape, stream);
    });
    add("prelu_backward_dx_from_mask", false, {mask_in, alpha, dy, dx}, {},
        [=](void* const* p, Blend) {
          return prelu_backward_dx_from_mask(m(p[0]), a(p[1]), d(p[2]), d(p[3]), kCallShape,
                                             stream);
        });
    add("bias_act_forward", false, {x, bias, y}, {}, [=](void* const* p, Blend) {
      return bias_act_forward(gelu, d(p[0]), a(p[1]), d(p[2]), kCallShape, stream);
    });
    add("bias_act_backward", true, {x, bias, dy, dx, dbias, workspace}, {"dbias"},
        [=](void* const* p, Blend b) {
          return bias_act_backward(gelu, d(p[0]), a(p[1]), d(p[2]), d(p[3]), a(p[4]), kCallShape,
                                   p[5], ws_bytes, stream, b);
        });
    add("bias_act_backward_from_output", true, {y_in, dy, dx, dbias, workspace}, {"dbias"},
        [=](void* const* p, Blend b) {
          return bias_act_backward_from_output(sig, d(p[0]), d(p[1]), d(p[2]), a(p[3]), kCallShape,
                                               p[4], ws_bytes, stream, b);
        });
    add("bias_act_forward_with_mask", false, {x, bias, y, mask_out}, {},
        [=](void* const* p, Blend) {
          return bias_act_forward_with_mask(relu, d(p[0]), a(p[1]), d(p[2]), m(p[3]), kCallShape,
                                            stream);
        });
    add("bias_act_backward_from_mask", true, {mask_in, dy, dx, dbias, workspace}, {"dbias"},
        [=](void* const* p, Blend b) {
          return bias_act_backward_from_mask(relu, m(p[0]), d(p[1]), d(p[2]), a(p[3]), kCallShape,
                                             p[4], ws_bytes, stream, b);
        });
    add("gated_forward", true, {packed, y}, {"y"}, [=](void* const* p, Blend b) {
      return gated_forward(glu, d(p[0]), d(p[1]), kCallGatedShape, stream, b);
    });
    add("gated_backward", true, {packed, dy, dpacked}, {"din"}, [=](void* const* p, Blend b) {
      return gated_backward(swiglu, d(p[0]), d(p[1]), d(p[2]), kCallGatedShape, stream, b);
    });
    add("gated_forward_split", true, {ga, gb, y}, {"y"}, [=](void* const* p, Blend b) {
      return gated_forward_split(swiglu, d(p[0]), d(p[1]), d(p[2]), n, stream, b);
    });
    add("gated_backward_split", true, {ga, gb, dy, da, db}, {"da", "db"},
        [=](void* const* p, Blend b) {
          return gated_backward_split(glu, d(p[0]), d(p[1]), d(p[2]), d(p[3]), d(p[4]), n, stream,
                                      b);
        });
  } else {
    namespace r = reference;
    add("forward", true, {x, y}, {"y"},
        [=](void* const* p, Blend b) { return r::forward(sig, d(p[0]), d(p[1]), n, b); });
    add("backward", true, {x, dy, dx}, {"dx"},
        [=](void* const* p, Blend b) { return r::backward(sig, d(p[0]), d(p[1]), d(p[2]), n, b); });
    add("backward_from_output", true, {y_in, dy, dx}, {"dx"}, [=](void* const* p, Blend b) {
      return r::backward_from_output(sig, d(p[0]), d(p[1]), d(p[2]), n, b);
    });
    add("forward", true, {x, y}, {"y"},
        [=](void* const* p, Blend b) { return r::forward(train, d(p[0]), d(p[1]), n, b); });
    add("backward", true, {x, dy, dx}, {"dx"}, [=](void* const* p, Blend b) {
      return r::backward(train, d(p[0]), d(p[1]), d(p[2]), n, b);
    });
    add("rrelu_forward_save_noise", true, {x, y, noise_out}, {"y"}, [=](void* const* p, Blend b) {
      return r::rrelu_forward_save_noise(train, d(p[0]), d(p[1]), f(p[2]), n, b);
    });
    add("rrelu_backward_saved_noise", true, {noise_in, dy, dx}, {"dx"},
        [=](void* const* p, Blend b) {
          return r::rrelu_backward_saved_noise(f(p[0]), d(p[1]), d(p[2]), n, b);
        });
    add("forward_with_mask", true, {x, y, mask_out}, {"y"}, [=](void* const* p, Blend b) {
      return r::forward_with_mask(leaky, d(p[0]), d(p[1]), m(p[2]), n, b);
    });
    add("backward_from_mask", true, {mask_in, dy, dx}, {"dx"}, [=](void* const* p, Blend b) {
      return r::backward_from_mask(leaky, m(p[0]), d(p[1]), d(p[2]), n, b);
    });
    add("prelu_forward", false, {x, alpha, y}, {}, [=](void* const* p, Blend) {
      return r::prelu_forward(d(p[0]), a(p[1]), d(p[2]), kCallShape);
    });
    add("prelu_backward", true, {x, alpha, dy, dx, dalpha}, {"dalpha"},
        [=](void* const* p, Blend b) {
          return r::prelu_backward(d(p[0]), a(p[1]), d(p[2]), d(p[3]), a(p[4]), kCallShape, b);
        });
    add("prelu_forward_with_mask", false, {x, alpha, y, mask_out}, {}, [=](void* const* p, Blend) {
      return r::prelu_forward_with_mask(d(p[0]), a(p[1]), d(p[2]), m(p[3]), kCallShape);
    });
    add("prelu_backward_dx_from_mask", false, {mask_in, alpha, dy, dx}, {},
        [=](void* const* p, Blend) {
          return r::prelu_backward_dx_from_mask(m(p[0]), a(p[1]), d(p[2]), d(p[3]), kCallShape);
        });
    add("bias_act_forward", false, {x, bias, y}, {}, [=](void* const* p, Blend) {
      return r::bias_act_forward(gelu, d(p[0]), a(p[1]), d(p[2]), kCallShape);
    });
    add("bias_act_backward", true, {x, bias, dy, dx, dbias}, {"dbias"},
        [=](void* const* p, Blend b) {
          return r::bias_act_backward(gelu, d(p[0]), a(p[1]), d(p[2]), d(p[3]), a(p[4]), kCallShape,
                                      b);
        });
    add("bias_act_backward_from_output", true, {y_in, dy, dx, dbias}, {"dbias"},
        [=](void* const* p, Blend b) {
          return r::bias_act_backward_from_output(sig, d(p[0]), d(p[1]), d(p[2]), a(p[3]),
                                                  kCallShape, b);
        });
    add("bias_act_forward_with_mask", false, {x, bias, y, mask_out}, {},
        [=](void* const* p, Blend) {
          return r::bias_act_forward_with_mask(relu, d(p[0]), a(p[1]), d(p[2]), m(p[3]),
                                               kCallShape);
        });
    add("bias_act_backward_from_mask", true, {mask_in, dy, dx, dbias}, {"dbias"},
        [=](void* const* p, Blend b) {
          return r::bias_act_backward_from_mask(relu, m(p[0]), d(p[1]), d(p[2]), a(p[3]),
                                                kCallShape, b);
        });
    add("gated_forward", true, {packed, y}, {"y"}, [=](void* const* p, Blend b) {
      return r::gated_forward(glu, d(p[0]), d(p[1]), kCallGatedShape, b);
    });
    add("gated_backward", true, {packed, dy, dpacked}, {"din"}, [=](void* const* p, Blend b) {
      return r::gated_backward(swiglu, d(p[0]), d(p[1]), d(p[2]), kCallGatedShape, b);
    });
    add("gated_forward_split", true, {ga, gb, y}, {"y"}, [=](void* const* p, Blend b) {
      return r::gated_forward_split(swiglu, d(p[0]), d(p[1]), d(p[2]), n, b);
    });
    add("gated_backward_split", true, {ga, gb, dy, da, db}, {"da", "db"},
        [=](void* const* p, Blend b) {
          return r::gated_backward_split(glu, d(p[0]), d(p[1]), d(p[2]), d(p[3]), d(p[4]), n, b);
        });
    add("rrelu_slopes", false, {noise_out}, {},
        [=](void* const* p, Blend) { return r::rrelu_slopes(train, f(p[0]), n); });
  }
  return c;
}

/// The rows of the CPU backend (actlayer/cpu.hpp): the reference's calls under
/// actlayer::cpu::, whose arrays and checks are the CUDA calls' (less the workspace).
template <class T>
std::vector<CallSpec> cpu_call_specs() {
  std::vector<CallSpec> rows;
  for (CallSpec c : call_specs<T>(false)) {
    const std::string name = c.name.substr(std::string("actlayer::reference::").size());
    c.name = "actlayer::cpu::" + name;
    const auto d = [](void* p) { return static_cast<T*>(p); };
    const auto a = [](void* p) { return static_cast<compute_t<T>*>(p); };
    const auto m = [](void* p) { return static_cast<std::uint32_t*>(p); };
    const auto f = [](void* p) { return static_cast<float*>(p); };
    const Activation sig = Activation::sigmoid();
    const Activation leaky = Activation::leaky_relu(0.25f);
    const Activation train = Activation::rrelu_training({7, 3});
    const Activation gelu = Activation::gelu();
    const Activation relu = Activation::relu();
    const Gated swiglu = Gated::clamped_swiglu();
    const Gated glu = Gated::glu();
    const GatedShape g = kCallGatedShape;
    // forward and backward come twice: sigmoid, then rrelu in training mode.
    const bool again =
        std::any_of(rows.begin(), rows.end(), [&](const CallSpec& r) { return r.name == c.name; });
    const Activation act = again ? train : sig;
    constexpr std::size_t n = kCallN;
    const PReluShape s = kCallShape;
    if (name == "forward") {
      c.run = [=](void* const* p, Blend b) { return cpu::forward(act, d(p[0]), d(p[1]), n, b); };
    } else if (name == "backward") {
      c.run = [=](void* const* p, Blend b) {
        return cpu::backward(act, d(p[0]), d(p[1]), d(p[2]), n, b);
      };
    } else if (name == "backward_from_output") {
      c.run = [=](void* const* p, Blend b) {
        return cpu::backward_from_output(sig, d(p[0]), d(p[1]), d(p[2]), n, b);
      };
    } else if (name == "rrelu_forward_save_noise") {
      c.run = [=](void* const* p, Blend b) {
        return cpu::rrelu_forward_save_noise(train, d(p[0]), d(p[1]), f(p[2]), n, b);
      };
    } else if (name == "rrelu_backward_saved_noise") {
      c.run = [=](void* const* p, Blend b) {
        return cpu::rrelu_backward_saved_noise(f(p[0]), d(p[1]), d(p[2]), n, b);
      };
    } else if (name == "forward_with_mask") {
      c.run = [=](void* const* p, Blend b) {
        return cpu::forward_with_mask(leaky, d(p[0]), d(p[1]), m(p[2]), n, b);
      };
    } else if (name == "backward_from_mask") {
      c.run = [=](void* const* p, Blend b) {
        return cpu::backward_from_mask(leaky, m(p[0]), d(p[1]), d(p[2]), n, b);
      };
    } else if (name == "prelu_forward") {
      c.run = [=](void* const* p, Blend) {
        return cpu::prelu_forward(d(p[0]), a(p[1]), d(p[2]), s);
      };
    } else if (name == "prelu_backward") {
      c.run = [=](void* const* p, Blend b) {
        return cpu::prelu_backward(d(p[0]), a(p[1]), d(p[2]), d(p[3]), a(p[4]), s, b);
      };
    } else if (name == "prelu_forward_with_mask") {
      c.run = [=](void* const* p, Blend) {
        return cpu::prelu_forward_with_mask(d(p[0]), a(p[1]), d(p[2]), m(p[3]), s);
      };
    } else if (name == "prelu_backward_dx_from_mask") {
      c.run = [=](void* const* p, Blend) {
        return cpu::prelu_backward_dx_from_mask(m(p[0]), a(p[1]), d(p[2]), d(p[3]), s);
      };
    } else if (name == "bias_act_forward") {
      c.run = [=](void* const* p, Blend) {
        return cpu::bias_act_forward(gelu, d(p[0]), a(p[1]), d(p[2]), s);
      };
    } else if (name == "bias_act_backward") {
      c.run = [=](void* const* p, Blend b) {
        return cpu::bias_act_backward(gelu, d(p[0]), a(p[1]), d(p[2]), d(p[3]), a(p[4]), s, b);
      };
    } else if (name == "bias_act_backward_from_output") {
      c.run = [=](void* const* p, Blend b) {
        return cpu::bias_act_backward_from_output(sig, d(p[0]), d(p[1]), d(p[2]), a(p[3]), s, b);
      };
    } else if (name == "bias_act_forward_with_mask") {
      c.run = [=](void* const* p, Blend) {
        return cpu::bias_act_forward_with_mask(relu, d(p[0]), a(p[1]), d(p[2]), m(p[3]), s);
      };
    } else if (name == "bias_act_backward_from_mask") {
      c.run = [=](void* const* p, Blend b) {
        return cpu::bias_act_backward_from_mask(relu, m(p[0]), d(p[1]), d(p[2]), a(p[3]), s, b);
      };
    } else if (name == "gated_forward") {
      c.run = [=](void* const* p, Blend b) {
        return cpu::gated_forward(glu, d(p[0]), d(p[1]), g, b);
      };
    } else if (name == "gated_backward") {
      c.run = [=](void* const* p, Blend b) {
        return cpu::gated_backward(swiglu, d(p[0]), d(p[1]), d(p[2]), g, b);
      };
    } else if (name == "gated_forward_split") {
      c.run = [=](void* const* p, Blend b) {
        return cpu::gated_forward_split(swiglu, d(p[0]), d(p[1]), d(p[2]), n, b);
      };
    } else if (name == "gated_backward_split") {
      c.run = [=](void* const* p, Blend b) {
        return cpu::gated_backward_split(glu, d(p[0]), d(p[1]), d(p[2]), d(p[3]), d(p[4]), n, b);
      };
    } else {
      continue;  // rrelu_slopes: the reference's alone
    }
    rows.push_back(std::move(c));
  }
  return rows;
}

constexpr std::size_t kGap = 64;  // bytes between arrays, and their alignment

/// One byte arena on the host holding every array of a call, at offsets that can be moved
/// (the GPU tests mirror it on the device).
struct Arena {
  std::vector<unsigned char> bytes;
  std::vector<std::size_t> offsets;
  std::vector<void*> pointers;

  explicit Arena(const CallSpec& c) {
    std::size_t at = kGap, largest = 0;
    for (const ArraySpec& a : c.arrays) {
      offsets.push_back(at);
      at += (a.bytes() + 2 * kGap - 1) / kGap * kGap;
      largest = std::max(largest, a.bytes());
    }
    bytes.assign(at + largest + 2 * kGap, 0);  // room for any array moved onto another
    place();
  }
  void place() {
    pointers.clear();
    const auto base = reinterpret_cast<std::uintptr_t>(bytes.data());
    const std::size_t start = (kGap - base % kGap) % kGap;  // the first kGap-aligned byte
    for (std::size_t o : offsets) pointers.push_back(bytes.data() + start + o);
  }
};

/// Valid contents for every array: finite data of both signs, slopes, noise, mask bits; the
/// outputs NaN when nan_outputs (the workspace always).
template <class T>
void fill(const CallSpec& c, const std::vector<void*>& pointers, bool nan_outputs) {
  for (std::size_t k = 0; k < c.arrays.size(); ++k) {
    const ArraySpec& a = c.arrays[k];
    void* p = pointers[k];
    const bool poison = nan_outputs && a.role != Role::input;
    for (std::size_t i = 0; i < a.count; ++i) {
      const double v = poison ? std::nan("") : (i % 3 == 0 ? -1.0 : 0.5) * (1.0 + i % 7);
      switch (a.kind) {
        case Kind::data:
          static_cast<T*>(p)[i] = from_double<T>(v);
          break;
        case Kind::param:
          static_cast<compute_t<T>*>(p)[i] = static_cast<compute_t<T>>(poison ? v : 0.25);
          break;
        case Kind::noise:
          static_cast<float*>(p)[i] = static_cast<float>(poison ? v : (i % 2 ? 1.0 : 0.2));
          break;
        case Kind::mask:
          static_cast<std::uint32_t*>(p)[i] = 0xA5C3F00Fu;
          break;
        case Kind::counter:
          static_cast<std::uint64_t*>(p)[i] = 0;
          break;
        case Kind::workspace:
          static_cast<double*>(p)[i] = std::nan("");
          break;
      }
    }
  }
}

}  // namespace actlayer::testing
