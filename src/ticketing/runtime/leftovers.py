"""What a `ticketing up` killed outright (kill -9, a closed terminal) left running from its
data folder, stopped before the next start from that folder. Otherwise that start meets
the old PostgreSQL still holding the folder and fails, while the old services, NATS and
mail server run on with nobody to stop them.

Every process a run starts carries MARK=<its data folder> in its environment: the
supervisor sets it before it starts any, and each inherits it (a service forked from the
fork server keeps that process's environment block, which its new title must then not
overwrite: SPT_NOENV). So the search finds a run's own processes and nothing else of the
machine's. nginx writes its title over its environment whatever it is told, so its master
is found by the pid file it keeps in the folder. Linux only (/proc); elsewhere none.
"""

import contextlib
import os
import signal
import time
from collections.abc import Callable
from pathlib import Path

MARK = "TICKETING_DATA_DIR"


def mark(data_dir: Path) -> None:
    """From here on, every process this one starts is marked as this folder's."""
    os.environ[MARK] = str(data_dir.resolve())
    os.environ["SPT_NOENV"] = "1"  # setproctitle: the title fits where the command line was


def left_running(data_dir: Path) -> list[int]:
    folder = data_dir.resolve()
    entry = f"{MARK}={folder}".encode()
    own = os.getpid()
    found = []
    for proc in Path("/proc").glob("[0-9]*"):
        with contextlib.suppress(OSError, ValueError):
            if int(proc.name) != own and entry in (proc / "environ").read_bytes().split(b"\0"):
                found.append(int(proc.name))
    with contextlib.suppress(OSError, ValueError):
        master = int((folder / "nginx" / "nginx.pid").read_text())
        if "nginx: master process" in _command(master) and str(folder) in _command(master):
            found.append(master)
    return found


def stop_left_running(data_dir: Path, say: Callable[[str], None], within: float = 15) -> int:
    """Asked to stop (PostgreSQL with SIGINT, its fast shutdown: its SIGTERM would wait
    for its clients to leave; the rest with SIGTERM, as at Ctrl-C), then killed if still
    there after `within` seconds. How many there were."""
    pids = left_running(data_dir)
    if not pids:
        return 0
    say(f"stopping {len(pids)} processes a run killed outright left running from {data_dir}")
    for pid in pids:
        stop = signal.SIGINT if _program(pid) == "postgres" else signal.SIGTERM
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, stop)
    deadline = time.monotonic() + within
    while (alive := [pid for pid in pids if _running(pid)]) and time.monotonic() < deadline:
        time.sleep(0.1)
    for pid in alive:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    return len(pids)


def _running(pid: int) -> bool:
    """Alive and not a zombie (a zombie is gone but for its parent's notice)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state != "Z"


def _command(pid: int) -> str:
    try:
        return (
            Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        )
    except OSError:
        return ""


def _program(pid: int) -> str:
    try:
        return Path(os.readlink(f"/proc/{pid}/exe")).name
    except OSError:
        return ""
