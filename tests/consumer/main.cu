// The consumer project's program: the version, a built-in activation through the layer API on
// CPU buffers, and a user-defined activation instantiated in this translation unit (through
// the header-only loop on the GPU when there is one, the CPU loop otherwise).
#include <cmath>
#include <cstdio>
#include <cstring>
#include <vector>

#include "actlayer/actlayer.hpp"
#include "actlayer/custom.cuh"

struct Softsign {  // z / (1 + |z|)
  template <class F>
  ACTLAYER_HD F value(F z) const {
    return z / (F(1) + (z < F(0) ? -z : z));
  }
  template <class F>
  ACTLAYER_HD F derivative(F z) const {
    const F d = F(1) + (z < F(0) ? -z : z);
    return F(1) / (d * d);
  }
};

int main() {
  std::printf("actlayer %s (headers %s)\n", actlayer::version(), ACTLAYER_VERSION_STRING);
  if (std::strcmp(actlayer::version(), ACTLAYER_VERSION_STRING) != 0) return 1;

  const std::vector<float> xs = {-2.0f, -0.5f, 0.0f, 0.5f, 2.0f};
  actlayer::ActivationLayer<float> tanh_layer(actlayer::Activation::tanh(), actlayer::Device::cpu);
  actlayer::Buffer<float> x = actlayer::Buffer<float>::from_host(xs, actlayer::Device::cpu);
  actlayer::Buffer<float> y(xs.size(), actlayer::Device::cpu);
  tanh_layer.forward(x, y);
  const std::vector<float> t = y.to_host();
  std::printf("tanh(2) = %.6f\n", t[4]);
  if (std::fabs(t[4] - std::tanh(2.0f)) > 1e-6f) return 1;

  std::vector<float> s(xs.size());
  if (actlayer::cuda_available()) {
    actlayer::Buffer<float> dx = actlayer::Buffer<float>::from_host(xs), dy(xs.size());
    actlayer::throw_if_failed(
        actlayer::custom_forward(Softsign{}, dx.data(), dy.data(), xs.size()));
    s = dy.to_host();
  } else {
    actlayer::throw_if_failed(
        actlayer::reference::custom_forward(Softsign{}, xs.data(), s.data(), xs.size()));
  }
  std::printf("softsign(2) = %.6f (%s)\n", s[4], actlayer::cuda_available() ? "GPU" : "CPU");
  return std::fabs(s[4] - 2.0f / 3.0f) < 1e-6f ? 0 : 1;
}
