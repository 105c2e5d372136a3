"""Weights both ways between ``Network`` and ``torch.nn.RNN/LSTM/GRU`` (same state_dict keys),
and a torch module of the same layout for the diagonal cells torch lacks (minGRU, minLSTM,
LRU, S6).

torch is imported here only, so ``import engine`` stays light for a notebook.
"""

from __future__ import annotations

import numpy as np


def diagonal_rnn(cell: str, input_size: int, hidden_size: int, num_layers: int = 1,
                 bidirectional: bool = False):
    """A torch module for the diagonal cells (minGRU, minLSTM, LRU, S6), which torch lacks, laid
    out like torch.nn.GRU (the engine's state_dict keys: ``weight_ih_l{k}[_reverse]``, the
    LRU's ``nu_log_l{k}``..., input (T, batch, input), returns (output, h_n); the LRU's h_n
    is its complex state), so training and ``Network.from_torch`` treat it as they treat
    torch's. A sequential loop: simple, and fast enough to train."""
    import torch

    from .cells import make_cell
    from .network import PARAM_PREFIX

    engine_cell = make_cell(cell, hidden_size)
    F = torch.nn.functional

    class DiagonalRNN(torch.nn.Module):
        bias, batch_first, proj_size = True, False, 0

        def __init__(self):
            super().__init__()
            self.cell, self.input_size, self.hidden_size = cell, input_size, hidden_size
            self.num_layers, self.bidirectional = num_layers, bidirectional
            for layer in range(num_layers):
                width = input_size if layer == 0 else hidden_size * (2 if bidirectional else 1)
                for sfx in ("", "_reverse") if bidirectional else ("",):
                    for short, shape in engine_cell.param_shapes(width).items():
                        self.register_parameter(f"{PARAM_PREFIX[short]}_l{layer}{sfx}",
                                                torch.nn.Parameter(torch.zeros(shape)))

        def layer(self, sfx, seq, h):
            """One layer-direction over ``seq``: its outputs (T, B, H) and last state."""
            p = {short: getattr(self, f"{PARAM_PREFIX[short]}_{sfx}")
                 for short in engine_cell.param_shapes(1)}
            H, hs = self.hidden_size, []
            if cell == "lru":  # x_t = lambda x_{t-1} + gamma B u_t, y_t = Re(C x_t) + D u_t
                lam = torch.exp(-torch.exp(p["nu_log"]) + 1j * torch.exp(p["theta_log"]))
                B = torch.complex(p["b_re"], p["b_im"]) * torch.exp(p["gamma_log"])[:, None]
                C = torch.complex(p["c_re"], p["c_im"])
                drive = seq.to(B.dtype) @ B.T
                h = h.to(B.dtype)
                for t in range(seq.shape[0]):
                    h = lam * h + drive[t]
                    hs.append((h @ C.T).real + seq[t] @ p["d"].T)
                return torch.stack(hs), h
            if cell == "s6":  # h_t = exp(Delta A) h_{t-1} + (exp(Delta A) - 1) / A B_t u_t
                u = seq @ p["w_in"].T
                delta = F.softplus(u @ p["w_down"].T @ p["w_up"].T + p["b_delta"])[..., None]
                Bt, Ct = (u @ p["w_b"].T)[:, :, None, :], u @ p["w_c"].T
                A = -torch.exp(p["a_log"])
                Abar = torch.exp(delta * A)
                drive = (Abar - 1) / A * Bt * u[..., None]
                h = h.reshape(*h.shape[:-1], H, -1)
                for t in range(seq.shape[0]):
                    h = Abar[t] * h + drive[t]
                    hs.append(torch.einsum("bhn,bn->bh", h, Ct[t]) + p["d"] * u[t])
                return torch.stack(hs), h.flatten(-2)
            pre = seq @ p["w_ih"].T + p["b_ih"]
            for t in range(seq.shape[0]):
                if cell == "mingru":  # h_t = (1 - z) h_{t-1} + z h~
                    z = torch.sigmoid(pre[t, :, :H])
                    h = (1 - z) * h + z * pre[t, :, H:]
                else:  # minLSTM in log space: f' = f / (f + i) = sig(sp(-a_i) - sp(-a_f))
                    ratio = F.softplus(-pre[t, :, H:2 * H]) - F.softplus(-pre[t, :, :H])
                    h = torch.sigmoid(ratio) * h + torch.sigmoid(-ratio) * pre[t, :, 2 * H:]
                hs.append(h)
            return torch.stack(hs), h

        def forward(self, x, h0=None):
            unbatched = x.dim() == 2
            inp = x.unsqueeze(1) if unbatched else x
            D = 2 if self.bidirectional else 1
            if h0 is None:
                h0 = inp.new_zeros(self.num_layers * D, inp.shape[1], engine_cell.state_width)
            elif unbatched:
                h0 = h0.unsqueeze(1)
            finals = []
            for layer in range(self.num_layers):
                outs = []
                for d in range(D):
                    out, h = self.layer(f"l{layer}" + ("_reverse" if d else ""),
                                        inp.flip(0) if d else inp, h0[layer * D + d])
                    outs.append(out.flip(0) if d else out)
                    finals.append(h)
                inp = torch.cat(outs, dim=-1)
            h_n = torch.stack(finals)
            return (inp.squeeze(1), h_n.squeeze(1)) if unbatched else (inp, h_n)

    return DiagonalRNN()


def _torch_kind(module) -> tuple[str, str]:
    import torch

    if getattr(module, "cell", None) in ("mingru", "minlstm", "lru", "s6"):
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
