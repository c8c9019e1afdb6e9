"""Resale rules with no database: a holder's pass puts a sold ticket back on sale and ends it."""

from dataclasses import replace
from uuid import uuid4

import pytest

from tests.tickets.builders import a_ticket
from ticketing.common.refusals import Invalid, NotYours
from ticketing.tickets import domain
from ticketing.tickets.domain import Status


def a_resale(**overrides):
    """A holder's ticket back on sale: their listing, at sale 1, capped."""
    fields = {"sale": 1, "price_cap_cents": 3000, "price_cents": 2500, "version": 3}
    return a_ticket(**{**fields, **overrides})


def test_a_sold_ticket_is_relisted_by_its_buyer_as_a_new_sale():
    sold = a_ticket(status=Status.SOLD, version=2)
    holder = uuid4()
    relisted = domain.relist(sold, holder=holder, price_cents=2400, cap_cents=3000, buyer=holder)
    assert relisted is not None
    assert (relisted.status, relisted.user_id, relisted.order_id) == (
        Status.AVAILABLE,
        holder,
        None,
    )
    assert (relisted.price_cents, relisted.price_cap_cents) == (2400, 3000)
    assert (relisted.sale, relisted.version) == (1, 3)


def test_a_buyer_not_known_is_taken_at_the_pass_word():
    sold = a_ticket(status=Status.SOLD)
    assert domain.relist(sold, holder=uuid4(), price_cents=100, cap_cents=100) is not None


def test_someone_who_did_not_buy_the_ticket_cannot_relist_it():
    sold = a_ticket(status=Status.SOLD)
    assert (
        domain.relist(sold, holder=uuid4(), price_cents=100, cap_cents=100, buyer=uuid4()) is None
    )


def test_a_resale_taken_down_is_relisted_only_by_its_holder_as_the_next_sale():
    back = replace(a_resale(status=Status.SOLD), order_id=None)  # taken down: no order
    assert domain.relist(back, holder=uuid4(), price_cents=100, cap_cents=100) is None
    again = domain.relist(back, holder=back.user_id, price_cents=100, cap_cents=100)
    assert again is not None and (again.sale, again.status) == (2, Status.AVAILABLE)


def test_listing_again_changes_the_price_of_the_same_sale():
    resale = a_resale()
    repriced = domain.relist(resale, holder=resale.user_id, price_cents=2900, cap_cents=3000)
    assert repriced is not None
    assert (repriced.price_cents, repriced.sale, repriced.version) == (2900, 1, 4)


def test_the_same_listing_twice_changes_nothing():
    resale = a_resale()
    assert domain.relist(resale, holder=resale.user_id, price_cents=2500, cap_cents=3000) is None


def test_a_price_above_the_cap_is_refused():
    with pytest.raises(Invalid, match="at most 3000"):
        domain.relist(
            a_ticket(status=Status.SOLD), holder=uuid4(), price_cents=3001, cap_cents=3000
        )


def test_a_withdrawn_ticket_is_never_relisted():
    withdrawn = a_ticket(status=Status.WITHDRAWN)
    assert domain.relist(withdrawn, holder=uuid4(), price_cents=100, cap_cents=100) is None


@pytest.mark.parametrize(
    ("ticket", "waits"),
    [
        (a_ticket(), True),  # its order.created has not arrived
        (a_ticket(status=Status.RESERVED), True),  # its order.completed has not arrived
        (a_ticket(status=Status.SOLD), False),
        (a_ticket(status=Status.WITHDRAWN), False),
        (a_resale(status=Status.RESERVED), True),
    ],
)
def test_a_listing_waits_for_the_sale_it_came_from(ticket, waits):
    assert domain.waits_for_sale(ticket, uuid4()) is waits


def test_the_holders_own_resale_does_not_wait():
    resale = a_resale()
    assert domain.waits_for_sale(resale, resale.user_id) is False


def test_unlisting_puts_an_available_resale_back_with_its_holder():
    resale = a_resale()
    back = domain.unlist(resale, resale.user_id)
    assert back is not None
    assert (back.status, back.user_id, back.sale, back.version) == (
        Status.SOLD,
        resale.user_id,
        1,
        4,
    )


def test_a_reserved_resale_is_only_marked_and_its_release_returns_it_to_the_holder():
    held = a_resale(status=Status.RESERVED)
    marked = domain.unlist(held, held.user_id)
    assert marked is not None
    assert (marked.taken_down, marked.status, marked.version) == (True, Status.RESERVED, 3)
    assert domain.unlist(marked, held.user_id) is None  # marked once
    released = domain.release(marked, held.order_id)
    assert released is not None
    assert (released.status, released.order_id, released.taken_down, released.version) == (
        Status.SOLD,
        None,
        False,
        4,
    )


def test_a_resale_taken_down_too_late_is_still_sold_to_the_buyer_who_paid():
    marked = a_resale(status=Status.RESERVED, taken_down=True)
    sold = domain.sell(marked, marked.order_id)
    assert sold is not None and (sold.status, sold.taken_down) == (Status.SOLD, False)


def test_a_release_without_the_mark_puts_the_resale_back_on_sale():
    held = a_resale(status=Status.RESERVED)
    released = domain.release(held, held.order_id)
    assert released is not None and released.status is Status.AVAILABLE


@pytest.mark.parametrize(
    "ticket",
    [a_ticket(), a_ticket(status=Status.SOLD), a_resale(status=Status.SOLD)],
)
def test_unlisting_what_is_not_a_resale_on_sale_changes_nothing(ticket):
    assert domain.unlist(ticket, ticket.user_id) is None


def test_someone_elses_unlisting_changes_nothing():
    assert domain.unlist(a_resale(), uuid4()) is None


def test_a_resale_cannot_be_edited_or_withdrawn_here():
    resale = a_resale()
    with pytest.raises(Invalid, match="A resale is changed from your pass"):
        domain.edit(resale, editor=resale.user_id, title="x", price_cents=99_999)
    with pytest.raises(Invalid, match="A resale is changed from your pass"):
        domain.withdraw(resale, seller=resale.user_id)


def test_a_stranger_is_told_it_is_not_theirs_before_anything_about_a_resale():
    with pytest.raises(NotYours):
        domain.edit(a_resale(), editor=uuid4(), title="x", price_cents=1)
