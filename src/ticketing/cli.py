"""The `ticketing` command: `up` runs the whole system, `serve` runs one service."""

import argparse
import asyncio
import sys
from pathlib import Path

DATA_DIR_HELP = "where PostgreSQL and NATS keep data (default ./.ticketing)"


def _parser() -> argparse.ArgumentParser:
    from ticketing.runtime.services import SERVICES  # names only: nothing heavy

    names = [spec.name for spec in SERVICES]
    parser = argparse.ArgumentParser(prog="ticketing", description=__doc__)
    parser.add_argument("--version", action="version", version=f"%(prog)s {_version()}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    up = commands.add_parser(
        "up",
        help="start NATS, PostgreSQL, every service and the gateway",
        description="Run the whole system on this machine, in the foreground, until Ctrl-C. "
        "PostgreSQL and NATS start on free ports (or come from DATABASE_URL / NATS_URL); "
        "data stays in the data folder, which one system at a time may use.",
    )
    up.add_argument("--port", type=int, default=8080, help="gateway port (default 8080)")
    up.add_argument("--host", default="127.0.0.1", help="gateway address (default 127.0.0.1)")
    up.add_argument(
        "--replicas",
        type=_replicas,
        default=(1, {}),
        metavar="N|SERVICE=N[,...]",
        help="processes per service: N for every one, SERVICE=N for one (e.g. orders=2); default 1",
    )
    up.add_argument(
        "--gateway",
        choices=("auto", "nginx", "python"),
        default="auto",
        help="what routes the public port: nginx where it is installed (auto, the default), "
        "else the Python gateway",
    )
    up.add_argument("--data-dir", type=Path, default=Path(".ticketing"), help=DATA_DIR_HELP)
    up.add_argument(
        "--debug",
        action="store_true",
        help="on a failed start, print the traceback here instead of one line and a log file",
    )

    serve = commands.add_parser(
        "serve",
        help="run one service (as a container does)",
        description="Migrate the service's database (waiting for it), then serve HTTP. "
        "Settings come from the environment (DATABASE_URL, NATS_URL, JWT_PUBLIC_KEY, ...).",
    )
    serve.add_argument("service", choices=names, help="which service")
    serve.add_argument(
        "--host",
        default="0.0.0.0",
        help="address to listen on (default 0.0.0.0, as in a container; `up` uses 127.0.0.1)",
    )
    serve.add_argument("--port", type=int, default=8000, help="port to listen on (default 8000)")
    serve.add_argument(
        "--no-migrate", action="store_true", help="skip migrations (someone else ran them)"
    )

    status = commands.add_parser(
        "status",
        help="services, consumer lag, outbox, timers, mail",
        description="Report on the system `ticketing up` runs from the data folder; "
        "exit 0 if it runs, 1 if it does not.",
    )
    status.add_argument("--data-dir", type=Path, default=Path(".ticketing"), help=DATA_DIR_HELP)
    status.add_argument("--json", action="store_true", help="print JSON, for scripts")

    migrate = commands.add_parser(
        "migrate",
        help="migrate one service's database and exit",
        description="What a deployment's migration job runs; reads DATABASE_URL only.",
    )
    migrate.add_argument("service", choices=names, help="which service")

    commands.add_parser(
        "streams",
        help="make the bus's streams as its admin, or bring them up to date, and exit",
        description="What a deployment runs before the services start (the services' own "
        "bus users may not make streams); reads NATS_URL, NATS_USER, NATS_PASSWORD, "
        "BUS_PREFIX and the STREAM_MAX_* limits.",
    )
    commands.add_parser(
        "nats-config",
        help="print the NATS server's users and permissions (passwords as $NATS_PASSWORD_<USER>)",
    )
    commands.add_parser("keys", help="print a new session key pair as two .env lines")
    _door_parser(commands)
    _mail_parser(commands)
    return parser


def _count(text: str) -> int:
    try:
        number = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if number < 1:
        raise argparse.ArgumentTypeError(f"must be 1 or more, not {number}")
    return number


def _mail_parser(commands: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    mail = commands.add_parser(
        "mail",
        help="list the mail `ticketing up` kept (its own SMTP server sends nothing out)",
        description="List the messages `ticketing up`'s local SMTP server kept under "
        "DATA-DIR/mail (one .eml file per recipient), newest last: when, to whom, subject.",
    )
    mail.add_argument(
        "--last", type=_count, default=20, metavar="N", help="the N newest (default 20)"
    )
    mail.add_argument(
        "--show",
        nargs="?",
        const="1",
        default=None,
        metavar="N|FILE",
        help="print one message instead: the newest, the Nth newest, or a file by path or name",
    )
    mail.add_argument("--data-dir", type=Path, default=Path(".ticketing"), help=DATA_DIR_HELP)


def _door_parser(commands: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    door = commands.add_parser(
        "door",
        help="add, list or revoke the doors that check passes in",
        description="Doors admit passes with a bearer token. The passes database is the one "
        "of the system `ticketing up` runs from --data-dir, or DATABASE_URL if set and no "
        "--data-dir is given.",
    )
    actions = door.add_subparsers(
        dest="door_command", required=True, metavar="ACTION", help="what to do"
    )
    for action, text in (
        ("add", "add a door and print its token (last line; shown this once)"),
        ("list", "list the doors: name, created, revoked"),
        ("revoke", "revoke a door: its token admits no one from now on"),
    ):
        command = actions.add_parser(action, help=text, description=text)
        if action != "list":
            command.add_argument("name", help="the door's name: 1-64 letters, digits, - or _")
        command.add_argument("--data-dir", type=Path, default=None, help=DATA_DIR_HELP)


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("ticketing")
    except PackageNotFoundError:  # run from a source tree that was never installed
        return "unknown"


def _keep_traceback(data_dir: Path, error: Exception) -> Path:
    """Written in this system's own data folder: a start refused because another system
    holds the folder never gets here, so nobody else's files are touched."""
    import traceback

    path = data_dir.absolute() / "up-failed.log"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(traceback.format_exception(error)))
    return path


def _passes_database(data_dir: Path | None) -> str:
    """The passes database: the running local system's, or DATABASE_URL's."""
    import json
    import os

    if data_dir is None and (url := os.environ.get("DATABASE_URL")):
        return url
    state = (data_dir or Path(".ticketing")) / "state.json"
    try:
        databases: dict[str, str] = json.loads(state.read_text())["databases"]
    except FileNotFoundError:
        raise SystemExit(
            f"ticketing: no system runs from {state.parent} (start it with `ticketing up`, "
            "or set DATABASE_URL to the passes database)"
        ) from None
    if "passes" not in databases:
        raise SystemExit(f"ticketing: the system running from {state.parent} has no passes")
    return databases["passes"]


async def _door(args: argparse.Namespace) -> int:
    """`ticketing door add|list|revoke`: on the passes database, one transaction each."""
    from ticketing.common.database_url import asyncpg_url
    from ticketing.common.db import make_engine, unreachable
    from ticketing.common.refusals import Refusal
    from ticketing.passes import service

    engine = make_engine(asyncpg_url(_passes_database(args.data_dir)), pool_size=1)
    try:
        async with engine.begin() as db:
            if args.door_command == "add":
                token = await service.add_door(db, args.name)
                print(f"door {args.name} added; its token (shown only now):")
                print(token)
            elif args.door_command == "revoke":
                await service.revoke_door(db, args.name)
                print(f"door {args.name} revoked")
            else:
                print("name\tcreated\trevoked")
                for door in await service.doors(db):
                    revoked = f"{door.revoked_at:%Y-%m-%d %H:%M:%S %Z}" if door.revoked_at else "-"
                    print(f"{door.name}\t{door.created_at:%Y-%m-%d %H:%M:%S %Z}\t{revoked}")
    except Refusal as refusal:
        print(f"ticketing: {refusal.message}", file=sys.stderr)
        return 1
    except Exception as error:
        if not unreachable(error):
            raise
        print(f"ticketing: cannot reach the passes database: {error}", file=sys.stderr)
        return 1
    finally:
        await engine.dispose()
    return 0


def _mail(args: argparse.Namespace) -> int:
    """`ticketing mail`: read the local mailbox; needs no running system."""
    from ticketing.runtime import mailbox

    folder = mailbox.folder(args.data_dir)
    if args.show is not None:
        return _show_mail(folder, args.show)
    stored = mailbox.last(folder, args.last)
    if not stored:
        print(f"no mail in {folder} yet")
    for one in stored:
        print(mailbox.line(one))
    return 0


def _show_mail(folder: Path, which: str) -> int:
    from ticketing.runtime import mailbox

    if which.isdigit():
        kept = mailbox.paths(folder)
        if not 1 <= int(which) <= len(kept):
            print(
                f"ticketing: {folder} holds {len(kept)} messages, no number {which}",
                file=sys.stderr,
            )
            return 1
        path = kept[-int(which)]
    else:
        path = Path(which) if Path(which).exists() else folder / which
        if not path.is_file():
            print(f"ticketing: no message {which}", file=sys.stderr)
            return 1
    for line in mailbox.render(path):
        print(line)
    return 0


async def _streams() -> int:
    from ticketing.common.bus.connection import make_streams
    from ticketing.common.settings import BusSettings, describe_missing

    try:
        settings = BusSettings()
    except Exception as error:
        print(f"ticketing: {describe_missing(error)}", file=sys.stderr)
        return 2
    try:
        made = await make_streams(settings)
    except Exception as error:
        print(f"ticketing: the streams could not be made: {error}", file=sys.stderr)
        return 1
    print(f"streams ready: {', '.join(made)}")
    return 0


def _replicas(text: str) -> tuple[int, dict[str, int]]:
    """`2`, `orders=2` or `1,orders=2,tickets=2`: every service's count, then services' own."""
    from ticketing.runtime.services import SERVICES

    names = {spec.name for spec in SERVICES}
    every, own = 1, {}
    for part in text.split(","):
        name, _, count = part.strip().rpartition("=")
        if not count.isdigit() or int(count) < 1 or int(count) > 16:
            raise argparse.ArgumentTypeError(f"{part!r}: a count is a whole number from 1 to 16")
        if not name:
            every = int(count)
        elif name in names:
            own[name] = int(count)
        else:
            raise argparse.ArgumentTypeError(
                f"{name!r} is no service; the services are {', '.join(sorted(names))}"
            )
    return every, own


def main(argv: list[str] | None = None) -> None:
    args = _parser().parse_args(argv)
    if args.command == "up":
        from ticketing.runtime.data_lock import DataDirInUse
        from ticketing.runtime.servers import run_served
        from ticketing.runtime.system import GatewayMissing, Options, PortTaken, StartFailed, run

        every, own = args.replicas
        options = Options(
            port=args.port,
            host=args.host,
            replicas=every,
            scaled=own,
            data_dir=args.data_dir,
            gateway=args.gateway,
        )
        try:
            run_served(run(options))
        except (PortTaken, DataDirInUse, GatewayMissing) as error:
            print(f"ticketing: {error}", file=sys.stderr)
            sys.exit(2)
        except StartFailed as error:  # the console above shows the part that failed
            print(f"ticketing: up failed: {error}", file=sys.stderr)
            sys.exit(1)
        except Exception as error:
            if args.debug:
                raise
            details = _keep_traceback(args.data_dir, error)
            print(f"ticketing: up failed: {error}", file=sys.stderr)
            print(f"ticketing: traceback in {details} (or run with --debug)", file=sys.stderr)
            sys.exit(1)
        return
    if args.command == "status":
        from ticketing.runtime.status import main as status

        sys.exit(status(args.data_dir, as_json=args.json))
    if args.command == "streams":
        sys.exit(asyncio.run(_streams()))
    if args.command == "nats-config":
        from ticketing.runtime.nats import container_config

        print(container_config(), end="")
        return
    if args.command == "keys":
        from ticketing.common.keys import env_lines, generate_key_pair

        print(env_lines(*generate_key_pair()))
        return
    if args.command == "door":
        sys.exit(asyncio.run(_door(args)))
    if args.command == "mail":
        sys.exit(_mail(args))
    if args.command == "migrate":
        from ticketing.runtime.serve import migrate_only

        asyncio.run(migrate_only(args.service))
        return
    from ticketing.runtime.serve import serve
    from ticketing.runtime.servers import run_served

    run_served(serve(args.service, args.host, args.port, run_migrations=not args.no_migrate))


if __name__ == "__main__":
    main()
