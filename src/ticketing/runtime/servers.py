"""A uvicorn server that is not the process's own: it leaves the signals to whoever is."""

import contextlib
from collections.abc import Iterator

import uvicorn


class Unsignalled(uvicorn.Server):
    """Installs no SIGINT or SIGTERM handler, so it neither takes Ctrl-C from the process's
    owner (the supervisor's loop, a service's main server) nor replays it on exit; the owner
    stops it by setting `should_exit`."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield
