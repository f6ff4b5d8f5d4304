// GPU == CPU backend, bit for bit (NaNs compared as NaN: the GPU does not keep a NaN's
// payload): every op case, pass and element type at the sizes and pointer offsets of the
// elementwise sweep, mismatched alignments, RReLU's training passes, the masks, PReLU's y, dx
// and dalpha for every layout, the gated forms (every gate, both packed layouts and split) and
// bias_act's y, mask, dx and dbias. A stronger check than the ulp distances of the other GPU
// tests, and a simpler one: no reference in it.
//
// Where ops.cuh calls the platform's math library (exp, expm1, log1p, tanh in double: the exp
// and GELU families), CUDA's libm and the host's may differ in the last bit. There
// the two must agree within twice the published bound; the count of differing elements is
// printed.
#include <gtest/gtest.h>

#include <cstdio>
#include <string>
#include <vector>

#include "actlayer/cpu.hpp"
#include "actlayer/cuda.hpp"
#include "common/cases.hpp"
#include "common/element_types.hpp"
#include "common/fused.hpp"
#include "common/numeric.hpp"
#include "gpu/gpu_harness.cuh"

namespace actlayer::testing {
namespace {

const std::size_t kSizes[] = {0, 1, 15, 16, 17, 127, 128, 129, 4095, 4096, 4097, 65537, 1u << 20};
constexpr std::size_t kLargest = (1u << 24) + 3;  // at one offset only: the CPU side takes time

/// True where the result is the GPU's bits by construction (no math library call on either
/// side): the piecewise-linear ops; hardswish, squared_relu and softsign (arithmetic, fma and
/// sqrt, correctly rounded on both); sigmoid and tanh on the library's own exp and tanh.
template <class T>
bool own_math(const OpCase& c) {
  if (!c.smooth) return true;
  switch (c.act.op) {
    case Op::hardswish:
    case Op::squared_relu:
    case Op::softsign:
    case Op::sigmoid:
    case Op::tanh:
      return true;
    default:
      return false;
  }
}

template <class T>
void upload(const std::vector<T>& host, DeviceArray<T>& d) {
  if (!host.empty()) {
    EXPECT_EQ(cudaMemcpy(d.get(), host.data(), host.size() * sizeof(T), cudaMemcpyHostToDevice),
              cudaSuccess);
  }
}

/// Compares the GPU's and the CPU's results: identical bits (or both NaN) when `exact`, else
/// within `bound` ulp (the count of differing elements printed: how often the two math
/// libraries disagree).
template <class T>
void expect_same(const std::vector<T>& gpu, const std::vector<T>& cpu, bool exact,
                 std::uint64_t bound, const std::string& what) {
  ASSERT_EQ(gpu.size(), cpu.size());
  std::size_t differ = 0, beyond = 0, first = gpu.size();
  for (std::size_t i = 0; i < gpu.size(); ++i) {
    if (same(gpu[i], cpu[i])) continue;
    if (differ++ == 0) first = i;
    beyond += ulp_distance(gpu[i], cpu[i]) > bound;
  }
  if (exact) {
    EXPECT_EQ(differ, 0u) << what << ": first at " << first << ": gpu " << show(gpu[first])
                          << ", cpu " << show(cpu[first]);
  } else {
    EXPECT_EQ(beyond, 0u) << what;
    if (differ > 0)
      std::printf("  %s: %zu of %zu differ (math library)\n", what.c_str(), differ, gpu.size());
  }
}

template <class T>
class CpuBackendGpu : public ::testing::Test {};
TYPED_TEST_SUITE(CpuBackendGpu, ElementTypes);

/// One pass over n elements at `offset` (inputs shifted by `shift` more) on both backends.
template <class T>
void run_both(const OpCase& c, Pass pass, std::size_t n, std::size_t offset, std::size_t shift,
              const std::vector<T>& x, const std::vector<T>& dy, DeviceArray<T>& d_x,
              DeviceArray<T>& d_dy, DeviceArray<T>& d_out) {
  const std::string what = std::string(c.name) + " " + to_string(pass) + " " + element_name<T>() +
                           " n " + std::to_string(n) + " offset " + std::to_string(offset) +
                           " shift " + std::to_string(shift);
  const std::size_t in = offset + shift;
  std::vector<T> cpu_out(n);
  const T* hx = x.data() + in;
  const T* hdy = dy.data() + in;
  const T* gx = d_x.get() + in;
  const T* gdy = d_dy.get() + in;
  T* gout = d_out.get() + offset;
  Status g = Status::success, h = Status::success;
  switch (pass) {
    case Pass::forward:
      g = forward(c.act, gx, gout, n);
      h = cpu::forward(c.act, hx, cpu_out.data(), n);
      break;
    case Pass::backward:
      g = backward(c.act, gx, gdy, gout, n);
      h = cpu::backward(c.act, hx, hdy, cpu_out.data(), n);
      break;
    case Pass::backward_from_output:
      g = backward_from_output(c.act, gx, gdy, gout, n);
      h = cpu::backward_from_output(c.act, hx, hdy, cpu_out.data(), n);
      break;
  }
  ASSERT_EQ(g, Status::success) << what << ": " << last_error();
  ASSERT_EQ(h, Status::success) << what << ": " << last_error();
  CUDA_OK(cudaDeviceSynchronize());
  expect_same(download(gout, n), cpu_out, own_math<T>(c), 2 * ulp_bound<T>(c, pass), what);
}

TYPED_TEST(CpuBackendGpu, EveryOpPassSizeAndAlignment) {
  SKIP_WITHOUT_GPU();
  using T = TypeParam;
  const std::size_t total = std::min(kLargest, max_test_n()) + 8;
  std::vector<T> x = random_values<T>(total, 101), dy = random_gradients<T>(total, 102);
  const std::vector<T> special = extremal_values<T>();
  for (std::size_t i = 0; i < special.size(); ++i) x[(i * 131) % total] = special[i];
  DeviceArray<T> d_x(total), d_dy(total), d_out(total);
  ASSERT_TRUE(d_x && d_dy && d_out);
  upload(x, d_x);
  upload(dy, d_dy);
  for (const OpCase& c : op_cases()) {
    for (Pass pass : kPasses) {
      if (pass == Pass::backward_from_output && !c.from_output) continue;
      for (std::size_t n : kSizes) {
        if (n > max_test_n()) continue;
        for (std::size_t offset : {0, 1, 2, 3})
          run_both(c, pass, n, offset, 0, x, dy, d_x, d_dy, d_out);
        run_both(c, pass, n, 0, 1, x, dy, d_x, d_dy, d_out);  // mismatched alignment
      }
      if (kLargest <= max_test_n()) run_both(c, pass, kLargest, 1, 0, x, dy, d_x, d_dy, d_out);
    }
  }
}

TYPED_TEST(CpuBackendGpu, RReluTrainingAndSavedNoise) {
  SKIP_WITHOUT_GPU();
  using T = TypeParam;
  const Activation act = Activation::rrelu_training({0xfeedull, 5});
  for (std::size_t n : {std::size_t{1}, std::size_t{7}, std::size_t{4097}, std::size_t{1} << 20}) {
    for (std::size_t offset : {0, 1, 3}) {
      const std::size_t total = n + offset;
      const std::vector<T> x = random_values<T>(total, 111), dy = random_gradients<T>(total, 112);
      DeviceArray<T> d_x(total), d_dy(total), d_y(total), d_dx(total);
      DeviceArray<float> d_noise(total);
      upload(x, d_x);
      upload(dy, d_dy);
      std::vector<T> y(n), dx(n);
      std::vector<float> noise(n);
      const std::string what = std::string(element_name<T>()) + " n " + std::to_string(n) +
                               " offset " + std::to_string(offset);
      ASSERT_EQ(rrelu_forward_save_noise(act, d_x.get() + offset, d_y.get() + offset,
                                         d_noise.get() + offset, n),
                Status::success);
      ASSERT_EQ(cpu::rrelu_forward_save_noise(act, x.data() + offset, y.data(), noise.data(), n),
                Status::success);
      ASSERT_EQ(backward(act, d_x.get() + offset, d_dy.get() + offset, d_dx.get() + offset, n),
                Status::success);
      ASSERT_EQ(cpu::backward(act, x.data() + offset, dy.data() + offset, dx.data(), n),
                Status::success);
      CUDA_OK(cudaDeviceSynchronize());
      expect_same(download(d_y.get() + offset, n), y, true, 0, what + " y");
      expect_same(download(d_noise.get() + offset, n), noise, true, 0, what + " noise");
      expect_same(download(d_dx.get() + offset, n), dx, true, 0, what + " dx");
    }
  }
}

TYPED_TEST(CpuBackendGpu, Masks) {
  SKIP_WITHOUT_GPU();
  using T = TypeParam;
  for (std::size_t n : {std::size_t{33}, std::size_t{4097}, (std::size_t{1} << 20) + 5}) {
    const std::vector<T> x = random_values<T>(n, 121), dy = random_gradients<T>(n, 122);
    DeviceArray<T> d_x(n), d_dy(n), d_y(n), d_dx(n);
    DeviceArray<std::uint32_t> d_mask(mask_words(n));
    upload(x, d_x);
    upload(dy, d_dy);
    for (const Activation& act : {Activation::relu(), Activation::leaky_relu(0.1f),
                                  Activation::step(), Activation::rrelu()}) {
      const std::string what = std::string(to_string(act.op)) + " " + element_name<T>();
      std::vector<T> y(n), dx(n);
      std::vector<std::uint32_t> mask(mask_words(n));
      ASSERT_EQ(forward_with_mask(act, d_x.get(), d_y.get(), d_mask.get(), n), Status::success);
      ASSERT_EQ(cpu::forward_with_mask(act, x.data(), y.data(), mask.data(), n), Status::success);
      ASSERT_EQ(backward_from_mask(act, d_mask.get(), d_dy.get(), d_dx.get(), n), Status::success);
      ASSERT_EQ(cpu::backward_from_mask(act, mask.data(), dy.data(), dx.data(), n),
                Status::success);
      CUDA_OK(cudaDeviceSynchronize());
      EXPECT_EQ(download(d_mask.get(), mask.size()), mask) << what;
      expect_same(download(d_y.get(), n), y, true, 0, what + " y");
      expect_same(download(d_dx.get(), n), dx, true, 0, what + " dx");
    }
  }
}

const PReluShape kShapes[] = {
    {4, 16, 56 * 56}, {8, 64, 49},
    {2, 5, 3 * 5},    {4, 4, 6},
    {3, 6, 6},        {4 * 28 * 28, 32, 1},
    {1000, 3, 1},     {1, 1, (1u << 20) + 7},
    {3, 7, 16385},    {5, 1, 2048},
    {5, 1, 2049},     {33, 2049, 1},
    {1, 100003, 1},   {129, 1, 1},
    {0, 3, 5},        {40, 700, 3},
    {300, 67, 1},     {9, 5, 7},
};

TYPED_TEST(CpuBackendGpu, PReluAndItsDalpha) {
  SKIP_WITHOUT_GPU();
  using T = TypeParam;
  using P = compute_t<T>;
  for (const PReluShape& s : kShapes) {
    for (std::size_t offset : {0, 1}) {
      for (Blend blend : {Blend{}, Blend{0.5f, 1.0f}}) {
        const std::size_t n = s.outer * s.channels * s.inner, total = n + offset;
        const std::string what = "shape {" + std::to_string(s.outer) + ", " +
                                 std::to_string(s.channels) + ", " + std::to_string(s.inner) +
                                 "} " + element_name<T>() + " offset " + std::to_string(offset);
        const std::vector<T> x = random_values<T>(total, 131), dy = random_gradients<T>(total, 132);
        std::vector<P> alpha(s.channels), dalpha(s.channels);
        for (std::size_t c = 0; c < s.channels; ++c) {
          alpha[c] = P(0.3) - P(0.05) * P(c % 11);
          dalpha[c] = P(0.125) * P(c % 3);
        }
        DeviceArray<T> d_x(total), d_dy(total), d_y(total), d_dx(total);
        DeviceArray<P> d_alpha(s.channels), d_dalpha(s.channels);
        DeviceArray<std::uint32_t> d_mask(mask_words(n));
        const std::size_t ws_bytes = prelu_backward_workspace_bytes(s);
        DeviceArray<double> d_ws(ws_bytes / sizeof(double) + 1);
        upload(x, d_x);
        upload(dy, d_dy);
        upload(alpha, d_alpha);
        upload(dalpha, d_dalpha);
        std::vector<T> y(n), dx(n), dx_mask(n);
        std::vector<std::uint32_t> mask(mask_words(n));
        const T* gx = d_x.get() + offset;
        ASSERT_EQ(prelu_forward_with_mask(gx, d_alpha.get(), d_y.get() + offset, d_mask.get(), s),
                  Status::success);
        ASSERT_EQ(
            cpu::prelu_forward_with_mask(x.data() + offset, alpha.data(), y.data(), mask.data(), s),
            Status::success);
        ASSERT_EQ(prelu_backward(gx, d_alpha.get(), d_dy.get() + offset, d_dx.get() + offset,
                                 d_dalpha.get(), s, d_ws.get(), ws_bytes, nullptr, blend),
                  Status::success);
        ASSERT_EQ(cpu::prelu_backward(x.data() + offset, alpha.data(), dy.data() + offset,
                                      dx.data(), dalpha.data(), s, blend),
                  Status::success);
        CUDA_OK(cudaDeviceSynchronize());
        expect_same(download(d_y.get() + offset, n), y, true, 0, what + " y");
        EXPECT_EQ(download(d_mask.get(), mask.size()), mask) << what;
        expect_same(download(d_dx.get() + offset, n), dx, true, 0, what + " dx");
        expect_same(download(d_dalpha.get(), s.channels), dalpha, true, 0, what + " dalpha");
        ASSERT_EQ(prelu_backward_dx_from_mask(d_mask.get(), d_alpha.get(), d_dy.get() + offset,
                                              d_dx.get() + offset, s),
                  Status::success);
        ASSERT_EQ(cpu::prelu_backward_dx_from_mask(mask.data(), alpha.data(), dy.data() + offset,
                                                   dx_mask.data(), s),
                  Status::success);
        CUDA_OK(cudaDeviceSynchronize());
        expect_same(download(d_dx.get() + offset, n), dx_mask, true, 0, what + " dx from mask");
      }
    }
  }
}

/// Every gate and the presets, packed both ways and split, H odd and even (the kernels'
/// scalar and vector paths), aligned and not; blended where the gate is the GPU's bits.
TYPED_TEST(CpuBackendGpu, GatedEveryGateFormAndShape) {
  SKIP_WITHOUT_GPU();
  using T = TypeParam;
  for (const GateCase& c : gate_cases<T>()) {
    const OpCase oc = op_case(c.name.c_str(), c.gated.gate);
    const bool exact = own_math<T>(oc);
    for (Form form : {Form::gate_first, Form::gate_second, Form::split}) {
      for (const GatedShape& s : {GatedShape{33, 7}, GatedShape{5, 64}, GatedShape{300, 1027}}) {
        for (std::size_t offset : {0, 1}) {
          for (Blend blend : {Blend{}, Blend{0.5f, -2.0f}}) {
            if (blend.beta != 0 && !exact) continue;  // ulps magnified
            const std::size_t n = s.rows * s.hidden;
            const std::string what = c.name + " " + element_name<T>() + " form " +
                                     std::to_string(int(form)) + " rows " + std::to_string(s.rows) +
                                     " H " + std::to_string(s.hidden) + " offset " +
                                     std::to_string(offset) + " beta " + std::to_string(blend.beta);
            const std::vector<T> in = gated_inputs<T>(2 * n, 301, 8.0);
            const std::vector<T> dy = gated_inputs<T>(n, 302, 2.0);
            std::vector<T> y = gated_inputs<T>(n, 303, 4.0), din = gated_inputs<T>(2 * n, 304, 4.0);
            DeviceArray<T> d_in(2 * n + 1), d_dy(n + 1), d_y(n + 1), d_din(2 * n + 1);
            ASSERT_TRUE(d_in && d_dy && d_y && d_din);
            const T* pin = upload_at(d_in, in, offset);
            const T* pdy = upload_at(d_dy, dy, offset);
            T* py = upload_at(d_y, y, offset);
            T* pdin = upload_at(d_din, din, offset);
            run_gated(CudaGated{}, c.gated, form, pin, pdy, py, pdin, s, blend);
            run_gated(CpuGated{}, c.gated, form, in.data(), dy.data(), y.data(), din.data(), s,
                      blend);
            CUDA_OK(cudaDeviceSynchronize());
            expect_same(download(py, n), y, exact, 2 * c.bound[0], what + " y");
            expect_same(download(pdin, 2 * n), din, exact, 2 * c.bound[1], what + " din");
            if (::testing::Test::HasFailure()) return;
          }
        }
      }
    }
  }
}

/// bias_act for every op on the PReLU shapes (both plan layouts), aligned and not: y, the mask,
/// dx from x, from y and from the mask, and dbias accumulated into an old value. dbias is the
/// GPU's bits where dx is; else within the summation bound of the libraries' differing dx.
TYPED_TEST(CpuBackendGpu, BiasActEveryOpAndItsDbias) {
  SKIP_WITHOUT_GPU();
  using T = TypeParam;
  using P = compute_t<T>;
  const Blend accumulate{0.5f, 1.0f};
  for (const OpCase& c : op_cases()) {
    bool sign_only = false;
    ops::visit(c.act, [&](auto row, auto) { sign_only = decltype(row)::kSignOnly; });
    for (const ChannelShape& s : kShapes) {
      const std::size_t n = shape_elements(s);
      if (n > max_test_n()) continue;
      const BiasActData<T> d(s, 141);
      const std::size_t ws_bytes = bias_act_backward_workspace_bytes(s);
      for (std::size_t offset : {0, 1}) {
        const std::string what = std::string(c.name) + " " + element_name<T>() + " shape {" +
                                 std::to_string(s.outer) + ", " + std::to_string(s.channels) +
                                 ", " + std::to_string(s.inner) + "} offset " +
                                 std::to_string(offset);
        DeviceArray<T> d_x(n + 1), d_dy(n + 1), d_y(n + 1), d_dx(n + 1);
        DeviceArray<P> d_bias(s.channels), d_dbias(s.channels);
        DeviceArray<std::uint32_t> d_mask(mask_words(n) + 1);
        DeviceArray<double> d_ws(ws_bytes / sizeof(double) + 1);
        const T* gx = upload_at(d_x, d.x, offset);
        const T* gdy = upload_at(d_dy, d.dy, offset);
        T* gy = d_y.get() + offset;
        T* gdx = d_dx.get() + offset;
        upload_at(d_bias, d.bias, 0);
        std::vector<T> y(n), dx(n);
        std::vector<std::uint32_t> mask(mask_words(n));
        // Each backward: GPU and CPU dx and dbias (from the old dbias) compared.
        const auto backward_both = [&](const char* form, auto&& gpu, auto&& cpu_call, bool exact) {
          std::vector<P> dbias = d.dbias_old;
          upload_at(d_dbias, d.dbias_old, 0);
          ASSERT_EQ(gpu(), Status::success) << what << " " << form << ": " << last_error();
          ASSERT_EQ(cpu_call(dbias.data()), Status::success) << what << " " << form;
          CUDA_OK(cudaDeviceSynchronize());
          expect_same(download(gdx, n), dx, exact, 2 * ulp_bound<T>(c, Pass::backward),
                      what + " " + form + " dx");
          const std::vector<P> gpu_dbias = download(d_dbias.get(), s.channels);
          if (exact) {
            expect_same(gpu_dbias, dbias, true, 0, what + " " + form + " dbias");
          } else {
            expect_dbias_close(dx, d.dbias_old, s, gpu_dbias, dbias);
          }
        };
        const bool exact = own_math<T>(c);
        ASSERT_EQ(bias_act_forward(c.act, gx, d_bias.get(), gy, s), Status::success) << what;
        ASSERT_EQ(cpu::bias_act_forward(c.act, d.x.data(), d.bias.data(), y.data(), s),
                  Status::success);
        CUDA_OK(cudaDeviceSynchronize());
        expect_same(download(gy, n), y, exact, 2 * ulp_bound<T>(c, Pass::forward), what + " y");
        backward_both(
            "from x",
            [&] {
              return bias_act_backward(c.act, gx, d_bias.get(), gdy, gdx, d_dbias.get(), s,
                                       d_ws.get(), ws_bytes, nullptr, accumulate);
            },
            [&](P* db) {
              return cpu::bias_act_backward(c.act, d.x.data(), d.bias.data(), d.dy.data(),
                                            dx.data(), db, s, accumulate);
            },
            exact);
        if (c.from_output) {  // from the CPU's y on both
          const T* gy_cpu = upload_at(d_y, y, offset);
          backward_both(
              "from y",
              [&] {
                return bias_act_backward_from_output(c.act, gy_cpu, gdy, gdx, d_dbias.get(), s,
                                                     d_ws.get(), ws_bytes, nullptr, accumulate);
              },
              [&](P* db) {
                return cpu::bias_act_backward_from_output(c.act, y.data(), d.dy.data(), dx.data(),
                                                          db, s, accumulate);
              },
              own_math<T>(c));
        }
        if (sign_only) {
          ASSERT_EQ(bias_act_forward_with_mask(c.act, gx, d_bias.get(), gy, d_mask.get(), s),
                    Status::success);
          ASSERT_EQ(cpu::bias_act_forward_with_mask(c.act, d.x.data(), d.bias.data(), y.data(),
                                                    mask.data(), s),
                    Status::success);
          CUDA_OK(cudaDeviceSynchronize());
          EXPECT_EQ(download(d_mask.get(), mask.size()), mask) << what;
          expect_same(download(gy, n), y, true, 0, what + " y with mask");
          backward_both(
              "from mask",
              [&] {
                return bias_act_backward_from_mask(c.act, d_mask.get(), gdy, gdx, d_dbias.get(), s,
                                                   d_ws.get(), ws_bytes, nullptr, accumulate);
              },
              [&](P* db) {
                return cpu::bias_act_backward_from_mask(c.act, mask.data(), d.dy.data(), dx.data(),
                                                        db, s, accumulate);
              },
              true);
        }
        if (::testing::Test::HasFailure()) return;
      }
    }
  }
}

}  // namespace
}  // namespace actlayer::testing
