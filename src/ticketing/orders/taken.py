"""Listings taken, as this replica last read them (an order holds the ticket): a flash
sale's refusals are answered from memory, not each with a statement.

Most attempts in a flash sale are refusals, and a ticket is refused again and again, about
five times for each win. The reservation's first read says whether an order holds the
ticket; once it has said so, the same answer is kept here, with the listing (so the
answer is the same as the database's, "your own ticket" included), until the ticket may
be free again. It never admits: a win is still the partial unique index's alone
(guarantee 1).

What may change that answer is a change of an order's status (or its deletion), or of the
replica's sale, seller or withdrawal. The database announces each on commit (a trigger's
NOTIFY, migration 0004), to every replica, whichever process made it; each forgets the
ticket as it hears. The cancel route also forgets at once, so its caller's next attempt
never finds their own cancelled order.

Two races are closed:
- a read that began before a change was heard may come back after it with the old
  answer: every change heard moves `generation` on, and an answer read under an older
  generation is not kept;
- a change made while the announcements are not heard (the connection down): nothing is
  kept while not listening, and all is forgotten when listening stops and starts again.
"""

import logging
from uuid import UUID

from fastapi import FastAPI

from ticketing.common.database_url import libpq_dsn
from ticketing.common.wakeups import listen
from ticketing.orders.domain import Listing

log = logging.getLogger(__name__)

CHANNEL = "orders_ticket_changed"
MOST = 50_000  # listings kept at once; past it, all are forgotten (a refusal reads anew)
RETRY_SECONDS = 1.0


class TakenListings:
    def __init__(self, most: int = MOST) -> None:
        self._most = most
        self._taken: dict[UUID, Listing] = {}
        self._listening = False
        self.generation = 0

    def __len__(self) -> int:
        return len(self._taken)

    @property
    def listening(self) -> bool:
        return self._listening

    def get(self, ticket_id: UUID) -> Listing | None:
        return self._taken.get(ticket_id)

    def keep(self, listing: Listing, *, read_at: int) -> None:
        """An order holds `listing`, as read when `generation` was `read_at`."""
        if not self._listening or read_at != self.generation:
            return
        if len(self._taken) >= self._most:
            self._taken.clear()
        self._taken[listing.id] = listing

    def forget(self, ticket_id: UUID) -> None:
        self._taken.pop(ticket_id, None)
        self.generation += 1

    def heard(self, payload: str | None) -> None:
        """A change announced (the ticket's id), or None: listening began anew."""
        if payload is None:
            self._forget_all()
            self._listening = True
            return
        try:
            ticket_id = UUID(payload)
        except ValueError:  # not ours to read: forget everything rather than guess
            log.warning("taken listings: unreadable announcement %r", payload[:80])
            self._forget_all()
            return
        self.forget(ticket_id)

    def lost(self) -> None:
        self._listening = False
        self._forget_all()

    def _forget_all(self) -> None:
        self._taken.clear()
        self.generation += 1


async def follow_changes(app: FastAPI) -> None:
    """For as long as the app serves: hear the database's announcements."""
    taken: TakenListings = app.state.taken
    await listen(
        libpq_dsn(app.state.settings.database_url),
        CHANNEL,
        taken.heard,
        retry_seconds=RETRY_SECONDS,
        lost=taken.lost,
    )
