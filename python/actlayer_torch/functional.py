"""actlayer's ops as autograd functions, with torch.nn.functional's names and arguments.

Every name of torch.nn.functional is re-exported (``from actlayer_torch import functional as F``
keeps ``F.linear``, ``F.cross_entropy``...); the activations below replace PyTorch's.

Conventions that differ from PyTorch's (README "Semantics"; docs/API.md "Python"):

- parameters are float32 (actlayer's ``Activation``), also for float64 tensors: PyTorch uses the
  float64 value there (``negative_slope=0.01`` gives slightly different float64 results; a
  parameter exact in float32, such as 0.125, gives the same);
- the derivative where a flat piece meets a sloped one is the flat side's (0), as PyTorch, except
  hardswish'(-3) = 0 (PyTorch: -1/2);
- a NaN in x gives a NaN gradient in every op (PyTorch's piecewise-linear ops pass dy, or
  slope*dy, through at NaN: relu'(NaN)*dy = dy there);
- silu, mish, swish, quick_gelu at -inf are -0 (PyTorch: NaN); softplus decides beta*z >
  threshold exactly (PyTorch compares the rounded beta*z);
- ``inplace=True`` is accepted and ignored: the result is always a new tensor;
- rrelu in training draws its slopes from a Philox key (seed from torch's default CPU generator,
  so ``torch.manual_seed`` makes them reproducible, the same on the CPU and a GPU) and draws them
  again in backward: no noise tensor is saved;
- the backward passes are once differentiable (no double backward).
"""
import torch
from torch.autograd.function import once_differentiable
from torch.nn.functional import *  # noqa: F401,F403  (what is not an activation stays PyTorch's)

_ops = torch.ops.actlayer

# The Activation fields the operators take, in order (actlayer_torch.cpp's `fields`), with
# actlayer's defaults (PyTorch's where PyTorch has the op).
FIELDS = {
    "slope": 0.01, "divisor": 0.0, "lower": 1.0 / 8, "upper": 1.0 / 3, "alpha": 1.0,
    "beta": 1.0, "threshold": 20.0, "value": 0.0, "lo": -1.0, "hi": 1.0, "lambd": 0.5,
    "hard_slope": 1.0 / 6, "hard_offset": 0.5,
}


def params(**fields):
    """The operators' parameter list: FIELDS' defaults, overridden by ``fields``."""
    unknown = set(fields) - set(FIELDS)
    if unknown:
        raise TypeError(f"actlayer_torch: unknown activation parameters {sorted(unknown)}")
    return [float(fields.get(name, default)) for name, default in FIELDS.items()]


class _Activation(torch.autograd.Function):
    """y = f(x); dx = dy * f'(x) from the saved x (rrelu: the same key draws the same slopes)."""

    @staticmethod
    def forward(ctx, x, op, p, key):
        ctx.save_for_backward(x)
        ctx.args = (op, p, key)
        return _ops.forward(x, op, p, key)

    @staticmethod
    @once_differentiable
    def backward(ctx, dy):
        (x,) = ctx.saved_tensors
        return _ops.backward(x, dy, *ctx.args), None, None, None


def activation(x, op, key=(), **fields):
    """actlayer's op named ``op`` ("gelu_tanh", as in ACTLAYER_OPS) with its parameters."""
    return _Activation.apply(x, op, params(**fields), list(key))


def _unary(op, doc):
    def f(input, inplace=False):
        return activation(input, op)
    f.__name__ = f.__qualname__ = op
    f.__doc__ = doc + " (``inplace`` is ignored: the result is a new tensor.)"
    return f


identity = _unary("identity", "y = x")
step = _unary("step", "y = 1 if x >= 0, else 0 (gradient 0)")
sigmoid = _unary("sigmoid", "y = 1 / (1 + e^-x)")
tanh = _unary("tanh", "y = tanh x")
relu = _unary("relu", "y = x if x > 0, else +0")
selu = _unary("selu", "y = lambda * elu(x, alpha), PyTorch's lambda and alpha")
silu = _unary("silu", "y = x * sigmoid(x)")
quick_gelu = _unary("quick_gelu", "y = x * sigmoid(1.702 x)")
mish = _unary("mish", "y = x * tanh(softplus(x))")
logsigmoid = _unary("logsigmoid", "y = log sigmoid(x)")
softsign = _unary("softsign", "y = x / (1 + |x|)")
tanhshrink = _unary("tanhshrink", "y = x - tanh x")
gelu_tanh = _unary("gelu_tanh", "y = x/2 (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))")
hardswish = _unary("hardswish", "y = x * max(0, min(1, x/6 + 1/2))")
squared_relu = _unary("squared_relu", "y = max(0, x)^2")


def leaky_relu(input, negative_slope=0.01, inplace=False):
    """y = x if x >= 0, else negative_slope * x."""
    return activation(input, "leaky_relu", slope=negative_slope)


def leaky_relu_divisor(input, divisor):
    """The course's form: y = x if x >= 0, else x / divisor (divisor > 1)."""
    return activation(input, "leaky_relu", divisor=divisor)


def rrelu(input, lower=1.0 / 8, upper=1.0 / 3, training=False, inplace=False, seed=None):
    """Randomized leaky ReLU. In training, slope r ~ U[lower, upper] per element from a Philox
    key (``seed``, offset 0); ``seed=None`` draws a fresh one from torch's default generator.
    In eval, the slope is (lower + upper) / 2, as torch.nn.functional.rrelu."""
    if not training:
        return activation(input, "rrelu", lower=lower, upper=upper)
    if seed is None:
        seed = int(torch.randint(0, 2**63 - 1, (), dtype=torch.int64))
    return activation(input, "rrelu", key=(seed, 0), lower=lower, upper=upper)


def elu(input, alpha=1.0, inplace=False):
    """y = x if x >= 0, else alpha (e^x - 1)."""
    return activation(input, "elu", alpha=alpha)


def celu(input, alpha=1.0, inplace=False):
    """y = max(0, x) + min(0, alpha (e^(x/alpha) - 1))."""
    return activation(input, "celu", alpha=alpha)


def swish(input, beta=1.0):
    """y = x * sigmoid(beta x)."""
    return activation(input, "swish", beta=beta)


def softplus(input, beta=1, threshold=20):
    """y = log(1 + e^(beta x)) / beta, or x where beta x > threshold."""
    return activation(input, "softplus", beta=beta, threshold=threshold)


def gelu(input, approximate="none"):
    """y = x Phi(x); approximate='tanh': the tanh form."""
    if approximate not in ("none", "tanh"):
        raise ValueError(f"gelu: approximate must be 'none' or 'tanh', got {approximate!r}")
    return activation(input, "gelu" if approximate == "none" else "gelu_tanh")


def hardsigmoid(input, inplace=False, slope=1.0 / 6, offset=0.5):
    """y = max(0, min(1, slope x + offset)) (PyTorch's 1/6 and 1/2; ONNX: 0.2, 0.5)."""
    return activation(input, "hardsigmoid", hard_slope=slope, hard_offset=offset)


def hardtanh(input, min_val=-1.0, max_val=1.0, inplace=False):
    """y = min(max(x, min_val), max_val)."""
    return activation(input, "hardtanh", lo=min_val, hi=max_val)


def relu6(input, inplace=False):
    """y = min(max(x, 0), 6)."""
    return hardtanh(input, 0.0, 6.0)


def softshrink(input, lambd=0.5):
    """y = x - lambd if x > lambd, x + lambd if x < -lambd, else 0."""
    return activation(input, "softshrink", lambd=lambd)


def hardshrink(input, lambd=0.5):
    """y = x if |x| > lambd, else 0."""
    return activation(input, "hardshrink", lambd=lambd)


def threshold(input, threshold, value, inplace=False):
    """y = x if x > threshold, else value (actlayer's thresholded)."""
    return activation(input, "thresholded", threshold=threshold, value=value)


thresholded = threshold


class _PRelu(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x, weight):
        ctx.save_for_backward(x, weight)
        return _ops.prelu_forward(x, weight)

    @staticmethod
    @once_differentiable
    def backward(ctx, dy):
        x, weight = ctx.saved_tensors
        dx, dweight = _ops.prelu_backward(x, weight, dy)
        return dx, dweight


def prelu(input, weight):
    """y = x if x > 0, else weight[c] x, c the index along dim 1 (one weight: all of x). The
    weight's gradient is summed in an order fixed by the shape: bitwise the same every run. The
    weight is used in float32 for float32, float16 and bfloat16 input (fp32 master slopes) and
    in float64 for float64: another dtype is cast (and its gradient cast back)."""
    compute = torch.float64 if input.dtype == torch.float64 else torch.float32
    if weight.dtype in (torch.float16, torch.bfloat16, torch.float32, torch.float64):
        weight = weight.to(compute)
    return _PRelu.apply(input, weight)


class _Gated(torch.autograd.Function):
    """y = g(a') * (b' + linear_offset) over x's last dim packing a and b; dx holds da and db."""

    @staticmethod
    def forward(ctx, x, args):
        ctx.save_for_backward(x)
        ctx.args = args
        return _ops.gated_forward(x, *args)

    @staticmethod
    @once_differentiable
    def backward(ctx, dy):
        (x,) = ctx.saved_tensors
        return _ops.gated_backward(x, dy, *ctx.args), None


def gated(input, activation="silu", layout="gate_first", limit=float("inf"), linear_offset=0.0,
          **fields):
    """y = g(a') * (b' + linear_offset) with g actlayer's op ``activation`` (its parameters as
    ``fields``), a and b the halves of the last dim: [a | b] for layout 'gate_first', [b | a]
    for 'gate_second' (F.glu's); a' = min(a, limit), b' = clamp(b, -limit, limit) (inf: none).
    The result's last dim is half the input's."""
    args = (activation, params(**fields), layout, float(limit), float(linear_offset))
    return _Gated.apply(input, args)


def glu(input, dim=-1):
    """torch.nn.functional.glu: y = a * sigmoid(b), [a | b] the halves of the last dim (only
    dim=-1, or its non-negative index, is supported)."""
    if dim not in (-1, input.dim() - 1):
        raise ValueError(f"glu: actlayer_torch supports only dim=-1 (the last dim), got dim={dim}"
                         f" for input of {input.dim()} dimensions")
    return gated(input, "sigmoid", layout="gate_second")


def swiglu(input):
    """y = silu(a) * b, [a | b] the halves of the last dim (LLaMA's fused gate_up order)."""
    return gated(input, "silu")


def geglu(input, approximate="none"):
    """y = gelu(a) * b, [a | b] the halves of the last dim; approximate='tanh': the tanh gelu."""
    if approximate not in ("none", "tanh"):
        raise ValueError(f"geglu: approximate must be 'none' or 'tanh', got {approximate!r}")
    return gated(input, "gelu" if approximate == "none" else "gelu_tanh")


def reglu(input):
    """y = relu(a) * b, [a | b] the halves of the last dim."""
    return gated(input, "relu")


def clamped_swiglu(input, limit=7.0, alpha=1.702):
    """GPT-OSS's: a' = min(a, limit), b' = clamp(b, -limit, limit), y = a' sigmoid(alpha a')
    (b' + 1), [a | b] the halves of the last dim (de-interleaved)."""
    return gated(input, "swish", limit=limit, linear_offset=1.0, beta=alpha)


class _BiasAct(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x, bias, op, p):
        ctx.save_for_backward(x, bias)
        ctx.args = (op, p)
        return _ops.bias_act_forward(x, bias, op, p)

    @staticmethod
    @once_differentiable
    def backward(ctx, dy):
        x, bias = ctx.saved_tensors
        dx, dbias = _ops.bias_act_backward(x, bias, dy, *ctx.args)
        return dx, dbias, None, None


def bias_act(input, bias, activation="relu", **fields):
    """y = f(x + bias[c]) in one pass, f actlayer's op ``activation`` (its parameters as
    ``fields``), c the index along dim 1 (a 2-d input: its features, as a Linear's output).
    The bias is used in float32 for float32, float16 and bfloat16 input and in float64 for
    float64 (another float dtype is cast, and its gradient cast back); its gradient is summed
    in an order fixed by the shape: bitwise the same every run."""
    compute = torch.float64 if input.dtype == torch.float64 else torch.float32
    if bias.dtype in (torch.float16, torch.bfloat16, torch.float32, torch.float64):
        bias = bias.to(compute)
    return _BiasAct.apply(input, bias, activation, params(**fields))


# Every actlayer op (include/actlayer/activation.hpp's ACTLAYER_OPS) has a function here.
OPS = ("identity", "step", "sigmoid", "tanh", "relu", "leaky_relu", "rrelu", "elu", "selu",
       "celu", "silu", "swish", "quick_gelu", "mish", "softplus", "logsigmoid", "softsign",
       "tanhshrink", "gelu", "gelu_tanh", "hardsigmoid", "hardswish", "hardtanh", "softshrink",
       "hardshrink", "thresholded", "squared_relu")
