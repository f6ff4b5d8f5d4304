"""Every op against torch.nn.functional, gradcheck in double, and the conventions."""
import math

import pytest
import torch

import actlayer_torch  # noqa: F401  (registers torch.ops.actlayer)
import actlayer_torch.functional as A
from cases import CASES, DTYPES, EXACT, inputs, ulp_error

# README "Accuracy", in ulp of the element type from the exactly rounded result: (forward,
# backward) for the smooth ops; compared here with the exact value (PyTorch in float64), so half
# an ulp more.
BOUNDS = {torch.float32: (4, 8), torch.float16: (1, 1), torch.bfloat16: (1, 1)}


def close_in_double(got, ref, x, dy):
    """PyTorch's float64 formulas are not exactly rounded and cancel in places (1 - tanh^2 for
    large |x|, x - tanh x near 0): a relative 1e-12, plus 4 eps of the terms' size |dy| (1+|x|)."""
    eps = torch.finfo(torch.float64).eps
    tol = 1e-12 * ref.abs() + 4 * eps * (1 + x.abs()) * (dy.abs() if torch.is_tensor(dy) else dy)
    return bool(((got - ref).abs() <= tol).all())


def run(fn, x, dy):
    x = x.clone().requires_grad_()
    y = fn(x)
    y.backward(dy)
    return y.detach(), x.grad


@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: str(d)[6:])
@pytest.mark.parametrize("name", sorted(CASES))
def test_matches_pytorch(name, dtype):
    ours, theirs, kind, kinks = CASES[name]
    x = inputs(dtype, kinks=kinks)
    dy = inputs(dtype, seed=1)
    y, dx = run(ours, x, dy)
    ry, rdx = run(theirs, x.double(), dy.double())  # PyTorch in float64 on the same values
    assert y.dtype == dtype and dx.dtype == dtype
    if dtype == torch.float64:
        if kind == EXACT:  # PyTorch is exact here too: the same bits
            assert torch.equal(y, ry) and torch.equal(dx, rdx)
        else:
            assert close_in_double(y, ry, x, 1.0), "forward"
            assert close_in_double(dx, rdx, x, dy), "backward"
    elif kind == EXACT:
        # the exactly rounded result: PyTorch's float64 rounded once; float: bit-exact
        tolerance = 0 if dtype == torch.float32 else 1
        assert ulp_error(y, ry, dtype) <= tolerance + 0.5 and ulp_error(dx, rdx, dtype) <= tolerance + 0.5
        if dtype == torch.float32:
            assert torch.equal(y, ry.to(dtype)) and torch.equal(dx, rdx.to(dtype))
    else:
        forward, backward = BOUNDS[dtype]
        assert ulp_error(y, ry, dtype) <= forward + 0.5, "forward"
        assert ulp_error(dx, rdx, dtype) <= backward + 0.5, "backward"


@pytest.mark.parametrize("name", sorted(n for n in CASES if CASES[n][2] == EXACT))
def test_exact_ops_match_pytorch_in_every_dtype(name):
    ours, theirs, _, kinks = CASES[name]
    for dtype in DTYPES:  # PyTorch's own kernels in the same dtype
        x, dy = inputs(dtype, kinks=kinks), inputs(dtype, seed=1)
        y, dx = run(ours, x, dy)
        if dtype in (torch.float16, torch.bfloat16):  # PyTorch 1.13's CPU lacks some of these
            # kernels; its CUDA ones compute in float and round: that, here
            ry, rdx = (t.to(dtype) for t in run(theirs, x.float(), dy.float()))
        else:
            ry, rdx = run(theirs, x, dy)
        assert torch.equal(y, ry), dtype
        assert torch.equal(dx, rdx), dtype


@pytest.mark.parametrize("name", sorted(CASES))
def test_gradcheck(name):
    ours, _, _, kinks = CASES[name]
    x = inputs(torch.float64, n=48, kinks=kinks, margin=0.05).requires_grad_()
    assert torch.autograd.gradcheck(ours, (x,), eps=1e-6, atol=1e-6, rtol=1e-5)


def test_gradcheck_rrelu_training_and_prelu():
    x = inputs(torch.float64, n=48, kinks=(0,), margin=0.05).requires_grad_()
    assert torch.autograd.gradcheck(lambda t: A.rrelu(t, training=True, seed=7), (x,))
    x = inputs(torch.float64, n=60, kinks=(0,), margin=0.05).reshape(3, 4, 5).requires_grad_()
    w = torch.tensor([0.25, -0.5, 0.0, 1.5], dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(A.prelu, (x, w))
    assert torch.autograd.gradcheck(A.prelu, (x, w[:1].detach().clone().requires_grad_()))


def test_every_op_has_a_function():
    for op in A.OPS:
        assert callable(getattr(A, op))


@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: str(d)[6:])
@pytest.mark.parametrize("name", sorted(CASES))
def test_nan_propagates(name, dtype):
    ours = CASES[name][0]
    x = torch.tensor([math.nan, 1.0], dtype=dtype, requires_grad=True)
    y = ours(x)
    y.backward(torch.tensor([1.0, math.nan], dtype=dtype))
    assert y[0].isnan() and x.grad.isnan().all()


def test_documented_differences_from_pytorch():
    x = torch.tensor([-math.inf], requires_grad=True)
    y = A.silu(x)
    assert y.item() == 0 and math.copysign(1, y.item()) < 0  # PyTorch: NaN
    assert torch.nn.functional.silu(x.detach()).isnan().item()
    x = torch.tensor([-3.0], requires_grad=True)
    A.hardswish(x).backward()
    assert x.grad.item() == 0  # PyTorch: -1/2
    x = torch.tensor([math.nan], requires_grad=True)
    A.relu(x).backward()
    assert x.grad.isnan().item()  # PyTorch: 1, dy passed through
    x = torch.tensor([0.0, -0.0], requires_grad=True)
    A.relu(x).backward(torch.ones(2))
    assert x.grad.tolist() == [0.0, 0.0]  # relu'(0) = 0, the left branch, as PyTorch
    # parameters are float32: in float64 a parameter that float32 cannot hold differs slightly
    x = torch.tensor([-1.0], dtype=torch.float64)
    assert A.leaky_relu(x, 0.01).item() == -float(torch.tensor(0.01, dtype=torch.float32))


def test_backward_from_output():
    x = inputs(torch.float32)
    y = A.sigmoid(x)
    dy = inputs(torch.float32, seed=1)
    got = torch.ops.actlayer.backward_from_output(y, dy, "sigmoid", A.params())
    exact = dy.double() * y.double() * (1 - y.double())  # from the stored y, as documented
    assert ulp_error(got, exact, torch.float32) <= 2.5
