"""What the pass and door pages say, as plain functions: no fixtures, no await; and every
page compiled before its first visitor."""

from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from uuid import uuid4

import pytest

from ticketing.web import pages, views
from ticketing.web.api_client import Pass


def a_pass(price: str, cap: str) -> Pass:
    return Pass(
        id=uuid4(),
        ticket_id=uuid4(),
        order_id=uuid4(),
        title="Hamilton",
        status="valid",
        code="c0de",
        price=Decimal(price),
        price_cap=Decimal(cap),
    )


@pytest.mark.parametrize(
    ("price", "cap", "shown_cap", "times"),
    [
        ("25", "30", "$30.00", "1.2"),
        ("10.55", "12.66", "$12.66", "1.2"),
        ("10", "100", "$100.00", "10"),
        ("1", "1", "$1.00", "1"),
    ],
)
def test_the_resale_hint_names_the_cap_and_its_multiple(price, cap, shown_cap, times):
    said = f"At most {shown_cap} ({times} \N{MULTIPLICATION SIGN} what you paid)."
    assert views.resale_cap(a_pass(price, cap)) == said


def test_a_moment_is_shown_in_utc_whatever_zone_it_came_in():
    paris = timezone(timedelta(hours=2))
    assert views.moment(datetime(2030, 5, 1, 21, 5, tzinfo=paris)) == "01 May 2030, 19:05 UTC"
    assert views.moment(datetime(2030, 5, 1, 19, 5, tzinfo=UTC)) == "01 May 2030, 19:05 UTC"


@pytest.mark.parametrize(
    ("status", "messages", "admitted", "said"),
    [
        (200, [], True, "Admitted — Hamilton"),
        (409, ["Already admitted at 19:05"], False, "Already admitted at 19:05"),
        (409, ["Conflict"], False, "Already admitted"),
        (410, ["Pass revoked"], False, "Revoked — this ticket was resold"),
        (404, ["Pass not found"], False, "Unknown code"),
        (400, ["Code is required"], False, "Code is required"),
        (429, [], False, "Not admitted"),
    ],
)
def test_each_check_in_answer_is_green_only_when_admitted(status, messages, admitted, said):
    assert views.door_answer(status, messages, "Hamilton") == views.DoorAnswer(admitted, said)


def test_pass_labels():
    assert [views.pass_label(s) for s in ("valid", "used", "revoked")] == [
        "Valid",
        "Used",
        "Revoked",
    ]


def test_a_client_secrets_intent_is_what_comes_before_secret():
    assert views.intent_of("pi_3Abc_secret_xyz") == "pi_3Abc"
    assert views.intent_of("pi_sandbox-1_secret_a_secret_b") == "pi_sandbox-1"
    for unusable in ("", "pi_3Abc", "pi_3Abc_secret_", "_secret_x", "pi/../x_secret_y"):
        assert views.intent_of(unusable) is None, unusable


def test_a_balance_figure_is_shown_in_its_currency():
    assert views.amount(Decimal("1234.5"), "usd") == "$1,234.50"
    assert views.amount(-3, "USD") == "-$3.00"
    assert views.amount(7, "eur") == "\N{EURO SIGN}7.00"
    assert views.amount(Decimal("0.1"), "chf") == "0.10 CHF"


def test_every_page_template_is_compiled_as_the_client_starts(monkeypatch):
    """A page's first visitor is not the one who waits for it to compile."""
    started = pages._templates().env  # as the module does on import

    def read_from_disk(_environment, name):
        raise AssertionError(f"{name} was read after the client had started")

    monkeypatch.setattr(started.loader, "get_source", read_from_disk)
    names = started.list_templates()
    assert "base.html" in names
    for name in names:
        started.get_template(name)
