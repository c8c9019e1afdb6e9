"""Webhooks sent the way Stripe sends them: signed with the endpoint's secret, and retried
with backoff until the endpoint answers 2xx. The sandbox sends its own through this."""

import asyncio
import hashlib
import hmac
import json
import logging
import time
from typing import Any
from uuid import uuid4

import httpx

log = logging.getLogger(__name__)


def signature_header(payload: str, secret: str, timestamp: int) -> str:
    """`Stripe-Signature` as Stripe computes it. Written out rather than taken from the SDK
    (`WebhookSignature.generate_signature_header`): the sandbox never loads the SDK."""
    mac = hmac.new(secret.encode(), f"{timestamp}.{payload}".encode(), hashlib.sha256)
    return f"t={timestamp},v1={mac.hexdigest()}"


class WebhookSender:
    """Each event is delivered by a task of its own, so sending never blocks a charge.
    `transport` is httpx's: tests hand in one that reaches an app in process."""

    def __init__(
        self,
        secret: str,
        url: str,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        tries: int = 8,
        first_delay: float = 0.5,
        max_delay: float = 30.0,
    ) -> None:
        self.secret = secret
        self.url = url
        self.transport = transport
        self.tries = tries
        self.first_delay = first_delay
        self.max_delay = max_delay
        self._client: httpx.AsyncClient | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    def send(self, event_type: str, data_object: dict[str, Any]) -> str:
        """Queue one event, as Stripe shapes it; returns its id."""
        event_id = f"evt_sandbox_{uuid4().hex[:24]}"
        event = {
            "id": event_id,
            "object": "event",
            "type": event_type,
            "created": int(time.time()),
            "livemode": False,
            "data": {"object": data_object},
        }
        task = asyncio.create_task(self._deliver(event_id, json.dumps(event)))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return event_id

    async def _deliver(self, event_id: str, payload: str) -> None:
        delay = self.first_delay
        for _ in range(self.tries):
            # Signed at each try, as Stripe does: the timestamp stays within the tolerance
            # a receiver allows against replays.
            headers = {
                "Content-Type": "application/json",
                "Stripe-Signature": signature_header(payload, self.secret, int(time.time())),
            }
            try:
                response = await self._http().post(self.url, content=payload, headers=headers)
            except httpx.HTTPError as error:
                log.info("webhook %s not delivered, will retry: %r", event_id, error)
            else:
                if response.is_success:
                    return
                log.info("webhook %s answered %s, will retry", event_id, response.status_code)
            await asyncio.sleep(delay)
            delay = min(delay * 2, self.max_delay)
        log.warning("webhook %s given up after %d tries", event_id, self.tries)

    def _http(self) -> httpx.AsyncClient:
        if self._client is None:
            self._client = httpx.AsyncClient(transport=self.transport, timeout=10.0)
        return self._client

    async def idle(self) -> None:
        """Wait until every event sent so far is delivered or given up."""
        while self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)

    async def aclose(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._client is not None:
            await self._client.aclose()
            self._client = None
