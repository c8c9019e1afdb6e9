"""Service processes forked from one that has loaded what they all load (runtime/preload.py).

Started each from a fresh interpreter, every service held its own copy of the framework,
the database and bus clients and the shared library: about 70 MB of memory no other
process shared. Forked, they share those pages until they write to them. Python's
`forkserver` start method does the forking: a small server process, started once, that
loads the preload and forks on request; each child then takes its own arguments and
environment from the supervisor, so no service is handed another's secrets, and the fork
server, which never sees them, holds none.
"""

import asyncio
import multiprocessing
import multiprocessing.forkserver
import os
import shlex
import socket
import sys
from multiprocessing.process import BaseProcess
from pathlib import Path

import setproctitle

from ticketing.runtime import priority

_CONTEXT = multiprocessing.get_context("forkserver")
_CONTEXT.set_forkserver_preload(["ticketing.runtime.preload"])


class Forked:
    """A forked child as the supervisor sees an executed one: pid, output, exit code."""

    def __init__(
        self, process: BaseProcess, stdout: asyncio.StreamReader, pipe: asyncio.StreamWriter
    ) -> None:
        self._process = process
        self._pipe = pipe
        self.stdout = stdout
        self._ended: asyncio.Future[None] | None = None
        self.pid: int = process.pid  # type: ignore[assignment]  # set once started

    @property
    def returncode(self) -> int | None:
        return self._process.exitcode

    async def wait(self) -> int:
        if self._ended is None:  # the fork server reports the exit on the sentinel
            loop = asyncio.get_running_loop()
            self._ended = loop.create_future()
            loop.add_reader(self._process.sentinel, self._exited)
        await asyncio.shield(self._ended)
        code = self._process.exitcode
        assert code is not None
        return code

    def _exited(self) -> None:
        asyncio.get_running_loop().remove_reader(self._process.sentinel)
        self._process.join()  # reads the code the sentinel now holds
        self._pipe.close()
        if self._ended is not None and not self._ended.done():
            self._ended.set_result(None)


def begin_loading() -> None:
    """Start the fork server now: it loads the preload (seconds of CPU) while PostgreSQL
    starts and the databases migrate on the other core, rather than after, when the first
    service asks to be forked and the whole start waits on it."""
    multiprocessing.forkserver.ensure_running()


async def start(label: str, cli_args: list[str], env: dict[str, str], nice: int) -> Forked:
    """`ticketing` run with `cli_args` and only `env` for an environment, forked. Its output
    comes back on a socket, as an executed child's on a pipe."""
    ours, theirs = socket.socketpair()
    process = _CONTEXT.Process(
        target=_run, args=(label, cli_args, env, theirs, nice), name=label, daemon=False
    )
    try:
        # The first start waits for the fork server to load the preload: not on the loop.
        await asyncio.to_thread(process.start)
    finally:
        theirs.close()
    stdout, pipe = await asyncio.open_connection(sock=ours)
    return Forked(process, stdout, pipe)


def _run(
    label: str, cli_args: list[str], env: dict[str, str], output: socket.socket, nice: int
) -> None:
    """In the child, before anything starts a thread."""
    group = priority.session_group_nice() if nice else None  # the supervisor's, still
    os.setsid()  # as an executed child: stopped as a group, scheduled as one
    if nice:
        priority.lower_own(nice, group)
    with open(os.devnull, "rb") as null:
        os.dup2(null.fileno(), 0)
    os.dup2(output.fileno(), 1)
    os.dup2(output.fileno(), 2)
    output.close()
    sys.stdout.reconfigure(line_buffering=True)  # type: ignore[union-attr]
    sys.stderr.reconfigure(line_buffering=True)  # type: ignore[union-attr]
    # What `ps` shows: otherwise every service would read as the fork server's command.
    setproctitle.setproctitle(shlex.join(["ticketing", *cli_args]))
    Path("/proc/self/comm").write_text(label[:15])  # and what top shows
    os.environ.clear()
    os.environ.update(env)
    from ticketing.cli import main

    main(cli_args)
