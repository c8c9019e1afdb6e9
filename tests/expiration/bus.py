"""Order events as the orders service publishes them; expiration.complete read off the stream."""

import json
from datetime import UTC, datetime, timedelta
from uuid import UUID, uuid4

from nats.js.errors import NotFoundError

from tests.common.bus_support import EventBus
from tests.support import eventually
from ticketing.common.bus.connection import BusNames
from ticketing.common.events import (
    OrderCancelled,
    OrderCompleted,
    OrderCreated,
    OrderRef,
    OrderTicket,
    SoldTicket,
    Subject,
)


def in_seconds(seconds: float) -> datetime:
    return datetime.now(UTC) + timedelta(seconds=seconds)


def order_created(order_id: UUID, expires_at: datetime) -> OrderCreated:
    return OrderCreated(
        id=order_id,
        version=0,
        status="created",
        user_id=uuid4(),
        expires_at=expires_at,
        ticket=OrderTicket(id=uuid4(), price=1500),
    )


def order_cancelled(order_id: UUID) -> OrderCancelled:
    return OrderCancelled(id=order_id, version=1, ticket=OrderRef(id=uuid4()))


def order_completed(order_id: UUID) -> OrderCompleted:
    return OrderCompleted(id=order_id, version=1, ticket=SoldTicket(id=uuid4()))


class ExpirationBus(EventBus):
    """Orders' side of the bus: publish order events, and read every expiration.complete
    with the time the server stored it."""

    def __init__(self, js, names: BusNames, lateness: list[float]) -> None:
        super().__init__(js, names)
        self._lateness = lateness
        self._next_seq = 1
        self.stored: list[tuple[UUID, datetime]] = []

    async def refresh(self) -> None:
        subject = self.names.subject(Subject.EXPIRATION_COMPLETE)
        while True:
            try:
                raw = await self.js.get_msg(
                    self.names.stream, seq=self._next_seq, subject=subject, next=True
                )
            except NotFoundError:
                return
            self._next_seq = raw.seq + 1
            order_id = UUID(json.loads(raw.data)["data"]["orderId"])
            self.stored.append((order_id, raw.time))

    async def expirations(self, order_id: UUID) -> int:
        """How many expiration.complete the order has had."""
        await self.refresh()
        return sum(1 for stored_id, _ in self.stored if stored_id == order_id)

    async def wait_for_expiry(self, *order_ids: UUID, timeout: float = 5.0) -> None:
        async def all_fired() -> bool:
            await self.refresh()
            return set(order_ids) <= {stored_id for stored_id, _ in self.stored}

        await eventually(all_fired, timeout=timeout)

    async def lateness(self, order_id: UUID, due: datetime, *, record: bool = True) -> float:
        """Seconds from `due` to the first stored expiration.complete for the order."""
        await self.refresh()
        stored = min(at for stored_id, at in self.stored if stored_id == order_id)
        late = (stored - due).total_seconds()
        if record:
            self._lateness.append(late)
        return late
