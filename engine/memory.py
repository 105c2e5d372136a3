"""Keep freed memory in the process instead of handing it back to the kernel at once.

A trace plus BPTT at T=1000, H=128 allocates about 30 MB of fresh arrays. glibc returns
large freed blocks to the kernel straight away (mmap, heap trimming), so the next run pays
a page fault for every 4 KB it touches again: about 6,000 faults, a third of the engine's
time on a virtual machine (measured: 57 ms instead of 79 ms per run, see
``benchmarks/engine_speed.py``). Raising glibc's two thresholds lets freed blocks be reused.

The cost: up to ``TRIM_BYTES`` of freed memory stays with the process. Blocks larger than
``MMAP_BYTES`` (T=10,000 traces) are still mapped and unmapped as before. Set
``UNROLLED_DEFAULT_MALLOC=1`` to leave the allocator alone. Elsewhere than glibc this is a no-op.
"""

from __future__ import annotations

import ctypes
import os

M_TRIM_THRESHOLD = -1  # glibc's mallopt parameter numbers (malloc.h)
M_MMAP_THRESHOLD = -3
MMAP_BYTES = 32 * 2**20  # glibc's own ceiling for its dynamic threshold
TRIM_BYTES = 64 * 2**20


def keep_freed_memory() -> bool:
    """Raise glibc's mmap and trim thresholds once; True when glibc accepted both."""
    if os.environ.get("UNROLLED_DEFAULT_MALLOC") == "1":
        return False
    try:
        # the process's own symbols, libc's among them (find_library would spawn ldconfig)
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError, TypeError):  # no mallopt: macOS, Windows
        return False
    return bool(mallopt(M_MMAP_THRESHOLD, MMAP_BYTES)) and bool(
        mallopt(M_TRIM_THRESHOLD, TRIM_BYTES))
