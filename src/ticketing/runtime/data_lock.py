"""One data folder, one system: a second `ticketing up` on the same folder is refused
before it touches anything there (its PostgreSQL files, NATS store, state.json)."""

import contextlib
import fcntl
import os
from collections.abc import Iterator
from pathlib import Path

LOCK_FILE = "up.lock"


class DataDirInUse(Exception):
    pass


@contextlib.contextmanager
def holding(data_dir: Path, url: str) -> Iterator[None]:
    """Held for as long as the system runs; the kernel lets go if the process dies, so a
    crashed run never leaves the folder locked."""
    data_dir.mkdir(parents=True, exist_ok=True)
    path = data_dir / LOCK_FILE
    with open(path, "a+") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            lock.seek(0)
            holder = lock.read().strip() or "another process"
            raise DataDirInUse(
                f"{data_dir} is in use by `ticketing up` ({holder}); stop it first, "
                f"or give this one its own --data-dir"
            ) from None
        lock.seek(0)
        lock.truncate()
        lock.write(f"pid {os.getpid()}, {url}\n")
        lock.flush()
        try:
            yield
        finally:
            lock.truncate(0)
