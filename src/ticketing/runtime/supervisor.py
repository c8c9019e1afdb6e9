"""Child processes with one merged, prefixed log stream; a crashed child is restarted."""

import asyncio
import contextlib
import logging
import os
import signal
import sys
from collections.abc import Sequence
from pathlib import Path

log = logging.getLogger(__name__)


class Child:
    """One service process. Restarted with backoff if it exits while the system runs."""

    def __init__(
        self, label: str, argv: Sequence[str], env: dict[str, str], *, nice: int = 0
    ) -> None:
        self.label = label
        self.argv = list(argv)
        self.env = env
        self.nice = nice  # added to the supervisor's own niceness
        self.process: asyncio.subprocess.Process | None = None
        self.restarts = 0
        self._stopping = False
        self._watch: asyncio.Task[None] | None = None
        self.url: str | None = None

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process else None

    async def start(self) -> None:
        self.process = await asyncio.create_subprocess_exec(
            *self.argv,
            env=self.env,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
            start_new_session=True,  # Ctrl-C reaches us; we stop children in order
        )
        if self.nice:
            await _lower_priority(self.process.pid, self.nice)
        self._watch = asyncio.create_task(self._pump_and_watch(self.process))

    async def _pump_and_watch(self, process: asyncio.subprocess.Process) -> None:
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
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        try:
            await asyncio.wait_for(process.wait(), grace)
        except TimeoutError:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            await process.wait()
        if self._watch:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._watch, 2)


async def _lower_priority(pid: int, by: int) -> None:
    """Set before the child's interpreter has started a thread (it is still loading), so
    every thread it starts inherits it. Lowering needs no privilege; failing to is no
    reason not to run.

    Where the kernel schedules each session as one group (autogroup, on by default in most
    distributions), a process's niceness counts only against its own session, and each
    child has one of its own: the group's niceness is what weighs it against the others."""
    try:
        os.setpriority(os.PRIO_PROCESS, pid, min(os.getpriority(os.PRIO_PROCESS, 0) + by, 19))
    except OSError as error:
        log.warning("could not lower the priority of process %s: %s", pid, error)
    own = _autogroup_nice("self")
    if own is None:  # no autogroup here: the process's niceness is the one that counts
        return
    for _ in range(AUTOGROUP_TRIES):
        if _set_autogroup_nice(pid, min(own + by, 19)):
            return
        await asyncio.sleep(0.1)  # the kernel takes one change a tenth of a second


AUTOGROUP_TRIES = 20


def _set_autogroup_nice(pid: int, nice: int) -> bool:
    """False if the kernel asks to be asked again."""
    try:
        Path(f"/proc/{pid}/autogroup").write_text(str(nice))
    except BlockingIOError:
        return False
    except OSError as error:
        log.warning("could not lower the priority of session %s: %s", pid, error)
    return True


def _autogroup_nice(pid: str) -> int | None:
    """The niceness of the process's session group ("/autogroup-7 nice 0"); None without
    autogroup scheduling. A process still in the session group the system started with (a
    container's runner that never began a session, say) reads nothing: that group weighs
    as nice 0 against the rest, so its children must still be lowered."""
    try:
        if Path("/proc/sys/kernel/sched_autogroup_enabled").read_text().strip() != "1":
            return None
        fields = Path(f"/proc/{pid}/autogroup").read_text().split()
        return int(fields[-1]) if fields else 0
    except (OSError, ValueError):
        return None
