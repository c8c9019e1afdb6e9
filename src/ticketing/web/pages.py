"""Building a page for one visitor: their API, who is signed in, flash notes, redirects."""

from dataclasses import dataclass
from pathlib import Path
from typing import Annotated
from urllib.parse import urlencode

from fastapi import Depends, Request, Response
from fastapi.responses import RedirectResponse
from fastapi.templating import Jinja2Templates
from jinja2 import Environment, FileSystemLoader, select_autoescape

from ticketing.web import csrf, views
from ticketing.web.api_client import Api, ApiError, User

FLASH_COOKIE = "flash"
FLASHES = {
    "signed_up": "Welcome! Your account is ready.",
    "signed_in": "You are signed in.",
    "signed_out": "You are signed out.",
    "listed": "Your ticket is listed for sale.",
    "updated": "Your listing is updated.",
    "withdrawn": "Your listing is withdrawn.",
    "payment_sent": "Payment received.",
    "payment_authenticating": "Your bank asked you to confirm this payment.",
    "order_cancelled": "Your order is cancelled.",
    "resale_listed": "Your ticket is listed for resale.",
    "resale_taken_down": "Your resale listing is taken down; the pass is yours to use.",
    "payout_account_saved": "Your payout account is saved.",
}


def _templates() -> Jinja2Templates:
    """Autoescape on for every template: a title is text, never markup."""
    env = Environment(
        loader=FileSystemLoader(Path(__file__).parent / "templates"),
        autoescape=select_autoescape(default=True, default_for_string=True),
    )
    env.filters.update(money=views.money, ticket_label=views.ticket_label, clock=views.clock)
    env.filters["price_field"] = views.price_field
    env.filters.update(pass_label=views.pass_label, moment=views.moment)
    env.filters["resale_cap"] = views.resale_cap
    env.filters["amount"] = views.amount
    env.globals["field_error"] = _field_error
    env.globals["csrf_input"] = csrf.hidden_input
    for name in env.list_templates():  # compiled as the client starts, not by a first visitor
        env.get_template(name)
    return Jinja2Templates(env=env)


def _field_error(error: object, name: str) -> str | None:
    return error.for_field(name) if isinstance(error, ApiError) else None


templates = _templates()


class SignInRequired(Exception):
    """Raised by a page that needs a user; the handler sends the visitor to sign in."""

    def __init__(self, next_path: str) -> None:
        super().__init__(next_path)
        self.next_path = next_path


@dataclass(frozen=True)
class Flash:
    key: str
    message: str


def safe_next(value: str | None, default: str = "/") -> str:
    """Only a path on this site: never //evil.example or an absolute URL."""
    if not value or not value.startswith("/") or value.startswith("//"):
        return default
    if any(ord(char) < 32 or char == "\\" for char in value):  # "/\t/x" and "/\\x" are "//x"
        return default
    return value


def sign_in_url(next_path: str) -> str:
    return "/auth/signin?" + urlencode({"next": safe_next(next_path)})


class Page:
    """What a route needs to answer: the API as this visitor, and how to render or redirect."""

    def __init__(self, request: Request, api: Api, user: User | None) -> None:
        self.request = request
        self.api = api
        self.user = user

    def require_user(self, next_path: str | None = None) -> User:
        if self.user is None:
            raise SignInRequired(next_path or _here(self.request))
        return self.user

    def render(self, template: str, *, status_code: int = 200, **context: object) -> Response:
        flash = self.flash
        settings = self.request.app.state.settings
        base = {"user": self.user, "flash": flash, "stripe_key": settings.stripe_publishable_key}
        response = templates.TemplateResponse(
            self.request, template, {**base, **context}, status_code=status_code
        )
        if flash is not None:
            response.delete_cookie(FLASH_COOKIE, path="/")
        self._relay(response)
        return response

    def redirect(self, url: str, *, flash: str | None = None) -> Response:
        """POST-redirect-GET: 303, so a reload does not send the form again."""
        response = RedirectResponse(url, status_code=303)
        if flash is not None:
            settings = self.request.app.state.settings
            response.set_cookie(
                FLASH_COOKIE,
                flash,
                max_age=60,
                httponly=True,
                samesite="lax",
                secure=settings.cookie_secure,
                path="/",
            )
        self._relay(response)
        return response

    @property
    def flash(self) -> Flash | None:
        """A one-time note from the previous step, from a fixed list: never text a URL sent."""
        key = self.request.cookies.get(FLASH_COOKIE)
        return Flash(key, FLASHES[key]) if key in FLASHES else None

    def _relay(self, response: Response) -> None:
        """Auth's Set-Cookie reaches the browser as if auth had answered it directly."""
        for value in self.api.set_cookies:
            response.headers.append("set-cookie", value)


def _here(request: Request) -> str:
    if request.method == "GET" and request.url.query:
        return f"{request.url.path}?{request.url.query}"
    return request.url.path


async def _page(request: Request) -> Page:
    api = Api(request.app.state.http, request)
    page = Page(request, api, await api.current_user())
    request.state.page = page  # error pages still show who is signed in
    return page


PageDep = Annotated[Page, Depends(_page)]
