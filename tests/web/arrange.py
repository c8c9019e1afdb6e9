"""Putting the real services in the state a page must show, the cheap way: by publishing the
events the other services would (orders' order.created and order.completed, passes'
pass.admitted) on the system's bus, and by the services' own use cases where a person
would be at work (a door token made by an operator). No stand-in answers for our services:
each pass, check-in, sale and payout here is the real service's."""

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from uuid import UUID, uuid4

from sqlalchemy import text

from tests.common.bus_support import EventBus
from tests.support import eventually
from tests.system import System
from tests.web.visitor import Visitor
from ticketing.common.events import (
    OrderCompleted,
    OrderCreated,
    OrderTicket,
    PassAdmitted,
    SoldTicket,
)
from ticketing.passes import service as passes_service
from ticketing.payments import store as payments_store
from ticketing.payments.domain import LedgerKind, Payout, ledger_key

WEBHOOK_SECRET = "whsec_web_pages_three_d_secure"
# As `ticketing up` runs it: the sandbox signs its webhooks with the secret payments checks
# and posts them to payments' address (reached in process by `deliver_webhooks`).
WEBHOOKS = {
    "stripe_webhook_secret": WEBHOOK_SECRET,
    "sandbox_webhook_url": "http://ticketing/api/payments/webhook",
}


def cents(price: str) -> int:
    return int(Decimal(price) * 100)


async def user_id(visitor: Visitor) -> str:
    response = await visitor.get("/api/users/currentuser")
    return response.json()["currentUser"]["id"]


# passes


async def issue_pass(
    events: EventBus,
    holder: Visitor,
    title: str,
    price: str = "25",
    *,
    ticket_id: UUID | None = None,
) -> dict:
    """The holder's pass for a completed order, as passes issues it on order.completed;
    the pass as the API shows it to its holder."""
    order_id = uuid4()
    sold = SoldTicket(id=ticket_id or uuid4(), price=cents(price), title=title, seller_id=uuid4())
    await events.publish(
        OrderCompleted(id=order_id, version=1, user_id=UUID(await user_id(holder)), ticket=sold)
    )

    async def issued() -> dict | None:
        mine = (await holder.get("/api/passes", params={"limit": 100})).json()
        return next((p for p in mine if p["orderId"] == str(order_id)), None)

    return await eventually(issued, timeout=10)


async def pass_now(holder: Visitor, pass_id: str) -> dict:
    response = await holder.get(f"/api/passes/{pass_id}")
    assert response.status_code == 200, response.text
    return response.json()


async def revoke(events: EventBus, holder: Visitor, given: dict, new_holder: Visitor) -> dict:
    """The ticket resold to `new_holder`: a second order.completed for it revokes the pass."""
    await issue_pass(
        events, new_holder, given["title"], str(given["price"]), ticket_id=UUID(given["ticketId"])
    )

    async def revoked() -> dict | None:
        found = await pass_now(holder, given["id"])
        return found if found["status"] == "revoked" else None

    return await eventually(revoked, timeout=10)


async def door_token(system: System, name: str | None = None) -> str:
    """A door's token, as an operator adds one (`ticketing door add`)."""
    async with system.apps["passes"].state.engine.begin() as db:
        return await passes_service.add_door(db, name or f"door-{uuid4().hex[:8]}")


async def revoke_door(system: System, name: str) -> None:
    async with system.apps["passes"].state.engine.begin() as db:
        await passes_service.revoke_door(db, name)


async def check_in(system: System, given: dict) -> dict:
    """The pass scanned at a door through the API; its check-in answer."""
    async with system.client() as door:
        response = await door.post(
            "/api/checkins",
            json={"code": given["code"]},
            headers={"Authorization": f"Bearer {await door_token(system)}"},
        )
    assert response.status_code == 200, response.text
    return response.json()


def moment(iso: str) -> datetime:
    return datetime.fromisoformat(iso).astimezone(UTC)


class Recorder:
    """Passes a real app's requests through, keeping what each one sent (its headers and
    body): to see what a page asks of a service, not to answer in its place."""

    def __init__(self, app: Callable[..., Awaitable[None]]) -> None:
        self.app = app
        self.requests: list[dict] = []

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        body, more = b"", True
        while more:
            message = await receive()
            body += message.get("body", b"")
            more = message.get("more_body", False)
        headers = {k.decode().lower(): v.decode() for k, v in scope["headers"]}
        self.requests.append({"path": scope["path"], "headers": headers, "body": body})
        replayed = False

        async def replay() -> dict:
            nonlocal replayed
            if replayed:
                return await receive()
            replayed = True
            return {"type": "http.request", "body": body, "more_body": False}

        await self.app(scope, replay, send)


def record(system: System, prefix: str, service: str) -> Recorder:
    recorder = Recorder(system.apps[service])
    system.transport.add(prefix, recorder)  # type: ignore[arg-type]
    return recorder


# the sellers' ledger


async def sale(
    system: System, events: EventBus, seller: Visitor, price: str, *, buyer: UUID | None = None
) -> UUID:
    """A completed sale of the seller's ticket, as orders tells payments of it: the order
    first (payments charges and credits what the order says), then its completion; back
    once the ledger has posted it. The seller's share is pending until released."""
    order_id, ticket_id, buyer = uuid4(), uuid4(), buyer or uuid4()
    expires = datetime.now(UTC) + timedelta(minutes=15)
    await events.publish(
        OrderCreated(
            id=order_id,
            version=0,
            status="created",
            user_id=buyer,
            expires_at=expires,
            ticket=OrderTicket(id=ticket_id, price=cents(price)),
        )
    )
    sold = SoldTicket(
        id=ticket_id, price=cents(price), title="Sold", seller_id=UUID(await user_id(seller))
    )
    await events.publish(OrderCompleted(id=order_id, version=1, user_id=buyer, ticket=sold))

    async def posted() -> bool:
        async with system.apps["payments"].state.engine.connect() as db:
            return bool(await payments_store.posted(db, [ledger_key(LedgerKind.SALE, order_id)]))

    # Payments follows each subject on its own: a pass.admitted applied before the sale
    # was posted would find nothing to release (the hold's end releases it, days later).
    await eventually(posted, timeout=10)
    return order_id


async def admitted(events: EventBus, order_id: UUID) -> None:
    """The buyer of that sale got in at the door: passes' pass.admitted releases the money."""
    await events.publish(
        PassAdmitted(
            id=uuid4(),
            version=2,
            ticket_id=uuid4(),
            user_id=uuid4(),
            admitted_at=datetime.now(UTC),
            order_id=order_id,
        )
    )


async def balance_is(seller: Visitor, **figures: float) -> dict:
    """Wait until the ledger shows these figures (pending, available, paidOut) to the seller."""

    async def reached() -> dict:
        shown = (await seller.get("/api/payouts/balance")).json()
        assert {k: shown[k] for k in figures} == figures, shown
        return shown

    return await eventually(reached, timeout=10)


async def payout_account(seller: Visitor, account_id: str = "acct_1Seller") -> None:
    response = await seller.http.post("/api/payouts/account", json={"accountId": account_id})
    assert response.status_code == 200, response.text


async def paid_out(seller: Visitor) -> dict:
    """Everything available paid out to the seller's account, through the API."""
    response = await seller.http.post("/api/payouts")
    assert response.status_code == 201, response.text
    return response.json()


async def available(system: System, events: EventBus, seller: Visitor, price: str) -> UUID:
    """A sale whose buyer went in: the seller's share is available to pay out."""
    order_id = await sale(system, events, seller, price)
    await admitted(events, order_id)
    return order_id


async def account_of(system: System, seller: Visitor) -> str | None:
    """Where the seller's payouts go, as payments keeps it (no API shows it)."""
    async with system.apps["payments"].state.engine.connect() as db:
        return await payments_store.payout_account(db, UUID(await user_id(seller)))


async def payout_of(system: System, payout_id: str) -> Payout:
    async with system.apps["payments"].state.engine.connect() as db:
        return await payments_store.payout(db, UUID(payout_id))


async def payout_accounts(system: System) -> int:
    """How many sellers have a payout account at all."""
    async with system.apps["payments"].state.engine.connect() as db:
        return int((await db.execute(text("select count(*) from payout_accounts"))).scalar_one())


# payments


def deliver_webhooks(system: System) -> None:
    """The sandbox's webhooks reach payments in process, as they would over the network."""
    webhooks = system.apps["payments"].state.provider.webhooks
    webhooks.transport = system.transport
    webhooks.first_delay = 0.05


def sandbox(system: System):
    """The card processor's side (the sandbox, the one fake): intents, transfers."""
    return system.apps["payments"].state.provider
