"""The one table: each figure's median, min and max over the runs, its raw ceiling, their
ratio (computed within each run, then the median taken), and the issue's target."""

import json
import math
import os
import platform
import statistics
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path


@dataclass(frozen=True)
class Figure:
    scenario: str
    label: str
    key: str
    unit: str
    ceiling: str | None = None  # key of the raw ceiling measured in the same run
    target: str = ""
    # given (median value, median ratio) → met or not; None where the issue sets no target
    met: Callable[[float, float], bool] | None = None


FIGURES = [
    Figure("flash sale", "order attempts/s", "flash.attempts_per_s", "/s",
           "raw_race.attempts_per_s", "≥ 0.15 x raw (goal 0.30)", lambda v, r: r >= 0.15),
    Figure("flash sale", "attempts/s straight to orders (no gateway)",
           "flash_direct.attempts_per_s", "/s", "raw_race.attempts_per_s", "≥ 0.20 x raw",
           lambda v, r: r >= 0.20),
    Figure("flash sale", "orders CPU per attempt", "flash.orders_cpu_ms", "ms", None,
           "≤ 0.6 ms", lambda v, r: v <= 0.6),
    Figure("flash sale", "orders CPU per attempt straight to orders",
           "flash_direct.orders_cpu_ms", "ms"),
    Figure("flash sale", "attempt p50", "flash.p50_ms", "ms", "raw_race.p50_ms"),
    Figure("flash sale", "attempt p99", "flash.p99_ms", "ms", "raw_race.p99_ms"),
    Figure("flash sale", "time to sell out", "flash.sell_out_s", "s", "raw_race.sell_out_s"),
    Figure("flash sale", "attempt p99 straight to orders", "flash_direct.p99_ms", "ms",
           "raw_race.p99_ms"),
    Figure("flash sale", "oversold tickets (both races)", "flash.oversold", "", None,
           "0 always",
           lambda v, r: v == 0),
    Figure("flash sale", "tickets left unsold (both races)", "flash.unsold", "", None, "0",
           lambda v, r: v == 0),
    Figure("flash sale", "non-400 refusals", "flash.errors", "", None, "0",
           lambda v, r: v == 0),
    Figure("propagation", "events via API: rate", "prop.rate", "/s"),
    Figure("propagation", "via API: commit → replica p50", "prop.p50_ms", "ms",
           "raw_js.p50_ms"),
    Figure("propagation", "via API: commit → replica p99", "prop.p99_ms", "ms",
           "raw_js.p99_ms", "p99 ≤ 15 ms", lambda v, r: v <= 15),
    Figure("propagation", "of which: commit → the relay's sending transaction, p99",
           "prop.to_relay_p99_ms", "ms"),
    Figure("propagation", "of which: relay → replica, p99", "prop.onward_p99_ms", "ms"),
    Figure("propagation", "events committed in DB: rate", "prop_direct.rate", "/s"),
    Figure("propagation", "committed in DB: → replica p50", "prop_direct.p50_ms", "ms",
           "raw_js.p50_ms"),
    Figure("propagation", "committed in DB: → replica p99", "prop_direct.p99_ms", "ms",
           "raw_js.p99_ms", "p99 ≤ 15 ms", lambda v, r: v <= 15),
    Figure("propagation", "of which: commit → the relay's sending transaction, p99",
           "prop_direct.to_relay_p99_ms", "ms"),
    Figure("propagation", "of which: relay → replica, p99", "prop_direct.onward_p99_ms", "ms"),
    Figure("expiration", "expiresAt → cancelled p50", "exp.p50_ms", "ms"),
    Figure("expiration", "expiresAt → cancelled p99", "exp.p99_ms", "ms", None,
           "p99 ≤ 500 ms", lambda v, r: v <= 500),
    Figure("expiration", "of which: timer fired after fire_at, p99", "exp.timer_p99_ms", "ms"),
    Figure("expiration", "of which: fired → cancelled, p99", "exp.fired_to_cancelled_p99_ms",
           "ms"),
    Figure("read path", "GET /api/tickets req/s", "read.req_per_s", "/s",
           "select1_raw.req_per_s", "≥ 0.50 x raw", lambda v, r: r >= 0.50),
    Figure("read path", "GET /api/tickets req/s against SELECT 1 through SQLAlchemy",
           "read.req_per_s", "/s", "select1.req_per_s"),
    Figure("read path", "GET /api/tickets p99", "read.p99_ms", "ms", "select1.p99_ms"),
    Figure("sign-in storm", "sign-ins/s (50 at once)", "storm.signins_per_s", "/s",
           "hash.per_s"),
    Figure("sign-in storm", "reads p99 calm", "storm.reads_calm_p99_ms", "ms"),
    Figure("sign-in storm", "reads p99 in storm", "storm.reads_storm_p99_ms", "ms",
           "storm.reads_calm_p99_ms", "≤ 3 x calm", lambda v, r: r <= 3),
    Figure("sign-in storm", "auth's own reads p99 in storm", "storm.auth_storm_p99_ms", "ms",
           "storm.auth_calm_p99_ms"),
    Figure("footprint", "cold start to first 200", "foot.cold_start_s", "s", None,
           "≤ 10 s", lambda v, r: v <= 10),
    Figure("footprint", "idle RSS, sum", "foot.idle_rss_mb", "MB", None,
           "≤ 600 MB", lambda v, r: v <= 600),
    Figure("footprint", "idle PSS, sum", "foot.idle_pss_mb", "MB", None,
           "≤ 600 MB", lambda v, r: v <= 600),
    Figure("footprint", "flash-sale peak RSS, sum", "foot.sale_rss_mb", "MB"),
    Figure("footprint", "flash-sale peak PSS, sum", "foot.sale_pss_mb", "MB"),
    Figure("machine", "load average (1 min) before the run", "machine.load1", ""),
    Figure("generator", "CPU in flash sale", "gen.flash_cores", "cores"),
    Figure("generator", "CPU in propagation", "gen.prop_cores", "cores"),
    Figure("generator", "CPU in expiration", "gen.exp_cores", "cores"),
    Figure("generator", "CPU in read path", "gen.read_cores", "cores"),
    Figure("generator", "CPU in sign-in storm", "gen.storm_cores", "cores"),
]  # fmt: skip


def _ok(x: float) -> bool:
    return x is not None and not (isinstance(x, float) and math.isnan(x))


def summarize(runs: list[dict[str, float]]) -> list[dict]:
    rows = []
    for fig in FIGURES:
        values = [r[fig.key] for r in runs if _ok(r.get(fig.key))]
        if not values:
            continue
        row = {
            "scenario": fig.scenario,
            "figure": fig.label,
            "unit": fig.unit,
            "median": statistics.median(values),
            "min": min(values),
            "max": max(values),
            "runs": len(values),
            "target": fig.target,
        }
        ratio = math.nan
        if fig.ceiling:
            ceilings = [r.get(fig.ceiling) for r in runs]
            ratios = [
                r[fig.key] / r[fig.ceiling]
                for r in runs
                if _ok(r.get(fig.key)) and _ok(r.get(fig.ceiling)) and r[fig.ceiling]
            ]
            row["ceiling"] = statistics.median([c for c in ceilings if _ok(c)])
            ratio = statistics.median(ratios) if ratios else math.nan
            row["ratio"] = ratio
        if fig.met is not None:
            row["met"] = bool(fig.met(row["median"], ratio))
        rows.append(row)
    return rows


PARTS = ["gateway", "auth", "tickets", "orders", "expiration", "payments", "passes"]
PARTS += ["notifications", "web", "mailbox"]
PARTS += ["postgres", "nats", "generator"]


def cpu_medians(parts: dict[str, list[dict[str, float]]]) -> dict[str, dict[str, float]]:
    """Per phase, the median over runs of the cores each process used."""
    return {
        phase: {
            label: statistics.median(run.get(label, 0.0) for run in runs)
            for label in PARTS
            if any(label in run for run in runs)
        }
        for phase, runs in parts.items()
    }


def cpu_table(medians: dict[str, dict[str, float]]) -> str:
    labels = [p for p in PARTS if any(p in m for m in medians.values())]
    lines = [
        "| phase | " + " | ".join(labels) + " | total |",
        "|---|" + "---:|" * (len(labels) + 1),
    ]
    for phase, cores in medians.items():
        cells = [f"{cores.get(label, 0.0):.2f}" for label in labels]
        lines.append(f"| {phase} | " + " | ".join(cells) + f" | {sum(cores.values()):.2f} |")
    return "\n".join(lines)


def _num(value: float | None) -> str:
    if value is None or not _ok(value):
        return ""
    if value == 0:
        return "0"
    if abs(value) >= 100:
        return f"{value:,.0f}"
    if abs(value) >= 10:
        return f"{value:.1f}"
    if abs(value) >= 1:
        return f"{value:.2f}"
    return f"{value:.3f}"


def markdown_table(rows: list[dict]) -> str:
    head = (
        "| scenario | figure | median | min | max | raw ceiling | ratio | target | met |\n"
        "|---|---|---:|---:|---:|---:|---:|---|---|"
    )
    lines = [head]
    for row in rows:
        unit = f" {row['unit']}" if row["unit"] else ""
        met = {True: "yes", False: "**no**"}.get(row.get("met"), "")
        ratio = row.get("ratio")
        lines.append(
            f"| {row['scenario']} | {row['figure']} | {_num(row['median'])}{unit} | "
            f"{_num(row['min'])} | {_num(row['max'])} | {_num(row.get('ceiling'))} | "
            f"{_num(ratio) + 'x' if ratio is not None and _ok(ratio) else ''} | "
            f"{row['target']} | {met} |"
        )
    return "\n".join(lines)


def machine() -> dict:
    model = ""
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            model = line.split(":", 1)[1].strip()
            break
    mem_kb = 0
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemTotal:"):
            mem_kb = int(line.split()[1])
    return {
        "cpus": os.cpu_count(),
        "cpu_model": model,
        "memory_gib": round(mem_kb / 1024 / 1024, 1),
        "python": platform.python_version(),
        "kernel": platform.release(),
        "load_average_at_start": os.getloadavg(),
    }


def write(out: Path, rows: list[dict], runs: list[dict], context: dict) -> str:
    out.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    table = markdown_table(rows)
    info = context["machine"]
    text = (
        f"# Ticketing benchmark, {stamp}\n\n"
        f"Machine: {info['cpus']} CPUs ({info['cpu_model']}), {info['memory_gib']} GiB, "
        f"Python {info['python']}, {context.get('postgres', '')}, "
        f"gateway: {context.get('gateway', 'python')}; "
        f"{context['runs']} runs; {context['settings']}.\n\n{table}\n\n"
        "Ratios are taken within each run, then the median over runs. For latencies the\n"
        "ratio is how many times the ceiling's; for the storm rows the ceiling column holds\n"
        "the same reads' calm p99.\n\n"
        "CPU by process during each measured phase (cores, median over runs; 2 = the whole\n"
        "machine):\n\n"
        f"{cpu_table(context.get('cpu_by_process', {}))}\n"
    )
    (out / "results.md").write_text(text)
    document = {"date": stamp, **context, "summary": rows, "runs": runs}
    (out / "results.json").write_text(json.dumps(document, indent=2, default=str))
    return text


def plot_flash_sale(path: Path, timeline: list[tuple[float, float, int]], title: str) -> bool:
    """Latency of every order attempt against when it was sent; False without matplotlib."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return False
    fig, ax = plt.subplots(figsize=(9, 4.5), dpi=110)
    styles = {201: ("tab:green", "201 reserved", 14), 400: ("tab:blue", "400 already reserved", 4)}
    for status, (color, label, size) in styles.items():
        points = [(t, ms) for t, ms, s in timeline if s == status]
        if points:
            xs, ys = zip(*points, strict=True)
            ax.scatter(xs, ys, s=size, c=color, alpha=0.5, label=label, linewidths=0)
    others = [(t, ms) for t, ms, s in timeline if s not in styles]
    if others:
        xs, ys = zip(*others, strict=True)
        ax.scatter(xs, ys, s=20, c="tab:red", marker="x", label="other status")
    ax.set_yscale("log")
    ax.set_xlabel("seconds since the sale opened (attempt sent)")
    ax.set_ylabel("latency, ms (log)")
    ax.set_title(title)
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(loc="upper right")
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return True
