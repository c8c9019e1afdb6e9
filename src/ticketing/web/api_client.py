"""Typed calls to the public HTTP API, made for one browser request with its cookie forwarded."""

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from http.cookiejar import CookieJar, DefaultCookiePolicy
from typing import Any, Generic, TypeVar
from uuid import UUID

import httpx
from fastapi import Request
from pydantic import BaseModel, ConfigDict
from pydantic.alias_generators import to_camel

from ticketing.common import correlation

SESSION_COOKIE = "session"
# Auth's own cookies, passed both ways: the session, and the device that signed in before
# (which keeps its owner out of the throttle a stranger's guesses build on the e-mail).
FORWARDED_COOKIES = (SESSION_COOKIE, "device")
RELAY_HEADER = "x-ticketing-relay"  # the gateway's, for the browser's address


class ApiUnavailable(Exception):
    """The API did not answer, or answered 5xx: the page cannot be built right now."""

    def __init__(self, reason: str, messages: list[str] | None = None) -> None:
        super().__init__(reason)
        self.messages = messages or []  # what the API said, when it said something useful


class ApiError(Exception):
    """A 4xx from the API, with its {"errors": [{"message", "field"?}]} items."""

    def __init__(self, status: int, items: list[dict[str, str]]) -> None:
        self.status = status
        self.items = items or [{"message": "Something went wrong"}]
        super().__init__(self.items[0]["message"])

    def for_field(self, name: str) -> str | None:
        return next((i["message"] for i in self.items if i.get("field") == name), None)

    def general(self, known_fields: tuple[str, ...] = ()) -> list[str]:
        """Messages no field on the form can show: they go at the top of the form."""
        return [i["message"] for i in self.items if i.get("field") not in known_fields]


class _Camel(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="ignore")


class User(_Camel):
    id: UUID
    email: str


class Ticket(_Camel):
    id: UUID
    title: str
    price: Decimal
    user_id: UUID
    version: int
    order_id: UUID | None = None
    status: str


class OrderTicket(_Camel):
    id: UUID
    title: str
    price: Decimal


class Order(_Camel):
    id: UUID
    user_id: UUID
    status: str
    expires_at: datetime
    version: int
    ticket: OrderTicket


class Pass(_Camel):
    """What a buyer enters with; `price` is what the holder paid, `price_cap` the most it
    may be resold for, `listed_price` the resale price while it is on sale again."""

    id: UUID
    ticket_id: UUID
    order_id: UUID
    title: str
    status: str
    code: str
    admitted_at: datetime | None = None
    price: Decimal
    price_cap: Decimal
    listed_price: Decimal | None = None


class Admission(_Camel):
    ticket_id: UUID
    title: str
    admitted_at: datetime


class PaymentAction(_Camel):
    """A 202 from payments: the card's bank wants the buyer to confirm (3-D Secure)."""

    status: str
    client_secret: str


class Balance(_Camel):
    """A seller's money as the ledger holds it; `account_id` only if the API says it."""

    pending: Decimal
    available: Decimal
    paid_out: Decimal
    currency: str
    account_id: str | None = None


class Payout(_Camel):
    id: str
    amount: Decimal
    status: str


T = TypeVar("T")


@dataclass
class Paged(Generic[T]):
    items: list[T]
    next_cursor: str | None


def http_client(
    base_url: str, transport: httpx.AsyncBaseTransport | None, timeout: float
) -> httpx.AsyncClient:
    """One pool for every user, so it must never keep a cookie: each call brings its own."""
    never_store = CookieJar(policy=DefaultCookiePolicy(allowed_domains=[]))
    return httpx.AsyncClient(
        base_url=base_url, transport=transport, timeout=timeout, cookies=never_store
    )


def _forwarded_headers(request: Request) -> dict[str, str]:
    headers = {"accept": "application/json"}
    cookies = [(name, request.cookies.get(name)) for name in FORWARDED_COOKIES]
    if sent := "; ".join(f"{name}={value}" for name, value in cookies if value):
        headers["cookie"] = sent
    if request_id := correlation.current():
        headers[correlation.HEADER] = request_id  # one id from the click to the last event
    if request.client:
        # Auth throttles sign-in per address: it must see the browser's, not ours. Only an
        # entrance that knows us believes it: the `ticketing up` gateway by the relay key,
        # nginx by our address (set_real_ip_from).
        headers["x-forwarded-for"] = request.client.host
        if (relay_key := request.app.state.settings.relay_key) is not None:
            headers[RELAY_HEADER] = relay_key.get_secret_value()
    return headers


def _error_items(response: httpx.Response) -> list[dict[str, str]]:
    try:
        items = response.json()["errors"]
        return [{k: str(v) for k, v in item.items()} for item in items]
    except (ValueError, KeyError, TypeError, AttributeError):
        return []


def _next_cursor(response: httpx.Response) -> str | None:
    link = response.links.get("next")
    return httpx.URL(link["url"]).params.get("cursor") if link else None


def _clean(params: dict[str, object]) -> dict[str, str]:
    return {k: str(v) for k, v in params.items() if v not in (None, "")}


def _blank_is_missing(value: str) -> str | None:
    """An empty field is a missing one, so the API answers "Price is required"."""
    return value if value.strip() else None


class Api:
    """The public API as this browser sees it. Set-Cookie from auth is kept for relaying."""

    def __init__(self, http: httpx.AsyncClient, request: Request) -> None:
        self._http = http
        self._headers = _forwarded_headers(request)
        self.set_cookies: list[str] = []

    async def _call(
        self,
        method: str,
        path: str,
        *,
        relay: bool = False,
        headers: Mapping[str, str] | None = None,
        **kwargs: Any,
    ) -> httpx.Response:
        """`headers` replace the browser's forwarded ones (cookies included) when given."""
        sent = self._headers if headers is None else headers
        try:
            response = await self._http.request(method, path, headers=sent, **kwargs)
        except httpx.TransportError as error:
            raise ApiUnavailable(f"{method} {path}: {error!r}") from error
        if response.status_code >= 500:
            said = [item["message"] for item in _error_items(response)]
            raise ApiUnavailable(f"{method} {path}: {response.status_code}", said)
        if relay:
            self.set_cookies.extend(response.headers.get_list("set-cookie"))
        if response.status_code >= 400:
            raise ApiError(response.status_code, _error_items(response))
        return response

    async def current_user(self) -> User | None:
        """Relayed: auth renews a session past half its life in this answer's cookie."""
        body = (await self._call("GET", "/api/users/currentuser", relay=True)).json()
        return User.model_validate(body["currentUser"]) if body.get("currentUser") else None

    async def sign_up(self, email: str, password: str) -> User:
        body = {"email": email, "password": password}
        response = await self._call("POST", "/api/users/signup", json=body, relay=True)
        return User.model_validate(response.json())

    async def sign_in(self, email: str, password: str) -> User:
        body = {"email": email, "password": password}
        response = await self._call("POST", "/api/users/signin", json=body, relay=True)
        return User.model_validate(response.json())

    async def sign_out(self) -> None:
        await self._call("POST", "/api/users/signout", relay=True)

    async def tickets(
        self,
        *,
        limit: int,
        cursor: str | None = None,
        mine: bool = False,
        search: Mapping[str, str] | None = None,
    ) -> Paged[Ticket]:
        """`search`: the listing's filters, named as the API names them (q, minPrice, ...)."""
        query = {**(search or {}), "limit": limit, "cursor": cursor}
        params = _clean({**query, "mine": "true" if mine else None})
        response = await self._call("GET", "/api/tickets", params=params)
        items = [Ticket.model_validate(item) for item in response.json()]
        return Paged(items, _next_cursor(response))

    async def ticket(self, ticket_id: UUID) -> Ticket:
        return Ticket.model_validate((await self._call("GET", f"/api/tickets/{ticket_id}")).json())

    async def create_ticket(self, title: str, price: str) -> Ticket:
        body = {"title": _blank_is_missing(title), "price": _blank_is_missing(price)}
        return Ticket.model_validate((await self._call("POST", "/api/tickets", json=body)).json())

    async def edit_ticket(self, ticket_id: UUID, title: str, price: str) -> Ticket:
        body = {"title": _blank_is_missing(title), "price": _blank_is_missing(price)}
        response = await self._call("PUT", f"/api/tickets/{ticket_id}", json=body)
        return Ticket.model_validate(response.json())

    async def withdraw_ticket(self, ticket_id: UUID) -> None:
        await self._call("DELETE", f"/api/tickets/{ticket_id}")

    async def orders(self, *, limit: int, cursor: str | None = None) -> Paged[Order]:
        params = _clean({"limit": limit, "cursor": cursor})
        response = await self._call("GET", "/api/orders", params=params)
        return Paged([Order.model_validate(o) for o in response.json()], _next_cursor(response))

    async def order(self, order_id: UUID) -> Order:
        return Order.model_validate((await self._call("GET", f"/api/orders/{order_id}")).json())

    async def create_order(self, ticket_id: UUID) -> Order:
        response = await self._call("POST", "/api/orders", json={"ticketId": str(ticket_id)})
        return Order.model_validate(response.json())

    async def cancel_order(self, order_id: UUID) -> None:
        await self._call("DELETE", f"/api/orders/{order_id}")

    async def pay(self, order_id: UUID, token: str) -> PaymentAction | None:
        """None: charged. Else the action the bank asks for before the charge can finish."""
        body = {"orderId": str(order_id), "token": token}
        response = await self._call("POST", "/api/payments", json=body)
        if response.status_code != 202:
            return None
        try:
            return PaymentAction.model_validate(response.json())
        except ValueError as error:  # pydantic's ValidationError, or not JSON at all
            raise ApiUnavailable(f"POST /api/payments: unusable 202: {error!r}") from error

    async def balance(self) -> Balance:
        return Balance.model_validate((await self._call("GET", "/api/payouts/balance")).json())

    async def set_payout_account(self, account_id: str) -> None:
        body = {"accountId": _blank_is_missing(account_id)}
        await self._call("POST", "/api/payouts/account", json=body)

    async def pay_out(self) -> Payout:
        """Everything available, to the payout account; the API makes one transfer of it."""
        return Payout.model_validate((await self._call("POST", "/api/payouts", json={})).json())

    async def passes(self, *, limit: int, cursor: str | None = None) -> Paged[Pass]:
        params = _clean({"limit": limit, "cursor": cursor})
        response = await self._call("GET", "/api/passes", params=params)
        return Paged([Pass.model_validate(p) for p in response.json()], _next_cursor(response))

    async def ticket_pass(self, pass_id: UUID) -> Pass:
        return Pass.model_validate((await self._call("GET", f"/api/passes/{pass_id}")).json())

    async def resell(self, pass_id: UUID, price: str) -> None:
        body = {"price": _blank_is_missing(price)}
        await self._call("POST", f"/api/passes/{pass_id}/resell", json=body)

    async def take_down(self, pass_id: UUID) -> None:
        await self._call("DELETE", f"/api/passes/{pass_id}/resell")

    async def check_in(self, door_token: str, code: str) -> Admission:
        """A door's call: its token, not the browser's session (a door needs no user)."""
        headers = {k: v for k, v in self._headers.items() if k != "cookie"}
        headers["authorization"] = f"Bearer {door_token}"
        response = await self._call("POST", "/api/checkins", json={"code": code}, headers=headers)
        return Admission.model_validate(response.json())
