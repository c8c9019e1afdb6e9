"""Selling's money: what the ledger holds for me, where payouts go, and paying it out."""

from typing import Annotated

from fastapi import APIRouter, Form, Response

from ticketing.web.api_client import ApiError, Payout
from ticketing.web.pages import Page, PageDep

router = APIRouter(prefix="/balance")

FIELDS = ("accountId",)


async def _show(
    page: Page,
    *,
    error: ApiError | None = None,
    account_id: str = "",
    payout: Payout | None = None,
    payout_error: ApiError | None = None,
) -> Response:
    """The balance as it is now: after a payout, too, so the figures show where it went."""
    balance = await page.api.balance()
    return page.render(
        "balance.html",
        status_code=400 if error or payout_error else 200,
        balance=balance,
        error=error,
        fields=FIELDS,
        account_id=account_id,
        payout=payout,
        payout_error="; ".join(payout_error.general()) if payout_error else None,
    )


@router.get("")
async def my_balance(page: PageDep) -> Response:
    page.require_user()
    return await _show(page)


@router.post("/account")
async def set_account(
    page: PageDep, account_id: Annotated[str, Form(alias="accountId")] = ""
) -> Response:
    """Where payouts go: a Stripe Connect account id (acct_…)."""
    page.require_user(next_path="/balance")
    try:
        await page.api.set_payout_account(account_id)
    except ApiError as error:
        if error.status != 400:
            raise
        return await _show(page, error=error, account_id=account_id)
    return page.redirect("/balance", flash="payout_account_saved")


@router.post("/payout")
async def pay_out(page: PageDep) -> Response:
    """The Pay out button: everything available, in one transfer.

    The answer is shown, not redirected to: it names the payout, which no later page can
    ask the API for. Sent again (a reload), the API finds nothing left to pay out."""
    page.require_user(next_path="/balance")
    try:
        payout = await page.api.pay_out()
    except ApiError as error:
        if error.status != 400:
            raise
        return await _show(page, payout_error=error)
    return await _show(page, payout=payout)
