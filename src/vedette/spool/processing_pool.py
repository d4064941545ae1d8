"""Helper processes for the worker's pure processing step (issue 18): a second core digests.

Processing an envelope (decompress, parse, normalise, scrub, group) is four fifths of the
worker's time per batch and a pure function of the spool entry and its project's settings.
When a batch is large (a backlog), the worker hands chunks of it to helper processes and
processes the rest itself; it then stores every result and acknowledges the batch in its one
transaction, as without helpers: durability, ordering and dead-lettering do not change. A
helper that dies takes nothing with it: its chunk is processed by the worker instead, and
nothing is stored before the whole batch is processed.

Helpers are plain children speaking over their standard input and output (length-prefixed
pickles), not multiprocessing (named semaphores left in /dev/shm after kill -9, and a resource
tracker process). They import processing alone, never storage: entries whose project has
uploaded source maps (symbolication reads the database) stay with the worker, the others are
symbolicated by helpers against no uploads, which is what the worker finds for them. A helper
ends at the end of its input: when the worker stops it, and when the worker dies.

    python -P -c "from vedette.spool.processing_pool import helper_main; helper_main()" GC
"""

from __future__ import annotations

import contextlib
import dataclasses
import fcntl
import functools
import gc
import io
import logging
import os
import pickle
import select
import signal
import struct
import subprocess
import sys
import time
import traceback
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any

from vedette.domain.envelope import parse_envelope
from vedette.domain.processed import ProcessedEnvelope
from vedette.processing.pipeline import ProcessingConfig, process_envelope
from vedette.processing.sourcemaps import Artifact, SourceMapSymbolicator, new_cache
from vedette.spool.gc_tuning import tune_garbage_collector
from vedette.spool.payloads import envelope_of

log = logging.getLogger(__name__)

# What processing one entry gave: its result, or the traceback that dead-letters it.
Outcome = ProcessedEnvelope | str

_LENGTH = struct.Struct("=Q")


@dataclass(frozen=True, slots=True)
class Job:
    """One spool entry as a helper receives it; ``config`` has no ``symbolicate``."""

    entry_id: int
    received_at: float
    client_ip: str | None
    payload: bytes
    config: ProcessingConfig


@dataclass(frozen=True, slots=True)
class PoolConfig:
    processes: int = 0  # 0: the worker processes every entry itself
    # Helpers start for batches of at least this many entries (a backlog): small batches, as
    # the test suite's servers and a keeping-up worker see, never pay for them.
    min_batch: int = 64
    chunk: int = 8  # entries per message: small enough that the worker balances the load
    idle_seconds: float = 30.0  # helpers unused this long are stopped


def process_spooled(
    payload: bytes, received_at: float, client_ip: str | None, config: ProcessingConfig
) -> ProcessedEnvelope:
    """The pure step, in the worker or in a helper."""
    return process_envelope(parse_envelope(envelope_of(payload)), received_at, client_ip, config)


class NoUploads:
    """The ``ArtifactLookup`` of a project without uploaded files, as the worker's
    (spool.source_maps) finds it: symbolication still marks frames and notes what is
    missing."""

    def by_debug_id(self, debug_id: str, kind: str) -> Artifact | None:
        return None

    def by_url(self, release: str, dist: str | None, candidates: Sequence[str]) -> Artifact | None:
        return None


def run_job(job: Job) -> Outcome:
    """A helper's processing of one entry; an exception is the entry's poison."""
    symbolicator = SourceMapSymbolicator(NoUploads(), new_cache())
    config = replace(job.config, symbolicate=symbolicator.symbolicate)
    try:
        return process_spooled(job.payload, job.received_at, job.client_ip, config)
    except Exception:
        return traceback.format_exc()


# -- the wire: one message is a length and a pickle ------------------------------------------


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


@functools.cache
def _init_order(cls: type) -> tuple[str, ...]:
    """The fields of a dataclass that its ``__init__`` takes positionally, all of them and
    nothing else; () if it takes others or does more (then pickle's own way is used)."""
    fields = dataclasses.fields(cls)
    plain = (
        len(fields) == len(cls.__dataclass_fields__)  # type: ignore[attr-defined]
        and all(f.init and not f.kw_only for f in fields)
        and not hasattr(cls, "__post_init__")
    )
    return tuple(f.name for f in fields) if plain else ()


class _Pickler(pickle.Pickler):
    """Dataclasses rebuilt by their ``__init__`` from a tuple: unpickling a result in the
    worker is its cost of a helper's work, and the default for slotted dataclasses (a
    ``__setstate__`` in Python, looking up the fields each time) took twice as long for a
    transaction's spans."""

    def reducer_override(self, obj: Any) -> Any:
        cls = type(obj)
        names = _init_order(cls) if dataclasses.is_dataclass(cls) else ()
        if not names:
            return NotImplemented
        return cls, tuple(getattr(obj, name) for name in names)


def send(fd: int, message: object) -> None:
    buffer = io.BytesIO()
    buffer.write(bytes(_LENGTH.size))
    _Pickler(buffer, pickle.HIGHEST_PROTOCOL).dump(message)
    buffer.seek(0)
    buffer.write(_LENGTH.pack(len(buffer.getbuffer()) - _LENGTH.size))
    _write_all(fd, buffer.getvalue())


def _read_exactly(fd: int, size: int) -> bytes | None:
    parts: list[bytes] = []
    while size:
        part = os.read(fd, min(size, 1 << 20))
        if not part:
            return None
        parts.append(part)
        size -= len(part)
    return b"".join(parts)


def receive(fd: int) -> bytes:
    """The next message, still pickled; ``EOFError`` when the other side has gone."""
    header = _read_exactly(fd, _LENGTH.size)
    body = None if header is None else _read_exactly(fd, _LENGTH.unpack(header)[0])
    if body is None:
        raise EOFError
    return body


def helper_main() -> None:
    """A helper: process the chunks the worker sends until its input ends."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # a terminal's ^C: the worker stops us
    tune_garbage_collector(int(sys.argv[1]))
    out = os.dup(1)
    os.dup2(2, 1)  # a stray print must not corrupt the results
    try:
        send(out, None)  # ready: imports are done
        while True:
            jobs = pickle.loads(receive(0))
            send(out, [(job.entry_id, run_job(job)) for job in jobs])
    except (EOFError, BrokenPipeError):
        return  # the worker stopped us, or died


# -- the worker's side -----------------------------------------------------------------------


PIPE_BYTES = 1 << 20  # Linux's largest for unprivileged processes (fs.pipe-max-size)


def _enlarge_pipe(fd: int) -> None:
    """A chunk's results (400 KB for 8 large errors) fit in the pipe at once: with the default
    64 KB, the worker reading them waited for the helper to be scheduled again at every 64 KB,
    which on busy cores cost more than the processing the helper saved."""
    with contextlib.suppress(OSError, AttributeError):  # another system, or a lower limit
        fcntl.fcntl(fd, fcntl.F_SETPIPE_SZ, PIPE_BYTES)


def _unpickle_trees(message: bytes) -> Any:
    """Unpickle without the cyclic garbage collector: results are trees (JSON-like events,
    dataclasses), so it would find nothing, but their allocations set it off every few
    entries, and each time it went through the batch's results so far. Without it,
    unpickling a large error's result costs the worker 0.15 ms instead of 0.45 to 0.6 ms."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        return pickle.loads(message)
    finally:
        if enabled:
            gc.enable()


class HelperGone(Exception):
    """A helper's pipe broke: it died (or was killed)."""


class Helper:
    """One helper process and the chunk it is working on."""

    def __init__(self, gc_threshold: int) -> None:
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-P",
                "-c",
                "from vedette.spool.processing_pool import helper_main; helper_main()",
                str(gc_threshold),
            ],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            bufsize=0,
        )
        assert self.process.stdin is not None and self.process.stdout is not None
        self.input = self.process.stdin.fileno()
        self.output = self.process.stdout.fileno()
        for fd in (self.input, self.output):
            _enlarge_pipe(fd)
        self.ready = False
        self.chunk: list[Job] | None = None

    def send(self, chunk: list[Job]) -> None:
        try:
            send(self.input, chunk)
        except OSError as e:  # BrokenPipeError: it died
            raise HelperGone from e
        self.chunk = chunk

    def receive(self) -> bytes:
        """Its next message, still pickled: the ready signal (None, its first) or its
        chunk's outcomes."""
        try:
            message = receive(self.output)
        except (EOFError, OSError) as e:
            raise HelperGone from e
        self.ready = True
        self.chunk = None
        return message

    def stop(self) -> None:
        """Close its input (it exits) and wait for it; kill it if it lingers."""
        assert self.process.stdin is not None and self.process.stdout is not None
        with contextlib.suppress(OSError):
            self.process.stdin.close()
        try:
            self.process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.process.stdout.close()


class ProcessingPool:
    """The worker's helpers, started for large batches and stopped when idle."""

    def __init__(self, config: PoolConfig, gc_threshold: int) -> None:
        self._config = config
        self._gc_threshold = gc_threshold
        self._helpers: list[Helper] = []
        self._last_used = 0.0
        self.by_helpers = 0  # entries processed by helpers so far

    @property
    def pids(self) -> list[int]:
        return [h.process.pid for h in self._helpers]

    def wants(self, batch: int) -> bool:
        """Whether a batch of this many entries is shared with helpers."""
        return self._config.processes > 0 and batch >= self._config.min_batch

    def process(
        self, jobs: Sequence[Job], local_only: Sequence[int], local: Callable[[int], Outcome]
    ) -> dict[int, Outcome]:
        """Every entry's outcome, by entry id: ``jobs`` by helpers or by the worker
        (``local(entry id)``), whichever is free first; ``local_only`` by the worker."""
        self._start()
        self._last_used = time.monotonic()
        size = self._config.chunk
        queue = deque(list(jobs[i : i + size]) for i in range(0, len(jobs), size))
        mine = list(local_only)
        outcomes: dict[int, Outcome] = {}
        try:
            while queue or mine or self._busy():
                self._collect(outcomes, queue, block=False)
                self._hand_out(queue)
                if not mine and queue:  # from the end: helpers take from the front
                    mine = [job.entry_id for job in queue.pop()]
                if mine:  # one entry between looks at the helpers: none waits long for more
                    entry_id = mine.pop()
                    outcomes[entry_id] = local(entry_id)
                elif self._busy():
                    self._collect(outcomes, queue, block=True)
        except BaseException:
            self.close()  # no chunk of this batch may be taken for the next one's
            raise
        return outcomes

    def stop_if_idle(self) -> None:
        if self._helpers and time.monotonic() - self._last_used > self._config.idle_seconds:
            self.close()

    def close(self) -> None:
        for helper in self._helpers:
            helper.stop()
        self._helpers = []

    def _start(self) -> None:
        while len(self._helpers) < self._config.processes:
            self._helpers.append(Helper(self._gc_threshold))

    def _busy(self) -> bool:
        return any(h.chunk is not None for h in self._helpers)

    def _hand_out(self, queue: deque[list[Job]]) -> None:
        for helper in list(self._helpers):
            if queue and helper.ready and helper.chunk is None:
                chunk = queue.popleft()
                try:
                    helper.send(chunk)
                except HelperGone:
                    queue.appendleft(chunk)
                    self._drop(helper)

    def _collect(
        self, outcomes: dict[int, Outcome], queue: deque[list[Job]], *, block: bool
    ) -> None:
        """Take the messages of the helpers that have one (wait for one if ``block``); the
        chunk of a helper that died goes back to the queue."""
        poller = select.poll()
        by_fd = {h.output: h for h in self._helpers if h.chunk is not None or not h.ready}
        for fd in by_fd:
            poller.register(fd, select.POLLIN)
        for fd, _event in poller.poll(None if block else 0):
            helper = by_fd[fd]
            if helper not in self._helpers:  # dropped meanwhile (its pipe broke in _hand_out)
                continue
            chunk = helper.chunk
            try:
                message = helper.receive()
            except HelperGone:
                if chunk is not None:
                    queue.appendleft(chunk)
                self._drop(helper)
                continue
            self._hand_out(queue)  # first: the helper works while the worker unpickles
            received: list[tuple[int, Outcome]] = _unpickle_trees(message) or []
            outcomes.update(received)
            self.by_helpers += len(received)

    def _drop(self, helper: Helper) -> None:
        log.warning("processing helper %d is gone; the worker takes its work", helper.process.pid)
        self._helpers.remove(helper)
        helper.stop()
