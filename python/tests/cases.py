"""The ops as actlayer_torch computes them and as PyTorch (or its formula in torch) does, with
the published bounds (README "Accuracy")."""
import math

import torch
import torch.nn.functional as TF

import actlayer_torch.functional as A

DTYPES = (torch.float32, torch.float64, torch.float16, torch.bfloat16)


def f32(v):
    """v rounded to float32, as actlayer's Activation holds its parameters."""
    return float(torch.tensor(v, dtype=torch.float32))


def tail(fn, accurate, below=-3.0):
    """PyTorch's fn, and for x < below a formula without its cancellation: PyTorch's gelu is
    x/2 (1 + erf(x/sqrt 2)), whose 1 + erf loses every digit in float64 by x = -8."""
    return lambda x: torch.where(x >= below, fn(x), accurate(x))


def gelu_erfc(x):
    return 0.5 * x * torch.special.erfc(-x * 0.5**0.5)


def gelu_tanh_sigmoid(x):  # 1 + tanh(u) = 2 sigmoid(2u)
    return x * torch.sigmoid(2 * math.sqrt(2 / math.pi) * (x + 0.044715 * x**3))


EXACT = "exact"  # piecewise linear: bit-exact in float and double, <= 1 ulp in half and bfloat16

# name -> (actlayer's function, PyTorch's with the same float32 parameters, class, kinks)
CASES = {
    "identity": (A.identity, lambda x: x.clone(), EXACT, ()),
    "step": (A.step, lambda x: (x >= 0).to(x.dtype) + 0 * x, EXACT, (0,)),
    "sigmoid": (A.sigmoid, torch.sigmoid, 4, ()),
    "tanh": (A.tanh, torch.tanh, 4, ()),
    "relu": (A.relu, TF.relu, EXACT, (0,)),
    "leaky_relu": (lambda x: A.leaky_relu(x, 0.125), lambda x: TF.leaky_relu(x, 0.125), EXACT,
                   (0,)),
    "rrelu": (lambda x: A.rrelu(x, 0.125, 0.375),
              lambda x: TF.rrelu(x, 0.125, 0.375, training=False), EXACT, (0,)),
    "elu": (lambda x: A.elu(x, 1.5), lambda x: TF.elu(x, 1.5), 4, (0,)),
    "selu": (A.selu, TF.selu, 4, (0,)),
    "celu": (lambda x: A.celu(x, 0.5), lambda x: TF.celu(x, 0.5), 4, (0,)),
    "silu": (A.silu, TF.silu, 4, ()),
    "swish": (lambda x: A.swish(x, 1.5), lambda x: x * torch.sigmoid(1.5 * x), 4, ()),
    "quick_gelu": (A.quick_gelu, lambda x: x * torch.sigmoid(1.702 * x), 4, ()),
    "mish": (A.mish, TF.mish, 4, ()),
    "softplus": (lambda x: A.softplus(x, 2, 10), lambda x: TF.softplus(x, 2, 10), 4, (5,)),
    "logsigmoid": (A.logsigmoid, TF.logsigmoid, 4, ()),
    "softsign": (A.softsign, TF.softsign, 4, ()),
    "tanhshrink": (A.tanhshrink, TF.tanhshrink, 4, ()),
    "gelu": (A.gelu, tail(TF.gelu, gelu_erfc), 4, ()),
    "gelu_tanh": (lambda x: A.gelu(x, approximate="tanh"),
                  tail(lambda x: TF.gelu(x, approximate="tanh"), gelu_tanh_sigmoid), 4, ()),
    "hardsigmoid": (A.hardsigmoid, lambda x: torch.clamp(x * f32(1 / 6) + 0.5, 0, 1), 1,
                    (-3, 3)),
    "hardswish": (A.hardswish, TF.hardswish, 4, (-3, 3)),
    "hardtanh": (lambda x: A.hardtanh(x, -0.5, 2.0), lambda x: TF.hardtanh(x, -0.5, 2.0), EXACT,
                 (-0.5, 2)),
    "softshrink": (lambda x: A.softshrink(x, 0.5), lambda x: TF.softshrink(x, 0.5), EXACT,
                   (-0.5, 0.5)),
    "hardshrink": (lambda x: A.hardshrink(x, 0.5), lambda x: TF.hardshrink(x, 0.5), EXACT,
                   (-0.5, 0.5)),
    "thresholded": (lambda x: A.threshold(x, 0.25, -1.0), lambda x: TF.threshold(x, 0.25, -1.0),
                    EXACT, (0.25,)),
    "squared_relu": (A.squared_relu, lambda x: TF.relu(x) ** 2, 4, (0,)),
}
assert set(CASES) == set(A.OPS), "every op of ACTLAYER_OPS has a case"


def inputs(dtype, n=4001, kinks=(), margin=1e-2, seed=0):
    """n points from -8 to 8 (random and a grid), at least `margin` away from every kink."""
    g = torch.Generator().manual_seed(seed)
    x = torch.cat([torch.randn(n // 2, generator=g, dtype=torch.float64) * 3,
                   torch.linspace(-8, 8, n - n // 2, dtype=torch.float64)])
    for k in kinks:
        near = (x - k).abs() < margin
        x[near] = k + margin * ((x[near] >= k).double() * 2 - 1)
    return x.to(dtype)


def ulp(ref, dtype):
    """The ulp of dtype at each value of ref (float64), the subnormal one below the normals."""
    info = torch.finfo(dtype)
    bits = {torch.float32: 24, torch.float64: 53, torch.float16: 11, torch.bfloat16: 8}[dtype]
    a = ref.abs().clamp_min(info.tiny)
    return torch.exp2(torch.floor(torch.log2(a)) - (bits - 1))


def ulp_error(got, ref, dtype):
    """max |got - ref| in ulp of dtype (ref in float64)."""
    d = (got.double() - ref).abs()
    return float((d / ulp(ref, dtype)).max()) if d.numel() else 0.0
