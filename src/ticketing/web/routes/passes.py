"""Holding: my passes with their QR codes, one pass large, and reselling it under the cap."""

from typing import Annotated

from fastapi import APIRouter, Form, Response

from ticketing.web import views
from ticketing.web.api_client import ApiError, Pass
from ticketing.web.pages import Page, PageDep
from ticketing.web.routes.ids import parse_id

router = APIRouter(prefix="/passes")

FIELDS = ("price",)


@router.get("")
async def my_passes(page: PageDep, cursor: str = "") -> Response:
    page.require_user()
    limit = page.request.app.state.settings.page_size
    found = await page.api.passes(limit=limit, cursor=cursor)
    return page.render(
        "passes/index.html",
        passes=found.items,
        next_cursor=found.next_cursor,
        first_page=not cursor,
    )


def _show(
    page: Page, ticket_pass: Pass, error: ApiError | None = None, price: str | None = None
) -> Response:
    """`price`: what was typed; none typed yet shows the resale price while listed."""
    if price is None:
        listed = ticket_pass.listed_price
        price = "" if listed is None else views.price_field(listed)
    return page.render(
        "passes/show.html",
        status_code=400 if error else 200,
        ticket_pass=ticket_pass,
        error=error,
        fields=FIELDS,
        price=price,
    )


@router.get("/{pass_id}")
async def show_pass(page: PageDep, pass_id: str) -> Response:
    pass_uuid = parse_id(pass_id)
    page.require_user()
    return _show(page, await page.api.ticket_pass(pass_uuid))


@router.post("/{pass_id}/resell")
async def resell(page: PageDep, pass_id: str, price: Annotated[str, Form()] = "") -> Response:
    """The Resell button: put the ticket back on sale at this price (or change the price)."""
    pass_uuid = parse_id(pass_id)
    page.require_user(next_path=f"/passes/{pass_uuid}")
    try:
        await page.api.resell(pass_uuid, price)
    except ApiError as error:
        if error.status != 400:
            raise
        return _show(page, await page.api.ticket_pass(pass_uuid), error, price)
    return page.redirect(f"/passes/{pass_uuid}", flash="resale_listed")


@router.post("/{pass_id}/take-down")
async def take_down(page: PageDep, pass_id: str) -> Response:
    """Take the resale off sale; the pass stays valid."""
    pass_uuid = parse_id(pass_id)
    page.require_user(next_path=f"/passes/{pass_uuid}")
    await page.api.take_down(pass_uuid)
    return page.redirect(f"/passes/{pass_uuid}", flash="resale_taken_down")
