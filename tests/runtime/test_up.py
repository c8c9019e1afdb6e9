"""`ticketing up` as a newcomer runs it: starts, serves through the gateway, stops clean."""

import asyncio
import contextlib
import json
import os
import re
import signal
import smtplib
import subprocess
import sys
import time
from email.message import EmailMessage
from pathlib import Path
from stat import S_IMODE

import httpx
import nats
import pytest

from tests.runtime.up_support import Up, memory_holds, ticketing_up, wait_for_line
from tests.support import backends
from ticketing.runtime import nginx
from ticketing.runtime.leftovers import MARK
from ticketing.runtime.ports import free_port
from ticketing.runtime.supervisor import Child
from ticketing.runtime.system import (
    BACKGROUND_NICE,
    Options,
    PortTaken,
    StartFailed,
    System,
    payments_webhooks,
)


def _descendants(pid: int) -> set[int]:
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        children.setdefault(int(fields[1]), []).append(int(stat.parent.name))
    found, stack = set(), [pid]
    while stack:
        for child in children.get(stack.pop(), []):
            found.add(child)
            stack.append(child)
    return found


def _processes_mentioning(text: str) -> set[int]:
    pids = set()
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            if text in cmdline.read_bytes().replace(b"\0", b" ").decode(errors="replace"):
                pids.add(int(cmdline.parent.name))
        except OSError:
            continue
    return pids


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    stat = Path(f"/proc/{pid}/stat")
    return stat.exists() and stat.read_text().rsplit(")", 1)[1].split()[0] != "Z"


def _listening_on(port: int) -> set[str]:
    """The addresses (kernel hex) of every socket listening on the port: what is bound,
    not what the command line asked for."""
    found = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with contextlib.suppress(FileNotFoundError):
            for line in Path(table).read_text().splitlines()[1:]:
                fields = line.split()
                address, _, hex_port = fields[1].rpartition(":")
                if fields[3] == "0A" and int(hex_port, 16) == port:  # 0A: LISTEN
                    found.add(address)
    return found


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    return tmp_path / "data"


def _session_group_niceness(pid: int, relative_to: int) -> int | None:
    """Its session group's niceness above that of `relative_to`'s, with autogroup scheduling
    on; None without it."""
    if Path("/proc/sys/kernel/sched_autogroup_enabled").read_text().strip() != "1":
        return None

    def nice(of: int) -> int:
        # "/autogroup-7 nice 0"; empty in the group the system started in, which weighs as 0
        fields = Path(f"/proc/{of}/autogroup").read_text().split()
        return int(fields[-1]) if fields else 0

    return nice(pid) - nice(relative_to)


def _environment(pid: int) -> dict[str, str]:
    """An executed process's environment (a forked service's is in `memory_holds`)."""
    raw = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
    return dict(item.decode().split("=", 1) for item in raw if b"=" in item)


def _key_body(pem: Path) -> str:
    """The key itself, as a process holds it whatever the lines around it."""
    (body,) = [line for line in pem.read_text().splitlines() if not line.startswith("-----")]
    return body


def _sign_up(client: httpx.Client, name: str) -> None:
    body = {"email": f"{name}@example.com", "password": "password123"}
    assert client.post("/api/users/signup", json=body).status_code == 201


def _buy_a_ticket(url: str, who: str = "") -> None:
    """Every hop of a purchase crosses the bus, each service as its own user."""
    with (
        httpx.Client(base_url=url, timeout=10) as seller,
        httpx.Client(base_url=url, timeout=10) as buyer,
    ):
        _sign_up(seller, f"{who}seller")
        _sign_up(buyer, f"{who}buyer")
        ticket = seller.post("/api/tickets", json={"title": "Show", "price": 20}).json()

        def replicated() -> httpx.Response:
            response = buyer.post("/api/orders", json={"ticketId": ticket["id"]})
            assert response.status_code != 404, response.text
            return response

        order = _eventually(replicated).json()

        def paid() -> bool:  # once payments has the order
            body = {"token": "tok_visa", "orderId": order["id"]}
            response = buyer.post("/api/payments", json=body)
            assert response.status_code == 201, response.text
            return True

        _eventually(paid)

        def sold() -> bool:
            status = seller.get(f"/api/tickets/{ticket['id']}").json()["status"]
            assert status == "sold", status
            return buyer.get(f"/api/orders/{order['id']}").json()["status"] == "complete"

        _eventually(sold)


def _eventually(check, timeout: float = 20):
    deadline = time.monotonic() + timeout
    while True:
        try:
            if result := check():
                return result
        except AssertionError:
            if time.monotonic() > deadline:
                raise
        if time.monotonic() > deadline:
            raise AssertionError(f"{check.__name__} never held")
        time.sleep(0.1)


def _connections_to(up: Up, *services: str) -> dict[str, int]:
    """How many backends each service's database has, but for the one asking."""
    databases = up.state["databases"]
    return {name: len(asyncio.run(backends(databases[name]))) for name in services}


def test_the_connections_a_purchase_opened_are_closed_once_unused_and_a_next_one_works(
    data_dir,
):
    """Unused for DATABASE_IDLE_SECONDS, a service's pools close what they opened: only
    the outbox relay's own connection stays, and orders' LISTEN for the changes that free
    a ticket (orders/taken.py). The next purchase opens what it needs."""
    quiet = {"auth": 1, "tickets": 1, "orders": 2}  # no loop of their own polling
    with ticketing_up(data_dir, DATABASE_IDLE_SECONDS="3") as up:
        _buy_a_ticket(up.url)
        opened = _connections_to(up, *quiet)
        assert any(opened[name] > kept for name, kept in quiet.items())

        def given_back() -> bool:
            assert _connections_to(up, *quiet) == quiet
            return True

        _eventually(given_back, timeout=30)
        _buy_a_ticket(up.url, "again-")


async def _anonymous_refused(url: str) -> None:
    with pytest.raises(Exception, match="Authorization Violation"):
        await nats.connect(url, allow_reconnect=False, connect_timeout=2)


def test_up_serves_signup_through_the_gateway_and_stops_leaving_nothing(data_dir):
    with ticketing_up(data_dir) as up:
        with httpx.Client(base_url=up.url, timeout=10) as client:
            body = {"email": "newcomer@example.com", "password": "password123"}
            assert client.post("/api/users/signup", json=body).status_code == 201
            current = client.get("/api/users/currentuser").json()["currentUser"]
            assert current["email"] == "newcomer@example.com"
            assert client.get("/api/nowhere").status_code == 404
        # nginx where it is installed (CI installs it), else the Python gateway
        assert up.state["gateway_server"] == ("nginx" if nginx.binary() else "python")
        _buy_a_ticket(up.url)
        # each service signs in to the bus as itself, never as the admin (web has no bus)
        bus_passwords = json.loads((data_dir / "nats" / "passwords.json").read_text())
        for process in up.state["processes"]:
            service = process["label"].split("-")[0]
            own = set() if service == "web" else {bus_passwords[service]}
            assert memory_holds(process["pid"], *bus_passwords.values()) == own, process
            # forked, each still shows in `ps` as what it runs
            cmdline = Path(f"/proc/{process['pid']}/cmdline").read_bytes()
            assert cmdline.startswith(f"ticketing serve {service} ".encode()), cmdline
        bus = httpx.URL(up.state["nats_url"].replace("nats://", "http://"))
        asyncio.run(_anonymous_refused(f"nats://{bus.host}:{bus.port}"))
        for secret in ("state.json", "nats/passwords.json", "nats/nats.conf"):
            assert S_IMODE((data_dir / secret).stat().st_mode) == 0o600, secret
        status = subprocess.run(
            [sys.executable, "-m", "ticketing.cli", "status", "--data-dir", str(data_dir)],
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert status.returncode == 0, status.stderr
        assert "auth" in status.stdout and "ready" in status.stdout
        assert "outbox backlog:" in status.stdout
        assert "orders-payment-created" in status.stdout  # consumers, read as admin
        as_json = subprocess.run(
            [
                sys.executable,
                "-m",
                "ticketing.cli",
                "status",
                "--json",
                "--data-dir",
                str(data_dir),
            ],
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert as_json.returncode == 0, as_json.stderr
        reported = json.loads(as_json.stdout)
        assert reported["running"] and reported["gateway"] == up.url
        assert set(reported["services"].values()) == {"ready"}
        assert reported["consumers"]["orders-payment-created"]["pending"] == 0
        assert set(reported["outbox"]) == {
            "auth",
            "tickets",
            "orders",
            "expiration",
            "payments",
            "passes",
            "notifications",
        }
        assert all(isinstance(count, int) for count in reported["outbox"].values()), reported
        assert reported["pendingTimers"] == 0
        assert reported["mails"] == {"waiting": 0, "givenUp": 0}  # a sign-up sends none
        assert "mail waiting: 0, given up: 0" in status.stdout
        started = _descendants(up.process.pid) | _processes_mentioning(str(data_dir))
        assert started, "up started no processes"
        for process in up.state["processes"]:  # only the gateway faces the network
            assert _listening_on(httpx.URL(process["url"]).port) == {"0100007F"}, process
            # nor does a service load the gateway's HTTP client (nats-py would, for nothing)
            assert "aiohttp" not in Path(f"/proc/{process['pid']}/maps").read_text(), process
            # mail, which nobody waits on as it happens, yields the CPU to the rest
            niceness = os.getpriority(os.PRIO_PROCESS, process["pid"]) - os.getpriority(
                os.PRIO_PROCESS, up.process.pid
            )
            background = process["label"].startswith("notifications")
            assert niceness == (BACKGROUND_NICE if background else 0), process
            # and where the kernel schedules each session as a group, so does its session
            group = _session_group_niceness(process["pid"], up.process.pid)
            assert group in (None, BACKGROUND_NICE if background else 0), process
        (auth,) = up.processes("auth")  # a developer's API docs, on the service's own port
        assert httpx.get(f"{auth['url']}/openapi.json", timeout=10).status_code == 200
    # leaving the block sent SIGINT and saw exit code 0
    time.sleep(0.5)
    left = {pid for pid in started if _alive(pid)} | {
        pid for pid in _processes_mentioning(str(data_dir)) if _alive(pid)
    }
    assert left == set(), f"processes left behind: {left}"


def test_up_keeps_each_mail_its_smtp_server_takes_and_mail_lists_it(data_dir):
    with ticketing_up(data_dir) as up:
        smtp = httpx.URL(up.state["smtp_url"].replace("smtp://", "http://"))
        assert smtp.host == "127.0.0.1" and smtp.port not in (25, 1025)
        (notifications,) = up.processes("notifications")
        # the server to send through, and this system's address for links in mails
        wanted = {up.state["smtp_url"], up.url}
        assert memory_holds(notifications["pid"], *wanted) == wanted
        # its own process, at mail's lower priority, handed nothing of the system's secrets
        (server,) = _descendants(up.process.pid) & _processes_mentioning("runtime.smtp")
        niceness = os.getpriority(os.PRIO_PROCESS, server) - os.getpriority(
            os.PRIO_PROCESS, up.process.pid
        )
        assert niceness == BACKGROUND_NICE
        assert _session_group_niceness(server, up.process.pid) in (None, BACKGROUND_NICE)
        # (and the mark that says which folder's it is: runtime/leftovers.py)
        assert set(_environment(server)) <= {"PATH", "PYTHONPATH", "PYTHONUNBUFFERED", MARK}
        message = EmailMessage()
        message["From"] = "Ticketing <tickets@localhost>"
        message["To"] = "buyer@example.com"
        message["Subject"] = "Pay for Show by 23:00"
        message.set_content("Your order is reserved.")
        with smtplib.SMTP(smtp.host, smtp.port, timeout=10) as client:
            client.send_message(message)
        (kept,) = (data_dir / "mail").iterdir()
        assert re.fullmatch(r"\d{8}T\d{6}\.\d{3}Z-buyer@example\.com\.eml", kept.name)
        assert b"Subject: Pay for Show by 23:00" in kept.read_bytes()
        mail = [sys.executable, "-m", "ticketing.cli", "mail", "--last", "5"]
        listed = subprocess.run(
            [*mail, "--data-dir", str(data_dir)],
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert listed.returncode == 0, listed.stderr
        (line,) = listed.stdout.splitlines()
        assert line.endswith("  buyer@example.com  Pay for Show by 23:00"), line
    with pytest.raises(OSError):  # stopped with the system
        smtplib.SMTP(smtp.host, smtp.port, timeout=2)


def test_a_second_up_keeps_the_users_sessions_and_pass_codes_of_the_first(data_dir):
    body = {"email": "kept@example.com", "password": "password123"}
    with ticketing_up(data_dir) as up, httpx.Client(base_url=up.url, timeout=10) as client:
        assert client.post("/api/users/signup", json=body).status_code == 201
        cookie = "; ".join(f"{k}={v}" for k, v in client.cookies.items())
        (passes,) = up.processes("passes")
        code_secret = (data_dir / "pass_code_secret").read_text()
        assert memory_holds(passes["pid"], code_secret) == {code_secret}
    with ticketing_up(data_dir) as up, httpx.Client(base_url=up.url, timeout=10) as client:
        (passes,) = up.processes("passes")  # a pass issued before still opens the door
        assert memory_holds(passes["pid"], code_secret) == {code_secret}
        assert client.post("/api/users/signin", json=body).status_code == 200
        client.cookies.clear()
        kept = client.get("/api/users/currentuser", headers={"Cookie": cookie})
        kept = kept.json()["currentUser"]
        assert kept["email"] == body["email"]


def test_up_keeps_its_keys_private_and_hands_each_to_its_one_service(data_dir):
    with ticketing_up(data_dir) as up:
        assert (data_dir / "jwt_private_key.pem").stat().st_mode & 0o777 == 0o600
        assert (data_dir / "pass_code_secret").stat().st_mode & 0o777 == 0o600
        assert (data_dir / "stripe_webhook_secret").stat().st_mode & 0o777 == 0o600
        webhook_secret = (data_dir / "stripe_webhook_secret").read_text()
        assert webhook_secret.startswith("whsec_") and len(webhook_secret) > 40
        (payments,) = up.processes("payments")
        # the sandbox's webhooks come in through the gateway, as Stripe's through the ingress
        webhooks = f"{up.url}/api/payments/webhook"
        assert memory_holds(payments["pid"], webhook_secret, webhooks) == {webhook_secret, webhooks}
        code_secret = (data_dir / "pass_code_secret").read_text()
        private, public = (_key_body(data_dir / f"jwt_{k}_key.pem") for k in ("private", "public"))
        labels = {process["pid"]: process["label"] for process in up.state["processes"]}
        holders, code_holders, webhook_holders = set(), set(), set()
        for pid in _descendants(up.process.pid):  # the fork server and the mail server too
            try:
                held = memory_holds(pid, private, public, code_secret, webhook_secret)
            except OSError:  # gone since
                continue
            service = labels.get(pid, f"process {pid}")
            if pid in labels:
                assert public in held, service
            if private in held:
                holders.add(service)
            if code_secret in held:
                code_holders.add(service)
            if webhook_secret in held:
                webhook_holders.add(service)
        assert holders == {"auth"}
        assert code_holders == {"passes"}
        assert webhook_holders == {"payments"}


def test_the_webhook_secret_is_kept_across_runs_and_the_environments_wins(tmp_path, monkeypatch):
    monkeypatch.delenv("STRIPE_WEBHOOK_SECRET", raising=False)
    monkeypatch.delenv("SANDBOX_WEBHOOK_URL", raising=False)
    first = payments_webhooks(tmp_path, "http://127.0.0.1:8080/")
    assert first["SANDBOX_WEBHOOK_URL"] == "http://127.0.0.1:8080/api/payments/webhook"
    assert first["STRIPE_WEBHOOK_SECRET"].startswith("whsec_")
    assert S_IMODE((tmp_path / "stripe_webhook_secret").stat().st_mode) == 0o600
    assert payments_webhooks(tmp_path, "http://127.0.0.1:8080") == first
    monkeypatch.setenv("STRIPE_WEBHOOK_SECRET", "whsec_from_the_dashboard")
    monkeypatch.setenv("SANDBOX_WEBHOOK_URL", "http://127.0.0.1:9999/hook")
    assert payments_webhooks(tmp_path, "http://127.0.0.1:8080") == {
        "STRIPE_WEBHOOK_SECRET": "whsec_from_the_dashboard",
        "SANDBOX_WEBHOOK_URL": "http://127.0.0.1:9999/hook",
    }


def test_an_nginx_that_cannot_run_leaves_the_python_gateway_in_its_place(data_dir, tmp_path):
    """`up` picks nginx where it is installed; one that refuses the configuration (too old
    for it, say) must not leave a newcomer without a gateway, nor `--gateway nginx`
    without a plain answer."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    refusing = bin_dir / "nginx"
    refusing.write_text("#!/bin/sh\necho 'nginx: invalid option: \"e\"' >&2\nexit 1\n")
    refusing.chmod(0o755)
    path = f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}"
    with ticketing_up(data_dir, PATH=path) as up:
        assert any("refused its configuration" in line for line in up.startup), up.startup
        assert up.state["gateway_server"] == "python"
        assert httpx.get(f"{up.url}/api/tickets", timeout=10).status_code == 200
    command = [sys.executable, "-m", "ticketing.cli", "up", "--gateway", "nginx"]
    insisted = subprocess.run(
        [*command, "--port", str(free_port()), "--data-dir", str(data_dir)],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "PATH": path},
    )
    assert insisted.returncode == 2
    assert 'refused its configuration: nginx: invalid option: "e"' in insisted.stderr
    assert "Traceback" not in insisted.stderr


UP = [sys.executable, "-m", "ticketing.cli", "up"]


def test_a_start_that_fails_once_postgres_and_nats_run_stops_them_and_leaves_nothing(data_dir):
    """Here the streams cannot be made (a limit no stream may have): the start fails after
    PostgreSQL, NATS and the mail server are up, and stops every one of them."""
    environment = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "NATS_URL")}
    done = subprocess.run(
        [*UP, "--port", str(free_port()), "--data-dir", str(data_dir)],
        capture_output=True,
        text=True,
        timeout=120,
        env={**environment, "STREAM_MAX_AGE_SECONDS": "-1"},
    )
    assert done.returncode == 1, done.stdout[-2000:]
    assert "PostgreSQL and NATS ready" in done.stdout
    (said,) = done.stderr.strip().splitlines()
    assert said.startswith("ticketing: up failed: making the bus's streams failed")
    assert "STREAM_MAX_AGE_SECONDS" in said
    time.sleep(0.5)
    left = {pid for pid in _processes_mentioning(str(data_dir)) if _alive(pid)}
    assert left == set(), f"processes left behind: {left}"


def test_a_start_after_a_run_killed_outright_stops_what_it_left_and_comes_up(data_dir):
    """kill -9 (a closed terminal, the OOM killer) gives the supervisor no chance to stop
    anything: PostgreSQL, NATS, the services and the gateway ran on, and the next start
    from the folder failed on the old PostgreSQL holding it."""
    environment = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "NATS_URL")}
    first = subprocess.Popen(
        [*UP, "--port", str(free_port()), "--data-dir", str(data_dir)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=environment,
    )
    try:
        wait_for_line(first, "is up at", within=120)
        state = json.loads((data_dir / "state.json").read_text())
        services = {process["pid"] for process in state["processes"]}
        started = _processes_mentioning(str(data_dir)) | services
    finally:
        first.kill()
        first.wait()
    time.sleep(0.5)
    assert {pid for pid in started if _alive(pid)} >= services, "nothing was left: no test"
    with ticketing_up(data_dir) as up:
        assert "a run killed outright left running" in "".join(up.startup)
        assert httpx.get(f"{up.url}/api/tickets", timeout=10).status_code == 200
        left = {pid for pid in started if _alive(pid)}
        assert left == set(), f"the killed run's processes still run: {left}"
    time.sleep(0.5)
    left = {pid for pid in _processes_mentioning(str(data_dir)) if _alive(pid)}
    assert left == set(), f"processes left behind: {left}"


@pytest.mark.skipif(nginx.binary() is None, reason="nginx is not installed here")
def test_the_default_relative_data_folder_still_runs_nginx_as_the_gateway(tmp_path):
    """`make up` keeps its data in `.ticketing`, relative to where it runs. nginx reads its
    paths from its prefix, and took that one as .ticketing/nginx/.ticketing/nginx/…: a
    newcomer's first start fell back to the Python gateway."""
    environment = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "NATS_URL")}
    process = subprocess.Popen(
        [*UP, "--port", str(free_port()), "--data-dir", ".ticketing"],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=environment,
    )
    try:
        said = "".join(wait_for_line(process, "is up at", within=120))
        assert "refused its configuration" not in said
        state = json.loads((tmp_path / ".ticketing" / "state.json").read_text())
        assert state["gateway_server"] == "nginx"
    finally:
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=60) == 0


async def test_a_service_that_never_answers_fails_the_start_as_an_error_the_stop_can_follow():
    """Not SystemExit: raised in the starting task, it ended the event loop at once, and
    the stop that follows a failed start never ran."""
    system = System(Options(port=free_port(), data_dir=Path("unused")))
    silent = Child("tickets", ["true"], {})
    silent.url = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    system.children = [silent]
    with pytest.raises(StartFailed, match="tickets did not become ready"):
        await system._wait_ready(within=0.3)


@pytest.mark.skipif(nginx.binary() is None, reason="nginx is not installed here")
async def test_an_nginx_that_cannot_bind_fails_the_start_though_something_answers_there(
    tmp_path,
):
    """Whatever holds the gateway's port answers a connection at once, while nginx retries
    its bind for seconds: a start that asked only whether the port answered came up with
    nginx gone and a service's 404s at its entrance."""
    import socket

    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        system = System(Options(port=port, data_dir=tmp_path))
        folder = tmp_path / "nginx"
        table = {"/api/users": [f"http://127.0.0.1:{free_port()}"]}
        nginx.write_config(folder, nginx.config(table, host="127.0.0.1", port=port, folder=folder))
        binary = nginx.binary()
        assert binary is not None
        try:
            with pytest.raises(PortTaken, match=f"could not listen on port {port}"):
                await system._start_nginx(binary, folder, within=30)
        finally:
            assert system.nginx is not None
            await system.nginx.stop()


def test_up_on_a_taken_port_says_so_plainly(data_dir):
    import socket

    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        result = subprocess.run(
            [
                sys.executable,
                "-m",
                "ticketing.cli",
                "up",
                "--port",
                str(port),
                "--data-dir",
                str(data_dir),
            ],
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert result.returncode == 2
    assert f"port {port} is already in use" in result.stderr
    assert "Traceback" not in result.stderr


def test_a_second_up_on_the_same_folder_is_refused_and_touches_nothing(data_dir):
    with ticketing_up(data_dir) as up:
        state_before = (data_dir / "state.json").read_text()
        command = [sys.executable, "-m", "ticketing.cli", "up", "--data-dir", str(data_dir)]
        second = subprocess.run(
            [*command, "--port", str(free_port())],
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert second.returncode == 2
        said = second.stderr.strip().splitlines()
        assert len(said) == 1, second.stderr
        assert f"pid {up.process.pid}" in said[0] and up.url in said[0]
        assert (data_dir / "state.json").read_text() == state_before
        assert httpx.get(f"{up.url}/api/users/currentuser", timeout=10).status_code == 200


def test_the_supervisor_loads_only_the_standard_library():
    """It stays up beside the services for the system's whole life, and what it loads is
    memory no other process shares: an HTTP client and a web framework were 23 MB of it,
    for a readiness probe and a body-size constant."""
    probe = "import sys, ticketing.cli, ticketing.runtime.system; print(*sys.modules)"
    said = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    loaded = {name.split(".")[0] for name in said.stdout.split()}
    outside = {name for name in loaded - sys.stdlib_module_names if not name.startswith("_")}
    assert outside == {"ticketing", "setproctitle"}
