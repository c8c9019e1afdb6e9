"""Auth's pure rules: no fixtures, no I/O."""

from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from uuid import uuid4

import pytest

from ticketing.auth.domain import (
    Attempt,
    Cap,
    Failures,
    Session,
    Slowing,
    account_email,
    cookie_max_age,
    digest,
    given_password,
    new_password,
    new_session,
    renewed,
    wait_seconds,
)
from ticketing.common.refusals import Invalid

NOW = datetime(2025, 1, 1, 12, 0, tzinfo=UTC)
WINDOW = timedelta(minutes=15)


def test_an_account_is_found_under_its_lower_cased_email():
    assert account_email("Ann.Lee@Example.IO") == "ann.lee@example.io"


def test_an_email_longer_than_the_column_is_refused():
    with pytest.raises(Invalid, match="Email must be valid"):
        account_email("a" * 243 + "@example.com")


@pytest.mark.parametrize("password", ["short", "x" * 129])
def test_a_new_password_is_8_to_128_characters(password):
    assert new_password("x" * 8) == "x" * 8
    with pytest.raises(Invalid, match="between 8 and 128"):
        new_password(password)


@pytest.mark.parametrize("password", ["", "x" * 1025])
def test_a_given_password_is_any_but_none_and_not_huge(password):
    assert given_password("x") == "x"
    with pytest.raises(Invalid, match="You must supply a password"):
        given_password(password)


@pytest.mark.parametrize("rule", [new_password, given_password])
def test_a_password_with_a_lone_surrogate_is_refused(rule):
    with pytest.raises(Invalid, match="valid text"):
        rule("password\ud800")


def _session(created_ago: float, ttl: float = 100) -> Session:
    created = NOW - timedelta(seconds=created_ago)
    return Session(uuid4(), uuid4(), created, created + timedelta(seconds=ttl))


def test_a_new_session_lasts_its_ttl_from_now():
    user_id, session_id = uuid4(), uuid4()
    assert new_session(session_id, user_id, NOW, 100) == Session(
        session_id, user_id, NOW, NOW + timedelta(seconds=100)
    )


def test_a_renewal_lasts_the_ttl_from_now():
    session = _session(created_ago=60)
    longer = renewed(session, session.expires_at.timestamp(), NOW, 100, 1000)
    assert longer == replace(session, expires_at=NOW + timedelta(seconds=100))


def test_a_renewal_never_passes_the_cap_from_sign_in():
    session = _session(created_ago=130)
    cap = session.created_at + timedelta(seconds=150)
    assert renewed(session, NOW.timestamp() + 1, NOW, 100, 150) == replace(session, expires_at=cap)


def test_a_token_already_at_the_cap_is_not_renewed():
    session = _session(created_ago=130)
    at_cap = (session.created_at + timedelta(seconds=150)).timestamp()
    assert renewed(session, at_cap, NOW, 100, 150) is None


def test_a_cookie_is_kept_as_long_as_its_token_and_at_least_a_second():
    assert cookie_max_age(NOW, NOW + timedelta(seconds=99.7)) == 99
    assert cookie_max_age(NOW, NOW) == 1


@dataclass(frozen=True)
class Limits:
    signin_max_failures_per_account: int = 3
    signin_max_failures_per_address: int = 6
    signin_email_failures_before_delay: int = 10
    signin_email_first_delay_seconds: int = 1
    signin_email_max_delay_seconds: int = 60


def test_an_attempt_counts_against_the_pair_the_address_and_the_account_everywhere():
    rules = Attempt.of("a@x.io", "203.0.113.7").rules(Limits())
    assert rules == {
        digest("pair:a@x.io|203.0.113.7"): Cap(3),
        digest("addr:203.0.113.7"): Cap(6),
        digest("email:a@x.io"): Slowing(10, 1, 60),
    }


def test_an_attempt_from_a_known_device_counts_against_the_device_not_the_account():
    attempt = Attempt.of("a@x.io", "203.0.113.7", device="d1")
    assert attempt.rules(Limits()) == {
        digest("pair:a@x.io|203.0.113.7"): Cap(3),
        digest("addr:203.0.113.7"): Cap(6),
        digest("device:a@x.io|d1"): Cap(3),
    }
    assert attempt.owners_keys() == [digest("pair:a@x.io|203.0.113.7"), digest("device:a@x.io|d1")]


def test_a_cap_waits_for_the_oldest_failure_to_leave_the_window():
    oldest = NOW - timedelta(minutes=10)
    assert Cap(3).wait(Failures(b"k", 2, oldest, NOW), NOW, WINDOW) == 0
    assert Cap(3).wait(Failures(b"k", 3, oldest, NOW), NOW, WINDOW) == 300


def test_slowing_waits_the_delay_after_the_latest_failure():
    latest = NOW - timedelta(seconds=1)
    assert Slowing(3, 1, 60).wait(Failures(b"k", 5, NOW, latest), NOW, WINDOW) == 3


def test_an_attempt_waits_as_long_as_its_strictest_key_asks():
    rules = {b"a": Cap(3), b"b": Cap(1)}
    counted = [Failures(b"a", 1, NOW, NOW), Failures(b"b", 1, NOW - timedelta(minutes=14), NOW)]
    assert wait_seconds(rules, counted, NOW, WINDOW) == 60
    assert wait_seconds(rules, [], NOW, WINDOW) == 0
