"""The traces sampler: health checks never, an upstream decision always, then per-path rates.

Order matters: a sampler that ignores ``parent_sampled`` drops a request whose caller sampled
its trace (``sentry-trace: ...-1``) as often as its own rate says (9 times in 10 at 0.1), and
the distributed trace breaks. Health probes come first all the same: an upstream that traces its
probes should not make this service trace them.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any


class PathSampler:
    """``traces_sampler`` for sentry-sdk: ``sampler(sampling_context) -> rate``."""

    def __init__(
        self,
        default_rate: float,
        rules: Mapping[str, float] | None = None,
        untraced_paths: Iterable[str] = (),
    ) -> None:
        self.default_rate = default_rate
        # Longest prefix first, so "/api/v1/search" beats "/api".
        self.rules = sorted((rules or {}).items(), key=lambda item: -len(item[0]))
        self.untraced = tuple(p.rstrip("/") or "/" for p in untraced_paths)
        # Called for every request: one set lookup and one C-level startswith.
        self._exact = frozenset(self.untraced)
        self._below = tuple(p if p.endswith("/") else p + "/" for p in self.untraced)

    def is_untraced(self, path: str) -> bool:
        return path in self._exact or path.startswith(self._below)

    def rate_for_path(self, path: str) -> float:
        for prefix, rate in self.rules:
            if path.startswith(prefix):
                return rate
        return self.default_rate

    def __call__(self, sampling_context: Mapping[str, Any]) -> float:
        asgi_scope = sampling_context.get("asgi_scope")
        path = asgi_scope.get("path") if isinstance(asgi_scope, Mapping) else None
        if isinstance(path, str) and self.is_untraced(path):
            return 0.0
        parent = sampling_context.get("parent_sampled")
        if parent is not None:
            return 1.0 if parent else 0.0
        if isinstance(path, str):
            return self.rate_for_path(path)
        return self.default_rate
