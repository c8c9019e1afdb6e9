"""Refusals answered from memory (orders/taken.py): as the database would answer them, and
never once the ticket may be free again, whoever freed it."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from uuid import uuid4

import asyncpg
import pytest

from tests.orders.builders import make_ticket, orders_for_ticket
from tests.support import eventually, person
from ticketing.common.database_url import libpq_dsn
from ticketing.orders import store
from ticketing.orders.domain import Listing
from ticketing.orders.taken import TakenListings

RESERVED = {"errors": [{"message": "Ticket is already reserved"}]}
OWN = {"errors": [{"message": "You cannot order your own ticket"}]}


@pytest.fixture
async def listening(app, client):
    """The app, once it hears the database's announcements (it keeps nothing before)."""
    await eventually(lambda: app.state.taken.listening)
    return app


@pytest.fixture
def reads(monkeypatch) -> list[object]:
    """Each time a reservation reads the listing from the database."""
    seen: list[object] = []
    read = store.listing_to_order

    async def counted(driver, ticket_id):
        seen.append(ticket_id)
        return await read(driver, ticket_id)

    monkeypatch.setattr(store, "listing_to_order", counted)
    return seen


@asynccontextmanager
async def elsewhere(settings) -> AsyncIterator[asyncpg.Connection]:
    """A connection of another process's: what it changes, the app hears only as announced."""
    connection = await asyncpg.connect(libpq_dsn(settings.database_url))
    try:
        yield connection
    finally:
        await connection.close()


async def order(client, who, ticket):
    return await client.post("/api/orders", json={"ticketId": str(ticket.id)}, headers=who.headers)


async def test_a_held_ticket_is_refused_again_without_reading_the_database(
    listening, client, engine, settings, reads
):
    seller = person(settings)
    ticket = await make_ticket(engine, user_id=seller.id)
    assert (await order(client, person(settings), ticket)).status_code == 201
    assert (await order(client, person(settings), ticket)).status_code == 400
    assert len(reads) == 2  # the win's read, and the first refusal's

    for _ in range(3):
        refused = await order(client, person(settings), ticket)
        assert refused.status_code == 400 and refused.json() == RESERVED
    own = await order(client, seller, ticket)  # the answer the database's listing gives
    assert own.status_code == 400 and own.json() == OWN
    assert len(reads) == 2
    assert len(await orders_for_ticket(engine, ticket.id)) == 1


async def test_an_order_another_process_cancels_frees_its_ticket(
    listening, client, engine, settings
):
    ticket = await make_ticket(engine)
    won = await order(client, person(settings), ticket)
    assert (await order(client, person(settings), ticket)).status_code == 400
    async with elsewhere(settings) as db:  # as an expiry on another replica would
        await db.execute("UPDATE orders SET status = 'cancelled' WHERE id = $1", won.json()["id"])

    buyer = person(settings)
    await eventually(lambda: _placed(client, buyer, ticket), timeout=3)


async def test_a_ticket_resold_elsewhere_is_ordered_again(listening, client, engine, settings):
    ticket = await make_ticket(engine)
    assert (await order(client, person(settings), ticket)).status_code == 201
    assert (await order(client, person(settings), ticket)).status_code == 400
    async with elsewhere(settings) as db:  # the replica follows a resale: a new sale
        await db.execute("UPDATE tickets SET sale = 1 WHERE id = $1", ticket.id)

    buyer = person(settings)
    await eventually(lambda: _placed(client, buyer, ticket), timeout=3)


async def test_your_own_cancel_frees_the_ticket_for_the_next_attempt_at_once(
    listening, client, engine, settings
):
    """Even were the announcement late (here it never comes), the cancel route forgets."""
    ticket = await make_ticket(engine)
    first = person(settings)
    won = await order(client, first, ticket)
    assert (await order(client, person(settings), ticket)).status_code == 400
    async with elsewhere(settings) as db:
        await db.execute("ALTER TABLE orders DISABLE TRIGGER orders_changed")

    cancelled = await client.delete(f"/api/orders/{won.json()['id']}", headers=first.headers)
    assert cancelled.status_code == 204
    assert (await order(client, person(settings), ticket)).status_code == 201


async def test_listening_again_after_the_connection_drops(listening, client, engine, settings):
    taken: TakenListings = listening.state.taken
    ticket = await make_ticket(engine)
    assert (await order(client, person(settings), ticket)).status_code == 201
    assert (await order(client, person(settings), ticket)).status_code == 400
    assert taken.get(ticket.id) is not None
    async with elsewhere(settings) as db:
        ended = await db.fetchval(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
            "WHERE datname = current_database() AND query LIKE 'LISTEN%'"
        )
    assert ended == 1
    await eventually(lambda: taken.get(ticket.id) is None)  # forgotten as the connection ended
    await eventually(lambda: taken.listening)

    again = await make_ticket(engine)
    won = await order(client, person(settings), again)
    assert (await order(client, person(settings), again)).status_code == 400
    assert taken.get(again.id) is not None  # keeping again
    async with elsewhere(settings) as db:
        await db.execute("UPDATE orders SET status = 'cancelled' WHERE id = $1", won.json()["id"])
    await eventually(lambda: taken.get(again.id) is None)  # and hearing again


async def _placed(client, who, ticket) -> bool:
    return (await order(client, who, ticket)).status_code == 201


# TakenListings alone: the two races it closes.


def _listing() -> Listing:
    return Listing(uuid4(), "Show", 2050, uuid4(), 0)


def test_nothing_is_kept_until_listening_nor_after_it_stops():
    taken, listing = TakenListings(), _listing()
    taken.keep(listing, read_at=taken.generation)
    assert taken.get(listing.id) is None

    taken.heard(None)
    taken.keep(listing, read_at=taken.generation)
    assert taken.get(listing.id) == listing

    taken.lost()
    assert taken.get(listing.id) is None
    taken.keep(listing, read_at=taken.generation)
    assert taken.get(listing.id) is None


def test_an_answer_read_before_a_change_was_heard_is_not_kept():
    taken, listing = TakenListings(), _listing()
    taken.heard(None)
    read_at = taken.generation
    taken.heard(str(uuid4()))  # any ticket's change, heard while the read was out
    taken.keep(listing, read_at=read_at)
    assert taken.get(listing.id) is None


def test_listening_anew_or_an_unreadable_announcement_forgets_everything():
    taken, listing = TakenListings(), _listing()
    taken.heard(None)
    taken.keep(listing, read_at=taken.generation)
    taken.heard("not a ticket")
    assert taken.get(listing.id) is None

    taken.keep(listing, read_at=taken.generation)
    taken.heard(None)
    assert taken.get(listing.id) is None


def test_past_the_most_it_keeps_it_starts_over():
    taken = TakenListings(most=2)
    taken.heard(None)
    first, second, third = _listing(), _listing(), _listing()
    for listing in (first, second, third):
        taken.keep(listing, read_at=taken.generation)
    assert len(taken) == 1 and taken.get(third.id) == third
