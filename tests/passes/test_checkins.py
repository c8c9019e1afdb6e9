"""The door's API: a code admits once, however many scan it at once; only doors may ask."""

import asyncio
from datetime import datetime
from uuid import uuid4

import pytest

from tests.passes.builders import code_of, door_token, make_pass, pass_row
from tests.support import mint_token
from ticketing.common.events import Subject
from ticketing.passes import service
from ticketing.passes.domain import PassStatus


def _door(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
async def door(engine) -> dict[str, str]:
    return _door(await door_token(engine))


async def test_a_valid_code_admits_once_and_tells_the_others(client, engine, bus, door):
    ticket = await make_pass(engine, title="Opera", listed_price_cents=2000, version=1)
    response = await client.post("/api/checkins", json={"code": code_of(ticket)}, headers=door)
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["ticketId"], body["title"]) == (str(ticket.ticket_id), "Opera")
    row = await pass_row(engine, ticket.id)
    assert (row.status, row.listed_price_cents, row.version) == (PassStatus.USED, None, 2)
    assert datetime.fromisoformat(body["admittedAt"]) == row.admitted_at
    (admitted,) = await bus.wait_for(Subject.PASS_ADMITTED)
    assert admitted == {
        "id": str(ticket.id),
        "version": 2,
        "ticketId": str(ticket.ticket_id),
        "userId": str(ticket.user_id),
        "admittedAt": admitted["admittedAt"],
        "orderId": str(ticket.order_id),
    }
    assert datetime.fromisoformat(admitted["admittedAt"]) == row.admitted_at


async def test_a_second_scan_says_when_it_went_in(client, engine, door):
    ticket = await make_pass(engine)
    await client.post("/api/checkins", json={"code": code_of(ticket)}, headers=door)
    again = await client.post("/api/checkins", json={"code": code_of(ticket)}, headers=door)
    assert again.status_code == 409
    at = (await pass_row(engine, ticket.id)).admitted_at
    assert again.json() == {
        "errors": [{"message": f"Already admitted at {at:%Y-%m-%d %H:%M:%S} UTC"}]
    }


async def test_twenty_scans_of_one_code_at_once_admit_exactly_one(client, engine, bus, door):
    ticket = await make_pass(engine)
    responses = await asyncio.gather(
        *(
            client.post("/api/checkins", json={"code": code_of(ticket)}, headers=door)
            for _ in range(20)
        )
    )
    statuses = sorted(r.status_code for r in responses)
    assert statuses == [200] + [409] * 19
    assert (await pass_row(engine, ticket.id)).version == 1
    await bus.wait_for(Subject.PASS_ADMITTED)
    assert len(await bus.published(Subject.PASS_ADMITTED)) == 1


async def test_a_revoked_code_is_gone(client, engine, door):
    sold_on = await make_pass(engine, status=PassStatus.REVOKED)
    response = await client.post("/api/checkins", json={"code": code_of(sold_on)}, headers=door)
    assert response.status_code == 410
    assert response.json() == {
        "errors": [{"message": "This pass was revoked: the ticket was resold"}]
    }


async def test_an_unknown_code_is_not_found(client, engine, door):
    await make_pass(engine)
    response = await client.post("/api/checkins", json={"code": "A" * 22}, headers=door)
    assert response.status_code == 404
    assert response.json() == {"errors": [{"message": "Unknown pass code"}]}


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"code": None},
        {"code": ""},
        {"code": 12345},
        {"code": ["A" * 22]},
        {"code": "A" * 21},
        {"code": "A" * 23},
        {"code": "A" * 21 + "="},
        {"code": "A" * 21 + "\u0000"},
        {"code": "' OR 1=1 --AAAAAAAAAAA"},
        {"code": "A" * 60_000},
    ],
)
async def test_anything_but_a_code_is_bad_input_on_the_code_field(client, door, body):
    response = await client.post("/api/checkins", json=body, headers=door)
    assert response.status_code == 400
    assert [e["field"] for e in response.json()["errors"]] == ["code"]


@pytest.mark.parametrize(
    "authorization",
    [
        None,
        "",
        "Bearer",
        "Bearer ",
        "Basic dXNlcjpwYXNz",
        "Bearer not-a-door",
        "Bearer " + "x" * 10_000,
    ],
)
async def test_only_a_door_may_check_in(client, engine, authorization):
    ticket = await make_pass(engine)
    headers = {} if authorization is None else {"Authorization": authorization}
    response = await client.post("/api/checkins", json={"code": code_of(ticket)}, headers=headers)
    assert response.status_code == 401
    assert response.json() == {"errors": [{"message": "A door's token is required"}]}
    assert (await pass_row(engine, ticket.id)).status == PassStatus.VALID


async def test_a_signed_in_users_session_is_not_a_door(client, engine, settings, buyer):
    ticket = await make_pass(engine, user_id=buyer.id)
    session = mint_token(buyer.id, ttl=settings.session_ttl_seconds)
    for headers in (buyer.headers, _door(session)):
        response = await client.post(
            "/api/checkins", json={"code": code_of(ticket)}, headers=headers
        )
        assert response.status_code == 401
    assert (await pass_row(engine, ticket.id)).status == PassStatus.VALID


async def test_a_revoked_door_admits_no_one(client, engine):
    name = f"gate-{uuid4().hex[:6]}"
    token = await door_token(engine, name)
    async with engine.begin() as db:
        await service.revoke_door(db, name)
    ticket = await make_pass(engine)
    response = await client.post(
        "/api/checkins", json={"code": code_of(ticket)}, headers=_door(token)
    )
    assert response.status_code == 401
    assert (await pass_row(engine, ticket.id)).status == PassStatus.VALID


async def test_a_stranger_learns_nothing_of_the_body_a_door_would_post(client):
    response = await client.post("/api/checkins", json={"code": "junk"})
    assert response.status_code == 401


async def test_a_pass_on_sale_admitted_at_the_door_is_off_sale(client, engine, bus, buyer, door):
    ticket = await make_pass(engine, user_id=buyer.id)
    path = f"/api/passes/{ticket.id}/resell"
    assert (await client.post(path, json={"price": 10}, headers=buyer.headers)).status_code == 201
    await client.post("/api/checkins", json={"code": code_of(ticket)}, headers=door)
    again = await client.post(path, json={"price": 10}, headers=buyer.headers)
    assert again.json() == {"errors": [{"message": "A used pass cannot be resold"}]}
    shown = (await client.get(f"/api/passes/{ticket.id}", headers=buyer.headers)).json()
    assert (shown["status"], shown["listedPrice"]) == ("used", None)
    assert shown["admittedAt"] is not None
