"""Child processes with one merged, prefixed log stream; a crashed child is restarted."""

import asyncio
import contextlib
import logging
import os
import signal
import sys
from collections.abc import Sequence
from typing import Protocol

from ticketing.runtime import forked, priority

log = logging.getLogger(__name__)


class Running(Protocol):
    """An executed child (asyncio's) or a forked one (runtime/forked.py)."""

    @property
    def pid(self) -> int: ...

    @property
    def stdout(self) -> asyncio.StreamReader | None: ...

    @property
    def returncode(self) -> int | None: ...

    async def wait(self) -> int: ...


class Child:
    """One process. Restarted with backoff if it exits while the system runs.

    `argv` is a command to execute, or, `forked`, the arguments of `ticketing` in a process
    forked from the one that has loaded what every service loads (runtime/forked.py)."""

    def __init__(
        self,
        label: str,
        argv: Sequence[str],
        env: dict[str, str],
        *,
        nice: int = 0,
        forked: bool = False,
    ) -> None:
        self.label = label
        self.argv = list(argv)
        self.env = env
        self.nice = nice  # added to the supervisor's own niceness
        self.forked = forked
        self.process: Running | None = None
        self.restarts = 0
        self._stopping = False
        self._watch: asyncio.Task[None] | None = None
        self.url: str | None = None

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process else None

    async def start(self) -> None:
        process: Running
        if self.forked:  # it begins its session and lowers its priority itself
            process = await forked.start(self.label, self.argv, self.env, self.nice)
        else:
            process = await asyncio.create_subprocess_exec(
                *self.argv,
                env=self.env,
                stdin=asyncio.subprocess.DEVNULL,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.STDOUT,
                start_new_session=True,  # Ctrl-C reaches us; we stop children in order
            )
            if self.nice:
                await priority.lower(process.pid, self.nice)
        self.process = process
        self._watch = asyncio.create_task(self._pump_and_watch(process))

    async def _pump_and_watch(self, process: Running) -> None:
        prefix = f"{self.label:<12}| "
        assert process.stdout is not None
        async for line in process.stdout:
            sys.stdout.write(prefix + line.decode(errors="replace"))
            sys.stdout.flush()
        code = await process.wait()
        if self._stopping:
            return
        self.restarts += 1
        delay = min(2 ** min(self.restarts, 5) * 0.25, 5)
        log.warning("%s exited with %s; restarting in %.1fs", self.label, code, delay)
        await asyncio.sleep(delay)
        if not self._stopping:
            await self.start()

    async def stop(self, grace: float = 10) -> None:
        self._stopping = True
        process = self.process
        if process is None or process.returncode is not None:
            return
        _signal(process.pid, signal.SIGTERM)
        try:
            await asyncio.wait_for(process.wait(), grace)
        except TimeoutError:
            _signal(process.pid, signal.SIGKILL)
            await process.wait()
        if self._watch:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._watch, 2)


def _signal(pid: int, number: int) -> None:
    """To the child's whole session, or to the child alone if a forked one has not yet
    begun its session."""
    try:
        os.killpg(pid, number)
    except ProcessLookupError:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, number)
