"""The in-memory list of revoked sessions: refused until their tokens expire, then dropped."""

from uuid import uuid4

from ticketing.common.revocations import PRUNE_EVERY_SECONDS, RevokedSessions


def test_a_revoked_session_is_refused_until_it_expires_and_then_forgotten():
    revoked = RevokedSessions()
    gone, kept = uuid4(), uuid4()
    revoked.revoke(gone, expires_at=1_000.0)
    revoked.revoke(kept, expires_at=1_000.0 + 2 * PRUNE_EVERY_SECONDS)
    assert revoked.is_revoked(gone, now=999.0)
    assert not revoked.is_revoked(uuid4(), now=999.0)
    assert revoked.is_revoked(kept, now=1_000.0 + PRUNE_EVERY_SECONDS)
    assert len(revoked) == 1  # pruned: its token is refused as expired anyway


def test_the_later_expiry_of_a_session_revoked_twice_wins():
    revoked, sid = RevokedSessions(), uuid4()
    revoked.revoke(sid, expires_at=5_000.0)
    revoked.revoke(sid, expires_at=100.0)
    revoked.prune(now=200.0)
    assert revoked.is_revoked(sid, now=200.0)
