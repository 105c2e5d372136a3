"""Each app test opens its own, empty run store (app.runs): a run stored by one test must
not answer another's Train (the store's sharing has tests of its own)."""

import pytest

from app import runs


@pytest.fixture(autouse=True)
def fresh_run_store(tmp_path, monkeypatch):
    monkeypatch.setenv("UNROLLED_DATA", str(tmp_path / "data"))
    runs.reset()
    yield
    runs.reset()
