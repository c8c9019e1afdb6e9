"""A pass from purchase to the door, and resold under the cap: across every service, over
real NATS and PostgreSQL, as a buyer, a reseller and a door would go through the API."""

from tests.flows.conftest import signed_up
from tests.journeys import listed_ticket, order_when_replicated, wait_for_ticket
from tests.support import eventually
from ticketing.passes import service as passes


async def bought(system, buyer, ticket_id: str) -> dict:
    """Order and pay for the ticket; the buyer's pass, once passes has issued it."""
    order = await order_when_replicated(buyer, ticket_id)

    async def pay():
        response = await buyer.post(
            "/api/payments", json={"token": "tok_visa", "orderId": order["id"]}
        )
        assert response.status_code == 201, response.text
        return True

    await eventually(pay, timeout=10)

    async def issued():
        mine = (await buyer.get("/api/passes")).json()
        assert [p["orderId"] for p in mine] == [order["id"]]
        return mine[0]

    return await eventually(issued, timeout=10)


async def door_token(system) -> str:
    async with system.apps["passes"].state.engine.begin() as db:
        return await passes.add_door(db, "main-entrance")


async def test_a_pass_resold_once_opens_the_door_for_the_new_holder_only(system):
    seller = await signed_up(system, "seller")
    first = await signed_up(system, "first")
    second = await signed_up(system, "second")
    ticket = await listed_ticket(seller, title="Flows: resold show", price="20.00")
    old = await bought(system, first, ticket["id"])
    assert (old["status"], old["price"], old["priceCap"], old["ticketId"]) == (
        "valid",
        20,
        24,
        ticket["id"],
    )

    above = await first.post(f"/api/passes/{old['id']}/resell", json={"price": "24.01"})
    assert above.status_code == 400
    assert above.json()["errors"][0]["field"] == "price"
    assert "24" in above.json()["errors"][0]["message"]
    listed = await first.post(f"/api/passes/{old['id']}/resell", json={"price": "24.00"})
    assert listed.status_code == 201, listed.text
    assert listed.json()["priceCap"] == 24

    async def back_on_sale():
        shown = (await second.get(f"/api/tickets/{ticket['id']}")).json()
        assert (shown["status"], shown["price"], shown["userId"]) == (
            "available",
            24,
            (await first.get("/api/users/currentuser")).json()["currentUser"]["id"],
        )
        return True

    await eventually(back_on_sale, timeout=10)
    new = await bought(system, second, ticket["id"])
    assert (new["status"], new["price"], new["ticketId"]) == ("valid", 24, ticket["id"])
    assert new["code"] != old["code"]

    async def revoked():
        assert (await first.get(f"/api/passes/{old['id']}")).json()["status"] == "revoked"
        return True

    await eventually(revoked, timeout=10)
    await wait_for_ticket(second, ticket["id"], "sold")

    door = {"Authorization": f"Bearer {await door_token(system)}"}
    refused = await second.post("/api/checkins", json={"code": old["code"]}, headers=door)
    assert refused.status_code == 410
    admitted = await second.post("/api/checkins", json={"code": new["code"]}, headers=door)
    assert admitted.status_code == 200, admitted.text
    assert admitted.json()["ticketId"] == ticket["id"]
    assert admitted.json()["title"] == "Flows: resold show"
    again = await second.post("/api/checkins", json={"code": new["code"]}, headers=door)
    assert again.status_code == 409
    assert again.json()["errors"][0]["message"].startswith("Already admitted at ")
    used = (await second.get(f"/api/passes/{new['id']}")).json()
    assert (used["status"], used["admittedAt"] is not None) == ("used", True)


async def test_a_listed_pass_used_at_the_door_is_taken_off_sale(system):
    seller = await signed_up(system, "seller")
    holder = await signed_up(system, "holder")
    ticket = await listed_ticket(seller, title="Flows: changed my mind")
    held = await bought(system, holder, ticket["id"])
    listed = await holder.post(f"/api/passes/{held['id']}/resell", json={"price": "21.00"})
    assert listed.status_code == 201, listed.text
    await wait_for_ticket(holder, ticket["id"], "available")

    door = {"Authorization": f"Bearer {await door_token(system)}"}
    admitted = await holder.post("/api/checkins", json={"code": held["code"]}, headers=door)
    assert admitted.status_code == 200, admitted.text
    await wait_for_ticket(holder, ticket["id"], "sold")
    assert (await holder.get(f"/api/passes/{held['id']}")).json()["listedPrice"] is None
