"""The holder's API: list, show, QR code, resell and take down; who may, and odd input."""

import asyncio
import io
from uuid import uuid4

import pytest
import segno

from tests.passes.builders import code_of, make_pass, pass_row
from tests.passes.sessions import sign_out, signed_in
from tests.support import eventually
from ticketing.common.events import Subject
from ticketing.passes.domain import PassStatus


def _path(found, tail: str = "") -> str:
    return f"/api/passes/{found.id}{tail}"


# the list


async def test_listing_shows_my_passes_newest_first_with_their_codes(client, engine, buyer, seller):
    older = await make_pass(engine, user_id=buyer.id, price_cents=2050)
    newer = await make_pass(engine, user_id=buyer.id, listed_price_cents=2000, version=1)
    await make_pass(engine, user_id=seller.id)
    response = await client.get("/api/passes", headers=buyer.headers)
    assert response.status_code == 200
    assert response.headers["cache-control"] == "no-store"
    first, second = response.json()
    assert (first["id"], second["id"]) == (str(newer.id), str(older.id))
    assert second == {
        "id": str(older.id),
        "ticketId": str(older.ticket_id),
        "orderId": str(older.order_id),
        "title": older.title,
        "status": "valid",
        "code": code_of(older),
        "admittedAt": None,
        "price": 20.5,
        "priceCap": 24.6,
        "listedPrice": None,
    }
    assert first["listedPrice"] == 20


async def test_listing_pages_with_a_cursor_in_the_link_header(client, engine, buyer):
    made = [await make_pass(engine, user_id=buyer.id) for _ in range(3)]
    first = await client.get("/api/passes?limit=2", headers=buyer.headers)
    assert [p["id"] for p in first.json()] == [str(made[2].id), str(made[1].id)]
    next_url = first.headers["link"].split(";")[0].strip("<>")
    rest = await client.get(next_url, headers=buyer.headers)
    assert [p["id"] for p in rest.json()] == [str(made[0].id)]
    assert "link" not in rest.headers


@pytest.mark.parametrize(
    "query, field",
    [
        ("limit=0", "limit"),
        ("limit=101", "limit"),
        ("cursor=x", "cursor"),
        ("cursor=" + "a" * 5000, "cursor"),
    ],
)
async def test_listing_with_a_bad_limit_or_cursor_is_bad_input(client, buyer, query, field):
    response = await client.get(f"/api/passes?{query}", headers=buyer.headers)
    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == field


async def test_listing_needs_a_signed_in_user(client):
    response = await client.get("/api/passes")
    assert response.status_code == 401
    assert response.json() == {"errors": [{"message": "Not authorized"}]}


async def test_a_signed_out_session_sees_no_pass_anywhere(client, engine, bus, settings):
    who, session_id = signed_in(settings)
    mine = await make_pass(engine, user_id=who.id)
    assert (await client.get(_path(mine), headers=who.headers)).status_code == 200
    await sign_out(client, bus, who, session_id)
    for method, path, body in [
        ("GET", "/api/passes", None),
        ("GET", _path(mine), None),
        ("GET", _path(mine, "/qr.svg"), None),
        ("POST", _path(mine, "/resell"), {"price": 10}),
        ("DELETE", _path(mine, "/resell"), None),
    ]:
        response = await client.request(method, path, json=body, headers=who.headers)
        assert response.status_code == 401, (method, path)
    assert (await pass_row(engine, mine.id)).listed_price_cents is None


# one pass


async def test_showing_my_pass(client, engine, buyer):
    mine = await make_pass(engine, user_id=buyer.id)
    response = await client.get(_path(mine), headers=buyer.headers)
    assert response.status_code == 200
    assert response.headers["cache-control"] == "no-store"
    assert (response.json()["id"], response.json()["code"]) == (str(mine.id), code_of(mine))


async def test_someone_elses_pass_is_not_authorized_and_shows_no_code(
    client, engine, buyer, seller
):
    theirs = await make_pass(engine, user_id=seller.id)
    for tail in ("", "/qr.svg"):
        response = await client.get(_path(theirs, tail), headers=buyer.headers)
        assert response.status_code == 401
        assert code_of(theirs) not in response.text


async def test_an_unknown_pass_is_not_found(client, buyer):
    for tail in ("", "/qr.svg"):
        response = await client.get(f"/api/passes/{uuid4()}{tail}", headers=buyer.headers)
        assert response.status_code == 404
        assert response.json() == {"errors": [{"message": "Pass not found"}]}


@pytest.mark.parametrize(
    "pass_id", ["nope", "1" * 5000, "%00", "00000000-0000-0000-0000-00000000000g"]
)
async def test_a_malformed_pass_id_is_bad_input(client, buyer, pass_id):
    response = await client.get(f"/api/passes/{pass_id}", headers=buyer.headers)
    assert response.status_code == 400
    assert response.json()["errors"] == [
        {"message": "PassId must be a valid id", "field": "passId"}
    ]


async def test_a_pass_needs_a_signed_in_user(client, engine, buyer):
    mine = await make_pass(engine, user_id=buyer.id)
    for tail in ("", "/qr.svg"):
        assert (await client.get(_path(mine, tail))).status_code == 401


# the QR code


async def test_the_qr_code_is_an_svg_of_the_code_and_is_not_cached(client, engine, buyer):
    mine = await make_pass(engine, user_id=buyer.id)
    response = await client.get(_path(mine, "/qr.svg"), headers=buyer.headers)
    assert response.status_code == 200
    assert response.headers["content-type"] == "image/svg+xml"
    assert response.headers["cache-control"] == "no-store"
    expected = io.BytesIO()
    segno.make(code_of(mine), error="m").save(expected, kind="svg", scale=8, border=4)
    assert response.content == expected.getvalue()
    assert b"<svg" in response.content


# resale


async def test_reselling_at_the_cap_lists_it_and_tells_tickets(client, engine, bus, buyer):
    mine = await make_pass(engine, user_id=buyer.id, price_cents=2050)
    response = await client.post(
        _path(mine, "/resell"), json={"price": "24.60"}, headers=buyer.headers
    )
    assert response.status_code == 201, response.text
    assert response.json() == {
        "passId": str(mine.id),
        "ticketId": str(mine.ticket_id),
        "price": 24.6,
        "priceCap": 24.6,
        "status": "listed",
    }
    (listed,) = await bus.wait_for(Subject.PASS_LISTED)
    assert listed == {
        "id": str(mine.id),
        "version": 1,
        "ticketId": str(mine.ticket_id),
        "userId": str(buyer.id),
        "price": 2460,
        "priceCap": 2460,
    }
    shown = (await client.get(_path(mine), headers=buyer.headers)).json()
    assert (shown["status"], shown["listedPrice"]) == ("valid", 24.6)


async def test_reselling_above_the_cap_is_refused_naming_the_cap(client, engine, bus, buyer):
    mine = await make_pass(engine, user_id=buyer.id, price_cents=2050)
    response = await client.post(
        _path(mine, "/resell"), json={"price": 24.61}, headers=buyer.headers
    )
    assert response.status_code == 400
    (error,) = response.json()["errors"]
    assert error["field"] == "price" and "24.60" in error["message"]
    assert (await pass_row(engine, mine.id)).listed_price_cents is None


async def test_listing_again_changes_the_price_and_the_same_price_changes_nothing(
    client, engine, bus, buyer
):
    mine = await make_pass(engine, user_id=buyer.id)
    for price in (20, 15, 15):
        response = await client.post(
            _path(mine, "/resell"), json={"price": price}, headers=buyer.headers
        )
        assert (response.status_code, response.json()["price"]) == (201, price)
    found = await bus.wait_for(Subject.PASS_LISTED, 2)
    assert [(e["price"], e["version"]) for e in found] == [(2000, 1), (1500, 2)]
    assert (await pass_row(engine, mine.id)).version == 2


@pytest.mark.parametrize(
    "status, message",
    [
        (PassStatus.USED, "A used pass cannot be resold"),
        (PassStatus.REVOKED, "A revoked pass cannot be resold"),
    ],
)
async def test_only_a_valid_pass_can_be_resold(client, engine, buyer, status, message):
    mine = await make_pass(engine, user_id=buyer.id, status=status)
    response = await client.post(_path(mine, "/resell"), json={"price": 10}, headers=buyer.headers)
    assert response.status_code == 400
    assert response.json() == {"errors": [{"message": message}]}


@pytest.mark.parametrize(
    "body, message",
    [
        ({}, "Price is required"),
        ({"price": 0}, "greater than 0"),
        ({"price": -5}, "greater than 0"),
        ({"price": "abc"}, "must be a number"),
        ({"price": 1.234}, "at most 2 decimals"),
        ({"price": "1e3"}, "must be a number"),
        ({"price": 10**30}, "at most 1000000"),
        ({"price": "9" * 50_000}, "at most 1000000"),
        ({"price": [10]}, "must be a number"),
        ({"price": True}, "must be a number"),
    ],
)
async def test_reselling_with_an_odd_price_is_bad_input(client, engine, buyer, body, message):
    mine = await make_pass(engine, user_id=buyer.id)
    response = await client.post(_path(mine, "/resell"), json=body, headers=buyer.headers)
    assert response.status_code == 400
    (error,) = response.json()["errors"]
    assert error["field"] == "price" and message in error["message"]


async def test_reselling_someone_elses_pass_is_not_authorized(client, engine, buyer, seller):
    theirs = await make_pass(engine, user_id=seller.id)
    posted = await client.post(_path(theirs, "/resell"), json={"price": 10}, headers=buyer.headers)
    deleted = await client.delete(_path(theirs, "/resell"), headers=buyer.headers)
    assert (posted.status_code, deleted.status_code) == (401, 401)
    assert (await pass_row(engine, theirs.id)).listed_price_cents is None


async def test_reselling_needs_a_signed_in_user_and_a_known_pass(client, engine, buyer):
    mine = await make_pass(engine, user_id=buyer.id)
    assert (await client.post(_path(mine, "/resell"), json={"price": 10})).status_code == 401
    assert (await client.delete(_path(mine, "/resell"))).status_code == 401
    unknown = f"/api/passes/{uuid4()}/resell"
    assert (
        await client.post(unknown, json={"price": 10}, headers=buyer.headers)
    ).status_code == 404
    assert (await client.delete(unknown, headers=buyer.headers)).status_code == 404
    malformed = await client.post("/api/passes/x/resell", json={"price": 10}, headers=buyer.headers)
    assert malformed.status_code == 400


async def test_many_identical_resales_at_once_list_it_once(client, engine, bus, buyer):
    mine = await make_pass(engine, user_id=buyer.id)
    responses = await asyncio.gather(
        *(
            client.post(_path(mine, "/resell"), json={"price": 12}, headers=buyer.headers)
            for _ in range(10)
        )
    )
    assert [r.status_code for r in responses] == [201] * 10
    await bus.wait_for(Subject.PASS_LISTED)
    assert (await pass_row(engine, mine.id)).version == 1
    assert len(await bus.published(Subject.PASS_LISTED)) == 1


async def test_taking_a_resale_down_keeps_the_pass_valid_and_tells_tickets(
    client, engine, bus, buyer
):
    mine = await make_pass(engine, user_id=buyer.id)
    await client.post(_path(mine, "/resell"), json={"price": 10}, headers=buyer.headers)
    response = await client.delete(_path(mine, "/resell"), headers=buyer.headers)
    assert (response.status_code, response.content) == (204, b"")
    row = await pass_row(engine, mine.id)
    assert (row.status, row.listed_price_cents, row.version) == (PassStatus.VALID, None, 2)
    (unlisted,) = await bus.wait_for(Subject.PASS_UNLISTED)
    assert unlisted == {
        "id": str(mine.id),
        "version": 2,
        "ticketId": str(mine.ticket_id),
        "userId": str(buyer.id),
    }


async def test_taking_down_what_is_not_on_sale_is_harmless_and_publishes_nothing(
    client, engine, bus, buyer
):
    mine = await make_pass(engine, user_id=buyer.id)
    for _ in range(2):
        assert (
            await client.delete(_path(mine, "/resell"), headers=buyer.headers)
        ).status_code == 204
    await client.post(_path(mine, "/resell"), json={"price": 10}, headers=buyer.headers)
    await bus.wait_for(Subject.PASS_LISTED)  # staged after the deletes: they are out by now
    assert await bus.published(Subject.PASS_UNLISTED) == []
    assert (await pass_row(engine, mine.id)).version == 1


async def test_a_resale_price_shows_in_the_list_until_taken_down(client, engine, buyer):
    mine = await make_pass(engine, user_id=buyer.id)
    await client.post(_path(mine, "/resell"), json={"price": 11.5}, headers=buyer.headers)

    async def listed_price():
        return (await client.get("/api/passes", headers=buyer.headers)).json()[0]["listedPrice"]

    assert await eventually(listed_price) == 11.5
    await client.delete(_path(mine, "/resell"), headers=buyer.headers)
    assert await listed_price() is None
