"""Whole journeys in headless Chromium against `ticketing up`: sell, find, buy, pay; expire;
a pass resold and checked in at the door.

Needs Playwright (`pip install playwright`, no `playwright install`: Debian's Chromium is
used) and Chromium (`apt-get install -y chromium`). Without them the tests skip, except
under CI=true, where they fail. Screenshots go to test-artifacts/web/.
"""

import os
import re
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from uuid import uuid4

import pytest

from tests.web.conftest import missing_services
from ticketing.runtime.ports import free_port

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts" / "web"
WINDOW_SECONDS = 15  # long enough to pay in, short enough to watch an order expire
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
HOW_TO_INSTALL = (
    "install Chromium with `apt-get install -y chromium` and Playwright with "
    "`pip install playwright` (no `playwright install` needed), or set CHROMIUM to a binary"
)
PASSWORD = "password123"


def chromium() -> str | None:
    candidates = [os.environ.get("CHROMIUM"), "/usr/bin/chromium", "/usr/bin/chromium-browser"]
    candidates += [shutil.which("chromium"), shutil.which("chromium-browser")]
    return next((c for c in candidates if c and os.access(c, os.X_OK)), None)


def _not_runnable() -> str | None:
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return f"Playwright is not installed; {HOW_TO_INSTALL}"
    if chromium() is None:
        return f"no Chromium found; {HOW_TO_INSTALL}"
    return None


@pytest.fixture(scope="module")
def browser():
    if reason := _not_runnable():
        if os.environ.get("CI") == "true":
            pytest.fail(f"browser tests must run in CI: {reason}", pytrace=False)
        pytest.skip(reason)
    services = ("auth", "tickets", "orders", "expiration", "payments", "passes", "web")
    if reason := missing_services(services):
        pytest.skip(f"`ticketing up` cannot run the whole flow yet: {reason}")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as driver:
        launched = driver.chromium.launch(executable_path=chromium(), args=CHROMIUM_ARGS)
        yield launched
        launched.close()


def _wait_until_up(process: subprocess.Popen, log: Path, within: float) -> str:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        for line in log.read_text(errors="replace").splitlines():
            if "is up at " in line:
                return line.split("is up at ", 1)[1].split()[0]
        if process.poll() is not None:
            break
        time.sleep(0.2)
    raise AssertionError(f"`ticketing up` did not come up; its output:\n{log.read_text()[-4000:]}")


@pytest.fixture(scope="module")
def work(tmp_path_factory) -> Path:
    """Where `ticketing up` keeps its data (`work / "data"`) and its log."""
    return tmp_path_factory.mktemp("up")


@pytest.fixture(scope="module")
def site(browser, work) -> Iterator[str]:
    """The whole system as a newcomer runs it, with a short reservation window."""
    log = work / "up.log"
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "NATS_URL")}
    env["EXPIRATION_WINDOW_SECONDS"] = str(WINDOW_SECONDS)
    argv = [sys.executable, "-m", "ticketing.cli", "up", "--port", str(free_port())]
    with log.open("w") as out:  # a file, not a pipe: a full pipe would stall every service
        process = subprocess.Popen(
            [*argv, "--data-dir", str(work / "data")], stdout=out, stderr=subprocess.STDOUT, env=env
        )
    try:
        yield _wait_until_up(process, log, within=120)
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _screenshot(page, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def _new_visitor(browser, site: str, **context):
    """A separate browser context: its own cookies, as a second person on another machine."""
    page = browser.new_context(base_url=site, **context).new_page()
    page.set_default_timeout(15_000)
    return page


def _menu(page, name: str):
    return page.get_by_role("navigation", name="Main").get_by_role("link", name=name)


def _sign_up(page) -> str:
    from playwright.sync_api import expect

    email = f"browser-{uuid4().hex[:8]}@example.com"
    page.goto("/")
    expect(
        page.get_by_role("button", name="Sign out"), "a new browser starts signed out"
    ).to_have_count(0)
    _menu(page, "Sign up").click()
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign up").click()
    expect(page.get_by_role("navigation", name="Main")).to_contain_text(email)
    return email


def _list_ticket(page, title: str, price: str) -> None:
    from playwright.sync_api import expect

    _menu(page, "Sell a ticket").click()
    page.get_by_label("Title").fill(title)
    page.get_by_label("Price ($)").fill(price)
    page.get_by_role("button", name="List ticket").click()
    expect(page.get_by_role("heading", name=title)).to_be_visible()


def _purchase(page) -> None:
    """Orders hears of a new listing by event; a press a moment too early says so, then works."""
    for _ in range(20):
        page.get_by_role("button", name="Purchase").click()
        page.wait_for_load_state()
        if "/orders/" in page.url:
            return
        time.sleep(0.5)
    raise AssertionError(f"Purchase never led to an order; still on {page.url}")


def _pay(page) -> None:
    """Payments hears of a new order by event; a press a moment too early says so, then works."""
    for _ in range(20):
        page.get_by_role("button", name="Pay").click()
        page.wait_for_load_state()
        if "try again in a few seconds" not in page.content():
            return
        time.sleep(0.5)
    raise AssertionError("Pay was refused as too early for ten seconds")


def test_a_listed_ticket_is_found_bought_paid_and_shown_sold(browser, site):
    from playwright.sync_api import expect

    word = uuid4().hex[:6]
    title = f"Hamilton {word}"
    seller = _new_visitor(browser, site)
    _sign_up(seller)
    _list_ticket(seller, title, "25")
    _screenshot(seller, "1-ticket-listed")

    buyer = _new_visitor(browser, site, viewport={"width": 390, "height": 844})  # a phone
    _sign_up(buyer)
    buyer.get_by_label("Search by title").fill(word)
    buyer.get_by_role("button", name="Search").click()
    _screenshot(buyer, "2-search-results-phone")
    buyer.get_by_role("link", name=title).click()
    _purchase(buyer)
    expect(buyer.get_by_text("Time left to pay")).to_be_visible()
    expect(buyer.get_by_label("Card token (sandbox)")).to_have_value("tok_visa")
    _screenshot(buyer, "3-order-awaiting-payment")
    _pay(buyer)
    expect(buyer.locator("[data-status-label]")).to_have_text("Paid")
    expect(buyer.get_by_role("status").filter(has_text="The ticket is yours")).to_be_visible()
    _screenshot(buyer, "4-order-paid")

    _menu(seller, "My listings").click()
    listing = seller.get_by_role("listitem").filter(has_text=title)
    for _ in range(30):  # tickets learns of the payment by event
        if "Sold" in listing.inner_text():
            break
        time.sleep(0.5)
        seller.reload()
    expect(listing).to_contain_text("Sold")
    _screenshot(seller, "5-my-listings-sold")

    buyer.get_by_role("button", name="Sign out").click()  # the header's form, token and all
    expect(buyer.get_by_role("status")).to_have_text("You are signed out.")
    expect(_menu(buyer, "Sign in")).to_be_visible()


def test_an_unpaid_order_says_expired_without_a_reload(browser, site):
    from playwright.sync_api import expect

    title = f"Cats {uuid4().hex[:6]}"
    seller = _new_visitor(browser, site)
    _sign_up(seller)
    _list_ticket(seller, title, "30")
    buyer = _new_visitor(browser, site)
    _sign_up(buyer)
    buyer.goto(seller.url)
    _purchase(buyer)
    expect(buyer.locator("[data-status-label]")).to_have_text("Awaiting payment")
    buyer.evaluate("window.stillTheSamePage = true")
    expect(buyer.locator("[data-status-label]")).to_have_text(
        "Expired", timeout=(WINDOW_SECONDS + 30) * 1000
    )
    expect(buyer.get_by_role("status").filter(has_text="expired")).to_be_visible()
    expect(buyer.get_by_role("button", name="Pay")).to_be_hidden()
    assert buyer.evaluate("window.stillTheSamePage") is True
    _screenshot(buyer, "6-order-expired")


def _door_token(work: Path, name: str) -> str:
    """As an operator would: `ticketing door add NAME` prints the token last."""
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "ticketing.cli",
            "door",
            "add",
            name,
            "--data-dir",
            str(work / "data"),
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return done.stdout.strip().splitlines()[-1]


def _my_pass(page, title: str):
    """My tickets, reloaded until passes has issued the pass for `title` (by event)."""
    from playwright.sync_api import expect

    _menu(page, "My tickets").click()
    card = page.locator("li.pass").filter(has_text=title)
    for _ in range(30):
        if card.count():
            break
        time.sleep(0.5)
        page.reload()
    expect(card).to_have_count(1)
    return card


def _check_in(door, code: str):
    door.locator("#door-code").fill(code)
    door.locator("#door-check").click()
    return door.locator("#door-answer")


def test_a_pass_is_shown_resold_and_admits_only_its_new_holder(browser, site, work):
    from playwright.sync_api import expect

    title = f"Rent {uuid4().hex[:6]}"
    seller = _new_visitor(browser, site)
    _sign_up(seller)
    _list_ticket(seller, title, "20")
    ticket_page = seller.url

    first = _new_visitor(browser, site, viewport={"width": 390, "height": 844})
    _sign_up(first)
    first.goto(ticket_page)
    _purchase(first)
    _pay(first)
    card = _my_pass(first, title)
    expect(card.locator(".pass-status")).to_have_text("Valid")
    expect(card.locator("img")).to_have_attribute("src", re.compile(r"/api/passes/.+/qr\.svg"))
    assert first.evaluate("document.querySelector('li.pass img').naturalWidth") > 0
    _screenshot(first, "7-my-tickets-qr-phone")
    old_code = card.locator(".pass-code code").inner_text().strip()

    card.get_by_role("link").first.click()
    expect(first.locator("#resell-price-hint")).to_contain_text("24.00")
    first.locator("#resell-price").fill("30")
    first.locator("#resell-submit").click()
    expect(first.locator("#resell-price-error")).to_contain_text("24")
    first.locator("#resell-price").fill("24")
    first.locator("#resell-submit").click()
    expect(first.locator("#pass-listed")).to_contain_text("24")
    _screenshot(first, "8-pass-listed-for-resale")

    second = _new_visitor(browser, site)
    _sign_up(second)
    second.goto(ticket_page)
    for _ in range(30):  # tickets puts it back on sale by event
        if second.get_by_role("button", name="Purchase").count():
            break
        time.sleep(0.5)
        second.reload()
    _purchase(second)
    _pay(second)
    new_code = _my_pass(second, title).locator(".pass-code code").inner_text().strip()
    assert new_code != old_code

    door = _new_visitor(browser, site, viewport={"width": 390, "height": 844})
    door.goto("/door")
    door.locator("#door-token").fill(_door_token(work, "front"))
    door.locator("#door-save").click()
    answer = _check_in(door, new_code)
    expect(answer).to_have_class(re.compile(r"\badmitted\b"))
    expect(answer).to_contain_text(title)
    _screenshot(door, "9-door-admits-new-code")
    answer = _check_in(door, old_code)
    expect(answer).to_have_class(re.compile(r"\brefused\b"))
    expect(answer).to_contain_text("Revoked")
    _screenshot(door, "10-door-refuses-old-code")
    answer = _check_in(door, new_code)
    expect(answer).to_have_class(re.compile(r"\brefused\b"))
    expect(answer).to_contain_text("Already admitted")

    _menu(first, "My tickets").click()
    expect(first.locator("li.pass").filter(has_text=title).locator(".pass-status")).to_have_text(
        "Revoked"
    )


def test_a_card_asking_for_3ds_pays_and_the_seller_is_paid_after_the_door(browser, site, work):
    from playwright.sync_api import expect

    title = f"Wicked {uuid4().hex[:6]}"
    seller = _new_visitor(browser, site)
    _sign_up(seller)
    _list_ticket(seller, title, "20")
    ticket_page = seller.url

    buyer = _new_visitor(browser, site, viewport={"width": 390, "height": 844})
    _sign_up(buyer)
    buyer.goto(ticket_page)
    _purchase(buyer)
    order_page = buyer.url
    buyer.get_by_label("Card token (sandbox)").fill("tok_threeDSecure2Required")
    _pay(buyer)
    expect(buyer.get_by_role("button", name="Complete authentication")).to_be_visible()
    _screenshot(buyer, "11-3ds-sandbox-bank-page")
    buyer.get_by_role("button", name="Complete authentication").click()
    expect(buyer).to_have_url(order_page)
    expect(buyer.locator("[data-status-label]")).to_have_text("Paid", timeout=30_000)
    _screenshot(buyer, "12-3ds-order-paid")

    code = _my_pass(buyer, title).locator(".pass-code code").inner_text().strip()
    _menu(seller, "Balance").click()
    expect(seller.locator("#balance-pending")).to_contain_text("19.00", timeout=5_000)
    door = _new_visitor(browser, site)
    door.goto("/door")
    door.locator("#door-token").fill(_door_token(work, "balcony"))
    door.locator("#door-save").click()
    expect(_check_in(door, code)).to_have_class(re.compile(r"\badmitted\b"))

    for _ in range(30):  # payments hears of the admission by event
        if "19.00" in seller.locator("#balance-available").inner_text():
            break
        time.sleep(0.5)
        seller.reload()
    expect(seller.locator("#balance-available")).to_contain_text("19.00")
    seller.locator("#payout-account").fill("acct_1Browser")
    seller.locator("#payout-account-save").click()
    seller.locator("#payout-submit").click()
    expect(seller.locator("#payout-result")).to_contain_text("19.00")
    expect(seller.locator("#balance-paid-out")).to_contain_text("19.00")
    expect(seller.locator("#balance-available")).to_contain_text("0.00")
    _screenshot(seller, "13-balance-paid-out")
