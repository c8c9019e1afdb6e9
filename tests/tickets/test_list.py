"""GET /api/tickets over HTTP: for-sale only, newest first, search, price range, paging, mine."""

import re
from uuid import uuid4

import pytest
from pydantic import TypeAdapter

from tests.tickets.builders import at, make_ticket
from ticketing.tickets.domain import Status
from ticketing.tickets.schemas import TicketOut

URL = "/api/tickets"


def next_link(response) -> str | None:
    match = re.fullmatch(r'<([^>]+)>; rel="next"', response.headers.get("link", ""))
    return match.group(1) if match else None


def titles(response) -> list[str]:
    return [ticket["title"] for ticket in response.json()]


async def test_only_tickets_for_sale_are_listed_newest_first(client, engine):
    for second, status in enumerate(Status):
        await make_ticket(engine, title=str(status), status=status, created_at=at(second))
    await make_ticket(engine, title="newest", created_at=at(30))
    response = await client.get(URL)
    assert response.status_code == 200
    assert titles(response) == ["newest", "available"]
    assert next_link(response) is None


async def test_a_listed_ticket_has_the_ticket_shape(client, engine):
    ticket = await make_ticket(engine, price_cents=1050)
    [shown] = (await client.get(URL)).json()
    assert shown == {
        "id": str(ticket.id),
        "title": ticket.title,
        "price": 10.5,
        "userId": str(ticket.user_id),
        "version": 0,
        "orderId": None,
        "status": "available",
    }


async def test_each_listed_ticket_is_written_as_the_ticket_model_writes_it(client, engine, seller):
    """The page is serialised apart from the model, for speed: it must not drift from it."""
    prices = [1050, 2000, 1, 99_999_999]
    made = [
        await make_ticket(
            engine, user_id=seller.id, status=status, price_cents=price, created_at=at(second)
        )
        for second, (status, price) in enumerate(zip(Status, prices, strict=True))
    ]
    listed = await client.get(URL, params={"mine": "true"}, headers=seller.headers)
    page = [TicketOut.of(ticket) for ticket in reversed(made)]  # newest first
    assert listed.content == TypeAdapter(list[TicketOut]).dump_json(page, by_alias=True)
    assert {ticket["status"] for ticket in listed.json()} == {status.value for status in Status}


async def test_an_empty_list_is_an_empty_array(client):
    response = await client.get(URL)
    assert (response.status_code, response.json()) == (200, [])


async def test_paging_through_45_tickets_returns_each_exactly_once(client, engine):
    # pairs share a created_at, so the id must break ties for the cursor
    stamps = [at(n // 2) for n in range(45)]
    made = [await make_ticket(engine, title=f"t{n}", created_at=stamps[n]) for n in range(45)]
    seen, pages, url = [], [], f"{URL}?limit=20"
    while url:
        response = await client.get(url)
        assert response.status_code == 200
        pages.append(len(response.json()))
        seen += [ticket["id"] for ticket in response.json()]
        url = next_link(response)
    assert pages == [20, 20, 5]
    assert sorted(seen) == sorted(str(t.id) for t in made)
    newest_first = sorted(zip(stamps, made, strict=True), key=lambda s: (s[0], s[1].id))
    assert seen == [str(t.id) for _, t in reversed(newest_first)]


async def test_the_default_page_is_20(client, engine):
    for n in range(21):
        await make_ticket(engine, created_at=at(n))
    response = await client.get(URL)
    assert len(response.json()) == 20
    assert next_link(response) is not None


async def test_the_next_link_keeps_the_filters(client, engine):
    for n in range(3):
        await make_ticket(engine, title=f"Opera {n}", price_cents=1000, created_at=at(n))
    await make_ticket(engine, title="Opera cheap", price_cents=100, created_at=at(9))
    response = await client.get(URL, params={"q": "opera", "minPrice": "5", "limit": 2})
    link = next_link(response)
    assert "q=opera" in link and "minPrice=5" in link and "limit=2" in link
    assert titles(await client.get(link)) == ["Opera 0"]


@pytest.mark.parametrize("limit", ["0", "101", "-1", "many"])
async def test_a_limit_outside_1_to_100_is_refused(client, limit):
    response = await client.get(URL, params={"limit": limit})
    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == "limit"


async def test_a_limit_of_100_is_allowed(client):
    assert (await client.get(URL, params={"limit": 100})).status_code == 200


@pytest.mark.parametrize("cursor", ["garbage", "e30", "!!!"])
async def test_a_bad_cursor_is_refused(client, cursor):
    response = await client.get(URL, params={"cursor": cursor})
    assert response.status_code == 400
    assert response.json() == {"errors": [{"message": "Invalid cursor", "field": "cursor"}]}


async def test_the_title_search_ignores_case(client, engine):
    await make_ticket(engine, title="The Phantom of the Opera", created_at=at(1))
    await make_ticket(engine, title="OPERA night", created_at=at(2))
    await make_ticket(engine, title="Cats", created_at=at(3))
    response = await client.get(URL, params={"q": "oPeRa"})
    assert titles(response) == ["OPERA night", "The Phantom of the Opera"]


@pytest.mark.parametrize(("q", "found"), [("%", ["100% fun"]), ("_", ["a_b"]), ("\\", ["c\\d"])])
async def test_like_wildcards_in_the_search_are_taken_literally(client, engine, q, found):
    for n, title in enumerate(["100% fun", "100 fun", "a_b", "axb", "c\\d"]):
        await make_ticket(engine, title=title, created_at=at(n))
    assert titles(await client.get(URL, params={"q": q})) == found


async def test_a_blank_search_lists_everything(client, engine):
    await make_ticket(engine)
    assert len((await client.get(URL, params={"q": "  "})).json()) == 1


async def test_a_too_long_search_is_refused(client):
    response = await client.get(URL, params={"q": "x" * 201})
    assert (response.status_code, response.json()["errors"][0]["field"]) == (400, "q")


async def test_the_price_range_is_inclusive_and_read_as_prices(client, engine):
    for n, cents in enumerate([999, 1000, 1550, 2000, 2001]):
        await make_ticket(engine, title=str(cents), price_cents=cents, created_at=at(n))
    response = await client.get(URL, params={"minPrice": "10.00", "maxPrice": 20})
    assert titles(response) == ["2000", "1550", "1000"]
    assert titles(await client.get(URL, params={"minPrice": 15.5})) == ["2001", "2000", "1550"]
    assert titles(await client.get(URL, params={"maxPrice": "9.99"})) == ["999"]


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"minPrice": "abc"}, "minPrice"),
        ({"maxPrice": "1.234"}, "maxPrice"),
        ({"minPrice": "-5"}, "minPrice"),
        ({"maxPrice": "1e12"}, "maxPrice"),
        ({"minPrice": "30", "maxPrice": "20"}, "maxPrice"),
    ],
)
async def test_a_bad_price_filter_is_refused(client, params, field):
    response = await client.get(URL, params=params)
    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == field


async def test_mine_lists_my_listings_in_every_state(client, engine, seller, buyer):
    for second, status in enumerate(Status):
        await make_ticket(
            engine, title=str(status), user_id=seller.id, status=status, created_at=at(second)
        )
    await make_ticket(engine, title="not mine", user_id=buyer.id, created_at=at(30))
    response = await client.get(URL, params={"mine": "true"}, headers=seller.headers)
    assert response.status_code == 200
    assert titles(response) == ["withdrawn", "sold", "reserved", "available"]
    assert {t["userId"] for t in response.json()} == {str(seller.id)}


async def test_mine_pages_too(client, engine, seller):
    for n in range(5):
        await make_ticket(engine, user_id=seller.id, status=Status.SOLD, created_at=at(n))
    first = await client.get(URL, params={"mine": "true", "limit": 3}, headers=seller.headers)
    rest = await client.get(next_link(first), headers=seller.headers)
    assert (len(first.json()), len(rest.json()), next_link(rest)) == (3, 2, None)


async def test_mine_needs_a_signed_in_user(client):
    response = await client.get(URL, params={"mine": "true"})
    assert response.status_code == 401
    assert response.json() == {"errors": [{"message": "Not authorized"}]}


async def test_mine_false_is_the_public_list(client, engine, seller):
    await make_ticket(engine, user_id=seller.id, status=Status.SOLD)
    await make_ticket(engine, user_id=uuid4())
    response = await client.get(URL, params={"mine": "false"}, headers=seller.headers)
    assert len(response.json()) == 1
