"""actlayer's activations for PyTorch.

Switch a model by changing an import::

    from actlayer_torch import nn   # was: from torch import nn
    from actlayer_torch import functional as F   # was: import torch.nn.functional as F

``actlayer_torch.nn`` has the activation modules (torch.nn's names, defaults and parameters)
and re-exports the rest of torch.nn; ``actlayer_torch.functional`` has every actlayer op as an
autograd function. The raw passes are ``torch.ops.actlayer.*`` (CPU, and CUDA where PyTorch
has CUDA).
"""
import os

import torch

_library = os.environ.get("ACTLAYER_TORCH_LIBRARY") or os.path.join(
    os.path.dirname(os.path.abspath(__file__)), "_actlayer_torch.so")
if not os.path.exists(_library):
    raise ImportError(
        f"actlayer_torch: the operator library {_library} is missing; build it with "
        "`cmake -S . -B build && cmake --build build --target actlayer_torch` and put "
        "build/python on PYTHONPATH")
torch.ops.load_library(_library)

from . import functional, nn  # noqa: E402  (after the operators are registered)

__all__ = ["functional", "nn"]
