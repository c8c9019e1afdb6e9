"""Signed-in people whose session the test can end, as auth's session.revoked would."""

from datetime import UTC, datetime, timedelta
from uuid import UUID, uuid4

from tests.common.bus_support import EventBus
from tests.support import Person, eventually, mint_token
from ticketing.common.auth import COOKIE
from ticketing.common.events import SessionRevoked


def signed_in(settings) -> tuple[Person, UUID]:
    user_id, session_id = uuid4(), uuid4()
    token = mint_token(user_id, session_id=session_id, ttl=settings.session_ttl_seconds)
    return Person(user_id, {"Cookie": f"{COOKIE}={token}"}), session_id


async def sign_out(client, bus: EventBus, who: Person, session_id: UUID) -> None:
    """Publish the revocation, and wait until the service refuses the session."""
    expires = datetime.now(UTC) + timedelta(hours=1)
    await bus.publish(SessionRevoked(session_id=session_id, user_id=who.id, expires_at=expires))

    async def refused():
        return (await client.get("/api/passes", headers=who.headers)).status_code == 401

    await eventually(refused)
