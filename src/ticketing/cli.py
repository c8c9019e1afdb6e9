"""The `ticketing` command: `up` runs the whole system, `serve` runs one service."""

import argparse
import asyncio
import sys
from pathlib import Path


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="ticketing", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    up = commands.add_parser("up", help="start NATS, PostgreSQL, every service and the gateway")
    up.add_argument("--port", type=int, default=8080, help="gateway port (default 8080)")
    up.add_argument("--host", default="127.0.0.1", help="gateway address (default 127.0.0.1)")
    up.add_argument("--replicas", type=int, default=1, help="processes per service (default 1)")
    up.add_argument(
        "--data-dir",
        type=Path,
        default=Path(".ticketing"),
        help="where PostgreSQL and NATS keep data (default ./.ticketing)",
    )

    serve = commands.add_parser("serve", help="run one service (as a container does)")
    serve.add_argument("service")
    serve.add_argument(
        "--host",
        default="0.0.0.0",
        help="address to listen on (default 0.0.0.0, as in a container; `up` uses 127.0.0.1)",
    )
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument(
        "--no-migrate", action="store_true", help="skip migrations (someone else ran them)"
    )

    status = commands.add_parser("status", help="services, consumer lag, outbox, timers")
    status.add_argument("--data-dir", type=Path, default=Path(".ticketing"))

    migrate = commands.add_parser("migrate", help="migrate one service's database and exit")
    migrate.add_argument("service")

    commands.add_parser(
        "nats-config",
        help="print the NATS server's users and permissions (passwords as $NATS_PASSWORD_<USER>)",
    )
    commands.add_parser("keys", help="print a new session key pair as two .env lines")
    return parser


def main(argv: list[str] | None = None) -> None:
    args = _parser().parse_args(argv)
    if args.command == "up":
        from ticketing.runtime.data_lock import DataDirInUse
        from ticketing.runtime.system import Options, PortTaken, run

        options = Options(
            port=args.port, host=args.host, replicas=max(1, args.replicas), data_dir=args.data_dir
        )
        try:
            asyncio.run(run(options))
        except (PortTaken, DataDirInUse) as error:
            print(f"ticketing: {error}", file=sys.stderr)
            sys.exit(2)
        return
    if args.command == "status":
        from ticketing.runtime.status import main as status

        status(args.data_dir)
        return
    if args.command == "nats-config":
        from ticketing.runtime.nats import container_config

        print(container_config(), end="")
        return
    if args.command == "keys":
        from ticketing.common.keys import env_lines, generate_key_pair

        print(env_lines(*generate_key_pair()))
        return
    if args.command == "migrate":
        from ticketing.runtime.serve import migrate_only

        asyncio.run(migrate_only(args.service))
        return
    from ticketing.runtime.serve import serve

    asyncio.run(serve(args.service, args.host, args.port, run_migrations=not args.no_migrate))


if __name__ == "__main__":
    main()
