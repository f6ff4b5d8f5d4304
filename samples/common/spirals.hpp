// samples/common/spirals.hpp — train_mlp's data set: two interleaved spirals, two classes.
#pragma once

#include <cmath>
#include <cstddef>
#include <random>
#include <vector>

namespace sample {

struct Dataset {
  std::vector<float> x;  // [n][2]
  std::vector<int> label;
  std::size_t n = 0;
};

/// n points, half per spiral: angle 2.5 pi t (+ pi for the second), radius 0.1 + 0.9 t,
/// Gaussian noise 0.03; t uniform.
inline Dataset spirals(std::size_t n, unsigned seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> uniform(0, 1);
  std::normal_distribution<float> noise(0, 0.03f);
  Dataset d;
  d.n = n;
  for (std::size_t i = 0; i < n; ++i) {
    const int c = static_cast<int>(i % 2);
    const float t = uniform(rng);
    const float angle = 2.5f * 3.14159265f * t + 3.14159265f * static_cast<float>(c);
    const float r = 0.1f + 0.9f * t;
    d.x.push_back(r * std::cos(angle) + noise(rng));
    d.x.push_back(r * std::sin(angle) + noise(rng));
    d.label.push_back(c);
  }
  return d;
}

}  // namespace sample
