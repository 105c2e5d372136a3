"""The server's startup objects leave Python's full collections (app/gc_freeze.py)."""

import gc

from app import gc_freeze


def test_freezes_what_exists_once_and_nothing_later(monkeypatch):
    monkeypatch.setattr(gc_freeze, "_frozen", False)
    try:
        gc_freeze.freeze_once()
        frozen = gc.get_freeze_count()
        assert frozen > 1000  # the modules, classes and caches alive now
        later = [[] for _ in range(100)]
        gc_freeze.freeze_once()  # main.py calls it after every run: only the first counts
        assert gc.get_freeze_count() == frozen and later
    finally:
        gc.unfreeze()
