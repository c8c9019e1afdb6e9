"""Selling: list a ticket, see one and buy it, edit or withdraw your listings."""

from typing import Annotated

from fastapi import APIRouter, Form, Response

from ticketing.web import views
from ticketing.web.api_client import ApiError, Ticket
from ticketing.web.pages import Page, PageDep
from ticketing.web.routes.ids import parse_id

router = APIRouter(prefix="/tickets")

FormText = Annotated[str, Form()]
FIELDS = ("title", "price")
JUST_LISTED = (
    "This ticket was listed moments ago and is not on sale yet; try again in a few seconds."
)


def _form_again(page: Page, template: str, error: ApiError, **values: object) -> Response:
    """The same form, with what was typed and why it was refused; only a 400 is the
    form's fault (anything else goes to the error page)."""
    if error.status != 400:
        raise error
    return page.render(template, status_code=400, error=error, fields=FIELDS, **values)


@router.get("/new")
async def new_ticket_form(page: PageDep) -> Response:
    page.require_user()
    return page.render("tickets/new.html", title="", price="", fields=FIELDS)


@router.post("/new")
async def new_ticket(page: PageDep, title: FormText = "", price: FormText = "") -> Response:
    page.require_user()
    try:
        ticket = await page.api.create_ticket(title, price)
    except ApiError as error:
        return _form_again(page, "tickets/new.html", error, title=title, price=price)
    return page.redirect(f"/tickets/{ticket.id}", flash="listed")


@router.get("/mine")
async def my_listings(page: PageDep, cursor: str = "") -> Response:
    page.require_user()
    limit = page.request.app.state.settings.page_size
    found = await page.api.tickets(mine=True, limit=limit, cursor=cursor)
    return page.render(
        "tickets/mine.html",
        tickets=found.items,
        next_cursor=found.next_cursor,
        first_page=not cursor,
    )


def _show(page: Page, ticket: Ticket, error: ApiError | None = None) -> Response:
    mine = page.user is not None and page.user.id == ticket.user_id
    status = 400 if error else 200
    return page.render(
        "tickets/show.html", status_code=status, ticket=ticket, mine=mine, error=error
    )


@router.get("/{ticket_id}")
async def show_ticket(page: PageDep, ticket_id: str) -> Response:
    return _show(page, await page.api.ticket(parse_id(ticket_id)))


@router.post("/{ticket_id}")
async def purchase(page: PageDep, ticket_id: str) -> Response:
    """The Purchase button: reserve the ticket, then pay on the order's page."""
    ticket_uuid = parse_id(ticket_id)
    page.require_user()
    try:
        order = await page.api.create_order(ticket_uuid)
    except ApiError as error:
        ticket = await page.api.ticket(ticket_uuid)  # gone for everyone: the 404 page
        if error.status == 404:  # orders has not heard of the listing yet (it learns by event)
            error = ApiError(400, [{"message": JUST_LISTED}])
        if error.status != 400:
            raise error
        return _show(page, ticket, error)
    return page.redirect(f"/orders/{order.id}")


async def _own_ticket(page: Page, ticket_id: str) -> Ticket:
    user = page.require_user()
    ticket = await page.api.ticket(parse_id(ticket_id))
    if ticket.user_id != user.id:
        raise ApiError(404, [{"message": "Ticket not found"}])
    return ticket


@router.get("/{ticket_id}/edit")
async def edit_ticket_form(page: PageDep, ticket_id: str) -> Response:
    ticket = await _own_ticket(page, ticket_id)
    return page.render(
        "tickets/edit.html",
        ticket=ticket,
        title=ticket.title,
        price=views.price_field(ticket.price),
        fields=FIELDS,
    )


@router.post("/{ticket_id}/edit")
async def edit_ticket(
    page: PageDep, ticket_id: str, title: FormText = "", price: FormText = ""
) -> Response:
    ticket = await _own_ticket(page, ticket_id)
    try:
        await page.api.edit_ticket(ticket.id, title, price)
    except ApiError as error:
        return _form_again(
            page, "tickets/edit.html", error, ticket=ticket, title=title, price=price
        )
    return page.redirect("/tickets/mine", flash="updated")


@router.post("/{ticket_id}/withdraw")
async def withdraw(page: PageDep, ticket_id: str) -> Response:
    page.require_user(next_path="/tickets/mine")
    await page.api.withdraw_ticket(parse_id(ticket_id))
    return page.redirect("/tickets/mine", flash="withdrawn")
