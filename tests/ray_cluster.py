"""A real Ray head on loopback for the tests that need a cluster (engine.sweep's Ray
backend, the Training lab on Ray): started by the test in its own process group and ended
with it, so no other Ray instance on the machine is touched; skipped with a reason where
Ray cannot start."""

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def ray_head(monkeypatch):
    """A real Ray head on loopback, started by the test (skipped where Ray cannot start);
    token authentication off, for this head and this client only. ``--block`` keeps the
    head in one process group that the test ends: other Ray instances are left alone."""
    pytest.importorskip("ray")
    ray_bin = Path(sys.executable).with_name("ray")
    if not ray_bin.exists():
        pytest.skip("the ray command is not installed")
    port = _free_port()
    temp = Path(tempfile.mkdtemp(prefix="ray", dir="/tmp"))  # AF_UNIX paths: <= 107 bytes
    monkeypatch.setenv("RAY_AUTH_MODE", "disabled")
    env = {**os.environ, "RAY_USAGE_STATS_ENABLED": "0", "PYTHONPATH": str(ROOT)}
    head = subprocess.Popen(
        [str(ray_bin), "start", "--head", "--block", "--node-ip-address=127.0.0.1",
         f"--port={port}", "--num-cpus=2", "--include-dashboard=false",
         "--disable-usage-stats", f"--temp-dir={temp}"],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True)
    try:
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline and head.poll() is None:
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", port)) == 0:
                    break
            time.sleep(0.3)
        else:
            pytest.skip("ray could not start here: "
                        f"{(head.stderr.read() if head.poll() is not None else b'')[-400:]!r}")
        yield f"127.0.0.1:{port}"
    finally:
        import ray

        ray.shutdown()
        os.killpg(head.pid, signal.SIGTERM)
        try:
            head.wait(timeout=5)
        except subprocess.TimeoutExpired:
            pass
        with contextlib.suppress(ProcessLookupError):
            os.killpg(head.pid, signal.SIGKILL)  # the head's raylet, GCS and workers
        shutil.rmtree(temp, ignore_errors=True)


