"""A service's bus life: connect (retrying), provision the stream, run relay and listeners.

The HTTP side does not wait for it: while NATS is down, requests still commit and the
outbox keeps their events until the bus is back.
"""

import asyncio
import contextlib
import logging
from datetime import timedelta
from functools import partial

from nats.aio.client import Client
from nats.js import JetStreamContext
from sqlalchemy.ext.asyncio import AsyncEngine

from ticketing.common.bus.connection import BusNames, StreamLimits, connect, ensure_stream
from ticketing.common.bus.listener import Listener, Subscriptions
from ticketing.common.bus.outbox import OutboxRelay
from ticketing.common.bus.retention import trim_once
from ticketing.common.bus.revocations import RevocationFeed
from ticketing.common.database_url import libpq_dsn
from ticketing.common.periodic import every
from ticketing.common.revocations import RevokedSessions
from ticketing.common.settings import ServiceSettings

log = logging.getLogger(__name__)


class BusRuntime:
    def __init__(
        self,
        service: str,
        settings: ServiceSettings,
        engine: AsyncEngine | None,
        subscriptions: Subscriptions,
        *,
        revoked: RevokedSessions | None = None,
    ) -> None:
        if subscriptions and engine is None:
            raise ValueError("a listener applies events in the service's database: it has none")
        self.service = service
        self.settings = settings
        self.names = BusNames(settings.bus_prefix)
        self._engine = engine
        self._subscriptions = subscriptions
        self.nc: Client | None = None
        self.relay: OutboxRelay | None = None
        self.listener: Listener | None = None
        self.revoked = revoked
        self.feed: RevocationFeed | None = None
        self.ready = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []

    @property
    def connected(self) -> bool:
        return self.nc is not None and self.nc.is_connected

    def start(self) -> None:
        self._tasks.append(asyncio.create_task(self._run(), name=f"{self.service}-bus"))

    async def _run(self) -> None:
        self.nc = await self._connect()
        js = self.nc.jetstream()
        while True:
            try:
                limits = StreamLimits(
                    self.settings.stream_max_age_seconds, self.settings.stream_max_bytes
                )
                await ensure_stream(js, self.names, limits)
                break
            except Exception as error:
                # Its own bus user may not make the streams: the admin does, before it
                # starts (`ticketing streams`); until then it waits here.
                log.warning(
                    "%s: the streams are not ready (`ticketing streams` makes them): %r",
                    self.service,
                    error,
                )
                await asyncio.sleep(1)
        engine = self._engine
        if engine is not None:  # a service with a database has an outbox
            self.relay = OutboxRelay(
                self.service,
                libpq_dsn(self.settings.database_url),
                js,
                self.names,
                poll_seconds=self.settings.outbox_poll_seconds,
                connected=lambda: self.connected,
            )
            self._tasks.append(asyncio.create_task(self.relay.run(), name=f"{self.service}-relay"))
            trim = partial(
                trim_once,
                self.service,
                engine,
                js,
                self.names,
                sent_events_kept=timedelta(seconds=self.settings.outbox_keep_seconds),
            )
            trimming = every(
                self.settings.bus_trim_every_seconds,
                trim,
                what=f"{self.service}: trimming the bus tables",
            )
            self._tasks.append(asyncio.create_task(trimming, name=f"{self.service}-trim"))
        if self._subscriptions and engine is not None:
            self.listener = Listener(
                self.service,
                self._subscriptions,
                engine,
                js,
                self.names,
                max_attempts=self.settings.listener_max_attempts,
                ack_wait=self.settings.listener_ack_wait_seconds,
            )
            self._tasks.append(
                asyncio.create_task(self.listener.run(), name=f"{self.service}-listen")
            )
        if self.revoked is not None:  # last: relay and listeners never wait for it
            await self._follow_revocations(js, self.revoked)
        self.ready.set()

    async def _follow_revocations(self, js: JetStreamContext, revoked: RevokedSessions) -> None:
        """Before `ready`: a token signed out before this process started is refused at once."""
        while True:
            feed = RevocationFeed(
                js,
                self.names,
                revoked,
                replay_seconds=self.settings.session_max_age_seconds,
            )
            try:
                await feed.start()
                self.feed = feed
                return
            except Exception as error:
                log.warning("%s: revocation feed not ready: %s", self.service, error)
                await feed.stop()
                await asyncio.sleep(1)

    async def _connect(self) -> Client:
        delay = 0.2
        while True:
            try:
                return await connect(
                    self.settings.nats_url,
                    name=self.service,
                    user=self.settings.nats_user,
                    password=self.settings.nats_password.get_secret_value(),
                )
            except Exception as error:
                log.warning("%s: NATS not reachable (%s); retrying", self.service, error)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 5)

    async def stop(self) -> None:
        for task in reversed(self._tasks):
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        if self.feed is not None:
            await self.feed.stop()
        if self.nc is not None:
            with contextlib.suppress(Exception):
                await self.nc.close()
