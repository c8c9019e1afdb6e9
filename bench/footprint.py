"""Footprint: resident memory of the whole system, summed over its processes from /proc.

The tree is `ticketing up` and everything under it (gateway, services, NATS) plus the
PostgreSQL postmaster and its backends (pg_ctl detaches it, so it is found by its pid
file). RSS counts a shared page once per process that maps it (PostgreSQL's shared
buffers in every backend), so PSS, which splits shared pages between their users, is
reported beside it.
"""

import asyncio
import contextlib
import os
import time
from dataclasses import dataclass
from pathlib import Path

from bench.system import Running


@dataclass
class Memory:
    rss_mb: float
    pss_mb: float
    processes: int


def _children_map() -> dict[int, list[int]]:
    children: dict[int, list[int]] = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        with contextlib.suppress(OSError, IndexError, ValueError):
            stat = Path(entry.path, "stat").read_text()
            ppid = int(stat.rsplit(")", 1)[1].split()[1])
            children.setdefault(ppid, []).append(int(entry.name))
    return children


def tree(roots: list[int]) -> list[int]:
    children = _children_map()
    seen: list[int] = []
    stack = list(roots)
    while stack:
        pid = stack.pop()
        if pid in seen or not Path(f"/proc/{pid}").exists():
            continue
        seen.append(pid)
        stack.extend(children.get(pid, []))
    return seen


def _field_kb(path: str, name: str) -> int:
    with contextlib.suppress(OSError):
        for line in Path(path).read_text().splitlines():
            if line.startswith(name + ":"):
                return int(line.split()[1])
    return 0


def measure(running: Running) -> Memory:
    roots = [running.process.pid]
    if (postmaster := running.postmaster_pid()) is not None:
        roots.append(postmaster)
    pids = tree(roots)
    rss = sum(_field_kb(f"/proc/{pid}/status", "VmRSS") for pid in pids)
    pss = sum(_field_kb(f"/proc/{pid}/smaps_rollup", "Pss") for pid in pids)
    return Memory(rss / 1024, pss / 1024, len(pids))


class PeakSampler:
    """Samples the tree while a scenario runs; keeps the highest sums seen."""

    def __init__(self, running: Running, every: float = 0.5) -> None:
        self._running = running
        self._every = every
        self.peak = Memory(0.0, 0.0, 0)
        self._task: asyncio.Task | None = None

    async def __aenter__(self) -> "PeakSampler":
        self._task = asyncio.create_task(self._loop())
        return self

    async def __aexit__(self, *_exc) -> None:
        assert self._task is not None
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task
        self._take()

    async def _loop(self) -> None:
        # On a thread: summing the tree's smaps takes ~35 ms of the kernel's time, which on
        # the loop stalled the load generator twice in a flash-sale race of a second.
        while True:
            await asyncio.to_thread(self._take)
            await asyncio.sleep(self._every)

    def _take(self) -> None:
        now = measure(self._running)
        self.peak = Memory(
            max(self.peak.rss_mb, now.rss_mb),
            max(self.peak.pss_mb, now.pss_mb),
            max(self.peak.processes, now.processes),
        )


def _cpu_ticks(pid: int) -> int:
    with contextlib.suppress(OSError, IndexError, ValueError):
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return int(fields[11]) + int(fields[12])  # utime + stime
    return 0


def _helper(pid: int) -> str:
    comm = _comm(pid)
    if comm.startswith("nats"):
        return "nats"
    if comm == "nginx":  # `ticketing up`'s gateway where nginx is installed
        return "gateway"
    with contextlib.suppress(OSError):
        if b"ticketing.runtime.smtp" in Path(f"/proc/{pid}/cmdline").read_bytes():
            return "mailbox"
    return "other"


def _comm(pid: int) -> str:
    with contextlib.suppress(OSError):
        return Path(f"/proc/{pid}/comm").read_text().strip()
    return ""


def _service(label: str) -> str:
    """A replica's label ('orders-2') counts as its service's."""
    name, _, replica = label.rpartition("-")
    return name if name and replica.isdigit() else label


def _labels(running: Running) -> dict[int, str]:
    """Who each process of the tree is: a service, the gateway, nats, the local SMTP
    server (mailbox) or postgres."""
    labels = {p["pid"]: _service(p["label"]) for p in running.state.get("processes", [])}
    labels[running.process.pid] = "gateway"
    postmaster = running.postmaster_pid()
    for pid in tree([running.process.pid]):
        if pid not in labels:
            labels[pid] = _helper(pid)
    if postmaster is not None:
        for pid in tree([postmaster]):
            labels[pid] = "postgres"
    labels[os.getpid()] = "generator"
    return labels


class CpuByProcess:
    """CPU seconds each part of the system (and the generator) spent during a phase.

    A process that ends during the phase (a PostgreSQL backend) loses its ticks, so the
    postgres figure is a lower bound; the others live throughout."""

    def __init__(self, running: Running) -> None:
        self._running = running
        self.seconds: dict[str, float] = {}

    def _snapshot(self) -> dict[int, tuple[str, int]]:
        return {pid: (label, _cpu_ticks(pid)) for pid, label in _labels(self._running).items()}

    def __enter__(self) -> "CpuByProcess":
        self._before = self._snapshot()
        self._began = time.monotonic()
        return self

    @property
    def cores(self) -> dict[str, float]:
        """Average cores each part used over the phase."""
        return {label: round(s / self.wall, 3) for label, s in self.seconds.items()}

    def __exit__(self, *_exc) -> None:
        self.wall = time.monotonic() - self._began
        hz = os.sysconf("SC_CLK_TCK")
        after = self._snapshot()
        totals: dict[str, float] = {}
        for pid, (label, ticks) in after.items():
            used = ticks - self._before.get(pid, (label, 0))[1]
            totals[label] = totals.get(label, 0.0) + used / hz
        self.seconds = dict(sorted(totals.items(), key=lambda kv: -kv[1]))
