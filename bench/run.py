"""`make bench`: start the system as `ticketing up` does, run every scenario N times, print
and write the table (bench/results/: results.md, results.json, flash_sale_latency.png).

Each run starts a fresh system (its cold start and idle memory are figures), runs the
flash sale, propagation, read path and sign-in storm with their raw ceilings on the same
servers, and stops it. Expiration runs on one more system started with
EXPIRATION_WINDOW_SECONDS=2.
"""

import argparse
import asyncio
import os
import statistics
import sys
import time
from pathlib import Path

from bench import expiration, flash_sale, footprint, propagation, read_path, report, signin_storm
from bench import system as systems
from bench.setup import sign_up

RESULTS = Path(__file__).parent / "results"
IDLE_SETTLE_SECONDS = 3.0


def say(message: str) -> None:
    print(f"bench | {message}", flush=True)


async def main_run(
    i: int, args: argparse.Namespace, timelines: list, context: dict, parts: dict
) -> dict[str, float]:
    load_before = os.getloadavg()[0]  # others' work on a shared machine skews a run
    running = await systems.start(
        RESULTS / "logs" / f"run-{i}.log", replicas=args.replicas, gateway=args.gateway
    )
    fig: dict[str, float] = {"foot.cold_start_s": running.cold_start}
    fig["machine.load1"] = load_before
    say(f"run {i}: system up in {running.cold_start:.1f}s")
    try:
        version = await (await running.db("auth")).fetchval("SHOW server_version")
        context["postgres"] = f"PostgreSQL {version.split()[0]}"
        context["gateway"] = running.state.get("gateway_server", "python")
        await asyncio.sleep(IDLE_SETTLE_SECONDS)
        idle = footprint.measure(running)
        fig |= {"foot.idle_rss_mb": idle.rss_mb, "foot.idle_pss_mb": idle.pss_mb}
        say(f"run {i}: idle {idle.rss_mb:.0f} MB RSS, {idle.pss_mb:.0f} MB PSS")

        sale = await flash_sale.scenario(running, tickets=args.tickets, buyers=args.buyers, seed=i)
        s, raw = sale["system"], sale["raw"]
        fig |= {f"flash.{k}": s[k] for k in ("attempts_per_s", "p50_ms", "p99_ms", "sell_out_s")}
        fig |= {"flash.oversold": s["oversold"], "flash.unsold": args.tickets - s["sold"]}
        fig |= {"flash.errors": s["errors"]}
        direct = sale["direct"]
        fig |= {f"flash_direct.{k}": direct[k] for k in ("attempts_per_s", "p99_ms")}
        fig["flash.orders_cpu_ms"] = s["orders_cpu_ms"]
        fig["flash_direct.orders_cpu_ms"] = direct["orders_cpu_ms"]
        fig["flash.oversold"] += direct["oversold"]
        fig["flash.unsold"] += args.tickets - direct["sold"]
        fig |= {f"raw_race.{k}": raw[k] for k in ("attempts_per_s", "p50_ms", "p99_ms")}
        fig |= {"raw_race.sell_out_s": raw["sell_out_s"]}
        fig |= {"foot.sale_rss_mb": sale["rss_peak_mb"], "foot.sale_pss_mb": sale["pss_peak_mb"]}
        fig["gen.flash_cores"] = sale["generator_cores"]
        timelines.append((s["attempts_per_s"], sale["timeline"]))
        parts.setdefault("flash sale (race)", []).append(sale["cpu_by_process"])
        say(
            f"run {i}: flash sale {s['attempts_per_s']:.0f} attempts/s "
            f"(raw {raw['attempts_per_s']:.0f}/s, straight to orders "
            f"{direct['attempts_per_s']:.0f}/s; orders CPU {s['orders_cpu_ms']:.2f} ms per "
            f"attempt; {'the gateway' if sale['gateway_first'] else 'orders'} raced first), "
            f"sold {s['sold']}/{args.tickets}, "
            f"oversold {s['oversold']}, sold out in {s['sell_out_s']:.2f}s"
        )
        if s["oversold"]:
            say(f"run {i}: OVERSOLD {s['oversold']} tickets")

        seller, reader, storm_users = sale["seller"], sale["users"][0], sale["users"][:50]
        prop = await propagation.scenario(running, seller, rate=args.rate, count=args.events)
        keys = ("rate", "p50_ms", "p99_ms", "to_relay_p99_ms", "onward_p99_ms")
        fig |= {f"prop.{k}": prop["system"][k] for k in keys if k in prop["system"]}
        fig |= {f"prop_direct.{k}": prop["direct"][k] for k in keys if k in prop["direct"]}
        fig |= {f"raw_js.{k}": prop["raw"][k] for k in ("p50_ms", "p99_ms")}
        fig["gen.prop_cores"] = prop["generator_cores"]
        parts.setdefault("propagation (via API)", []).append(prop["cpu_by_process"])
        say(
            f"run {i}: propagation p50 {prop['system']['p50_ms']:.1f} ms, "
            f"p99 {prop['system']['p99_ms']:.1f} ms at {prop['system']['rate']:.0f}/s; "
            f"committed directly p99 {prop['direct']['p99_ms']:.1f} ms "
            f"(raw JetStream p99 {prop['raw']['p99_ms']:.2f} ms)"
        )

        if not await read_path.page_is_full(running, reader):
            raise RuntimeError("fewer than 20 tickets for sale: the read path needs a full page")
        async with read_path.Select1Server(running) as ceiling:
            reads = await read_path.scenario(running, reader, ceiling)
        fig |= {f"read.{k}": reads["system"][k] for k in ("req_per_s", "p99_ms")}
        fig |= {f"select1.{k}": reads["sqlalchemy"][k] for k in ("req_per_s", "p99_ms")}
        fig |= {f"select1_raw.{k}": reads["raw"][k] for k in ("req_per_s", "p99_ms")}
        fig["gen.read_cores"] = reads["generator_cores"]
        parts.setdefault("read path (tickets)", []).append(reads["cpu_by_process"])
        say(
            f"run {i}: read path {reads['system']['req_per_s']:.0f} req/s "
            f"(SELECT 1 on asyncpg {reads['raw']['req_per_s']:.0f} req/s, "
            f"through SQLAlchemy {reads['sqlalchemy']['req_per_s']:.0f} req/s)"
        )

        storm = await signin_storm.scenario(running, reader, storm_users)
        fig |= {f"storm.{k}": v for k, v in storm["system"].items()}
        fig["hash.per_s"] = storm["raw"]["hashes_per_s"]
        fig["gen.storm_cores"] = storm["generator_cores"]
        parts.setdefault("sign-in storm", []).append(storm["cpu_by_process"])
        say(
            f"run {i}: sign-in storm {storm['system']['signins_per_s']:.1f}/s "
            f"(Argon2id {storm['raw']['hashes_per_s']:.1f}/s), reads p99 "
            f"{storm['system']['reads_calm_p99_ms']:.1f} → "
            f"{storm['system']['reads_storm_p99_ms']:.1f} ms"
        )
    finally:
        await systems.stop(running)
    return fig


async def expiration_runs(args: argparse.Namespace, parts: dict) -> list[dict[str, float]]:
    env = {"EXPIRATION_WINDOW_SECONDS": str(expiration.WINDOW_SECONDS)}
    running = await systems.start(
        RESULTS / "logs" / "expiration.log", env, replicas=args.replicas, gateway=args.gateway
    )
    say(f"expiration system (2 s window) up in {running.cold_start:.1f}s")
    figures = []
    try:
        seller, *buyers = await sign_up(running, 11)
        for i in range(1, args.runs + 1):
            result = await expiration.scenario(running, seller, buyers, orders=args.orders)
            s = result["system"]
            parts.setdefault("expiration", []).append(result["cpu_by_process"])
            figures.append(
                {"exp.p50_ms": s["p50_ms"], "exp.p99_ms": s["p99_ms"]}
                | {"exp.timer_p99_ms": s["timer_fired_p99_ms"]}
                | {"exp.fired_to_cancelled_p99_ms": s["fired_to_cancelled_p99_ms"]}
                | {"gen.exp_cores": result["generator_cores"]}
            )
            say(
                f"expiration {i}: {s['orders']} orders placed in {s['placing_s']:.1f}s, "
                f"cancelled late by p50 {s['p50_ms']:.0f} ms, p99 {s['p99_ms']:.0f} ms"
            )
    finally:
        await systems.stop(running)
    return figures


async def bench(args: argparse.Namespace) -> int:
    began = time.monotonic()
    context = {
        "machine": report.machine(),
        "runs": args.runs,
        "settings": (
            f"T={args.tickets} tickets, B={args.buyers} buyers, {args.events} events "
            f"at {args.rate:.0f}/s, {args.orders} expiring orders"
            + (f", --replicas {args.replicas}" if args.replicas else "")
        ),
    }
    say(f"{context['settings']}; {args.runs} runs; results in {RESULTS}")
    runs: list[dict[str, float]] = []
    timelines: list = []
    parts: dict[str, list[dict[str, float]]] = {}
    for i in range(1, args.runs + 1):
        runs.append(await main_run(i, args, timelines, context, parts))
    for run, extra in zip(runs, await expiration_runs(args, parts), strict=True):
        run |= extra
    rows = report.summarize(runs)
    context["cpu_by_process"] = report.cpu_medians(parts)
    context["wall_seconds"] = round(time.monotonic() - began, 1)
    text = report.write(RESULTS, rows, runs, context)
    median_rate = statistics.median(rate for rate, _ in timelines)
    rate, timeline = min(timelines, key=lambda t: abs(t[0] - median_rate))
    plotted = report.plot_flash_sale(
        RESULTS / "flash_sale_latency.png",
        timeline,
        f"Flash sale: {args.buyers} buyers, {args.tickets} tickets, median run "
        f"({rate:.0f} attempts/s)",
    )
    print(text)
    say(f"done in {context['wall_seconds']:.0f}s; plot {'written' if plotted else 'skipped'}")
    return 1 if any(run.get("flash.oversold") for run in runs) else 0  # never tolerated


def parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="bench", description=__doc__)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--tickets", type=int, default=100, help="T, tickets in the sale")
    parser.add_argument("--buyers", type=int, default=200, help="B, buyers racing")
    parser.add_argument("--events", type=int, default=1000, help="ticket.created events")
    parser.add_argument("--rate", type=float, default=200.0, help="events per second")
    parser.add_argument("--orders", type=int, default=500, help="orders left to expire")
    parser.add_argument(
        "--replicas", default=None, help="`ticketing up --replicas` (default: its own)"
    )
    parser.add_argument(
        "--gateway", default=None, help="`ticketing up --gateway` (default: its own)"
    )
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    sys.exit(asyncio.run(bench(parse(argv))))


if __name__ == "__main__":
    main()
