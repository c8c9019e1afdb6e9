"""A background process's lower CPU priority, where the kernel will weigh it.

Lowering needs no privilege; failing to is no reason not to run. Where the kernel schedules
each session as one group (autogroup, on by default in most distributions), a process's
niceness counts only against its own session, and each child of `ticketing up` has one of
its own: the group's niceness is what weighs it against the others.
"""

import asyncio
import logging
import os
import time
from collections.abc import Iterator
from pathlib import Path

log = logging.getLogger(__name__)

AUTOGROUP_TRIES = 20
_AUTOGROUP_PAUSE = 0.1  # the kernel takes one change a tenth of a second


async def lower(pid: int, by: int) -> None:
    """Set before the child's interpreter has started a thread (it is still loading), so
    every thread it starts inherits it."""
    _lower_process(pid, by)
    if (group := session_group_nice()) is not None:
        for _ in _group_attempts(pid, min(group + by, 19)):
            await asyncio.sleep(_AUTOGROUP_PAUSE)


def lower_own(by: int, group: int | None) -> None:
    """For a process that lowers itself, before it starts a thread; `group` is the niceness
    of the session group it was started in (`session_group_nice`), read before it began a
    session of its own."""
    _lower_process(0, by)
    if group is not None:
        for _ in _group_attempts("self", min(group + by, 19)):
            time.sleep(_AUTOGROUP_PAUSE)


def _group_attempts(pid: int | str, nice: int) -> Iterator[None]:
    """Sets the session group's niceness; yields each time the kernel asks to be asked
    again, for the caller to wait its way."""
    for _ in range(AUTOGROUP_TRIES):
        if _set_group_nice(pid, nice):
            return
        yield


def _lower_process(pid: int, by: int) -> None:
    try:
        os.setpriority(os.PRIO_PROCESS, pid, min(os.getpriority(os.PRIO_PROCESS, 0) + by, 19))
    except OSError as error:
        log.warning("could not lower the priority of process %s: %s", pid or "self", error)


def _set_group_nice(pid: int | str, nice: int) -> bool:
    """False if the kernel asks to be asked again."""
    try:
        Path(f"/proc/{pid}/autogroup").write_text(str(nice))
    except BlockingIOError:
        return False
    except OSError as error:
        log.warning("could not lower the priority of session %s: %s", pid, error)
    return True


def session_group_nice() -> int | None:
    """The niceness of this process's session group ("/autogroup-7 nice 0"); None without
    autogroup scheduling. A process still in the session group the system started with (a
    container's runner that never began a session, say) reads nothing: that group weighs
    as nice 0 against the rest, so its children must still be lowered."""
    try:
        if Path("/proc/sys/kernel/sched_autogroup_enabled").read_text().strip() != "1":
            return None
        fields = Path("/proc/self/autogroup").read_text().split()
        return int(fields[-1]) if fields else 0
    except (OSError, ValueError):
        return None
