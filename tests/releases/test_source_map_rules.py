"""The pure parts of symbolication, table by table: URL matching, artifact bundles, frame
mapping and the in-app rules, over real esbuild output (tests/fixtures/sourcemaps/dist, built
from tests/fixtures/sourcemaps/app with ``esbuild app/index.js --bundle --minify --sourcemap
--format=esm --platform=node --outfile=dist/app.mjs``)."""

from __future__ import annotations

import base64
import hashlib
import io
import json
import zipfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

from vedette.processing.sourcemap_bundles import (
    MAX_BUNDLE_FILES,
    BundleIndex,
    entry_count,
    normalize_debug_id,
    read_file,
    read_index,
)
from vedette.processing.sourcemap_urls import (
    data_url_bytes,
    display_filename,
    lookup_candidates,
    resolve_reference,
    source_mapping_reference,
)
from vedette.processing.sourcemaps import Artifact, SourceMapSymbolicator, new_cache

DIST = Path(__file__).parents[1] / "fixtures" / "sourcemaps" / "dist"
MINIFIED = (DIST / "app.mjs").read_bytes()
SOURCE_MAP = (DIST / "app.mjs.map").read_bytes()
URL = "https://shop.example.com/static/app.mjs"
DEBUG_ID = "f44df816-858b-5ef5-b4a6-8b9cae114d6f"


@pytest.mark.parametrize(
    ("url", "candidates"),
    [
        (URL, [URL, "~/static/app.mjs"]),
        ("https://cdn.example.com/a/b.js?v=3", ["https://cdn.example.com/a/b.js?v=3",
                                                "~/a/b.js?v=3", "~/a/b.js"]),
        ("file:///srv/dist/app.mjs", ["file:///srv/dist/app.mjs", "~/srv/dist/app.mjs"]),
        ("/srv/app/dist/app.mjs", ["/srv/app/dist/app.mjs", "~/srv/app/dist/app.mjs"]),
        ("app:///dist/app.js", ["app:///dist/app.js", "~/dist/app.js"]),
        ("~/static/app.js", ["~/static/app.js"]),
    ],
)  # fmt: skip
def test_lookup_candidates_drop_scheme_and_host(url: str, candidates: list[str]) -> None:
    assert lookup_candidates(url) == candidates


@pytest.mark.parametrize(
    ("base", "reference", "resolved"),
    [
        (URL, "app.mjs.map", "https://shop.example.com/static/app.mjs.map"),
        (URL, "/maps/app.mjs.map", "https://shop.example.com/maps/app.mjs.map"),
        ("https://shop.example.com/static/app.mjs.map", "../src/x.js",
         "https://shop.example.com/src/x.js"),
        ("/srv/app/dist/app.mjs.map", "../app/lib/format.js", "/srv/app/app/lib/format.js"),
        ("~/static/app.mjs", "app.mjs.map", "~/static/app.mjs.map"),
        (URL, "webpack://shop/./src/x.js", "webpack://shop/./src/x.js"),
        (URL, "data:application/json;base64,e30=", "data:application/json;base64,e30="),
    ],
)  # fmt: skip
def test_references_resolve_against_the_file_url(base: str, reference: str, resolved: str) -> None:
    assert resolve_reference(base, reference) == resolved


@pytest.mark.parametrize(
    ("source", "reference"),
    [
        (MINIFIED, "app.mjs.map"),
        (b"var a=1;\n//@ sourceMappingURL=old.js.map\n", "old.js.map"),
        (b"var a=1;\n", None),
        (b"var s='//# sourceMappingURL=inside.map'; f();\n", None),
    ],
)
def test_the_source_mapping_comment_is_read_from_the_tail(
    source: bytes, reference: str | None
) -> None:
    assert source_mapping_reference(source) == reference


@pytest.mark.parametrize(
    ("abs_path", "filename"),
    [
        ("https://shop.example.com/src/lib/format.js", "/src/lib/format.js"),
        ("webpack://shop/./src/lib/format.js", "src/lib/format.js"),
        ("webpack:///src/lib/format.js", "src/lib/format.js"),
        ("~/src/lib/format.js", "/src/lib/format.js"),
        ("/srv/app/src/lib/format.js", "/srv/app/src/lib/format.js"),
    ],
)
def test_display_filename(abs_path: str, filename: str) -> None:
    assert display_filename(abs_path) == filename


@pytest.mark.parametrize(
    ("url", "data"),
    [
        ("data:application/json;base64,eyJhIjoxfQ==", b'{"a":1}'),
        ("data:application/json;charset=utf-8,%7B%22a%22%3A1%7D", b'{"a":1}'),
        ("data:application/json;base64," + "e30=" * 100, None),  # larger than the limit
        ("data:nocomma", None),
    ],
)
def test_inline_maps(url: str, data: bytes | None) -> None:
    assert data_url_bytes(url, limit=64) == data


@pytest.mark.parametrize(
    ("value", "normalized"),
    [
        (DEBUG_ID, DEBUG_ID),
        (DEBUG_ID.upper().replace("-", ""), DEBUG_ID),
        ("not-a-debug-id", None),
        (42, None),
    ],
)
def test_debug_ids_compare_in_one_spelling(value: object, normalized: str | None) -> None:
    assert normalize_debug_id(value) == normalized


def bundle(files: dict[str, tuple[dict[str, Any], bytes]]) -> bytes:
    """An artifact bundle laid out as sentry-cli writes it."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        manifest = {"files": {path: spec for path, (spec, _) in files.items()}}
        archive.writestr("manifest.json", json.dumps(manifest))
        for path, (_, data) in files.items():
            archive.writestr(path, data)
    return out.getvalue()


def test_a_bundle_is_indexed_by_url_and_debug_id() -> None:
    data = bundle({
        "files/_/_/app.mjs": ({"url": "~/app.mjs", "type": "minified_source",
                               "headers": {"debug-id": DEBUG_ID.upper(),
                                           "Sourcemap": "app.mjs.map"}},
                              MINIFIED),
        "files/_/_/app.mjs.map": ({"url": "~/app.mjs.map", "type": "source_map",
                                   "headers": {"debug-id": DEBUG_ID}}, SOURCE_MAP),
        "files/_/_/gone.js": ({"url": "~/gone.js", "type": "minified_source"}, b""),
    })  # fmt: skip
    index = read_index(data.replace(b"files/_/_/gone.js", b"files/_/_/g0ne.js"))
    assert sorted(index.by_url) == ["~/app.mjs", "~/app.mjs.map"]  # a listed file must exist
    entry = index.by_debug_id[(DEBUG_ID, "minified_source")]
    assert entry.headers["sourcemap"] == "app.mjs.map"
    source_map = index.by_debug_id[(DEBUG_ID, "source_map")]
    assert read_file(data, source_map.path, limit=len(SOURCE_MAP)) == SOURCE_MAP
    assert read_file(data, source_map.path, limit=len(SOURCE_MAP) - 1) is None


@pytest.mark.parametrize(
    "data",
    [b"", b"PK\x03\x04 broken", bundle({})[:40]],
    ids=["empty", "broken", "cut"],  # the cut zip holds a time: ids must not (pytest-xdist)
)
def test_a_bundle_that_does_not_read_is_empty(data: bytes) -> None:
    index = read_index(data)
    assert not index.by_url and not index.by_debug_id


class Files:
    """Uploaded files by URL and by debug id, each read at most once by the symbolicator
    thanks to its cache (``loads`` counts the reads)."""

    def __init__(self, by_url: dict[str, bytes], by_debug_id: dict[tuple[str, str], bytes]):
        self.by_url_files, self.by_debug_id_files = by_url, by_debug_id
        self.loads = 0

    def _artifact(self, key: str, data: bytes) -> Artifact:
        def load(limit: int) -> bytes | None:
            self.loads += 1
            return data if len(data) <= limit else None

        # A key names content (as the worker's checksums do): the same key, the same bytes.
        return Artifact(f"{key}@{hashlib.sha1(data).hexdigest()}", key, {}, load)

    def by_debug_id(self, debug_id: str, kind: str) -> Artifact | None:
        data = self.by_debug_id_files.get((debug_id, kind))
        return None if data is None else self._artifact(f"{debug_id}/{kind}", data)

    def by_url(self, release: str, dist: str | None, candidates: Sequence[str]) -> Artifact | None:
        for url in candidates:
            if url in self.by_url_files and release == "1.0":
                return self._artifact(url, self.by_url_files[url])
        return None


def column_of(needle: str) -> tuple[int, int]:
    """The 1-based line and column of ``needle`` in the minified fixture."""
    for number, line in enumerate(MINIFIED.decode().splitlines(), 1):
        if needle in line:
            return number, line.index(needle) + 1
    raise AssertionError(needle)


def event_with(frames: list[dict[str, Any]], **fields: Any) -> dict[str, Any]:
    exception = {"type": "TypeError", "stacktrace": {"frames": frames}}
    return {"platform": "javascript", "exception": {"values": [exception]}, **fields}


def frame_at(needle: str, function: str, url: str = URL) -> dict[str, Any]:
    line, column = column_of(needle)
    return {"abs_path": url, "filename": "/static/app.mjs", "function": function,
            "lineno": line, "colno": column, "in_app": True}  # fmt: skip


@pytest.mark.parametrize(
    ("needle", "minified_name", "expected"),
    [
        ("throw new", "o", ("/app/lib/format.js", "formatPrice", 3, 5)),
        ("o(t)", "t", ("/app/lib/checkout.js", "<anonymous>", 4, 43)),
        ("r.items.map", "e", ("/app/lib/checkout.js", "checkout", 4, 17)),
        ("e({id", "p", ("/app/index.js", "main", 5, 10)),
    ],
)
def test_frames_map_to_the_original_file_function_and_line(
    needle: str, minified_name: str, expected: tuple[str, str, int, int]
) -> None:
    files = Files({"~/static/app.mjs": MINIFIED, "~/static/app.mjs.map": SOURCE_MAP}, {})
    event = event_with([frame_at(needle, minified_name)], release="1.0")
    SourceMapSymbolicator(files, new_cache()).symbolicate(event)
    exception = event["exception"]["values"][0]
    frame = exception["stacktrace"]["frames"][0]
    assert (frame["filename"], frame["function"], frame["lineno"], frame["colno"]) == expected
    assert frame["abs_path"] == "https://shop.example.com" + expected[0]
    assert frame["data"]["sourcemap"] == "https://shop.example.com/static/app.mjs.map"
    assert exception["raw_stacktrace"]["frames"][0]["function"] == minified_name
    assert "errors" not in event


def test_an_inline_map_is_read_from_the_comment() -> None:
    inline = "data:application/json;base64," + base64.b64encode(SOURCE_MAP).decode()
    minified = MINIFIED.replace(b"app.mjs.map", inline.encode())
    files = Files({"~/static/app.mjs": minified}, {})
    event = event_with([frame_at("throw new", "o")], release="1.0")
    SourceMapSymbolicator(files, new_cache()).symbolicate(event)
    frame = event["exception"]["values"][0]["stacktrace"]["frames"][0]
    assert (frame["abs_path"], frame["function"], frame["lineno"]) == (
        "https://shop.example.com/app/lib/format.js", "formatPrice", 3,
    )  # fmt: skip
    assert frame["data"]["sourcemap"] == URL  # its sources are relative to the file


def test_context_comes_from_sources_content_and_long_lines_are_cut() -> None:
    long_map = json.loads(SOURCE_MAP)
    long_map["sourcesContent"][0] = long_map["sourcesContent"][0].replace(
        "  if (typeof", "  " + "/* padding */ " * 40 + "if (typeof"
    )
    files = Files({}, {(DEBUG_ID, "minified_source"): MINIFIED,
                       (DEBUG_ID, "source_map"): json.dumps(long_map).encode()})  # fmt: skip
    images = [{"type": "sourcemap", "code_file": URL, "debug_id": DEBUG_ID}]
    event = event_with([frame_at("throw new", "o")], debug_meta={"images": images})
    SourceMapSymbolicator(files, new_cache()).symbolicate(event)
    frame = event["exception"]["values"][0]["stacktrace"]["frames"][0]
    assert (
        frame["context_line"] == "    throw new TypeError(`Price of ${item.name} is not a number`);"
    )
    assert frame["pre_context"][0] == "export function formatPrice(item) {"
    assert frame["pre_context"][1].endswith(" {snip}") and len(frame["pre_context"][1]) <= 157
    assert frame["post_context"][:2] == [
        "  }",
        "  return `${item.name}: ${item.price.toFixed(2)}`;",
    ]
    assert frame["data"]["resolved_with"] == "debug-id"


@pytest.mark.parametrize(
    ("changes", "mapped", "in_app"),
    [
        ({}, True, True),
        ({"in_app": False}, True, False),  # the SDK's word stands
        ({"abs_path": "https://shop.example.com/node_modules/lib/x.js"}, False, False),
        ({"colno": None}, False, None),  # no column: nothing to look up
        ({"abs_path": "node:internal/process/task_queues"}, False, None),
        ({"platform": "python"}, False, None),
    ],
)  # fmt: skip
def test_which_frames_are_mapped_and_in_app(
    changes: dict[str, Any], mapped: bool, in_app: bool | None
) -> None:
    files = Files({"~/static/app.mjs": MINIFIED, "~/static/app.mjs.map": SOURCE_MAP}, {})
    given = {**frame_at("throw new", "o"), "in_app": None, **changes}
    event = event_with([{k: v for k, v in given.items() if v is not None}], release="1.0")
    SourceMapSymbolicator(files, new_cache()).symbolicate(event)
    result = event["exception"]["values"][0]["stacktrace"]["frames"][0]
    assert bool(result.get("data", {}).get("symbolicated")) is mapped
    assert result.get("in_app") is in_app


def test_a_mapped_node_modules_source_is_not_in_app() -> None:
    vendored = json.loads(SOURCE_MAP)
    vendored["sources"][0] = "../node_modules/pricing/format.js"
    files = Files({"~/static/app.mjs": MINIFIED,
                   "~/static/app.mjs.map": json.dumps(vendored).encode()}, {})  # fmt: skip
    event = event_with([frame_at("throw new", "o")], release="1.0")
    SourceMapSymbolicator(files, new_cache()).symbolicate(event)
    frame = event["exception"]["values"][0]["stacktrace"]["frames"][0]
    assert frame["filename"] == "/node_modules/pricing/format.js"
    assert frame["in_app"] is False


@pytest.mark.parametrize(
    ("by_url", "release", "error"),
    [
        ({"~/static/app.mjs": MINIFIED}, "1.0",
         {"type": "js_no_source", "url": "https://shop.example.com/static/app.mjs.map"}),
        ({"~/static/app.mjs": MINIFIED, "~/static/app.mjs.map": b"{not json"}, "1.0",
         {"type": "js_invalid_source", "url": "https://shop.example.com/static/app.mjs.map"}),
        ({"~/static/app.mjs": b"var a=1;"}, "1.0", {"type": "js_no_source", "url": URL}),
        ({"~/static/app.mjs": MINIFIED, "~/static/app.mjs.map": SOURCE_MAP}, "2.0", None),
    ],
)  # fmt: skip
def test_a_missing_or_broken_map_leaves_the_frame_and_says_why(
    by_url: dict[str, bytes], release: str, error: dict[str, str] | None
) -> None:
    event = event_with([frame_at("throw new", "o"), frame_at("o(t)", "t")], release=release)
    before = json.loads(json.dumps(event))
    SourceMapSymbolicator(Files(by_url, {}), new_cache()).symbolicate(event)
    assert event["exception"] == before["exception"]
    assert event.get("errors") == (None if error is None else [error])  # once per file


def test_a_missing_map_of_a_debug_id_is_reported() -> None:
    images = [{"type": "sourcemap", "code_file": URL, "debug_id": DEBUG_ID}]
    event = event_with([frame_at("throw new", "o")], debug_meta={"images": images})
    files = Files({}, {(DEBUG_ID, "minified_source"): MINIFIED})
    SourceMapSymbolicator(files, new_cache()).symbolicate(event)
    assert event["errors"] == [
        {"type": "js_no_source", "url": "https://shop.example.com/static/app.mjs.map"}
    ]


def test_parsed_maps_are_cached_between_events() -> None:
    files = Files({"~/static/app.mjs": MINIFIED, "~/static/app.mjs.map": SOURCE_MAP}, {})
    cache = new_cache()
    for _ in range(3):
        event = event_with([frame_at("throw new", "o"), frame_at("o(t)", "t")], release="1.0")
        SourceMapSymbolicator(files, cache).symbolicate(event)
        frames = event["exception"]["values"][0]["stacktrace"]["frames"]
        assert [f["function"] for f in frames] == ["formatPrice", "<anonymous>"]
    assert files.loads == 3  # the minified file (for its map reference and scopes), the map
    assert cache.weight >= len(SOURCE_MAP)


@pytest.mark.parametrize(("lineno", "colno"), [(2**32, 5), (1, 2**40), (2**63, 2**63)])
def test_a_position_past_32_bits_is_no_location_not_a_crash(lineno: int, colno: int) -> None:
    """symbolic's lookup takes 32-bit positions and raised OverflowError past them, which
    dead-lettered the whole envelope after its 200."""
    files = Files({"~/static/app.mjs": MINIFIED, "~/static/app.mjs.map": SOURCE_MAP}, {})
    given = {**frame_at("throw new", "o"), "lineno": lineno, "colno": colno}
    event = event_with([given], release="1.0")
    SourceMapSymbolicator(files, new_cache()).symbolicate(event)
    frame = event["exception"]["values"][0]["stacktrace"]["frames"][0]
    assert (frame["lineno"], frame["colno"]) == (lineno, colno)
    assert event["errors"] == [{"type": "js_invalid_source_location", "url": URL}]


def zip_of(count: int) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("manifest.json", json.dumps({"files": {}}))
        for n in range(count - 1):
            archive.writestr(f"f{n}", b"")
    return buffer.getvalue()


@pytest.mark.parametrize("count", [1, 2_000, 70_000])  # the last needs zip64's end record
def test_a_zip_tells_its_entries_from_its_end_records(count: int) -> None:
    assert entry_count(zip_of(count)) == count


@pytest.mark.parametrize("data", [b"", b"not a zip", b"PK\x05\x06"])
def test_bytes_without_an_end_record_have_no_entry_count(data: bytes) -> None:
    assert entry_count(data) is None


def test_a_bundle_of_too_many_entries_is_not_read() -> None:
    """zipfile reads the whole directory at once: a bundle of millions of empty entries took
    the worker to 1.5 GB; past MAX_BUNDLE_FILES the bundle reads as empty, unopened."""
    crowded = zip_of(MAX_BUNDLE_FILES + 2)
    assert read_index(crowded) == BundleIndex()
    assert read_file(crowded, "manifest.json", 1000) is None
    assert read_file(zip_of(3), "manifest.json", 1000) == b'{"files": {}}'
