"""The garbage collector's settings for long-running processes (the server, the worker and its
processing helpers). They are process-wide, so each process applies them once it has started."""

from __future__ import annotations

import gc


def tune_garbage_collector(threshold: int) -> None:
    """What exists once the process has started (modules, configuration, the app) is never
    garbage, so the collector stops looking at it, and young objects are collected less
    often."""
    gc.freeze()
    _, middle, old = gc.get_threshold()
    gc.set_threshold(threshold, middle, old)
