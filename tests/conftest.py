"""Make the project root importable (engine/, app/) without installing a package."""

import os
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

# One torch thread, as the Training lab uses (app/training.py): on a shared 2-core machine
# torch's intra-op threads made a small training ~25x slower (20 s against 0.8 s).
import torch  # noqa: E402

torch.set_num_threads(1)

# The run store (engine.store) of the tests' app and servers: a fresh folder per session,
# never the checkout's data/ folder.
os.environ.setdefault("UNROLLED_DATA", tempfile.mkdtemp(prefix="unrolled-test-data-"))

from tests.ray_cluster import ray_head  # noqa: E402, F401 - a loopback Ray head, for any test
