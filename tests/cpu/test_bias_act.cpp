// bias_act on the CPU: the reference against the composite it fuses (add the bias, the
// elementwise reference, a sum) for every op, against finite differences, the saved-y and mask
// forms, special values, blends, argument errors and the layer (on the CPU backend).
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <functional>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "actlayer/cpu.hpp"
#include "actlayer/cuda.hpp"
#include "actlayer/layers.hpp"
#include "actlayer/reference.hpp"
#include "common/cases.hpp"
#include "common/numeric.hpp"

namespace actlayer::testing {
namespace {

/// Random x, dy and bias over `shape` (x + bias in about [-3, 3]).
template <class T>
struct Data {
  using P = compute_t<T>;
  ChannelShape shape;
  std::size_t n;
  std::vector<T> x, dy;
  std::vector<P> bias;

  explicit Data(ChannelShape s, std::uint64_t seed = 1)
      : shape(s), n(s.outer * s.channels * s.inner), x(n), dy(n), bias(s.channels) {
    std::mt19937_64 rng(seed);
    std::uniform_real_distribution<double> u(-2, 2);
    for (auto& v : x) v = from_double<T>(u(rng));
    for (auto& v : dy) v = from_double<T>(u(rng));
    for (auto& v : bias) v = static_cast<P>(u(rng) / 2);
  }
  std::size_t channel(std::size_t i) const { return (i / shape.inner) % shape.channels; }
};

// ---- The fused call is the composite, bit for bit ------------------------------------------

/// z = x + bias rounded to T, then reference::forward/backward and a long double sum: for float
/// and double (where z is a T) exactly what bias_act's reference computes.
template <class T>
void expect_composite(const OpCase& c, ChannelShape shape) {
  SCOPED_TRACE(std::string(c.name) + " " + type_name<T>());
  const Data<T> d(shape, 7);
  std::vector<T> z(d.n), want_y(d.n), want_dx(d.n), y(d.n), dx(d.n);
  for (std::size_t i = 0; i < d.n; ++i) z[i] = d.x[i] + d.bias[d.channel(i)];
  ASSERT_EQ(reference::forward(c.act, z.data(), want_y.data(), d.n), Status::success);
  ASSERT_EQ(reference::backward(c.act, z.data(), d.dy.data(), want_dx.data(), d.n),
            Status::success);
  std::vector<long double> sums(shape.channels, 0);
  for (std::size_t i = 0; i < d.n; ++i) sums[d.channel(i)] += want_dx[i];
  std::vector<T> dbias(shape.channels);
  ASSERT_EQ(reference::bias_act_forward(c.act, d.x.data(), d.bias.data(), y.data(), shape),
            Status::success);
  ASSERT_EQ(reference::bias_act_backward(c.act, d.x.data(), d.bias.data(), d.dy.data(), dx.data(),
                                         dbias.data(), shape),
            Status::success);
  for (std::size_t i = 0; i < d.n; ++i) {
    ASSERT_TRUE(same(y[i], want_y[i])) << i << ": " << show(y[i]) << " vs " << show(want_y[i]);
    ASSERT_TRUE(same(dx[i], want_dx[i])) << i << ": " << show(dx[i]) << " vs " << show(want_dx[i]);
  }
  for (std::size_t ch = 0; ch < shape.channels; ++ch) {
    EXPECT_TRUE(same(dbias[ch], static_cast<T>(sums[ch]))) << "channel " << ch;
  }
}

TEST(BiasActReference, IsTheCompositeForEveryOp) {
  for (const OpCase& c : op_cases()) {
    for (ChannelShape s : {ChannelShape{3, 4, 5}, ChannelShape{7, 3, 1}, ChannelShape{1, 2, 33}}) {
      expect_composite<float>(c, s);
      expect_composite<double>(c, s);
    }
  }
}

// ---- Finite differences --------------------------------------------------------------------

TEST(BiasActReference, GradientsMatchFiniteDifferencesForEveryOp) {
  // L = sum(dy * y): dL/dx_i = dx_i and dL/dbias_c = dbias_c, by central differences in double.
  const ChannelShape shape{3, 4, 5};
  for (const OpCase& c : op_cases()) {
    SCOPED_TRACE(c.name);
    Data<double> d(shape, 11);
    std::vector<double> dx(d.n), dbias(shape.channels);
    ASSERT_EQ(reference::bias_act_backward(c.act, d.x.data(), d.bias.data(), d.dy.data(), dx.data(),
                                           dbias.data(), shape),
              Status::success);
    const auto loss = [&](const std::vector<double>& xs, const std::vector<double>& bs) {
      std::vector<double> out(d.n);
      EXPECT_EQ(reference::bias_act_forward(c.act, xs.data(), bs.data(), out.data(), shape),
                Status::success);
      long double l = 0;
      for (std::size_t i = 0; i < d.n; ++i) l += static_cast<long double>(d.dy[i]) * out[i];
      return l;
    };
    const double h = 1e-6;
    const auto near = [](long double fd, double got) {
      return std::fabs(static_cast<double>(fd) - got) <= 1e-5 * std::max(1.0, std::fabs(got));
    };
    for (std::size_t i = 0; i < d.n; ++i) {
      std::vector<double> xp = d.x, xm = d.x;
      xp[i] += h;
      xm[i] -= h;
      const long double fd = (loss(xp, d.bias) - loss(xm, d.bias)) / (2 * h);
      EXPECT_TRUE(near(fd, dx[i]))
          << "dx[" << i << "]: " << static_cast<double>(fd) << " vs " << dx[i];
    }
    for (std::size_t ch = 0; ch < shape.channels; ++ch) {
      std::vector<double> bp = d.bias, bm = d.bias;
      bp[ch] += h;
      bm[ch] -= h;
      const long double fd = (loss(d.x, bp) - loss(d.x, bm)) / (2 * h);
      EXPECT_TRUE(near(fd, dbias[ch]))
          << "dbias[" << ch << "]: " << static_cast<double>(fd) << " vs " << dbias[ch];
    }
  }
}

// ---- The saved-y and mask forms ------------------------------------------------------------

TEST(BiasActReference, FromOutputAndFromMaskAgreeWithFromX) {
  const ChannelShape shape{5, 3, 7};
  for (const OpCase& c : op_cases()) {
    SCOPED_TRACE(c.name);
    Data<double> d(shape, 3);
    std::vector<double> y(d.n), dx(d.n), dbias(3), other_dx(d.n), other_dbias(3);
    ASSERT_EQ(reference::bias_act_forward(c.act, d.x.data(), d.bias.data(), y.data(), shape),
              Status::success);
    ASSERT_EQ(reference::bias_act_backward(c.act, d.x.data(), d.bias.data(), d.dy.data(), dx.data(),
                                           dbias.data(), shape),
              Status::success);
    const Status from_y = reference::bias_act_backward_from_output(
        c.act, y.data(), d.dy.data(), other_dx.data(), other_dbias.data(), shape);
    ASSERT_EQ(from_y, c.from_output ? Status::success : Status::not_supported) << last_error();
    if (c.from_output) {
      for (std::size_t i = 0; i < d.n; ++i) {
        EXPECT_NEAR(other_dx[i], dx[i], 1e-12 * std::max(1.0, std::fabs(dx[i]))) << i;
      }
      for (std::size_t ch = 0; ch < 3; ++ch) EXPECT_NEAR(other_dbias[ch], dbias[ch], 1e-11);
    }
    bool sign_only = false;
    ops::visit(c.act, [&](auto row, auto) { sign_only = decltype(row)::kSignOnly; });
    std::vector<std::uint32_t> mask(mask_words(d.n));
    const Status masked = reference::bias_act_forward_with_mask(c.act, d.x.data(), d.bias.data(),
                                                                y.data(), mask.data(), shape);
    ASSERT_EQ(masked, sign_only ? Status::success : Status::not_supported) << last_error();
    if (!sign_only) continue;
    for (std::size_t i = 0; i < d.n; ++i) {
      ASSERT_EQ((mask[i / 32] >> (i % 32)) & 1u, d.x[i] + d.bias[d.channel(i)] > 0 ? 1u : 0u);
    }
    ASSERT_EQ(reference::bias_act_backward_from_mask(c.act, mask.data(), d.dy.data(),
                                                     other_dx.data(), other_dbias.data(), shape),
              Status::success);
    EXPECT_EQ(other_dx, dx);  // sign-only ops: the same bits
    EXPECT_EQ(other_dbias, dbias);
  }
}

// ---- Special values, empty shapes, blends --------------------------------------------------

TEST(BiasActReference, SpecialValues) {
  constexpr double inf = std::numeric_limits<double>::infinity(), nan = std::nan("");
  struct Row {
    Activation act;
    double x, bias, dy, y, dx;  // dbias = dx (one element); NaN means any NaN
  };
  const Row rows[] = {
      {Activation::relu(), -1, 1, 3, 0, 0},              // z = 0: the left branch, y = +0
      {Activation::relu(), 1, -0.5, 3, 0.5, 3},          // z > 0
      {Activation::relu(), nan, 1, 1, nan, nan},         // NaN x: NaN dbias too
      {Activation::relu(), inf, -inf, 1, nan, nan},      // z = inf - inf
      {Activation::relu(), 2, 0, nan, 2, nan},           // NaN dy
      {Activation::relu(), 2, -1, inf, 1, inf},          // infinite dy where f' = 1
      {Activation::relu(), -2, 1, inf, 0, 0},            // infinite dy where f' = 0: +0
      {Activation::identity(), -0.0, -0.0, 1, -0.0, 1},  // -0 + -0 = -0, kept by identity
      {Activation::identity(), -0.0, 0.0, 1, 0.0, 1},    // -0 + +0 = +0
      {Activation::sigmoid(), inf, 1, 2, 1, 0},          // saturated: f' = 0
      {Activation::tanh(), -inf, 5, 2, -1, 0},
      {Activation::leaky_relu(0.25f), -4, 2, 2, -0.5, 0.5},
  };
  const ChannelShape shape{1, 1, 1};
  for (const Row& r : rows) {
    double y = 0, dx = 0, db = 0;
    ASSERT_EQ(reference::bias_act_forward(r.act, &r.x, &r.bias, &y, shape), Status::success);
    ASSERT_EQ(reference::bias_act_backward(r.act, &r.x, &r.bias, &r.dy, &dx, &db, shape),
              Status::success);
    SCOPED_TRACE(::testing::Message()
                 << to_string(r.act.op) << " x=" << r.x << " bias=" << r.bias << " dy=" << r.dy);
    EXPECT_TRUE(same(y, r.y)) << show(y);
    EXPECT_TRUE(same(dx, r.dx)) << show(dx);
    EXPECT_TRUE(same(db, r.dx + 0.0)) << show(db);  // a sum of one: -0 + 0 = +0
  }
}

TEST(BiasActReference, EmptyShapesStillBlendDbias) {
  const Activation act = Activation::gelu();
  const float x = 1, dy = 1, bias[2] = {0.5f, -1};
  float dx = 7;
  for (ChannelShape s : {ChannelShape{0, 2, 3}, ChannelShape{4, 2, 0}}) {
    float dbias[2] = {std::nanf(""), std::nanf("")};
    ASSERT_EQ(reference::bias_act_backward(act, &x, bias, &dy, &dx, dbias, s), Status::success);
    EXPECT_TRUE(same(dbias[0], 0.0f) && same(dbias[1], 0.0f));  // beta = 0: NaN never read
    float acc[2] = {2.5f, -3};
    ASSERT_EQ(reference::bias_act_backward(act, &x, bias, &dy, &dx, acc, s, Blend{1, 1}),
              Status::success);
    EXPECT_EQ(acc[0], 2.5f);
    EXPECT_EQ(acc[1], -3.0f);
  }
  EXPECT_EQ(dx, 7.0f);  // nothing to write
}

TEST(BiasActReference, BlendOneOneAccumulatesMicroBatches) {
  // Dyadic data: every sum is exact, so accumulating two half batches gives the whole batch's
  // dbias exactly.
  const ChannelShape half{4, 3, 2}, whole{8, 3, 2};
  std::vector<double> x(48), dy(48), dx(48), bias = {0.25, -0.5, 0};
  for (std::size_t i = 0; i < 48; ++i) {
    x[i] = static_cast<double>(static_cast<int>(i % 9) - 4) / 8;
    dy[i] = static_cast<double>(static_cast<int>(i % 5) - 2) / 4;
  }
  for (const Activation& act : {Activation::relu(), Activation::identity(), Activation::step()}) {
    std::vector<double> want(3), acc = {0.75, 0.75, 0.75};
    ASSERT_EQ(reference::bias_act_backward(act, x.data(), bias.data(), dy.data(), dx.data(),
                                           want.data(), whole),
              Status::success);
    for (std::size_t b = 0; b < 2; ++b) {
      ASSERT_EQ(
          reference::bias_act_backward(act, x.data() + 24 * b, bias.data(), dy.data() + 24 * b,
                                       dx.data() + 24 * b, acc.data(), half, Blend{1, 1}),
          Status::success);
    }
    for (std::size_t ch = 0; ch < 3; ++ch) EXPECT_EQ(acc[ch], want[ch] + 0.75) << ch;
    std::vector<double> scaled = {1, 1, 1};
    ASSERT_EQ(reference::bias_act_backward(act, x.data(), bias.data(), dy.data(), dx.data(),
                                           scaled.data(), whole, Blend{0.5f, -2}),
              Status::success);
    for (std::size_t ch = 0; ch < 3; ++ch) EXPECT_EQ(scaled[ch], 0.5 * want[ch] - 2) << ch;
  }
}

// ---- Arguments ------------------------------------------------------------------------------

TEST(BiasActArguments, RejectedBeforeAnythingRuns) {
  std::vector<float> x(60, 1.0f), dy(60, 1.0f), bias(4, 0.25f), ws(1024);
  std::vector<float> out(60), dbias(4);
  std::vector<std::uint32_t> mask(2);
  const auto poison = [&] {
    std::memset(out.data(), 0x5A, out.size() * 4);
    std::memset(dbias.data(), 0x5A, dbias.size() * 4);
    std::memset(mask.data(), 0x5A, mask.size() * 4);
  };
  const auto untouched = [&] {
    const std::vector<unsigned char> want(240, 0x5A);
    return std::memcmp(out.data(), want.data(), 240) == 0 &&
           std::memcmp(dbias.data(), want.data(), 16) == 0 &&
           std::memcmp(mask.data(), want.data(), 8) == 0;
  };
  const ChannelShape good{3, 4, 5};
  const Activation gelu = Activation::gelu(), relu = Activation::relu();
  const std::size_t big = std::numeric_limits<std::size_t>::max() / 2;
  const std::size_t need = bias_act_backward_workspace_bytes(good);
  ASSERT_GT(need, 8u);
  const std::string too_small =
      "workspace_bytes = " + std::to_string(need - 8) +
      " is less than bias_act_backward_workspace_bytes(shape) = " + std::to_string(need);
  struct Bad {
    std::function<Status()> call;
    Status want;
    std::string fragment;
  };
  const float* no_data = nullptr;
  const std::vector<Bad> cases = {
      {[&] {
         return bias_act_forward(gelu, x.data(), bias.data(), out.data(), {3, 0, 5});
       },
       Status::invalid_argument, "shape.channels must be >= 1"},
      {[&] {
         return bias_act_forward(gelu, x.data(), bias.data(), out.data(), {big, 4, 5});
       },
       Status::invalid_argument, "overflows size_t"},
      {[&] { return bias_act_forward(gelu, no_data, bias.data(), out.data(), good); },
       Status::invalid_argument, "x is null"},
      {[&] { return bias_act_forward(gelu, x.data(), no_data, out.data(), good); },
       Status::invalid_argument, "bias is null"},
      {[&] { return bias_act_forward(gelu, x.data(), bias.data(), x.data() + 1, good); },
       Status::invalid_argument, "partially overlaps"},
      {[&] {
         return bias_act_forward(Activation::leaky_relu(-1.0f), x.data(), bias.data(), out.data(),
                                 good);
       },
       Status::invalid_argument, "activation.slope"},
      {[&] {
         return bias_act_forward(Activation::rrelu_training({1, 2}), x.data(), bias.data(),
                                 out.data(), good);
       },
       Status::not_supported, "rrelu in training mode"},
      {[&] {
         return bias_act_backward(gelu, x.data(), bias.data(), dy.data(), out.data(), dbias.data(),
                                  good, ws.data(), need - 8);
       },
       Status::invalid_argument, too_small},
      {[&] {
         return bias_act_backward(gelu, x.data(), bias.data(), dy.data(), out.data(), dbias.data(),
                                  good, nullptr, need);
       },
       Status::invalid_argument, "workspace is null"},
      {[&] {
         return bias_act_backward(gelu, x.data(), bias.data(), dy.data(), out.data(),
                                  static_cast<float*>(nullptr), good, ws.data(), need);
       },
       Status::invalid_argument, "dbias is null"},
      {[&] {
         return bias_act_backward(gelu, x.data(), bias.data(), dy.data(), out.data(), dbias.data(),
                                  good, bias.data(), need);
       },
       Status::invalid_argument, "overlap"},
      {[&] {
         return bias_act_backward(gelu, x.data(), bias.data(), dy.data(), out.data(), dbias.data(),
                                  good, ws.data(), need, nullptr, Blend{std::nanf(""), 1});
       },
       Status::invalid_argument, "blend.alpha and blend.beta"},
      {[&] {
         return bias_act_backward(gelu, x.data(), bias.data(), dy.data(), out.data(), dbias.data(),
                                  {3, 0, 5}, ws.data(), need);
       },
       Status::invalid_argument, "shape.channels"},
      {[&] {
         return bias_act_backward_from_output(gelu, x.data(), dy.data(), out.data(), dbias.data(),
                                              good, ws.data(), need);
       },
       Status::not_supported, "no backward from the output"},
      {[&] {
         return bias_act_backward_from_output(relu, x.data(), no_data, out.data(), dbias.data(),
                                              good, ws.data(), need);
       },
       Status::invalid_argument, "dy is null"},
      {[&] {
         return bias_act_forward_with_mask(gelu, x.data(), bias.data(), out.data(), mask.data(),
                                           good);
       },
       Status::not_supported, "the mask calls need an op"},
      {[&] {
         return bias_act_forward_with_mask(relu, x.data(), bias.data(), out.data(),
                                           reinterpret_cast<std::uint32_t*>(out.data()), good);
       },
       Status::invalid_argument, "overlap"},
      {[&] {
         return bias_act_backward_from_mask(relu, mask.data(), dy.data(), out.data(), dbias.data(),
                                            good, ws.data(), need - 8);
       },
       Status::invalid_argument, too_small},
      {[&] {
         return reference::bias_act_forward(gelu, x.data(), bias.data(), out.data(), {3, 0, 5});
       },
       Status::invalid_argument, "actlayer::reference::bias_act_forward: shape.channels"},
      {[&] {
         return reference::bias_act_backward(gelu, x.data(), bias.data(), no_data, out.data(),
                                             dbias.data(), good);
       },
       Status::invalid_argument, "dy is null"},
      {[&] {
         return reference::bias_act_backward(Activation::rrelu_training({1, 2}), x.data(),
                                             bias.data(), dy.data(), out.data(), dbias.data(),
                                             good);
       },
       Status::not_supported, "rrelu in training mode"},
      {[&] {
         return reference::bias_act_backward_from_mask(gelu, mask.data(), dy.data(), out.data(),
                                                       dbias.data(), good);
       },
       Status::not_supported, "the mask calls need an op"},
  };
  for (const Bad& b : cases) {
    poison();
    EXPECT_EQ(b.call(), b.want) << last_error();
    EXPECT_NE(std::string(last_error()).find(b.fragment), std::string::npos)
        << "expected '" << b.fragment << "' in: " << last_error();
    EXPECT_TRUE(untouched()) << b.fragment;
  }
  EXPECT_EQ(bias_act_backward_workspace_bytes({3, 0, 5}), 0u);
  EXPECT_EQ(bias_act_backward_workspace_bytes({big, 4, 5}), 0u);
}

// ---- The layer on CPU buffers ---------------------------------------------------------------

TEST(BiasActivationLayerCpu, TrainsItsBiasThroughTheCpuBackend) {
  const ChannelShape shape{2, 3, 4};
  BiasActivationLayer<float> layer(3, Activation::gelu(), Device::cpu);
  EXPECT_EQ(layer.bias().to_host(), (std::vector<float>{0, 0, 0}));  // zero-initialised
  const std::vector<float> bias = {0.5f, -0.25f, 1};
  layer.bias() = Buffer<float>::from_host(bias, Device::cpu);
  std::vector<float> xs(24), gs(24);
  for (std::size_t i = 0; i < 24; ++i) {
    xs[i] = static_cast<float>(i % 5) - 2.0f;
    gs[i] = static_cast<float>(i % 3) - 0.5f;
  }
  Buffer<float> x = Buffer<float>::from_host(xs, Device::cpu),
                dy = Buffer<float>::from_host(gs, Device::cpu);
  Buffer<float> y(24, Device::cpu), dx(24, Device::cpu);
  layer.forward(x, y, shape);
  layer.backward(x, dy, dx, shape, ParamGrad::overwrite);
  std::vector<float> want_y(24), want_dx(24), want_db(3);
  ASSERT_EQ(cpu::bias_act_forward(Activation::gelu(), xs.data(), bias.data(), want_y.data(), shape),
            Status::success);
  ASSERT_EQ(cpu::bias_act_backward(Activation::gelu(), xs.data(), bias.data(), gs.data(),
                                   want_dx.data(), want_db.data(), shape),
            Status::success);
  EXPECT_EQ(y.to_host(), want_y);
  EXPECT_EQ(dx.to_host(), want_dx);
  EXPECT_EQ(layer.dbias().to_host(), want_db);
  layer.backward(x, dy, dx, shape, ParamGrad::accumulate);
  const std::vector<float> twice = layer.dbias().to_host();
  for (std::size_t c = 0; c < 3; ++c) EXPECT_EQ(twice[c], 2 * want_db[c]);

  // From y: relu has an output form, gelu not.
  BiasActivationLayer<float> relu(3, Activation::relu(), Device::cpu);
  relu.forward(x, y, shape);
  relu.backward_from_output(y, dy, dx, shape, ParamGrad::overwrite);
  ASSERT_EQ(cpu::bias_act_backward(Activation::relu(), xs.data(), std::vector<float>(3, 0).data(),
                                   gs.data(), want_dx.data(), want_db.data(), shape),
            Status::success);
  EXPECT_EQ(dx.to_host(), want_dx);
  EXPECT_EQ(relu.dbias().to_host(), want_db);
  // The kept mask: the same dx and dbias as from x (relu), and refused before a forward.
  BiasActivationLayer<float> masked(3, Activation::relu(), Device::cpu);
  Buffer<float> dx_mask(24, Device::cpu);
  masked.forward_keep_mask(x, y, shape);
  masked.backward_from_kept_mask(dy, dx_mask, shape, ParamGrad::overwrite);
  EXPECT_EQ(dx_mask.to_host(), want_dx);
  EXPECT_EQ(masked.dbias().to_host(), want_db);
  BiasActivationLayer<float> no_forward(3, Activation::relu(), Device::cpu);

  struct Throws {
    std::function<void()> call;
    Status want;
    const char* fragment;
  };
  const std::vector<Throws> errors = {
      {[&] { layer.backward_from_output(y, dy, dx, shape, ParamGrad::overwrite); },
       Status::not_supported, "BiasActivationLayer::backward_from_output: gelu has no backward"},
      {[&] {
         layer.forward(x, y, ChannelShape{2, 4, 3});
       },
       Status::invalid_argument, "shape.channels = 4 but the layer has 3 channels"},
      {[] { BiasActivationLayer<float>(0, Activation::relu(), Device::cpu); },
       Status::invalid_argument, "BiasActivationLayer: channels must be >= 1"},
      {[] {
         BiasActivationLayer<float>(2, Activation::rrelu_training({1, 2}), Device::cpu);
       },
       Status::not_supported, "BiasActivationLayer: rrelu in training mode"},
      {[] { BiasActivationLayer<float>(2, Activation::elu(std::nanf("")), Device::cpu); },
       Status::invalid_argument, "BiasActivationLayer: elu.alpha must be finite"},
  };
  for (const Throws& t : errors) {
    try {
      t.call();
      ADD_FAILURE() << "no exception: " << t.fragment;
    } catch (const Error& e) {
      EXPECT_EQ(e.status(), t.want) << e.what();
      EXPECT_NE(std::string(e.what()).find(t.fragment), std::string::npos) << e.what();
    }
  }
}

}  // namespace
}  // namespace actlayer::testing
