"""A visitor with a browser's cookie jar, and a reader for what a page shows."""

import re
from dataclasses import dataclass
from html.parser import HTMLParser
from uuid import uuid4

import httpx

from tests.system import System
from ticketing.web import csrf

PASSWORD = "password123"


@dataclass
class Element:
    tag: str
    attrs: dict[str, str]
    text: str = ""


class Html(HTMLParser):
    """The parts of a page a person (or a screen reader) uses: text, labels, fields, buttons."""

    def __init__(self, source: str) -> None:
        super().__init__()
        self.source = source
        self.elements: list[Element] = []
        self._open: list[Element] = []
        self._texts: list[str] = []
        self.feed(source)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        element = Element(tag, {k: v or "" for k, v in attrs})
        self.elements.append(element)
        if tag not in ("input", "meta", "link", "br", "img"):
            self._open.append(element)

    def handle_endtag(self, tag: str) -> None:
        for i in range(len(self._open) - 1, -1, -1):
            if self._open[i].tag == tag:
                del self._open[i:]
                break

    def handle_data(self, data: str) -> None:
        if not any(e.tag in ("script", "style", "title") for e in self._open):
            self._texts.append(data)
        for element in self._open:
            element.text += data

    @property
    def text(self) -> str:
        """The visible words, spaces collapsed."""
        return " ".join(" ".join(self._texts).split())

    def by_id(self, element_id: str) -> Element | None:
        return next((e for e in self.elements if e.attrs.get("id") == element_id), None)

    def field_error(self, name: str) -> str | None:
        """The error shown next to the field, tied to it by aria-describedby."""
        error = self.by_id(f"{name}-error")
        field_ = self.by_id(name)
        if error is None or field_ is None:
            return None
        assert f"{name}-error" in field_.attrs.get("aria-describedby", "")
        return " ".join(error.text.split())

    def label_of(self, name: str) -> str | None:
        label = next(
            (e for e in self.elements if e.tag == "label" and e.attrs.get("for") == name), None
        )
        return " ".join(label.text.split()) if label else None

    def value_of(self, name: str) -> str | None:
        element = self.by_id(name)
        return element.attrs.get("value") if element else None

    def buttons(self) -> list[str]:
        return [" ".join(e.text.split()) for e in self.elements if e.tag == "button"]

    def links(self) -> dict[str, str]:
        return {
            " ".join(e.text.split()): e.attrs.get("href", "") for e in self.elements if e.tag == "a"
        }

    def input_named(self, name: str) -> Element | None:
        return next(
            (e for e in self.elements if e.tag == "input" and e.attrs.get("name") == name), None
        )

    def forms(self) -> list[dict[str, str]]:
        return [e.attrs for e in self.elements if e.tag == "form"]

    def inline_scripts(self) -> list[Element]:
        return [e for e in self.elements if e.tag == "script" and "src" not in e.attrs]


def page(response: httpx.Response) -> Html:
    assert response.headers["content-type"].startswith("text/html"), response.text[:300]
    return Html(response.text)


async def form_token(http: httpx.AsyncClient, path: str = "/auth/signin") -> str:
    """Read from a page's form, as a browser would (the page sets the csrf cookie too)."""
    shown = page(await http.get(path))
    field_ = shown.input_named(csrf.FIELD)
    assert field_ is not None and field_.attrs.get("value"), shown.source[:500]
    return field_.attrs["value"]


class Visitor:
    """One browser: its own cookies, following redirects, talking to the web app at '/'."""

    def __init__(self, system: System) -> None:
        self.system = system
        self.http = system.client(follow_redirects=True)
        self.email: str | None = None
        self._token: tuple[tuple[str | None, ...], str] | None = None

    async def __aenter__(self) -> "Visitor":
        await self.http.__aenter__()
        return self

    async def __aexit__(self, *exc) -> None:
        await self.http.__aexit__(*exc)

    async def get(self, path: str, **kwargs) -> httpx.Response:
        return await self.http.get(path, **kwargs)

    async def post(
        self, path: str, data: dict[str, str] | None = None, *, token: bool = True, **kwargs
    ):
        """A form as our pages send it: with the token a page gave this browser."""
        fields = dict(data or {})
        if token:
            fields.setdefault(csrf.FIELD, await self.form_token())
        return await self.http.post(path, data=fields, **kwargs)

    async def form_token(self) -> str:
        """The token this browser's forms carry now; it changes with each sign-in."""
        if self._token is None or self._token[0] != self._cookies():
            token = await form_token(self.http)
            self._token = (self._cookies(), token)
        return self._token[1]

    def _cookies(self) -> tuple[str | None, ...]:
        return (self.http.cookies.get(csrf.COOKIE), self.http.cookies.get("session"))

    async def sign_up(self, email: str | None = None) -> httpx.Response:
        self.email = email or f"web-{uuid4().hex[:10]}@example.com"
        response = await self.post(
            "/auth/signup", {"email": self.email, "password": PASSWORD}, follow_redirects=False
        )
        assert response.status_code == 303, response.text[:500]
        return response

    async def list_ticket(self, title: str, price: str = "25") -> str:
        """Sell a ticket through the form; its id, from the page the form lands on."""
        response = await self.post("/tickets/new", {"title": title, "price": price})
        assert response.status_code == 200, response.text[:500]
        match = re.fullmatch(r"/tickets/([0-9a-f-]{36})", response.url.path)
        assert match, response.url
        return match.group(1)
