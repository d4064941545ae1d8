"""Comment Markdown is rendered without raw HTML, scripts, event handlers or links other than
http(s); ordinary Markdown still works."""

from __future__ import annotations

from html.parser import HTMLParser

import pytest

from vedette.web.markdown import is_safe_link, render


class Elements(HTMLParser):
    """Every element and attribute the rendered HTML would make a browser build."""

    def __init__(self, html: str) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[str] = []
        self.attributes: list[tuple[str, str]] = []
        self.feed(html)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        self.attributes += [(name, value or "") for name, value in attrs]


HOSTILE = [
    "<script>alert(1)</script>",
    "<SCRIPT SRC=//evil.example/x.js></SCRIPT>",
    '<img src=x onerror="alert(1)">',
    '<a href="https://ok.example" onclick="alert(1)">x</a>',
    "<svg/onload=alert(1)>",
    '<iframe src="javascript:alert(1)"></iframe>',
    "[click](javascript:alert(1))",
    "[click](JaVaScRiPt:alert(1))",
    "[click](java&#09;script:alert(1))",
    "[click](&#106;avascript:alert(1))",
    "[click](javascript%3Aalert(1))",
    "[click](vbscript:msgbox(1))",
    "<javascript:alert(1)>",
    "[ref]\n\n[ref]: javascript:alert(1)",
    "[data](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)",
    "![pixel](data:image/png;base64,iVBORw0KGgo=)",
    "![remote](https://tracker.example/pixel.gif)",
    '[x](https://ok.example "title" onmouseover=alert(1))',
    "[relative](/p/acme/shop/settings/)",
    "[protocol-relative](//evil.example/)",
    "<style>body{display:none}</style>",
]


@pytest.mark.parametrize("text", HOSTILE)
def test_hostile_markdown_builds_nothing_active(text: str) -> None:
    found = Elements(render(text))
    assert not {"script", "img", "iframe", "svg", "style"} & set(found.tags)
    assert not [name for name, _ in found.attributes if name.startswith("on")]
    assert not [name for name, _ in found.attributes if name == "src"]
    hrefs = [value for name, value in found.attributes if name == "href"]
    assert all(href.startswith(("http://", "https://")) for href in hrefs), hrefs


@pytest.mark.parametrize(
    ("text", "html"),
    [
        ("**bold** and `code`", "<p><strong>bold</strong> and <code>code</code></p>\n"),
        (
            "[docs](https://develop.sentry.dev/)",
            '<p><a href="https://develop.sentry.dev/" rel="nofollow noopener noreferrer">'
            "docs</a></p>\n",
        ),
        ("<b>raw</b>", "<p>&lt;b&gt;raw&lt;/b&gt;</p>\n"),
        ("[x](javascript:alert(1))", "<p>[x](javascript:alert(1))</p>\n"),
        ("- one\n- two", "<ul>\n<li>one</li>\n<li>two</li>\n</ul>\n"),
    ],
)
def test_markdown_renders(text: str, html: str) -> None:
    assert render(text) == html


@pytest.mark.parametrize(
    ("url", "safe"),
    [
        ("https://example.com/a?b=c", True),
        ("HTTP://example.com", True),
        ("javascript:alert(1)", False),
        ("java\tscript:alert(1)", False),
        ("data:text/html,x", False),
        ("mailto:a@example.com", False),
        ("/relative", False),
        ("https://", False),
    ],
)
def test_only_absolute_http_links_are_safe(url: str, safe: bool) -> None:
    assert is_safe_link(url) is safe
