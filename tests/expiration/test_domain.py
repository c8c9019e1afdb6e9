"""The scheduler's pure rules: no fixtures, no I/O."""

from datetime import UTC, datetime, timedelta

from ticketing.expiration.domain import purge_cutoff, sleep_seconds

NOW = datetime(2025, 1, 1, 12, 0, tzinfo=UTC)


def test_the_scheduler_sleeps_until_the_next_timer_is_due():
    assert sleep_seconds(NOW + timedelta(seconds=1.5), NOW, cap=5) == 1.5


def test_the_sleep_never_passes_the_cap():
    assert sleep_seconds(NOW + timedelta(hours=1), NOW, cap=5) == 5


def test_with_no_timer_the_scheduler_sleeps_the_cap():
    assert sleep_seconds(None, NOW, cap=5) == 5


def test_an_overdue_timer_means_no_sleep():
    assert sleep_seconds(NOW - timedelta(minutes=3), NOW, cap=5) == 0


def test_fired_timers_are_kept_for_the_retention_window():
    assert purge_cutoff(NOW, retention_hours=24) == NOW - timedelta(days=1)
