"""CSRF tokens: a random secret per browser in a cookie; each form carries an HMAC of it.

Signed double-submit (OWASP's recommended stateless pattern): another site can make a
browser send our cookies, but cannot read the page, so it cannot know the token. The HMAC
also covers the session's id, so a token is good for one sign-in only, and a planted
csrf cookie (from a sibling subdomain, say) gives no token for the victim's session. The
id, not the cookie: auth renews the cookie of a session in use, and a page rendered just
before must still post.
"""

import base64
import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass

import jwt
from jinja2 import pass_context
from jinja2.runtime import Context
from markupsafe import Markup, escape
from starlette.datastructures import Headers
from starlette.requests import cookie_parser

from ticketing.web.api_client import SESSION_COOKIE

COOKIE = "csrf"
FIELD = "csrf_token"
COOKIE_MAX_AGE = 365 * 24 * 3600  # the token changes with each sign-in anyway
_SECRET = re.compile(r"[A-Za-z0-9_-]{43}")  # what secrets.token_urlsafe(32) makes


def _session_id(token: str) -> str:
    """The session a cookie names, read without checking the signature: web holds no key,
    and the HMAC only binds the form to whatever session the browser shows."""
    if not token:
        return ""
    try:
        claims = jwt.decode(token, options={"verify_signature": False})
    except jwt.PyJWTError:
        return token
    return str(claims.get("sid") or token)


@dataclass
class Browser:
    """This request's view of the browser: its secret (new when it sent none) and session."""

    key: bytes
    secret: str
    session: str
    fresh: bool
    used: bool = False

    @classmethod
    def of(cls, headers: Headers, key: bytes) -> "Browser":
        cookies = cookie_parser(headers.get("cookie", ""))  # as Request.cookies reads them
        sent = cookies.get(COOKIE, "")
        session = _session_id(cookies.get(SESSION_COOKIE, ""))
        if _SECRET.fullmatch(sent):
            return cls(key, sent, session, fresh=False)
        return cls(key, secrets.token_urlsafe(32), session, fresh=True)

    def token(self) -> str:
        """What this page's forms carry; rendering one means the cookie must reach the browser."""
        self.used = True
        message = f"csrf\0{self.secret}\0{self.session}".encode()
        digest = hmac.new(self.key, message, hashlib.sha256).digest()
        return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()

    def accepts(self, submitted: str | None) -> bool:
        """A fresh secret was never in a page, so nothing sent can match it."""
        if self.fresh or not submitted:
            return False
        return hmac.compare_digest(self.token().encode(), submitted.encode("utf-8", "replace"))

    def cookie_header(self, secure: bool) -> str | None:
        """The Set-Cookie header for a secret a page used and the browser does not have yet."""
        if not (self.fresh and self.used):
            return None
        flags = "; Secure" if secure else ""
        return (
            f"{COOKIE}={self.secret}; Max-Age={COOKIE_MAX_AGE}; Path=/; HttpOnly; SameSite=Lax"
            + flags
        )


@pass_context
def hidden_input(context: Context) -> Markup:
    """`{{ csrf_input() }}` inside every form that posts."""
    token = context["request"].state.csrf.token()
    return Markup(f'<input type="hidden" name="{FIELD}" value="{escape(token)}">')
