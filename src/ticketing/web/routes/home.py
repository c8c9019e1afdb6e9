"""The home page: tickets for sale, searched by title and price range, page by page."""

from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Query, Response

from ticketing.web.api_client import ApiError, Paged, Ticket
from ticketing.web.pages import PageDep

router = APIRouter()

FILTERS = ("q", "minPrice", "maxPrice")


@router.get("/")
async def home(
    page: PageDep,
    q: str = "",
    min_price: Annotated[str, Query(alias="minPrice")] = "",
    max_price: Annotated[str, Query(alias="maxPrice")] = "",
    cursor: str = "",
) -> Response:
    search = {"q": q.strip(), "minPrice": min_price.strip(), "maxPrice": max_price.strip()}
    limit = page.request.app.state.settings.page_size
    error = None
    try:
        found = await page.api.tickets(search=search, limit=limit, cursor=cursor)
    except ApiError as refused:
        if refused.status != 400:
            raise
        error, found = refused, Paged[Ticket]([], None)
    status = 400 if error else 200
    kept = {k: v for k, v in search.items() if v}
    next_href = (
        f"/?{urlencode(kept | {'cursor': found.next_cursor})}" if found.next_cursor else None
    )
    return page.render(
        "home.html",
        status_code=status,
        tickets=found.items,
        search=search,
        searching=any(search.values()),
        error=error,
        fields=FILTERS,
        next_href=next_href,
        first_href=f"/?{urlencode(kept)}" if kept else "/",
        first_page=not cursor,
    )
