// The exponential family's traps (elu ... tanhshrink), each at explicit inputs against values
// computed to 400 bits (mpmath) and rounded once: the reference must match them exactly, the
// ops.cuh functors within the accuracy contract (docs/design.md §4), in double and float.
//   - near 0: elu, selu, celu (expm1, not exp - 1), tanhshrink (the series, not z - tanh z),
//     softsign, the output forms next to 0 and next to the saturation -alpha (y + alpha);
//   - softplus and logsigmoid in both tails (log1p, the linear region, -e^-z with its
//     relative accuracy, subnormal results);
//   - the roots of silu' and mish' (relative accuracy next to them);
//   - the saturated tails of the derivatives with a large dy (no subnormal e^z formed);
//   - arguments that round: beta*z (softplus, swish), z/alpha (celu), 1.702*z (quick_gelu).
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <string>

#include "actlayer/reference.hpp"
#include "common/cases.hpp"
#include "common/functors.hpp"
#include "common/numeric.hpp"

namespace actlayer::testing {
namespace {

struct Trap {
  const char* what;
  Activation act;
  Pass pass;
  bool is_double;  // else float
  double in;       // x, or y for the output form
  double dy;
  double want;  // correctly rounded (400-bit mpmath)
};

const Trap kTraps[] = {
    {"elu near 0 (expm1)", Activation::elu(), Pass::forward, true, -0x1.0000000000000p-33,
     0x1.0000000000000p+0, -0x1.ffffffff80000p-34},
    {"elu near 0 (expm1)", Activation::elu(), Pass::forward, false, -0x1.0000000000000p-33,
     0x1.0000000000000p+0, -0x1.0000000000000p-33},
    {"elu near 0 (expm1)", Activation::elu(), Pass::forward, true, -0x1.56e1fc2f8f359p-997,
     0x1.0000000000000p+0, -0x1.56e1fc2f8f359p-997},
    {"elu(0.5) near 0", Activation::elu(0.5f), Pass::forward, true, -0x1.0000000000000p-20,
     0x1.0000000000000p+0, -0x1.fffff00000555p-22},
    {"elu(0.5) near 0", Activation::elu(0.5f), Pass::forward, false, -0x1.0000000000000p-20,
     0x1.0000000000000p+0, -0x1.fffff00000000p-22},
    {"elu'(0) = alpha (left branch)", Activation::elu(0.5f), Pass::backward, true, 0x0.0p+0,
     0x1.8000000000000p+1, 0x1.8000000000000p+0},
    {"elu'(0) = alpha (left branch)", Activation::elu(0.5f), Pass::backward, false, 0x0.0p+0,
     0x1.8000000000000p+1, 0x1.8000000000000p+0},
    {"elu from y near 0", Activation::elu(), Pass::backward_from_output, true,
     -0x1.ffffffff80000p-34, 0x1.8000000000000p+1, 0x1.7fffffff40000p+1},
    {"elu from y near 0", Activation::elu(), Pass::backward_from_output, false,
     -0x1.0000000000000p-33, 0x1.8000000000000p+1, 0x1.8000000000000p+1},
    {"elu from y next to -alpha", Activation::elu(), Pass::backward_from_output, true,
     -0x1.ffffffffffcb5p-1, 0x1.0000000000000p+0, 0x1.a580000000000p-44},
    {"elu from y next to -alpha", Activation::elu(), Pass::backward_from_output, false,
     -0x1.0000000000000p+0, 0x1.0000000000000p+0, 0x0.0p+0},
    {"selu near 0 (expm1)", Activation::selu(), Pass::forward, true, -0x1.0000000000000p-40,
     0x1.0000000000000p+0, -0x1.c212cc640e220p-40},
    {"selu near 0 (expm1)", Activation::selu(), Pass::forward, false, -0x1.0000000000000p-40,
     0x1.0000000000000p+0, -0x1.c212cc0000000p-40},
    {"selu", Activation::selu(), Pass::forward, true, -0x1.8000000000000p+1, 0x1.0000000000000p+0,
     -0x1.abaa6467c6691p+0},
    {"selu", Activation::selu(), Pass::forward, false, -0x1.8000000000000p+1, 0x1.0000000000000p+0,
     -0x1.abaa640000000p+0},
    {"selu", Activation::selu(), Pass::forward, true, 0x1.4000000000000p+1, 0x1.0000000000000p+0,
     0x1.50396cc53557fp+1},
    {"selu", Activation::selu(), Pass::forward, false, 0x1.4000000000000p+1, 0x1.0000000000000p+0,
     0x1.50396c0000000p+1},
    {"selu'", Activation::selu(), Pass::backward, true, -0x1.8000000000000p+1, 0x1.0000000000000p+0,
     0x1.66867fc489a06p-4},
    {"selu'", Activation::selu(), Pass::backward, false, -0x1.8000000000000p+1,
     0x1.0000000000000p+0, 0x1.6686800000000p-4},
    {"selu from y next to -lambda*alpha", Activation::selu(), Pass::backward_from_output, true,
     -0x1.c212cc640ed4cp+0, 0x1.0000000000000p+0, 0x1.728828b0d822dp-43},
    {"selu from y next to -lambda*alpha", Activation::selu(), Pass::backward_from_output, false,
     -0x1.c212cc0000000p+0, 0x1.0000000000000p+0, 0x1.903c0c0000000p-26},
    {"celu(0.3) near 0 (expm1)", Activation::celu(0.3f), Pass::forward, true,
     -0x1.0000000000000p-30, 0x1.0000000000000p+0, -0x1.fffffff2aaaabp-31},
    {"celu(0.3) near 0 (expm1)", Activation::celu(0.3f), Pass::forward, false,
     -0x1.0000000000000p-30, 0x1.0000000000000p+0, -0x1.0000000000000p-30},
    {"celu(-1.5) far left (z/alpha rounded)", Activation::celu(-1.5f), Pass::forward, true,
     -0x1.f400000000000p+9, 0x1.0000000000000p+0, -0x1.4d86b72d2dea4p+962},
    {"celu(-1.5) far left (z/alpha rounded)", Activation::celu(-1.5f), Pass::forward, false,
     -0x1.f400000000000p+9, 0x1.0000000000000p+0, -HUGE_VAL},
    {"celu(0.3)' far left", Activation::celu(0.3f), Pass::backward, true, -0x1.a400000000000p+7,
     0x1.7e43c8800759cp+996, 0x1.9d8e6a6213a59p-14},
    {"celu(-1.5) from y", Activation::celu(-1.5f), Pass::backward_from_output, true,
     -0x1.c4395e177f0c5p+19, 0x1.0000000000000p+0, 0x1.2d7bb40faa083p+19},
    {"celu(-1.5) from y", Activation::celu(-1.5f), Pass::backward_from_output, false,
     -0x1.c4395e0000000p+19, 0x1.0000000000000p+0, 0x1.2d7bb40000000p+19},
    {"softplus left tail", Activation::softplus(), Pass::forward, true, -0x1.5e00000000000p+9,
     0x1.0000000000000p+0, 0x1.14f2b0fb9307fp-1010},
    {"softplus left tail", Activation::softplus(), Pass::forward, false, -0x1.5e00000000000p+9,
     0x1.0000000000000p+0, 0x0.0p+0},
    {"softplus subnormal", Activation::softplus(), Pass::forward, true, -0x1.7200000000000p+9,
     0x1.0000000000000p+0, 0x0.0000000000055p-1022},
    {"softplus left tail (float)", Activation::softplus(), Pass::forward, true,
     -0x1.6800000000000p+6, 0x1.0000000000000p+0, 0x1.1d8508fa8246ap-130},
    {"softplus left tail (float)", Activation::softplus(), Pass::forward, false,
     -0x1.6800000000000p+6, 0x1.0000000000000p+0, 0x1.1d85000000000p-130},
    {"softplus at the threshold: log region", Activation::softplus(), Pass::forward, true,
     0x1.4000000000000p+4, 0x1.0000000000000p+0, 0x1.400000008da43p+4},
    {"softplus at the threshold: log region", Activation::softplus(), Pass::forward, false,
     0x1.4000000000000p+4, 0x1.0000000000000p+0, 0x1.4000000000000p+4},
    {"softplus above the threshold: z", Activation::softplus(), Pass::forward, true,
     0x1.4800000000000p+4, 0x1.0000000000000p+0, 0x1.4800000000000p+4},
    {"softplus above the threshold: z", Activation::softplus(), Pass::forward, false,
     0x1.4800000000000p+4, 0x1.0000000000000p+0, 0x1.4800000000000p+4},
    {"softplus near the threshold", Activation::softplus(), Pass::forward, true,
     0x1.e000000000000p+3, 0x1.0000000000000p+0, 0x1.e00000a43ae37p+3},
    {"softplus near the threshold", Activation::softplus(), Pass::forward, false,
     0x1.e000000000000p+3, 0x1.0000000000000p+0, 0x1.e000000000000p+3},
    {"softplus' at the threshold: sigma(20)", Activation::softplus(), Pass::backward, true,
     0x1.4000000000000p+4, 0x1.0000000000000p+0, 0x1.ffffffee4b79bp-1},
    {"softplus' at the threshold: sigma(20)", Activation::softplus(), Pass::backward, false,
     0x1.4000000000000p+4, 0x1.0000000000000p+0, 0x1.0000000000000p+0},
    {"softplus' left tail, large dy", Activation::softplus(), Pass::backward, true,
     -0x1.7200000000000p+9, 0x1.7e43c8800759cp+996, 0x1.fa633865074dcp-72},
    {"softplus from y near 0 (expm1)", Activation::softplus(), Pass::backward_from_output, true,
     0x1.39792499b1a24p-58, 0x1.0000000000000p+0, 0x1.39792499b1a24p-58},
    {"softplus from y near 0 (expm1)", Activation::softplus(), Pass::backward_from_output, false,
     0x1.3979240000000p-58, 0x1.0000000000000p+0, 0x1.3979240000000p-58},
    {"softplus(0.3) beta*z rounded", Activation::softplus(0.3f, 25.0f), Pass::forward, true,
     -0x1.f400000000000p+10, 0x1.0000000000000p+0, 0x1.162fa54913489p-864},
    {"softplus(0.3) beta*z rounded", Activation::softplus(0.3f, 25.0f), Pass::forward, false,
     -0x1.f400000000000p+10, 0x1.0000000000000p+0, 0x0.0p+0},
    {"softplus(0.3)' beta*z rounded", Activation::softplus(0.3f, 25.0f), Pass::backward, true,
     -0x1.f400000000000p+10, 0x1.0000000000000p+0, 0x1.4dd2c7363d41bp-866},
    {"softplus(0.3)' beta*z rounded", Activation::softplus(0.3f, 25.0f), Pass::backward, false,
     -0x1.f400000000000p+10, 0x1.0000000000000p+0, 0x0.0p+0},
    {"logsigmoid right tail (-e^-z)", Activation::logsigmoid(), Pass::forward, true,
     0x1.4000000000000p+5, 0x1.0000000000000p+0, -0x1.39792499b1a24p-58},
    {"logsigmoid right tail (-e^-z)", Activation::logsigmoid(), Pass::forward, false,
     0x1.4000000000000p+5, 0x1.0000000000000p+0, -0x1.3979240000000p-58},
    {"logsigmoid right tail, subnormal", Activation::logsigmoid(), Pass::forward, true,
     0x1.6300000000000p+9, 0x1.0000000000000p+0, -0x0.33802fd28b3c3p-1022},
    {"logsigmoid right tail (float)", Activation::logsigmoid(), Pass::forward, true,
     0x1.6800000000000p+6, 0x1.0000000000000p+0, -0x1.1d8508fa8246ap-130},
    {"logsigmoid right tail (float)", Activation::logsigmoid(), Pass::forward, false,
     0x1.6800000000000p+6, 0x1.0000000000000p+0, -0x1.1d85000000000p-130},
    {"logsigmoid left tail (z)", Activation::logsigmoid(), Pass::forward, true,
     -0x1.e000000000000p+4, 0x1.0000000000000p+0, -0x1.e00000000001ap+4},
    {"logsigmoid left tail (z)", Activation::logsigmoid(), Pass::forward, false,
     -0x1.e000000000000p+4, 0x1.0000000000000p+0, -0x1.e000000000000p+4},
    {"logsigmoid left tail", Activation::logsigmoid(), Pass::forward, true, -0x1.86a0000000000p+16,
     0x1.0000000000000p+0, -0x1.86a0000000000p+16},
    {"logsigmoid left tail", Activation::logsigmoid(), Pass::forward, false, -0x1.86a0000000000p+16,
     0x1.0000000000000p+0, -0x1.86a0000000000p+16},
    {"logsigmoid' right tail, large dy", Activation::logsigmoid(), Pass::backward, true,
     0x1.6800000000000p+9, 0x1.7e43c8800759cp+996, 0x1.c99e21357581ep-43},
    {"logsigmoid from y near 0", Activation::logsigmoid(), Pass::backward_from_output, true,
     -0x1.39792499b1a24p-58, 0x1.0000000000000p+0, 0x1.39792499b1a24p-58},
    {"logsigmoid from y near 0", Activation::logsigmoid(), Pass::backward_from_output, false,
     -0x1.3979240000000p-58, 0x1.0000000000000p+0, 0x1.3979240000000p-58},
    {"mish' next to its root", Activation::mish(), Pass::backward, true, -0x1.31432c0d12d84p+0,
     0x1.0000000000000p+0, 0x1.dd827678b94bap-57},
    {"mish' next to its root", Activation::mish(), Pass::backward, false, -0x1.31432c0000000p+0,
     0x1.0000000000000p+0, 0x1.beb7740000000p-31},
    {"mish'", Activation::mish(), Pass::backward, true, -0x1.0000000000000p-1, 0x1.0000000000000p+0,
     0x1.28757cb5ece05p-2},
    {"mish'", Activation::mish(), Pass::backward, false, -0x1.0000000000000p-1,
     0x1.0000000000000p+0, 0x1.28757c0000000p-2},
    {"mish'", Activation::mish(), Pass::backward, true, 0x1.8000000000000p+1, 0x1.0000000000000p+0,
     0x1.05674334295b1p+0},
    {"mish'", Activation::mish(), Pass::backward, false, 0x1.8000000000000p+1, 0x1.0000000000000p+0,
     0x1.0567440000000p+0},
    {"mish' left tail, large dy", Activation::mish(), Pass::backward, true, -0x1.6800000000000p+9,
     0x1.7e43c8800759cp+996, -0x1.4150c7d14941fp-33},
    {"mish left tail", Activation::mish(), Pass::forward, true, -0x1.6800000000000p+9,
     0x1.0000000000000p+0, -0x0.01aef6cac6366p-1022},
    {"mish", Activation::mish(), Pass::forward, true, -0x1.4000000000000p+0, 0x1.0000000000000p+0,
     -0x1.3bd0de92ee42bp-2},
    {"mish", Activation::mish(), Pass::forward, false, -0x1.4000000000000p+0, 0x1.0000000000000p+0,
     -0x1.3bd0de0000000p-2},
    {"silu' next to its root", Activation::silu(), Pass::backward, true, -0x1.474973c84120bp+0,
     0x1.0000000000000p+0, 0x1.b7d7537967aa7p-56},
    {"silu' next to its root", Activation::silu(), Pass::backward, false, -0x1.4749740000000p+0,
     0x1.0000000000000p+0, -0x1.848b9e0000000p-29},
    {"silu' left tail, large dy", Activation::silu(), Pass::backward, true, -0x1.6800000000000p+9,
     0x1.7e43c8800759cp+996, -0x1.4150c7d14941fp-33},
    {"silu' right tail", Activation::silu(), Pass::backward, true, 0x1.4000000000000p+5,
     0x1.0000000000000p+0, 0x1.0000000000001p+0},
    {"silu' right tail", Activation::silu(), Pass::backward, false, 0x1.4000000000000p+5,
     0x1.0000000000000p+0, 0x1.0000000000000p+0},
    {"silu' left", Activation::silu(), Pass::backward, true, -0x1.e000000000000p+4,
     0x1.0000000000000p+0, -0x1.7debbb06c4e83p-39},
    {"silu' left", Activation::silu(), Pass::backward, false, -0x1.e000000000000p+4,
     0x1.0000000000000p+0, -0x1.7debbc0000000p-39},
    {"silu left tail", Activation::silu(), Pass::forward, true, -0x1.6800000000000p+9,
     0x1.0000000000000p+0, -0x0.01aef6cac6366p-1022},
    {"swish(1.5)' left tail, large dy", Activation::swish(1.5f), Pass::backward, true,
     -0x1.e000000000000p+8, 0x1.7e43c8800759cp+996, -0x1.4150c7d14941fp-33},
    {"swish(-0.3) beta*z rounded", Activation::swish(-0.3f), Pass::forward, true,
     0x1.f400000000000p+10, 0x1.0000000000000p+0, 0x1.45ffd68af7d22p-855},
    {"swish(-0.3)' beta*z rounded", Activation::swish(-0.3f), Pass::backward, true,
     0x1.f400000000000p+10, 0x1.0000000000000p+0, -0x1.868c1914c1560p-857},
    {"quick_gelu: 1.702 exactly", Activation::quick_gelu(), Pass::forward, true,
     -0x1.9000000000000p+8, 0x1.0000000000000p+0, -0x1.5f6cc2333c43ap-974},
    {"quick_gelu': 1.702 exactly", Activation::quick_gelu(), Pass::backward, true,
     -0x1.9000000000000p+8, 0x1.0000000000000p+0, -0x1.2a9f8db9becb2p-973},
    {"quick_gelu'", Activation::quick_gelu(), Pass::backward, true, -0x1.8000000000000p-1,
     0x1.0000000000000p+0, 0x1.c1479bf4d9723p-12},
    {"quick_gelu'", Activation::quick_gelu(), Pass::backward, false, -0x1.8000000000000p-1,
     0x1.0000000000000p+0, 0x1.c1479c0000000p-12},
    {"softsign near 0", Activation::softsign(), Pass::forward, true, 0x1.0000000000000p-30,
     0x1.0000000000000p+0, 0x1.fffffff800000p-31},
    {"softsign near 0", Activation::softsign(), Pass::forward, false, 0x1.0000000000000p-30,
     0x1.0000000000000p+0, 0x1.0000000000000p-30},
    {"softsign", Activation::softsign(), Pass::forward, true, -0x1.8000000000000p+1,
     0x1.0000000000000p+0, -0x1.8000000000000p-1},
    {"softsign", Activation::softsign(), Pass::forward, false, -0x1.8000000000000p+1,
     0x1.0000000000000p+0, -0x1.8000000000000p-1},
    {"softsign' large z", Activation::softsign(), Pass::backward, true, 0x1.4e718d7d7625ap+664,
     0x1.249ad2594c37dp+332, 0x1.56e1fc2f8f359p-997},
    {"softsign from y near 1", Activation::softsign(), Pass::backward_from_output, true,
     0x1.ffffde7212f18p-1, 0x1.0000000000000p+0, 0x1.1979732e9f367p-40},
    {"softsign from y near 1", Activation::softsign(), Pass::backward_from_output, false,
     0x1.ffffde0000000p-1, 0x1.0000000000000p+0, 0x1.2100000000000p-40},
    {"tanhshrink near 0 (series)", Activation::tanhshrink(), Pass::forward, true,
     0x1.4f8b588e368f1p-17, 0x1.0000000000000p+0, 0x1.804ea29305269p-52},
    {"tanhshrink near 0 (series)", Activation::tanhshrink(), Pass::forward, true,
     0x1.0000000000000p-17, 0x1.0000000000000p+0, 0x1.5555555533333p-53},
    {"tanhshrink near 0 (series)", Activation::tanhshrink(), Pass::forward, false,
     0x1.0000000000000p-17, 0x1.0000000000000p+0, 0x1.5555560000000p-53},
    {"tanhshrink near 0", Activation::tanhshrink(), Pass::forward, true, -0x1.bff2ee48e0530p-333,
     0x1.0000000000000p+0, -0x1.c92d503f699ccp-999},
    {"tanhshrink", Activation::tanhshrink(), Pass::forward, true, 0x1.0000000000000p-1,
     0x1.0000000000000p+0, 0x1.36561454ba865p-5},
    {"tanhshrink", Activation::tanhshrink(), Pass::forward, false, 0x1.0000000000000p-1,
     0x1.0000000000000p+0, 0x1.3656140000000p-5},
    {"tanhshrink", Activation::tanhshrink(), Pass::forward, true, -0x1.ffc0000000000p+0,
     0x1.0000000000000p+0, -0x1.08fa03b15062dp+0},
    {"tanhshrink", Activation::tanhshrink(), Pass::forward, false, -0x1.ffc0000000000p+0,
     0x1.0000000000000p+0, -0x1.08fa040000000p+0},
    {"tanhshrink", Activation::tanhshrink(), Pass::forward, true, 0x1.0000000000000p+1,
     0x1.0000000000000p+0, 0x1.09357d0f21e16p+0},
    {"tanhshrink", Activation::tanhshrink(), Pass::forward, false, 0x1.0000000000000p+1,
     0x1.0000000000000p+0, 0x1.09357e0000000p+0},
    {"tanhshrink' near 0", Activation::tanhshrink(), Pass::backward, true, 0x1.3529ba7d19eafp-565,
     0x1.7e43c8800759cp+996, 0x1.16c262777579cp-133},
    {"tanhshrink'", Activation::tanhshrink(), Pass::backward, true, -0x1.8000000000000p-1,
     0x1.0000000000000p+0, 0x1.9d189c20b2216p-2},
    {"tanhshrink'", Activation::tanhshrink(), Pass::backward, false, -0x1.8000000000000p-1,
     0x1.0000000000000p+0, 0x1.9d189c0000000p-2},
    {"celu(-1.5) far left, e^(z/alpha) near overflow", Activation::celu(-1.5f), Pass::forward, true,
     -0x1.0900000000000p+10, 0x1.0000000000000p+0, -0x1.10605dcd1982ep+1020},
    {"celu(-0.5): e^(z/alpha) overflows, alpha e^(z/alpha) does not", Activation::celu(-0.5f),
     Pass::forward, true, -0x1.6300000000000p+8, 0x1.0000000000000p+0, -0x1.3e21a464507f9p+1023},
    {"celu(-0.5)': dy e^(z/alpha) finite", Activation::celu(-0.5f), Pass::backward, true,
     -0x1.6300000000000p+8, 0x1.0000000000000p-2, 0x1.3e21a464507f9p+1022},
    {"elu' with a large dy on the far left", Activation::elu(), Pass::backward, true,
     -0x1.7480000000000p+9, 0x1.7e43c8800759cp+996, 0x1.b4bcd4c7c1a74p-79},
    {"selu' with a large dy on the far left", Activation::selu(), Pass::backward, true,
     -0x1.7480000000000p+9, 0x1.7e43c8800759cp+996, 0x1.7fe9ffffa2b11p-78},
};

template <class T>
T reference_result(const Activation& act, Pass pass, T in, T dy) {
  T out = T(-12345);
  Status s = Status::success;
  switch (pass) {
    case Pass::forward:
      s = reference::forward(act, &in, &out, 1);
      break;
    case Pass::backward:
      s = reference::backward(act, &in, &dy, &out, 1);
      break;
    case Pass::backward_from_output:
      s = reference::backward_from_output(act, &in, &dy, &out, 1);
      break;
  }
  EXPECT_EQ(s, Status::success) << last_error();
  return out;
}

template <class T>
T functor_result(const Activation& act, Pass pass, T in, T dy) {
  T out = T(-12345);
  ops::visit(act, [&](auto, auto op) {
    switch (pass) {
      case Pass::forward:
        out = host_forward(op, in);
        break;
      case Pass::backward:
        out = host_backward(op, in, dy);
        break;
      case Pass::backward_from_output:
        out = host_backward_from_output(op, in, dy);
        break;
    }
  });
  return out;
}

template <class T>
void check(const Trap& t) {
  const T in = static_cast<T>(t.in), dy = static_cast<T>(t.dy), want = static_cast<T>(t.want);
  const T ref = reference_result(t.act, t.pass, in, dy);
  const T fun = functor_result(t.act, t.pass, in, dy);
  const OpCase c = op_case(t.what, t.act);
  const std::uint64_t bound = ulp_bound<T>(c, t.pass);
  SCOPED_TRACE(::testing::Message() << type_name<T>() << " " << t.what << " (" << to_string(t.pass)
                                    << ") in = " << show(in) << " dy = " << show(dy));
  EXPECT_TRUE(same(ref, want)) << "reference: got " << show(ref) << ", want " << show(want);
  EXPECT_LE(ulp_distance(fun, want), bound)
      << "ops.cuh: got " << show(fun) << ", want " << show(want);
}

TEST(ExpFamily, TrapsMatchCorrectlyRoundedValues) {
  for (const Trap& t : kTraps) {
    if (t.is_double) {
      check<double>(t);
    } else {
      check<float>(t);
    }
  }
}

}  // namespace
}  // namespace actlayer::testing
