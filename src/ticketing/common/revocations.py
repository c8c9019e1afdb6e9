"""Revoked sessions this process knows of, kept until their tokens would expire anyway.

Filled by the `session.revoked` feed (common/bus/revocations.py); read on every request,
so it is a dict lookup, pruned now and then rather than on each call.
"""

import asyncio
import time
from uuid import UUID

PRUNE_EVERY_SECONDS = 60.0


class RevokedSessions:
    def __init__(self) -> None:
        self._until: dict[UUID, float] = {}
        self._next_prune = 0.0
        self.caught_up = asyncio.Event()

    def revoke(self, session_id: UUID, expires_at: float) -> None:
        self._until[session_id] = max(expires_at, self._until.get(session_id, 0.0))

    def is_revoked(self, session_id: UUID, now: float | None = None) -> bool:
        now = time.time() if now is None else now
        if now >= self._next_prune:
            self.prune(now)
        return session_id in self._until

    def prune(self, now: float) -> None:
        """A revoked session past its expiry needs no entry: its tokens are refused anyway."""
        self._until = {sid: until for sid, until in self._until.items() if until > now}
        self._next_prune = now + PRUNE_EVERY_SECONDS

    def __len__(self) -> int:
        return len(self._until)
