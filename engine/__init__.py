"""Unrolled's engine: exact recurrent networks in NumPy, checked against torch.

    import numpy as np
    from engine import Network
    net = Network("lstm", input_size=1, hidden_size=8)
    trace = net.run(np.sin(np.linspace(0, 6, 50))[:, None])
    grads = trace.backward(np.ones_like(trace.output))
    grads.hidden_norm  # (layers, directions, T): ||dL/dh_t||
"""

from . import diagnostics, scan
from .activations import ACTIVATIONS
from .cells import CELLS
from .clipping import Clipped, clip_by_norm, clip_by_value, global_norm
from .init import INITS
from .interventions import Intervention
from .memory import keep_freed_memory
from .network import Gradients, Network, PassTrace, Trace, truncation_blocks

keep_freed_memory()

__all__ = [
    "ACTIVATIONS", "CELLS", "INITS", "Clipped", "Gradients", "Intervention", "Network",
    "PassTrace", "Trace", "clip_by_norm", "clip_by_value", "diagnostics", "global_norm", "scan",
    "truncation_blocks",
]
