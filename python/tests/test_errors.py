"""Bad input raises PyTorch's kind of error, with actlayer's message where actlayer found it."""
import pytest
import torch

import actlayer_torch  # noqa: F401
import actlayer_torch.functional as A
from actlayer_torch import nn


def test_wrong_dtype():
    with pytest.raises(TypeError, match=r"actlayer::forward: expected x of dtype float32, "
                       r"float64, float16 or bfloat16, but got Long"):
        A.relu(torch.arange(4))
    with pytest.raises(TypeError, match="expected dy of dtype Float .as x., but got Double"):
        torch.ops.actlayer.backward(torch.ones(3), torch.ones(3, dtype=torch.float64), "relu",
                                    A.params(), [])
    with pytest.raises(TypeError, match="expected weight of dtype Float for x of dtype Half"):
        torch.ops.actlayer.prelu_forward(torch.ones(3, dtype=torch.half),
                                         torch.ones(1, dtype=torch.half))


def test_wrong_device():
    # no implementation for the device: PyTorch's dispatcher says so
    with pytest.raises(NotImplementedError, match="Could not run 'actlayer::forward' with "
                       "arguments from the '(Autograd)?Meta' backend"):
        A.relu(torch.empty(3, device="meta"))


def test_wrong_shape_and_parameter_count():
    with pytest.raises(RuntimeError, match=r"expected dy of shape \[3\] .as x., but got \[4\]"):
        torch.ops.actlayer.backward(torch.ones(3), torch.ones(4), "relu", A.params(), [])
    with pytest.raises(RuntimeError, match=r"actlayer::prelu_forward: expected x with 3 channels "
                       r"in dim 1 \(weight has 3 parameters\), but got x of shape \[2, 4, 5\]"):
        nn.PReLU(3)(torch.ones(2, 4, 5))
    with pytest.raises(RuntimeError, match="expected a 1-d weight"):
        A.prelu(torch.ones(2, 4), torch.ones(2, 2))
    with pytest.raises(ValueError, match="expected 13 activation parameters, but got 2"):
        torch.ops.actlayer.forward(torch.ones(3), "relu", [1.0, 2.0], [])


def test_actlayers_message_for_bad_parameters():
    with pytest.raises(ValueError, match=r"actlayer::[a-z:]*forward: activation\.slope must "
                       r"be finite and >= 0 \(got -1\)"):
        A.leaky_relu(torch.ones(3), -1.0)
    with pytest.raises(ValueError, match=r"hardtanh: lo must be < hi \(got lo = 2, hi = 1\)"):
        A.hardtanh(torch.ones(3), 2.0, 1.0)
    with pytest.raises(ValueError, match="unknown op 'nope'"):
        torch.ops.actlayer.forward(torch.ones(3), "nope", A.params(), [])
    with pytest.raises(NotImplementedError, match="backward_from_output"):
        torch.ops.actlayer.backward_from_output(torch.ones(3), torch.ones(3), "silu",
                                                A.params())
    with pytest.raises(ValueError, match="approximate must be 'none' or 'tanh'"):
        A.gelu(torch.ones(3), approximate="erf")


def test_nothing_written_on_error():
    x = torch.ones(3)
    with pytest.raises(ValueError):
        A.leaky_relu(x, float("nan"))
    assert torch.equal(x, torch.ones(3))


def test_non_contiguous_rule():
    base = torch.randn(6, 8)
    gaps = base[:, ::2]  # not dense: copied with .contiguous(), the result is contiguous
    assert torch.equal(A.tanh(gaps), A.tanh(gaps.contiguous())) and A.tanh(gaps).is_contiguous()
    t = base.t()  # dense but not contiguous: used as it is, the result has its strides
    y = A.tanh(t)
    assert torch.equal(y, A.tanh(t.contiguous())) and y.stride() == t.stride()
    x = torch.randn(5).requires_grad_()
    A.sigmoid(x).sum().backward()  # dy: an expanded scalar (stride 0), brought to x's strides
    torch.testing.assert_close(x.grad, torch.sigmoid(x) * torch.sigmoid(-x))
    w = torch.tensor([0.25, 0.5, 0.75, 1.0])
    xs = torch.randn(3, 4, 10)[:, :, ::2]
    assert torch.equal(A.prelu(xs, w), A.prelu(xs.contiguous(), w))
