"""Tickets' HTTP API: /api/tickets*."""

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Depends, Path, Request, Response

from ticketing.common.auth import RequireUser, current_user, require_user
from ticketing.common.db import AutocommitDb, Db, Driver
from ticketing.common.fields import QueryModel
from ticketing.common.openapi import error_responses
from ticketing.common.paging import link_next
from ticketing.common.plain import PlainRoutes, json_response, read_body
from ticketing.common.refusals import Missing, NotYours
from ticketing.tickets import service
from ticketing.tickets.domain import Search
from ticketing.tickets.schemas import TicketFilters, TicketIn, TicketOut

router = APIRouter()
# The ticket list, the busiest read, and a listing, every seller's write, are plain routes
# (common/plain.py).
plain = PlainRoutes("/api/tickets")


async def _ticket_id(ticket_id: Annotated[str, Path(json_schema_extra={"format": "uuid"})]) -> UUID:
    """A malformed id names no ticket: 404, as the original app answered."""
    try:
        return UUID(ticket_id)
    except ValueError:
        raise Missing("Ticket not found") from None


TicketId = Annotated[UUID, Depends(_ticket_id)]


@plain.post(
    "", body=TicketIn, status_code=201, response_model=TicketOut, responses=error_responses(401)
)
async def create_ticket(request: Request) -> Response:
    """List a ticket for sale."""
    user = require_user(request)
    body = await read_body(request, TicketIn)
    async with Driver(request) as driver:
        ticket = await service.create_ticket(
            driver, seller=user.id, title=body.title, price_cents=body.price_cents
        )
    return json_response(TicketOut.of(ticket), 201)


_FILTERS = QueryModel(TicketFilters)


@plain.get(
    "",
    response_model=list[TicketOut],
    responses=error_responses(401),
    openapi_extra=_FILTERS.openapi,
)
async def list_tickets(request: Request) -> Response:
    """Tickets for sale, newest first; with mine=true, your own listings in every state."""
    filters = await _FILTERS(request)
    user = current_user(request)
    if filters.mine and user is None:
        raise NotYours()
    search = Search(
        q=filters.q,
        min_cents=filters.min_price,
        max_cents=filters.max_price,
        seller=user.id if filters.mine and user else None,
        limit=filters.limit,
        cursor=filters.cursor,
    )
    async with Driver(request) as driver:
        tickets, cursor = await service.list_tickets(driver, search)
    page = Response(TicketOut.page_json(tickets), media_type="application/json")
    link_next(request, page, cursor)
    return page


@router.get("/{ticket_id}", responses=error_responses(404))
async def show_ticket(ticket_id: TicketId, db: AutocommitDb) -> TicketOut:
    """One ticket."""
    return TicketOut.of(await service.get_ticket(db, ticket_id))


@router.put("/{ticket_id}", responses=error_responses(401, 404))
async def edit_ticket(ticket_id: TicketId, body: TicketIn, user: RequireUser, db: Db) -> TicketOut:
    """Change the title or price of your ticket while nobody has reserved it."""
    async with db.begin():
        ticket = await service.edit_ticket(
            db, ticket_id, editor=user.id, title=body.title, price_cents=body.price_cents
        )
    return TicketOut.of(ticket)


@router.delete("/{ticket_id}", status_code=204, responses=error_responses(401, 404))
async def withdraw_ticket(ticket_id: TicketId, user: RequireUser, db: Db) -> Response:
    """Take your ticket off sale; a reserved or sold one stays."""
    async with db.begin():
        await service.withdraw_ticket(db, ticket_id, seller=user.id)
    return Response(status_code=204)
