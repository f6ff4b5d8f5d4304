"""torch.nn with actlayer's activation modules.

``from actlayer_torch import nn`` in place of ``from torch import nn``: every other name is
torch.nn's own. Each activation module here subclasses torch.nn's module of the same name (the
same constructor, defaults, parameters, state_dict keys and repr) and runs actlayer's op in its
forward; ``inplace=True`` is accepted and ignored. Modules for actlayer's ops that torch.nn lacks:
Step, Swish, QuickGELU, SquaredReLU; the gated SwiGLU (GLU is torch.nn's) and the bias-fused
BiasAct.
"""
import torch
from torch.nn import *  # noqa: F401,F403

from . import functional as F


def _module(base, forward, name=None, doc=None):
    """A subclass of `base` (its constructor, parameters and repr) whose forward is
    forward(self, input)."""
    name = name or base.__name__
    cls = type(name, (base,), {"forward": forward, "__module__": __name__, "__qualname__": name})
    cls.__doc__ = doc or base.__doc__
    return cls


ReLU = _module(torch.nn.ReLU, lambda self, x: F.relu(x))
LeakyReLU = _module(torch.nn.LeakyReLU, lambda self, x: F.leaky_relu(x, self.negative_slope))
PReLU = _module(torch.nn.PReLU, lambda self, x: F.prelu(x, self.weight), doc="""\
torch.nn.PReLU(num_parameters=1, init=0.25): slopes along dim 1, dweight summed in an order
fixed by the shape (the same bits every run).""")
RReLU = _module(torch.nn.RReLU, lambda self, x: F.rrelu(x, self.lower, self.upper, self.training),
                doc="""torch.nn.RReLU(lower=1/8, upper=1/3): random slopes in training (a fresh
key every call, drawn again in backward), (lower + upper) / 2 in eval.""")
ELU = _module(torch.nn.ELU, lambda self, x: F.elu(x, self.alpha))
CELU = _module(torch.nn.CELU, lambda self, x: F.celu(x, self.alpha))
GELU = _module(torch.nn.GELU, lambda self, x: F.gelu(x, self.approximate))
Softplus = _module(torch.nn.Softplus, lambda self, x: F.softplus(x, self.beta, self.threshold))
Hardtanh = _module(torch.nn.Hardtanh, lambda self, x: F.hardtanh(x, self.min_val, self.max_val))
ReLU6 = _module(torch.nn.ReLU6, lambda self, x: F.hardtanh(x, self.min_val, self.max_val))
Softshrink = _module(torch.nn.Softshrink, lambda self, x: F.softshrink(x, self.lambd))
Hardshrink = _module(torch.nn.Hardshrink, lambda self, x: F.hardshrink(x, self.lambd))
Threshold = _module(torch.nn.Threshold, lambda self, x: F.threshold(x, self.threshold, self.value))
Sigmoid = _module(torch.nn.Sigmoid, lambda self, x: F.sigmoid(x))
Tanh = _module(torch.nn.Tanh, lambda self, x: F.tanh(x))
SELU = _module(torch.nn.SELU, lambda self, x: F.selu(x))
SiLU = _module(torch.nn.SiLU, lambda self, x: F.silu(x))
Mish = _module(torch.nn.Mish, lambda self, x: F.mish(x))
LogSigmoid = _module(torch.nn.LogSigmoid, lambda self, x: F.logsigmoid(x))
Softsign = _module(torch.nn.Softsign, lambda self, x: F.softsign(x))
Tanhshrink = _module(torch.nn.Tanhshrink, lambda self, x: F.tanhshrink(x))
Hardsigmoid = _module(torch.nn.Hardsigmoid, lambda self, x: F.hardsigmoid(x))
Hardswish = _module(torch.nn.Hardswish, lambda self, x: F.hardswish(x))
GLU = _module(torch.nn.GLU, lambda self, x: F.glu(x, self.dim), doc="""\
torch.nn.GLU(dim=-1): y = a * sigmoid(b), [a | b] the halves of the last dim (dim=-1 only).""")
Identity = _module(torch.nn.Identity, lambda self, x: F.identity(x))
Step = _module(torch.nn.Module, lambda self, x: F.step(x), "Step", "y = 1 if x >= 0, else 0.")
QuickGELU = _module(torch.nn.Module, lambda self, x: F.quick_gelu(x), "QuickGELU",
                    "y = x * sigmoid(1.702 x).")
SquaredReLU = _module(torch.nn.Module, lambda self, x: F.squared_relu(x), "SquaredReLU",
                      "y = max(0, x)^2.")


class Swish(torch.nn.Module):
    """y = x * sigmoid(beta x) (beta = 1: SiLU)."""

    def __init__(self, beta=1.0):
        super().__init__()
        self.beta = beta

    def forward(self, input):
        return F.swish(input, self.beta)

    def extra_repr(self):
        return f"beta={self.beta}"


class SwiGLU(torch.nn.Module):
    """y = silu(a) * b, [a | b] the halves of the last dim: (*, 2H) -> (*, H)."""

    def forward(self, input):
        return F.swiglu(input)


class BiasAct(torch.nn.Module):
    """y = f(x + bias[c]) in one pass: actlayer's op ``activation`` (its parameters as keyword
    arguments) after a learnable bias (zeros at first) of ``num_features`` values along dim 1
    (the features of a 2-d input, as after a Linear(bias=False))."""

    def __init__(self, num_features, activation="relu", device=None, dtype=None, **fields):
        super().__init__()
        F.params(**fields)  # unknown names fail here, not at the first forward
        self.activation = activation
        self.fields = fields
        self.bias = torch.nn.Parameter(torch.zeros(num_features, device=device, dtype=dtype))

    def forward(self, input):
        return F.bias_act(input, self.bias, self.activation, **self.fields)

    def extra_repr(self):
        extra = "".join(f", {k}={v}" for k, v in self.fields.items())
        return f"{self.bias.numel()}, activation={self.activation!r}{extra}"
