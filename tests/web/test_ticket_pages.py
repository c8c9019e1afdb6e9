"""Selling and browsing pages: home with search and paging, sell, ticket, my listings, edit."""

from uuid import uuid4

import pytest

from tests.web.visitor import page

pytestmark = pytest.mark.services("auth", "tickets", page_size=2)


async def test_home_lists_tickets_for_sale_with_title_price_and_link(seller, visitor):
    ticket_id = await seller.list_ticket("Hamilton", "25.5")
    shown = page(await visitor.get("/"))
    assert "Tickets for sale" in shown.text
    assert shown.links()["Hamilton"] == f"/tickets/{ticket_id}"
    assert "$25.50" in shown.text
    assert {"Sign up", "Sign in"} <= set(shown.links())


async def test_home_searches_by_title_and_price_range(seller, visitor):
    for title, price in [("Jazz night", "10"), ("Jazz brunch", "40"), ("Opera", "20")]:
        await seller.list_ticket(title, price)
    jazz = page(await visitor.get("/", params={"q": "jazz"}))
    assert {"Jazz night", "Jazz brunch"} <= set(jazz.links())
    assert "Opera" not in jazz.links()
    assert jazz.value_of("q") == "jazz"
    cheap_jazz = page(await visitor.get("/", params={"q": "jazz", "maxPrice": "20"}))
    assert "Jazz night" in cheap_jazz.links()
    assert "Jazz brunch" not in cheap_jazz.links()
    assert cheap_jazz.value_of("maxPrice") == "20"
    dear = page(await visitor.get("/", params={"minPrice": "30"}))
    assert "Jazz brunch" in dear.links()
    assert not {"Jazz night", "Opera"} & set(dear.links())
    nothing = page(await visitor.get("/", params={"q": "ballet"}))
    assert "No tickets match your search." in nothing.text


async def test_home_shows_a_bad_price_range_next_to_its_field(visitor):
    response = await visitor.get("/", params={"minPrice": "abc"})
    assert response.status_code == 400
    assert page(response).field_error("minPrice") == "Price must be a number"
    upside_down = page(await visitor.get("/", params={"minPrice": "30", "maxPrice": "10"}))
    assert upside_down.field_error("maxPrice") == "maxPrice must not be less than minPrice"


async def test_home_pages_through_the_results_keeping_the_search(seller, visitor):
    for n in range(3):
        await seller.list_ticket(f"Show {n}", "10")
    await seller.list_ticket("Other", "10")
    first = page(await visitor.get("/", params={"q": "show"}))
    titles = [t for t in first.links() if t.startswith("Show")]
    assert len(titles) == 2
    next_href = first.links()["Next page"]
    assert "q=show" in next_href
    assert "First page" not in first.links()
    second = page(await visitor.get(next_href))
    rest = [t for t in second.links() if t.startswith("Show")]
    assert len(rest) == 1
    assert set(titles) | set(rest) == {"Show 0", "Show 1", "Show 2"}
    assert "Next page" not in second.links()
    assert second.links()["First page"] == "/?q=show"


async def test_the_sell_form_shows_each_error_next_to_its_field(seller):
    response = await seller.post("/tickets/new", {"title": "  ", "price": "-5"})
    assert response.status_code == 400
    shown = page(response)
    assert shown.field_error("title") == "Title is required"
    assert shown.field_error("price") == "Price must be greater than 0"
    assert shown.label_of("title") == "Title"
    assert shown.label_of("price") == "Price ($)"
    too_precise = page(await seller.post("/tickets/new", {"title": "Opera", "price": "1.234"}))
    assert too_precise.field_error("price") == "Price must have at most 2 decimals"
    assert too_precise.value_of("title") == "Opera"
    assert too_precise.field_error("title") is None
    missing = page(await seller.post("/tickets/new", {"title": "Opera", "price": ""}))
    assert missing.field_error("price") == "Price is required"


async def test_selling_a_ticket_leads_to_its_page(seller):
    response = await seller.post("/tickets/new", {"title": "Cats", "price": "30"})
    assert response.history[0].status_code == 303
    shown = page(response)
    assert "Your ticket is listed for sale." in shown.text
    assert "Cats" in shown.text and "$30.00" in shown.text
    assert "This is your listing." in shown.text
    assert "Purchase" not in shown.buttons()
    assert "Edit listing" in shown.links()
    again = page(await seller.get(response.url.path))
    assert "Your ticket is listed for sale." not in again.text  # a flash shows once


async def test_a_title_with_markup_is_shown_as_text_everywhere(seller, visitor):
    title = "<script>alert(1)</script>"
    ticket_id = await seller.list_ticket(title)
    for who, path in [
        (visitor, "/"),
        (visitor, f"/tickets/{ticket_id}"),
        (seller, "/tickets/mine"),
    ]:
        response = await who.get(path)
        assert "<script>alert(1)</script>" not in response.text, path
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in response.text, path
        assert page(response).inline_scripts() == []


async def test_a_signed_out_visitor_is_asked_to_sign_in_to_purchase(seller, visitor):
    ticket_id = await seller.list_ticket("Wicked")
    shown = page(await visitor.get(f"/tickets/{ticket_id}"))
    assert "Purchase" not in shown.buttons()
    assert shown.links()["Sign in to purchase"] == f"/auth/signin?next=/tickets/{ticket_id}"


async def test_another_user_sees_the_purchase_button(seller, buyer):
    ticket_id = await seller.list_ticket("Wicked")
    shown = page(await buyer.get(f"/tickets/{ticket_id}"))
    assert "Purchase" in shown.buttons()
    assert {"action": f"/tickets/{ticket_id}", "method": "post"} in shown.forms()


async def test_an_unknown_ticket_is_a_404_page(visitor):
    response = await visitor.get(f"/tickets/{uuid4()}")
    assert response.status_code == 404
    assert "Page not found" in page(response).text


async def test_my_listings_show_each_ticket_with_its_status_and_actions(seller, buyer):
    ticket_id = await seller.list_ticket("Les Mis", "45")
    await buyer.list_ticket("Not mine")
    shown = page(await seller.get("/tickets/mine"))
    assert "Les Mis" in shown.links() and "Not mine" not in shown.links()
    assert "For sale" in shown.text and "$45.00" in shown.text
    assert shown.links()["Edit"] == f"/tickets/{ticket_id}/edit"
    assert "Withdraw listing" in shown.buttons()


async def test_editing_a_listing_changes_it(seller):
    ticket_id = await seller.list_ticket("Les Mis", "45")
    form = page(await seller.get(f"/tickets/{ticket_id}/edit"))
    assert form.value_of("title") == "Les Mis"
    assert form.value_of("price") == "45.00"
    assert "Save changes" in form.buttons()
    response = await seller.post(
        f"/tickets/{ticket_id}/edit", {"title": "Les Misérables", "price": "50"}
    )
    assert response.url.path == "/tickets/mine"
    shown = page(response)
    assert "Your listing is updated." in shown.text
    assert "Les Misérables" in shown.links() and "$50.00" in shown.text


async def test_the_edit_form_shows_each_error_next_to_its_field(seller):
    ticket_id = await seller.list_ticket("Les Mis", "45")
    response = await seller.post(f"/tickets/{ticket_id}/edit", {"title": "", "price": "free"})
    assert response.status_code == 400
    shown = page(response)
    assert shown.field_error("title") == "Title is required"
    assert shown.field_error("price") == "Price must be a number"
    assert "Les Mis" in page(await seller.get("/tickets/mine")).links()


async def test_withdrawing_a_listing_takes_it_off_sale(seller, visitor):
    ticket_id = await seller.list_ticket("Rent")
    response = await seller.post(f"/tickets/{ticket_id}/withdraw")
    shown = page(response)
    assert response.url.path == "/tickets/mine"
    assert "Your listing is withdrawn." in shown.text
    assert "Withdrawn" in shown.text
    assert "Withdraw listing" not in shown.buttons()
    assert "Rent" not in page(await visitor.get("/")).links()
    assert (await visitor.get(f"/tickets/{ticket_id}")).status_code == 404


async def test_someone_elses_listing_cannot_be_edited_or_withdrawn(seller, buyer):
    ticket_id = await seller.list_ticket("Rent", "20")
    assert (await buyer.get(f"/tickets/{ticket_id}/edit")).status_code == 404
    edit = await buyer.post(f"/tickets/{ticket_id}/edit", {"title": "Mine now", "price": "1"})
    assert edit.status_code == 404
    withdraw = await buyer.post(f"/tickets/{ticket_id}/withdraw")
    assert withdraw.status_code == 404
    shown = page(await seller.get("/tickets/mine"))
    assert "Rent" in shown.links() and "For sale" in shown.text
