"""Processes forked as `ticketing up` forks its services: their output comes back line by
line under their label, and one that exits is forked again, even once the fork server
itself has died."""

import os
import signal
from pathlib import Path

from tests.support import eventually
from ticketing.runtime.supervisor import Child


def _fork_servers() -> set[int]:
    """This process's children that are a multiprocessing fork server."""
    found = set()
    for entry in Path("/proc").iterdir():
        try:
            stat = (entry / "stat").read_text()
            cmdline = (entry / "cmdline").read_bytes()
        except (OSError, ValueError):
            continue
        parent = int(stat.rsplit(")", 1)[1].split()[1])
        if parent == os.getpid() and b"multiprocessing.forkserver" in cmdline:
            found.add(int(entry.name))
    return found


async def test_a_forked_process_that_exits_is_forked_again_after_its_fork_server_died(capfd):
    # `ticketing keys` prints a key pair and exits: every exit is a restart
    child = Child("keys", ["keys"], {"PATH": os.environ["PATH"]}, forked=True)
    await child.start()
    try:
        await eventually(lambda: child.restarts >= 1, timeout=30)
        (server,) = _fork_servers()
        os.kill(server, signal.SIGKILL)
        seen = child.restarts
        await eventually(lambda: child.restarts >= seen + 2, timeout=30)
        assert _fork_servers() - {server}, "no fork server started again"
    finally:
        await child.stop()
    printed = capfd.readouterr().out.splitlines()
    keys = [line for line in printed if line.startswith("keys        | JWT_PRIVATE_KEY=")]
    assert len(keys) >= 3, printed
    assert len(set(keys)) == len(keys)  # each fork made its own key: no state shared
