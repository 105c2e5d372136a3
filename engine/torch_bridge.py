"""Weights both ways between ``Network`` and ``torch.nn.RNN/LSTM/GRU`` (same state_dict keys).

torch is imported here only, so ``import engine`` stays light for a notebook.
"""

from __future__ import annotations

import numpy as np


def _torch_kind(module) -> tuple[str, str]:
    import torch

    if isinstance(module, torch.nn.LSTM):
        return "lstm", "tanh"
    if isinstance(module, torch.nn.GRU):
        return "gru", "tanh"
    if isinstance(module, torch.nn.RNN):
        return "rnn", module.nonlinearity
    raise ValueError(f"module must be torch.nn.RNN, LSTM or GRU, got {type(module).__name__}")


def network_from_torch(cls, module):
    """A Network with the module's shape and a float64 copy of its weights."""
    cell, activation = _torch_kind(module)
    if not module.bias:
        raise ValueError("module must have bias=True (the engine always has biases)")
    if module.batch_first:
        raise ValueError("module must have batch_first=False: the engine uses (T, batch, input)")
    if getattr(module, "proj_size", 0):
        raise ValueError("module must have proj_size=0: projected LSTMs are not supported")
    net = cls(cell, module.input_size, module.hidden_size, module.num_layers,
              module.bidirectional, activation)
    net.load_params({k: v.detach().to("cpu").double().numpy()
                     for k, v in module.state_dict().items()})
    return net


def network_to_torch(net):
    """A float64 torch module holding the network's weights (rnn, lstm and gru only)."""
    import torch

    kinds = {"rnn": torch.nn.RNN, "lstm": torch.nn.LSTM, "gru": torch.nn.GRU}
    if net.cell_name not in kinds or (net.cell_name == "rnn"
                                      and net.activation not in ("tanh", "relu")):
        raise ValueError(f"no torch module for cell {net.cell_name!r} with activation "
                         f"{net.activation!r}: torch has rnn (tanh, relu), lstm and gru")
    kwargs = {"nonlinearity": net.activation} if net.cell_name == "rnn" else {}
    module = kinds[net.cell_name](net.input_size, net.hidden_size, net.num_layers,
                                  bidirectional=net.bidirectional, dtype=torch.float64, **kwargs)
    module.load_state_dict({k: torch.from_numpy(np.array(v)) for k, v in net.params.items()})
    return module
