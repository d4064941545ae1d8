"""Memory and CPU of a server's whole process tree, read from /proc (Linux).

A target is every process started for it and their descendants: `vedette serve` and its
worker (in older code also multiprocessing's resource tracker); Bugsink's gunicorn master, its
workers and `bugsink-runsnappea`. Memory is the sum of their resident set sizes (shared pages
counted in each process, as `ps` and the issue's figures count them). PostgreSQL runs outside
the tree and is not counted.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterable
from pathlib import Path

PAGE = os.sysconf("SC_PAGE_SIZE")
TICKS = os.sysconf("SC_CLK_TCK")


def _stat_fields(pid: int) -> list[str] | None:
    """The fields of /proc/PID/stat after the command name (which may hold spaces)."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:  # gone meanwhile
        return None
    return text.rpartition(")")[2].split()


def descendants(roots: Iterable[int]) -> list[int]:
    """``roots`` and every process below them."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit() and (fields := _stat_fields(int(entry))) is not None:
            children.setdefault(int(fields[1]), []).append(int(entry))
    found: list[int] = []
    todo = list(roots)
    while todo:
        pid = todo.pop()
        found.append(pid)
        todo.extend(children.get(pid, ()))
    return found


def rss_bytes(pids: Iterable[int]) -> int:
    total = 0
    for pid in pids:
        try:
            resident = Path(f"/proc/{pid}/statm").read_text().split()[1]
        except (OSError, IndexError):
            continue
        total += int(resident) * PAGE
    return total


def cpu_seconds(pids: Iterable[int]) -> float:
    """User and system CPU time the processes have used so far (their own, not children's)."""
    total = 0
    for pid in pids:
        fields = _stat_fields(pid)
        if fields is not None:
            total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / TICKS


def command_line(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""


def digesters(roots: Iterable[int]) -> list[int]:
    """The processes that digest: Vedette's worker (`vedette.worker_process`, or in older code
    multiprocessing's `spawn_main` child) or Bugsink's snappea, with their descendants."""
    names = ("vedette.worker_process", "spawn_main", "runsnappea")
    matched = [
        pid for pid in descendants(roots) if any(name in command_line(pid) for name in names)
    ]
    return descendants(matched)


class PeakMemory:
    """Samples the tree's total RSS every ``interval`` seconds in a thread; keeps the peak."""

    def __init__(self, pids: Callable[[], list[int]], interval: float = 0.2) -> None:
        self._pids = pids
        self._interval = interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self.peak = 0

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, rss_bytes(self._pids()))
            self._stop.wait(self._interval)

    def __enter__(self) -> PeakMemory:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
