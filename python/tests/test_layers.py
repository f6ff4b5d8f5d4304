"""The modules: torch.nn's names, defaults and parameters; gradcheck; PReLU's deterministic
dweight; RReLU's train/eval rules; a model trained with actlayer's modules and with torch.nn's."""
import pytest
import torch

import actlayer_torch
import actlayer_torch.functional as A
from actlayer_torch import nn
from cases import inputs

# Every activation module, as constructed in a model (module name, arguments).
MODULES = [
    ("ReLU", ()), ("LeakyReLU", ()), ("LeakyReLU", (0.2,)), ("PReLU", ()), ("PReLU", (4, 0.1)),
    ("RReLU", ()), ("ELU", ()), ("ELU", (0.5,)), ("SELU", ()), ("CELU", (2.0,)), ("SiLU", ()),
    ("Mish", ()), ("Softplus", ()), ("Softplus", (2, 5)), ("LogSigmoid", ()), ("Softsign", ()),
    ("Tanhshrink", ()), ("GELU", ()), ("GELU", ("tanh",)), ("Hardsigmoid", ()),
    ("Hardswish", ()), ("Hardtanh", ()), ("Hardtanh", (-2.0, 0.5)), ("ReLU6", ()),
    ("Softshrink", ()), ("Hardshrink", (0.25,)), ("Threshold", (0.1, 20.0)), ("Sigmoid", ()),
    ("Tanh", ()), ("Identity", ()),
]
EXTRA = [("Step", ()), ("Swish", ()), ("Swish", (1.5,)), ("QuickGELU", ()), ("SquaredReLU", ())]
KINKS = (0, 0.1, 0.25, -0.5, 0.5, -1, 1, -2, -3, 3, 6)


def ids(case):
    return f"{case[0]}{case[1]}"


@pytest.mark.parametrize("case", MODULES, ids=ids)
def test_mirrors_torch_nn(case):
    name, args = case
    ours, theirs = getattr(nn, name)(*args), getattr(torch.nn, name)(*args)
    assert isinstance(ours, getattr(torch.nn, name))
    assert repr(ours) == repr(theirs)
    assert ours.state_dict().keys() == theirs.state_dict().keys()
    for key, value in theirs.state_dict().items():
        assert torch.equal(ours.state_dict()[key], value)


def test_rest_of_torch_nn_is_reexported():
    assert nn.Linear is torch.nn.Linear and nn.Sequential is torch.nn.Sequential
    assert A.cross_entropy is torch.nn.functional.cross_entropy


@pytest.mark.parametrize("case", MODULES + EXTRA, ids=ids)
def test_gradcheck_layer(case):
    name, args = case
    module = getattr(nn, name)(*args).double().eval()
    x = inputs(torch.float64, n=40, kinks=KINKS, margin=0.03).reshape(2, 4, 5).requires_grad_()
    assert torch.autograd.gradcheck(module, (x,))
    if list(module.parameters()):
        weight = module.weight.detach().clone().requires_grad_()
        assert torch.autograd.gradcheck(lambda t, w: A.prelu(t, w), (x, weight))


def test_prelu_dweight_is_bitwise_deterministic():
    torch.manual_seed(0)
    x = torch.randn(8, 16, 3000)
    dy = torch.randn_like(x)
    layer = nn.PReLU(16)
    grads = []
    for _ in range(3):
        layer.weight.grad = None
        layer(x).backward(dy)
        grads.append(layer.weight.grad.clone())
    assert all(torch.equal(g, grads[0]) for g in grads)
    reference = torch.nn.PReLU(16)
    reference(x).backward(dy)
    torch.testing.assert_close(grads[0], reference.weight.grad, rtol=1e-4, atol=1e-3)


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16, torch.float64])
def test_prelu_half_data_keeps_float_slopes(dtype):
    layer = nn.PReLU(3)
    x = torch.randn(4, 3, 5).to(dtype).requires_grad_()
    y = layer(x)
    y.sum().backward()
    assert y.dtype == dtype and x.grad.dtype == dtype and layer.weight.grad.dtype == torch.float32
    expected = torch.where(x > 0, x.double(), layer.weight.double().view(1, 3, 1) * x.double())
    torch.testing.assert_close(y.double(), expected, rtol=torch.finfo(dtype).eps, atol=0)


def test_prelu_channels_last():
    layer = nn.PReLU(3, init=0.5)
    x = torch.randn(2, 3, 4, 5).to(memory_format=torch.channels_last).requires_grad_()
    y = layer(x)
    y.backward(torch.ones_like(y))
    reference = torch.nn.PReLU(3, init=0.5)
    xr = x.detach().contiguous().requires_grad_()
    reference(xr).backward(torch.ones_like(xr))
    assert torch.equal(y, reference(xr)) and y.is_contiguous(memory_format=torch.channels_last)
    assert torch.equal(x.grad, xr.grad)
    torch.testing.assert_close(layer.weight.grad, reference.weight.grad)


def test_rrelu_eval_is_leaky_relu_with_the_mean_slope():
    layer = nn.RReLU(0.125, 0.375).eval()
    x = inputs(torch.float32)
    assert torch.equal(layer(x), torch.nn.functional.leaky_relu(x, 0.25))
    x = torch.randn(1000)
    torch.testing.assert_close(nn.RReLU().eval()(x), torch.nn.RReLU().eval()(x))


def test_rrelu_training_draws_fresh_slopes_and_reuses_them_in_backward():
    layer = nn.RReLU()  # training mode, as torch.nn's modules start
    x = -torch.rand(100000) - 0.5
    x.requires_grad_()
    y = layer(x)
    y.backward(torch.ones_like(y))
    slopes = y.detach() / x.detach()
    assert slopes.min() >= 1 / 8 - 1e-6 and slopes.max() <= 1 / 3 + 1e-6
    assert abs(float(slopes.mean()) - (1 / 8 + 1 / 3) / 2) < 2e-3
    assert torch.equal(y.detach(), x.grad * x.detach())  # the forward's slopes, drawn again
    assert not torch.equal(layer(x), y)  # a fresh key per call
    positive = torch.rand(100)
    assert torch.equal(layer(positive), positive)


def test_rrelu_follows_torch_manual_seed():
    x = torch.randn(1000)
    torch.manual_seed(3)
    a = A.rrelu(x, training=True)
    torch.manual_seed(3)
    assert torch.equal(A.rrelu(x, training=True), a)


def test_rrelu_backward_after_eval_uses_the_training_slopes():
    layer = nn.RReLU()
    x = (-torch.rand(1000)).requires_grad_()
    y = layer(x)
    layer.eval()
    y.backward(torch.ones_like(y))
    assert torch.equal(y.detach(), x.grad * x.detach())


def three_layer_model(n, activations):
    torch.manual_seed(0)
    first, second = activations(n)
    return n.Sequential(n.Linear(2, 32), first, n.Linear(32, 32), second, n.Linear(32, 2))


@pytest.mark.parametrize("activations", [
    lambda n: (n.PReLU(32), n.GELU()),
    lambda n: (n.Tanh(), n.ELU()),
    lambda n: (n.Softplus(), n.Hardswish()),
    lambda n: (n.LeakyReLU(0.1), n.SiLU()),
], ids=["prelu-gelu", "tanh-elu", "softplus-hardswish", "leaky-silu"])
def test_training_matches_torch_nn(activations):
    ours, theirs = three_layer_model(nn, activations), three_layer_model(torch.nn, activations)
    theirs.load_state_dict(ours.state_dict())
    g = torch.Generator().manual_seed(1)
    x = torch.randn(256, 2, generator=g)
    labels = (x[:, 0] * x[:, 1] > 0).long()
    losses = {}
    for key, model in (("ours", ours), ("theirs", theirs)):
        opt = torch.optim.SGD(model.parameters(), lr=0.2)
        losses[key] = []
        for _ in range(25):
            opt.zero_grad()
            loss = torch.nn.functional.cross_entropy(model(x), labels)
            loss.backward()
            opt.step()
            losses[key].append(loss.item())
    assert losses["ours"][-1] < losses["ours"][0]
    torch.testing.assert_close(losses["ours"], losses["theirs"], rtol=1e-4, atol=1e-6)


def test_package_version_of_the_ops():
    assert hasattr(torch.ops.actlayer, "forward") and actlayer_torch.functional is A


def philox_slopes(seed, n, lower=1 / 8, upper=1 / 3):
    """RReLU's training slopes as docs/design.md §5 writes them (Philox4x32-10, offset 0)."""
    m32 = 0xFFFFFFFF
    out = []
    for i in range(n):
        c, k = [0, 0, (i // 4) & m32, (i // 4) >> 32], [seed & m32, seed >> 32]
        for _ in range(10):
            p0, p1 = 0xD2511F53 * c[0], 0xCD9E8D57 * c[2]
            c = [(p1 >> 32) ^ c[1] ^ k[0], p1 & m32, (p0 >> 32) ^ c[3] ^ k[1], p0 & m32]
            k = [(k[0] + 0x9E3779B9) & m32, (k[1] + 0xBB67AE85) & m32]
        u = (c[i % 4] >> 8) * 2.0**-24
        lo, hi = (torch.tensor(v, dtype=torch.float32) for v in (lower, upper))
        out.append(float((hi - lo).double() * u + lo.double()))  # fmaf: exact product, one sum
    return torch.tensor(out, dtype=torch.float64).float()


def test_rrelu_slopes_are_the_documented_philox_draws():
    seed = 0x7EDCBA9876543210  # both halves of the 64-bit key in use
    y = A.rrelu(-torch.ones(64), training=True, seed=seed)
    assert torch.equal(-y, philox_slopes(seed, 64))
