"""Source maps in the browser: the app of tests/fixtures/sourcemaps bundled with the real
@sentry/browser by the real esbuild, uploaded by the real sentry-cli without debug ids (found
by release and ``~/`` URL), served from a loopback origin and run in Chromium; the stored
frames are the original ones."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path
from urllib.parse import quote

import pytest
from playwright.sync_api import Browser
from tests.conftest import LiveVedette
from tests.releases.test_sentry_cli_pipeline import sentry_cli
from tests.releases.test_source_maps import APP, ESBUILD, NODE_DIR
from tests.ui.test_browser_sdk import static_site

pytestmark = pytest.mark.e2e

RELEASE = "web@2.0.0"
ENTRY = """
import * as Sentry from "@sentry/browser";
import { main } from "./src/index.js";

Sentry.init({ dsn: new URLSearchParams(window.location.search).get("dsn"), release: "RELEASE" });
document.getElementById("pay").addEventListener("click", function pay() {
  try {
    main([{ name: "cake", price: "free" }]);
  } catch (error) {
    Sentry.captureException(error);
  }
});
window.shop = { flush: () => Sentry.flush(5000) };
""".replace("RELEASE", RELEASE)
PAGE = """<!doctype html><html><body><button id="pay">Pay</button>
<script src="static/app.js"></script></body></html>"""


def build_site(workdir: Path) -> Path:
    """``workdir/site``: the page and ``static/app.js`` with its map beside it."""
    if not ESBUILD.exists() or not (NODE_DIR / "node_modules" / "@sentry" / "browser").is_dir():
        pytest.fail(f"needs esbuild and @sentry/browser: `npm ci` in {NODE_DIR}")
    shutil.copytree(APP, workdir / "src")
    (workdir / "entry.js").write_text(ENTRY)
    os.symlink(NODE_DIR / "node_modules", workdir / "node_modules")
    site = workdir / "site"
    subprocess.run(
        [str(ESBUILD), "entry.js", "--bundle", "--minify", "--sourcemap", "--format=iife",
         f"--outfile={site / 'static' / 'app.js'}"],
        cwd=workdir, check=True, capture_output=True, timeout=60,
    )  # fmt: skip
    (site / "index.html").write_text(PAGE)
    return site


def test_browser_frames_resolve_by_release_and_url(
    live_vedette: LiveVedette, browser: Browser, tmp_path: Path
) -> None:
    server = live_vedette
    project = server.create_project("web", org=f"o-{tmp_path.name[-8:]}")
    site = build_site(tmp_path)
    sentry_cli(server, project, "sourcemaps", "upload", "--release", RELEASE,
               "--url-prefix", "~/static", str(site / "static"), cwd=tmp_path)  # fmt: skip
    with static_site(site) as origin:
        context = browser.new_context()
        try:
            page = context.new_page()
            page.goto(f"{origin}/index.html?dsn={quote(project.dsn)}")
            page.wait_for_function("window.shop !== undefined")
            page.click("#pay")  # the stack starts at the click, not at a script the test runs
            assert page.evaluate("shop.flush()") is True
        finally:
            context.close()
    server.wait_processed()

    [issue] = server.issues(project)
    assert issue["title"] == "TypeError: Price of cake is not a number"
    event = server.api_get(f"/api/0/issues/{issue['id']}/events/latest/")
    assert not event.get("errors")
    exception = event["exception"]["values"][0]
    mapped = [f for f in exception["stacktrace"]["frames"] if f.get("data", {}).get("symbolicated")]
    wrapper, *ours = mapped
    # The SDK's own click wrapper, bundled with the app, maps into node_modules: not in-app.
    assert wrapper["filename"].endswith("/node_modules/@sentry/browser/src/helpers.ts")
    assert (wrapper["function"], wrapper["in_app"]) == ("sentryWrapped", False)
    assert [(f["filename"], f["function"], f["lineno"], f["in_app"]) for f in ours] == [
        ("/entry.js", "<anonymous>", 8, True),  # the click handler (esbuild dropped its name)
        ("/src/index.js", "main", 5, True),
        ("/src/lib/checkout.js", "checkout", 4, True),
        ("/src/lib/checkout.js", "<anonymous>", 4, True),
        ("/src/lib/format.js", "formatPrice", 3, True),
    ]
    crash = ours[-1]
    assert (
        crash["context_line"] == "    throw new TypeError(`Price of ${item.name} is not a number`);"
    )
    assert crash["abs_path"] == f"{origin}/src/lib/format.js"
    assert crash["data"] == {
        "sourcemap": f"{origin}/static/app.js.map",
        "resolved_with": "release",
        "symbolicated": True,
    }
    raw = exception["raw_stacktrace"]["frames"]
    assert len(raw) == len(exception["stacktrace"]["frames"])
    assert {f["filename"] for f in raw if f.get("lineno")} == {f"{origin}/static/app.js"}
