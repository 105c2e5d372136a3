"""Shared checks for the engine tests."""

import numpy as np


def assert_close(actual, expected, rel=1e-10, what=""):
    """max |a - e| <= rel * max(1, max |e|): relative to the array's scale, robust near zero.
    Complex arrays compare as complex (both parts)."""
    dtype = np.complex128 if np.iscomplexobj(actual) or np.iscomplexobj(expected) else np.float64
    actual = np.asarray(actual, dtype=dtype)
    expected = np.asarray(expected, dtype=dtype)
    assert actual.shape == expected.shape, f"{what}: shape {actual.shape} != {expected.shape}"
    scale = max(1.0, float(np.max(np.abs(expected))) if expected.size else 1.0)
    err = float(np.max(np.abs(actual - expected))) if expected.size else 0.0
    assert err <= rel * scale, f"{what}: max error {err:.3e} > {rel:.0e} * {scale:.3e}"


def assert_torch_module_is_the_cell(net, rng) -> tuple:
    """The Training lab's torch module for ``net`` (``net.to_torch()``): its output, final
    state (complex for the LRU) and gradients equal the engine's (float64), and the
    weights come back unchanged through ``Network.from_torch``. Returns (module, x, trace)."""
    import torch

    from engine import Network

    module = net.to_torch()
    x = rng.standard_normal((7, 2, net.input_size))
    xt = torch.tensor(x, requires_grad=True)
    out, h_n = module(xt)
    trace = net.run(x)
    assert_close(trace.output, out.detach().numpy(), what="output")
    want = h_n.detach().numpy()
    assert_close(trace.h_n.real, want.real, what="h_n")
    assert_close(np.imag(trace.h_n), np.imag(want), what="Im h_n")  # the LRU's is complex
    g = rng.standard_normal(out.shape)
    out.backward(torch.tensor(g))
    grads = trace.backward(g)
    for name, param in module.named_parameters():
        assert_close(grads.params[name], param.grad.numpy(), what=name)
    assert_close(grads.input, xt.grad.numpy(), what="input grad")
    back = Network.from_torch(module)
    assert back.cell_name == net.cell_name and back.num_layers == net.num_layers
    assert back.bidirectional == net.bidirectional
    assert all(np.array_equal(back.params[k], net.params[k]) for k in net.params)
    return module, x, trace
