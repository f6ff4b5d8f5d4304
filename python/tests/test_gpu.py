"""The CUDA operators (skipped where torch.cuda is unavailable or the extension was built
against a CPU-only PyTorch): the kernels against the CPU path, on PyTorch's current stream and
device."""
import pytest
import torch

import actlayer_torch  # noqa: F401
import actlayer_torch.functional as A
from actlayer_torch import nn
from cases import CASES, DTYPES, EXACT, inputs, ulp_error


def has_cuda_operators():
    if not torch.cuda.is_available():
        return False
    try:
        A.relu(torch.ones(1, device="cuda"))
        return True
    except NotImplementedError:
        return False


pytestmark = pytest.mark.skipif(not has_cuda_operators(),
                                reason="no CUDA device, or PyTorch without CUDA")


def both(fn, x, dy):
    """(y, dx) of fn on the GPU and on the CPU (actlayer's CPU path), for the same x and dy."""
    out = []
    for device in ("cuda", "cpu"):
        xd = x.to(device).requires_grad_()
        y = fn(xd)
        y.backward(dy.to(device))
        out.append((y.detach().cpu(), xd.grad.cpu()))
    return out


@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: str(d)[6:])
@pytest.mark.parametrize("name", sorted(CASES))
def test_gpu_matches_cpu(name, dtype):
    ours, _, kind, kinks = CASES[name]
    x, dy = inputs(dtype, n=100003, kinks=kinks), inputs(dtype, n=100003, seed=1)
    (y, dx), (ry, rdx) = both(ours, x, dy)
    if kind == EXACT:
        assert torch.equal(y, ry) and torch.equal(dx, rdx)
    else:  # both within the bound of the exactly rounded result: within twice of each other
        bound = (8, 16) if dtype in (torch.float32, torch.float64) else (2, 2)
        assert ulp_error(y, ry.double(), dtype) <= bound[0]
        assert ulp_error(dx, rdx.double(), dtype) <= bound[1]


def test_gpu_rrelu_slopes_are_the_cpus():
    x = -torch.rand(100003) - 0.5
    (y, dx), (ry, rdx) = both(lambda t: A.rrelu(t, training=True, seed=11), x, torch.ones_like(x))
    assert torch.equal(y, ry) and torch.equal(dx, rdx)


@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: str(d)[6:])
def test_gpu_prelu(dtype):
    x = torch.randn(8, 16, 4099).to(dtype)
    dy = torch.randn_like(x)
    w = torch.randn(16, dtype=torch.float64 if dtype == torch.float64 else torch.float32)
    (y, dx), (ry, rdx) = both(lambda t: A.prelu(t, w.to(t.device)), x, dy)
    assert torch.equal(y, ry) and torch.equal(dx, rdx)
    layer = nn.PReLU(16).cuda()
    grads = []
    for _ in range(3):
        layer.weight.grad = None
        layer(x.cuda()).backward(dy.cuda())
        grads.append(layer.weight.grad.clone())
    assert all(torch.equal(g, grads[0]) for g in grads)  # bitwise, run to run


def test_gpu_current_stream_and_device():
    x = torch.randn(1 << 20, device="cuda")
    side = torch.cuda.Stream()
    side.wait_stream(torch.cuda.current_stream())
    with torch.cuda.stream(side):
        y = A.gelu(x)  # enqueued on `side`, PyTorch's current stream here
    side.synchronize()
    assert torch.equal(y.cpu(), A.gelu(x.cpu()))
    if torch.cuda.device_count() > 1:
        x1 = torch.randn(1000, device="cuda:1")
        assert torch.equal(A.tanh(x1).cpu(), A.tanh(x1.cpu()))


def test_gpu_wrong_device():
    with pytest.raises(RuntimeError, match="Expected all tensors to be on the same device"):
        torch.ops.actlayer.backward(torch.ones(3, device="cuda"), torch.ones(3), "relu",
                                    A.params(), [])
    with pytest.raises(RuntimeError, match="Expected all tensors to be on the same device"):
        A.prelu(torch.ones(2, 3, device="cuda"), torch.ones(3))


def test_gpu_training_matches_cpu():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(2, 64), nn.PReLU(64), nn.Linear(64, 2)).cuda()
    x = torch.randn(512, 2, device="cuda")
    loss = torch.nn.functional.cross_entropy(model(x), (x[:, 0] > 0).long())
    loss.backward()
    assert torch.isfinite(loss)


CLOSE = {torch.float32: dict(rtol=1e-5, atol=1e-6), torch.float64: dict(rtol=1e-12, atol=1e-14),
         torch.float16: dict(rtol=2e-3, atol=1e-3), torch.bfloat16: dict(rtol=2e-2, atol=1e-2)}


@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: str(d)[6:])
@pytest.mark.parametrize("fn", [A.glu, A.swiglu, A.geglu, A.reglu, A.clamped_swiglu],
                         ids=lambda f: f.__name__)
def test_gpu_gated(fn, dtype):
    x = (torch.randn(7, 3, 2 * 1031) * 3).to(dtype)
    dy = torch.randn(7, 3, 1031).to(dtype)
    (y, dx), (ry, rdx) = both(fn, x, dy)
    torch.testing.assert_close(y, ry, **CLOSE[dtype])
    torch.testing.assert_close(dx, rdx, **CLOSE[dtype])


@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: str(d)[6:])
@pytest.mark.parametrize("shape", [(4099, 96), (8, 16, 33, 31)])
def test_gpu_bias_act(shape, dtype):
    x = torch.randn(shape).to(dtype)
    dy = torch.randn_like(x)
    b = torch.randn(shape[1], dtype=torch.float64 if dtype == torch.float64 else torch.float32)
    (y, dx), (ry, rdx) = both(lambda t: A.bias_act(t, b.to(t.device), "gelu"), x, dy)
    torch.testing.assert_close(y, ry, **CLOSE[dtype])
    torch.testing.assert_close(dx, rdx, **CLOSE[dtype])
    layer = nn.BiasAct(shape[1], "gelu", device="cuda", dtype=b.dtype)
    grads = []
    for _ in range(3):
        layer.bias.grad = None
        layer(x.cuda()).backward(dy.cuda())
        grads.append(layer.bias.grad.clone())
    assert all(torch.equal(g, grads[0]) for g in grads)  # bitwise, run to run
    bias = b.clone().requires_grad_()
    A.bias_act(x, bias, "gelu").backward(dy)  # the CPU path
    torch.testing.assert_close(grads[0].cpu(), bias.grad, rtol=1e-4, atol=1e-3)
