"""Weights both ways between ``Network`` and ``torch.nn.RNN/LSTM/GRU`` (same state_dict keys),
and a torch module of the same layout for the diagonal cells torch lacks (minGRU, minLSTM).

torch is imported here only, so ``import engine`` stays light for a notebook.
"""

from __future__ import annotations

import numpy as np


def diagonal_rnn(cell: str, input_size: int, hidden_size: int, num_layers: int = 1,
                 bidirectional: bool = False):
    """A torch module for the diagonal cells (minGRU, minLSTM), which torch lacks, laid out
    like torch.nn.GRU (``weight_ih_l{k}[_reverse]``, ``bias_ih_l{k}[_reverse]``, input
    (T, batch, input), returns (output, h_n)), so training and ``Network.from_torch``
    treat it as they treat torch's. A sequential loop: simple, and fast enough to train."""
    import torch

    class DiagonalRNN(torch.nn.Module):
        bias, batch_first, proj_size = True, False, 0

        def __init__(self):
            super().__init__()
            self.cell, self.input_size, self.hidden_size = cell, input_size, hidden_size
            self.num_layers, self.bidirectional = num_layers, bidirectional
            blocks = {"mingru": 2, "minlstm": 3}[cell]
            for layer in range(num_layers):
                width = input_size if layer == 0 else hidden_size * (2 if bidirectional else 1)
                for sfx in ("", "_reverse") if bidirectional else ("",):
                    name = f"l{layer}{sfx}"
                    self.register_parameter(f"weight_ih_{name}", torch.nn.Parameter(
                        torch.zeros(blocks * hidden_size, width)))
                    self.register_parameter(f"bias_ih_{name}", torch.nn.Parameter(
                        torch.zeros(blocks * hidden_size)))

        def step(self, pre, h):
            H = self.hidden_size
            if self.cell == "mingru":  # h_t = (1 - z) h_{t-1} + z h~
                z = torch.sigmoid(pre[..., :H])
                return (1 - z) * h + z * pre[..., H:]
            # minLSTM in log space: f' = f / (f + i) = sig(softplus(-a_i) - softplus(-a_f))
            ratio = (torch.nn.functional.softplus(-pre[..., H:2 * H])
                     - torch.nn.functional.softplus(-pre[..., :H]))
            return torch.sigmoid(ratio) * h + torch.sigmoid(-ratio) * pre[..., 2 * H:]

        def forward(self, x, h0=None):
            unbatched = x.dim() == 2
            inp = x.unsqueeze(1) if unbatched else x
            D = 2 if self.bidirectional else 1
            if h0 is None:
                h0 = inp.new_zeros(self.num_layers * D, inp.shape[1], self.hidden_size)
            elif unbatched:
                h0 = h0.unsqueeze(1)
            finals = []
            for layer in range(self.num_layers):
                outs = []
                for d in range(D):
                    sfx = f"l{layer}" + ("_reverse" if d else "")
                    w, b = getattr(self, f"weight_ih_{sfx}"), getattr(self, f"bias_ih_{sfx}")
                    pre = inp.flip(0) @ w.T + b if d else inp @ w.T + b
                    h, hs = h0[layer * D + d], []
                    for t in range(pre.shape[0]):
                        h = self.step(pre[t], h)
                        hs.append(h)
                    out = torch.stack(hs)
                    outs.append(out.flip(0) if d else out)
                    finals.append(h)
                inp = torch.cat(outs, dim=-1)
            h_n = torch.stack(finals)
            return (inp.squeeze(1), h_n.squeeze(1)) if unbatched else (inp, h_n)

    return DiagonalRNN()


def _torch_kind(module) -> tuple[str, str]:
    import torch

    if getattr(module, "cell", None) in ("mingru", "minlstm"):
        return module.cell, "tanh"
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
    """A float64 torch module holding the network's weights (rnn with tanh or relu, lstm,
    gru, and the diagonal cells through ``diagonal_rnn``)."""
    import torch

    if net.cell.diagonal:
        module = diagonal_rnn(net.cell_name, net.input_size, net.hidden_size, net.num_layers,
                              net.bidirectional).double()
        module.load_state_dict({k: torch.from_numpy(np.array(v)) for k, v in net.params.items()})
        return module
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
