"""Stripe webhooks seen from outside: events signed with the real SDK, posted to the app,
and a transport that lets the sandbox reach its app in process."""

import json
from typing import Any
from uuid import uuid4

import httpx
import stripe
from fastapi import FastAPI

SECRET = "whsec_test_webhooks_secret_for_payments"
WEBHOOK_PATH = "/api/payments/webhook"


class AppTransport(httpx.AsyncBaseTransport):
    """The sandbox is built before the app it calls back; the app is set once it exists."""

    def __init__(self) -> None:
        self.app: FastAPI | None = None

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        assert self.app is not None, "the app was not given to the transport"
        transport = httpx.ASGITransport(app=self.app, raise_app_exceptions=False)
        return await transport.handle_async_request(request)


def event(event_type: str, data_object: dict[str, Any], event_id: str | None = None) -> str:
    return json.dumps(
        {
            "id": event_id or f"evt_{uuid4().hex[:24]}",
            "object": "event",
            "type": event_type,
            "data": {"object": data_object},
        }
    )


def intent(intent_id: str, status: str, attempt_id=None, amount: int = 2050) -> dict[str, Any]:
    metadata = {} if attempt_id is None else {"attempt_id": str(attempt_id)}
    return {
        "id": intent_id,
        "object": "payment_intent",
        "status": status,
        "amount": amount,
        "currency": "usd",
        "metadata": metadata,
    }


def refunded_charge(intent_id: str, refunded: bool = True) -> dict[str, Any]:
    return {
        "id": f"ch_{uuid4().hex[:24]}",
        "object": "charge",
        "payment_intent": intent_id,
        "refunded": refunded,
    }


def signed(payload: str, secret: str = SECRET, timestamp: int | None = None) -> dict[str, str]:
    """Headers as Stripe sends them, the signature made by the real SDK's own helper."""
    header = stripe.WebhookSignature.generate_signature_header(payload, secret, timestamp)
    return {"Stripe-Signature": header, "Content-Type": "application/json"}


async def deliver(client: httpx.AsyncClient, payload: str, **signing) -> httpx.Response:
    return await client.post(WEBHOOK_PATH, content=payload, headers=signed(payload, **signing))
