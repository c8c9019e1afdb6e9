"""Ticket rules with no database: who may change a listing, when, and what changes."""

from uuid import uuid4

import pytest

from tests.tickets.builders import a_ticket
from ticketing.common.errors import BadRequest, NotAuthorized
from ticketing.tickets import domain
from ticketing.tickets.domain import Reservation, Status


def test_a_title_is_trimmed():
    assert domain.clean_title("  Hamilton  ") == "Hamilton"


@pytest.mark.parametrize("value", [None, "", "   ", "\n\t"])
def test_a_blank_title_is_required(value):
    with pytest.raises(ValueError, match="Title is required"):
        domain.clean_title(value)


def test_a_title_may_be_200_characters_but_not_201():
    assert domain.clean_title("x" * 200 + "  ") == "x" * 200
    with pytest.raises(ValueError, match="at most 200"):
        domain.clean_title("x" * 201)


def test_a_title_must_be_text():
    with pytest.raises(ValueError, match="text"):
        domain.clean_title(42)


def test_the_owner_edits_an_available_ticket_and_its_version_grows():
    ticket = a_ticket()
    domain.edit(ticket, editor=ticket.user_id, title="New", price_cents=1500)
    assert (ticket.title, ticket.price_cents, ticket.version) == ("New", 1500, 1)


def test_someone_else_cannot_edit():
    ticket = a_ticket()
    with pytest.raises(NotAuthorized):
        domain.edit(ticket, editor=uuid4(), title="New", price_cents=1500)
    assert ticket.version == 0


@pytest.mark.parametrize("status", [Status.RESERVED, Status.SOLD, Status.WITHDRAWN])
def test_a_ticket_off_sale_cannot_be_edited(status):
    ticket = a_ticket(status=status)
    with pytest.raises(BadRequest, match=f"Cannot edit a {status} ticket"):
        domain.edit(ticket, editor=ticket.user_id, title="New", price_cents=1500)
    assert ticket.version == 0


def test_withdrawing_takes_the_listing_down_once():
    ticket = a_ticket()
    assert domain.withdraw(ticket, seller=ticket.user_id) is True
    assert (ticket.status, ticket.version) == (Status.WITHDRAWN, 1)
    assert domain.withdraw(ticket, seller=ticket.user_id) is False
    assert ticket.version == 1


def test_someone_else_cannot_withdraw():
    ticket = a_ticket()
    with pytest.raises(NotAuthorized):
        domain.withdraw(ticket, seller=uuid4())


@pytest.mark.parametrize("status", [Status.RESERVED, Status.SOLD])
def test_a_reserved_or_sold_ticket_cannot_be_withdrawn(status):
    ticket = a_ticket(status=status)
    with pytest.raises(BadRequest, match=f"Cannot withdraw a {status} ticket"):
        domain.withdraw(ticket, seller=ticket.user_id)


def test_an_order_reserves_an_available_ticket():
    ticket, order_id = a_ticket(), uuid4()
    assert domain.reserve(ticket, order_id) is Reservation.RESERVED
    assert (ticket.status, ticket.order_id, ticket.version) == (Status.RESERVED, order_id, 1)


def test_the_same_order_reserving_again_changes_nothing():
    ticket, order_id = a_ticket(), uuid4()
    domain.reserve(ticket, order_id)
    assert domain.reserve(ticket, order_id) is Reservation.ALREADY
    assert ticket.version == 1


def test_another_order_finds_the_ticket_held():
    ticket = a_ticket(status=Status.RESERVED)
    holder = ticket.order_id
    assert domain.reserve(ticket, uuid4()) is Reservation.HELD
    assert (ticket.order_id, ticket.version) == (holder, 0)


@pytest.mark.parametrize("status", [Status.SOLD, Status.WITHDRAWN])
def test_a_sold_or_withdrawn_ticket_is_not_reserved(status):
    ticket = a_ticket(status=status)
    assert domain.reserve(ticket, uuid4()) is Reservation.REFUSED
    assert ticket.version == 0


def test_the_holding_order_releases_the_ticket():
    ticket = a_ticket(status=Status.RESERVED)
    assert domain.release(ticket, ticket.order_id) is True
    assert (ticket.status, ticket.order_id, ticket.version) == (Status.AVAILABLE, None, 1)


def test_a_cancel_from_another_order_releases_nothing():
    ticket = a_ticket(status=Status.RESERVED)
    holder = ticket.order_id
    assert domain.release(ticket, uuid4()) is False
    assert (ticket.status, ticket.order_id, ticket.version) == (Status.RESERVED, holder, 0)


def test_a_cancel_never_releases_a_sold_ticket():
    ticket = a_ticket(status=Status.SOLD)
    assert domain.release(ticket, ticket.order_id) is False
    assert ticket.status == Status.SOLD


def test_the_holding_order_buys_the_ticket_once():
    ticket = a_ticket(status=Status.RESERVED)
    assert domain.sell(ticket, ticket.order_id) is True
    assert (ticket.status, ticket.version) == (Status.SOLD, 1)
    assert domain.sell(ticket, ticket.order_id) is False
    assert ticket.version == 1


def test_an_order_that_does_not_hold_the_ticket_cannot_buy_it():
    ticket = a_ticket()
    assert domain.sell(ticket, uuid4()) is False
    assert ticket.status == Status.AVAILABLE
