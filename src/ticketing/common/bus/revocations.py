"""The session.revoked feed: an ordered consumer that fills this process's RevokedSessions.

Ordered (ephemeral, unacked, per process) rather than a durable shared consumer: every
replica needs every revocation, and a restarted one replays them from the start time, so
nothing has to be stored. Replaying the longest a session can live is enough: any older
revocation is for a token that has expired anyway.
"""

import asyncio
import logging
from datetime import UTC, datetime, timedelta

from nats.aio.msg import Msg
from nats.js import JetStreamContext
from nats.js.api import ConsumerConfig, DeliverPolicy

from ticketing.common.bus.connection import BusNames
from ticketing.common.events import Envelope, SessionRevoked, Subject
from ticketing.common.revocations import RevokedSessions

log = logging.getLogger(__name__)
CATCH_UP_POLL_SECONDS = 0.05


class RevocationFeed:
    def __init__(
        self,
        js: JetStreamContext,
        names: BusNames,
        revoked: RevokedSessions,
        *,
        replay_seconds: float,
    ) -> None:
        self._js = js
        self._names = names
        self._revoked = revoked
        self._replay = timedelta(seconds=replay_seconds)
        self._applied = 0  # consumer sequence of the last message applied
        self._subscription: JetStreamContext.PushSubscription | None = None

    async def start(self) -> None:
        """Subscribe, then return once every revocation already in the stream is applied."""
        config = ConsumerConfig(opt_start_time=datetime.now(UTC) - self._replay)
        self._subscription = await self._js.subscribe(
            self._names.subject(Subject.SESSION_REVOKED),
            stream=self._names.sessions_stream,
            cb=self._on_message,
            ordered_consumer=True,
            deliver_policy=DeliverPolicy.BY_START_TIME,
            config=config,
        )
        # nats-py recreates a lost ordered consumer (after a NATS restart, say) from this
        # same config object, switched to "from the next stream sequence"; the server
        # refuses that while a start time is also set, and the feed would go silent.
        config.opt_start_time = None
        while True:  # the server's count of pending messages is the only end marker
            if await self._caught_up():
                break
            await asyncio.sleep(CATCH_UP_POLL_SECONDS)
        self._revoked.caught_up.set()

    async def _caught_up(self) -> bool:
        if self._subscription is None:
            return False
        info = await self._subscription.consumer_info()
        delivered = (info.delivered.consumer_seq or 0) if info.delivered else 0
        return info.num_pending == 0 and self._applied >= delivered

    async def _on_message(self, msg: Msg) -> None:
        try:
            event = Envelope.from_bytes(msg.data).event()
            if isinstance(event, SessionRevoked):
                self._revoked.revoke(event.session_id, event.expires_at.timestamp())
        except Exception as error:  # one bad message must not stop the feed
            log.error("session.revoked: unreadable message skipped: %r", error)
        self._applied = msg.metadata.sequence.consumer

    async def stop(self) -> None:
        if self._subscription is not None:
            try:
                await self._subscription.unsubscribe()
            except Exception as error:
                log.debug("session.revoked: unsubscribe: %r", error)
