"""The gated (GLU family) and bias-fused forms against PyTorch's composites, with autograd."""
import pytest
import torch
import torch.nn.functional as TF

import actlayer_torch.functional as A
from actlayer_torch import nn

TOL = {torch.float32: dict(rtol=1e-5, atol=1e-6), torch.float64: dict(rtol=1e-12, atol=1e-14),
       torch.float16: dict(rtol=2e-3, atol=1e-3), torch.bfloat16: dict(rtol=2e-2, atol=1e-2)}
DTYPES = tuple(TOL)


def f32(v):
    """v rounded to float32, as actlayer holds its parameters."""
    return float(torch.tensor(v, dtype=torch.float32))


def halves(x):
    h = x.shape[-1] // 2
    return x[..., :h], x[..., h:]


# name -> (actlayer's, PyTorch's composite on the packed x)
GATED = {
    "glu": (A.glu, TF.glu),
    "swiglu": (A.swiglu, lambda x: TF.silu(halves(x)[0]) * halves(x)[1]),
    "geglu": (A.geglu, lambda x: TF.gelu(halves(x)[0]) * halves(x)[1]),
    "geglu_tanh": (lambda x: A.geglu(x, approximate="tanh"),
                   lambda x: TF.gelu(halves(x)[0], approximate="tanh") * halves(x)[1]),
    "reglu": (A.reglu, lambda x: TF.relu(halves(x)[0]) * halves(x)[1]),
    "clamped_swiglu": (lambda x: A.clamped_swiglu(x, 1.5, 1.702), lambda x: (
        lambda a, b: a * torch.sigmoid(f32(1.702) * a) * (b + 1))(
            halves(x)[0].clamp(max=1.5), halves(x)[1].clamp(-1.5, 1.5))),
    "gated_swish_gate_second": (
        lambda x: A.gated(x, "swish", layout="gate_second", beta=0.5),
        lambda x: halves(x)[0] * halves(x)[1] * torch.sigmoid(0.5 * halves(x)[1])),
}

# name -> (op and parameters, PyTorch's f)
BIAS = {
    "relu": (("relu", {}), TF.relu),
    "gelu_tanh": (("gelu_tanh", {}), lambda z: TF.gelu(z, approximate="tanh")),
    "leaky_relu": (("leaky_relu", {"slope": 0.125}), lambda z: TF.leaky_relu(z, 0.125)),
    "silu": (("silu", {}), TF.silu),
    "sigmoid": (("sigmoid", {}), torch.sigmoid),
}


def compare(ours, theirs, inputs, dtype):
    """Values and gradients of ours and theirs (computed in float64 from the same inputs)."""
    leaves = [t.detach().to(dtype).requires_grad_() for t in inputs]
    wide = [t.detach().double().requires_grad_() for t in leaves]
    y, ref = ours(*leaves), theirs(*wide)
    assert y.dtype == dtype and y.shape == ref.shape
    torch.testing.assert_close(y.double(), ref, **TOL[dtype])
    dy = torch.randn_like(ref)
    grads = torch.autograd.grad(y, leaves, dy.to(dtype))
    ref_grads = torch.autograd.grad(ref, wide, dy)
    for g, r, t in zip(grads, ref_grads, leaves):
        assert g.dtype == t.dtype
        torch.testing.assert_close(g.double(), r, **TOL[dtype])


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name", GATED)
def test_gated_matches_pytorch(name, dtype):
    torch.manual_seed(0)
    ours, theirs = GATED[name]
    x = torch.randn(3, 5, 16) * 2
    compare(ours, theirs, [x], dtype)


@pytest.mark.parametrize("name", GATED)
def test_gated_gradcheck(name):
    torch.manual_seed(1)
    x = (torch.randn(4, 6, dtype=torch.float64) * 2).requires_grad_()
    if name == "reglu":
        x = (x.detach() + 0.05 * torch.sign(x.detach())).requires_grad_()  # away from the kink
    if name == "clamped_swiglu":
        x = x.detach().clamp(-1.3, 1.3).requires_grad_()  # inside the clamp
    assert torch.autograd.gradcheck(GATED[name][0], (x,))


def test_gated_layouts_and_shapes():
    x = torch.randn(2, 3, 8)
    a, b = halves(x)
    torch.testing.assert_close(A.gated(x, "tanh"), torch.tanh(a) * b)
    torch.testing.assert_close(A.gated(x, "tanh", layout="gate_second"), torch.tanh(b) * a)
    torch.testing.assert_close(A.glu(x, dim=2), TF.glu(x, 2))
    xt = torch.randn(8, 6).t()  # not contiguous: made so
    torch.testing.assert_close(A.swiglu(xt), TF.silu(halves(xt)[0]) * halves(xt)[1])
    assert A.swiglu(torch.empty(0, 4)).shape == (0, 2)
    assert A.swiglu(torch.empty(3, 0)).shape == (3, 0)


def test_gated_modules():
    x = torch.randn(4, 10)
    torch.testing.assert_close(nn.GLU()(x), torch.nn.GLU()(x))
    assert isinstance(nn.GLU(), torch.nn.GLU) and repr(nn.GLU()) == repr(torch.nn.GLU())
    torch.testing.assert_close(nn.SwiGLU()(x), TF.silu(halves(x)[0]) * halves(x)[1])


def test_gated_errors():
    with pytest.raises(RuntimeError, match=r"actlayer::gated_forward: expected x's last dimension "
                       r"\(a and b side by side\) to be even, but got x of shape \[2, 5\]"):
        A.swiglu(torch.ones(2, 5))
    with pytest.raises(ValueError, match="glu: actlayer_torch supports only dim=-1"):
        A.glu(torch.ones(4, 2), dim=0)
    with pytest.raises(ValueError, match="expected layout 'gate_first' or 'gate_second'"):
        A.gated(torch.ones(2, 4), "silu", layout="interleaved")
    with pytest.raises(ValueError, match="unknown op 'swoosh'"):
        A.gated(torch.ones(2, 4), "swoosh")
    with pytest.raises(RuntimeError, match=r"expected dy of shape \[2, 2\] \(x's with the last "
                       r"dimension halved\), but got \[2, 4\]"):
        torch.ops.actlayer.gated_backward(torch.ones(2, 4), torch.ones(2, 4), "silu", A.params(),
                                          "gate_first", float("inf"), 0.0)
    with pytest.raises(ValueError, match="limit"):
        A.gated(torch.ones(2, 4), "silu", limit=-1.0)
    with pytest.raises(TypeError, match="expected x of dtype float32, float64"):
        A.swiglu(torch.ones(2, 4, dtype=torch.int32))


def bias_ref(f, x, bias):
    return f(x + bias.view(-1, *([1] * (x.dim() - 2))).to(x.dtype))


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", [(6, 5), (2, 3, 4, 5), (2, 3, 7)])
@pytest.mark.parametrize("name", BIAS)
def test_bias_act_matches_pytorch(name, shape, dtype):
    torch.manual_seed(2)
    (op, fields), f = BIAS[name]
    x, bias = torch.randn(shape) * 2, torch.randn(shape[1])
    compare(lambda x, b: A.bias_act(x, b, op, **fields), lambda x, b: bias_ref(f, x, b), [x, bias],
            dtype)


def test_bias_act_bias_dtype():
    """Float32 bias (and dbias) for 16-bit data: a float32 bias gets a float32 gradient."""
    x = torch.randn(4, 3, dtype=torch.half, requires_grad=True)
    bias = torch.randn(3, requires_grad=True)
    A.bias_act(x, bias, "silu").sum().backward()
    assert bias.grad.dtype == torch.float32 and x.grad.dtype == torch.half
    torch.testing.assert_close(bias.grad, x.grad.float().sum(0), rtol=2e-3, atol=2e-3)


def test_bias_act_channels_last():
    x = torch.randn(2, 3, 4, 5).to(memory_format=torch.channels_last)
    bias = torch.randn(3)
    y = A.bias_act(x, bias, "relu")
    torch.testing.assert_close(y, bias_ref(TF.relu, x, bias), rtol=0, atol=0)


@pytest.mark.parametrize("name", BIAS)
def test_bias_act_gradcheck(name):
    torch.manual_seed(3)
    (op, fields), _ = BIAS[name]
    x = torch.randn(3, 4, 2, dtype=torch.float64)
    bias = torch.randn(4, dtype=torch.float64)
    if name in ("relu", "leaky_relu"):  # away from the kink
        z = x + bias.view(-1, 1)
        x = x + 0.05 * torch.sign(z)
    x.requires_grad_()
    bias.requires_grad_()
    assert torch.autograd.gradcheck(lambda x, b: A.bias_act(x, b, op, **fields), (x, bias))


def test_bias_act_module():
    m = nn.BiasAct(5, "leaky_relu", slope=0.25)
    assert torch.equal(m.bias, torch.zeros(5)) and "slope=0.25" in repr(m)
    lin = torch.nn.Linear(4, 5, bias=False)
    x = torch.randn(3, 4)
    with torch.no_grad():
        m.bias.copy_(torch.randn(5))
    y = m(lin(x))
    torch.testing.assert_close(y, TF.leaky_relu(lin(x) + m.bias, 0.25))
    y.sum().backward()
    assert m.bias.grad.shape == (5,)
    with pytest.raises(TypeError, match="unknown activation parameters"):
        nn.BiasAct(5, "relu", negative_slope=0.1)


def test_bias_act_errors():
    with pytest.raises(RuntimeError, match=r"actlayer::bias_act_forward: expected x with 4 "
                       r"channels in dim 1 \(bias has 4 parameters\), but got x of shape \[2, 3\]"):
        A.bias_act(torch.ones(2, 3), torch.ones(4))
    with pytest.raises(RuntimeError, match=r"expected x with 1 channels in dim 1"):
        A.bias_act(torch.ones(2, 3), torch.ones(1))  # no broadcast of one bias (PReLU's is)
    with pytest.raises(RuntimeError, match=r"expected x with 3 channels in dim 1"):
        A.bias_act(torch.ones(3), torch.ones(3))
    with pytest.raises(TypeError, match="expected bias of dtype Float for x of dtype Half, "
                       "but got Double"):
        torch.ops.actlayer.bias_act_forward(torch.ones(2, 3, dtype=torch.half),
                                            torch.ones(3, dtype=torch.double), "relu", A.params())
    with pytest.raises(TypeError, match="expected bias of dtype Float for x of dtype Float, "
                       "but got Int"):
        A.bias_act(torch.ones(2, 3), torch.ones(3, dtype=torch.int32))
    with pytest.raises(RuntimeError, match="expected a 1-d bias"):
        A.bias_act(torch.ones(2, 3), torch.ones(3, 1))
    with pytest.raises(RuntimeError, match=r"expected dy of shape \[2, 3\] \(as x\)"):
        torch.ops.actlayer.bias_act_backward(torch.ones(2, 3), torch.ones(3), torch.ones(3, 2),
                                             "relu", A.params())
