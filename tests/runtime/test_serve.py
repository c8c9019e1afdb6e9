"""`ticketing serve` as a container runs it: no server banner, and with METRICS_PORT set,
/metrics on that port alone."""

import asyncio
import os
import signal
import sys

import httpx

from tests.support import eventually
from ticketing.runtime.ports import free_port


async def test_metrics_port_serves_metrics_and_the_main_port_does_not():
    main, metrics = free_port(), free_port()
    environment = {
        **os.environ,
        "API_BASE_URL": f"http://127.0.0.1:{free_port()}",  # web: no database, no bus
        "METRICS_PORT": str(metrics),
        "CSRF_KEY": "serve-test-csrf-key-0123456789abcdef0123",
    }
    process = await asyncio.create_subprocess_exec(
        *[sys.executable, "-m", "ticketing.cli", "serve", "web"],
        *["--host", "127.0.0.1", "--port", str(main)],
        env=environment,
    )
    try:
        async with httpx.AsyncClient(timeout=5) as http:

            async def healthy() -> bool:
                assert process.returncode is None, "serve exited"
                try:
                    return (await http.get(f"http://127.0.0.1:{main}/healthz")).is_success
                except httpx.TransportError:
                    return False

            await eventually(healthy, timeout=60)
            public = await http.get(f"http://127.0.0.1:{main}/metrics")
            internal = await http.get(f"http://127.0.0.1:{metrics}/metrics")
            health = await http.get(f"http://127.0.0.1:{main}/healthz")
        assert public.status_code == 404
        assert internal.status_code == 200
        assert "http_requests_total" in internal.text
        for answer in (public, internal, health):
            assert "server" not in answer.headers
        assert health.headers["x-content-type-options"] == "nosniff"
        process.send_signal(signal.SIGTERM)
        # Both servers stop on the one signal, which uvicorn then re-raises to the default
        # handler once it has shut down.
        assert await asyncio.wait_for(process.wait(), 30) in (0, -signal.SIGTERM)
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()


def test_a_served_process_runs_on_uvloop():
    """uvicorn chooses uvloop only for a loop it makes; `serve` and `up` make their own."""
    from ticketing.runtime.servers import run_served

    async def loop_module() -> str:
        return type(asyncio.get_running_loop()).__module__

    assert run_served(loop_module()).startswith("uvloop")
