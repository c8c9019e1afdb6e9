"""Passes' HTTP API: /api/passes* for holders, /api/checkins for doors."""

import io
import logging
from decimal import Decimal
from typing import Annotated
from uuid import UUID

import segno
from fastapi import APIRouter, Depends, Header, Request, Response

from ticketing.common.auth import RequireUser
from ticketing.common.db import AutocommitDb, Db, Engine
from ticketing.common.errors import NotAuthorized
from ticketing.common.fields import path_id
from ticketing.common.openapi import error_responses
from ticketing.common.paging import Limit, decode_cursor, link_next
from ticketing.passes import domain, service
from ticketing.passes.domain import Door, Pass
from ticketing.passes.schemas import CheckIn, CheckInOut, PassOut, Resale, ResaleOut

log = logging.getLogger(__name__)
passes = APIRouter()
checkins = APIRouter()

# A code is as good as the pass: no cache, shared or private, may keep an answer with one.
NO_STORE = {"Cache-Control": "no-store"}
MAX_TOKEN_LENGTH = 200  # a door's token is 43 characters


PassId = Annotated[UUID, Depends(path_id("pass_id"))]


def _key(request: Request) -> bytes:
    secret: str = request.app.state.settings.pass_code_secret.get_secret_value()
    return secret.encode()


def _cap(request: Request) -> Decimal:
    cap: Decimal = request.app.state.settings.resale_price_cap
    return cap


def _out(request: Request, found: Pass) -> PassOut:
    return PassOut.from_domain(found, key=_key(request), cap=_cap(request))


@passes.get("", responses=error_responses(401))
async def list_passes(
    user: RequireUser,
    request: Request,
    response: Response,
    db: AutocommitDb,
    limit: Limit = 20,
    cursor: str | None = None,
) -> list[PassOut]:
    """Your passes, newest first, each with its code; the next page is in the Link header."""
    after = decode_cursor(cursor)
    found, next_cursor = await service.passes_page(db, user.id, limit=limit, after=after)
    link_next(request, response, next_cursor)
    response.headers.update(NO_STORE)
    return [_out(request, each) for each in found]


@passes.get("/{pass_id}", responses=error_responses(401, 404))
async def show_pass(
    user: RequireUser, pass_id: PassId, request: Request, response: Response, db: AutocommitDb
) -> PassOut:
    """One of your passes, with its code."""
    found = await service.pass_for(db, pass_id, holder=user.id)
    response.headers.update(NO_STORE)
    return _out(request, found)


@passes.get(
    "/{pass_id}/qr.svg",
    response_class=Response,
    responses={
        200: {"content": {"image/svg+xml": {}}, "description": "The code as a QR code"},
        **error_responses(401, 404),
    },
)
async def pass_qr_code(
    user: RequireUser, pass_id: PassId, request: Request, db: AutocommitDb
) -> Response:
    """Your pass's code as a QR code, for the door to scan."""
    found = await service.pass_for(db, pass_id, holder=user.id)
    picture = io.BytesIO()
    segno.make(domain.code_for(found.id, _key(request)), error="m").save(
        picture, kind="svg", scale=8, border=4
    )
    return Response(picture.getvalue(), media_type="image/svg+xml", headers=NO_STORE)


@passes.post("/{pass_id}/resell", status_code=201, responses=error_responses(401, 404))
async def resell_pass(
    body: Resale, user: RequireUser, pass_id: PassId, request: Request, db: Db
) -> ResaleOut:
    """Put your ticket back on sale, for at most the resale cap; again to change the price."""
    cap = _cap(request)
    async with db.begin():
        listed = await service.resell(db, pass_id, holder=user.id, price_cents=body.price, cap=cap)
    return ResaleOut.from_domain(listed, cap)


@passes.delete(
    "/{pass_id}/resell",
    status_code=204,
    response_class=Response,
    responses=error_responses(401, 404),
)
async def stop_reselling(user: RequireUser, pass_id: PassId, db: Db) -> None:
    """Take your ticket off sale again; your pass stays valid."""
    async with db.begin():
        await service.stop_reselling(db, pass_id, holder=user.id)


async def _door(
    engine: Engine, authorization: Annotated[str | None, Header(include_in_schema=False)] = None
) -> Door:
    """Doors show `Authorization: Bearer <token>`; a user's session token is just unknown.
    Checked before the body is read, so a stranger learns nothing of what a door may post."""
    scheme, _, token = (authorization or "").partition(" ")
    if scheme.lower() != "bearer" or not token or len(token) > MAX_TOKEN_LENGTH:
        raise NotAuthorized("A door's token is required")
    async with engine.connect() as db:
        await db.execution_options(isolation_level="AUTOCOMMIT")
        door = await service.door_for(db, token.strip())
    if door is None:
        raise NotAuthorized("A door's token is required")
    return door


_ERRORS_SCHEMA = {"application/json": {"schema": {"$ref": "#/components/schemas/Errors"}}}
_CHECKIN_ERRORS = {
    409: "Admitted already (the message says when)",
    410: "Revoked: the ticket was resold",
}


@checkins.post(
    "",
    responses={
        **error_responses(401, 404),
        **{
            status: {
                "description": text,
                "content": _ERRORS_SCHEMA,
            }
            for status, text in _CHECKIN_ERRORS.items()
        },
    },
)
async def check_in(door: Annotated[Door, Depends(_door)], body: CheckIn, db: Db) -> CheckInOut:
    """A door admits a pass by its code, once; a second scan says when it went in."""
    async with db.begin():
        admitted = await service.check_in(db, body.code)
    log.info("pass %s admitted at door %s", admitted.id, door.name)
    return CheckInOut.from_domain(admitted)
