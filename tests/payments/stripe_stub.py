"""A local stand-in for Stripe's API, served over real HTTP, that records what it is sent.

It answers the way Stripe documents for its test tokens: PaymentIntents created and
confirmed in one call, card errors as 402, bad tokens as 400, idempotent replays of a
key's first answer, refunds, and Transfers to connected accounts (any `acct_` id exists
but those with "missing" in them).


confirmed in one call (or left in requires_action, with a client secret, for a card that
asks for 3-D Secure), card errors as 402, bad tokens as 400, idempotent replays of a
key's first answer, and refunds.
"""

import threading
import time
from dataclasses import dataclass, field
from uuid import uuid4

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route


@dataclass
class Recorded:
    path: str
    headers: dict[str, str]
    form: dict[str, str]


def _error(status: int, kind: str, message: str, code: str, param: str = "") -> tuple[int, dict]:
    return status, {"error": {"type": kind, "code": code, "message": message, "param": param}}


@dataclass
class StripeStub:
    requests: list[Recorded] = field(default_factory=list)
    charges: dict[str, dict] = field(default_factory=dict)  # PaymentIntents really created
    refunds: dict[str, dict] = field(default_factory=dict)  # by PaymentIntent id
    transfers: dict[str, dict] = field(default_factory=dict)  # Transfers really created

    awaiting_action: dict[str, dict] = field(default_factory=dict)  # 3-D Secure, by id
    unavailable: int = 0  # answer this many next requests with a retryable 503
    _replays: dict[str, tuple[int, dict]] = field(default_factory=dict)
    url: str = ""

    def reset(self) -> None:
        self.requests.clear()
        self.charges.clear()
        self.refunds.clear()
        self.transfers.clear()

        self.awaiting_action.clear()
        self._replays.clear()
        self.unavailable = 0

    def app(self) -> Starlette:
        return Starlette(
            routes=[
                Route("/v1/payment_intents", self._payment_intents, methods=["POST"]),
                Route("/v1/refunds", self._refunds, methods=["POST"]),
                Route("/v1/transfers", self._transfers, methods=["POST"]),
            ]
        )

    async def _payment_intents(self, request: Request) -> JSONResponse:
        return await self._answer(request, self._create_intent)

    async def _refunds(self, request: Request) -> JSONResponse:
        return await self._answer(request, self._create_refund)

    async def _transfers(self, request: Request) -> JSONResponse:
        return await self._answer(request, self._create_transfer)

    async def _answer(self, request: Request, decide) -> JSONResponse:
        form = dict((await request.form()).multi_items())
        self.requests.append(Recorded(request.url.path, dict(request.headers), form))
        if self.unavailable:
            self.unavailable -= 1
            status, body = _error(503, "api_error", "Stripe is briefly unavailable", "")
            return JSONResponse(body, status_code=status, headers={"Stripe-Should-Retry": "true"})
        key = request.headers.get("idempotency-key", "")
        if key not in self._replays:
            self._replays[key] = decide(form)
        status, body = self._replays[key]
        return JSONResponse(body, status_code=status)

    def _create_intent(self, form: dict[str, str]) -> tuple[int, dict]:
        token = form.get("payment_method_data[card][token]") or form.get("payment_method", "")
        if int(form["amount"]) < 50:
            return _error(
                400, "invalid_request_error", "Amount must be at least $0.50 usd",
                "amount_too_small", "amount",
            )  # fmt: skip
        if token == "tok_chargeDeclined":
            return _error(402, "card_error", "Your card was declined.", "card_declined")
        statuses = {"tok_visa": "succeeded", "pm_card_visa": "succeeded"}
        statuses["tok_threeDSecure2Required"] = "requires_action"
        if token not in statuses:
            return _error(
                400, "invalid_request_error", f"No such token: '{token}'",
                "resource_missing", "payment_method_data[card][token]",
            )  # fmt: skip
        intent = {
            "id": f"pi_{uuid4().hex[:24]}",
            "object": "payment_intent",
            "amount": int(form["amount"]),
            "currency": form["currency"],
            "status": statuses[token],
        }
        if intent["status"] == "requires_action":
            # 3-D Secure, as Stripe answers it: nothing charged until the buyer authenticates
            # in the browser with the client secret.
            intent["client_secret"] = f"{intent['id']}_secret_{uuid4().hex[:24]}"
            intent["next_action"] = {"type": "use_stripe_sdk", "use_stripe_sdk": {}}
            self.awaiting_action[intent["id"]] = intent
            return 200, intent
        self.charges[intent["id"]] = intent
        return 200, intent

    def _create_refund(self, form: dict[str, str]) -> tuple[int, dict]:
        intent_id = form.get("payment_intent", "")
        if intent_id not in self.charges:
            message = f"No such payment_intent: '{intent_id}'"
            return _error(400, "invalid_request_error", message, "resource_missing")
        if intent_id in self.refunds:
            message = f"Charge for {intent_id} has already been refunded."
            return _error(400, "invalid_request_error", message, "charge_already_refunded")
        refund = {"id": f"re_{uuid4().hex[:24]}", "object": "refund", "status": "succeeded"}
        self.refunds[intent_id] = refund | {"payment_intent": intent_id}
        return 200, self.refunds[intent_id]

    def _create_transfer(self, form: dict[str, str]) -> tuple[int, dict]:
        destination = form.get("destination", "")
        if not destination.startswith("acct_") or "missing" in destination:
            message = f"No such destination: '{destination}'"
            return _error(400, "invalid_request_error", message, "resource_missing", "destination")
        transfer = {
            "id": f"tr_{uuid4().hex[:24]}",
            "object": "transfer",
            "amount": int(form["amount"]),
            "currency": form["currency"],
            "destination": destination,
        }
        self.transfers[transfer["id"]] = transfer
        return 200, transfer


class Served:
    """Runs an ASGI app with uvicorn on a free 127.0.0.1 port, in its own thread."""

    def __init__(self, app) -> None:
        config = uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning", lifespan="off")
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, daemon=True)

    def __enter__(self) -> str:
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            if time.monotonic() > deadline or not self._thread.is_alive():
                raise RuntimeError("the Stripe stub did not start")
            time.sleep(0.01)
        port = self._server.servers[0].sockets[0].getsockname()[1]
        return f"http://127.0.0.1:{port}"

    def __exit__(self, *_exc) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=10)
