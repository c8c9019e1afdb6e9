"""Security headers on every response, and refusal of any form our pages did not serve."""

import logging
from urllib.parse import parse_qsl, urlsplit

from starlette.datastructures import Headers, MutableHeaders
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ticketing.common.limits import MAX_BODY_BYTES
from ticketing.common.middleware import HttpMiddleware, ResponseHeaders
from ticketing.web import csrf
from ticketing.web.errors import error_page

log = logging.getLogger(__name__)

UNSAFE_METHODS = {"POST", "PUT", "PATCH", "DELETE"}
FORM = "application/x-www-form-urlencoded"
REFUSED = (
    "This form was not accepted: it came from another site, or the page was out of date. "
    "Go back, reload the page and try again."
)
STRIPE = {
    "script-src": "https://js.stripe.com",
    "frame-src": "https://js.stripe.com https://hooks.stripe.com",
    "connect-src": "https://api.stripe.com",
}


def content_security_policy(stripe: bool) -> str:
    """No inline script or style anywhere, so the policy needs no 'unsafe-inline'."""
    directives = {
        "default-src": "'self'",
        "script-src": "'self'",
        "style-src": "'self'",
        "img-src": "'self' data:",
        "connect-src": "'self'",
        "frame-src": "'none'",
        "object-src": "'none'",
        "base-uri": "'self'",
        "form-action": "'self'",
        "frame-ancestors": "'none'",
    }
    if stripe:
        for name, source in STRIPE.items():
            kept = "" if directives[name] == "'none'" else directives[name] + " "
            directives[name] = kept + source
    return "; ".join(f"{name} {value}" for name, value in directives.items())


class SecurityHeaders(ResponseHeaders):
    def __init__(self, app: ASGIApp, *, stripe: bool = False) -> None:
        super().__init__(
            app,
            {
                "content-security-policy": content_security_policy(stripe),
                "x-content-type-options": "nosniff",
                "referrer-policy": "same-origin",
                "x-frame-options": "DENY",
            },
        )


def _hostname(authority: str) -> str | None:
    return urlsplit(f"//{authority.strip()}").hostname


def _cross_site(headers: Headers) -> bool:
    """Defence in depth behind the token: the browser says where a form came from.

    Sec-Fetch-Site is the browser's own verdict, so it decides when sent. Otherwise Origin
    is compared with Host, without ports (nginx passes $host without one), and never with
    X-Forwarded-Host: any client can send that."""
    site = headers.get("sec-fetch-site")
    if site is not None:
        return site in ("cross-site", "same-site")
    origin = headers.get("origin")
    if origin is None:
        return False  # not a browser, or an old one: the token still decides
    host = _hostname(headers.get("host", ""))
    return origin == "null" or host is None or urlsplit(origin).hostname != host


async def _submitted_token(scope: Scope, receive: Receive) -> tuple[str | None, Receive]:
    """The token from a url-encoded form (ours are never multipart, and no script posts),
    and a receive that replays the body read to find it."""
    headers = Headers(scope=scope)
    chunks, size = [], 0
    while True:
        message = await receive()
        if message["type"] != "http.request":
            return None, receive  # the client went away
        chunks.append(message.get("body", b""))
        size += len(chunks[-1])
        if size > MAX_BODY_BYTES:
            return None, receive  # no form of ours is this large
        if not message.get("more_body"):
            break
    body = b"".join(chunks)
    replayed = [{"type": "http.request", "body": body, "more_body": False}]

    async def replay() -> Message:
        return replayed.pop() if replayed else await receive()

    if headers.get("content-type", "").partition(";")[0].strip().lower() != FORM:
        return None, replay
    fields = parse_qsl(body.decode("latin-1"), errors="replace")
    return next((value for name, value in fields if name == csrf.FIELD), None), replay


class CsrfProtection(HttpMiddleware):
    """Every unsafe request needs the token its page was given, and must not be cross-site;
    either failing is the 403 page, before any route (or API call) runs."""

    def __init__(self, app: ASGIApp, *, key: bytes, cookie_secure: bool) -> None:
        super().__init__(app)
        self.key = key
        self.cookie_secure = cookie_secure

    async def http(self, scope: Scope, receive: Receive, send: Send) -> None:
        headers = Headers(scope=scope)
        browser = csrf.Browser.of(headers, self.key)
        scope.setdefault("state", {})["csrf"] = browser

        async def send_with_cookie(message: Message) -> None:
            cookie = browser.cookie_header(self.cookie_secure)
            if message["type"] == "http.response.start" and cookie:
                MutableHeaders(scope=message).append("set-cookie", cookie)
            await send(message)

        if scope["method"] in UNSAFE_METHODS:
            if _cross_site(headers):
                await self._refuse(scope, receive, send_with_cookie, "cross-site")
                return
            token, receive = await _submitted_token(scope, receive)
            if not browser.accepts(token):
                reason = "no token" if token is None else "wrong token"
                await self._refuse(scope, receive, send_with_cookie, reason)
                return
        await self.app(scope, receive, send_with_cookie)

    async def _refuse(self, scope: Scope, receive: Receive, send: Send, reason: str) -> None:
        log.warning("refused %s %s: %s", scope["method"], scope["path"], reason)
        refusal = error_page(Request(scope, receive), 403, [REFUSED])
        await refusal(scope, receive, send)
