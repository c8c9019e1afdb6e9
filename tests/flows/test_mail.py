"""Mail across every service: what a buyer and a seller hear, read back from a real SMTP
server, after they sign up, list, reserve and pay through the API."""

from collections.abc import AsyncIterator, Iterator

import pytest

from tests.flows.conftest import signed_up
from tests.journeys import listed_ticket, order_when_replicated
from tests.notifications.smtp import SmtpServer, smtp_server
from tests.support import eventually
from tests.system import System, running_system
from ticketing.runtime.services import SERVICES

EVERY_SERVICE = [spec.name for spec in SERVICES if spec.name != "web"]


@pytest.fixture
def smtp() -> Iterator[SmtpServer]:
    with smtp_server() as server:
        yield server


@pytest.fixture
async def system(postgres, nats, smtp) -> AsyncIterator[System]:
    async with running_system(
        postgres,
        nats,
        services=EVERY_SERVICE,
        expiration_window_seconds=900,
        smtp_url=smtp.url,
        site_url="http://tickets.test",
    ) as running:
        yield running


async def test_a_paid_order_tells_the_buyer_and_the_seller_once_each(system, smtp):
    seller = await signed_up(system, "seller")
    buyer = await signed_up(system, "buyer")
    seller_email = (await seller.get("/api/users/currentuser")).json()["currentUser"]["email"]
    buyer_email = (await buyer.get("/api/users/currentuser")).json()["currentUser"]["email"]
    ticket = await listed_ticket(seller, title="Flows: the mailed show", price="20.00")
    order = await order_when_replicated(buyer, ticket["id"])

    async def pay():
        body = {"token": "tok_visa", "orderId": order["id"]}
        response = await buyer.post("/api/payments", json=body)
        assert response.status_code == 201, response.text
        return True

    await eventually(pay, timeout=10)

    def mails_to(address: str) -> list[str]:
        return [mail.subject for mail in smtp.inbox.received if mail.to == address]

    def all_three_arrived() -> bool:
        return len(mails_to(buyer_email)) == 2 and len(mails_to(seller_email)) == 1

    await eventually(all_three_arrived, timeout=20)
    to_buyer, to_seller = mails_to(buyer_email), mails_to(seller_email)
    assert any("Flows: the mailed show" in subject for subject in to_seller)
    [receipt] = [m for m in smtp.inbox.received if m.subject.startswith("Your receipt")]
    assert receipt.to == buyer_email
    assert order["id"] in receipt.part("plain")
    assert "20.00" in receipt.part("plain")
    assert "http://tickets.test/passes" in receipt.part("html")
    ids = [str(mail.message["Message-ID"]) for mail in smtp.inbox.received]
    assert len(ids) == len(set(ids)) == 3
    assert len(to_buyer) == 2  # "reserved, pay by" and the receipt: nothing twice
