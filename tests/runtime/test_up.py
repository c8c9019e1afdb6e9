"""`ticketing up` as a newcomer runs it: starts, serves through the gateway, stops clean."""

import os
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from tests.runtime.up_support import ticketing_up


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


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    return tmp_path / "data"


def test_up_serves_signup_through_the_gateway_and_stops_leaving_nothing(data_dir):
    with ticketing_up(data_dir) as up:
        with httpx.Client(base_url=up.url, timeout=10) as client:
            body = {"email": "newcomer@example.com", "password": "password123"}
            assert client.post("/api/users/signup", json=body).status_code == 201
            current = client.get("/api/users/currentuser").json()["currentUser"]
            assert current["email"] == "newcomer@example.com"
            assert client.get("/api/nowhere").status_code == 404
        status = subprocess.run(
            [sys.executable, "-m", "ticketing.cli", "status", "--data-dir", str(data_dir)],
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert status.returncode == 0, status.stderr
        assert "auth" in status.stdout and "ready" in status.stdout
        assert "outbox backlog:" in status.stdout
        started = _descendants(up.process.pid) | _processes_mentioning(str(data_dir))
        assert started, "up started no processes"
    # leaving the block sent SIGINT and saw exit code 0
    time.sleep(0.5)
    left = {pid for pid in started if _alive(pid)} | {
        pid for pid in _processes_mentioning(str(data_dir)) if _alive(pid)
    }
    assert left == set(), f"processes left behind: {left}"


def test_a_second_up_keeps_the_users_and_sessions_of_the_first(data_dir):
    body = {"email": "kept@example.com", "password": "password123"}
    with ticketing_up(data_dir) as up, httpx.Client(base_url=up.url, timeout=10) as client:
        assert client.post("/api/users/signup", json=body).status_code == 201
        cookie = "; ".join(f"{k}={v}" for k, v in client.cookies.items())
    with ticketing_up(data_dir) as up, httpx.Client(base_url=up.url, timeout=10) as client:
        assert client.post("/api/users/signin", json=body).status_code == 200
        client.cookies.clear()
        kept = client.get("/api/users/currentuser", headers={"Cookie": cookie})
        kept = kept.json()["currentUser"]
        assert kept["email"] == body["email"]


def test_up_keeps_the_signing_key_private_and_hands_it_to_auth_alone(data_dir):
    with ticketing_up(data_dir) as up:
        assert (data_dir / "jwt_private_key.pem").stat().st_mode & 0o777 == 0o600
        holders = set()
        for pid in _descendants(up.process.pid):
            try:
                cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
                environ = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
            except OSError:
                continue
            if b"serve" in cmdline:
                service = cmdline[cmdline.index(b"serve") + 1].decode()
                keys = {line.split(b"=", 1)[0] for line in environ}
                assert b"JWT_PUBLIC_KEY" in keys, service
                if b"JWT_PRIVATE_KEY" in keys:
                    holders.add(service)
        assert holders == {"auth"}


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
