"""How a process that serves runs: its event loop, and a uvicorn server that is not the
process's own (it leaves the signals to whoever is)."""

import asyncio
import contextlib
import gc
from collections.abc import Coroutine, Iterator
from typing import Any

import uvicorn


class Unsignalled(uvicorn.Server):
    """Installs no SIGINT or SIGTERM handler, so it neither takes Ctrl-C from the process's
    owner (the supervisor's loop, a service's main server) nor replays it on exit; the owner
    stops it by setting `should_exit`."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


def run_served(main: Coroutine[Any, Any, Any]) -> Any:
    """On uvloop where it is installed: uvicorn picks it only for a loop it makes itself,
    and these processes make their own, so the services ran on asyncio's loop although
    uvloop was a dependency. Measured in docs/performance.md."""
    try:
        import uvloop
    except ImportError:  # Windows
        return asyncio.run(main)
    return uvloop.run(main)


def settle_collector() -> None:
    """Once a serving process has loaded what it keeps: everything so far out of the
    collector's way (a full collection no longer walks every module, class and SQLAlchemy
    mapper), and the young generation collected every 10,000 objects rather than 700, so
    what a request leaves in cycles (an exception's traceback, a finished task) goes in
    bulk. In a flash sale the collector took 5 % of orders' CPU at 700, under 1 % at 10,000."""
    gc.freeze()
    gc.set_threshold(10_000, 10, 10)
