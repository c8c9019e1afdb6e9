"""STAND-IN for the passes API (being built beside these pages): an in-memory app that
answers /api/passes* and /api/checkins as the contract says, so the pages can be tested
against real auth, sessions and CSRF now. Once the passes service is in
`ticketing.runtime.services.SERVICES`, the journey test in test_pass_pages.py runs it
for real; these stubbed tests then stay as the pages' own checks of each answer.

It checks sessions as the services do (the JWT, with the test run's public key) but
knows no revocation and no database: a pass is seeded with `give`."""

import secrets
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from types import SimpleNamespace
from uuid import UUID, uuid4

from fastapi import FastAPI, Request, Response
from fastapi.responses import JSONResponse

from tests.support import KEYS
from ticketing.common.auth import session_of

QR_SVG = (
    '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 1 1"><rect width="1" height="1"/></svg>'
)


@dataclass
class StubPass:
    holder: UUID
    title: str
    price: Decimal
    status: str = "valid"
    id: UUID = field(default_factory=uuid4)
    ticket_id: UUID = field(default_factory=uuid4)
    order_id: UUID = field(default_factory=uuid4)
    code: str = field(default_factory=lambda: secrets.token_hex(16))
    admitted_at: datetime | None = None
    listed_price: Decimal | None = None

    @property
    def price_cap(self) -> Decimal:
        return (self.price * Decimal("1.2")).quantize(Decimal("0.01"))

    def as_json(self) -> dict:
        def number(value: Decimal | None) -> float | None:
            return None if value is None else float(value)

        return {
            "id": str(self.id),
            "ticketId": str(self.ticket_id),
            "orderId": str(self.order_id),
            "title": self.title,
            "status": self.status,
            "code": self.code,
            "admittedAt": self.admitted_at.isoformat() if self.admitted_at else None,
            "price": number(self.price),
            "priceCap": number(self.price_cap),
            "listedPrice": number(self.listed_price),
        }


def _errors(status: int, message: str, field: str | None = None) -> JSONResponse:
    item = {"message": message} | ({"field": field} if field else {})
    return JSONResponse({"errors": [item]}, status_code=status)


class PassesStub:
    def __init__(self) -> None:
        self.passes: dict[UUID, StubPass] = {}
        self.door_tokens: set[str] = set()
        self.checkin_calls: list[dict] = []  # what each check-in sent: headers and body
        self.app = self._app()

    def give(self, holder: UUID | str, title: str, price: str = "25", **state) -> StubPass:
        if state.get("listed_price") is not None:
            state["listed_price"] = Decimal(state["listed_price"])
        given = StubPass(UUID(str(holder)), title, Decimal(price), **state)
        self.passes[given.id] = given
        return given

    def door(self) -> str:
        token = secrets.token_urlsafe(24)
        self.door_tokens.add(token)
        return token

    def _holders_pass(self, request: Request, pass_id: str) -> StubPass | JSONResponse:
        session = session_of(request)
        try:
            found = self.passes.get(UUID(pass_id))
        except ValueError:
            return _errors(400, "Invalid pass id", "id")
        if session is None:
            return _errors(401, "Not authorized")
        if found is None:
            return _errors(404, "Pass not found")
        if found.holder != session.user.id:
            return _errors(401, "Not authorized")
        return found

    def _app(self) -> FastAPI:
        app = FastAPI()
        app.state.settings = SimpleNamespace(**KEYS)

        @app.get("/api/passes")
        async def my_passes(request: Request) -> Response:
            session = session_of(request)
            if session is None:
                return _errors(401, "Not authorized")
            mine = [p.as_json() for p in self.passes.values() if p.holder == session.user.id]
            return JSONResponse(mine[::-1])

        @app.get("/api/passes/{pass_id}")
        async def one_pass(request: Request, pass_id: str) -> Response:
            found = self._holders_pass(request, pass_id)
            return found if isinstance(found, Response) else JSONResponse(found.as_json())

        @app.get("/api/passes/{pass_id}/qr.svg")
        async def qr(request: Request, pass_id: str) -> Response:
            found = self._holders_pass(request, pass_id)
            return (
                found
                if isinstance(found, Response)
                else Response(QR_SVG, media_type="image/svg+xml")
            )

        @app.post("/api/passes/{pass_id}/resell")
        async def resell(request: Request, pass_id: str) -> Response:
            found = self._holders_pass(request, pass_id)
            if isinstance(found, Response):
                return found
            raw = (await request.json()).get("price")
            if raw is None:
                return _errors(400, "Price is required", "price")
            try:
                price = Decimal(str(raw))
            except InvalidOperation:
                return _errors(400, "Price must be a number", "price")
            if price <= 0:
                return _errors(400, "Price must be greater than 0", "price")
            if price > found.price_cap:
                return _errors(400, f"Price must be at most {found.price_cap}", "price")
            if found.status != "valid":
                return _errors(400, f"A {found.status} pass cannot be resold")
            found.listed_price = price
            body = {
                "passId": str(found.id),
                "ticketId": str(found.ticket_id),
                "price": float(price),
            }
            return JSONResponse(
                body | {"priceCap": float(found.price_cap), "status": "listed"}, 201
            )

        @app.delete("/api/passes/{pass_id}/resell")
        async def take_down(request: Request, pass_id: str) -> Response:
            found = self._holders_pass(request, pass_id)
            if isinstance(found, Response):
                return found
            found.listed_price = None
            return Response(status_code=204)

        @app.post("/api/checkins")
        async def check_in(request: Request) -> Response:
            body = await request.json()
            self.checkin_calls.append({"headers": dict(request.headers), "body": body})
            scheme, _, token = request.headers.get("authorization", "").partition(" ")
            if scheme.lower() != "bearer" or token not in self.door_tokens:
                return _errors(401, "Not authorized")
            found = next((p for p in self.passes.values() if p.code == body.get("code")), None)
            if found is None:
                return _errors(404, "Pass not found")
            if found.status == "revoked":
                return _errors(410, "This pass was revoked")
            if found.status == "used":
                return _errors(409, f"Already admitted at {found.admitted_at:%H:%M:%S}")
            found.status, found.admitted_at = "used", datetime.now(UTC)
            body = {"ticketId": str(found.ticket_id), "title": found.title}
            return JSONResponse(body | {"admittedAt": found.admitted_at.isoformat()})

        return app
