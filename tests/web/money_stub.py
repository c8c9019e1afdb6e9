"""STAND-INS for the money APIs being built beside these pages, in front of the real
services, so the pages can be tested against real auth, sessions and CSRF now:

- `PayoutsStub` answers /api/payouts* as the ledger's contract says (account, balance,
  payout, its two 400s). It keeps balances in memory, seeded with `credit`.
- `ThreeDSecurePayments` answers POST /api/payments as the webhooks' contract says for a
  card whose bank asks for 3-D Secure: 202 {status: "requires_action", clientSecret}.
  It charges nothing and completes no order (that is the webhook's job, not the page's).

Both check sessions as the services do (the JWT, with the test run's public key) but know
no revocation. Once payments serves these routes, the pages' journey can use it for real;
these stubbed tests then stay as the pages' own checks of each answer."""

import asyncio
import re
import secrets
from dataclasses import dataclass
from decimal import Decimal
from types import SimpleNamespace
from uuid import UUID, uuid4

from fastapi import FastAPI, Request, Response
from fastapi.responses import JSONResponse

from tests.support import KEYS
from ticketing.common.auth import session_of

ACCOUNT_ID = re.compile(r"acct_[A-Za-z0-9]{1,64}")
THREE_D_SECURE = "tok_threeDSecure2Required"


def _errors(status: int, message: str, field: str | None = None) -> JSONResponse:
    item = {"message": message} | ({"field": field} if field else {})
    return JSONResponse({"errors": [item]}, status_code=status)


def _number(value: Decimal) -> int | float:
    """As the API shows prices: 10 for 10.00, 10.5 for 10.50."""
    return int(value) if value == value.to_integral_value() else float(value)


@dataclass
class Ledger:
    pending: Decimal = Decimal(0)
    available: Decimal = Decimal(0)
    paid_out: Decimal = Decimal(0)
    account_id: str | None = None


class PayoutsStub:
    def __init__(self, currency: str = "usd") -> None:
        self.currency = currency
        self.ledgers: dict[UUID, Ledger] = {}
        self.transfers: list[dict] = []  # one per payout the API made
        self.app = self._app()
        self._lock = asyncio.Lock()

    def credit(self, user: UUID | str, pending="0", available="0", paid_out="0") -> Ledger:
        ledger = self.ledgers.setdefault(UUID(str(user)), Ledger())
        ledger.pending += Decimal(pending)
        ledger.available += Decimal(available)
        ledger.paid_out += Decimal(paid_out)
        return ledger

    def _app(self) -> FastAPI:
        app = FastAPI()
        app.state.settings = SimpleNamespace(**KEYS)

        @app.get("/api/payouts/balance")
        async def balance(request: Request) -> Response:
            session = session_of(request)
            if session is None:
                return _errors(401, "Not authorized")
            ledger = self.ledgers.get(session.user.id, Ledger())
            figures = {
                "pending": _number(ledger.pending),
                "available": _number(ledger.available),
                "paidOut": _number(ledger.paid_out),
            }
            return JSONResponse(figures | {"currency": self.currency})

        @app.post("/api/payouts/account")
        async def account(request: Request) -> Response:
            session = session_of(request)
            if session is None:
                return _errors(401, "Not authorized")
            account_id = (await request.json()).get("accountId")
            if account_id is None:
                return _errors(400, "Account id is required", "accountId")
            if not isinstance(account_id, str) or not ACCOUNT_ID.fullmatch(account_id):
                return _errors(400, "Account id must look like acct_…", "accountId")
            self.ledgers.setdefault(session.user.id, Ledger()).account_id = account_id
            return JSONResponse({"accountId": account_id})

        @app.post("/api/payouts")
        async def payout(request: Request) -> Response:
            session = session_of(request)
            if session is None:
                return _errors(401, "Not authorized")
            async with self._lock:  # two presses at once: one transfer
                ledger = self.ledgers.get(session.user.id, Ledger())
                if ledger.account_id is None:
                    return _errors(400, "Add a payout account first")
                if ledger.available <= 0:
                    return _errors(400, "Nothing to pay out")
                amount, ledger.available = ledger.available, Decimal(0)
                ledger.paid_out += amount
                sent = {"id": str(uuid4()), "amount": _number(amount), "status": "paid"}
                self.transfers.append(sent | {"account": ledger.account_id})
            return JSONResponse(sent, status_code=201)

        return app


class ThreeDSecurePayments:
    def __init__(self) -> None:
        self.intents: dict[str, UUID] = {}  # intent id → the order it is for
        self.app = self._app()

    def _app(self) -> FastAPI:
        app = FastAPI()
        app.state.settings = SimpleNamespace(**KEYS)

        @app.post("/api/payments")
        async def pay(request: Request) -> Response:
            if session_of(request) is None:
                return _errors(401, "Not authorized")
            body = await request.json()
            if body.get("token") != THREE_D_SECURE:
                return _errors(400, "This stand-in only asks for 3-D Secure", "token")
            intent = f"pi_{secrets.token_hex(12)}"
            self.intents[intent] = UUID(body["orderId"])
            secret = f"{intent}_secret_{secrets.token_hex(12)}"
            return JSONResponse({"status": "requires_action", "clientSecret": secret}, 202)

        return app
