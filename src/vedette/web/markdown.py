"""Comments are Markdown, rendered safely: raw HTML is shown as text (never passed through),
links and autolinks must be http(s) URLs (anything else stays text), images are not rendered
(no remote content, no ``data:`` URIs), and every link opens without the page as its opener."""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from markupsafe import Markup

if TYPE_CHECKING:
    from markdown_it import MarkdownIt
    from markdown_it.renderer import RendererHTML
    from markdown_it.token import Token
    from markdown_it.utils import EnvType, OptionsDict

ALLOWED_SCHEMES = ("http", "https")


def is_safe_link(url: str) -> bool:
    """An absolute http(s) URL with a host. markdown-it has decoded entities and
    percent-escapes by now, and control characters and spaces are refused outright (browsers
    drop them from a scheme: ``java\\tscript:``)."""
    if any(ord(c) < 0x21 or c == "\x7f" for c in url):
        return False
    parts = urlsplit(url)
    return parts.scheme.lower() in ALLOWED_SCHEMES and bool(parts.netloc)


def _link_open(
    renderer: RendererHTML,
    tokens: Sequence[Token],
    idx: int,
    options: OptionsDict,
    env: EnvType,
) -> str:
    tokens[idx].attrSet("rel", "nofollow noopener noreferrer")
    return renderer.renderToken(tokens, idx, options, env)


@cache
def _parser() -> MarkdownIt:
    from markdown_it import MarkdownIt  # with the first comment shown, not at every start

    md = MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False})
    md.disable("image")
    md.validateLink = is_safe_link  # type: ignore[method-assign]
    md.add_render_rule("link_open", _link_open)
    return md


def render(text: str) -> Markup:
    """The comment as HTML that is safe to insert in a page."""
    html: Any = _parser().render(text)
    return Markup(str(html))
