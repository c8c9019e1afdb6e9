"""Security headers on every response, and refusal of forms posted from another site."""

from urllib.parse import urlsplit

from starlette.datastructures import Headers, MutableHeaders
from starlette.responses import PlainTextResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

UNSAFE_METHODS = {"POST", "PUT", "PATCH", "DELETE"}
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


def _hostname(authority: str) -> str | None:
    return urlsplit(f"//{authority.strip()}").hostname


def _cross_site(headers: Headers) -> bool:
    """A browser names where a form came from; a form from elsewhere is CSRF (sign-in too).
    Hosts are compared without ports: a proxy may pass on Host without one (nginx's $host)."""
    if headers.get("sec-fetch-site") in ("cross-site", "same-site"):
        return True
    origin = headers.get("origin")
    if origin is None:
        return False  # not a browser, or an old one: SameSite=Lax still guards the session
    ours = {_hostname(headers.get("host", ""))} | {
        _hostname(host)
        for value in headers.getlist("x-forwarded-host")
        for host in value.split(",")
    }
    return origin == "null" or urlsplit(origin).hostname not in ours - {None}


class SecurityHeaders:
    def __init__(self, app: ASGIApp, *, stripe: bool = False) -> None:
        self.app = app
        self.headers = {
            "content-security-policy": content_security_policy(stripe),
            "x-content-type-options": "nosniff",
            "referrer-policy": "same-origin",
            "x-frame-options": "DENY",
        }

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in self.headers.items():
                    headers.setdefault(name, value)
            await send(message)

        if scope["method"] in UNSAFE_METHODS and _cross_site(Headers(scope=scope)):
            refusal = PlainTextResponse("Forms from other sites are not accepted.", 403)
            await refusal(scope, receive, send_with_headers)
            return
        await self.app(scope, receive, send_with_headers)
