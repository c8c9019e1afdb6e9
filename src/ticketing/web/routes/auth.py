"""Sign up, sign in, sign out: forms over /api/users, the session cookie relayed from auth."""

from typing import Annotated

from fastapi import APIRouter, Form, Response

from ticketing.web.api_client import ApiError
from ticketing.web.pages import PageDep, safe_next

router = APIRouter(prefix="/auth")

FormText = Annotated[str, Form()]
FIELDS = ("email", "password")


def _form(page: PageDep, template: str, error: ApiError | None = None, **values: str) -> Response:
    if error is not None and error.status not in (400, 429):
        raise error
    status = error.status if error else 200
    return page.render(template, status_code=status, error=error, fields=FIELDS, **values)


@router.get("/signup")
async def signup_form(page: PageDep) -> Response:
    return _form(page, "auth/signup.html", email="")


@router.post("/signup")
async def signup(page: PageDep, email: FormText = "", password: FormText = "") -> Response:
    try:
        await page.api.sign_up(email, password)
    except ApiError as error:
        return _form(page, "auth/signup.html", error, email=email)
    return page.redirect("/", flash="signed_up")


@router.get("/signin")
async def signin_form(page: PageDep, next: str = "/") -> Response:
    return _form(page, "auth/signin.html", email="", next=safe_next(next))


@router.post("/signin")
async def signin(
    page: PageDep, email: FormText = "", password: FormText = "", next: FormText = "/"
) -> Response:
    try:
        await page.api.sign_in(email, password)
    except ApiError as error:
        return _form(page, "auth/signin.html", error, email=email, next=safe_next(next))
    return page.redirect(safe_next(next), flash="signed_in")


@router.get("/signout")
async def signout_form(page: PageDep) -> Response:
    """A GET never signs out (a link on another site could); this page has the button."""
    if page.user is None:
        return page.redirect("/")
    return page.render("auth/signout.html")


@router.post("/signout")
async def signout(page: PageDep) -> Response:
    await page.api.sign_out()
    return page.redirect("/", flash="signed_out")
