"""Run `ticketing up` as a subprocess, as a newcomer (or a cluster of processes) would."""

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from ticketing.runtime.ports import free_port


def wait_for_line(process: subprocess.Popen, needle: str, within: float) -> list[str]:
    lines, deadline = [], time.monotonic() + within
    assert process.stdout is not None
    os.set_blocking(process.stdout.fileno(), False)
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if line:
            lines.append(line)
            if needle in line:
                return lines
        elif process.poll() is not None:
            break
        else:
            time.sleep(0.05)
    raise AssertionError(f"never saw {needle!r}; output:\n{''.join(lines)}")


class Up:
    def __init__(
        self, process: subprocess.Popen, data_dir: Path, port: int, startup: list[str]
    ) -> None:
        self.process = process
        self.data_dir = data_dir
        self.url = f"http://127.0.0.1:{port}"
        self.startup = startup  # what it printed until it was up

    @property
    def state(self) -> dict:
        return json.loads((self.data_dir / "state.json").read_text())

    def processes(self, service: str) -> list[dict]:
        return [p for p in self.state["processes"] if p["label"].split("-")[0] == service]


@contextmanager
def ticketing_up(
    data_dir: Path, *, replicas: int = 1, gateway: str = "auto", **env: str
) -> Iterator[Up]:
    port = free_port()
    environment = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "NATS_URL")}
    environment.update(env)
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "ticketing.cli",
            "up",
            "--port",
            str(port),
            "--data-dir",
            str(data_dir),
            "--replicas",
            str(replicas),
            "--gateway",
            gateway,
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=environment,
    )
    try:
        startup = wait_for_line(process, "is up at", within=120)
        yield Up(process, data_dir, port, startup)
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=60) == 0
    finally:
        if process.poll() is None:  # a failed test: still stop cleanly, leave nothing behind
            process.send_signal(signal.SIGINT)
            try:
                process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def memory_holds(pid: int, *needles: str) -> set[str]:
    """Which of `needles` are anywhere in the process's memory. A service `ticketing up`
    forks is handed its settings after the fork, so its /proc/PID/environ is its fork
    server's: what it was handed is in its memory, and only there."""
    wanted = {needle: needle.encode() for needle in needles}
    found: set[str] = set()
    with open(f"/proc/{pid}/maps") as maps, open(f"/proc/{pid}/mem", "rb", 0) as memory:
        for line in maps:
            span, permissions = line.split()[:2]
            if not permissions.startswith("r"):
                continue
            start, end = (int(edge, 16) for edge in span.split("-"))
            try:
                memory.seek(start)
                chunk = memory.read(end - start)
            except (OSError, OverflowError, ValueError):  # [vvar] and the like
                continue
            found |= {needle for needle, raw in wanted.items() if raw in chunk}
    return found
