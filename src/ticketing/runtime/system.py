"""`ticketing up`: the whole system on one machine, in the foreground, until Ctrl-C.

This process stays up as supervisor (and gateway, where nginx is not installed), so it
imports neither the services nor SQLAlchemy and Alembic: databases are created and
migrated by a child (`provision`), and each service runs in its own `ticketing serve`
process.
"""

import asyncio
import contextlib
import json
import logging
import os
import secrets
import signal
import sys
import time
from collections.abc import AsyncGenerator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlsplit, urlunsplit

from ticketing.common.database_url import libpq_dsn
from ticketing.runtime import data_lock, forked, leftovers, mailbox, nginx, provision
from ticketing.runtime.files import kept_passwords, kept_secret, write_owner_only
from ticketing.runtime.nats import EmbeddedNats
from ticketing.runtime.ports import claim, free_port, http_answer, port_answers, port_is_free
from ticketing.runtime.postgres import EmbeddedPostgres
from ticketing.runtime.services import SERVICES, ServiceSpec
from ticketing.runtime.supervisor import Child
from ticketing.runtime.urls import database_url, role_url

if TYPE_CHECKING:
    from ticketing.runtime.servers import Unsignalled

log = logging.getLogger("ticketing")


@dataclass
class Options:
    port: int = 8080
    host: str = "127.0.0.1"
    replicas: int = 1  # processes of every service
    scaled: dict[str, int] = field(default_factory=dict)  # a service's own count, if given
    data_dir: Path = Path(".ticketing")
    gateway: str = "auto"  # nginx, python, or auto: nginx where it is installed
    services: list[ServiceSpec] = field(default_factory=lambda: list(SERVICES))

    def replicas_of(self, service: str) -> int:
        return self.scaled.get(service, self.replicas)


class PortTaken(Exception):
    pass


class GatewayMissing(Exception):
    """`--gateway nginx` where nginx is not installed, or cannot run its configuration."""


class StartFailed(Exception):
    """A part of the system did not start; what had started is stopped again. Never
    SystemExit: raised in the starting task, that would end the event loop at once and
    leave PostgreSQL, NATS and the mail server running with nobody to stop them."""


def nginx_for(options: Options) -> str | None:
    """The nginx to run as the gateway: none with `--gateway python`; with `--gateway nginx`
    one must be installed."""
    found = nginx.binary() if options.gateway != "python" else None
    if found is None and options.gateway == "nginx":
        raise GatewayMissing("nginx not found on the PATH (nor in /usr/sbin); install it")
    return found


def check_port(options: Options) -> None:
    if not port_is_free(options.port, options.host):
        raise PortTaken(
            f"port {options.port} is already in use; stop what holds it or choose another "
            f"with `ticketing up --port N`"
        )


def say(message: str) -> None:
    print(f"{'ticketing':<12}| {message}", flush=True)


# A background service's niceness above the others': its CPU weight is a tenth of theirs
# while they are busy (when they are not, it has the CPU). In a 500-order expiry burst that
# filled both cores of a 2-core machine, the cancellations' p99 was 170 ms against 690
# with the process alone lowered, which an autogroup kernel weighs only inside its session
# (medians of six alternated runs); the burst's mails go out as it ebbs.
BACKGROUND_NICE = 10


def database_name(spec: ServiceSpec) -> str:
    return f"ticketing_{spec.name}"


# Each service process opens at most pool_size + max_overflow = 20 pooled connections and
# DRIVERS = 10 plain ones (common/db.py), the outbox relay's, and orders' LISTEN.
CONNECTIONS_PER_PROCESS = 32
# psql, `ticketing status`, the migration child, a benchmark's or test's own pools.
SPARE_CONNECTIONS = 60


def embedded_postgres(data_dir: Path, options: Options) -> EmbeddedPostgres:
    """PostgreSQL sized for one machine's development system, not a shared server.

    Every process of the server counts in its resident memory the shared-memory pages it
    has touched, so what sizes shared memory shows up once per backend:
    - max_connections sizes the per-connection arrays and the lock tables, which the
      postmaster initialises in full: enough for every pool of every replica, plus spare.
    - shared_buffers: the databases hold megabytes, which 64 MB holds many times over
      (the OS page cache sits behind it); PostgreSQL's default of 128 MB is for a server.
      Not less: creating each database copies template1 through the buffers, and a
      smaller pool makes the background writer evict, so touch, them all.
    - No logical-replication launcher: nothing here subscribes to a publication.
    """
    processes = sum(options.replicas_of(spec.name) for spec in options.services if spec.database)
    return EmbeddedPostgres(
        data_dir,
        max_connections=processes * CONNECTIONS_PER_PROCESS + SPARE_CONNECTIONS,
        shared_buffers="64MB",
        logical_replication=False,
    )


def database_passwords(options: Options) -> dict[str, str]:
    """Each service database's own role's password (runtime/provision.py makes the roles)."""
    names = [database_name(spec) for spec in options.services if spec.database]
    return kept_passwords(options.data_dir / "database_roles.json", names)


PRIVATE_KEY_FILE, PUBLIC_KEY_FILE = "jwt_private_key.pem", "jwt_public_key.pem"


def session_keys(data_dir: Path) -> tuple[str, str]:
    """(private, public) Ed25519 PEMs, kept across runs so sessions survive a restart;
    JWT_PRIVATE_KEY and JWT_PUBLIC_KEY in the environment win. Only auth's process is
    handed the private one, and its file is readable by its owner alone."""
    private, public = os.environ.get("JWT_PRIVATE_KEY"), os.environ.get("JWT_PUBLIC_KEY")
    if private and public:
        return private, public
    private_path, public_path = data_dir / PRIVATE_KEY_FILE, data_dir / PUBLIC_KEY_FILE
    if not (private_path.exists() and public_path.exists()):
        from ticketing.common.keys import generate_key_pair  # cryptography: only when needed

        private, public = generate_key_pair()
        write_owner_only(private_path, private)
        public_path.write_text(public)
    private_path.chmod(0o600)
    return private_path.read_text(), public_path.read_text()


PASS_CODE_SECRET_FILE = "pass_code_secret"


def pass_code_secret(data_dir: Path) -> str:
    """The key passes derive their codes with, kept across runs: with a new one, every pass
    issued before would be turned away at the door. PASS_CODE_SECRET in the environment
    wins; only passes' process is handed it."""
    return os.environ.get("PASS_CODE_SECRET") or kept_secret(data_dir / PASS_CODE_SECRET_FILE)


STRIPE_WEBHOOK_SECRET_FILE = "stripe_webhook_secret"
WEBHOOK_PATH = "/api/payments/webhook"


def payments_webhooks(data_dir: Path, api_base_url: str) -> dict[str, str]:
    """What payments verifies webhooks with, and where the sandbox sends its own: through
    the gateway, as Stripe's come in through the public entrance, to whichever replica is
    next. So every replica, and the next run, verifies with one kept secret (owner-only).
    Both matter only with the sandbox; a value in the environment wins (Stripe's own
    endpoint secret, say)."""
    secret = os.environ.get("STRIPE_WEBHOOK_SECRET") or kept_secret(
        data_dir / STRIPE_WEBHOOK_SECRET_FILE, prefix="whsec_"
    )
    url = os.environ.get("SANDBOX_WEBHOOK_URL") or api_base_url.rstrip("/") + WEBHOOK_PATH
    return {"STRIPE_WEBHOOK_SECRET": secret, "SANDBOX_WEBHOOK_URL": url}


# What notifications alone is handed (SMTP_PASSWORD is a secret; the rest is its own).
MAIL_SETTINGS = ("SMTP_URL", "SMTP_USERNAME", "SMTP_PASSWORD", "SITE_URL")


def mail_settings(smtp_url: str, site_url: str) -> dict[str, str]:
    """Where notifications sends mail and what its links point at: the local SMTP server
    and the gateway, unless the environment names a relay (and its sign-in) or a site."""
    given = {name: os.environ[name] for name in MAIL_SETTINGS if os.environ.get(name)}
    return {"SMTP_URL": smtp_url, "SITE_URL": site_url} | given


def without_credentials(url: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(netloc=parts.netloc.rpartition("@")[2]))


class System:
    def __init__(self, options: Options) -> None:
        self.options = options
        claim(options.port)  # the gateway binds it last: no backend or service meanwhile
        self.postgres: EmbeddedPostgres | None = None
        self.nats: EmbeddedNats | None = None
        self.mail_server: Child | None = None  # the local SMTP server, unless SMTP_URL is given
        self.children: list[Child] = []
        self.upstreams: dict[str, list[str]] = {}
        self.gateway: Unsignalled | None = None  # the Python gateway, where nginx is not
        self.nginx: Child | None = None  # the gateway, where nginx runs it
        self._private_key = ""
        # Web shows it to the gateway with a browser's address; new each run, like the
        # CSRF key (web replicas share both; a form left open across a restart is refused).
        self._relay_key = secrets.token_hex(32)

    async def start(self) -> str:
        options = self.options
        check_port(options)
        options.data_dir.mkdir(parents=True, exist_ok=True)
        started = time.monotonic()
        forked.begin_loading()
        admin_url, nats_url = await asyncio.to_thread(self._start_backends)
        say(f"PostgreSQL and NATS ready ({time.monotonic() - started:.1f}s)")
        streams = asyncio.create_task(self._make_streams(self._nats_admin_url(nats_url)))
        try:
            smtp_url = await self._start_services(admin_url, nats_url, streams)
        finally:
            if not streams.done():
                streams.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await streams
        await self._wait_ready()
        await self._start_gateway()
        self._write_state(admin_url, self._nats_admin_url(nats_url), smtp_url)
        elapsed = time.monotonic() - started
        say(f"Ticketing is up at {self.url} (started in {elapsed:.1f}s); Ctrl-C stops it")
        if self.mail_server is not None:
            say(f"mail is kept in {self.mail_dir}: `ticketing mail --last 5` lists it")
        return self.url

    async def _start_services(
        self, admin_url: str, nats_url: str, streams: "asyncio.Task[None]"
    ) -> str:
        """Each service once its database is migrated and the streams are made; returns
        the SMTP server's URL."""
        options = self.options
        smtp_url = await self._start_smtp()
        env = self._base_env(nats_url)
        passwords = database_passwords(options)
        async with contextlib.aclosing(self._provision(admin_url, passwords)) as migrated:
            for spec in options.services:
                service_env = dict(env) | self._bus_user(spec)
                if spec.database:
                    name = database_name(spec)
                    if await anext(migrated, None) != name:  # they come in the order asked
                        raise StartFailed(f"migrating {name} did not finish")
                    service_env["DATABASE_URL"] = role_url(admin_url, name, name, passwords[name])
                if spec.name == "auth":  # auth alone signs sessions
                    service_env["JWT_PRIVATE_KEY"] = self._private_key
                if spec.name == "passes":  # passes alone derive and check the codes
                    service_env["PASS_CODE_SECRET"] = pass_code_secret(options.data_dir)
                if spec.name == "payments":  # payments alone verifies Stripe's webhooks
                    api = env["API_BASE_URL"]
                    service_env |= payments_webhooks(options.data_dir, api)
                if spec.name == "web":
                    service_env |= self._web_keys()
                if spec.name == "notifications":  # notifications alone sends mail
                    service_env |= mail_settings(smtp_url, self.url)
                await streams  # made beside the migrations; done after the first wait
                await self._spawn(spec, service_env)
            async for _ in migrated:  # nothing more: wait for the child's exit status
                pass
        return smtp_url

    def _nats_admin_url(self, nats_url: str) -> str:
        return self.nats.admin_url if self.nats else nats_url

    async def _make_streams(self, nats_url: str) -> None:
        """`ticketing streams`, as the bus's admin, beside the migrations: the services'
        own bus users may read the streams but not make them (common/bus/permissions.py).
        A child of its own, so that this process still loads no NATS client. A NATS_URL
        given from outside is used as the services would use it."""
        env = {**os.environ, "NATS_URL": nats_url}
        if self.nats is not None:  # the embedded server's admin URL carries the admin
            env |= {"NATS_USER": "", "NATS_PASSWORD": ""}
        child = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "ticketing.cli",
            "streams",
            env=env,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
        )
        try:
            output, _ = await child.communicate()
        finally:
            if child.returncode is None:
                with contextlib.suppress(ProcessLookupError):
                    child.terminate()
                await child.wait()
        if child.returncode != 0:
            said = output.decode(errors="replace").strip()[-1000:]
            raise StartFailed(f"making the bus's streams failed (exit {child.returncode}): {said}")

    @property
    def url(self) -> str:
        return f"http://{self.options.host}:{self.options.port}"

    async def _start_smtp(self, within: float = 15) -> str:
        """The local SMTP server (runtime/smtp.py), unless SMTP_URL names a real one; once
        it listens, so notifications' first mail finds it. It is handed nothing secret."""
        if given := os.environ.get("SMTP_URL"):
            return given
        port = free_port()
        argv = [sys.executable, "-m", "ticketing.runtime.smtp", str(self.mail_dir), str(port)]
        kept = ("PATH", "PYTHONPATH", leftovers.MARK)
        env = {name: os.environ[name] for name in kept if name in os.environ}
        env["PYTHONUNBUFFERED"] = "1"
        self.mail_server = Child("mail", argv, env, nice=BACKGROUND_NICE)
        await self.mail_server.start()
        deadline = time.monotonic() + within
        while not await asyncio.to_thread(port_answers, port):
            if time.monotonic() > deadline:
                raise StartFailed(f"the local SMTP server did not listen in {within:.0f}s")
            await asyncio.sleep(0.05)
        return f"smtp://127.0.0.1:{port}"

    @property
    def mail_dir(self) -> Path:
        return mailbox.folder(self.options.data_dir)

    async def _provision(
        self, admin_url: str, passwords: dict[str, str]
    ) -> AsyncGenerator[str, None]:
        """Yields each database's name once the child has created and migrated it."""
        specs = [spec for spec in self.options.services if spec.database]
        argv = [sys.executable, "-m", "ticketing.runtime.provision"]
        for spec in specs:
            argv += [database_name(spec), spec.migrations]
        child = await asyncio.create_subprocess_exec(
            *argv,
            env={
                **os.environ,
                provision.ADMIN_URL: admin_url,
                provision.PASSWORDS: json.dumps(passwords),
            },
            stdout=asyncio.subprocess.PIPE,  # its errors go to our stderr, as they did in-process
        )
        try:
            assert child.stdout is not None
            async for raw in child.stdout:
                line = raw.decode(errors="replace").rstrip("\n")
                if line.startswith(provision.READY):
                    yield line.removeprefix(provision.READY)
                else:
                    say(f"migrations: {line}")
            if await child.wait() != 0:
                raise StartFailed(f"migrating the databases failed (exit {child.returncode})")
        finally:
            if child.returncode is None:
                with contextlib.suppress(ProcessLookupError):
                    child.terminate()
                await child.wait()

    def _start_backends(self) -> tuple[str, str]:
        data = self.options.data_dir
        admin_url = os.environ.get("DATABASE_URL")
        if not admin_url:
            self.postgres = embedded_postgres(data / "postgres", self.options)
            admin_url = self.postgres.start()
        nats_url = os.environ.get("NATS_URL")
        if not nats_url:
            self.nats = EmbeddedNats(data / "nats")
            nats_url = self.nats.start()
        return libpq_dsn(admin_url), nats_url

    def _bus_user(self, spec: ServiceSpec) -> dict[str, str]:
        """The service's own NATS user on the embedded server; a NATS_URL given from
        outside is passed on as it is, with whatever user it names."""
        if self.nats is None or spec.name not in self.nats.passwords:
            return {}
        user, password = self.nats.credentials(spec.name)
        return {"NATS_USER": user, "NATS_PASSWORD": password}

    def _web_keys(self) -> dict[str, str]:
        return {
            "CSRF_KEY": os.environ.get("CSRF_KEY") or secrets.token_hex(32),
            "RELAY_KEY": self._relay_key,
        }

    def _base_env(self, nats_url: str) -> dict[str, str]:
        private, public = session_keys(self.options.data_dir)
        self._private_key = private
        # METRICS_PORT: one port for every process would clash; the gateway keeps /metrics in.
        unshared = {
            "DATABASE_URL",
            "JWT_PRIVATE_KEY",
            "METRICS_PORT",
            "CSRF_KEY",
            "RELAY_KEY",
            "PASS_CODE_SECRET",
            "STRIPE_WEBHOOK_SECRET",
            "SANDBOX_WEBHOOK_URL",
            *MAIL_SETTINGS,
        }
        env = {k: v for k, v in os.environ.items() if k not in unshared}
        env.update(
            NATS_URL=nats_url,
            JWT_PUBLIC_KEY=public,
            COOKIE_SECURE=os.environ.get("COOKIE_SECURE", "false"),
            PYTHONUNBUFFERED="1",
        )
        env.setdefault("LOG_FORMAT", "text")  # a console is read by a person; containers log JSON
        env.setdefault("API_DOCS", "true")  # each service's /docs, on its own loopback port
        env.setdefault("API_BASE_URL", f"http://127.0.0.1:{self.options.port}")
        return env

    async def _spawn(self, spec: ServiceSpec, env: dict[str, str]) -> None:
        count = self.options.replicas_of(spec.name)
        for replica in range(count):
            port = free_port()
            label = spec.name if count == 1 else f"{spec.name}-{replica + 1}"
            args = [
                "serve",
                spec.name,
                "--host",
                "127.0.0.1",  # only the gateway faces the network
                "--port",
                str(port),
                "--no-migrate",
            ]
            nice = BACKGROUND_NICE if spec.background else 0
            own_env = {**env, "SERVICE_REPLICA": label}
            child = Child(label, args, own_env, nice=nice, forked=True)
            await child.start()
            self.children.append(child)
            for route in spec.routes:
                self.upstreams.setdefault(route, []).append(f"http://127.0.0.1:{port}")
            child.url = f"http://127.0.0.1:{port}"

    def _write_state(self, admin_url: str, nats_url: str, smtp_url: str) -> None:
        """What `ticketing status` reads to find the running system. Owner-only: it holds
        the admin URLs of PostgreSQL and NATS."""
        state = {
            "pid": os.getpid(),
            "gateway": self.url,
            "gateway_server": "nginx" if self.nginx is not None else "python",
            "nats_url": nats_url,
            "smtp_url": without_credentials(smtp_url),
            "bus_prefix": os.environ.get("BUS_PREFIX", ""),
            "databases": {
                spec.name: database_url(admin_url, database_name(spec))
                for spec in self.options.services
                if spec.database
            },
            "processes": [{"label": c.label, "url": c.url, "pid": c.pid} for c in self.children],
        }
        path = self.options.data_dir / "state.json"
        write_owner_only(path, json.dumps(state, indent=2))

    async def _wait_ready(self, within: float = 60) -> None:
        deadline = time.monotonic() + within
        for child in self.children:
            assert child.url is not None  # every service's, set as it was spawned
            address = urlsplit(child.url)
            host, port = address.hostname or "127.0.0.1", address.port or 80
            while True:
                answer = await asyncio.to_thread(http_answer, host, port, "/readyz")
                if answer is not None and answer[0] == 200:
                    break
                if time.monotonic() > deadline:
                    raise StartFailed(f"{child.label} did not become ready in {within:.0f}s")
                await asyncio.sleep(0.1)

    async def _start_gateway(self) -> None:
        if (found := nginx_for(self.options)) is not None:
            # Absolute: nginx reads -c and the config's own paths from its prefix, so
            # the default `.ticketing` would have it look in .ticketing/nginx/.ticketing/…
            folder = (self.options.data_dir / "nginx").resolve()
            text = nginx.config(
                self.upstreams,
                host=self.options.host,
                port=self.options.port,
                folder=folder,
                relay_key=self._relay_key,
            )
            nginx.write_config(folder, text)
            refusal = await asyncio.to_thread(nginx.refusal, found, folder)
            if refusal is None:
                await self._start_nginx(found, folder)
                return
            if self.options.gateway == "nginx":
                raise GatewayMissing(f"{found} refused its configuration: {refusal}")
            # An nginx too old for it, say: the system still starts, and says why.
            say(f"{found} refused its configuration ({refusal}); the Python gateway runs")
        # Only here: where nginx is the gateway, this process never loads the Python one.
        from ticketing.runtime.gateway import create_gateway, server_config
        from ticketing.runtime.servers import Unsignalled, settle_collector

        gateway = create_gateway(self.upstreams, relay_key=self._relay_key)
        config = server_config(gateway, self.options.host, self.options.port)
        self.gateway = Unsignalled(config)  # SIGINT and SIGTERM are _run's, which stops it
        settle_collector()  # as a service does
        self._gateway_task = asyncio.create_task(self.gateway.serve())
        while not self.gateway.started:
            if self._gateway_task.done():
                raise PortTaken(f"the gateway could not listen on port {self.options.port}")
            await asyncio.sleep(0.05)

    async def _start_nginx(self, binary: str, folder: Path, within: float = 10) -> None:
        """nginx in front, once it listens; a copy that exits at once could not bind."""
        host, port = self.options.host, self.options.port
        # no leftovers.MARK: nginx writes its title over its environment (its pid file is
        # how a later start finds it)
        env = {name: os.environ[name] for name in ("PATH",) if name in os.environ}
        self.nginx = Child("gateway", nginx.command(binary, folder), env)
        await self.nginx.start()
        say(f"the gateway is nginx ({binary}); `--gateway python` runs the Python one")
        deadline = time.monotonic() + within
        probe = {"0.0.0.0": "127.0.0.1", "::": "::1"}.get(host, host)
        while not await asyncio.to_thread(nginx.answers, probe, port):
            process = self.nginx.process
            if self.nginx.restarts or (process is not None and process.returncode is not None):
                raise PortTaken(f"the gateway (nginx) could not listen on port {port}")
            if time.monotonic() > deadline:
                raise StartFailed(f"the gateway (nginx) did not listen in {within:.0f}s")
            await asyncio.sleep(0.05)

    async def stop(self) -> None:
        say("stopping")
        if self.nginx is not None:  # first, as the Python gateway is: no new requests
            await self.nginx.stop()
        if self.gateway is not None:
            self.gateway.should_exit = True
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._gateway_task, 10)
        await asyncio.gather(*(child.stop() for child in self.children))
        if self.mail_server is not None:  # after notifications: what they sent at the end is kept
            await self.mail_server.stop()
        await asyncio.to_thread(self._stop_backends)
        with contextlib.suppress(FileNotFoundError):
            (self.options.data_dir / "state.json").unlink()
        say("stopped")

    def _stop_backends(self) -> None:
        if self.nats is not None:
            self.nats.stop()
        if self.postgres is not None:
            self.postgres.stop()


async def run(options: Options) -> None:
    """Start everything, wait for SIGINT or SIGTERM, stop everything."""
    with data_lock.holding(options.data_dir, f"http://{options.host}:{options.port}"):
        # Held, so no run lives from this folder: whatever is marked as its is a leftover.
        leftovers.stop_left_running(options.data_dir, say)
        leftovers.mark(options.data_dir)
        check_port(options)
        nginx_for(options)  # an insisted-on nginx that is missing: before starting anything
        await _run(options)


async def _run(options: Options) -> None:
    system = System(options)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    try:
        starting = asyncio.create_task(system.start())
        waiter = asyncio.create_task(stop.wait())
        await asyncio.wait({starting, waiter}, return_when=asyncio.FIRST_COMPLETED)
        if starting.done():
            starting.result()
            await waiter
        else:
            starting.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await starting
    finally:
        await system.stop()
