"""NATS connection that keeps reconnecting, and the one stream that holds every subject."""

import asyncio
import logging
import time
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

import nats
from nats.aio.client import Client
from nats.js import JetStreamContext
from nats.js.api import StorageType, StreamConfig
from nats.js.errors import BadRequestError, NotFoundError

from ticketing.common.events.subjects import Subject

if TYPE_CHECKING:
    from ticketing.common.settings import BusSettings

log = logging.getLogger(__name__)
STREAM = "TICKETING"
# session.revoked has a stream of its own, so that the processes following it (with an
# ephemeral consumer, which the bus's permissions cannot tie to one subject) may create
# consumers on that stream alone and read nothing else. One per server, whatever the
# prefix: a stream name is one token, which a permission cannot match by its ending. So
# its prefix goes last (`session.revoked.<prefix>`): a stream may not hold `*.…` subjects,
# which could be JetStream's own `$JS.…`.
SESSIONS_STREAM = "SESSIONS"


class BusNames:
    """Subject and stream names under an optional prefix, so deployments can share a server."""

    def __init__(self, prefix: str = "") -> None:
        self.prefix = prefix

    @property
    def stream(self) -> str:
        return f"{self.prefix}_{STREAM}" if self.prefix else STREAM

    @property
    def sessions_stream(self) -> str:
        return SESSIONS_STREAM

    def stream_for(self, subject: Subject | str) -> str:
        return self.sessions_stream if subject == Subject.SESSION_REVOKED else self.stream

    def subject(self, subject: Subject | str) -> str:
        if not self.prefix:
            return str(subject)
        if subject == Subject.SESSION_REVOKED:
            return f"{subject}.{self.prefix}"
        return f"{self.prefix}.{subject}"

    def all_subjects(self) -> list[str]:
        """The events stream's: every subject but session.revoked."""
        return [self.subject(s) for s in Subject if s != Subject.SESSION_REVOKED]


def cancel_requested() -> bool:
    """True once the running task was asked to stop. On Python 3.11, asyncio.wait_for
    (inside nats-py's fetch and request) swallows a cancel that lands as a message
    arrives, so a loop that only relies on CancelledError can outlive stop()."""
    task = asyncio.current_task()
    return task is not None and task.cancelling() > 0


async def connect(url: str, *, name: str, user: str = "", password: str = "") -> Client:
    """As `user` when given; otherwise as whoever the URL names (`nats://user:pw@host`)."""

    async def on_error(error: Exception) -> None:
        log.warning("nats: %s", error)

    client: Client | None = None

    async def on_disconnect() -> None:
        # nats-py calls this on its own close too: a service stopping is not a lost server
        if client is not None and client.is_closed:
            return
        log.warning("nats: disconnected, reconnecting")

    async def on_reconnect() -> None:
        log.info("nats: reconnected")

    client = await nats.connect(
        url,
        name=name,
        user=user or None,
        password=password or None,
        max_reconnect_attempts=-1,
        reconnect_time_wait=0.5,
        connect_timeout=2,
        allow_reconnect=True,
        error_cb=on_error,
        disconnected_cb=on_disconnect,
        reconnected_cb=on_reconnect,
    )
    return client


@dataclass(frozen=True)
class StreamLimits:
    """What a new stream may keep: events older than `max_age_seconds`, or past `max_bytes`
    in all, are dropped oldest first. Applied when a stream is created, never after: once
    it exists, its limits are the operator's (`nats stream edit`), and a service starting
    does not put them back. A consumer down for longer than `max_age_seconds` misses what
    expired meanwhile, so the age is far longer than any outage should be. JetStream sets
    `max_bytes` aside in its store when the stream is made, so none by default: give one
    that fits the server's volume."""

    max_age_seconds: float = 30 * 24 * 3600
    max_bytes: int | None = None


async def ensure_stream(
    js: JetStreamContext, names: BusNames, limits: StreamLimits = StreamLimits()
) -> None:
    """Create the streams, or bring existing ones' subjects up to date: the events stream
    first, which gives up session.revoked if an older version held it there."""
    await _ensure(js, names.stream, names.all_subjects(), limits)
    revoked = str(Subject.SESSION_REVOKED)
    await _ensure(js, names.sessions_stream, [revoked, f"{revoked}.*"], limits)


async def _ensure(
    js: JetStreamContext, name: str, subjects: list[str], limits: StreamLimits
) -> None:
    try:
        info = await js.stream_info(name)
    except NotFoundError:
        config = StreamConfig(
            name=name,
            subjects=subjects,
            storage=StorageType.FILE,
            duplicate_window=120.0,
            max_age=limits.max_age_seconds,
            max_bytes=limits.max_bytes if limits.max_bytes is not None else -1,
        )
        try:
            await js.add_stream(config)
            return
        except BadRequestError:  # another replica created it first
            info = await js.stream_info(name)
    if sorted(info.config.subjects or []) != sorted(subjects):
        # Subjects are the code's (a new event type, a subject moved between streams);
        # everything else in the stream's config stays as it is.
        await js.update_stream(replace(info.config, subjects=subjects))


async def make_streams(settings: "BusSettings", *, within: float = 60) -> list[str]:
    """Make the streams, or bring their subjects up to date, as the bus's admin: before
    the services start (`ticketing up` does it; a deployment runs `ticketing streams`).
    A service's own user may read a stream's config but never make or change it, so a
    service broken into cannot shorten what the streams keep or take subjects from them.
    Waits `within` seconds for the server to answer; returns the streams' names."""
    deadline = time.monotonic() + within
    while True:
        try:
            client = await nats.connect(
                settings.nats_url,
                name="streams",
                user=settings.nats_user or None,
                password=settings.nats_password.get_secret_value() or None,
                allow_reconnect=False,
                connect_timeout=2,
            )
            break
        except Exception as error:
            if time.monotonic() > deadline:
                raise ConnectionError(f"NATS did not answer at {settings.nats_url}") from error
            log.warning("streams: NATS not reachable yet (%s); retrying", error)
            await asyncio.sleep(1)
    names = BusNames(settings.bus_prefix)
    try:
        limits = StreamLimits(settings.stream_max_age_seconds, settings.stream_max_bytes)
        await ensure_stream(client.jetstream(), names, limits)
    finally:
        await client.close()
    return [names.stream, names.sessions_stream]
