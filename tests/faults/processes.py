"""One service as a real process under the supervisor `ticketing up` uses, forked as it forks
them, so a SIGKILL is a real SIGKILL and the restart is the real restart."""

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
from prometheus_client.parser import text_string_to_metric_families

from tests.support import JWT_PRIVATE_KEY, JWT_PUBLIC_KEY, eventually
from ticketing.runtime.ports import free_port
from ticketing.runtime.supervisor import Child


@asynccontextmanager
async def supervised(service: str, **env: str) -> AsyncIterator[Child]:
    """`env` holds the service's settings (DATABASE_URL, NATS_URL, BUS_PREFIX, ...)."""
    port = free_port()
    args = ["serve", service, "--host", "127.0.0.1", "--port", str(port), "--no-migrate"]
    base = {k: v for k, v in os.environ.items() if not k.startswith("TICKETING_")}
    settings = {"JWT_PUBLIC_KEY": JWT_PUBLIC_KEY, "COOKIE_SECURE": "false", "LOG_FORMAT": "text"}
    if service == "auth":
        settings["JWT_PRIVATE_KEY"] = JWT_PRIVATE_KEY
    child = Child(service, args, {**base, **settings, **env}, forked=True)  # as `up` does
    child.url = f"http://127.0.0.1:{port}"
    await child.start()
    try:
        await ready(child)
        yield child
    finally:
        await child.stop()


async def ready(child: Child, timeout: float = 30) -> None:
    async def answers() -> bool:
        try:
            async with httpx.AsyncClient(base_url=child.url, timeout=2) as http:
                return (await http.get("/readyz")).status_code == 200
        except httpx.TransportError:
            return False

    await eventually(answers, timeout=timeout, interval=0.1)


async def metric(child: Child, name: str, **labels: str) -> float:
    """One sample from the process's /metrics; 0 when it was never recorded."""
    async with httpx.AsyncClient(base_url=child.url, timeout=5) as http:
        exposition = (await http.get("/metrics")).text
    for family in text_string_to_metric_families(exposition):
        for sample in family.samples:
            if sample.name == name and labels.items() <= sample.labels.items():
                return sample.value
    return 0.0
