"""The engine keeps freed memory, so a repeated run does not page-fault its arrays again."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

# Prints the minor page faults of the third LSTM trace + BPTT at T=1000, H=128 (~28 MB).
PROBE = """
import resource
import numpy as np
from engine import Network
net = Network("lstm", input_size=1, hidden_size=128, seed=0)
x = np.random.default_rng(0).standard_normal((1000, 1))
for _ in range(3):
    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    trace = net.run(x)
    trace.backward(np.ones_like(trace.output))
    del trace
print(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
"""


def faults(**env) -> int:
    done = subprocess.run([sys.executable, "-c", PROBE], cwd=ROOT, capture_output=True,
                          text=True, env={**os.environ, **env}, timeout=120, check=True)
    return int(done.stdout.split()[-1])


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's mallopt only")
def test_repeated_runs_reuse_memory_instead_of_faulting_it_in_again():
    kept = faults()
    default = faults(UNROLLED_DEFAULT_MALLOC="1")
    assert default > 2000  # the opt-out really leaves glibc alone: ~28 MB faulted again
    assert kept < default / 10
