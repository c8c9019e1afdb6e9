"""Orders' HTTP API: /api/orders*."""

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Depends, Request, Response

from ticketing.common.auth import RequireUser, require_user
from ticketing.common.db import AutocommitDb, Db, Driver
from ticketing.common.fields import path_id
from ticketing.common.openapi import error_responses
from ticketing.common.paging import Limit, decode_cursor, link_next
from ticketing.common.plain import PlainRoutes, json_response, read_body
from ticketing.orders import service
from ticketing.orders.schemas import OrderCreate, OrderOut

router = APIRouter()
# The reservation, every attempt of a flash sale, is a plain route (common/plain.py).
plain = PlainRoutes("/api/orders")


OrderId = Annotated[UUID, Depends(path_id("order_id"))]


@plain.post(
    "",
    body=OrderCreate,
    status_code=201,
    response_model=OrderOut,
    responses=error_responses(401, 404),
)
async def order_ticket(request: Request) -> Response:
    """Reserve a ticket for the expiration window; it is yours to pay for until then."""
    user = require_user(request)
    body = await read_body(request, OrderCreate)
    window = request.app.state.settings.expiration_window_seconds
    async with Driver(request) as driver:
        order, listing = await service.reserve_ticket(
            driver,
            body.ticket_id,
            buyer=user.id,
            window_seconds=window,
            taken=request.app.state.taken,
        )
    return json_response(OrderOut.from_domain(order, listing), 201)


@router.get("", responses=error_responses(401))
async def list_orders(
    user: RequireUser,
    request: Request,
    response: Response,
    db: AutocommitDb,
    limit: Limit = 20,
    cursor: str | None = None,
) -> list[OrderOut]:
    """Your orders, newest first, each with its ticket; the next page is in the Link header."""
    after = decode_cursor(cursor)
    views, next_cursor = await service.orders_page(db, user.id, limit=limit, after=after)
    link_next(request, response, next_cursor)
    return [OrderOut.from_domain(order, listing) for order, listing in views]


@router.get("/{order_id}", responses=error_responses(401, 404))
async def show_order(user: RequireUser, order_id: OrderId, db: AutocommitDb) -> OrderOut:
    """One of your orders."""
    order, listing = await service.order_for(db, order_id, owner=user.id)
    return OrderOut.from_domain(order, listing)


@router.delete(
    "/{order_id}",
    status_code=204,
    response_class=Response,
    responses=error_responses(401, 404),
)
async def cancel_order(user: RequireUser, order_id: OrderId, db: Db, request: Request) -> None:
    """Cancel one of your orders and release its ticket; a paid order cannot be cancelled."""
    async with db.begin():
        ticket_id = await service.cancel_order(db, order_id, owner=user.id)
    # Now, not when the database's announcement is heard: your next attempt finds it free.
    request.app.state.taken.forget(ticket_id)
