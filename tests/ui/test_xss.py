"""Every string in an event is attacker-controlled: the corpus in xss.py never runs.

The browser visits every page that shows the corpus with every collapsible part opened, and
checks three things: no dialog opened and ``window.__xss`` stayed unset (nothing ran); the DOM
holds no element the corpus could have injected (event-handler attributes, foreign scripts,
frames, ``javascript:`` links); the browser reported no CSP violation (so escaping, not only the
CSP, stopped it). The corpus text must also be on the page, as text.
"""

from __future__ import annotations

import httpx
import pytest
from playwright.sync_api import Browser
from tests.ui.conftest import Tab, World, signed_in
from tests.ui.xss import MARK, PAYLOADS

pytestmark = pytest.mark.e2e

# Run in the page after it rendered: what an injection would have left behind.
DOM_CHECK = """() => {
  const problems = [];
  if (window.__xss !== undefined) problems.push("window.__xss = " + window.__xss);
  for (const el of document.querySelectorAll("*")) {
    for (const attr of el.attributes) {
      if (attr.name.toLowerCase().startsWith("on")) problems.push(el.tagName + " " + attr.name);
    }
  }
  for (const s of document.scripts) {
    if (s.src !== location.origin + "/static/vedette.js") problems.push("script " + s.outerHTML);
  }
  const foreign = "iframe, frame, object, embed, base, meta[http-equiv]";
  for (const el of document.querySelectorAll(foreign)) {
    problems.push("element " + el.outerHTML.slice(0, 80));
  }
  for (const a of document.querySelectorAll("a[href]")) {
    let protocol = "unparsable:";
    try { protocol = new URL(a.href).protocol; } catch (e) {}
    if (protocol !== "http:" && protocol !== "https:") problems.push("link " + a.href);
  }
  for (const el of document.querySelectorAll("[src], [srcdoc], [formaction], [xlink\\\\:href]")) {
    if (el.tagName !== "SCRIPT") problems.push("source " + el.outerHTML.slice(0, 80));
  }
  return problems;
}"""


def corpus_pages(world: World) -> list[str]:
    base = world.ours.base
    [issue] = [i for i in world.issues() if str(i["title"]).startswith(f"XssError{MARK}")]
    n_plus_one = [
        i
        for i in world.issues()
        if i["type"] == "performance_n_plus_one_db_queries" and MARK in str(i["culprit"])
    ]
    assert len(n_plus_one) == 1, [(i["title"], i["culprit"]) for i in world.issues()]
    transaction = f"GET /xss/{MARK}" + PAYLOADS[0][:80]
    return [
        "/",
        f"{base}/issues/?query=",
        f"{base}/issues/{issue['id']}/",
        f"{base}/issues/{n_plus_one[0]['id']}/",
        f"{base}/performance/",
        f"{base}/performance/summary/?{httpx.QueryParams(transaction=transaction)}",
        f"{base}/performance/events/{world.xss_transaction_id}/",
        f"{base}/traces/{world.xss_trace_id}/",
        f"{base}/queries/",
        f"{base}/releases/",
        f"{base}/crons/",
        f"{base}/settings/",
    ]


def test_the_corpus_is_shown_as_text_and_never_runs(world: World, tab: Tab) -> None:
    tab.sign_in(world.ours)
    shown = 0
    for index, path in enumerate(corpus_pages(world)):
        response = tab.page.goto(path)
        assert response is not None and response.status == 200, path
        # Open everything that folds, and show every frame.
        tab.page.eval_on_selector_all("details", "all => all.forEach(d => { d.open = true; })")
        for toggle in tab.page.locator("input.full-trace").all():
            toggle.check()
        assert tab.page.evaluate(DOM_CHECK) == [], path
        text = tab.page.locator("body").inner_text()
        shown += text.count(MARK)
        if index == 2:
            # The payloads themselves are readable on the issue page, characters intact.
            for payload in PAYLOADS:
                assert payload in text, (path, payload)
    assert shown > 100, "the corpus did not reach the pages"
    assert tab.dialogs == []
    assert tab.csp_violations == []


def test_the_checks_would_see_an_injection(browser: Browser) -> None:
    """The harness itself: on a page without escaping or CSP, the corpus does fire."""
    context = browser.new_context()
    page = context.new_page()
    dialogs: list[str] = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    page.set_content("<div>" + "".join(PAYLOADS) + "</div>")
    page.wait_for_function("() => window.__xss !== undefined")
    assert dialogs
    assert page.evaluate(DOM_CHECK) != []
    context.close()


def test_csp_stops_inline_script_in_the_browser(world: World, tab: Tab) -> None:
    tab.sign_in(world.ours)
    tab.page.goto(f"{world.ours.base}/issues/")
    ran = tab.page.evaluate(
        """() => {
            const s = document.createElement("script");
            s.textContent = "window.__inline = 1";
            document.body.appendChild(s);
            const i = document.createElement("img");
            i.setAttribute("onerror", "window.__inline = 2");
            i.src = "/nothing.png";
            document.body.appendChild(i);
            return window.__inline;
        }"""
    )
    assert ran is None
    tab.page.wait_for_function("() => document.querySelector('img[onerror]').complete")
    assert tab.page.evaluate("() => window.__inline") is None
    assert tab.csp_violations  # the browser refused it because of our header


CSP_ROUTES = ["/login/", "/", "/static/vedette.css", "/p/nope/nope/issues/"]


@pytest.mark.parametrize("path", CSP_ROUTES)
def test_every_ui_response_carries_the_security_headers(world: World, path: str) -> None:
    visitor = signed_in(world.server, world.ours)
    try:
        response = visitor.get(path)
    finally:
        visitor.close()
    assert response.status_code in (200, 303, 404), response.status_code  # /login/ redirects
    policy = {
        part.strip().split(" ", 1)[0]: part.strip().split(" ", 1)[1:]
        for part in response.headers["content-security-policy"].split(";")
    }
    assert policy["script-src"] == ["'self'"]
    assert policy["default-src"] == ["'none'"]
    assert policy["frame-ancestors"] == ["'none'"]
    assert "unsafe-inline" not in response.headers["content-security-policy"]
    assert response.headers["x-frame-options"] == "DENY"
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["referrer-policy"] == "same-origin"
