"""Source maps end to end: a small app built by the real esbuild, prepared and uploaded by the
real sentry-cli, run under the real @sentry/node against the live server; the stored event's
frames are the original files, functions and lines (docs/releases.md, "Source maps")."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from tests.conftest import LiveVedette, ProjectHandle
from tests.releases.test_sentry_cli_pipeline import sentry_cli
from tests.ui.conftest import Account, make_account, signed_in

pytestmark = pytest.mark.e2e

NODE_DIR = Path(__file__).parents[1] / "e2e" / "sdk_scenarios" / "node"
APP = Path(__file__).parents[1] / "fixtures" / "sourcemaps" / "app"
ESBUILD = NODE_DIR / "node_modules" / ".bin" / "esbuild"

# Loads the SDK from the scenarios' node_modules, then the bundle, whose main() throws.
RUNNER = """
import { createRequire } from "node:module";
const require = createRequire(process.env.SDK_DIR + "/package.json");
const Sentry = require("@sentry/node");
Sentry.init({ dsn: process.env.DSN, release: process.env.RELEASE });
const { main } = await import(process.env.BUNDLE);
try {
  main([{ name: "tea", price: 3 }, { name: "cake", price: "free" }]);
} catch (error) {
  Sentry.captureException(error);
}
await Sentry.flush(10000);
"""


@pytest.fixture(scope="module")
def node() -> str:
    found = shutil.which("node")
    if found is None or not ESBUILD.exists():
        pytest.fail(f"needs node and esbuild (npm ci in {NODE_DIR})")
    return found


def build(workdir: Path, *, minify: list[str], extra_function: bool = False) -> Path:
    """The app (tests/fixtures/sourcemaps/app) bundled into ``workdir/dist/app.mjs`` with its
    map; ``extra_function`` adds one more exported function to the entry point."""
    source = workdir / "src"
    shutil.copytree(APP, source)
    if extra_function:
        with (source / "index.js").open("a") as entry:
            entry.write('\nexport function version() {\n  return "2";\n}\n')
    dist = workdir / "dist"
    subprocess.run(
        [str(ESBUILD), str(source / "index.js"), "--bundle", *minify, "--sourcemap",
         "--format=esm", "--platform=node", f"--outfile={dist / 'app.mjs'}"],
        check=True, capture_output=True, timeout=60,
    )  # fmt: skip
    return dist


def run_app(node: str, project: ProjectHandle, dist: Path, release: str) -> None:
    runner = dist.parent / "run.mjs"
    runner.write_text(RUNNER)
    env = {**os.environ, "SDK_DIR": str(NODE_DIR), "DSN": project.dsn, "RELEASE": release,
           "BUNDLE": str(dist / "app.mjs")}  # fmt: skip
    done = subprocess.run([node, str(runner)], env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr


def issue_page_text(server: LiveVedette, account: Account, issue: dict[str, Any]) -> str:
    visitor = signed_in(server, account)
    try:
        return visitor.page(f"{account.base}/issues/{issue['id']}/").text
    finally:
        visitor.close()


def latest_event(server: LiveVedette, issue: dict[str, Any]) -> dict[str, Any]:
    event: dict[str, Any] = server.api_get(f"/api/0/issues/{issue['id']}/events/latest/")
    return event


def bundle_frames(trace: dict[str, Any]) -> list[dict[str, Any]]:
    """The frames of the minified bundle (@sentry/node names the file in ``filename``)."""
    return [f for f in trace["frames"] if f.get("filename", "").endswith("/dist/app.mjs")]


def test_node_frames_resolve_by_debug_id_and_builds_group_together(
    live_vedette: LiveVedette, node: str, tmp_path: Path
) -> None:
    server = live_vedette
    account = make_account(server, "maps")
    project = account.project
    builds = [
        (tmp_path / "one", ["--minify"], False, "1.0.0"),
        (tmp_path / "two", ["--minify-identifiers", "--minify-syntax"], True, "1.0.1"),
    ]
    for workdir, minify, extra, release in builds:
        workdir.mkdir()
        dist = build(workdir, minify=minify, extra_function=extra)
        cli = lambda *args, cwd=workdir: sentry_cli(server, project, *args, cwd=cwd)  # noqa: E731
        cli("sourcemaps", "inject", str(dist))
        assert "artifact bundle" in cli("sourcemaps", "upload", "--release", release, str(dist))
        run_app(node, project, dist, release)
        server.wait_processed()

    issues = server.issues(project)
    assert [(i["title"], i["count"]) for i in issues] == [
        ("TypeError: Price of cake is not a number", "2")
    ]
    event = latest_event(server, issues[0])
    exception = event["exception"]["values"][0]
    resolved = [
        f for f in exception["stacktrace"]["frames"] if f.get("data", {}).get("symbolicated")
    ]
    assert [(Path(f["filename"]).name, f["function"], f["lineno"]) for f in resolved] == [
        ("index.js", "main", 5),
        ("checkout.js", "checkout", 4),
        ("checkout.js", "<anonymous>", 4),  # the callback of items.map()
        ("format.js", "formatPrice", 3),
    ]
    crash = resolved[-1]
    assert (
        crash["context_line"] == "    throw new TypeError(`Price of ${item.name} is not a number`);"
    )
    assert crash["pre_context"][-1] == '  if (typeof item.price !== "number") {'
    assert crash["post_context"][0] == "  }"
    assert crash["in_app"] is True and crash["data"]["resolved_with"] == "debug-id"
    assert crash["abs_path"].endswith("/two/src/lib/format.js")
    # The minified frames are kept as they arrived.
    raw = bundle_frames(exception["raw_stacktrace"])
    assert len(raw) == len(resolved) and all("/two/dist/" in f["filename"] for f in raw)
    assert "symbolicated" not in str(exception["raw_stacktrace"])
    assert not [e for e in event.get("errors", []) if str(e.get("type")).startswith("js_")]

    # The two builds differ where minified: the issue holds both.
    oldest = server.api_get(f"/api/0/issues/{issues[0]['id']}/events/oldest/")
    old_raw = bundle_frames(oldest["exception"]["values"][0]["raw_stacktrace"])
    assert [(f["lineno"], f["colno"]) for f in old_raw] != [(f["lineno"], f["colno"]) for f in raw]

    # The event page shows the original frames, and the minified ones in its raw view.
    text = issue_page_text(server, account, issues[0])
    assert "formatPrice" in text and "throw new TypeError(`Price of ${item.name}" in text
    assert "Raw stack trace (minified, as the SDK sent it)" in text
    crashed = raw[-1]
    assert (
        f"{crashed['function']} at {crashed['filename']}:{crashed['lineno']}:{crashed['colno']}"
        in text
    )


def test_release_files_found_by_url_and_a_missing_map_is_reported(
    live_vedette: LiveVedette, node: str, tmp_path: Path
) -> None:
    """Without debug ids the minified file is found by release and URL (``~/`` + its path),
    its map through its ``sourceMappingURL``; a release whose map was not uploaded keeps the
    minified frames and says why."""
    server = live_vedette
    account = make_account(server, "maps")
    project = account.project
    dist = build(tmp_path, minify=["--minify"])
    cli = lambda *args: sentry_cli(server, project, *args, cwd=tmp_path)  # noqa: E731
    prefix = f"~{dist}"
    cli("sourcemaps", "upload", "--release", "3.0.0", "--url-prefix", prefix, str(dist))
    run_app(node, project, dist, "3.0.0")

    (dist / "app.mjs.map").unlink()
    cli("sourcemaps", "upload", "--release", "3.0.1", "--url-prefix", prefix, str(dist))
    run_app(node, project, dist, "3.0.1")
    server.wait_processed()

    issues = server.issues(project)
    events = {}
    for issue in issues:
        event = server.api_get(f"/api/0/issues/{issue['id']}/events/latest/")
        events[event["release"]["version"] if isinstance(event.get("release"), dict)
               else event["release"]] = event  # fmt: skip
    mapped = events["3.0.0"]["exception"]["values"][0]["stacktrace"]["frames"][-1]
    assert (Path(mapped["filename"]).name, mapped["function"], mapped["lineno"]) == (
        "format.js", "formatPrice", 3,
    )  # fmt: skip
    assert mapped["data"]["resolved_with"] == "release"

    unmapped = events["3.0.1"]
    crash = unmapped["exception"]["values"][0]["stacktrace"]["frames"][-1]
    assert crash["filename"] == str(dist / "app.mjs")
    assert "raw_stacktrace" not in unmapped["exception"]["values"][0]
    assert {"type": "js_no_source", "url": f"{dist}/app.mjs.map"} in unmapped["errors"]
    text = issue_page_text(server, account, {"id": unmapped["groupID"]})
    assert f"No source map was found for {dist}/app.mjs.map" in text
    assert "Raw stack trace" not in text
