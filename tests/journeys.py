"""Steps of a user's journey through the public API, shared by flows, faults and abuse tests."""

from tests.support import eventually


async def ticket_status(client, ticket_id) -> str:
    return (await client.get(f"/api/tickets/{ticket_id}")).json()["status"]


async def wait_for_ticket(client, ticket_id, status: str, timeout: float = 10) -> None:
    async def check():
        assert await ticket_status(client, ticket_id) == status
        return True

    await eventually(check, timeout=timeout)


async def listed_ticket(seller, title="Concert", price="20.00") -> dict:
    response = await seller.post("/api/tickets", json={"title": title, "price": price})
    assert response.status_code == 201, response.text
    return response.json()


async def order_when_replicated(buyer, ticket_id) -> dict:
    """The orders service learns of a new ticket through ticket.created; retry until it has."""

    async def attempt():
        response = await buyer.post("/api/orders", json={"ticketId": ticket_id})
        assert response.status_code == 201, response.text
        return response.json()

    return await eventually(attempt, timeout=10)
