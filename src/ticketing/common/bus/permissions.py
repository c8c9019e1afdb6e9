"""Who may do what on the bus: the one table the NATS server's users are generated from.

Each service publishes only its own subjects (nobody else can forge them) and reads only
through its own durable consumers. The services that verify sessions also follow
session.revoked through an ephemeral ordered consumer.

Subjects are plain strings here (tests check each is a Subject): `ticketing up`'s supervisor
generates the server's config from this table and loads no pydantic, SQLAlchemy or nats.
"""

ADMIN = "admin"  # full rights: provisioning, `ticketing status`, test fixtures
SESSIONS_STREAM = "SESSIONS"  # as common/bus/connection.py names it (a test holds them equal)

PUBLISHES: dict[str, frozenset[str]] = {
    "auth": frozenset({"session.revoked", "user.created"}),
    "tickets": frozenset({"ticket.created", "ticket.updated", "ticket.deleted"}),
    "orders": frozenset({"order.created", "order.cancelled", "order.completed"}),
    "expiration": frozenset({"expiration.complete"}),
    "payments": frozenset({"payment.created", "payment.refunded", "payout.sent"}),
    "passes": frozenset(
        {"pass.issued", "pass.revoked", "pass.admitted", "pass.listed", "pass.unlisted"}
    ),
    "notifications": frozenset(),
}

CONSUMES: dict[str, frozenset[str]] = {
    "auth": frozenset(),
    "tickets": frozenset(
        {
            "order.created",
            "order.cancelled",
            "order.completed",
            "pass.listed",
            "pass.unlisted",
            "pass.admitted",
        }
    ),
    "orders": frozenset(
        {
            "pass.admitted",
            "pass.unlisted",
            "ticket.created",
            "ticket.updated",
            "ticket.deleted",
            "expiration.complete",
            "payment.created",
        }
    ),
    "expiration": frozenset({"order.created", "order.cancelled", "order.completed"}),
    "payments": frozenset({"order.created", "order.cancelled", "order.completed", "pass.admitted"}),
    "passes": frozenset({"order.completed"}),
    "notifications": frozenset(
        {
            "user.created",
            "order.created",
            "order.cancelled",
            "order.completed",
            "pass.revoked",
            "payout.sent",
        }
    ),
}

# Services with signed-in HTTP users: they follow session.revoked from a start time.
FOLLOWS_REVOCATIONS = frozenset({"auth", "tickets", "orders", "payments", "passes"})

SERVICES = tuple(PUBLISHES)  # the bus users besides admin; web has no bus


def durable_name(service: str, subject: str) -> str:
    """The durable consumer all replicas of `service` share for `subject`."""
    return f"{service}-{subject.replace('.', '-')}"


def _subjects(subject: str) -> list[str]:
    """The bare subject and the same under any BUS_PREFIX (one token: no dots), which
    session.revoked carries last (see common/bus/connection.py)."""
    if subject == "session.revoked":
        return [subject, f"{subject}.*"]
    return [subject, f"*.{subject}"]


def publish_allowed(service: str) -> list[str]:
    """What `service` may publish: its events and the JetStream API calls it makes.

    The stream token is a wildcard because BUS_PREFIX renames the stream; every stream on
    the server belongs to this system. Nothing may be published to `_INBOX.>`: a forged
    reply there could pose as a message another service pulled.
    """
    allowed = [s for subject in sorted(PUBLISHES[service]) for s in _subjects(subject)]
    # The streams' config it may read, never make or change: the admin makes the streams
    # (connection.make_streams), so a service broken into cannot cut what they keep.
    allowed += ["$JS.API.STREAM.INFO.*"]
    for subject in sorted(CONSUMES[service]):
        durable = durable_name(service, subject)
        allowed += [
            f"$JS.API.CONSUMER.INFO.*.{durable}",
            # The filter is part of the subject (nats-py sends it so since server 2.9),
            # and the server checks it against the request: a durable reads only its subject.
            *(f"$JS.API.CONSUMER.CREATE.*.{durable}.{s}" for s in _subjects(subject)),
            f"$JS.API.CONSUMER.MSG.NEXT.*.{durable}",
            f"$JS.ACK.*.{durable}.>",
        ]
    if service in FOLLOWS_REVOCATIONS:
        # An unnamed ephemeral consumer (what nats-py's ordered consumer creates), on the
        # stream that holds session.revoked alone: the subject names no filter, so the
        # stream is what keeps it from reading anything else. Its info (a name the server
        # makes up) is how the feed knows it has replayed every revocation.
        allowed += [
            f"$JS.API.CONSUMER.CREATE.{SESSIONS_STREAM}",
            f"$JS.API.CONSUMER.INFO.{SESSIONS_STREAM}.*",
            f"$JS.FC.{SESSIONS_STREAM}.>",
        ]
    return allowed


def subscribe_allowed(service: str) -> list[str]:
    """Replies from the JetStream API, pulled messages and pushed ones all come to inboxes."""
    return ["_INBOX.>"]
