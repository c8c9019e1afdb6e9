"""Passes' rules, pure: codes, the resale cap, and why a door says no."""

from datetime import UTC, datetime
from decimal import Decimal
from uuid import uuid4

import pytest

from tests.passes.builders import KEY, a_pass
from ticketing.common.refusals import Conflict, Gone, Invalid, Missing, NotYours
from ticketing.passes import domain
from ticketing.passes.domain import PassStatus

CAP = Decimal("1.20")


def test_a_code_is_128_bits_derived_from_the_pass_and_the_key():
    pass_id = uuid4()
    code = domain.code_for(pass_id, KEY)
    assert len(code) == domain.CODE_LENGTH == 22
    assert domain.check_code(code) == code
    assert domain.code_for(pass_id, KEY) == code
    assert domain.code_for(pass_id, b"another key" * 4) != code
    assert domain.code_for(uuid4(), KEY) != code


def test_a_pass_keeps_only_its_codes_hash():
    issued = a_pass()
    code = domain.code_for(issued.id, KEY)
    assert issued.code_hash == domain.secret_hash(code)
    assert code.encode() not in issued.code_hash


@pytest.mark.parametrize(
    "junk", ["", "short", "x" * 23, "a" * 21 + "=", "a" * 21 + "é", "a" * 100_000, None, 12]
)
def test_anything_not_shaped_like_a_code_is_refused_before_any_lookup(junk):
    with pytest.raises(ValueError, match="pass code"):
        domain.check_code(junk)


def test_the_cap_is_a_multiple_of_what_the_holder_paid_never_rounded_up():
    assert domain.price_cap(a_pass(price_cents=2050), CAP) == 2460
    assert domain.price_cap(a_pass(price_cents=999), CAP) == 1198  # 1198.8
    assert domain.price_cap(a_pass(price_cents=1), CAP) == 1


def test_listing_at_the_cap_is_allowed_and_bumps_the_version():
    listed = domain.list_for_resale(a_pass(price_cents=2050), 2460, CAP)
    assert (listed.listed_price_cents, listed.version) == (2460, 1)


def test_listing_above_the_cap_names_the_cap():
    with pytest.raises(Invalid, match=r"at most 24\.60") as refused:
        domain.list_for_resale(a_pass(price_cents=2050), 2461, CAP)
    assert refused.value.field == "price"


def test_listing_again_at_another_price_changes_it_and_at_the_same_changes_nothing():
    listed = domain.list_for_resale(a_pass(), 2000, CAP)
    assert domain.list_for_resale(listed, 2000, CAP) is None
    repriced = domain.list_for_resale(listed, 1500, CAP)
    assert (repriced.listed_price_cents, repriced.version) == (1500, 2)


@pytest.mark.parametrize(
    "status, message",
    [(PassStatus.USED, "A used pass cannot be resold"), (PassStatus.REVOKED, "revoked")],
)
def test_only_a_valid_pass_can_be_resold(status, message):
    with pytest.raises(Invalid, match=message):
        domain.list_for_resale(a_pass(status=status), 1000, CAP)


def test_taking_down_a_resale_clears_its_price_and_nothing_listed_is_harmless():
    unlisted = domain.take_off_sale(a_pass(listed_price_cents=1000, version=1))
    assert (unlisted.listed_price_cents, unlisted.version) == (None, 2)
    assert domain.take_off_sale(a_pass()) is None


def test_only_the_holder_sees_a_pass():
    mine = a_pass()
    assert domain.check_holder(mine, mine.user_id) is mine
    with pytest.raises(NotYours):
        domain.check_holder(mine, uuid4())
    with pytest.raises(Missing):
        domain.check_holder(None, mine.user_id)


def test_the_door_is_told_why_a_code_opens_nothing():
    at = datetime(2030, 5, 1, 18, 3, 12, tzinfo=UTC)
    used = domain.admission_refusal(a_pass(status=PassStatus.USED, admitted_at=at))
    assert isinstance(used, Conflict)
    assert used.message == "Already admitted at 2030-05-01 18:03:12 UTC"
    revoked = domain.admission_refusal(a_pass(status=PassStatus.REVOKED))
    assert isinstance(revoked, Gone) and "resold" in revoked.message
    assert isinstance(domain.admission_refusal(None), Missing)


@pytest.mark.parametrize("name", ["main-gate", "Door_2", "a", "x" * 64])
def test_a_door_name_is_short_and_plain(name):
    assert domain.check_door_name(name) == name


@pytest.mark.parametrize("name", ["", "x" * 65, "gate one", "gäte", "gate/1", "gate\n"])
def test_an_odd_door_name_is_refused(name):
    with pytest.raises(Invalid, match="1 to 64"):
        domain.check_door_name(name)
