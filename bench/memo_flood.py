"""Memory the worker's memos keep after a flood of large, all-distinct error events.

    uv run python bench/memo_flood.py --events 3000

Each event: 20 frames whose paths, module, function and context line are random text (200 to
300 characters each) with 2.4 KB of variables, a 1.8 KB message and a 1.5 KB exception value,
processed in-process (normalise, scrub, group, title; nothing stored). Prints what tracemalloc
sees retained afterwards, and what clearing each memo frees, beside its byte bound.
"""

from __future__ import annotations

import argparse
import gc
import os
import random
import string
import time
import tracemalloc
from typing import Any

import orjson

from vedette.domain.envelope import parse_envelope
from vedette.processing import scrub, trim, value_rules
from vedette.processing.grouping import frames, parameterize
from vedette.processing.interfaces import stacktrace
from vedette.processing.pipeline import ProcessingConfig, process_envelope


def envelope(rnd: random.Random, i: int) -> bytes:
    def word(n: int) -> str:
        return "".join(rnd.choice(string.ascii_letters) for _ in range(n))

    stack = [
        {"filename": f"{word(200)}.py", "abs_path": f"/srv/{word(300)}.py", "module": word(200),
         "function": word(200), "lineno": i, "context_line": word(300),
         "vars": {word(40): word(1500), "x": word(900)}}
        for _ in range(20)
    ]  # fmt: skip
    event: dict[str, Any] = {
        "event_id": os.urandom(16).hex(),
        "platform": "python",
        "message": f"{word(1800)} {i}",
        "exception": {"values": [{"type": word(30), "value": word(1500),
                                  "stacktrace": {"frames": stack}}]},
        "tags": {word(30): word(150) for _ in range(5)},
        "extra": {word(20): word(3000)},
    }  # fmt: skip
    payload = orjson.dumps(event)
    header = orjson.dumps({"event_id": event["event_id"]})
    item = orjson.dumps({"type": "event", "length": len(payload)})
    return b"\n".join([header, item, payload, b""])


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--events", type=int, default=3000)
    args = parser.parse_args()
    rnd = random.Random(1)
    envelopes = [envelope(rnd, i) for i in range(args.events)]
    config = ProcessingConfig()
    gc.collect()
    tracemalloc.start()
    base = tracemalloc.get_traced_memory()[0]
    cpu = time.process_time()
    for data in envelopes:
        process_envelope(parse_envelope(data), time.time(), None, config)
    cpu = time.process_time() - cpu
    gc.collect()
    held = tracemalloc.get_traced_memory()[0]
    mib = 1024 * 1024
    print(f"{args.events} events ({cpu / args.events * 1000:.1f} ms CPU each, traced):"
          f" {(held - base) / mib:.1f} MiB retained")  # fmt: skip
    memos: list[tuple[str, Any]] = [
        ("frame heads", stacktrace.FRAME_HEADS),
        ("stack flags", frames._STACK_FLAGS),
        ("stack variants", frames._STACK_VARIANTS),
        ("frame components", frames._cached_frame_component.memo),
        ("built-in rule matches", frames._builtin_matches.memo),
        ("scrubbing decisions", value_rules.SCAN_DECISIONS),
        ("bag texts", trim.BAG_TEXTS),
        ("messages", parameterize._normalize_message.memo),
        ("value rules (short)", value_rules.apply_short_value_rules),
        ("sensitive keys", value_rules._cached_is_sensitive_key),
        ("key rules", scrub._default_key_rule),
    ]
    for name, memo in memos:
        bound = getattr(memo, "max_weight", None)
        (memo.cache_clear if hasattr(memo, "cache_clear") else memo.clear)()
        gc.collect()
        now = tracemalloc.get_traced_memory()[0]
        limit = f"bound {bound / mib:.0f} MiB" if bound else "entries x length bound"
        print(f"  {name}: {(held - now) / mib:.1f} MiB ({limit})")
        held = now
    print(f"  everything else: {(held - base) / mib:.1f} MiB")


if __name__ == "__main__":
    main()
