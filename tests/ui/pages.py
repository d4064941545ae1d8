"""Pages read by parsing (stdlib html.parser), not by substring: forms, inputs, links, text."""

from __future__ import annotations

from dataclasses import dataclass, field
from html.parser import HTMLParser


@dataclass
class Form:
    action: str
    method: str
    inputs: dict[str, str] = field(default_factory=dict)
    options: dict[str, list[str]] = field(default_factory=dict)  # <select name> -> values


@dataclass
class Page:
    forms: list[Form] = field(default_factory=list)
    links: list[str] = field(default_factory=list)
    scripts: list[dict[str, str | None]] = field(default_factory=list)
    event_handler_attributes: list[tuple[str, str]] = field(default_factory=list)
    text: str = ""

    def form(self, action: str) -> Form:
        found = [f for f in self.forms if f.action == action]
        assert found, f"no form posting to {action}; forms: {[f.action for f in self.forms]}"
        return found[0]

    @property
    def csrf_token(self) -> str:
        for form in self.forms:
            if "csrf_token" in form.inputs:
                return form.inputs["csrf_token"]
        raise AssertionError("no CSRF token on the page")


class _Reader(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.page = Page()
        self._text: list[str] = []
        self._form: Form | None = None
        self._select: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        for name, value in attrs:
            if name.lower().startswith("on"):
                self.page.event_handler_attributes.append((tag, f"{name}={value}"))
        if tag == "form":
            self._form = Form(values.get("action") or "", (values.get("method") or "get").lower())
            self.page.forms.append(self._form)
        elif tag == "input" and self._form is not None and values.get("name"):
            self._form.inputs[values["name"] or ""] = values.get("value") or ""
        elif tag == "select" and self._form is not None:
            self._select = values.get("name") or ""
            self._form.options[self._select] = []
        elif tag == "option" and self._form is not None and self._select is not None:
            self._form.options[self._select].append(values.get("value") or "")
        elif tag == "a" and values.get("href") is not None:
            self.page.links.append(values["href"] or "")
        elif tag == "script":
            self.page.scripts.append(values)

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self._form = None
        elif tag == "select":
            self._select = None

    def handle_data(self, data: str) -> None:
        self._text.append(data)


def parse(html: str) -> Page:
    reader = _Reader()
    reader.feed(html)
    reader.close()
    reader.page.text = "".join(reader._text)
    return reader.page
