"""The `ticketing` command as a newcomer or a script meets it: a version, choices named,
and a status that says by its exit code whether a system runs."""

import argparse
import json
import os
import subprocess
import sys
from importlib.metadata import version
from pathlib import Path

from ticketing.cli import _parser
from ticketing.runtime.ports import free_port


def ticketing(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "ticketing.cli", *args], capture_output=True, text=True, timeout=60
    )


def test_version():
    done = ticketing("--version")
    assert done.returncode == 0
    assert done.stdout.strip() == f"ticketing {version('ticketing')}"


def test_an_unknown_service_is_refused_naming_the_known_ones():
    for command in ("serve", "migrate"):
        done = ticketing(command, "billing")
        assert done.returncode == 2
        assert "invalid choice: 'billing'" in done.stderr
        assert "'auth', 'tickets', 'orders', 'expiration', 'payments'" in done.stderr


def test_every_command_and_argument_says_what_it_is_for():
    parser = _parser()
    (commands,) = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    helped = {choice.dest: choice.help for choice in commands._choices_actions}
    for name, command in commands.choices.items():
        assert helped.get(name), f"{name} has no help"
        for action in command._actions:
            if not isinstance(action, argparse._HelpAction):
                assert action.help, f"{name} {action.dest} has no help"


def test_status_exits_1_when_nothing_runs(tmp_path):
    done = ticketing("status", "--data-dir", str(tmp_path))
    assert done.returncode == 1
    assert "not running" in done.stdout
    as_json = ticketing("status", "--json", "--data-dir", str(tmp_path))
    assert as_json.returncode == 1
    assert json.loads(as_json.stdout) == {"running": False}


def test_status_does_not_believe_the_state_a_killed_run_left(tmp_path):
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    (tmp_path / "state.json").write_text(
        json.dumps({"pid": gone.pid, "gateway": "http://127.0.0.1:1", "processes": []})
    )
    done = ticketing("status", "--json", "--data-dir", str(tmp_path))
    assert done.returncode == 1
    assert json.loads(done.stdout) == {"running": False}


def _up_without_postgres(data_dir: Path, *flags: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "ticketing.cli", "up", "--data-dir", str(data_dir), *flags],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "PG_BIN": str(data_dir / "no-postgres-here")},
    )


def test_a_failed_start_says_one_line_and_where_the_traceback_is(tmp_path):
    done = _up_without_postgres(tmp_path / "data", "--port", str(free_port()))
    assert done.returncode == 1
    lines = done.stderr.strip().splitlines()
    assert lines[0].startswith("ticketing: up failed: ") and "initdb" in lines[0]
    log = tmp_path / "data" / "up-failed.log"
    assert lines[1] == f"ticketing: traceback in {log} (or run with --debug)"
    assert len(lines) == 2 and "Traceback" not in done.stderr
    assert log.read_text().startswith("Traceback")


def test_debug_shows_the_traceback_of_a_failed_start(tmp_path):
    done = _up_without_postgres(tmp_path / "data", "--port", str(free_port()), "--debug")
    assert done.returncode == 1
    assert "Traceback (most recent call last)" in done.stderr
    assert not (tmp_path / "data" / "up-failed.log").exists()
