"""Authorization matrix: every route, called by an anonymous visitor, a cookie from another
deployment (signed with another Ed25519 key), the owner's own cookie after signing out,
another signed-in user and the owner, answers the status DESIGN.md documents; nothing
another user owns shows in any answer."""

from uuid import UUID, uuid4

import pytest

from tests.faults.support import rows
from tests.flows.conftest import signed_up
from tests.journeys import listed_ticket, order_when_replicated
from tests.support import eventually, mint_token
from tests.system import running_system
from ticketing.common.auth import COOKIE
from ticketing.common.keys import generate_key_pair

ANONYMOUS, FORGED, REVOKED = "anonymous", "forged", "revoked"
OTHER, OWNER = "other", "owner"
ORDER_OF_CALLS = (
    ANONYMOUS,
    FORGED,
    REVOKED,
    OTHER,
    OWNER,
)  # the owner last: its call may change things

# (method, path, body, owner role, {caller: status}); {t1}... are filled in below.
MATRIX = [
    ("GET", "/api/users/currentuser", None, "buyer", {ANONYMOUS: 200, OTHER: 200, OWNER: 200}),
    ("POST", "/api/tickets", {"title": "Mine", "price": 5}, "seller", {ANONYMOUS: 401}),
    ("GET", "/api/tickets", None, "seller", {ANONYMOUS: 200, OTHER: 200, OWNER: 200}),
    ("GET", "/api/tickets?mine=true", None, "seller", {ANONYMOUS: 401, OTHER: 200, OWNER: 200}),
    ("GET", "/api/tickets/{t1}", None, "seller", {ANONYMOUS: 200, OTHER: 200, OWNER: 200}),
    (
        "PUT",
        "/api/tickets/{t1}",
        {"title": "Edited", "price": 7},
        "seller",
        {ANONYMOUS: 401, OTHER: 401, OWNER: 200},
    ),
    ("DELETE", "/api/tickets/{t2}", None, "seller", {ANONYMOUS: 401, OTHER: 401, OWNER: 204}),
    ("GET", "/api/orders", None, "buyer", {ANONYMOUS: 401, OTHER: 200, OWNER: 200}),
    ("GET", "/api/orders/{o1}", None, "buyer", {ANONYMOUS: 401, OTHER: 401, OWNER: 200}),
    (
        "POST",
        "/api/payments",
        {"token": "tok_visa", "orderId": "{o2}"},
        "buyer",
        {ANONYMOUS: 401, OTHER: 401, OWNER: 201},
    ),
    ("DELETE", "/api/orders/{o1}", None, "buyer", {ANONYMOUS: 401, OTHER: 401, OWNER: 204}),
    # Ordering one's own ticket is refused; anyone else signed in may order it.
    ("POST", "/api/orders", {"ticketId": "{t5}"}, "seller", {ANONYMOUS: 401, OWNER: 400}),
    ("POST", "/api/orders", {"ticketId": "{t5}"}, "seller", {OTHER: 201}),
    ("GET", "/api/passes", None, "buyer", {ANONYMOUS: 401, OTHER: 200, OWNER: 200}),
    ("GET", "/api/passes/{p1}", None, "buyer", {ANONYMOUS: 401, OTHER: 401, OWNER: 200}),
    ("GET", "/api/passes/{p1}/qr.svg", None, "buyer", {ANONYMOUS: 401, OTHER: 401, OWNER: 200}),
    (
        "POST",
        "/api/passes/{p1}/resell",
        {"price": 1},
        "buyer",
        {ANONYMOUS: 401, OTHER: 401, OWNER: 201},
    ),
    ("DELETE", "/api/passes/{p1}/resell", None, "buyer", {ANONYMOUS: 401, OTHER: 401, OWNER: 204}),
    # A door shows its own token: no user's session, the holder's included, is one.
    ("POST", "/api/checkins", {"code": "{c1}"}, "buyer", {ANONYMOUS: 401, OTHER: 401, OWNER: 401}),
    ("GET", "/api/payouts/balance", None, "seller", {ANONYMOUS: 401, OTHER: 200, OWNER: 200}),
    (
        "POST",
        "/api/payouts/account",
        {"accountId": "acct_matrix"},
        "seller",
        {ANONYMOUS: 401, OTHER: 200, OWNER: 200},
    ),
    # Nobody has money available yet: each signed-in caller is told so about their own.
    ("POST", "/api/payouts", None, "seller", {ANONYMOUS: 401, OTHER: 400, OWNER: 400}),
    ("POST", "/api/users/signout", None, "buyer", {ANONYMOUS: 200, OTHER: 200, OWNER: 200}),
]


def _fill(value, ids: dict[str, str]):
    if isinstance(value, str):
        return value.format(**ids)
    if isinstance(value, dict):
        return {k: _fill(v, ids) for k, v in value.items()}
    return value


@pytest.fixture
async def world(postgres, nats):
    """A seller with listings, a buyer with two orders, and someone else."""
    async with running_system(postgres, nats, expiration_window_seconds=900) as system:
        seller, buyer, other = [await signed_up(system, n) for n in ("seller", "buyer", "x")]
        tickets = [(await listed_ticket(seller, title=f"Matrix {n}"))["id"] for n in range(6)]
        o1 = (await order_when_replicated(buyer, tickets[3]))["id"]
        o2 = (await order_when_replicated(buyer, tickets[4]))["id"]

        async def payments_knows_o2() -> bool:
            found = await rows(
                system, "payments", "SELECT 1 FROM orders WHERE id = :id", id=UUID(o2)
            )
            return bool(found)

        await eventually(payments_knows_o2, timeout=10)
        held = await _pass_of(buyer, tickets[2])
        ids = {"t1": tickets[0], "t2": tickets[1], "t5": tickets[5], "o1": o1, "o2": o2}
        ids |= {"p1": held["id"], "c1": held["code"]}
        another_key, _ = generate_key_pair()
        me = (await buyer.get("/api/users/currentuser")).json()["currentUser"]
        forged_cookie = mint_token(UUID(me["id"]), me["email"], private_key=another_key)
        revoked = await _signed_out_session(system, me["email"])
        yield {
            "callers": {
                ANONYMOUS: system.client(),
                FORGED: system.client(cookies={COOKIE: forged_cookie}),
                REVOKED: revoked,
                OTHER: other,
                "seller": seller,
                "buyer": buyer,
            },
            "ids": ids,
            "private": {o1, o2, me["id"], held["id"], held["code"], *tickets},
        }


async def test_every_route_answers_each_caller_as_documented_and_leaks_nothing(world):
    callers, ids = world["callers"], world["ids"]
    seen = []
    for method, path, body, owner_role, expected in MATRIX:
        expected = {**expected}
        if ANONYMOUS in expected:
            # another key, or a session signed out, reads as signed out
            expected.setdefault(FORGED, expected[ANONYMOUS])
            expected.setdefault(REVOKED, expected[ANONYMOUS])
        for caller in (c for c in ORDER_OF_CALLS if c in expected):
            client = callers[owner_role if caller == OWNER else caller]
            response = await client.request(method, _fill(path, ids), json=_fill(body, ids))
            seen.append((method, path, caller, response.status_code, expected[caller]))
            if response.status_code >= 400:
                assert set(response.json()) == {"errors"}, response.text
            if caller != OWNER:
                _assert_nothing_private(response, world["private"], method, path)
    wrong = [row for row in seen if row[3] != row[4]]
    assert not wrong, "\n".join(
        f"{m} {p} as {c}: {got}, documented {want}" for m, p, c, got, want in wrong
    )


async def _pass_of(buyer, ticket_id: str) -> dict:
    """The buyer orders and pays for the ticket; the pass passes issues for it."""
    order = await order_when_replicated(buyer, ticket_id)

    async def paid() -> bool:
        body = {"token": "tok_visa", "orderId": order["id"]}
        return (await buyer.post("/api/payments", json=body)).status_code == 201

    await eventually(paid, timeout=10)

    async def issued() -> dict:
        mine = (await buyer.get("/api/passes")).json()
        assert len(mine) == 1, mine
        return mine[0]

    return await eventually(issued, timeout=10)


async def _signed_out_session(system, email: str):
    """A second session of the buyer's, signed out: a browser still holding its cookie."""
    browser = system.client()
    signed_in = await browser.post(
        "/api/users/signin", json={"email": email, "password": "password123"}
    )
    assert signed_in.status_code == 200, signed_in.text
    cookie = browser.cookies[COOKIE]
    assert (await browser.post("/api/users/signout")).status_code == 200
    holder = system.client(cookies={COOKIE: cookie})

    async def refused_everywhere() -> bool:  # the other services hear of it by event
        answers = [
            (await holder.get("/api/orders")).status_code,
            (await holder.get("/api/tickets?mine=true")).status_code,
        ]
        return answers == [401, 401]

    await eventually(refused_everywhere, timeout=10)
    return holder


def _assert_nothing_private(response, private: set[str], method: str, path: str) -> None:
    """Listings are public, and a caller may see what it just created for itself; orders,
    payments, a seller's own view and who someone is are nobody else's business."""
    public_read = method == "GET" and (path == "/api/tickets" or path.startswith("/api/tickets/{"))
    own_creation = method == "POST" and path in ("/api/tickets", "/api/orders")
    if public_read or (own_creation and response.is_success):
        return
    leaked = [value for value in private if value in response.text]
    assert not leaked, f"{method} {path} showed {leaked}"


async def test_someone_elses_order_is_401_an_unknown_one_404_and_neither_is_shown(world):
    """Not yours is 401, as in the original; unknown is 404 — neither shows the order."""
    other = world["callers"][OTHER]
    for order_id, status in ((world["ids"]["o1"], 401), (str(uuid4()), 404)):
        response = await other.get(f"/api/orders/{order_id}")
        assert response.status_code == status
        assert order_id not in response.text
