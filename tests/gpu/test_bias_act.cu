// bias_act on the GPU against the CPU reference: every op of the sweep in every dtype, NCHW,
// NHWC and rows x features shapes (odd sizes, both plan layouts, empty), misaligned pointers,
// the saved-y and mask forms, dbias's bitwise determinism (runs, streams, alignment) and its
// accumulation.
#include <cmath>
#include <cstring>
#include <random>

#include "common/cases.hpp"
#include "common/element_types.hpp"
#include "common/fused.hpp"
#include "actlayer/cuda.hpp"
#include "actlayer/reference.hpp"
#include "gpu_harness.cuh"

namespace actlayer::testing {
namespace {

/// Device copies at `offset` elements from an allocation's start (16-byte misaligned for
/// offset 1: the kernels fall back to scalar loads, the sums must not change).
template <class T>
struct DeviceRun {
  using P = compute_t<T>;
  ChannelShape shape;
  std::size_t n, offset;
  DeviceArray<T> x, dy, out;
  DeviceArray<P> bias, dbias;
  DeviceArray<std::uint32_t> mask;
  DeviceArray<double> ws;
  std::size_t ws_bytes;
  DeviceRun(const BiasActData<T>& d, std::size_t off)
      : shape(d.shape),
        n(shape_elements(d.shape)),
        offset(off),
        x(n + off + 1),
        dy(n + off + 1),
        out(n + off + 1),
        bias(d.shape.channels),
        dbias(d.shape.channels),
        mask(mask_words(n) + 1),
        ws(bias_act_backward_workspace_bytes(d.shape) / 8 + 1),
        ws_bytes(bias_act_backward_workspace_bytes(d.shape)) {
    upload(x.get() + off, d.x);
    upload(dy.get() + off, d.dy);
    upload(bias.get(), d.bias);
    upload(dbias.get(), d.dbias_old);
    EXPECT_EQ(cudaDeviceSynchronize(), cudaSuccess);
  }
  template <class V>
  static void upload(V* dst, const std::vector<V>& v) {
    if (!v.empty()) {
      EXPECT_EQ(cudaMemcpy(dst, v.data(), v.size() * sizeof(V), cudaMemcpyHostToDevice),
                cudaSuccess);
    }
  }
  T* px() { return x.get() + offset; }
  T* pdy() { return dy.get() + offset; }
  T* pout() { return out.get() + offset; }
  Status backward(const Activation& act, cudaStream_t stream = nullptr, Blend b = {}) {
    return bias_act_backward(act, px(), bias.get(), pdy(), pout(), dbias.get(), shape, ws.get(),
                             ws_bytes, stream, b);
  }
  std::vector<T> result() { return download(pout(), n); }
  std::vector<P> grad() { return download(dbias.get(), shape.channels); }
};

template <class T>
void expect_close(const std::vector<T>& got, const std::vector<T>& want, std::uint64_t bound,
                  const char* what) {
  std::size_t bad = 0;
  for (std::size_t i = 0; i < want.size(); ++i) {
    const bool ok = bound == 0 ? same(got[i], want[i]) : ulp_distance(got[i], want[i]) <= bound;
    if (!ok && ++bad <= 3) {
      ADD_FAILURE() << what << "[" << i << "]: " << show(got[i]) << " vs " << show(want[i]);
    }
  }
  EXPECT_EQ(bad, 0u) << what;
}

template <class T>
class BiasActGpu : public ::testing::Test {
 protected:
  void SetUp() override { SKIP_WITHOUT_GPU(); }
};
TYPED_TEST_SUITE(BiasActGpu, ElementTypes);

TYPED_TEST(BiasActGpu, EveryOpMatchesTheReference) {
  using T = TypeParam;
  using P = compute_t<T>;
  const Blend accumulate{1.0f, 1.0f};
  for (const OpCase& c : op_cases()) {
    bool sign_only = false;
    ops::visit(c.act, [&](auto row, auto) { sign_only = decltype(row)::kSignOnly; });
    for (const ChannelShape& s : kBiasActShapes) {
      if (shape_elements(s) > max_test_n()) continue;
      SCOPED_TRACE(::testing::Message() << c.name << " " << type_name<T>() << " shape {" << s.outer
                                        << ", " << s.channels << ", " << s.inner << "}");
      const BiasActData<T> d(s);
      const std::size_t n = shape_elements(s);
      std::vector<T> want_y(n), want_dx(n), dx_from_y(n), dx_from_mask(n);
      std::vector<P> want_db = d.dbias_old, db_from_y(s.channels), db_from_mask(s.channels);
      std::vector<std::uint32_t> want_mask(mask_words(n));
      ASSERT_EQ(reference::bias_act_forward(c.act, d.x.data(), d.bias.data(), want_y.data(), s),
                Status::success);
      ASSERT_EQ(reference::bias_act_backward(c.act, d.x.data(), d.bias.data(), d.dy.data(),
                                             want_dx.data(), want_db.data(), s, accumulate),
                Status::success);
      if (c.from_output) {
        ASSERT_EQ(reference::bias_act_backward_from_output(c.act, want_y.data(), d.dy.data(),
                                                           dx_from_y.data(), db_from_y.data(), s),
                  Status::success);
      }
      if (sign_only) {
        std::vector<T> y(n);
        ASSERT_EQ(reference::bias_act_forward_with_mask(c.act, d.x.data(), d.bias.data(), y.data(),
                                                        want_mask.data(), s),
                  Status::success);
        ASSERT_EQ(
            reference::bias_act_backward_from_mask(c.act, want_mask.data(), d.dy.data(),
                                                   dx_from_mask.data(), db_from_mask.data(), s),
            Status::success);
      }
      const std::vector<P> zeros(s.channels, P(0));
      for (std::size_t offset : {0, 1}) {
        SCOPED_TRACE(::testing::Message() << "offset " << offset);
        DeviceRun<T> run(d, offset);
        ASSERT_EQ(bias_act_forward(c.act, run.px(), run.bias.get(), run.pout(), s), Status::success)
            << last_error();
        expect_close(run.result(), want_y, ulp_bound<T>(c, Pass::forward), "y");
        ASSERT_EQ(run.backward(c.act, nullptr, accumulate), Status::success) << last_error();
        expect_close(run.result(), want_dx, ulp_bound<T>(c, Pass::backward), "dx");
        expect_dbias_close(want_dx, d.dbias_old, s, run.grad(), want_db);
        if (c.from_output) {  // from the reference's y
          DeviceRun<T> from_y(d, offset);
          DeviceRun<T>::upload(from_y.px(), want_y);
          CUDA_OK(cudaDeviceSynchronize());
          ASSERT_EQ(bias_act_backward_from_output(c.act, from_y.px(), from_y.pdy(), from_y.pout(),
                                                  from_y.dbias.get(), s, from_y.ws.get(),
                                                  from_y.ws_bytes),
                    Status::success)
              << last_error();
          expect_close(from_y.result(), dx_from_y, ulp_bound<T>(c, Pass::backward_from_output),
                       "dx from y");
          expect_dbias_close(dx_from_y, zeros, s, from_y.grad(), db_from_y);
        }
        if (sign_only && n > 0) {  // the mask's bits, then dx and dbias from them
          ASSERT_EQ(bias_act_forward_with_mask(c.act, run.px(), run.bias.get(), run.pout(),
                                               run.mask.get(), s),
                    Status::success)
              << last_error();
          EXPECT_EQ(download(run.mask.get(), want_mask.size()), want_mask);
          expect_close(run.result(), want_y, ulp_bound<T>(c, Pass::forward), "y with mask");
          ASSERT_EQ(bias_act_backward_from_mask(c.act, run.mask.get(), run.pdy(), run.pout(),
                                                run.dbias.get(), s, run.ws.get(), run.ws_bytes),
                    Status::success)
              << last_error();
          expect_close(run.result(), dx_from_mask, ulp_bound<T>(c, Pass::backward), "dx from mask");
          expect_dbias_close(dx_from_mask, zeros, s, run.grad(), db_from_mask);
        }
      }
    }
  }
}

TYPED_TEST(BiasActGpu, DbiasIsBitwiseDeterministic) {
  using T = TypeParam;
  using P = compute_t<T>;
  // Runs on the default stream and on another, and copies of the data 1, 2 and 3 elements off
  // their alignment (scalar loads instead of vectors): the same dbias bits every time.
  for (const Activation& act : {Activation::relu(), Activation::gelu()}) {
    for (const ChannelShape& s :
         {ChannelShape{8, 64, 49}, ChannelShape{4, 16, 3136}, ChannelShape{4096, 96, 1}}) {
      if (shape_elements(s) > max_test_n()) continue;
      SCOPED_TRACE(::testing::Message() << to_string(act.op) << " " << type_name<T>() << " shape {"
                                        << s.outer << ", " << s.channels << ", " << s.inner << "}");
      const BiasActData<T> d(s, 42);
      DeviceRun<T> aligned(d, 0);
      cudaStream_t stream;
      CUDA_OK(cudaStreamCreateWithFlags(&stream, cudaStreamNonBlocking));
      ASSERT_EQ(aligned.backward(act), Status::success) << last_error();
      const std::vector<P> first = aligned.grad();
      const std::vector<T> first_dx = aligned.result();
      for (int run = 0; run < 6; ++run) {
        ASSERT_EQ(aligned.backward(act, run < 3 ? nullptr : stream), Status::success);
        CUDA_OK(cudaDeviceSynchronize());
        EXPECT_EQ(std::memcmp(aligned.grad().data(), first.data(), first.size() * sizeof(P)), 0)
            << "run " << run;
      }
      for (std::size_t offset : {1, 2, 3}) {
        DeviceRun<T> shifted(d, offset);
        ASSERT_EQ(shifted.backward(act), Status::success);
        EXPECT_EQ(std::memcmp(shifted.grad().data(), first.data(), first.size() * sizeof(P)), 0)
            << "offset " << offset;
        EXPECT_EQ(
            std::memcmp(shifted.result().data(), first_dx.data(), first_dx.size() * sizeof(T)), 0);
      }
      CUDA_OK(cudaStreamDestroy(stream));
    }
  }
}

TYPED_TEST(BiasActGpu, AccumulatesMicroBatchesAndWritesDbiasForEmptyShapes) {
  using T = TypeParam;
  using P = compute_t<T>;
  const ChannelShape s{6, 10, 100};
  const BiasActData<T> d(s, 3);
  DeviceRun<T> run(d, 0);
  std::vector<T> dx(shape_elements(s));
  std::vector<P> want = d.dbias_old;
  // Two accumulating backwards over the same batch: old + 2 * sum (the reference twice).
  for (int k = 0; k < 2; ++k) {
    ASSERT_EQ(reference::bias_act_backward(Activation::silu(), d.x.data(), d.bias.data(),
                                           d.dy.data(), dx.data(), want.data(), s, Blend{1, 1}),
              Status::success);
    ASSERT_EQ(run.backward(Activation::silu(), nullptr, Blend{1, 1}), Status::success)
        << last_error();
  }
  std::vector<T> twice(dx.size());
  for (std::size_t i = 0; i < dx.size(); ++i) twice[i] = from_double<T>(2 * to_double(dx[i]));
  expect_dbias_close(twice, d.dbias_old, s, run.grad(), want);
  // Empty: dbias = 0.5 * 0 + 2 * old, exactly.
  const std::vector<P> before = run.grad();
  const ChannelShape empty{0, 10, 100};
  ASSERT_EQ(bias_act_backward(Activation::silu(), run.px(), run.bias.get(), run.pdy(), run.pout(),
                              run.dbias.get(), empty, run.ws.get(), run.ws_bytes, nullptr,
                              Blend{0.5f, 2.0f}),
            Status::success)
      << last_error();
  const std::vector<P> after = run.grad();
  for (std::size_t c = 0; c < s.channels; ++c) {
    EXPECT_EQ(after[c], static_cast<P>(2 * static_cast<double>(before[c]))) << c;
  }
}

}  // namespace
}  // namespace actlayer::testing
