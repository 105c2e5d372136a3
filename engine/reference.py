"""Every cell's step as its paper writes it: one statement per equation, the papers' and
PyTorch's letters (i, f, g, o, c, h; r, z, n, h), one sequence, no batching tricks.

These are the readable definitions. ``engine.cells`` computes the same numbers fast (input
projections for all steps at once, parallel scans, compiled LSTM loops) and carries the
exact backward pass; tests/engine/test_reference.py checks that both agree for every cell.

    from engine import Network, reference
    net = Network("gru", input_size=1, hidden_size=4)
    outputs = reference.run(net, x)       # equals net.run(x).output
"""

from __future__ import annotations

import numpy as np

from .activations import get_activation


def sigmoid(a):
    return 1.0 / (1.0 + np.exp(-a))


def softplus(a):
    return np.logaddexp(0.0, a)


def blocks(w: np.ndarray, n: int) -> list[np.ndarray]:
    """W's gate blocks, stacked along its first axis in PyTorch's order."""
    return np.split(w, n, axis=0)


def rnn_step(p, x, h, phi):
    """Elman: h_t = phi(W_ih x_t + b_ih + W_hh h_{t-1} + b_hh)."""
    h = phi(p["w_ih"] @ x + p["b_ih"] + p["w_hh"] @ h + p["b_hh"])
    return h, h


def indrnn_step(p, x, h, phi):
    """IndRNN: h_t = phi(W_ih x_t + b_ih + u * h_{t-1} + b_hh), u a vector."""
    h = phi(p["w_ih"] @ x + p["b_ih"] + p["w_hh"] * h + p["b_hh"])
    return h, h


def jordan_step(p, x, y, phi):
    """Jordan: h_t = phi(W_ih x_t + b_ih + W_hh y_{t-1} + b_hh), y_t = phi(W_ho h_t + b_ho);
    the state carried to the next step is y."""
    h = phi(p["w_ih"] @ x + p["b_ih"] + p["w_hh"] @ y + p["b_hh"])
    y = phi(p["w_ho"] @ h + p["b_ho"])
    return y, y


def lstm_step(p, x, h, c):
    """LSTM (PyTorch's gate order i, f, g, o)."""
    W_ii, W_if, W_ig, W_io = blocks(p["w_ih"], 4)
    W_hi, W_hf, W_hg, W_ho = blocks(p["w_hh"], 4)
    b_ii, b_if, b_ig, b_io = blocks(p["b_ih"], 4)
    b_hi, b_hf, b_hg, b_ho = blocks(p["b_hh"], 4)
    i = sigmoid(W_ii @ x + b_ii + W_hi @ h + b_hi)
    f = sigmoid(W_if @ x + b_if + W_hf @ h + b_hf)
    g = np.tanh(W_ig @ x + b_ig + W_hg @ h + b_hg)
    o = sigmoid(W_io @ x + b_io + W_ho @ h + b_ho)
    c = f * c + i * g
    h = o * np.tanh(c)
    return h, (h, c)


def gru_step(p, x, h):
    """GRU (PyTorch's: z keeps the old state, r gates W_hn h inside n)."""
    W_ir, W_iz, W_in = blocks(p["w_ih"], 3)
    W_hr, W_hz, W_hn = blocks(p["w_hh"], 3)
    b_ir, b_iz, b_in = blocks(p["b_ih"], 3)
    b_hr, b_hz, b_hn = blocks(p["b_hh"], 3)
    r = sigmoid(W_ir @ x + b_ir + W_hr @ h + b_hr)
    z = sigmoid(W_iz @ x + b_iz + W_hz @ h + b_hz)
    n = np.tanh(W_in @ x + b_in + r * (W_hn @ h + b_hn))
    h = (1 - z) * n + z * h
    return h, h


def mingru_step(p, x, h):
    """minGRU (Feng et al. 2024): gate and candidate from the input alone."""
    W_z, W_h = blocks(p["w_ih"], 2)
    b_z, b_h = blocks(p["b_ih"], 2)
    z = sigmoid(W_z @ x + b_z)
    h_tilde = W_h @ x + b_h
    h = (1 - z) * h + z * h_tilde
    return h, h


def minlstm_step(p, x, h):
    """minLSTM (Feng et al. 2024): forget and input gates normalised to shares."""
    W_f, W_i, W_h = blocks(p["w_ih"], 3)
    b_f, b_i, b_h = blocks(p["b_ih"], 3)
    f = sigmoid(W_f @ x + b_f)
    i = sigmoid(W_i @ x + b_i)
    h_tilde = W_h @ x + b_h
    f_prime = f / (f + i)
    i_prime = i / (f + i)
    h = f_prime * h + i_prime * h_tilde
    return h, h


def lru_step(p, u, x):
    """LRU (Orvieto et al. 2023): x is the complex state, u the input, y the output."""
    lam = np.exp(-np.exp(p["nu_log"]) + 1j * np.exp(p["theta_log"]))
    gamma = np.exp(p["gamma_log"])
    B = p["b_re"] + 1j * p["b_im"]
    C = p["c_re"] + 1j * p["c_im"]
    x = lam * x + gamma * (B @ u)
    y = (C @ x).real + p["d"] @ u
    return y, x


def s6_step(p, x, h):
    """S6 (Gu & Dao 2023, Mamba's selective SSM): h is (H, N), B and C come from the input,
    B discretised by zero-order hold."""
    u = p["w_in"] @ x
    delta = softplus(p["w_up"] @ (p["w_down"] @ u) + p["b_delta"])
    B = p["w_b"] @ u
    C = p["w_c"] @ u
    A = -np.exp(p["a_log"])
    A_bar = np.exp(delta[:, None] * A)
    B_bar = (A_bar - 1) / (delta[:, None] * A) * delta[:, None] * B[None, :]
    h = A_bar * h + B_bar * u[:, None]
    y = h @ C + p["d"] * u
    return y, h


def _step(net):
    """The cell's step as f(params, input, state) -> (output, state)."""
    name, phi = net.cell_name, get_activation(net.activation).forward
    if name == "rnn":
        return lambda p, x, s: rnn_step(p, x, s, phi)
    if name == "indrnn":
        return lambda p, x, s: indrnn_step(p, x, s, phi)
    if name == "jordan":
        return lambda p, x, s: jordan_step(p, x, s, phi)
    if name == "lstm":
        return lambda p, x, s: lstm_step(p, x, *s)
    steps = {"gru": gru_step, "mingru": mingru_step, "minlstm": minlstm_step,
             "lru": lru_step, "s6": s6_step}
    return steps[name]


def _initial(net) -> object:
    H = net.hidden_size
    if net.cell_name == "lstm":
        return np.zeros(H), np.zeros(H)
    if net.cell_name == "lru":
        return np.zeros(H, dtype=complex)
    if net.cell_name == "s6":
        return np.zeros((H, net.cell.N))
    return np.zeros(H)


def run(net, x: np.ndarray) -> np.ndarray:
    """The network's output for one sequence x (T, input), zero initial state, by the
    reference steps: layers stacked, a reverse direction reading time backwards."""
    step, inp = _step(net), np.asarray(x, dtype=np.float64)
    for layer in range(net.num_layers):
        outs = []
        for d in range(net.num_directions):
            p, state, ys = net.layer_params(layer, d), _initial(net), []
            for x_t in (inp[::-1] if d else inp):
                y, state = step(p, x_t, state)
                ys.append(y)
            outs.append(np.array(ys[::-1] if d else ys))
        inp = np.concatenate(outs, axis=-1)
    return inp
