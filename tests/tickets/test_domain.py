"""Ticket rules with no database: who may change a listing, when, and what changes."""

from uuid import uuid4

import pytest

from tests.tickets.builders import a_ticket
from ticketing.common.refusals import Invalid, NotYours
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


def test_the_owner_edits_an_available_ticket_into_a_new_version():
    ticket = a_ticket()
    edited = domain.edit(ticket, editor=ticket.user_id, title="New", price_cents=1500)
    assert (edited.title, edited.price_cents, edited.version) == ("New", 1500, 1)
    assert (edited.id, edited.user_id, edited.status) == (ticket.id, ticket.user_id, ticket.status)
    assert ticket.version == 0


def test_someone_else_cannot_edit():
    ticket = a_ticket()
    with pytest.raises(NotYours):
        domain.edit(ticket, editor=uuid4(), title="New", price_cents=1500)


@pytest.mark.parametrize("status", [Status.RESERVED, Status.SOLD, Status.WITHDRAWN])
def test_a_ticket_off_sale_cannot_be_edited(status):
    ticket = a_ticket(status=status)
    with pytest.raises(Invalid, match=f"Cannot edit a {status} ticket"):
        domain.edit(ticket, editor=ticket.user_id, title="New", price_cents=1500)


def test_withdrawing_takes_the_listing_down_once():
    ticket = a_ticket()
    withdrawn = domain.withdraw(ticket, seller=ticket.user_id)
    assert withdrawn is not None
    assert (withdrawn.status, withdrawn.version) == (Status.WITHDRAWN, 1)
    assert domain.withdraw(withdrawn, seller=ticket.user_id) is None


def test_someone_else_cannot_withdraw():
    ticket = a_ticket()
    with pytest.raises(NotYours):
        domain.withdraw(ticket, seller=uuid4())


@pytest.mark.parametrize("status", [Status.RESERVED, Status.SOLD])
def test_a_reserved_or_sold_ticket_cannot_be_withdrawn(status):
    ticket = a_ticket(status=status)
    with pytest.raises(Invalid, match=f"Cannot withdraw a {status} ticket"):
        domain.withdraw(ticket, seller=ticket.user_id)


def test_an_order_reserves_an_available_ticket():
    ticket, order_id = a_ticket(), uuid4()
    outcome, reserved = domain.reserve(ticket, order_id)
    assert outcome is Reservation.RESERVED
    assert (reserved.status, reserved.order_id, reserved.version) == (Status.RESERVED, order_id, 1)


def test_the_same_order_reserving_again_changes_nothing():
    ticket, order_id = a_ticket(), uuid4()
    _, reserved = domain.reserve(ticket, order_id)
    assert domain.reserve(reserved, order_id) == (Reservation.ALREADY, reserved)


def test_another_order_finds_the_ticket_held():
    ticket = a_ticket(status=Status.RESERVED)
    assert domain.reserve(ticket, uuid4()) == (Reservation.HELD, ticket)


@pytest.mark.parametrize("status", [Status.SOLD, Status.WITHDRAWN])
def test_a_sold_or_withdrawn_ticket_is_not_reserved(status):
    ticket = a_ticket(status=status)
    assert domain.reserve(ticket, uuid4()) == (Reservation.REFUSED, ticket)


def test_the_holding_order_releases_the_ticket():
    ticket = a_ticket(status=Status.RESERVED)
    released = domain.release(ticket, ticket.order_id)
    assert released is not None
    assert (released.status, released.order_id, released.version) == (Status.AVAILABLE, None, 1)


def test_a_cancel_from_another_order_releases_nothing():
    ticket = a_ticket(status=Status.RESERVED)
    assert domain.release(ticket, uuid4()) is None


def test_a_cancel_never_releases_a_sold_ticket():
    ticket = a_ticket(status=Status.SOLD)
    assert domain.release(ticket, ticket.order_id) is None


def test_the_holding_order_buys_the_ticket_once():
    ticket = a_ticket(status=Status.RESERVED)
    sold = domain.sell(ticket, ticket.order_id)
    assert sold is not None
    assert (sold.status, sold.order_id, sold.version) == (Status.SOLD, ticket.order_id, 1)
    assert domain.sold_to(sold, ticket.order_id)
    assert domain.sell(sold, ticket.order_id) is None


def test_an_order_that_does_not_hold_the_ticket_cannot_buy_it():
    ticket = a_ticket()
    assert domain.sell(ticket, uuid4()) is None
    assert not domain.sold_to(ticket, uuid4())


def test_a_ticket_is_frozen():
    ticket = a_ticket()
    with pytest.raises(AttributeError):
        ticket.version = 5


def test_a_withdrawn_ticket_is_hidden_from_the_public():
    assert domain.shown_to_public(a_ticket(status=Status.SOLD))
    assert not domain.shown_to_public(a_ticket(status=Status.WITHDRAWN))
