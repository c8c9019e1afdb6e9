"""Hostile and odd input: oversized or chunked bodies, wrong content types, deep nesting,
huge numbers, control characters and lone surrogates get a clear 4xx in the common shape
and store nothing; titles in any script, with emoji or invisible characters, round-trip
exactly through tickets, the event and orders' replica."""

import base64
import json
from uuid import uuid4

import pytest

from tests.faults.support import rows
from tests.support import cookie_for, eventually
from tests.system import running_system

LIMIT = 64 * 1024


@pytest.fixture(scope="module")
async def system(postgres, nats):
    """One system for the module: every test checks that it stored nothing new."""
    async with running_system(
        postgres, nats, services=["auth", "tickets", "orders", "payments"]
    ) as running:
        yield running


@pytest.fixture
def seller(system):
    return system.client(cookies=cookie_for(system.settings["tickets"], uuid4()))


@pytest.fixture
def buyer(system):
    return system.client(cookies=cookie_for(system.settings["tickets"], uuid4()))


async def stored_titles(system) -> list[str]:
    return [r.title for r in await rows(system, "tickets", "SELECT title FROM tickets ORDER BY id")]


@pytest.fixture
async def nothing_new(system):
    """Asserts, after the test, that no ticket and no user was stored by it."""
    users = "SELECT count(*) FROM users"
    before = (await stored_titles(system), await rows(system, "auth", users))
    yield
    assert (await stored_titles(system), await rows(system, "auth", users)) == before


def refused(response, status: int = 400) -> dict:
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"errors"} and body["errors"], body
    assert all(isinstance(item["message"], str) for item in body["errors"])
    return body


async def test_bodies_over_64_kib_are_refused_with_or_without_a_length(system, seller):
    ticket = (await seller.post("/api/tickets", json={"title": "Small", "price": 5})).json()
    before = await stored_titles(system)
    huge = json.dumps({"title": "x" * LIMIT, "price": 5, "email": "a@b.io", "token": "t"})
    for method, path in [
        ("POST", "/api/users/signup"),
        ("POST", "/api/users/signin"),
        ("POST", "/api/tickets"),
        ("PUT", f"/api/tickets/{ticket['id']}"),
        ("POST", "/api/orders"),
        ("POST", "/api/payments"),
    ]:
        headers = {"content-type": "application/json"}
        refused(await seller.request(method, path, content=huge, headers=headers), 413)

    async def chunks():
        for _ in range(5):
            yield b" " * (LIMIT // 4)

    chunked = await seller.post("/api/tickets", content=chunks(), headers=headers)
    assert "content-length" not in chunked.request.headers
    refused(chunked, 413)
    assert await stored_titles(system) == before


@pytest.mark.parametrize(
    ("content_type", "content"),
    [
        ("text/plain", b'{"title": "Plain", "price": 5}'),  # what a cross-site form can send
        ("application/x-www-form-urlencoded", b"title=Form&price=5"),
        (
            "multipart/form-data; boundary=x",
            b'--x\r\nContent-Disposition: form-data; name="title"\r\n\r\nM\r\n--x--',
        ),
        ("application/json", b'{"title": "Broken", "price": 5'),
        ("application/json", b"\xff\xfe not utf-8"),
        ("application/json", b'["title", "price"]'),
    ],
)
async def test_a_body_that_is_not_a_json_object_is_refused(
    system, nothing_new, seller, content_type, content
):
    response = await seller.post(
        "/api/tickets", content=content, headers={"content-type": content_type}
    )
    refused(response)


async def _listed_and_replicated(system, seller) -> str:
    ticket = (await seller.post("/api/tickets", json={"title": "Held?", "price": 5})).json()

    async def replicated() -> bool:
        query = f"SELECT id FROM tickets WHERE id = '{ticket['id']}'"
        return bool(await rows(system, "orders", query))

    await eventually(replicated, timeout=10)
    return ticket["id"]


@pytest.mark.parametrize(
    ("content_type", "template"),
    [
        ("text/plain", b'{"ticketId": "%s"}'),  # what a cross-site form can send
        ("application/x-www-form-urlencoded", b"ticketId=%s"),
        (None, b'{"ticketId": "%s"}'),
        ("application/json", b'{"ticketId": "%s"'),
        ("application/json", b'["%s"]'),
        ("application/json", b'{"ticketId": ["%s"]}'),
        ("application/json", b'{"ticketId": "%s\\u0000"}'),
        ("application/json", b'{"a": ' * 9_000 + b'"%s"' + b"}" * 9_000),
    ],
)
async def test_a_reservation_body_that_is_not_a_ticket_id_in_json_is_refused(
    system, seller, buyer, content_type, template
):
    """The reservation reads its body itself (a plain route): it refuses what every
    other route refuses, and reserves nothing."""
    ticket_id = await _listed_and_replicated(system, seller)
    headers = {"content-type": content_type} if content_type else {}
    body = template.replace(b"%s", ticket_id.encode())
    refused(await buyer.post("/api/orders", content=body, headers=headers))
    query = f"SELECT id FROM orders WHERE ticket_id = '{ticket_id}'"
    assert await rows(system, "orders", query) == []
    assert (await buyer.post("/api/orders", json={"ticketId": ticket_id})).status_code == 201


async def test_deeply_nested_json_is_refused_not_crashed_on(system, nothing_new, seller):
    deep_list = b'{"title": ' + b"[" * 30_000 + b"]" * 30_000 + b', "price": 5}'
    deep_object = b'{"a": ' * 9_000 + b"1" + b"}" * 9_000
    assert len(deep_list) < LIMIT and len(deep_object) < LIMIT
    for body in (deep_list, deep_object):
        refused(
            await seller.post(
                "/api/tickets", content=body, headers={"content-type": "application/json"}
            )
        )


@pytest.mark.parametrize(
    "price",
    [
        b"1" + b"0" * 4000,  # an integer with 4001 digits
        b"9" * 5000,  # past Python's int-parsing limit
        b"1e400",  # a float that overflows to infinity
        b"-1e400",
        b"NaN",
        b'"' + b"9" * 5000 + b'"',
        b"0.000000000000000000000000000001",
    ],
)
async def test_huge_and_tiny_numbers_are_refused(system, nothing_new, seller, price):
    body = b'{"title": "Numbers", "price": ' + price + b"}"
    refused(
        await seller.post(
            "/api/tickets", content=body, headers={"content-type": "application/json"}
        )
    )


async def test_huge_query_numbers_are_refused(system, buyer):
    for params in ({"limit": "1" + "0" * 30}, {"minPrice": "9" * 500}, {"limit": "-1"}):
        refused(await buyer.get("/api/tickets", params=params))
    refused(await buyer.get("/api/orders", params={"limit": "1" + "0" * 30}))


TITLES = [
    "שלום עולם — Hebrew, right to left",
    "مرحبا بالعالم",
    "\u202eexe.txt, right-to-left override",
    "zero\u200bwidth\u200cnon\u200djoiner\u2060word joiner",
    "\ufeffbyte order mark first",
    "👩‍👩‍👧‍👦 family and 🎟️ ticket",
    "e\u0301 combining, not normalised",
    '<script>alert(1)</script> & "quotes"',
    "x" * 199 + "🎟",
]


async def test_unicode_titles_round_trip_exactly_through_every_copy(system, seller, buyer):
    ids = {}
    for title in TITLES:
        response = await seller.post("/api/tickets", json={"title": title, "price": 5})
        assert response.status_code == 201, response.text
        assert response.json()["title"] == title
        ids[title] = response.json()["id"]
    for title, ticket_id in ids.items():
        assert (await buyer.get(f"/api/tickets/{ticket_id}")).json()["title"] == title
    found = (await buyer.get("/api/tickets", params={"q": "\u200cnon\u200d"})).json()
    assert [t["title"] for t in found] == [TITLES[3]]

    async def replicated() -> bool:
        copies = {r.title for r in await rows(system, "orders", "SELECT title FROM tickets")}
        return copies >= set(TITLES)

    await eventually(replicated, timeout=10)
    order = await buyer.post("/api/orders", json={"ticketId": ids[TITLES[5]]})
    assert order.json()["ticket"]["title"] == TITLES[5]


@pytest.mark.parametrize(
    "title",
    [
        "nul\x00inside",
        "bell\x07",
        "line\nbreak inside",
        "\x85next line inside\x85x",
        "\ud800 lone surrogate",
    ],
)
async def test_control_characters_and_lone_surrogates_in_a_title_are_refused(
    system, nothing_new, seller, title
):
    body = json.dumps({"title": title, "price": 5})  # \ud800 travels as a JSON escape
    response = await seller.post(
        "/api/tickets", content=body, headers={"content-type": "application/json"}
    )
    assert refused(response)["errors"][0]["field"] == "title"


async def test_text_that_postgresql_or_scrypt_cannot_take_is_refused_everywhere(
    system, nothing_new, seller
):
    signup = system.client()
    cases = [
        (signup, "/api/users/signup", {"email": "a@example.com", "password": "\ud800" * 8}),
        (signup, "/api/users/signup", {"email": "\ud800@example.com", "password": "password123"}),
        (signup, "/api/users/signin", {"email": "a@example.com", "password": "\ud800"}),
        (seller, "/api/payments", {"token": "tok_\x00visa", "orderId": str(uuid4())}),
        (seller, "/api/payments", {"token": "tok_\ud800", "orderId": str(uuid4())}),
    ]
    for client, path, body in cases:
        response = await client.post(
            path, content=json.dumps(body), headers={"content-type": "application/json"}
        )
        refused(response)
    for q in ("\x00", "a\x1fb"):  # a URL cannot carry a lone surrogate
        refused(await seller.get("/api/tickets", params={"q": q}))


def _cursor(value) -> str:
    raw = value if isinstance(value, bytes) else json.dumps(value).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


ROW = str(uuid4())
FORGED_CURSORS = [
    _cursor(["0001-01-01T00:00:00+14:00", ROW]),  # before year 1 in UTC: the driver overflowed
    _cursor(["9999-12-31T23:59:59-14:00", ROW]),  # after year 9999 in UTC
    _cursor(["0001-01-01T00:00:00+00:00", ROW]),
    _cursor(["2030-01-01T00:00:00", ROW]),  # naive: no instant
    _cursor(["2030-01-01", ROW]),
    _cursor(["2030-01-01T00:00:00+00:00", "not-a-uuid"]),
    _cursor(["2030-01-01T00:00:00+00:00", 7]),
    _cursor([20300101, ROW]),
    _cursor(["2030-01-01T00:00:00+00:00", ROW, "extra"]),
    _cursor(["2030-01-01T00:00:00+00:00"]),
    _cursor({"at": "2030-01-01T00:00:00+00:00", "id": ROW}),
    _cursor(None),
    _cursor(b"\xff\xfe"),
    _cursor(["x" * 150, ROW]),
    _cursor(["2030-01-01T00:00:00+00:00", ROW]) + "A" * 5000,
    "not base64 at all!",
]


@pytest.mark.parametrize("cursor", FORGED_CURSORS)
async def test_a_forged_or_out_of_range_cursor_is_refused_on_every_list(buyer, cursor):
    for path in ("/api/tickets", "/api/orders"):
        body = refused(await buyer.get(path, params={"cursor": cursor}))
        assert body["errors"][0].get("field") == "cursor", (path, body)
