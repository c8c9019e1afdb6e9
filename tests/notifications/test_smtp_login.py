"""SMTP_USERNAME and SMTP_PASSWORD sign in to a relay that asks for them."""

from collections.abc import Iterator
from uuid import uuid4

import pytest

from tests.notifications.events import email_of, order_created, user_created
from tests.notifications.smtp import SmtpServer, smtp_server

# The test relay takes AUTH over plain text; aiosmtpd warns of it, rightly, elsewhere.
pytestmark = pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")


@pytest.fixture
def smtp() -> Iterator[SmtpServer]:
    with smtp_server(login=("relay-user", "relay-secret")) as server:
        yield server


@pytest.fixture
def overrides() -> dict:
    return {"smtp_username": "relay-user", "smtp_password": "relay-secret"}


async def test_mail_goes_through_a_relay_that_wants_a_login(started, bus, smtp):
    buyer = uuid4()
    await bus.publish(user_created(buyer))
    await bus.publish(order_created(uuid4(), buyer))
    [mail] = await smtp.wait_for(1)
    assert mail.to == email_of(buyer)
    assert smtp.signed_in == ["relay-user"]
