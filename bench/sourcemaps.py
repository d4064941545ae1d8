"""What source-map symbolication costs the digest: a browser error of 20 minified frames mapped
through one source map of about 1 MB, with the worker's caches cold and warm.

    uv run python bench/sourcemaps.py --events 200 --rounds 5

A generated app (60 modules, a call chain through 20 of them whose last step throws) is bundled
by the real esbuild of tests/e2e/sdk_scenarios/node (minified, with its map) and run under node
for the real positions of its 20 frames. The bundle and its map are stored as an artifact
bundle (a zip with sentry-cli's manifest) through the storage of a fresh migrated SQLite
database, and each event is processed as the worker does it (parse, normalise, symbolicate,
scrub, group, summarise; storing the result left out): without symbolication, with a fresh
``SourceMapStore`` per event (cold: the bundle read from the database, its manifest and the map
parsed) and with one store for all events (warm, a new batch every 200 events as the worker).
Wall time per event, medians of the rounds.
"""

from __future__ import annotations

import argparse
import io
import json
import re
import statistics
import subprocess
import sys
import tempfile
import time
import zipfile
from collections.abc import Callable
from pathlib import Path

import orjson

from vedette.domain.envelope import parse_envelope
from vedette.domain.uploads import sha1_hex
from vedette.processing.pipeline import ProcessingConfig, process_envelope
from vedette.settings import Settings
from vedette.spool.source_maps import SourceMapStore
from vedette.storage import accounts, uploads
from vedette.storage.migrate import upgrade
from vedette.stores import open_storage

NODE_DIR = Path(__file__).parents[1] / "tests" / "e2e" / "sdk_scenarios" / "node"
ESBUILD = NODE_DIR / "node_modules" / ".bin" / "esbuild"
URL = "https://shop.example.com/static/app.js"
RELEASE = "bench@1.0.0"
MODULES, DEPTH, HELPERS = 60, 20, 40


def write_app(root: Path) -> Path:
    """60 modules of 40 helpers each; ``step{i}`` of module i calls module i+1's, 20 deep."""
    for m in range(MODULES):
        lines = []
        if m + 1 < DEPTH:
            lines.append(f'import {{ step{m + 1} }} from "./module{m + 1}.js";')
        for h in range(HELPERS):
            lines.append(
                f"export function helper{m}_{h}(order, rate) {{\n"
                f"  const label = `order ${{order.id}} in module {m}, helper {h}`;\n"
                f"  const total = order.items.reduce((sum, item) => sum + item.price * rate, 0);\n"
                f"  return {{ label, total: Math.round(total * 100) / 100, module: {m} }};\n"
                f"}}"
            )
        if m < DEPTH:
            last = (
                f"return step{m + 1}(order, depth + 1);"
                if m + 1 < DEPTH
                else 'throw new Error("checkout failed at depth " + depth);'
            )
            lines.append(
                f"export function step{m}(order, depth) {{\n"
                f"  const summary = helper{m}_{m % HELPERS}(order, 1.2);\n"
                f"  if (!summary.label) return summary;\n"
                f"  {last}\n"
                f"}}"
            )
        (root / f"module{m}.js").write_text("\n\n".join(lines) + "\n")
    imports = "\n".join(f'import * as m{m} from "./module{m}.js";' for m in range(MODULES))
    entry = root / "index.js"
    entry.write_text(
        f"{imports}\nimport {{ step0 }} from './module0.js';\n"
        "Error.stackTraceLimit = 50;\n"
        f"globalThis.keep = [{', '.join(f'm{m}' for m in range(MODULES))}];\n"
        "try { step0({ id: 7, items: [{ price: 3 }] }, 0); } catch (e) { console.log(e.stack); }\n"
    )
    return entry


def build(root: Path) -> tuple[bytes, bytes, list[tuple[str, int, int]]]:
    """The minified bundle, its map and the (function, line, column) of the bundle's frames
    (most recent first, as node prints them)."""
    entry = write_app(root)
    out = root / "dist" / "app.js"
    subprocess.run(
        [str(ESBUILD), str(entry), "--bundle", "--minify", "--sourcemap", "--format=iife",
         f"--outfile={out}"],
        check=True, capture_output=True, timeout=120,
    )  # fmt: skip
    stack = subprocess.run(
        ["node", str(out)], check=True, capture_output=True, text=True, timeout=60
    ).stdout
    frames = [
        (m[1] or "?", int(m[2]), int(m[3]))
        for m in re.finditer(r"at (?:(\S+) \()?\S*app\.js:(\d+):(\d+)\)?", stack)
    ]
    return out.read_bytes(), (out.parent / "app.js.map").read_bytes(), frames


def bundle_zip(minified: bytes, source_map: bytes) -> bytes:
    """An artifact bundle as sentry-cli builds it (``--url-prefix ~/static``)."""
    manifest = {
        "files": {
            "files/_/_/app.js": {"url": "~/static/app.js", "type": "minified_source",
                                 "headers": {"sourcemap": "app.js.map"}},
            "files/_/_/app.js.map": {"url": "~/static/app.js.map", "type": "source_map",
                                     "headers": {}},
        }
    }  # fmt: skip
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("manifest.json", json.dumps(manifest))
        archive.writestr("files/_/_/app.js", minified)
        archive.writestr("files/_/_/app.js.map", source_map)
    return out.getvalue()


def envelope(frames: list[tuple[str, int, int]], number: int) -> bytes:
    event_id = f"{number:032x}"
    event = {
        "event_id": event_id,
        "platform": "javascript",
        "release": RELEASE,
        "exception": {"values": [{"type": "Error", "value": "checkout failed at depth 19",
                                  "stacktrace": {"frames": [
            {"filename": URL, "function": name, "lineno": line, "colno": column, "in_app": True}
            for name, line, column in reversed(frames)
        ]}}]},
    }  # fmt: skip
    body = orjson.dumps(event)
    header = orjson.dumps({"event_id": event_id})
    item = orjson.dumps({"type": "event", "length": len(body)})
    return b"\n".join([header, item, body]) + b"\n"


def timed(events: list[bytes], config: Callable[[], ProcessingConfig]) -> float:
    """Milliseconds per event of processing ``events``, each with ``config()``."""
    started = time.perf_counter()
    for data in events:
        process_envelope(parse_envelope(data), time.time(), None, config())
    return (time.perf_counter() - started) / len(events) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--events", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        minified, source_map, frames = build(Path(tmp))
        frames = frames[:DEPTH]
        assert len(frames) == DEPTH, frames
        storage = open_storage(Settings(data_dir=Path(tmp)))
        upgrade(storage.db)
        data = bundle_zip(minified, source_map)
        with storage.db.write() as conn:
            project = accounts.create_project(conn, "bench", "bench")
            checksum = sha1_hex(data)
            uploads.save_chunks(conn, project.organization_id, {checksum: data}, time.time())
            new = uploads.NewFile(project.organization_id, project.id, "artifact_bundle",
                                  checksum, "bundle.zip", RELEASE)  # fmt: skip
            uploads.add_file(conn, new, [checksum], len(data), time.time())
        print(f"bundle {len(minified) / 1e3:.0f} KB minified, map {len(source_map) / 1e6:.2f} MB,"
              f" {len(frames)} frames; {args.events} events x {args.rounds} rounds")  # fmt: skip
        events = [envelope(frames, n) for n in range(args.events)]
        warm_store = SourceMapStore(storage.db)
        check = process_envelope(parse_envelope(events[0]), time.time(), None, ProcessingConfig(
            symbolicate=warm_store.symbolicate_for(project.id)))  # fmt: skip
        mapped = check.errors[0].event["exception"]["values"][0]["stacktrace"]["frames"]
        assert all(f.get("data", {}).get("symbolicated") for f in mapped), mapped[-1]

        def cold() -> ProcessingConfig:
            fresh = SourceMapStore(storage.db)
            return ProcessingConfig(symbolicate=fresh.symbolicate_for(project.id))

        count = 0

        def warm() -> ProcessingConfig:
            nonlocal count
            count += 1
            if count % 200 == 0:
                warm_store.new_batch()
            return ProcessingConfig(symbolicate=warm_store.symbolicate_for(project.id))

        results: dict[str, list[float]] = {"none": [], "cold": [], "warm": []}
        for _ in range(args.rounds):
            results["none"].append(timed(events, ProcessingConfig))
            results["cold"].append(timed(events[: max(20, args.events // 10)], cold))
            results["warm"].append(timed(events, warm))
        storage.dispose()
    base = statistics.median(results["none"])
    for name, values in results.items():
        value = statistics.median(values)
        print(f"{name:>5}: {value:8.3f} ms per event ({value - base:+.3f} ms)")


if __name__ == "__main__":
    sys.exit(main())
